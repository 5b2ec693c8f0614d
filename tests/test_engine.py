"""The checking engine: known derivatives pass, planted bugs fail, nothing is lost."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

import gradcheck
from gradcheck import GradcheckError, GradientMismatch
from gradcheck._summary import ZERO_GRADIENT

METHODS = ["central", "forward", "complex", "richardson"]
RNG = np.random.default_rng(20261124)


def _logsumexp(x: Any) -> Any:
    m = np.max(np.real(x))
    return m + np.log(np.sum(np.exp(x - m)))


# (name, cost, params, gradient): each cost paired with its known derivative.
A = RNG.standard_normal((4, 4))
A = A @ A.T + 4 * np.eye(4)
LOGITS = RNG.standard_normal((3, 5))
LABELS = np.array([1, 0, 4])
X = RNG.standard_normal((5, 6))


def _softmax_xent(p: Any) -> Any:
    z = p["logits"]
    m = np.max(np.real(z), axis=1, keepdims=True)
    logz = m[:, 0] + np.log(np.sum(np.exp(z - m), axis=1))
    return np.mean(logz - z[np.arange(3), LABELS])


def _softmax_xent_grad(p: Any) -> Any:
    z = p["logits"]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    s = e / e.sum(axis=1, keepdims=True)
    s[np.arange(3), LABELS] -= 1
    return {"logits": s / 3}


def _mlp(p: Any) -> Any:
    h = np.tanh(p["W1"] @ X + p["b1"])
    return np.mean((p["W2"] @ h) ** 2)


def _mlp_grad(p: Any) -> Any:
    h = np.tanh(p["W1"] @ X + p["b1"])
    y = p["W2"] @ h
    dy = 2 * y / y.size
    dh = p["W2"].T @ dy
    dz = dh * (1 - h**2)
    return {"W1": dz @ X.T, "b1": dz.sum(axis=1, keepdims=True), "W2": dy @ h.T}


MLP_PARAMS = {
    "W1": RNG.standard_normal((3, 5)),
    "b1": RNG.standard_normal((3, 1)),
    "W2": RNG.standard_normal((2, 3)),
}
KNOWN = [
    ("quadratic form", lambda x: 0.5 * x @ A @ x, RNG.standard_normal(4), lambda x: A @ x),
    ("exp", lambda x: np.sum(np.exp(x)), RNG.standard_normal(5), np.exp),
    ("log", lambda x: np.sum(np.log(x)), RNG.uniform(0.5, 2, 5), lambda x: 1 / x),
    (
        "sin",
        lambda x: np.sum(np.sin(3 * x)),
        RNG.standard_normal((2, 3)),
        lambda x: 3 * np.cos(3 * x),
    ),
    (
        "logsumexp",
        _logsumexp,
        RNG.standard_normal(6),
        lambda x: np.exp(x - _logsumexp(x)),
    ),
    ("softmax cross-entropy", _softmax_xent, {"logits": LOGITS}, _softmax_xent_grad),
    ("tanh MLP", _mlp, MLP_PARAMS, _mlp_grad),
]


class TestKnownDerivatives:
    @pytest.mark.parametrize("method", METHODS)
    @pytest.mark.parametrize("case", KNOWN, ids=[k[0] for k in KNOWN])
    def test_correct_gradient_passes(self, case: Any, method: str) -> None:
        _, cost, params, grad = case
        report = gradcheck.check(cost, params, grad, method=method)
        assert report.status == "passed", str(report)
        assert report.difference < 1e-6
        assert all(p.checked == p.size for p in report.parameters.values())

    def test_precomputed_gradient_structure(self) -> None:
        report = gradcheck.check(_mlp, MLP_PARAMS, _mlp_grad(MLP_PARAMS))
        assert report.passed
        assert list(report.parameters) == ["W1", "b1", "W2"]

    def test_nested_pytree_names(self) -> None:
        params = {"layers": [{"W": np.ones((2, 2))}, {"W": np.full((2,), 2.0)}], "s": (3.0,)}

        def cost(p: Any) -> Any:
            return np.sum(p["layers"][0]["W"] ** 2) + np.sum(p["layers"][1]["W"] ** 3) + p["s"][0]

        grad = {"layers": [{"W": 2 * np.ones((2, 2))}, {"W": 3 * np.full((2,), 4.0)}], "s": (1.0,)}
        report = gradcheck.check(cost, params, grad)
        assert report.passed, str(report)
        assert list(report.parameters) == ["layers.0.W", "layers.1.W", "s.0"]

    def test_bare_array_is_called_x(self) -> None:
        report = gradcheck.check(lambda x: np.sum(x**2), np.arange(3.0), 2 * np.arange(3.0))
        assert list(report.parameters) == ["x"]

    def test_float32_model_passes(self) -> None:
        params = {k: v.astype(np.float32) for k, v in MLP_PARAMS.items()}
        x32 = X.astype(np.float32)

        def cost(p: Any) -> Any:
            h = np.tanh(p["W1"] @ x32 + p["b1"])
            return np.mean((p["W2"] @ h) ** 2)

        report = gradcheck.check(cost, params, _mlp_grad(params))
        assert report.status == "passed", str(report)


class TestStepSize:
    @pytest.mark.parametrize("scale", [1e-6, 1e-3, 1.0, 1e4])
    def test_parameters_far_from_one(self, scale: float) -> None:
        x = RNG.standard_normal(6) * scale
        # A cost that varies on the parameters' own scale, with curvature.
        report = gradcheck.check(
            lambda p: np.sum(np.sin(p / scale) ** 2) + np.sum((p / scale) ** 3),
            x,
            2 * np.sin(x / scale) * np.cos(x / scale) / scale + 3 * x**2 / scale**3,
        )
        assert report.passed, str(report)

    @pytest.mark.parametrize("theta", [1.17549435e-38, 1e-30, -1e-200])
    def test_tiny_parameters_retry_at_the_classic_step(self, theta: float) -> None:
        # The cost varies on a scale of 1 while θ itself is tiny: the array-scaled step
        # (|θ|·6e-6) moves nothing, the retry at max(1, |θ|)·6e-6 resolves it.
        cost = lambda p: float(np.exp(p) + np.sin(p))  # noqa: E731
        right = gradcheck.check(cost, np.float64(theta), 2.0)
        assert right.status == "passed", str(right)
        wrong = gradcheck.check(cost, np.float64(theta), 2.002)
        assert wrong.status == "failed", str(wrong)

    def test_no_retry_with_an_explicit_eps(self) -> None:
        report = gradcheck.check(lambda p: float(np.exp(p)), np.float64(1e-30), 1.0, eps=1e-40)
        assert report.status == "inconclusive"
        # base, noise, the hidden-float32 probe (the constant cost's values are all
        # float32 numbers), the float16 one (they did not move, and 1.0 is a float16
        # number), stage 1: no retry
        assert report.evaluations == 2 + 6 + 6 + 6 + 2
        assert any("could not be resolved" in m for m in report.messages)
        assert ZERO_GRADIENT not in report.messages

    def test_explicit_eps_is_used_exactly(self) -> None:
        # J = θ·x: the lesson's 1-D check reproduces its published number.
        report = gradcheck.check(lambda t: t * 2.0, np.float64(4.0), 2.0, eps=1e-7)
        thetaplus, thetaminus = 4.0 + 1e-7, 4.0 - 1e-7
        gradapprox = (thetaplus * 2.0 - thetaminus * 2.0) / (2.0 * 1e-7)
        expected = abs(2.0 - gradapprox) / (abs(2.0) + abs(gradapprox))
        assert report.difference == expected
        assert report.options["eps"] == 1e-7


def _grad_quadratic(x: Any) -> Any:
    return 2 * x


class TestPlantedBugs:
    def test_factor(self) -> None:
        report = gradcheck.check(
            _mlp, MLP_PARAMS, lambda p: {**_mlp_grad(p), "W2": 2 * _mlp_grad(p)["W2"]}
        )
        assert report.status == "failed"
        assert report.failed_parameters == ["W2"]
        diag = report.parameters["W2"].diagnosis
        assert (
            diag is not None
            and diag.kind == "factor"
            and diag.factor == pytest.approx(2.0, rel=1e-4)
        )

    def test_sign(self) -> None:
        report = gradcheck.check(
            _mlp, MLP_PARAMS, lambda p: {**_mlp_grad(p), "b1": -_mlp_grad(p)["b1"]}
        )
        assert report.failed_parameters == ["b1"]
        diag = report.parameters["b1"].diagnosis
        assert diag is not None and diag.kind == "sign"

    def test_transpose(self) -> None:
        W = RNG.standard_normal((4, 4))
        B = RNG.standard_normal((4, 4))
        report = gradcheck.check(lambda w: np.sum(w * B) + 0.0, W, B.T)
        assert report.failed_parameters == ["x"]
        diag = report.parameters["x"].diagnosis
        assert diag is not None and diag.kind == "transpose"

    def test_one_wrong_entry_in_a_large_array(self) -> None:
        x = RNG.standard_normal(3000)
        g = 2 * x
        g[1234] *= 1 + 1e-4
        report = gradcheck.check(lambda p: p @ p, x, g)
        assert report.status == "failed"
        assert report.worst[0].index == (1234,)
        assert report.worst[0].status == "wrong"
        assert report.parameters["x"].failed == 1

    def test_small_relative_error_in_one_parameter(self) -> None:
        # torch's default rtol=1e-3 lets a 1e-4 error through; the estimate rule does not.
        report = gradcheck.check(
            _mlp, MLP_PARAMS, lambda p: {**_mlp_grad(p), "W1": _mlp_grad(p)["W1"] * (1 + 1e-4)}
        )
        assert report.failed_parameters == ["W1"]

    def test_zero_gradient(self) -> None:
        report = gradcheck.check(_mlp, MLP_PARAMS, lambda p: {**_mlp_grad(p), "W1": 0 * p["W1"]})
        diag = report.parameters["W1"].diagnosis
        assert diag is not None and diag.kind == "zero"

    def test_assert_gradients_raises_with_the_report(self) -> None:
        with pytest.raises(GradientMismatch) as info:
            gradcheck.assert_gradients(lambda p: p @ p, np.ones(3), np.ones(3))
        assert isinstance(info.value, AssertionError)
        assert "FAILED" in str(info.value) and info.value.report.status == "failed"
        assert gradcheck.assert_gradients(lambda p: p @ p, np.ones(3), 2 * np.ones(3)).passed


class TestNeverCryWolf:
    def test_relu_kink_is_not_an_error(self) -> None:
        x = np.array([0.0, 1.0, -2.0, 0.0, 0.5])
        report = gradcheck.check(lambda p: np.sum(np.maximum(p, 0.0) * 3.0), x, 3.0 * (x > 0))
        assert report.status == "passed", str(report)
        assert report.parameters["x"].nonsmooth == 2
        assert any("kink" in m for m in report.messages)

    def test_max_tie_is_not_an_error(self) -> None:
        x = np.array([2.0, 2.0, 1.0])
        report = gradcheck.check(lambda p: np.max(p), x, np.array([1.0, 0.0, 0.0]))
        assert report.status == "passed", str(report)
        assert report.parameters["x"].nonsmooth == 2

    def test_wrong_gradient_at_a_kink_is_not_passed(self) -> None:
        # 5 lies outside relu's one-sided slopes (0 and 1) at 0. Several kinks meeting at
        # one point can put a correct framework gradient there too (tests/test_kinks.py),
        # so the finite differences at 0 cannot call it wrong; they must not pass it.
        x = np.array([0.0, 1.0])
        report = gradcheck.check(lambda p: np.sum(np.maximum(p, 0.0)), x, np.array([5.0, 1.0]))
        assert report.status == "inconclusive", str(report)
        assert any("outside their one-sided slopes" in m for m in report.messages)

    def test_wrong_gradient_at_a_kink_fails_when_grad_is_a_function(self) -> None:
        x = np.array([0.0, 1.0])
        wrong = np.array([5.0, 1.0])  # ×5 on the kinked entry only
        report = gradcheck.check(
            lambda p: np.sum(np.maximum(p, 0.0)), x, lambda p: wrong * (p > 0.0)
        )
        assert report.status == "failed", str(report)
        assert report.parameters["x"].failed == 1

    def test_nondeterministic_cost_is_inconclusive(self) -> None:
        # the OS's entropy, which no check can reset (a generator the cost keeps is
        # reset before every evaluation: tests/test_user_rng.py)
        noise = random.SystemRandom()
        report = gradcheck.check(
            lambda p: np.sum(p**2) + 1e-3 * noise.random(), np.ones(3), 2 * np.ones(3)
        )
        assert report.status == "inconclusive"
        assert "not deterministic" in report.messages[0]
        assert report.evaluations == 2

    def test_global_rng_is_repeated_per_evaluation_and_restored(self) -> None:
        np.random.seed(7)
        random.seed(7)
        np_before, py_before = np.random.get_state(), random.getstate()

        def dropout_cost(p: Any) -> Any:
            mask = np.random.rand(p.size) > 0.3
            return np.sum((p * mask) ** 2) + random.random()

        x = np.arange(1.0, 7.0)
        np.random.set_state(np_before)
        mask = np.random.rand(x.size) > 0.3
        np.random.set_state(np_before)
        report = gradcheck.check(dropout_cost, x, 2 * x * mask)
        assert report.passed, str(report)
        np_after = np.random.get_state()
        assert all(np.array_equal(a, b) for a, b in zip(np_before, np_after))
        assert random.getstate() == py_before

    def test_float32_noise_floor_is_reported(self) -> None:
        x = np.array([1.0, 2.0], dtype=np.float32)
        # Tiny gradients under a large constant: float32 cannot resolve them.
        report = gradcheck.check(
            lambda p: np.float32(1e4) + np.sum(p * np.float32(1e-6)), x, np.full(2, 1e-6)
        )
        assert report.status == "inconclusive", str(report)
        assert report.parameters["x"].detection_bound > 0.1


class TestNothingLost:
    @pytest.mark.parametrize("method", METHODS)
    def test_inputs_are_bit_identical(self, method: str) -> None:
        params = {k: v.copy() for k, v in MLP_PARAMS.items()}
        before = {k: v.tobytes() for k, v in params.items()}
        grads = _mlp_grad(params)
        gbefore = {k: v.tobytes() for k, v in grads.items()}
        gradcheck.check(_mlp, params, grads, method=method)
        assert {k: v.tobytes() for k, v in params.items()} == before
        assert {k: v.tobytes() for k, v in grads.items()} == gbefore

    def test_cost_that_raises_midway(self) -> None:
        params = {k: v.copy() for k, v in MLP_PARAMS.items()}
        before = {k: v.tobytes() for k, v in params.items()}
        calls = {"n": 0}

        def flaky(p: Any) -> Any:
            calls["n"] += 1
            if calls["n"] == 11:
                raise RuntimeError("boom")
            return _mlp(p)

        with pytest.raises(GradcheckError, match=r"RuntimeError: boom .*evaluation 11"):
            gradcheck.check(flaky, params, _mlp_grad)
        assert {k: v.tobytes() for k, v in params.items()} == before

    def test_cost_that_writes_to_its_input_is_refused(self) -> None:
        def vandal(p: Any) -> Any:
            p[0] = 0.0
            return np.sum(p**2)

        with pytest.raises(GradcheckError, match="modified the parameters"):
            gradcheck.check(vandal, np.ones(3), 2 * np.ones(3))


class TestBadInput:
    @pytest.mark.parametrize(
        ("params", "grad", "message"),
        [
            ({"W": np.ones(2)}, {"W": np.ones(3)}, r"gradient for 'W' has shape \(3,\)"),
            ({"W": np.ones(2)}, {"V": np.ones(2)}, "no entry for parameter 'W'"),
            ({"W": np.ones(2)}, {"W": np.ones(2), "V": np.ones(2)}, "extra key"),
            ([np.ones(2)], [np.ones(2), np.ones(2)], "length 1"),
            ({"W": np.ones(2, dtype=int)}, {"W": np.ones(2)}, "'W' has integer dtype"),
            ({"W": np.array([object()])}, {"W": np.ones(1)}, "'W' has dtype object"),
            (
                {"W": np.array([1j, complex(np.nan, 0)])},
                {"W": np.ones(2)},
                r"'W' has a non-finite value at index \(1,\)",
            ),
            ({}, {}, "params is empty"),
        ],
    )
    def test_bad_structure(self, params: Any, grad: Any, message: str) -> None:
        with pytest.raises(GradcheckError, match=message):
            gradcheck.check(lambda p: 0.0, params, grad)

    def test_a_nan_gradient_is_a_failed_verdict_not_bad_input(self) -> None:
        # attack23 D3: the cost is finite, so a NaN gradient entry is a wrong one
        report = gradcheck.check(lambda p: 0.0, {"W": np.ones(2)}, {"W": np.array([1.0, np.nan])})
        assert report.status == "failed"
        assert any("not finite at W[1] (nan)" in m for m in report.messages)

    def test_non_scalar_cost(self) -> None:
        with pytest.raises(GradcheckError, match=r"scalar.*shape \(3,\)"):
            gradcheck.check(lambda p: p * 2, np.ones(3), np.ones(3))

    def test_nan_cost_names_the_entry(self) -> None:
        with pytest.raises(GradcheckError, match=r"cost returned nan.*x\[1\] perturbed"):
            gradcheck.check(
                lambda p: np.nan if p[1] > 1.000001 else np.sum(p), np.ones(3), np.ones(3)
            )

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            ({"method": "backward"}, "unknown method 'backward'"),
            ({"mode": "everything"}, "unknown mode 'everything'"),
            ({"eps": -1.0}, "eps=-1.0 must be positive"),
            ({"rtol": -1.0}, "rtol=-1.0 must not be negative"),
            ({"eps": "small"}, "eps='small' must be a finite number"),
        ],
    )
    def test_bad_options(self, options: dict[str, Any], message: str) -> None:
        with pytest.raises(GradcheckError, match=message):
            gradcheck.check(lambda p: np.sum(p**2), np.ones(2), 2 * np.ones(2), **options)

    def test_unknown_keyword_is_a_type_error(self) -> None:
        with pytest.raises(TypeError, match="tolerance"):
            gradcheck.check(lambda p: 0.0, np.ones(2), np.ones(2), tolerance=1)  # type: ignore[call-arg]

    def test_complex_method_needs_a_complex_cost(self) -> None:
        with pytest.raises(GradcheckError, match="method='complex' needs"):
            gradcheck.check(
                lambda p: float(np.sum(np.abs(p) ** 2)),
                np.ones(2),
                2 * np.ones(2),
                method="complex",
            )

    def test_grad_function_that_raises(self) -> None:
        def grad(p: Any) -> Any:
            raise KeyError("oops")

        with pytest.raises(GradcheckError, match="grad function raised KeyError"):
            gradcheck.check(lambda p: np.sum(p), np.ones(2), grad)


class TestRichardsonAndFixedTolerances:
    def test_fixed_tolerances_override_the_estimate(self) -> None:
        x = RNG.standard_normal(5)
        g = np.cos(x) * (1 + 1e-4)
        assert gradcheck.check(lambda p: np.sum(np.sin(p)), x, g).status == "failed"
        loose = gradcheck.check(lambda p: np.sum(np.sin(p)), x, g, rtol=1e-3, atol=1e-5)
        assert loose.passed
        assert loose.options["tolerance_rule"] == "fixed"


class TestZeroGradientParameters:
    def test_bias_before_normalisation_passes(self) -> None:
        # The bias's true gradient is 0: it shifts z, which normalisation removes.
        xs = RNG.standard_normal(16)
        w = RNG.standard_normal(1)

        def cost(p: Any) -> Any:
            z = xs * p["w"][0] + p["b"][0]
            zn = (z - z.mean()) / z.std()
            return np.sum(np.tanh(zn) * xs) + np.sin(p["w"][0])

        def grad(p: Any) -> Any:
            z = xs * p["w"][0] + p["b"][0]
            sd = z.std()
            zn = (z - z.mean()) / sd
            dzn = (1 - np.tanh(zn) ** 2) * xs
            dz = (dzn - dzn.mean() - zn * np.mean(dzn * zn)) / sd
            return {"w": np.array([dz @ xs + np.cos(p["w"][0])]), "b": np.array([0.0])}

        report = gradcheck.check(cost, {"w": w, "b": np.array([0.3])}, grad)
        assert report.passed, str(report)

    def test_wrong_nonzero_gradient_for_it_still_fails(self) -> None:
        report = gradcheck.check(
            lambda p: np.sum(p["w"] ** 2) + 0.0 * p["b"][0],
            {"w": np.ones(3), "b": np.array([1.0])},
            {"w": 2 * np.ones(3), "b": np.array([0.5])},
        )
        assert report.failed_parameters == ["b"]

    def test_zero_gradient_everywhere_says_so(self) -> None:
        # sin(x) − 2 sin(x/2) at x = 0: value, gradient and curvature are all 0, so no
        # relative error can be judged; the report says why instead of guessing.
        report = gradcheck.check(
            lambda p: float(np.sin(p) - 2 * np.sin(p / 2)), np.float64(0.0), 0.0
        )
        assert report.status == "inconclusive"
        assert ZERO_GRADIENT in report.messages
        cost = lambda p: float(np.sin(p) - 2 * np.sin(p / 2))  # noqa: E731
        moved = gradcheck.check(cost, np.float64(0.5), np.cos(0.5) - np.cos(0.25))
        assert moved.status == "passed", str(moved)

    def test_missing_gradient_at_a_zero_point_still_fails(self) -> None:
        report = gradcheck.check(lambda p: float(np.sum(np.sin(p))), np.zeros(3), np.zeros(3))
        assert report.status == "failed"
        assert ZERO_GRADIENT not in report.messages


class TestDetectionBound:
    """The stated bound holds: an error of 1.1 × the bound is caught, at its entry."""

    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    @pytest.mark.parametrize("method", ["central", "forward", "richardson"])
    def test_error_just_above_the_bound_fails(self, method: Any, dtype: Any) -> None:
        x = np.linspace(-1.5, 2.0, 8).astype(dtype)
        cost = lambda p: np.sum(np.sin(p) * p**2)  # noqa: E731
        g = (np.cos(x) * x**2 + 2 * x * np.sin(x)).astype(np.float64)
        clean = gradcheck.check(cost, x, g, method=method, mode="full")
        assert clean.passed, str(clean)
        bound = clean.parameters["x"].detection_bound
        k = int(np.argmax(np.abs(g)))
        bad = g.copy()
        bad[k] += 1.1 * bound * np.max(np.abs(g))
        report = gradcheck.check(cost, x, bad, method=method, mode="full")
        assert report.status == "failed", f"bound {bound:g}\n{report}"
        assert report.worst[0].index == (k,)


class TestHiddenFloat32Noise:
    """A cost computed in float32 and returned as a float64 is noisy at float32's
    round-off, whatever its return dtype says (issue 11 §2)."""

    @pytest.mark.parametrize("seed", range(5))
    def test_noise_floored_at_float32_roundoff(self, seed: int) -> None:
        x = np.random.default_rng(seed).normal(size=5)
        report = gradcheck.check(
            lambda p: float(np.sum(np.sin(p.astype(np.float32)))), x, np.cos(x)
        )
        j = float(np.sum(np.sin(x.astype(np.float32))))
        assert report.noise >= np.finfo(np.float32).eps * abs(j)

    def test_a_float64_cost_keeps_float64_noise(self) -> None:
        x = np.random.default_rng(0).normal(size=5)
        report = gradcheck.check(lambda p: float(np.sum(np.sin(p))), x, np.cos(x))
        assert report.noise < 1e-12

    @pytest.mark.parametrize("value", [1e150, -1e100, 3.5e38])
    def test_values_beyond_float32_range_are_not_float32(self, value: float) -> None:
        x = np.array([1.0, value])
        report = gradcheck.check(lambda p: float(np.sum(p)), x, np.ones(2))
        assert report.status == "passed", str(report)
        assert report.noise <= 1e-15 * abs(value) * 8


class TestStopMessages:
    """What a user is told when the check cannot run as asked: the whole text."""

    def test_a_cost_that_does_not_repeat_shows_both_values_and_the_fix(self) -> None:
        values = iter([0.25, 0.5])
        report = gradcheck.check(lambda p: next(values), np.ones(3), 2 * np.ones(3))
        assert report.status == "inconclusive"
        assert report.messages[0] == (
            "the cost is not deterministic: two evaluations at the same parameters gave "
            "0.25 and 0.5. Dropout or sampling? Fix its random numbers (a seeded "
            "generator inside the cost) so that each call repeats."
        )

    def test_method_complex_on_a_real_cost_says_why_and_what_to_use(self) -> None:
        with pytest.raises(GradcheckError) as info:
            gradcheck.check(
                lambda p: float(np.sum(np.abs(p))), np.ones(2), np.ones(2), method="complex"
            )
        assert str(info.value) == (
            "method='complex' needs a cost that carries complex input through to a complex "
            "result; this cost returned a real value (abs, real parts or a cast to float?). "
            "Use method='central'."
        )


class TestNonFiniteEntriesCountedOnce:
    """A NaN or infinite gradient entry fails its parameter and counts as one failed
    entry: an entrywise check has marked it wrong already, a directional check without
    localisation has not."""

    @staticmethod
    def _problem() -> tuple[Any, Any, Any]:
        x = np.linspace(1.0, 2.0, 10)
        g = 2 * x
        g[3], g[7] = np.nan, np.inf
        return (lambda p: float(np.sum(p**2))), x, g

    def test_full_mode(self) -> None:
        report = gradcheck.check(*self._problem(), mode="full")
        assert report.status == "failed" and report.parameters["x"].failed == 2

    def test_directional_without_localisation(self) -> None:
        report = gradcheck.check(*self._problem(), mode="directional", localise=False)
        assert report.status == "failed" and report.parameters["x"].failed == 2


class TestTheRouteTaken:
    def test_a_float64_route_is_reported_with_the_users_dtype(self) -> None:
        x = np.linspace(1.0, 2.0, 5).astype(np.float32)
        report = gradcheck.check(lambda p: np.sum(p**3), x, lambda p: 3 * p**2)
        assert report.status == "passed"
        assert report.parameters["x"].dtype == "float32"
        assert report.parameters["x"].precision == 0.0
        assert report.messages[0] == (
            "the formula is checked on a float64 copy of the parameters (the cost and the "
            "gradient follow their input's dtype), with float64's tolerances"
        )


class TestAssertGradientsOptions:
    def test_the_options_reach_the_check(self) -> None:
        x = np.linspace(1.0, 2.0, 5)
        wrong = 1.01 * 3 * x**2
        report = gradcheck.assert_gradients(lambda p: np.sum(p**3), x, wrong, rtol=0.1)
        assert report.status == "passed" and report.options["rtol"] == 0.1
        with pytest.raises(GradientMismatch):
            gradcheck.assert_gradients(lambda p: np.sum(p**3), x, wrong)


def _cube(p: Any) -> Any:
    return np.sum(p**3)


def _cube_grad(p: Any) -> Any:
    return 3 * p**2


def _nan_at_2(p: Any) -> Any:
    g = 3 * p**2
    g[2] = np.nan
    return g


class TestWhenTheFloat64RouteIsTaken:
    """The float64 copy is used only for a gradient function whose cost follows its
    input's dtype, and never where the user fixed how the check runs (tolerances, step,
    method, a batched cost) or where the gradient is not finite."""

    X32 = np.linspace(1.0, 2.0, 6).astype(np.float32)

    @staticmethod
    def _routed(report: Any) -> bool:
        return any("float64 copy" in m for m in report.messages)

    @pytest.mark.parametrize(
        "options",
        [
            {"rtol": 1e-2},
            {"atol": 1e-2},
            {"method": "complex"},
            {"eps": 1e-2},
            {"execution": gradcheck.Batched(lambda q: np.sum(q**3, axis=1))},
        ],
        ids=["rtol", "atol", "complex", "eps", "batched"],
    )
    def test_not_where_the_user_fixed_how_it_runs(self, options: dict[str, Any]) -> None:
        report = gradcheck.check(_cube, self.X32, _cube_grad, **options)
        assert report.status == "passed" and not self._routed(report)
        assert report.parameters["x"].precision is None

    def test_not_for_a_gradient_given_as_an_array(self) -> None:
        report = gradcheck.check(_cube, self.X32, _cube_grad(self.X32))
        assert report.status == "passed" and not self._routed(report)

    def test_not_for_a_gradient_that_is_not_finite(self) -> None:
        report = gradcheck.check(_cube, self.X32, _nan_at_2)
        assert report.status == "failed" and not self._routed(report)
        assert report.parameters["x"].failed == 1

    def test_taken_otherwise(self) -> None:
        report = gradcheck.check(_cube, self.X32, _cube_grad)
        assert report.status == "passed" and self._routed(report)


class TestTheCostsOwnPrecision:
    """The round-off a check assumes is the coarser of the cost's and each parameter's."""

    def test_a_float32_cost_is_not_called_a_float64_one(self) -> None:
        x = np.linspace(0.5, 2.5, 20)
        report = gradcheck.check(lambda p: np.float32(np.sum(np.sin(p))), x, np.cos(x))
        assert report.status == "passed"
        assert not any("returns float64 values" in m for m in report.messages)

    def test_float32_parameters_of_a_float64_cost(self) -> None:
        x = np.linspace(1.0, 2.0, 6).astype(np.float32)
        report = gradcheck.check(
            lambda p: float(np.sum(p.astype(np.float64) ** 2)), x, 2 * x.astype(np.float64)
        )
        assert report.status == "passed"

    def test_a_float64_parameter_beside_a_float32_one_keeps_float64_sensitivity(self) -> None:
        p = {"a": np.linspace(1, 2, 4).astype(np.float32), "b": np.linspace(1, 2, 4)}

        def cost(q: dict[str, Any]) -> float:
            return float(np.sum(q["a"].astype(np.float64) ** 2) + np.sum(q["b"] ** 2))

        grad = {"a": 2 * p["a"].astype(np.float64), "b": 2 * p["b"] * (1 + 1e-6)}
        report = gradcheck.check(cost, p, grad)
        assert report.status == "failed" and report.failed_parameters == ["b"]

    def test_an_integer_valued_cost_is_checked(self) -> None:
        x = np.linspace(0.5, 2.5, 20)
        report = gradcheck.check(lambda p: int(np.sum(p > 1.0)), x, np.zeros(20))
        assert report.status == "passed"


class TestAnExecutorRunsTheCost:
    def test_threads_give_the_serial_verdict(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        x = np.linspace(1.0, 2.0, 8)
        wrong = _cube_grad(x)
        wrong[5] *= 2
        serial = gradcheck.check(_cube, x, wrong)
        with ThreadPoolExecutor(2) as pool:
            threaded = gradcheck.check(_cube, x, wrong, execution=pool)
        assert serial.status == threaded.status == "failed"
        assert threaded.evaluations == serial.evaluations
        assert [e.index for e in threaded.worst] == [e.index for e in serial.worst]


class TestDirectionalPrecision:
    """The directional check judges a cost that computes in float32 inside with
    float32's round-off, and says so; the complex step has no such float32 probe."""

    X = np.linspace(0.5, 2.5, 50)

    def test_a_hidden_float32_cost_is_found_and_named(self) -> None:
        from gradcheck._precision import HIDDEN_NOTE

        def cost(p: Any) -> float:
            return float(np.sum(np.sin(p.astype(np.float32))))

        report = gradcheck.check(cost, self.X, np.cos(self.X), mode="directional")
        assert report.status == "passed" and HIDDEN_NOTE in report.messages

    def test_the_complex_step_has_no_hidden_float32_note(self) -> None:
        from gradcheck._precision import HIDDEN_NOTE

        report = gradcheck.check(
            lambda p: np.sum(np.sin(p)),
            self.X,
            np.cos(self.X),
            mode="directional",
            method="complex",
        )
        assert report.status == "passed" and HIDDEN_NOTE not in report.messages

    def test_the_hidden_float32_probe_draws_from_the_seed(self) -> None:
        """The same seed, the same points: the probe's direction (±1 per entry, 50
        entries) comes from ``seed``, so two checks evaluate the cost at the same
        points, in the same order."""
        seen: list[Any] = []

        def cost(p: Any) -> float:
            seen.append(p.copy())
            return float(np.sum(np.sin(p.astype(np.float32))))

        runs = []
        for _ in range(2):
            seen.clear()
            report = gradcheck.check(cost, self.X, np.cos(self.X), mode="directional", seed=0)
            assert report.status == "passed"
            runs.append(np.array(seen))
        assert runs[0].shape == runs[1].shape and np.array_equal(runs[0], runs[1])

    def test_a_float32_result_that_does_not_move_keeps_float32s_roundoff(self) -> None:
        """float64 parameters, a cost returned in float32 whose values all round to
        1e4: the floor is float32's round-off of the cost (the parameters' float64 one
        would claim errors of 36× visible, where only 1.9e10× are)."""
        x = np.linspace(1.0, 2.0, 50)
        report = gradcheck.check(
            lambda p: np.float32(1e4) + np.float32(np.sum(p) * 1e-7),
            x,
            np.full(50, 1e-7),
            mode="directional",
        )
        assert report.status == "inconclusive"
        assert report.messages == (
            "x: the directional check could only see a relative error of 1.9e+10 or more "
            "(its gradient is tiny next to the noise); use mode='full'",
        )

    def test_a_hidden_low_precision_cost_that_does_not_move_is_not_failed(self) -> None:
        """The same cost returned as a float64: the probes find a coarser dtype inside,
        and its round-off (not the float64 parameters') is the floor: with float64's, a
        right gradient failed."""
        x = np.linspace(1.0, 2.0, 50)
        report = gradcheck.check(
            lambda p: float(np.float32(1e4) + np.float32(np.sum(p) * 1e-7)),
            x,
            np.full(50, 1e-7),
            mode="directional",
        )
        assert report.status == "inconclusive"
        assert report.messages[-1].startswith(
            "x: the directional check could only see a relative error of "
        )

    @pytest.mark.parametrize(
        ("rtol", "status"), [(None, "failed"), (1e-2, "passed"), (1e-4, "failed")]
    )
    def test_a_given_rtol_decides_the_directional_verdict(
        self, rtol: float | None, status: str
    ) -> None:
        """A relative error of 1e-3: within rtol=1e-2, beyond 1e-4 and the estimate's."""
        x = np.linspace(0.5, 1.5, 20)
        report = gradcheck.check(
            lambda p: float(np.sum(np.sin(p))),
            x,
            np.cos(x) * (1 + 1e-3),
            mode="directional",
            rtol=rtol,
        )
        assert report.status == status

    def test_on_the_float64_route_a_hidden_float32_cost_keeps_float32s_tolerances(self) -> None:
        """float32 parameters moved to a float64 copy, a cost that computes in float32
        inside whatever it is given: the route's note does not claim float64's
        tolerances, as the hidden float32 probe judged it with float32's."""
        from gradcheck._precision import HIDDEN_NOTE

        x = np.linspace(0.5, 1.5, 20).astype(np.float32)
        report = gradcheck.check(
            lambda p: float(np.sum(np.sin(p.astype(np.float32)))),
            x,
            lambda p: np.cos(p),
            mode="directional",
        )
        assert report.status == "passed" and report.parameters["x"].dtype == "float32"
        assert report.messages[0] == (
            "the formula is checked on a float64 copy of the parameters (the cost and the "
            "gradient follow their input's dtype)"
        )
        assert HIDDEN_NOTE in report.messages

    def test_float32_parameters(self) -> None:
        x = self.X.astype(np.float32)
        report = gradcheck.check(lambda p: np.sum(np.sin(p)), x, np.cos(x), mode="directional")
        assert report.status == "passed"

    def test_a_wrong_entry_is_localised(self) -> None:
        wrong = np.cos(self.X)
        wrong[7] *= 1.01
        report = gradcheck.check(
            lambda p: float(np.sum(np.sin(p))), self.X, wrong, mode="directional"
        )
        assert report.status == "failed" and report.localisation["pinned"] == ["x[7]"]


