"""gradcheck._jax_side: fn vmapped and differentiated in one dtype, never jitted by the check."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gradcheck._jax_side import JaxSide, x64_mode


def _sum_sin(xs: list[Any]) -> Any:
    return jnp.sum(jnp.sin(xs[0]))


def _side(fn: Any) -> JaxSide:
    return JaxSide(fn, ["w"], {"w": np.linspace(0.0, 1.0, 3)}, True)


def test_x64_mode_is_jaxs_switch_now() -> None:
    before = x64_mode()
    with jax.enable_x64(True):
        assert x64_mode() is True
    with jax.enable_x64(False):
        assert x64_mode() is False
    assert x64_mode() is before


class TestJaxSide:
    def test_value_gradient_and_batched_values_in_float64(self) -> None:
        side = _side(_sum_sin)
        with side.scope():
            value, grads = side.gradient(side.params)
            stacked = {"w": np.stack([side.params["w"], 2 * side.params["w"]])}
            batched = side.batched(stacked)
        w = np.linspace(0.0, 1.0, 3)
        assert value == np.sum(np.sin(w))
        assert grads["w"] is not None and np.allclose(grads["w"], np.cos(w), rtol=1e-15)
        assert batched.dtype == np.float64
        assert np.allclose(batched, [np.sum(np.sin(w)), np.sum(np.sin(2 * w))], rtol=1e-15)

    def test_the_cost_runs_fn_on_concrete_arrays(self) -> None:
        # attack27 H42: a jitted fn ran the user's Python side effects with tracers
        seen: list[Any] = []

        def logging(xs: list[Any]) -> Any:
            seen.append(xs[0])
            return jnp.sum(jnp.sin(xs[0]))

        side = _side(logging)
        with side.scope():
            assert float(side.cost(side.params)) == float(np.sum(np.sin(side.params["w"])))
        assert seen and not any(isinstance(x, jax.core.Tracer) for x in seen)
