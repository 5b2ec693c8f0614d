"""Pytrees: nested dicts, lists and tuples whose leaves are arrays.

Parameters are named by their path, keys and positions joined with dots
(``"W1"``, ``"layers.0.W"``); a bare array is called ``"x"``. Names are unique: where
two leaves would print alike (``{1: a, "1": b}``, ``{"a.b": x, "a": {"b": y}}``),
their keys are written as JAX's ``keystr`` writes them, ``[1]`` and ``['1']``,
``['a.b']`` and ``a.b`` (see :func:`unique_names`, in ``gradcheck._pytree_names``).

>>> names, leaves, treedef = flatten({"W": [1.0, 2.0], "b": 3.0})
>>> names
['W.0', 'W.1', 'b']
>>> unflatten(treedef, [10.0, 20.0, 30.0])
{'W': [10.0, 20.0], 'b': 30.0}
>>> flatten({1: 1.0, "1": 2.0})[0]
['[1]', "['1']"]
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple, NoReturn

import numpy as np

from gradcheck._errors import GradcheckError
from gradcheck._pytree_names import (
    BARE_NAME,
    Path,
    PathEntry,
    plain_name,
    strict_name,
    unique_names,
)

__all__ = [
    "BARE_NAME",
    "Flattened",
    "FlattenedPaths",
    "GradientShapeError",
    "PathEntry",
    "TreeDef",
    "builder",
    "flatten",
    "flatten_paths",
    "match_gradient",
    "unflatten",
    "unique_names",
]


@dataclass(frozen=True)
class TreeDef:
    """The shape of a pytree without its leaves: enough to rebuild it."""

    kind: str  # "leaf", "dict", "list" or "tuple"
    keys: tuple[Any, ...] = ()
    children: tuple[TreeDef, ...] = ()
    rebuild: Callable[[list[Any]], Any] | None = None
    cls: type | None = None  # the container's class

    @property
    def num_leaves(self) -> int:
        return 1 if self.kind == "leaf" else sum(c.num_leaves for c in self.children)


def _dict_rebuilder(tree: Mapping[Any, Any], keys: tuple[Any, ...]) -> Callable[[list[Any]], Any]:
    """A function making a mapping of ``tree``'s class from values for ``keys``."""
    cls: Any = type(tree)
    if cls is dict:
        return lambda values: dict(zip(keys, values))
    if isinstance(tree, defaultdict):
        factory = tree.default_factory
        return lambda values: cls(factory, zip(keys, values))
    try:
        cls(dict(tree))
    except Exception as exc:
        raise GradcheckError(
            f"params holds a {cls.__name__}, which cannot be rebuilt from a dict of its "
            f"entries ({type(exc).__name__}: {exc}); pass a plain dict"
        ) from exc
    return lambda values: cls(dict(zip(keys, values)))


def _seq_rebuilder(tree: Sequence[Any]) -> Callable[[list[Any]], Any]:
    cls: Any = type(tree)
    if cls is list:
        return list
    if hasattr(tree, "_fields"):  # namedtuple
        return lambda values: cls(*values)
    return lambda values: cls(values)


def _structure(tree: Any, path: Path, paths: list[Path], leaves: list[Any]) -> TreeDef:
    if isinstance(tree, Mapping):
        keys = tuple(tree.keys())
        children = tuple(_structure(tree[k], (*path, PathEntry(k)), paths, leaves) for k in keys)
        return TreeDef("dict", keys, children, _dict_rebuilder(tree, keys), type(tree))
    if isinstance(tree, (list, tuple)):
        children = tuple(
            _structure(v, (*path, PathEntry(i, True)), paths, leaves) for i, v in enumerate(tree)
        )
        kind = "list" if isinstance(tree, list) else "tuple"
        rebuild = _seq_rebuilder(tree)
        return TreeDef(kind, tuple(range(len(tree))), children, rebuild, type(tree))
    paths.append(path)
    leaves.append(tree)
    return TreeDef("leaf")


class FlattenedPaths(NamedTuple):
    """A pytree split: its leaves' paths, the leaves (in order) and its structure."""

    paths: list[Path]
    leaves: list[Any]
    treedef: TreeDef


class Flattened(NamedTuple):
    """A pytree split: its leaves' unique names, the leaves (in order) and its structure."""

    names: list[str]
    leaves: list[Any]
    treedef: TreeDef


def flatten_paths(tree: Any) -> FlattenedPaths:
    """Split a pytree into leaf paths, leaves (in order) and its structure."""
    paths: list[Path] = []
    leaves: list[Any] = []
    treedef = _structure(tree, (), paths, leaves)
    return FlattenedPaths(paths, leaves, treedef)


def flatten(tree: Any) -> Flattened:
    """Split a pytree into unique leaf names, leaves (in order) and its structure."""
    paths, leaves, treedef = flatten_paths(tree)
    return Flattened(unique_names(paths), leaves, treedef)


