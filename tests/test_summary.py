"""The summary: worst entries that are the worst, verdicts, and reports that keep how
they ran (also when the check stops early)."""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
import math
import time
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest

import gradcheck
from gradcheck import _compare as cmp
from gradcheck import cli
from gradcheck._build import build_report
from gradcheck._inputs import NonFiniteEntry
from gradcheck._summary import (
    NO_BOUND,
    RANK,
    WORST,
    ZERO_GRADIENT,
    inconclusive,
    mark_non_finite,
    non_finite_failed,
    overall_status,
    parameter_status,
    rank,
    summarise,
)

Array = np.ndarray[Any, Any]
ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "src" / "gradcheck" / "report.schema.json").read_text())


def comparison(a: Array, numeric: Array, tolerance: Array, status: list[str]) -> cmp.Comparison:
    """A comparison as the engine makes it, with the per-entry results given."""
    size = a.size
    return cmp.Comparison(
        numeric=np.asarray(numeric, dtype=np.float64),
        abs_error=np.abs(a - numeric),
        tolerance=np.asarray(tolerance, dtype=np.float64),
        fd_error=np.zeros(size),
        status=np.array(status),
        reach=np.zeros(size),
        flat=np.zeros(size, dtype=bool),
        scale=float(np.max(np.abs(numeric), initial=0.0)),
    )


def summary(params: dict[str, tuple[Array, Array, Array, list[str]]]) -> gradcheck.Report:
    """``summarise`` over crafted comparisons: name → (analytic, numeric, tol, status)."""
    results, analytic = [], []
    for name, (a, n, tol, status) in params.items():
        results.append((name, n.copy(), comparison(a, n, tol, status), np.arange(a.size)))
        analytic.append(a)
    options = {"method": "central", "resolved_mode": "full"}
    outcome = summarise(results, analytic, 0.0)
    return build_report(outcome, evaluations=7, start=time.perf_counter(), options=options)


def flat_index(entry: gradcheck.Entry, shape: tuple[int, ...]) -> int:
    return int(np.ravel_multi_index(entry.index, shape))


class TestWorstEntriesAreTheWorst:
    @pytest.mark.parametrize("seed", range(6))
    @pytest.mark.parametrize("wrong", [6, 9, 17])
    def test_crafted_wrong_entries_by_error_over_tolerance(self, seed: int, wrong: int) -> None:
        rng = np.random.default_rng(seed)
        size = 60
        n = rng.standard_normal(size)
        a = n.copy()
        pos = rng.choice(size, wrong, replace=False)
        a[pos] += rng.choice([-1, 1], wrong) * np.logspace(-4, 1, wrong)
        status = ["ok"] * size
        for p in pos:
            status[p] = "wrong"
        report = summary({"w": (a, n, np.full(size, 1e-6), status)})
        expected = [int(p) for p in pos[::-1][:WORST]]  # largest error first
        assert [flat_index(e, (size,)) for e in report.worst] == expected
        assert [flat_index(e, (size,)) for e in report.parameters["w"].worst] == expected

    @pytest.mark.parametrize("seed", range(4))
    def test_error_relative_to_tolerance_not_absolute_error(self, seed: int) -> None:
        # Tolerances differ per entry: the largest absolute error is the mildest.
        rng = np.random.default_rng(seed)
        size = 30
        n = rng.standard_normal(size)
        a = n.copy()
        pos = rng.choice(size, 7, replace=False)
        abs_err = np.logspace(0, -3, 7)  # decreasing
        tol = np.logspace(0, -9, 7)  # decreasing faster: ratio increasing
        tolerance = np.full(size, 1e-6)
        tolerance[pos] = tol
        a[pos] += abs_err
        status = ["wrong" if i in pos else "ok" for i in range(size)]
        report = summary({"w": (a, n, tolerance, status)})
        by_ratio = [int(p) for p in pos[::-1][:WORST]]
        by_abs = [int(p) for p in pos[:WORST]]
        got = [flat_index(e, (size,)) for e in report.worst]
        assert got == by_ratio and got != by_abs

    def test_absolute_error_breaks_ties_of_the_ratio(self) -> None:
        n = np.ones(6)
        a = n + np.array([1.0, 4.0, 2.0, 3.0, 0.0, 5.0])
        tol = np.abs(a - n)  # every wrong entry exactly at ratio 1
        tol[4] = 1.0
        status = ["wrong"] * 4 + ["ok", "wrong"]
        report = summary({"w": (a, n, tol, status)})
        assert [flat_index(e, (6,)) for e in report.worst] == [5, 1, 3, 2, 0]

    def test_zero_tolerance_error_ranks_first(self) -> None:
        n = np.ones(4)
        a = n + np.array([1e-9, 1.0, 0.0, 0.5])
        report = summary({"w": (a, n, np.array([0.0, 1e-3, 0.0, 1e-3]), ["wrong"] * 4)})
        assert [flat_index(e, (4,)) for e in report.worst] == [0, 1, 3, 2]

    def test_across_parameters_on_their_own_scale(self) -> None:
        # "big": abs error 10 at tolerance 1 (10×). "small": 1e-3 at 1e-8 (1e5×).
        big_n, small_n = np.full(3, 1e3), np.full(3, 1e-3)
        report = summary(
            {
                "big": (
                    big_n + np.array([10.0, 0, 20.0]),
                    big_n,
                    np.ones(3),
                    ["wrong", "ok", "wrong"],
                ),
                "small": (
                    small_n + np.array([0, 1e-3, 0]),
                    small_n,
                    np.full(3, 1e-8),
                    ["ok", "wrong", "ok"],
                ),
            }
        )
        assert [e.label() for e in report.worst[:3]] == ["small[1]", "big[2]", "big[0]"]

    def test_wrong_before_unresolved_before_kinks_before_ok(self) -> None:
        # A kink's error against the averaged slopes is often the largest of all: it
        # must not push the wrong entries out of the list.
        n = np.zeros(8)
        a = np.array([0.5, 0.5, 0.5, 1e-3, 0.0, 0.2, 0.5, 0.5])
        status = ["nonsmooth", "nonsmooth", "uncertain", "wrong", "ok", "wrong"] + ["nonsmooth"] * 2
        report = summary({"w": (a, n, np.full(8, 1e-4), status)})
        assert [e.status for e in report.worst] == ["wrong", "wrong", "uncertain"] + [
            "nonsmooth"
        ] * 2
        assert [flat_index(e, (8,)) for e in report.worst[:3]] == [5, 3, 2]
        assert list(RANK) == ["wrong", "uncertain", "nonsmooth", "ok"]

    def test_rank_puts_nan_errors_last_in_their_group(self) -> None:
        order = rank(np.array(["wrong"] * 3), np.array([np.nan, 1.0, 2.0]), np.ones(3))
        assert order.tolist() == [2, 1, 0]

    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    @pytest.mark.parametrize("seed", range(3))
    def test_check_lists_the_largest_planted_errors_in_order(
        self, dtype: type[np.floating[Any]], seed: int
    ) -> None:
        rng = np.random.default_rng(seed)
        x = rng.uniform(0.5, 1.5, size=50).astype(dtype)
        grad = 2 * x.astype(np.float64)
        pos = rng.choice(50, 8, replace=False)
        grad[pos] += np.logspace(-1, 1.5, 8)  # well apart: no tie in either order
        report = gradcheck.check(lambda p: float(np.sum(p.astype(np.float64) ** 2)), x, grad)
        assert report.parameters["x"].failed == 8
        expected = [(int(p),) for p in pos[::-1][:WORST]]
        assert [e.index for e in report.worst] == expected
        assert [e.index for e in report.parameters["x"].worst] == expected

    @pytest.mark.parametrize("seed", range(3))
    def test_check_ranks_by_relative_error_under_a_relative_tolerance(self, seed: int) -> None:
        # Gradient entries from 1e-3 to 1e3: with a purely relative tolerance the
        # largest absolute error (on the largest entry) is the smallest relative one.
        rng = np.random.default_rng(seed)
        scales = np.logspace(-3, 3, 7)
        x = rng.uniform(0.5, 1.5, size=7)
        true = scales * x
        rel = np.logspace(-1, -4, 7)  # largest relative error on the smallest entry
        grad = true * (1 + rel)
        perm = rng.permutation(7)
        cost = lambda p: float(0.5 * np.sum(scales[perm] * p**2))  # noqa: E731
        report = gradcheck.check(cost, x[perm], grad[perm], rtol=1e-6, atol=0.0)
        assert report.status == "failed" and report.parameters["x"].failed == 7
        where = {int(old): new for new, old in enumerate(perm)}
        by_rel = [(where[i],) for i in range(WORST)]
        by_abs = [(where[i],) for i in range(6, 6 - WORST, -1)]
        assert [e.index for e in report.worst] == by_rel
        assert by_rel != by_abs

    def test_kinks_do_not_push_wrong_entries_out(self) -> None:
        x = np.array([0.0] * 8 + [0.7, -0.4, 1.1, 0.3])
        grad = (x > 0).astype(float)
        grad[8] += 0.2  # smaller than the kinks' errors (0.5 each), also relative to tolerance
        report = gradcheck.check(lambda p: float(np.sum(np.maximum(p, 0))), x, grad)
        p = report.parameters["x"]
        assert (report.status, p.failed, p.nonsmooth) == ("failed", 1, 8)
        assert report.worst[0].index == (8,) and report.worst[0].status == "wrong"
        kink = report.worst[1]
        assert (
            kink.abs_error / kink.tolerance > report.worst[0].abs_error / report.worst[0].tolerance
        )
        assert [e.status for e in report.worst[1:]] == ["nonsmooth"] * (WORST - 1)


