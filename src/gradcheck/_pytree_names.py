"""The names of a pytree's leaves: their paths' keys and positions joined with dots.

``"W1"``, ``"layers.0.W"``; a bare array is called ``"x"``. Names are unique: where
two leaves would print alike (``{1: a, "1": b}``, ``{"a.b": x, "a": {"b": y}}``),
their keys are written as JAX's ``keystr`` writes them, ``[1]`` and ``['1']``,
``['a.b']`` and ``a.b`` (see :func:`unique_names`). ``gradcheck._pytree`` flattens
pytrees and names their leaves with these.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, NamedTuple

from gradcheck._errors import GradcheckError

__all__ = ["BARE_NAME", "Path", "PathEntry", "plain_name", "strict_name", "unique_names"]

BARE_NAME = "x"


class PathEntry(NamedTuple):
    """One step of a leaf's path: a mapping key, or a list / tuple position."""

    key: Any
    position: bool = False


Path = tuple[PathEntry, ...]


def plain_name(path: Path) -> str:
    """Keys and positions joined with dots: the name of a leaf when it is unique."""
    return ".".join(str(e.key) for e in path) or BARE_NAME


def strict_name(path: Path) -> str:
    """The name that tells every path apart: keys that are not identifiers in brackets.

    ``['a.b']``, ``[1]``, ``['1']``, ``layers.0.W``; a position stays a dotted number,
    so a dict key and a position never print alike.
    """
    out = ""
    for e in path:
        if e.position or (isinstance(e.key, str) and e.key.isidentifier()):
            out += f".{e.key}" if out else str(e.key)
        else:
            out += f"[{e.key!r}]"
    return out or BARE_NAME


def unique_names(paths: Sequence[Path]) -> list[str]:
    """One name per path: dotted, and in keystr brackets where dotted names collide.

    A leaf keeps its dotted name unless another leaf would print alike; then both are
    written with :func:`strict_name` names, until every name is unique. Keys that differ
    but print alike even so (two objects with the same ``repr``) are an error.

    >>> p = [(PathEntry("a.b"),), (PathEntry("a"), PathEntry("b")), (PathEntry("c"),)]
    >>> unique_names(p)
    ["['a.b']", 'a.b', 'c']
    """
    names = [plain_name(p) for p in paths]
    strict = [False] * len(paths)
    while True:
        counts = Counter(names)
        clash = [i for i, n in enumerate(names) if counts[n] > 1]
        if not clash:
            return names
        todo = [i for i in clash if not strict[i]]
        if not todo:
            raise GradcheckError(
                f"two parameters are both named {names[clash[0]]!r}: their keys differ but "
                "print alike; use distinct string keys"
            )
        for i in todo:
            names[i], strict[i] = strict_name(paths[i]), True
