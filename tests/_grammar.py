"""Hypothesis strategies for the reliability suite: random pytrees and smooth costs.

A cost is a sum of *terms* drawn from a small grammar, each with its exact gradient:

* ``c·sin(a·x)``, ``b·exp(a·x)``, ``c·tanh(a·x)`` and ``c·log(1 + x²)`` over every
  entry of one leaf;
* a quadratic form ``½·xᵀAx`` (``A`` symmetric) over one leaf;
* a product ``c·x_i·y_j`` of two entries, possibly of different leaves.

The cost evaluates every term in its leaf's own dtype (float32 stays float32), so the
checker meets real float32 rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st

from gradcheck._pytree import flatten, unflatten

__all__ = ["Problem", "Term", "problems", "pytrees"]

Array = np.ndarray[Any, Any]
_KINDS = ("sin", "exp", "tanh", "log1p2", "quad", "prod")


@dataclass(frozen=True)
class Term:
    """One term of a cost: ``kind`` on leaf ``leaf`` (and ``other`` for products)."""

    kind: str
    leaf: int
    coeff: float
    scale: float
    other: int = 0
    i: int = 0
    j: int = 0
    matrix: tuple[tuple[float, ...], ...] = ()


@dataclass(frozen=True)
class Problem:
    """A random check problem: ``params`` (a pytree) and a cost made of ``terms``."""

    params: Any
    terms: tuple[Term, ...]

    def leaves(self, params: Any) -> list[Array]:
        """The leaves of ``params`` in gradcheck's order."""
        return [np.asarray(x) for x in flatten(params)[1]]

    def cost(self, params: Any) -> float:
        """The cost: the sum of every term at ``params``."""
        xs = [x.reshape(-1) for x in self.leaves(params)]
        total = 0.0
        for t in self.terms:
            x = xs[t.leaf]
            if t.kind == "sin":
                total += float(np.sum(t.coeff * np.sin(t.scale * x)))
            elif t.kind == "exp":
                total += float(np.sum(t.coeff * np.exp(t.scale * x)))
            elif t.kind == "tanh":
                total += float(np.sum(t.coeff * np.tanh(t.scale * x)))
            elif t.kind == "log1p2":
                total += float(np.sum(t.coeff * np.log(1 + x * x)))
            elif t.kind == "quad":
                a = np.asarray(t.matrix, dtype=x.dtype)
                total += float(0.5 * x @ a @ x)
            else:
                total += float(t.coeff * x[t.i] * xs[t.other][t.j])
        return total

    def gradient(self) -> Any:
        """The exact gradient at ``self.params``, float64, as a pytree like ``params``."""
        _, leaves, treedef = flatten(self.params)
        xs = [np.asarray(v, dtype=np.float64).reshape(-1) for v in leaves]
        gs = [np.zeros_like(x) for x in xs]
        for t in self.terms:
            x = xs[t.leaf]
            if t.kind == "sin":
                gs[t.leaf] += t.coeff * t.scale * np.cos(t.scale * x)
            elif t.kind == "exp":
                gs[t.leaf] += t.coeff * t.scale * np.exp(t.scale * x)
            elif t.kind == "tanh":
                gs[t.leaf] += t.coeff * t.scale * (1 - np.tanh(t.scale * x) ** 2)
            elif t.kind == "log1p2":
                gs[t.leaf] += t.coeff * 2 * x / (1 + x * x)
            elif t.kind == "quad":
                gs[t.leaf] += np.asarray(t.matrix) @ x
            else:
                gs[t.leaf][t.i] += t.coeff * xs[t.other][t.j]
                gs[t.other][t.j] += t.coeff * x[t.i]
        shaped = [g.reshape(np.shape(v)).astype(np.asarray(v).dtype) for g, v in zip(gs, leaves)]
        return unflatten(treedef, shaped)


_SHAPES = st.sampled_from([(), (0,), (1,), (3,), (2, 2), (2, 3), (1, 0)])
_COEFF = st.floats(0.25, 2.0) | st.floats(-2.0, -0.25)
_SCALE = st.floats(0.5, 1.5)


@st.composite
def _leaf(draw: st.DrawFn, dtypes: tuple[str, ...]) -> Array:
    shape = draw(_SHAPES)
    dtype = draw(st.sampled_from(dtypes))
    size = int(np.prod(shape))
    values = draw(st.lists(st.floats(-1.5, 1.5), min_size=size, max_size=size))
    return np.array(values, dtype=dtype).reshape(shape)


def pytrees(dtypes: tuple[str, ...] = ("float64", "float32")) -> st.SearchStrategy[Any]:
    """Nested dict / list / tuple pytrees of 1 to ~6 small float arrays (0-d and empty too)."""
    keys = st.sampled_from(["W", "b", "layer", "x", "gamma"])
    return st.recursive(
        _leaf(dtypes),
        lambda inner: (
            st.dictionaries(keys, inner, min_size=1, max_size=3)
            | st.lists(inner, min_size=1, max_size=3)
            | st.lists(inner, min_size=1, max_size=2).map(tuple)
        ),
        max_leaves=6,
    )


@st.composite
def _term(draw: st.DrawFn, sizes: list[int]) -> Term:
    usable = [k for k, n in enumerate(sizes) if n > 0]
    leaf = draw(st.sampled_from(usable))
    kind = draw(st.sampled_from(_KINDS))
    coeff, scale = draw(_COEFF), draw(_SCALE)
    if kind == "quad":
        n = sizes[leaf]
        b = np.array(draw(st.lists(st.floats(-1, 1), min_size=n * n, max_size=n * n)))
        a = (b.reshape(n, n) + b.reshape(n, n).T) / 2
        return Term(kind, leaf, coeff, scale, matrix=tuple(map(tuple, a.tolist())))
    if kind == "prod":
        other = draw(st.sampled_from(usable))
        i = draw(st.integers(0, sizes[leaf] - 1))
        j = draw(st.integers(0, sizes[other] - 1))
        if (other, j) == (leaf, i):
            return Term("sin", leaf, coeff, scale)
        return Term(kind, leaf, coeff, scale, other=other, i=i, j=j)
    return Term(kind, leaf, coeff, scale)


@st.composite
def problems(draw: st.DrawFn, dtypes: tuple[str, ...] = ("float64", "float32")) -> Problem:
    """A pytree with at least one entry and a cost of 1 to 5 terms (every leaf with one)."""
    params = draw(pytrees(dtypes))
    sizes = [int(np.size(x)) for x in flatten(params)[1]]
    if sum(sizes) == 0:
        params = {"extra": params, "w": np.array([0.5, -0.75], dtype=dtypes[0])}
        sizes = [int(np.size(x)) for x in flatten(params)[1]]
    terms = [draw(_term(sizes)) for _ in range(draw(st.integers(1, 4)))]
    # every non-empty leaf gets a term of its own, so that no gradient is all zero
    terms += [Term("sin", k, draw(_COEFF), draw(_SCALE)) for k, n in enumerate(sizes) if n]
    return Problem(params, tuple(terms))
