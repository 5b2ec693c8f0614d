"""gradcheck.jax: jax.grad and custom rules are checked, mistakes are localised."""

from __future__ import annotations

import random
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradcheck.jax as gj
from gradcheck import GradcheckError


@jax.custom_vjp
def _softplus(x: Any) -> Any:
    return jnp.logaddexp(x, 0.0)


def _softplus_fwd(x: Any) -> Any:
    return _softplus(x), x


def _softplus_bwd(x: Any, g: Any) -> Any:
    return (g * jax.nn.sigmoid(x),)


_softplus.defvjp(_softplus_fwd, _softplus_bwd)


@jax.custom_vjp
def _bad_softplus(x: Any) -> Any:
    return jnp.logaddexp(x, 0.0)


def _bad_bwd(x: Any, g: Any) -> Any:
    return (-g * jax.nn.sigmoid(x),)  # planted: wrong sign


_bad_softplus.defvjp(_softplus_fwd, _bad_bwd)

KEY = jax.random.PRNGKey(0)
PARAMS = {
    "layers": [
        {"W": jax.random.normal(KEY, (3, 4)), "b": jnp.zeros(4)},
        {"W": jax.random.normal(jax.random.PRNGKey(1), (4, 2)), "b": jnp.zeros(2)},
    ]
}
X = jax.random.normal(jax.random.PRNGKey(2), (5, 3))


def _mlp(p: Any, act: Any = _softplus) -> Any:
    h = act(X @ p["layers"][0]["W"] + p["layers"][0]["b"])
    return jnp.mean((h @ p["layers"][1]["W"] + p["layers"][1]["b"]) ** 2)


