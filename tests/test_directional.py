"""Tests for gradcheck._directional: the directional verdict and its guarantee."""

from __future__ import annotations

from typing import Any

import numpy as np

import gradcheck
from gradcheck._directional import detectable, erfinv

Array = np.ndarray[Any, Any]
N = 10**6
RNG = np.random.default_rng(0)
X = RNG.standard_normal(N)
D = RNG.uniform(0.5, 2.0, N)


def _cost(p: Array) -> float:
    return 0.5 * float(np.sum(D * p**2)) + float(np.sum(np.sin(p)))


GRAD = D * X + np.cos(X)


def _mlp() -> tuple[Any, Any, dict[str, Array]]:
    rng = np.random.default_rng(1)
    xs = rng.standard_normal((64, 20)).astype(np.float32)
    p = {"W": (rng.standard_normal((20, 50)) / 5).astype(np.float32),
         "b": (rng.standard_normal(50) / 10).astype(np.float32)}  # fmt: skip

    def cost(q: dict[str, Array]) -> Any:
        return np.mean(np.tanh(xs @ q["W"] + q["b"]) ** 2)

    def grad(q: dict[str, Array]) -> dict[str, Array]:
        t = np.tanh(xs @ q["W"] + q["b"])
        d = (2 * t * (1 - t**2) / t.size).astype(np.float32)
        return {"W": xs.T @ d, "b": d.sum(0)}

    return cost, grad, p


class TestVerdict:
    def test_correct_million_passes_in_ten(self) -> None:
        report = gradcheck.check(_cost, X, GRAD, mode="directional")
        assert report.passed and report.evaluations == 10
        assert 0 < report.guarantee["relative_error"] < 1e-3

    def test_factor_at_million(self) -> None:
        report = gradcheck.check(_cost, X, 2 * GRAD, mode="directional")
        diag = report.parameters["x"].diagnosis
        assert report.failed_parameters == ["x"] and diag is not None and diag.kind == "factor"
        assert abs((diag.factor or 0) - 2) < 1e-3

    def test_float32_model_no_false_positive(self) -> None:
        cost, grad, p = _mlp()
        for seed in range(5):
            report = gradcheck.check(cost, p, grad, mode="directional", seed=seed)
            assert report.passed, str(report)

    def test_float32_sign_flipped_bias(self) -> None:
        cost, grad, p = _mlp()

        def bad(q: dict[str, Array]) -> dict[str, Array]:
            g = grad(q)
            return {"W": g["W"], "b": -g["b"]}

        report = gradcheck.check(cost, p, bad, mode="directional")
        diag = report.parameters["b"].diagnosis
        assert report.failed_parameters == ["b"] and diag is not None and diag.kind == "sign"


class TestGuarantee:
    def test_formula(self) -> None:
        assert abs(erfinv(0.5) - 0.4769362762) < 1e-9
        assert detectable(1.0, 1, 0.5) > detectable(1.0, 2, 0.5)

    def test_empirical_miss_rate_within_stated_bound(self) -> None:
        rng = np.random.default_rng(7)
        x = rng.standard_normal(2000)
        g = 3 * x**2
        s = np.maximum(np.abs(x), np.sqrt(np.mean(x**2)))
        e = rng.standard_normal(2000) / s
        e *= np.linalg.norm(s * g) / np.linalg.norm(s * e)  # relative size 1
        delta = 0.2
        bound = gradcheck.check(lambda p: float(np.sum(p**3)), x, g, mode="directional",
                                miss_probability=delta).guarantee["relative_error"]  # fmt: skip
        rho = 1.05 * bound
        misses = runs = 0
        for seed in range(300):
            r = gradcheck.check(lambda p: float(np.sum(p**3)), x, g + rho * e, seed=seed,
                                mode="directional", miss_probability=delta, localise=False)
            if r.guarantee["relative_error"] <= rho:
                runs += 1
                misses += r.passed
        assert runs >= 50
        assert misses / runs <= delta + 3 * np.sqrt(delta * (1 - delta) / runs)
        assert misses > 0  # the bound is not vacuous: errors of that size are sometimes missed
