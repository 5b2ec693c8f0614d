"""``gradcheck._jacclaims``: the round-off of a ``jvp``/``jacobian`` form's own claims,
and the per-output rule's verdicts with it (attack35 H141, attack36 H162)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest

from gradcheck import check_hessian, check_jacobian
from gradcheck._jacclaims import (
    claim_allowance,
    claim_floor,
    fitted_noise,
    form_roundoff,
    unseen_note,
)
from gradcheck._numerics import CLAIM_ROUNDOFFS
from gradcheck._tolerances import unit_roundoff

Array = np.ndarray[Any, Any]
U32 = unit_roundoff(np.float32)


class TestFormRoundoff:
    X64 = np.array([0.1, 0.2, 0.3])

    def test_float32_claims_of_float64_parameters(self) -> None:
        claims = np.array([[0.3, -1.7]], dtype=np.float32).astype(np.float64)
        assert form_roundoff(claims, [self.X64]) == U32

    @pytest.mark.parametrize(
        "claims",
        [
            np.array([[0.3, -1.7]]),  # float64 numbers
            np.array([[0.5, -2.0, 0.0]]),  # float16 numbers too: simple values
            np.zeros((2, 0)),
        ],
    )
    def test_other_claims(self, claims: Array) -> None:
        assert form_roundoff(claims, [self.X64]) == 0.0

    @pytest.mark.parametrize("dtype", [np.float32, np.float16])
    def test_parameters_that_are_no_float64_ones(self, dtype: Any) -> None:
        claims = np.array([[0.3, -1.7]], dtype=np.float32).astype(np.float64)
        assert form_roundoff(claims, [self.X64.astype(dtype)]) == 0.0
        assert form_roundoff(claims, [self.X64.astype(dtype).astype(np.float64)]) == 0.0

    def test_one_float64_parameter_among_others_is_enough(self) -> None:
        claims = np.array([[0.3, -1.7]], dtype=np.float32).astype(np.float64)
        assert form_roundoff(claims, [np.ones(2, np.float32), self.X64]) == U32


def test_claim_floor_is_the_smallest_subnormal_times_the_largest_step() -> None:
    steps = [np.array([3.0, 4.0]), np.array([1.0, 0.0])]
    assert claim_floor(steps, 0.0) == CLAIM_ROUNDOFFS * 2.0**-1074 * 5.0
    assert claim_floor(steps, U32) == CLAIM_ROUNDOFFS * 2.0**-150 * 5.0
    assert claim_floor([], 0.0) == 0.0


def test_claim_allowance_covers_a_float32_products_rounding() -> None:
    rng = np.random.default_rng(0)
    n, m = 2000, 3000
    A = rng.standard_normal((m, n)) / np.sqrt(n)
    A32 = A.astype(np.float32)

    def apply(w: Array) -> Array:
        return np.asarray(A32 @ w.astype(np.float32), dtype=np.float64)

    steps = [rng.standard_normal(n) * 1e-5 for _ in range(2)]
    claims = np.array([apply(w) for w in steps])
    allowance = claim_allowance(apply, claims, steps, U32, seed=0)
    error = np.max(np.abs(claims - np.array([A @ w for w in steps])), axis=0)
    terms = np.max([np.sqrt((A**2) @ (w**2)) for w in steps], axis=0)
    assert np.all(error <= allowance)
    # it is the terms' size, not a multiple of the claims' (some 400 times smaller)
    ratio = allowance / (CLAIM_ROUNDOFFS * U32 * np.sqrt(n) * terms)
    assert ratio.min() > 0.05 and ratio.max() < 3.0


def test_claim_allowance_of_a_claim_of_inf_is_none() -> None:
    steps = [np.ones(3)]
    claims = np.array([[np.inf, 1.0]])
    got = claim_allowance(lambda w: np.array([np.inf, 1.0]), claims, steps, U32, seed=0)
    assert got[0] == 0.0 and got[1] > 0.0


def test_unseen_note_names_the_first_outputs_and_counts_the_rest() -> None:
    note = unseen_note(["out[0]", "out[1]"], 5, "jvp: ")
    assert note.startswith("jvp: not judged (J v against f's differences")
    assert "out[0], out[1] and 3 more; inconclusive" in note


def _dense(n: int, m: int, seed: int) -> tuple[Array, Array]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, n)) / np.sqrt(n), rng.standard_normal(n)


class TestFloat32Forms:
    """A derivative computed in float32 for float64 parameters, directional mode: each
    output is off by float32's rounding of its terms (attack35 H141: right FF)."""

    @staticmethod
    def forms(A: Array, factor: Array) -> dict[str, Any]:
        A32 = A.astype(np.float32)
        return {
            "jvp": lambda x, v: (
                (factor * np.cos(A @ x)).astype(np.float32) * (A32 @ v.astype(np.float32))
            ),
            "jacobian": lambda x: ((factor * np.cos(A @ x))[:, None] * A).astype(np.float32),
        }

    @pytest.mark.parametrize("form", ["jvp", "jacobian"])
    @pytest.mark.parametrize("seed", range(3))
    def test_right_form_passes_and_one_output_off_by_1e_3_fails(self, form: str, seed: int) -> None:
        A, x0 = _dense(300, 100, seed)
        factor = np.ones(100)
        right = self.forms(A, factor)[form]
        report = check_jacobian(
            lambda x: np.sin(A @ x), x0, seed=seed, mode="directional", **{form: right}
        )
        assert report.status == "passed", report.messages
        factor[40] = 1.001
        wrong = self.forms(A, factor)[form]
        report = check_jacobian(
            lambda x: np.sin(A @ x), x0, seed=seed, mode="directional", **{form: wrong}
        )
        assert report.status == "failed"
        assert any("out[40]" in m for m in report.messages), report.messages

    def test_an_elementwise_float32_jvp_at_many_outputs_passes(self) -> None:
        rng = np.random.default_rng(0)
        n = 20000
        x0, c = rng.standard_normal(n) * 10, rng.uniform(0.5, 2, n)

        def jvp(x: Array, t: Array) -> Array:
            return (c * np.cos(c * x)).astype(np.float32) * t.astype(np.float32)  # type: ignore[no-any-return]

        report = check_jacobian(lambda x: np.sin(c * x), x0, jvp=jvp, seed=0, mode="directional")
        assert report.status == "passed", report.messages

    @pytest.mark.parametrize("k", [1.5, 3.0])
    def test_the_jacobian_forms_stated_bound_holds(self, k: float) -> None:
        """An error of ``uᵀJ`` at ``k`` times the stated bound fails (the bound is the
        float32 claim's, ~1.8e-5)."""
        A, x0 = _dense(300, 8, 0)

        def jac(E: Any) -> Any:
            return lambda x: (np.cos(A @ x)[:, None] * A + E).astype(np.float32)

        def run(E: Any) -> Any:
            return check_jacobian(
                lambda x: np.sin(A @ x), x0, jacobian=jac(E), seed=0, mode="directional"
            )

        right = run(0.0)
        assert right.status == "passed"
        bound = right.parameters["uᵀout / x"].detection_bound
        assert 1e-6 < bound < 1e-4
        g = np.ones(8) / np.sqrt(8) @ (np.cos(A @ x0)[:, None] * A)
        d = np.random.default_rng(1).standard_normal(300)
        err = d / np.linalg.norm(d) * np.linalg.norm(g) * k * bound
        assert run(np.ones(8)[:, None] * err[None, :] / np.sqrt(8)).status == "failed"


