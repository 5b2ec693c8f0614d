"""``gradcheck._jacdir``: the projections' shared finite differences."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import gradcheck
from gradcheck._jacdir import (
    SHARE_NOISE,
    SHARE_RANGE,
    SHARE_RULE,
    cotangent,
    flat_step,
    probe_points,
    taken_step,
)
from gradcheck._tolerances import unit_roundoff

Array = np.ndarray[Any, Any]
U64 = unit_roundoff(np.float64)


class TestCotangent:
    def test_every_output_gets_an_equal_share(self) -> None:
        z = np.array([1.0, -2.0, 0.5])
        change = np.array([1e3, 1.0, -1e-3])  # within SHARE_RULE·√u of the largest
        u = cotangent(z, change, np.full(3, U64), np.array([1e3, 1.0, 1e-6]))
        assert np.allclose(np.abs(u * change) / np.abs(z), abs(u[0] * change[0] / z[0]))

    @pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
    def test_an_output_below_the_rules_roundoff_takes_no_larger_weight(self, dtype: Any) -> None:
        # attack24 F1: R's structurally zero entry (value 0, change 0) took the weight 1,
        # every other output 1e-12, and the rule's round-off there decided the fold
        u_out = unit_roundoff(dtype)
        change = np.array([2.0, 0.0, 1e-40, -1.0])  # outputs 1 and 2 do not move
        f0 = np.array([1e-12, 0.0, 1e-20, 1e-12])  # below every value floor
        u = cotangent(np.ones(4), change, np.full(4, u_out), f0)
        cap = 2.0 / (SHARE_RULE * np.sqrt(u_out) * 2.0)
        assert u[1] == pytest.approx(cap * u[0]) and u[2] == pytest.approx(cap * u[0])
        assert u[3] == pytest.approx(2 * u[0])  # a moving output keeps its fair share

    @pytest.mark.parametrize("ratio", [1e-6, 1e-10, 1e-12])  # down to SHARE_RANGE
    def test_an_output_that_moves_keeps_its_share_however_small(self, ratio: float) -> None:
        # attack25 G6: cat(S·sin x, cos x) with the S part's rule x2 wrong passed at
        # S = 1e-14 while that part's weight was floored with the structural zeros'
        change, f0 = np.array([1.0, ratio]), np.array([1e-12, 0.5 * ratio])
        u = cotangent(np.ones(2), change, np.full(2, U64), f0)
        assert u[1] == pytest.approx(u[0] / ratio)

    def test_an_output_that_does_not_move_is_weighted_at_its_roundoff(self) -> None:
        z, f0 = np.array([1.0, 1.0]), np.array([1.0, 1e3])
        u = cotangent(z, np.array([1.0, 0.0]), np.full(2, U64), f0)
        assert u[1] / u[0] == pytest.approx(1.0 / (SHARE_NOISE * 2 * U64 * 1e3))

    def test_the_range_of_weights_is_bounded(self) -> None:
        u = cotangent(np.ones(2), np.array([1.0, 0.0]), np.zeros(2), np.zeros(2))
        assert u[1] / u[0] == pytest.approx(1 / SHARE_RANGE)

    def test_nothing_moves(self) -> None:
        z = np.array([0.3, -0.4])
        assert cotangent(z, np.zeros(2), np.zeros(2), np.zeros(2)).tolist() == z.tolist()


def _plain_cotangent(z: Array, change: Array, ru: Array, f0: Array) -> Array:
    """The fair share by the module doc's formulas, one fresh array per step."""
    s = np.maximum(np.abs(f0) * (SHARE_NOISE * 2 * ru), np.abs(change))
    top = float(s.max())
    if not top > 0 or not np.isfinite(top):
        return z
    s = np.maximum(s, SHARE_RANGE * top)
    rounding, moved = np.abs(f0) * (2.0 * ru), np.abs(change)
    still = moved <= rounding
    if still.any():
        floor = SHARE_RULE * s[int(np.argmax(moved))] * np.sqrt(ru)
        s = np.where(still, np.maximum(s, floor), s)
    return z * (float(s.max()) / s)


