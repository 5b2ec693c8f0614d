"""The float64 route (issue 11 §2): a low-precision check's formula on a float64 copy.

A float32 check with a gradient function runs on a float64 copy of the parameters
through the same evaluator (one evaluation count, one report) when the cost and the
gradient follow their input's dtype; the user's-dtype round-off is a figure apart, and
a gradient wrong only in the user's dtype is not vouched for by its float64 self.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

import gradcheck
from gradcheck import GradcheckError


def _tanh_mlp(seed: int, dtype: Any, sizes: tuple[int, int, int] = (20, 30, 5)) -> Any:
    n_in, n_h, n_out = sizes
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((16, n_in)).astype(dtype)
    y = rng.standard_normal((16, n_out)).astype(dtype)
    params = {
        "W1": (rng.standard_normal((n_in, n_h)) / np.sqrt(n_in)).astype(dtype),
        "b1": (0.1 * rng.standard_normal(n_h)).astype(dtype),
        "W2": (rng.standard_normal((n_h, n_out)) / np.sqrt(n_h)).astype(dtype),
    }

    def cost(p: Any) -> Any:
        return np.mean((np.tanh(x @ p["W1"] + p["b1"]) @ p["W2"] - y) ** 2)

    def grad(p: Any) -> Any:
        h = np.tanh(x.astype(p["W1"].dtype) @ p["W1"] + p["b1"])
        do = 2 * (h @ p["W2"] - y) / y.size
        dh = do @ p["W2"].T * (1 - h**2)
        return {"W1": x.T @ dh, "b1": dh.sum(0), "W2": h.T @ do}

    return cost, params, grad


class TestFormulaInFloat64:
    """float32 parameters with a gradient function: the formula is checked in float64
    on a float64 copy, the float32 round-off is a separate figure."""

    def test_float32_mlp_passes_with_a_precision_figure(self) -> None:
        for seed in range(12):
            cost, params, grad = _tanh_mlp(seed, np.float32)
            report = gradcheck.check(cost, params, grad)
            assert report.status == "passed", f"seed {seed}\n{report}"
            assert report.options["formula_dtype"] == "float64"
            for p in report.parameters.values():
                assert p.dtype == "float32"
                assert p.precision is not None and 0 < p.precision < 1e-2
                assert p.detection_bound < 1e-5
            assert any("float32 round-off of your gradient" in m for m in report.messages)

    @pytest.mark.parametrize(
        ("sizes", "seeds"), [((100, 100, 10), range(6)), ((784, 128, 10), range(2))]
    )
    def test_large_float32_mlps_are_not_inconclusive(
        self, sizes: tuple[int, int, int], seeds: range
    ) -> None:
        # issue 11 §2: ~11k and ~100k parameters (directional at the default mode)
        for seed in seeds:
            cost, params, grad = _tanh_mlp(seed, np.float32, sizes)
            report = gradcheck.check(cost, params, grad)
            assert report.status == "passed", f"seed {seed}\n{report}"
            assert report.options["formula_dtype"] == "float64"
            pre = gradcheck.check(cost, params, grad(params))
            assert pre.status == "passed", f"seed {seed}\n{pre}"

    def test_a_planted_error_in_a_large_float32_mlp_fails(self) -> None:
        cost, params, grad = _tanh_mlp(0, np.float32, (100, 100, 10))

        def bad(p: Any) -> Any:
            g = grad(p)
            g["W2"] = g["W2"] * np.float32(1.01)
            return g

        report = gradcheck.check(cost, params, bad)
        assert report.status == "failed" and "W2" in report.failed_parameters, str(report)

    def test_rosen_entry_off_by_1_2e_3_fails(self) -> None:
        optimize = pytest.importorskip("scipy.optimize")
        for x in (
            np.array([1.3, 0.7, 0.8, 1.9, 1.2], dtype=np.float32),
            np.random.default_rng(1).uniform(0.5, 2.0, 12).astype(np.float32),
        ):

            def bad(p: Any, x: Any = x) -> Any:
                g = np.asarray(optimize.rosen_der(p), dtype=np.float64)
                g[2] *= 1 + 1.2e-3
                return g

            assert gradcheck.check(optimize.rosen, x, optimize.rosen_der).passed
            report = gradcheck.check(optimize.rosen, x, bad)
            assert report.status == "failed" and report.worst[0].index == (2,), str(report)

    def test_a_precomputed_gradient_states_what_it_cannot_see(self) -> None:
        optimize = pytest.importorskip("scipy.optimize")
        x = np.array([1.3, 0.7, 0.8, 1.9, 1.2], dtype=np.float32)
        bad = np.asarray(optimize.rosen_der(x), dtype=np.float64)
        bad[2] *= 1 + 1.2e-3
        # A precomputed gradient cannot be recomputed in float64: the error, 2e-4 of the
        # largest entry, is below what a float32 cost can show, and the report says so.
        report = gradcheck.check(optimize.rosen, x, bad)
        assert report.status == "passed", str(report)
        bound = report.parameters["x"].detection_bound
        assert bound > 1.2e-3 * 342 / 2085
        assert any(f"smaller than {bound:.2g}" in m for m in report.messages), str(report)
        assert f"errors below {bound:.2g} of x's largest entry" in str(report).splitlines()[0]

    def test_a_cost_hard_wired_to_float32_is_checked_in_float32(self) -> None:
        x = np.linspace(-1, 1, 5).astype(np.float32)
        cost = lambda p: np.sum(np.sin(p.astype(np.float32)))  # noqa: E731
        report = gradcheck.check(cost, x, lambda p: np.cos(p))
        assert report.status == "passed", str(report)
        assert "formula_dtype" not in report.options
        assert any("returned float32 for float64 parameters" in m for m in report.messages)

    def test_a_gradient_hard_wired_to_float32_is_checked_in_float32(self) -> None:
        x = np.linspace(-1, 1, 5).astype(np.float32)
        report = gradcheck.check(
            lambda p: np.sum(np.sin(p)), x, lambda p: np.cos(p.astype(np.float32))
        )
        assert report.status == "passed", str(report)
        assert "formula_dtype" not in report.options
        assert any("gradient function returned float32" in m for m in report.messages)

    def test_float16_parameters(self) -> None:
        x = np.linspace(-1, 1, 7).astype(np.float16)
        report = gradcheck.check(lambda p: np.sum(p**3), x, lambda p: 3 * p**2)
        assert report.status == "passed" and report.options["formula_dtype"] == "float64"
        assert report.parameters["x"].dtype == "float16"
        assert report.parameters["x"].detection_bound < 1e-5

    def test_mixed_float32_and_float64_parameters(self) -> None:
        params = {"a": np.linspace(0.1, 1, 4).astype(np.float32), "b": np.linspace(-1, 1, 3)}
        cost = lambda p: np.sum(np.exp(p["a"])) * np.sum(p["b"] ** 2)  # noqa: E731

        def grad(p: Any) -> Any:
            return {
                "a": np.exp(p["a"]) * np.sum(p["b"] ** 2),
                "b": 2 * p["b"] * np.sum(np.exp(p["a"])),
            }

        report = gradcheck.check(cost, params, grad)
        assert report.passed and report.options["formula_dtype"] == "float64", str(report)
        assert [p.dtype for p in report.parameters.values()] == ["float32", "float64"]
        # b's float64 gradient is computed from float32 exp(a): a little round-off
        assert 0 <= (report.parameters["b"].precision or 0.0) < 1e-6

    def test_user_data_and_rng_untouched(self) -> None:
        cost, params, grad = _tanh_mlp(0, np.float32)
        before = {k: v.tobytes() for k, v in params.items()}
        np.random.seed(7)
        random.seed(7)
        state = (np.random.get_state()[1].tobytes(), random.getstate())
        gradcheck.check(cost, params, grad)
        assert {k: v.tobytes() for k, v in params.items()} == before
        assert all(v.dtype == np.float32 for v in params.values())
        assert (np.random.get_state()[1].tobytes(), random.getstate()) == state

    def test_a_cost_that_cancels_to_zero_still_uses_the_twin(self) -> None:
        # Σ sin θ at symmetric θ is 0 in float64 and -6e-8 in float32: judged on how
        # much rounding the inputs moves J (Σ|g θ|), not on |J| alone.
        x = np.linspace(-1, 1, 5).astype(np.float32)
        report = gradcheck.check(lambda p: np.sum(np.sin(p)), x, lambda p: np.cos(p))
        assert report.passed and report.options["formula_dtype"] == "float64", str(report)
        assert report.parameters["x"].detection_bound < 1e-5

    def test_the_guides_jax_example_passes(self) -> None:
        jnp = pytest.importorskip("jax.numpy")
        gj = pytest.importorskip("gradcheck.jax")
        params = {"W": jnp.ones((3, 4)), "x": jnp.arange(4.0)}
        report = gj.check(lambda p: jnp.sum(jnp.tanh(p["W"] @ p["x"])), params)
        assert report.passed, str(report)


class TestOneEvaluator:
    """The float64 copy is evaluated by the check's own evaluator: evaluation numbers
    name calls of the user's cost, and one report counts them all."""

    @staticmethod
    def _params() -> Any:
        return np.linspace(-1, 1, 4).astype(np.float32)

    def test_a_fault_at_the_copy_is_named_with_its_number(self) -> None:
        calls = {"n": 0}

        def cost(p: Any) -> Any:
            calls["n"] += 1
            if calls["n"] == 3:  # 1, 2: the determinism pair; 3: the float64 copy
                raise RuntimeError("disk on fire")
            return np.sum(np.sin(p))

        with pytest.raises(
            GradcheckError, match=r"disk on fire \(evaluation 3\b.*float64 copy"
        ) as info:
            gradcheck.check(cost, self._params(), lambda p: np.cos(p))
        assert isinstance(info.value.__cause__, RuntimeError)

    @pytest.mark.parametrize("k", [4, 9, 15])
    def test_later_faults_keep_their_numbers(self, k: int) -> None:
        calls = {"n": 0}

        def cost(p: Any) -> Any:
            calls["n"] += 1
            if calls["n"] == k:
                raise RuntimeError("boom")
            return np.sum(np.sin(p))

        with pytest.raises(GradcheckError, match=rf"boom \(evaluation {k}\b"):
            gradcheck.check(cost, self._params(), lambda p: np.cos(p))

    def test_the_count_and_progress_run_on(self) -> None:
        calls = {"n": 0}
        seen: list[int] = []

        def cost(p: Any) -> Any:
            calls["n"] += 1
            return np.sum(np.sin(p))

        report = gradcheck.check(
            cost, self._params(), lambda p: np.cos(p), progress=lambda d, _: seen.append(d)
        )
        assert report.options["formula_dtype"] == "float64"
        assert report.evaluations == calls["n"] == seen[-1]
        assert seen == sorted(seen) and len(set(seen)) == len(seen)

    def test_a_cost_drawing_random_numbers(self) -> None:
        def cost(p: Any) -> Any:
            return np.sum(np.sin(p)) * (1 + 0 * np.random.rand()) + 0 * random.random()

        np.random.seed(3)
        before = np.random.get_state()[1].tobytes()
        report = gradcheck.check(cost, self._params(), lambda p: np.cos(p))
        assert report.passed and report.options["formula_dtype"] == "float64", str(report)
        assert np.random.get_state()[1].tobytes() == before


