"""Property-based reliability: random pytrees and smooth costs with exact gradients.

Three properties (issue 7): a correct gradient never fails (and passes in float64
unless the whole gradient is zero, when there is no scale to judge by and the report
says so), a
planted error above the stated detection bound always fails at the right parameter and
index, and the inputs are never mutated. ``EXAMPLES`` is read by
``tools/make_reliability_doc.py`` for the figures in ``docs/reliability.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from hypothesis import HealthCheck, assume, given, settings

import gradcheck
from _grammar import Problem, problems
from gradcheck._pytree import flatten, unflatten
from gradcheck._summary import ZERO_GRADIENT

__all__ = ["EXAMPLES"]

#: hypothesis examples per property (the figures of docs/reliability.md)
EXAMPLES = {"correct_never_fails": 300, "planted_error_found": 200, "inputs_untouched": 100}


F = TypeVar("F", bound=Callable[..., None])


def _settings(name: str) -> Callable[[F], F]:
    return settings(
        max_examples=EXAMPLES[name],
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.differing_executors,  # stateless test classes: see conftest.py
        ],
    )


def _bytes(tree: Any) -> list[tuple[str, str, tuple[int, ...], bytes]]:
    names, leaves, _ = flatten(tree)
    return [(n, str(x.dtype), x.shape, x.tobytes()) for n, x in zip(names, leaves)]


class TestCorrectGradientNeverFails:
    @_settings("correct_never_fails")
    @given(problems())
    def test_never_failed_and_float64_passes(self, problem: Problem) -> None:
        report = gradcheck.check(problem.cost, problem.params, problem.gradient(), mode="full")
        assert report.status != "failed", str(report)
        dtypes = {str(x.dtype) for x in problem.leaves(problem.params)}
        if dtypes == {"float64"}:  # passed, unless there is no non-zero gradient to judge by
            assert report.status == "passed" or ZERO_GRADIENT in report.messages, str(report)
        for result in report.parameters.values():
            assert np.isfinite(result.detection_bound) and result.detection_bound >= 0


class TestPlantedErrorIsFound:
    @_settings("planted_error_found")
    @given(problems(dtypes=("float64",)))
    def test_error_above_bound_fails_at_its_index(self, problem: Problem) -> None:
        grad = problem.gradient()
        clean = gradcheck.check(problem.cost, problem.params, grad, mode="full")
        assume(clean.status == "passed")  # a bound is stated only by a conclusive check
        names, gleaves, treedef = flatten(grad)
        sizes = [g.size for g in gleaves]
        # plant in the largest leaf at the entry with the largest gradient
        k = int(np.argmax(sizes))
        g = np.array(gleaves[k], dtype=np.float64)
        gmax = float(np.max(np.abs(g)))
        bound = clean.parameters[names[k]].detection_bound
        index = int(np.argmax(np.abs(g.reshape(-1))))
        planted = 1.1 * bound * gmax
        g.reshape(-1)[index] += planted
        leaves = list(gleaves)
        leaves[k] = g
        report = gradcheck.check(problem.cost, problem.params, unflatten(treedef, leaves),
                                 mode="full")  # fmt: skip
        where = np.unravel_index(index, g.shape) if g.ndim else ()
        assert report.status == "failed", f"planted {planted:g} (bound {bound:g})\n{report}"
        result = report.parameters[names[k]]
        assert result.status == "failed"
        assert result.worst[0].index == tuple(int(i) for i in where)
        assert report.worst[0].parameter == names[k]
        assert report.worst[0].index == tuple(int(i) for i in where)


class TestInputsUntouched:
    @_settings("inputs_untouched")
    @given(problems())
    def test_params_and_grad_bit_identical(self, problem: Problem) -> None:
        grad = problem.gradient()
        before = (_bytes(problem.params), _bytes(grad))
        gradcheck.check(problem.cost, problem.params, grad, mode="full")
        gradcheck.check(problem.cost, problem.params, grad, method="forward", mode="full")
        assert (_bytes(problem.params), _bytes(grad)) == before