class TestCheck:
    def test_mlp_with_custom_vjp_passes_and_names_paths(self) -> None:
        report = gj.check(jax.jit(_mlp), PARAMS)
        assert report.status == "passed", str(report)
        assert list(report.parameters) == ["layers.0.W", "layers.0.b", "layers.1.W", "layers.1.b"]
        # the formula is checked in float64; the float32 gradient's round-off beside it
        assert report.options["analytic_dtype"] == "float64"
        assert report.options["user_dtype"] == "float32"
        assert all(0 <= (p.precision or 0) < 1e-4 for p in report.parameters.values())
        assert report.options["numeric_dtype"] == "float64"

    def test_x64_is_restored(self) -> None:
        before = bool(jax.config.jax_enable_x64)
        gj.check(_mlp, PARAMS)
        assert bool(jax.config.jax_enable_x64) == before

    def test_planted_custom_vjp_mistake_is_localised(self) -> None:
        report = gj.check(lambda p: _mlp(p, _bad_softplus), PARAMS)
        assert report.failed_parameters == ["layers.0.W", "layers.0.b"]
        assert report.worst[0].parameter.startswith("layers.0")

    def test_model_precision(self) -> None:
        report = gj.check(_mlp, PARAMS, precision="model")
        assert report.options["numeric_dtype"] == "float32"
        assert report.status == "passed", str(report)

    def test_bare_array_is_named_x_and_vectorised(self) -> None:
        report = gj.check(lambda x: jnp.sum(jnp.sin(x) ** 2), jnp.linspace(0.1, 1.0, 5))
        assert list(report.parameters) == ["x"] and report.passed
        assert report.options["vectorised"] is True

    def test_falls_back_to_float32_when_x64_fails(self) -> None:
        def f(x: Any) -> Any:
            if x.dtype != jnp.float32:
                raise TypeError("float32 only")
            return jnp.sum(x**2)

        report = gj.check(f, jnp.ones(3))
        assert report.options["precision"] == "model"
        assert any("x64 mode could not be used" in m for m in report.messages)
        assert report.passed

    def test_f_is_never_jitted_by_the_check(self, monkeypatch: Any) -> None:
        """check and check_function evaluate f as given, as check_grads does: a jax.jit
        f runs compiled, a plain one eagerly (jitting the check's wrapper compiled f anew
        for every check and run, and ran its side effects with tracers: attack27 H42).
        With jax.jit unusable from here on, both still run vectorised and pass."""

        def f(x: Any) -> Any:
            return jnp.sum(jnp.sin(x) ** 2)

        jitted = jax.jit(f)
        jitted(jnp.ones(3))

        def no_jit(fn: Any) -> Any:
            def fail(*args: Any) -> Any:
                raise RuntimeError("cannot compile")

            return fail

        monkeypatch.setattr(gj.jax, "jit", no_jit)
        for g in (jitted, f):
            for report in (
                gj.check(g, jnp.ones(3)),
                gj.check_function(g, jnp.ones(3), modes=("rev", "fwd")),
            ):
                assert report.status == "passed"
                assert not any("jax.jit" in m for m in report.messages)
                assert not any("not vectorised" in m for m in report.messages)

    @pytest.mark.parametrize("entry", ["check", "check_function"])
    def test_no_tracer_left_in_the_users_object(self, entry: str) -> None:
        """attack27 H42: a loss that logs its value on its object (self.last = loss)
        left a leaked tracer there (every later use raised UnexpectedTracerError); the
        check puts back what the object held (None: every call of f was traced)."""

        class Logger:
            def __init__(self) -> None:
                self.last: Any = None
                self.history: list[Any] = []

            def loss(self, x: Any) -> Any:
                value = jnp.sum(jnp.sin(x) ** 2)
                self.last = value
                self.history = [*self.history, value]
                return value

        log = Logger()
        x = jnp.linspace(-1.0, 1.0, 5)
        check = gj.check if entry == "check" else gj.check_function
        assert check(log.loss, x).status == "passed"
        assert not isinstance(log.last, jax.core.Tracer)
        assert not any(isinstance(v, jax.core.Tracer) for v in log.history)
        log.loss(x)  # the user's object still works
        assert float(log.last) == pytest.approx(float(jnp.sum(jnp.sin(x) ** 2)))

    @pytest.mark.parametrize("entry", ["check", "check_function"])
    def test_a_stateful_key_is_judged_not_crashed_on(self, entry: str) -> None:
        """attack27 H42: self.key, sub = split(self.key) stored a tracer in the key while
        f was traced, and the next evaluation raised CostRaised(UnexpectedTracerError).
        The key is put back after every call (attack28 H64), as the user's torch and
        NumPy generators are reset: every evaluation draws the same noise, the check
        judges the gradient, and the key is where it was, a key the user can draw from."""

        class Keyed:
            def __init__(self) -> None:
                self.key = jax.random.PRNGKey(0)

            def loss(self, x: Any) -> Any:
                self.key, sub = jax.random.split(self.key)
                noise = 0.01 * jax.random.normal(sub, x.shape, x.dtype)
                return jnp.sum(jnp.sin(x + noise) ** 2)

        keyed = Keyed()
        before = keyed.key
        check = gj.check if entry == "check" else gj.check_function
        report = check(keyed.loss, jnp.linspace(-1.0, 1.0, 5))
        assert report.status == "passed", str(report)
        assert not isinstance(keyed.key, jax.core.Tracer)
        assert bool(jnp.all(keyed.key == before))
        jax.random.normal(keyed.key, ())

    def test_error_at_a_later_evaluation_is_named(self) -> None:
        calls = [0]

        def f(x: Any) -> Any:
            calls[0] += 1
            if calls[0] > 1:
                raise ValueError("later")
            return jnp.sum(x**2)

        with pytest.raises(GradcheckError, match=r"ValueError: later \(evaluation 1"):
            gj.check(f, jnp.ones(2))

    def test_integer_leaf_is_an_error(self) -> None:
        with pytest.raises(GradcheckError, match="'n' is an array of dtype int32: integer"):
            gj.check(lambda p: jnp.sum(p["w"]), {"n": jnp.arange(3), "w": jnp.ones(2)})

    @pytest.mark.parametrize("leaf", [3, True])
    def test_a_python_int_leaf_is_named_as_such_with_the_remedy(self, leaf: Any) -> None:
        # attack21: a Python int was called "int32", with nothing to do about it
        kind = type(leaf).__name__
        with pytest.raises(GradcheckError, match=rf"'meta.n' is a Python {kind}: .*check_function"):
            gj.check(lambda p: jnp.sum(p["w"]), {"meta": {"n": leaf}, "w": jnp.ones(2)})

    def test_non_scalar_f_is_an_error(self) -> None:
        with pytest.raises(GradcheckError, match="scalar"):
            gj.check(lambda x: x * 2, jnp.ones(3))


