"""JAX's float64 side computes in float64 where the function casts below it
(gradcheck._jax_widen; attack26 G1 residue, attack25 g06)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

import gradcheck.jax as gj
from _wrong_by import RIGHT_AND_WRONG, expect, smaller_error_over_seeds
from gradcheck._jax_widen import Unwidened, reference, widened

F32 = jnp.float32


def _scale(factor: float) -> Any:
    """The identity, with a backward off by ``factor`` in every dtype."""

    @jax.custom_vjp
    def scale(x: Any) -> Any:
        return x

    scale.defvjp(lambda x: (x, None), lambda _, g: (g * factor,))
    return scale


#: Losses that cast the float64 side's values back to float32 (attack26 G1, JAX twin).
_CASTS: dict[str, Callable[[Any, Any], Any]] = {
    "astype": lambda h, y: jnp.mean((h.astype(F32) - y) ** 2),
    "asarray": lambda h, y: jnp.mean((jnp.asarray(h, dtype=F32) - y) ** 2),
    "convert_element_type": lambda h, y: jnp.mean((lax.convert_element_type(h, F32) - y) ** 2),
    "relu_custom_jvp": lambda h, y: jnp.mean((jax.nn.relu(h.astype(F32) + 2) - y) ** 2),
    "log_softmax": lambda h, y: -jnp.mean(jax.nn.log_softmax(h.astype(F32)) * jax.nn.softmax(y)),
    "cond": lambda h, y: lax.cond(
        h.sum() > -1e9, lambda a: jnp.mean((a.astype(F32) - y) ** 2), lambda a: F32(0.0), h
    ),
    "scan": lambda h, y: lax.scan(
        lambda c, a: (c + jnp.sum((a.astype(F32) - y[0]) ** 2), None), F32(0), h
    )[0],
    "inner_jit": lambda h, y: jax.jit(lambda a: jnp.mean((a.astype(F32) - y) ** 2))(h),
    "sum_dtype": lambda h, y: jnp.sum((h - y) ** 2, dtype=F32),
    # attack26 h26: float32's format kept in float64, a no-op in the model
    "reduce_precision": lambda h, y: jnp.mean(
        (lax.reduce_precision(h, exponent_bits=8, mantissa_bits=23) - y) ** 2
    ),
}


class TestWidened:
    @pytest.mark.parametrize("form", sorted(_CASTS))
    def test_each_cast_computes_in_float64(self, form: str) -> None:
        rng = np.random.default_rng(0)
        h, y = rng.standard_normal((4, 3)) / 3, jnp.asarray(rng.standard_normal((4, 3)), F32)
        with jax.enable_x64(True):
            wide = widened(lambda xs: _CASTS[form](xs[0], y), lambda: None)
            out = jax.jit(wide)([jnp.asarray(h)])
            g = jax.grad(lambda a: wide([a]))(jnp.asarray(h))
        assert out.dtype == np.float64 and g.dtype == np.float64
        if form == "sum_dtype":  # float64 arithmetic on the float32 target's values
            expected = np.sum((h - np.asarray(y, np.float64)) ** 2)
            assert float(out) == pytest.approx(expected, rel=1e-14)
            assert np.allclose(np.asarray(g), 2 * (h - np.asarray(y, np.float64)), rtol=1e-14)

    def test_values_are_the_users_own(self) -> None:
        """A float32 constant is the float32 constant (the model's), in float64; a
        float32 random draw is made from the same bits, its transform in float64."""
        key = jax.random.key(0)
        with jax.enable_x64(True):
            constant = widened(lambda xs: xs[0] * jnp.asarray(0.1, F32), lambda: None)
            drawn = widened(lambda xs: xs[0] * jax.random.normal(key, (2,), F32), lambda: None)
            out, draw = constant([jnp.ones(2)]), drawn([jnp.ones(2)])
        assert out.dtype == draw.dtype == np.float64
        assert np.array_equal(np.asarray(out), np.full(2, np.float64(np.float32(0.1))))
        user = np.asarray(jax.random.normal(key, (2,), F32), np.float64)
        assert np.allclose(np.asarray(draw), user, rtol=1e-6, atol=0)

    def test_a_bit_level_cast_cannot_be_widened(self) -> None:
        with jax.enable_x64(True):
            wide = widened(
                lambda xs: lax.bitcast_convert_type(xs[0].astype(F32), jnp.int32).sum(),
                lambda: None,
            )
            with pytest.raises(Unwidened, match="bits"):
                wide([jnp.ones(2)])

    def test_a_function_it_cannot_trace_runs_as_it_is(self) -> None:
        calls = []

        def fn(xs: list[Any]) -> Any:
            return xs[0].sum() if float(xs[0][0]) > 0 else -xs[0].sum()

        with jax.enable_x64(True):
            out = widened(fn, lambda: calls.append(1))([jnp.ones(2)])
        assert float(out) == 2.0 and calls == [1]


def _params(seed: int) -> tuple[dict[str, Any], Any, Any]:
    r = np.random.default_rng(seed)
    p = {
        "W": jnp.asarray(r.standard_normal((8, 6)), F32),
        "b": jnp.asarray(r.standard_normal(8), F32),
    }
    return (
        p,
        jnp.asarray(r.standard_normal((16, 6)), F32),
        jnp.asarray(r.standard_normal((16, 8)), F32),
    )


class TestCastsInTheFunction:
    """attack26 (G1's JAX twin, attack25 g06): a function casting to float32 inside
    computed in float32 on the "float64" side, and a custom_vjp off by ×1.002
    (×1.0005) passed on 3 seeds of 3 in each of twelve cast forms; now each fails and
    the right rule passes."""

    @staticmethod
    def _check(form: str, factor: float, seed: int) -> Any:
        scale = _scale(factor)
        p, x, y = _params(seed)
        before = {k: np.array(v) for k, v in p.items()}
        report = gj.check(lambda q: _CASTS[form](scale(jnp.tanh(x @ q["W"].T + q["b"])), y), p)
        assert all(np.array_equal(before[k], np.asarray(v)) for k, v in p.items())
        assert p["W"].dtype == F32 and not jax.config.read("jax_enable_x64")
        return report

    @RIGHT_AND_WRONG
    @pytest.mark.parametrize("form", sorted(_CASTS))
    def test_check(self, form: str, factor: float) -> None:
        report = self._check(form, factor, 0)
        expect(report, factor, "route", "numeric_dtype")

    @smaller_error_over_seeds
    def test_a_smaller_error_over_seeds(self, factor: float, seed: int) -> None:
        report = self._check("astype", factor, seed)
        expect(report, factor)

    @RIGHT_AND_WRONG
    def test_check_function(self, factor: float) -> None:
        scale = _scale(factor)
        p, x, _ = _params(3)
        report = gj.check_function(lambda w: jnp.tanh(scale(x @ w.T).astype(F32)), p["W"])
        expect(report, factor, "numeric_dtype")

    @RIGHT_AND_WRONG
    def test_a_custom_vjp_taking_float32(self, factor: float) -> None:
        """attack26 h04 ("params astype f32"): the custom_vjp's rules were traced for
        float32; they are rebuilt on float64 (the forward rule widened, the backward
        rule run on float64 residuals): passed 10/10 at ×1.002 before."""
        scale = _scale(factor)
        p, x, y = _params(4)
        report = gj.check(
            lambda q: jnp.mean((jnp.tanh(x @ scale(q["W"].astype(F32)).T) - y) ** 2), p
        )
        expect(report, factor, "numeric_dtype")

    @RIGHT_AND_WRONG
    def test_a_float32_rounding_of_a_parameter(self, factor: float) -> None:
        """attack26 h26: ``lax.reduce_precision(W, 8, 23)`` before a ×1.002 rule
        rounded the float64 copy's ``W`` to float32 (its dtype stays float64): passed
        2/2 on h26's problem, within that side's float32 noise; here the right rule
        was inconclusive (W's detection bound 0.12)."""
        scale = _scale(factor)
        p, x, y = _params(4)

        def loss(q: dict[str, Any]) -> Any:
            w = lax.reduce_precision(q["W"], exponent_bits=8, mantissa_bits=23)
            return jnp.mean((jnp.tanh(x @ scale(w).T) - y) ** 2)

        expect(gj.check(loss, p), factor, "numeric_dtype")

    def test_a_cast_it_cannot_widen_is_checked_in_float32_and_says_so(self) -> None:
        """The bits of a float32 value (a sign read from them) have no float64
        counterpart: the check runs in float32, and the report says so."""
        p, x, y = _params(5)

        def loss(q: dict[str, Any]) -> Any:
            h = jnp.tanh(x @ q["W"].T + q["b"])
            negative = lax.bitcast_convert_type(h.astype(F32), jnp.int32) < 0
            return jnp.mean((jnp.where(negative, -h, h) - y) ** 2)

        report = gj.check(loss, p)
        assert report.options["route"] == "same"
        assert report.options["numeric_dtype"] == "float32"
        assert any("bits" in m and "could not be used" in m for m in report.messages)


def _rounding_tanh() -> Any:
    """tanh whose backward rounds to bfloat16 only when it sees float32 (attack26 H10)."""

    @jax.custom_vjp
    def act(x: Any) -> Any:
        return jnp.tanh(x)

    def bwd(x: Any, g: Any) -> tuple[Any]:
        out = g * (1 - jnp.tanh(x) ** 2)
        if out.dtype == F32:
            out = out.astype(jnp.bfloat16).astype(F32)
        return (out,)

    act.defvjp(lambda x: (jnp.tanh(x), x), bwd)
    return act


class TestReference:
    """The x64 side's gradient computed operation by operation in float32: a right
    model's float32 gradient is reproduced, one rounded only in float32 is not."""

    @pytest.mark.parametrize(
        ("rounding", "forward"),
        [(False, False), (False, True), (True, False)],  # custom_vjp: no forward mode
    )
    @pytest.mark.parametrize("seed", [0, 1])
    def test_the_float32_gradient_against_the_reference(
        self, seed: int, rounding: bool, forward: bool
    ) -> None:
        act = _rounding_tanh() if rounding else jnp.tanh
        r = np.random.default_rng(seed)
        names = ["W1", "x", "W2"]
        xs = [jnp.asarray(r.standard_normal(s), F32) for s in [(6, 5), (5,), (3, 6)]]

        def f(v: list[Any]) -> Any:
            return jnp.sum((v[2] @ act(v[0] @ v[1])) ** 2)

        value, g32 = jax.value_and_grad(f)(xs)
        with jax.enable_x64(True):
            ref = reference(widened(f, lambda: None), names, "float32", forward)
            ref_value, grads = ref({n: np.asarray(x, np.float64) for n, x in zip(names, xs)})
        assert ref_value == pytest.approx(float(value), rel=1e-6)
        unit = 2.0**-23
        errors = [
            np.max(np.abs(np.asarray(g, np.float64) - grads[n])) / (unit * np.max(np.abs(grads[n])))
            for n, g in zip(names, g32)
        ]
        if rounding:  # W1 and x, behind the rounding backward: ~1e4 round-offs
            assert min(errors[:2]) > 1000 and errors[2] <= 4
        else:
            assert max(errors) <= 4


class TestFinfoMinMask:
    """attack27 H44: ``jnp.where(mask, jnp.finfo(s.dtype).min, s)`` with a fully masked
    row; the reference narrowed float64's min to float32's -inf, NaN on that row:
    inconclusive 2/2 ("differs ... by nan of its scale"), an overflow warning."""

    @pytest.mark.parametrize(
        ("full", "overflow"), [(False, "error"), (True, "error"), (True, "ignore")]
    )
    def test_a_finfo_min_mask_passes(self, full: bool, overflow: str) -> None:
        # "ignore": as without -W error (an overflow warning raised in the reference
        # made it fall back to the nudges, which hid the NaN)
        r = np.random.default_rng(0)
        p = {k: jnp.asarray(r.standard_normal((8, 8)) / 3, F32) for k in "qkv"}
        x = jnp.asarray(r.standard_normal((5, 8)), F32)
        keep = np.zeros((5, 5), bool)
        keep[:, 3:] = True
        if full:
            keep[4, :] = True
        mask = jnp.asarray(keep)

        def f(p: dict[str, Any]) -> Any:
            sc = (x @ p["q"]) @ (x @ p["k"]).T / 8**0.5
            sc = jnp.where(mask, jnp.finfo(sc.dtype).min, sc)
            return jnp.sum(jnp.tanh(jax.nn.softmax(sc, -1) @ (x @ p["v"])) ** 2)

        with warnings.catch_warnings():
            warnings.simplefilter(overflow, RuntimeWarning)  # type: ignore[arg-type]
            report = gj.check(f, p)
        assert report.status == "passed", str(report)
        assert not any("nan" in m for m in report.messages)

    def test_the_reference_keeps_a_huge_constant_finite(self) -> None:
        def f(v: list[Any]) -> Any:
            return jnp.sum(jnp.maximum(v[0], jnp.finfo(v[0].dtype).min) * v[0])

        with jax.enable_x64(True):
            ref = reference(widened(f, lambda: None), ["a"], "float32", False)
            value, grads = ref({"a": np.array([1.0, -2.0])})
        assert value == 5.0 and np.array_equal(grads["a"], [2.0, -4.0])


def _act(rounding: bool) -> Any:
    """tanh with a custom_vjp whose bwd rounds to bfloat16 when it sees float32 (if
    ``rounding``): right in float64, a bfloat16-precision gradient in float32."""

    @jax.custom_vjp
    def act(x: Any) -> Any:
        return jnp.tanh(x)

    def fwd(x: Any) -> Any:
        return jnp.tanh(x), x

    def bwd(x: Any, g: Any) -> Any:
        out = g * (1 - jnp.tanh(x) ** 2)
        if rounding and out.dtype == jnp.float32:
            out = out.astype(jnp.bfloat16).astype(jnp.float32)
        return (out,)

    act.defvjp(fwd, bwd)
    return act


class TestARuleActingOnlyInFloat32:
    """attack26 H10 (G8's JAX twin): the float32 gradient is judged against the x64
    formula run op by op in float32 (the reference), not taken for round-off."""

    @pytest.mark.parametrize("seed", [0, 1, 2])
    @pytest.mark.parametrize("rounding", [True, False], ids=["bf16-bwd", "right"])
    def test_check_and_check_function(self, seed: int, rounding: bool) -> None:
        act = _act(rounding)
        r = np.random.default_rng(seed)
        p = {
            k: jnp.asarray(r.standard_normal(sh), jnp.float32)
            for k, sh in [("W1", (6, 5)), ("x", (5,)), ("W2", (3, 6))]
        }

        def f(q: Any) -> Any:
            return jnp.sum((q["W2"] @ act(q["W1"] @ q["x"])) ** 2)

        expected = "failed" if rounding else "passed"
        assert gj.check(f, p).status == expected
        assert gj.check_function(act, p["x"] * 2).status == expected
