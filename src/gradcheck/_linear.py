"""The derivative forms of a vector-valued function, and the JVP–VJP consistency check.

A user of :func:`gradcheck.check_jacobian` has the derivative of ``f(params) -> outputs``
in one or more forms: the Jacobian (an array, or a function returning one), a VJP
``vjp(params, cotangent) -> like params`` or a JVP ``jvp(params, tangent) -> like the
outputs``. :class:`Forms` reads each as a linear map between flat vectors (inputs and
outputs concatenated in flatten order, see :class:`Layout`): ``J v``, ``uᵀ J`` and,
for small problems, the dense ``m × n`` matrix. Every call of a user's form gets a
private copy of the parameters, inside saved-and-restored RNGs (nothing of the user's
changes, also when it raises or is interrupted); what it returns is validated with
errors that name the form, the leaf and the remedy.

Two forms of one derivative must agree with each other: ``gradcheck._consistency``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from gradcheck._errors import GradcheckError
from gradcheck._evaluate import GlobalRng, preserve_rng
from gradcheck._numerics import unit_roundoff
from gradcheck._pytree import TreeDef, flatten, unflatten

__all__ = ["FORMS", "Forms", "Layout", "as_array", "output_layout"]

Array = np.ndarray[Any, Any]
#: The forms of a derivative, in the order they are reported.
FORMS = ("jacobian", "jvp", "vjp")


def as_array(value: Any) -> Array:
    """A user's leaf (NumPy, a number, a framework tensor) as a NumPy array."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


class Layout(NamedTuple):
    """The flat layout of inputs and outputs: names, shapes, offsets, dtypes."""

    in_names: list[str]
    in_shapes: list[tuple[int, ...]]
    in_dtypes: list[np.dtype[Any]]
    in_treedef: TreeDef
    out_names: list[str]
    out_shapes: list[tuple[int, ...]]
    out_dtypes: list[np.dtype[Any]]
    out_treedef: TreeDef

    @property
    def n(self) -> int:
        """How many input entries."""
        return sum(math.prod(s) for s in self.in_shapes)

    @property
    def m(self) -> int:
        """How many output entries."""
        return sum(math.prod(s) for s in self.out_shapes)

    def in_slices(self) -> list[slice]:
        """Each input leaf's range of the flat input vector."""
        return _slices(self.in_shapes)

    def out_slices(self) -> list[slice]:
        """Each output leaf's range of the flat output vector."""
        return _slices(self.out_shapes)

    def roundoff(self) -> float:
        """The largest unit round-off of the inputs' and outputs' dtypes."""
        dtypes = [*self.in_dtypes, *self.out_dtypes]
        return max(
            unit_roundoff(d) if d.kind in "fc" else unit_roundoff(np.float64) for d in dtypes
        )


def _slices(shapes: Sequence[tuple[int, ...]]) -> list[slice]:
    out, start = [], 0
    for s in shapes:
        out.append(slice(start, start + math.prod(s)))
        start += math.prod(s)
    return out


def output_layout(value: Any, what: str) -> tuple[list[str], list[Array], TreeDef]:
    """The output's leaves (as NumPy arrays) and names; a bare array is ``out``."""
    names, leaves, treedef = flatten(value)
    arrays = [as_array(x) for x in leaves]
    if treedef.kind == "leaf":
        names = ["out"]
    for name, arr in zip(names, arrays):
        if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
            raise GradcheckError(
                f"{what} returned {arr.dtype} values for output {name!r}: it must return "
                "real floating-point arrays (or a dict/list/tuple of them)"
            )
    return names, arrays, treedef