class TestBatched:
    def test_a_batched_cost_keeps_the_users_dtype(self) -> None:
        # Only the plain cost is seen to follow its input's dtype; a batched cost may be
        # hard-wired to float32 (a vmapped float32 model), so the check stays in float32.
        def batched(stacked: Any) -> Any:
            return np.sum(np.sin(stacked.astype(np.float32)), axis=1)

        for seed in range(10):
            x = np.random.default_rng(seed).standard_normal(30).astype(np.float32)
            report = gradcheck.check(
                lambda p: np.sum(np.sin(p)), x, lambda p: np.cos(p), batched=batched
            )
            assert report.status == "passed", f"seed {seed}\n{report}"
            assert "formula_dtype" not in report.options


class TestGradientOnlyWrongInLowPrecision:
    """A gradient function wrong only in float32 is not vouched for by its float64 self
    (issue 11, t11-attack F3): the float64 route passed a negated float32 gradient."""

    @staticmethod
    def _grad(kind: str) -> Any:
        def grad(p: Any) -> Any:
            g = np.cos(p)
            if p.dtype == np.float64:
                return g
            if kind == "negated":
                return -g
            g = g.copy()
            g[3] *= 1.5 if kind == "one entry" else 1.0
            return g

        return grad

    @pytest.mark.parametrize("kind", ["negated", "one entry"])
    @pytest.mark.parametrize("dtype", [np.float32, np.float16])
    @pytest.mark.parametrize("seed", [0, 1])
    def test_fails(self, kind: str, dtype: Any, seed: int) -> None:
        x = np.random.default_rng(seed).normal(size=20).astype(dtype)
        report = gradcheck.check(lambda p: np.sum(np.sin(p)), x, self._grad(kind), seed=seed)
        if dtype == np.float16 and kind == "one entry":
            # float16 finite differences may not resolve it: never a pass, though
            assert report.status in ("failed", "inconclusive")
        else:
            assert report.status == "failed"
        assert any("more than" in m and "round-off explains" in m for m in report.messages)

    @pytest.mark.parametrize("seed", [0, 1, 2])
    def test_right_in_both_dtypes_stays_on_the_float64_route(self, seed: int) -> None:
        x = np.random.default_rng(seed).normal(size=20).astype(np.float32)
        report = gradcheck.check(lambda p: np.sum(np.sin(p)), x, self._grad("right"))
        assert report.status == "passed"
        assert report.options["formula_dtype"] == "float64"

    def test_saturated_tanh_round_off_is_not_mistaken_for_a_bug(self) -> None:
        x = np.array([9.0, 0.5, -8.5, 1.0, 10.0], dtype=np.float32)

        def grad(p: Any) -> Any:
            return 1 - np.tanh(p) ** 2

        report = gradcheck.check(lambda p: np.sum(np.tanh(p)), x, grad)
        assert report.status == "passed"
        assert report.options["formula_dtype"] == "float64"


