"""Kinks (``gradcheck._kinks``): the frameworks' conventions at kinks are not called
wrong, evidence that straddles a kink is not trusted, and bugs at kinks still fail."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import pytest

import gradcheck
from gradcheck import _compare as cmp
from gradcheck import _kinks, _nearby
from gradcheck._norms import noise_from_table

Array = np.ndarray[Any, Any]
Params = dict[str, Array]


def _abs_cost(p: Array) -> float:
    return float(np.sum(np.abs(p)))


def relu_net(
    seed: int, dtype: Any = np.float64, dead: tuple[int, ...] = (1, 4), at_zero: float = 0.0
) -> tuple[Callable[[Params], Any], Params, Callable[[Params], Params]]:
    """A 2-layer ReLU net on a batch, with zero-initialised rows and biases (dead units:
    every sample's pre-activation is exactly 0 there), and its correct backprop with
    relu'(0) = ``at_zero`` (0 as torch and jax compute it)."""
    rng = np.random.default_rng(seed)
    n, k, m, o = 16, 5, 6, 3
    x = rng.standard_normal((n, k)).astype(dtype)
    y = rng.standard_normal((n, o)).astype(dtype)
    w1 = rng.standard_normal((m, k)).astype(dtype)
    b1 = rng.standard_normal(m).astype(dtype)
    w1[list(dead)], b1[list(dead)] = 0, 0
    w2 = rng.standard_normal((o, m)).astype(dtype)
    params = {"W1": w1, "b1": b1, "W2": w2, "b2": np.zeros(o, dtype)}

    def forward(p: Params) -> tuple[Array, Array, Array]:
        z = x @ p["W1"].T + p["b1"]
        a = np.maximum(z, 0)
        return z, a, a @ p["W2"].T + p["b2"]

    def cost(p: Params) -> Any:
        return np.sum((forward(p)[2] - y) ** 2) / n

    def grad(p: Params) -> Params:
        z, a, out = forward(p)
        d = 2 * (out - y) / n
        dz = (d @ p["W2"]) * np.where(z > 0, 1.0, np.where(z == 0, at_zero, 0.0))
        return {"W1": dz.T @ x, "b1": dz.sum(0), "W2": d.T @ a, "b2": d.sum(0)}

    return cost, params, grad


def dead_units(
    seed: int, *, unmasked_db: bool = False
) -> tuple[Callable[[Params], float], Params, Callable[[Params], Params]]:
    """CS231n's affine + ReLU as ``sum(relu(x w + b) · dout)``, units 0 and 2 dead (their
    weight columns and biases exactly 0), drawn as in issue 11's finding: x (4, 3),
    w (3, 4), b (4,), dout (4, 4) from ``default_rng(seed)``; its backprop uses
    relu'(0) = 0. ``unmasked_db`` plants CS231n's classic bug: db skips the mask."""
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal((4, 3)), rng.standard_normal((3, 4)), rng.standard_normal(4)
    w[:, [0, 2]], b[[0, 2]] = 0.0, 0.0
    dout = rng.standard_normal((4, 4))

    def cost(p: Params) -> float:
        return float(np.sum(np.maximum(p["x"] @ p["w"] + p["b"], 0.0) * dout))

    def grad(p: Params) -> Params:
        d = np.where(p["x"] @ p["w"] + p["b"] > 0, dout, 0.0)
        db = dout.sum(0) if unmasked_db else d.sum(0)
        return {"x": d @ p["w"].T, "w": p["x"].T @ d, "b": db}

    return cost, {"x": x, "w": w, "b": b}, grad


class TestFrameworkConvention:
    @pytest.mark.parametrize("seed", range(6))
    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    def test_dead_units_are_not_failed(self, seed: int, dtype: Any) -> None:
        cost, p, grad = relu_net(seed, dtype)
        report = gradcheck.check(cost, p, grad(p))
        assert report.status != "failed", str(report)
        assert report.parameters["W1"].nonsmooth > 0

    def test_outside_the_slopes_is_inconclusive_not_passed(self) -> None:
        # Samples switching on either side put relu'(0) = 0 outside W1's one-sided
        # slopes: the finite differences at this point cannot tell that from a bug.
        cost, p, grad = relu_net(0)
        report = gradcheck.check(cost, p, grad(p))
        assert report.status == "inconclusive", str(report)
        assert any("outside their one-sided slopes" in m for m in report.messages)

    @pytest.mark.parametrize("seed", range(6))
    def test_grad_function_settles_them_at_a_nearby_point(self, seed: int) -> None:
        cost, p, grad = relu_net(seed)
        report = gradcheck.check(cost, p, grad)
        assert report.status == "passed", str(report)
        assert report.parameters["W1"].nonsmooth == 0
        assert any("W1: re-checked" in m and "nearby smooth point" in m for m in report.messages)

    @pytest.mark.parametrize("seed", range(6))
    def test_float32_grad_function_is_not_failed(self, seed: int) -> None:
        cost, p, grad = relu_net(seed, np.float32)
        report = gradcheck.check(cost, p, grad)
        assert report.status != "failed", str(report)

    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    @pytest.mark.parametrize("seed", range(3))
    def test_doubled_kink_entries_fail_at_the_nearby_point(self, seed: int, dtype: Any) -> None:
        cost, p, grad = relu_net(seed, dtype)

        def doubled(q: Params) -> Params:
            g = grad(q)
            g["W1"] = g["W1"].copy()
            g["W1"][1] *= 2  # ×2 on the dead unit's row: every entry there is at a kink
            return g

        report = gradcheck.check(cost, p, doubled)
        assert report.status == "failed", str(report)
        w1 = report.parameters["W1"]
        assert w1.status == "failed" and w1.failed > 0
        assert all(e.index[0] == 1 for e in w1.worst if e.status == "wrong")
        assert any("W1: re-checked" in m and "wrong there" in m for m in report.messages)
        assert report.parameters["W2"].status == "passed"

    def test_relu_prime_one_is_a_convention_too(self) -> None:
        cost, p, grad = relu_net(1, at_zero=1.0)
        assert gradcheck.check(cost, p, grad(p)).status != "failed"
        assert gradcheck.check(cost, p, grad).status == "passed"

    def test_relu_prime_one_and_a_wrong_formula_elsewhere_fail(self) -> None:
        cost, p, grad = relu_net(1, at_zero=1.0)

        def buggy(q: Params) -> Params:
            g = grad(q)
            g["b2"] = 2 * g["b2"]  # the wrong formula elsewhere
            return g

        for given in (buggy(p), buggy):
            report = gradcheck.check(cost, p, given)
            assert report.status == "failed", str(report)
            assert [n for n, r in report.parameters.items() if r.status == "failed"] == ["b2"]

    def test_user_data_and_global_rngs_are_untouched(self) -> None:
        cost, p, grad = relu_net(2)
        before = {n: v.copy() for n, v in p.items()}
        np.random.seed(3)
        random.seed(3)
        np_state, py_state = np.random.get_state(), random.getstate()
        seen: list[Params] = []

        def greedy(q: Params) -> Params:
            seen.append(q)
            out = grad(q)
            for v in q.values():
                v += 1.0  # a grad function that writes to its input
            np.random.rand()
            random.random()
            return out

        report = gradcheck.check(cost, p, greedy, seed=5)
        assert report.status == "passed", str(report)
        assert len(seen) >= 3 and len(seen) % 2 == 1  # at θ, and at each move's two points
        for name, value in p.items():
            assert np.array_equal(value, before[name])
            assert all(q[name] is not value for q in seen)
        after: Any = np.random.get_state()
        assert np.array_equal(after[1], np_state[1]) and random.getstate() == py_state

    def test_the_move_follows_the_seed(self) -> None:
        cost, p, grad = relu_net(3)
        a, b = (gradcheck.check(cost, p, grad, seed=s) for s in (0, 0))
        assert a.evaluations == b.evaluations and a.messages == b.messages


class TestNearAKink:
    """``|x|`` a step's width or less from 0: the straddling estimate is no evidence."""

    @pytest.mark.parametrize("x0", [1e-7, 1e-9, -3e-8, 1e-4, -3e-3])
    def test_right_passes_and_wrong_fails(self, x0: float) -> None:
        x = np.array([x0, 0.5, -1.0])
        right = gradcheck.check(_abs_cost, x, np.sign(x))
        assert right.status == "passed", str(right)
        assert right.parameters["x"].nonsmooth == 0
        wrong = gradcheck.check(_abs_cost, x, np.array([0.0, 1.0, -1.0]))
        assert wrong.status == "failed", str(wrong)
        assert wrong.worst[0].index == (0,) and wrong.worst[0].status == "wrong"

    @pytest.mark.parametrize(
        ("x0", "expected"), [(1e-4, "inconclusive"), (-3e-3, "passed"), (2e-3, "passed")]
    )
    def test_float32(self, x0: float, expected: str) -> None:
        # at 1e-4 the steps clear of the kink (2.5e-5) see float32's round-off as
        # ν ≈ 7e-3: a reach of 0.13, above UNCERTAIN, so no pass (core22)
        x = np.array([x0, 0.5, -1.0], dtype=np.float32)
        right = gradcheck.check(_abs_cost, x, np.sign(x))
        assert right.status == expected, str(right)
        if expected == "passed":
            assert right.parameters["x"].detection_bound <= 0.1
        wrong = gradcheck.check(_abs_cost, x, np.array([0.0, 1.0, -1.0]))
        assert wrong.status == "failed", str(wrong)

    def test_mixed_distances(self) -> None:
        x = np.array([0.0, 1e-12, 1e-9, -3e-8, 1e-7, -2e-6, 1e-5, 0.3, -1.0, 0.7])
        right = gradcheck.check(_abs_cost, x, np.sign(x))
        assert right.status == "passed", str(right)
        assert right.parameters["x"].nonsmooth == 1  # x[0], exactly at the kink
        for k in range(1, 7):
            g = np.sign(x)
            g[k] = 0.0
            wrong = gradcheck.check(_abs_cost, x, g)
            assert wrong.status == "failed", (k, str(wrong))
            assert {e.index for e in wrong.worst if e.status == "wrong"} == {(k,)}

    def test_explicit_step_that_straddles_is_uncertain(self) -> None:
        x = np.array([1e-7, 0.5, -1.0])
        report = gradcheck.check(_abs_cost, x, np.array([0.0, 1.0, -1.0]), eps=1e-6)
        assert report.status == "inconclusive", str(report)


class TestAtAKink:
    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    def test_every_entry_at_a_kink_is_inconclusive(self, dtype: Any) -> None:
        x = np.zeros(4, dtype)
        report = gradcheck.check(_abs_cost, x, np.zeros(4))
        assert report.status == "inconclusive", str(report)
        assert report.parameters["x"].nonsmooth == 4

    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    def test_grad_function_gives_the_evidence(self, dtype: Any) -> None:
        x = np.zeros(4, dtype)
        report = gradcheck.check(_abs_cost, x, np.sign)
        assert report.status == "passed", str(report)
        assert any("re-checked 4 kink entries" in m for m in report.messages)
        doubled = gradcheck.check(_abs_cost, x, lambda p: 2 * np.sign(p))
        assert doubled.status == "failed", str(doubled)
        assert doubled.parameters["x"].failed == 4

    def test_a_doubled_kink_entry_among_smooth_ones_fails(self) -> None:
        x = np.array([0.0, 0.5, -1.0])
        report = gradcheck.check(_abs_cost, x, lambda p: np.sign(p) * np.array([2.0, 1, 1]))
        assert report.status == "failed", str(report)
        assert [e.index for e in report.worst if e.status == "wrong"] == [(0,)]

    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    def test_leaky_relu(self, dtype: Any) -> None:
        x = np.array([0.0, 1.0, -2.0, 0.0, 0.5], dtype)

        def cost(p: Array) -> float:
            return float(np.sum(np.where(p > 0, p, 0.1 * p) * 3.0))

        def grad(p: Array) -> Array:
            return 3.0 * np.where(p > 0, 1.0, 0.1)  # torch: leaky_relu'(0) = slope

        assert gradcheck.check(cost, x, grad(x)).status == "passed"
        assert gradcheck.check(cost, x, grad).status == "passed"
        assert gradcheck.check(cost, x, lambda p: 2 * grad(p)).status == "failed"

    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    def test_clip_at_its_bounds(self, dtype: Any) -> None:
        w = np.array([1.0, -2.0, 0.5, 3.0])
        x = np.array([-1.0, 1.0, 0.3, 2.0], dtype)  # two at the bounds

        def cost(p: Array) -> float:
            return float(np.sum(w * np.clip(p, -1.0, 1.0)))

        def grad(p: Array) -> Array:
            return w * ((p >= -1.0) & (p <= 1.0))  # torch.clamp passes it at the bounds

        assert gradcheck.check(cost, x, grad(x)).status == "passed"
        assert gradcheck.check(cost, x, grad).status == "passed"
        assert gradcheck.check(cost, x, lambda p: 2 * grad(p)).status == "failed"

    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    def test_max_pool_ties_go_to_the_first_index(self, dtype: Any) -> None:
        rows = [[1.0, 1.0, 0.2, 0.7], [0.5, -1.0, 0.7, 0.7], [2, 0.1, 0, 0], [2, 0.3, 0, 0]]
        x = np.array(rows, dtype)  # ties in every 2×2 window
        weight = np.array([[1.5, -2.0], [0.5, 3.0]])

        def cost(p: Array) -> float:
            pooled = p.reshape(2, 2, 2, 2).max(axis=(1, 3))
            return float(np.sum(weight * pooled))

        def grad(p: Array) -> Array:
            g = np.zeros((4, 4))
            for i in range(2):
                for j in range(2):
                    win = p[2 * i : 2 * i + 2, 2 * j : 2 * j + 2]
                    r, c = np.unravel_index(int(np.argmax(win)), (2, 2))  # first maximum
                    g[2 * i + r, 2 * j + c] = weight[i, j]
            return g

        assert gradcheck.check(cost, x, grad(x)).status == "passed"
        assert gradcheck.check(cost, x, grad).status == "passed"
        assert gradcheck.check(cost, x, lambda p: grad(p) * 2).status == "failed"


class TestNoiseProbe:
    def test_dead_units_do_not_inflate_the_noise(self) -> None:
        cost, p, grad = relu_net(1)
        clean_cost, clean_p, clean_grad = relu_net(1, dead=())
        noise = gradcheck.check(cost, p, grad(p)).noise
        clean = gradcheck.check(clean_cost, clean_p, clean_grad(clean_p)).noise
        assert noise < 10 * clean < 1e-12

    def test_kink_at_the_centre(self) -> None:
        rng = np.random.default_rng(0)
        noise = 1e-12 * rng.standard_normal(7)
        sigma = _kinks.table_noise(lambda s: np.abs(np.arange(-3.0, 4.0)) + noise)
        assert 1e-14 < sigma < 1e-11

    def test_kink_off_centre_is_measured_again_narrower(self) -> None:
        calls: list[float] = []

        def table(shrink: float) -> Array:
            calls.append(shrink)
            return np.abs(np.arange(-3.0, 4.0) * shrink + 0.5)  # a kink half a step away

        assert _kinks.table_noise(table) == 0.0
        assert calls == [1.0, 1.0 / _kinks.SHRINK]

    def test_tables_below_the_costs_resolution_are_not_used(self) -> None:
        # attack25 G10: a deterministic staircase (steps of q = 1) read at 1, 1/64 and
        # 1/64²: the two wider tables move by 94 and 1.5 steps of q per point, the
        # narrowest sits on one step and once read 0 noise, failing right entries
        calls: list[float] = []
        tables = {
            1.0: [282.0, 187, 93, 0, -95, -193, -285],
            1.0 / _kinks.SHRINK: [4.0, 3, 1, 0, -1, -2, -3],
        }

        def table(shrink: float) -> Array:
            calls.append(shrink)
            return np.array(tables.get(shrink, [1.0, 0, 0, 0, 0, 0, 0]))

        expected = noise_from_table(np.array(tables[1.0 / _kinks.SHRINK]))
        assert _kinks.table_noise(table) == pytest.approx(expected)
        assert expected > 0.2  # a fifth of the staircase's step
        assert calls == [1.0, 1.0 / _kinks.SHRINK, 1.0 / _kinks.SHRINK**2]

    @pytest.mark.parametrize("scale", [1.0, 1e-17, 1e12])
    def test_below_resolution(self, scale: float) -> None:
        wide = scale * np.array([3.0, 2, 1, 0, -1, -2, -3])
        smooth = wide / _kinks.SHRINK
        assert not _kinks.below_resolution(wide, smooth)
        assert not _kinks.below_resolution(wide, 1.9 * smooth)  # curvature, noise
        assert _kinks.below_resolution(wide, 2.1 * smooth)
        assert _kinks.below_resolution(wide, scale * np.array([1.0, 1, 1, 1, 0, 0, 0]))

    def test_pure_noise_is_unchanged(self) -> None:
        rng = np.random.default_rng(1)
        values = 1e-10 * rng.standard_normal(7) + np.arange(7.0)
        expected = noise_from_table(values)
        assert _kinks.table_noise(lambda s: values) == pytest.approx(expected)


class TestLocate:
    @pytest.mark.parametrize("d", [0.0, 1e-7, -3e-8, 2e-7])
    def test_offset_of_a_piecewise_linear_kink(self, d: float) -> None:
        h = np.array([1e-6])

        def f(t: float) -> float:
            return 2.0 * t + 3.0 * abs(t - d)

        vals = [np.array([f(o * h[0])]) for o in (1, -1, 0.5, -0.5)]
        tol, analytic = np.array([1e-9]), np.array([2.0])
        site = _kinks.locate(*vals, j0=f(0.0), h=h, sigma=1e-16, tol=tol, analytic=analytic)
        assert site.kink[0]
        assert site.at_point[0] == (d == 0.0)
        assert site.offset[0] == pytest.approx(d, rel=1e-6, abs=1e-12)
        assert site.bracketed[0]  # 2 lies between −1 and 5

    @pytest.mark.parametrize("side", [-1.0, 1.0])
    def test_a_one_sided_derivative_on_a_curved_side_is_bracketed(self, side: float) -> None:
        # attack26 G5: clip at its bound beside cos θ. Each side's slope at h/2 is off
        # its one-sided derivative by (h/4)·J'' = 6.6e-7, more than the tolerance: the
        # right claim clip'(bound) = 0 lay outside the bracket and was left uncertain
        h = np.array([6e-6])

        def f(t: float) -> float:
            return 0.48 * t + (1.5 * t if t > 0 else 0.0) - 0.44 * t * t

        vals = [np.array([f(o * h[0])]) for o in (1, -1, 0.5, -0.5)]
        claim = np.array([0.48 if side < 0 else 1.98])  # the left or the right derivative
        tol = np.array([1e-7])
        site = _kinks.locate(*vals, j0=f(0.0), h=h, sigma=1e-16, tol=tol, analytic=claim)
        assert site.kink[0] and site.at_point[0]
        assert site.bracketed[0]
        outside = claim + side * 1e-5  # beyond either slope, extrapolated or not
        site = _kinks.locate(*vals, j0=f(0.0), h=h, sigma=1e-16, tol=tol, analytic=outside)
        assert not site.bracketed[0]

    def test_quantised_curvature_is_no_kink_beyond_h_half(self) -> None:
        # the single-threaded tanh MLP of test_localise's TestNoFalseBlame: a second
        # difference of 10 ulps at h and 1 ulp at h/2 (2.5 were due) read as a kink
        # between h/2 and h, and localisation skipped the planted entry's region
        ulp, h = 2.0**-52, np.array([3.5e-7])
        j0 = 1.0
        vals = [np.array([v]) for v in (j0 - 5 * ulp, j0 - 5 * ulp, j0 - ulp, j0)]
        tol, claim = np.array([1e-12]), np.array([0.0])
        site = _kinks.locate(*vals, j0=j0, h=h, sigma=ulp, tol=tol, analytic=claim)
        assert not site.kink[0] and np.isnan(site.offset[0])
        # a kink between h/2 and h whose missing half stands out is still one
        vals = [np.array([v]) for v in (j0 - 40 * ulp, j0 - 40 * ulp, j0 - ulp, j0)]
        site = _kinks.locate(*vals, j0=j0, h=h, sigma=ulp, tol=tol, analytic=claim)
        assert site.kink[0] and site.offset[0] == h[0]


class TestLocateReadWhole:
    """``locate`` read whole on hand-made values, each bound of rules 1, 2 and 4 met
    exactly (dyadic numbers: no rounding on either side). Each row gives, for ``h = 1``
    and ``J0 = 0``, ``J(θ ± h) − J0`` and ``J(θ ± h/2) − J0``, σ, the tolerance and the
    claim; the call scales the values, the steps and σ by 4 (``h = 4``, ``J0 = 1``), which
    leaves every slope as it is and multiplies every position by 4."""

    ROWS = (
        # dp, dm, dp2, dm2, sigma, tol, claim
        (2, 2, 0.75, 0.75, 0, 0, 0),  # 0: |jump(h/2)| = PERSISTS·|jump(h)|: no kink
        (2, 2, 0.875, 0.875, 0, 0, 1.75),  # 1: it persists: a kink at θ; claim at the top
        (0.5, 0.5, 0.25, 0.25, 1 / 16, 0, 0),  # 2: the jump is JUMP_NOISE noise slopes
        (0.5, 0.5, 0.25, 0.25, 15 / 256, 0, 0),  # 3: ... and just above: a kink
        (2, 2, 1, 1, 0, 4, 0),  # 4: the jump equals the tolerance: no kink
        (2, 2, 1, 1, 0, 3.5, 0),  # 5: ... and exceeds it
        (0.75, 1, 0.25, 0.5, 1 / 80, 0, 1),  # 6: |t − ⅛|: T = ¼ = OFFSET_NOISE·σ: at θ
        (0.75, 1, 0.25, 0.5, 2**-11, 0, 0.5),  # 7: ... off θ by ⅛
        (0.75, 1, 0.25, 0.5, 2**-9, 0, -1),  # 8: ... no nearer than 256σ/|jump| = ⅓
        (1, 0.75, 0.5, 0.25, 2**-9, 0, -1.25),  # 9: |t + ⅛|: −⅓
        (1, 0, 0.75, 0, 0, 0, 0),  # 10: an offset of −1 is clipped to −h/2
        (1, 0, 1, 0, 0, 0, 0),  # 11: equal outer slopes: an infinite offset
        (2, 2, 0.25, 0.25, 0, 0, 0),  # 12: |jump(h/2)| = BEYOND·|jump(h)|: none beyond
        (2, 2, 0.125, 0.125, 0, 0, 0),  # 13: ... less: a kink beyond h/2, offset h
        (2, 2, 0.125, 0.125, 3 / 32, 0, 0),  # 14: the missing half is JUMP_NOISE slopes
        (2, 2, 0.125, 0.125, 0, 4, 0),  # 15: the jump at h equals the tolerance
        (3, -3, 1, -0.75, 0, 0.25, 3.75),  # 16: the claim at the widened top (a sum)
        (2, -2, 1, -1, 0, 0.25, -0.25),  # 17: 2t: the widened bottom is 0 − tol
        (2, -2, 1, -1, 0, 0.25, 4.5),  # 18: ... and past the top 2·2 + tol
        (2, 2, 0.125, 0.125, 1 / 16, 0, 0),  # 19: row 13 with |jump(h/2) − jump(h)/2| > noise
        (1, 0.75, 0.5, 0.25, 2**-9, 0, -1.5),  # 20: row 9 past its widened bottom
        (1, -2, 1, -1, 0, 0, 5),  # 21: the widened top is the extrapolated slopes' sum
        (2, -2, 1, -1, 0, 0.25, -0.5),  # 22: row 17 below its widened bottom
        (0, 1, 0, 0.75, 0, 0, 0),  # 23: row 10 mirrored: an offset of 1 clipped to h/2
    )

    def test_every_field(self) -> None:
        rows = np.array(self.ROWS, dtype=np.float64)
        dp, dm, dp2, dm2 = (1.0 + 4 * rows[:, k] for k in range(4))
        n = len(rows)
        site = _kinks.locate(
            dp,
            dm,
            dp2,
            dm2,
            j0=1.0,
            h=np.full(n, 4.0),
            sigma=4 * rows[:, 4],
            tol=rows[:, 5],
            analytic=rows[:, 6],
        )
        kinks = {1, 3, 5, 6, 7, 8, 9, 10, 11, 13, 16, 19, 20, 21, 23}
        assert site.kink.tolist() == [i in kinks for i in range(n)]
        assert site.at_point.tolist() == [i in {1, 3, 5, 6} for i in range(n)]
        nan = np.nan
        offset = [nan, 0, nan, 0, nan, 0, 0, 0.5, 4 / 3, -4 / 3, -2, -np.inf, nan, 4, nan, nan]
        assert np.array_equal(
            site.offset, [*offset, -2, nan, nan, 4, -4 / 3, 4, nan, 2], equal_nan=True
        )
        brackets = [True] * 6 + [False, True, True, False, True, True] + [True] * 4
        assert site.bracketed.tolist() == [*brackets, False, False, False, True] + [False] * 3 + [
            True
        ]
        assert site.off.tolist() == [True] * 18 + [False, True, False, True, False, True]
        slopes = np.array(
            [[-1.5, 1.5], [-1.75, 1.75], [-0.5, 0.5], [-0.5, 0.5], [-2, 2], [-2, 2]]
            + [[-1, 0.5]] * 3
            + [[-0.5, 1], [0, 1.5], [0, 2]]
            + [[-0.5, 0.5]]
            + [[-0.25, 0.25]] * 3
            + [[1.5, 2], [2, 2], [2, 2], [-0.25, 0.25], [-0.5, 1], [2, 2], [2, 2], [-1.5, 0]]
        )
        assert site.slopes.tolist() == slopes.tolist()


def _max_pool(seed: int) -> tuple[np.ndarray, Callable[[Any], float], Callable[[Any], Any]]:
    """``v · max over rows of x + 0.1 Σ sin x`` with x on a grid of 0.5: ties in a row
    (the benchmark's "max-pool ties" family, smaller)."""
    rng = np.random.default_rng(seed)
    x = 0.5 * rng.integers(-2, 3, (4, 3)).astype(np.float64)
    v = rng.standard_normal(4)

    def cost(p: np.ndarray) -> float:
        return float(v @ np.max(p, axis=1) + 0.1 * np.sum(np.sin(p)))

    def grad(p: np.ndarray) -> np.ndarray:
        first = np.zeros_like(p)
        first[np.arange(p.shape[0]), np.argmax(p, axis=1)] = 1
        return first * v[:, None] + 0.1 * np.cos(p)

    return x, cost, grad


class TestBoundWithTies:
    """Benchmark "max-pool ties" seeds 157, 210, 305, 383: an error of 1.1× the stated
    bound planted at an entry left at a kink passed (kept out of the verdict). A
    parameter with such an entry states no bound; where the nearby points settle every
    tie, the bound holds at every entry."""

    @pytest.mark.parametrize("seed", [0, 1, 4, 6])
    def test_settled_ties_every_entry_caught_or_no_bound(self, seed: int) -> None:
        x, cost, grad = _max_pool(seed)
        clean = gradcheck.check(cost, x, grad)
        assert clean.status == "passed", str(clean)
        result = clean.parameters["x"]
        if result.nonsmooth:
            assert result.detection_bound == np.inf
            return
        g = grad(x)
        size = 1.1 * result.detection_bound * float(np.max(np.abs(g)))
        for i in range(x.size):
            e = np.zeros(x.size)
            e[i] = size if i % 2 else -size
            err = e.reshape(x.shape)
            report = gradcheck.check(cost, x, lambda p, err=err: grad(p) + err)
            assert report.status == "failed", f"x.flat[{i}]: {size:g}\n{report}"

    @pytest.mark.parametrize("seed", [0, 1, 4, 5])
    def test_unsettled_ties_state_no_bound(self, seed: int) -> None:
        x, cost, grad = _max_pool(seed)
        report = gradcheck.check(cost, x, grad(x))  # precomputed: no nearby points
        result = report.parameters["x"]
        assert result.nonsmooth > 0, str(report)
        assert result.detection_bound == np.inf
        assert any("sit at a kink" in m for m in report.messages)


class TestMessages:
    """The kink line says what became of the re-check at nearby points (issue 11 §6)."""

    def test_grad_as_values_says_pass_a_function(self) -> None:
        cost, p, grad = relu_net(0)
        report = gradcheck.check(cost, p, grad(p))
        line = next(m for m in report.messages if "outside their one-sided slopes" in m)
        assert "grad was given as values" in line and "pass grad as a function" in line

    def test_ran_but_unsettled_does_not_ask_for_a_function(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(_nearby, "TRIES", 1)  # one move leaves this draw unsettled
        cost, p, grad = dead_units(5)
        report = gradcheck.check(cost, p, grad)
        assert report.status == "inconclusive", str(report)
        lines = [m for m in report.messages if "outside their one-sided slopes" in m]
        assert lines and all("pass grad as a function" not in m for m in lines)
        assert all("re-checked at nearby smooth points, they still sat" in m for m in lines)
        assert any("could not be resolved there either" in m for m in report.messages)

    def test_failed_recheck_gives_its_reason(self) -> None:
        cost, p, grad = relu_net(0)
        calls: list[int] = []

        def once(q: Params) -> Params:
            calls.append(1)
            g = grad(q)
            return g if len(calls) == 1 else {**g, "b2": g["b2"][:2]}  # wrong shape later

        report = gradcheck.check(cost, p, once)
        assert report.status == "inconclusive", str(report)
        line = next(m for m in report.messages if "outside their one-sided slopes" in m)
        assert "re-checking them at a nearby smooth point failed:" in line
        assert "'b2'" in line and "pass grad as a function" not in line
        assert not any("re-checked" in m for m in report.messages)

    def test_failed_recheck_without_loose_entries_has_its_own_line(self) -> None:
        c = _comparison(["nonsmooth", "ok"], bracketed=[True, False], nearby="grad raised")
        lines = _kinks.messages("w", c)
        assert len(lines) == 2 and "kept out of the verdict" in lines[0]
        assert lines[1] == "w: could not re-check its kink entries at a nearby point: grad raised"

    @pytest.mark.parametrize(
        ("nearby", "says"),
        [
            ("", "grad was given as values"),
            (_kinks.RAN, "they still sat at a kink at every one (see w's re-check note)"),
            ("boom", "re-checking them at a nearby smooth point failed: boom"),
        ],
    )
    def test_every_branch(self, nearby: str, says: str) -> None:
        c = _comparison(["nonsmooth", "nonsmooth", "ok"], [False, True, False], nearby)
        (line,) = _kinks.messages("w", c)
        assert line.startswith("w: 2 entries sit at a kink") and "1 of them lie outside" in line
        assert says in line
        assert ("pass grad as a function" in line) == (nearby == "")

    def test_no_kinks_no_lines(self) -> None:
        assert _kinks.messages("w", _comparison(["ok", "wrong"], [False, False], _kinks.RAN)) == []


def _comparison(status: list[str], bracketed: list[bool], nearby: str) -> cmp.Comparison:
    n = len(status)
    zeros = np.zeros(n)
    return cmp.Comparison(
        numeric=zeros,
        abs_error=zeros,
        tolerance=np.ones(n),
        fd_error=zeros,
        status=np.array(status),
        reach=zeros,
        flat=np.zeros(n, dtype=bool),
        scale=1.0,
        kink=np.where(np.array(status) == "nonsmooth", 0.0, np.nan),
        bracketed=np.array(bracketed),
        nearby=nearby,
    )


class TestStraddled:
    def test_only_uncertain_entries_off_theta_at_a_finite_kink(self) -> None:
        # rule 3 re-examines an uncertain entry with a kink at a finite offset ≠ 0 only
        kink = [0.5, 0.5, np.nan, 0.0, np.inf, -0.25, 0.5, 1.0]
        status = ["uncertain", "ok", "uncertain", "uncertain", "uncertain", "uncertain", "wrong"]
        c = _comparison([*status, "uncertain"], [False] * 8, "")
        c.kink = np.array(kink)
        assert _kinks._straddled(c).tolist() == [0, 5, 7]


class TestTableEstimates:
    def test_the_whole_and_its_halves(self) -> None:
        # the halves are J(θ + kδ) for k = −3..0 and 0..3, each one third difference
        # over √C(6, 3) = √20: here 0 and 20 / √20
        values = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 20.0])
        got = _kinks._table_estimates(values)
        assert got.whole == noise_from_table(values)
        assert got.low == 0.0
        assert got.high == pytest.approx(np.sqrt(20.0), rel=1e-15)
        flipped = _kinks._table_estimates(values[::-1].copy())
        assert flipped.low == 0.0 and flipped.high == got.high


