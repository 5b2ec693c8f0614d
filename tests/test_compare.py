"""The per-entry comparison: the reach (detection bound) each entry states, checked by
planting errors at it, and the verdicts on noisy, flat, coarse and exactly-zero entries
(the record and its rules: test_comparison.py; the noise: test_quotients.py)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import gradcheck
from gradcheck import _compare as cmp


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
