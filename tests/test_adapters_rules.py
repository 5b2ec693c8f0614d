"""Forward-mode rules the adapters' ``check_function`` must not misjudge (issue 13).

Planted bugs, each named: a torch ``Function`` whose ``jvp`` raises (forward saved its
input with ``save_for_backward`` only; a bug; a tangent of the wrong shape, a scalar,
``None``, a NumPy array) and a JAX ``custom_jvp`` rule that raises (F31); forward rules
not linear in the tangent (``abs(t)``, ``t**2``, ``t + c``) in torch and JAX (F29). A
rule that crashes is an error naming the rule, never a skipped mode; only a function
with no forward mode (no ``jvp``, a ``custom_vjp``) defaults to ``modes=("rev",)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import gradcheck.jax as gj
import gradcheck.torch as gt
from gradcheck import GradcheckError


class _SavedForBackwardOnly(torch.autograd.Function):
    """Planted: forward saves ``x`` for backward only, so the jvp finds nothing saved."""

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return 3 * x**2 * g

    @staticmethod
    def jvp(ctx: Any, t: Any) -> Any:
        (x,) = ctx.saved_tensors  # ValueError under forward AD: nothing saved
        return 3 * x**2 * t


class _CrashingJvp(_SavedForBackwardOnly):
    """Planted: a jvp with a bug that raises."""

    @staticmethod
    def jvp(ctx: Any, t: Any) -> Any:
        raise RuntimeError("bug in my jvp")


class _NoJvp(torch.autograd.Function):
    """Right backward, no jvp staticmethod: no forward mode at all."""

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return 3 * x**2 * g


def _sin(jvp: Callable[[Any, Any], Any]) -> Any:
    """``sin`` as a torch ``Function`` with a right backward and the given jvp body."""

    class Sin(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, a: Any) -> Any:
            ctx.save_for_backward(a)
            ctx.save_for_forward(a)
            return a.sin()

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            (a,) = ctx.saved_tensors
            return a.cos() * g

        @staticmethod
        def jvp(ctx: Any, t: Any) -> Any:
            (a,) = ctx.saved_tensors
            return jvp(a, t)

    return Sin.apply


#: Planted jvp bodies that raise under forward AD, by name.
_BAD_BODIES: dict[str, Callable[[Any, Any], Any]] = {
    "wrong shape": lambda a, t: (a.cos() * t)[:2],
    "scalar": lambda a, t: (a.cos() * t).sum(),
    "None": lambda a, t: None,
    "numpy array": lambda a, t: (a.cos() * t).detach().numpy(),
}
_DTYPES = [torch.float64, torch.float32]


class TestTorchJvpThatRaises:
    """F31: a jvp that raises was reported 'passed' with a note to add a jvp."""

    @pytest.mark.parametrize("fn", [_SavedForBackwardOnly, _CrashingJvp])
    @pytest.mark.parametrize("modes", [None, ("fwd",), ("rev", "fwd")])
    @pytest.mark.parametrize("dtype", _DTYPES)
    def test_is_an_error_naming_the_jvp(self, fn: Any, modes: Any, dtype: Any) -> None:
        x = torch.linspace(-1.5, 2.0, 4, dtype=dtype).requires_grad_()
        kwargs = {} if modes is None else {"modes": modes}
        with pytest.raises(GradcheckError) as info:
            gt.check_function(fn.apply, x, **kwargs)
        text = str(info.value)
        assert text.startswith("the jvp (forward AD) of fn raised")
        raised = "ValueError: not enough" if fn is _SavedForBackwardOnly else "RuntimeError: bug"
        assert raised in text and "save_for_forward" in text
        assert "modes=('rev',)" in text and "jvp staticmethod" not in text

    @pytest.mark.parametrize("body", list(_BAD_BODIES))
    @pytest.mark.parametrize("modes", [None, ("fwd",)])
    def test_bad_tangents_are_errors(self, body: str, modes: Any) -> None:
        x = torch.randn(4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
        kwargs = {} if modes is None else {"modes": modes}
        with pytest.raises(GradcheckError, match=r"^the jvp \(forward AD\) of fn raised "):
            gt.check_function(_sin(_BAD_BODIES[body]), x.requires_grad_(), **kwargs)

    @pytest.mark.parametrize("fn", [_SavedForBackwardOnly, _CrashingJvp])
    def test_reverse_mode_alone_still_checks_the_backward(self, fn: Any) -> None:
        x = torch.linspace(-1.5, 2.0, 4, dtype=torch.float64).requires_grad_()
        report = gt.check_function(fn.apply, x, modes=("rev",))
        assert report.status == "passed", str(report)
        assert report.options["modes"] == ["rev"]

    def test_no_jvp_still_defaults_to_reverse_with_the_advice(self) -> None:
        x = torch.linspace(-1.5, 2.0, 4, dtype=torch.float64).requires_grad_()
        report = gt.check_function(_NoJvp.apply, x)
        assert report.passed and report.options["modes"] == ["rev"]
        note = [m for m in report.messages if m.startswith("forward mode not checked")]
        assert len(note) == 1 and "NotImplementedError" in note[0]
        assert "jvp staticmethod" in note[0]

    def test_the_right_jvp_passes_both_modes(self) -> None:
        x = torch.linspace(-1.5, 2.0, 4, dtype=torch.float64).requires_grad_()
        report = gt.check_function(_sin(lambda a, t: a.cos() * t), x)
        assert report.status == "passed", str(report)
        assert report.options["modes"] == ["rev", "fwd"]


def _raising_rule(error: Exception) -> Any:
    """Planted: ``sin`` as a ``custom_jvp`` whose rule raises ``error``."""

    @jax.custom_jvp
    def f(x: Any) -> Any:
        return jnp.sin(x)

    @f.defjvp
    def rule(primals: Any, tangents: Any) -> Any:
        raise error

    return f


class TestJaxRuleThatRaises:
    """F31 in JAX: a custom_jvp rule that raises is an error, never a pass."""

    @pytest.mark.parametrize("error", [ValueError("bug in my rule"), KeyError("w")])
    @pytest.mark.parametrize("modes", [None, ("fwd",)])
    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    def test_names_its_exception(self, error: Exception, modes: Any, dtype: Any) -> None:
        x = np.linspace(-1.0, 1.0, 3).astype(dtype)
        kwargs = {} if modes is None else {"modes": modes}
        with pytest.raises(GradcheckError) as info:
            gj.check_function(_raising_rule(error), x, **kwargs)
        # jax.vjp of a custom_jvp function runs (and transposes) its rule: it raises
        # before forward mode is probed, so the error names fn's exception.
        assert f"{type(error).__name__}: " in str(info.value)


class _CubeAbsJvp(torch.autograd.Function):
    """Planted (F29): a jvp that drops the tangent's sign, ``3 x² |t|``; right backward."""

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        ctx.save_for_forward(x)
        return x**3

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return 3 * x**2 * g

    @staticmethod
    def jvp(ctx: Any, t: Any) -> Any:
        (x,) = ctx.saved_tensors
        return 3 * x**2 * t.abs()


