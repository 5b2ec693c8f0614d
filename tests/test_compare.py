"""The per-entry comparison: the reach (detection bound) each entry states, checked by
planting errors at it, and the verdicts on noisy, flat, coarse and exactly-zero entries
(the record and its rules: test_comparison.py; the noise: test_quotients.py)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import gradcheck
from gradcheck import _compare as cmp
from gradcheck import _kinks
from gradcheck._numerics import SMALLEST


def _plant(grad: np.ndarray, index: int, size: float) -> np.ndarray:
    out = np.array(grad, dtype=np.float64)
    out[index] += size
    return out


def _caught_everywhere(cost: Any, x: np.ndarray, g: np.ndarray, **options: Any) -> float:
    """Plant ±1.1 × the stated bound at every entry in turn; each must fail there."""
    clean = gradcheck.check(cost, x, g, **options)
    assert clean.status == "passed", str(clean)
    bound = clean.parameters["x"].detection_bound
    assert np.isfinite(bound) and bound > 0
    size = 1.1 * bound * float(np.max(np.abs(g)))
    for i in range(x.size):
        for sign in (1.0, -1.0):
            report = gradcheck.check(cost, x, _plant(g, i, sign * size), **options)
            why = f"{sign * size:g} planted at x[{i}] (bound {bound:g})\n{report}"
            assert report.status == "failed", why
            assert report.worst[0].index == (i,), why
    return bound


def _rows(fs: Any, offsets: tuple[complex, ...], h: np.ndarray) -> np.ndarray:
    """The values ``J(θ + o·h·e_i) − J(θ)`` of a separable cost ``Σ f_i`` at θ = 0, one
    row per entry (the offsets of ``cmp.STAGE1`` / ``cmp.RECHECK``): ``J0`` is 0."""
    return np.array([[f(o * hi) - f(0.0) for o in offsets] for f, hi in zip(fs, h)])


def _compared(method: str, fs: Any, a: np.ndarray, h: np.ndarray, **kw: Any) -> Any:
    """``cmp.compare`` of the separable cost ``Σ f_i`` at θ = 0 against the claim ``a``,
    with tolerances ``tol`` (default 1e-9 each), its entries re-examined as
    ``cmp.examined`` chooses them; also the rows it was given."""
    kw.setdefault("sigma", 0.0)
    kw.setdefault("fixed", False)
    tol = kw.pop("tol", np.full(a.size, 1e-9))
    stage1 = _rows(fs, cmp.STAGE1[method], h)
    numeric = cmp.first_estimate(method, 0.0, stage1, h)  # type: ignore[arg-type]
    chosen = cmp.noise_for(method, kw["sigma"], h, kw["fixed"])  # type: ignore[arg-type]
    floor = kw.get("floor", 0.0)
    ex = cmp.examined(method, a, numeric, tol, stage1, 0.0, h, floor, chosen)  # type: ignore[arg-type]
    recheck = _rows([f for f, e in zip(fs, ex) if e], cmp.RECHECK[method], h[ex])
    recheck = recheck.reshape(int(ex.sum()), len(cmp.RECHECK[method]))
    c = cmp.compare(method, a, numeric, h, tol, j0=0.0, stage1=stage1, recheck=recheck, **kw)  # type: ignore[arg-type]
    return c, stage1, recheck, ex


def _linear(k: float) -> Any:
    return lambda t: k * t


class TestCompareReadWhole:
    """``compare`` read field by field on separable costs at θ = 0 whose values follow
    from their Taylor series (``t + t³``: central differences ``1 + h²``, Richardson's
    ``R = 1`` exactly), for each method: every status, the estimated error, the reach,
    the unresponsive and exact-zero flags and the kink fields (those from
    ``gradcheck._kinks.locate`` on the same values)."""

    H = np.full(5, 1e-3)
    FS = (_linear(2.0), _linear(2.0), lambda t: t + t**3, lambda t: 0.0 * t, abs)
    A = np.array([2.0, 1.0, 1.0, 1.0, 0.0])

    def test_central(self) -> None:
        c, stage1, recheck, ex = _compared("central", self.FS, self.A, self.H)
        assert ex.tolist() == [False, True, True, True, True]
        assert c.status.tolist() == ["ok", "wrong", "ok", "wrong", "nonsmooth"]
        assert c.flat.tolist() == [False, False, False, True, False]
        assert c.numeric == pytest.approx([2.0, 2.0, 1 + 1e-6, 0.0, 0.0], rel=1e-9)
        assert c.abs_error == pytest.approx([0.0, 1.0, 1e-6, 1.0, 0.0], rel=1e-6, abs=1e-15)
        assert c.tolerance.tolist() == [1e-9] * 5
        # e = |D − (4 C(h/2) − C(h)) / 3| = h² for t + t³; 0 where D is exact
        assert c.fd_error == pytest.approx([0.0, 0.0, 1e-6, 0.0, 0.0], rel=1e-6, abs=1e-15)
        assert c.reach == pytest.approx(
            [1e-9, 1e-9 + 1.0, 1e-9 + 1e-6 + cmp.SAFETY * 1e-6, 1e-9 + 1.0, 1e-9],
            rel=1e-6,
        )
        assert c.scale == 2.0 and c.peak == 2.0
        assert c.exact.tolist() == [False] * 5  # |t|'s zero claim is the kink's
        assert np.isnan(c.resolution).all()
        s1, idx = stage1[ex], np.flatnonzero(ex)
        site = _kinks.locate(
            s1[:, 0],
            s1[:, 1],
            recheck[:, 0],
            recheck[:, 1],
            j0=0.0,
            h=self.H[idx],
            sigma=np.zeros(idx.size),
            tol=np.full(idx.size, 1e-9),
            analytic=self.A[idx],
        )
        assert np.array_equal(c.kink[idx], site.offset, equal_nan=True)
        assert np.isnan(c.kink[0]) and c.kink[4] == 0.0
        assert c.bracketed[idx].tolist() == site.bracketed.tolist()
        assert c.off[idx].tolist() == site.off.tolist()
        assert np.array_equal(c.slopes[idx], site.slopes, equal_nan=True)
        assert np.isnan(c.slopes[0]).all() and c.slopes[4].tolist() == [-1.0, 1.0]
        assert not c.bracketed[0] and not c.off[0]
        assert c.step.dtype == np.float64 and c.step.tolist() == self.H.tolist()

    def test_the_steps_are_kept_in_float64(self) -> None:
        # a float32 step array (a caller's float32 parameter) is recorded as float64
        h = np.full(5, 2.0**-10, dtype=np.float32)
        c, *_ = _compared("central", self.FS, self.A, h)
        assert c.step.dtype == np.float64 and c.step.tolist() == [2.0**-10] * 5

    def test_central_in_low_precision_and_fixed(self) -> None:
        low, *_ = _compared("central", self.FS, self.A, self.H, low_precision=True)
        assert low.status.tolist() == ["ok", "wrong", "ok", "uncertain", "nonsmooth"]
        assert low.flat.tolist() == [False, False, False, True, False]
        fixed, *_ = _compared("central", self.FS, self.A, self.H, fixed=True)
        # the fixed rule: |a − D| ≤ tol, no allowance for e, no unresponsive rule
        assert fixed.status.tolist() == ["ok", "wrong", "wrong", "wrong", "nonsmooth"]
        assert fixed.flat.tolist() == [False] * 5
        assert fixed.fd_error == pytest.approx([0.0, 0.0, 1e-6, 0.0, 0.0], rel=1e-6, abs=1e-15)
        assert fixed.reach == pytest.approx([1e-9, 1e-9 + 1, 1e-9 + 1e-6, 1e-9 + 1, 1e-9])

    def test_central_with_noise(self) -> None:
        # σ = 1e-11 at h = 1e-3: ν = σ/h = 1e-8, in every e (examined: |D − R| + ν;
        # not examined: |a − D| + NOISE_SPREAD·ν)
        c, *_ = _compared("central", self.FS, self.A, self.H, sigma=1e-11, tol=np.full(5, 1e-9))
        nu = 1e-8
        assert c.fd_error == pytest.approx([0.0, nu, 1e-6 + nu, nu, 0.0], rel=1e-6, abs=1e-15)
        assert c.reach == pytest.approx(
            [
                1e-9 + cmp.SAFETY * cmp.NOISE_SPREAD * nu,
                1e-9 + 1 + cmp.SAFETY * nu,
                1e-9 + 1e-6 + cmp.SAFETY * (1e-6 + nu),
                1e-9 + 1 + cmp.SAFETY * nu,
                1e-9 + cmp.SAFETY * nu,
            ],
            rel=1e-6,
        )
        assert c.status.tolist() == ["ok", "wrong", "ok", "wrong", "nonsmooth"]

    def test_a_coarser_dtype_shown_widens_the_tolerance(self) -> None:
        # shown = u: each entry's noise is at least u · max(|J0|, |J(θ ± h)|), and the
        # screen grows by 3 × the round-off of that over the declared σ = 0
        u = 2.0**-24
        c, stage1, *_ = _compared("central", self.FS, self.A, self.H, shown=u)
        wider = u * np.max(np.abs(stage1), axis=1)
        assert c.tolerance == pytest.approx(1e-9 + 3 * wider / self.H, rel=1e-9)
        assert c.status[3] == "uncertain"  # in low precision: unresponsive is uncertain
        assert c.flat[3]
        # ... and read from the values themselves: these are no float32 numbers
        plain, *_ = _compared("central", self.FS, self.A, self.H)
        assert plain.tolerance.tolist() == [1e-9] * 5

    def test_forward(self) -> None:
        fs = [_linear(2.0), _linear(2.0), lambda t: t + t**2]
        a = np.array([2.0, 1.0, 1.0])
        h = np.full(3, 1e-3)
        c, _, _, ex = _compared("forward", fs, a, h)
        assert ex.tolist() == [False, True, True]
        # D = 1 + h for t + t²; central differences from the recheck give R = 1
        assert c.numeric == pytest.approx([2.0, 2.0, 1.001], rel=1e-9)
        assert c.fd_error == pytest.approx([0.0, 0.0, 1e-3], rel=1e-6, abs=1e-15)
        assert c.status.tolist() == ["ok", "wrong", "ok"]
        assert c.reach == pytest.approx([1e-9, 1e-9 + 1, 1e-9 + 1e-3 + cmp.SAFETY * 1e-3])
        # ν = NOISE_GAIN["forward"] · σ / h = 2σ/h
        noisy, *_ = _compared("forward", fs, a, h, sigma=1e-11)
        assert noisy.fd_error == pytest.approx([0.0, 2e-8, 1e-3 + 2e-8], rel=1e-6, abs=1e-15)

    def test_richardson(self) -> None:
        # t + t⁵: R(h) = 1 − h⁴/4, R(h/2) = 1 − h⁴/64, best 1: the spread is h⁴/64
        h = np.full(3, 0.1)
        fs = [lambda t: t + t**5] * 2 + [abs]
        a = np.array([1.0, 1.5, 0.0])
        c, _, _, ex = _compared("richardson", fs, a, h)
        spread = 0.1**4 / 64
        assert ex.tolist() == [False, True, True]
        assert c.numeric == pytest.approx([1.0, 1.0, 0.0], abs=1e-12)
        # e for an entry not examined is the table's spread too (plus ν = 0)
        assert c.reach == pytest.approx(
            [1e-9 + cmp.SAFETY * spread, 1e-9 + 0.5 + cmp.SAFETY * spread, 1e-9], rel=1e-4
        )
        assert c.fd_error == pytest.approx([0.0, spread, 0.0], rel=1e-4, abs=1e-15)
        assert c.status.tolist() == ["ok", "wrong", "nonsmooth"]
        assert c.exact.tolist() == [False] * 3
        # ν = NOISE_GAIN["richardson"] · σ / h = 8σ/h
        noisy, *_ = _compared("richardson", fs, a, h, sigma=1e-12)
        assert noisy.fd_error[1] == pytest.approx(spread + 8e-11, rel=1e-4)
        assert noisy.reach[0] == pytest.approx(1e-9 + cmp.SAFETY * (spread + 8e-11), rel=1e-4)

    def test_richardson_exact_zero(self) -> None:
        # a constant entry: every difference is 0, and so is the claim: exact, with the
        # resolution 2·max(σ, SMALLEST)/h
        h = np.full(2, 0.1)
        c, *_ = _compared("richardson", [_linear(1.0), _linear(0.0)], np.array([1.0, 0.0]), h)
        assert c.exact.tolist() == [False, True]
        assert c.status.tolist() == ["ok", "ok"]
        assert c.resolution[1] == 2 * SMALLEST / 0.1
        assert np.isnan(c.resolution[0])

    def test_richardson_exact_zero_reads_the_table(self) -> None:
        # C(h) = −60, C(h/2) = −3, C(h/4) = 0: Richardson's estimate is exactly 0, but
        # the differences are not: no exact zero, and its spread of 1 (reach 10 > 5)
        # leaves the zero claim uncertain beside a gradient of 50
        s1 = np.array([[-60.0, 60.0, -1.5, 1.5, 0.0, 0.0], [50.0, -50.0, 25.0, -25.0, 12.5, -12.5]])
        h, a = np.ones(2), np.array([0.0, 50.0])
        numeric = cmp.first_estimate("richardson", 0.0, s1, h)
        assert numeric.tolist() == [0.0, 50.0]
        c = cmp.compare(
            "richardson",
            a,
            numeric,
            h,
            np.full(2, 1e-9),
            j0=0.0,
            sigma=0.0,
            fixed=False,
            stage1=s1,
            recheck=np.zeros((0, 0)),
            shown=0.0,  # these values are float16 numbers: no coarser round-off here
        )
        assert c.exact.tolist() == [False, False]
        assert c.status.tolist() == ["uncertain", "ok"]
        assert c.reach[0] == pytest.approx(1e-9 + cmp.SAFETY * 1.0)

    @pytest.mark.parametrize("method", ["central", "forward", "richardson", "complex"])
    def test_an_empty_parameter(self, method: str) -> None:
        e = np.zeros(0)
        c = cmp.compare(
            method,  # type: ignore[arg-type]
            e,
            e,
            e,
            e,
            j0=1.0,
            sigma=0.0,
            fixed=False,
            stage1=np.zeros((0, len(cmp.STAGE1[method]))),
            recheck=np.zeros((0, len(cmp.RECHECK[method]))),
            floor=0.25,
        )
        assert c.status.tolist() == [] and c.reach.tolist() == []
        assert c.peak == 0.0 and c.scale == 0.25
        assert c.slopes.shape == (0, 2) and c.exact.tolist() == []

    def test_field_dtypes(self) -> None:
        c, *_ = _compared("central", self.FS, self.A, self.H)
        for name in ("flat", "bracketed", "off", "exact"):
            assert getattr(c, name).dtype == bool, name
        assert c.kink.dtype == np.float64 and c.slopes.shape == (5, 2)

    def test_an_overflowed_estimate_is_uncertain(self) -> None:
        c, *_ = _compared("central", [_linear(2.0), _linear(1.0)], np.array([2.0, 1.0]), self.H[:2])
        assert c.status.tolist() == ["ok", "ok"]
        a, n, h = np.array([2.0, 1.0]), np.array([2.0, np.inf]), self.H[:2]
        s1 = np.array([[2e-3, -2e-3], [1e-3, -1e-3]])
        tol = np.full(2, 1e-9)
        over = cmp.compare(
            "central",
            a,
            n,
            h,
            tol,
            j0=0.0,
            sigma=0.0,
            fixed=False,
            stage1=s1,
            recheck=np.array([[5e-4, -5e-4]]),
            reexamined=np.array([False, True]),
        )
        assert over.status.tolist() == ["ok", "uncertain"]
        assert over.reach[1] == np.inf and over.scale == 2.0

    def test_a_kink_beside_the_point_is_uncertain(self) -> None:
        # |t − h/8|: the kink is within the steps, not at θ: uncertain, at its offset
        fs = [_linear(2.0), lambda t: abs(t - 1.25e-4)]
        c, _, _, ex = _compared("central", fs, np.array([2.0, -1.0]), self.H[:2])
        assert ex.tolist() == [False, True]
        assert c.status.tolist() == ["ok", "uncertain"]
        assert 0.0 < abs(c.kink[1]) <= 1e-3

    def test_a_large_estimated_error(self) -> None:
        # t + t³ at h = 0.2: e = h² = 0.04, SAFETY · e = 0.4 above UNCERTAIN of the
        # scale: an agreeing claim is uncertain, a doubled one still wrong
        fs = [lambda t: t + t**3] * 2
        c, *_ = _compared("central", fs, np.array([1.0, 2.0]), np.full(2, 0.2))
        assert c.fd_error == pytest.approx([0.04, 0.04], rel=1e-9)
        assert c.status.tolist() == ["uncertain", "wrong"]

    def test_the_screen_is_met_exactly(self) -> None:
        # |a − D| = tol exactly: ok under the fixed rule, wrong just beyond it
        a, n, h = np.array([1.0, 1.0]), np.array([1.5, 1.75]), np.full(2, 0.5)
        s1 = np.column_stack([n * h + 0.1, -n * h + 0.1])  # J0 = 0.1: no shown dtype
        tol = np.full(2, 0.5)
        ex = cmp.examined("central", a, n, tol, s1, 0.1, h)
        c = cmp.compare(
            "central",
            a,
            n,
            h,
            tol,
            j0=0.1,
            sigma=0.0,
            fixed=True,
            stage1=s1,
            recheck=np.column_stack([n * h / 2 + 0.1, -n * h / 2 + 0.1])[ex],
        )
        assert c.status.tolist() == ["ok", "wrong"]

    def test_a_coarser_dtype_shown_over_a_noise(self) -> None:
        # σ = 1e-12 below the shown u · |J|: the screen grows by 3 · (wider − σ) / h
        u = 2.0**-24
        c, stage1, *_ = _compared("central", self.FS, self.A, self.H, shown=u, sigma=1e-12)
        wider = np.maximum(1e-12, u * np.max(np.abs(stage1), axis=1))
        base = 1e-9
        assert c.tolerance == pytest.approx(base + 3 * (wider - 1e-12) / self.H, rel=1e-9)
        # the values themselves show it: float16 numbers, three of them distinct
        s1 = np.array([[0.5, -0.5], [0.25, -0.25], [1.0, -1.0]])
        h, a = np.full(3, 0.5), np.array([1.0, 0.5, 2.0])
        kw: dict[str, Any] = dict(sigma=0.0, fixed=False, stage1=s1, recheck=np.zeros((0, 2)))
        n = cmp.first_estimate("central", 0.0, s1, h)
        shown = cmp.compare("central", a, n, h, np.full(3, 1e-9), j0=0.0, **kw)
        u16 = float(np.finfo(np.float16).eps) / 2
        assert shown.tolerance.tolist() == pytest.approx(
            (1e-9 + 3 * u16 * np.abs(s1[:, 0]) / h).tolist()
        )
        kw["reexamined"] = np.zeros(3, dtype=bool)  # (J0 moved: as if no jump were seen)
        off_grid = cmp.compare("central", a, n, h, np.full(3, 1e-9), j0=0.1, **kw)
        assert off_grid.tolerance.tolist() == [1e-9] * 3  # J0 = 0.1 is no float16 number

    def test_bounds_on_a_scale_of_2(self) -> None:
        # beside a gradient of 2 (UNCERTAIN · scale = 0.2): t + t³ at h = 0.1 has
        # e = 0.01 and a reach of 0.11: ok; a tolerance of exactly 0.2 (reach 0.2) is ok
        fs = [_linear(2.0), lambda t: t + t**3]
        c, *_ = _compared("central", fs, np.array([2.0, 1.0]), np.full(2, 0.1))
        assert c.fd_error[1] == pytest.approx(0.01, rel=1e-9)
        assert c.reach[1] == pytest.approx(0.11, rel=1e-6)
        assert c.status.tolist() == ["ok", "ok"]
        fs = [_linear(2.0), _linear(1.0)]
        tol = np.array([1e-9, cmp.UNCERTAIN * 2.0])
        c, *_ = _compared("central", fs, np.array([2.0, 1.0]), self.H[:2], tol=tol)
        assert c.reach[1] == cmp.UNCERTAIN * 2.0
        assert c.status.tolist() == ["ok", "ok"]

    def test_an_exact_zero_whose_resolution_is_exactly_uncertain(self) -> None:
        # R = 2σ/h = 2 · 0.05 / 0.5 = 0.2 = UNCERTAIN · 2: it still proves enough
        h, sigma = np.full(2, 0.5), np.array([0.0, 0.05])
        fs = [_linear(2.0), _linear(0.0)]
        c, *_ = _compared("central", fs, np.array([2.0, 0.0]), h, sigma=sigma, shown=0.0)
        assert c.resolution[1] == cmp.UNCERTAIN * 2.0
        assert c.exact.tolist() == [False, True]
        assert c.status.tolist() == ["ok", "ok"]

    def test_an_entry_on_its_screen_examined_for_its_reach(self) -> None:
        # |a − D| = tol = 2⁻⁷ exactly, re-examined only as its worst-case reach (ν =
        # 0.01) is above 0.2: it passed the screen, so no estimated error is stated
        h = np.full(2, 2.0**-10)
        fs = [_linear(2.0), _linear(1 + 2.0**-7)]
        c, _, _, ex = _compared(
            "central",
            fs,
            np.array([2.0, 1.0]),
            h,
            tol=np.array([1e-9, 2.0**-7]),
            sigma=0.01 * h,
            shown=0.0,
        )
        assert ex.tolist() == [True, True]
        assert c.abs_error[1] == c.tolerance[1] == 2.0**-7
        assert c.fd_error.tolist() == [0.0, 0.0]
        assert c.status.tolist() == ["ok", "ok"]

    def test_a_fixed_tolerance_has_no_reach_rule(self) -> None:
        # ν = 4e-3 would re-examine these agreeing entries for their reach (worst case
        # 0.28 > 0.2); the fixed rule states no reach: none is re-examined
        h = self.H[:2]
        fs = [_linear(2.0), _linear(2.0)]
        c, _, _, ex = _compared("central", fs, np.array([2.0, 2.0]), h, sigma=4e-3 * h, fixed=True)
        assert ex.tolist() == [False, False]
        assert c.status.tolist() == ["ok", "ok"]
        assert c.fd_error.tolist() == [0.0, 0.0]

    def test_a_small_gradient_is_its_own_scale(self) -> None:
        # no floor given: the scale is max(|a|, |D|) = 0.25, not 1
        c, *_ = _compared("central", [_linear(0.25)], np.array([0.25]), self.H[:1])
        assert c.scale == pytest.approx(0.25, rel=1e-12)
        assert c.status.tolist() == ["ok"]

    def test_a_zero_entry_keeps_its_resolution_in_a_coarser_dtype(self) -> None:
        # float16 values shown (±2, ±1, ±0.5): an entry whose values are all exactly 0,
        # with a claim of 0, gets no round-off floor: its resolution is 2·SMALLEST/h
        s1 = np.array([[2.0, -2.0, 1.0, -1.0, 0.5, -0.5], [0.0] * 6])
        h, a = np.ones(2), np.array([2.0, 0.0])
        n = cmp.first_estimate("richardson", 0.0, s1, h)
        c = cmp.compare(
            "richardson",
            a,
            n,
            h,
            np.full(2, 1e-9),
            j0=0.0,
            sigma=0.0,
            fixed=False,
            stage1=s1,
            recheck=np.zeros((0, 0)),
        )
        assert c.exact.tolist() == [False, True]
        assert c.resolution[1] == 2 * SMALLEST

    def test_complex(self) -> None:
        # t + t³ at ih: Im/h = 1 − h²; at ih/2: 1 − h²/4: e = 3h²/4
        h = np.full(3, 1e-3)
        fs = [_linear(2.0), lambda t: t + t**3, lambda t: t + t**3]
        a = np.array([2.0, 1.0, 2.0])
        c, _, _, ex = _compared("complex", fs, a, h)
        assert ex.tolist() == [False, True, True]
        assert c.numeric == pytest.approx([2.0, 1 - 1e-6, 1 - 1e-6], rel=1e-9)
        assert c.fd_error == pytest.approx([0.0, 0.75e-6, 0.75e-6], rel=1e-6)
        assert c.status.tolist() == ["ok", "ok", "wrong"]
        assert c.reach == pytest.approx(
            [1e-9, 1e-9 + 1e-6 + cmp.SAFETY * 0.75e-6, 1e-9 + 1 + 1e-6 + cmp.SAFETY * 0.75e-6],
            rel=1e-6,
        )
        fixed, *_ = _compared("complex", fs, a, h, fixed=True)
        assert fixed.status.tolist() == ["ok", "wrong", "wrong"]

    @pytest.mark.parametrize(
        ("sigma", "status", "exact"), [(5e-5, "ok", True), (2e-4, "uncertain", False)]
    )
    def test_central_exact_zero_within_its_resolution(
        self, sigma: float, status: str, exact: bool
    ) -> None:
        # a constant entry with a zero claim beside a gradient of 2: examined as
        # hopeless (SAFETY·ν > UNCERTAIN · 2), it agrees exactly; its resolution
        # R = 2σ/h decides: 0.1 is within UNCERTAIN · 2, 0.4 is not
        h = np.full(2, 1e-3)
        sig = np.array([0.0, sigma])
        c, *_ = _compared(
            "central", [_linear(2.0), _linear(0.0)], np.array([2.0, 0.0]), h, sigma=sig
        )
        assert c.exact.tolist() == [False, exact]
        assert c.status.tolist() == ["ok", status]
        assert c.resolution[1] == pytest.approx(2 * sigma / 1e-3)
        assert c.reach[1] >= c.resolution[1]

    def test_forward_exact_zero_reads_every_difference(self) -> None:
        # a claim of 0 is an exact zero only where the forward difference D and the
        # central differences C(h) and C(h/2) are all 0. t² at 0: D = h, C(h) = C(h/2)
        # = 0; its zero claim is ok by e = h, and no exact zero
        h = np.full(3, 1e-3)
        fs = [_linear(1.0), lambda t: t * t, _linear(0.0)]
        c, _, _, ex = _compared("forward", fs, np.array([1.0, 0.0, 0.0]), h)
        assert ex.tolist() == [False, True, False]
        assert c.status.tolist() == ["ok"] * 3
        assert c.exact.tolist() == [False] * 3
        assert c.reach[1] == pytest.approx(1e-9 + 1e-3 + cmp.SAFETY * 1e-3)
        # all examined (hopeless beside a floor of 1e-9, D = 0), at h = 1:
        # t(t − 1)(t + ¼) has D = 0 and C(h/2) = 0 (f(±½) = −3/16), C(h) = ¾, its true
        # slope −¼; an odd bump t inside ¾ has C(h) = 0, C(h/2) = 1, its true slope
        # 1; 0·t has every difference 0, the only exact zero: the claims of 0 for the
        # other two are uncertain, not passed
        bump = lambda t: t if abs(t) < 0.75 else 0.0  # noqa: E731
        fs = [lambda t: t * (t - 1.0) * (t + 0.25), bump, _linear(0.0)]
        c, _, _, ex = _compared("forward", fs, np.zeros(3), np.ones(3), floor=1e-9)
        assert ex.tolist() == [True] * 3
        assert c.numeric.tolist() == [0.0] * 3
        assert c.exact.tolist() == [False, False, True]
        assert c.status.tolist() == ["uncertain", "uncertain", "ok"]
        assert c.resolution[2] == 2 * SMALLEST

    def test_the_re_examined_allowance_is_met_exactly(self) -> None:
        # t + t³ at h = ½ (dyadic values): D = C(h) = 5/4, C(h/2) = 17/16, R = 1, e = ¼;
        # a claim of 17/4 misses by 3 = tol + SAFETY·e exactly (tol ½): ok, on a floor
        # of 64 that leaves its reach (6) within UNCERTAIN (6.4)
        fs = [lambda t: t + t**3]
        tol = np.full(1, 0.5)
        c, _, _, ex = _compared(
            "central", fs, np.array([4.25]), np.full(1, 0.5), tol=tol, floor=64.0, shown=0.0
        )
        assert ex.tolist() == [True]
        assert c.fd_error.tolist() == [0.25] and c.abs_error.tolist() == [3.0]
        assert c.status.tolist() == ["ok"]
        assert c.reach.tolist() == [6.0]

    def test_the_complex_step_allowance_is_met_exactly(self) -> None:
        # t + t³ at h = ½ (dyadic values): Im J(ih)/h = 1 − h² = ¾, at h/2 15/16, so
        # e = 3/16; a claim of 11/4 misses by 2 = tol + SAFETY·e exactly (tol ⅛): ok, on
        # a floor of 64 that leaves its reach (4) within UNCERTAIN (6.4)
        fs = [lambda t: t + t**3]
        tol = np.full(1, 0.125)
        c, _, _, ex = _compared(
            "complex", fs, np.array([2.75]), np.full(1, 0.5), tol=tol, floor=64.0
        )
        assert ex.tolist() == [True]
        assert c.fd_error.tolist() == [0.1875] and c.abs_error.tolist() == [2.0]
        assert c.status.tolist() == ["ok"]
        assert c.reach.tolist() == [4.0]
        beyond, *_ = _compared(
            "complex", fs, np.array([2.875]), np.full(1, 0.5), tol=tol, floor=64.0
        )
        assert beyond.status.tolist() == ["wrong"]


class TestScreenFunctionsReadWhole:
    """``gradient_scale``, ``tolerance``, ``examined`` and ``exact_zero`` on hand-made
    entries, each bound met exactly (dyadic numbers: no rounding on either side)."""

    def test_gradient_scale(self) -> None:
        a, n = np.array([1.0, -3.0, 0.5]), np.array([np.inf, 2.0, -0.25])
        assert cmp.gradient_scale(a, n, 0.0) == 3.0  # the overflowed entry is left out
        assert cmp.gradient_scale(a, n, 4.0) == 4.0
        assert cmp.gradient_scale(np.array([np.nan]), np.array([np.inf]), 0.0) == 0.0
        assert cmp.gradient_scale(np.array([0.25]), np.array([-0.5]), 0.0) == 0.5

    def test_tolerance(self) -> None:
        a, n, h = np.array([0.25, -0.5]), np.array([-0.375, 0.25]), np.full(2, 0.5)
        kw: dict[str, Any] = dict(sigma=2.0**-10, rtol=2.0**-4, atol=None, fixed=False)
        # rtol · scale + rtol · max(|a|, |D|) + SCREEN_NOISE · NOISE_GAIN · σ / h
        got = cmp.tolerance("central", a, n, h, **kw)
        assert got.tolist() == [
            2.0**-4 * 0.5 + 2.0**-4 * 0.375 + 3 * 2.0**-9,
            2.0**-4 * 0.5 + 2.0**-4 * 0.5 + 3 * 2.0**-9,
        ]
        assert got.dtype == np.float64
        forward = cmp.tolerance("forward", a, n, h, **kw)
        assert forward.tolist() == pytest.approx((got + 3 * 2.0**-9).tolist(), rel=1e-15)
        fixed = cmp.tolerance("central", a, n, h, **{**kw, "fixed": True})
        assert fixed.tolist() == [2.0**-4 * 0.875, 2.0**-4 * 1.0]
        atol = cmp.tolerance("central", a, n, h, **{**kw, "atol": 0.125})
        assert atol.tolist() == [
            0.125 + 2.0**-4 * 0.375 + 3 * 2.0**-9,
            0.125 + 2.0**-5 + 3 * 2.0**-9,
        ]
        floored = cmp.tolerance("central", a, n, h, **{**kw, "fixed": True}, floor=2.0)
        assert floored.tolist() == [2.0**-4 * 2.375, 2.0**-4 * 2.5]

    def test_tolerance_is_float64_for_float32_entries(self) -> None:
        # a float32 claim under the fixed rule: the tolerance comes back as float64
        # (the report's and the JSON's numbers), whatever dtype the claim had
        a = np.array([0.1, 0.3], dtype=np.float32)
        got = cmp.tolerance("central", a, a, np.ones(2), sigma=0.0, rtol=1e-7, atol=0.0, fixed=True)
        assert got.dtype == np.float64
        assert got.tolist() == pytest.approx([1e-8, 3e-8], rel=1e-6)

    def test_the_screen_and_the_jump(self) -> None:
        # h = 0.5, J0 = 2: entry 0's jump (J(θ+h) − 2 J0 + J(θ−h)) / h is exactly
        # SCREEN · scale = 0.5 (not examined), entry 3's is 0.75; entry 1's mismatch
        # equals tol (not examined), entry 2's exceeds it
        a = np.array([4.0, 4.0, 4.0, 5.0])
        n = np.array([4.0, 4.5, 4.75, 5.0])
        tol = np.full(4, 0.5)
        h = np.full(4, 0.5)
        s1 = np.array([[2.125, 2.125], [2.0, 2.0], [2.0, 2.0], [2.25, 2.125]])
        for method in ("central", "richardson"):
            got = cmp.examined(method, a, n, tol, s1, 2.0, h)  # type: ignore[arg-type]
            assert got.tolist() == [False, False, True, True], method
        for method in ("forward", "complex"):
            got = cmp.examined(method, a, n, tol, s1, 2.0, h)  # type: ignore[arg-type]
            assert got.tolist() == [False, False, True, False], method
        # the scale is max(|a|, |D|), or the floor (default 0): a jump of 0.06 is above
        # SCREEN of a scale of 0.5, not of a floor of 1
        small = cmp.examined(
            "central",
            np.array([0.5]),
            np.array([0.5]),
            np.zeros(1),
            np.array([[0.03, 0.03]]),
            0.0,
            np.ones(1),
        )
        assert small.tolist() == [True]
        floored = cmp.examined(
            "central",
            np.array([0.5]),
            np.array([0.5]),
            np.zeros(1),
            np.array([[0.03, 0.03]]),
            0.0,
            np.ones(1),
            1.0,
        )
        assert floored.tolist() == [False]

    def test_the_reach_rule(self) -> None:
        # scale 2 (UNCERTAIN · scale = 0.2); worst = tol + m + SAFETY·(m + 7ν),
        # least = tol + m + SAFETY·ν: examined where worst > 0.2 unless least > 0.2,
        # then only a zero claim against a zero difference
        rows = [  # a, D, tol, ν, examined
            (2.0, 2.0, 0.0, 1e-4, False),  # worst 0.007
            (2.0, 2.0, 0.0, 4e-3, True),  # worst 0.28, least 0.04
            (2.0, 2.0, 0.0, 0.03, False),  # hopeless
            (0.0, 0.0, 0.0, 0.03, True),  # hopeless, but 0 against 0
            (0.0, 0.0, 0.2, 0.0, False),  # worst = least = 0.2 exactly
            (2.0, 2.0, 0.2, 0.0, False),
            (0.0, 0.01, 0.02, 0.03, False),  # hopeless, D ≠ 0
            (1.0, 0.0, 1.0, 0.03, False),  # hopeless, a ≠ 0
            (0.0, 1.0, 1.0, 0.03, False),
            (2.0, 1.0, 0.0, 0.0, True),  # the screen's
            (2.0, 1.99, 0.02, 0.08 / 70, True),  # worst 0.21 (0.19 without + m)
            (2.0, 1.875, 0.125, 1e-3, False),  # least 0.26: hopeless
        ]
        a, n, tol, nu, want = (np.array(c) for c in zip(*rows))
        h = np.ones(a.size)
        s1 = np.column_stack([n * h, -n * h])  # J0 = 0, no jump
        for method in ("central", "forward"):
            got = cmp.examined(method, a, n, tol, s1, 0.0, h, 0.0, nu)  # type: ignore[arg-type]
            assert got.tolist() == want.tolist(), method
        screen_only = [bool(r[1] != r[0] and abs(r[0] - r[1]) > r[2]) for r in rows]
        for method in ("complex", "richardson"):
            got = cmp.examined(method, a, n, tol, s1, 0.0, h, 0.0, nu)  # type: ignore[arg-type]
            assert got.tolist() == screen_only, method
        assert cmp.examined("central", a, n, tol, s1, 0.0, h, 0.0, None).tolist() == screen_only

    def test_exact_zero_bounds(self) -> None:
        least = cmp.EXACT_LEAST
        values = np.array([[-least, 0.0], [least / 2, 0.0], [-1.0, 2.0], [0.0, 0.0]])
        a = np.zeros(4)
        d = np.zeros(4)
        assert cmp.exact_zero(a, values, d).tolist() == [True, False, True, True]
        assert cmp.exact_zero(a, values).tolist() == [True, False, True, True]
        moved = np.array([0.0, 0.0, 1.0, 0.0])
        assert cmp.exact_zero(a, values, d, moved).tolist() == [True, False, False, True]
        got = cmp.exact_zero(a, values, moved, d)
        assert got.dtype == bool and got.tolist() == [True, False, False, True]


class TestReachIncludesTheEntrysOwnError:
    """Issue 11 §5 / benchmark "sharp features": a feature about as narrow as the step
    has a finite-difference error of 1e-4 … 1e-3 of its gradient. An error planted
    against that error's sign first cancels it, so the stated bound must include it."""

    X = np.array([0.011, -0.017, 0.008, 0.013, 2e-7])

    @pytest.mark.parametrize("w", [5e-7, 3e-7, 1e-6])
    @pytest.mark.parametrize("near", [-6e-7, 1.3e-6, 4e-6])
    def test_sharp_feature(self, w: float, near: float) -> None:
        x = self.X.copy()
        x[4] = near

        def cost(p: np.ndarray) -> float:
            return float(np.sum(np.log1p((p / w) ** 2)))

        _caught_everywhere(cost, x, 2 * x / (w**2 + x**2))

    @pytest.mark.parametrize("method", ["central", "forward", "richardson"])
    def test_sharp_feature_every_method(self, method: str) -> None:
        w, x = 5e-7, self.X.copy()
        x[4] = 1.3e-6

        def cost(p: np.ndarray) -> float:
            return float(np.sum(np.log1p((p / w) ** 2)))

        _caught_everywhere(cost, x, 2 * x / (w**2 + x**2), method=method)

    @pytest.mark.parametrize("method", ["central", "richardson"])
    def test_issue_reproducer_is_never_failed(self, method: str) -> None:
        """x[4] = 2e-7 at w = 5e-7: its finite difference is 1.3% off at the step. No
        retry may call that wrong. Central differences resolve it at smaller steps
        (``gradcheck._sharp``; inconclusive before), Richardson's higher order at its
        own step."""
        w, x = 5e-7, self.X

        def cost(p: np.ndarray) -> float:
            return float(np.sum(np.log1p((p / w) ** 2)))

        report = gradcheck.check(cost, x, 2 * x / (w**2 + x**2), method=method)
        assert report.status == "passed", str(report)
        if method == "central":
            assert any("judged at smaller steps" in m for m in report.messages)

    def test_the_reach_of_a_re_examined_entry_adds_its_mismatch(self) -> None:
        a, n, h = np.array([1.0, 2.0]), np.array([1.001, 2.0]), np.full(2, 1e-3)
        vals = np.array([[0.001001, -0.001001], [0.002, -0.002]])  # J(θ ± h), J0 = 0
        recheck = np.array([[0.0005, -0.0005]])
        tol = np.full(2, 1e-6)
        c = cmp.compare(
            "central", a, n, h, tol, j0=0.0, sigma=0.0, fixed=False, stage1=vals, recheck=recheck
        )
        assert c.fd_error[0] == pytest.approx(0.001 + 1 / 3 * 0.001)  # |D − R|, R = 0.99967
        assert c.reach[0] == pytest.approx(tol[0] + 0.001 + cmp.SAFETY * c.fd_error[0])
        fixed = cmp.compare(
            "central", a, n, h, tol, j0=0.0, sigma=0.0, fixed=True, stage1=vals, recheck=recheck
        )
        assert fixed.reach[0] == pytest.approx(tol[0] + 0.001)  # the fixed rule's own reach