class TestCheckFunction:
    def test_custom_vjp_function_passes(self) -> None:
        report = gj.check_function(_softplus, jnp.linspace(-2.0, 2.0, 6))
        assert report.passed and list(report.parameters) == ["input0"]

    def test_wrong_rule_fails_and_integer_output_is_ignored(self) -> None:
        def fn(x: Any, y: Any) -> Any:
            return _bad_softplus(x) + y, jnp.arange(3)

        report = gj.check_function(fn, jnp.ones(3), jnp.ones(3))
        assert report.failed_parameters == ["input0"]
        assert report.parameters["input1"].status == "passed"

    def test_one_output_reverse_check_runs_its_backward_once(self) -> None:
        """The probe of reverse mode is that output's VJP: the run reuses it (it ran
        the backward twice); a wrong rule still fails."""
        calls = [0]

        def make(sign: float) -> Any:
            @jax.custom_vjp
            def f(x: Any) -> Any:
                return 2.0 * jnp.sin(x)

            def bwd(x: Any, g: Any) -> Any:
                calls[0] += 1
                return (sign * 2.0 * jnp.cos(x) * g,)

            f.defvjp(lambda x: (f(x), x), bwd)
            return f

        with jax.enable_x64(True):
            x = jnp.linspace(0.1, 1.0, 5, dtype=jnp.float64)
            report = gj.check_function(make(1.0), x, modes=("rev",))
            assert report.status == "passed" and calls == [1]
            assert gj.check_function(make(-1.0), x, modes=("rev",)).status == "failed"

    def test_numpy_rng_untouched(self) -> None:
        state = np.random.get_state()[1].copy()
        gj.check_function(jnp.tanh, jnp.ones(3))
        assert np.array_equal(np.random.get_state()[1], state)


def _rng_states() -> tuple[Any, ...]:
    s = np.random.get_state()
    return (s[0], s[1].copy(), *s[2:], random.getstate())