class TestMessagesReadWhole:
    """``messages``, ``_unjudged`` and ``unbracketed`` read whole, for each branch."""

    STATUS: ClassVar[list[str]] = ["nonsmooth", "nonsmooth", "nonsmooth", "ok", "wrong"]
    TAIL = (
        "; 2 of them lie outside their one-sided slopes, which finite differences at "
        "this point cannot judge (several kinks meeting here, such as samples' ReLU "
        "pre-activations at exactly 0, can put the framework's convention there, and "
        "so can a wrong gradient): "
    )
    HEAD = (
        "w: 3 entries sit at a kink (one-sided derivatives differ); they are kept out "
        "of the verdict"
    )

    def test_values_without_a_nearby_point(self) -> None:
        c = _comparison(self.STATUS, [True, False, False, False, False], "")
        assert _kinks.unbracketed(c) == 2
        assert _kinks.messages("w", c) == [
            self.HEAD
            + self.TAIL
            + "grad was given as values, so they were not re-checked at a nearby smooth "
            "point; pass grad as a function to do that"
        ]

    def test_after_the_nearby_points_ran(self) -> None:
        c = _comparison(self.STATUS, [True, False, False, True, False], _kinks.RAN)
        assert _kinks.unbracketed(c) == 2  # an ok entry outside its slopes is no kink's
        assert _kinks.messages("w", c) == [
            self.HEAD
            + self.TAIL
            + "re-checked at nearby smooth points, they still sat at a kink at every one "
            "(see w's re-check note), or agreed there, which says nothing of their value "
            "at this point"
        ]

    def test_when_the_nearby_points_failed(self) -> None:
        c = _comparison(self.STATUS, [True, False, False, False, False], "the cost raised")
        assert _kinks.messages("w", c) == [
            self.HEAD
            + self.TAIL
            + "re-checking them at a nearby smooth point failed: the cost raised"
        ]
        bracketed = _comparison(self.STATUS, [True] * 5, "the cost raised")
        assert _kinks.unbracketed(bracketed) == 0
        assert _kinks.messages("w", bracketed) == [
            self.HEAD,
            "w: could not re-check its kink entries at a nearby point: the cost raised",
        ]
        assert _kinks.messages("w", _comparison(["nonsmooth"], [True], _kinks.RAN)) == [
            "w: 1 entries sit at a kink (one-sided derivatives differ); they are kept out "
            "of the verdict"
        ]
        assert _kinks.messages("w", _comparison(["ok"], [False], "why")) == [
            "w: could not re-check its kink entries at a nearby point: why"
        ]
        assert _kinks.messages("w", _comparison(["nonsmooth"], [True], "")) == [
            "w: 1 entries sit at a kink (one-sided derivatives differ); they are kept out "
            "of the verdict"
        ]