class TestSubnormalJacobian:
    """``1e-300·sin(A x/X)``: with X = 1e20 its Jacobian is subnormal (1e-320, ~4 digits),
    with X = 1e100 it underflows to 0 while ``f`` moves (attack36 H162, right FFF)."""

    @staticmethod
    def case(X: float, seed: int) -> tuple[Any, Array, Any, Any, Any, Any]:
        rng = np.random.default_rng(seed)
        A = rng.standard_normal((6, 6))
        x0 = rng.standard_normal(6) * X
        S = 1e-300

        def fn(x: Array) -> Array:
            return S * np.sin(A @ (x / X))  # type: ignore[no-any-return]

        def J(x: Array) -> Array:
            return S * np.cos(A @ (x / X))[:, None] * A / X  # type: ignore[no-any-return]

        def cost(x: Array) -> float:
            return float(S * np.sum(np.cos(A @ (x / X))))

        def grad(x: Array) -> Array:
            return -S * A.T @ np.sin(A @ (x / X)) / X  # type: ignore[no-any-return]

        def H(x: Array) -> Array:
            return -S * A.T @ (np.cos(A @ (x / X))[:, None] * A) / X**2  # type: ignore[no-any-return]

        return fn, x0, J, cost, grad, H

    @pytest.mark.parametrize("seed", range(3))
    def test_subnormal_jacobian(self, seed: int) -> None:
        fn, x0, J, *_ = self.case(1e20, seed)
        right = check_jacobian(fn, x0, jvp=lambda x, t: J(x) @ t, mode="directional", seed=seed)
        assert right.status == "passed", right.messages
        doubled = check_jacobian(
            fn, x0, jvp=lambda x, t: 2 * J(x) @ t, mode="directional", seed=seed
        )
        assert doubled.status == "failed"

    @pytest.mark.parametrize("seed", range(3))
    def test_an_underflowed_jacobian_is_not_judged(self, seed: int) -> None:
        fn, x0, J, *_ = self.case(1e100, seed)
        report = check_jacobian(fn, x0, jvp=lambda x, t: J(x) @ t, mode="directional", seed=seed)
        assert report.status == "inconclusive"
        assert report.parameters["out along v"].status == "inconclusive"
        assert any(m.startswith("not judged (J v against f's differences") for m in report.messages)

    def test_an_underflowed_hessian_of_a_subnormal_gradient_is_not_failed(self) -> None:
        _, x0, _, cost, grad, H = self.case(1e20, 0)
        report = check_hessian(
            cost, x0, grad, hvp=lambda x, t: H(x) @ t, mode="directional", seed=0
        )
        assert report.status == "inconclusive"
        assert any(
            m.startswith("not judged (H v against grad's differences") for m in report.messages
        )