class TestACostComputedInFloat32OfFloat16Parameters:
    """float16 parameters, a cost computed in float32: its formula is checked on a
    float32 copy, not with float16's noise (attack36 H165: right and ×1.1 inconclusive,
    the note naming float64 parameters)."""

    @staticmethod
    def cost(p: Any) -> Any:
        return np.sum(p.astype(np.float32) ** 2)

    @pytest.mark.parametrize(
        "grad", [lambda p: 2 * p, lambda p: 2 * p.astype(np.float64)], ids=["own", "float64"]
    )
    def test_right_passes_on_a_float32_copy(self, grad: Any) -> None:
        x = np.array([1, 2, 3], dtype=np.float16)
        report = gradcheck.check(self.cost, x, grad, seed=0)
        assert report.status == "passed", str(report)
        assert report.options["formula_dtype"] == "float32"
        assert report.parameters["x"].dtype == "float16"
        assert report.messages[0].startswith(
            "the formula is checked on a float32 copy of the parameters (the cost computes "
            "in float32: it returned float32 on a float64 copy), with float32's tolerances"
        )
        assert report.parameters["x"].detection_bound < 0.01

    def test_a_tenth_off_fails(self) -> None:
        x = np.array([1, 2, 3], dtype=np.float16)
        report = gradcheck.check(self.cost, x, lambda p: 2.2 * p, seed=0)
        assert report.status == "failed"

    def test_a_sin_of_fifty_float16_entries(self) -> None:
        x = np.random.default_rng(0).standard_normal(50).astype(np.float16)
        cost = lambda p: np.sum(np.sin(p.astype(np.float32)))  # noqa: E731
        right = gradcheck.check(cost, x, np.cos, seed=0)
        assert right.status == "passed" and right.options["formula_dtype"] == "float32"
        wrong = gradcheck.check(cost, x, lambda p: 1.1 * np.cos(p), seed=0)
        assert wrong.status == "failed"

    def test_a_cost_in_float16_itself_keeps_float16s_rules(self) -> None:
        x = np.linspace(-1, 1, 5).astype(np.float16)
        cost = lambda p: np.sum(np.sin(p.astype(np.float16)))  # noqa: E731
        report = gradcheck.check(cost, x, lambda p: np.cos(p))
        assert "formula_dtype" not in report.options
        assert any("returned float16 for float64 parameters" in m for m in report.messages)
