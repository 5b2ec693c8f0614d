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
