"""Differences along parameters a function is linear in (``gradcheck._jaclinear``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from gradcheck._compare import RECHECK, STAGE1
from gradcheck._jaclinear import NOISE_FACTOR, Linear, evaluated, linear_noise, linear_values
from gradcheck._jacobian import jacobian_check

Array = np.ndarray[Any, Any]


def _affine(seed: int, m: int, k: int) -> tuple[Array, Array, Array]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, k)), rng.standard_normal(m), rng.standard_normal(k)


class TestLinearValues:
    @pytest.mark.parametrize(
        "offsets", [STAGE1["central"], RECHECK["central"], STAGE1["richardson"], RECHECK["forward"]]
    )
    @pytest.mark.parametrize("seed", [0, 1, 2])
    def test_reflected_values_are_those_an_affine_function_gives(
        self, offsets: tuple[complex, ...], seed: int
    ) -> None:
        a, b, w = _affine(seed, 4, 3)
        h = np.full(3, 1e-3)
        asked: list[tuple[complex, ...]] = []

        def evaluate(offs: tuple[complex, ...]) -> Array:
            asked.append(offs)
            return np.stack(
                [
                    np.stack([a @ (w + np.real(o) * h[j] * np.eye(3)[j]) + b for o in offs])
                    for j in range(3)
                ]
            )

        f0 = a @ w + b
        got = linear_values(evaluate, offsets, f0, None)
        asked_for = tuple(offsets)
        want = evaluate(asked_for)
        assert got.shape == (3, len(offsets), 4)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-13)
        # only the offsets without their mirror image among those asked are evaluated
        assert all(np.real(o) > 0 or -o not in offsets for o in asked[0])
        assert len(asked[0]) == len(offsets) - sum(
            1 for o in offsets if np.real(o) < 0 and -o in offsets
        )

    @pytest.mark.parametrize("w", [1.0, -0.3, 2.5e3])
    def test_one_scalar_entry_costs_no_evaluation(self, w: float) -> None:
        g = np.array([0.7, -1.2, 3.0, 0.0])

        def evaluate(offs: tuple[complex, ...]) -> Array:
            raise AssertionError("evaluated")

        h = np.array([1e-4 * max(abs(w), 1.0)])
        got = linear_values(evaluate, STAGE1["central"], g * w, h / w)
        want = np.stack([g * (w + h[0]), g * (w - h[0])])[None]
        np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)  # no grain: 2500·g is
        # made of float16 numbers, and rounding to them would erase the step
        central = (got[0, 0] - got[0, 1]) / (2 * h[0])
        np.testing.assert_allclose(central, g, rtol=1e-9)

    def test_complex_offsets_are_all_evaluated(self) -> None:
        seen: list[tuple[complex, ...]] = []

        def evaluate(offs: tuple[complex, ...]) -> Array:
            seen.append(offs)
            return np.zeros((2, len(offs), 3))

        linear_values(evaluate, STAGE1["complex"], np.zeros(3), None)
        assert seen == [STAGE1["complex"]]

    @pytest.mark.parametrize("dtype", [np.float16, np.float32])
    def test_made_values_keep_the_grain_the_evaluated_ones_show(self, dtype: Any) -> None:
        rng = np.random.default_rng(3)
        f0 = rng.standard_normal(5).astype(dtype).astype(np.float64)
        plus = (f0 + rng.standard_normal(5) * 1e-2).astype(dtype).astype(np.float64)

        def evaluate(offs: tuple[complex, ...]) -> Array:
            return plus[None, None, :]

        got = linear_values(evaluate, (1, -1), f0, None)
        assert np.array_equal(got[0, 1].astype(dtype).astype(np.float64), got[0, 1])


class TestLinearRecord:
    def test_the_precision_is_read_from_evaluated_values_only(self) -> None:
        values = [np.zeros((2, 2, 3)), np.ones((1, 2, 3))]
        assert len(evaluated(values, Linear((False, True), 2.0))) == 1
        assert len(evaluated(values, Linear((False, True), None))) == 2
        assert len(evaluated(values, None)) == 2

    def test_one_nonzero_entry_in_all_is_homogeneous(self) -> None:
        x, w = np.ones(3), np.array(2.0)
        assert Linear.of([False, True], [x, w]) == Linear((False, True), 2.0)
        assert Linear.of([False, True], [x, np.zeros(())]).scalar is None
        assert Linear.of([False, True, True], [x, w, w]).scalar is None
        assert Linear.of([False, True], [x, np.ones(2)]).scalar is None
        assert not Linear.of([False, False], [x, w]).any()

    def test_only_reflected_leaves_are_judged_with_more_noise(self) -> None:
        sigma = np.full((3, 2), 1e-16)
        out = linear_noise(sigma, Linear((False, True), None))
        np.testing.assert_array_equal(out[:, 0], sigma[:, 0])
        np.testing.assert_array_equal(out[:, 1], NOISE_FACTOR * sigma[:, 1])
        assert linear_noise(sigma, Linear((False, True), 1.0)) is sigma
        assert linear_noise(sigma, None) is sigma


def _backward_like(seed: int, n: int, m: int) -> tuple[Any, dict[str, Array], Any]:
    """``G(x, w) = J(x)ᵀ w`` for ``f(x) = tanh(A x)``, its Jacobian, and the point."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, n))
    point = {"x": rng.uniform(-1, 1, n), "w": rng.standard_normal(m)}

    def grad(p: dict[str, Array]) -> Array:
        s = 1 - np.tanh(a @ p["x"]) ** 2
        return np.asarray(a.T @ (s * p["w"]))

    def jacobian(p: dict[str, Array], scale: float = 1.0) -> dict[str, Array]:
        t = np.tanh(a @ p["x"])
        s = 1 - t**2
        dx = a.T @ np.diag(-2 * t * s * p["w"]) @ a
        return {"x": dx, "w": scale * a.T * s[None, :]}

    return grad, point, jacobian


class TestThroughTheJacobianCheck:
    @pytest.mark.parametrize(("seed", "n", "m"), [(0, 3, 4), (1, 5, 2), (2, 4, 1)])
    def test_the_same_verdicts_for_fewer_evaluations(self, seed: int, n: int, m: int) -> None:
        grad, point, jac = _backward_like(seed, n, m)
        for scale in (1.0, 1.001, 0.0):
            reports = [
                jacobian_check(
                    grad,
                    point,
                    lambda p, s=scale: jac(p, s),
                    None,
                    None,
                    {"mode": "full"},
                    "check_jacobian",
                    linear=lin,
                )
                for lin in (frozenset(), frozenset({"w"}))
            ]
            plain, linear = reports
            assert {k: p.status for k, p in plain.parameters.items()} == {
                k: p.status for k, p in linear.parameters.items()
            }
            assert plain.status == linear.status == ("passed" if scale == 1.0 else "failed")
            if scale == 1.0:
                saved = m if m > 1 else 2
                assert plain.evaluations - linear.evaluations == saved