class TestNoiseInsideF:
    """Outputs still flagged after the allowances are judged again with their noise
    fitted through irregular points (attack38 H191: ``x − sin x`` and ``log cosh x``
    near 0 round by ``u`` times terms thousands of times ``|f_i|``, on a grid whose
    equally spaced values show no fourth difference: right jvps failed 3 and 6 checks
    in 10 at 10⁴ outputs)."""

    CASES: ClassVar[dict[str, tuple[Any, Any]]] = {
        "xsin": (lambda x: x - np.sin(x), lambda x: 1 - np.cos(x)),
        "logcosh": (lambda x: np.log(np.cosh(x)), np.tanh),
    }

    @pytest.mark.parametrize(
        ("name", "seed"), [("xsin", 1), ("xsin", 3), ("logcosh", 2), ("logcosh", 3)]
    )
    def test_a_right_jvp_passes_and_one_output_off_by_1e_8_fails(
        self, name: str, seed: int
    ) -> None:
        f, d = self.CASES[name]
        n = 10000
        x = np.random.default_rng(seed).standard_normal(n)
        report = check_jacobian(f, x, jvp=lambda x, t: d(x) * t, seed=seed, mode="directional")
        assert report.status == "passed", report.messages
        k = np.ones(n)
        k[n // 3] += 1e-8
        report = check_jacobian(f, x, jvp=lambda x, t: k * d(x) * t, seed=seed, mode="directional")
        assert report.status == "failed"
        assert any(f"out[{n // 3}]" in m for m in report.messages), report.messages

    def test_the_hvp_of_a_cancelling_gradient(self) -> None:
        x = np.random.default_rng(3).standard_normal(10000)

        def cost(x: Array) -> float:
            return float(np.sum(np.cos(x)) + 0.5 * np.sum(x**2))

        report = check_hessian(
            cost, x, lambda x: x - np.sin(x), hvp=lambda x, t: (1 - np.cos(x)) * t, seed=3
        )
        assert report.status == "passed", report.messages

    def test_fitted_noise_sees_a_quantised_value(self) -> None:
        """``log(cosh x)`` at ``x = 1e-3``: ``cosh`` rounds to ``2⁻⁵²``, a noise of about
        ``6e-17`` in values of 5e-7 (their own round-off: 1e-22)."""
        x = np.array([1e-3, 0.7])
        ev = lambda points: np.array(  # noqa: E731
            [np.log(np.cosh(x + sum(d.factor * d.values for d in p))) for p in points]
        )
        f0 = np.log(np.cosh(x))
        sigma = fitted_noise(ev, [x], f0, 2.0**-52, 0, np.full(2, 2.0**-53))
        assert 1e-17 < sigma[0] < 1e-15
