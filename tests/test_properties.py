"""Property-based reliability: random pytrees and smooth costs with exact gradients.

Three properties (issue 7): a correct gradient never fails (and passes in float64
unless the whole gradient is zero, when there is no scale to judge by and the report
says so), a
planted error above the stated detection bound always fails at the right parameter and
index, and the inputs are never mutated. Beyond that grammar (issue 12): keys whose
names collide and gradients in the lesson's ``d`` style are paired right; a gradient
and cost that draw from the global generators see the same draws; and whatever the API
path and however a check ends (a verdict, an exception or a ``KeyboardInterrupt`` in
the cost or the gradient), the global RNG states and the user's arrays are
bit-identical afterwards, also with parameters at scales from 1e-9 to 1e9. ``EXAMPLES`` is read by
``tools/make_reliability_doc.py`` for the figures in ``docs/reliability.md``.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import gradcheck
from _grammar import Problem, Term, clashing_pytrees, d_style, problems, scaled_problems
from gradcheck import GradcheckError, GradientMismatch
from gradcheck._pytree import flatten, unflatten
from gradcheck._summary import ZERO_GRADIENT

__all__ = ["EXAMPLES"]

#: hypothesis examples per property (the figures of docs/reliability.md)
EXAMPLES = {
    "correct_never_fails": 300,
    "planted_error_found": 200,
    "inputs_untouched": 100,
    "clashing_names_and_d_prefix": 100,
    "gradient_and_cost_draw": 100,
    "mixed_scales_isolated": 60,
    "isolation_whatever_the_ending": 200,
    "lower_precision_inside": 60,
}


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
            if result.checked:
                assert np.isfinite(result.detection_bound) and result.detection_bound >= 0
            else:  # an empty leaf: nothing checked, no bound
                assert result.detection_bound == np.inf


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


def _rng_states() -> tuple[Any, ...]:
    kind, keys, pos, gauss, cached = np.random.get_state()
    return kind, keys.tobytes(), pos, gauss, cached, random.getstate()


def _seed_globals(seed: int) -> tuple[Any, ...]:
    np.random.seed(seed)
    random.seed(seed)
    np.random.rand(seed % 5)  # somewhere along the stream, not at its start
    return _rng_states()


def _passes_if_float64(problem: Problem, report: gradcheck.Report) -> None:
    assert report.status != "failed", str(report)
    if {str(x.dtype) for x in problem.leaves(problem.params)} == {"float64"}:
        assert report.status == "passed" or ZERO_GRADIENT in report.messages, str(report)


class TestClashingNamesAndDPrefix:
    @_settings("clashing_names_and_d_prefix")
    @given(problems(dtypes=("float64",), trees=clashing_pytrees()), st.booleans(), st.booleans())
    def test_every_leaf_named_once_and_paired_right(
        self, problem: Problem, d: bool, extras: bool
    ) -> None:
        names = flatten(problem.params)[0]
        assert len(set(names)) == len(names)
        grad = problem.gradient()

        def given_as(g: Any) -> Any:
            return d_style(g, extras) if d else g

        clean = gradcheck.check(problem.cost, problem.params, given_as(grad), mode="full")
        assert list(clean.parameters) == names
        _passes_if_float64(problem, clean)
        assume(clean.status == "passed")
        _, gleaves, treedef = flatten(grad)
        k = int(np.argmax([g.size for g in gleaves]))
        g = np.array(gleaves[k], dtype=np.float64)
        index = int(np.argmax(np.abs(g.reshape(-1))))
        g.reshape(-1)[index] += 1.1 * clean.parameters[names[k]].detection_bound * np.max(np.abs(g))
        planted = unflatten(treedef, [g if i == k else x for i, x in enumerate(gleaves)])
        report = gradcheck.check(problem.cost, problem.params, given_as(planted), mode="full")
        assert report.failed_parameters == [names[k]], str(report)


class TestGradientAndCostDraw:
    @_settings("gradient_and_cost_draw")
    @given(problems(draws=("numpy", "random")), st.integers(0, 2**32 - 1))
    def test_same_draws_on_both_sides(self, problem: Problem, seed: int) -> None:
        before = _seed_globals(seed)
        report = gradcheck.check(problem.cost, problem.params, problem.grad, mode="full")
        assert _rng_states() == before
        _passes_if_float64(problem, report)


class _Interrupt(KeyboardInterrupt):
    """The Ctrl-C these tests plant (a real one is never caught)."""


PATHS = ("full", "sample", "directional", "forward", "assert", "batched", "threads")
ENDINGS = ("verdict", "cost raises", "cost interrupted", "grad raises", "grad interrupted")


def _run(problem: Problem, path: str, ending: str, k: int) -> Any:
    """One check of ``problem`` along ``path``, with the fault ``ending`` planted."""
    counter = itertools.count(1)

    def cost(p: Any) -> float:
        if ending.startswith("cost") and next(counter) == k:
            raise _Interrupt if ending.endswith("interrupted") else RuntimeError("planted")
        return problem.cost(p)

    def grad(p: Any) -> Any:
        if ending.startswith("grad"):
            np.random.rand(3)
            random.random()
            raise _Interrupt if ending.endswith("interrupted") else RuntimeError("planted")
        return problem.grad(p)

    def batched(stacked: Any) -> list[float]:
        _, leaves, treedef = flatten(stacked)
        rows = leaves[0].shape[0]
        return [cost(unflatten(treedef, [x[i] for x in leaves])) for i in range(rows)]

    options: dict[str, Any] = {
        "full": {"mode": "full"},
        "sample": {"mode": "sample", "sample": 2},
        "directional": {"mode": "directional"},
        "forward": {"mode": "full", "method": "forward"},
        "assert": {},
        "batched": {"mode": "full", "batched": batched},
    }.get(path, {"mode": "full"})
    if path == "assert":
        return gradcheck.assert_gradients(cost, problem.params, grad)
    if path == "threads":
        with ThreadPoolExecutor(2) as pool:
            return gradcheck.check(cost, problem.params, grad, executor=pool, mode="full")
    return gradcheck.check(cost, problem.params, grad, **options)


class TestIsolation:
    """Issue 12: whatever the API path and however it ends, the user's world is unchanged."""

    @_settings("isolation_whatever_the_ending")
    @given(
        problems(draws=("", "numpy", "random")),
        st.sampled_from(PATHS),
        st.sampled_from(ENDINGS),
        st.integers(1, 40),
        st.integers(0, 2**32 - 1),
    )
    def test_rng_and_arrays_bit_identical(
        self, problem: Problem, path: str, ending: str, k: int, seed: int
    ) -> None:
        if path == "threads":  # threads share the global generators: a cost must not draw
            problem = dataclasses.replace(problem, draws="")
        arrays = _bytes(problem.params)
        before = _seed_globals(seed)
        try:
            outcome: Any = _run(problem, path, ending, k)
        except (GradcheckError, GradientMismatch, _Interrupt) as exc:
            outcome = exc
        assert _rng_states() == before
        assert _bytes(problem.params) == arrays
        if ending.startswith("grad"):
            expected = _Interrupt if ending == "grad interrupted" else GradcheckError
            assert isinstance(outcome, expected), outcome
        elif ending == "cost interrupted":
            assert isinstance(outcome, (_Interrupt, gradcheck.Report, GradientMismatch))
        elif ending == "cost raises" and isinstance(outcome, GradcheckError):
            assert "cost raised RuntimeError: planted" in str(outcome)
        else:
            assert isinstance(outcome, (gradcheck.Report, GradientMismatch)), outcome

    @_settings("mixed_scales_isolated")
    @given(
        scaled_problems(draws=("", "numpy")),
        st.sampled_from(("full", "directional")),
        st.integers(0, 2**32 - 1),
    )
    def test_mixed_scales_end_in_a_report_or_a_clear_error(
        self, problem: Problem, mode: str, seed: int
    ) -> None:
        arrays = _bytes(problem.params)
        before = _seed_globals(seed)
        try:
            gradcheck.check(problem.cost, problem.params, problem.grad, mode=mode)
        except GradcheckError as exc:
            assert str(exc)
        assert _rng_states() == before
        assert _bytes(problem.params) == arrays


