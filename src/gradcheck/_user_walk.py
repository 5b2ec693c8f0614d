"""The objects a user's code keeps: one bounded walk, for the generators and the arrays.

A cost can keep state of its own: a ``np.random.default_rng(0)`` in a closure, a
``torch.Generator`` on a model, a ``bn_param`` dict of running statistics, a JAX key
in a global. :func:`reachable` finds the objects it keeps, the way its code reaches
them: a function's closure, its defaults and the globals its code names (the code
nested in it included: :func:`code_names`), a bound method's object, a ``partial``'s
arguments, a model's modules (their attributes, their classes' methods), the user's own
classes and objects (their ``__slots__`` too), the user's own modules (``helper.gen``,
``pkg.sub.gen``, a module kept as an attribute), the object a built-in method is bound
to (``draw = random.Random(0).random``), a ``ContextVar``'s value, a ``property``'s
functions, a ``weakref.ref``'s object, a Python generator's local variables, what a
``functools.lru_cache`` has stored (``get_rng()``, attack31 H90) and what a C iterator
holds (``itertools.cycle([rng])``, ``iter(pool)``, ``map``: read through the garbage
collector's references, as the iterator keeps no Python attributes), and lists, tuples,
sets, deques, dicts (a ``MappingProxyType`` view too) and object arrays of up to
:data:`CONTAINER_ITEMS` items.

Depth: functions, objects, classes, modules and models count :data:`DEPTH` levels (a
model, its class's ``forward``, the helper it calls, the helper that one calls, the
object that keeps the generator); containers and iterators count none, so a generator in
a dict nested ten deep is found as soon as the dict is (attack31 H90: five deep was
not). Past :data:`DEPTH`, the user's objects and containers are read by type (below:
``trainer.model.cfg.sub.opts.rng`` kept moving, state34). The work is bounded
(:data:`VISITS`, :data:`ITEMS`, ``SCANNED``: the numbers, strings, tensors and arrays an
object holds are read by type at C speed, ``gradcheck._user_scan``); a third-party
package's modules (under ``site-packages``) are not looked into (a cost naming ``scipy``
walked 4193 of SciPy's objects, 129 ms a check). A container of more than
:data:`CONTAINER_ITEMS` items (a dataset) is read last, by type, with its objects and
theirs (``gradcheck._user_scan.scan``: a generator on the last of 20,000 objects in a
list kept moving). Not looked into: a library's objects (a tensor, an optimizer; but for
the generators among their attributes, :func:`_given_generator`), and
what lies beyond the bounds, which :attr:`Walk.stopped` names (the check's report says
so).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> table = {"a": {"b": {"c": {"d": {"e": [rng]}}}}}
>>> any(o is rng for o in reachable(lambda x: table["a"]["b"]["c"]["d"]["e"][0]))
True
"""

from __future__ import annotations

import contextvars
import functools
import gc
import sys
import types
import weakref
from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np

from gradcheck._user_kinds import (
    c_held,
    has_attributes,
    is_model,
    slot_names,
    slot_values,
    users,
    users_module,
)
from gradcheck._user_scan import (
    CONTAINER_ITEMS,
    CONTAINERS,
    FEW,
    MAPPINGS,
    SCANNED,
    data_kind,
    generator_type,
    large,
    scan,
    sift,
)

__all__ = [
    "CONTAINER_ITEMS",
    "DEPTH",
    "ITEMS",
    "SCANNED",
    "STOPPED",
    "VISITS",
    "Walk",
    "code_names",
    "reachable",
    "stopped_notes",
    "walk",
]

#: How many levels of functions, objects, classes, modules and models :func:`walk`
#: follows: a model (1), its class's ``forward`` (2), a helper it calls (3) and the one
#: that calls (4), an object holding the generator (5) (attack27 H40). Containers take
#: no level (attack31 H90).
DEPTH = 5

#: At most this many objects are looked into per walk.
VISITS = 4096

#: At most this many references are read one by one per walk (about 3 µs each here,
#: loaded: a user package of 1555 modules stops at :data:`VISITS` in 0.1 to 0.28 s).
ITEMS = 2**16

#: A torch module's own tables of tensors and submodules (the hooks' tables are walked).
_MODEL_OWN = frozenset({"_parameters", "_buffers", "_modules", "_non_persistent_buffers_set"})


