"""``gradcheck._directional_check``: the directional mode's notes (attack22 C7)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

import gradcheck
from gradcheck._directional_check import distinct

Array = np.ndarray[Any, Any]


class TestDistinct:
    @pytest.mark.parametrize(
        ("a", "b"),
        [
            (5171.4912, 5171.4893),
            (1.0, 1.0 + 2**-52),
            (-3e-200, -3.0000001e-200),
            (1e300, 1.0000000001e300),
            (0.1 + 0.2, 0.3),
        ],
    )
    def test_different_numbers_read_differently(self, a: float, b: float) -> None:
        x, y = distinct(a, b)
        assert x != y and float(x) == pytest.approx(a, rel=1e-5)
        assert len(x.lstrip("-").replace(".", "")) <= 22

    @pytest.mark.parametrize("a", [0.0, 1.5, -7.25e-12])
    def test_equal_numbers_keep_the_least_digits(self, a: float) -> None:
        assert distinct(a, a) == (f"{a:.6g}", f"{a:.6g}")

    def test_far_apart_numbers_keep_six_digits(self) -> None:
        assert distinct(1.23456789, 2.5) == ("1.23457", "2.5")


class TestFailureNote:
    @pytest.mark.parametrize("seed", [0, 1])
    @pytest.mark.parametrize("error", [1e-6, 1e-4])
    def test_the_claim_and_the_slope_are_told_apart(self, seed: int, error: float) -> None:
        x = np.random.default_rng(seed).standard_normal(20_000)
        g = np.cos(x)
        g[123] *= 1 + error * 1e3
        report = gradcheck.check(lambda p: float(np.sum(np.sin(p))), x, g)
        assert report.mode == "directional" and report.status == "failed", str(report)
        (note,) = [m for m in report.messages if "directional check disagrees" in m]
        found = re.search(r"the gradient gives (\S+), the cost's slope is (\S+) \(they", note)
        assert found is not None and found[1] != found[2], note


class TestExplicitRtol:
    def test_a_bound_grown_by_the_users_rtol_is_no_unresolved_gradient(self) -> None:
        # mut26: rtol=0.1 states a detectable error of 4.2, which the noise rule read as
        # a gradient drowned in noise: inconclusive for a 1% error the rtol allows
        x = np.linspace(0.5, 2.5, 50)
        g = np.cos(x)
        g[7] *= 1.01
        report = gradcheck.check(lambda p: np.sum(np.sin(p)), x, g, mode="directional", rtol=0.1)
        assert report.status == "passed", str(report)
        assert report.guarantee["relative_error"] > 0.5
        wrong = gradcheck.check(
            lambda p: np.sum(np.sin(p)), x, 2.0 * np.cos(x), mode="directional", rtol=0.1
        )
        assert wrong.status == "failed"


class TestEmptyLeaf:
    """A 0-size leaf beside a used one (an empty bias, an unused Parameter(0)) has
    nothing to check: passed, as in full mode (it was inconclusive, "could only see a
    relative error of inf", so such a model never passed in directional mode:
    attack35 H145)."""

    @staticmethod
    def _case() -> tuple[Any, dict[str, Any], Any, Any]:
        r = np.random.default_rng(0)
        a = r.standard_normal((3, 50)) / np.sqrt(50)
        p0 = {"w": r.standard_normal(50), "e": np.zeros((0, 3))}

        def cost(p: dict[str, Any]) -> float:
            return float(np.sum(np.sin(a @ p["w"])))

        def grad(p: dict[str, Any]) -> dict[str, Any]:
            return {"w": a.T @ np.cos(a @ p["w"]), "e": np.zeros((0, 3))}

        def wrong(p: dict[str, Any]) -> dict[str, Any]:
            return {"w": 1.1 * a.T @ np.cos(a @ p["w"]), "e": np.zeros((0, 3))}

        return cost, p0, grad, wrong

    def test_right(self) -> None:
        cost, p0, grad, _ = self._case()
        report = gradcheck.check(cost, p0, grad, mode="directional", seed=0)
        assert report.status == "passed"
        assert report.parameters["e"].status == "passed"
        assert report.parameters["e"].detection_bound == np.inf

    def test_wrong_beside_it(self) -> None:
        cost, p0, _, wrong = self._case()
        report = gradcheck.check(cost, p0, wrong, mode="directional", seed=0)
        assert report.status == "failed"
        assert report.failed_parameters == ["w"]
        assert report.parameters["e"].status == "passed"