def _flat_like(
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
    if len(names) == 1 and not isinstance(value, (dict, list, tuple)):
        leaves = [value]
    else:
        got, leaves, _ = flatten(value)
        matched = None if treedef is None else leaves_like(value, treedef)
        if matched is not None:
            leaves = matched
        elif len(leaves) != len(names) or (treedef is not None and _has_mapping(value)):
            raise GradcheckError(
                f"{what} returned {len(leaves)} arrays ({', '.join(got)}), but {like} has "
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
        if not _same_shape(arr.shape, shape):
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


def real_values(arr: Array, what: str, name: str) -> Array:
    """``arr`` as float64, or a :class:`GradcheckError` naming ``what`` (``"vjp(params,
    cotangent) returned"``) and the leaf when its values are not real numbers (complex,
    where fn's parameters and outputs are real; objects, strings)."""
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise GradcheckError(
            f"{what} complex values for {name!r}, but fn's parameters and outputs are "
            "real, so its derivative is real: return real arrays (complex Jacobians are "
            "checked where fn has complex parameters or outputs)"
        )
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise GradcheckError(
            f"{what} {arr.dtype} values for {name!r}: it must give real floating-point "
            "arrays (NumPy arrays, or tensors)"
        )
    return np.asarray(arr, dtype=np.float64)


def _same_shape(got: tuple[int, ...], want: tuple[int, ...]) -> bool:
    """Equal shapes, or equal but for axes of length 1 (a scalar for a ``(1,)``)."""
    return got == want or tuple(d for d in got if d != 1) == tuple(d for d in want if d != 1)


class Forms:
    """The user's derivative forms at the parameters, as maps between flat vectors.

    Args:
        layout: the inputs' and outputs' layout.
        leaves: private, unperturbed copies of the parameters (never given to a form:
            each call gets its own copy).
        jacobian, vjp, jvp: the forms the user gave (``None`` where not given).
        rng: the user's global RNG states as the check found them: every call of a form
            starts from them, as ``fn``'s evaluations do (``check`` gives a callable
            gradient the same, ``gradcheck._inputs._call_grad``), so a form that
            recomputes ``fn``'s random draws (dropout) sees the same ones.
    """

    def __init__(
        self,
        layout: Layout,
        leaves: list[Array],
        jacobian: Any = None,
        vjp: Callable[[Any, Any], Any] | None = None,
        jvp: Callable[[Any, Any], Any] | None = None,
        rng: GlobalRng | None = None,
    ) -> None:
        self.layout = layout
        self.rng = rng
        self.leaves = leaves
        self.vjp_fn = vjp
        self.jvp_fn = jvp
        self.calls = {"jacobian": 0, "jvp": 0, "vjp": 0}
        self.given = tuple(f for f, x in zip(FORMS, (jacobian, jvp, vjp)) if x is not None)
        self._jacobian = jacobian
        self._matrix: Array | None = None

    def _params(self) -> Any:
        return unflatten(self.layout.in_treedef, [np.array(x, copy=True) for x in self.leaves])

    def _call(self, form: str, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(private params, *args)`` inside saved RNGs; errors name the form."""
        self.calls[form] += 1
        with preserve_rng(self.rng):
            if self.rng is not None:
                self.rng.reset()
            try:
                return fn(self._params(), *args)
            except GradcheckError:
                raise
            except Exception as exc:
                raise GradcheckError(f"{form} raised {type(exc).__name__}: {exc}") from exc

    def jacobian_matrix(self) -> Array:
        """The given Jacobian as the flat ``m × n`` matrix (read once)."""
        if self._matrix is None:
            value = self._jacobian
            what = "jacobian is"
            if callable(value):
                value = self._call("jacobian", value)
                what = "jacobian(params) returned"
            self._matrix = _jacobian_matrix(_plain(value, what), self.layout)
        return self._matrix

    def tangent(self, v: Array) -> Any:
        """A flat input vector as a tangent: a pytree like the parameters."""
        lay = self.layout
        parts = [
            v[s].reshape(shape).astype(dt)
            for s, shape, dt in zip(lay.in_slices(), lay.in_shapes, lay.in_dtypes)
        ]
        return unflatten(lay.in_treedef, parts)

    def cotangent(self, u: Array) -> Any:
        """A flat output vector as a cotangent: a pytree like the outputs."""
        lay = self.layout
        parts = [
            u[s].reshape(shape).astype(dt if dt.kind == "f" else np.float64)
            for s, shape, dt in zip(lay.out_slices(), lay.out_shapes, lay.out_dtypes)
        ]
        return parts[0] if lay.out_treedef.kind == "leaf" else unflatten(lay.out_treedef, parts)

    def jv(self, form: str, v: Array) -> Array:
        """``J v`` by ``form`` (``jacobian`` or ``jvp``), flat."""
        if form == "jacobian":
            return self.jacobian_matrix() @ v
        assert self.jvp_fn is not None
        lay = self.layout
        out = self._call("jvp", self.jvp_fn, self.tangent(v))
        return _flat_like(
            out,
            lay.out_names,
            lay.out_shapes,
            "jvp(params, tangent)",
            "the function's output",
            lay.out_treedef,
        )

    def uj(self, form: str, u: Array) -> Array:
        """``uᵀ J`` by ``form`` (``jacobian`` or ``vjp``), flat."""
        if form == "jacobian":
            return u @ self.jacobian_matrix()
        assert self.vjp_fn is not None
        lay = self.layout
        out = self._call("vjp", self.vjp_fn, self.cotangent(u))
        return _flat_like(
            out, lay.in_names, lay.in_shapes, "vjp(params, cotangent)", "parameter", lay.in_treedef
        )

    def matrix(self, form: str) -> Array:
        """The dense ``m × n`` Jacobian by ``form``: the array, ``n`` JVPs of the basis
        tangents, or ``m`` VJPs of the basis cotangents."""
        if form == "jacobian":
            return self.jacobian_matrix()
        n, m = self.layout.n, self.layout.m
        if form == "jvp":
            cols = [self.jv("jvp", _basis(n, j)) for j in range(n)]
            return np.stack(cols, axis=1) if cols else np.zeros((m, 0))
        rows = [self.uj("vjp", _basis(m, i)) for i in range(m)]
        return np.stack(rows, axis=0) if rows else np.zeros((0, n))


def _basis(size: int, k: int) -> Array:
    e = np.zeros(size)
    e[k] = 1.0
    return e


def _plain(value: Any, what: str) -> Any:
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


def _jacobian_matrix(value: Any, lay: Layout) -> Array:
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
    elif len(leaves) != len(blocks) or _has_mapping(value):
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


def _has_mapping(value: Any) -> bool:
    """Whether a pytree holds a dict anywhere (then only key matching is meaningful)."""
    if isinstance(value, Mapping):
        return True
    if isinstance(value, (list, tuple)):
        return any(_has_mapping(v) for v in value)
    return False


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
