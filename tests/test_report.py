"""Reports: round trips, the printed table, and the fields users rely on."""

from __future__ import annotations

import json

import numpy as np

import gradcheck
from gradcheck import Report


def _reports() -> list[Report]:
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    cost = lambda p: np.sum(p["W"] ** 3) + np.sum(p["b"] ** 2)  # noqa: E731
    good = {"W": 3 * x**2, "b": 2 * x[0]}
    bad = {"W": 2 * 3 * x**2, "b": 2 * x[0]}
    return [
        gradcheck.check(cost, {"W": x, "b": x[0]}, good),
        gradcheck.check(cost, {"W": x, "b": x[0]}, bad),
    ]


class TestRoundTrip:
    def test_dict_and_json(self) -> None:
        for report in _reports():
            assert Report.from_dict(report.to_dict()) == report
            assert Report.from_json(report.to_json()) == report
            json.loads(report.to_json())

    def test_per_entry_errors_stay_in_memory(self) -> None:
        report = _reports()[0]
        assert report.parameters["W"].errors is not None
        assert report.parameters["W"].errors.shape == (2, 2)
        assert "errors" not in report.to_dict()["parameters"]["W"]


class TestFields:
    def test_passed_report(self) -> None:
        report = _reports()[0]
        assert report.passed and report.status == "passed"
        assert report.evaluations > 0 and report.seconds > 0
        assert report.options["method"] == "central"
        w = report.parameters["W"]
        assert (w.checked, w.size, w.shape, w.dtype) == (4, 4, (2, 2), "float64")

    def test_failed_report(self) -> None:
        report = _reports()[1]
        assert not report.passed and report.failed_parameters == ["W"]
        assert report.parameters["b"].status == "passed"
        worst = report.worst[0]
        assert worst.parameter == "W" and worst.status == "wrong"
        assert worst.abs_error == abs(worst.analytic - worst.numeric)
        assert worst.label().startswith("W[")


class TestPrinted:
    def test_table_names_the_failure_and_the_diagnosis(self) -> None:
        text = str(_reports()[1])
        assert "FAILED: wrong gradient for W" in text
        assert "×2" in text
        assert "worst entries" in text
        lines = text.splitlines()
        assert any(line.split()[:3] == ["b", "(2,)", "passed"] for line in lines)


class TestPrintedContradictsNothing:
    def test_kinks_are_not_in_the_diagnosis_count_and_wrong_entries_lead(self) -> None:
        x = np.array([0.0] * 8 + [0.7, -0.4, 1.1, 0.3, 0.9, -0.2, 0.5, 1.4, -0.8, 0.6, 0.1, 2.0])
        grad = (x > 0).astype(float)
        grad[[8, 10, 11, 12]] += 3.0
        text = str(gradcheck.check(lambda p: float(np.sum(np.maximum(p, 0))), x, grad))
        assert "20/20 (8 at kinks)" in text
        assert "4 of 20 entries are wrong (8 more sit at kinks, not counted)" in text
        assert "12 of 20" not in text
        listed = text.split("worst entries:")[1].splitlines()[1:]
        assert [line.split()[-1] for line in listed[:4]] == ["[wrong]"] * 4
