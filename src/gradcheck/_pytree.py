"""Pytrees: nested dicts, lists and tuples whose leaves are arrays.

Parameters are named by their path, keys and positions joined with dots
(``"W1"``, ``"layers.0.W"``); a bare array is called ``"x"``.

>>> names, leaves, treedef = flatten({"W": [1.0, 2.0], "b": 3.0})
>>> names
['W.0', 'W.1', 'b']
>>> unflatten(treedef, [10.0, 20.0, 30.0])
{'W': [10.0, 20.0], 'b': 30.0}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradcheck._errors import GradcheckError

__all__ = ["TreeDef", "flatten", "match_gradient", "unflatten"]

BARE_NAME = "x"


@dataclass(frozen=True)
class TreeDef:
    """The shape of a pytree without its leaves: enough to rebuild it."""

    kind: str  # "leaf", "dict", "list" or "tuple"
    keys: tuple[Any, ...] = ()
    children: tuple[TreeDef, ...] = ()
    rebuild: Callable[[list[Any]], Any] | None = None

    @property
    def num_leaves(self) -> int:
        return 1 if self.kind == "leaf" else sum(c.num_leaves for c in self.children)


def _join(prefix: str, key: object) -> str:
    return f"{prefix}.{key}" if prefix else str(key)


def _structure(tree: Any, prefix: str, names: list[str], leaves: list[Any]) -> TreeDef:
    if isinstance(tree, Mapping):
        keys = tuple(tree.keys())
        children = tuple(_structure(tree[k], _join(prefix, k), names, leaves) for k in keys)
        dcls: Any = type(tree)

        def rebuild_dict(values: list[Any]) -> Any:
            built = dict(zip(keys, values))
            return built if dcls is dict else dcls(built)

        return TreeDef("dict", keys, children, rebuild_dict)
    if isinstance(tree, (list, tuple)):
        children = tuple(
            _structure(v, _join(prefix, i), names, leaves) for i, v in enumerate(tree)
        )
        kind = "list" if isinstance(tree, list) else "tuple"
        cls: Any = type(tree)
        if hasattr(tree, "_fields"):  # namedtuple

            def rebuild_seq(values: list[Any]) -> Any:
                return cls(*values)

        else:

            def rebuild_seq(values: list[Any]) -> Any:
                return cls(values)

        return TreeDef(kind, tuple(range(len(tree))), children, rebuild_seq)
    names.append(prefix or BARE_NAME)
    leaves.append(tree)
    return TreeDef("leaf")


def flatten(tree: Any) -> tuple[list[str], list[Any], TreeDef]:
    """Split a pytree into leaf names, leaves (in order) and its structure."""
    names: list[str] = []
    leaves: list[Any] = []
    treedef = _structure(tree, "", names, leaves)
    return names, leaves, treedef


def unflatten(treedef: TreeDef, leaves: Sequence[Any]) -> Any:
    """Rebuild a pytree of the shape ``treedef`` from ``leaves``."""
    it = iter(leaves)

    def build(node: TreeDef) -> Any:
        if node.kind == "leaf":
            return next(it)
        assert node.rebuild is not None
        return node.rebuild([build(c) for c in node.children])

    return build(treedef)


def match_gradient(
    params: Any, grad: Any, notes: list[str] | None = None
) -> list[np.ndarray[Any, Any]]:
    """Flatten ``grad`` in the order of ``params``' leaves, checking the structure.

    A dict of gradients may name the gradient of ``"W1"`` as ``"dW1"``, as the lesson
    does; in a dict using that convention, further ``d``-keys that match no parameter
    (the lesson's ``dZ1``, ``dA1``, ...) are ignored and listed in ``notes``.

    Raises:
        GradcheckError: naming the parameter whose gradient is missing, extra or of
            the wrong shape.
    """
    out: list[np.ndarray[Any, Any]] = []

    def walk(p: Any, g: Any, prefix: str) -> None:
        where = prefix or BARE_NAME
        if isinstance(p, Mapping):
            if not isinstance(g, Mapping):
                raise GradcheckError(
                    f"gradient for {where!r} should be a dict like the parameters, "
                    f"got {type(g).__name__}"
                )
            used: set[Any] = set()
            d_style = False
            for key in p:
                if key in g:
                    gk = key
                elif isinstance(key, str) and "d" + key in g:
                    gk, d_style = "d" + key, True
                else:
                    looked = f"{key!r}" + (f" or {'d' + key!r}" if isinstance(key, str) else "")
                    raise GradcheckError(
                        f"gradient has no entry for parameter {_join(prefix, key)!r} "
                        f"(looked for key {looked})"
                    )
                used.add(gk)
                walk(p[key], g[gk], _join(prefix, key))
            extra = [k for k in g if k not in used]
            if extra and d_style and all(isinstance(k, str) and k.startswith("d") for k in extra):
                if notes is not None:
                    notes.append(
                        "ignored gradient keys that match no parameter: "
                        + ", ".join(map(str, extra))
                    )
            elif extra:
                raise GradcheckError(
                    f"gradient has extra key(s) {', '.join(map(repr, extra))}"
                    + (f" under {prefix!r}" if prefix else "")
                    + " that match no parameter"
                )
            return
        if isinstance(p, (list, tuple)):
            if not isinstance(g, (list, tuple)) or len(g) != len(p):
                got = f"length {len(g)}" if isinstance(g, (list, tuple)) else type(g).__name__
                raise GradcheckError(
                    f"gradient for {where!r} should be a sequence of length {len(p)}, got {got}"
                )
            for i, (pi, gi) in enumerate(zip(p, g)):
                walk(pi, gi, _join(prefix, i))
            return
        if isinstance(g, (Mapping, list, tuple, str, bytes)) and not isinstance(g, np.ndarray):
            raise GradcheckError(
                f"gradient for {where!r} should be an array, got a {type(g).__name__}"
            )
        garr = np.asarray(g)
        pshape = np.shape(p)
        if garr.shape != pshape:
            raise GradcheckError(
                f"gradient for {where!r} has shape {garr.shape}, but the parameter has "
                f"shape {pshape}; shapes must match exactly"
            )
        out.append(garr)

    walk(params, grad, "")
    return out
