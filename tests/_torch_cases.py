"""Custom autograd ``Function``s that the torch test modules share.

Each computes ``sin`` (or ``2x``) and differs from torch's own only in how its rule is
written: ``NumpySin`` and ``NumpyScale`` compute their backward through NumPy, outside
autograd (right values, no second derivative: ``order=2`` must name them), and
``OldStyleSin`` has a ``jvp`` rule in the old style (``ctx`` in ``forward``), which
functorch refuses to batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


class NumpySin(torch.autograd.Function):
    """sin, whose backward is right but computed through NumPy (outside autograd)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.sin(x)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        out = np.cos(x.detach().cpu().numpy()) * g.detach().cpu().numpy()
        return torch.from_numpy(out).to(g.dtype)


class NumpyScale(torch.autograd.Function):
    """2x, backward through NumPy: its second derivative is 0, yet it is not differentiable."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        return 2 * x

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(2 * g.detach().cpu().numpy()).to(g.dtype)


class OldStyleSin(torch.autograd.Function):
    """sin with a ``jvp`` rule, old style (``ctx`` in forward): functorch refuses it."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_forward(x)
        return torch.sin(x)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @staticmethod
    def jvp(ctx: Any, t: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return t * torch.cos(x)
