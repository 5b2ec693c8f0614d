"""``order=2`` in gradcheck.jax: jax.grad of jax.grad, custom_vjp bwd rules differentiated."""

from __future__ import annotations

import random
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradcheck.jax as gj
from gradcheck import GradcheckError

MODES = ("full", "directional")


def _sin_with_bwd(bwd: Any) -> Any:
    """sin as a ``custom_vjp`` with the given bwd rule ``bwd(x, g) -> (grad,)``."""

    @jax.custom_vjp
    def sin(x: Any) -> Any:
        return jnp.sin(x)

    def fwd(x: Any) -> Any:
        return jnp.sin(x), x

    sin.defvjp(fwd, bwd)
    return sin


def _numpy_bwd(x: Any, g: Any) -> Any:
    return (jnp.asarray(np.cos(np.asarray(x)) * np.asarray(g)),)


def _stopped_bwd(x: Any, g: Any) -> Any:
    return (jax.lax.stop_gradient(g * jnp.cos(x)),)


def _detached_cos_bwd(x: Any, g: Any) -> Any:
    return (g * jax.lax.stop_gradient(jnp.cos(x)),)


def _scaled_cos(c: float) -> Any:
    """cos as a ``custom_vjp`` whose bwd is ``c`` times the right one."""

    @jax.custom_vjp
    def cos(x: Any) -> Any:
        return jnp.cos(x)

    cos.defvjp(lambda x: (jnp.cos(x), x), lambda x, g: (-g * jnp.sin(x) * c,))
    return cos


def _wrong_at_second_order(c: float) -> Any:
    """sin whose bwd ``g · cos(x)`` goes through a cos whose own bwd is ``c``×."""
    cos = _scaled_cos(c)
    return _sin_with_bwd(lambda x, g: (g * cos(x),))


def _x(n: int = 5, dtype: Any = np.float64, seed: int = 0) -> Any:
    return np.random.default_rng(seed).uniform(-1, 1, n).astype(dtype)


class TestOrderOption:
    @pytest.mark.parametrize("bad", [0, 3, "2", 1.5, True])
    def test_bad_order_is_an_error_naming_it(self, bad: Any) -> None:
        with pytest.raises(GradcheckError, match="order="):
            gj.check(lambda p: jnp.sum(p**2), {"w": jnp.ones(2)}, order=bad)
        with pytest.raises(GradcheckError, match="order="):
            gj.check_function(jnp.sin, jnp.ones(2), order=bad)


class TestNotDifferentiable:
    @pytest.mark.parametrize("mode", MODES)
    @pytest.mark.parametrize("bwd", [_numpy_bwd, _stopped_bwd], ids=["numpy", "stop_gradient"])
    def test_bwd_outside_jax_passes_first_order_fails_second_named(
        self, bwd: Any, mode: str
    ) -> None:
        fn, x = _sin_with_bwd(bwd), _x()
        assert gj.check_function(fn, x, mode=mode).status == "passed"
        report = gj.check_function(fn, x, order=2, mode=mode)
        assert report.status == "failed"
        row = report.parameters["differentiable: input0"]
        assert row.diagnosis.kind == "detached"
        assert row.diagnosis.text.startswith("the backward is not differentiable")

    @pytest.mark.parametrize("bwd", [_numpy_bwd, _stopped_bwd], ids=["numpy", "stop_gradient"])
    def test_grad_of_grad_through_a_custom_vjp_names_it(self, bwd: Any) -> None:
        fn = _sin_with_bwd(bwd)
        params = {"w": _x(4), "b": np.float64(0.3)}

        def f(p: Any) -> Any:
            return jnp.sum(fn(p["w"] + p["b"]) ** 2)

        assert gj.check(f, params).status == "passed"
        report = gj.check(f, params, order=2)
        assert report.status == "failed"
        assert report.parameters["differentiable: w"].diagnosis.kind == "detached"
        assert report.parameters["w / cotangent"].status == "failed"


