"""``gradcheck._jacalong``: each form compared output by output along the steps."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import gradcheck
from gradcheck._jacalong import (
    ARGUMENT_ROUNDOFFS,
    CONSTANT_CLAIM,
    Along,
    AlongResults,
    _full_tolerance,
    allow,
    along,
    along_results,
    rejudge,
    smallest_rounding,
)
from gradcheck._linear import Forms
from gradcheck._tolerances import unit_roundoff
from test_linear import layout

Array = np.ndarray[Any, Any]
U64 = unit_roundoff(np.float64)


def rows_of(fn: Any, x: Array, w: Array) -> Array:
    return np.array([fn(x + w), fn(x - w), fn(x + w / 2), fn(x - w / 2)])


class TestAlong:
    # 1e±280: claims of 1e286 squared overflowed the spread (attack20 A14)
    @pytest.mark.parametrize("scale", [1e-280, 1e-8, 1.0, 1e8, 1e280])
    @pytest.mark.parametrize("seed", range(3))
    def test_right_claims_agree_and_one_wrong_output_is_found(
        self, scale: float, seed: int
    ) -> None:
        rng = np.random.default_rng(seed)
        A = rng.standard_normal((40, 30)) * np.logspace(-6, 6, 40)[:, None] * scale
        x = rng.standard_normal(30)

        def fn(p: Array) -> Array:
            return np.asarray(np.tanh(A @ p / scale) * scale)

        def jac(p: Array) -> Array:
            return np.asarray((1 - np.tanh(A @ p / scale) ** 2)[:, None] * A)

        ws = [1e-5 * rng.standard_normal(30) for _ in range(2)]
        rows = [rows_of(fn, x, w) for w in ws]
        claims = np.array([jac(x) @ w for w in ws])
        ok = along(rows, fn(x), claims, np.full(40, U64), 1e-9)
        assert not ok.wrong.any()
        claims[:, 3] *= 1 + 1e-4  # one output's derivative off by 1e-4, among 1e12 scales
        bad = along(rows, fn(x), claims, np.full(40, U64), 1e-9)
        assert np.flatnonzero(bad.wrong).tolist() == [3]

    @pytest.mark.parametrize("rtol", [0.0, 1e-9, 1e-4])
    @pytest.mark.parametrize("seed", range(4))
    def test_the_screen_never_changes_a_verdict(self, rtol: float, seed: int) -> None:
        # claims off by relative errors from far below to far above the tolerance, on
        # outputs whose scales span 12 decades: an output the screen passes is within
        # the full rule's tolerance, every other one is judged by the full rule
        rng = np.random.default_rng(seed)
        m = 400
        A = rng.standard_normal((m, 20)) * np.logspace(-6, 6, m)[:, None]
        x = rng.standard_normal(20)

        def fn(p: Array) -> Array:
            return np.asarray(np.sin(A @ p))

        ws = [1e-6 * rng.standard_normal(20) for _ in range(2)]
        rows = [rows_of(fn, x, w) for w in ws]
        exact = np.array([np.cos(A @ x) * (A @ w) for w in ws])
        claims = exact * (1 + np.logspace(-16, -2, m)[rng.permutation(m)] * rng.choice([-1, 1], m))
        f0, u = fn(x), np.full(m, U64)
        got = along(rows, f0, claims, u, rtol)
        tau, _ = _full_tolerance(rows, f0, claims, u, rtol)
        full_wrong = np.any(~(np.abs(claims - got.numeric) <= tau), axis=0)
        assert got.wrong.tolist() == full_wrong.tolist()
        assert 0 < got.wrong.sum() < m  # both verdicts occur
        assert np.all(got.tolerance <= tau)  # the screen's bound never exceeds the rule
        judged = got.tolerance == tau
        assert np.all(judged[got.wrong])
        assert np.array_equal(got.abs_error, np.abs(claims - got.numeric))


class TestAlongResults:
    def test_one_row_per_output_leaf_and_the_wrong_flat_outputs(self) -> None:
        rng = np.random.default_rng(0)
        A, x = rng.standard_normal((6, 4)), rng.standard_normal(4)
        ws = [1e-5 * rng.standard_normal(4) for _ in range(2)]
        claims = np.array([A @ w for w in ws])
        claims[:, 2] *= 1.01
        cmp = along(
            [rows_of(lambda p: A @ p, x, w) for w in ws], A @ x, claims, np.full(6, U64), 1e-9
        )
        result = along_results(Forms(layout(x, A @ x), [x]), cmp, "")
        assert isinstance(result, AlongResults) and result.wrong == [2]
        assert [(r.name, r.status, r.failed) for r in result.rows] == [("out along v", "failed", 1)]


class TestAlongDiagnosis:
    """A jvp-only check's diagnosis counts and names outputs, not outputs × directions."""

    X = np.random.default_rng(0).standard_normal((50, 100))  # 5000 entries: directional

    def _diagnosis(self, scale: Array) -> Any:
        report = gradcheck.check_jacobian(np.sin, self.X, jvp=lambda p, v: np.cos(p) * v * scale)
        assert report.status == "failed" and report.mode == "directional"
        return report, report.parameters["out along v"].diagnosis

    def test_one_wrong_output_is_named_by_its_index(self) -> None:
        # attack22 C2: "2 of 10000 entries are wrong ...: out[7], out[5007]"
        scale = np.ones_like(self.X)
        scale[3, 7] = 1.01
        report, diagnosis = self._diagnosis(scale)
        assert diagnosis.text == "1 of 5000 entries is wrong, with no simple pattern: out[3, 7]"
        assert report.localisation["pinned"] == ["out[3, 7]"]

    @pytest.mark.parametrize(("factor", "kind"), [(1.01, "factor"), (-1.0, "sign")])
    def test_a_pattern_over_every_output_is_named(self, factor: float, kind: str) -> None:
        _, diagnosis = self._diagnosis(np.full_like(self.X, factor))
        assert diagnosis.kind == kind, diagnosis.text


