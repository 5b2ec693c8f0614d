"""Chunks of points on an executor's workers: threads, processes or a Dask cluster.

:class:`ExecutorEvaluator` honours the protocol of :class:`gradcheck._evaluate.Evaluator`
(a batch of points in, one cost value per point out) and keeps the count, planned work
and progress calls of the in-process :class:`SerialEvaluator` it wraps. It splits a
batch into chunks and runs them on any :class:`concurrent.futures.Executor` (threads
or processes; for processes the cost must be picklable) or a Dask
``distributed.Client`` (through ``client.get_executor()``). Each chunk works on its own
private copy of the parameters. A chunk that fails (a dead worker, a broken pool)
aborts the whole check with a :class:`GradcheckError`: never a partial verdict.

With a batched cost, each chunk stacks its points (:class:`BatchedEvaluator`). The
stack sizes already spot-checked travel to the workers and back, so a size is checked
once per check and not once per chunk and call; a chunk whose spot check disagreed
says why (:attr:`ExecutorEvaluator.refused`, the report's note), later chunks run
serially, and the spot checks' own evaluations are counted in the report.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from typing import Any, NamedTuple

import numpy as np

from gradcheck._errors import GradcheckError
from gradcheck._evaluate import GlobalRng, Point, SerialEvaluator, describe, preserve_rng
from gradcheck._parallel import MEMORY_BUDGET, BatchedEvaluator
from gradcheck._pytree import TreeDef, flatten, unflatten

__all__ = ["Chunk", "ExecutorEvaluator", "Workers", "as_executor", "is_executor", "run_chunk"]

Array = np.ndarray[Any, Any]
#: Chunks per worker: more than one so that a slow chunk does not idle the others.
CHUNKS_PER_WORKER = 4


class Chunk(NamedTuple):
    """What a worker sends back for one chunk of points (:func:`run_chunk`)."""

    #: one cost value per point
    values: Array
    #: evaluations made, the points' and the spot checks' (:class:`BatchedEvaluator`)
    evaluations: int
    #: stack sizes whose spot check agreed (those given, and any checked here)
    checked: frozenset[int]
    #: why this chunk stopped stacking (a spot check disagreed), or ``""``
    refused: str


def run_chunk(
    cost: Callable[[Any], Any],
    batched: Callable[[Any], Any] | None,
    tree: Any,
    points: Sequence[Point],
    complex_ok: bool,
    offset: int,
    memory_budget: int,
    own_rng: bool,
    checked: frozenset[int] = frozenset(),
) -> Chunk:
    """Evaluate ``points`` on a private copy of ``tree``; runs on a worker.

    Module-level (picklable) so that process pools and Dask can ship it.
    ``own_rng``: save and reset the worker's global RNGs around every evaluation
    (processes); threads share the caller's RNG state and must not draw from it.
    ``checked``: the stack sizes already spot-checked, not checked again.
    """
    names, leaves, treedef = flatten(tree)
    private = [np.array(x, order="C", copy=True) for x in leaves]

    def evaluate(rng: GlobalRng | None) -> Chunk:
        ev = SerialEvaluator(cost, treedef, private, names, rng, complex_ok=complex_ok)
        ev.count = offset
        if batched is None:
            return Chunk(ev(points), len(points), checked, "")
        stacks = BatchedEvaluator(batched, ev, treedef, memory_budget)
        stacks.checked = set(checked)
        values = stacks(points)
        return Chunk(values, ev.count - offset, frozenset(stacks.checked), stacks.refused)

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
        #: stack sizes whose spot check agreed on some worker (with ``batched``)
        self.checked: frozenset[int] = frozenset()
        #: why the stacks stopped (a chunk's spot check disagreed), or ``""``
        self.refused = ""

    def __call__(self, points: Sequence[Point]) -> Array:
        base = self.base
        n = len(points)
        out = np.empty(n, dtype=np.complex128 if base.complex_ok else np.float64)
        if n == 0:
            return out
        base.planned += n
        parts = min(n, self.workers * CHUNKS_PER_WORKER)
        bounds = np.linspace(0, n, parts + 1).astype(int)
        futures: list[tuple[int, int, Future[Chunk]]] = []
        try:
            for lo, hi in itertools.pairwise(bounds):
                futures.append((int(lo), int(hi), self._submit(points[lo:hi], int(lo))))
            for lo, hi, fut in futures:
                chunk = self._result(fut, points, lo, hi)
                out[lo:hi] = chunk.values
                # a chunk's spot checks are evaluations too: planned and counted
                base.planned += chunk.evaluations - (hi - lo)
                base.count += chunk.evaluations
                self.checked |= chunk.checked
                self.refused = self.refused or chunk.refused
                if base.progress is not None:
                    base.progress(base.count, base.planned)
        finally:
            for _, _, fut in futures:
                fut.cancel()
        return out

    def _submit(self, points: Sequence[Point], lo: int) -> Future[Chunk]:
        """Submit one chunk; an executor that refuses work (shut down) is named."""
        base = self.base
        try:
            return self.pool.submit(
                run_chunk,
                self.cost,
                None if self.refused else self.batched,
                self.tree,
                list(points),
                base.complex_ok,
                base.count + lo,
                self.memory_budget,
                not self.threads,
                self.checked,
            )
        except RuntimeError as exc:
            raise GradcheckError(
                f"option executor: {type(self.pool).__name__} refused work ({exc}); it has "
                "been shut down or broken: pass a running executor"
            ) from exc

    def _result(self, fut: Future[Chunk], points: Sequence[Point], lo: int, hi: int) -> Chunk:
        try:
            chunk = Chunk(*fut.result())
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
        if np.shape(chunk.values) != (hi - lo,):
            raise GradcheckError(
                f"the executor returned {np.shape(chunk.values)} values for a chunk of "
                f"{hi - lo} points"
            )
        return chunk