class TestVerdict:
    @pytest.mark.parametrize(
        ("wrong", "uncertain", "nonsmooth", "checked", "expected"),
        [
            (1, 0, 0, 5, "failed"),
            (1, 3, 1, 5, "failed"),
            (0, 1, 0, 5, "inconclusive"),
            (0, 0, 5, 5, "inconclusive"),  # every entry at a kink: nothing judged
            (0, 0, 4, 5, "passed"),
            (0, 0, 0, 5, "passed"),
            (0, 0, 0, 0, "passed"),
        ],
    )
    def test_parameter_status(
        self, wrong: int, uncertain: int, nonsmooth: int, checked: int, expected: str
    ) -> None:
        assert parameter_status(wrong, uncertain, nonsmooth, checked) == expected

    @pytest.mark.parametrize(
        "order", list(itertools.permutations(["passed", "failed", "inconclusive"]))
    )
    def test_failed_outweighs_inconclusive(self, order: tuple[Any, ...]) -> None:
        assert overall_status(list(order)) == "failed"
        assert overall_status([s for s in order if s != "failed"]) == "inconclusive"
        assert overall_status(["passed", "passed"]) == "passed"

    def test_crafted_failed_and_all_kinks(self) -> None:
        n = np.ones(3)
        report = summary(
            {
                "kinks": (np.zeros(3), np.full(3, 0.5), np.full(3, 1e-6), ["nonsmooth"] * 3),
                "wrong": (2 * n, n, np.full(3, 1e-6), ["wrong"] * 3),
            }
        )
        assert report.parameters["kinks"].status == "inconclusive"
        assert report.parameters["wrong"].status == "failed"
        assert report.status == "failed"

    @pytest.mark.parametrize("analytic", [1.0, -1.0, 0.5])
    @pytest.mark.parametrize("shape", [(1,), (4,), (2, 3)])
    def test_abs_at_zero_is_inconclusive_not_passed(self, analytic: float, shape: Any) -> None:
        # Σ|x| at x = 0: every entry at a kink, nothing judged.
        x = np.zeros(shape)
        report = gradcheck.check(lambda p: float(np.sum(np.abs(p))), x, np.full(shape, analytic))
        p = report.parameters["x"]
        assert (p.nonsmooth, p.failed, p.uncertain) == (x.size, 0, 0)
        assert p.status == "inconclusive" and report.status == "inconclusive"

    @pytest.mark.parametrize("shape", [(1,), (2, 3), (7,)])
    def test_relu_at_zero_is_inconclusive_not_passed(self, shape: tuple[int, ...]) -> None:
        x = np.zeros(shape)
        report = gradcheck.check(lambda p: float(np.sum(np.maximum(p, 0))), x, np.zeros_like(x))
        assert report.parameters["x"].nonsmooth == x.size
        assert report.status == "inconclusive"

    @pytest.mark.parametrize("first", ["kinks", "wrong"])
    def test_one_failed_one_inconclusive_is_failed(self, first: str) -> None:
        params = {"kinks": np.zeros(3), "wrong": np.array([0.3, -1.2])}
        grads = {"kinks": np.ones(3), "wrong": -2 * params["wrong"]}  # sign flipped
        order = [first, *(k for k in params if k != first)]
        report = gradcheck.check(
            lambda p: float(np.sum(np.abs(p["kinks"])) + np.sum(p["wrong"] ** 2)),
            {k: params[k] for k in order},
            {k: grads[k] for k in order},
        )
        assert report.parameters["kinks"].status == "inconclusive"
        assert report.parameters["wrong"].status == "failed"
        assert report.status == "failed" and report.failed_parameters == ["wrong"]

    def test_one_failed_one_inconclusive_exits_1(self, tmp_path: Path) -> None:
        path = tmp_path / "mixed.py"
        path.write_text(
            "import numpy as np\n"
            "def problem():\n"
            "    cost = lambda p: float(np.sum(np.abs(p['k'])) + np.sum(p['w'] ** 2))\n"
            "    params = {'k': np.zeros(3), 'w': np.array([0.3, -1.2])}\n"
            "    return cost, params, {'k': np.ones(3), 'w': -2 * params['w']}\n"
        )
        out, err = io.StringIO(), io.StringIO()
        code = cli.main(["run", f"{path}:problem"], out=out, err=err)
        assert code == 1, err.getvalue()
        assert "FAILED: wrong gradient for w" in out.getvalue()