def _same_rng(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    return a[0] == b[0] and np.array_equal(a[1], b[1]) and a[2:] == b[2:]


XS = np.random.default_rng(3).standard_normal((20, 3))


def _minibatch(draw: str, jit: bool) -> Any:
    """A loss on rows drawn from the global NumPy or ``random`` generator."""

    def f(p: Any) -> Any:
        if draw == "choice":
            rows = np.random.choice(20, 5, replace=False)
        else:
            start = random.randrange(15)
            rows = np.arange(start, start + 5)
        x = jnp.asarray(XS[rows], dtype=p["W"].dtype)
        return jnp.mean(jnp.tanh(x @ p["W"]) ** 2)

    return jax.jit(f) if jit else f


class TestUserRandomness:
    """Issue 12 §1: every call of f starts from the user's global RNG states."""

    @pytest.mark.parametrize("draw", ["choice", "randrange"])
    @pytest.mark.parametrize("jit", [False, True])
    @pytest.mark.parametrize("dtype", [jnp.float32, np.float64])
    def test_minibatch_from_the_global_generators_passes(
        self, draw: str, jit: bool, dtype: Any
    ) -> None:
        params = {"W": np.linspace(-0.5, 0.7, 6).reshape(3, 2).astype(dtype)}
        np.random.seed(4)
        random.seed(4)
        before = _rng_states()
        report = gj.check(_minibatch(draw, jit), params)
        assert report.status == "passed", str(report)
        assert _same_rng(before, _rng_states())

    def test_wrong_rule_is_still_caught(self) -> None:
        def f(p: Any) -> Any:
            rows = np.random.choice(20, 5, replace=False)
            return jnp.sum(_bad_softplus(jnp.asarray(XS[rows]) @ p["W"]))

        np.random.seed(1)
        before = _rng_states()
        report = gj.check(f, {"W": np.full((3, 2), 0.3)})
        assert report.failed_parameters == ["W"]
        assert _same_rng(before, _rng_states())

    def test_check_function_with_a_drawn_subset(self) -> None:
        np.random.seed(2)
        before = _rng_states()
        report = gj.check_function(lambda t: jnp.sin(t[np.random.choice(8, 3)]), jnp.ones(8))
        assert report.status == "passed", str(report)
        assert _same_rng(before, _rng_states())

    @pytest.mark.parametrize("interrupt", [False, True])
    def test_states_are_back_when_f_raises(self, interrupt: bool) -> None:
        calls = [0]

        def f(p: Any) -> Any:
            calls[0] += 1
            np.random.rand()
            random.random()
            if calls[0] > 1:  # the first trace after the analytic pass, and every call after
                raise KeyboardInterrupt if interrupt else RuntimeError("injected")
            return jnp.sum(p["W"] ** 2)

        np.random.seed(6)
        before = _rng_states()
        with pytest.raises((GradcheckError, KeyboardInterrupt)):
            gj.check(f, {"W": np.ones(3)})
        assert _same_rng(before, _rng_states())


class TestUniqueNames:
    """Leaves whose dotted names collide keep one parameter each (issue 12 §4)."""

    @staticmethod
    def _cost(p: Any) -> Any:
        return jnp.sum(jnp.sin(p["a.b"])) + jnp.sum(p["a"]["b"] ** 2)

    PARAMS: ClassVar[dict[str, Any]] = {
        "a.b": jnp.array([0.3, 0.5]),
        "a": {"b": jnp.array([1.0, 2.0, -0.5])},
    }

    def test_both_leaves_checked_and_correct_passes(self) -> None:
        report = gj.check(self._cost, self.PARAMS)
        sizes = {name: p.size for name, p in report.parameters.items()}
        assert sizes == {"['a.b']": 2, "a.b": 3}  # in JAX's (sorted) key order
        assert report.status == "passed", str(report)

    @pytest.mark.parametrize("wrong", ["['a.b']", "a.b"])
    def test_a_wrong_leaf_is_named(self, wrong: str) -> None:
        def cost(p: Any) -> Any:
            x, y = p["a.b"], p["a"]["b"]
            # a doubled gradient through a zero-valued term, in one leaf only
            bad = x if wrong == "['a.b']" else y
            return self._cost(p) + jnp.sum(bad - jax.lax.stop_gradient(bad))

        report = gj.check(cost, self.PARAMS)
        assert report.failed_parameters == [wrong], str(report)

    def test_keys_jax_cannot_sort_are_a_usage_error(self) -> None:
        with pytest.raises(GradcheckError, match="keys of one type"):
            gj.check(lambda p: jnp.sum(p[1]) + jnp.sum(p["1"]), {1: jnp.ones(2), "1": jnp.ones(2)})


def _sin_jvp_rule(scale: float) -> Any:
    """``sin`` as a ``custom_jvp`` whose rule is scaled by ``scale`` (1: right)."""

    @jax.custom_jvp
    def f(x: Any) -> Any:
        return jnp.sin(x)

    @f.defjvp
    def rule(primals: Any, tangents: Any) -> Any:
        (x,), (t,) = primals, tangents
        return jnp.sin(x), scale * jnp.cos(x) * t

    return f


class TestForwardMode:
    """Issue 13: jax.jvp and custom_jvp rules, per output, with the consistency check."""

    DTYPES: ClassVar[list[Any]] = [np.float64, np.float32]

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_wrong_custom_jvp_rule_fails_forward(self, dtype: Any) -> None:
        x = np.linspace(-1.5, 1.5, 5).astype(dtype)
        report = gj.check_function(_sin_jvp_rule(1.5), x)
        assert report.options["modes"] == ["rev", "fwd"]
        assert "fwd/input0" in report.failed_parameters
        assert report.parameters["fwd/input0"].diagnosis.kind == "factor"  # type: ignore[union-attr]
        assert any(m.startswith("the JVP (jax.jvp) is wrong") for m in report.messages)

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_right_custom_jvp_rule_passes_both(self, dtype: Any) -> None:
        x = np.linspace(-1.5, 1.5, 5).astype(dtype)
        report = gj.check_function(_sin_jvp_rule(1.0), x)
        assert report.status == "passed", str(report)
        assert list(report.parameters) == ["input0", "fwd/input0", "consistency: jvp vs vjp"]
        assert report.options["consistency"] is True

    def test_wrong_custom_vjp_fails_reverse_and_defaults_to_it(self) -> None:
        report = gj.check_function(_bad_softplus, jnp.linspace(-2.0, 2.0, 6))
        assert report.failed_parameters == ["input0"]
        assert report.options["modes"] == ["rev"]
        assert any("forward mode not checked" in m and "custom_jvp" in m for m in report.messages)
        assert any(m.startswith("the VJP (jax.vjp) is wrong") for m in report.messages)

    @pytest.mark.parametrize("modes", [("fwd",), ("rev", "fwd")])
    def test_forward_mode_of_a_custom_vjp_is_an_error(self, modes: Any) -> None:
        with pytest.raises(GradcheckError, match=r"modes=.*custom_vjp.*jax.custom_jvp"):
            gj.check_function(_softplus, jnp.ones(3), modes=modes)

    def test_bad_modes_are_an_error(self) -> None:
        with pytest.raises(GradcheckError, match="modes="):
            gj.check_function(jnp.sin, jnp.ones(3), modes=("jvp",))

    @pytest.mark.parametrize(
        "fn",
        [jnp.sin, lambda a, b: a @ b, lambda a, b: (jnp.tanh(a @ b), jnp.sum(a**2), b * 3)],
    )
    @pytest.mark.parametrize("dtype", DTYPES)
    def test_ordinary_functions_pass_both_modes(self, fn: Any, dtype: Any) -> None:
        rng = np.random.default_rng(9)
        a, b = rng.standard_normal((3, 4)).astype(dtype), rng.standard_normal(4).astype(dtype)
        report = gj.check_function(fn, a) if fn is jnp.sin else gj.check_function(fn, a, b)
        assert report.status == "passed", str(report)
        assert report.options["modes"] == ["rev", "fwd"] and report.options["consistency"]

    def test_a_wrong_output_is_named_per_output(self) -> None:
        f = _sin_jvp_rule(-1.0)
        report = gj.check_function(lambda a, b: (a * b, f(a)), jnp.ones(3), jnp.full(3, 0.5))
        assert set(report.failed_parameters) == {"out[1]/input0", "fwd/out[1]/input0"}
        assert (
            "the JVP (jax.jvp) is wrong: the derivative of out[1] with respect to input0"
            in report.messages
        )

    def test_forward_only_keeps_the_users_rng(self) -> None:
        np.random.seed(2)
        before = _rng_states()
        report = gj.check_function(
            lambda t: jnp.sin(t[np.random.choice(8, 3)]), jnp.ones(8), modes=("fwd",)
        )
        assert report.status == "passed", str(report)
        assert _same_rng(before, _rng_states())


class TestEmptyLeaves:
    """Attack 20 A8: an empty leaf is named (it used to be "params is empty")."""

    @pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
    def test_check_names_the_empty_leaf(self, dtype: Any) -> None:
        with pytest.raises(GradcheckError, match=r"^w has no entries \(size 0\)"):
            gj.check(lambda p: jnp.sum(jnp.abs(p["w"])), {"w": np.zeros(0, dtype)})

    @pytest.mark.parametrize("order", [1, 2])
    def test_check_function_names_the_empty_argument(self, order: int) -> None:
        with pytest.raises(GradcheckError, match=r"^input0\.w has no entries"):
            gj.check_function(lambda d: d["w"] * 2, {"w": np.zeros(0)}, order=order)

    def test_an_empty_params_dict_still_says_params(self) -> None:
        with pytest.raises(GradcheckError, match="params is empty"):
            gj.check(lambda p: 0.0, {})


def _big_entry(big: float, c: float) -> Any:
    """``[sin(x), big·(1 + 1e-3·x₀)]`` whose bwd is ``c`` times off on the sin part."""

    @jax.custom_vjp
    def f(x: Any) -> Any:
        return jnp.concatenate([jnp.sin(x), big * (1 + 1e-3 * x[:1])])

    def bwd(x: Any, g: Any) -> Any:
        return ((c * jnp.cos(x) * g[:-1]).at[0].add(big * 1e-3 * g[-1]),)

    f.defvjp(lambda x: (f(x), x), bwd)
    return f


class TestFairShares:
    """Attack 20 A7: one output entry with a huge derivative hides no error elsewhere."""

    @pytest.mark.parametrize("c", [1.0, 2.0, -1.0])
    @pytest.mark.parametrize("x64", [True, False])
    def test_every_entry_has_its_share(self, c: float, x64: bool) -> None:
        x = np.random.default_rng(0).normal(size=10)
        with jax.enable_x64(x64):
            report = gj.check_function(_big_entry(1e12 if x64 else 1e6, c), x)
        assert report.status == ("passed" if c == 1.0 else "failed"), str(report)


def _cross_entropy(z: Any, y: Any) -> Any:
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(z), y[:, None], 1))


