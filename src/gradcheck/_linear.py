"""The derivative forms of a vector-valued function, and the JVP–VJP consistency check.

A user of :func:`gradcheck.check_jacobian` has the derivative of ``f(params) -> outputs``
in one or more forms: the Jacobian (an array, or a function returning one), a VJP
``vjp(params, cotangent) -> like params`` or a JVP ``jvp(params, tangent) -> like the
outputs``. :class:`Forms` reads each as a linear map between flat vectors (inputs and
outputs concatenated in flatten order, see :class:`~gradcheck._layout.Layout`):
``J v``, ``uᵀ J`` and, for small problems, the dense ``m × n`` matrix. Every call of a
user's form gets a private copy of the parameters, inside saved-and-restored RNGs
(nothing of the user's changes, also when it raises or is interrupted); what it returns
is validated with errors that name the form, the leaf and the remedy
(``gradcheck._flat_values``, ``gradcheck._jacmatrix``).

Two forms of one derivative must agree with each other: ``gradcheck._consistency``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gradcheck._errors import GradcheckError
from gradcheck._evaluate import GlobalRng, preserve_rng
from gradcheck._flat_values import flat_like
from gradcheck._jacmatrix import jacobian_matrix, plain_jacobian
from gradcheck._layout import Layout
from gradcheck._pytree import builder
from gradcheck._rng import fresh_draws

__all__ = ["FORMS", "Forms", "Memo"]

Array = np.ndarray[Any, Any]
#: The forms of a derivative, in the order they are reported.
FORMS = ("jacobian", "jvp", "vjp")


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
        # prepared once: a full check calls a form once per row or column
        self._in_tree = builder(layout.in_treedef)
        self._out_tree = builder(layout.out_treedef)

    def _params(self) -> Any:
        return self._in_tree([np.array(x, copy=True) for x in self.leaves])

    def _call(self, form: str, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(private params, *args)`` inside saved RNGs; errors name the form."""
        self.calls[form] += 1
        with preserve_rng() if self.rng is None else fresh_draws(self.rng):
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
            self._matrix = jacobian_matrix(plain_jacobian(value, what), self.layout)
        return self._matrix

    def tangent(self, v: Array) -> Any:
        """A flat input vector as a tangent: a pytree like the parameters."""
        lay = self.layout
        parts = [
            v[s].reshape(shape).astype(dt)
            for s, shape, dt in zip(lay.in_slices(), lay.in_shapes, lay.in_dtypes)
        ]
        return self._in_tree(parts)

    def cotangent(self, u: Array) -> Any:
        """A flat output vector as a cotangent: a pytree like the outputs."""
        lay = self.layout
        parts = [
            u[s].reshape(shape).astype(dt if dt.kind == "f" else np.float64)
            for s, shape, dt in zip(lay.out_slices(), lay.out_shapes, lay.out_dtypes)
        ]
        return parts[0] if lay.out_treedef.kind == "leaf" else self._out_tree(parts)

    def jv(self, form: str, v: Array) -> Array:
        """``J v`` by ``form`` (``jacobian`` or ``jvp``), flat."""
        if form == "jacobian":
            return self.jacobian_matrix() @ v
        assert self.jvp_fn is not None
        lay = self.layout
        out = self._call("jvp", self.jvp_fn, self.tangent(v))
        return flat_like(
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
        return flat_like(
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


class Memo:
    """A form applied to vectors, each vector's image computed once (vectors are
    matched by identity: the projections' comparisons, the consistency check and the
    symmetry test read the same products)."""

    def __init__(self, apply: Callable[[Array], Array]) -> None:
        self.apply = apply
        self.seen: list[tuple[Array, Array]] = []

    def __call__(self, x: Array) -> Array:
        for y, r in self.seen:
            if y is x:
                return r
        r = np.asarray(self.apply(x), dtype=np.float64)
        self.seen.append((x, r))
        return r
