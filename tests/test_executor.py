"""Tests for gradcheck._executor: a batched cost's stacks on an executor's workers.

Thread, process and Dask evaluation of plain costs: tests/test_parallel.py.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

import gradcheck
from gradcheck._evaluate import SerialEvaluator
from gradcheck._executor import ExecutorEvaluator, run_chunk
from gradcheck._points import Delta
from gradcheck._pytree import flatten

Array = np.ndarray[Any, Any]
A = np.random.default_rng(3).standard_normal((5, 30)) / np.sqrt(30)
W0 = np.random.default_rng(4).standard_normal(30)


def _tf32(a: Array) -> Array:
    """``a`` read in TF32 (10 mantissa bits), as a GPU's large-batch kernel reads it."""
    b = np.asarray(a, np.float32).copy()
    b.view(np.uint32)[...] &= np.uint32(0xFFFFE000)
    return b.astype(np.float64)


class Counted:
    """The cost ``Σ sin(A w)``, counting its serial calls and the points of its stacks
    (from several threads); ``threshold``: stacks of that many points and more read
    ``w`` in TF32 (another cost)."""

    def __init__(self, threshold: int = 10**9) -> None:
        self.threshold = threshold
        self.serial = 0
        self.stacked = 0
        self.sizes: list[int] = []
        self.lock = threading.Lock()

    def cost(self, p: dict[str, Array]) -> float:
        with self.lock:
            self.serial += 1
        return float(np.sum(np.sin(A @ p["w"])))

    def batched(self, p: dict[str, Array]) -> Array:
        w = p["w"]
        with self.lock:
            self.stacked += len(w)
            self.sizes.append(len(w))
        w = w if len(w) < self.threshold else _tf32(w)
        return np.array([np.sum(np.sin(A @ row)) for row in w])


def grad(p: dict[str, Array]) -> dict[str, Array]:
    return {"w": A.T @ np.cos(A @ p["w"])}


def one_wrong(p: dict[str, Array]) -> dict[str, Array]:
    g = grad(p)["w"].copy()
    g[3] *= 1.5
    return {"w": g}


class TestBatchedOnWorkers:
    @pytest.mark.parametrize("seed", range(3))
    def test_a_chunk_computing_another_cost_is_named_and_not_used(self, seed: int) -> None:
        # a batched cost reading w in TF32 in stacks of 8 and more, run on 2 threads:
        # the chunks' spot checks refused those stacks, and the note was lost with the
        # worker (the report said nothing of why its evaluations ran one by one)
        run = Counted(threshold=8)
        with ThreadPoolExecutor(2) as pool:
            execution = gradcheck.Batched(run.batched, executor=pool)
            right = gradcheck.check(run.cost, {"w": W0}, grad, execution=execution, seed=seed)
            wrong = gradcheck.check(run.cost, {"w": W0}, one_wrong, execution=execution, seed=seed)
        assert (right.status, wrong.status) == ("passed", "failed")
        assert [e.index for e in wrong.worst if e.status == "wrong"] == [(3,)]
        for report in (right, wrong):
            notes = [m for m in report.messages if m.startswith("evaluations are not vectorised")]
            assert len(notes) == 1, report.messages
            assert "points the batched cost gave" in notes[0]

    def test_every_evaluation_is_counted(self) -> None:
        # the spot checks' serial evaluations on the workers were not counted
        run = Counted()
        with ThreadPoolExecutor(2) as pool:
            report = gradcheck.check(
                run.cost,
                {"w": W0},
                grad,
                mode="full",
                execution=gradcheck.Batched(run.batched, executor=pool),
            )
        assert report.status == "passed"
        assert report.evaluations == run.serial + run.stacked

    def test_a_stack_size_is_checked_once_across_chunks_and_calls(self) -> None:
        run = Counted()
        names, _, tree = flatten({"w": W0})
        serial = SerialEvaluator(run.cost, tree, [W0.copy()], names)
        points = [(Delta(0, k, 1e-3),) for k in range(24)]
        with ThreadPoolExecutor(1) as pool:
            ev = ExecutorEvaluator(pool, run.cost, run.batched, serial, tree)
            first = ev(points)  # 4 chunks of 6 points: size 6 checked by each chunk
            assert ev.checked == {6} and ev.refused == ""
            calls = run.serial
            again = ev(points)  # sizes known: no spot check
        assert 4 <= calls <= 4 * 4
        assert run.serial == calls
        assert np.array_equal(first, again)
        assert np.array_equal(first, serial(points))
        assert serial.count == serial.planned

    def test_a_refused_stack_sends_the_later_chunks_to_the_serial_cost(self) -> None:
        run = Counted(threshold=4)
        names, _, tree = flatten({"w": W0})
        serial = SerialEvaluator(run.cost, tree, [W0.copy()], names)
        points = [(Delta(0, k, 1e-3),) for k in range(16)]
        with ThreadPoolExecutor(1) as pool:  # 1 worker: 4 chunks of 4 points
            ev = ExecutorEvaluator(pool, run.cost, run.batched, serial, tree)
            values = ev(points)
            assert ev.refused.startswith("in a stack of 4 points the batched cost gave")
            stacked = run.stacked
            later = ev(points[:8])
        assert run.stacked == stacked  # refused: no stack any more
        assert np.array_equal(values, serial(points))
        assert np.array_equal(later, serial(points[:8]))
        assert serial.count == serial.planned


def test_run_chunk_reports_its_spot_checks() -> None:
    run = Counted()
    points = [(Delta(0, k, 1e-3),) for k in range(5)]
    chunk = run_chunk(
        run.cost, run.batched, {"w": W0}, points, False, 0, 2**30, False, frozenset({5})
    )
    assert (chunk.evaluations, chunk.checked, chunk.refused) == (5, frozenset({5}), "")
    assert run.serial == 0
    chunk = run_chunk(run.cost, run.batched, {"w": W0}, points, False, 0, 2**30, False)
    assert (chunk.evaluations, chunk.checked, chunk.refused) == (5 + 4, frozenset({5}), "")
    assert run.serial == 4
