"""``gradcheck.jax.check_function``'s arguments: pytrees in, named leaves out (F32).

A dict argument crashed with numpy's ``ValueError: entry not a 2- or 3- tuple`` (F32);
each argument is now flattened with its key paths and every floating leaf is checked
under its name (``input0.w``), as the core names pytree leaves.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradcheck.jax as gj
from gradcheck import GradcheckError
from gradcheck._jax_args import arguments, forward_gradient, is_inexact, least_precise


@jax.custom_vjp
def _bad_sin(x: Any) -> Any:
    return jnp.sin(x)


_bad_sin.defvjp(lambda x: (jnp.sin(x), x), lambda x, g: (2 * g * jnp.cos(x),))  # planted ×2


def _params(n: int = 2) -> dict[str, Any]:
    return {"w": jnp.linspace(1.0, 2.0, n), "b": jnp.linspace(0.3, 0.5, n)}


class TestPytreeArguments:
    @pytest.mark.parametrize("n", [2, 3])
    @pytest.mark.parametrize("modes", [None, ("rev",), ("rev", "fwd")])
    def test_a_dict_argument_is_checked_leaf_by_leaf(self, n: int, modes: Any) -> None:
        report = gj.check_function(lambda p: p["w"] * jnp.sin(p["b"]), _params(n), modes=modes)
        assert report.passed
        assert {"input0.w", "input0.b"} <= set(report.parameters)

    def test_a_wrong_rule_is_named_by_its_leaf(self) -> None:
        report = gj.check_function(lambda p: p["w"] * _bad_sin(p["b"]), _params(3))
        assert report.parameters["input0.b"].status == "failed"
        assert report.parameters["input0.w"].status == "passed"
        d = report.parameters["input0.b"].diagnosis
        assert d is not None and d.kind == "factor" and d.factor == pytest.approx(2.0)

    def test_nested_trees_and_fixed_leaves(self) -> None:
        def fn(layers: Any, k: int, scale: Any) -> Any:
            h = scale
            for layer in layers:
                h = jnp.tanh(layer["W"] @ h + layer["b"]) ** k
            return h

        rng = np.random.default_rng(0)
        layers = [{"W": rng.standard_normal((2, 2)), "b": rng.standard_normal(2)} for _ in range(2)]
        before = [{k: v.copy() for k, v in layer.items()} for layer in layers]
        report = gj.check_function(fn, layers, 1, jnp.array([0.5, -0.2]))
        assert report.passed
        names = {n for n in report.parameters if not n.startswith(("fwd/", "consistency"))}
        assert names == {"input0.0.W", "input0.0.b", "input0.1.W", "input0.1.b", "input2"}
        for layer, old in zip(layers, before):
            assert all(np.array_equal(layer[k], old[k]) for k in old)

    def test_a_string_argument_is_held_fixed(self) -> None:
        def fn(x: Any, how: str) -> Any:
            return jnp.sin(x) if how == "sin" else jnp.cos(x)

        report = gj.check_function(fn, jnp.array([0.1, 0.2]), "sin", modes=("rev",))
        assert report.passed and list(report.parameters) == ["input0"]

    def test_unsortable_keys_are_refused(self) -> None:
        with pytest.raises(GradcheckError, match="JAX cannot flatten the arguments"):
            gj.check_function(lambda p: p[1] + p["1"], {1: jnp.ones(2), "1": jnp.ones(2)})

    def test_no_floating_leaf_is_refused(self) -> None:
        with pytest.raises(GradcheckError, match="no argument is a floating array"):
            gj.check_function(lambda p: p["k"] * 2, {"k": jnp.arange(3)})


class TestHelpers:
    def test_arguments_rebuild_the_call(self) -> None:
        given = arguments(({"a": 1.0, "n": 3}, [2.0]))
        assert given.names == ["input0.a", "input1.0"]
        seen = given.call(lambda p, q: (p, q), [10.0, 20.0])
        assert seen == ({"a": 10.0, "n": 3}, [20.0])

    def test_is_inexact(self) -> None:
        assert is_inexact(0.5) and is_inexact(jnp.ones(2, jnp.complex64))
        assert not is_inexact(3) and not is_inexact("x") and not is_inexact(None)

    def test_least_precise_counts_a_complex_leaf_by_its_parts(self) -> None:
        assert least_precise([jnp.ones(2, jnp.complex64)]) == "float32"
        assert least_precise([jnp.ones(2, jnp.complex64), jnp.ones(2, jnp.bfloat16)]) == (
            "bfloat16"
        )

    def test_forward_gradient_is_jax_grad_for_complex_leaves(self) -> None:
        with jax.enable_x64(True):
            z = jnp.array([1.0 + 2.0j, -0.5 + 0.25j])
            x = jnp.array([0.3, 0.7])

            def f(xs: list[Any]) -> Any:
                return jnp.sum(jnp.abs(jnp.sin(xs[0]) * xs[1]) ** 2)

            forward = forward_gradient(f, [z, x])
            reverse = jax.grad(f)([z, x])
        for a, b in zip(forward, reverse):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12)