@pytest.mark.parametrize("ending", ENDINGS[1:])
@pytest.mark.parametrize("path", PATHS)
def test_every_path_and_ending_is_reached(path: str, ending: str) -> None:
    """The property above meets each fault on each path (not only verdicts)."""
    problem = Problem({"W": np.array([0.3, -0.5]), "b": np.array(0.25)}, ())
    problem = dataclasses.replace(
        problem, terms=tuple(Term("sin", i, 1.0, 1.0) for i in range(2)), draws="numpy"
    )
    if path == "threads":
        problem = dataclasses.replace(problem, draws="")
    before = _seed_globals(1)
    with pytest.raises(_Interrupt if ending.endswith("interrupted") else GradcheckError):
        _run(problem, path, ending, 3)
    assert _rng_states() == before


class TestLowerPrecisionInside:
    """Issue 12: a cost computed in float32 that returns a float64 (or a Python float)
    still leaves the user's world as it was, and ends in a report."""

    @_settings("lower_precision_inside")
    @given(
        problems(dtypes=("float64",)),
        st.sampled_from(("python float", "float64 array")),
        st.sampled_from(("full", "directional")),
        st.integers(0, 2**32 - 1),
    )
    def test_isolated_and_reported(self, problem: Problem, out: str, mode: str, seed: int) -> None:
        def cost(p: Any) -> Any:
            _, leaves, treedef = flatten(p)
            low = unflatten(treedef, [np.asarray(x).astype(np.float32) for x in leaves])
            value = problem.cost(low)
            return float(value) if out == "python float" else np.float64(value)

        arrays, grad = _bytes(problem.params), problem.gradient()
        before = _seed_globals(seed)
        report = gradcheck.check(cost, problem.params, grad, mode=mode)
        assert isinstance(report, gradcheck.Report)
        assert _rng_states() == before
        assert _bytes(problem.params) == arrays
