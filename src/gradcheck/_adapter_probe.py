"""The adapters' probe of a vectorised cost: whether ``batched`` may replace serial calls.

``gradcheck._frameworks`` (which re-exports both names) asks :func:`probe_batched`
before the engine evaluates stacks of points through the framework's ``vmap``; a
refusal says why in the report, and the evaluations stay serial.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from gradcheck._evaluate import GlobalRng
from gradcheck._numerics import BATCHED_ROUNDOFFS, PROBE_ENTRIES, PROBE_POINTS

__all__ = ["first_value", "probe_batched"]

Array = np.ndarray[Any, Any]


def first_value(cost: Callable[[Any], Any], params: Any, rng: GlobalRng) -> float:
    """``cost(params)`` from the user's saved RNG states; NaN if it raises.

    The engine reports a raising cost itself, naming the evaluation.
    """
    rng.reset()
    try:
        return float(cost(params))
    except Exception:
        return float("nan")


def probe_batched(
    batched: Callable[[Any], Any],
    cost: Callable[[Any], Any],
    params: dict[str, Array],
    value: float,
    u: float,
    rng: GlobalRng,
) -> str | None:
    """Try ``batched`` on a stack of points near ``params``; ``None`` when usable.

    The stack holds the unperturbed point and two points moved by ``±√u`` relative
    along a fixed random direction, repeated to :data:`PROBE_POINTS` points while the
    stack holds at most :data:`PROBE_ENTRIES` entries (a GPU
    picks its kernels by batch size: a JAX ``vmap`` of 34 float32 points ran its
    products in TF32 where 2 points and the serial cost did not, so the perturbed
    values were a staircase the serial ones are not; tools/gpu_check.py). Each value
    must agree with ``cost`` at that point (``value`` at the unperturbed one). Like
    every call of the user's code, each starts from the user's saved global RNG states
    (``rng``), as the engine's evaluations do.

    Returns why it cannot be used otherwise: it raised or warned (no batching rule,
    a BatchNorm in train mode writing its statistics, data-dependent control flow),
    or it disagrees with the serial evaluation by more than ``BATCHED_ROUNDOFFS · u``
    relative (:data:`gradcheck._numerics.BATCHED_ROUNDOFFS`).
    """
    if not np.isfinite(value):
        return "no value"
    signs = np.random.default_rng(0)  # a private generator: no user state moves
    move = {
        n: math.sqrt(u) * np.maximum(np.abs(a), 1.0) * signs.choice([-1.0, 1.0], a.shape)
        for n, a in params.items()
    }
    points = [
        params,
        *({n: (a + s * move[n]).astype(a.dtype) for n, a in params.items()} for s in (1, -1)),
    ]
    serial = [value, *(first_value(cost, p, rng) for p in points[1:])]
    keep = [k for k, v in enumerate(serial) if np.isfinite(v)]  # a move out of the domain
    entries = sum(a.size for a in params.values()) * len(keep)
    repeat = max(1, min(-(-PROBE_POINTS // len(keep)), PROBE_ENTRIES // max(entries, 1)))
    order = keep * repeat
    stacked = {n: np.stack([points[k][n] for k in order]) for n in params}
    rng.reset()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = np.asarray(batched(stacked), dtype=np.float64).reshape(-1)
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    if out.shape != (len(order),):
        return f"batched values have shape {out.shape}, not ({len(order)},)"
    want = np.array([serial[k] for k in order])
    allowed = BATCHED_ROUNDOFFS * u * np.maximum(np.abs(want), 1e-300)
    bad = np.flatnonzero(~(np.abs(out - want) <= allowed))
    if bad.size:
        k = int(bad[0])
        where = "the unperturbed point" if order[k] == 0 else "a point near it"
        return (
            f"at {where}, batched value {float(out[k]):.9g} differs from the serial value "
            f"{float(want[k]):.9g}"
        )
    return None