class TestStructuralZeros:
    """attack24 F1: an output that never moves (R's entries below the diagonal of a wide
    QR) had a tolerance of 0, and a rule's round-off there failed a correct jvp."""

    def test_along_allows_a_constant_output_only_round_off_of_the_largest_claim(self) -> None:
        rng = np.random.default_rng(0)
        x, A = rng.standard_normal(6), rng.standard_normal((3, 6))

        def fn(p: Array) -> Array:
            return np.concatenate([A @ np.sin(p), [0.0]])  # the last output never moves

        ws = [1e-5 * rng.standard_normal(6) for _ in range(2)]
        rows = [rows_of(fn, x, w) for w in ws]
        claims = np.array([np.concatenate([A @ (np.cos(x) * w), [0.0]]) for w in ws])
        peak = np.abs(claims).max()
        for leak, wrong in ((0.5 * CONSTANT_CLAIM * U64, False), (2 * CONSTANT_CLAIM * U64, True)):
            claims[:, 3] = leak * peak
            got = along(rows, fn(x), claims, np.full(4, U64), 1e-9)
            assert np.flatnonzero(got.wrong).tolist() == ([3] if wrong else [])


class TestArgumentRoundoff:
    """A flagged output is judged again with the round-off of ``f``'s arguments
    (attack36 H164: ``sin(c⊙x)`` at 10⁶ outputs, a right jvp failed 2 checks of 17 on
    one output whose ``f_i ≈ 0`` hid the rounding of ``c x``)."""

    def test_rejudge_clears_only_what_the_arguments_round_off_explains(self) -> None:
        # three outputs flagged by 2e-16: the first with no spread, the second with
        # a spread whose 18 round-offs cover it, the third with one that does not
        diff = np.array([[0.0, 3e-16, 3e-16, 3e-16]])
        cmp = Along(
            analytic=np.ones((1, 4)),
            numeric=np.ones((1, 4)) - diff,
            fd_error=np.zeros((1, 4)),
            tolerance=np.full(4, 1e-16),
            wrong=np.array([False, True, True, True]),
            abs_error=diff,
        )
        spread = np.array([1e9, 0.0, 1.0, 0.05])  # 18 u · spread: 0, 2.0e-15, 1.0e-16
        again = rejudge(cmp, spread, U64)
        assert again.wrong.tolist() == [False, True, False, True]
        raised = ARGUMENT_ROUNDOFFS * U64 * spread
        assert np.array_equal(again.tolerance[1:], cmp.tolerance[1:] + raised[1:])
        assert again.tolerance[0] == cmp.tolerance[0]  # not flagged: not judged again
        assert cmp.wrong.tolist() == [False, True, True, True]  # a new record

    @pytest.mark.parametrize(("eps", "status"), [(0.0, "passed"), (1e-6, "failed")])
    def test_a_million_outputs(self, eps: float, status: str) -> None:
        n = 10**6
        r = np.random.default_rng(0)
        x0, c = r.standard_normal(n), r.uniform(0.5, 2, n)

        def jvp(x: Array, t: Array) -> Array:
            out = c * np.cos(c * x) * t
            out[n // 3] *= 1 + eps
            return out  # type: ignore[no-any-return]

        report = gradcheck.check_jacobian(lambda x: np.sin(c * x), x0, jvp=jvp, seed=0)
        assert report.status == status
        if eps:
            assert [e.index for e in report.worst if e.status == "wrong"][:1] == [(n // 3,)]


class TestBelowTheSmallestNormal:
    """Values below the smallest normal round by an absolute amount (attack36 H162)."""

    def test_smallest_rounding_per_dtype(self) -> None:
        us = np.array([unit_roundoff(d) for d in (np.float64, np.float32, np.float16)] + [2.0**-8])
        assert smallest_rounding(us).tolist() == [2.0**-1074, 2.0**-150, 2.0**-25, 2.0**-134]

    @staticmethod
    def compare(claim: float, floor: float = 0.0) -> Along:
        # one output of 1e-320 that moves by one spacing (R = 5e-324), one that does not
        sp, f0 = 5e-324, np.array([1e-320, 1e-320])
        table = [[f0[0] + 2 * sp, f0[1]], [f0[0], f0[1]], [f0[0] + sp, f0[1]], [f0[0], f0[1]]]
        rows = [np.array(table)]
        return along(rows, f0, np.array([[claim, claim]]), np.full(2, U64), 1e-9, floor)

    def test_a_subnormal_output_moving_by_one_spacing_is_not_judged(self) -> None:
        cmp = self.compare(0.0)
        assert cmp.numeric.tolist() == [[5e-324, 0.0]]
        assert cmp.wrong.tolist() == [False, False]
        assert cmp.unseen is not None and cmp.unseen.tolist() == [True, False]

    def test_a_claim_far_beyond_the_rounding_still_fails(self) -> None:
        cmp = self.compare(1e-300)
        assert cmp.wrong.tolist() == [True, True]

    def test_the_claims_floor_is_allowed_and_leaves_the_output_unseen(self) -> None:
        cmp = self.compare(1e-310)
        assert cmp.wrong.tolist() == [True, True]
        saved = self.compare(1e-310, floor=2e-310)
        assert saved.wrong.tolist() == [False, False]
        assert saved.unseen is not None and saved.unseen.tolist() == [True, True]

    def test_allow_raises_only_the_flagged_outputs(self) -> None:
        cmp = Along(
            analytic=np.ones((1, 3)),
            numeric=np.ones((1, 3)),
            fd_error=np.zeros((1, 3)),
            tolerance=np.full(3, 1e-16),
            wrong=np.array([False, True, True]),
            abs_error=np.array([[0.0, 2e-16, 5e-16]]),
        )
        again = allow(cmp, np.full(3, 2e-16))
        assert again.wrong.tolist() == [False, False, True]
        assert again.tolerance.tolist() == [1e-16, 3e-16, 3e-16]
