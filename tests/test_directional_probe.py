"""Tests for gradcheck._directional_probe: one probe's kink test."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gradcheck
from gradcheck._directional_probe import (
    Probe,
    Prober,
    _kinked,
    _relative_step,
    _tolerance,
    effective_roundoff,
)
from gradcheck._kinks import JUMP_NOISE
from gradcheck._norms import noise_from_table
from gradcheck._numerics import SAFETY
from gradcheck._steps import entry_scale

Array = np.ndarray[Any, Any]

H = 1e-5


def _values(j: Callable[[float], float]) -> tuple[float, ...]:
    return (j(H), j(-H), j(H / 2), j(-H / 2), j(0.0))


class TestKinked:
    def test_a_smooth_cost_is_not_kinked(self) -> None:
        assert not _kinked(_values(lambda t: 3.0 * t + 40.0 * t * t), H, 1e-16, 1e-9, 3.0)

    def test_a_kink_at_theta_is(self) -> None:
        assert _kinked(_values(lambda t: 3.0 * t + abs(t)), H, 1e-16, 1e-9, 3.0)

    def test_kinks_at_and_off_theta_together_are(self) -> None:
        # the jump neither stays nor vanishes (attack26 H22): rules 1 and 2 call it smooth
        def j(t: float) -> float:
            return 3.0 * t + 0.3 * abs(t) + 4.0 * max(t - 0.7 * H, 0.0)

        assert _kinked(_values(j), H, 1e-16, 1e-9, 3.0)

    @pytest.mark.parametrize("noise", [0.0, 1e-16])
    def test_the_tolerance_it_is_given_is_what_hides_a_kink(self, noise: float) -> None:
        # a tolerance grown by the kink's own Richardson error would hide it; the probe
        # passes the screen and 6σ/h only
        def j(t: float) -> float:
            return 3.0 * t + 0.3 * abs(t) + 4.0 * max(t - 0.7 * H, 0.0)

        assert not _kinked(_values(j), H, noise, 1.0, 3.0)


# --- the probe itself, read whole (mutation testing, issue 16) ---------------------

U64 = 2.0**-52


class _Ev:
    """A serial evaluator over private copies: ``cost`` at each point of deltas."""

    def __init__(self, cost: Callable[[list[Array]], float], leaves: list[Array]) -> None:
        self.cost, self.leaves, self.points = cost, leaves, 0

    def __call__(self, points: Any) -> Array:
        out = []
        for point in points:
            q = [leaf.copy() for leaf in self.leaves]
            for d in point:
                q[d.leaf][d.indices] += d.amount()
            out.append(self.cost(q))
            self.points += 1
        return np.array(out)


X = np.array([0.75, -1.5, 2.0, 0.25, -0.5])
C = np.array([1.0, 2.0, 0.5, 3.0, 1.5])
B = np.array([0.5, -0.25, 1.0, 0.0, 2.0])


def _quadratic(q: list[Array]) -> float:
    x = q[0]
    return float(0.5 * np.sum(C * x * x) + B @ x + 7.0)


def _prober(
    cost: Callable[[list[Array]], float] = _quadratic, g: Array | None = None, **kw: Any
) -> Prober:
    g = C * X + B if g is None else g
    ev = _Ev(cost, [X.copy()])
    return Prober(ev, [X.copy()], [g], cost([X]), kw.pop("rtol", None), **kw)  # type: ignore[arg-type]


Z = np.array([0.5, -1.25, 2.0, 0.75, -0.25], dtype=np.float32)


class TestSteps:
    @pytest.mark.parametrize(
        ("dtype", "exponent"),
        [(np.float64, 1 / 3), (np.float32, 1 / 5), (np.float16, 1 / 5), (np.longdouble, 1 / 5)],
    )
    def test_the_relative_step_per_precision(self, dtype: Any, exponent: float) -> None:
        assert _relative_step(dtype) == float(np.finfo(dtype).eps) ** exponent


class TestEffectiveRoundoff:
    def test_equal_values_keep_u(self) -> None:
        assert effective_roundoff(np.array([0.5, 0.5, 0.5]), U64) == U64

    def test_float16_values_have_float16_round_off(self) -> None:
        assert effective_roundoff(np.array([0.5, 1.25, -3.0]), U64) == 2.0**-10

    def test_float32_values_have_float32_round_off(self) -> None:
        assert effective_roundoff(np.array([1.0, 1.0 + 2.0**-20]), U64) == 2.0**-23

    def test_a_coarser_u_is_kept(self) -> None:
        assert effective_roundoff(np.array([1.0, 1.0 + 2.0**-20]), 2.0**-8) == 2.0**-8
        assert effective_roundoff(np.array([0.5, 1.25]), 2.0**-5) == 2.0**-5

    def test_values_past_float16s_range_overflow_quietly(self) -> None:
        assert effective_roundoff(np.array([1e300, 3e300]), U64) == U64
        assert effective_roundoff(np.array([65536.0, 1e6]), U64) == 2.0**-23


def _probe(**kw: Any) -> Probe:
    base: dict[str, Any] = {
        "segments": ((0, 0, 5),),
        "analytic": 1.0,
        "numeric": 0.5,
        "fd_error": 0.01,
        "tolerance": 0.2,
        "noise": 1e-6,
        "wrong": True,
        "drawn": (),
        "step": 1e-3,
        "screen": 0.125,
    }
    return Probe(**{**base, **kw})


class TestJudged:
    def test_a_larger_noise_is_taken_and_the_tolerance_recomputed(self) -> None:
        got = _probe().judged(2e-3)
        assert got.noise == 2e-3
        assert got.tolerance == 0.125 + SAFETY * 0.01 + 6.0 * 2e-3 / 1e-3
        assert not got.wrong and got.segments == ((0, 0, 5),)

    def test_a_smaller_noise_is_not_taken(self) -> None:
        got = _probe().judged(1e-9)
        assert got.noise == 1e-6
        assert got.tolerance == 0.125 + SAFETY * 0.01 + 6.0 * 1e-6 / 1e-3
        assert got.wrong  # 0.5 > 0.231

    def test_a_common_tolerance_raises_it(self) -> None:
        assert _probe().judged(1e-9, 0.4).tolerance == 0.4
        assert _probe().judged(1e-9, 0.4).wrong
        assert _probe().judged(1e-9, 0.1).tolerance == 0.125 + SAFETY * 0.01 + 6.0 * 1e-6 / 1e-3

    def test_a_mismatch_exactly_at_the_tolerance_is_right(self) -> None:
        assert not _probe().judged(0.0, 0.5).wrong
        assert _probe().judged(0.0, 0.4999).wrong

    def test_the_resolution(self) -> None:
        assert _probe(noise=3e-9, step=2e-3).resolution == 2.0 * 3e-9 / 2e-3
        assert _probe(noise=0.0, step=0.5).resolution == 2.0 * 5e-324 / 0.5


class TestProber:
    def test_what_it_keeps(self) -> None:
        y = np.array([[1.0, -2.0], [0.5, 4.0]], dtype=np.float32)
        z = np.array([1 + 1j, 2j], dtype=np.complex64)
        analytic = [np.arange(4, dtype=np.int64).reshape(2, 2), np.array([1.0, 2.0])]
        p = Prober(_Ev(_quadratic, [y, z]), [y, z], analytic, 3.0, 1e-3)  # type: ignore[arg-type]
        assert [g.dtype for g in p.g] == [np.float64, np.float64]
        assert p.g[0].tolist() == [0.0, 1.0, 2.0, 3.0]
        assert [s.tolist() for s in p.scale] == [
            entry_scale(y.reshape(-1)).tolist(),
            entry_scale(z.reshape(-1)).tolist(),
        ]
        assert p.dtypes == [np.float32, np.float32] and p.rtol == 1e-3
        assert p.roundoff == 2.0**-23 and p.noise_floor == 0.0 and p.evaluations == 0
        assert p.j0 == 3.0

    def test_the_round_off_is_the_coarsest_parameters(self) -> None:
        y, x = np.ones(2, dtype=np.float32), np.ones(3)
        p = Prober(_Ev(_quadratic, [y, x]), [y, x], [y, x], 1.0, None)  # type: ignore[arg-type]
        assert p.roundoff == 2.0**-23 and p.dtypes == [np.float32, np.float64]
        given = Prober(_Ev(_quadratic, [x]), [x], [x], 1.0, None, 2.0**-30)  # type: ignore[arg-type]
        assert given.roundoff == 2.0**-30

    def test_a_coarser_working_dtype_sets_the_steps(self) -> None:
        y, x = np.ones(2, dtype=np.float16), np.ones(3)
        p = Prober(_Ev(_quadratic, [y, x]), [y, x], [y, x], 1.0, None, work=np.float32)  # type: ignore[arg-type]
        assert p.dtypes == [np.float16, np.float32] and p.roundoff == 2.0**-10

    def test_given_scales_are_used(self) -> None:
        scales = [np.full(5, 2.0)]
        p = Prober(_Ev(_quadratic, [X]), [X], [X], 1.0, None, scales=scales)  # type: ignore[arg-type]
        assert p.scale is scales
        assert p.norm(0) == float(np.sqrt(np.sum((2.0 * X) ** 2)))

    def test_norms_of_ranges(self) -> None:
        p = _prober()
        sg = entry_scale(X) * (C * X + B)
        assert p.norm(0) == pytest.approx(float(np.linalg.norm(sg)), rel=1e-15)
        assert p.norm(0, 1, 3) == pytest.approx(float(np.linalg.norm(sg[1:3])), rel=1e-15)
        assert p.norm(0, 2) == pytest.approx(float(np.linalg.norm(sg[2:])), rel=1e-15)
        assert p.norm(0, 0, 99) == p.norm(0)

    @pytest.mark.parametrize("size", [1e200, 1e-200])
    def test_norms_that_over_or_underflow_their_squares(self, size: float) -> None:
        g = np.full(4, size)
        p = Prober(_Ev(_quadratic, [np.ones(4)]), [np.ones(4)], [g], 1.0, None)  # type: ignore[arg-type]
        assert p.norm(0) == pytest.approx(2.0 * size, rel=1e-15)


def _expected(prober: Prober, g: Array, z: Array, c: float = 1.0) -> dict[str, Any]:
    """The probe's numbers from the module doc's formulas, computed here."""
    v = z.astype(np.float64) * entry_scale(X) * c
    h = U64 ** (1 / 3) / (c * float(np.max(np.abs(z))) / 3.0)
    hv = v * h

    def at(d: Array) -> float:
        return _quadratic([X + d])

    jp, jm, jp2, jm2 = at(hv), at(-hv), at(hv * 0.5), at(-(hv * 0.5))
    c1, c2 = (jp - jm) / (2 * h), (jp2 - jm2) / h
    numeric = (4 * c2 - c1) / 3
    j0 = _quadratic([X])
    table = np.array([jm, jm2, j0, jp2, jp])
    floor = max(prober.noise_floor, U64 * float(np.max(np.abs(table))))
    sigma = max(noise_from_table(table), floor)
    a = float(g @ v)
    screen = 1e-9 * (c * prober.norm(0) + max(abs(a), abs(numeric)))
    err = abs(numeric - c2)
    return {
        "analytic": a,
        "numeric": numeric,
        "fd_error": err,
        "step": h,
        "noise": sigma,
        "floor": floor,
        "screen": screen,
        "tolerance": screen + SAFETY * err + 6.0 * sigma / h,
        "values": (jp, jm, jp2, jm2, j0),
    }


class TestProbe:
    def test_a_probe_along_a_given_direction(self) -> None:
        prober = _prober()
        g = C * X + B
        p = prober.probe(((0, 0, 5),), None, along={0: Z})
        want = _expected(prober, g, Z)
        got = {k: getattr(p, k) for k in want}
        assert got == want
        assert p.direction[0].tolist() == (Z.astype(np.float64) * entry_scale(X)).tolist()
        assert p.segments == ((0, 0, 5),) and not p.wrong and not p.kink and p.resolved
        assert prober.evaluations == 4 and prober.ev.points == 4  # type: ignore[attr-defined]
        assert p.numeric == pytest.approx(p.analytic, rel=1e-9)

    def test_a_weighted_probe(self) -> None:
        prober = _prober()
        g = C * X + B
        p = prober.probe(((0, 0, 5),), None, weights={0: 2.0}, along={0: Z})
        want = _expected(prober, g, Z, 2.0)
        assert {k: getattr(p, k) for k in want} == want
        assert p.direction[0].tolist() == (2.0 * Z.astype(np.float64) * entry_scale(X)).tolist()

    def test_a_random_probe_draws_float32_gaussians(self) -> None:
        prober = _prober()
        p = prober.probe(((0, 1, 4),), np.random.default_rng(5))
        z = np.random.default_rng(5).standard_normal(3, dtype=np.float32)
        assert p.direction[0].tolist() == (z.astype(np.float64) * entry_scale(X)[1:4]).tolist()
        assert p.analytic == float((C * X + B)[1:4] @ p.direction[0])

    def test_a_wrong_gradient_is_wrong(self) -> None:
        prober = _prober(g=1.001 * (C * X + B))
        p = prober.probe(((0, 0, 5),), None, along={0: Z})
        assert p.wrong and abs(p.analytic - p.numeric) > p.tolerance

    def test_a_given_rtol_sets_the_screen(self) -> None:
        prober = _prober(rtol=1e-3)
        p = prober.probe(((0, 0, 5),), None, along={0: Z})
        assert p.screen == 1e-3 * (prober.norm(0) + max(abs(p.analytic), abs(p.numeric)))

    def test_the_noise_floor_is_kept(self) -> None:
        prober = _prober()
        prober.noise_floor = 1e-6
        p = prober.probe(((0, 0, 5),), None, along={0: Z})
        assert p.floor == 1e-6 and p.noise == 1e-6

    def test_a_float32_parameter_takes_float32_steps_and_tolerances(self) -> None:
        x32 = X.astype(np.float32)

        def cost(q: list[Array]) -> float:
            return float(np.sum(q[0].astype(np.float64) ** 2) + np.sum(q[1] ** 2))

        ev = _Ev(cost, [x32.copy(), X.copy()])
        g = [2 * x32.astype(np.float64), 2 * X]
        prober = Prober(ev, [x32.copy(), X.copy()], g, cost([x32, X]), None)  # type: ignore[arg-type]
        p = prober.probe(((0, 0, 5), (1, 0, 5)), None, along={0: Z, 1: Z})
        assert p.step == (2.0**-23) ** (1 / 5) / (2.0 / 3.0)
        spread = math.hypot(prober.norm(0), prober.norm(1))
        assert p.screen == 1e-4 * (spread + max(abs(p.analytic), abs(p.numeric)))

    def test_a_zero_cost_with_a_claimed_slope_has_the_smallest_normal_floor(self) -> None:
        prober = _prober(cost=lambda q: 0.0)
        p = prober.probe(((0, 0, 5),), None, along={0: Z})
        assert p.floor == U64 * float(np.finfo(np.float64).tiny) and p.wrong

    def test_a_zero_cost_with_no_slope_has_no_floor(self) -> None:
        prober = _prober(cost=lambda q: 0.0, g=np.zeros(5))
        p = prober.probe(((0, 0, 5),), None, along={0: Z})
        assert p.floor == 0.0 and p.noise == 0.0 and p.resolved and not p.wrong

    def test_subnormal_values_are_unresolved(self) -> None:
        prober = _prober(cost=lambda q: 1e-310 * (1.0 + float(q[0][0])), g=np.zeros(5))
        p = prober.probe(((0, 0, 5),), None, along={0: Z})
        assert not p.resolved
        assert p.floor == U64 * float(np.finfo(np.float64).tiny)

    def test_a_kink_is_seen_and_measured_again(self) -> None:
        # |x₀ − 0.75| at x₀ = 0.75: every probe on entry 0 straddles it
        def cost(q: list[Array]) -> float:
            return _quadratic(q) + 3.0 * abs(float(q[0][0]) - 0.75)

        g = C * X + B
        g[0] += 3.0
        prober = _prober(cost=cost, g=g)
        p = prober.probe(((0, 0, 5),), None, along={0: Z})
        assert p.kink and prober.evaluations == 4
        again = prober.unkinked(p)
        assert prober.evaluations == 10 and prober.ev.points == 10  # type: ignore[attr-defined]
        assert again.kink and again.noise >= p.floor and again.noise < p.noise
        assert again.tolerance == _tolerance(p.screen, p.fd_error, again.noise, p.step)


def _two_kinks(t: float) -> float:
    return 3.0 * t + 0.3 * abs(t) + 4.0 * max(t - 0.7 * H, 0.0)


class TestIrregularJump:
    """Kinks at and off θ: the jump departs from half by more than the noise's share
    (``JUMP_NOISE·σ/(h/2)``) and the tolerance, each bound met exactly."""

    @staticmethod
    def _off() -> float:
        jp, jm, jp2, jm2, j0 = _values(_two_kinks)
        big, small = (jp - 2.0 * j0 + jm) / H, (jp2 - 2.0 * j0 + jm2) / (H / 2)
        return abs(small - big / 2)

    def test_a_departure_within_the_noise_is_smooth(self) -> None:
        sigma = 1.01 * self._off() * (H / 2) / JUMP_NOISE
        assert not _kinked(_values(_two_kinks), H, sigma, 1e-9, 3.0)

    def test_a_departure_past_the_noise_is_a_kink(self) -> None:
        sigma = 0.99 * self._off() * (H / 2) / JUMP_NOISE
        assert _kinked(_values(_two_kinks), H, sigma, 1e-9, 3.0)

    def test_a_departure_exactly_at_the_tolerance_is_smooth(self) -> None:
        off = self._off()
        assert not _kinked(_values(_two_kinks), H, 0.0, off, 3.0)
        assert _kinked(_values(_two_kinks), H, 0.0, 0.99 * off, 3.0)


class TestClaimInFloat32:
    """attack35 H141: a float64 cost whose derivative is computed in float32 (``A32.T @
    cos(A x)32``, off by at most 1.1e-7 of the gradient) failed the directional mode 6/6
    ("they differ by 8.6e-08; tolerance 5.4e-09") while the full mode passed it."""

    def test_claim_roundoff_reads_float32_numbers(self) -> None:
        from gradcheck._directional_probe import claim_roundoff

        g, x = np.random.default_rng(0).standard_normal((2, 50))
        g32 = g.astype(np.float32).astype(np.float64)
        assert claim_roundoff(g, x) == 0.0
        assert claim_roundoff(g32, x) == float(np.finfo(np.float32).eps)
        assert claim_roundoff(g32, x.astype(np.float32)) == 0.0  # a float32 parameter's own
        assert claim_roundoff(2 * g32, g32) == 0.0  # 2·θ of float32 data: float64's
        assert claim_roundoff(np.ones(50), x) == 0.0  # simple values: float16 numbers

    @pytest.mark.parametrize("seed", [0, 1, 2])
    def test_a_float32_derivative_passes_and_its_errors_fail(self, seed: int) -> None:
        r = np.random.default_rng(seed)
        a, x = r.standard_normal((100, 300)) / np.sqrt(300), r.standard_normal(300)

        def cost(p: Any) -> float:
            return float(np.sum(np.sin(a @ p["x"])))

        def grad(p: Any, k: float = 1.0) -> Any:
            return {"x": k * (a.T.astype(np.float32) @ np.cos(a @ p["x"]).astype(np.float32))}

        right = gradcheck.check(cost, {"x": x}, grad, seed=seed, mode="directional")
        assert right.status == "passed"
        off = gradcheck.check(
            cost, {"x": x}, lambda p: grad(p, 1.0001), seed=seed, mode="directional"
        )
        assert off.status == "failed"


class TestSubnormalClaim:
    """attack36 H162: a right gradient of subnormal entries (4 digits) failed the
    directional mode 4/4 ("differ by 2.1e-304; tolerance 1.1e-308"), and one that
    underflowed to exactly 0 while the cost moves failed too; the full mode passed."""

    @staticmethod
    def _problem(scale: float) -> tuple[Callable[[Array], float], Callable[[Array], Array], Array]:
        r = np.random.default_rng(0)
        a, x = r.standard_normal((6, 6)), r.standard_normal(6) * scale

        def cost(p: Array) -> float:
            return float(1e-300 * np.sum(np.cos(a @ (p / scale))))

        def grad(p: Array) -> Array:
            return -1e-300 * a.T @ np.sin(a @ (p / scale)) / scale

        return cost, grad, x

    def test_a_subnormal_gradient_passes_and_its_errors_fail(self) -> None:
        cost, grad, x = self._problem(1e20)  # |g| about 3e-320
        assert gradcheck.check(cost, x, grad, mode="directional").status == "passed"
        assert (
            gradcheck.check(cost, x, lambda p: 2 * grad(p), mode="directional").status == "failed"
        )
        off = gradcheck.check(cost, x, lambda p: grad(p) + 1e-310, mode="directional")
        assert off.status == "failed"

    def test_a_gradient_that_underflows_to_zero_is_inconclusive(self) -> None:
        cost, grad, x = self._problem(1e100)  # the true gradient, 1e-400, rounds to 0
        assert not np.any(grad(x))
        assert gradcheck.check(cost, x, grad, mode="directional").status == "inconclusive"


class TestAllInPrefix:
    """``_all_in`` tests its first ``_PREFIX`` entries before the whole array (speed35):
    the answer is the full pass's, wherever the entry that is no number of the dtype is."""

    @pytest.mark.parametrize("at", [0, 63, 64, 65, 999])
    def test_one_entry_past_or_inside_the_prefix_answers_false(self, at: int) -> None:
        from gradcheck._directional_probe import _PREFIX, _all_in

        assert _PREFIX == 64
        values = np.linspace(-2.0, 2.0, 1000).astype(np.float32).astype(np.float64)
        assert _all_in(values, np.float32)
        values[at] += 2.0**-40  # no float32 number
        assert not _all_in(values, np.float32)

    def test_a_short_array_and_an_empty_one(self) -> None:
        from gradcheck._directional_probe import _all_in

        assert _all_in(np.array([0.5, 1.25]), np.float16)
        assert not _all_in(np.array([0.5, 0.1]), np.float32)
        assert _all_in(np.array([]), np.float32)

    def test_claim_roundoff_sees_a_float64_entry_past_the_prefix(self) -> None:
        from gradcheck._directional_probe import claim_roundoff

        g, x = np.random.default_rng(3).standard_normal((2, 500))
        g32 = g.astype(np.float32).astype(np.float64)
        assert claim_roundoff(g32, x) == float(np.finfo(np.float32).eps)
        g32[400] = g[400]  # one float64 entry, past the prefix: the claim is float64's
        assert claim_roundoff(g32, x) == 0.0