class TestGivenScale:
    """``scale=`` (an entrywise Jacobian check computes it once per row, speed28): the
    same verdicts as computing it inside, and the given one is what the rules use."""

    def test_the_given_scale_gives_the_same_comparison(self) -> None:
        a, n, h = np.array([1.0, 2.0, 0.0]), np.array([1.001, 2.0, 1e-9]), np.full(3, 1e-3)
        vals = np.array([[0.001001, -0.001001], [0.002, -0.002], [1e-12, -1e-12]])
        tol = cmp.tolerance("central", a, n, h, sigma=1e-12, rtol=1e-7, atol=None, fixed=False)
        nu = cmp.noise_for("central", 1e-12, h, False)
        ex = cmp.examined("central", a, n, tol, vals, 0.0, h, 0.0, nu)
        scale = cmp.gradient_scale(a, n, 0.0)
        given = cmp.tolerance(
            "central", a, n, h, sigma=1e-12, rtol=1e-7, atol=None, fixed=False, scale=scale
        )
        assert np.array_equal(given, tol)
        assert np.array_equal(
            cmp.examined("central", a, n, tol, vals, 0.0, h, 0.0, nu, scale=scale), ex
        )
        recheck = np.zeros((int(ex.sum()), 2))
        kw: dict[str, Any] = dict(j0=0.0, sigma=1e-12, fixed=False, stage1=vals, recheck=recheck)
        inside = cmp.compare("central", a, n, h, tol, reexamined=ex, **kw)
        outside = cmp.compare("central", a, n, h, tol, reexamined=ex, scale=scale, **kw)
        assert inside.status.tolist() == outside.status.tolist()
        assert inside.scale == outside.scale == scale == 2.0
        assert np.array_equal(inside.reach, outside.reach)

    def test_the_given_scale_is_the_one_used(self) -> None:
        a, n, h = np.array([1.0, 2.0]), np.array([1.0, 2.0]), np.full(2, 1e-3)
        tol = cmp.tolerance(
            "central", a, n, h, sigma=0.0, rtol=1e-3, atol=None, fixed=True, scale=100.0
        )
        # rtol · scale + rtol · max(|a|, |D|): the scale given, not max = 2
        assert tol.tolist() == pytest.approx([1e-3 * 100 + 1e-3 * 1, 1e-3 * 100 + 1e-3 * 2])


