"""Custom autograd ``Function``s that the torch test modules share.

:func:`unary` builds a one-input ``Function`` from its forward and its backward rule
(a rule scaled, detached or off in one dtype: what a test plants). The others compute
``sin`` (or ``2x``) and differ from torch's own only in how their rule is written:
``NumpySin`` and ``NumpyScale`` compute their backward through NumPy, outside autograd
(right values, no second derivative: ``order=2`` must name them), and ``OldStyleSin``
has a ``jvp`` rule in the old style (``ctx`` in ``forward``), which functorch refuses
to batch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

#: A backward rule: the input gradient from the saved input ``x`` and the cotangent ``g``.
Rule = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def unary(
    forward: Callable[[torch.Tensor], torch.Tensor], rule: Rule
) -> type[torch.autograd.Function]:
    """A custom ``Function`` of one input ``x``: ``forward(x)``, and ``rule(x, g)`` as its
    backward (``x`` saved for it)."""

    class Unary(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
            ctx.save_for_backward(x)
            return forward(x)

        @staticmethod
        def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
            (x,) = ctx.saved_tensors
            return rule(x, g)

    return Unary


def _numpy_cos(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """``g · cos(x)``, computed through NumPy (outside autograd)."""
    out = np.cos(x.detach().cpu().numpy()) * g.detach().cpu().numpy()
    return torch.from_numpy(out).to(g.dtype)


class NumpySin(unary(torch.sin, _numpy_cos)):
    """sin, whose backward is right but computed through NumPy (outside autograd)."""


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
