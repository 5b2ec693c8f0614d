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

Code outside torch cannot run under the mode: a custom ``autograd.Function`` computing
in NumPy (``x.numpy()``, the torch docs' "extending with NumPy" pattern) would compute
in float64 on the copy, which is no float32 arithmetic (attack27 H41: a NumPy batchnorm
beside inputs offset by 100 differed from the model's float32 gradient by 5.6e-4 of its
scale and failed as "a hook or backward acting only in float32"). So values leave torch
for NumPy (``Tensor.numpy``, ``__array__``: :func:`exits`) in the model's dtype, and
arrays come back (``aten::lift_fresh``: ``from_numpy``, ``as_tensor``, ``tensor``)
widened: the NumPy code computes in float32 as the model's does. A value the model's
dtype cannot hold (a float64 buffer, a constant made with ``dtype=x.dtype``) leaves
as it is, and :attr:`InDtype.outside` says so: the NumPy code may then compute
otherwise than the model's, and a difference the reference does not reproduce is
``unresolved``, never ``systematic`` (:attr:`~gradcheck._roundoff_verdict.Side.outside`);
gradcheck's own float64 results (:func:`aside`) leave as they are, unjudged. Values
entering torch are not judged: a constant, a float64 buffer, the checker's own
tangents are narrowed by the operations that use them, as the model has them (attack28
H62: a test of every value an operation was given turned the float32-only-backward
detection off on such models). Python numbers (``.item()``, ``tolist``) are doubles in
both runs, and the same where the tensor's values are the model's dtype's. Not
reproduced: NumPy code that writes into a tensor through ``.numpy()``'s shared memory
(it writes into the narrowed copy), and tensors that keep sharing memory with the
array they came from.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode, _get_current_dispatch_mode_stack
from torch.utils._pytree import tree_flatten, tree_map, tree_unflatten

from gradcheck._roundoff_verdict import Gradient, Replayed, Side
from gradcheck._torch_replay import CASTS, UNTOUCHED, Op, Replay
from gradcheck._torch_widen import as_written

__all__ = ["InDtype", "aside", "exits", "narrow_to", "with_reference"]

Array = np.ndarray[Any, Any]
#: Set inside :func:`aside`: the operations run as given.
_ASIDE: ContextVar[bool] = ContextVar("gradcheck_reference_aside", default=False)

#: A replay's results in these dtypes come back as float64.
_REPLAYED = (torch.float32, torch.float16, torch.bfloat16)


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
        replay: the dtypes the model runs its operations in (``gradcheck._torch_replay``):
            each float64 argument is narrowed to the one the model gave it, and every
            narrower floating result comes back as float64; ``None``: to ``dtype``.
    """

    def __init__(self, dtype: torch.dtype, replay: Replay | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        narrow = narrow_to(dtype)
        if narrow is None:
            raise ValueError(f"no narrower dtype than float64 to run in: {dtype}")
        self.dtype, self.replay = dtype, replay
        self.narrow = narrow
        self.wide = {v: k for k, v in narrow.items()}
        #: Whether values the model's dtype cannot hold left torch for NumPy (module
        #: text: that code may compute otherwise than the model's).
        self.outside = False
        # gradcheck's own results (:func:`aside`) and their views: no user code's values
        # (by id: a WeakSet compares tensors with ``==`` where their hashes meet)
        self._own_ids: dict[int, weakref.ref[torch.Tensor]] = {}

    def owns(self, t: Any) -> bool:
        """Whether ``t`` is one of gradcheck's own results (:func:`aside`) or a view."""
        ref = self._own_ids.get(id(t))
        return ref is not None and ref() is t

    def _own(self, result: Any) -> Any:
        for t in tree_flatten(result)[0]:
            if isinstance(t, torch.Tensor):
                self._own_ids[id(t)] = weakref.ref(t)
        return result

    def _down(self, x: Any) -> Any:
        if isinstance(x, torch.Tensor) and x.dtype in self.narrow:
            return x.to(self.narrow[x.dtype])
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
            return self._own(func(*args, **kwargs))
        if schema.name == "aten::lift_fresh" and args[0].dtype in self.wide:
            # a value entering torch in the model's dtype (NumPy code's results) enters
            # widened, as every value the mode makes does
            return args[0].to(self.wide[args[0].dtype])
        if (
            schema.name in UNTOUCHED
            or torch.Tag.inplace_view in func.tags
            or any(r.alias_info is not None and not r.alias_info.is_write for r in schema.returns)
        ):
            result = func(*args, **kwargs)
            own = any(self.owns(t) for t in tree_flatten(args)[0])
            return self._own(result) if own else result
        if self.replay is not None and schema.name in CASTS:
            # a cast the copy makes as written: the value it casts may hold a narrower
            # dtype's result than the model's dtype (a stage the model runs in float32)
            return tree_map(self._up, func(*args, **kwargs))
        narrow_args, narrow_kwargs = self._narrowed(func, args, kwargs)
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
            return self._up(x)

        return tree_map(up, out)

    def _narrowed(
        self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[list[Any], dict[str, Any]]:
        """The arguments as the operation runs them: in the model's dtype, or in the
        dtypes the model gave them (:attr:`replay`)."""
        replay = self.replay
        op = replay.match(func, args, kwargs) if replay is not None else None
        if replay is not None and op is None:
            replay.ran.add(self.dtype)  # an unmatched operation runs in the model's dtype
        if replay is None or op is None:
            return [tree_map(self._down, a) for a in args], {
                k: tree_map(self._down, v) for k, v in kwargs.items()
            }
        flat, spec = tree_flatten((args, kwargs))
        new = replay.arguments(op, flat, self.dtype)
        narrow_args, narrow_kwargs = tree_unflatten(new, spec)
        return list(narrow_args), dict(narrow_kwargs)

    def _up(self, x: Any) -> Any:
        """A result in the model's dtype (any narrower floating one, under a replay) as
        float64."""
        if isinstance(x, torch.Tensor) and x.dtype in self.wide:
            return x.to(self.wide[x.dtype])
        if isinstance(x, torch.Tensor) and self.replay is not None and x.dtype in _REPLAYED:
            return x.to(torch.float64)
        return x


#: ``Tensor.numpy`` as torch defines it (``__array__`` calls it too).
_NUMPY = torch.Tensor.numpy


def _leaving(x: torch.Tensor) -> torch.Tensor:
    """``x`` as it leaves torch for NumPy under an :class:`InDtype` (module text): in the
    model's dtype where that holds its values; else as it is, and the mode's ``outside``
    is set."""
    modes = [m for m in _get_current_dispatch_mode_stack() if isinstance(m, InDtype)]
    refused = x.requires_grad and torch.is_grad_enabled()  # by .numpy(), as the model's is
    if not modes or _ASIDE.get() or x.dtype not in modes[-1].narrow or refused:
        return x
    mode = modes[-1]
    if mode.narrow[x.dtype] == torch.bfloat16:  # NumPy has none: the model's .numpy() raises
        return x
    if mode.owns(x):  # gradcheck's own float64 result (a check_function fold)
        return x
    # under a replay, a value the model computed in float32 leaves in float32
    lows = [mode.narrow[x.dtype], *([torch.float32] if mode.replay is not None else [])]
    with aside(), torch._C.DisableTorchFunction():  # no mode widens it back (_torch_widen)
        plain = x.detach().resolve_conj().resolve_neg()
        for dtype in lows:
            low = plain.to(dtype)
            if bool(((low.to(x.dtype) == plain) | (plain != plain)).all()):
                return low
    mode.outside = True
    return x


def _numpy(self: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
    low = _leaving(self)
    if low is self:
        return _NUMPY(self, *args, **kwargs)
    with torch._C.DisableTorchFunction():  # as above
        return _NUMPY(low, *args, **kwargs)


@contextmanager
def exits() -> Iterator[None]:
    """``Tensor.numpy`` (and so ``__array__``) giving values in the model's dtype while
    an :class:`InDtype` runs (:func:`_leaving`). A patch of the class, as no mode sees
    the call in a custom Function's backward (torch runs it without function modes)."""
    if torch.Tensor.numpy is _numpy:  # a reference inside a reference
        yield
        return
    own = vars(torch.Tensor).get("numpy")  # a patch of the user's, if any, is put back
    torch.Tensor.numpy = _numpy  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        if own is None:
            del torch.Tensor.numpy  # TensorBase's again
        else:
            torch.Tensor.numpy = own  # type: ignore[method-assign]


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


def _rounded(g: Array | None, dtype: torch.dtype) -> Array | None:
    """``g`` rounded to ``dtype``, as float64 (a complex one as it is)."""
    if g is None or np.iscomplexobj(g):
        return g
    return torch.from_numpy(np.asarray(g, dtype=np.float64)).to(dtype).double().numpy()


def with_reference(
    side: Side,
    dtypes: Iterable[torch.dtype],
    record: Callable[[], list[Op] | None] | None = None,
) -> Side:
    """``side`` (a float64 copy) with its gradient computed under :class:`InDtype` as
    :attr:`~gradcheck._roundoff_verdict.Side.reference`, where the checked tensors
    share one dtype below float64 (of mixed dtypes, no one dtype is the model's); a
    complex dtype counts as its real parts' (complex64 runs as float32, attack26 H27).
    With ``record`` (the model's operations: ``gradcheck._torch_replay.recorded``), the
    same replaying the model's dtypes as
    :attr:`~gradcheck._roundoff_verdict.Side.replayed`."""
    kinds = {d.to_real() for d in dtypes}
    if len(kinds) != 1:
        return side
    (dtype,) = kinds
    if narrow_to(dtype) is None:
        return side
    gradient, modes = side.gradient, list[InDtype]()
    ops: list[list[Op] | None] = []  # the model's, recorded once when first needed

    def run(tree: dict[str, Array], mode: InDtype) -> Gradient:
        modes.append(mode)
        with mode, exits(), as_written():
            return gradient(tree)

    def reference(tree: dict[str, Array]) -> Gradient:
        return run(tree, InDtype(dtype))

    def replayed(tree: dict[str, Array], floats: bool) -> Gradient:
        if not ops and record is not None:
            ops.append(record())
        if not ops or ops[0] is None:
            raise ValueError("the model's operations were not recorded")
        value, grads = run(tree, InDtype(dtype, Replay(ops[0], floats)))
        # the model's gradients are its parameters' dtype: one computed in float32 (a
        # norm upcast) is rounded to it by the cast's backward, which the copy has not
        return Gradient(
            value, {n: None if g is None else _rounded(g, dtype) for n, g in grads.items()}
        )

    def outside() -> bool:  # of any run of this check: never less cautious
        return any(m.outside for m in modes)

    def last() -> Replayed:
        replay = modes[-1].replay if modes else None
        if replay is None:
            return Replayed(False, False, ())
        ran = sorted(str(d).removeprefix("torch.") for d in replay.ran if d != dtype)
        return Replayed(replay.missed == 0, replay.differ > 0, tuple(ran))

    return side._replace(
        reference=reference,
        outside=outside,
        replayed=None if record is None else replayed,
        last_replay=last,
    )
