"""``gradcheck._jacscale``: the scales a Jacobian's entries are judged on where a row's
own says nothing (a constant output's claimed round-off)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from gradcheck import check_jacobian


def _structural_zero(x: Any) -> Any:
    """``[x0·x1, x1², 0]``: the last output is exactly 0 whatever ``x`` (R's entries
    below the diagonal in a wide QR, attack24 F1)."""
    return np.array([x[0] * x[1], x[1] ** 2, 0.0 * x[0]])


def _structural_jacobian(x: Any, leak: float) -> Any:
    return np.array([[x[1], x[0]], [0.0, 2 * x[1]], [leak, 0.0]])


class TestAClaimsOwnRoundOffAtAConstantOutput:
    """attack24 F1 (core route): check_jacobian of a wide QR's R with torch's exact
    Jacobian FAILED "out[1, 0] / x[1, 0] analytic 5.55e-17 numeric 0": a constant
    output has no noise, and the claim's round-off (relative to max|J| = 3.4) met rule 5.
    A claim within ANALYTIC_ROUNDOFFS round-offs of the Jacobian's largest entry is
    round-off of 0 there; a larger one still fails."""

    @pytest.mark.parametrize("leak", [5.55e-17, 1e-16, 4e-15])
    @pytest.mark.parametrize("scale", [1.0, 1e-6, 1e6])
    def test_round_off_passes(self, leak: float, scale: float) -> None:
        x = scale * np.array([1.7, -2.3])
        report = check_jacobian(_structural_zero, x, _structural_jacobian(x, leak * scale))
        assert report.status == "passed", str(report)

    @pytest.mark.parametrize("leak", [1e-9, 1e-6, 1e-3])
    @pytest.mark.parametrize("scale", [1.0, 1e-6, 1e6])
    def test_an_error_beyond_round_off_fails(self, leak: float, scale: float) -> None:
        x = scale * np.array([1.7, -2.3])
        report = check_jacobian(_structural_zero, x, _structural_jacobian(x, leak * scale))
        assert report.status == "failed", str(report)
