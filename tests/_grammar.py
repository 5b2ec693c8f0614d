"""Hypothesis strategies for the reliability suite: random pytrees and smooth costs.

A cost is a sum of *terms* drawn from a small grammar, each with its exact gradient:

* ``c·sin(a·x)``, ``b·exp(a·x)``, ``c·tanh(a·x)`` and ``c·log(1 + x²)`` over every
  entry of one leaf;
* a quadratic form ``½·xᵀAx`` (``A`` symmetric) over one leaf;
* a product ``c·x_i·y_j`` of two entries, possibly of different leaves.

The cost evaluates every term in its leaf's own dtype (float32 stays float32), so the
checker meets real float32 rounding.

Beyond that grammar (issue 12): a cost and gradient may draw a random mask from the
global NumPy or ``random`` generator (``Problem.draws``; the gradient is then a function,
:meth:`Problem.grad`); pytrees may use keys whose dotted names collide
(:func:`clashing_pytrees`) and gradients the lesson's ``d`` prefix (:func:`d_style`);
leaves may sit at scales from 1e-9 to 1e9 (:func:`scaled_problems`).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st

from gradcheck._pytree import flatten, unflatten

__all__ = [
    "Problem",
    "Term",
    "clashing_pytrees",
    "d_style",
    "problems",
    "pytrees",
    "scaled_problems",
]

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
    #: ``""``, or the global generator (``"numpy"``, ``"random"``) from which the cost
    #: and :meth:`grad` draw a mask ``m`` for an extra term ``Σ m·sin(x)`` on leaf
    #: ``masked``: both see the same draws only if they start from the same state
    draws: str = ""
    masked: int = 0
    #: per leaf, the factor ``s`` the cost divides it by: ``cost(θ) = f(θ / s)``
    scales: tuple[float, ...] = ()

    def leaves(self, params: Any) -> list[Array]:
        """The leaves of ``params`` in gradcheck's order."""
        return [np.asarray(x) for x in flatten(params)[1]]

    def _mask(self, size: int) -> Array:
        """A 0/1 mask drawn from the global generator named by ``draws``."""
        if self.draws == "numpy":
            return (np.random.rand(size) > 0.5).astype(np.float64)
        return np.array([random.random() > 0.5 for _ in range(size)], dtype=np.float64)

    def _unscaled(self, params: Any) -> list[Array]:
        xs = [x.reshape(-1) for x in self.leaves(params)]
        if self.scales:
            xs = [x / np.asarray(s, dtype=x.dtype) for x, s in zip(xs, self.scales)]
        return xs

    def cost(self, params: Any) -> float:
        """The cost: the sum of every term at ``params``."""
        xs = self._unscaled(params)
        total = 0.0
        if self.draws:
            x = xs[self.masked]
            total += float(np.sum(self._mask(x.size) * np.sin(x)))
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
        """The exact gradient at ``self.params``, float64, as a pytree like ``params``.

        For a problem that ``draws``, use :meth:`grad` instead (it draws the mask).
        """
        return self.grad(self.params)

    def grad(self, params: Any) -> Any:
        """The exact gradient at ``params``, float64, as a pytree like ``params``."""
        _, leaves, treedef = flatten(params)
        xs = [np.asarray(v, dtype=np.float64).reshape(-1) for v in leaves]
        if self.scales:
            xs = [x / s for x, s in zip(xs, self.scales)]
        gs = [np.zeros_like(x) for x in xs]
        if self.draws:
            x = xs[self.masked]
            gs[self.masked] += self._mask(x.size) * np.cos(x)
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
        if self.scales:
            gs = [g / s for g, s in zip(gs, self.scales)]
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


#: dict fragments whose dotted names collide (``1`` and ``"1"``; ``"a.b"`` and ``a`` →
#: ``b``; ``""`` and the bare name ``x``) or read two ways with the lesson's ``d`` prefix;
#: ``None`` marks a leaf
CLASHES: tuple[dict[Any, Any], ...] = (
    {1: None, "1": None},
    {0: None, "0": None},
    {"a.b": None, "a": {"b": None}},
    {"": None, "x": None},
    {"l": [None], "l.0": None},
    {"x": None, "dx": None, "ddx": None},
    {"W": None},
)