class TestRetryPathBoundHolds:
    """Issue 16's shrunk reproducers: a parameter far below the scale its cost varies
    on is resolved by the retry at the classic step; the bound stated there must hold
    (central: the entry's own |a − D|; richardson: its table's spread, not |a − D|)."""

    @pytest.mark.parametrize(
        ("method", "b", "rate"),
        [
            ("central", 9.95002911e-310, 1e4),
            ("richardson", 9.95002911e-307, 10.0),
            ("central", 1e-200, 1e3),
            ("richardson", 0.0, 10.0),
            ("forward", 9.95002911e-310, 1e2),
            ("richardson", 1e-250, 30.0),
        ],
    )
    @pytest.mark.parametrize("sign", [1.0, -1.0])
    def test_error_of_1_1_times_the_bound_fails(
        self, method: str, b: float, rate: float, sign: float
    ) -> None:
        params = {"W": np.array(0.0), "b": np.array(b)}

        def cost(p: dict[str, np.ndarray]) -> float:
            return float(-2 * np.sin(p["W"]) - np.sin(rate * p["b"]))

        def grad(p: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            return {"W": -2 * np.cos(p["W"]), "b": -rate * np.cos(rate * p["b"])}

        g = grad(params)
        clean = gradcheck.check(cost, params, g, method=method)
        assert clean.status == "passed", str(clean)
        bound = clean.parameters["b"].detection_bound
        planted = dict(g, b=g["b"] + sign * 1.1 * bound * abs(float(g["b"])))
        report = gradcheck.check(cost, params, planted, method=method)
        assert report.status == "failed", f"bound {bound:g}\n{report}"
        assert report.failed_parameters == ["b"]


class TestDetectionBoundReference:
    @pytest.mark.parametrize("weight", [3.0, 10.0, 40.0])
    def test_a_settled_kink_does_not_shrink_the_bound(self, weight: float) -> None:
        """Benchmark "ReLU kinks" seed 17: a kink's finite difference (the averaged
        slopes, ``weight / 2``) is larger than every analytic entry; the bound was
        stated relative to it, and an error of 1.1× it at the largest entry passed."""
        x = np.array([0.0, 0.3, -0.2])

        def cost(p: np.ndarray) -> float:
            return float(weight * max(p[0], 0.0) + 0.5 * np.sum(np.sin(p[1:])))

        def grad(p: np.ndarray) -> np.ndarray:
            return np.array([weight * float(p[0] > 0), *(0.5 * np.cos(p[1:]))])

        clean = gradcheck.check(cost, x, grad)
        assert clean.status == "passed", str(clean)
        bound = clean.parameters["x"].detection_bound
        g = grad(x)
        for sign in (1.0, -1.0):
            planted = _plant(g, 1, sign * 1.1 * bound * float(np.max(np.abs(g))))
            report = gradcheck.check(cost, x, lambda p, e=planted - g: grad(p) + e)
            assert report.status == "failed", f"bound {bound:g}\n{report}"
            assert report.worst[0].index == (1,)

    def test_a_kink_left_unsettled_states_no_bound(self) -> None:
        x = np.array([0.0, 0.3, -0.2])
        g = np.array([0.0, *(0.5 * np.cos(x[1:]))])
        report = gradcheck.check(
            lambda p: float(3.0 * max(p[0], 0.0) + 0.5 * np.sum(np.sin(p[1:]))), x, g
        )
        assert report.status == "passed", str(report)
        assert report.parameters["x"].nonsmooth == 1
        assert report.parameters["x"].detection_bound == np.inf


class TestRetryNeverTurnsAliasingIntoWrong:
    """Issue 16's float32 forward example: ``−sin(rate·b)`` at ``b`` ≈ 1e-6 is noise-
    limited at the first step and tried again at the classic step, 3.5e-4, hundreds of
    the sine's periods: the aliased estimate (with a small Richardson spread) was taken
    as ``wrong``, as it lay within the first estimate's *reach*. A retry's ``wrong`` now
    needs the first estimate's own error allowance ``tol + SAFETY·e`` and a step between
    the two that agrees; that step also settles what the retry could not."""

    CASES = (  # rate, b, the expected status of b with a correct gradient; those
        # that passed with bounds of 0.2 to 1.6 are inconclusive (their reach is above
        # UNCERTAIN: TestAPassStatesABoundItKeeps)
        (2e5, 1e-6, "inconclusive"),
        (2e5, 3e-7, "passed"),
        (5e5, 1e-6, "inconclusive"),
        (5e5, 3e-7, "inconclusive"),
        (1e6, 3e-7, "inconclusive"),
        (3e6, 3e-7, "inconclusive"),
    )

    @staticmethod
    def _problem(rate: float, b: float) -> tuple[Any, dict[str, np.ndarray], Any]:
        x = np.random.default_rng(int(rate * b * 1e3)).uniform(-1.5, 1.5, 40).astype(np.float32)
        params = {"b": np.array(b, dtype=np.float32), "x": x}

        def cost(p: dict[str, np.ndarray]) -> float:
            inner = float(-np.sin(np.float32(rate) * p["b"]))
            return inner + float(np.sum(np.float32(-10) * np.sin(p["x"])))

        g = {
            "b": np.array(-rate * np.cos(rate * float(np.float32(b))), dtype=np.float32),
            "x": (-10 * np.cos(x.astype(np.float64))).astype(np.float32),
        }
        return cost, params, g

    @pytest.mark.parametrize(("rate", "b", "expected"), CASES)
    def test_correct_float32_forward_is_not_failed(
        self, rate: float, b: float, expected: str
    ) -> None:
        cost, params, g = self._problem(rate, b)
        report = gradcheck.check(cost, params, g, method="forward")
        assert report.parameters["b"].status == expected, str(report)
        assert report.status == expected, str(report)
        if expected == "inconclusive":
            assert any(
                m.startswith("b: ") and "could not be resolved" in m for m in report.messages
            ), str(report)

    @pytest.mark.parametrize(("rate", "b", "expected"), CASES)
    def test_a_sign_flip_is_never_passed(self, rate: float, b: float, expected: str) -> None:
        cost, params, g = self._problem(rate, b)
        report = gradcheck.check(cost, params, dict(g, b=-g["b"]), method="forward")
        assert report.parameters["b"].status == "failed", str(report)
        assert report.worst[0].parameter == "b"


class TestUnresponsiveEntryInLowPrecision:
    """An error planted where the cost returns exactly ``J0`` at every step (issue 16:
    float32, ``method="forward"``) is ``uncertain``, not ``wrong``, by design (module
    doc, rule 5): in float32 ``(1e4 + f) − 1e4`` loses every change of ``f`` below 1e-3
    inside the cost, and the cost's output cannot tell that from a parameter it does not
    use. The check is inconclusive and says why, never passed; in float64 it fails."""

    @pytest.mark.parametrize("dtype", ["float32", "float64"])
    def test_planted_error_at_a_flat_entry(self, dtype: str) -> None:
        x = np.array([1.0, -0.7, 0.0], dtype=dtype)
        g = (2 * x).astype(dtype)

        def cost(p: np.ndarray) -> Any:
            return np.sum(p * p)

        clean = gradcheck.check(cost, x, g, method="forward")
        assert clean.status == "passed", str(clean)
        planted = g.copy()
        planted[2] += 1.1 * clean.parameters["x"].detection_bound * 2
        report = gradcheck.check(cost, x, planted, method="forward")
        assert report.worst[0].index == (2,)
        if dtype == "float32":
            assert report.status == "inconclusive", str(report)
            assert report.worst[0].status == "uncertain"
            assert any("exactly the same value at every step" in m for m in report.messages)
        else:
            assert report.status == "failed", str(report)


def _float32_layer(seed: int, m: int, n: int) -> tuple[Any, Any, Any]:
    """A float32 layer inside float64 input and output (F2), and its exact Jacobian."""
    rng = np.random.default_rng(seed)
    a32 = rng.standard_normal((m, n)).astype(np.float32)
    x = rng.standard_normal(n)
    return (lambda p: (a32 @ p.astype(np.float32)).astype(np.float64)), x, a32.astype(float)


class TestValuesOfACoarserDtypeInAJacobian:
    """F2: check_jacobian of a float32 computation with float64 input and output judged
    its entries with float64's noise; steps rounded away in float32 read as wrong."""

    @pytest.mark.parametrize(("m", "n"), [(50, 40), (3, 4), (10, 200)])
    @pytest.mark.parametrize("seed", [0, 1, 2])
    def test_the_exact_jacobian_never_fails(self, m: int, n: int, seed: int) -> None:
        f, x, jac = _float32_layer(seed, m, n)
        report = gradcheck.check_jacobian(f, x, jac)
        assert report.status in ("passed", "inconclusive"), str(report)

    def test_a_saturated_output_is_judged_by_its_neighbours_values(self) -> None:
        rng = np.random.default_rng(1)
        a32 = rng.standard_normal((50, 40)).astype(np.float32)
        x = rng.standard_normal(40)

        def f(p: Any) -> Any:
            return np.tanh(a32 @ p.astype(np.float32) / 5).astype(np.float64)

        def jac(p: Any) -> Any:
            t = np.tanh(a32.astype(float) @ p / 5)
            return (1 - t**2)[:, None] * a32.astype(float) / 5

        assert gradcheck.check_jacobian(f, x, jac).status in ("passed", "inconclusive")
        assert gradcheck.check_jacobian(f, x, lambda p: 1.5 * jac(p)).status == "failed"

    @pytest.mark.parametrize("factor", [1.5, -1.0])
    @pytest.mark.parametrize(("m", "n"), [(50, 40), (3, 4)])
    def test_wrong_jacobians_fail(self, factor: float, m: int, n: int) -> None:
        f, x, jac = _float32_layer(0, m, n)
        assert gradcheck.check_jacobian(f, x, factor * jac).status == "failed"

    def test_a_float64_layer_keeps_float64_sensitivity(self) -> None:
        rng = np.random.default_rng(0)
        a = rng.standard_normal((6, 5))
        x = rng.standard_normal(5)
        wrong = a.copy()
        wrong[2, 3] *= 1 + 1e-5
        assert gradcheck.check_jacobian(lambda p: a @ p, x, a).status == "passed"
        assert gradcheck.check_jacobian(lambda p: a @ p, x, wrong).status == "failed"


class TestAPassStatesABoundItKeeps:
    """attack20 A9, attack21 A9/B3: an entry passed on the screen's ``3ν`` while its
    reach, the worst error it could hide, was 2.5 times the gradient (a 5% error passed),
    and later 0.5 times it under ``BLIND = 2``. An ``ok`` entry whose reach exceeds
    :data:`UNCERTAIN` is ``uncertain`` (numerics.md: "the check does not pass with a
    bound it cannot keep"); an entry whose worst-case reach exceeds it, but whose reach
    with ``e`` measured might not, is re-examined to measure ``e``."""

    @staticmethod
    def _screened(mismatch: float, nu: float, recheck: bool = False) -> cmp.Comparison:
        a = np.array([1.0, 1.0])
        numeric = a + np.array([mismatch, 0.0])
        h = np.full(2, 1e-3)
        sigma = nu * 1e-3
        tol = cmp.tolerance(
            "central", a, numeric, h, sigma=sigma, rtol=1e-7, atol=None, fixed=False
        )
        stage1 = np.stack([5.0 + numeric * h, 5.0 - numeric * h], axis=1)
        chosen = cmp.noise_for("central", sigma, h, False)
        ex = cmp.examined("central", a, numeric, tol, stage1, 5.0, h, 0.0, chosen)
        assert bool(np.any(ex)) == recheck
        rows = np.stack([5.0 + numeric * h / 2, 5.0 - numeric * h / 2], axis=1)[ex]
        return cmp.compare(
            "central",
            a,
            numeric,
            h,
            tol,
            j0=5.0,
            sigma=sigma,
            fixed=False,
            stage1=stage1,
            recheck=rows,
        )

    def test_a_reach_beyond_uncertain_is_uncertain(self) -> None:
        c = self._screened(0.05, 0.026)  # 3ν = 0.078: within the screen
        assert c.abs_error[0] <= c.tolerance[0] < cmp.UNCERTAIN * c.scale
        assert c.reach[0] > cmp.UNCERTAIN * c.scale
        assert c.status.tolist() == ["uncertain", "uncertain"]

    def test_a_worst_case_reach_is_measured_before_it_decides(self) -> None:
        # ν = 2e-3: the worst case 3ν + SAFETY·7ν = 0.146 is above 10%, the least
        # (e = ν) 0.026 is not: both entries are re-examined, and with e measured
        # (the values are exactly linear: D − R = 0) the reach is 3ν + SAFETY·ν
        c = self._screened(0.0, 2e-3, recheck=True)
        assert c.status.tolist() == ["ok", "ok"]
        assert c.reach == pytest.approx([0.026, 0.026], rel=1e-4)  # + rtol terms
        assert c.detection_bound == pytest.approx(0.026, rel=1e-4)

    def test_without_noise_no_entry_is_examined_for_its_reach(self) -> None:
        a, h = np.ones(2), np.full(2, 1e-3)
        stage1 = np.stack([5.0 + a * h, 5.0 - a * h], axis=1)
        tol = np.full(2, 1e-3)
        assert not np.any(cmp.examined("central", a, a, tol, stage1, 5.0, h))
        assert cmp.noise_for("central", 1.0, h, True) is None

    def test_a_quiet_cost_is_unaffected(self) -> None:
        c = self._screened(1e-9, 1e-9)
        assert c.status.tolist() == ["ok", "ok"]

    def test_the_attack_case_in_float32_is_not_passed(self) -> None:
        # 1e4 + Σ sin x in float32: σ ≈ 1e-3; the 5% error passed with a bound of 2.7
        x = np.random.default_rng(0).standard_normal(5).astype(np.float32)
        g = np.cos(x.astype(np.float64)).astype(np.float32)
        g[0] *= np.float32(1.05)
        report = gradcheck.check(
            lambda p: (np.float32(1e4) + np.sum(np.sin(p))).astype(np.float32), x, g
        )
        assert report.status != "passed", str(report)


class TestAZeroClaimAgainstASubnormalCost:
    """attack20 A2: ``Σθ²`` at θ = 1e-160·(1, 2, 3) is 1.4e-319, subnormal but moving.
    A claim of 0 passed there (no round-off floor for a zero claim) while the correct
    claim was inconclusive; the floor ``u · tiny`` now applies to a zero claim too
    wherever the values are not all exactly 0."""

    TINY = float(np.finfo(np.float64).tiny)

    def test_moving_subnormal_values_floor_a_zero_claim(self) -> None:
        vals = np.array([[1.4e-319, 1.5e-319], [0.0, 0.0]])
        got = cmp.value_noise(0.0, 1e-3, 0.0, vals, np.zeros(2))
        assert got.tolist() == [1e-3 * self.TINY, 0.0]
        got = cmp.value_noise(0.0, 1e-3, 1.4e-319, np.zeros((1, 2)), np.zeros(1))
        assert got.tolist() == [1e-3 * self.TINY]

    @pytest.mark.parametrize("scale", [1e-160, 1e-162])
    @pytest.mark.parametrize("method", ["central", "forward"])
    def test_the_zero_claim_is_inconclusive_like_the_correct_one(
        self, scale: float, method: str
    ) -> None:
        x = np.array([1.0, 2.0, 3.0]) * scale
        for claim in (np.zeros(3), 2 * x, 20 * x):
            report = gradcheck.check(lambda p: float(np.sum(p * p)), x, claim, method=method)
            assert report.status == "inconclusive", str(report)
            assert any("subnormal" in m and "underflow" in m for m in report.messages)
            assert not any("float16" in m for m in report.messages), str(report)

    @pytest.mark.parametrize("scale", [1e-155, 1e-157, 1e-158, 1e-160, 1e-162])
    @pytest.mark.parametrize("method", ["central", "forward", "richardson"])
    def test_no_claim_is_passed_wrongly_or_failed_wrongly(self, scale: float, method: str) -> None:
        # where the subnormal cost still moves enough (1e-155: 1.4e-309), the zero and
        # the 10x claims fail and the correct one passes; below, nothing is passed but
        # the correct claim, and the correct claim never fails
        x = np.array([1.0, -2.0, 3.0]) * scale
        cost = lambda p: float(np.sum(p * p))  # noqa: E731
        assert gradcheck.check(cost, x, 2 * x, method=method).status != "failed"
        for wrong in (np.zeros(3), 20 * x):
            report = gradcheck.check(cost, x, wrong, method=method)
            assert report.status != "passed", str(report)


_PIECEWISE_CONSTANT = {
    "sign": lambda p: float(np.sum(np.sign(p))),
    "floor": lambda p: float(np.sum(np.floor(3 * p))),
    "round": lambda p: 2.5 + float(np.sum(np.round(p + 0.5))),
    "argmax": lambda p: float(np.argmax(p)),
}


class TestExactZero:
    """core23: ``check(lambda p: np.sum(np.sign(p)), x, lambda p: 0 * p)`` was
    inconclusive in full mode and passed in the directional one. A claim of exactly 0
    against differences of exactly 0 at ``h`` and ``h/2`` agrees to the last bit: it
    passes in both modes, on any gradient scale (here the whole gradient is 0)."""

    @pytest.mark.parametrize("name", sorted(_PIECEWISE_CONSTANT))
    @pytest.mark.parametrize("seed", [0, 1, 2])
    @pytest.mark.parametrize("n", [1, 7, 60])
    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    def test_a_zero_gradient_of_a_piecewise_constant_cost_passes_in_both_modes(
        self, name: str, seed: int, n: int, dtype: Any
    ) -> None:
        # m + 0.5 ± 0.1 for m of both signs: no entry within a step of a jump
        shift = np.random.default_rng(seed).uniform(-0.1, 0.1, n)
        x = (np.arange(n) - n // 2 + 0.5 + shift).astype(dtype)
        cost = _PIECEWISE_CONSTANT[name]
        for mode in ("full", "directional"):
            report = gradcheck.check(cost, x, lambda p: 0 * p, mode=mode)
            assert report.status == "passed", f"{mode}\n{report}"

    @pytest.mark.parametrize("method", ["central", "richardson"])
    @pytest.mark.parametrize("scale", [1.0, 1e-3, 1e4])
    def test_an_even_cost_at_its_stationary_point_passes_in_both_modes(
        self, method: str, scale: float
    ) -> None:
        # Σθ² at 0: J(θ + h) = J(θ − h) exactly, so every central difference is 0
        x = np.zeros(5)
        cost = lambda p: scale * float(np.sum(p * p))  # noqa: E731
        for mode in ("full", "directional"):
            report = gradcheck.check(cost, x, np.zeros(5), mode=mode, method=method)
            assert report.status == "passed", f"{mode}\n{report}"

    def test_forward_differences_are_not_exact_at_a_stationary_point(self) -> None:
        # (J(h) − J(0))/h = h for Σθ² at 0: no exact zero; the zero scale decides
        report = gradcheck.check(lambda p: float(np.sum(p * p)), np.zeros(5), np.zeros(5))
        assert report.status == "passed"
        report = gradcheck.check(
            lambda p: float(np.sum(p * p)), np.zeros(5), np.zeros(5), method="forward"
        )
        assert report.status == "inconclusive", str(report)

    @pytest.mark.parametrize("claim", [1e-9, -1e-3, 1.0])
    @pytest.mark.parametrize("mode", ["full", "directional"])
    def test_a_non_zero_claim_against_a_piecewise_constant_cost_fails(
        self, claim: float, mode: str
    ) -> None:
        x = np.random.default_rng(4).uniform(0.1, 0.9, 6) + np.arange(6)
        g = np.zeros(6)
        g[3] = claim
        report = gradcheck.check(_PIECEWISE_CONSTANT["sign"], x, g, mode=mode)
        assert report.status == "failed", str(report)

    @pytest.mark.parametrize("mode", ["full", "directional"])
    def test_a_zero_claim_against_a_moving_cost_is_not_passed(self, mode: str) -> None:
        x = np.random.default_rng(5).standard_normal(6)
        cost = lambda p: float(np.sum(np.sign(p)) + 1e-6 * np.sum(p))  # noqa: E731
        report = gradcheck.check(cost, x, np.zeros(6), mode=mode)
        assert report.status == "failed", str(report)

    def test_an_entry_at_a_jump_is_no_exact_zero(self) -> None:
        # sign at 0 jumps by 2 within the step: a kink's entry, never an exact pass
        x = np.array([0.5, 0.0, -0.3])
        for mode in ("full", "directional"):
            report = gradcheck.check(_PIECEWISE_CONSTANT["sign"], x, np.zeros(3), mode=mode)
            assert report.status == "inconclusive", f"{mode}\n{report}"

    def test_the_rule_reads_the_claim_every_difference_and_the_values(self) -> None:
        tiny = float(np.finfo(np.float32).tiny)
        values = np.array([[1.0, 1.0], [0.0, 0.0], [1.0, 1.0], [1.0, 1.0], [tiny / 4, 0.0]])
        a = np.array([0.0, 0.0, 1e-300, 0.0, 0.0])
        d1 = np.array([0.0, 0.0, 0.0, 0.0, 0.0])
        d2 = np.array([0.0, 0.0, 0.0, 5e-324, 0.0])
        got = cmp.exact_zero(a, values, d1, d2)
        assert got.tolist() == [True, True, False, False, False]

    def test_a_retry_keeps_an_exact_zero(self) -> None:
        # an exact zero among entries on a zero scale: the retry's rescale leaves it ok
        n = 2
        c = cmp.Comparison(
            np.zeros(n),
            np.zeros(n),
            np.zeros(n),
            np.zeros(n),
            np.array(["ok", "ok"], dtype=object),
            np.array([1e-9, 1e-9]),
            np.zeros(n, dtype=bool),
            0.0,
            exact=np.array([True, False]),
        )
        from gradcheck._retry import _rescale

        _rescale(c, np.zeros(n), fixed=False)
        assert c.status.tolist() == ["ok", "uncertain"]
