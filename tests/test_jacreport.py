"""``gradcheck._jacreport``: a Jacobian check's report, made by the one builder."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import jsonschema
import numpy as np
import pytest

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


_SCHEMA = json.loads(
    (Path(__file__).resolve().parents[1] / "src" / "gradcheck" / "report.schema.json").read_text()
)
_RNG = np.random.default_rng(0)
_M = _RNG.standard_normal((5, 4))
_X = _RNG.standard_normal(4)
_B = _RNG.standard_normal((4, 4))


def _tanh(p: np.ndarray) -> np.ndarray:
    return np.tanh(_M @ p)


def _jac(p: np.ndarray, edit: Callable[[np.ndarray], None] | None = None) -> np.ndarray:
    j = (1 - np.tanh(_M @ p) ** 2)[:, None] * _M
    if edit is not None:
        edit(j)
    return j


def _noisy(p: np.ndarray) -> np.ndarray:
    jitter = np.random.default_rng(int(abs(p).sum() * 1e12) % 2**32).standard_normal(2)
    return np.sin(p) + 1e-3 * jitter


def _flip_row(j: np.ndarray) -> None:
    j[2] *= -1


def _triple_column(j: np.ndarray) -> None:
    j[:, 1] *= 3


def _scatter(j: np.ndarray) -> None:
    j[0, 0] += 1
    j[3, 2] += 1


def _swap_rows(j: np.ndarray) -> None:
    j[[0, 1]] = j[[1, 0]]


# Every diagnosis kind a Jacobian report emits, in both modes, and each status.
_REPORTS: dict[str, tuple[Callable[[], Report], str, str | None]] = {
    "sign": (lambda: check_jacobian(_tanh, _X, lambda p: -_jac(p)), "failed", "sign"),
    "factor": (lambda: check_jacobian(_tanh, _X, lambda p: 2 * _jac(p)), "failed", "factor"),
    "zero": (lambda: check_jacobian(_tanh, _X, lambda p: 0 * _jac(p)), "failed", "zero"),
    "row": (lambda: check_jacobian(_tanh, _X, lambda p: _jac(p, _flip_row)), "failed", "row"),
    "column": (
        lambda: check_jacobian(_tanh, _X, lambda p: _jac(p, _triple_column)),
        "failed",
        "column",
    ),
    "scattered": (
        lambda: check_jacobian(_tanh, _X, lambda p: _jac(p, _scatter)),
        "failed",
        "scattered",
    ),
    "transpose": (lambda: check_jacobian(lambda p: _B @ p, _X, _B.T), "failed", "transpose"),
    "swapped": (
        lambda: check_jacobian(_tanh, _X, lambda p: _jac(p, _swap_rows)),
        "failed",
        "swapped",
    ),
    "unused": (
        lambda: check_jacobian(
            lambda p: {"a": np.sin(p), "b": np.zeros(2)},
            _X,
            {"a": np.diag(np.cos(_X)), "b": np.ones((2, 4))},
        ),
        "failed",
        "unused",
    ),
    "inconsistent": (
        lambda: check_jacobian(_tanh, _X, _jac, vjp=lambda p, u: 2 * _jac(p).T @ u),
        "failed",
        "inconsistent",
    ),
    "directional jvp": (
        lambda: check_jacobian(_tanh, _X, jvp=lambda p, v: 2 * _jac(p) @ v, mode="directional"),
        "failed",
        "factor",
    ),
    "directional jacobian": (
        lambda: check_jacobian(_tanh, _X, lambda p: 2 * _jac(p), mode="directional"),
        "failed",
        None,
    ),
    "directional passed": (
        lambda: check_jacobian(_tanh, _X, vjp=lambda p, u: _jac(p).T @ u, mode="directional"),
        "passed",
        None,
    ),
    "passed": (
        lambda: check_jacobian(_tanh, _X, _jac, jvp=lambda p, v: _jac(p) @ v),
        "passed",
        None,
    ),
    "inconclusive": (
        lambda: check_jacobian(_noisy, np.array([0.3, 0.6]), lambda p: np.diag(np.cos(p))),
        "inconclusive",
        None,
    ),
}


@pytest.mark.parametrize("case", sorted(_REPORTS))
def test_every_jacobian_report_validates_against_the_schema(case: str) -> None:
    make, status, kind = _REPORTS[case]
    report = make()
    assert report.status == status
    kinds = {p.diagnosis.kind for p in report.parameters.values() if p.diagnosis is not None}
    assert kind is None or kind in kinds
    jsonschema.validate(json.loads(report.to_json()), _SCHEMA, cls=jsonschema.Draft202012Validator)


def test_printed_report_speaks_of_fn_and_derivatives() -> None:
    # attack13 F21/F27: check()'s "wrong gradient for" and "cost evaluations" wording
    bad = A.copy()
    bad[1] *= 3
    text = str(check_jacobian(lambda p: A @ p, np.ones(2), bad))
    assert "FAILED: wrong derivative for out / x" in text and " fn evaluations in " in text
    assert "gradient" not in text.splitlines()[0] and "1/m" not in text
    passed = str(check_jacobian(lambda p: A @ p, np.ones(2), A))
    assert "PASSED: every checked derivative entry agrees" in passed
