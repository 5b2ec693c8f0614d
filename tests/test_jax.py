"""gradcheck.jax: jax.grad and custom rules are checked, mistakes are localised."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradcheck.jax as gj
from gradcheck import GradcheckError


@jax.custom_vjp
def _softplus(x: Any) -> Any:
    return jnp.logaddexp(x, 0.0)


def _softplus_fwd(x: Any) -> Any:
    return _softplus(x), x


def _softplus_bwd(x: Any, g: Any) -> Any:
    return (g * jax.nn.sigmoid(x),)


_softplus.defvjp(_softplus_fwd, _softplus_bwd)


@jax.custom_vjp
def _bad_softplus(x: Any) -> Any:
    return jnp.logaddexp(x, 0.0)


def _bad_bwd(x: Any, g: Any) -> Any:
    return (-g * jax.nn.sigmoid(x),)  # planted: wrong sign


_bad_softplus.defvjp(_softplus_fwd, _bad_bwd)

KEY = jax.random.PRNGKey(0)
PARAMS = {
    "layers": [
        {"W": jax.random.normal(KEY, (3, 4)), "b": jnp.zeros(4)},
        {"W": jax.random.normal(jax.random.PRNGKey(1), (4, 2)), "b": jnp.zeros(2)},
    ]
}
X = jax.random.normal(jax.random.PRNGKey(2), (5, 3))


def _mlp(p: Any, act: Any = _softplus) -> Any:
    h = act(X @ p["layers"][0]["W"] + p["layers"][0]["b"])
    return jnp.mean((h @ p["layers"][1]["W"] + p["layers"][1]["b"]) ** 2)


class TestCheck:
    def test_mlp_with_custom_vjp_passes_and_names_paths(self) -> None:
        report = gj.check(jax.jit(_mlp), PARAMS)
        assert report.status == "passed", str(report)
        assert list(report.parameters) == ["layers.0.W", "layers.0.b", "layers.1.W", "layers.1.b"]
        assert report.options["analytic_dtype"] == "float32"
        assert report.options["numeric_dtype"] == "float64"

    def test_x64_is_restored(self) -> None:
        before = bool(jax.config.jax_enable_x64)
        gj.check(_mlp, PARAMS)
        assert bool(jax.config.jax_enable_x64) == before

    def test_planted_custom_vjp_mistake_is_localised(self) -> None:
        report = gj.check(lambda p: _mlp(p, _bad_softplus), PARAMS)
        assert report.failed_parameters == ["layers.0.W", "layers.0.b"]
        assert report.worst[0].parameter.startswith("layers.0")

    def test_model_precision(self) -> None:
        report = gj.check(_mlp, PARAMS, precision="model")
        assert report.options["numeric_dtype"] == "float32"
        assert report.status != "failed"

    def test_bare_array_is_named_x_and_vectorised(self) -> None:
        report = gj.check(lambda x: jnp.sum(jnp.sin(x) ** 2), jnp.linspace(0.1, 1.0, 5))
        assert list(report.parameters) == ["x"] and report.passed
        assert report.options["vectorised"] is True

    def test_falls_back_to_float32_when_x64_fails(self) -> None:
        def f(x: Any) -> Any:
            if x.dtype != jnp.float32:
                raise TypeError("float32 only")
            return jnp.sum(x**2)

        report = gj.check(f, jnp.ones(3))
        assert report.options["precision"] == "model"
        assert any("x64 mode could not be used" in m for m in report.messages)
        assert report.passed

    def test_f_that_jit_cannot_compile_runs_eagerly(self, monkeypatch: Any) -> None:
        def no_jit(fn: Any) -> Any:
            def fail(*args: Any) -> Any:
                raise RuntimeError("cannot compile")

            return fail

        monkeypatch.setattr(gj.jax, "jit", no_jit)
        report = gj.check(lambda x: jnp.sum(x**2), jnp.ones(3))
        assert report.passed and report.options["vectorised"] is False
        assert any("without jax.jit" in m for m in report.messages)

    def test_error_at_a_later_evaluation_is_named(self) -> None:
        calls = [0]

        def f(x: Any) -> Any:
            calls[0] += 1
            if calls[0] > 1:
                raise ValueError("later")
            return jnp.sum(x**2)

        with pytest.raises(GradcheckError, match=r"ValueError: later \(evaluation 1"):
            gj.check(f, jnp.ones(2))

    def test_integer_leaf_is_an_error(self) -> None:
        with pytest.raises(GradcheckError, match="'n' has dtype int32"):
            gj.check(lambda p: jnp.sum(p["w"]), {"n": jnp.arange(3), "w": jnp.ones(2)})

    def test_non_scalar_f_is_an_error(self) -> None:
        with pytest.raises(GradcheckError, match="scalar"):
            gj.check(lambda x: x * 2, jnp.ones(3))


class TestCheckFunction:
    def test_custom_vjp_function_passes(self) -> None:
        report = gj.check_function(_softplus, jnp.linspace(-2.0, 2.0, 6))
        assert report.passed and list(report.parameters) == ["input0"]

    def test_wrong_rule_fails_and_integer_output_is_ignored(self) -> None:
        def fn(x: Any, y: Any) -> Any:
            return _bad_softplus(x) + y, jnp.arange(3)

        report = gj.check_function(fn, jnp.ones(3), jnp.ones(3))
        assert report.failed_parameters == ["input0"]
        assert report.parameters["input1"].status == "passed"

    def test_numpy_rng_untouched(self) -> None:
        state = np.random.get_state()[1].copy()
        gj.check_function(jnp.tanh, jnp.ones(3))
        assert np.array_equal(np.random.get_state()[1], state)
