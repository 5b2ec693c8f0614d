"""``gradcheck._jacreport``: a Jacobian check's report, made by the one builder."""

from __future__ import annotations

import json

import numpy as np

from gradcheck import Report, check_jacobian
from gradcheck._consistency import Consistency
from gradcheck._jacreport import consistency_result

A = np.array([[1.0, 2.0], [3.0, 4.0], [0.5, -1.0]])


def test_blocks_carry_the_form_only_when_several_are_checked() -> None:
    one = check_jacobian(lambda p: A @ p, np.ones(2), A)
    assert list(one.parameters) == ["out / x"]
    both = check_jacobian(lambda p: A @ p, np.ones(2), A, vjp=lambda p, u: u @ A)
    assert list(both.parameters) == [
        "jacobian: out / x",
        "vjp: out / x",
        "consistency: jacobian vs vjp",
    ]


def test_block_result_fields() -> None:
    bad = A.copy()
    bad[2, 1] = 7.0
    report = check_jacobian(lambda p: A @ p, np.ones(2), bad)
    p = report.parameters["out / x"]
    assert (p.status, p.shape, p.checked, p.size, p.failed) == ("failed", (3, 2), 6, 6, 1)
    assert p.errors is not None and p.errors.shape == (3, 2)
    assert p.errors[2, 1] == p.max_abs_error > 7.9
    assert report.worst[0].label() == "out[2] / x[1]"
    assert report.mode == "full" and report.options["forms"] == ["jacobian"]


def test_report_round_trips_through_json() -> None:
    report = check_jacobian(lambda p: A @ p, np.ones(2), A, vjp=lambda p, u: -(u @ A))
    again = Report.from_json(report.to_json())
    assert again.status == report.status == "failed"
    assert list(again.parameters) == list(report.parameters)
    json.loads(report.to_json())


def test_consistency_result() -> None:
    c = Consistency(("jvp", "vjp"), ((1.0, 1.0), (2.0, 2.5)), (1e-12, 1e-12), True)
    r = consistency_result(c)
    assert (r.name, r.status, r.failed, r.checked) == ("consistency: jvp vs vjp", "failed", 1, 2)
    assert r.diagnosis is not None and "jvp and vjp disagree" in r.diagnosis.text
    assert r.max_abs_error == 0.5
