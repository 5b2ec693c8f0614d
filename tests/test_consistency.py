"""``gradcheck._consistency``: two forms of one Jacobian compared exactly."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest

from gradcheck import check_jacobian
from gradcheck._consistency import (
    PAIRS,
    Consistency,
    LinearMap,
    Magnitudes,
    _product_norm,
    _terms,
    agreement,
    consistency,
    linearity,
)
from gradcheck._linear import Forms
from gradcheck._norms import norm2
from gradcheck._numerics import CONSISTENCY_ROUNDOFFS, CONSISTENCY_RTOL
from gradcheck._tolerances import unit_roundoff
from test_linear import layout, linear_forms

Array = np.ndarray[Any, Any]


class TestConsistency:
    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    @pytest.mark.parametrize("shape", [(1, 1), (7, 3), (300, 400), (2000, 50)])
    @pytest.mark.parametrize("seed", range(4))
    def test_right_forms_agree(self, dtype: Any, shape: tuple[int, int], seed: int) -> None:
        rng = np.random.default_rng(seed)
        J = rng.standard_normal(shape) * 10.0 ** rng.uniform(-5, 5)
        results = consistency(linear_forms(J, dtype, jacobian=J.astype(dtype)), seed)
        assert len(results) == 3 and not any(c.wrong for c in results)

    @pytest.mark.parametrize("seed", range(4))
    def test_a_small_error_in_one_form_is_caught_in_float64(self, seed: int) -> None:
        J = np.random.default_rng(seed).standard_normal((50, 40))
        bad = J.copy()
        bad[3] *= 1 + 1e-2  # one output's forward rule off by 1%
        forms = linear_forms(J, jvp=lambda p, v: bad @ v)
        (c,) = consistency(forms, seed)
        assert c.forms == ("jvp", "vjp") and c.wrong
        assert "jvp and vjp disagree" in c.text()

    @pytest.mark.parametrize("big", [1e12, 1e100])
    def test_outputs_twelve_decades_apart_do_not_loosen_the_allowance(self, big: float) -> None:
        # /tmp/scale/mixed.py: outputs of 1 beside outputs of ``big``, the small part's
        # jvp sign-flipped; u weighs each output by its own scale (as the projections
        # do). ‖u‖‖Jv‖ paired u's large small-output entries with Jv's large big-output
        # entries: an allowance 1e8 times uᵀJv, and the pair "agreed"
        n = 30
        z = np.random.default_rng(0).standard_normal(n)
        d = np.concatenate([np.cos(z), big * np.cos(z)])
        J = np.vstack([np.diag(d[:n]), np.diag(d[n:])])
        flipped = J.copy()
        flipped[:n] *= -1
        w = np.concatenate([np.ones(n), np.full(n, 1 / big)])
        rng = np.random.default_rng(1)
        u, v = w * rng.standard_normal(2 * n), rng.standard_normal(n)
        maps = [
            LinearMap("jvp", lambda x: flipped @ x, False),
            LinearMap("vjp", lambda y: y @ J, True),
        ]
        (c,) = agreement(maps, n, 2 * n, unit_roundoff(np.float64), 0, vectors=[(u, v)])
        assert c.wrong, c.text()
        right = [maps[1], LinearMap("jvp", lambda x: J @ x, False)]
        (ok,) = agreement(right, n, 2 * n, unit_roundoff(np.float64), 0, vectors=[(u, v)])
        assert not ok.wrong, ok.text()

    @pytest.mark.parametrize("scale", [1.5e308, 1e300, 1e-300])
    def test_forms_near_the_float64_range_are_compared_without_overflow(self, scale: float) -> None:
        # a vjp of 1.5e308: uᵀJv = −inf by both forms, inf − inf = NaN, and a correct
        # pair failed; a warning under filterwarnings = error is a failure too
        J = scale * np.diag([0.5, -0.25, 0.125, 0.75])
        maps = [
            LinearMap("jvp", lambda x: J @ x, False),
            LinearMap("vjp", lambda y: J.T @ y, True),
        ]
        rng = np.random.default_rng(2)  # |u|, |v| ≤ 1: every entry of Jv, uᵀJ is finite
        pairs = [(rng.uniform(-1, 1, 4), rng.uniform(-1, 1, 4)) for _ in range(3)]
        pairs.append((np.ones(4), np.array([1.0, -1.0, 1.0, 1.0])))  # uᵀJv = 1.6·scale
        u64 = unit_roundoff(np.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            (c,) = agreement(maps, 4, 4, u64, 0, vectors=pairs)
            assert not c.wrong, c.text()
            bad = [maps[0], LinearMap("vjp", lambda y: -(J.T @ y), True)]
            (b,) = agreement(bad, 4, 4, u64, 0, vectors=pairs)
            assert b.wrong, b.text()
            c.text()

    def test_tolerance_is_the_documented_rule(self) -> None:
        J = np.random.default_rng(3).standard_normal((30, 20))
        (c,) = consistency(linear_forms(J), 0)
        rng = np.random.default_rng([0, 13])
        us = [rng.standard_normal(30) for _ in range(PAIRS)]
        vs = [rng.standard_normal(20) for _ in range(PAIRS)]
        for t, u, v in zip(c.tolerance, us, vs):
            # the sums of absolute products behind each side (core22), not ‖u‖‖Jv‖ + …
            scale = np.abs(u) @ np.abs(J @ v) + np.abs(u @ J) @ np.abs(v)
            rule = (
                CONSISTENCY_ROUNDOFFS * np.sqrt(50) * unit_roundoff(np.float64) + CONSISTENCY_RTOL
            ) * scale
            assert t == pytest.approx(rule, rel=1e-9)

    @pytest.mark.parametrize("cond", [1e2, 1e6, 1e8, 1e10])
    def test_an_ill_conditioned_solve_agrees(self, cond: float) -> None:
        # an implicit layer x = K⁻¹ p: backward-stable solves are accurate to cond·u
        rng = np.random.default_rng(7)
        q1, _ = np.linalg.qr(rng.standard_normal((20, 20)))
        q2, _ = np.linalg.qr(rng.standard_normal((20, 20)))
        K = q1 @ np.diag(np.logspace(0, -np.log10(cond), 20)) @ q2
        forms = linear_forms(
            np.linalg.inv(K),
            jvp=lambda p, v: np.linalg.solve(K, v),
            vjp=lambda p, u: np.linalg.solve(K.T, u),
            jacobian=np.linalg.inv(K),
        )
        assert not any(c.wrong for c in consistency(forms, 0))

    @pytest.mark.parametrize("factor", [-1.0, 2.0, 1.01])
    @pytest.mark.parametrize("shape", [(3, 2), (200, 300)])
    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    def test_factor_and_sign_errors_fail(
        self, factor: float, shape: tuple[int, int], dtype: Any
    ) -> None:
        J = np.random.default_rng(4).standard_normal(shape)
        Jd = J.astype(dtype)
        forms = linear_forms(J, dtype, jvp=lambda p, v: (factor * Jd @ v).astype(dtype))
        (c,) = consistency(forms, 1)
        assert c.wrong
        shown = c.text().split("uᵀJv = ")[1].split(" by ")
        assert shown[0] != shown[1].split(", ")[1]  # the two values print differently

    def test_float32_internals_of_float64_forms_agree(self) -> None:
        J = np.random.default_rng(1).standard_normal((50, 40))
        J32 = J.astype(np.float32)
        forms = linear_forms(
            J,
            vjp=lambda p, u: (u.astype(np.float32) @ J32).astype(np.float64),
            jacobian=J32.astype(np.float64),
        )
        assert not any(c.wrong for c in consistency(forms, 0))

    def test_huge_values_do_not_overflow(self) -> None:
        J = 1e200 * np.random.default_rng(2).standard_normal((4, 3))
        assert not any(c.wrong for c in consistency(linear_forms(J, jacobian=J), 0))

    def test_one_form_has_nothing_to_compare(self) -> None:
        forms = Forms(layout(np.zeros(2), np.zeros(2)), [np.zeros(2)], np.eye(2))
        assert consistency(forms, 0) == []


def test_agreement_of_raw_maps_and_nan() -> None:
    J = np.arange(6.0).reshape(2, 3)
    right = [LinearMap("fwd", lambda v: J @ v, False), LinearMap("rev", lambda u: u @ J, True)]
    assert not agreement(right, 3, 2, unit_roundoff(np.float64), 0)[0].wrong
    nan = [right[0], LinearMap("rev", lambda u: np.full(3, math.nan), True)]
    (c,) = agreement(nan, 3, 2, unit_roundoff(np.float64), 0)
    assert c.wrong and c.forms == ("fwd", "rev")


class TestLinearity:
    """A jvp/vjp on random tangents against the matrix it built on basis vectors."""

    @staticmethod
    def matrices(forms: Forms) -> dict[str, Array]:
        return {f: forms.matrix(f) for f in ("jvp", "vjp")}

    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    @pytest.mark.parametrize("shape", [(1, 1), (7, 3), (40, 60)])
    @pytest.mark.parametrize("seed", range(3))
    def test_linear_forms_pass(self, dtype: Any, shape: tuple[int, int], seed: int) -> None:
        rng = np.random.default_rng(seed)
        J = rng.standard_normal(shape) * 10.0 ** rng.uniform(-5, 5)
        forms = linear_forms(J, dtype)
        results = linearity(forms, self.matrices(forms), seed)
        assert len(results) == 2 and not any(c.wrong for c in results)

    def test_float32_internals_of_a_float64_form_pass(self) -> None:
        J = np.random.default_rng(5).standard_normal((50, 40))
        J32 = J.astype(np.float32)
        forms = linear_forms(J, vjp=lambda p, u: (u.astype(np.float32) @ J32).astype(float))
        assert not any(c.wrong for c in linearity(forms, self.matrices(forms), 0))

    @pytest.mark.parametrize(
        "bad",
        [
            {"jvp": lambda J: lambda p, v: J @ np.abs(v)},
            {"vjp": lambda J: lambda p, u: np.abs(u) @ J},
            {"jvp": lambda J: lambda p, v: (J @ v) * np.linalg.norm(v)},
            {"vjp": lambda J: lambda p, u: (u @ J) * (1 + 1e-3 * np.sum(u))},
        ],
    )
    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    def test_nonlinear_forms_are_caught(self, bad: dict[str, Any], dtype: Any) -> None:
        J = np.random.default_rng(2).standard_normal((6, 4)).astype(dtype)
        ((name, make),) = bad.items()
        forms = linear_forms(J, dtype, **{name: make(J)})
        results = {c.forms: c for c in linearity(forms, self.matrices(forms), 1)}
        assert results[(name, f"{name} on basis vectors")].wrong
        other = "vjp" if name == "jvp" else "jvp"
        assert not results[(other, f"{other} on basis vectors")].wrong


def _saturated_softmax(seed: int, n: int = 300, m: int = 100) -> tuple[Any, Any, Any, Array]:
    """``logsumexp(A x)`` with ``1 − max p`` below 1e-13 at ``x0``: its cost, gradient,
    textbook hvp ``Aᵀ(p⊙Av − p(pᵀAv))`` (values that are rounding noise) and ``x0``."""
    r = np.random.default_rng(seed)
    A = 5.0 * r.standard_normal((m, n))
    x0 = r.standard_normal(n)

    def p_of(x: Array) -> Array:
        z = A @ x
        p = np.exp(z - z.max())
        return p / p.sum()

    def cost(x: Array) -> float:
        z = A @ x
        return float(z.max() + np.log(np.sum(np.exp(z - z.max()))))

    def hvp(x: Array, v: Array) -> Array:
        p, av = p_of(x), A @ v
        return A.T @ (p * av - p * (p @ av))

    return cost, lambda x: A.T @ p_of(x), hvp, x0


class TestLinearityOfRoundingNoise:
    """A right form whose values are its rounding (a saturated softmax's hvp) against
    its basis matrix: inconclusive where the finite differences could not resolve it,
    never failed; forms that are not linear stay failed (attack35 H142's full-mode twin).
    """

    @staticmethod
    def noisy_forms(**kw: Any) -> Forms:
        _, _, hvp, x0 = _saturated_softmax(2)
        return linear_forms(np.zeros((300, 300)), jvp=lambda p, v: hvp(x0, v), **kw)

    def test_noise_is_uncertain_only_where_unresolved(self) -> None:
        forms = self.noisy_forms()
        mats = {"jvp": forms.matrix("jvp")}
        (judged,) = linearity(forms, mats, 1, frozenset({"jvp"}))
        assert judged.wrong and judged.uncertain
        assert "could not resolve" in judged.text() and judged.text().endswith("inconclusive")
        (plain,) = linearity(forms, mats, 1)
        assert plain.wrong and not plain.uncertain

    @pytest.mark.parametrize(
        "bad",
        [
            lambda h: lambda v: h(np.abs(v)),
            lambda h: lambda v: h(v) * np.linalg.norm(v),
            lambda h: lambda v: h(np.maximum(v, 0.0)),
            lambda h: lambda v: h(v) / np.linalg.norm(v),
        ],
    )
    def test_forms_not_linear_stay_failed_where_unresolved(self, bad: Any) -> None:
        _, _, hvp, x0 = _saturated_softmax(2)
        rule = bad(lambda v: hvp(x0, v))
        forms = linear_forms(np.zeros((300, 300)), jvp=lambda p, v: rule(v))
        (judged,) = linearity(forms, {"jvp": forms.matrix("jvp")}, 1, frozenset({"jvp"}))
        assert judged.wrong and not judged.uncertain

    @pytest.mark.parametrize("seed", [2, 3, 8])
    def test_check_hessian_of_a_saturated_softmax(self, seed: int) -> None:
        from gradcheck import check_hessian

        cost, grad, hvp, x0 = _saturated_softmax(seed)
        rep = check_hessian(cost, x0, grad, hvp=hvp, seed=seed)
        row = rep.parameters["consistency: hvp vs hvp on basis vectors"]
        assert (rep.status, row.status) == ("inconclusive", "inconclusive")
        wrong = check_hessian(cost, x0, grad, hvp=lambda x, v: hvp(x, np.abs(v)), seed=seed)
        assert wrong.status == "failed"
        assert wrong.parameters["consistency: hvp vs hvp on basis vectors"].status == "failed"


class TestRoundoffFloor:
    """attack13 F3 (t68): at a stationary point the forms' own scale is round-off."""

    @pytest.mark.parametrize("scale", [1e-8, 1.0, 1e8])
    @pytest.mark.parametrize("k", [1, 2, 3])
    def test_correct_forms_at_a_stationary_point_agree(self, scale: float, k: int) -> None:
        # J = diag(−sin(kπ)) is 0 by one form and round-off (≈ k·1e-16) by the other
        x = np.pi * np.arange(k, k + 3, dtype=np.float64)
        report = check_jacobian(
            lambda p: scale * np.cos(p),
            x,
            np.zeros((3, 3)),
            vjp=lambda p, u: -scale * np.sin(p) * u,
            jvp=lambda p, v: -scale * np.sin(p) * v,
        )
        assert not any(name.startswith("consistency") for name in report.failed_parameters)

    @pytest.mark.parametrize("seed", range(3))
    @pytest.mark.parametrize("shape", [(3, 3), (40, 30)])
    def test_a_relative_1e_3_disagreement_still_fails(
        self, seed: int, shape: tuple[int, int]
    ) -> None:
        rng = np.random.default_rng(seed)
        A = rng.standard_normal(shape)
        x = rng.standard_normal(shape[1])
        report = check_jacobian(
            lambda p: np.tanh(A @ p),
            x,
            vjp=lambda p, u: A.T @ ((1 - np.tanh(A @ p) ** 2) * u),
            jvp=lambda p, v: (1 + 1e-3) * (1 - np.tanh(A @ p) ** 2) * (A @ v),
            mode="full",
        )
        assert "consistency: jvp vs vjp" in report.failed_parameters

    def test_near_a_stationary_point_a_1e_3_disagreement_still_fails(self) -> None:
        # the floor is round-off of the function's scale: 1e-3 of a derivative of 1e-6
        # (far above it) is still seen
        x = np.pi * np.array([1.0, 2.0, 3.0]) + 1e-6
        report = check_jacobian(
            np.cos,
            x,
            lambda p: np.diag(-np.sin(p)),
            vjp=lambda p, u: -(1 + 1e-3) * np.sin(p) * u,
        )
        assert "consistency: jacobian vs vjp" in report.failed_parameters

    @pytest.mark.parametrize(("size", "applies"), [(1e-16, True), (1e-12, False), (1.0, False)])
    def test_the_floor_is_the_documented_rule(self, size: float, applies: bool) -> None:
        # the floor applies only where the forms are round-off of |f|/s (a stationary
        # point): here |f|/s = 2, forms of 1e-16 are, forms of 1e-12 or 1 are not
        J = size * np.random.default_rng(3).standard_normal((30, 20))
        maps = [
            LinearMap("a", lambda v: J @ v, False),
            LinearMap("b", lambda u: u @ J, True),
        ]
        values, scales = np.full(30, 4.0), np.full(20, 2.0)
        (plain,) = agreement(maps, 20, 30, unit_roundoff(np.float64), 0)
        (floored,) = agreement(
            maps, 20, 30, unit_roundoff(np.float64), 0, magnitudes=Magnitudes(values, scales)
        )
        rng = np.random.default_rng([0, 13])
        us = [rng.standard_normal(30) for _ in range(PAIRS)]
        vs = [rng.standard_normal(20) for _ in range(PAIRS)]
        ulps = CONSISTENCY_ROUNDOFFS * np.sqrt(50) * unit_roundoff(np.float64)
        for t0, t, u, v in zip(plain.tolerance, floored.tolerance, us, vs):
            floor = np.linalg.norm(4 * u) * np.linalg.norm(v / 2) if applies else 0.0
            assert t - t0 == pytest.approx(ulps * floor, rel=1e-9, abs=1e-300)


class TestFloorOnlyAtStationaryPoints:
    """attack20 A1: the floor ‖u⊙f‖·‖v/s‖ is no allowance where the derivative is of
    ordinary size: an offset-dominated output or tiny inputs make |f|/s huge while the
    forms are exact, and a 2× (or 1e-3) disagreement must fail, named."""

    @staticmethod
    def _tiny(scale: float, n: int, factor: float, seed: int, mode: str) -> Any:
        x = scale * np.random.default_rng(seed).standard_normal(n)
        return check_jacobian(
            lambda p: np.cos(p) + p,
            x,
            vjp=lambda p, u: (1 - np.sin(p)) * u,
            jvp=lambda p, v: factor * (1 - np.sin(p)) * v,
            mode=mode,
        )

    @pytest.mark.parametrize("scale", [1e-10, 1e-12, 1e-8])
    @pytest.mark.parametrize("factor", [2.0, 1.5, 1 + 1e-3])
    def test_tiny_inputs_in_projections(self, scale: float, factor: float) -> None:
        report = self._tiny(scale, 5000, factor, 0, "auto")
        assert report.status == "failed"
        assert "consistency: jvp vs vjp" in report.failed_parameters
        notes = [m for m in report.messages if "jvp and vjp" in m]
        assert notes and all("disagree" in m for m in notes), notes

    @pytest.mark.parametrize("scale", [1e-10, 1e-12, 1.0])
    @pytest.mark.parametrize("seed", range(3))
    def test_tiny_inputs_right_forms_agree(self, scale: float, seed: int) -> None:
        report = self._tiny(scale, 12, 1.0, seed, "full")
        assert not any(n.startswith("consistency") for n in report.failed_parameters)

    @pytest.mark.parametrize("scale", [1e-10, 1e-12])
    @pytest.mark.parametrize("factor", [2.0, 1 + 1e-3])
    def test_tiny_inputs_in_full_mode(self, scale: float, factor: float) -> None:
        report = self._tiny(scale, 12, factor, 1, "full")
        assert "consistency: jvp vs vjp" in report.failed_parameters

    @pytest.mark.parametrize(
        ("big", "factor", "dtype"),
        [
            (1e8, 2.0, np.float64),
            (1e12, 2.0, np.float64),
            (1e14, 2.0, np.float64),
            (1e12, 1 + 1e-3, np.float64),
            (1e14, 1 + 1e-3, np.float64),
            (1e3, 2.0, np.float32),
            (1e4, 1.01, np.float32),
        ],
    )
    def test_a_constant_big_output_does_not_hide_a_wrong_jvp(
        self, big: float, factor: float, dtype: Any
    ) -> None:
        x = np.random.default_rng(0).standard_normal(10).astype(dtype)
        report = check_jacobian(
            lambda p: np.concatenate([np.sin(p), np.array([big], dtype=p.dtype)]),
            x,
            vjp=lambda p, u: np.cos(p) * u[:-1],
            jvp=lambda p, v: np.concatenate([factor * np.cos(p) * v, np.zeros(1, p.dtype)]),
            mode="full",
        )
        assert "consistency: jvp vs vjp" in report.failed_parameters
        notes = [m for m in report.messages if m.startswith("jvp and vjp")]
        assert notes and all("disagree" in m for m in notes), notes

    def test_a_note_never_says_agree_beyond_its_allowance(self) -> None:
        report = self._tiny(1e-12, 12, 2.0, 0, "full")
        for m in report.messages:
            if "jvp and vjp" in m:
                assert "disagree" in m, m


class TestExtremeScales:
    """attack20 A13, A14, F26: the allowance scales with the forms at every float scale;
    its norms neither underflow to 0 (a correct pair of 1e-200 failed with "allowance
    0") nor overflow (a warning, an exception under ``filterwarnings = error``)."""

    @pytest.mark.parametrize("scale", [1e-300, 1e-200, 1.0, 1e200, 1e300])
    @pytest.mark.parametrize("seed", range(2))
    def test_allowance_is_scale_invariant(self, scale: float, seed: int) -> None:
        J = np.random.default_rng(seed).standard_normal((30, 20))
        values = np.abs(np.random.default_rng(seed + 9).standard_normal(30))

        def run(s: float) -> Any:
            maps = [
                LinearMap("jvp", lambda v: (s * J) @ v, False),
                LinearMap("vjp", lambda u: u @ (s * J), True),
            ]
            mags = Magnitudes(s * values, np.full(20, 0.5))
            return agreement(maps, 20, 30, unit_roundoff(np.float64), seed, magnitudes=mags)[0]

        one, scaled = run(1.0), run(scale)
        assert not scaled.wrong
        for t1, ts in zip(one.tolerance, scaled.tolerance):
            assert ts == pytest.approx(scale * t1, rel=1e-9, abs=0)

    @pytest.mark.parametrize("scale", [1e-300, 1e-200, 1e200, 1e290])
    def test_floor_of_extreme_values(self, scale: float) -> None:
        # a fair-share u reaches 1e12 (_jacdir.SHARE_RANGE): u ⊙ f overflowed at 1e290
        u, v = np.array([3e10, 0.0]), np.array([1.0, 2.0])
        mags = Magnitudes(np.array([scale, scale]), np.array([0.5, 1e-3]))
        want = 3e10 * scale * math.hypot(2.0, 2000.0)
        assert mags.floor(u, v) == pytest.approx(want, rel=1e-12, abs=0)

    def test_a_zero_allowance_names_the_pair_that_differs(self) -> None:
        exact = Consistency(("a", "b"), ((0.0, 0.0), (0.0, 0.0)), (0.0, 0.0), False)
        assert exact.worst() == 0 and "a and b agree" in exact.text()
        off = Consistency(("a", "b"), ((0.0, 0.0), (1e-300, 0.0)), (0.0, 0.0), True)
        assert off.worst() == 1 and "disagree" in off.text()
        nan = Consistency(("a", "b"), ((1.0, 1.0), (math.nan, 0.0)), (1.0, 1.0), True)
        assert nan.worst() == 1


class TestScaledSumsWithoutTemporaries:
    """``_terms`` and ``_product_norm`` find ``max |a|`` without the array ``|a|`` and
    scale in place: the same numbers as the plain formulas, NaN, inf, zeros and
    subnormals included."""

    CASES = (
        np.zeros(0),
        np.zeros(3),
        -np.zeros(3),
        np.array([np.nan, 1.0, -2.0]),
        np.array([np.inf, -1.0, 0.5]),
        np.array([-np.inf, 2.0, 1.0]),
        np.array([1e-310, -2e-310, 5e-324]),
        np.array([1e300, -1e308, 3.0]),
        np.array([-3.0, 2.0, 1e-200]),
        np.array([1e200, -1e-200, 7.0]),
    )

    @staticmethod
    def plain(a: Any, b: Any) -> tuple[float, tuple[float, float, float]]:
        ta, tb = float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(b), initial=0.0))
        with np.errstate(all="ignore"):
            if not (ta > 0 and tb > 0 and math.isfinite(ta) and math.isfinite(tb)):
                pn = norm2(a * b)
            else:
                pn = ta * tb * norm2((a / ta) * (b / tb))
            if not (math.isfinite(ta) and math.isfinite(tb)):
                terms = (float(a @ b), math.inf, 0.0)
            elif not (ta > 0 and tb > 0):
                terms = (0.0, 0.0, -math.inf)
            else:
                sa, sb = a / ta, b / tb
                terms = (
                    float(sa @ sb),
                    float(np.abs(sa) @ np.abs(sb)),
                    math.log2(ta) + math.log2(tb),
                )
        return pn, terms

    def test_as_the_plain_formulas(self) -> None:
        rng = np.random.default_rng(3)
        cases = [*self.CASES, rng.standard_normal(3) * 1e-150, rng.standard_normal(3) * 1e150]
        for a in cases:
            for b in cases:
                if a.size != b.size:
                    continue
                with np.errstate(all="ignore"):
                    got = (_product_norm(a, b), tuple(_terms(a, b)))
                assert repr(got) == repr(self.plain(a, b)), (a, b)