def _noisy(scale: float = 1e-3) -> Any:
    calls = itertools.count()
    return lambda p: float(np.sum(p["W"] ** 2)) + next(calls) * scale


class TestInconclusiveKeepsHowItRan:
    @pytest.mark.parametrize(
        ("options", "mode"),
        [
            ({}, "full"),
            ({"mode": "directional"}, "directional"),
            ({"mode": "directional", "rtol": 1e-5, "seed": 3}, "directional"),
            ({"mode": "sample", "sample": 4}, "sample"),
            ({"mode": "sample", "sample": 0.5, "method": "forward", "eps": 1e-6}, "sample"),
            ({"mode": "full", "atol": 1e-8, "method": "richardson"}, "full"),
        ],
    )
    def test_same_options_and_mode_as_a_finished_check(
        self, options: dict[str, Any], mode: str
    ) -> None:
        params = {"W": np.linspace(0.1, 1.0, 12).reshape(3, 4)}
        grad = {"dW": 2 * params["W"], "dZ1": np.zeros(2)}  # the lesson's extra key: a note
        finished = gradcheck.check(lambda p: float(np.sum(p["W"] ** 2)), params, grad, **options)
        report = gradcheck.check(_noisy(), params, grad, **options)
        assert report.status == "inconclusive" and report.mode == mode == finished.mode
        assert report.options == finished.options
        assert report.options["resolved_mode"] == mode
        assert report.messages[0] == finished.messages[0]  # the note on dZ1
        assert "dZ1" in report.messages[0]
        assert "not deterministic" in report.messages[-1] and len(report.messages) == 2
        assert report.parameters["W"].status == "inconclusive"
        assert report.parameters["W"].checked == 0 and report.parameters["W"].size == 12
        assert report.guarantee == {} and report.localisation == {}

    def test_auto_mode_records_what_it_resolved_to(self) -> None:
        x = np.linspace(-1.0, 1.0, 200_001)
        calls = itertools.count()
        report = gradcheck.check(lambda p: float(p @ p) + next(calls), x, 2 * x)
        assert report.status == "inconclusive" and report.mode == "directional"
        assert report.options["mode"] == "auto"
        assert report.options["resolved_mode"] == "directional"

    def test_round_trip_schema_and_print(self) -> None:
        params = {"W": np.ones((2, 2))}
        report = gradcheck.check(_noisy(), params, {"W": 2 * params["W"]}, mode="directional")
        jsonschema.validate(json.loads(report.to_json()), SCHEMA)
        again = gradcheck.Report.from_json(report.to_json())
        assert again.mode == "directional" and again.options == report.options
        text = str(report)
        assert "INCONCLUSIVE" in text and "mode directional" in text
        assert "note: the cost is not deterministic" in text

    def test_the_builder_copies_the_options(self) -> None:
        options = {"method": "central", "resolved_mode": "sample", "sample": 3}
        outcome = inconclusive(["a"], [np.zeros(2)], "why")
        report = build_report(
            outcome, evaluations=2, start=time.perf_counter(), options=options, notes=["first"]
        )
        options["method"] = "changed"
        assert report.options["method"] == "central" and report.mode == "sample"
        assert report.messages == ("first", "why")
        assert report.evaluations == 2 and report.seconds >= 0


