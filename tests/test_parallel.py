"""Tests for gradcheck._parallel: batched, thread, process and Dask evaluation."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import dask
import numpy as np
import pytest
from distributed import Client, LocalCluster

import gradcheck

Array = np.ndarray[Any, Any]
W = np.random.default_rng(0).standard_normal((6, 7))
B = np.linspace(-1, 1, 7)


def cost(p: dict[str, Array]) -> float:
    return float(np.sum(np.tanh(p["W"]) ** 2) + np.sum(p["b"] ** 3))


def bad_grad(p: dict[str, Array]) -> dict[str, Array]:
    t = np.tanh(p["W"])
    return {"W": 2 * t * (1 - t**2), "b": -3 * p["b"] ** 2}


def batched(p: dict[str, Array]) -> Array:
    return np.asarray(np.sum(np.tanh(p["W"]) ** 2, axis=(1, 2)) + np.sum(p["b"] ** 3, axis=1))


def deadly(p: dict[str, Array]) -> float:
    if p["W"][0, 0] != W[0, 0]:
        os._exit(1)
    return cost(p)


def _params() -> dict[str, Array]:
    return {"W": W.copy(), "b": B.copy()}


def _summary(r: gradcheck.Report) -> tuple[Any, ...]:
    return r.status, r.failed_parameters, r.evaluations, r.parameters["W"].difference


class TestBatched:
    def test_same_verdict_as_serial(self) -> None:
        serial = gradcheck.check(cost, _params(), bad_grad, mode="full")
        for budget in (10**9, 1000):
            stacked = gradcheck.check(
                cost, _params(), bad_grad, mode="full", batched=batched, memory_budget=budget
            )
            assert _summary(stacked) == _summary(serial)

    def test_wrong_shape(self) -> None:
        with pytest.raises(gradcheck.GradcheckError, match="must return"):
            gradcheck.check(cost, _params(), bad_grad, batched=lambda p: 0.0)


def _xlogx(p: dict[str, Array]) -> float:
    x = p["x"]
    with np.errstate(invalid="ignore"):  # a step across 0 gives nan: the domain's edge
        return float(np.sum(x * np.log(x)))


def _xlogx_batched(p: dict[str, Array]) -> Array:
    x = p["x"]
    with np.errstate(invalid="ignore"):
        out: Array = np.sum(x * np.log(x), axis=1)
    return out


class TestBatchedDomainEdge:
    """attack20 t82: a batched cost's nan at a step across 0 raised "cost returned nan"
    where the serial evaluations judge the entry on its own side."""

    @pytest.mark.parametrize(
        "x", [[1e-8, 0.5], [1e-7, 0.3, 2.0], [3e-9, 1.0, 1e-6]], ids=["t82", "three", "two-small"]
    )
    def test_same_verdict_as_serial(self, x: list[float]) -> None:
        params = {"x": np.array(x)}
        grad = {"x": np.log(params["x"]) + 1}
        serial = gradcheck.check(_xlogx, params, grad)
        stacked = gradcheck.check(_xlogx, params, grad, batched=_xlogx_batched)
        assert serial.status == stacked.status == "passed", str(stacked)
        assert any("left the cost's domain" in m for m in stacked.messages)

    def test_a_wrong_gradient_at_the_edge_still_fails(self) -> None:
        params = {"x": np.array([1e-8, 0.5])}
        grad = {"x": 1.1 * (np.log(params["x"]) + 1)}
        assert gradcheck.check(_xlogx, params, grad, batched=_xlogx_batched).status == "failed"


class TestExecutors:
    def test_threads_and_processes_match_serial(self) -> None:
        serial = gradcheck.check(cost, _params(), bad_grad, mode="full")
        with ThreadPoolExecutor(2) as pool:
            threads = gradcheck.check(cost, _params(), bad_grad, executor=pool)
        with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("forkserver")) as pool:
            procs = gradcheck.check(cost, _params(), bad_grad, executor=pool)
        assert _summary(threads) == _summary(serial) == _summary(procs)
        assert serial.failed_parameters == ["b"]

    def test_bad_executor(self) -> None:
        with pytest.raises(gradcheck.GradcheckError, match="executor="):
            gradcheck.check(cost, _params(), bad_grad, executor=object())


class TestDask:
    def test_local_cluster_and_dead_worker(self) -> None:
        with (
            dask.config.set({"distributed.scheduler.allowed-failures": 0}),
            LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
            ) as cluster,
            Client(cluster) as client,
        ):
            serial = gradcheck.check(cost, _params(), bad_grad)
            remote = gradcheck.check(cost, _params(), bad_grad, executor=client)
            assert _summary(remote) == _summary(serial)
            params = _params()
            with pytest.raises(gradcheck.GradcheckError, match="no partial verdict"):
                gradcheck.check(deadly, params, bad_grad, executor=client)
            assert np.array_equal(params["W"], W) and np.array_equal(params["b"], B)
