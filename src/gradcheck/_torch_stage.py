"""A stage below the inputs' precision: the dtype a torch function computes part of its result in.

attack34 H131: ``check_function(lambda t: 0.5 * t.sin().sum() + (a.half() *
t.half().sin()).sum().double(), x)`` with float64 ``x`` is float64 at its inputs and its
output, but one of its terms is computed in float16. At float64 steps that stage is
constant (a staircase of step ``2⁻¹⁰ |x|``): the finite differences saw the float64 part
only, so autograd's own gradient, the float16 term's smooth derivative included, failed
as "the backward (autograd.grad) is wrong" (float16 and bfloat16 3/3, float32 1/3), and
a backward missing the float16 term would pass.

The adapter sees the stage: the user's forward runs once under :class:`Stages`, which
records the dtype each operation with arithmetic gives its floating results (views and
factories compute nothing: a float32 constant multiplied into a float64 tensor computes
in float64), and the dtype a cast narrows a tensor that requires grad to: a stage
made by a cast alone (``(a * t.sin()).half().double()``, activations stored in
float16) rounds there, a staircase as well (attack37 H182: autograd's right gradient
failed 3/3 in four such shapes). A constant's cast (``a.half()``, no grad) rounds no
value the inputs move. Where one is below the checked tensors' precision, the
function is checked as a model of that dtype (``gradcheck._frameworks``' float64 route):
the formula on its float64 copy, where ``gradcheck._torch_widen`` keeps the stage's
casts in float64 so its finite differences see the stage's smooth derivative, and
autograd's own gradient beside it as that dtype's round-off, as a float16 model's is.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from gradcheck._torch_replay import CASTS, plain

__all__ = ["Stage", "Stages", "note"]


class Stage(NamedTuple):
    """The least precise dtype an operation computed a floating result in.

    Attributes:
        dtype: its name (``"float16"``; a complex dtype's real parts').
        op: the first operation computing in it (``"aten::sin"``), for the note.
        inputs: the least precise dtype of the checked tensors (``"float64"``).
    """

    dtype: str
    op: str
    inputs: str


class Stages(TorchDispatchMode):  # type: ignore[no-untyped-call]
    """Record the dtype of every floating result an operation with arithmetic and a
    tensor argument computes (module text)."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.first: dict[torch.dtype, str] = {}

    def __torch_dispatch__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        given = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
        if given and (not plain(func) or _cast_of_grad(func, given)):
            for t in tree_flatten(out)[0]:
                if isinstance(t, torch.Tensor) and (t.is_floating_point() or t.is_complex()):
                    self.first.setdefault(t.dtype.to_real(), func._schema.name)
        return out

    def below(self, tensors: list[torch.Tensor]) -> Stage | None:
        """The least precise dtype recorded, where it is less precise than every one of
        ``tensors`` (their real parts'), all float64; ``None`` where none is. (A float32
        or half function's own stages are the round-off reference's to replay:
        ``gradcheck._torch_replay``.)"""
        if not self.first or not tensors or _real(tensors) != {torch.float64}:
            return None
        eps = {d: float(torch.finfo(d).eps) for d in {*self.first, *_real(tensors)}}
        low, given = (max(ds, key=eps.__getitem__) for ds in (self.first, _real(tensors)))
        if eps[low] <= eps[given]:
            return None
        return Stage(_name(low), self.first[low], _name(given))


def _cast_of_grad(func: Any, given: list[torch.Tensor]) -> bool:
    """Whether ``func`` is a cast of a tensor that requires grad (module text): its
    result's dtype is recorded (one as precise as the inputs' is no stage)."""
    return func._schema.name in CASTS and given[0].requires_grad


def _real(tensors: list[torch.Tensor]) -> set[torch.dtype]:
    return {t.dtype.to_real() for t in tensors}


def _name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def note(stage: Stage, what: str = "fn") -> str:
    """The report's note for ``what`` (``"fn"``, ``"the loss"``) computing a ``stage``
    below its inputs' dtype."""
    low, inputs = stage.dtype, stage.inputs
    return (
        f"{what} computes part of its result in {low} ({stage.op} first), below its "
        f"{inputs} inputs: at {inputs} steps a {low} stage is piecewise constant, so it is checked "
        f"as a {low} computation where its float64 copy (the casts kept in float64) "
        f"computes your result: the formula on that copy, autograd's own gradient beside "
        f"it as {low} round-off; precision='model' checks it at {inputs} steps"
    )
