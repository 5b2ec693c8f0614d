"""``gradcheck.torch.check_module``'s machinery: the loss as a module, the private copy
of the model, and the user's analytic pass.

:class:`LossModule` is ``loss_fn(model)`` as a module, so
``torch.func.functional_call`` swaps the model's tensors for the numerical side's;
:func:`private_copy` is the deep copy that side runs on (``None``, with a note, where
the model cannot be copied); :func:`module_pass` is the analytic gradient autograd
gives the model itself. Each returns its notes for the report with its value
(:class:`Copied`, :class:`UserPass`). :data:`UNUSED` is the usage error of a loss that ignores the
model it is given (``gradcheck._frameworks``).
"""

from __future__ import annotations

import copy
from contextlib import AbstractContextManager, nullcontext
from typing import Any, NamedTuple

import torch

from gradcheck._errors import GradcheckError
from gradcheck._frameworks import Analytic
from gradcheck._torch_autograd import autograd_grads, least_precise, no_backward
from gradcheck._torch_cast import scalar
from gradcheck._torch_rng import forked
from gradcheck._torch_state import Loss
from gradcheck._user_rng import shared

#: The usage error of a loss that computes with an outer model, not its argument.
UNUSED = (
    "loss_fn does not use the model it is given: the loss does not change with any "
    "parameter of the private copy gradcheck passes to it, though autograd gives your "
    "model a gradient. Does loss_fn compute with an outer variable (model(x)) instead of "
    "its argument? Write it as lambda m: loss(m(x), y)."
)


class LossModule(torch.nn.Module):
    """``loss_fn(inner)`` as a module, so ``functional_call`` can swap its tensors."""

    def __init__(self, inner: torch.nn.Module, loss_fn: Loss) -> None:
        super().__init__()
        self.inner = inner
        self.loss_fn = loss_fn

    def forward(self) -> Any:
        return self.loss_fn(self.inner)


class Copied(NamedTuple):
    """The private copy of the model (``None`` where it cannot be copied), and why not."""

    model: torch.nn.Module | None
    notes: tuple[str, ...]


class UserPass(NamedTuple):
    """The user's analytic pass, and its notes (parameters autograd left unused)."""

    analytic: Analytic
    notes: tuple[str, ...]


def private_copy(model: torch.nn.Module) -> Copied:
    """A deep copy of ``model``, or ``None`` (with a note) when it cannot be copied."""
    try:
        return Copied(copy.deepcopy(model, shared(model)), ())  # the user's generators: H08
    except Exception as exc:
        note = (
            f"the model cannot be deep-copied ({type(exc).__name__}: {exc}): the numerical "
            "side runs on the model itself through torch.func.functional_call, with its "
            "parameters and buffers swapped for private tensors (never written)"
        )
        return Copied(None, (note,))


def module_pass(
    model: torch.nn.Module,
    loss_fn: Loss,
    named: list[tuple[str, Any]],
    stages: AbstractContextManager[Any] | None = None,
) -> UserPass:
    """The user's analytic pass on the model itself (inside
    :func:`gradcheck._torch_state.preserved`); ``stages``, a dispatch mode its forward
    runs under (``gradcheck._torch_stage.Stages``: the dtypes the loss computes in)."""
    params = list(model.parameters())
    for p in params:
        p.grad = None  # preserved() puts the user's back
    with forked():
        try:
            with stages or nullcontext():
                loss = scalar(loss_fn(model), "loss_fn")
        except GradcheckError:
            raise
        except Exception as exc:
            raise GradcheckError(
                f"loss_fn raised {type(exc).__name__}: {exc} (computing the analytic gradient)"
            ) from exc
        no_backward(params, "loss_fn")
        if not loss.requires_grad:
            raise GradcheckError(
                "loss_fn returned a tensor that does not require grad: does it use the "
                "model it is given, outside torch.no_grad()?"
            )
        checked = [p for _, p in named]
        grads = autograd_grads(loss, checked, [n for n, _ in named], who="loss_fn")
    analytic = Analytic(float(loss.detach()), grads.grads, least_precise(checked))
    return UserPass(analytic, grads.notes)