#: Planted torch jvp bodies not linear in the tangent, by name (sin's right one: cos·t).
_NONLINEAR: dict[str, Callable[[Any, Any], Any]] = {
    "abs(t)": lambda a, t: a.cos() * t.abs(),
    "t**2": lambda a, t: a.cos() * t**2,
    "t + 1e-3": lambda a, t: a.cos() * t + 1e-3,
}


class TestNonlinearForwardRule:
    """F29: a forward rule not linear in its tangent passed with modes=('fwd',)."""

    @pytest.mark.parametrize("dtype", _DTYPES)
    @pytest.mark.parametrize("seed", [0, 7])
    def test_torch_abs_tangent_fails_forward_only(self, dtype: Any, seed: int) -> None:
        x = torch.linspace(-1.5, 2.0, 5, dtype=dtype).requires_grad_()
        report = gt.check_function(_CubeAbsJvp.apply, x, modes=("fwd",), seed=seed)
        assert report.status == "failed"
        assert report.failed_parameters == ["linearity: jvp"]
        assert any(
            m.startswith("the jvp (forward AD) is not linear in its tangent")
            for m in report.messages
        )

    @pytest.mark.parametrize("body", list(_NONLINEAR))
    def test_torch_nonlinear_bodies_fail(self, body: str) -> None:
        x = torch.linspace(-1.5, 2.0, 6, dtype=torch.float64).reshape(2, 3).requires_grad_()
        report = gt.check_function(_sin(_NONLINEAR[body]), x, modes=("fwd",))
        assert "linearity: jvp" in report.failed_parameters

    @pytest.mark.parametrize("dtype", _DTYPES)
    def test_torch_right_jvp_is_linear(self, dtype: Any) -> None:
        x = torch.linspace(-1.5, 2.0, 5, dtype=dtype).requires_grad_()
        report = gt.check_function(_sin(lambda a, t: a.cos() * t), x, modes=("fwd",))
        assert report.status == "passed", str(report)
        assert report.parameters["linearity: jvp"].status == "passed"

    def test_torch_default_modes_fail_on_consistency(self) -> None:
        x = torch.linspace(-1.5, 2.0, 5, dtype=torch.float64).requires_grad_()
        report = gt.check_function(_CubeAbsJvp.apply, x)
        assert "consistency: jvp vs vjp" in report.failed_parameters

    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    def test_jax_abs_tangent_fails_forward_only(self, dtype: Any) -> None:
        x = np.array([0.3, -1.2, 2.0, -0.4]).astype(dtype)
        report = gj.check_function(_jax_abs_rule(), x, modes=("fwd",))
        assert report.failed_parameters == ["linearity: jvp"]
        assert any(
            m.startswith("the JVP (jax.jvp) is not linear in its tangent") for m in report.messages
        )

    def test_jax_right_rule_is_linear(self) -> None:
        x = np.array([0.3, -1.2, 2.0, -0.4])
        report = gj.check_function(_jax_abs_rule(linear=True), x, modes=("fwd",))
        assert report.status == "passed", str(report)
        assert report.parameters["linearity: jvp"].status == "passed"

    @pytest.mark.parametrize("modes", [None, ("rev",), ("rev", "fwd")])
    def test_jax_reverse_mode_of_a_nonlinear_rule_is_an_error(self, modes: Any) -> None:
        # JAX transposes the rule for reverse mode and cannot transpose abs: named.
        kwargs = {} if modes is None else {"modes": modes}
        with pytest.raises(GradcheckError) as info:
            gj.check_function(_jax_abs_rule(), np.array([0.3, -1.2, 2.0]), **kwargs)
        text = str(info.value)
        assert text.startswith("the VJP (jax.vjp) of fn cannot be computed")
        assert "custom_jvp rule must be linear in its tangent" in text and "abs" in text


def _jax_abs_rule(linear: bool = False) -> Any:
    """Planted (F29): ``2 sin x`` as a custom_jvp whose rule is ``2 cos(x) |t|``."""

    @jax.custom_jvp
    def f(x: Any) -> Any:
        return 2 * jnp.sin(x)

    @f.defjvp
    def rule(primals: Any, tangents: Any) -> Any:
        (x,), (t,) = primals, tangents
        return f(x), 2 * jnp.cos(x) * (t if linear else jnp.abs(t))

    return f
