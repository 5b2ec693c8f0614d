"""The execution option: how the perturbed evaluations run, and its older keywords."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

import gradcheck
from gradcheck._execution import Execution, resolve_execution
from gradcheck._parallel import MEMORY_BUDGET

Array = np.ndarray[Any, Any]
X = np.linspace(-1.0, 1.0, 12)


def cost(p: Array) -> float:
    return float(np.sum(np.sin(p) * p))


def grad(p: Array) -> Array:
    return np.cos(p) * p + np.sin(p)


class Stacked:
    """A vectorised ``cost`` that counts the points it was given."""

    def __init__(self) -> None:
        self.points = 0
        self.sizes: set[int] = set()

    def __call__(self, stacked: Array) -> Array:
        self.points += stacked.shape[0]
        self.sizes.add(stacked.shape[0])
        return np.sum(np.sin(stacked) * stacked, axis=1)


class TestResolve:
    def test_default_is_serial(self) -> None:
        assert resolve_execution(None) == Execution(None, None, MEMORY_BUDGET)

    def test_batched_and_its_budget(self) -> None:
        fn = Stacked()
        assert resolve_execution(gradcheck.Batched(fn, 4096)) == Execution(fn, None, 4096)
        assert resolve_execution(None, batched=fn, memory_budget=4096) == Execution(fn, None, 4096)

    def test_an_executor(self) -> None:
        with ThreadPoolExecutor(2) as pool:
            assert resolve_execution(pool) == Execution(None, pool, MEMORY_BUDGET)
            assert resolve_execution(None, executor=pool) == Execution(None, pool, MEMORY_BUDGET)

    @pytest.mark.parametrize("keyword", ["batched", "executor", "memory_budget"])
    def test_no_keyword_beside_execution(self, keyword: str) -> None:
        value = {"batched": Stacked(), "executor": object(), "memory_budget": 10}[keyword]
        with pytest.raises(gradcheck.GradcheckError, match=f"option {keyword}= cannot be combined"):
            resolve_execution(gradcheck.Batched(Stacked()), **{keyword: value})

    @pytest.mark.parametrize("value", ["serial", 2, Stacked()])
    def test_a_value_that_is_no_execution_is_named_as_execution(self, value: Any) -> None:
        with pytest.raises(gradcheck.GradcheckError) as raised:
            gradcheck.check(cost, X, grad, execution=value)
        text = str(raised.value)
        assert text.startswith(f"option execution={value!r} is neither Batched(fn, ...)")
        assert "executor=" not in text and "execution=Batched(fn)" in text


class TestTheChecksAgree:
    @pytest.mark.parametrize("budget", [8 * 12, 8 * 12 * 5, MEMORY_BUDGET])
    def test_batched_runs_the_perturbed_points(self, budget: int) -> None:
        fn = Stacked()
        serial = gradcheck.check(cost, X, grad)
        stacked = gradcheck.check(cost, X, grad, execution=gradcheck.Batched(fn, budget))
        assert stacked.passed and serial.passed
        # the same points, plus the unperturbed one in a stack of 2 and the spot checks
        # of each stack size (its first, last and two interior points, serially)
        checks = sum(min(size, 4) for size in fn.sizes)
        assert fn.points > 0 and stacked.evaluations == serial.evaluations + 2 + checks
        assert stacked.difference == pytest.approx(serial.difference, rel=1e-6, abs=1e-12)

    @pytest.mark.parametrize("wrong", [0, 5, 11])
    def test_on_an_executor_the_verdict_is_the_same(self, wrong: int) -> None:
        g = grad(X)
        g[wrong] *= 2
        serial = gradcheck.check(cost, X, g)
        with ThreadPoolExecutor(2) as pool:
            parallel = gradcheck.check(cost, X, g, execution=pool)
            both = gradcheck.check(
                cost, X, g, execution=gradcheck.Batched(Stacked(), executor=pool)
            )
        for report in (parallel, both):
            assert report.status == serial.status == "failed"
            assert report.worst[0].index == serial.worst[0].index == (wrong,)