class TestWrongSecondDerivative:
    @pytest.mark.parametrize("mode", MODES)
    def test_detached_term_is_a_zero_second_derivative(self, mode: str) -> None:
        fn = _sin_with_bwd(_detached_cos_bwd)
        report = gj.check_function(fn, _x(), order=2, mode=mode)
        assert report.status == "failed"
        block = "input0 / input0" if mode == "full" else "uᵀout / input0"
        assert report.parameters[block].diagnosis.kind == "zero"
        assert "the second derivative is zero" in report.parameters[block].diagnosis.text

    @pytest.mark.parametrize("seed", [0, 1])
    def test_factor_at_second_order_only_is_named(self, seed: int) -> None:
        fn, x = _wrong_at_second_order(2.0), _x(seed=seed)
        assert gj.check_function(fn, x).status == "passed"
        report = gj.check_function(fn, x, order=2)
        row = report.parameters["input0 / input0"]
        assert row.status == "failed" and row.diagnosis.kind == "factor"
        assert row.diagnosis.factor == pytest.approx(2.0)

    @pytest.mark.parametrize("mode", MODES)
    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    def test_a_tenth_of_a_percent_second_derivative_error_fails(
        self, mode: str, dtype: Any
    ) -> None:
        fn = _wrong_at_second_order(1.001)
        assert gj.check_function(fn, _x(6, dtype), order=2, mode=mode).status == "failed"
        f = lambda p: jnp.sum(fn(p) ** 2)  # noqa: E731
        assert gj.check(f, _x(6, dtype), order=2, mode=mode).status == "failed"


class TestCorrectCasesPass:
    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    @pytest.mark.parametrize(
        "fn",
        [jnp.sin, jnp.tanh, jax.nn.softplus, lambda x: jax.nn.logsumexp(x) * x],
        ids=["sin", "tanh", "softplus", "logsumexp"],
    )
    def test_jax_numpy_functions_pass(self, fn: Any, dtype: Any) -> None:
        assert gj.check_function(fn, _x(5, dtype), order=2).status == "passed"

    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    def test_directional_mode_passes_a_larger_problem(self, dtype: Any) -> None:
        report = gj.check_function(jnp.tanh, _x(300, dtype), order=2, mode="directional")
        assert report.status == "passed"
        assert report.options["second_order_mode"] == "directional"

    def test_a_correct_custom_vjp_passes(self) -> None:
        report = gj.check_function(_wrong_at_second_order(1.0), _x(), order=2)
        assert report.status == "passed"

    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    def test_a_jitted_pytree_loss_passes(self, dtype: Any) -> None:
        params = {"W": _x(6, dtype).reshape(2, 3), "b": _x(2, dtype, seed=1)}
        xs = jnp.asarray(_x(3, dtype, seed=2))

        @jax.jit
        def f(p: Any) -> Any:
            return jnp.sum(jnp.tanh(p["W"] @ xs + p["b"]) ** 2)

        report = gj.check(f, params, order=2)
        assert report.status == "passed"
        assert {"W / b", "b / W", "W / cotangent"} <= set(report.parameters)

    def test_several_outputs_and_a_fixed_integer_argument(self) -> None:
        report = gj.check_function(
            lambda a, k, b: (a * jnp.sin(b) * k, jnp.exp(a @ b)), _x(3), 2, _x(3, seed=4), order=2
        )
        assert report.status == "passed"
        assert "input0 / cotangent1" in report.parameters and "input2 / input0" in report.parameters


class TestNothingChanges:
    def test_inputs_rng_and_x64_are_as_before(self) -> None:
        x = _x()
        before = x.copy()
        np.random.seed(5)
        random.seed(5)
        states = np.random.get_state()[1].copy(), random.getstate()
        x64 = jax.config.read("jax_enable_x64")
        gj.check_function(_sin_with_bwd(_numpy_bwd), x, order=2)
        assert np.array_equal(x, before)
        assert np.array_equal(np.random.get_state()[1], states[0])
        assert random.getstate() == states[1]
        assert jax.config.read("jax_enable_x64") == x64


