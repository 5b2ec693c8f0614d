"""Tests for gradcheck._localise: naming wrong parameters and entries after a verdict."""

from __future__ import annotations

from typing import Any

import numpy as np

import gradcheck

Array = np.ndarray[Any, Any]
RNG = np.random.default_rng(3)
N = 10**6
X = RNG.standard_normal(N)


def _cost(p: Array) -> float:
    return float(np.sum(np.sin(p)))


PARAMS = {"A": RNG.standard_normal((40, 60)), "B": RNG.standard_normal((40, 60)),
          "c": RNG.standard_normal(3000)}  # fmt: skip


def _tree_cost(p: dict[str, Array]) -> float:
    return float(np.sum(p["A"] ** 2 * p["B"]) + np.sum(np.cos(p["c"])))


def _tree_grad(p: dict[str, Array]) -> dict[str, Array]:
    return {"A": 2 * p["A"] * p["B"], "B": p["A"] ** 2, "c": -np.sin(p["c"])}


class TestSparse:
    def test_one_wrong_entry_among_a_million(self) -> None:
        g = np.cos(X)
        g[654321] *= 1 + 1e-3
        report = gradcheck.check(_cost, X, g, mode="directional")
        assert report.localisation["pinned"] == ["x[654321]"]
        assert report.evaluations <= 400
        entry = report.parameters["x"].worst[0]
        assert abs(entry.numeric - np.cos(X[654321])) < 1e-6

    def test_two_wrong_entries_in_one_parameter(self) -> None:
        g = _tree_grad(PARAMS)
        g["c"] = g["c"].copy()
        g["c"][[10, 2000]] += 0.5
        report = gradcheck.check(_tree_cost, PARAMS, g, mode="directional")
        assert report.failed_parameters == ["c"]
        assert sorted(report.localisation["pinned"]) == ["c[10]", "c[2000]"]


class TestDense:
    def test_swapped(self) -> None:
        g = _tree_grad(PARAMS)
        g["A"], g["B"] = g["B"], g["A"]
        report = gradcheck.check(_tree_cost, PARAMS, g, mode="directional")
        assert report.failed_parameters == ["A", "B"]
        diag = report.parameters["A"].diagnosis
        assert diag is not None and diag.kind == "swapped"

    def test_transpose(self) -> None:
        p = {"W": RNG.standard_normal((30, 30)), "v": RNG.standard_normal(30)}
        m = RNG.standard_normal((30, 30))

        def cost(q: dict[str, Array]) -> float:
            return float(np.sum(m * q["W"] ** 2) + np.sum(q["v"] ** 2))

        g = {"W": (2 * m * p["W"]).T, "v": 2 * p["v"]}
        report = gradcheck.check(cost, p, g, mode="directional")
        diag = report.parameters["W"].diagnosis
        assert report.failed_parameters == ["W"] and diag is not None
        assert diag.kind == "transpose"

    def test_zero_and_report_text(self) -> None:
        g = _tree_grad(PARAMS)
        g["c"] = np.zeros(3000)
        report = gradcheck.check(_tree_cost, PARAMS, g, mode="directional")
        diag = report.parameters["c"].diagnosis
        assert report.failed_parameters == ["c"] and diag is not None and diag.kind == "zero"
        assert "guarantee:" in str(report) and "localised in" in str(report)
        again = gradcheck.Report.from_json(report.to_json())
        assert again.localisation == report.localisation and again.mode == "directional"

    def test_budget_reports_regions(self) -> None:
        g = np.cos(X[:4096 * 4])
        g[[5, 9000]] += 1.0
        report = gradcheck.check(_cost, X[:4096 * 4], g, mode="directional", budget=20)
        loc = report.localisation
        assert report.status == "failed" and loc["exhausted"] and loc["regions"]
