"""The adapters' checks of a forward rule against the backward, and against itself.

With both modes, ``check_function`` of the torch and JAX adapters compares the two
rules with each other, with no finite differences: ``uᵀ(J v) = (uᵀJ) v`` for random
``u`` and ``v`` (:func:`consistency`), exact up to round-off, by the core's check
(:func:`gradcheck._consistency.agreement`, the rule ``check_jacobian`` uses, tolerance
:data:`gradcheck._numerics.CONSISTENCY_ROUNDOFFS`), so a ``jvp`` that disagrees with
its backward is caught even where finite differences are too noisy to see it. A
forward rule must also be linear in its tangent (:func:`linearity`).

>>> import numpy as np
>>> j = np.array([[1.0, 2.0], [3.0, 4.0]])
>>> right = consistency(
...     lambda v: [j @ v[0]], lambda u: [j.T @ u[0]], [(2,)], [(2,)], 2.0**-52, seed=0
... )
>>> wrong = consistency(
...     lambda v: [j @ v[0]], lambda u: [j @ u[0]], [(2,)], [(2,)], 2.0**-52, seed=0
... )
>>> right.wrong, wrong.wrong
(False, True)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from gradcheck._consistency import Consistency, LinearMap, Magnitudes, agreement
from gradcheck._steps import entry_scale

__all__ = ["Retried", "consistency", "linearity", "magnitudes", "retry_failed"]

Array = np.ndarray[Any, Any]


class Retried(NamedTuple):
    """The JVP–VJP comparison kept, and why its float64 retry could not run.

    Attributes:
        result: the comparison that decides (the float64 one where it ran).
        note: ``None``, or the report's note that the float64 comparison, which tells
            low-precision round-off from a wrong rule, raised (the low-precision
            disagreement then stands).
    """

    result: Consistency
    note: str | None = None


def retry_failed(exc: Exception, dtype: str) -> str:
    """The note of a float64 consistency retry that raised ``exc``."""
    return (
        f"the forward and reverse rules disagree in {dtype}; comparing them again in "
        f"float64, to tell {dtype} round-off from a wrong rule, raised "
        f"{type(exc).__name__}: {exc}; the {dtype} comparison stands"
    )


def consistency(
    jvp: Callable[[list[Array]], list[Array]],
    vjp: Callable[[list[Array]], list[Array]],
    inputs: Sequence[tuple[int, ...]],
    outputs: Sequence[tuple[int, ...]],
    roundoff: float,
    seed: int,
    magnitudes: Magnitudes | None = None,
) -> Consistency:
    """Compare ``uᵀ(J v)`` from ``jvp`` with ``(uᵀJ) v`` from ``vjp``, no finite differences.

    The core's comparison of two forms of a Jacobian
    (:func:`gradcheck._consistency.agreement`: its random pairs, its tolerance), on an
    adapter's two rules.

    Args:
        jvp: tangents (one float64 array per input) → ``J v`` (one per output).
        vjp: cotangents (one float64 array per output) → ``uᵀJ`` (one per input).
        inputs: the inputs' shapes. outputs: the compared outputs' shapes.
        roundoff: the largest unit round-off of the dtypes the rules compute in.
        seed: seeds the private generator of ``u`` and ``v``.
        magnitudes: the function's values and the inputs' scales, flat, for the
            tolerance's round-off floor (``gradcheck._consistency.magnitudes``): where the
            forward rule gives exactly 0 and the backward 1.6e-17 of round-off (cosine
            similarity of 0-d tensors, attack24 F2) the terms summed are no measure of it.
    """
    forward = LinearMap("jvp", _flat(jvp, inputs), transposed=False)
    backward = LinearMap("vjp", _flat(vjp, outputs), transposed=True)
    n, m = (sum(math.prod(s) for s in shapes) for shapes in (inputs, outputs))
    return agreement([forward, backward], n, m, roundoff, seed, magnitudes=magnitudes)[0]


def magnitudes(inputs: Sequence[Any], outputs: Sequence[Any]) -> Magnitudes | None:
    """The consistency tolerance's round-off floor (``gradcheck._consistency``): the
    function's values and the inputs' entry scales, flat, for both frameworks (attack24
    F2 in torch, attack25 G3 in JAX: cosine similarity of 0-d inputs is ±1, its
    derivative 0, and its jvp 0 against a backward's 1.6e-17 of round-off failed with
    an allowance of 1.6e-23). ``None`` where any of them is complex (no floor kept)."""
    arrays = [np.asarray(x) for x in (*inputs, *outputs)]
    if any(np.iscomplexobj(a) for a in arrays):
        return None
    flat = [a.astype(np.float64).reshape(-1) for a in arrays]
    scales = [entry_scale(x) for x in flat[: len(inputs)]]
    values = np.concatenate(flat[len(inputs) :]) if outputs else np.zeros(0)
    return Magnitudes(np.abs(values), np.concatenate(scales) if scales else np.zeros(0))


def linearity(
    jvp: Callable[[list[Array]], list[Array]],
    gradients: Sequence[Sequence[Array]],
    cotangents: Sequence[Array],
    inputs: Sequence[tuple[int, ...]],
    roundoff: float,
    seed: int,
) -> Consistency:
    """Compare ``jvp`` at random tangents with the gradients built from basis tangents.

    The forward check builds each ``w_kᵀJ`` from JVPs of basis tangents ``e_j``, so a
    rule not linear in its tangent (``abs(t)``: ``|e_j| = e_j``) is never seen there.
    Here ``w_kᵀ(J v)`` by ``jvp`` at random ``v`` must equal ``(w_kᵀJ) v``, by the
    core's comparison (:func:`gradcheck._consistency.agreement`, its tolerance).

    Args:
        jvp: tangents (one float64 array per input) → ``J v`` (one per output).
        gradients: per output, ``w_kᵀJ`` built from basis tangents (one per input).
        cotangents: per output, ``w_k``.
        inputs: the inputs' shapes.
        roundoff: the largest unit round-off of the dtypes the rule computes in.
        seed: seeds the private generator of the random tangents.
    """
    ws = [np.asarray(w, dtype=np.float64).reshape(-1) for w in cotangents]
    rows = [np.concatenate([np.asarray(g, np.float64).reshape(-1) for g in gs]) for gs in gradients]
    assembled = np.stack(rows)

    def projected(v: Array) -> Array:
        outs = _flat(jvp, inputs, split=True)(v)
        return np.array([np.vdot(w, o) for w, o in zip(ws, outs)])

    forms = [
        LinearMap("jvp", projected, transposed=False),
        LinearMap("jvp of basis tangents", lambda v: assembled @ v, transposed=False),
    ]
    return agreement(forms, assembled.shape[1], len(ws), roundoff, seed)[0]


def _flat(
    rule: Callable[[list[Array]], list[Array]],
    shapes: Sequence[tuple[int, ...]],
    split: bool = False,
) -> Callable[[Array], Any]:
    """``rule`` of a list of arrays of ``shapes`` as a map of flat float64 vectors (with
    ``split``: to the list of its flat outputs)."""

    def apply(x: Array) -> Any:
        parts, start = [], 0
        for shape in shapes:
            parts.append(x[start : start + math.prod(shape)].reshape(shape))
            start += math.prod(shape)
        flat = [np.asarray(y, dtype=np.float64).reshape(-1) for y in rule(parts)]
        return flat if split else np.concatenate(flat)

    return apply