class Walk(NamedTuple):
    """What :func:`walk` found, and whether it stopped at its bounds.

    Attributes:
        objects: every object found, each once, in the order found.
        stopped: ``""`` if the walk read everything within :data:`DEPTH`; else what
            stopped it (:data:`VISITS` objects or :data:`ITEMS` references).
    """

    objects: list[Any]
    stopped: str


def reachable(*owners: Any, depth: int = DEPTH) -> list[Any]:
    """Every object ``owners`` keep (:func:`walk`), each once, in the order found."""
    return walk(*owners, depth=depth).objects


def walk(*owners: Any, depth: int = DEPTH) -> Walk:
    """Every object ``owners`` keep, down to ``depth`` levels (module text), each once,
    in the order found, and whether the bounds stopped the walk. An object that cannot be
    looked into (a dead ``weakref.proxy`` raises ``ReferenceError`` at any touch, attack27
    H49) is passed over and left out. Large containers are read last, by type
    (``gradcheck._user_scan.scan``), with what the objects left of :data:`SCANNED`."""
    done = _levels(list(owners), depth)
    within = scan(done.bulk, SCANNED - done.scanned, done.seen)
    found = {**done.found, **{id(g): g for g in within.generators}}
    unread = f"{SCANNED} references read by type" if done.unread else within.stopped
    return Walk(list(found.values()), done.stopped or unread)


class _Levels(NamedTuple):
    """What :func:`_levels` found, and how it ended."""

    found: dict[int, Any]  # the objects found, by id, in the order found
    seen: set[int]  # the ids of the objects looked into
    bulk: list[Any]  # the large containers, for gradcheck._user_scan.scan
    stopped: str  # what stopped it, "" if nothing
    scanned: int  # references read by type
    unread: bool  # a container past SCANNED left unread


def _levels(level: list[Any], depth: int) -> _Levels:
    """:func:`walk`'s levels, the large containers set apart."""
    found: dict[int, Any] = {}
    seen: set[int] = set()
    bulk: list[Any] = []
    read = scanned = 0
    unread = False  # a container past SCANNED, not read
    plain: set[type] = set()  # the types found not to be looked into (a tensor, a float)
    for _ in range(depth):
        below: list[Any] = []
        i = 0
        while i < len(level):  # grows: a container's items are on its level
            obj = level[i]
            i += 1
            if id(obj) in seen:
                continue
            if len(seen) >= VISITS:  # the rest is read by type (scan)
                rest = _data([*level[i - 1 :], *below])
                return _Levels(found, seen, [*bulk, *rest], f"{VISITS} objects", scanned, unread)
            seen.add(id(obj))
            try:
                model = is_model(obj)
                if model:  # its submodules are looked into with it, once
                    seen.update(id(m) for m in obj.modules())
                items = list(_inside(obj))
            except Exception:  # the user's object, not ours to judge
                continue
            if len(items) > FEW and scanned + len(items) > SCANNED and _container(obj):
                unread = True  # past the bound: not read one by one (named)
                continue
            if len(items) > FEW and scanned + len(items) <= SCANNED:
                scanned += len(items)  # numbers, strings, tensors passed over at C speed
                items, arrays = sift(items, plain)
                found.update((id(a), a) for a in arrays)
            stopped = f"{ITEMS} references" if len(items) > ITEMS - read and not model else ""
            rest = _data([*items[ITEMS - read :], *level[i:]]) if stopped else []
            if not model:  # a model is read whole (its modules' attributes), as main did
                items = items[: ITEMS - read]
                read += len(items)
            for item in items:
                if type(item) in plain:  # a number, a tensor: nothing of the user's in it
                    continue
                try:
                    how = _followed(item, plain)
                except Exception:  # as above, for one item
                    continue
                found.setdefault(id(item), item)
                if how == _NO and large(item):
                    bulk.append(item)
                elif how == _HERE:  # a container: its items are on its level
                    level.append(item)
                elif how == _BELOW:
                    below.append(item)
            if stopped:  # the rest is read by type (scan)
                return _Levels(found, seen, [*bulk, *rest, *_data(below)], stopped, scanned, unread)
        level = below
    # past DEPTH: the user's objects and containers are read by type (a generator five
    # objects down, ``trainer.model.cfg.sub.opts.rng``, kept moving: state34)
    return _Levels(found, seen, [*bulk, *_data(level)], "", scanned, unread)


