"""Tests for gradcheck._errstate: the checker's arithmetic ignores NumPy's floating-point
errors, the user's code runs under the user's handling (attack33 H126)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import gradcheck
from gradcheck._errstate import checker_errors, user_errors

Array = np.ndarray[Any, Any]
X = np.random.default_rng(0).standard_normal(20)


@pytest.fixture
def raising() -> Iterator[None]:
    old = np.seterr(all="raise")
    try:
        yield
        assert np.geterr() == {
            "divide": "raise",
            "over": "raise",
            "under": "raise",
            "invalid": "raise",
        }
    finally:
        np.seterr(**old)


@pytest.mark.usefixtures("raising")
class TestUnderTheUsersRaise:
    # s = 1e-5 and below raised FloatingPointError ("underflow encountered in cast")
    # from the checker's own float16 casts; 1e-200 from the squares of differences
    @pytest.mark.parametrize("scale", [1.0, 1e-5, 1e-8, 1e-45, 1e-200])
    @pytest.mark.parametrize("mode", ["full", "sample", "directional"])
    def test_a_right_gradient_of_a_small_cost_passes(self, scale: float, mode: str) -> None:
        report = gradcheck.check(
            lambda p: scale * float(np.sum(np.sin(p))), X, lambda p: scale * np.cos(p), mode=mode
        )
        assert report.status == "passed", str(report)

    @pytest.mark.parametrize("mode", ["full", "directional"])
    def test_a_wrong_gradient_of_a_small_cost_fails(self, mode: str) -> None:
        report = gradcheck.check(
            lambda p: 1e-8 * float(np.sum(np.sin(p))), X, lambda p: 1.1e-8 * np.cos(p), mode=mode
        )
        assert report.status == "failed", str(report)

    def test_check_jacobian_and_check_hessian(self) -> None:
        a = 1e-8 * np.random.default_rng(1).standard_normal((4, 20))
        jac = gradcheck.check_jacobian(
            lambda p: np.sin(a @ p), X, lambda p: np.cos(a @ p)[:, None] * a
        )
        assert jac.status == "passed", str(jac)
        s = 1e-8
        hess = gradcheck.check_hessian(
            lambda p: s * float(np.sum(np.sin(p))),
            X,
            lambda p: s * np.cos(p),
            hessian=lambda p: np.diag(-s * np.sin(p)),
        )
        assert hess.status == "passed", str(hess)

    def test_the_users_code_runs_under_the_users_handling(self) -> None:
        def cost(p: Array) -> float:
            return float(np.sum(p) * np.float64(1e-300) * 1e-300)  # underflows: raises

        with pytest.raises(gradcheck.GradcheckError, match="cost raised FloatingPointError"):
            gradcheck.check(cost, X, np.zeros_like(X))

        def grad(p: Array) -> Array:
            return np.float64(1e-300) * 1e-300 * p

        with pytest.raises(
            gradcheck.GradcheckError, match="grad function raised FloatingPointError"
        ):
            gradcheck.check(lambda p: float(np.sum(p)), X, grad)


class TestTheContexts:
    def test_outside_a_check_the_users_handling_stays(self) -> None:
        old = np.seterr(under="warn")
        try:
            with user_errors():
                assert np.geterr()["under"] == "warn"
        finally:
            np.seterr(**old)

    def test_a_nested_check_keeps_the_outer_users_handling(self) -> None:
        old = np.seterr(all="raise")
        try:
            with checker_errors():
                assert np.geterr()["under"] == "ignore"
                with checker_errors(), user_errors():  # an adapter's call of the core
                    assert np.geterr()["under"] == "raise"
                with user_errors():
                    assert np.geterr()["over"] == "raise"
            assert np.geterr()["under"] == "raise"
        finally:
            np.seterr(**old)

    def test_the_users_handling_comes_back_when_the_check_raises(self) -> None:
        old = np.seterr(all="raise")
        try:
            with pytest.raises(gradcheck.GradcheckError):
                gradcheck.check(lambda p: float("nan"), X, X)
            assert np.geterr()["under"] == "raise"
        finally:
            np.seterr(**old)