class TestUserGeneratorReplayedForGrad:
    """A cost and grad that draw a dropout mask from a user's Generator (or a
    ``random.Random``) see the same mask: grad drew first, and the cost's evaluations
    were replayed from the state after its draw, so a right backprop failed 3 seeds of
    3 (attack36 H167; the global ``np.random`` was replayed right)."""

    @staticmethod
    def _mlp(seed: int, source: str, factor: float) -> tuple[Any, Any, Any, Any]:
        r0 = np.random.default_rng(100 + seed)
        x, y = r0.standard_normal((8, 5)), r0.standard_normal((8, 1))
        p = {"W1": r0.standard_normal((5, 6)) * 0.5, "W2": r0.standard_normal((6, 1)) * 0.5}
        rng, pyr = np.random.default_rng(seed), random.Random(seed)

        def mask() -> Any:
            if source == "Generator":
                return (rng.random((8, 6)) < 0.5) / 0.5
            return (np.array([pyr.random() for _ in range(48)]).reshape(8, 6) < 0.5) / 0.5

        def forward(q: Any) -> tuple[Any, Any, Any]:
            h = np.tanh(x @ q["W1"]) * mask()
            return h, h @ q["W2"] - y, q

        def cost(q: Any) -> float:
            return float(0.5 * np.sum(forward(q)[1] ** 2))

        def grad(q: Any) -> Any:
            h, e, _ = forward(q)
            dh = (e @ q["W2"].T) * (h != 0) * 2.0 * (1 - np.tanh(x @ q["W1"]) ** 2)
            return {"W1": factor * (x.T @ dh), "W2": h.T @ e}

        return cost, p, grad, (rng, pyr)

    @pytest.mark.parametrize("source", ["Generator", "Random"])
    @pytest.mark.parametrize(("factor", "status"), [(1.0, "passed"), (1.1, "failed")])
    def test_the_same_mask(self, source: str, factor: float, status: str) -> None:
        import pickle

        for seed in range(3):
            cost, p, grad, (rng, pyr) = self._mlp(seed, source, factor)
            before = pickle.dumps((rng.bit_generator.state, pyr.getstate()))
            report = gradcheck.check(cost, p, grad, seed=seed)
            assert report.status == status
            assert pickle.dumps((rng.bit_generator.state, pyr.getstate())) == before