class TestDrawnDirections:
    """A probe keeps its direction as drawn (``z``, the scales, the weight) and steps
    along its values computed in the prober's work space (speed35): the values read
    back are the ones it stepped along, bit for bit, after later probes reuse the space."""

    def test_the_points_evaluated_are_theta_plus_h_times_the_direction_read_back(self) -> None:
        seen: list[Array] = []

        def cost(q: list[Array]) -> float:
            seen.append(q[0].copy())
            return _quadratic(q)

        prober = _prober(cost=cost)
        seen.clear()  # the value at X
        p = prober.probe(((0, 0, 5),), np.random.default_rng(7), weights={0: 3.0})
        first = [s.copy() for s in seen]
        prober.probe(((0, 0, 5),), np.random.default_rng(8))  # reuses the work space
        hv = p.direction[0] * p.step
        assert [s.tolist() for s in first] == [
            (X + hv).tolist(),
            (X - hv).tolist(),
            (X + hv * 0.5).tolist(),
            (X - hv * 0.5).tolist(),
        ]
        z = np.random.default_rng(7).standard_normal(5, dtype=np.float32)
        assert p.direction[0].tolist() == (z.astype(np.float64) * entry_scale(X) * 3.0).tolist()

    def test_the_analytic_side_is_the_claim_along_the_direction_read_back(self) -> None:
        x32 = X.astype(np.float32)
        g = [2 * x32.astype(np.float64), C * X + B]

        def cost(q: list[Array]) -> float:
            return float(np.sum(q[0].astype(np.float64) ** 2)) + _quadratic([q[1]])

        prober = Prober(
            _Ev(cost, [x32.copy(), X.copy()]), [x32.copy(), X.copy()], g, cost([x32, X]), None
        )  # type: ignore[arg-type]
        p = prober.probe(((0, 0, 5), (1, 1, 4)), np.random.default_rng(2))
        d = p.direction
        assert [len(v) for v in d] == [5, 3]
        assert p.analytic == float(g[0] @ d[0]) + float(g[1][1:4] @ d[1])


def test_a_probe_along_a_callers_array_keeps_its_own_direction() -> None:
    """``_kinksearch`` reuses its buffer for the next probe: a probe's direction read
    afterwards is still the one it stepped along."""
    prober = _prober()
    buf = Z.copy()
    p = prober.probe(((0, 0, 5),), None, along={0: buf})
    buf[:] = 0.0
    assert p.direction[0].tolist() == (Z.astype(np.float64) * entry_scale(X)).tolist()
