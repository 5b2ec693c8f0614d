"""The lesson, reproduced: every function, every published number."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import gradcheck
from gradcheck import lesson

Array = np.ndarray[Any, Any]
Problem = tuple[Array, Array, dict[str, Array]]

ONE_D_X2 = 2.919335883291695e-10
ONE_D_X3 = 7.814075313343006e-11
NETWORK_WITH_MISTAKES = 0.2850931567761624
NETWORK_FIXED = 1.1890913024229996e-07

GREEN, YELLOW, RESET = "\033[92m", "\033[93m", "\033[0m"
FINE = "Your backward propagation works perfectly fine! difference = "
MISTAKE = "There is a mistake in the backward propagation! difference = "


@pytest.fixture
def problem() -> Problem:
    return lesson.lesson_problem()


def _gradients(problem: Problem, *, fixed: bool) -> dict[str, Array]:
    X, Y, parameters = problem
    _, cache = lesson.forward_propagation_n(X, Y, parameters)
    backward = lesson.backward_propagation_n_fixed if fixed else lesson.backward_propagation_n
    return backward(X, Y, cache)


class TestOneDimensional:
    def test_forward_and_backward(self) -> None:
        assert lesson.forward_propagation(2, 4) == 8
        assert lesson.backward_propagation(2, 4) == 2

    @pytest.mark.parametrize(("x", "theta", "expected"), [(2, 4, ONE_D_X2), (3, 4, ONE_D_X3)])
    def test_published_differences(self, x: int, theta: int, expected: float) -> None:
        difference = lesson.gradient_check(x, theta)
        assert isinstance(difference, float)
        assert difference == pytest.approx(expected, rel=1e-9)

    def test_floats_give_the_same_number(self) -> None:
        assert lesson.gradient_check(2.0, 4.0) == lesson.gradient_check(2, 4)

    def test_message_in_green(self, capsys: pytest.CaptureFixture[str]) -> None:
        difference = lesson.gradient_check(2, 4, print_msg=True)
        assert capsys.readouterr().out == f"{GREEN}{FINE}{difference}{RESET}\n"

    def test_no_message_by_default(self, capsys: pytest.CaptureFixture[str]) -> None:
        lesson.gradient_check(2, 4)
        assert capsys.readouterr().out == ""

    def test_wrong_derivative_is_reported_in_yellow(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setattr(lesson, "backward_propagation", lambda x, theta: 2 * x)
        difference = lesson.gradient_check(2, 4, print_msg=True)
        assert difference == pytest.approx(1 / 3, rel=1e-6)
        assert capsys.readouterr().out == f"{YELLOW}{MISTAKE}{difference}{RESET}\n"


class TestLessonProblem:
    def test_data(self, problem: Problem) -> None:
        X, Y, parameters = problem
        assert X.shape == (4, 3) and list(Y) == [1, 1, 0]
        assert list(parameters) == list(lesson.KEYS) == ["W1", "b1", "W2", "b2", "W3", "b3"]
        assert [parameters[k].shape for k in parameters] == [
            (5, 4),
            (5, 1),
            (3, 5),
            (3, 1),
            (1, 3),
            (1, 1),
        ]

    def test_drawn_as_the_lesson_draws(self, problem: Problem) -> None:
        X, _, parameters = problem
        state = np.random.get_state()
        try:
            np.random.seed(1)
            assert np.array_equal(X, np.random.randn(4, 3))
            for key, shape in lesson.SHAPES.items():
                assert np.array_equal(parameters[key], np.random.randn(*shape)), key
        finally:
            np.random.set_state(state)

    def test_leaves_the_global_rng_alone(self) -> None:
        state = np.random.get_state()
        try:
            np.random.seed(123)
            np.random.randn()  # a cached Gaussian and a mid-stream position
            before = np.random.get_state(legacy=False)
            lesson.lesson_problem()
            after = np.random.get_state(legacy=False)
            assert isinstance(before, dict) and isinstance(after, dict)
            assert before["bit_generator"] == after["bit_generator"] == "MT19937"
            assert np.array_equal(before["state"]["key"], after["state"]["key"])
            assert before["state"]["pos"] == after["state"]["pos"]
            assert (before["has_gauss"], before["gauss"]) == (after["has_gauss"], after["gauss"])
        finally:
            np.random.set_state(state)

    def test_fresh_arrays_each_call(self) -> None:
        first, second = lesson.lesson_problem(), lesson.lesson_problem()
        first[2]["W1"][0, 0] = 99.0
        assert second[2]["W1"][0, 0] != 99.0


class TestNetwork:
    def test_forward_cache(self, problem: Problem) -> None:
        X, Y, parameters = problem
        cost, cache = lesson.forward_propagation_n(X, Y, parameters)
        assert np.isfinite(cost) and cost > 0
        assert len(cache) == 12
        Z1, A1, W1, _b1, Z2, A2, _W2, _b2, _Z3, A3, _W3, b3 = cache
        assert W1 is parameters["W1"] and b3 is parameters["b3"]
        assert np.array_equal(A1, np.maximum(0, Z1)) and np.array_equal(A2, np.maximum(0, Z2))
        assert A3.shape == (1, 3) and np.all((A3 > 0) & (A3 < 1))

    def test_backward_keys_as_in_the_lesson(self, problem: Problem) -> None:
        keys = ["dZ3", "dW3", "db3", "dA2", "dZ2", "dW2", "db2", "dA1", "dZ1", "dW1", "db1"]
        assert list(_gradients(problem, fixed=False)) == keys
        assert list(_gradients(problem, fixed=True)) == keys

    def test_the_two_planted_mistakes(self, problem: Problem) -> None:
        buggy, fixed = _gradients(problem, fixed=False), _gradients(problem, fixed=True)
        assert np.allclose(buggy["dW2"], 2 * fixed["dW2"], rtol=1e-15, atol=0)
        assert np.allclose(buggy["db1"], 4 * fixed["db1"], rtol=1e-15, atol=0)
        for key in fixed.keys() - {"dW2", "db1"}:
            assert np.array_equal(buggy[key], fixed[key]), key


class TestVectors:
    def test_round_trip(self, problem: Problem) -> None:
        _, _, parameters = problem
        theta, keys = lesson.dictionary_to_vector(parameters)
        assert theta.shape == (47, 1)
        assert keys == [k for k in lesson.KEYS for _ in range(parameters[k].size)]
        back = lesson.vector_to_dictionary(theta)
        assert list(back) == list(lesson.KEYS)
        assert all(np.array_equal(back[k], parameters[k]) for k in parameters)

    def test_gradients_in_the_same_order(self, problem: Problem) -> None:
        _, _, parameters = problem
        theta, _ = lesson.dictionary_to_vector(parameters)
        grads = {"dZ1": np.zeros(7), **{"d" + k: v for k, v in parameters.items()}}
        assert np.array_equal(lesson.gradients_to_vector(grads), theta)


class TestGradientCheckN:
    def test_planted_mistakes(self, problem: Problem, capsys: pytest.CaptureFixture[str]) -> None:
        X, Y, parameters = problem
        gradients = _gradients(problem, fixed=False)
        difference = lesson.gradient_check_n(parameters, gradients, X, Y, print_msg=True)
        assert difference == pytest.approx(NETWORK_WITH_MISTAKES, rel=1e-9)
        assert capsys.readouterr().out == f"{YELLOW}{MISTAKE}{difference}{RESET}\n"

    def test_corrected(self, problem: Problem, capsys: pytest.CaptureFixture[str]) -> None:
        X, Y, parameters = problem
        gradients = _gradients(problem, fixed=True)
        difference = lesson.gradient_check_n(parameters, gradients, X, Y, print_msg=True)
        assert difference == pytest.approx(NETWORK_FIXED, rel=1e-9)
        assert 1e-7 < difference < 2e-7  # fails the 1-D threshold, passes the network's
        assert capsys.readouterr().out == f"{GREEN}{FINE}{difference}{RESET}\n"

    def test_parameters_and_gradients_are_untouched(self, problem: Problem) -> None:
        X, Y, parameters = problem
        gradients = _gradients(problem, fixed=False)
        before = {k: (v.dtype, v.shape, v.tobytes()) for k, v in parameters.items()}
        grads_before = {k: v.tobytes() for k, v in gradients.items()}
        lesson.gradient_check_n(parameters, gradients, X, Y)
        assert {k: (v.dtype, v.shape, v.tobytes()) for k, v in parameters.items()} == before
        assert {k: v.tobytes() for k, v in gradients.items()} == grads_before


class TestOnTheEngine:
    """The lesson's two checks are the engine's, not a second copy of the loop."""

    @pytest.fixture
    def calls(self, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
        seen: list[dict[str, Any]] = []

        def spy(*args: Any, **kwargs: Any) -> gradcheck.Report:
            seen.append(kwargs)
            return gradcheck.check(*args, **kwargs)

        monkeypatch.setattr(lesson, "check", spy)
        return seen

    def test_gradient_check(self, calls: list[dict[str, Any]]) -> None:
        assert lesson.gradient_check(2, 4, epsilon=1e-5) == pytest.approx(0, abs=1e-9)
        assert calls == [{"method": "central", "eps": 1e-5}]

    def test_gradient_check_n(self, problem: Problem, calls: list[dict[str, Any]]) -> None:
        X, Y, parameters = problem
        lesson.gradient_check_n(parameters, _gradients(problem, fixed=True), X, Y, epsilon=1e-6)
        assert calls == [{"method": "central", "eps": 1e-6}]

    def test_epsilon_changes_the_number(self, problem: Problem) -> None:
        X, Y, parameters = problem
        gradients = _gradients(problem, fixed=True)
        default = lesson.gradient_check_n(parameters, gradients, X, Y)
        assert lesson.gradient_check_n(parameters, gradients, X, Y, epsilon=1e-6) != default


class TestWhatTheEngineAdds:
    def _report(self, problem: Problem, *, fixed: bool) -> gradcheck.Report:
        X, Y, parameters = problem
        return gradcheck.check(
            lambda p: lesson.forward_propagation_n(X, Y, p)[0],
            parameters,
            _gradients(problem, fixed=fixed),
        )

    def test_engine_names_the_two_mistakes(self, problem: Problem) -> None:
        report = self._report(problem, fixed=False)
        assert report.status == "failed"
        assert sorted(report.failed_parameters) == ["W2", "b1"]
        w2, b1 = report.parameters["W2"].diagnosis, report.parameters["b1"].diagnosis
        assert w2 is not None and w2.kind == "factor"
        assert w2.factor == pytest.approx(2.0, rel=1e-5)
        assert b1 is not None and b1.kind == "factor"
        assert b1.factor == pytest.approx(4.0, rel=1e-5)
        assert {k for k, p in report.parameters.items() if p.status == "passed"} == {
            "W1",
            "b2",
            "W3",
            "b3",
        }

    def test_engine_passes_the_fixed_backprop(self, problem: Problem) -> None:
        report = self._report(problem, fixed=True)
        assert report.passed, str(report)
        assert sum(p.checked for p in report.parameters.values()) == 47
