"""Batched, parallel and distributed evaluation of the cost.

Every evaluator here honours the protocol of :class:`gradcheck._evaluate.Evaluator`
(a batch of points in, one cost value per point out) and keeps the count, planned
work and progress calls of the in-process :class:`SerialEvaluator` it wraps, so the
engine does not know how the values were computed.

* :class:`BatchedEvaluator`: the user's ``batched(stacked)`` receives a pytree shaped
  like the parameters whose every leaf has a leading batch axis ``(B, *leaf.shape)``
  and returns ``B`` cost values. ``B`` is chosen so that one stack fits the memory
  budget (``memory_budget`` bytes, default :data:`MEMORY_BUDGET`). The first stack of
  each size is spot-checked against the serial cost (a GPU picks its kernels by batch
  size); a stack that disagrees sends this and every later evaluation to the serial
  cost, and :attr:`BatchedEvaluator.refused` says why.
* :class:`ExecutorEvaluator`: splits a batch into chunks and runs them on any
  :class:`concurrent.futures.Executor` (threads or processes; for processes the cost
  must be picklable) or a Dask ``distributed.Client`` (through
  ``client.get_executor()``). Each chunk works on its own private copy of the
  parameters. A chunk that fails (a dead worker, a broken pool) aborts the whole
  check with a :class:`GradcheckError`: never a partial verdict.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from gradcheck._errors import GradcheckError
from gradcheck._errstate import user_errors
from gradcheck._evaluate import (
    GlobalRng,
    NonFinite,
    Point,
    SerialEvaluator,
    describe,
    edge_hint,
    preserve_rng,
    to_scalar,
)
from gradcheck._numerics import BATCHED_ROUNDOFFS
from gradcheck._pytree import TreeDef, flatten, unflatten
from gradcheck._tolerances import unit_roundoff

__all__ = [
    "MEMORY_BUDGET",
    "BatchedEvaluator",
    "ExecutorEvaluator",
    "Probed",
    "Workers",
    "as_executor",
    "is_executor",
    "run_chunk",
]

Array = np.ndarray[Any, Any]
#: Default bytes one stacked batch may take: 256 MiB keeps a float64 model of 10⁶
#: parameters at 32 perturbations per call, well inside a laptop's memory.
MEMORY_BUDGET = 256 * 2**20
#: Interior points of a stack spot-checked besides its first and last
#: (:meth:`BatchedEvaluator._spot_check`).
SPOT_INTERIOR = 2
#: Chunks per worker: more than one so that a slow chunk does not idle the others.
CHUNKS_PER_WORKER = 4


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


def run_chunk(
    cost: Callable[[Any], Any],
    batched: Callable[[Any], Any] | None,
    tree: Any,
    points: Sequence[Point],
    complex_ok: bool,
    offset: int,
    memory_budget: int,
    own_rng: bool,
) -> Array:
    """Evaluate ``points`` on a private copy of ``tree``; runs on a worker.

    Module-level (picklable) so that process pools and Dask can ship it.
    ``own_rng``: save and reset the worker's global RNGs around every evaluation
    (processes); threads share the caller's RNG state and must not draw from it.
    """
    names, leaves, treedef = flatten(tree)
    private = [np.array(x, order="C", copy=True) for x in leaves]

    def evaluate(rng: GlobalRng | None) -> Array:
        ev = SerialEvaluator(cost, treedef, private, names, rng, complex_ok=complex_ok)
        ev.count = offset
        if batched is None:
            return ev(points)
        return BatchedEvaluator(batched, ev, treedef, memory_budget)(points)

    if own_rng:
        with preserve_rng() as rng:
            return evaluate(rng)
    return evaluate(None)


def _shut_down(executor: Executor) -> bool:
    """Whether a standard-library executor has been shut down (it then refuses work).

    ``ThreadPoolExecutor`` keeps ``_shutdown``, ``ProcessPoolExecutor``
    ``_shutdown_thread`` (and ``_broken`` once a worker died); other executors are
    assumed to be running, and :meth:`ExecutorEvaluator.__call__` names a refusal.
    """
    flags = ("_shutdown", "_shutdown_thread")
    return any(bool(getattr(executor, flag, False)) for flag in flags)


def _is_client(value: Any) -> bool:
    """Whether ``value`` is a Dask ``distributed.Client`` (duck-typed)."""
    return hasattr(value, "get_executor") and hasattr(value, "scheduler_info")


def is_executor(value: Any) -> bool:
    """Whether ``value`` is what ``executor=`` accepts: an executor or a Dask client."""
    return _is_client(value) or isinstance(value, Executor)


class Workers(NamedTuple):
    """:func:`as_executor`'s answer: the executor and its worker count."""

    pool: Executor
    workers: int


