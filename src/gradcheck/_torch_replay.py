"""The dtypes a half model computes each operation in, replayed on the round-off reference.

The round-off reference (``gradcheck._torch_reference``) runs the float64 copy with
every operation narrowed to the model's dtype. A bfloat16 or float16 model whose
forward runs a stage in another dtype computes otherwise: a ``torch.autocast`` region
(a float16 model's linear layers in bfloat16), a norm upcast to float32 by code that
tests the dtype (``if h.dtype in (torch.float16, torch.bfloat16): h = h.float()``;
in the copy ``h`` is float64 and the branch is not taken). The reference's loss then
differs from the model's, and a difference the reference does not reproduce cannot be
told from a backward acting only in the half dtype: such right models were
``inconclusive`` (attack32 H113: a float16 model with a bfloat16 autocast region 8/8).

So the model's own dtypes are recorded: one forward and backward of the model in its
dtype on a private copy, under :class:`Recorder`, logs each operation's name, the dtype
of each of its floating tensor arguments (and ``dtype`` arguments), its float arguments
and whether it ran in the backward pass, after autocast's casts, as the model runs it.
The reference then runs with :class:`Replay`: each of its operations is matched, in
order, to the next recorded one of that name, signature and pass within :data:`WINDOW`
(the model's casts, which the copy does not make, are neither recorded nor matched), and
each float64 argument is narrowed to the dtype the model gave it; an operation without a
match runs in the model's dtype, as without the replay, and is counted
(:attr:`Replay.missed`). With ``floats``, a forward operation also takes the model's
float and string arguments (``log(p + torch.finfo(p.dtype).eps)``: the copy's eps is
float64's; ``F.gelu(h, approximate="tanh")`` only in half dtypes); a backward operation
keeps the copy's, whose formula is the one checked. Without it, a forward operation whose
floats or strings are not the model's is counted (:attr:`Replay.differ`): that replay is
not the model's computation, even where its loss rounds to the model's (attack34 H133: a
bfloat16 loss, the same with float64's eps and bfloat16's 0.0078). Only the dtypes
and the forward's floats are taken from the model's run, never a value: a backward
acting only in the half dtype (a custom ``Function`` that tests the dtype) is the copy's
formula in the reference, whatever the model recorded, and its difference is found as
before. The replayed reference is used where its loss is the model's bit for bit
(``gradcheck._roundoff_verdict``); with no operation missed it is the model's
computation, and judged as strictly as a reference that is the model's gradient bit
for bit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from gradcheck._torch_cast import scalar

__all__ = ["CASTS", "UNTOUCHED", "WINDOW", "Op", "Recorder", "Replay", "plain", "recorded"]

#: How many recorded operations a reference operation may skip to find its match: the
#: model's own operations the copy does not run (the few of a branch on the dtype, the
#: extra operations of a backward acting only in that dtype).
WINDOW = 32

#: The argument types a forward operation takes from the model's run with ``floats``.
_CONSTANTS = (float, str)

#: Floating dtypes whose arguments the replay narrows to (float64 ones stay float64).
_NARROW = (torch.float32, torch.float16, torch.bfloat16)

#: Operations without arithmetic that must see their own tensors (a resize or a
#: storage swap cannot be written back through a copy): the reference runs them
#: untouched, and neither records nor replays them.
UNTOUCHED = frozenset(
    {
        "aten::copy_",
        "aten::resize_",
        "aten::resize_as_",
        "aten::set_",
        "aten::detach",
        "aten::alias",
        "aten::lift_fresh",
        "aten::_local_scalar_dense",
    }
)
#: Casts and copies: a replay runs them as written (the value cast may hold a
#: narrower dtype's result than the model's dtype), and they are not matched (the
#: copy makes the model's casts as no operation, or as another one).
CASTS = frozenset({"aten::_to_copy", "aten::clone"})


def plain(func: Any) -> bool:
    """Whether ``func`` has no arithmetic of its own: a view, an alias, a cast."""
    schema = func._schema
    return (
        schema.name in UNTOUCHED | CASTS
        or torch.Tag.inplace_view in func.tags
        or any(r.alias_info is not None and not r.alias_info.is_write for r in schema.returns)
    )


class Op(NamedTuple):
    """One recorded operation.

    Attributes:
        name: the aten operation's name.
        dtypes: each floating tensor or ``dtype`` argument's dtype in the order given
            (``None`` for a tensor of another kind).
        floats: its Python float and string arguments in the order given (an ``eps``
            of ``finfo(x.dtype)``, GELU's ``approximate="tanh"`` chosen by dtype).
        backward: whether it ran in a backward pass.
    """

    name: str
    dtypes: tuple[torch.dtype | None, ...]
    floats: tuple[float | str, ...] = ()
    backward: bool = False


def _signature(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Op:
    leaves = tree_flatten((args, kwargs))[0]
    dtypes = tuple(
        (x.dtype if x.is_floating_point() else None) if isinstance(x, torch.Tensor) else x
        for x in leaves
        if isinstance(x, torch.Tensor | torch.dtype)
    )
    floats = tuple(x for x in leaves if type(x) in _CONSTANTS)
    return Op(func._schema.name, dtypes, floats, torch._C._current_graph_task_id() != -1)


class Recorder(TorchDispatchMode):  # type: ignore[no-untyped-call]
    """Log every operation with arithmetic the model runs (module text)."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.ops: list[Op] = []

    def __torch_dispatch__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        if not plain(func):
            self.ops.append(_signature(func, args, kwargs))
        return func(*args, **kwargs)


class Replay:
    """The recorded operations, matched in order to the reference's (module text).

    Args:
        ops: the model's operations, as :class:`Recorder` logged them.
        floats: whether a forward operation takes the float arguments the model gave
            it too (a ``finfo(x.dtype).eps``), not only the dtypes.
    """

    def __init__(self, ops: list[Op], floats: bool = False) -> None:
        self.ops, self.floats, self.next = ops, floats, 0
        #: How many of the reference's operations had no match.
        self.missed = 0
        #: How many matched forward operations the copy ran with other floats than the
        #: model's (an eps of ``finfo(x.dtype)``) and kept them (without :attr:`floats`).
        self.differ = 0
        #: The dtypes the reference's float64 arguments were narrowed to (for messages).
        self.ran: set[torch.dtype] = set()

    def match(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Op | None:
        """The model's operation matching ``func`` (the next of its name, signature and
        pass, forward or backward, within :data:`WINDOW`; ``None``: none)."""
        want = _signature(func, args, kwargs)
        for k in range(self.next, min(self.next + WINDOW, len(self.ops))):
            op = self.ops[k]
            if op.name == want.name and op.backward == want.backward and _like(op, want):
                self.next = k + 1
                if not (op.backward or self.floats or _same_floats(op.floats, want.floats)):
                    self.differ += 1
                return op
        self.missed += 1
        return None

    def arguments(self, op: Op, flat: list[Any], default: torch.dtype) -> list[Any]:
        """The flattened arguments ``flat`` of the operation matched to ``op``: each
        float64 tensor (and ``dtype``) in the dtype the model gave it (``default``, the
        model's dtype, where it gave no narrower floating one); with :attr:`floats`,
        a forward operation's floats as the model's."""
        dtypes, floats = iter(op.dtypes), iter(op.floats)
        keep = op.backward or not self.floats  # a backward's floats: the formula's
        out = []
        for x in flat:
            if isinstance(x, torch.Tensor | torch.dtype):
                out.append(_narrow(x, next(dtypes), default))
                if isinstance(x, torch.Tensor) and x.dtype == torch.float64:
                    self.ran.add(out[-1].dtype)
            elif type(x) in _CONSTANTS:
                given = next(floats)
                out.append(x if keep else given)
            else:
                out.append(x)
        return out


def _narrow(x: Any, dtype: torch.dtype | None, default: torch.dtype) -> Any:
    """A float64 argument ``x`` (a tensor or a ``dtype``) in ``dtype`` where that is
    narrower or float64, else in ``default``; any other as it is."""
    want = dtype if dtype in _NARROW or dtype == torch.float64 else default
    if isinstance(x, torch.dtype):
        return want if x == torch.float64 else x
    return x.to(want) if x.dtype == torch.float64 else x


def _same_floats(a: tuple[float | str, ...], b: tuple[float | str, ...]) -> bool:
    return all(x == y or (x != x and y != y) for x, y in zip(a, b))


def _like(a: Op, b: Op) -> bool:
    return len(a.dtypes) == len(b.dtypes) and len(a.floats) == len(b.floats)


def recorded(
    call: Callable[[dict[str, torch.Tensor]], Any],
    tensors: dict[str, torch.Tensor],
    seeded: Callable[[], Any],
) -> list[Op] | None:
    """The operations of one forward and backward of ``call`` (the model's loss in its
    own dtype) at ``tensors`` (copies are differentiated), from the ``seeded`` RNG;
    ``None`` where it raises (the replay is then not used)."""
    ts = {n: t.detach().clone().requires_grad_() for n, t in tensors.items()}
    recorder = Recorder()
    try:
        with torch.enable_grad(), seeded(), recorder:
            out = scalar(call(ts), "the loss")
            if out.requires_grad:
                torch.autograd.grad(out, list(ts.values()), allow_unused=True)
    except Exception:  # the reference is then used without it
        return None
    return recorder.ops
