"""Batched evaluation of the cost: many points in one call of the user's batched cost.

:class:`BatchedEvaluator` honours the protocol of :class:`gradcheck._evaluate.Evaluator`
(a batch of points in, one cost value per point out) and keeps the count, planned work
and progress calls of the in-process :class:`SerialEvaluator` it wraps, so the engine
does not know how the values were computed. The user's ``batched(stacked)`` receives a
pytree shaped like the parameters whose every leaf has a leading batch axis
``(B, *leaf.shape)`` and returns ``B`` cost values. ``B`` is chosen so that one stack
fits the memory budget (``memory_budget`` bytes, default :data:`MEMORY_BUDGET`). The
first stack of each size is spot-checked against the serial cost (a GPU picks its
kernels by batch size); a stack that disagrees sends this and every later evaluation
to the serial cost, and :attr:`BatchedEvaluator.refused` says why. Executors, which
run such stacks on workers, are in :mod:`gradcheck._executor`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradcheck._errors import GradcheckError
from gradcheck._errstate import user_errors
from gradcheck._evaluate import (
    NonFinite,
    Point,
    SerialEvaluator,
    describe,
    edge_hint,
    to_scalar,
)
from gradcheck._numerics import BATCHED_ROUNDOFFS
from gradcheck._pytree import TreeDef, unflatten
from gradcheck._tolerances import unit_roundoff

__all__ = ["MEMORY_BUDGET", "SPOT_INTERIOR", "BatchedEvaluator", "Probed"]

Array = np.ndarray[Any, Any]
#: Default bytes one stacked batch may take: 256 MiB keeps a float64 model of 10⁶
#: parameters at 32 perturbations per call, well inside a laptop's memory.
MEMORY_BUDGET = 256 * 2**20
#: Interior points of a stack spot-checked besides its first and last
#: (:meth:`BatchedEvaluator._spot_check`).
SPOT_INTERIOR = 2


@dataclass(frozen=True)
class Probed:
    """An adapter's ``vmap`` of the cost, already compared with the serial cost by its
    probe (``gradcheck._frameworks.probe_batched``): its stacks are not spot-checked
    again (:meth:`BatchedEvaluator._spot_check`), and the unperturbed value stays the
    serial one, as the probe compared them."""

    fn: Callable[[Any], Any]

    def __call__(self, stacked: Any) -> Any:
        return self.fn(stacked)


class BatchedEvaluator:
    """Evaluate points many at a time through ``batched(stacked) -> B values``.

    Args:
        batched: the user's batched cost.
        base: the in-process serial evaluator (private leaves, names, counters).
        treedef: the parameters' structure.
        memory_budget: bytes one stack may take.
    """

    def __init__(
        self,
        batched: Callable[[Any], Any],
        base: SerialEvaluator,
        treedef: TreeDef,
        memory_budget: int = MEMORY_BUDGET,
    ) -> None:
        self.batched = batched
        self.base = base
        self.treedef = treedef
        per_point = sum(leaf.nbytes for leaf in base.leaves) or 1
        self.chunk = max(1, int(memory_budget) // per_point)
        #: stack sizes whose spot check agreed with the serial cost
        self.checked: set[int] = set()
        #: why the stacks stopped (a spot check disagreed), or ``""`` while they run
        self.refused = ""

    def __call__(self, points: Sequence[Point]) -> Array:
        base = self.base
        if self.refused:
            return base(points)
        out = np.empty(len(points), dtype=np.complex128 if base.complex_ok else np.float64)
        base.planned += len(points)
        for start in range(0, len(points), self.chunk):
            part = points[start : start + self.chunk]
            values = self._stack_call(part)
            base.count += len(part)
            if len(part) not in self.checked and not isinstance(self.batched, Probed):
                self.refused = self._spot_check(part, values)
                if self.refused:  # this stack and the rest, one by one
                    # planned: the refused stack was evaluated (and counted); the
                    # serial run below plans the rest again
                    base.planned -= len(points) - start - len(part)
                    out[start:] = base(points[start:])
                    return out
                self.checked.add(len(part))
            out[start : start + len(part)] = values
            if base.progress is not None:
                base.progress(base.count, base.planned)
        return out

    def _spot_check(self, part: Sequence[Point], values: Array) -> str:
        """Why ``values`` (a stack's) cannot stand for the serial cost's, or ``""``.

        The stack's first and last points and :data:`SPOT_INTERIOR` interior ones (drawn
        by a private generator seeded with the stack's size) are evaluated serially; each
        batched value must agree within ``BATCHED_ROUNDOFFS · u`` relative, as the
        adapters' probe of a ``vmap`` asks (``gradcheck._frameworks.probe_batched``): a
        kernel chosen by batch size (TF32 products in large stacks only, attack33 H122)
        computes another cost, whose differences are not the serial cost's. The
        interior points: a tiled kernel may compute its middle tiles otherwise
        (attack33's residual: every interior row in TF32 passed the first and last).
        """
        base = self.base
        b = len(part)
        inner = np.random.default_rng([b, 41]).permutation(np.arange(1, b - 1))[:SPOT_INTERIOR]
        picks = sorted({0, b - 1, *map(int, inner)})
        serial = base([part[k] for k in picks])
        dtypes = [np.dtype(base.result_dtype), *(leaf.dtype for leaf in base.leaves)]
        u = max(unit_roundoff(d) if np.issubdtype(d, np.inexact) else 0.0 for d in dtypes)
        for k, want in zip(picks, serial):
            got = values[k]
            if not abs(got - want) <= BATCHED_ROUNDOFFS * u * max(abs(want), 1e-300):
                at = describe(part[k], base.names, base.shapes)
                return (
                    f"in a stack of {len(part)} points the batched cost gave {got:.17g} "
                    f"{at}, where the cost gives {want:.17g}"
                )
        return ""

    def _stack_call(self, points: Sequence[Point]) -> Array:
        b, base = len(points), self.base
        stacks = [np.repeat(leaf[None], b, axis=0) for leaf in base.leaves]
        flats = [s.reshape(b, -1) for s in stacks]
        for row, point in enumerate(points):
            for d in point:
                flats[d.leaf][row, d.indices] += d.amount()
        where = f"(evaluations {base.count}..{base.count + b - 1}, a batch of {b} points)"
        base.reset_rng()
        try:
            with user_errors():
                values = self.batched(unflatten(self.treedef, stacks))
        except Exception as exc:
            raise GradcheckError(
                f"batched cost raised {type(exc).__name__}: {exc} {where}"
            ) from exc
        if hasattr(values, "detach"):
            values = values.detach().cpu().numpy()
        arr = np.asarray(values).reshape(-1) if np.ndim(values) else np.asarray(values)
        if arr.shape != (b,):
            raise GradcheckError(
                f"batched cost returned shape {np.shape(values)} for a stack of {b} points; "
                f"it must return {b} values, one per point {where}"
            )
        out = np.empty(b, dtype=np.complex128 if base.complex_ok else np.float64)
        for k, v in enumerate(arr):
            try:
                out[k] = to_scalar(v, complex_ok=base.complex_ok, where="")
            except NonFinite as exc:
                at = describe(points[k], base.names, base.shapes)
                hint = edge_hint(points[k], base.names, base.shapes, base.pristine)
                on = f", {base.on}" if base.on else ""
                # NonFinite, as the serial evaluator raises: the engine's domain-edge
                # handling (steps kept on their own side) catches it (attack20 t82)
                raise NonFinite(
                    f"{exc}(evaluation {base.count + k}, {at}, one of a batch of {b}{on}){hint}"
                ) from None
            except GradcheckError as exc:
                raise GradcheckError(f"{exc}{where}") from None
        return out
