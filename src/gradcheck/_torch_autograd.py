"""Autograd for both torch front ends: gradients by name, a raising backward named.

:func:`autograd_grads` differentiates an output against named leaves (zeros, with a
note, where autograd left one unused); :func:`backward_grads` runs
``torch.autograd.grad`` on :func:`fresh` cotangents and names whose backward raised;
:func:`no_backward` refuses a user function that called ``backward()`` itself;
:func:`least_precise` is the dtype a mixed-precision check is judged by.
``check_module`` (``gradcheck._torch_module``) and ``check_function``
(``gradcheck._torch_function``) share them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import torch

from gradcheck._errors import GradcheckError
from gradcheck._torch_cast import dense, dtype_name

__all__ = [
    "Autograd",
    "autograd_grads",
    "backward_grads",
    "fresh",
    "least_precise",
    "no_backward",
]


def least_precise(tensors: Sequence[torch.Tensor]) -> str:
    """The least precise dtype (largest eps) among ``tensors``: the one a check of a
    mixed float32/float64 model must be judged by (a complex dtype's real parts':
    complex64 is judged as float32)."""
    real = {t.dtype.to_real() for t in tensors}
    return dtype_name(max(real, key=lambda d: torch.finfo(d).eps))


class Autograd(NamedTuple):
    """The gradients autograd gave, by name, and the notes on inputs it left unused."""

    grads: dict[str, np.ndarray[Any, Any]]
    notes: tuple[str, ...]


def autograd_grads(
    out: Any,
    inputs: Sequence[torch.Tensor],
    names: Sequence[str],
    grad_outputs: Any = None,
    retain: bool = False,
    who: str = "fn",
) -> Autograd:
    """The gradients of ``out`` by autograd, by name (zeros, with a note, where unused).

    Args:
        out: the output(s) differentiated; ``grad_outputs`` their cotangents.
        inputs: the leaves, named by ``names``.
        retain: keep the graph (another output's backward follows).
        who: the user's callable the backward belongs to (``"fn"``, ``"loss_fn"``).

    Raises:
        GradcheckError: the backward raised (see :func:`backward_grads`).
    """
    gs = backward_grads(who, out, list(inputs), grad_outputs, retain_graph=retain)
    result, notes = {}, []
    for name, t, g in zip(names, inputs, gs):
        if g is None:
            notes.append(f"{name}: autograd gave no gradient (unused); taken as zero")
            g = torch.zeros_like(t)
        result[name] = dense(g)
    return Autograd(result, tuple(notes))


def backward_grads(
    who: str,
    outputs: Any,
    inputs: list[torch.Tensor],
    grad_outputs: Any = None,
    retain_graph: bool = False,
) -> tuple[Any, ...]:
    """``torch.autograd.grad(..., allow_unused=True)`` of ``outputs``, its errors named.

    A backward that raises (a custom ``Function``'s, or one torch refuses, as
    ``Embedding(sparse=True, scale_grad_by_freq=True)``'s) is the user's code failing,
    as a raising ``fn`` is: a :class:`GradcheckError` that says whose backward it was.
    """
    try:
        return tuple(
            torch.autograd.grad(
                outputs, inputs, fresh(grad_outputs), retain_graph=retain_graph, allow_unused=True
            )
        )
    except Exception as exc:
        hint = "; a Function with only a jvp: check modes=('fwd',)" * ("vjp method" in str(exc))
        raise GradcheckError(
            f"the backward (autograd.grad of {who}) raised {type(exc).__name__}: {exc}{hint}"
        ) from exc


def fresh(cotangents: Any) -> Any:
    """Copies of the cotangents for one backward.

    A memory-saving custom ``Function`` may scale its ``grad_output`` in place and return
    it; the engine accepts that, and the same cotangents then fold the outputs for the
    finite differences and serve the other checks, so they must not move (attack22 C8:
    a correct in-place backward failed as wrong). ``torch.autograd.gradcheck`` passes
    fresh ones too.
    """
    if isinstance(cotangents, torch.Tensor):
        return cotangents.clone()
    if isinstance(cotangents, (list, tuple)):
        return [c.clone() if isinstance(c, torch.Tensor) else c for c in cotangents]
    return cotangents


def no_backward(tensors: Sequence[torch.Tensor], who: str) -> None:
    """Raise if ``who`` wrote a ``.grad`` (called ``backward()`` itself)."""
    for t in tensors:
        if t.grad is not None:
            raise GradcheckError(
                f"{who} called backward() itself (a .grad was written): return the loss "
                "without calling backward(); gradcheck computes the gradient it checks"
            )
