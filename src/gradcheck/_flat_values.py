"""The values a user's derivative form returns, as one validated float64 vector.

A VJP returns a pytree like the parameters, a JVP one like the outputs, a Jacobian
blocks of arrays or framework tensors: :func:`flat_like` reads such a value in a given
structure (dicts matched by key, lists and tuples by position) into one float64 vector,
and refuses what is not real, finite and shaped as asked with an error that names the
form, the leaf and the remedy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from gradcheck._errors import GradcheckError
from gradcheck._pytree import TreeDef, flatten

__all__ = [
    "as_array",
    "flat_like",
    "has_mapping",
    "leaves_like",
    "match_leaves",
    "real_values",
    "same_shape",
]

Array = np.ndarray[Any, Any]


def as_array(value: Any) -> Array:
    """A user's leaf (NumPy, a number, a framework tensor) as a NumPy array."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def flat_like(
    value: Any,
    names: list[str],
    shapes: list[tuple[int, ...]],
    what: str,
    like: str,
    treedef: TreeDef | None = None,
) -> Array:
    """``value`` (a pytree shaped like ``treedef``) as one float64 vector.

    Dicts are matched by key, whatever their order (jax returns key-sorted dicts), as
    :func:`gradcheck.check` matches gradients; lists and tuples by position.
    """
    leaves = match_leaves(value, treedef, len(names))
    if leaves is None:
        got, found, _ = flatten(value)
        raise GradcheckError(
            f"{what} returned {len(found)} arrays ({', '.join(got)}), but {like} has "
            f"{len(names)} ({', '.join(names)}): return the same structure as {like} "
            "(dicts are matched by key)"
        )
    parts = []
    for name, shape, leaf in zip(names, shapes, leaves):
        if leaf is None:
            raise GradcheckError(
                f"{what} returned None for {name!r}: return an array shaped like {like} "
                "(a zero array where the derivative is zero)"
            )
        arr = as_array(leaf)
        if not same_shape(arr.shape, shape):
            raise GradcheckError(
                f"{what} returned shape {arr.shape} for {name!r}, but {like} {name!r} has "
                f"shape {shape}: return an array shaped like {like}"
            )
        flat = real_values(arr, f"{what} returned", name).reshape(-1)
        # a finite sum means every entry is finite (one pass, no temporary); a sum that
        # is not (a NaN, an infinity, or finite entries overflowing it) is searched
        with np.errstate(over="ignore", invalid="ignore"):
            finite = math.isfinite(float(np.add.reduce(flat))) if flat.size else True
        bad = flat[:0] if finite else np.flatnonzero(~np.isfinite(flat))
        if bad.size:
            where = np.unravel_index(int(bad[0]), shape) if shape else ()
            raise GradcheckError(
                f"{what} returned a non-finite value {flat[bad[0]]} in {name!r} at index "
                f"{tuple(int(t) for t in where)}: it must be finite at the parameters checked"
            )
        parts.append(flat)
    return np.concatenate(parts) if parts else np.zeros(0)


def match_leaves(value: Any, treedef: TreeDef | None, count: int) -> list[Any] | None:
    """``value``'s ``count`` leaves in ``treedef``'s order, or ``None`` where its
    structure is another (what :func:`flat_like` refuses).

    Dicts are matched by key, whatever their order (jax returns key-sorted dicts);
    lists and tuples by position. Without ``treedef``, or where ``value`` does not
    match it, its leaves in flatten order serve when there are ``count`` of them and
    no dict among them. A lone non-container is the one leaf of a ``count`` of 1.

    >>> from gradcheck._pytree import flatten
    >>> _, _, tree = flatten({"a": 0, "b": 0})
    >>> match_leaves({"b": 2, "a": 1}, tree, 2)
    [1, 2]
    >>> match_leaves({"a": 1, "c": 2}, tree, 2) is None
    True
    >>> match_leaves([1, 2], tree, 2)
    [1, 2]
    """
    if count == 1 and not isinstance(value, (dict, list, tuple)):
        return [value]
    matched = None if treedef is None else leaves_like(value, treedef)
    if matched is not None:
        return matched
    _, leaves, _ = flatten(value)
    if len(leaves) != count or (treedef is not None and has_mapping(value)):
        return None
    return leaves


def real_values(arr: Array, what: str, name: str) -> Array:
    """``arr`` as float64, or a :class:`GradcheckError` naming ``what`` (``"vjp(params,
    cotangent) returned"``) and the leaf when its values are not real numbers (complex,
    where fn's parameters and outputs are real; objects, strings)."""
    kind = arr.dtype.kind  # one attribute read: called once per VJP of a full check
    if kind == "f":
        return arr if arr.dtype == np.float64 else arr.astype(np.float64)
    if kind == "c":
        raise GradcheckError(
            f"{what} complex values for {name!r}, but fn's parameters and outputs are "
            "real, so its derivative is real: return real arrays (complex Jacobians are "
            "checked where fn has complex parameters or outputs)"
        )
    if kind not in "bium":  # as np.issubdtype(np.number) or bool: timedelta counts
        raise GradcheckError(
            f"{what} {arr.dtype} values for {name!r}: it must give real floating-point "
            "arrays (NumPy arrays, or tensors)"
        )
    return np.asarray(arr, dtype=np.float64)


def same_shape(got: tuple[int, ...], want: tuple[int, ...]) -> bool:
    """Equal shapes, or equal but for axes of length 1 (a scalar for a ``(1,)``)."""
    return got == want or tuple(d for d in got if d != 1) == tuple(d for d in want if d != 1)


def leaves_like(value: Any, treedef: TreeDef, subtrees: bool = False) -> list[Any] | None:
    """``value``'s leaves in ``treedef``'s order, dicts matched by key; ``None`` if the
    structures differ (another key set, another length, a container for a leaf).

    With ``subtrees``, what sits at a leaf of ``treedef`` may be a container (the
    per-output parameter structures of a jacrev-layout Jacobian)."""
    out: list[Any] = []

    def walk(v: Any, node: TreeDef) -> bool:
        if node.kind == "leaf":
            out.append(v)
            return subtrees or not isinstance(v, (Mapping, list, tuple))
        if node.kind == "dict":
            if not isinstance(v, Mapping) or set(v) != set(node.keys):
                return False
            return all(walk(v[k], c) for k, c in zip(node.keys, node.children))
        if not isinstance(v, (list, tuple)) or len(v) != len(node.children):
            return False
        return all(walk(vi, c) for vi, c in zip(v, node.children))

    return out if walk(value, treedef) else None


def has_mapping(value: Any) -> bool:
    """Whether a pytree holds a dict anywhere (then only key matching is meaningful)."""
    if isinstance(value, Mapping):
        return True
    if isinstance(value, (list, tuple)):
        return any(has_mapping(v) for v in value)
    return False
