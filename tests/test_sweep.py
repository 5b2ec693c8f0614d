"""gradcheck._sweep: error against step size."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

from gradcheck import GradcheckError
from gradcheck._steps import relative_step
from gradcheck._sweep import slope, sweep

X = np.array([[0.3, -1.2], [0.7, 2.0]])


def cost(p: dict[str, Any]) -> float:
    return float(np.sum(np.sin(p["W"]) * np.exp(p["b"])))


def grad(p: dict[str, Any]) -> dict[str, Any]:
    return {"W": np.cos(p["W"]) * np.exp(p["b"]), "b": np.sin(p["W"]) * np.exp(p["b"])}


PARAMS = {"W": X, "b": X[::-1].copy() / 3}


class TestSweep:
    @pytest.mark.parametrize(("method", "order"), [("central", 2), ("forward", 1)])
    def test_slopes_are_truncation_order_and_minus_one(self, method: str, order: int) -> None:
        result = sweep(cost, PARAMS, grad, method=method, count=2)
        assert result.order == order
        for c in result.curves:
            assert c.truncation_slope == pytest.approx(order, abs=0.3)
            assert c.roundoff_slope == pytest.approx(-1, abs=0.3)

    def test_chosen_step_is_the_engines_and_its_error_is_small(self) -> None:
        result = sweep(cost, PARAMS, grad, entries=[("W", (1, 1))])
        (c,) = result.curves
        assert c.label() == "W[1, 1]"
        assert c.chosen in c.steps
        assert c.chosen == pytest.approx(relative_step("central", np.float64) * 2.0, rel=1e-3)
        assert c.chosen_error < 1e-8
        assert c.reference == pytest.approx(np.cos(2.0) * np.exp(-0.4), rel=1e-10)

    def test_a_wrong_gradient_floors_far_above_the_fd_error(self) -> None:
        def wrong(p: dict[str, Any]) -> dict[str, Any]:
            g = grad(p)
            return {"W": 1.01 * g["W"], "b": g["b"]}

        (c,) = sweep(cost, PARAMS, wrong, entries=[("W", (0, 0))]).curves
        floor = 0.01 * abs(c.reference)
        at = int(np.searchsorted(c.steps, c.chosen))
        assert c.errors[at] == pytest.approx(floor, rel=1e-3)
        assert c.fd_errors[at] < 1e-6 * floor

    def test_default_entries_are_the_largest_gradients(self) -> None:
        result = sweep(lambda x: float(x @ x), np.array([1.0, -5.0, 3.0]), lambda x: 2 * x, count=2)
        assert [c.index for c in result.curves] == [(1,), (2,)]

    def test_user_data_and_rng_untouched(self) -> None:
        params = {"W": X.copy(), "b": PARAMS["b"].copy()}
        np.random.seed(3)
        random.seed(3)
        state, pystate = np.random.get_state(), random.getstate()
        sweep(lambda p: cost(p) + 0 * np.random.rand(), params, grad, count=1, points=5)
        np.testing.assert_array_equal(params["W"], X)
        assert np.array_equal(np.random.get_state()[1], state[1])
        assert random.getstate() == pystate

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"method": "complex"}, "choose 'central' or 'forward'"),
            ({"points": 2}, "at least 3"),
            ({"entries": [("V", (0,))]}, "no such parameter"),
            ({"entries": [("W", (5, 5))]}, r"W\[5, 5\]"),
        ],
    )
    def test_bad_requests_are_named(self, kwargs: dict[str, Any], match: str) -> None:
        with pytest.raises(GradcheckError, match=match):
            sweep(cost, PARAMS, grad, **kwargs)


class TestSlope:
    def test_fits_and_needs_two_points(self) -> None:
        h = np.logspace(-3, 0, 4)
        assert slope(h, h**-1) == pytest.approx(-1)
        assert np.isnan(slope(h[:1], h[:1]))
        assert np.isnan(slope(h, np.zeros(4)))