def _data(objects: list[Any]) -> list[Any]:
    """The containers and the user's objects among ``objects`` (``gradcheck._user_scan``
    reads them by type where the walk stopped at a bound)."""
    kinds = {k for k in set(map(type, objects)) if data_kind(k)}
    return [o for o in objects if type(o) in kinds]


def _given_generator(obj: Any) -> bool:
    """Whether a library's object holds a generator among its attributes: one the user
    gave it (``DataLoader(ds, shuffle=True, generator=g)``: ``g`` kept moving, state34)."""
    attributes = getattr(obj, "__dict__", None)
    return isinstance(attributes, dict) and any(map(generator_type, map(type, attributes.values())))


def _container(obj: Any) -> bool:
    """Whether ``obj`` is a container (its items are data, read after the objects)."""
    return isinstance(obj, (*CONTAINERS, *MAPPINGS, np.ndarray))


#: The note of a check whose walk stopped at a bound (:func:`stopped_notes`).
STOPPED = (
    "the search for the random generators and arrays the cost keeps stopped at {bound} "
    "(gradcheck._user_walk): beyond them, only the generators containers and the user's "
    "objects hold were found and put back; one kept elsewhere (by a function, a class or a "
    "module beyond the bound, or past the reading by type) may have moved with the check's "
    "evaluations; keep the cost's own state in fewer objects to have it put back"
)


def stopped_notes(done: Walk) -> tuple[str, ...]:
    """The report's note for a walk that stopped at a bound (none for a complete one).

    >>> stopped_notes(Walk([], ""))
    ()
    """
    return (STOPPED.format(bound=done.stopped),) if done.stopped else ()


def _inside(obj: Any) -> Iterable[Any]:
    """The objects a cost keeps in ``obj``, one level down."""
    if isinstance(obj, functools.partial):
        yield obj.func
        yield from obj.args
        yield from obj.keywords.values()
    elif isinstance(obj, types.MethodType):
        yield obj.__func__
        yield obj.__self__
    elif isinstance(obj, contextvars.ContextVar):
        yield obj.get(None)  # its value in the current context
    elif isinstance(obj, types.BuiltinMethodType):
        yield obj.__self__  # ``draw = random.Random(0).random``: the generator it is bound to
    elif isinstance(obj, types.ModuleType):
        # a user module reached as an attribute or inside a package (``cfg.gen``,
        # ``pkg.sub.gen``; attack29 H70b): its own names
        yield from (v for n, v in vars(obj).items() if not n.startswith("__"))
    elif isinstance(obj, types.FunctionType):
        yield from _function_inside(obj)
    elif isinstance(obj, property):
        yield from (f for f in (obj.fget, obj.fset) if f is not None)
    elif isinstance(obj, weakref.ref):
        yield obj()  # the object it refers to (None once dead)
    elif isinstance(obj, types.GeneratorType):
        yield from obj.gi_frame.f_locals.values() if obj.gi_frame is not None else ()
    elif c_held(obj):  # an lru_cache's stored values, an iterator's sequence
        yield from gc.get_referents(obj)
    elif isinstance(obj, np.ndarray):  # an object array (_followed)
        yield from obj.flat
    elif isinstance(obj, CONTAINERS):
        yield from obj
    elif isinstance(obj, MAPPINGS):
        yield from obj.values()
    elif isinstance(obj, type):
        yield from _own_class_attributes(obj)
    elif is_model(obj):
        for module in obj.modules():  # its tensors and submodules: nothing more to find
            yield from (v for k, v in vars(module).items() if k not in _MODEL_OWN)
            yield from _own_class_attributes(type(module))
    else:  # the user's object: its attributes (a callable one's too), its ``__slots__``
        if has_attributes(obj):
            yield from vars(obj).values()
        yield from slot_values(obj)
        yield from _own_class_attributes(type(obj))


