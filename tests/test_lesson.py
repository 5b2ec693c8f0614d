"""The lesson, reproduced: every function, every published number."""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck
from gradcheck import lesson

NETWORK_WITH_MISTAKES = 0.2850931567761624
NETWORK_FIXED = 1.1890913024229996e-07


@pytest.fixture
def problem() -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    return lesson.lesson_problem()


class TestOneDimensional:
    def test_forward_and_backward(self) -> None:
        assert lesson.forward_propagation(2, 4) == 8
        assert lesson.backward_propagation(2, 4) == 2

    @pytest.mark.parametrize(
        ("x", "theta", "expected"),
        [(2, 4, 2.919335883291695e-10), (3, 4, 7.814075313343006e-11)],
    )
    def test_published_differences(self, x: int, theta: int, expected: float) -> None:
        assert lesson.gradient_check(x, theta) == pytest.approx(expected, rel=1e-9)

    def test_message(self, capsys: pytest.CaptureFixture[str]) -> None:
        lesson.gradient_check(2, 4, print_msg=True)
        assert "works perfectly fine! difference = 2.9193358" in capsys.readouterr().out

    def test_wrong_derivative_is_reported(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setattr(lesson, "backward_propagation", lambda x, theta: 2 * x)
        assert lesson.gradient_check(2, 4, print_msg=True) > 1e-7
        assert "There is a mistake" in capsys.readouterr().out


class TestNetwork:
    def test_problem_data(self, problem: tuple) -> None:
        X, Y, parameters = problem
        assert X.shape == (4, 3) and list(Y) == [1, 1, 0]
        assert list(parameters) == ["W1", "b1", "W2", "b2", "W3", "b3"]
        assert [parameters[k].shape for k in parameters] == [
            (5, 4), (5, 1), (3, 5), (3, 1), (1, 3), (1, 1)
        ]  # fmt: skip
        np.random.seed(1)
        assert np.array_equal(X, np.random.randn(4, 3))

    def test_problem_leaves_the_global_rng_alone(self) -> None:
        np.random.seed(123)
        before = np.random.get_state()[1].copy()
        lesson.lesson_problem()
        assert np.array_equal(np.random.get_state()[1], before)

    def test_buggy_backprop(self, problem: tuple, capsys: pytest.CaptureFixture[str]) -> None:
        X, Y, parameters = problem
        _, cache = lesson.forward_propagation_n(X, Y, parameters)
        gradients = lesson.backward_propagation_n(X, Y, cache)
        difference = lesson.gradient_check_n(parameters, gradients, X, Y, print_msg=True)
        assert difference == pytest.approx(NETWORK_WITH_MISTAKES, rel=1e-9)
        assert "There is a mistake in the backward propagation!" in capsys.readouterr().out

    def test_fixed_backprop(self, problem: tuple, capsys: pytest.CaptureFixture[str]) -> None:
        X, Y, parameters = problem
        _, cache = lesson.forward_propagation_n(X, Y, parameters)
        gradients = lesson.backward_propagation_n_fixed(X, Y, cache)
        difference = lesson.gradient_check_n(parameters, gradients, X, Y, print_msg=True)
        assert difference == pytest.approx(NETWORK_FIXED, rel=1e-9)
        assert difference < 2e-7
        assert "works perfectly fine!" in capsys.readouterr().out

    def test_parameters_are_untouched(self, problem: tuple) -> None:
        X, Y, parameters = problem
        before = {k: v.tobytes() for k, v in parameters.items()}
        _, cache = lesson.forward_propagation_n(X, Y, parameters)
        lesson.gradient_check_n(parameters, lesson.backward_propagation_n(X, Y, cache), X, Y)
        assert {k: v.tobytes() for k, v in parameters.items()} == before

    def test_vector_round_trip(self, problem: tuple) -> None:
        _, _, parameters = problem
        theta, keys = lesson.dictionary_to_vector(parameters)
        assert theta.shape == (47, 1) and keys[:21] == ["W1"] * 20 + ["b1"]
        back = lesson.vector_to_dictionary(theta)
        assert all(np.array_equal(back[k], parameters[k]) for k in parameters)
        grads = {"d" + k: v for k, v in parameters.items()}
        assert np.array_equal(lesson.gradients_to_vector(grads), theta)


class TestWhatTheEngineAdds:
    def test_engine_names_the_two_mistakes(self, problem: tuple) -> None:
        X, Y, parameters = problem
        _, cache = lesson.forward_propagation_n(X, Y, parameters)
        report = gradcheck.check(
            lambda p: lesson.forward_propagation_n(X, Y, p)[0],
            parameters,
            lesson.backward_propagation_n(X, Y, cache),
        )
        assert sorted(report.failed_parameters) == ["W2", "b1"]
        w2, b1 = report.parameters["W2"].diagnosis, report.parameters["b1"].diagnosis
        assert w2 is not None and w2.factor == pytest.approx(2.0, rel=1e-5)
        assert b1 is not None and b1.factor == pytest.approx(4.0, rel=1e-5)
        assert {k for k, p in report.parameters.items() if p.status == "passed"} == {
            "W1", "b2", "W3", "b3"
        }  # fmt: skip

    def test_engine_passes_the_fixed_backprop(self, problem: tuple) -> None:
        X, Y, parameters = problem
        _, cache = lesson.forward_propagation_n(X, Y, parameters)
        report = gradcheck.check(
            lambda p: lesson.forward_propagation_n(X, Y, p)[0],
            parameters,
            lesson.backward_propagation_n_fixed(X, Y, cache),
        )
        assert report.passed, str(report)
