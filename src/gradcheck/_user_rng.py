"""Random generators the user's code holds itself: found, reset, put back (attack26 H08).

The global generators (NumPy's legacy one, ``random``, torch's) are saved and put
back around every check (``gradcheck._rng``). A cost can also draw from a generator
of its own: a ``np.random.default_rng(0)`` captured by a closure or named as a
global, a ``torch.Generator`` or ``np.random.RandomState`` kept on a model. Those
moved during a check (every evaluation drew from them) and stayed moved, and the
cost, drawing different numbers at every evaluation, could not be judged.

:func:`find` looks for them among the objects the cost keeps
(``gradcheck._user_walk.reachable``: its closure, defaults, the globals its code names,
the user's objects, modules and classes, a model's modules, an ``lru_cache``'s stored
values, an iterator's items, containers nested to any depth). A NumPy ``BitGenerator``
kept by itself is a generator too, and so is a ``SeedSequence``: its spawn counter
(``rng.spawn(1)``, ``seq.spawn(1)``) is put back with the generator's state (NumPy keeps
the counter read-only; the sequence is set up again with the saved count, as its
constructor allows: attack31 H90, a spawning cost could not be judged and kept moving).
:class:`UserGenerators` saves their states, says whether any moved, and puts them
back: the evaluators then give each evaluation the same draws, as for the global
generators, and the check leaves them as it found them. A generator the walk does not
reach (inside a library's object, beyond the walk's bounds, which the report names) is
not found: it keeps moving, and the check sees a cost that
is not repeatable (and says so).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> cost = lambda x: float(x @ x) + 0.0 * rng.normal()
>>> saved = UserGenerators(find(cost))
>>> _ = rng.normal()
>>> saved.moved()
True
>>> saved.reset()
>>> saved.moved()
False
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NamedTuple

import numpy as np

from gradcheck._user_scan import generator_type
from gradcheck._user_walk import (  # re-exported: the walk was part of this module
    CONTAINER_ITEMS,
    DEPTH,
    VISITS,
    code_names,
    reachable,
    stopped_notes,
    walk,
)

__all__ = [
    "CONTAINER_ITEMS",
    "DEPTH",
    "VISITS",
    "Search",
    "UserGenerators",
    "activated",
    "active",
    "added",
    "code_names",
    "find",
    "generators",
    "generators_kept",
    "reachable",
    "search",
    "shared",
]


_ACTIVE: ContextVar[tuple[Any, ...]] = ContextVar("gradcheck_user_generators", default=())


def active() -> tuple[Any, ...]:
    """The generators an enclosing check found (:func:`activated`), innermost last."""
    return _ACTIVE.get()


@contextmanager
def activated(generators: Iterable[Any]) -> Iterator[None]:
    """Make ``generators`` :func:`active` inside (the engine's own saves include them)."""
    token = _ACTIVE.set((*_ACTIVE.get(), *generators))
    try:
        yield
    finally:
        _ACTIVE.reset(token)


class _Handle(NamedTuple):
    """How to read and write one generator's state, and compare two states."""

    get: Callable[[], Any]
    put: Callable[[Any], None]


def _handle(obj: Any) -> _Handle | None:
    """A way to save and restore ``obj``'s state, if it is a generator (not a global)."""
    if isinstance(obj, (np.random.Generator, np.random.BitGenerator)):
        bits = obj.bit_generator if isinstance(obj, np.random.Generator) else obj
        seq = _sequence(bits)
        if seq is None:
            return _Handle(lambda: bits.state, lambda s: setattr(bits, "state", s))
        spawned = _spawned(seq)
        return _Handle(lambda: (bits.state, spawned.get()), lambda s: _put_bits(bits, spawned, s))
    if isinstance(obj, np.random.SeedSequence):
        return _spawned(obj)
    if isinstance(obj, np.random.RandomState):
        if obj is np.random.mtrand._rand:  # the global one: gradcheck._rng
            return None
        return _Handle(obj.get_state, obj.set_state)
    if isinstance(obj, random.Random):
        if obj is getattr(random, "_inst", None):  # the global one: gradcheck._rng
            return None
        if isinstance(obj, random.SystemRandom):  # the OS's entropy: no state to keep
            return None
        return _Handle(obj.getstate, obj.setstate)
    kind = type(obj)
    if kind.__name__ == "Generator" and kind.__module__.split(".")[0] == "torch":
        return _Handle(lambda: obj.get_state(), obj.set_state)
    return None


def _sequence(bits: Any) -> np.random.SeedSequence | None:
    """The ``SeedSequence`` a bit generator spawns from (``rng.spawn``), if any."""
    seq = getattr(bits, "seed_seq", getattr(bits, "_seed_seq", None))
    return seq if isinstance(seq, np.random.SeedSequence) else None


def _spawned(seq: np.random.SeedSequence) -> _Handle:
    """A ``SeedSequence``'s spawn counter, read and put back: NumPy keeps the counter
    read-only, and its constructor sets it (about 10 µs, only when it moved)."""

    def put(n: int) -> None:
        if seq.n_children_spawned != n:
            seq.__init__(  # type: ignore[misc]
                seq.entropy, spawn_key=seq.spawn_key, pool_size=seq.pool_size, n_children_spawned=n
            )

    return _Handle(lambda: seq.n_children_spawned, put)


def _put_bits(bits: Any, spawned: _Handle, state: tuple[Any, int]) -> None:
    """Put a bit generator's state and its sequence's spawn counter back."""
    bits.state = state[0]
    spawned.put(state[1])


def _same(a: Any, b: Any) -> bool:
    """Whether two saved states are equal (dicts, tuples, arrays and tensors within)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if hasattr(a, "numpy") and hasattr(b, "numpy"):  # a torch generator's ByteTensor
        return bool(np.array_equal(a.numpy(), b.numpy()))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return bool(np.array_equal(a, b))
    return bool(a == b)


def find(*owners: Any, depth: int = DEPTH) -> list[Any]:
    """The generators ``owners`` keep (:func:`reachable`), each once, in the order found."""
    return generators(reachable(*owners, depth=depth))


class Search(NamedTuple):
    """The generators some owners keep (:func:`search`), and the report's note of a walk
    that stopped at a bound (``gradcheck._user_walk.stopped_notes``)."""

    generators: list[Any]
    notes: tuple[str, ...]


def search(*owners: Any) -> Search:
    """The generators ``owners`` keep, and whether the walk stopped short (an adapter's
    report names it, as the core's does)."""
    done = walk(*owners)
    return Search(generators(done.objects), stopped_notes(done))


def added(messages: Sequence[str], notes: Sequence[str]) -> tuple[str, ...]:
    """``messages`` and then ``notes`` (a walk's, :func:`search`), each once.

    >>> added(("a", "b"), ("b", "c", "c"))
    ('a', 'b', 'c')
    """
    return tuple(dict.fromkeys((*messages, *notes)))


def generators(objects: Iterable[Any]) -> list[Any]:
    """The generators among ``objects`` (what :func:`reachable` found), in their order."""
    objects = list(objects)
    kinds = {k for k in set(map(type, objects)) if generator_type(k)}  # at C speed
    return [o for o in objects if type(o) in kinds and _handle(o) is not None]


def shared(*owners: Any) -> dict[int, Any]:
    """A ``copy.deepcopy`` memo that keeps the generators ``owners`` hold shared.

    A model's private copy then draws from the user's own generator, which the check
    resets before every evaluation and puts back at the end; a copy of it would be a
    second generator, at another state, that nothing resets.
    """
    return {id(g): g for g in find(*owners)}


class UserGenerators:
    """The states of the generators given, saved when this is made."""

    def __init__(self, generators: Iterable[Any]) -> None:
        unique = {id(g): g for g in generators}.values()
        handles = [h for h in map(_handle, unique) if h is not None]
        self._saved = [(h, h.get()) for h in handles]

    def __bool__(self) -> bool:
        return bool(self._saved)

    def moved(self) -> bool:
        """Whether any generator's state differs from the saved one."""
        return any(not _same(h.get(), state) for h, state in self._saved)

    def reset(self) -> None:
        """Put every generator back to its saved state."""
        for h, state in self._saved:
            h.put(state)


@contextmanager
def generators_kept(*owners: Any) -> Iterator[None]:
    """The generators ``owners`` keep, :func:`activated` inside (every inner save resets
    and restores them with the global ones) and put back on exit, always: for the
    callables a check runs besides its function (a sampled VJP's generator, attack29
    H74). The global generators are left to the inner saves (no read of their state)."""
    found = find(*owners)
    saved = UserGenerators(found)
    try:
        with activated(found):
            yield
    finally:
        saved.reset()