class TestConsistencyInLowPrecision:
    """attack21 B5: right float32 rules whose cancellation exceeds the sums' round-off
    are compared again in x64 mode, and agree there."""

    @pytest.mark.parametrize("margin", [8.0, 12.0, 16.0])
    @pytest.mark.parametrize("seed", [0, 3])
    def test_cross_entropy_of_a_confident_classifier_is_not_failed(
        self, margin: float, seed: int
    ) -> None:
        draw = np.random.default_rng(seed)
        y = draw.integers(0, 5, 8)
        z = (draw.standard_normal((8, 5)) + margin * np.eye(5)[y]).astype(np.float32)
        before, x64 = _rng_states(), jax.config.read("jax_enable_x64")
        report = gj.check_function(_cross_entropy, jnp.asarray(z), jnp.asarray(y))
        assert report.parameters["consistency: jvp vs vjp"].status == "passed", str(report)
        assert report.status != "failed", str(report)
        assert _same_rng(before, _rng_states())
        assert jax.config.read("jax_enable_x64") == x64

    def test_x_minus_sin_x_at_small_x_agrees(self) -> None:
        x = jnp.linspace(0.5, 1.5, 20, dtype=jnp.float32) * 1e-3
        report = gj.check_function(lambda t: t - jnp.sin(t), x)
        assert report.parameters["consistency: jvp vs vjp"].status == "passed", str(report)

    def test_an_x64_retry_that_raises_is_said_in_the_report(self) -> None:
        def float32_only(t: Any) -> Any:
            if t.dtype != jnp.float32:
                raise TypeError("float32 only")
            return t - jnp.sin(t)

        x = jnp.linspace(0.5, 1.5, 20, dtype=jnp.float32) * 1e-3
        report = gj.check_function(float32_only, x)
        assert report.parameters["consistency: jvp vs vjp"].status == "failed"
        note = next(m for m in report.messages if "comparing them again in float64" in m)
        assert "TypeError: float32 only" in note and "float32 comparison stands" in note
        right = gj.check_function(lambda t: t - jnp.sin(t), x)
        assert not any("comparing them again" in m for m in right.messages)