class TestResolutionAndSteps:
    def test_below_resolution_bounds_met_exactly(self) -> None:
        # the wider table's steepest secant (1, either way) over the narrower's width,
        # SHRINK times narrower: (n − 1)/64; a span of RESOLUTION times that is still
        # continuous, a larger one is not
        wider = np.arange(7.0)
        for w in (wider, -wider):
            assert not _kinks.below_resolution(w, np.array([0.0, 0, 0, 0, 0, 0, 0.1875]))
            assert _kinks.below_resolution(w, np.array([0.0, 0, 0, 0, 0, 0, 0.25]))
            assert not _kinks.below_resolution(w, np.array([0.0, 0.09375, 0, 0]))
            assert _kinks.below_resolution(w, np.array([0.0, 0.125, 0, 0]))
            assert not _kinks.below_resolution(w, np.array([-0.09375, 0.09375, 0, 0, 0, 0, 0]))

    def test_exact_steps(self) -> None:
        theta = np.array([1.0, 1.0, 1.0, 2.0**-20])
        h = np.array([1e-8, 2.0**-20, 3e-7, 2.0**-30])
        got = _kinks.exact_steps(theta, h, np.float32)
        assert got.dtype == np.float64
        assert got.tolist() == [0.0, 2.0**-20, 3 * 2.0**-23, 2.0**-30]
        exact = _kinks.exact_steps(theta, h, np.float64)
        assert exact.dtype == np.float64
        assert exact.tolist() == [
            float((1.0 + 1e-8) - 1.0),
            2.0**-20,
            float((1.0 + 3e-7) - 1.0),
            2.0**-30,
        ]


