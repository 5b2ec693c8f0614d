"""The user's objects as a traced ``fn`` found them: no leaked tracer (attack27 H42).

JAX traces a function to transform it (``jax.jit``, ``jax.make_jaxpr`` for the float64
route, ``jax.grad``, ``jax.vmap``). A Python side effect of the user's function runs
with the tracers then: ``self.last = loss`` leaves a tracer in the user's object, and
``self.key, sub = jax.random.split(self.key)`` leaves one that every later call trips
on (``UnexpectedTracerError``), during the check and after it.

:class:`Kept` wraps the user's function: after every call it puts back each name that
now holds a tracer (directly, or in a list, tuple or dict) to what it held before the
call, in the user's namespaces the function keeps (:func:`spaces`): the attributes of
its objects (a bound method's object, its closure's and defaults' objects, a
``partial``'s arguments, and below: ``gradcheck._user_walk``'s walk), the module
globals its functions name (``global last; last = loss``, ``HISTORY.append(loss)``),
their closure cells (``nonlocal total``, a closure's list) and the dicts the walk finds
holding a random key (nested to any depth, or returned by an ``lru_cache``: attack31
H90), and a random key it replaced. Other concrete values a call leaves (an eager
evaluation's loss) are the user's code's own doing, as with ``check_grads``. A
namespace the walk does not reach is not found.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import replace
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradcheck._interrupts import put_back
from gradcheck._report import Report
from gradcheck._user_kinds import has_attributes, users
from gradcheck._user_rng import UserGenerators, added, generators
from gradcheck._user_walk import DEPTH, code_names, reachable, stopped_notes, walk

__all__ = ["Kept", "Space", "holders", "spaces"]


def holders(fn: Any, depth: int = DEPTH) -> list[Any]:
    """The user's objects with attributes of their own that ``fn`` keeps, each once
    (``gradcheck._user_walk.reachable``: a library's objects, JAX's own among them, are
    neither kept nor looked into; at most ``VISITS`` objects)."""
    return _holders(reachable(fn, depth=depth))


def _holders(objects: list[Any]) -> list[Any]:
    """The user's objects with attributes of their own among ``objects``."""
    return [
        item
        for item in objects
        if has_attributes(item) and not callable(item) and users(type(item))
    ]


def _traced(value: Any) -> bool:
    """Whether ``value`` is a tracer, or a list, tuple or dict holding one."""
    if isinstance(value, jax.core.Tracer):
        return True
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return any(isinstance(x, jax.core.Tracer) for x in value)
    return False


def _key(value: Any) -> bool:
    """Whether ``value`` is a JAX random key: a typed one (``jax.random.key``) or a
    raw ``uint32[2]`` (``jax.random.PRNGKey``)."""
    if not isinstance(value, jax.Array) or isinstance(value, jax.core.Tracer):
        return False
    if jnp.issubdtype(value.dtype, jax.dtypes.prng_key):
        return True
    return value.dtype == jnp.uint32 and value.shape == (2,)


#: Lists and dicts up to this many items are copied before each call, to be put back if
#: the call leaves a tracer in them; from a longer one (a dataset), the tracers are removed.
COPIED_ITEMS = 4096


def _contents(value: Any) -> Any:
    """A shallow copy of a list's or dict's contents (what a call may change in place)."""
    if isinstance(value, (list, dict)) and len(value) > COPIED_ITEMS:
        return None
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return None


class Space(NamedTuple):
    """One of the user's namespaces: its names and values now, and how to set or drop one."""

    read: Callable[[], dict[Any, Any]]
    put: Callable[[Any, Any], None]
    drop: Callable[[Any], None]


def _attributes(obj: Any) -> Space:
    return Space(
        lambda: dict(vars(obj)), lambda n, v: setattr(obj, n, v), lambda n: delattr(obj, n)
    )


def _globals(fn: types.FunctionType) -> Space:
    """The module globals ``fn``'s code names (those it reads, appends to or assigns)."""
    table, names = fn.__globals__, code_names(fn.__code__)  # nested code's too (H90)
    return Space(
        lambda: {n: table[n] for n in names if n in table},
        table.__setitem__,
        lambda n: table.pop(n, None),
    )


def _cells(fn: types.FunctionType) -> Space:
    """``fn``'s closure cells (``nonlocal total``; a list the closure appends to)."""
    cells = fn.__closure__ or ()

    def read() -> dict[Any, Any]:
        out = {}
        for i, cell in enumerate(cells):
            try:
                out[i] = cell.cell_contents
            except ValueError:  # an empty cell
                continue
        return out

    return Space(
        read,
        lambda i, v: setattr(cells[i], "cell_contents", v),
        lambda i: delattr(cells[i], "cell_contents"),
    )


