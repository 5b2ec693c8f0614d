"""A Jacobian the user gives (an array, nested lists or a pytree), as the flat matrix.

:func:`jacobian_matrix` reads the flat ``(m, n)`` matrix, ``out_shape + in_shape`` for
one output and one parameter, or jax's ``jacrev`` layout (dicts matched by key), into
the ``m × n`` float64 matrix of the flat :class:`~gradcheck._layout.Layout`;
:func:`plain_jacobian` first refuses what is no array at all. What is not real,
finite and shaped as asked gets an error that names the block and the remedy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradcheck._errors import GradcheckError
from gradcheck._flat_values import as_array, has_mapping, leaves_like, real_values
from gradcheck._layout import Layout
from gradcheck._pytree import flatten

__all__ = ["jacobian_matrix", "plain_jacobian"]

Array = np.ndarray[Any, Any]


def plain_jacobian(value: Any, what: str) -> Any:
    """The user's Jacobian, with a clear error for what is no array or pytree of arrays:
    ``None``, a scipy.sparse matrix (``.toarray()``), a string; a nested list of numbers
    becomes the array it spells."""
    if value is None:
        raise GradcheckError(
            f"{what} None: give the Jacobian as an array shaped output_shape + "
            "parameter_shape (or jax.jacrev's pytree layout)"
        )
    if hasattr(value, "toarray") and hasattr(value, "nnz"):
        raise GradcheckError(
            f"{what} a scipy.sparse {type(value).__name__}: pass a dense array (jacobian.toarray())"
        )
    if isinstance(value, (str, bytes)):
        raise GradcheckError(f"{what} a {type(value).__name__}, not an array of numbers")
    if isinstance(value, list) and value and all(isinstance(x, list) for x in value):
        try:
            arr = np.asarray(value)
        except ValueError:  # ragged: a pytree of lists
            return value
        if np.issubdtype(arr.dtype, np.number) and arr.ndim == 2:
            return arr
    return value


def jacobian_matrix(value: Any, lay: Layout) -> Array:
    """A Jacobian given as an array or pytree, as the flat ``m × n`` matrix.

    Accepted layouts: the flat ``(m, n)`` matrix; for one output array and one parameter
    array, ``out_shape + in_shape``; otherwise jax's ``jacrev`` layout: the output's
    structure whose every leaf is a structure like the parameters, with leaves of shape
    ``out_shape + in_shape`` (for one output array: a structure like the parameters).
    """
    m, n = lay.m, lay.n
    if not isinstance(value, (dict, list, tuple)):
        arr = as_array(value)
        if arr.shape == (m, n):
            return _finite_matrix(arr, "jacobian")
        if len(lay.in_shapes) == 1 and len(lay.out_shapes) == 1:
            want = lay.out_shapes[0] + lay.in_shapes[0]
            if arr.shape == want:
                return _finite_matrix(arr.reshape(m, n), "jacobian")
            _shape_error(arr.shape, want, lay)
    _, leaves, _ = flatten(value)
    blocks = [(o, p) for o in range(len(lay.out_shapes)) for p in range(len(lay.in_shapes))]
    matched = _jacobian_leaves(value, lay)
    if matched is not None:
        leaves = matched
    elif len(leaves) != len(blocks) or has_mapping(value):
        raise GradcheckError(
            f"jacobian has {len(leaves)} arrays, but {len(lay.out_names)} outputs × "
            f"{len(lay.in_names)} parameters need {len(blocks)}: give the flat ({m}, {n}) "
            "matrix, or for each output a structure like the parameters whose leaves have "
            "shape output_shape + parameter_shape (jax.jacrev's layout; dicts are "
            "matched by key)"
        )
    out = np.empty((m, n))
    rows, cols = lay.out_slices(), lay.in_slices()
    for leaf, (o, p) in zip(leaves, blocks):
        arr = as_array(leaf)
        want = lay.out_shapes[o] + lay.in_shapes[p]
        if arr.shape != want:
            raise GradcheckError(
                f"jacobian block for output {lay.out_names[o]!r} and parameter "
                f"{lay.in_names[p]!r} has shape {arr.shape}, but needs output_shape + "
                f"parameter_shape = {want}"
            )
        block = real_values(arr, "jacobian has", f"{lay.out_names[o]} / {lay.in_names[p]}")
        out[rows[o], cols[p]] = block.reshape(
            math.prod(lay.out_shapes[o]), math.prod(lay.in_shapes[p])
        )
    return _finite_matrix(out, "jacobian")


def _jacobian_leaves(value: Any, lay: Layout) -> list[Any] | None:
    """The blocks of a jacrev-layout Jacobian in (output, parameter) order, by key."""
    if lay.out_treedef.kind == "leaf":
        return leaves_like(value, lay.in_treedef)
    per_output = leaves_like(value, lay.out_treedef, subtrees=True)
    if per_output is None:
        return None
    out: list[Any] = []
    for sub in per_output:
        blocks = [sub] if lay.in_treedef.kind == "leaf" else leaves_like(sub, lay.in_treedef)
        if blocks is None:
            return None
        out.extend(blocks)
    return out


def _shape_error(got: tuple[int, ...], want: tuple[int, ...], lay: Layout) -> None:
    flipped = lay.in_shapes[0] + lay.out_shapes[0]
    hint = (
        " (that is parameter_shape + output_shape: transposed? rows are outputs, columns "
        "are inputs)"
        if got == flipped
        else ""
    )
    raise GradcheckError(
        f"jacobian has shape {got}, but output_shape + parameter_shape is {want}{hint}: "
        f"give J[i, j] = ∂out[i]/∂{lay.in_names[0]}[j], or the flat ({lay.m}, {lay.n}) matrix"
    )


def _finite_matrix(arr: Array, what: str) -> Array:
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise GradcheckError(
            f"{what} has complex values, but fn's parameters and outputs are real, so its "
            "derivative is real: give real numbers"
        )
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise GradcheckError(f"{what} has unsupported dtype {arr.dtype}: give real numbers")
    out = np.asarray(arr, dtype=np.float64)
    bad = np.argwhere(~np.isfinite(out))
    if bad.size:
        raise GradcheckError(
            f"{what} has a non-finite value {out[tuple(bad[0])]} at flat (output, input) "
            f"{tuple(int(t) for t in bad[0])}: it must be finite at the parameters checked"
        )
    return out