def _confident_loss(margin: float, seed: int) -> tuple[Any, dict[str, Any]]:
    """attack22 c26.py: a float32 cross-entropy of ``X W + margin · one_hot(y)``, the
    labels a NumPy int64 array indexing ``jnp.eye`` (the JAX x64-switch cache bug)."""
    draw = np.random.default_rng(seed)
    y = draw.integers(0, 5, 8)
    w = jnp.asarray(draw.standard_normal((6, 5)).astype(np.float32) * 0.1)
    x = jnp.asarray(draw.standard_normal((8, 6)).astype(np.float32))

    def loss(p: dict[str, Any]) -> Any:
        z = jax.nn.log_softmax(x @ p["W"] + margin * jnp.eye(5)[y])
        return -jnp.mean(jnp.take_along_axis(z, jnp.asarray(y)[:, None], 1))

    return loss, {"W": w}


class TestConfidentClassifier:
    """attack22 C5: once the float64 side of a loss that cancels is refused, the float32
    side raised "lax.add requires ... int64, int32" (JAX keeps constants across its x64
    switch). The float64 side stays refused here (the loss gate of C4 is not changed):
    the check is inconclusive, and must not raise."""

    def test_the_float32_side_survives_the_x64_switch(self) -> None:
        loss, params = _confident_loss(16.0, 0)
        report = gj.check(loss, params, precision="model")
        assert report.options["route"] == "same"

        def shifted(p: dict[str, Any]) -> Any:  # another function in x64 mode: refused
            return loss(p) if p["W"].dtype == jnp.float32 else loss(p) + 1.0

        refused = gj.check(shifted, params)  # its float32 side runs after the x64 side
        assert refused.options["route"] == "same", str(refused)
        assert refused.status == "inconclusive", str(refused)
        assert gj.check(loss, params).status == "inconclusive"  # float32: exactly 0 differences
        assert float(loss(params)) > 0