@lru_cache(maxsize=32)
def _compiled(code: str) -> Any:
    """``code`` compiled once: compiling is 50 to 400 µs, and a check builds two or
    three builders of the same tree (the names and constants are passed in at
    :func:`eval`, never part of the code)."""
    return compile(code, "<gradcheck builder>", "eval")


def builder(treedef: TreeDef) -> Callable[[Sequence[Any]], Any]:
    """A function ``leaves -> tree`` for ``treedef``, prepared once to be cheap per call.

    The evaluator gives the cost a fresh container every evaluation (a cost may rebind
    its entries). Plain dicts, lists and tuples are built by one compiled expression
    (``lambda l: {K[0]: l[0], K[1]: [l[1], l[2]]}``, with the keys ``K`` passed in,
    never written into the code): about 0.1 µs per container. Other classes, or a
    tree too deep to compile, use :func:`_closure_builder`.
    """
    consts: dict[str, list[Any]] = {"K": [], "R": []}
    leaf = iter(range(treedef.num_leaves))

    def expr(node: TreeDef) -> str:
        if node.kind == "leaf":
            return f"l[{next(leaf)}]"
        items = [expr(c) for c in node.children]
        if node.cls is dict:
            start = len(consts["K"])
            consts["K"].extend(node.keys)
            pairs = (f"K[{start + i}]: {e}" for i, e in enumerate(items))
            return "{" + ", ".join(pairs) + "}"
        if node.cls is list:
            return "[" + ", ".join(items) + "]"
        if node.cls is tuple:
            return "(" + "".join(f"{e}, " for e in items) + ")"
        consts["R"].append(node.rebuild)
        return f"R[{len(consts['R']) - 1}]([{', '.join(items)}])"

    try:
        code = "lambda l: " + expr(treedef)
        namespace = {"K": tuple(consts["K"]), "R": tuple(consts["R"])}
        built: Callable[[Sequence[Any]], Any] = eval(_compiled(code), namespace)
    except (RecursionError, SyntaxError, MemoryError):
        return _closure_builder(treedef)
    return built


def _closure_builder(treedef: TreeDef) -> Callable[[Sequence[Any]], Any]:
    """Like :func:`builder`, from nested closures (any depth; about 0.4 µs a container)."""

    def make(node: TreeDef, start: int) -> Callable[[Sequence[Any]], Any]:
        if node.kind == "leaf":
            return lambda leaves: leaves[start]
        assert node.rebuild is not None
        rebuild = node.rebuild
        parts = []
        for child in node.children:
            parts.append(make(child, start))
            start += child.num_leaves
        return lambda leaves: rebuild([part(leaves) for part in parts])

    return make(treedef, 0)


def unflatten(treedef: TreeDef, leaves: Sequence[Any]) -> Any:
    """Rebuild a pytree of the shape ``treedef`` from ``leaves``."""
    return builder(treedef)(leaves)


class _Namer:
    """Names for paths of the parameters: the leaves' own names, or a container's."""

    def __init__(self, params: Any) -> None:
        paths, _, _ = flatten_paths(params)
        names = unique_names(paths)
        self.leaf = dict(zip(paths, names))
        self.strict = any(n != plain_name(p) for p, n in zip(paths, names))

    def __call__(self, path: Path) -> str:
        if path in self.leaf:
            return self.leaf[path]
        return strict_name(path) if self.strict else plain_name(path)


class _Reading(NamedTuple):
    """How gradient keys pair with parameter keys, and the keys left over."""

    pairs: dict[Any, Any]
    unused: list[Any]


def _is_d_key(key: Any) -> bool:
    return isinstance(key, str) and key.startswith("d")


def _read_keys(
    p: Mapping[Any, Any], g: Mapping[Any, Any], where: str, child: Callable[[Any], str]
) -> _Reading:
    """Pair the keys of one dict of parameters with those of its gradient dict.

    Two readings: exact (every parameter key is a gradient key) and the lesson's
    ``d`` prefix (``dW1`` for ``W1``; further ``d``-keys, the lesson's ``dZ1``, are
    intermediates and left unused). A complete exact reading with nothing left over
    wins; a key set that both readings fit is an error that shows both. ``where``
    names the dict, ``child(key)`` the parameter under ``key``.
    """
    under = f" under {where!r}" if where else ""
    exact = _Reading({k: k for k in p}, [k for k in g if k not in p])
    d_ok = all(isinstance(k, str) and "d" + k in g for k in p)
    dmap = {k: "d" + k for k in p} if d_ok else {}
    d_unused = [k for k in g if k not in set(dmap.values())]
    if all(k in g for k in p):
        if not exact.unused:
            return exact
        if d_ok and all(map(_is_d_key, d_unused)):
            raise GradcheckError(
                f"the gradient's keys{under} read two ways: exactly as the parameters "
                f"({_show(exact)}) or with the lesson's d prefix ({_show(_Reading(dmap, d_unused))}"
                "); drop the keys that are not a parameter's gradient, so that one reading fits"
            )
        return _extra(exact.unused, under)
    if d_ok:
        bad = [k for k in d_unused if not _is_d_key(k)]
        return _extra(bad, under) if bad else _Reading(dmap, d_unused)
    for k in p:
        if k not in g and not (isinstance(k, str) and "d" + k in g):
            looked = f"{k!r}" + (f" or {'d' + k!r}" if isinstance(k, str) else "")
            raise GradcheckError(
                f"gradient has no entry for parameter {child(k)!r} (looked for key {looked})"
            )
    raise GradcheckError(
        f"the gradient's keys{under} mix two namings: some parameters are named exactly, "
        f"others with the lesson's d prefix ({', '.join(map(repr, g))}); name every gradient "
        "alike, exactly as its parameter or with the d prefix"
    )