class _Kinked:
    """The fields of a comparison that ``resolve`` reads and writes."""

    def __init__(self, kink: list[float], status: list[str]) -> None:
        self.kink = np.array(kink, dtype=np.float64)
        self.status = np.array(status, dtype=object)

    def subset(self, where: Array) -> _Kinked:
        return _Kinked(self.kink[where].tolist(), self.status[where].tolist())

    def replace(self, where: Array, other: _Kinked) -> None:
        self.kink[where], self.status[where] = other.kink, other.status


class TestResolveReadWhole:
    def test_levels_steps_and_what_each_keeps(self) -> None:
        # float32 entries at 1: a kink 1.2e-6 off (resolved at the first level), a right
        # entry, one within spacings of θ (no step: at θ), one still straddled at every
        # level (uncertain after LEVELS), one whose smaller steps see no kink (kept as a
        # kink entry, for rule 5)
        kink = [1.2e-6, np.nan, 1e-9, 8 * 2.0**-20, 2.0**-18]
        status = ["uncertain", "ok", "uncertain", "uncertain", "uncertain"]
        comp = _Kinked(kink, status)
        calls: list[tuple[list[int], list[float]]] = []

        def measure(k: Array, hk: Array) -> _Kinked:
            calls.append((k.tolist(), hk.tolist()))
            found = {0: (np.nan, "ok"), 4: (np.nan, "uncertain")}
            rows = [found.get(int(i), (float(h), "uncertain")) for i, h in zip(k, hk)]
            return _Kinked([r[0] for r in rows], [r[1] for r in rows])

        theta = np.ones(5, dtype=np.float32)
        out = _kinks.resolve(comp, theta, np.float32, measure)  # type: ignore[arg-type]
        assert calls == [
            ([0, 3, 4], [3 * 2.0**-23, 2.0**-19, 2.0**-20]),
            ([3], [2.0**-21]),
            ([3], [2.0**-23]),
        ]
        assert out.status.tolist() == ["ok", "ok", "nonsmooth", "uncertain", "uncertain"]
        assert np.array_equal(out.kink, [np.nan, np.nan, 0.0, 2.0**-23, 2.0**-18], equal_nan=True)
        assert comp.status.tolist() == status  # the caller's comparison is left as it was
        assert np.array_equal(comp.kink, kink, equal_nan=True)