class TestCotangentSameValues:
    """``cotangent`` computes in place, skips a pass for the largest scale and takes one
    round-off for every output: the same bits as the plain formulas."""

    @pytest.mark.parametrize("seed", range(5))
    def test_as_the_plain_formulas(self, seed: int) -> None:
        r = np.random.default_rng(seed)
        f0 = r.standard_normal(200) * 10.0 ** r.integers(-20, 5, 200)
        change = r.standard_normal(200) * 10.0 ** r.integers(-30, 2, 200)
        change[::7] = 0.0  # outputs that do not move
        z = r.standard_normal(200)
        ru = np.full(200, U64)
        want = _plain_cotangent(z, change, ru, f0)
        assert cotangent(z, change, ru, f0).tolist() == want.tolist()
        assert cotangent(z, change, U64, f0).tolist() == want.tolist()

    def test_the_largest_scale_is_a_still_outputs(self) -> None:
        # output 0 does not move, but its round-off scale 2e10·u·1e8 is the largest
        f0, change = np.array([1e8, 1.0, 1.0]), np.array([0.0, 1e-3, 2e-3])
        z = np.array([1.0, -1.0, 0.5])
        for dtype in (np.float64, np.float32, np.float16):
            ru = np.full(3, unit_roundoff(dtype))
            want = _plain_cotangent(z, change, ru, f0)
            assert cotangent(z, change, ru, f0).tolist() == want.tolist()
            assert cotangent(z, change, float(ru[0]), f0).tolist() == want.tolist()

    def test_mixed_roundoffs_stay_per_output(self) -> None:
        ru = np.array([U64, unit_roundoff(np.float32), U64])
        f0, change, z = np.array([1.0, 1.0, 1e-3]), np.array([0.0, 1e-9, 0.5]), np.ones(3)
        want = _plain_cotangent(z, change, ru, f0)
        assert cotangent(z, change, ru, f0).tolist() == want.tolist()


def test_probe_points_and_their_step() -> None:
    w = [np.array([1.0, 2.0]), np.array([3.0])]
    points = probe_points(w)
    assert [d.factor for d in points[1]] == [-1.0, -1.0]
    assert flat_step(points[0], [2, 1]).tolist() == [1.0, 2.0, 3.0]
    assert flat_step(points[2], [2, 1]).tolist() == [0.5, 1.0, 1.5]


class TestTakenStep:
    """The rows' actual step: ``θ ± w`` rounds, by up to half an ulp of ``θ``."""

    def test_in_place_of_the_callers_step(self) -> None:
        # own=True: the caller's float64 w becomes the taken step (no copy), the same
        # numbers as the copy gives; int leaves keep their part of w
        rng = np.random.default_rng(2)
        x = rng.standard_normal(40) * 10.0 ** rng.integers(-8, 8, 40)
        leaves = [x, x[:10].astype(np.float32), np.arange(3)]
        w = np.concatenate([rng.standard_normal(50) * 1e-6, [0.5, 1.0, 2.0]])
        want = taken_step(leaves, w)
        mine = w.copy()
        got = taken_step(leaves, mine, own=True)
        assert got is mine and got.tolist() == want.tolist()
        assert w.tolist() != want.tolist()  # it did move: the test reads the copy

    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    def test_it_is_the_richardson_combination_of_the_rounded_points(self, dtype: Any) -> None:
        x = np.array([30 * np.pi, 0.0, -7.0, 1e-3], dtype=dtype)
        w = np.array([1e-9, 1e-9, 3e-6, 1e-20])
        got = taken_step([x], w)

        def s(t: Array) -> Array:
            base = x.astype(np.float64)
            return np.asarray((base + t).astype(dtype).astype(np.float64) - base)

        want = (4 / 3) * (s(w / 2) - s(-w / 2)) - (s(w) - s(-w)) / 6
        assert got.tolist() == want.tolist()
        eps = float(np.finfo(dtype).eps)
        assert got[1] == pytest.approx(w[1], rel=2 * eps, abs=0)  # at θ = 0: w's own rounding
        ulp = np.spacing(np.abs(x).astype(dtype)).astype(np.float64)
        assert np.all(np.abs(got - w) <= 2 * ulp + 2 * eps * np.abs(w))
        assert got[0] != w[0]  # 1e-9 at 94: not a multiple of its ulp

    @pytest.mark.parametrize("seed", [0, 1, 2])
    @pytest.mark.parametrize("scale", [1e-200, 1e-3, 1.0, 1e3, 1e200])
    def test_float64_in_place_is_the_formula_bit_for_bit(self, seed: int, scale: float) -> None:
        rng = np.random.default_rng(seed)
        x = rng.standard_normal(1000) * scale
        x[:3] = 0.0, 30 * np.pi * scale, -7.0 * scale
        w = rng.standard_normal(1000) * scale * 10.0 ** rng.integers(-12, -2, 1000)

        def s(t: Array) -> Array:
            return np.asarray((x + t) - x)

        want = (4 / 3) * (s(w / 2) - s(-w / 2)) - (s(w) - s(-w)) / 6
        got = taken_step([x.reshape(10, 100), np.array([1, 2])], np.concatenate([w, [0.5, 1.5]]))
        assert got[:1000].tobytes() == want.tobytes() and got[1000:].tolist() == [0.5, 1.5]
        assert not np.array_equal(got[:1000], w)  # the rounding is there to be seen

    def test_leaves_are_laid_end_to_end_and_non_float_leaves_keep_w(self) -> None:
        a, b = np.array([1.0, 2.0]), np.array([3, 4])
        w = np.array([0.25, 0.5, 1e-3, 2e-3])
        assert taken_step([a, b], w).tolist() == w.tolist()


