"""Isolation and verdicts on a CUDA device: what CI (CPU only) cannot run.

The suite checks that a check leaves the user's world as it was on the CPU; on a GPU
the torch CUDA generator, CUDA parameters and buffers join in. Run this on a machine
with a GPU (``python tools/cuda_check.py [--json FILE]``); it prints one line per case
and exits 1 if any case breaks a promise: a verdict other than the expected one, or
any parameter, buffer, ``.grad``, mode or RNG state (NumPy, ``random``, torch CPU and
CUDA) not bit-identical afterwards, also after the user's code raised.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

import gradcheck
import gradcheck.torch as gt


def _world(model: nn.Module | None) -> list[Any]:
    """Everything a check must leave as it was, as comparable values."""
    items: list[Any] = [
        repr(np.random.get_state()[1].tolist()),
        random.getstate(),
        torch.get_rng_state().tolist(),
        [torch.cuda.get_rng_state(d).tolist() for d in range(torch.cuda.device_count())],
    ]
    if model is not None:
        for name, t in [*model.named_parameters(), *model.named_buffers()]:
            items.append((name, t.dtype, t.device.type, t.detach().cpu().numpy().tobytes()))
        for name, p in model.named_parameters():
            g = None if p.grad is None else p.grad.detach().cpu().numpy().tobytes()
            items.append((name, "grad", g, p.requires_grad))
        items.append([m.training for m in model.modules()])
    return items


class _Flip(torch.autograd.Function):
    """``x ↦ x³`` with a sign-flipped backward."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return -3 * x**2 * g


def _model(dev: str) -> nn.Module:
    torch.manual_seed(0)
    m = nn.Sequential(
        nn.Linear(6, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Dropout(0.3), nn.Linear(8, 2)
    )
    m = m.to(dev).train()
    m(torch.randn(5, 6, device=dev)).sum().backward()  # a .grad to keep
    return m


def cases(dev: str) -> list[tuple[str, Callable[[], Any], nn.Module | None, str]]:
    """(name, run, model whose state must hold, expected status or 'raises')."""
    x = torch.randn(16, 6, device=dev)
    y = torch.randn(16, 2, device=dev)
    m1, m2, m3 = _model(dev), _model(dev), _model(dev)
    calls = {"n": 0}

    def raising_loss(m: nn.Module) -> torch.Tensor:
        calls["n"] += 1
        if calls["n"] > 5:
            raise RuntimeError("planted failure")
        return ((m(x) - y) ** 2).mean()

    def noisy_loss(m: nn.Module) -> torch.Tensor:
        i = torch.randint(0, 16, (8,), device=dev)  # minibatch from the global RNG
        return ((m(x[i]) - y[i]) ** 2).mean() + 0 * float(np.random.rand())

    xs = torch.randn(5, device=dev, dtype=torch.float64, requires_grad=True)
    return [
        (
            "module, dropout+BN, train",
            lambda: gt.check_module(m1, lambda m: ((m(x) - y) ** 2).mean()),
            m1,
            "passed",
        ),
        ("module, global-RNG minibatch", lambda: gt.check_module(m2, noisy_loss), m2, "passed"),
        ("module, loss raises mid-check", lambda: gt.check_module(m3, raising_loss), m3, "raises"),
        (
            "function, sign-flipped backward",
            lambda: gt.check_function(_Flip.apply, xs),
            None,
            "failed",
        ),
        ("function, correct sin", lambda: gt.check_function(torch.sin, xs), None, "passed"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu, to try it")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("no CUDA device: nothing to check here (--device cpu runs the cases on the CPU)")
        return 0
    np.random.seed(1)
    random.seed(1)
    torch.manual_seed(1)
    rows, bad = [], 0
    for name, run, model, expected in cases(args.device):
        before = _world(model)
        try:
            status = run().status
        except gradcheck.GradcheckError as exc:
            status = f"raises ({str(exc)[:60]})"
        untouched = _world(model) == before
        ok = untouched and status.startswith(expected)
        bad += not ok
        rows.append({"case": name, "status": status, "expected": expected, "untouched": untouched})
        print(f"{'ok ' if ok else 'BAD'} {name:34s} {status:40s} state untouched: {untouched}")
    if args.json:
        with open(args.json, "w") as f:
            device = torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu"
            json.dump({"device": device, "cases": rows}, f, indent=2)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