class TestDiagnosisAgreesWithTheTable:
    @pytest.mark.parametrize("seed", range(4))
    def test_kinks_are_not_counted_as_differences(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        x = np.zeros(20)
        live = rng.choice(20, 12, replace=False)
        x[live] = rng.uniform(0.2, 1.0, 12) * rng.choice([-1, 1], 12)
        grad = (x > 0).astype(float)
        bad = np.sort(live[:4])
        grad[bad] += 3.0
        report = gradcheck.check(lambda p: float(np.sum(np.maximum(p, 0))), x, grad)
        p = report.parameters["x"]
        assert (p.failed, p.nonsmooth) == (4, 8)
        assert p.diagnosis is not None and p.diagnosis.kind == "scattered"
        labels = ", ".join(f"x[{i}]" for i in bad)
        assert p.diagnosis.text == (
            "4 of 20 entries are wrong (8 more sit at kinks, not counted), "
            f"with no simple pattern: {labels}"
        )

    @pytest.mark.parametrize("kinks", [1, 3, 6])
    def test_a_factor_is_found_among_kinks(self, kinks: int) -> None:
        # At a kink the numerical slope is the average 0.5 w, the analytic one 0: fitted
        # over every entry, no factor would fit.
        w = np.linspace(1.0, 3.0, 10)
        x = np.array([0.4, -0.3, 1.2, -0.8, 0.7, 0.9, -1.1, 0.2, 0.6, -0.5])
        x[:kinks] = 0.0
        grad = 2 * w * (x > 0)
        report = gradcheck.check(lambda p: float(np.sum(w * np.maximum(p, 0))), x, grad)
        p = report.parameters["x"]
        assert p.nonsmooth == kinks and p.diagnosis is not None
        assert (p.diagnosis.kind, p.diagnosis.text) == (
            "factor",
            "×2 — the gradient is 2 times too large (a doubled term?)",
        )

    @pytest.mark.parametrize("seed", range(5))
    @pytest.mark.parametrize("shape", [(30,), (5, 6), (4, 4)])
    @pytest.mark.parametrize("error", [1e-3, 0.1, 10.0])
    def test_one_wrong_entry_is_named_not_a_factor(
        self, seed: int, shape: tuple[int, ...], error: float
    ) -> None:
        rng = np.random.default_rng(seed)
        x = rng.uniform(0.5, 2.0, shape) * rng.choice([-1, 1], shape)
        grad = 3 * x**2
        where = tuple(int(rng.integers(s)) for s in shape)
        grad[where] *= 1 + error
        report = gradcheck.check(lambda p: float(np.sum(p**3)), x, grad)
        p = report.parameters["x"]
        assert p.failed == 1 and p.diagnosis is not None
        assert p.diagnosis.kind == "scattered", p.diagnosis.text
        label = f"x[{', '.join(map(str, where))}]"
        assert p.diagnosis.text == (
            f"1 of {x.size} entries is wrong, with no simple pattern: {label}"
        )

    @pytest.mark.parametrize(("factor", "kind"), [(2.0, "factor"), (-1.0, "sign"), (0.5, "factor")])
    def test_counts_match_for_patterns(self, factor: float, kind: str) -> None:
        x = np.linspace(0.5, 2.0, 12).reshape(3, 4)
        report = gradcheck.check(lambda p: float(np.sum(p**3)), x, factor * 3 * x**2)
        p = report.parameters["x"]
        assert p.failed == 12 and p.diagnosis is not None and p.diagnosis.kind == kind


class TestNoBoundWithoutAComparison:
    """A parameter that checked nothing states no detection bound (``inf``), never 0:
    a bound of 0 would claim that every error, however small, is caught."""

    @pytest.mark.parametrize(
        "options",
        [{}, {"mode": "sample", "sample": 2}, {"method": "complex"}, {"mode": "directional"}],
    )
    def test_a_check_that_stopped_early(self, options: dict[str, Any]) -> None:
        params = {"W": np.linspace(0.1, 1.0, 6).reshape(2, 3), "b": np.zeros(2)}
        calls = itertools.count()
        noisy = lambda p: np.sum(p["W"] ** 2) + next(calls) * 1e-3  # noqa: E731 (complex too)
        report = gradcheck.check(noisy, params, {"W": 2 * params["W"], "b": np.zeros(2)}, **options)
        assert report.status == "inconclusive"
        for result in report.parameters.values():
            assert result.checked == 0 and result.detection_bound == NO_BOUND == np.inf

    @pytest.mark.parametrize("mode", ["full", "sample"])
    @pytest.mark.parametrize("shape", [(0,), (3, 0)])
    def test_an_empty_parameter(self, mode: str, shape: tuple[int, ...]) -> None:
        params = {"w": np.array([0.3, -1.2]), "empty": np.zeros(shape)}
        grad = {"w": 2 * params["w"], "empty": np.zeros(shape)}
        report = gradcheck.check(lambda p: float(np.sum(p["w"] ** 2)), params, grad, mode=mode)
        assert report.status == "passed", str(report)
        assert report.parameters["empty"].checked == 0
        assert report.parameters["empty"].detection_bound == np.inf
        assert 0 < report.parameters["w"].detection_bound < 1e-3

    def test_every_result_that_checked_nothing(self) -> None:
        """Crafted: a comparison over no entries, next to one over some."""
        empty = np.zeros(0)
        report = summary(
            {
                "none": (empty, empty, empty, []),
                "some": (np.ones(2), np.ones(2), np.full(2, 1e-9), ["ok", "ok"]),
            }
        )
        assert report.parameters["none"].detection_bound == np.inf
        assert report.parameters["some"].detection_bound == 0.0  # crafted reach of 0

    def test_null_in_json_printed_and_plotted(self, tmp_path: Path) -> None:
        path = tmp_path / "noisy.py"
        path.write_text(
            "import itertools\n"
            "import numpy as np\n"
            "calls = itertools.count()\n"
            "def problem():\n"
            "    cost = lambda p: float(np.sum(p['W'] ** 2)) + next(calls) * 1e-3\n"
            "    params = {'W': np.array([0.5, -1.0]), 'e': np.zeros(0)}\n"
            "    return cost, params, {'W': 2 * params['W'], 'e': np.zeros(0)}\n"
        )
        out, err = io.StringIO(), io.StringIO()
        args = ["run", f"{path}:problem", "--json", str(tmp_path / "r.json")]
        code = cli.main([*args, "--plot", str(tmp_path / "r.png")], out=out, err=err)
        assert code == 2, err.getvalue()
        assert "INCONCLUSIVE" in out.getvalue() and (tmp_path / "r.png").stat().st_size > 0
        data = json.loads((tmp_path / "r.json").read_text())
        jsonschema.validate(data, SCHEMA)
        assert [p["detection_bound"] for p in data["parameters"].values()] == [None, None]
        report = gradcheck.check(_noisy(), {"W": np.ones(2)}, {"W": 2 * np.ones(2)})
        again = gradcheck.Report.from_json(report.to_json())
        assert again.parameters["W"].detection_bound == np.inf and "INCONCLUSIVE" in str(again)

    def test_directional_parameter_with_zero_gradient(self) -> None:
        params = {"w": np.linspace(0.1, 1.0, 5000), "z": np.zeros(3)}
        cost = lambda p: float(np.sum(p["w"] ** 2))  # noqa: E731
        report = gradcheck.check(
            cost, params, {"w": 2 * params["w"], "z": np.zeros(3)}, mode="directional"
        )
        assert report.parameters["z"].detection_bound != 0.0


class TestUnresolvedBySubnormalValues:
    """attack20 A2: entries a subnormal cost could not resolve were blamed on "the
    cost's noise (0)": the note names the underflow instead."""

    @staticmethod
    def _messages(j0: float) -> tuple[str, ...]:
        a = np.array([2e-160, 4e-160])
        c = comparison(a, np.zeros(2), np.full(2, 1e-150), ["uncertain", "uncertain"])
        outcome = summarise([("x", a.copy(), c, np.arange(2))], [a], 0.0, j0=j0)
        return outcome.notes

    def test_a_subnormal_cost_names_the_underflow(self) -> None:
        (note,) = [m for m in self._messages(1.4e-319) if "could not be resolved" in m]
        assert "subnormal" in note and "underflows" in note and "1.4e-319" in note
        assert "4.9e-324" in note

    @pytest.mark.parametrize("j0", [0.0, 1e-300, 3.0])
    def test_a_normal_or_zero_cost_names_its_noise(self, j0: float) -> None:
        (note,) = [m for m in self._messages(j0) if "could not be resolved" in m]
        assert "the cost's noise (0)" in note and "subnormal" not in note


class TestWhatEntriesAndNotesSay:
    """Mutation testing (issue 16, ``docs/testing.md``): the fields of the worst entries,
    a parameter's errors, and the notes on entries that could not be judged, each as
    the user reads them."""

    def test_an_entry_states_its_relative_and_fd_errors(self) -> None:
        a = np.array([0.5, 0.0, 3.0])
        n = np.array([0.25, 0.0, 3.0])
        c = comparison(a, n, np.full(3, 1e-9), ["wrong", "ok", "ok"])
        c = dataclasses.replace(c, fd_error=np.array([1e-7, 2e-8, 3e-9]))
        (p,) = summarise([("x", a.copy(), c, np.arange(3))], [a], 0.0).parameters
        entry = {e.index: e for e in p.worst}
        assert entry[(0,)].rel_error == 0.25 / 0.5  # |a − n| / max(|a|, |n|), below 1
        assert entry[(1,)].rel_error == 0.0  # both zero: no relative error to state
        assert [entry[(i,)].fd_error for i in range(3)] == [1e-7, 2e-8, 3e-9]
        assert all(type(e.fd_error) is float for e in p.worst)

    def test_worst_is_cut_and_errors_keep_the_parameters_shape(self) -> None:
        leaf = np.arange(1.0, 13.0).reshape(3, 4)
        flat = leaf.reshape(-1)
        c = comparison(flat, flat + 1e-3, np.full(12, 1e-6), ["wrong"] * 12)
        (p,) = summarise([("W", leaf.copy(), c, np.arange(12))], [leaf], 0.0).parameters
        assert len(p.worst) == WORST < 12
        assert p.errors is not None and p.errors.shape == (3, 4)
        np.testing.assert_allclose(p.errors, 1e-3)

    @pytest.mark.parametrize("unresolved", [1, 3])
    def test_an_unresolved_entry_leaves_the_parameter_inconclusive(self, unresolved: int) -> None:
        a = np.array([1.0, 2.0, 3.0])
        status = ["uncertain"] * unresolved + ["ok"] * (3 - unresolved)
        report = summary({"x": (a, a, np.full(3, 1e-9), status)})
        assert report.parameters["x"].status == "inconclusive" == report.status
        assert report.parameters["x"].uncertain == unresolved

    @pytest.mark.parametrize(
        ("status", "bracketed", "verdict"),
        [
            (["nonsmooth", "ok", "ok"], True, "passed"),
            (["nonsmooth", "ok", "ok"], False, "inconclusive"),  # kinks.py rule 4
            (["nonsmooth", "wrong", "ok"], False, "failed"),  # a wrong entry still fails
        ],
    )
    def test_a_kink_outside_its_slopes_leaves_no_pass(
        self, status: list[str], bracketed: bool, verdict: str
    ) -> None:
        a = np.array([1.0, 2.0, 3.0])
        c = comparison(a, a + 1e-3 * (np.array(status) == "wrong"), np.full(3, 1e-9), status)
        c = dataclasses.replace(c, bracketed=np.array([bracketed, False, False]))
        (p,) = summarise([("x", a.copy(), c, np.arange(3))], [a], 0.0).parameters
        assert p.status == verdict

    def test_swapped_gradients_are_named_and_a_pass_has_no_diagnosis(self) -> None:
        n1, n2 = np.array([1.0, 2.0, 3.0]), np.array([-5.0, 0.5, 7.0])
        wrong, ok = ["wrong"] * 3, ["ok"] * 3
        tol = np.full(3, 1e-9)
        report = summary(
            {"x": (n2, n1, tol, wrong), "y": (n1, n2, tol, wrong), "z": (n1, n1, tol, ok)}
        )
        x = report.parameters["x"]
        assert x.diagnosis is not None and x.diagnosis.kind == "swapped"
        assert "the gradient of 'y'" in x.diagnosis.text
        assert report.parameters["z"].status == "passed"
        assert report.parameters["z"].diagnosis is None

    def test_a_complex_parameters_conjugate_is_named(self) -> None:
        n = np.array([[1.0, 2.0], [-0.5, 1.0], [3.0, -1.0]])  # the real view of 3 numbers
        a = n * np.array([1.0, -1.0])
        c = comparison(a.reshape(-1), n.reshape(-1), np.full(6, 1e-9), ["wrong"] * 6)
        results = [("z", n.copy(), c, np.arange(6))]
        (p,) = summarise(results, [a], 0.0, pairs=frozenset({"z"})).parameters
        assert p.diagnosis is not None and p.diagnosis.kind == "conjugate"

    def test_a_parameter_states_its_dtype_difference_and_largest_error(self) -> None:
        a, n = np.array([1.0, 2.0, 4.0]), np.array([1.0, 2.5, 4.0])
        c = comparison(a, n, np.full(3, 1e-9), ["ok", "wrong", "ok"])
        (p,) = summarise([("x", n.astype(np.float32), c, np.arange(3))], [a], 0.0).parameters
        assert p.dtype == "float32"  # the checked copy's, not the comparison's float64
        assert p.max_abs_error == 0.5
        assert p.difference == pytest.approx(0.5 / (np.linalg.norm(a) + np.linalg.norm(n)))

    def test_a_parameter_that_checked_nothing_claims_no_error(self) -> None:
        empty = np.zeros(0)
        report = summary({"none": (empty, empty, empty, [])})
        # NaN, as in every mode (nothing was compared), not 0 (no error found)
        assert math.isnan(report.parameters["none"].max_abs_error)

    @staticmethod
    def _notes(status: list[str], flat: list[bool], j0: float = 1.0) -> list[str]:
        a = np.array([1.0, 2.0, 3.0, 4.0])
        c = comparison(a, a, np.full(4, 1e-9), status)
        c = dataclasses.replace(c, flat=np.array(flat))
        return list(summarise([("x", a.copy(), c, np.arange(4))], [a], 0.0, j0=j0).notes)

    @pytest.mark.parametrize("j0", [1.0, 1e-320])
    def test_entries_the_cost_does_not_move_are_named_with_the_fix(self, j0: float) -> None:
        status, flat = ["uncertain", "uncertain", "ok", "ok"], [True, True, True, False]
        notes = self._notes(status, flat, j0)
        assert notes == [
            "x: the cost returned exactly the same value at every step for 2 entries, "
            "though the gradient says it should change: its dependence on them is lost to "
            "rounding inside the cost (cancellation, such as (1e4 + f) − 1e4 in float32) "
            "or absent; compute the cost in float64 to check them"
        ]

    @pytest.mark.parametrize("j0", [1.0, 1e-320])
    def test_the_unresolved_count_leaves_out_entries_the_cost_does_not_move(
        self, j0: float
    ) -> None:
        notes = self._notes(["uncertain"] * 3 + ["ok"], [True, False, False, False], j0)
        assert len(notes) == 2 and " for 1 entries, " in notes[0]
        assert notes[1].startswith("x: 2 entries could not be resolved: the ")

    def test_the_smallest_normal_cost_is_not_called_subnormal(self) -> None:
        tiny = float(np.finfo(np.float64).tiny)
        assert self._notes(["uncertain", "ok", "ok", "ok"], [False] * 4, tiny) == [
            "x: 1 entries could not be resolved: the cost's noise (0) or curvature "
            "swamps the finite differences there"
        ]

    def test_a_subnormal_cost_says_how_to_scale_it(self) -> None:
        (note,) = self._notes(["uncertain", "ok", "ok", "ok"], [False] * 4, 1e-320)
        assert note.endswith(
            "swamp the finite differences there; scale the cost up (by 1e300, say) to check it"
        )

    def test_the_kink_note_names_the_parameter(self) -> None:
        a = np.array([1.0, 2.0])
        c = comparison(a, a, np.full(2, 1e-9), ["nonsmooth", "ok"])
        c = dataclasses.replace(c, bracketed=np.array([True, False]))
        notes = summarise([("W", a.copy(), c, np.arange(2))], [a], 0.0).notes
        assert notes[0].startswith("W: 1 entries sit at a kink")


class TestDifferenceNoiseAndTheZeroGradientNote:
    """What the report states beside the statuses: its difference, its noise, every
    parameter's notes, and the note of a gradient that is zero to within its error."""

    def test_the_difference_over_every_parameter(self) -> None:
        a, n = np.array([0.1, 0.0, 0.0, 0.0]), np.array([0.3, 0.0, 0.0, 0.0])
        b = np.array([0.2, 0.1])
        report = summary(
            {
                "W": (a, n, np.full(4, 1e-9), ["wrong", "ok", "ok", "ok"]),
                "b": (b, b.copy(), np.full(2, 1e-9), ["ok", "ok"]),
            }
        )
        assert report.parameters["W"].difference == pytest.approx(0.2 / 0.4)
        assert report.parameters["b"].difference == 0.0
        whole = 0.2 / (np.hypot(0.1, np.hypot(0.2, 0.1)) + np.hypot(0.3, np.hypot(0.2, 0.1)))
        assert report.difference == pytest.approx(whole)

    def test_two_zero_gradients_differ_by_zero(self) -> None:
        z = np.zeros(3)
        report = summary({"W": (z, z.copy(), np.zeros(3), ["ok"] * 3)})
        assert report.difference == 0.0 and report.parameters["W"].difference == 0.0
        assert report.status == "passed" and ZERO_GRADIENT not in report.messages

    @pytest.mark.parametrize("sigma", [0.0, 0.25, 3e-17])
    def test_the_noise_is_the_measured_one(self, sigma: float) -> None:
        a = np.array([1.0, 2.0])
        c = comparison(a, a.copy(), np.full(2, 1e-9), ["ok", "ok"])
        outcome = summarise([("W", a.copy(), c, np.arange(2))], [a], sigma)
        report = build_report(outcome, evaluations=3, start=time.perf_counter(), options={})
        assert report.noise == sigma

    def test_every_parameters_notes_are_kept(self) -> None:
        a = np.array([1.0, 2.0])
        report = summary(
            {name: (a, a.copy(), np.full(2, 1e-9), ["uncertain", "ok"]) for name in ("W", "b", "c")}
        )
        unresolved = [m for m in report.messages if "could not be resolved" in m]
        assert [m.split(":")[0] for m in unresolved] == ["W", "b", "c"]

    def test_a_zero_gradient_within_its_error_says_so(self) -> None:
        z = np.zeros(4)
        report = summary({"W": (z, z.copy(), np.zeros(4), ["uncertain", "ok", "ok", "ok"])})
        assert report.status == "inconclusive"
        assert report.messages[-1] == ZERO_GRADIENT

    @pytest.mark.parametrize("status", ["ok", "wrong"])
    def test_a_zero_gradient_that_passes_or_fails_has_no_such_note(self, status: str) -> None:
        z = np.zeros(4)
        report = summary({"W": (z, z.copy(), np.zeros(4), [status, "ok", "ok", "ok"])})
        assert report.status == ("passed" if status == "ok" else "failed")
        assert ZERO_GRADIENT not in report.messages

    @pytest.mark.parametrize(("tolerance", "noted"), [(1e-5, True), (1e-3, False), (1.0, False)])
    def test_the_note_needs_a_screen_the_noise_did_not_swamp(
        self, tolerance: float, noted: bool
    ) -> None:
        # Every |a| and |D| (1e-3, 2e-3) lies within its reach (1); the screen's
        # tolerance must stay within UNCERTAIN (0.1) of the scale (2e-3): 2e-4.
        a = np.array([1e-3, 2e-3])
        c = comparison(a, a.copy(), np.full(2, tolerance), ["uncertain", "ok"])
        c = dataclasses.replace(c, reach=np.ones(2))
        notes = summarise([("W", a.copy(), c, np.arange(2))], [a], 0.0).notes
        assert (ZERO_GRADIENT in notes) is noted

    def test_an_entry_beyond_its_reach_is_not_zero(self) -> None:
        a = np.array([1e-3, 2e-3])
        c = comparison(a, a.copy(), np.full(2, 1e-9), ["uncertain", "ok"])
        c = dataclasses.replace(c, reach=np.array([1.0, 2e-3 * (1 - 1e-12)]))
        notes = summarise([("W", a.copy(), c, np.arange(2))], [a], 0.0).notes
        assert ZERO_GRADIENT not in notes


class TestAStoppedCheckClaimsNothing:
    @pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
    def test_no_difference_no_noise_and_the_parameters_real_dtype(self, dtype: Any) -> None:
        w = np.linspace(0.1, 1.0, 6).astype(dtype)
        outcome = inconclusive(["W", "b"], [w, np.ones(2, dtype=np.float32)], "why")
        report = build_report(outcome, evaluations=2, start=time.perf_counter(), options={})
        assert report.status == "inconclusive" and report.noise == 0.0
        assert math.isnan(report.difference)
        assert report.parameters["W"].dtype == str(np.dtype(dtype).type(0).real.dtype)
        assert report.parameters["b"].dtype == "float32"
        assert all(math.isnan(p.difference) for p in report.parameters.values())

    def test_a_nondeterministic_check_reports_it_end_to_end(self) -> None:
        params = {"W": np.linspace(0.1, 1.0, 4).astype(np.float32)}
        report = gradcheck.check(_noisy(), params, {"W": 2 * params["W"]})
        assert report.status == "inconclusive" and report.noise == 0.0
        assert math.isnan(report.difference) and math.isnan(report.parameters["W"].difference)
        assert report.parameters["W"].dtype == "float32"
        assert math.isnan(json.loads(report.to_json())["difference"] or math.nan)


def _where_sqrt(p: Any) -> float:
    """``Σ where(p > 0, √p, 0)``: finite everywhere, derivative 0 where ``p < 0``."""
    return float(np.sum(np.where(p > 0, np.sqrt(np.abs(p)), 0.0)))


def _where_sqrt_grad(bad: float) -> Any:
    """The gradient of :func:`_where_sqrt` with ``bad`` (NaN, ±inf) where ``p < 0``: the
    where-NaN trap of autograd (the branch not taken back-propagates its NaN)."""
    return lambda p: np.where(p > 0, 0.5 / np.sqrt(np.abs(p)), bad)


class TestNonFiniteGradient:
    """attack23 D3: a NaN or inf gradient entry where the cost is finite was a
    GradcheckError (CLI exit 3), not a verdict. The gradient is the thing under test:
    it is FAILED, the entry named, and assert_gradients raises GradientMismatch."""

    @pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
    @pytest.mark.parametrize("mode", ["full", "sample", "directional"])
    def test_a_non_finite_entry_fails_and_is_named(self, bad: float, mode: str) -> None:
        x = np.array([-1.0, 0.5, 2.0, 3.0])
        options: dict[str, Any] = {"mode": mode}
        if mode == "sample":
            options["sample"] = 4
        report = gradcheck.check(_where_sqrt, x, _where_sqrt_grad(bad), **options)
        assert report.status == "failed", str(report)
        assert report.parameters["x"].status == "failed"
        assert report.parameters["x"].failed >= 1
        note = next(m for m in report.messages if "not finite" in m)
        assert f"x[0] ({bad})" in note and "the cost is finite" in note

    @pytest.mark.parametrize("dtype", [np.float32, np.float64])
    def test_each_entry_is_counted_once_and_the_others_judged(self, dtype: Any) -> None:
        x = {"a": np.array([-1.0, -2.0, 0.5], dtype=dtype), "b": np.array([1.0, 2.0], dtype=dtype)}

        def cost(p: Any) -> Any:
            return _where_sqrt(p["a"]) + float(np.sum(p["b"] ** 2))

        def grad(p: Any) -> Any:
            return {"a": _where_sqrt_grad(np.nan)(p["a"]), "b": 2 * p["b"]}

        report = gradcheck.check(cost, x, grad)
        assert report.status == "failed", str(report)
        assert report.parameters["a"].failed == 2
        assert report.parameters["b"].status == "passed"

    @pytest.mark.parametrize(
        "bad", [{3: np.nan}, {7: np.inf}, {3: np.nan, 7: np.inf}, {3: np.nan, 7: -np.inf}]
    )
    @pytest.mark.parametrize(
        ("mode", "options"),
        [
            ("full", {}),
            ("sample", {"sample": 3}),
            ("sample", {"sample": 8}),
            ("directional", {}),
            (gradcheck.Directional(localise=False), {}),
        ],
        ids=["full", "sample-3", "sample-8", "directional", "directional-unlocalised"],
    )
    def test_every_mode_counts_each_entry_once(
        self, bad: dict[int, float], mode: Any, options: dict[str, Any]
    ) -> None:
        """mut26: the directional check counted each NaN or inf entry twice, once as
        the entry localisation pinned and once more as non-finite ("failed 4" for 2
        entries); a sample that left one out did not count it at all."""
        x = np.linspace(1.0, 2.0, 10)
        g = 2 * x
        for k, v in bad.items():
            g[k] = v
        report = gradcheck.check(lambda p: float(np.sum(p**2)), x, g, mode=mode, **options)
        assert report.status == "failed", str(report)
        assert report.parameters["x"].status == "failed"
        assert report.parameters["x"].failed == len(bad), str(report)

    def test_assert_gradients_raises_a_mismatch(self) -> None:
        x = np.array([-1.0, 0.5])
        with pytest.raises(gradcheck.GradientMismatch, match="not finite at x"):
            gradcheck.assert_gradients(_where_sqrt, x, _where_sqrt_grad(np.nan))

    def test_a_nan_cost_stays_a_usage_error(self) -> None:
        x = np.array([-1.0, 0.5])
        with pytest.raises(gradcheck.GradcheckError, match="cost returned nan"):
            gradcheck.check(lambda p: float("nan"), x, _where_sqrt_grad(np.nan))

    def test_the_cli_exits_1_not_3(self, tmp_path: Path) -> None:
        path = tmp_path / "where_nan.py"
        path.write_text(
            "import numpy as np\n"
            "def problem():\n"
            "    cost = lambda p: float(np.sum(np.where(p > 0, np.sqrt(np.abs(p)), 0.0)))\n"
            "    grad = lambda p: np.where(p > 0, 0.5 / np.sqrt(np.abs(p)), np.nan)\n"
            "    return cost, np.array([-1.0, 0.5, 2.0]), grad\n"
        )
        out, err = io.StringIO(), io.StringIO()
        code = cli.main(["run", f"{path}:problem"], out=out, err=err)
        assert code == 1, err.getvalue()
        assert "not finite at x[0] (nan)" in out.getvalue()


class TestValuesTooCoarseToResolve:
    """Entries whose gradient and differences are exactly 0 while the cost's values are
    too coarse at the steps (a finite resolution, the cost not flat there) are named
    with the gradient they could not show, and left out of the noise sentence."""

    @staticmethod
    def _notes(status: list[str], flat: list[bool], resolution: list[float]) -> list[str]:
        a = np.zeros(len(status))
        c = comparison(a, a, np.full(len(status), 1e-9), status)
        c = dataclasses.replace(c, flat=np.array(flat), resolution=np.array(resolution))
        return list(summarise([("x", a.copy(), c, np.arange(a.size))], [a], 0.0).notes)

    @pytest.mark.parametrize("resolution", [1e-8, 3.5e-12, 2.0])
    def test_one_entry_is_named_with_its_resolution(self, resolution: float) -> None:
        notes = self._notes(["uncertain", "ok"], [False, False], [resolution, np.nan])
        assert notes == [
            "x: 1 entries could not be resolved: the gradient and the differences are "
            "exactly 0 there, but the cost's values are too coarse at the steps to show a "
            f"gradient below {resolution:.2g}"
        ]

    def test_the_largest_resolution_of_the_coarse_entries_is_the_bound(self) -> None:
        status = ["uncertain", "uncertain", "uncertain", "ok"]
        (note,) = self._notes(status, [False] * 4, [1e-8, 4e-6, 2e-7, 9.0])
        assert note.startswith("x: 3 entries could not be resolved: the gradient and ")
        assert note.endswith("too coarse at the steps to show a gradient below 4e-06")

    def test_each_kind_of_unresolved_entry_is_counted_once(self) -> None:
        """A coarse entry, a flat one and two the noise swamps: three notes, 1 + 1 + 2."""
        status = ["uncertain"] * 4 + ["ok"]
        flat = [False, True, False, False, False]
        resolution = [1e-8, 1e-8, np.nan, np.nan, 1e-8]
        notes = self._notes(status, flat, resolution)
        assert len(notes) == 3
        assert notes[0].startswith("x: 1 entries could not be resolved: the gradient and ")
        assert " at every step for 1 entries, " in notes[1]
        assert notes[2] == (
            "x: 2 entries could not be resolved: the cost's noise (0) or curvature swamps "
            "the finite differences there"
        )

    @pytest.mark.parametrize("status", ["ok", "wrong", "nonsmooth"])
    def test_a_judged_entry_with_a_resolution_is_not_named(self, status: str) -> None:
        notes = self._notes([status, "ok"], [False, False], [1e-8, 1e-8])
        assert not any("could not be resolved" in m for m in notes), notes


def _non_finite(name: str, flats: list[int], value: float = math.nan) -> list[NonFiniteEntry]:
    """Non-finite entries of a (2, 4) parameter ``name`` at the flat indices ``flats``."""
    return [NonFiniteEntry(name, (k // 4, k % 4), k, value) for k in flats]


class TestNonFiniteFailed:
    """How a gradient with NaN or infinite entries fails its parameters, and the note."""

    @staticmethod
    def _outcome(failed: int = 3) -> Any:
        outcome = inconclusive(["W", "b"], [np.zeros((2, 4)), np.zeros(4)], "why")
        params = tuple(p._replace(failed=failed) for p in outcome.parameters)
        return outcome._replace(parameters=params)

    def test_no_entries_leave_the_outcome_as_it_is(self) -> None:
        outcome = self._outcome()
        assert non_finite_failed(outcome, [], 1.0) is outcome

    @pytest.mark.parametrize(
        ("counted", "failed"), [("compared", 3), ("pinned", 3), ("sampled-out", 4), ("no", 5)]
    )
    def test_only_the_parameter_with_them_fails_and_they_are_counted_once(
        self, counted: str, failed: int
    ) -> None:
        # the strategy's own count (3) holds the entries it compared (an entrywise
        # check's known errors; mark_non_finite made them wrong) or localisation pinned
        outcome = self._outcome()
        w, b = outcome.parameters
        errors = np.full((2, 4), np.nan)
        if counted == "compared":
            errors[0, 0] = errors[1, 1] = 2.5
        elif counted == "sampled-out":
            errors[0, 0] = 2.5  # W[1, 1] was not in the sample
        if counted in ("compared", "sampled-out"):
            outcome = outcome._replace(parameters=(w._replace(errors=errors), b))
        if counted == "pinned":
            outcome = outcome._replace(localisation={"pinned": ["W[1, 1]", "W[0, 0]"]})
        out = non_finite_failed(outcome, _non_finite("W", [0, 5]), 0.5)
        w, b = out.parameters
        assert (w.status, w.failed) == ("failed", failed)
        assert (b.status, b.failed) == ("inconclusive", 3)
        assert out.status == "failed"

    @pytest.mark.parametrize(
        ("value", "shown"), [(math.nan, "nan"), (math.inf, "inf"), (-math.inf, "-inf")]
    )
    def test_the_note_names_each_entry_and_the_finite_cost_and_comes_first(
        self, value: float, shown: str
    ) -> None:
        out = non_finite_failed(self._outcome(), _non_finite("W", [0, 5], value), 0.5)
        assert out.notes == (
            f"W: the gradient is not finite at W[0, 0] ({shown}), W[1, 1] ({shown}), where "
            "the cost is finite (0.5): a wrong gradient (a NaN from a branch not taken, as "
            "in where(x > 0, sqrt(x), 0), back-propagates: compute that branch on safe "
            "inputs)",
            "why",
        )

    @pytest.mark.parametrize(("count", "more"), [(5, ""), (6, " and 1 more"), (8, " and 3 more")])
    def test_five_entries_are_named_then_how_many_more(self, count: int, more: str) -> None:
        entries = _non_finite("W", list(range(count)))
        out = non_finite_failed(self._outcome(), entries, 1.0)
        named = ", ".join(f"W[{k // 4}, {k % 4}] (nan)" for k in range(5))
        assert out.notes[0].startswith(f"W: the gradient is not finite at {named}{more}, where")

    def test_each_parameter_gets_its_own_note_in_the_parameters_order(self) -> None:
        entries = [*_non_finite("b", [2]), *_non_finite("W", [7])]
        out = non_finite_failed(self._outcome(), entries, 1234567.891)
        assert [p.status for p in out.parameters] == ["failed", "failed"]
        assert [p.failed for p in out.parameters] == [4, 4]
        assert [n.split(":")[0] for n in out.notes] == ["W", "b", "why"]
        assert "where the cost is finite (1.23457e+06)" in out.notes[0]


class TestMarkNonFinite:
    def test_only_the_checked_non_finite_entries_of_that_parameter_become_wrong(self) -> None:
        a = np.ones(3)
        c = comparison(a, a.copy(), np.full(3, 1e-9), ["ok", "uncertain", "ok"])
        other = comparison(a, a.copy(), np.full(3, 1e-9), ["ok", "ok", "ok"])
        results = [("W", a, c, np.array([0, 2, 5])), ("b", a, other, np.array([0, 2, 5]))]
        marked = mark_non_finite(results, _non_finite("W", [2, 7]))
        assert list(marked[0][2].status) == ["ok", "wrong", "ok"]
        assert list(marked[1][2].status) == ["ok", "ok", "ok"]
        assert list(c.status) == ["ok", "uncertain", "ok"]  # the input is not changed
        assert [r[0] for r in marked] == ["W", "b"] and marked[1][2] is other
