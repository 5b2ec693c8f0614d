"""Hypothesis strategies for the reliability suite: random pytrees and smooth costs.

A cost is a sum of *terms* drawn from a small grammar, each with its exact gradient:

* ``c·sin(a·x)``, ``c·exp(a·x)``, ``c·tanh(a·x)`` and ``c·log(1 + (a·x)²)`` over every
  entry of one leaf;
* a quadratic form ``c·½·(a·x)ᵀA(a·x)`` (``A`` symmetric) over one leaf;
* a product ``c·(a·x_i)·(a'·y_j)`` of two entries, possibly of different leaves.

The strategies are wide (issue 16): each leaf's entries have a magnitude ``m`` drawn
from 1e-6 … 1e6 and a leaf holds up to a few hundred entries; the cost's coefficients
``c`` have a magnitude drawn from 1e-6 … 1e6 per problem (each term within 10× of it).
A term's rate is ``a = b / m`` with ``b`` in [0.5, 1.5], so the cost varies on the
scale of the parameter itself, as real costs do. The entry values of large leaves come
from a NumPy generator seeded by hypothesis (a few hundred floats per leaf would make
hypothesis's examples too large to shrink).

The cost evaluates every term in its leaf's own dtype (float32 stays float32, complex64
for ``method="complex"``), so the checker meets real float32 rounding; the terms are
summed as Python numbers (float32 inside, float64 out).
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
#: ``exp``'s argument is capped here (float32's ``exp`` overflows at 88.7): at the
#: problem's point it is at most 2.25, but the retry at the classic step
#: (``gradcheck._numerics``) can step a parameter of magnitude 1e-6 by 3e-4.
EXP_CAP = 60.0
#: The largest leaf a quadratic form is drawn for (its matrix has n² entries).
QUAD_MAX = 16


@dataclass(frozen=True)
class Term:
    """One term of a cost: ``kind`` on leaf ``leaf`` (and ``other`` for products).

    ``scale`` is the rate ``a`` on ``leaf``, ``other_scale`` the rate on ``other``.
    """

    kind: str
    leaf: int
    coeff: float
    scale: float
    other: int = 0
    i: int = 0
    j: int = 0
    matrix: tuple[tuple[float, ...], ...] = ()
    other_scale: float = 1.0


def _value(t: Term, x: Array, xs: list[Array]) -> Any:
    """The term's value (a NumPy scalar in the leaf's dtype)."""
    ax = t.scale * x
    if t.kind == "sin":
        return np.sum(t.coeff * np.sin(ax))
    if t.kind == "exp":  # capped: a retry's classic step can reach far beyond |x|
        return np.sum(t.coeff * np.exp(np.minimum(ax, EXP_CAP)))
    if t.kind == "tanh":
        return np.sum(t.coeff * np.tanh(ax))
    if t.kind == "log1p2":
        return np.sum(t.coeff * np.log(1 + ax * ax))
    if t.kind == "quad":
        a = np.asarray(t.matrix, dtype=x.real.dtype)
        return t.coeff * 0.5 * (ax @ a @ ax)
    return t.coeff * ax[t.i] * (t.other_scale * xs[t.other][t.j])


@dataclass(frozen=True)
class Problem:
    """A random check problem: ``params`` (a pytree) and a cost made of ``terms``."""

    params: Any
    terms: tuple[Term, ...]

    def leaves(self, params: Any) -> list[Array]:
        """The leaves of ``params`` in gradcheck's order."""
        return [np.asarray(x) for x in flatten(params)[1]]

    def cost(self, params: Any) -> Any:
        """The cost: the sum of every term at ``params`` (complex for complex input)."""
        xs = [x.reshape(-1) for x in self.leaves(params)]
        total: Any = 0.0
        for t in self.terms:
            x = xs[t.leaf]
            value = _value(t, x, xs)
            total += complex(value) if np.iscomplexobj(value) else float(value)
        return total

    def gradient(self) -> Any:
        """The exact gradient at ``self.params``, float64, as a pytree like ``params``
        (each leaf then cast to its parameter's dtype)."""
        _, leaves, treedef = flatten(self.params)
        xs = [np.asarray(v, dtype=np.float64).reshape(-1) for v in leaves]
        gs = [np.zeros_like(x) for x in xs]
        for t in self.terms:
            x, c, a = xs[t.leaf], t.coeff, t.scale
            ax = a * x
            if t.kind == "sin":
                gs[t.leaf] += c * a * np.cos(ax)
            elif t.kind == "exp":
                gs[t.leaf] += c * a * np.exp(ax)
            elif t.kind == "tanh":
                gs[t.leaf] += c * a * (1 - np.tanh(ax) ** 2)
            elif t.kind == "log1p2":
                gs[t.leaf] += c * a * 2 * ax / (1 + ax * ax)
            elif t.kind == "quad":
                gs[t.leaf] += c * a * (np.asarray(t.matrix) @ ax)
            else:
                y = t.other_scale * xs[t.other][t.j]
                gs[t.leaf][t.i] += c * a * y
                gs[t.other][t.j] += c * t.other_scale * ax[t.i]
        shaped = [g.reshape(np.shape(v)).astype(np.asarray(v).dtype) for g, v in zip(gs, leaves)]
        return unflatten(treedef, shaped)