def _qr_r_forms() -> dict[str, Any]:
    """R of a (wide) QR by torch, with torch's exact rules: R's entries below the
    diagonal are structurally 0, and the rules leave their round-off there."""
    import torch

    def r_of(t: Any) -> Any:
        return torch.linalg.qr(t)[1]

    def vjp(p: Array, u: Array) -> Array:
        _, pull = torch.func.vjp(r_of, torch.as_tensor(p))
        return np.asarray(pull(torch.as_tensor(u))[0].numpy())

    def jvp(p: Array, v: Array) -> Array:
        with warnings.catch_warnings():  # torch's first forward-mode QR: a jit deprecation
            warnings.simplefilter("ignore", DeprecationWarning)
            out = torch.func.jvp(r_of, (torch.as_tensor(p),), (torch.as_tensor(v),))[1]
        return np.asarray(out)

    def jac(p: Array) -> Array:
        return np.asarray(torch.autograd.functional.jacobian(r_of, torch.as_tensor(p)).numpy())

    def fn(p: Array) -> Array:
        return np.asarray(r_of(torch.as_tensor(p)).numpy())

    return {"fn": fn, "vjp": vjp, "jvp": jvp, "jacobian": jac}


class TestStructuralZeros:
    """attack24 F1: an output that is structurally 0 (R's entries below the diagonal
    of a wide QR) took the fold's whole weight, and did not move under the steps; the
    rules' round-off there failed a correct Jacobian in the directional mode."""

    @pytest.mark.parametrize("shape", [(2, 5), (3, 7), (2, 3)])
    @pytest.mark.parametrize("seed", range(4))
    @pytest.mark.parametrize("given", [("vjp",), ("jvp",), ("jacobian",), ("vjp", "jvp")])
    def test_right_rules_of_a_wide_qr_pass(
        self, shape: tuple[int, int], seed: int, given: tuple[str, ...]
    ) -> None:
        forms = _qr_r_forms()
        x = np.random.default_rng(seed).standard_normal(shape)
        kw = {k: forms[k] for k in given}
        report = gradcheck.check_jacobian(forms["fn"], x, mode="directional", **kw)
        assert report.status == "passed", report

    @pytest.mark.parametrize("seed", range(3))
    @pytest.mark.parametrize("plant", ["vjp x1.01", "vjp leak", "jvp x1.01", "jvp leak"])
    def test_planted_errors_still_fail(self, seed: int, plant: str) -> None:
        forms = _qr_r_forms()
        vjp, jvp = forms["vjp"], forms["jvp"]

        def bad_vjp(p: Array, u: Array) -> Array:
            if plant == "vjp leak":  # the zero output R[1, 0] leaks into x[0, 0]
                g = vjp(p, u).copy()
                g[0, 0] += 1e-6 * u[1, 0]
                return g
            u = u.copy()
            u[0, -1] *= 1.01
            return vjp(p, u)

        def bad_jvp(p: Array, v: Array) -> Array:
            y = jvp(p, v).copy()
            if plant == "jvp leak":  # 1e-9 of the largest output on the zero output
                y[1, 0] += 1e-9 * np.abs(y).max()
            else:
                y[0, -1] *= 1.01
            return y

        x = np.random.default_rng(seed).standard_normal((2, 5))
        kw = {"vjp": bad_vjp} if plant.startswith("vjp") else {"jvp": bad_jvp}
        report = gradcheck.check_jacobian(forms["fn"], x, mode="directional", **kw)
        assert report.status == "failed", report
