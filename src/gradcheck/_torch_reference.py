"""The float64 copy's formula computed in the model's own dtype: a sound round-off reference.

The float64 route (``gradcheck._frameworks``) checks the formula on a float64 copy and
reports the model's float32 gradient ``g32`` against the copy's ``g64`` as precision,
when it is round-off. Whether it is can be *reproduced* rather than guessed: run the
float64 copy (the code whose formula the float64 finite differences verify) with every
aten operation executed natively in the model's dtype (:class:`InDtype`, a
``TorchDispatchMode``, below autograd, so the backward's operations run through it
too). Its gradient ``g_ref`` is what float32 arithmetic does to this formula, the
order of every accumulation included: for a right model it is ``g32`` itself, bit for
bit in the project's measurements (MLP, saturated tanh with cross-entropy, BatchNorm
with dropout, LayerNorm, conv, attention, transformer, GRU, RNN, embedding, in-place
clamps: all 0; LSTMs, whose float32 path is a fused kernel, within 3.4 round-offs of
the scale).
Code that acts only in float32 (a backward that rounds its gradient to bfloat16 when
it sees float32, a hook that tests the dtype) sees float64 tensors in this run, as the
formula check did, so ``g32`` differs from ``g_ref`` by what that code does
(``gradcheck._roundoff_verdict`` judges it).

How an operation runs: floating float64 (complex128) tensor arguments and ``dtype``
arguments become the model's dtype, the operation runs, floating outputs of that
dtype come back as float64. A value the copy holds is the model's dtype's value
widened, so narrowing it is exact. View operations (and in-place ones that change only
a view's shape, as ``t_``) run untouched: no arithmetic, and their aliasing must stand.
An in-place or ``out=`` operation is written back into its float64 argument, which it
returns. Random operations run in the model's dtype, as the model's own do, from the
same seeded state. gradcheck's own float64 arithmetic around the user's code runs
:func:`aside`, as given.

Code outside torch is not run in the model's dtype: a custom ``autograd.Function``
computing in NumPy (``x.numpy()``, the torch docs' "extending with NumPy" pattern)
computes in float64 on the copy, and its results are no float32 arithmetic (attack27
H41: a NumPy batchnorm beside inputs offset by 100 differed from the model's float32
gradient by 5.6e-4 of its scale and failed as "a hook or backward acting only in
float32"). Such values come back into torch as float64 numbers that float32 cannot
hold, where every value the mode makes is float32's widened: :attr:`InDtype.outside`
says an operation was given one, and the reference's verdicts say so
(:attr:`~gradcheck._roundoff_verdict.Side.outside`: a difference it does not
reproduce is then ``unresolved``, never ``systematic``).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten, tree_map

from gradcheck._roundoff_verdict import Gradient, Side

__all__ = ["InDtype", "aside", "narrow_to", "with_reference"]

Array = np.ndarray[Any, Any]
#: Set inside :func:`aside`: the operations run as given.
_ASIDE: ContextVar[bool] = ContextVar("gradcheck_reference_aside", default=False)

#: Operations without arithmetic that must see their own tensors (a resize or a
#: storage swap cannot be written back through a copy).
_UNTOUCHED = frozenset(
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


def narrow_to(dtype: torch.dtype) -> dict[torch.dtype, torch.dtype] | None:
    """The narrowing :class:`InDtype` applies for a model of ``dtype`` (``None``: none)."""
    if dtype == torch.float32:
        return {torch.float64: dtype, torch.complex128: torch.complex64}
    if dtype in (torch.float16, torch.bfloat16):
        return {torch.float64: dtype}
    return None


class InDtype(TorchDispatchMode):  # type: ignore[no-untyped-call]
    """Run every aten operation of float64 tensors in ``dtype`` (module text).

    Args:
        dtype: the model's dtype (float32, float16 or bfloat16).
    """

    def __init__(self, dtype: torch.dtype) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        narrow = narrow_to(dtype)
        if narrow is None:
            raise ValueError(f"no narrower dtype than float64 to run in: {dtype}")
        self.narrow = narrow
        self.wide = {v: k for k, v in narrow.items()}
        #: Whether an operation was given a value the model's dtype cannot hold
        #: (module text: computed outside torch, in float64).
        self.outside = False
        # gradcheck's own float64 results (:func:`aside`), which are no user code's
        self._aside: weakref.WeakSet[torch.Tensor] = weakref.WeakSet()
        self._reads = True  # whether the running operation reads its inputs' values

    def _down(self, x: Any) -> Any:
        if isinstance(x, torch.Tensor) and x.dtype in self.narrow:
            low = x.to(self.narrow[x.dtype])
            if self._reads and not self.outside and x.numel() and x not in self._aside:
                plain = x.resolve_conj().resolve_neg()  # compared as stored: no lazy bits
                back = plain.to(low.dtype).to(x.dtype)
                self.outside = not bool(((back == plain) | (plain != plain)).all())
            return low
        if isinstance(x, torch.dtype) and x in self.narrow:
            return self.narrow[x]
        return x

    def __torch_dispatch__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        schema = func._schema
        if _ASIDE.get():
            result = func(*args, **kwargs)
            for t in tree_flatten(result)[0]:
                if isinstance(t, torch.Tensor):
                    self._aside.add(t)
            return result
        if (
            schema.name in _UNTOUCHED
            or torch.Tag.inplace_view in func.tags
            or any(r.alias_info is not None and not r.alias_info.is_write for r in schema.returns)
        ):
            return func(*args, **kwargs)
        self._reads = not schema.name.endswith("_like")  # ones_like(out): its shape only
        narrow_args = [tree_map(self._down, a) for a in args]
        narrow_kwargs = {k: tree_map(self._down, v) for k, v in kwargs.items()}
        out = func(*narrow_args, **narrow_kwargs)
        written: list[tuple[torch.Tensor, torch.Tensor]] = []
        for i, a in enumerate(schema.arguments):
            if a.alias_info is None or not a.alias_info.is_write:
                continue
            if not a.kwarg_only and i < len(args):
                orig, new = args[i], narrow_args[i]
            else:
                orig, new = kwargs.get(a.name), narrow_kwargs.get(a.name)
            if isinstance(orig, torch.Tensor) and isinstance(new, torch.Tensor) and orig is not new:
                if orig.shape != new.shape:  # an out= argument the operation resized
                    orig.resize_(new.shape)
                orig.copy_(new)
                written.append((new, orig))

        def up(x: Any) -> Any:
            for new, orig in written:
                if x is new:
                    return orig
            if isinstance(x, torch.Tensor) and x.dtype in self.wide:
                return x.to(self.wide[x.dtype])
            return x

        return tree_map(up, out)


@contextmanager
def aside() -> Iterator[None]:
    """Run the operations inside as given, under :class:`InDtype` too: gradcheck's own
    float64 arithmetic around the user's code (``check_function``'s fold of an output
    with its cotangent, which the user's pass computes in float64 as well)."""
    token = _ASIDE.set(True)
    try:
        yield
    finally:
        _ASIDE.reset(token)


def with_reference(side: Side, dtypes: Iterable[torch.dtype]) -> Side:
    """``side`` (a float64 copy) with its gradient computed under :class:`InDtype` as
    :attr:`~gradcheck._roundoff_verdict.Side.reference`, where the checked tensors
    share one dtype below float64 (of mixed dtypes, no one dtype is the model's); a
    complex dtype counts as its real parts' (complex64 runs as float32, attack26 H27)."""
    kinds = {d.to_real() for d in dtypes}
    if len(kinds) != 1:
        return side
    (dtype,) = kinds
    if narrow_to(dtype) is None:
        return side
    gradient, modes = side.gradient, []

    def reference(tree: dict[str, Array]) -> Gradient:
        mode = InDtype(dtype)
        modes.append(mode)
        with mode:
            return gradient(tree)

    def outside() -> bool:
        return bool(modes) and modes[-1].outside

    return side._replace(reference=reference, outside=outside)
