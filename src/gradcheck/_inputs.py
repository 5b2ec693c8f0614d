"""Validating what the user hands to a check: parameters, gradient and options.

Every error names the offending parameter or option (see ``docs/reliability.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from gradcheck._errors import GradcheckError
from gradcheck._pytree import flatten, match_gradient, unflatten

__all__ = ["analytic_gradient", "check_options", "check_target", "private_copy"]

Array = np.ndarray[Any, Any]


def _first_non_finite(arr: Array) -> tuple[Any, tuple[int, ...]] | None:
    """The first NaN or inf of ``arr`` and its index, or None when all are finite.

    A finite sum proves every entry finite without an N-long mask (the common case);
    only a non-finite sum (or an overflow) looks entry by entry.
    """
    if np.isfinite(np.sum(arr)) or np.all(np.isfinite(arr)):
        return None
    i = int(np.flatnonzero(~np.isfinite(arr))[0])
    return arr.reshape(-1)[i], tuple(int(t) for t in np.unravel_index(i, arr.shape))


def private_copy(name: str, leaf: Any, complex_step: bool) -> Array:
    """A fresh contiguous float copy of one parameter, or an error naming it."""
    if hasattr(leaf, "detach"):
        raise GradcheckError(
            f"parameter {name!r} is a framework tensor: use gradcheck.torch or "
            "gradcheck.jax, or pass NumPy arrays"
        )
    arr = np.asarray(leaf)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        raise GradcheckError(
            f"parameter {name!r} has dtype {arr.dtype}; gradients need floating-point arrays"
        )
    if not np.issubdtype(arr.dtype, np.floating):
        kind = "complex" if np.issubdtype(arr.dtype, np.complexfloating) else "integer"
        raise GradcheckError(
            f"parameter {name!r} has {kind} dtype {arr.dtype}; gradients need real "
            f"floating-point parameters (convert with .astype(float))"
        )
    bad = _first_non_finite(arr)
    if bad is not None:
        raise GradcheckError(f"parameter {name!r} has a non-finite value at index {bad[1]}")
    if complex_step:
        return np.array(arr, dtype=np.result_type(arr.dtype, np.complex64), order="C")
    return np.array(arr, order="C", copy=True)


def analytic_gradient(
    grad: Any, params: Any, names: Sequence[str], notes: list[str]
) -> list[Array]:
    """The supplied gradient, flattened in parameter order and validated."""
    if callable(grad):
        _, leaves, treedef = flatten(params)
        copy = unflatten(treedef, [np.array(x, copy=True) for x in leaves])
        try:
            grad = grad(copy)
        except Exception as exc:
            raise GradcheckError(f"grad function raised {type(exc).__name__}: {exc}") from exc
    flat = match_gradient(params, grad, notes)
    out = []
    for name, g in zip(names, flat):
        if hasattr(g, "detach"):
            g = g.detach().cpu().numpy()
        g = np.asarray(g)
        if not (np.issubdtype(g.dtype, np.floating) or np.issubdtype(g.dtype, np.integer)):
            raise GradcheckError(f"gradient for {name!r} has unsupported dtype {g.dtype}")
        g = np.asarray(g, dtype=np.float64)  # read only: no copy when already float64
        bad = _first_non_finite(g)
        if bad is not None:
            raise GradcheckError(
                f"gradient for {name!r} has a non-finite value {bad[0]} at index {bad[1]}"
            )
        out.append(g)
    return out


def check_target(cost: Any, params: Any) -> None:
    """Raise unless ``cost`` is callable and ``params`` is given."""
    if not callable(cost):
        raise GradcheckError(
            f"cost must be a function of the parameters, got a {type(cost).__name__}"
        )
    if params is None:
        raise GradcheckError(
            "params is None: pass an array, or a dict / list / tuple of arrays"
        )


def check_options(eps: float | None, rtol: float | None, atol: float | None) -> None:
    for opt, val in (("eps", eps), ("rtol", rtol), ("atol", atol)):
        if val is not None and not (isinstance(val, (int, float)) and np.isfinite(val)):
            raise GradcheckError(f"option {opt}={val!r} must be a finite number or None")
    if eps is not None and eps <= 0:
        raise GradcheckError(f"option eps={eps!r} must be positive")
    for opt, val in (("rtol", rtol), ("atol", atol)):
        if val is not None and val < 0:
            raise GradcheckError(f"option {opt}={val!r} must not be negative")