def _show(reading: _Reading) -> str:
    pairs = ", ".join(f"{k!r} → {v!r}" for k, v in reading.pairs.items())
    unused = f"; unused {', '.join(map(repr, reading.unused))}" if reading.unused else ""
    return pairs + unused


def _extra(keys: list[Any], under: str) -> NoReturn:
    raise GradcheckError(
        f"gradient has extra key(s) {', '.join(map(repr, keys))}{under} that match no "
        "parameter; remove them (or name every gradient with the lesson's d prefix, whose "
        "extra d-keys, dZ1, dA1, ..., are ignored)"
    )


class GradientShapeError(GradcheckError):
    """A gradient whose shape differs from its parameter's.

    ``jacobian`` says that the gradient's shape extends the parameter's, as a
    Jacobian's does: the caller may then check whether the cost is vector-valued.
    """

    def __init__(self, name: str, gshape: tuple[int, ...], pshape: tuple[int, ...]) -> None:
        n = len(pshape)
        self.name, self.shape = name, gshape
        self.jacobian = len(gshape) > n and (
            gshape[len(gshape) - n :] == pshape or gshape[:n] == pshape
        )
        super().__init__(
            f"gradient for {name!r} has shape {gshape}, but the parameter has shape {pshape}; "
            "shapes must match exactly"
        )


def match_gradient(
    params: Any, grad: Any, notes: list[str] | None = None
) -> list[np.ndarray[Any, Any]]:
    """Flatten ``grad`` in the order of ``params``' leaves, checking the structure.

    A dict of gradients may name the gradient of ``"W1"`` as ``"dW1"``, as the lesson
    does; in a dict using that convention, further ``d``-keys that match no parameter
    (the lesson's ``dZ1``, ``dA1``, ...) are ignored and listed in ``notes``. Exact
    names win; keys that read both ways are an error (see :func:`_read_keys`).

    Raises:
        GradcheckError: naming the parameter whose gradient is missing, extra or of
            the wrong shape.
    """
    out: list[np.ndarray[Any, Any]] = []
    name = _Namer(params)

    def walk(p: Any, g: Any, path: Path) -> None:
        where = name(path) if path else ""
        at = f" for {where!r}" if path else ""
        if isinstance(p, Mapping):
            if not isinstance(g, Mapping):
                keys = ", ".join(map(repr, list(p)[:4])) + (", ..." if len(p) > 4 else "")
                raise GradcheckError(
                    f"gradient{at} should be a dict like the parameters (keys {keys}), "
                    f"got a {type(g).__name__}"
                )
            reading = _read_keys(p, g, where, lambda k: name((*path, PathEntry(k))))
            if reading.unused and notes is not None:
                notes.append(
                    "ignored gradient keys that match no parameter: "
                    + ", ".join(map(str, reading.unused))
                )
            for key, gk in reading.pairs.items():
                walk(p[key], g[gk], (*path, PathEntry(key)))
            return
        if isinstance(p, (list, tuple)):
            if not isinstance(g, (list, tuple)) or len(g) != len(p):
                got = f"length {len(g)}" if isinstance(g, (list, tuple)) else type(g).__name__
                raise GradcheckError(
                    f"gradient{at} should be a sequence of length {len(p)} like the "
                    f"parameters, got {got}"
                )
            for i, (pi, gi) in enumerate(zip(p, g)):
                walk(pi, gi, (*path, PathEntry(i, True)))
            return
        leaf = name(path)
        if isinstance(g, (Mapping, list, tuple, str, bytes)) and not isinstance(g, np.ndarray):
            raise GradcheckError(
                f"gradient for {leaf!r} should be an array, got a {type(g).__name__}"
            )
        garr = np.asarray(g)
        pshape = np.shape(p)
        if garr.shape != pshape:
            raise GradientShapeError(leaf, garr.shape, pshape)
        out.append(garr)

    walk(params, grad, ())
    return out
