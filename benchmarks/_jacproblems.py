"""The Jacobian benchmark's functions, in NumPy, torch and jax, each with a planted bug.

``Dense`` (the full check): ``f(x) = tanh(A x) + x²``, ``A`` a fixed ``n × n`` Gaussian
matrix over ``√n``; its exact Jacobian is ``diag(1 − t²) A + diag(2x)``, ``t = tanh(A x)``.

``Ring`` (the directional check): ``f(x) = tanh(x + c·roll(x, 1)) + x²``, O(N) work
(elementwise, plus a cheap mixing of each entry with its neighbour, so the Jacobian is not
diagonal); ``J = diag(1 − t²)(I + c S) + diag(2x)``, ``S`` the cyclic shift. Its planted bug
is a derivative rule with the mixing term's sign flipped, in every mode (VJP, JVP).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from _models import Array

__all__ = ["MIX", "Dense", "Ring"]

#: The ring's mixing weight ``c``.
MIX = 0.5


class Dense:
    """``f(x) = tanh(A x) + x²`` on ``R^n → R^n``, and its exact Jacobian and VJP."""

    def __init__(self, n: int) -> None:
        rng = np.random.default_rng(0)
        self.a: Array = rng.standard_normal((n, n)) / np.sqrt(n)
        self.x: Array = rng.standard_normal(n)

    def f(self, x: Array) -> Array:
        """``tanh(A x) + x²``."""
        return np.tanh(self.a @ x) + x**2

    def jacobian(self, x: Array) -> Array:
        """``diag(1 − t²) A + diag(2x)``."""
        t = np.tanh(self.a @ x)
        out: Array = (1 - t**2)[:, None] * self.a
        out[np.diag_indices(x.size)] += 2 * x
        return out

    def vjp(self, x: Array, u: Array) -> Array:
        """``uᵀJ``."""
        t = np.tanh(self.a @ x)
        return self.a.T @ ((1 - t**2) * u) + 2 * x * u

    def bad_jacobian(self, entry: tuple[int, int], factor: float) -> Callable[[Array], Array]:
        """The Jacobian with ``entry`` (output, input) scaled by ``factor``."""

        def jac(x: Array) -> Array:
            out = self.jacobian(x)
            out[entry] *= factor
            return out

        return jac

    def torch_fn(self, entry: tuple[int, int] | None = None, factor: float = 1.0) -> Any:
        """The function in torch (float64); with ``entry``, its backward has that entry of
        the Jacobian scaled by ``factor`` (a custom ``autograd.Function``)."""
        import torch

        a = torch.tensor(self.a)
        if entry is None:
            return lambda x: torch.tanh(a @ x) + x**2
        i, j = entry

        class Bad(torch.autograd.Function):
            @staticmethod
            def forward(ctx: Any, x: Any) -> Any:
                ctx.save_for_backward(x)
                return torch.tanh(a @ x) + x**2

            @staticmethod
            def backward(ctx: Any, g: Any) -> Any:
                (x,) = ctx.saved_tensors
                s = 1 - torch.tanh(a @ x) ** 2
                out = a.T @ (s * g) + 2 * x * g
                out[j] += (factor - 1) * (s[i] * a[i, j] + (2 * x[j] if i == j else 0)) * g[i]
                return out

        return Bad.apply


class Ring:
    """``f(x) = tanh(x + c·roll(x, 1)) + x²`` on ``R^N → R^N``, its VJP and JVP.

    ``sign=-1`` in :meth:`vjp` and :meth:`jvp` is the planted bug: the mixing term's
    sign flipped.
    """

    def __init__(self, n: int) -> None:
        self.x: Array = np.random.default_rng(0).standard_normal(n)

    @staticmethod
    def f(x: Array) -> Array:
        """``tanh(x + c·roll(x, 1)) + x²``."""
        return np.tanh(x + MIX * np.roll(x, 1)) + x**2

    @staticmethod
    def vjp(x: Array, u: Array, sign: float = 1.0) -> Array:
        """``uᵀJ = (I + c Sᵀ) ((1 − t²) u) + 2x u``."""
        d = (1 - np.tanh(x + MIX * np.roll(x, 1)) ** 2) * u
        return d + sign * MIX * np.roll(d, -1) + 2 * x * u

    @staticmethod
    def jvp(x: Array, v: Array, sign: float = 1.0) -> Array:
        """``J v = (1 − t²)(v + c S v) + 2x v``."""
        s = 1 - np.tanh(x + MIX * np.roll(x, 1)) ** 2
        return s * (v + sign * MIX * np.roll(v, 1)) + 2 * x * v

    @staticmethod
    def torch_fn(bug: bool = False) -> Any:
        """The function in torch; with ``bug``, a custom ``Function`` whose backward and
        forward-mode (``jvp``) rules both flip the mixing term's sign."""
        import torch

        def plain(x: Any) -> Any:
            return torch.tanh(x + MIX * torch.roll(x, 1)) + x**2

        if not bug:
            return plain

        class Bad(torch.autograd.Function):
            @staticmethod
            def forward(ctx: Any, x: Any) -> Any:
                ctx.save_for_backward(x)
                ctx.save_for_forward(x)
                return plain(x)

            @staticmethod
            def backward(ctx: Any, g: Any) -> Any:
                (x,) = ctx.saved_tensors
                d = (1 - torch.tanh(x + MIX * torch.roll(x, 1)) ** 2) * g
                return d - MIX * torch.roll(d, -1) + 2 * x * g

            @staticmethod
            def jvp(ctx: Any, v: Any) -> Any:
                (x,) = ctx.saved_tensors
                s = 1 - torch.tanh(x + MIX * torch.roll(x, 1)) ** 2
                return s * (v - MIX * torch.roll(v, 1)) + 2 * x * v

        return Bad.apply

    @staticmethod
    def jax_fn(bug: bool = False) -> Any:
        """The jitted function in jax; with ``bug``, a ``custom_jvp`` rule with the mixing
        term's sign flipped (jax derives the reverse mode from it, so both modes are
        wrong)."""
        import jax
        import jax.numpy as jnp

        def plain(x: Any) -> Any:
            return jnp.tanh(x + MIX * jnp.roll(x, 1)) + x**2

        if not bug:
            return jax.jit(plain)
        bad = jax.custom_jvp(plain)

        @bad.defjvp  # type: ignore[untyped-decorator, misc]
        def _rule(primals: Any, tangents: Any) -> Any:
            (x,), (v,) = primals, tangents
            s = 1 - jnp.tanh(x + MIX * jnp.roll(x, 1)) ** 2
            return plain(x), s * (v - MIX * jnp.roll(v, 1)) + 2 * x * v

        return jax.jit(bad)
