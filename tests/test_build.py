"""The report builder: the one place reports are made, and the rules every report follows."""

from __future__ import annotations

import ast
import math
import time
from pathlib import Path

import numpy as np
import pytest

import gradcheck
from gradcheck._build import (
    NO_BOUND,
    WORST,
    Outcome,
    ParameterOutcome,
    build_report,
    overall_status,
)
from gradcheck._report import Entry, Status

SRC = Path(__file__).resolve().parents[1] / "src" / "gradcheck"


def entry(name: str, i: int, abs_error: float, tolerance: float, status: str) -> Entry:
    return Entry(name, (i,), 1.0, 1.0 + abs_error, abs_error, abs_error, tolerance, 0.0, status)  # type: ignore[arg-type]


def param(
    name: str, status: Status, worst: tuple[Entry, ...] = (), size: int = 3
) -> ParameterOutcome:
    return ParameterOutcome(name, (size,), "float64", status, 0.1, checked=size, worst=worst)


def build(outcome: Outcome, **kwargs: object) -> gradcheck.Report:
    options = kwargs.pop("options", {"method": "central", "resolved_mode": "full"})
    return build_report(
        outcome,
        evaluations=4,
        start=time.perf_counter(),
        options=options,
        **kwargs,  # type: ignore[arg-type]
    )


class TestTheVerdict:
    @pytest.mark.parametrize(
        ("statuses", "expected"),
        [
            (("passed", "passed"), "passed"),
            (("passed", "inconclusive"), "inconclusive"),
            (("inconclusive", "failed"), "failed"),
            (("failed", "passed", "inconclusive"), "failed"),
        ],
    )
    def test_from_the_parameters(self, statuses: tuple[Status, ...], expected: Status) -> None:
        outcome = Outcome(tuple(param(f"p{i}", s) for i, s in enumerate(statuses)), 0.1)
        report = build(outcome)
        assert report.status == expected == overall_status(list(statuses))
        assert [p.status for p in report.parameters.values()] == list(statuses)

    @pytest.mark.parametrize("stated", ["failed", "inconclusive"])
    def test_a_stated_verdict_wins(self, stated: Status) -> None:
        # a directional verdict fails although no single parameter could be blamed
        outcome = Outcome((param("a", "inconclusive"), param("b", "passed")), 0.3, status=stated)
        assert build(outcome).status == stated


class TestWhatEveryReportKeeps:
    @pytest.mark.parametrize("mode", ["full", "sample", "directional"])
    def test_mode_and_a_copy_of_the_options(self, mode: str) -> None:
        options = {"method": "central", "resolved_mode": mode, "seed": 3}
        report = build(Outcome((param("x", "passed"),), 0.0), options=options)
        options["seed"] = 4
        assert report.mode == mode and report.options["seed"] == 3

    def test_mode_defaults_to_full(self) -> None:
        assert build(Outcome((param("x", "passed"),), 0.0), options={}).mode == "full"

    def test_counts_time_notes_and_extras(self) -> None:
        start = time.perf_counter()
        outcome = Outcome(
            (param("x", "passed", size=6),),
            0.25,
            noise=1e-9,
            notes=("from the strategy",),
            guarantee={"directions": 2},
            localisation={"evaluations": 0},
        )
        report = build_report(
            outcome, evaluations=11, start=start, options={}, notes=("read first",)
        )
        assert report.evaluations == 11 and 0 <= report.seconds <= time.perf_counter() - start
        assert report.messages == ("read first", "from the strategy")
        assert (report.difference, report.noise) == (0.25, 1e-9)
        assert report.guarantee == {"directions": 2} and report.localisation == {"evaluations": 0}
        p = report.parameters["x"]
        assert (p.size, p.shape, p.checked, p.detection_bound) == (6, (6,), 6, NO_BOUND)

    def test_absent_extras_are_empty(self) -> None:
        report = build(Outcome((param("x", "passed"),), 0.0))
        assert report.guarantee == {} and report.localisation == {}
        assert math.isnan(report.parameters["x"].max_abs_error)


class TestWorstEntries:
    @pytest.mark.parametrize("seed", range(4))
    def test_ranked_across_parameters(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        groups = {}
        for name in ("a", "b", "c"):
            errs = rng.uniform(0.0, 1.0, 4)
            status = rng.choice(["ok", "wrong", "uncertain"], 4)
            groups[name] = tuple(
                entry(name, i, e, 0.5, s) for i, (e, s) in enumerate(zip(errs, status))
            )
        outcome = Outcome(tuple(param(n, "failed", w) for n, w in groups.items()), 0.5)
        worst = build(outcome).worst
        everything = [e for w in groups.values() for e in w]
        order = {"wrong": 0, "uncertain": 1, "nonsmooth": 2, "ok": 3}
        expected = sorted(everything, key=lambda e: (order[e.status], -e.abs_error))[:WORST]
        assert list(worst) == expected

    def test_each_parameter_keeps_at_most_worst(self) -> None:
        many = tuple(entry("x", i, 1.0 - i / 10, 0.1, "wrong") for i in range(WORST + 3))
        report = build(Outcome((param("x", "failed", many, size=10),), 0.5))
        assert report.parameters["x"].worst == many[:WORST]


def _constructed(path: Path, names: set[str]) -> list[str]:
    """Where ``path`` calls one of ``names``."""
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            called = (
                f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            )
            if called in names:
                found.append(f"{path.name}:{node.lineno} {called}")
    return found


def test_only_the_builder_makes_reports() -> None:
    # _report.py rebuilds a report from its own JSON (from_dict): that is reading, not building
    calls = [
        c
        for path in sorted(SRC.glob("*.py"))
        if path.name not in ("_build.py", "_report.py")
        for c in _constructed(path, {"Report", "ParameterResult"})
    ]
    assert calls == []
    assert _constructed(SRC / "_build.py", {"Report", "ParameterResult"})


def test_two_results_of_one_name_are_refused_not_merged() -> None:
    """A report keyed by name must keep every result: a duplicate name is an error."""
    a = ParameterOutcome("x / y", (2,), "float64", "passed", 0.0, checked=2)
    b = ParameterOutcome("x / y", (2,), "float64", "failed", 1.0, checked=2)
    with pytest.raises(gradcheck.GradcheckError, match="share the name 'x / y'"):
        build_report(Outcome((a, b), 0.0), evaluations=1, start=time.perf_counter(), options={})
