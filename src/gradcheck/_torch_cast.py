"""Torch values cast and converted: float64 copies, NumPy gradients, scalar losses.

* :func:`as_float64`, :func:`to_float64` and :func:`cast_inputs` widen arguments, a
  module and a module's inputs to float64 (complex ones to complex128, :func:`wide`).
* :func:`dense` turns a gradient into a float64 (complex128) NumPy array;
  :func:`scalar` a loss into a 0-d tensor, or an error saying what was returned.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from gradcheck._errors import GradcheckError

__all__ = ["as_float64", "cast_inputs", "dense", "dtype_name", "scalar", "to_float64", "wide"]

Array = np.ndarray[Any, Any]


def as_float64(args: Any) -> Any:
    """``args`` with every floating tensor (in lists, tuples, dicts) cast to float64."""
    if isinstance(args, torch.Tensor) and (args.is_floating_point() or args.is_complex()):
        return args.to(wide(args.dtype))
    if isinstance(args, (list, tuple)):
        return type(args)(as_float64(a) for a in args)
    if isinstance(args, dict):
        return {k: as_float64(v) for k, v in args.items()}
    return args


def to_float64(module: torch.nn.Module) -> torch.nn.Module:
    """``module.to(torch.float64)``, but complex parameters and buffers to complex128
    (``Module.to`` would cast them to float64, dropping their imaginary parts)."""
    tensors = [*module.parameters(), *module.buffers()]
    if not any(t.is_complex() for t in tensors):
        return module.to(torch.float64)
    wide_module: torch.nn.Module = module._apply(_widened)  # type: ignore[no-untyped-call]
    return wide_module


def _widened(t: torch.Tensor) -> torch.Tensor:
    """A floating tensor as float64, a complex one as complex128, others as they are."""
    return t.to(wide(t.dtype)) if t.is_floating_point() or t.is_complex() else t


def cast_inputs(_: torch.nn.Module, args: Any, kwargs: Any) -> Any:
    """A forward pre-hook casting a float64 model's floating inputs to float64."""
    return as_float64(args), as_float64(kwargs)


def wide(dtype: torch.dtype) -> torch.dtype:
    """float64 for a real dtype, complex128 for a complex one (``gradcheck._adapter_complex``)."""
    return torch.complex128 if dtype.is_complex else torch.float64


def dtype_name(dtype: torch.dtype) -> str:
    """``"float32"`` for ``torch.float32``."""
    return str(dtype).removeprefix("torch.")


def dense(g: torch.Tensor) -> Array:
    """A gradient as a float64 (complex128) NumPy array (a sparse gradient made dense).

    ``force=True`` also materialises the efficient zero tensors autograd returns for a
    derivative it knows is zero (``torch.sgn``'s, ``abs``'s second), which plain
    ``.numpy()`` refuses.

    The conversion is gradcheck's own, never a value leaving for the user's NumPy code:
    it calls torch's own ``numpy``, not the round-off reference's patch
    (``gradcheck._torch_reference.exits``), which took a float64 function's gradient
    with a float16 stage for such a value (float16 cannot hold its float64 part) and
    left a float16-only backward bug unresolved (trust35).
    """
    if g.layout != torch.strided:
        g = g.to_dense()
    plain = g.detach().cpu().to(wide(g.dtype))
    return np.array(torch._C.TensorBase.numpy(plain, force=True), copy=True)


def scalar(value: Any, where: str) -> torch.Tensor:
    """``value`` as a 0-d tensor, or an error saying what was returned instead."""
    if not isinstance(value, torch.Tensor) or value.numel() != 1:
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise GradcheckError(f"{where} must return a scalar tensor, got {shape}")
    return value.reshape(())
