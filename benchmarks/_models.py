"""The benchmark's functions: a tanh MLP (NumPy, torch, jax) and a fixed-work busy cost.

The MLP is one hidden tanh layer with a mean-squared output,
``J = mean((tanh(X W + b) v)²)``, ``X`` a fixed 32 × 100 batch; its parameter count
``N = 102·hidden`` is set by the hidden width. The same weights and inputs are used by
every checker.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["MLP", "Array", "busy_cost", "eval_seconds", "mlp", "timed", "typical_entry"]

Array = np.ndarray[Any, Any]
D_IN = 100
BATCH = 32


class MLP:
    """Cost, gradient, parameters and inputs of a tanh MLP with about ``n`` parameters."""

    def __init__(self, n: int, dtype: Any = np.float64) -> None:
        rng = np.random.default_rng(0)
        hidden = max(2, n // (D_IN + 2))
        self.xs: Array = rng.standard_normal((BATCH, D_IN)).astype(dtype)
        self.params: dict[str, Array] = {
            "W": (rng.standard_normal((D_IN, hidden)) / 10).astype(dtype),
            "b": (rng.standard_normal(hidden) / 10).astype(dtype),
            "v": (rng.standard_normal(hidden) / 10).astype(dtype),
        }
        self.size = sum(int(x.size) for x in self.params.values())

    def cost(self, q: dict[str, Array]) -> Any:
        """``mean((tanh(X W + b) v)²)``."""
        return np.mean((np.tanh(self.xs @ q["W"] + q["b"]) @ q["v"]) ** 2)

    def grad(self, q: dict[str, Array]) -> dict[str, Array]:
        """The hand-written backward pass (correct)."""
        t = np.tanh(self.xs @ q["W"] + q["b"])
        y = t @ q["v"]
        dy = 2 * y / y.size
        dz = np.outer(dy, q["v"]) * (1 - t**2)
        return {"W": self.xs.T @ dz, "b": dz.sum(0), "v": t.T @ dy}


def mlp(n: int, dtype: Any = np.float64) -> MLP:
    """The MLP with about ``n`` parameters."""
    return MLP(n, dtype)


def typical_entry(g: Array) -> int:
    """Flat index of the entry whose magnitude is closest to the RMS of ``g``.

    A wrong entry planted there is a typical one: neither a near-zero entry (which no
    checker could see) nor the largest (which would flatter everyone).
    """
    flat = np.abs(g.reshape(-1))
    rms = float(np.sqrt(np.mean(flat**2)))
    return int(np.argmin(np.abs(flat - rms)))


#: The busy cost's fixed work: a 160 × 160 matrix product and tanh, repeated.
_BUSY = np.random.default_rng(1).standard_normal((160, 160)) / 16


def busy_cost(x: Array, repeats: int = 80) -> float:
    """``sum(sin x)`` plus a constant from a fixed amount of NumPy work (no sleep).

    Module-level, so that process pools and Dask workers can unpickle it. The extra
    term does not depend on ``x``: the gradient stays ``cos x``.
    """
    a = _BUSY
    for _ in range(repeats):
        a = np.tanh(a @ _BUSY)
    return float(np.sum(np.sin(x))) + 1e-300 * float(a[0, 0])


def timed(fn: Callable[[], Any], repeats: int = 1, warmup: bool = False) -> tuple[float, Any]:
    """Median wall time over ``repeats`` calls (after one untimed call if ``warmup``)."""
    if warmup:
        fn()
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def eval_seconds(fn: Callable[[], Any], min_total: float = 0.2) -> float:
    """Median seconds of one call of ``fn``, over enough calls to take ``min_total``."""
    fn()
    t = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t, 1e-7)
    reps = max(5, min(2000, int(min_total / one)))
    return timed(fn, repeats=reps)[0]