class TestInternalNamesNeverCollide:
    """attack20 P1: a key named "cotangent" was overwritten by the loss's cotangent."""

    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    @pytest.mark.parametrize(
        ("keys", "cotangent"),
        [
            (("cotangent", "b"), "cotangent (of the loss)"),
            (("cotangent", "cotangent (of the loss)"), "cotangent (of the loss, 2)"),
        ],
    )
    def test_a_key_named_cotangent_passes_with_its_own_rows(
        self, keys: tuple[str, str], cotangent: str, dtype: Any
    ) -> None:
        a, b = keys
        params = {a: _x(3, dtype), b: _x(3, dtype, seed=1)}
        f = lambda p: jnp.sum(jnp.sin(p[a]) * p[b] ** 2)  # noqa: E731
        report = gj.check(f, params, order=2)
        assert report.status == "passed"
        assert {f"{k} / {cotangent}" for k in keys} <= set(report.parameters)
        assert {f"{k} / {j}" for k in keys for j in keys} <= set(report.parameters)

    def test_a_wrong_second_derivative_of_the_cotangent_key_fails_there(self) -> None:
        fn = _wrong_at_second_order(2.0)
        f = lambda p: jnp.sum(fn(p["cotangent"])) + jnp.sum(p["b"] ** 2)  # noqa: E731
        params = {"cotangent": _x(4), "b": _x(4, seed=1)}
        assert gj.check(f, params).status == "passed"
        report = gj.check(f, params, order=2)
        row = report.parameters["cotangent / cotangent"]
        assert row.status == "failed" and row.diagnosis.factor == pytest.approx(2.0)
        assert report.parameters["b / b"].status == "passed"


def _nan_second_bwd(x: Any, g: Any) -> Any:
    """sin's bwd plus ``0 · |x|``: finite, but its derivative at ``x = 0`` is NaN."""
    return (g * jnp.cos(x) + 0.0 * jnp.sqrt(x * x),)


class TestNonFiniteDoubleBackward:
    """attack20 P5: named as the double backward, not as check_jacobian's vjp."""

    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    def test_a_nan_second_derivative_names_the_entry(self, dtype: Any) -> None:
        x = np.array([0.0, 0.5], dtype=dtype)
        with pytest.raises(
            GradcheckError, match=r"^the double backward of fn returned NaN for input0\[0\] "
        ) as raised:
            gj.check_function(_sin_with_bwd(_nan_second_bwd), x, order=2)
        assert "vjp" not in str(raised.value)
        assert np.array_equal(x, np.array([0.0, 0.5], dtype=dtype))


def _cotangent_bwd(x: Any, g: Any) -> Any:
    return (jax.lax.stop_gradient(g) * jnp.cos(x),)


class TestLinearInTheCotangent:
    """Full mode: a cotangent's column costs 1 evaluation of the backward, a scalar
    loss's none (the backward is linear in it: gradcheck._jaclinear)."""

    @pytest.mark.parametrize(("n", "seed"), [(3, 0), (6, 1), (10, 2)])
    def test_a_scalar_loss_costs_2_evaluations_per_parameter_of_the_backward(
        self, n: int, seed: int
    ) -> None:
        x = _x(n, seed=seed)
        report = gj.check(lambda p: jnp.sum(jnp.tanh(p) * jnp.roll(p, 1)), x, order=2, mode="full")
        assert report.status == "passed"
        assert report.options["second_order_evaluations"] == 2 * n + 2 == 2 * (n + 1)

    @pytest.mark.parametrize("n", [2, 5])
    def test_a_function_costs_1_evaluation_per_cotangent_entry(self, n: int) -> None:
        fn = lambda p: jnp.tanh(p) * jnp.roll(p, 1)  # noqa: E731
        report = gj.check_function(fn, _x(n, seed=n), order=2, mode="full")
        assert report.status == "passed"
        assert report.options["second_order_evaluations"] == 3 * n + 2

    @pytest.mark.parametrize("seed", [0, 1, 2])
    def test_an_error_only_through_the_cotangent_still_fails_a_scalar_loss(self, seed: int) -> None:
        sin = _sin_with_bwd(_cotangent_bwd)
        report = gj.check(lambda p: jnp.sum(sin(p)), _x(4, seed=seed), order=2, mode="full")
        assert report.status == "failed"
        assert report.parameters["x / cotangent"].status == "failed"
        assert report.parameters["x / x"].status == "passed"
