"""Fault injection: a cost that raises at every evaluation k, interrupts, dying workers.

After every fault the user's parameters and the global NumPy / ``random`` RNG states are
bit-identical, the exception names what happened and where, and no report (no partial
verdict) comes back. ``planned_faults`` is read by ``tools/make_reliability_doc.py``.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import random
import re
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import dask
import numpy as np
import pytest
from distributed import Client, LocalCluster

import gradcheck

__all__ = ["planned_faults"]

Array = np.ndarray[Any, Any]
W = np.array([[0.3, -1.2, 0.7], [1.1, 0.2, -0.4]])
B = np.array([0.5, -0.25], dtype=np.float32)


def _params() -> dict[str, Any]:
    return {"W": W.copy(), "extra": [B.copy(), np.array(0.75)]}


def cost(p: dict[str, Any]) -> float:
    """A smooth cost that also draws global random numbers (which must be restored)."""
    np.random.rand()
    random.random()
    b, s = p["extra"]
    return float(np.sum(np.sin(p["W"])) + np.sum(b.astype(np.float64) ** 2) + s**3)


def grad(p: dict[str, Any]) -> dict[str, Any]:
    b, s = p["extra"]
    return {"W": np.cos(p["W"]), "extra": [2 * b, 3 * s**2]}


def dies_on_perturbation(p: dict[str, Any]) -> float:
    """Kills its worker process when ``W[1, 2]`` is perturbed."""
    if p["W"][1, 2] != W[1, 2]:
        os._exit(3)
    return cost(p)


def raises_at(i: int, j: int, p: dict[str, Any]) -> float:
    """Raises when ``W[i, j]`` alone is perturbed (picklable through ``functools.partial``)."""
    moved = p["W"] != W
    if moved[i, j] and moved.sum() == 1:
        raise RuntimeError(f"bad entry {i},{j}")
    b, s = p["extra"]
    return float(np.sum(np.sin(p["W"])) + np.sum(b.astype(np.float64) ** 2) + s**3)


def _evaluations() -> int:
    return gradcheck.check(cost, _params(), grad, mode="full").evaluations


def planned_faults() -> dict[str, int]:
    """How many faults each test injects (for docs/reliability.md)."""
    n = _evaluations()
    return {
        "exception at evaluation k": n,
        "KeyboardInterrupt at evaluation k": n,
        "KeyboardInterrupt from progress": 1,
        "cost raises in a thread / process worker": 2 * W.size,
        "process-pool worker dies": 1,
        "Dask worker dies": 1,
    }


class _Faulty:
    """``cost`` that raises ``exc`` at its ``k``-th call."""

    def __init__(self, k: int, exc: BaseException) -> None:
        self.k, self.exc, self.calls = k, exc, 0

    def __call__(self, p: dict[str, Any]) -> float:
        self.calls += 1
        if self.calls == self.k:
            raise self.exc
        return cost(p)


def _state() -> tuple[Any, ...]:
    name, keys, pos, has_gauss, gauss = np.random.get_state(legacy=True)
    return name, np.asarray(keys).tobytes(), pos, has_gauss, gauss, random.getstate()


def _snapshot(params: dict[str, Any]) -> list[bytes]:
    return [params["W"].tobytes(), params["extra"][0].tobytes(), params["extra"][1].tobytes()]


def _untouched(params: dict[str, Any]) -> None:
    assert _snapshot(params) == _snapshot(_params())
    assert params["W"].dtype == np.float64 and params["extra"][0].dtype == np.float32


@pytest.fixture
def seeded() -> Any:
    np.random.seed(1234)
    random.seed(1234)
    return _state()


class TestExceptionAtEveryEvaluation:
    def test_every_k(self, seeded: Any) -> None:
        n = _evaluations()
        assert n > 20
        for k in range(1, n + 1):
            params = _params()
            faulty = _Faulty(k, RuntimeError("disk on fire"))
            with pytest.raises(gradcheck.GradcheckError) as info:
                gradcheck.check(faulty, params, grad, mode="full")
            message = str(info.value)
            assert re.search(rf"evaluation {k}\b", message), message
            assert "RuntimeError: disk on fire" in message
            assert isinstance(info.value.__cause__, RuntimeError)
            _untouched(params)
            assert _state() == seeded, f"RNG state changed by a fault at evaluation {k}"


class TestKeyboardInterrupt:
    def test_every_k_propagates_unchanged(self, seeded: Any) -> None:
        for k in range(1, _evaluations() + 1):
            params = _params()
            interrupt = KeyboardInterrupt(f"stop at {k}")
            with pytest.raises(KeyboardInterrupt) as info:
                gradcheck.check(_Faulty(k, interrupt), params, grad, mode="full")
            assert info.value is interrupt
            _untouched(params)
            assert _state() == seeded

    def test_from_progress_callback(self, seeded: Any) -> None:
        params = _params()
        seen: list[int] = []

        def progress(done: int, planned: int) -> None:
            seen.append(done)
            if done == 7:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            gradcheck.check(cost, params, grad, mode="full", progress=progress)
        assert seen[-1] == 7
        _untouched(params)
        assert _state() == seeded


class TestExceptionInWorkers:
    def test_same_error_as_serial(self, seeded: Any) -> None:
        context = multiprocessing.get_context("forkserver")
        with ThreadPoolExecutor(2) as threads, ProcessPoolExecutor(2, mp_context=context) as procs:
            pools: tuple[Executor | None, ...] = (None, threads, procs)
            for i, j in np.ndindex(W.shape):
                messages = []
                for pool in pools:
                    params = _params()
                    with pytest.raises(gradcheck.GradcheckError) as info:
                        gradcheck.check(
                            functools.partial(raises_at, i, j),
                            params,
                            grad,
                            mode="full",
                            executor=pool,
                        )
                    messages.append(str(info.value))
                    _untouched(params)
                    assert _state() == seeded
                assert len(set(messages)) == 1, messages
                assert f"RuntimeError: bad entry {i},{j}" in messages[0]
                assert re.search(rf"evaluation \d+, with W\[{i}, {j}\] perturbed", messages[0])


class TestDeadWorkers:
    def test_process_pool_worker_dies(self, seeded: Any) -> None:
        params = _params()
        context = multiprocessing.get_context("forkserver")
        with (
            ProcessPoolExecutor(2, mp_context=context) as pool,
            pytest.raises(gradcheck.GradcheckError) as info,
        ):
            gradcheck.check(dies_on_perturbation, params, grad, mode="full", executor=pool)
        message = str(info.value)
        assert "executor failed on evaluations" in message and "no partial verdict" in message
        assert "worker may have died" in message
        _untouched(params)
        assert _state() == seeded

    def test_dask_worker_dies(self, seeded: Any) -> None:
        params = _params()
        with (
            dask.config.set({"distributed.scheduler.allowed-failures": 0}),
            LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
            ) as cluster,
            Client(cluster) as client,
            pytest.raises(gradcheck.GradcheckError) as info,
        ):
            gradcheck.check(dies_on_perturbation, params, grad, mode="full", executor=client)
        assert "no partial verdict" in str(info.value)
        _untouched(params)
        assert _state() == seeded
