"""``gradcheck._jacgrid``: the entrywise grid, each output's own dtype (its evaluations:
test_jacevaluator.py; its scales: test_jacscale.py)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from gradcheck import GradcheckError, check_jacobian
from gradcheck._evaluate import Delta, GlobalRng
from gradcheck._jacgrid import (
    Setting,
    VectorEvaluator,
    block_noise,
    entrywise,
    noise_floor,
    row_step_dtypes,
)
from gradcheck._pytree import flatten
from gradcheck._tolerances import unit_roundoff
from test_jacevaluator import evaluator

Array = np.ndarray[Any, Any]


class TestEntrywise:
    def setting(self) -> Setting:
        return Setting("central", None, None, None, False)

    def test_two_evaluations_per_input_give_every_column(self) -> None:
        A = np.arange(12.0).reshape(3, 4) / 7
        x = np.linspace(-1, 1, 4)
        ev = evaluator(lambda p: A @ p, x, 3)
        f0 = ev([()])[0]
        (grid,) = entrywise(ev, self.setting(), [x.copy()], [A], f0, np.zeros(3)).grids
        assert ev.count == 1 + 2 * 4
        assert np.allclose(grid.numeric, A, rtol=1e-9)
        assert (grid.status == "ok").all()

    def test_every_claimed_matrix_shares_the_differences(self) -> None:
        x = np.array([0.3, -0.7])
        ev = evaluator(lambda p: np.sin(p), x, 2)
        f0 = ev([()])[0]
        right, wrong = np.diag(np.cos(x)), np.diag([math.cos(0.3), 2.0])
        grids = entrywise(ev, self.setting(), [x.copy()], [right, wrong], f0, np.zeros(2)).grids
        assert (grids[0].status == "ok").all()
        assert grids[1].status[1, 1] == "wrong" and (grids[1].status.reshape(-1)[:3] == "ok").all()
        assert ev.count <= 1 + 2 * 2 + 2 * 2  # stage 1, and the re-examined columns once


class TestNoiseOnlyWhenNeeded:
    """order24 (issue 14, full mode ≤ 2 evaluations per parameter): the noise table is
    evaluated only when an entry fails the screen with the round-off floor alone."""

    @staticmethod
    def run(fn: Any, x: Any, claimed: list[Array], m: int) -> tuple[Any, int, int, Array]:
        names, leaves, tree = flatten(x)
        ev = VectorEvaluator(fn, tree, [np.array(v) for v in leaves], names, GlobalRng(), size=m)
        f0 = ev([()])[0]
        roundoff = np.full(m, unit_roundoff(np.float64))
        floor = noise_floor(ev.leaves, f0, roundoff)
        tables = []

        def measure() -> Array:
            before = ev.count
            sigma = block_noise(ev, ev.leaves, f0, roundoff, 0)
            tables.append(ev.count - before)
            return sigma

        setting = Setting("central", None, None, None, False)
        found = entrywise(ev, setting, ev.leaves, claimed, f0, floor, roundoff, measure)
        return found, ev.count - 1, len(tables), floor

    @pytest.mark.parametrize("n", [1, 4, 25])
    @pytest.mark.parametrize("scale", [1e-3, 1.0, 1e4])
    def test_a_right_jacobian_of_a_smooth_fn_costs_two_evaluations_per_entry(
        self, n: int, scale: float
    ) -> None:
        x = np.linspace(-0.9, 1.3, n) * scale
        C = np.random.default_rng(n).standard_normal((3, n)) / scale

        def fn(p: Array) -> Array:
            return np.tanh(C @ p)

        right = (1 - np.tanh(C @ x) ** 2)[:, None] * C
        found, calls, tables, floor = self.run(fn, x, [right], 3)
        assert (found.grids[0].status == "ok").all()
        assert (calls, tables) == (2 * n, 0)
        assert np.array_equal(found.sigma, floor)  # the floor is the noise

    @pytest.mark.parametrize("factor", [2.0, 1.001, -1.0])
    def test_a_wrong_entry_measures_the_noise_once_and_is_judged_with_it(
        self, factor: float
    ) -> None:
        x = np.array([0.3, -0.7, 1.1])
        right = np.diag(np.cos(x))
        wrong = right.copy()
        wrong[1, 1] *= factor
        found, calls, tables, floor = self.run(np.sin, x, [right, wrong], 3)
        assert tables == 1 and calls == 2 * 3 + 6 + 2  # the table, one column again
        assert found.grids[1].status[1, 1] == "wrong"
        assert (found.grids[0].status == "ok").all()
        assert np.all(found.sigma >= floor)

    @pytest.mark.parametrize("level", [1e-9, 1e-6])
    def test_noise_above_the_floor_is_measured_not_failed(self, level: float) -> None:
        # deterministic noise far above round-off: with the floor as its noise every
        # entry would fail; it fails the screen, the table measures it, none is wrong
        x = np.array([0.4, -0.2, 0.9, 1.5])

        def fn(p: Array) -> Array:
            return np.sin(p) + level * np.sin(1e9 * p)

        found, _, tables, floor = self.run(fn, x, [np.diag(np.cos(x))], 4)
        assert tables == 1
        assert np.all(found.sigma[np.arange(4)] > 100 * floor[np.arange(4)])
        assert not (found.grids[0].status == "wrong").any()

    def test_the_measured_noise_is_block_noises(self) -> None:
        x = {"w": np.array([0.5, -1.0, 2.0]), "h": np.array([0.3, 0.7], dtype=np.float32)}

        def fn(p: Any) -> Array:
            return np.array([np.sin(p["w"]).sum(), float(np.float32(p["h"].sum()) * 3)])

        names, leaves, tree = flatten(x)
        claimed = np.zeros((2, 5))  # wrong: the table is measured
        found, _, tables, _ = self.run(fn, x, [claimed], 2)
        ev = VectorEvaluator(fn, tree, [np.array(v) for v in leaves], names, GlobalRng(), size=2)
        f0 = ev([()])[0]
        expected = block_noise(ev, ev.leaves, f0, np.full(2, unit_roundoff(np.float64)), 0)
        assert tables == 1 and np.array_equal(found.sigma, expected)


class TestLazyNoiseKeepsTheVerdicts:
    """The grid judged with the floor until an entry needs the table gives every
    entry the status that the table measured first gives (order24; the reason:
    docs/jacobians.md, entrywise)."""

    KINDS = ("tanh", "relu", "noisy", "float32 inside", "abs at 0", "cubic")

    @staticmethod
    def problem(kind: str, seed: int) -> tuple[Any, Any, Array]:
        rng = np.random.default_rng(seed)
        n, m = int(rng.integers(1, 7)), int(rng.integers(1, 6))
        A = rng.standard_normal((m, n))
        x = rng.standard_normal(n)
        if kind == "abs at 0":
            x[0] = 0.0

        def fn(p: Array) -> Array:
            z = A @ p
            values = {
                "tanh": np.tanh(z),
                "relu": np.maximum(z, 0) + 0.1 * z,
                "noisy": np.tanh(z) + 1e-8 * np.sin(1e9 * z),
                "float32 inside": np.tanh(z.astype(np.float32)).astype(np.float64),
                "abs at 0": np.abs(p).sum() * np.ones(m) + z,
                "cubic": z**3,
            }
            return values[kind]

        z = A @ x
        slopes = {
            "relu": (z > 0) + 0.1,
            "cubic": 3 * z**2,
        }
        if kind == "abs at 0":
            return fn, x, np.sign(x)[None, :] * np.ones((m, 1)) + A
        return fn, x, slopes.get(kind, 1 - np.tanh(z) ** 2)[:, None] * A

    @pytest.mark.parametrize("kind", KINDS)
    @pytest.mark.parametrize("seed", [0, 1, 2])
    def test_statuses_are_those_of_the_noise_measured_first(self, kind: str, seed: int) -> None:
        fn, x, right = self.problem(kind, seed)
        claims = [right]
        for factor in (1 + 1e-6, 1 + 1e-3, 2.0):
            wrong = right.copy()
            wrong[0, 0] *= factor
            claims.append(wrong)
        m = right.shape[0]
        roundoff = np.full(m, unit_roundoff(np.float64))
        setting = Setting("central", None, None, None, False)
        eager = evaluator(fn, x, m)
        f0 = eager([()])[0]
        sigma = block_noise(eager, eager.leaves, f0, roundoff, 0)
        first = entrywise(eager, setting, eager.leaves, claims, f0, sigma, roundoff)
        lazy = evaluator(fn, x, m)
        floor = noise_floor(lazy.leaves, f0, roundoff)

        def measure() -> Array:
            return block_noise(lazy, lazy.leaves, f0, roundoff, 0)

        later = entrywise(lazy, setting, lazy.leaves, claims, f0, floor, roundoff, measure)
        for a, b in zip(first.grids, later.grids):
            assert a.status.tolist() == b.status.tolist()
        assert lazy.count <= eager.count


class TestMessagesNameFn:
    """check_jacobian's function is ``fn``, not check()'s ``cost`` (attack13 F21)."""

    def test_raising_fn(self) -> None:
        def f(p: Array) -> Array:
            if p[0] != 1.0:
                raise ValueError("boom")
            return p**2

        ev = evaluator(f, np.array([1.0, 2.0]), 2)
        with pytest.raises(GradcheckError, match=r"^fn raised ValueError: boom \(evaluation 1"):
            ev([(Delta(0, 0, 0.5),)])

    def test_fn_writing_to_its_input(self) -> None:
        def f(p: Array) -> Array:
            p[0] += 1
            return p**2

        ev = evaluator(f, np.array([1.0, 2.0]), 2)
        match = r"^fn modified the parameters .*; fn must not write to its input"
        with pytest.raises(GradcheckError, match=match):
            ev([()])


class TestNoiseInOwnDtype:
    """attack13 F33: one float32 output or parameter blinded every float64 one."""

    @pytest.mark.parametrize("error", [1e-3, 1e-4, 1e-6])
    @pytest.mark.parametrize("seed", range(2))
    def test_a_float64_output_beside_a_float32_one_is_judged_in_float64(
        self, error: float, seed: int
    ) -> None:
        x = np.random.default_rng(seed).standard_normal(5)

        def fn(p: Array) -> Any:
            return {"a": np.tanh(p).astype(np.float32), "b": np.sin(p)}

        def jac(factor: float) -> Any:
            return lambda p: {"a": np.diag(1 - np.tanh(p) ** 2), "b": factor * np.diag(np.cos(p))}

        right = check_jacobian(fn, x, jac(1.0))
        # float32 "a" with float64 steps may stay inconclusive; "b" is judged alone
        assert right.status != "failed" and right.parameters["b / x"].status == "passed"
        assert right.parameters["b / x"].detection_bound < 1e-6
        wrong = check_jacobian(fn, x, jac(1 + error))
        assert wrong.status == "failed" and wrong.failed_parameters == ["b / x"]

    @pytest.mark.parametrize("error", [1e-4, 1e-6])
    @pytest.mark.parametrize("small", [np.float32, np.float16])
    def test_a_float64_parameter_beside_a_coarser_one_is_judged_in_float64(
        self, error: float, small: Any
    ) -> None:
        rng = np.random.default_rng(0)
        params = {"big": rng.standard_normal(4), "small": rng.standard_normal(3).astype(small)}

        def fn(p: Any) -> Array:
            return 2 * np.sin(p["big"]) + p["small"].astype(np.float64).sum()  # type: ignore[no-any-return]

        def jac(factor: float) -> Any:
            return lambda p: {
                "big": 2 * factor * np.diag(np.cos(p["big"])),
                "small": np.ones((4, 3)),
            }

        right = check_jacobian(fn, params, jac(1.0))
        assert right.status != "failed" and right.parameters["out / big"].status == "passed"
        assert right.parameters["out / big"].detection_bound < 1e-6
        wrong = check_jacobian(fn, params, jac(1 + error))
        assert wrong.status == "failed" and wrong.failed_parameters == ["out / big"]

    @staticmethod
    def _three_dtypes(db: float) -> Any:
        params = {
            "a": np.array([0.3, -0.4, 1.2]),
            "b": np.array([0.5, 0.9, -0.2], np.float32),
            "c": np.array([0.2, -0.6, 0.4], np.float16),
        }

        def fn(p: Any) -> Array:
            b = p["b"].astype(np.float64)
            return np.sin(p["a"]) + np.sin(b) ** 2 + np.cos(p["c"].astype(np.float64))  # type: ignore[no-any-return]

        def vjp(p: Any, u: Array) -> Any:
            b = p["b"].astype(np.float64)
            return {
                "a": np.cos(p["a"]) * u,
                "b": 2 * np.sin(b) * np.cos(b) * u * (1 + db),
                "c": -np.sin(p["c"].astype(np.float64)) * u,
            }

        return fn, params, vjp

    @pytest.mark.parametrize("db", [1e-2, 0.1, 0.3, -0.3])
    def test_a_float32_parameter_beside_a_float16_one_is_judged_in_float32(self, db: float) -> None:
        # attack20 A10: each dtype group is probed alone, not only the finest
        fn, params, vjp = self._three_dtypes(db)
        report = check_jacobian(fn, params, vjp=vjp)
        assert report.status == "failed" and report.failed_parameters == ["out / b"]

    def test_three_dtypes_right_blocks_are_not_failed(self) -> None:
        fn, params, vjp = self._three_dtypes(0.0)
        report = check_jacobian(fn, params, vjp=vjp)
        assert report.parameters["out / a"].status == "passed"
        assert report.parameters["out / b"].status == "passed"
        assert report.status != "failed"

    @pytest.mark.parametrize("factor", [2.0, 1.5, 0.5, -1.0])
    @pytest.mark.parametrize("seed", range(2))
    def test_a_wrong_derivative_of_a_float16_output_of_float64_parameters_fails(
        self, factor: float, seed: int
    ) -> None:
        # attack20 A5: float64 steps never moved the float16 output: all inconclusive
        x = np.random.default_rng(seed).uniform(-1.2, 1.2, 4)
        report = check_jacobian(
            lambda p: np.sin(p).astype(np.float16), x, np.diag(factor * np.cos(x))
        )
        assert report.status == "failed"

    @pytest.mark.parametrize("out", [np.float16, np.float32])
    def test_a_right_derivative_of_a_coarse_output_is_not_failed(self, out: Any) -> None:
        x = np.array([0.3, -0.8, 1.1])
        report = check_jacobian(lambda p: np.sin(p).astype(out), x, np.diag(np.cos(x)))
        assert report.status != "failed"

    def test_each_rows_step_dtype_is_its_own_outputs_when_coarser(self) -> None:
        f16, f32, f64 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)
        u = {d: unit_roundoff(d) for d in (f16, f32, f64)}
        rows = np.array([u[f16], u[f32], u[f64]])
        assert row_step_dtypes(f64, rows, 3) == [f16, f32, f64]
        assert row_step_dtypes(f32, rows, 3) == [f16, f32, f32]  # never finer than θ
        assert row_step_dtypes(f16, rows, 3) == [f16, f16, f16]
        assert row_step_dtypes(f64, None, 2) == [f64, f64]

    @pytest.mark.parametrize("factor", [1.5, 2.0, 0.5, -1.0])
    @pytest.mark.parametrize("coarse", [np.float16, np.float32])
    def test_a_coarse_output_beside_a_float64_one_is_judged_at_its_own_steps(
        self, factor: float, coarse: Any
    ) -> None:
        # attack20 A5 (t14): a float16 output beside a float64 one got the float64
        # output's steps, which never moved it: its ×1.5 derivative was inconclusive
        x = np.array([0.3, -0.8, 1.1])

        def fn(p: Array) -> dict[str, Array]:
            return {"h": np.sin(p).astype(coarse), "d": p**2}

        def vjp(p: Array, u: dict[str, Array], f: float = 1.0) -> Array:
            return np.cos(p) * u["h"].astype(np.float64) * f + 2 * p * u["d"]

        right = check_jacobian(fn, x, vjp=vjp)
        assert right.status != "failed", str(right)
        assert right.parameters["d / x"].status == "passed"
        wrong = check_jacobian(fn, x, vjp=lambda p, u: vjp(p, u, factor))
        assert wrong.parameters["h / x"].status == "failed", str(wrong)
        assert wrong.parameters["d / x"].status == "passed", str(wrong)

    def test_the_float64_output_keeps_its_fine_steps(self) -> None:
        x = np.array([0.3, -0.8, 1.1])

        def fn(p: Array) -> dict[str, Array]:
            return {"h": np.sin(p).astype(np.float16), "d": p**2}

        def vjp(p: Array, u: dict[str, Array]) -> Array:
            return np.cos(p) * u["h"].astype(np.float64) + 2 * p * u["d"] * (1 + 1e-6)

        report = check_jacobian(fn, x, vjp=vjp)
        assert report.parameters["d / x"].status == "failed", str(report)

    def test_block_noise_is_per_output_and_parameter(self) -> None:
        x = {"w": np.array([0.5, -1.0, 2.0]), "h": np.array([0.3, 0.7], dtype=np.float32)}
        names, leaves, tree = flatten(x)

        def fn(p: Any) -> Array:
            return np.array([np.sin(p["w"]).sum(), float(np.float32(p["h"].sum()) * 3)])

        ev = VectorEvaluator(fn, tree, [np.array(v) for v in leaves], names, GlobalRng(), size=2)
        f0 = ev([()])[0]
        sigma = block_noise(ev, ev.leaves, f0, np.full(2, unit_roundoff(np.float64)), 0)
        assert sigma.shape == (2, 2)
        w, h = names.index("w"), names.index("h")
        # the float64 parameter's blocks: float64 round-off; the float32 one's: coarser
        assert sigma[0, w] <= 4 * unit_roundoff(np.float64) * abs(f0[0])
        assert sigma[1, h] >= unit_roundoff(np.float32) * abs(f0[1])
