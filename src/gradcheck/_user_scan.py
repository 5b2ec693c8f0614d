"""Reading many references at C speed, by their types alone (attack34 H130, attack31 H90).

``gradcheck._user_walk`` looks into the objects a cost keeps one reference at a time, in
Python (about 3 µs each here, loaded). Most references of a large object are numbers,
strings or tensors, which hold nothing of the user's: :func:`kept` passes them over by
their types, about 0.1 µs each (a list of 1000 lists of 1000 ints took 14.6 s a check,
0.14 s now). A container of more than :data:`CONTAINER_ITEMS` entries is not looked into
one by one, but read the same way, a level at a time, for the generators it holds and
those its containers and the user's objects hold (:func:`scan`: ``[rng] + [0] * 2000``
kept moving, and so did a generator on the last of 20,000 objects in a list).
:data:`SCANNED` bounds both per walk.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> scan([[rng] + [0.0] * 2000], SCANNED).generators == [rng]
True
"""

from __future__ import annotations

import collections
import gc
import itertools
import random
import sys
import types
from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "CONTAINERS",
    "CONTAINER_ITEMS",
    "FEW",
    "LEVELS",
    "LIBRARIES",
    "MAPPINGS",
    "SCANNED",
    "Scanned",
    "Sifted",
    "data_kind",
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

#: How many levels below a large container :func:`scan` follows: a list of objects (1),
#: each object's attributes (2), a dict or list among them (3) and so on. Each level is
#: one call at C speed; a level left unread is named (a chain of linked objects, one per
#: level, stops here rather than costing a call per object).
LEVELS = 16

#: Packages whose objects are not followed (their objects keep no generator of the
#: user's; ``gradcheck._user_walk`` does not look into their classes either).
LIBRARIES = frozenset({"builtins", "numpy", "torch", "jax", "jaxlib", "gradcheck", "functools"})
_SCALARS = frozenset({int, float, complex, bool, str, bytes, type(None)})

CONTAINERS = (list, tuple, set, frozenset, collections.deque)
#: Mappings whose values are looked into (a ``MappingProxyType`` is a read-only view of a
#: dict: ``types.MappingProxyType({"rng": rng})`` kept moving, state34).
MAPPINGS = (dict, types.MappingProxyType)


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
    """What :func:`scan` found below large containers, and whether it read all of it."""

    generators: list[Any]
    read: int  # references read
    stopped: str  # "" if everything was read; else the bound it stopped at


def large(obj: Any) -> bool:
    """Whether ``obj`` is a container of more than :data:`CONTAINER_ITEMS` entries."""
    if isinstance(obj, np.ndarray):
        return obj.dtype == object and obj.size > CONTAINER_ITEMS
    return isinstance(obj, (*CONTAINERS, *MAPPINGS)) and len(obj) > CONTAINER_ITEMS


def scan(bulk: list[Any], budget: int, seen: Iterable[int] = ()) -> Scanned:
    """The generators held in or below the large containers ``bulk`` (their entries, the
    containers and the user's objects among them, theirs, down to :data:`LEVELS`), read
    a level at a time by type at C speed (``gc.get_referents``), at most ``budget``
    references (state34: a generator on the last of 20,000 user objects in a list kept
    moving). Functions, classes, modules and a library's objects are not followed;
    ``seen`` (ids) are objects already looked into."""
    found: dict[int, Any] = {}  # each once
    done = set(seen) | set(map(id, bulk))
    level, read, arrays = bulk, 0, True
    for _ in range(LEVELS):
        refs = _referents(level, arrays)
        if read + len(refs) > budget:
            return Scanned(list(found.values()), read, f"{SCANNED} references read by type")
        read += len(refs)
        kinds = set(map(type, refs))
        held = {k for k in kinds if generator_type(k)}
        if held:
            gens = itertools.compress(refs, map(held.__contains__, map(type, refs)))
            found.update((id(g), g) for g in gens)
        data = {k for k in kinds - held if data_kind(k)}
        arrays = any(issubclass(k, np.ndarray) for k in data)
        level = (
            []
            if not data
            else _fresh(  # numbers, strings, tensors: nothing below
                list(itertools.compress(refs, map(data.__contains__, map(type, refs)))), done
            )
        )
        if not level:
            return Scanned(list(found.values()), read, "")
    return Scanned(list(found.values()), read, f"{LEVELS} levels read by type")


def _referents(level: list[Any], arrays: bool) -> list[Any]:
    """The objects ``level`` refers to: a container's entries (a dict's keys and values),
    an object's attributes and ``__slots__``, an object array's items (NumPy arrays keep
    no references the garbage collector sees; ``arrays``: whether ``level`` holds any)."""
    refs = gc.get_referents(*level)
    for a in itertools.compress(level, map(_ARRAYS.__instancecheck__, level)) if arrays else ():
        if a.dtype.hasobject:
            refs += a.flat
    return refs


def _fresh(objects: list[Any], done: set[int]) -> list[Any]:
    """``objects`` not in ``done`` (ids), each once; ``done`` takes their ids."""
    ids = set(map(id, objects))
    if len(ids) == len(objects) and done.isdisjoint(ids):  # the usual case, at C speed
        done |= ids
        return objects
    unique = dict(zip(map(id, objects), objects))
    new = unique.keys() - done
    done |= new
    return list(map(unique.__getitem__, new))


_ARRAYS = np.ndarray


def data_kind(kind: type) -> bool:
    """Whether :func:`scan` follows the objects of ``kind``: containers and object
    arrays, the user's own objects (not a function's, class's or module's type, which are
    the ``builtins``', nor a library's or the standard library's, but for a
    ``SimpleNamespace``), never a generator's."""
    if issubclass(kind, (*CONTAINERS, *MAPPINGS, np.ndarray, types.SimpleNamespace)):
        return True
    top = str(getattr(kind, "__module__", "")).split(".")[0]
    return top not in LIBRARIES and top not in sys.stdlib_module_names


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