class TestTableNoiseBounds:
    def test_a_whole_exactly_kinked_times_rougher_is_kept(self) -> None:
        # both halves' third differences are 1 (smooth halves); the whole's estimate is
        # exactly KINKED times theirs: not rougher than KINKED, so the whole's is kept
        values = np.array([0.0, 0.0, 0.0, 1.0, -246.0, -790.0, -1630.0])
        est = _kinks._table_estimates(values)
        assert est.low == est.high and est.whole == _kinks.KINKED * est.high
        calls: list[float] = []

        def table(shrink: float) -> Array:
            calls.append(shrink)
            return values

        assert _kinks.table_noise(table) == est.whole
        assert calls == [1.0]

    def test_at_most_narrower_tables(self) -> None:
        # one half rough at every width (a kink off θ that each narrower table still
        # holds), never below the cost's resolution: 1 + NARROWER tables, the least kept
        calls: list[float] = []

        def table(shrink: float) -> Array:
            calls.append(shrink)
            return np.array([0.0, 0, 0, 0, 0, 0, 1]) * shrink

        expected = noise_from_table(np.array([0.0, 0, 0, 0, 0, 0, 1]) * _kinks.SHRINK**-3)
        assert _kinks.table_noise(table) == expected
        assert calls == [_kinks.SHRINK**-k for k in range(_kinks.NARROWER + 1)]


