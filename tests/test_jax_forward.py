"""``gradcheck._jax_forward``: forward-mode gradients by chunked JVPs, as ``jax.jacfwd``.

``jax.jacfwd`` held ``n × n`` values per intermediate (1.0 GB at ``n = 5000``); the
chunked JVPs must give what it gives, for every leaf, dtype and chunking, run
``custom_jvp`` rules, and fall back to ``jax.jacfwd`` where ``jax.jit`` refuses the
function.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradcheck._jax_forward as jf
import gradcheck.jax as gj


@pytest.fixture(autouse=True)
def _x64() -> Iterator[None]:
    """float64 leaves need x64 mode: on for this file's tests only. A module-level
    ``jax.config.update`` turned it on for the whole session at collection, and a
    float32 test elsewhere then ran in float64."""
    with jax.enable_x64(True):
        yield


def _ring(xs: list[Any]) -> Any:
    """``Σ tanh(a) · roll(a, 1) + Σ a[0] · b²``: couples every entry, two leaves."""
    a, b = xs
    flat = jnp.ravel(a)
    return jnp.sum(jnp.tanh(flat) * jnp.roll(flat, 1)) + jnp.sum(flat[0] * b.astype(a.dtype) ** 2)


def _leaves(shape_a: tuple[int, ...], shape_b: tuple[int, ...], dtypes: Any, seed: int) -> Any:
    rng = np.random.default_rng(seed)
    return [
        jnp.asarray(rng.uniform(-1, 1, shape_a), dtype=dtypes[0]),
        jnp.asarray(rng.uniform(-1, 1, shape_b), dtype=dtypes[1]),
    ]


@jax.custom_jvp
def _wrong_sin(x: Any) -> Any:
    return jnp.sin(x)


@_wrong_sin.defjvp
def _wrong_sin_jvp(primals: Any, tangents: Any) -> Any:
    (x,), (t,) = primals, tangents
    return jnp.sin(x), 3.0 * jnp.cos(x) * t  # planted ×3


class TestChunkedGradient:
    @pytest.mark.parametrize("batch", [1, 7, 64, jf.BATCH_ENTRIES])
    @pytest.mark.parametrize(
        ("shape_a", "shape_b"), [((5,), ()), ((3, 4), (2,)), ((1,), (6, 1))], ids=str
    )
    @pytest.mark.parametrize("seed", [0])
    def test_is_jacfwd_for_every_chunking(
        self,
        batch: int,
        shape_a: tuple[int, ...],
        shape_b: tuple[int, ...],
        seed: int,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        xs = _leaves(shape_a, shape_b, (jnp.float64, jnp.float64), seed)
        monkeypatch.setattr(jf, "BATCH_ENTRIES", batch)  # many batches, a ragged last one
        got = jf.chunked_gradient(_ring, xs)
        expected = jax.jacfwd(_ring)(xs)
        for g, e, x in zip(got, expected, xs):
            assert g.shape == x.shape and g.dtype == e.dtype
            np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=1e-13, atol=1e-14)

    @pytest.mark.parametrize("dtypes", [(jnp.float32, jnp.float32), (jnp.float32, jnp.float64)])
    def test_each_leaf_in_its_own_dtype(self, dtypes: Any) -> None:
        xs = _leaves((4,), (3,), dtypes, 2)
        got = jf.chunked_gradient(_ring, xs)
        expected = jax.jacfwd(_ring)(xs)
        for g, e in zip(got, expected):
            assert g.dtype == e.dtype
            np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=1e-5, atol=1e-6)

    def test_runs_custom_jvp_rules(self) -> None:
        x = jnp.linspace(-1.0, 1.0, 9)

        def f(xs: list[Any]) -> Any:
            return jnp.sum(_wrong_sin(xs[0]))

        (got,) = jf.jvp_gradient(f, [x])
        np.testing.assert_allclose(np.asarray(got), 3.0 * np.cos(np.asarray(x)), rtol=1e-14)

    def test_where_the_chunked_jvps_raise_jacfwd_runs(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def refused(*_: Any) -> Any:
            raise jax.errors.ConcretizationTypeError(jnp.zeros(()), "jit refused it")

        monkeypatch.setattr(jf, "transposed_gradient", refused)
        monkeypatch.setattr(jf, "chunked_gradient", refused)
        xs = _leaves((5,), (2,), (jnp.float64, jnp.float64), 3)
        got = jf.jvp_gradient(_ring, xs)
        for g, e in zip(got, jax.jacfwd(_ring)(xs)):
            assert np.array_equal(np.asarray(g), np.asarray(e))

    def test_a_users_error_is_still_raised(self) -> None:
        def f(xs: list[Any]) -> Any:
            raise ValueError("boom from the user")

        with pytest.raises(ValueError, match="boom from the user"):
            jf.jvp_gradient(f, [jnp.ones(3)])


class TestForwardModeChecks:
    @pytest.mark.parametrize("n", [3, 40])
    def test_wrong_custom_jvp_still_fails_in_forward_mode(
        self, n: int, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(jf, "BATCH_ENTRIES", 5)  # several batches
        x = jnp.linspace(-1.0, 1.0, n)
        report = gj.check_function(_wrong_sin, x, modes=("fwd",))
        assert report.status == "failed"
        correct = gj.check_function(jnp.sin, x, modes=("fwd",))
        assert correct.status == "passed"


@jax.custom_jvp
def _affine_sin(x: Any) -> Any:
    return jnp.sin(x)


@_affine_sin.defjvp
def _affine_sin_jvp(primals: Any, tangents: Any) -> Any:
    (x,), (t,) = primals, tangents
    return jnp.sin(x), jnp.cos(x) * t + 0.25  # not linear in t: a constant added


def _looped(xs: list[Any]) -> Any:
    """``Σ sin(x)`` doubled in a ``lax.while_loop``: JAX runs its JVP, cannot transpose it."""

    def body(carry: Any) -> Any:
        k, y = carry
        return k + 1, 2.0 * y

    _, y = jax.lax.while_loop(lambda c: c[0] < 2, body, (0, jnp.sin(xs[0])))
    return jnp.sum(y)


class TestTransposedGradient:
    @pytest.mark.parametrize(
        ("shape_a", "shape_b"), [((5,), ()), ((3, 4), (2,)), ((1,), (6, 1))], ids=str
    )
    @pytest.mark.parametrize("seed", [0, 1, 2])
    def test_is_jacfwd(self, shape_a: tuple[int, ...], shape_b: tuple[int, ...], seed: int) -> None:
        xs = _leaves(shape_a, shape_b, (jnp.float64, jnp.float64), seed)
        got = jf.transposed_gradient(_ring, xs).gradient
        expected = jax.jacfwd(_ring)(xs)
        for g, e, x in zip(got, expected, xs):
            assert g.shape == x.shape and g.dtype == e.dtype
            np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=1e-13, atol=1e-14)

    @pytest.mark.parametrize("dtypes", [(jnp.float32, jnp.float32), (jnp.float32, jnp.float64)])
    def test_each_leaf_in_its_own_dtype(self, dtypes: Any) -> None:
        xs = _leaves((4,), (3,), dtypes, 2)
        got = jf.transposed_gradient(_ring, xs).gradient
        for g, e in zip(got, jax.jacfwd(_ring)(xs)):
            assert g.dtype == e.dtype
            np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=1e-5, atol=1e-6)

    @pytest.mark.parametrize("n", [9, 30000])
    def test_jvp_gradient_takes_it_without_basis_jvps(
        self, n: int, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """At 30000 entries the basis JVPs would be 30000 JVPs of 30000 entries each."""
        calls: list[int] = []

        def counted(*args: Any) -> Any:
            calls.append(1)
            raise AssertionError("the basis JVPs ran")

        monkeypatch.setattr(jf, "chunked_gradient", counted)
        x = jnp.linspace(-1.0, 1.0, n)

        def f(xs: list[Any]) -> Any:
            return jnp.sum(_wrong_sin(xs[0]))

        (got,) = jf.jvp_gradient(f, [x])
        assert calls == []
        np.testing.assert_allclose(np.asarray(got), 3.0 * np.cos(np.asarray(x)), rtol=1e-14)

    @pytest.mark.parametrize("n", [1, 5, 12])
    def test_a_rule_not_linear_in_its_tangent_takes_the_basis_jvps(self, n: int) -> None:
        """The transposition linearises at v = 0 and drops the constant; the basis JVPs
        count it once per entry, as jax.jacfwd does: the gradient is jacfwd's."""
        x = jnp.linspace(-1.0, 1.0, n)

        def f(xs: list[Any]) -> Any:
            return jnp.sum(_affine_sin(xs[0]))

        (got,) = jf.jvp_gradient(f, [x])
        (expected,) = jax.jacfwd(f)([x])
        np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-14)
        assert not np.allclose(np.asarray(got), np.cos(np.asarray(x)))

    def test_a_wrong_transposition_takes_the_basis_jvps(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def wrong(fn: Any, xs: Any) -> Any:
            right = jf.Linearised(jax.jacfwd(fn)(list(xs)), jax.linearize(fn, list(xs))[1])
            return right._replace(gradient=[1.001 * g for g in right.gradient])

        monkeypatch.setattr(jf, "transposed_gradient", wrong)
        xs = _leaves((5,), (2,), (jnp.float64, jnp.float64), 4)
        got = jf.jvp_gradient(_ring, xs)
        for g, e in zip(got, jax.jacfwd(_ring)(xs)):
            np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=1e-13, atol=1e-14)

    @pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
    def test_a_function_jax_cannot_transpose_takes_the_basis_jvps(self, dtype: Any) -> None:
        x = jnp.linspace(-1.0, 1.0, 6, dtype=dtype)
        with pytest.raises(ValueError, match="while_loop"):
            jf.transposed_gradient(_looped, [x])
        (got,) = jf.jvp_gradient(_looped, [x])
        assert got.dtype == dtype
        np.testing.assert_allclose(np.asarray(got), 4.0 * np.cos(np.asarray(x)), rtol=1e-6)

    @pytest.mark.parametrize("rule", [_wrong_sin, _affine_sin], ids=["linear", "affine"])
    @pytest.mark.parametrize("seed", [0, 5])
    def test_every_way_traces_from_the_rng_state_on_entry(self, rule: Any, seed: int) -> None:
        """A fn that draws from NumPy's global generator is traced once per way, each
        from the state on entry: the affine rule's basis JVPs (after the transposition
        disagreed) see the same draw as jax.jacfwd from that state."""
        x = jnp.linspace(-1.0, 1.0, 8)

        def f(xs: list[Any]) -> Any:
            return jnp.sum(rule(xs[0][np.random.choice(8, 3)]))

        np.random.seed(seed)
        state = np.random.get_state()
        (got,) = jf.jvp_gradient(f, [x])
        np.random.set_state(state)
        (expected,) = jax.jacfwd(f)([x])
        np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-14)