_SMALL_SHAPES = [(), (0,), (1,), (3,), (2, 2), (2, 3), (1, 0)]
_LARGE_SHAPES = [(40,), (8, 16), (150,), (12, 25), (400,)]
#: Small shapes mostly (full checks of every entry stay cheap), a large one now and then.
_SHAPES = st.sampled_from(_SMALL_SHAPES) | st.sampled_from(_LARGE_SHAPES)
_RATE = st.floats(0.5, 1.5)
#: A magnitude's decimal exponent: parameter values and cost coefficients 1e-6 … 1e6.
_EXPONENT = st.floats(-6.0, 6.0)


@st.composite
def _leaf(draw: st.DrawFn, dtypes: tuple[str, ...], large: bool) -> Array:
    """Entries in [-1.5, 1.5] (:func:`problems` scales each leaf to its magnitude)."""
    shape = draw(_SHAPES if large else st.sampled_from(_SMALL_SHAPES))
    dtype = draw(st.sampled_from(dtypes))
    size = int(np.prod(shape))
    if size <= 6:
        values = np.array(draw(st.lists(st.floats(-1.5, 1.5), min_size=size, max_size=size)))
    else:
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        values = rng.uniform(-1.5, 1.5, size)
    return np.asarray(values, dtype=dtype).reshape(shape)


def pytrees(
    dtypes: tuple[str, ...] = ("float64", "float32"), large: bool = True
) -> st.SearchStrategy[Any]:
    """Nested dict / list / tuple pytrees of 1 to ~6 float arrays (0-d and empty too)
    with entries in [-1.5, 1.5]; with ``large``, some leaves hold hundreds of entries."""
    keys = st.sampled_from(["W", "b", "layer", "x", "gamma"])
    return st.recursive(
        _leaf(dtypes, large),
        lambda inner: (
            st.dictionaries(keys, inner, min_size=1, max_size=3)
            | st.lists(inner, min_size=1, max_size=3)
            | st.lists(inner, min_size=1, max_size=2).map(tuple)
        ),
        max_leaves=6,
    )


def _rate(draw: st.DrawFn, magnitude: float) -> float:
    """A rate ``b / m`` for a leaf of magnitude ``m``: the cost varies on its scale."""
    return float(draw(_RATE) / magnitude)


@st.composite
def _term(draw: st.DrawFn, sizes: list[int], mags: list[float], magnitude: float) -> Term:
    usable = [k for k, n in enumerate(sizes) if n > 0]
    leaf = draw(st.sampled_from(usable))
    kind = draw(st.sampled_from(_KINDS))
    coeff = _coefficient(draw, magnitude)
    scale = _rate(draw, mags[leaf])
    if kind == "quad" and sizes[leaf] <= QUAD_MAX:
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
        o_scale = _rate(draw, mags[other])
        return Term(kind, leaf, coeff, scale, other=other, i=i, j=j, other_scale=o_scale)
    return Term("sin" if kind == "quad" else kind, leaf, coeff, scale)


def _coefficient(draw: st.DrawFn, magnitude: float) -> float:
    """A coefficient within 10× of the problem's ``magnitude``, either sign."""
    c = magnitude * 10 ** draw(st.floats(-1.0, 1.0))
    return c if draw(st.booleans()) else -c


@st.composite
def problems(
    draw: st.DrawFn, dtypes: tuple[str, ...] = ("float64", "float32"), large: bool = True
) -> Problem:
    """A pytree with at least one entry and a cost of 1 to 5 terms (every leaf with one).

    Each leaf is scaled to its own magnitude and the cost's coefficients have one
    magnitude per problem, each 1e-6 … 1e6.
    """
    params = draw(pytrees(dtypes, large))
    if sum(int(np.size(x)) for x in flatten(params)[1]) == 0:
        params = {"extra": params, "w": np.array([0.5, -0.75], dtype=dtypes[0])}
    _, leaves, treedef = flatten(params)
    mags = [10 ** draw(_EXPONENT) for _ in leaves]
    leaves = [np.asarray(m * x, dtype=x.dtype) for m, x in zip(mags, leaves)]
    # an all-zero leaf has no magnitude: the step rule then takes 1, and so do its terms
    mags = [m if np.any(x) else 1.0 for m, x in zip(mags, leaves)]
    sizes = [x.size for x in leaves]
    magnitude = 10 ** draw(_EXPONENT)
    terms = [draw(_term(sizes, mags, magnitude)) for _ in range(draw(st.integers(1, 4)))]
    # every non-empty leaf gets a term of its own, so that no gradient is all zero
    terms += [
        Term("sin", k, _coefficient(draw, magnitude), _rate(draw, mags[k]))
        for k, n in enumerate(sizes)
        if n
    ]
    return Problem(unflatten(treedef, leaves), tuple(terms))