class TestStepsAcrossZero:
    """Rule 7 (F12): steps relative to the parameter's rms reach across 0 at an entry far
    below it, over a pole there; the estimate came from the other branch, and a correct
    gradient failed as "wrong sign and off by a factor"."""

    @pytest.mark.parametrize("tiny", [1.1e-8, -3e-9, 2e-7, 5e-10])
    @pytest.mark.parametrize("method", ["central", "forward", "richardson"])
    def test_a_correct_gradient_at_a_pole_is_not_failed(self, tiny: float, method: str) -> None:
        x = np.array([tiny, 2.0])
        grad = np.array([-1 / tiny**2, 0.0])
        report = gradcheck.check(lambda p: float(1.0 / p[0]), x, grad, method=method)
        assert report.status != "failed", str(report)
        assert all(e.status != "wrong" for e in report.worst), str(report)

    @pytest.mark.parametrize("seed", [0, 1, 2])
    def test_the_reproducer_passes_and_says_why(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        x = np.concatenate([[1.1e-8], rng.uniform(1, 3, 4)])
        report = gradcheck.check(lambda p: float(np.sum(1.0 / p)), x, -1 / x**2, seed=seed)
        assert report.status == "passed", str(report)
        assert any("reached across 0" in m for m in report.messages), str(report)

    @pytest.mark.parametrize("factor", [2.0, -1.0, 1.001])
    @pytest.mark.parametrize("tiny", [1.1e-8, -3e-9])
    def test_a_wrong_gradient_at_the_pole_fails(self, factor: float, tiny: float) -> None:
        x = np.array([tiny, 2.0, -1.5])
        grad = -1 / x**2
        grad[0] *= factor
        report = gradcheck.check(lambda p: float(np.sum(1.0 / p)), x, grad)
        assert report.status == "failed", str(report)
        assert [e.label() for e in report.worst if e.status == "wrong"] == ["x[0]"]

    @pytest.mark.parametrize("tiny", [1e-9, -4e-8, 0.0])
    def test_a_wrong_entry_far_below_the_rms_of_a_smooth_cost_is_caught(self, tiny: float) -> None:
        x = np.array([tiny, 2.0, -1.5])
        wrong = np.cos(x) * np.array([1.5, 1.0, 1.0])
        report = gradcheck.check(lambda p: float(np.sum(np.sin(p))), x, wrong)
        assert report.status == "failed", str(report)
        assert [e.label() for e in report.worst if e.status == "wrong"] == ["x[0]"]

    def test_abs_just_beside_its_kink_is_judged_on_its_side(self) -> None:
        # |θ| at 1e-8 beside entries of 1: the steps straddle the kink at 0; on θ's
        # side the derivative is 1, and that is what is checked
        x = np.array([1e-8, 1.0, -2.0])
        assert gradcheck.check(lambda p: float(np.sum(np.abs(p))), x, np.sign(x)).status == (
            "passed"
        )
        wrong = np.sign(x)
        wrong[0] = 0.5
        assert gradcheck.check(lambda p: float(np.sum(np.abs(p))), x, wrong).status == "failed"


@pytest.mark.parametrize("method", ["central", "forward", "richardson"])
def test_a_subnormal_entry_beside_normal_ones_is_not_restepped(method: str) -> None:
    # rule 7's own-side step of a subnormal entry would be subnormal too (and overflowed)
    w = np.array([[0.0, 0.0, 0.0], [0.0, 2.22507386e-313, 1.0]])
    report = gradcheck.check(lambda p: float(np.sum(np.sin(p))), w, np.cos(w), method=method)
    assert report.status == "passed", str(report)


class TestAnUncertainEntryAcrossZero:
    """attack20 P6: ``log|θ|`` and ``sqrt|θ|`` at a tiny entry beside O(1) ones: the
    first steps reach across 0 and leave the entry ``uncertain`` (a branch's spread, not
    a pole's jump), so rule 7 kept it; right and ×2 claims were both inconclusive, with
    the false note that the gradient is zero at every entry. The own-side estimate now
    judges an entry the first steps left uncertain."""

    CASES: ClassVar[dict[str, tuple[Any, Any]]] = {
        "log": (lambda p: float(np.sum(np.log(np.abs(p)))), lambda x: 1 / x),
        "sqrt": (
            lambda p: float(np.sum(np.sqrt(np.abs(p)))),
            lambda x: 0.5 * np.sign(x) / np.sqrt(np.abs(x)),
        ),
    }

    @pytest.mark.parametrize("tiny", [1.1e-8, -3e-10, 1e-13])
    @pytest.mark.parametrize("case", ["log", "sqrt"])
    def test_the_right_claim_passes_and_wrong_ones_fail(self, tiny: float, case: str) -> None:
        cost, grad = self.CASES[case]
        x = np.array([2.0, tiny, -1.5])
        right = gradcheck.check(cost, x, grad(x))
        assert right.status == "passed", str(right)
        assert any("reached across 0" in m for m in right.messages), str(right)
        for factor in (2.0, -1.0, 1.01):
            g = grad(x)
            g[1] *= factor
            report = gradcheck.check(cost, x, g)
            assert report.status == "failed", f"×{factor}\n{report}"
            assert [e.label() for e in report.worst if e.status == "wrong"] == ["x[1]"]
            assert not any("zero to within" in m for m in report.messages), str(report)

    @pytest.mark.parametrize("method", ["forward", "richardson"])
    @pytest.mark.parametrize("case", ["log", "sqrt"])
    def test_other_methods_never_pass_a_doubled_entry(self, method: str, case: str) -> None:
        cost, grad = self.CASES[case]
        x = np.array([2.0, 1.1e-8, -1.5])
        assert gradcheck.check(cost, x, grad(x), method=method).status != "failed"
        g = grad(x)
        g[1] *= 2.0
        assert gradcheck.check(cost, x, g, method=method).status == "failed"

    def test_a_smooth_cost_keeps_its_verdict(self) -> None:
        # x² at a tiny entry: the own-side step drowns in round-off, and stays unused
        x = np.array([2.0, 1.1e-8, -1.5])
        report = gradcheck.check(lambda p: float(np.sum(p * p)), x, 2 * x)
        assert report.status == "passed", str(report)
        assert not any("reached across 0" in m for m in report.messages), str(report)


def _double_kink(p: Params) -> float:
    """scipy's test_absolute_step_sign: −|x0 + 1| + |x1 + 1|, both kinks at [−1, −1]."""
    return float(-np.abs(p["x"][0] + 1) + np.abs(p["x"][1] + 1))


class TestAtThetaWithoutNoise:
    """attack27 H43: a noiseless piecewise-linear cost put its double kink "off θ"."""

    def test_double_kink_values_outside_name_the_slopes_not_noise(self) -> None:
        # σ = 0 (a piecewise-linear cost): T rounded to 1e-17 put the kink "off θ", and
        # the entry was left "could not be resolved: the cost's noise (0) ... swamps"
        p = {"x": np.array([-1.0, -1.0])}
        report = gradcheck.check(_double_kink, p, {"x": np.array([3.0, 3.0])})
        assert report.status == "inconclusive", str(report)
        assert report.parameters["x"].nonsmooth == 2
        assert any("2 of them lie outside their one-sided slopes" in m for m in report.messages)
        assert not any("could not be resolved" in m for m in report.messages)

    def test_a_kink_within_spacings_of_theta_is_at_theta(self) -> None:
        class Fake:
            def __init__(self, kink: float) -> None:
                self.kink = np.array([kink])
                self.status = np.array(["uncertain"], dtype=object)

            def subset(self, where: Array) -> Fake:
                out = Fake(0.0)
                out.kink, out.status = self.kink[where].copy(), self.status[where].copy()
                return out

            def replace(self, where: Array, other: Fake) -> None:
                raise AssertionError("no smaller step exists")

        out = _kinks.resolve(Fake(-5.6e-17), np.array([-1.0]), np.float64, lambda k, h: Fake(0))
        assert (out.status.tolist(), out.kink.tolist()) == (["nonsmooth"], [0.0])