def _function_inside(fn: types.FunctionType) -> Iterable[Any]:
    """A function's closure, defaults and the globals its code names."""
    for cell in fn.__closure__ or ():
        try:
            yield cell.cell_contents
        except ValueError:  # an empty cell
            continue
    yield from fn.__defaults__ or ()
    yield from (fn.__kwdefaults__ or {}).values()
    names = code_names(fn.__code__)
    for value in (fn.__globals__[n] for n in names if n in fn.__globals__):
        yield value
        if isinstance(value, types.ModuleType) and users_module(value):
            # ``helper.gen.normal()``: the attribute names are the code's names too
            yield from (getattr(value, n) for n in names if n in vars(value))


def code_names(code: types.CodeType) -> tuple[str, ...]:
    """The global names ``code`` uses, with those of the code nested in it: a
    comprehension, a generator expression, a lambda or a ``def`` inside a function has
    code of its own (attack31 H90: ``[RNG.normal() for _ in range(2)]`` in a cost named
    ``RNG`` only there). Where the code calls ``globals()``, its string constants too
    (``globals()["RNG"]``).

    >>> def cost(x):
    ...     return x + sum(RNG.normal() for _ in range(2))
    >>> "RNG" in code_names(cost.__code__)
    True
    """
    names = list(code.co_names)
    strings = []
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names += code_names(const)
        elif isinstance(const, str):
            strings.append(const)
    if "globals" in code.co_names:
        names += strings
    return tuple(dict.fromkeys(names))


def _own_class_attributes(cls: type) -> Iterable[Any]:
    """A user class's own attributes (its methods, a generator kept on the class); none
    for the classes of libraries and of the standard library (their code is not the
    user's: a ``SimpleNamespace``'s class holds only its methods)."""
    if not users(cls) or cls.__module__.split(".")[0] in sys.stdlib_module_names:
        return ()
    return [_unwrapped(v) for v in vars(cls).values()]


def _unwrapped(v: Any) -> Any:
    """A class attribute's function: a static or class method's, a property's getter
    (no level of its own: a property over a dict of generators is found as deep as the
    dict is; attack31 H90)."""
    if isinstance(v, (staticmethod, classmethod)):
        return v.__func__
    return v.fget if isinstance(v, property) and v.fget is not None else v


#: How :func:`walk` treats an object (:func:`_followed`): not looked into, looked into
#: on the next level (a function, an object), or on its own level (a container).
_NO, _BELOW, _HERE = 0, 1, 2


def _followed(obj: Any, plain: set[type]) -> int:
    """Whether and how :func:`walk` looks into ``obj`` (:data:`_NO`, :data:`_BELOW`,
    :data:`_HERE`): functions, methods and partials, models, small containers
    (:data:`CONTAINER_ITEMS`) that are not empty, C iterators and ``lru_cache`` wrappers,
    and the user's own classes and objects (a library's, a tensor or an optimizer, keep
    no generator of the user's). Containers and C iterators take no level of their own (a
    nested dict). A type whose objects are never looked into is added to ``plain`` (the
    walk then passes them over at once)."""
    if isinstance(obj, (types.FunctionType, types.MethodType, functools.partial)):
        return _BELOW
    if isinstance(obj, (contextvars.ContextVar, property, weakref.ref, types.GeneratorType)):
        return _BELOW
    if isinstance(obj, (*CONTAINERS, *MAPPINGS)):
        return _HERE if 0 < len(obj) <= CONTAINER_ITEMS else _NO
    if isinstance(obj, np.ndarray):
        return _HERE if obj.dtype == object and obj.size <= CONTAINER_ITEMS else _NO
    if isinstance(obj, types.BuiltinMethodType):
        bound = obj.__self__
        return _BELOW if bound is not None and not isinstance(bound, types.ModuleType) else _NO
    if isinstance(obj, types.ModuleType):
        return _BELOW if users_module(obj) else _NO
    if c_held(obj):
        return _BELOW if callable(obj) else _HERE  # an lru_cache wrapper is a function
    if isinstance(obj, type):
        return _BELOW if users(obj) else _NO
    if is_model(obj):
        return _BELOW
    kind = type(obj)
    if not users(kind):
        if _given_generator(obj):  # DataLoader(..., generator=g): its attributes
            return _BELOW
        if not callable(getattr(kind, "modules", None)) and not generator_type(kind):
            plain.add(kind)  # not a model or a generator of this type either
        return _NO
    own = has_attributes(obj) or any(hasattr(obj, n) for n in slot_names(kind))
    return _BELOW if own else _NO
