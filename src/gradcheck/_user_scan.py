"""Reading many references at C speed, by their types alone (attack34 H130, attack31 H90).

``gradcheck._user_walk`` looks into the objects a cost keeps one reference at a time, in
Python (about 3 µs each here, loaded). Most references of a large object are numbers,
strings or tensors, which hold nothing of the user's: :func:`kept` passes them over by
their types, about 0.1 µs each (a list of 1000 lists of 1000 ints took 14.6 s a check,
0.14 s now). A container of more than :data:`CONTAINER_ITEMS` entries is not looked into,
but read the same way for the generators it holds directly (:func:`scan`: ``[rng] + [0]
* 2000`` kept moving). :data:`SCANNED` bounds both per walk.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> scan([rng] + [0.0] * 2000, SCANNED).generators == [rng]
True
"""

from __future__ import annotations

import collections
import itertools
import random
from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "CONTAINERS",
    "CONTAINER_ITEMS",
    "FEW",
    "SCANNED",
    "Scanned",
    "Sifted",
    "generator_type",
    "large",
    "scan",
    "sift",
]

#: Containers (lists, tuples, dicts, sets, deques, object arrays) up to this many items
#: are looked into: a model's ``self.gens = {"drop": torch.Generator()}``, a global
#: ``RNGS = [rng]`` (attack27 H40), a pool of a few hundred generators (attack29 H70: 65
#: were not). Larger ones (a dataset held in a list) are not: reading them costs a pass.
CONTAINER_ITEMS = 1024

#: The references read per walk by their types alone, at C speed (about 0.1 µs each
#: here, against 3 µs in ``gradcheck._user_walk.walk``'s loop): the numbers, strings
#: and tensors among an object's references are passed over so, and a container of more
#: than :data:`CONTAINER_ITEMS` entries is read for the generators it holds directly.
#: Beyond it, references are read in the loop (``ITEMS``) and larger containers are not
#: read. A list of 10^6 ints holding a generator: 0.3 to 1 s a check (loaded machine).
SCANNED = 2**20

#: Objects with more references than this are read by type first (:data:`SCANNED`).
FEW = 16
_SCALARS = frozenset({int, float, complex, bool, str, bytes, type(None)})

CONTAINERS = (list, tuple, set, frozenset, collections.deque)


class Sifted(NamedTuple):
    """An object's references, sorted by :func:`sift`."""

    rest: list[Any]  # to be looked at one by one
    arrays: list[Any]  # NumPy arrays of numbers: found, with nothing inside to look into


def sift(items: list[Any], plain: set[type]) -> Sifted:
    """``items`` less those of an inert type (numbers, strings, ``None``, NumPy scalars,
    and the types ``gradcheck._user_walk`` found not to be looked into: ``plain``, never
    a generator's type), with the NumPy arrays of numbers apart (attack34 H132: 7*10^4
    small arrays of a dataset used up the references the walk reads one by one)."""
    kinds = set(map(type, items))
    inert = {k for k in kinds if k in plain or k in _SCALARS or _scalar(k)}
    arrays = {k for k in kinds - inert if issubclass(k, np.ndarray)}
    if not inert and not arrays:
        return Sifted(items, [])
    rest = kinds - inert - arrays
    out = Sifted(list(itertools.compress(items, map(rest.__contains__, map(type, items)))), [])
    for a in itertools.compress(items, map(arrays.__contains__, map(type, items))):
        (out.rest if a.dtype == object else out.arrays).append(a)
    return out


class Scanned(NamedTuple):
    """The generators held directly in a large container, and how many entries were read."""

    generators: list[Any]
    read: int


def large(obj: Any) -> bool:
    """Whether ``obj`` is a container of more than :data:`CONTAINER_ITEMS` entries."""
    if isinstance(obj, np.ndarray):
        return obj.dtype == object and obj.size > CONTAINER_ITEMS
    return isinstance(obj, (*CONTAINERS, dict)) and len(obj) > CONTAINER_ITEMS


def scan(obj: Any, budget: int) -> Scanned:
    """The generators among a large container's entries (its values, for a dict), read by
    their types at C speed; nothing if it holds more than ``budget`` entries."""
    size = obj.size if isinstance(obj, np.ndarray) else len(obj)
    if size > budget:
        return Scanned([], 0)
    kinds = {k for k in set(map(type, _entries(obj))) if generator_type(k)}
    if not kinds:
        return Scanned([], size)
    held = map(kinds.__contains__, map(type, _entries(obj)))
    return Scanned(list(itertools.compress(_entries(obj), held)), size)


def _entries(obj: Any) -> Iterable[Any]:
    """A container's entries: a dict's values, an array's items."""
    if isinstance(obj, dict):
        return obj.values()
    return obj.flat if isinstance(obj, np.ndarray) else obj  # type: ignore[no-any-return]


def _scalar(kind: type) -> bool:
    """Whether ``kind`` is a NumPy scalar's type (``np.float64``)."""
    return issubclass(kind, np.generic)


def generator_type(kind: type) -> bool:
    """Whether ``kind`` is a random generator's type (NumPy's, ``random``'s, torch's)."""
    if issubclass(kind, _GENERATORS):
        return True
    return kind.__name__ == "Generator" and kind.__module__.split(".")[0] == "torch"


_GENERATORS = (
    np.random.Generator,
    np.random.BitGenerator,
    np.random.RandomState,
    np.random.SeedSequence,
    random.Random,
)