def _fill(fragment: Any, draw: st.DrawFn, leaf: st.SearchStrategy[Array]) -> Any:
    if fragment is None:
        return draw(leaf)
    if isinstance(fragment, dict):
        return {k: _fill(v, draw, leaf) for k, v in fragment.items()}
    return [_fill(v, draw, leaf) for v in fragment]


@st.composite
def clashing_pytrees(draw: st.DrawFn, dtypes: tuple[str, ...] = ("float64",)) -> Any:
    """Dicts merged from 1 to 3 :data:`CLASHES` fragments, maybe nested one level down."""
    tree: dict[Any, Any] = {}
    for fragment in draw(st.lists(st.sampled_from(CLASHES), min_size=1, max_size=3)):
        tree.update(_fill(fragment, draw, _leaf(dtypes)))
    wrap = draw(st.sampled_from(["none", "dict", "list"]))
    if wrap == "dict":
        return {"outer": tree, "b": draw(_leaf(dtypes))}
    return [tree, draw(_leaf(dtypes))] if wrap == "list" else tree


def d_style(tree: Any, extras: bool) -> Any:
    """``tree`` with every string-keyed dict's keys given the lesson's ``d`` prefix.

    ``extras`` adds, at each such dict, an intermediate ``dZ`` as the lesson's
    backprop returns them (one matching no parameter).
    """
    if isinstance(tree, Mapping):
        if not all(isinstance(k, str) for k in tree):
            return {k: d_style(v, extras) for k, v in tree.items()}
        out = {"d" + k: d_style(v, extras) for k, v in tree.items()}
        if extras and "dZ" not in out and "Z" not in tree:
            out["dZ"] = np.zeros(2)
        return out
    if isinstance(tree, list):
        return [d_style(v, extras) for v in tree]
    if isinstance(tree, tuple):
        return tuple(d_style(v, extras) for v in tree)
    return tree


def pytrees(
    dtypes: tuple[str, ...] = ("float64", "float32"),
    keys: st.SearchStrategy[Any] | None = None,
) -> st.SearchStrategy[Any]:
    """Nested dict / list / tuple pytrees of 1 to ~6 small float arrays (0-d and empty too)."""
    if keys is None:
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
def problems(
    draw: st.DrawFn,
    dtypes: tuple[str, ...] = ("float64", "float32"),
    trees: st.SearchStrategy[Any] | None = None,
    draws: tuple[str, ...] = ("",),
) -> Problem:
    """A pytree with at least one entry and a cost of 1 to 5 terms (every leaf with one).

    ``trees`` replaces :func:`pytrees`; ``draws`` lists the generators the cost may
    draw a mask from (``""``: none).
    """
    params = draw(pytrees(dtypes) if trees is None else trees)
    sizes = [int(np.size(x)) for x in flatten(params)[1]]
    if sum(sizes) == 0:
        params = {"extra": params, "w": np.array([0.5, -0.75], dtype=dtypes[0])}
        sizes = [int(np.size(x)) for x in flatten(params)[1]]
    terms = [draw(_term(sizes)) for _ in range(draw(st.integers(1, 4)))]
    # every non-empty leaf gets a term of its own, so that no gradient is all zero
    terms += [Term("sin", k, draw(_COEFF), draw(_SCALE)) for k, n in enumerate(sizes) if n]
    if draws == ("",):  # draw nothing more: the examples of the plain grammar stay put
        return Problem(params, tuple(terms))
    source = draw(st.sampled_from(draws))
    masked = draw(st.sampled_from([k for k, n in enumerate(sizes) if n]))
    return Problem(params, tuple(terms), draws=source, masked=masked)


@st.composite
def scaled_problems(draw: st.DrawFn, draws: tuple[str, ...] = ("",)) -> Problem:
    """A float64 problem whose leaves sit at scales 10^k, k in [-9, 9], mixed in one tree.

    Each leaf ``θ = s·u`` with ``u`` of order 1, and ``cost(θ) = f(θ / s)``.
    """
    base = draw(problems(dtypes=("float64",), draws=draws))
    _, leaves, treedef = flatten(base.params)
    scales = tuple(10.0 ** draw(st.integers(-9, 9)) for _ in leaves)
    params = unflatten(treedef, [np.asarray(x) * s for x, s in zip(leaves, scales)])
    return Problem(params, base.terms, base.draws, base.masked, scales)
