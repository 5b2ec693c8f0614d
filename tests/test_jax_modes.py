"""gradcheck._jax_modes: a function JAX cannot reverse (a lax.while_loop) is checked in
forward mode, and asking for reverse mode is a usage error (attack24 F3)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradcheck.jax as gj
from gradcheck import GradcheckError
from gradcheck._adapters import NoForward
from gradcheck._jax_modes import ForwardOnly, reverse_error, without_reverse

DTYPES = [np.float64, np.float32]


def _scaled_recip(scale: float) -> Any:
    """``1 / y`` as a ``custom_jvp`` whose rule is scaled by ``scale`` (1: right)."""

    @jax.custom_jvp
    def recip(y: Any) -> Any:
        return 1 / y

    @recip.defjvp
    def rule(primals: Any, tangents: Any) -> Any:
        (y,), (t,) = primals, tangents
        return 1 / y, -scale * t / y**2

    return recip


def _newton_sqrt(scale: float = 1.0, steps: int = 20) -> Any:
    """``sqrt`` by Newton steps in a ``lax.while_loop`` (JAX cannot reverse it)."""
    recip = _scaled_recip(scale)

    def fn(a: Any) -> Any:
        def body(c: Any) -> Any:
            i, y = c
            return i + 1, 0.5 * (y + a * recip(y))

        return jax.lax.while_loop(lambda c: c[0] < steps, body, (0, a))[1]

    return fn


def _converged_sqrt(a: Any) -> Any:
    """``sqrt`` by Newton steps until they converge: a data-dependent loop."""

    def body(c: Any) -> Any:
        y, _ = c
        new = 0.5 * (y + a / y)
        return new, jnp.max(jnp.abs(new - y))

    return jax.lax.while_loop(lambda c: c[1] > 1e-6 * jnp.max(a), body, (a, jnp.max(a)))[0]


class TestFunctionJaxCannotReverse:
    @pytest.mark.parametrize("dtype", DTYPES)
    @pytest.mark.parametrize("fn", [_newton_sqrt(), _converged_sqrt])
    def test_default_modes_check_forward_mode_with_a_note(self, dtype: Any, fn: Any) -> None:
        a = np.array([2.0, 3.0, 5.0, 0.7], dtype=dtype)
        report = gj.check_function(fn, a)
        assert report.status == "passed", str(report)
        assert report.options["modes"] == ["fwd"]
        assert "fwd/input0" in report.parameters and "input0" not in report.parameters
        assert any(
            m.startswith("reverse mode not checked: JAX cannot differentiate fn in reverse")
            and "lax.while_loop" in m
            for m in report.messages
        )

    @pytest.mark.parametrize("dtype", DTYPES)
    @pytest.mark.parametrize("seed", [0, 1])
    def test_a_wrong_custom_jvp_inside_the_loop_fails(self, dtype: Any, seed: int) -> None:
        a = np.random.default_rng(seed).uniform(0.5, 4.0, 5).astype(dtype)
        report = gj.check_function(_newton_sqrt(1.05), a, seed=seed)
        assert report.options["modes"] == ["fwd"]
        assert report.parameters["fwd/input0"].status == "failed", str(report)

    def test_explicit_forward_mode_has_no_note(self) -> None:
        report = gj.check_function(_newton_sqrt(), jnp.array([2.0, 3.0]), modes=("fwd",))
        assert report.status == "passed", str(report)
        assert not any("reverse mode not checked" in m for m in report.messages)

    @pytest.mark.parametrize("modes", [("rev",), ("rev", "fwd")])
    def test_asking_for_reverse_mode_names_modes_and_the_remedy(self, modes: Any) -> None:
        with pytest.raises(GradcheckError, match=r"^modes=.* asks for reverse mode, but") as err:
            gj.check_function(_newton_sqrt(), jnp.array([2.0, 3.0]), modes=modes)
        assert "lax.while_loop" in str(err.value) and "modes=('fwd',)" in str(err.value)

    @pytest.mark.parametrize("fn", [_newton_sqrt(), _converged_sqrt])
    def test_order_2_names_jax_and_the_remedy_not_fn(self, fn: Any) -> None:
        with pytest.raises(GradcheckError, match=r"^order=2 differentiates fn's VJP") as err:
            gj.check_function(fn, jnp.array([2.0, 3.0]), order=2)
        text = str(err.value)
        assert "JAX cannot differentiate fn in reverse mode" in text and "lax.scan" in text
        assert "modes=('fwd',)" in text and "fn raised" not in text

    @pytest.mark.parametrize("params", [jnp.array([2.0, 3.0]), {"a": jnp.array([1.5])}])
    def test_check_needs_jax_grad_and_names_the_remedy(self, params: Any) -> None:
        sqrt = _newton_sqrt()

        def loss(p: Any) -> Any:
            return jnp.sum(sqrt(p if isinstance(p, jax.Array) else p["a"]))

        with pytest.raises(GradcheckError, match="JAX cannot differentiate f in reverse") as err:
            gj.check(loss, params)
        assert "check_function(f, params, modes=('fwd',))" in str(err.value)
        assert "Traceback" not in str(err.value)


class TestHelpers:
    def test_reverse_error_names_only_what_jax_cannot_reverse(self) -> None:
        def other() -> None:
            raise ValueError("a bwd rule of the user's fails")

        def loop() -> None:
            raise ValueError("Reverse-mode differentiation does not work for lax.while_loop\nmore")

        assert reverse_error(other) is None
        assert reverse_error(lambda: None) is None
        assert reverse_error(loop) == (
            "ValueError: Reverse-mode differentiation does not work for lax.while_loop"
        )

    def test_neither_mode_is_an_error_naming_both(self) -> None:
        def forward() -> NoForward:
            return NoForward("TypeError: no jvp", missing=True)

        with pytest.raises(GradcheckError, match=r"either mode.*reverse mode.*TypeError: no jvp"):
            without_reverse(None, "ValueError: no transpose", forward)

    def test_reverse_asked_for_is_refused_before_probing_forward(self) -> None:
        def forward() -> NoForward:
            raise AssertionError("forward mode probed")

        with pytest.raises(GradcheckError, match=r"^modes=\('rev',\) asks for reverse mode"):
            without_reverse(("rev",), "ValueError: no transpose", forward)

    @pytest.mark.parametrize("wanted", [None, ("fwd",)])
    def test_forward_only_is_a_typed_record(self, wanted: Any) -> None:
        chosen = without_reverse(wanted, "ValueError: no transpose", lambda: None)
        assert isinstance(chosen, ForwardOnly) and chosen.modes == ("fwd",)
        if wanted is None:
            assert len(chosen.notes) == 1 and "ValueError: no transpose" in chosen.notes[0]
        else:
            assert chosen.notes == []  # asked for: nothing to explain
