"""gradcheck._jax_side: fn jitted, vmapped and differentiated in one dtype."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gradcheck._jax_side import JaxSide, x64_mode
from gradcheck._rng import preserve_rng


def _sum_sin(xs: list[Any]) -> Any:
    return jnp.sum(jnp.sin(xs[0]))


def _side(fn: Any, jit: bool = True) -> JaxSide:
    return JaxSide(fn, ["w"], {"w": np.linspace(0.0, 1.0, 3)}, True, jit=jit)


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

    def test_a_function_jit_cannot_trace_runs_eagerly_and_says_so(self) -> None:
        def branchy(xs: list[Any]) -> Any:
            return jnp.sum(xs[0]) if float(xs[0][0]) > -1 else jnp.sum(-xs[0])

        side, notes = _side(branchy), []
        with preserve_rng() as rng:
            side.compile(rng, notes)
        assert side.serial is branchy
        assert len(notes) == 1 and notes[0].startswith(
            "f is evaluated without jax.jit (tracing it raised "
        )
        with side.scope():
            assert float(side.cost(side.params)) == 1.5

    def test_a_traceable_function_stays_jitted_and_unjitted_sides_are_not_traced(self) -> None:
        jitted, eager, notes = _side(_sum_sin), _side(_sum_sin, jit=False), []
        with preserve_rng() as rng:
            jitted.compile(rng, notes)
            eager.compile(rng, notes)
        assert notes == [] and jitted.serial is not _sum_sin and eager.serial is _sum_sin
