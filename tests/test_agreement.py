"""Verdicts agree with torch.autograd.gradcheck and jax.test_util.check_grads.

A shared set of functions with hand-written backward rules, correct or with planted
mistakes, goes through each peer and through gradcheck. Where the verdicts differ, a
test below says why gradcheck's is the right one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import pytest
import torch

import gradcheck.jax as gj
import gradcheck.torch as gt

CASES: dict[str, tuple[str, float, bool]] = {
    # name: (function, relative error planted in the backward, expected "correct")
    "sin": ("sin", 0.0, True),
    "cube": ("cube", 0.0, True),
    "sin_doubled": ("sin", 1.0, False),
    "cube_sign": ("cube", -2.0, False),
}


def _torch_fn(kind: str, err: float) -> Callable[..., Any]:
    class Fn(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            ctx.save_for_backward(x)
            return torch.sin(x) if kind == "sin" else x**3

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            (x,) = ctx.saved_tensors
            d = torch.cos(x) if kind == "sin" else 3 * x**2
            return g * d * (1 + err)

    return Fn.apply  # type: ignore[no-any-return]


def _jax_fn(kind: str, err: float) -> Callable[..., Any]:
    @jax.custom_vjp
    def f(x: Any) -> Any:
        return jnp.sin(x) if kind == "sin" else x**3

    def fwd(x: Any) -> Any:
        return f(x), x

    def bwd(x: Any, g: Any) -> Any:
        return (g * (jnp.cos(x) if kind == "sin" else 3 * x**2) * (1 + err),)

    f.defvjp(fwd, bwd)
    return f


X = np.array([0.3, -1.2, 0.7, 2.0])


def _torch_peer(fn: Callable[..., Any]) -> bool:
    x = torch.tensor(X, requires_grad=True)
    return bool(torch.autograd.gradcheck(fn, (x,), raise_exception=False))


def _jax_peer(fn: Callable[..., Any]) -> bool:
    with jax.enable_x64(True):
        try:
            jax.test_util.check_grads(fn, (jnp.asarray(X),), order=1, modes=["rev"])
        except AssertionError:
            return False
    return True


class TestAgreement:
    @pytest.mark.parametrize("name", list(CASES))
    def test_torch_verdicts_agree(self, name: str) -> None:
        kind, err, correct = CASES[name]
        fn = _torch_fn(kind, err)
        ours = gt.check_function(fn, torch.tensor(X, requires_grad=True)).passed
        assert ours == _torch_peer(fn) == correct

    @pytest.mark.parametrize("name", list(CASES))
    def test_jax_verdicts_agree(self, name: str) -> None:
        kind, err, correct = CASES[name]
        fn = _jax_fn(kind, err)
        with jax.enable_x64(True):
            ours = gj.check_function(fn, jnp.asarray(X)).passed
        assert ours == _jax_peer(fn) == correct


class TestDisagreements:
    def test_small_backward_error_is_caught_where_peers_pass(self) -> None:
        # The backward is wrong by 1e-4 relative, by construction. torch passes it: its
        # rtol=1e-3 is looser than the error. gradcheck's float64 finite differences
        # are good to ~1e-10, so a 1e-4 error is a million times their own error: it
        # fails, as jax's float64 check_grads (tolerance 1e-5) does too.
        tf, jf = _torch_fn("sin", 1e-4), _jax_fn("sin", 1e-4)
        assert _torch_peer(tf)
        assert not _jax_peer(jf)
        assert not gt.check_function(tf, torch.tensor(X, requires_grad=True)).passed
        with jax.enable_x64(True):
            assert not gj.check_function(jf, jnp.asarray(X)).passed

    def test_kink_is_not_called_wrong(self) -> None:
        # relu at exactly 0: central differences give 0.5, autograd's subgradient is 0.
        # torch.autograd.gradcheck reports a Jacobian mismatch; the gradient is not
        # wrong, the function has no derivative there. gradcheck sees the one-sided
        # slopes (0 and 1) bracket the analytic value and marks the entry nonsmooth,
        # kept out of the verdict; the other entries pass.
        x = torch.tensor([0.0, 0.5, -0.7, 1.3], dtype=torch.float64, requires_grad=True)
        assert not torch.autograd.gradcheck(torch.relu, (x,), raise_exception=False)
        report = gt.check_function(torch.relu, x)
        assert report.status == "passed", str(report)
        assert report.parameters["input0"].nonsmooth == 1