class TestComplexOrder2:
    """attack23 D7: order=2 on complex parameters said "params is empty" / "fn returned
    no values", let numpy's ComplexWarning escape, and checked the real parts only."""

    @pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
    @pytest.mark.parametrize("fn", [jnp.exp, lambda t: t * t, lambda t: jnp.abs(t) ** 2])
    def test_check_function_refuses_with_the_remedy(self, dtype: Any, fn: Any) -> None:
        z = np.array([0.3 + 0.5j, -1.1 + 0.2j, 0.7 - 0.9j], dtype)
        with pytest.raises(GradcheckError, match=r"complex parameters.*\(input0\).*re \+ 1j"):
            gj.check_function(fn, z, order=2)

    def test_check_refuses_and_names_the_complex_leaf(self) -> None:
        params = {"w": np.ones(2), "z": np.array([0.3 + 0.5j, -1.1 + 0.2j])}

        def cost(p: dict[str, Any]) -> Any:
            return jnp.sum(jnp.abs(p["z"]) ** 2 * p["w"])

        with pytest.raises(GradcheckError, match=r"complex parameters in gradcheck.jax yet \(z\)"):
            gj.check(cost, params, order=2)
        assert gj.check(cost, params).status == "passed"  # order=1 checks them


def _cos(x: Any, y: Any) -> Any:
    """Cosine similarity along the last axis, in jnp (attack25 g04_jax_cos0d.py)."""
    n = jnp.maximum(jnp.sqrt(jnp.sum(x * x, -1) * jnp.sum(y * y, -1)), 1e-8)
    return jnp.sum(x * y, -1) / n


class TestConsistencyAtAConstantOutput:
    """attack25 G3, attack24 F2's JAX twin: cosine similarity of (n, 1) inputs is ±1,
    its derivative 0; the jvp gives 0, the VJP round-off, and the rule comparison failed
    with an allowance of 1e-21. The floor torch has (``_adapters.magnitudes``) applies."""

    @pytest.mark.parametrize("seed", range(3))
    @pytest.mark.parametrize("shape", [(4, 1), (1,)])
    def test_cosine_similarity_rules_agree(self, seed: int, shape: tuple[int, ...]) -> None:
        r = np.random.default_rng(seed)
        a, b = (np.asarray(r.standard_normal(shape)) for _ in range(2))
        with jax.enable_x64(True):
            report = gj.check_function(_cos, jnp.asarray(a), jnp.asarray(b))
        assert report.status != "failed", str(report)
        assert report.parameters["consistency: jvp vs vjp"].status == "passed"
