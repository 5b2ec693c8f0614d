"""Public PyTorch cases from PyTorch's own ``autograd.Function`` test database.

Source: pytorch/pytorch, torch/testing/_internal/autograd_function_db.py (the
OpInfo-style cases PyTorch's own tests consume). Transcribed, restyled; checked as in
``_public_torch.py``. Two of its published backwards are not the derivative of their
forward (``CubeGenVmap`` and ``NumpySort``), and ``ScaleGradGenVmap`` scales its
gradient on purpose: every right checker must fail them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from _public_base import Case, Source, Variant
from _public_torch import PYTORCH, Tensor, randn, torch_run, x_tensor

__all__ = ["CASES"]


def _src(what: str) -> Source:
    return Source(PYTORCH, *_DB, "BSD-3-Clause", what)


def _np(t: Tensor) -> Any:
    return t.detach().cpu().numpy()


class NumpyMul(torch.autograd.Function):
    """``NumpyMul`` of autograd_function_db: x * y through NumPy (broadcasting)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, y: Tensor) -> Tensor:
        ctx.save_for_backward(x, y)
        return torch.tensor(_np(x) * _np(y), device=x.device)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor, Tensor]:
        x, y = ctx.saved_tensors
        return NumpyMul.apply(grad_output, y), NumpyMul.apply(grad_output, x)


class _BuggyMul(NumpyMul):
    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor, Tensor]:
        x, _ = ctx.saved_tensors
        return NumpyMul.apply(grad_output, x), NumpyMul.apply(grad_output, x)  # bug: x for y


def cube(published: str) -> Callable[..., Any]:
    """``NumpyCube`` (``"NumpyCube"``) or ``CubeGenVmap`` (``"CubeGenVmap"``)."""

    class Cube(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Tensor) -> tuple[Tensor, Tensor]:
            dx = torch.tensor(3 * _np(x) ** 2, device=x.device)
            ctx.save_for_backward(x, dx)
            return torch.tensor(_np(x) ** 3, device=x.device), dx

        @staticmethod
        def backward(ctx: Any, grad_output: Tensor, grad_saved: Tensor) -> Tensor:
            x, dx = ctx.saved_tensors
            if published == "CubeGenVmap":
                return grad_output * dx + 6 * dx  # as published
            return NumpyMul.apply(grad_output, dx) + 6 * NumpyMul.apply(grad_saved, x)

    return Cube.apply  # type: ignore[no-any-return]


def take(bug: bool) -> Callable[..., Any]:
    """``NumpyTake``: take_along_axis(x, ind); backward takes with the inverse order."""

    class NumpyTake(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Tensor, ind: Tensor, ind_inv: Tensor, dim: int) -> Tensor:
            ctx.save_for_backward(ind, ind_inv)
            ctx.dim = dim
            return torch.tensor(np.take_along_axis(_np(x), _np(ind), dim), device=x.device)

        @staticmethod
        def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor | None, ...]:
            ind, ind_inv = ctx.saved_tensors
            order = ind if bug else ind_inv
            result = NumpyTake.apply(grad_output, order, ind, ctx.dim)
            return result, None, None, None

    return NumpyTake.apply  # type: ignore[no-any-return]


def sort_first(x: Tensor) -> Tensor:
    """``NumpySort`` as published: its first output is ``x`` itself, not the sorted ``x``."""
    ind = np.argsort(_np(x), axis=1)
    ind_inv = np.argsort(ind, axis=1)

    class NumpySort(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Tensor) -> Tensor:
            return torch.tensor(_np(x), device=x.device)  # published: x, unsorted

        @staticmethod
        def backward(ctx: Any, grad_output: Tensor) -> Tensor:
            g = torch.from_numpy(ind_inv)
            return take(False)(grad_output, g, torch.from_numpy(ind), 1)  # type: ignore[no-any-return]

    return NumpySort.apply(x)  # type: ignore[no-any-return]


def scale_grad(x: Tensor) -> Tensor:
    """``ScaleGradGenVmap``: identity forward, gradient scaled by 3.14 on purpose."""

    class ScaleGrad(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Tensor) -> Tensor:
            return x.clone()

        @staticmethod
        def backward(ctx: Any, grad_output: Tensor) -> Tensor:
            return grad_output * 3.14

    return ScaleGrad.apply(x)  # type: ignore[no-any-return]


_DB = (
    "torch/testing/_internal/autograd_function_db.py",
    "8c39e4eab01b2a49fcfe84bf92f8a14cea7adad7",
)
_IND = torch.tensor(np.argsort(np.random.default_rng(7).standard_normal((3, 5)), axis=1))
_IND_INV = torch.argsort(_IND, dim=1)

CASES: tuple[Case, ...] = (
    Case(
        "torch db NumpyCube / CubeGenVmap",
        "torch",
        _src("NumpyCube (and the NumpyMul it calls) and CubeGenVmap's backward"),
        (
            Variant(
                "published NumpyCube", "passed", torch_run(cube("NumpyCube"), x_tensor(1.3, 0.9))
            ),
            Variant(
                "published CubeGenVmap",
                "failed",
                torch_run(cube("CubeGenVmap"), x_tensor(1.3, 0.9)),
                ("out[0]/input0", "out[1]/input0", "undefined cotangent: every output"),
                note=(
                    "its backward adds 6·dinput where 6·grad_saved·x is due, so it is "
                    "not zero when no output is used"
                ),
            ),
        ),
    ),
    Case(
        "torch db NumpyMul",
        "torch",
        _src("NumpyMul, broadcasting sample"),
        (
            Variant(
                "published", "passed", torch_run(NumpyMul.apply, randn(29, 4), randn(30, 3, 4))
            ),
            Variant(
                "bug: x where y is due in gx",
                "failed",
                torch_run(_BuggyMul.apply, randn(29, 4), randn(30, 3, 4)),
                ("input0",),
            ),
        ),
    ),
    Case(
        "torch db NumpyTake / NumpySort",
        "torch",
        _src("NumpyTake; NumpySort's first output and backward"),
        (
            Variant(
                "published NumpyTake",
                "passed",
                torch_run(take(False), randn(31, 3, 5), _IND, _IND_INV, 1),
            ),
            Variant(
                "bug: ind where ind_inv is due",
                "failed",
                torch_run(take(True), randn(31, 3, 5), _IND, _IND_INV, 1),
                ("input0",),
            ),
            Variant(
                "published NumpySort",
                "failed",
                torch_run(sort_first, randn(32, 3, 5)),
                ("input0",),
                note="forward returns x unsorted; backward un-sorts the gradient",
            ),
        ),
    ),
    Case(
        "torch db ScaleGradGenVmap",
        "torch",
        _src("ScaleGradGenVmap"),
        (
            Variant(
                "published",
                "failed",
                torch_run(scale_grad, randn(33, 4)),
                ("input0",),
                note="a vmap fixture: its gradient is 3.14 times the derivative on purpose",
            ),
        ),
    ),
)