class TestAStackThatComputesAnotherCost:
    """A batched cost whose stacks of 3 or more points give other values than the cost:
    the check runs those points one by one and its report says so, in either mode."""

    X = np.linspace(0.5, 1.5, 8)

    @staticmethod
    def _stacked(p: Any) -> Any:
        values = np.sum(np.sin(p), axis=1)
        return values + 1e-3 if len(p) >= 3 else values

    @pytest.mark.parametrize("mode", ["full", "directional"])
    def test_the_note_says_the_points_ran_one_by_one(self, mode: str) -> None:
        report = gradcheck.check(
            lambda p: float(np.sum(np.sin(p))),
            self.X,
            np.cos(self.X),
            mode=mode,
            execution=gradcheck.Batched(self._stacked),
        )
        assert report.status == "passed"
        notes = [m for m in report.messages if m.startswith("evaluations are not vectorised: ")]
        assert len(notes) == 1
        assert notes[0].endswith(
            "; from there on every point ran through the cost one by one (a batched cost "
            "must compute the same cost at every stack size)"
        )

    def test_a_stack_that_agrees_leaves_no_note(self) -> None:
        report = gradcheck.check(
            lambda p: float(np.sum(np.sin(p))),
            self.X,
            np.cos(self.X),
            execution=gradcheck.Batched(lambda p: np.sum(np.sin(p), axis=1)),
        )
        assert report.status == "passed"
        assert not any("vectorised" in m for m in report.messages)

    @pytest.mark.parametrize("mode", ["full", "directional"])
    def test_the_unperturbed_value_comes_from_a_stack_too(self, mode: str) -> None:
        """The stacks' values are compared with θ's value from a stack (of θ twice): a
        stack may sum in another order than the serial cost, and that offset read as a
        kink beside the stacks' differences."""
        stacks: list[Any] = []

        def stacked(p: Any) -> Any:
            stacks.append(np.array(p))
            return np.sum(np.sin(p), axis=1)

        report = gradcheck.check(
            lambda p: float(np.sum(np.sin(p))),
            self.X,
            np.cos(self.X),
            mode=mode,
            execution=gradcheck.Batched(stacked),
        )
        assert report.status == "passed"
        assert stacks[0].shape == (2, 8) and np.array_equal(stacks[0], [self.X, self.X])
