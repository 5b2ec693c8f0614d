"""Tests for gradcheck._localise: naming wrong parameters and entries after a verdict."""

from __future__ import annotations

from typing import Any

import numpy as np

import gradcheck
from gradcheck._directional import Prober
from gradcheck._localise import localise

Array = np.ndarray[Any, Any]
RNG = np.random.default_rng(3)
N = 10**6
X = RNG.standard_normal(N)


def _cost(p: Array) -> float:
    return float(np.sum(np.sin(p)))


PARAMS = {
    "A": RNG.standard_normal((40, 60)),
    "B": RNG.standard_normal((40, 60)),
    "c": RNG.standard_normal(3000),
}


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
        g = np.cos(X[: 4096 * 4])
        g[[5, 9000]] += 1.0
        report = gradcheck.check(_cost, X[: 4096 * 4], g, mode="directional", budget=20)
        loc = report.localisation
        assert report.status == "failed" and loc["exhausted"] and loc["regions"]

    def test_a_budget_too_small_for_a_diagnosis_spends_none(self) -> None:
        # budget=0 still diagnosed the single parameter with two probes: 8 evaluations
        x = np.linspace(0.5, 2.5, 50)
        report = gradcheck.check(
            lambda p: np.sum(np.sin(p)), x, 1.5 * np.cos(x), mode="directional", budget=0
        )
        loc = report.localisation
        assert report.status == "failed"
        assert loc["evaluations"] == 0 and loc["exhausted"]


def _mlp(seed: int, sizes: tuple[int, int, int]) -> tuple[Any, Any, dict[str, Array]]:
    """``mean((tanh(X W1ᵀ + b1) W2ᵀ + b2 − Y)²)`` and its exact backprop (issue 11 §1)."""
    rng = np.random.default_rng(seed)
    d0, d1, d2 = sizes
    p = {
        "W1": rng.uniform(-1, 1, (d1, d0)) / np.sqrt(d0),
        "b1": rng.uniform(-1, 1, d1) / 10,
        "W2": rng.uniform(-1, 1, (d2, d1)) / np.sqrt(d1),
        "b2": rng.uniform(-1, 1, d2) / 10,
    }
    xs, ys = rng.standard_normal((16, d0)), rng.standard_normal((16, d2))

    def cost(q: dict[str, Array]) -> float:
        out = np.tanh(xs @ q["W1"].T + q["b1"]) @ q["W2"].T + q["b2"]
        return float(np.mean((out - ys) ** 2))

    def grad(q: dict[str, Array]) -> dict[str, Array]:
        h = np.tanh(xs @ q["W1"].T + q["b1"])
        d_out = 2 * (h @ q["W2"].T + q["b2"] - ys) / ys.size
        d_h = (d_out @ q["W2"]) * (1 - h**2)
        return {"W1": d_h.T @ xs, "b1": d_h.sum(0), "W2": d_out.T @ h, "b2": d_out.sum(0)}

    return cost, grad, p


class _Eval:
    """A plain evaluator of a dict-of-arrays cost (what the engine builds, minus care)."""

    def __init__(self, cost: Any, params: dict[str, Array]) -> None:
        self.cost, self.names = cost, list(params)
        self.leaves = [np.array(v, dtype=np.float64) for v in params.values()]

    def __call__(self, points: Any) -> Array:
        out = []
        for point in points:
            q = {n: x.copy() for n, x in zip(self.names, self.leaves)}
            for d in point:
                q[self.names[d.leaf]].reshape(-1)[d.indices] += d.amount()
            out.append(self.cost(q))
        return np.array(out)


class TestNoFalseBlame:
    """Issue 11 §1: correct index ranges were named as known wrong regions."""

    def test_a_false_alarm_names_nothing(self) -> None:
        """Localisation started on a correct gradient (as after a false verdict)."""
        cost, grad, p = _mlp(0, (100, 60, 10))
        ev = _Eval(cost, p)
        g = [v.reshape(-1) for v in grad(p).values()]
        for seed in range(4):
            prober = Prober(ev, ev.leaves, g, cost(p), None, 2.0**-52)
            loc = localise(
                prober, ev.names, [x.shape for x in ev.leaves], np.random.default_rng(seed)
            )
            assert loc.regions == [] and loc.pinned == [] and loc.wrong == {}
            assert loc.unconfirmed == [(i, 0, x.size) for i, x in enumerate(ev.leaves)]

    def test_one_planted_entry_names_only_it(self) -> None:
        cost, grad, p = _mlp(1, (300, 200, 20))
        g = grad(p)
        g["W1"] = g["W1"].copy()
        g["W1"][123, 45] += 1e-5
        for seed in range(4):
            report = gradcheck.check(cost, p, g, seed=seed)
            assert report.localisation["pinned"] == ["W1[123, 45]"], str(report)
            assert report.localisation["regions"] == [] and report.failed_parameters == ["W1"]
