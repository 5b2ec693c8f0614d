"""Precision (issue 11 §2): torch float32 losses passed through ``.item()``. Apart from
``test_precision.py`` so that its mutation run (one forked child per mutant) does not
import torch in every child."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
import torch

import gradcheck


class _Net(torch.nn.Module):
    """A small float32 torch model: tanh(x W1ᵀ + b1) w2, mean squared."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.layer = torch.nn.Linear(6, 8)
        self.out = torch.nn.Linear(8, 1)
        self.x = torch.randn(10, 6)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(torch.nn.functional.linear(self.x, w.reshape(8, 6), self.layer.bias))
        return (self.out(h) ** 2).mean()


def _torch_item(net: _Net) -> tuple[Any, Any]:
    """A core check's cost and gradient through ``.item()`` of a float32 torch loss."""

    def cost(p: Any) -> float:
        with torch.no_grad():
            return net(torch.as_tensor(p, dtype=torch.float32)).item()

    def grad(p: Any) -> Any:
        w = torch.as_tensor(p, dtype=torch.float32).clone().requires_grad_()
        net(w).backward()
        assert w.grad is not None
        return w.grad.numpy().astype(p.dtype)

    return cost, grad


class TestTorchItem:
    """Torch float32 losses passed through ``.item()`` into a core check."""

    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    def test_correct_gradients_never_fail(self, dtype: Any) -> None:
        statuses = []
        for seed in range(12):
            net = _Net(seed)
            cost, grad = _torch_item(net)
            w = net.layer.weight.detach().numpy().reshape(-1).astype(dtype)
            for g in (grad, grad(w)):
                report = gradcheck.check(cost, w, g)
                assert report.status != "failed", f"seed {seed}\n{report}"
                statuses.append(report.status)
        assert statuses.count("passed") >= 0.9 * len(statuses), statuses

    def test_a_wrong_backward_fails(self) -> None:
        for seed in range(6):
            net = _Net(seed)
            cost, grad = _torch_item(net)
            w = net.layer.weight.detach().numpy().reshape(-1).astype(np.float64)
            bad = grad(w)
            k = int(np.argmax(np.abs(bad)))
            bad[k] *= -1
            report = gradcheck.check(cost, w, bad)
            assert report.status == "failed" and report.worst[0].index == (k,), str(report)

    def test_a_float32_model_given_float64_falls_back_with_a_note(self) -> None:
        # torch.from_numpy keeps float64: the float32 Linear raises on the float64 copy,
        # every time. That is no error of the user's: the check runs in float32.
        net = _Net(0)

        def cost(p: Any) -> float:
            with torch.no_grad():
                return float(net.out(torch.from_numpy(p)).pow(2).mean())

        def grad(p: Any) -> Any:
            t = torch.from_numpy(p.copy()).requires_grad_()
            net.out(t).pow(2).mean().backward()
            assert t.grad is not None
            return t.grad.numpy()

        x = np.random.default_rng(0).standard_normal((5, 8)).astype(np.float32)
        report = gradcheck.check(cost, x, grad)
        assert report.status == "passed", str(report)
        assert "formula_dtype" not in report.options
        assert any(
            re.search(r"the cost raised on a float64 copy .*RuntimeError.*checked in float32", m)
            for m in report.messages
        ), report.messages