def as_executor(executor: Any) -> Workers:
    """A ``concurrent.futures.Executor`` and its worker count for ``executor=``.

    Accepts an executor or a Dask ``distributed.Client`` (duck-typed: anything with
    ``get_executor`` and ``scheduler_info``).
    """
    if _is_client(executor):
        if getattr(executor, "status", "running") in ("closing", "closed"):
            raise GradcheckError(
                f"option executor: the Dask client {executor!r} has been closed; pass a "
                "running distributed.Client (or create a new one)"
            )
        workers = len(executor.scheduler_info().get("workers", {})) or 1
        return Workers(executor.get_executor(), workers)
    if isinstance(executor, Executor):
        if _shut_down(executor):
            raise GradcheckError(
                f"option executor: {type(executor).__name__} {executor!r} has been shut down "
                "and accepts no work; pass a running executor (create it outside the with "
                "block, or before calling shutdown())"
            )
        workers = int(getattr(executor, "_max_workers", 0) or os.cpu_count() or 1)
        return Workers(executor, workers)
    raise GradcheckError(
        f"option executor={executor!r} is neither a concurrent.futures.Executor nor a "
        "dask distributed.Client; pass e.g. ThreadPoolExecutor(), ProcessPoolExecutor() "
        "or a distributed.Client"
    )


class ExecutorEvaluator:
    """Evaluate chunks of points on an executor's workers (see module doc).

    Args:
        executor: a ``concurrent.futures.Executor`` or a Dask ``distributed.Client``.
        cost: the user's cost (picklable for processes and Dask).
        batched: the optional batched cost, used inside each chunk.
        base: the in-process serial evaluator (private leaves, names, counters).
        treedef: the parameters' structure.
        memory_budget: bytes one stacked batch may take (with ``batched``).
    """

    def __init__(
        self,
        executor: Any,
        cost: Callable[[Any], Any],
        batched: Callable[[Any], Any] | None,
        base: SerialEvaluator,
        treedef: TreeDef,
        memory_budget: int = MEMORY_BUDGET,
    ) -> None:
        self.pool, self.workers = as_executor(executor)
        self.threads = type(self.pool).__name__ == "ThreadPoolExecutor"
        self.cost, self.batched, self.base = cost, batched, base
        self.tree = unflatten(treedef, base.leaves)
        self.memory_budget = memory_budget

    def __call__(self, points: Sequence[Point]) -> Array:
        base = self.base
        n = len(points)
        out = np.empty(n, dtype=np.complex128 if base.complex_ok else np.float64)
        if n == 0:
            return out
        base.planned += n
        parts = min(n, self.workers * CHUNKS_PER_WORKER)
        bounds = np.linspace(0, n, parts + 1).astype(int)
        futures: list[tuple[int, int, Future[Array]]] = []
        try:
            for lo, hi in itertools.pairwise(bounds):
                futures.append((int(lo), int(hi), self._submit(points[lo:hi], int(lo))))
            for lo, hi, fut in futures:
                out[lo:hi] = self._result(fut, points, lo, hi)
                base.count += hi - lo
                if base.progress is not None:
                    base.progress(base.count, base.planned)
        finally:
            for _, _, fut in futures:
                fut.cancel()
        return out

    def _submit(self, points: Sequence[Point], lo: int) -> Future[Array]:
        """Submit one chunk; an executor that refuses work (shut down) is named."""
        base = self.base
        try:
            return self.pool.submit(
                run_chunk,
                self.cost,
                self.batched,
                self.tree,
                list(points),
                base.complex_ok,
                base.count + lo,
                self.memory_budget,
                not self.threads,
            )
        except RuntimeError as exc:
            raise GradcheckError(
                f"option executor: {type(self.pool).__name__} refused work ({exc}); it has "
                "been shut down or broken: pass a running executor"
            ) from exc

    def _result(self, fut: Future[Array], points: Sequence[Point], lo: int, hi: int) -> Array:
        try:
            values = np.asarray(fut.result())
        except GradcheckError:
            raise
        except Exception as exc:
            first = describe(points[lo], self.base.names, self.base.shapes)
            last = self.base.count + hi - lo - 1
            raise GradcheckError(
                f"the executor failed on evaluations {self.base.count}..{last}"
                f" (the first {first}): {type(exc).__name__}: {exc}. The check was abandoned "
                "(no partial verdict); a worker may have died: rerun, or use fewer workers"
            ) from exc
        if values.shape != (hi - lo,):
            raise GradcheckError(
                f"the executor returned {values.shape} values for a chunk of {hi - lo} points"
            )
        return values
