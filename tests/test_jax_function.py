"""gradcheck._jax_function: check_function's machinery at the user's arguments."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gradcheck import GradcheckError
from gradcheck._jax_function import Function
from gradcheck._rng import preserve_rng

X = jnp.array([0.3, -0.7, 1.1])


def _function(fn: Any, leaves: list[Any], seed: int = 0) -> Function:
    with preserve_rng() as rng:
        return Function(lambda xs: list(jax.tree.leaves(fn(*xs))), ["input0"], leaves, seed, rng)


@jax.custom_vjp
def _reverse_only(x: Any) -> Any:
    return jnp.sin(x)


_reverse_only.defvjp(lambda x: (jnp.sin(x), x), lambda x, g: (g * jnp.cos(x),))


@jax.custom_jvp
def _squared_tangent(x: Any) -> Any:
    return jnp.sin(x)


_squared_tangent.defjvp(lambda p, t: (jnp.sin(p[0]), jnp.cos(p[0]) * t[0] ** 2))


class TestFunction:
    def test_the_cotangents_are_the_seeds_and_only_floating_outputs_are_checked(self) -> None:
        def two(x: Any) -> Any:
            return jnp.tanh(x), jnp.argmax(x)

        f, g, h = _function(two, [X]), _function(two, [X]), _function(two, [X], seed=1)
        assert f.floating == [0] and set(f.ws) == {0}
        assert np.array_equal(f.ws[0], g.ws[0]) and not np.array_equal(f.ws[0], h.ws[0])

    def test_no_floating_output_is_refused(self) -> None:
        with pytest.raises(GradcheckError, match="no output of fn is a floating array"):
            _function(jnp.argmax, [X])

    def test_a_function_that_raises_is_named(self) -> None:
        def broken(x: Any) -> Any:
            raise ValueError("bad shapes")

        with pytest.raises(GradcheckError, match=r"^fn raised ValueError: bad shapes$"):
            _function(broken, [X])

    def test_a_custom_vjp_has_no_forward_mode_and_a_jvp_rule_does(self) -> None:
        missing = _function(_reverse_only, [X]).forward_error()
        assert missing is not None and missing.missing
        assert _function(jnp.sin, [X]).forward_error() is None

    def test_vjp_and_jvp_agree_on_a_right_function(self) -> None:
        f = _function(jnp.sin, [X])
        u, v = np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.0, 2.0])
        (vjp,), (jvp,) = f.vjp([u]), f.jvp([v])
        assert np.allclose(vjp, u * np.cos(X), rtol=1e-6)
        assert np.isclose(float(u @ jvp), float(vjp @ v), rtol=1e-6)

    def test_a_jvp_rule_reverse_mode_cannot_transpose_is_named(self) -> None:
        f = _function(_squared_tangent, [X])
        with pytest.raises(GradcheckError, match=r"must be linear in its tangent"):
            f.vjp([np.ones(3)])