def _table(table: dict[Any, Any]) -> Space:
    """A dict of the user's that holds a random key (``STATE["a"]["key"]``, a dict an
    ``lru_cache`` returns: attack31 H90, the key was left split)."""
    return Space(lambda: dict(table), table.__setitem__, lambda n: table.pop(n, None))


def spaces(fn: Any, objects: list[Any] | None = None) -> list[Space]:
    """The user's namespaces ``fn`` keeps: its objects' attributes (:func:`holders`), the
    globals and closure cells of ``fn`` and of the user's functions it keeps (a library's
    functions, JAX's own among them, are left alone), and the dicts it keeps, nested to
    any depth, that hold a random key. One walk of ``fn``'s objects for all (``objects``:
    its result, where the caller has it)."""
    objects = reachable(fn) if objects is None else objects
    functions = [f for f in (fn, *objects) if isinstance(f, types.FunctionType) and users(f)]
    unique = {id(f): f for f in functions}.values()
    tables = [
        d
        for d in objects
        if type(d) is dict and len(d) <= COPIED_ITEMS and any(map(_key, d.values()))
    ]
    return [
        *(_attributes(obj) for obj in _holders(objects)),
        *(_globals(f) for f in unique),
        *(_cells(f) for f in unique if f.__closure__),
        *(_table(d) for d in tables),
    ]


class Kept:
    """``fn``, putting back after every call the names it left a tracer in.

    A name the call made that holds a tracer is removed; one it rebound is put back; a
    list or dict it filled in place (``self.history.append(loss)``,
    ``self.log["last"] = loss``) gets its contents back (attack28 H60: it was deleted,
    and the next evaluation raised). A name that held a tracer before the call is left
    as it is. A JAX random key the call replaced (``self.key, sub =
    jax.random.split(self.key)``) is put back, as the user's torch and NumPy generators
    are reset (``gradcheck._user_rng``): each evaluation draws the same numbers, and
    the key is where it was after the check (attack28 H64: it had moved). The same
    holds for the module globals and closure cells the function uses (:func:`spaces`).
    The user's own NumPy, ``random`` and torch generators the function keeps
    (``gradcheck._user_rng``) are put back after every call too: each call draws the
    same numbers, and they are as found after the check (state34: they kept moving, the
    adapter's check reaching ``fn`` only through this wrapper). :attr:`notes` names a
    walk that stopped at its bounds (``gradcheck._user_walk.stopped_notes``).
    """

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        done = walk(fn)
        self.spaces = spaces(fn, done.objects)
        self.generators = UserGenerators(generators(done.objects))
        self.notes = stopped_notes(done)

    def noted(self, report: Report) -> Report:
        """``report`` with :attr:`notes` among its messages, each once."""
        return replace(report, messages=added(report.messages, self.notes))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        saved = [
            (space, {n: (v, _contents(v)) for n, v in space.read().items()})
            for space in self.spaces
        ]
        try:
            return self.fn(*args, **kwargs)
        finally:  # to its end, also when Ctrl-C lands in it
            put_back(lambda: _restore(saved), self.generators.reset)


def _restore(saved: list[tuple[Space, dict[Any, tuple[Any, Any]]]]) -> None:
    """Put back what a call left in the spaces (``saved``: their names before it)."""
    for space, before in saved:
        for name, value in space.read().items():
            if _traced(value):
                _put_back(space, name, value, before.get(name))
            elif name in before and _key(before[name][0]) and value is not before[name][0]:
                space.put(name, before[name][0])  # a key it split (attack28 H64)
            elif name in before and isinstance(value, dict):
                _keys_back(value, before[name][1])  # STATE["key"] (attack29 H74)


def _keys_back(table: dict[Any, Any], contents: dict[Any, Any] | None) -> None:
    """Put back the random keys a call replaced in ``table`` (``contents``: before it)."""
    for k, v in (contents or {}).items():
        if _key(v) and table.get(k) is not v and k in table:
            table[k] = v


def _put_back(space: Space, name: Any, value: Any, before: tuple[Any, Any] | None) -> None:
    """Put ``name``, now holding a tracer, back as it was in ``space`` (``before``: its
    value and its contents then; ``None``: the call made it)."""
    if before is None:
        space.drop(name)
        return
    old, contents = before
    if old is not value:
        if not _traced(old):
            space.put(name, old)
    elif isinstance(value, list) and contents is not None:
        value[:] = contents
    elif isinstance(value, dict) and contents is not None:
        value.clear()
        value.update(contents)
    elif isinstance(value, list):
        value[:] = [x for x in value if not _traced(x)]
    elif isinstance(value, dict):
        for key in [k for k, v in value.items() if _traced(v)]:
            del value[key]
