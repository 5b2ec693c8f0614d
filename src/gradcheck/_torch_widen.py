"""The float64 copy computes in float64 whatever tensors the loss brings (attack25 G1).

The float64 copy of a model (``to_float64``, inputs cast by a forward pre-hook) still
meets tensors the user's loss or function holds itself: a float32 target ``y`` of
``F.binary_cross_entropy_with_logits`` (which returns the target's dtype), a float32
weight captured by ``fn``. The "float64" loss was then a float32 one, its finite
differences float32 ones, while the report said float64, and a ``× 1.002`` backward
passed. Under :class:`Widen` (a ``TorchFunctionMode``, above autograd, so gradients
flow through the casts) every floating tensor argument of a lower precision becomes
float64 (complex64: complex128) before the operation runs. Float64 tensors, integer
and boolean ones pass through untouched (no copy); an in-place operation on a
low-precision tensor runs on it unchanged (its result must land in it).
"""

from __future__ import annotations

from typing import Any

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_map

__all__ = ["Widen"]

_LOW = {
    torch.float32: torch.float64,
    torch.float16: torch.float64,
    torch.bfloat16: torch.float64,
    torch.complex64: torch.complex128,
    torch.complex32: torch.complex128,
}


class Widen(TorchFunctionMode):
    """Cast every low-precision floating tensor argument to float64 (module text)."""

    def __torch_function__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if name.endswith("_") or name.startswith("__i") or name in _LEAVE:
            return func(*args, **kwargs)

        def widen(x: Any) -> Any:
            if isinstance(x, torch.Tensor) and x.dtype in _LOW:
                return x.to(_LOW[x.dtype])
            return x

        return func(*tree_map(widen, args), **tree_map(widen, kwargs))


#: Functions that must see the tensor itself: its dtype and type asked for, a cast
#: the user wrote, a property read.
_LEAVE = {"to", "type", "float", "half", "bfloat16", "__get__", "__set__", "__setitem__"}
