"""The float64 copy computes in float64 whatever the loss brings or casts (attack25/26 G1).

The float64 copy of a model (``to_float64``, inputs cast by a forward pre-hook) still
meets tensors the user's loss or function holds itself: a float32 target ``y`` of
``F.binary_cross_entropy_with_logits`` (which returns the target's dtype), a float32
weight captured by ``fn``; and casts the loss writes itself: ``F.mse_loss(m(x).float(),
y)``, ``logits.to(torch.float32)``, ``x.type(torch.FloatTensor)``, a constant
``torch.tensor(0.1, dtype=torch.float32)``. The "float64" loss was then a float32 one,
its finite differences float32 ones, while the report said float64, and a ``× 1.002``
backward passed (attack25 g28). Under :class:`Widen` (a ``TorchFunctionMode``, above
autograd, so gradients flow through the casts) nothing inside the copy computes below
float64 (complex: complex128):

* every low-precision floating tensor argument becomes float64 before the operation
  runs (float64, integer and boolean tensors pass untouched, no copy);
* a cast the user wrote to a lower floating precision (``float``, ``half``,
  ``bfloat16``, ``cfloat``, ``chalf``, ``to`` and ``type`` with such a dtype, tensor
  or type name, a ``dtype=`` of an operation on tensors: ``x.sum(dtype=torch.float32)``)
  keeps float64: ``.float()`` of a float64 tensor returns it; casts to integer or
  boolean types and device moves stay as written;
* a low-precision tensor an operation makes from no tensor (a factory:
  ``torch.zeros(n, dtype=torch.float32)``, ``torch.tensor(0.1)`` in the default dtype,
  a random draw) is made as written and then widened, so its values are the user's own
  (the same draws, the same float32 constant) and its arithmetic float64.

* dropout (``F.dropout``, ``nn.Dropout``, ``F.dropout1d/2d/3d``) in training keeps
  the user's mask: on CUDA the mask a seed gives depends on the tensor's dtype (an H200
  drew other masks for float64 than for float32, so every CUDA model with dropout in
  train mode lost the float64 route and came out inconclusive; ``tools/gpu_check.py``).
  Given the model's dtype (``Widen(masks=torch.float32)``), the mask is drawn on a
  tensor of ones in that dtype, the user's draw exactly, and the float64 input is
  multiplied by it.

Left as written: in-place operations (their result must land in the tensor given, the
user's own float32 buffer included), a tensor passed as ``out=``, property reads and
writes, and bit-level views (``x.view(torch.int32)``), which a widening would change
in meaning. Where such a tensor makes the copy compute something else, its loss
disagrees with the user's or raises, and the adapter falls back to the user's dtype
with a note (``gradcheck._frameworks``), as for any copy that cannot be used.

* a custom ``autograd.Function``'s backward runs under the mode too
  (:func:`backwards`): autograd runs it outside any ``TorchFunctionMode``, so its own
  casts (``t.to(ctx.dtype).cos()`` with the forward's ``float16``) computed the copy's
  "float64" gradient in float16, and a right Function on a float16 stage failed against
  float64 finite differences by float16's round-off (attack36 on trust34's H131 fix:
  ``fn1`` FFF in float16 and bfloat16).

Not while :func:`as_written` runs: the round-off reference (``gradcheck._torch_reference``)
runs the copy in the model's arithmetic, where a cast is the model's own (a bfloat16
model whose loss runs in float32, ``F.cross_entropy(m(x).float(), y)``: the float32
loss is the model's, attack27 H47) and a float32 tensor the loss brings stays float32.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from typing import Any

import torch
from torch.overrides import TorchFunctionMode, _get_current_function_mode_stack
from torch.utils._pytree import tree_flatten, tree_map

__all__ = ["Widen", "as_written", "backwards", "mask_dtype"]

#: Set inside :func:`as_written`: :class:`Widen` passes every call through.
_OFF: ContextVar[bool] = ContextVar("gradcheck_widen_off", default=False)


@contextmanager
def as_written() -> Iterator[None]:
    """:class:`Widen` off inside: the copy's casts and tensors as the user wrote them
    (module text)."""
    token = _OFF.set(True)
    try:
        yield
    finally:
        _OFF.reset(token)


_LOW = {
    torch.float32: torch.float64,
    torch.float16: torch.float64,
    torch.bfloat16: torch.float64,
    torch.complex64: torch.complex128,
    torch.complex32: torch.complex128,
}

#: Casts to a lower precision, and the dtype each casts to in the copy.
_CASTS = {
    "float": torch.float64,
    "half": torch.float64,
    "bfloat16": torch.float64,
    "cfloat": torch.complex128,
    "chalf": torch.complex128,
}

#: ``Tensor.type`` names of the low-precision tensor types, and their float64 ones.
_TYPE_NAMES = {
    "FloatTensor": "DoubleTensor",
    "HalfTensor": "DoubleTensor",
    "BFloat16Tensor": "DoubleTensor",
}

#: Functions that must see the tensor itself: a property read or written, an item set
#: (it lands in the tensor given), a bit-level view (only with a dtype: below).
_LEAVE = {"__get__", "__set__", "__setitem__"}

#: Dropouts whose output is the input times a random mask (``alpha_dropout`` is not).
_DROPOUTS = {"dropout", "dropout1d", "dropout2d", "dropout3d"}


class Widen(TorchFunctionMode):
    """Compute in float64 whatever the copy's loss brings or casts (module text).

    Args:
        masks: the model's own dtype, in which dropout masks are drawn; ``None``
            draws them in float64.
    """

    def __init__(self, masks: torch.dtype | None = None) -> None:
        super().__init__()
        self.masks = masks
        #: The first autograd sequence number of a node made under this mode.
        self.start = 0

    def __enter__(self) -> Widen:
        self.start = _next_node()
        return super().__enter__()  # type: ignore[no-untyped-call,no-any-return]

    def __torch_function__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if (
            _OFF.get()
            or name.endswith("_")
            or name.startswith("__i")
            or name in _LEAVE
            or _bits(name, args, kwargs)
        ):
            return func(*args, **kwargs)
        if name in _DROPOUTS and self.masks is not None and kwargs.get("training", True):
            return _user_mask(func, args, kwargs, self.masks)
        if name in _CASTS:
            func, args = torch.Tensor.to, (args[0], _CASTS[name])  # .float() is .double()
        out = kwargs.get("out")
        given = any(isinstance(a, torch.Tensor) for a in [*args, *kwargs.values()])
        args = tuple(tree_map(_widen, args))
        kwargs = {k: v if k == "out" else tree_map(_widen, v) for k, v in kwargs.items()}
        if given and kwargs.get("dtype") in _LOW:  # x.sum(dtype=torch.float32)
            kwargs["dtype"] = _LOW[kwargs["dtype"]]
        if name in ("to", "type"):
            args = (args[0], *(_wide_target(a) for a in args[1:]))
        result = func(*args, **kwargs)
        return result if out is not None else tree_map(_widen, result)


def backwards(out: Any) -> Any:
    """``out`` (a forward's result), each custom ``autograd.Function`` node its graph
    got under the active :class:`Widen` set to run its backward under one too (module
    text); as is where no :class:`Widen` is active, or grad is off.

    Only nodes made under the mode are touched (autograd numbers nodes in the order a
    thread makes them): a graph the user built before, reached through a tensor ``fn``
    holds, is left as it is. The node's ``apply`` is set on the node itself, which
    autograd's engine calls; the copy's graph is gradcheck's own and goes with it.
    """
    stack = _get_current_function_mode_stack()  # type: ignore[no-untyped-call]
    modes = [m for m in stack if isinstance(m, Widen)]
    if not modes or _OFF.get() or not torch.is_grad_enabled():
        return out
    mode = modes[-1]
    seen: set[int] = set()
    todo = [t.grad_fn for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
    while todo:
        node = todo.pop()
        if node is None or id(node) in seen or not hasattr(node, "_sequence_nr"):
            continue
        seen.add(id(node))
        if not mode.start <= node._sequence_nr() < _ACCUMULATE:
            continue
        if hasattr(node, "_forward_cls") and "apply" not in vars(node):
            run = type(node).apply  # type: ignore[attr-defined]
            node.apply = partial(_widened, weakref.ref(node), run, mode.masks)  # type: ignore[attr-defined]
        todo.extend(n for n, _ in node.next_functions)
    return out


#: The sequence number autograd gives every ``AccumulateGrad`` node (a leaf's).
_ACCUMULATE = 2**64 - 1


def _next_node() -> int:
    """The sequence number of the next autograd node this thread makes (a throwaway
    view's, made with grad on and unseen by any mode: the round-off reference's replay
    counted its ``aten::zeros`` as an operation the model did not run)."""
    with torch.enable_grad(), torch._C.DisableTorchFunction(), torch._C._DisableTorchDispatch():
        view = torch.zeros((), requires_grad=True).view(())
        return int(view.grad_fn._sequence_nr()) + 1  # type: ignore[union-attr]


def _widened(
    node: weakref.ref[Any], apply: Callable[..., Any], masks: torch.dtype | None, *grads: Any
) -> Any:
    """A custom ``Function`` node's ``apply`` (its backward) run under :class:`Widen`
    (:func:`backwards`)."""
    token = _OFF.set(False)
    try:
        with Widen(masks):
            return apply(node(), *grads)
    finally:
        _OFF.reset(token)


def mask_dtype(tensors: Iterable[torch.Tensor]) -> torch.dtype | None:
    """The least precise real floating dtype among ``tensors`` (the model's own dtype,
    in which its dropout masks are drawn), or ``None``.

    >>> mask_dtype([torch.zeros(1), torch.zeros(1, dtype=torch.float64)])
    torch.float32
    """
    real = [t.dtype for t in tensors if t.is_floating_point()]
    return max(real, key=lambda d: torch.finfo(d).eps) if real else None


def _user_mask(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], dtype: torch.dtype) -> Any:
    """A dropout of ``args[0]`` with the mask the user's ``dtype`` draws (module text)."""
    x = args[0]
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        return func(*args, **kwargs)
    rest = {k: v for k, v in kwargs.items() if k != "inplace"}
    mask = func(torch.ones_like(x, dtype=dtype), *args[1:], **rest).to(x.dtype)
    return x.mul_(mask) if kwargs.get("inplace") else x * mask


def _widen(x: Any) -> Any:
    """A low-precision floating tensor as float64 (complex128); anything else as is."""
    if isinstance(x, torch.Tensor) and x.dtype in _LOW:
        return x.to(_LOW[x.dtype])
    return x


def _wide_target(a: Any) -> Any:
    """A ``to``/``type`` target: a low dtype or tensor type name as its float64 one."""
    if isinstance(a, torch.dtype):
        return _LOW.get(a, a)
    if isinstance(a, type) and a.__module__.startswith("torch") and hasattr(a, "is_cuda"):
        a = f"{a.__module__}.{a.__name__}"  # torch.FloatTensor, a tensortype
    if isinstance(a, str):
        head, _, tail = a.rpartition(".")
        return f"{head}.{_TYPE_NAMES[tail]}" if tail in _TYPE_NAMES else a
    return a


def _bits(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether the call is a bit-level view: ``x.view(torch.int32)``."""
    given = [*args[1:], *kwargs.values()]
    return name == "view" and any(isinstance(a, torch.dtype) for a in given)
