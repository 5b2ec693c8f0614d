"""``gradcheck._jacscale``: the scales a Jacobian's entries are judged on where a row's
own says nothing (a constant output's claimed round-off)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from gradcheck import check_jacobian
from gradcheck._comparison import Comparison
from gradcheck._jacscale import ANALYTIC_ROUNDOFFS, on_block_scale, unmoved, zero_rows


def _cmp(
    numeric: list[float],
    *,
    scale: float,
    peak: float = 0.0,
    tol: float = 1e-12,
    status: str = "uncertain",
    reach: float = 1e-3,
) -> Comparison:
    n = len(numeric)
    return Comparison(
        numeric=np.array(numeric),
        abs_error=np.zeros(n),
        tolerance=np.full(n, tol),
        fd_error=np.zeros(n),
        status=np.array([status] * n, dtype=object),
        reach=np.full(n, reach),
        flat=np.zeros(n, dtype=bool),
        scale=scale,
        peak=peak,
    )


def _summary(rows: list[list[Comparison]]) -> list[list[tuple[Any, ...]]]:
    return [[(c.status.tolist(), c.scale, c.peak) for c in row] for row in rows]


class TestZeroRows:
    """:func:`zero_rows` on hand-made rows (mutation testing, issue 16): 2 outputs × 2
    parameters, the first parameter 2 entries wide, the second 1."""

    STARTS = np.array([0, 2, 3])

    def test_a_zero_block_on_the_rows_scale_a_zero_row_on_the_jacobians(self) -> None:
        J = np.array([[4.0, -3.0, 1e-18], [0.0, 0.0, 0.0]])
        rows = [
            [_cmp([4.0, -3.0], scale=4.0, peak=5.0, status="ok"), _cmp([1e-18], scale=1e-18)],
            [_cmp([0.0, 0.0], scale=0.0), _cmp([0.0], scale=0.0, peak=0.0)],
        ]
        out = zero_rows(rows, J, self.STARTS)
        assert out[0][0] is rows[0][0]
        assert _summary(out) == [
            [(["ok", "ok"], 4.0, 5.0), (["ok"], 4.0, 5.0)],
            [(["ok", "ok"], 4.0, 5.0), (["ok"], 4.0, 5.0)],
        ]

    def test_a_rows_own_scale_stands_for_its_peak_where_it_has_none(self) -> None:
        J = np.array([[4.0, -3.0, 0.0], [2.0, 1.0, 0.0]])
        rows = [
            [_cmp([4.0, -3.0], scale=4.0, peak=0.0, status="ok"), _cmp([0.0], scale=0.0)],
            [_cmp([2.0, 1.0], scale=2.0, peak=6.0, status="ok"), _cmp([0.0], scale=0.0)],
        ]
        out = zero_rows(rows, J, self.STARTS)
        assert [(c.scale, c.peak) for c in (out[0][1], out[1][1])] == [(4.0, 4.0), (2.0, 6.0)]

    def test_no_peak_anywhere_is_the_largest_scale(self) -> None:
        J = np.zeros((2, 3))
        J[0, 0] = 3.0
        rows = [
            [_cmp([3.0, 0.0], scale=3.0, status="ok"), _cmp([0.0], scale=0.0)],
            [_cmp([0.0, 0.0], scale=0.0), _cmp([0.0], scale=0.0)],
        ]
        out = zero_rows(rows, J, self.STARTS)
        assert [(c.scale, c.peak) for c in out[1]] == [(3.0, 3.0), (3.0, 3.0)]

    def test_a_block_smaller_than_its_screen_but_not_zero_keeps_its_scale(self) -> None:
        J = np.array([[4.0, -3.0, 1e-6], [0.0, 0.0, 0.0]])
        rows = [
            [_cmp([4.0, -3.0], scale=4.0, status="ok"), _cmp([1e-6], scale=1e-6)],
            [_cmp([0.0, 0.0], scale=0.0), _cmp([0.0], scale=0.0)],
        ]
        out = zero_rows(rows, J, self.STARTS)
        assert out[0][1] is rows[0][1]

    def test_a_claims_round_off_counts_within_analytic_roundoffs(self) -> None:
        # an exactly constant output (no noise: tolerance 0) claimed 5.6e-17 beside 3.4
        J = np.array([[3.4, 1.0, 0.0], [0.0, 5.6e-17, 0.0]])
        top = 3.4 * ANALYTIC_ROUNDOFFS * 2.0**-52
        rows = [
            [_cmp([3.4, 1.0], scale=3.4, peak=3.4, status="ok"), _cmp([0.0], scale=0.0)],
            [
                _cmp([0.0, 0.0], scale=5.6e-17, tol=0.0, status="wrong", reach=0.0),
                _cmp([0.0], scale=0.0, tol=0.0),
            ],
        ]
        rows[1][0].flat[:] = True
        rows[1][0].abs_error[:] = [0.0, 5.6e-17]
        out = zero_rows(rows, J, self.STARTS, 2.0**-52)
        assert out[1][0].status.tolist() == ["ok", "ok"] and out[1][0].scale == 3.4
        assert out[1][0].reach.tolist() == [top, top + 5.6e-17]
        kept = zero_rows(rows, J, self.STARTS)  # no round-off of the claim's own
        assert kept[1][0].status.tolist() == ["wrong", "wrong"]

    def test_the_claims_round_off_is_relative_to_the_largest_peak(self) -> None:
        J = np.array([[3.4, 1.0, 0.0], [0.0, 4e-15, 0.0]])
        rows = [
            [_cmp([3.4, 1.0], scale=3.4, peak=1.0, status="ok"), _cmp([0.0], scale=0.0)],
            [_cmp([0.0, 0.0], scale=4e-15, tol=0.0), _cmp([0.0], scale=0.0, tol=0.0)],
        ]
        # 4e-15 is within 64 round-offs of 3.4 (4.8e-14) but not of the peak 1.0 (1.4e-14)…
        assert zero_rows(rows, J, self.STARTS, 2.0**-52)[1][0].scale == 3.4
        # …with a peak 0.25 it is not: 64 round-offs of 0.25 are 3.6e-15
        rows[0][0] = _cmp([3.4, 1.0], scale=3.4, peak=0.25, status="ok")
        assert zero_rows(rows, J, self.STARTS, 2.0**-52)[1][0].scale == 4e-15

    def test_a_zero_block_already_on_the_rows_scale_is_left(self) -> None:
        J = np.array([[0.0, 0.0, 1.0]])
        rows = [[_cmp([0.0, 0.0], scale=1.0), _cmp([1.0], scale=1.0, status="ok")]]
        out = zero_rows(rows, J, self.STARTS)
        assert out[0][0] is rows[0][0] and out[0][0].status.tolist() == ["uncertain"] * 2

    @pytest.mark.parametrize("claim", [1e-17, 1e-9])
    def test_a_zero_blocks_kinks_are_noise(self, claim: float) -> None:
        # test_torch_order2's BatchNorm block: differences that are round-off over the
        # step land just past the screen or not by the thread count, and their one-sided
        # slopes disagree by chance ("1 entries sit at kinks" with one thread)
        J = np.array([[4.0, -3.0, claim], [0.0, 0.0, 0.0]])
        rows = [
            [_cmp([4.0, -3.0], scale=4.0, peak=5.0, status="ok"), _cmp([1.5e-12], scale=1.5e-12)],
            [_cmp([0.0, 0.0], scale=0.0), _cmp([0.0], scale=0.0, peak=0.0)],
        ]
        rows[0][1].status[:] = "nonsmooth"
        rows[0][1].reach[:] = np.inf
        rows[0][1].fd_error[:] = 1e-12
        rows[0][1].abs_error[:] = 1.5e-12 - claim
        out = zero_rows(rows, J, self.STARTS, 2.0**-52)
        if claim > ANALYTIC_ROUNDOFFS * 2.0**-52 * 5.0:  # a claim above round-off: kept
            assert out[0][1] is rows[0][1]
            return
        assert out[0][1].status.tolist() == ["ok"] and out[0][1].scale == 4.0
        assert out[0][1].reach.tolist() == [1e-12 + 1.5e-12 - claim]
        assert np.isnan(out[0][1].kink).all()

    def test_rows_without_parameters(self) -> None:
        assert zero_rows([[], []], np.zeros((2, 0)), np.array([0])) == [[], []]

    def test_no_rows(self) -> None:
        assert zero_rows([], np.zeros((0, 3)), self.STARTS) == []


class TestOnBlockScale:
    def test_uncertain_rows_take_their_blocks_largest_scale_and_peak(self) -> None:
        rows = [
            [_cmp([1.0], scale=1.0, peak=2.0, status="ok"), _cmp([1e-10], scale=1e-10)],
            [_cmp([1e-10], scale=1e-10), _cmp([3.0], scale=3.0, peak=0.0, status="ok")],
            [_cmp([5.0], scale=5.0, status="ok"), _cmp([1e-10], scale=1e-10)],
        ]
        out = on_block_scale(rows, np.array([0, 0, 1]))
        assert _summary(out) == [
            [(["ok"], 1.0, 2.0), (["ok"], 3.0, 3.0)],
            [(["ok"], 1.0, 2.0), (["ok"], 3.0, 0.0)],
            [(["ok"], 5.0, 0.0), (["uncertain"], 1e-10, 0.0)],
        ]
        assert out[0][0] is rows[0][0] and out is not rows

    def test_each_block_alone(self) -> None:
        # three blocks: the lone row of block 1 is its block's largest, whatever block 2
        rows = [
            [_cmp([1.0], scale=1.0, status="ok")],
            [_cmp([1.0], scale=1.0, status="ok")],
            [_cmp([1e-10], scale=1e-10)],
            [_cmp([5.0], scale=5.0, status="ok")],
        ]
        out = on_block_scale(rows, np.array([0, 0, 1, 2]))
        assert out[2][0] is rows[2][0]

    def test_wrong_entries_stay_wrong(self) -> None:
        rows = [[_cmp([1.0], scale=1.0, status="ok")], [_cmp([1e-10], scale=1e-10, status="wrong")]]
        out = on_block_scale(rows, np.array([0, 0]))
        assert out[1][0] is rows[1][0]

    def test_no_rows(self) -> None:
        assert on_block_scale([], np.zeros(0, dtype=int)) == []


class TestUnmoved:
    def test_several_parameters(self) -> None:
        f0 = np.array([1.0, 2.0])
        stage1 = [
            np.array([[[1.0, 2.0], [1.0, 2.0]]]),  # 1 entry: neither output moved
            np.array([[[1.0, 2.5], [1.0, 2.0]], [[1.5, 2.0], [1.0, 2.0]]]),  # 2 entries
        ]
        assert unmoved(stage1, f0).tolist() == [[True, True, False], [True, False, True]]

    def test_no_parameters(self) -> None:
        got = unmoved([], np.array([1.0, 2.0, 3.0]))
        assert got.shape == (3, 0) and got.dtype == bool


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
