"""Tests for gradcheck._modes: the mode option, the auto rule and sample mode."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import gradcheck
from gradcheck._modes import AUTO_FULL_MAX, resolve_mode, sample_size

Array = np.ndarray[Any, Any]


def _cost(p: dict[str, Array]) -> float:
    return float(np.sum(p["W"] ** 3) + np.sum(np.sin(p["b"])))


def _grad(p: dict[str, Array]) -> dict[str, Array]:
    return {"W": 3 * p["W"] ** 2, "b": np.cos(p["b"])}


PARAMS = {"W": np.random.default_rng(0).standard_normal((20, 30)), "b": np.linspace(-1, 1, 30)}


class TestAuto:
    def test_threshold(self) -> None:
        assert resolve_mode("auto", AUTO_FULL_MAX) == "full"
        assert resolve_mode("auto", AUTO_FULL_MAX + 1) == "directional"

    def test_default_small_is_full(self) -> None:
        report = gradcheck.check(_cost, PARAMS, _grad)
        assert report.mode == "full" and report.options["resolved_mode"] == "full"
        assert report.evaluations >= 2 * 630

    def test_default_large_is_directional(self) -> None:
        x = np.linspace(-1, 1, AUTO_FULL_MAX + 1)
        report = gradcheck.check(lambda p: float(np.sum(p**3)), x, 3 * x**2)
        assert report.mode == "directional" and report.passed
        assert report.evaluations <= 10

    def test_unknown_mode(self) -> None:
        with pytest.raises(gradcheck.GradcheckError, match="unknown mode 'x'"):
            gradcheck.check(_cost, PARAMS, _grad, mode="x")


class TestSample:
    def test_same_seed_same_entries(self) -> None:
        r1 = gradcheck.check(_cost, PARAMS, _grad, mode="sample", sample=10, seed=3)
        r2 = gradcheck.check(_cost, PARAMS, _grad, mode="sample", sample=10, seed=3)
        r3 = gradcheck.check(_cost, PARAMS, _grad, mode="sample", sample=10, seed=4)
        e1 = r1.parameters["W"].errors
        assert e1 is not None and r1.passed and r1.parameters["W"].checked == 10
        assert np.array_equal(np.isnan(e1), np.isnan(r2.parameters["W"].errors))
        assert not np.array_equal(np.isnan(e1), np.isnan(r3.parameters["W"].errors))

    def test_fraction(self) -> None:
        report = gradcheck.check(_cost, PARAMS, _grad, mode="sample", sample=0.1)
        assert report.parameters["W"].checked == 60 and report.parameters["b"].checked == 3

    def test_finds_factor(self) -> None:
        def bad(p: dict[str, Array]) -> dict[str, Array]:
            return {"W": 6 * p["W"] ** 2, "b": np.cos(p["b"])}

        report = gradcheck.check(_cost, PARAMS, bad, mode="sample", sample=5)
        assert report.failed_parameters == ["W"]

    def test_bad_sample(self) -> None:
        with pytest.raises(gradcheck.GradcheckError, match="fraction must lie in"):
            sample_size(10, 1.5, "W")
