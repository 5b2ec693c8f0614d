"""Random generators the user's code holds itself: found, reset, put back (attack26 H08).

The global generators (NumPy's legacy one, ``random``, torch's) are saved and put
back around every check (``gradcheck._rng``). A cost can also draw from a generator
of its own: a ``np.random.default_rng(0)`` captured by a closure or named as a
global, a ``torch.Generator`` or ``np.random.RandomState`` kept on a model. Those
moved during a check (every evaluation drew from them) and stayed moved, and the
cost, drawing different numbers at every evaluation, could not be judged.

:func:`find` looks for them where a cost keeps them: the function's closure, its
defaults, the globals its code names, a bound method's object, a ``partial``'s
arguments, a model's modules (their attributes, their classes' methods), the user's
own classes and objects (their ``__slots__`` too), the user's own modules (``helper.gen``,
``pkg.sub.gen``, a module kept as an attribute), the object a built-in method is bound to
(``draw = random.Random(0).random``), a ``ContextVar``'s value, a ``property``'s
functions, a ``weakref.ref``'s object, a Python generator's local variables, and lists,
tuples, deques, dicts and object arrays of up to ``CONTAINER_ITEMS`` items, down to
``DEPTH`` levels (a helper the cost calls, and the helper it calls). A function's
globals are those its code names, the code nested in it included (comprehensions,
lambdas, inner functions; :func:`code_names`). A NumPy ``BitGenerator`` kept by itself is a
generator too. Not put back: a ``SeedSequence``'s spawn counter (``rng.spawn``), which
NumPy does not let be set; a cost that spawns draws other numbers at every evaluation,
and the check says so.
:class:`UserGenerators` saves their states, says whether any moved, and puts them
back: the evaluators then give each evaluation the same draws, as for the global
generators, and the check leaves them as it found them. A generator reachable only
deeper, inside a library's object or a larger container, is not found: it keeps
moving, and the check sees a cost that is not repeatable (and says so).

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

import collections
import contextvars
import functools
import random
import sys
import types
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "DEPTH",
    "UserGenerators",
    "activated",
    "active",
    "code_names",
    "find",
    "generators",
    "generators_kept",
    "reachable",
    "shared",
]

#: How many levels of functions, objects, classes, containers and models :func:`find`
#: follows from the objects it is given: a model (1), its class's ``forward`` (2), a
#: helper it calls (3) and the one that calls (4), a global list holding the generator
#: (5) (attack27 H40: a generator in a global list, in a dict on the model, on a class,
#: three helpers deep, all kept moving). :data:`VISITS` bounds the work. Inside an
#: adapter the engine is not given the user's objects but the adapter's own; the
#: generators the adapter found are :func:`active` there instead.
DEPTH = 5

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
        return _Handle(lambda: bits.state, lambda s: setattr(bits, "state", s))
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


#: Containers (lists, tuples, dicts, sets, deques) up to this many items are looked into:
#: a model's ``self.gens = {"drop": torch.Generator()}``, a global ``RNGS = [rng]``
#: (attack27 H40), a pool of a few hundred generators (attack29 H70: 65 were not). Larger
#: ones (a dataset held in a list) are not: reading them costs a pass (about 1 µs an item).
CONTAINER_ITEMS = 1024

_CONTAINERS = (list, tuple, set, frozenset, collections.deque)
#: At most this many objects are looked into per search, so that a cost reaching a
#: large library through its globals stays cheap (about 1 µs each).
VISITS = 4096


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
        for cell in obj.__closure__ or ():
            try:
                yield cell.cell_contents
            except ValueError:  # an empty cell
                continue
        yield from obj.__defaults__ or ()
        yield from (obj.__kwdefaults__ or {}).values()
        names = code_names(obj.__code__)
        for value in (obj.__globals__[n] for n in names if n in obj.__globals__):
            yield value
            if isinstance(value, types.ModuleType) and _users_module(value):
                # ``helper.gen.normal()``: the attribute names are the code's names too
                yield from (getattr(value, n) for n in names if n in vars(value))
    elif isinstance(obj, property):
        yield from (f for f in (obj.fget, obj.fset) if f is not None)
    elif isinstance(obj, weakref.ref):
        yield obj()  # the object it refers to (None once dead)
    elif isinstance(obj, types.GeneratorType):
        yield from obj.gi_frame.f_locals.values() if obj.gi_frame is not None else ()
    elif isinstance(obj, np.ndarray):  # an object array (_followed)
        yield from obj.flat
    elif isinstance(obj, _CONTAINERS):
        yield from obj
    elif isinstance(obj, dict):
        yield from obj.values()
    elif isinstance(obj, type):
        yield from _own_class_attributes(obj)
    elif _is_model(obj):
        for module in obj.modules():
            yield from vars(module).values()
            yield from _own_class_attributes(type(module))
    else:  # the user's object: its attributes (a callable one's too), its ``__slots__``
        if _has_attributes(obj):
            yield from vars(obj).values()
        yield from _slot_values(obj)
        yield from _own_class_attributes(type(obj))


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


def _slot_values(obj: Any) -> list[Any]:
    """The values of ``obj``'s ``__slots__`` that are set, for the user's classes."""
    if not _users(type(obj)):
        return []
    return [getattr(obj, n) for n in _slot_names(type(obj)) if hasattr(obj, n)]


def _slot_names(kind: type) -> list[str]:
    """The ``__slots__`` names of ``kind`` and its bases (``__dict__`` left out)."""
    names = []
    for cls in kind.__mro__:
        slots = vars(cls).get("__slots__", ())
        names += [slots] if isinstance(slots, str) else list(slots)
    return [n for n in names if n != "__dict__"]


def _users_module(module: types.ModuleType) -> bool:
    """Whether ``module`` is the user's (neither a library's nor the standard library's)."""
    top = module.__name__.split(".")[0]
    return top not in _LIBRARIES and top not in sys.stdlib_module_names


def _own_class_attributes(cls: type) -> Iterable[Any]:
    """A user class's own attributes (its methods, a generator kept on the class); none
    for the classes of libraries (their code is not the user's)."""
    if not _users(cls):
        return ()
    return [_unwrapped(v) for v in vars(cls).values()]


def _unwrapped(v: Any) -> Any:
    """A class attribute's function: a static or class method's, a property's getter
    (no level of its own: a property over a dict of generators is found as deep as the
    dict is; attack31 H90)."""
    if isinstance(v, (staticmethod, classmethod)):
        return v.__func__
    return v.fget if isinstance(v, property) and v.fget is not None else v


#: Packages whose classes :func:`find` does not look into.
_LIBRARIES = frozenset({"builtins", "numpy", "torch", "jax", "jaxlib", "gradcheck", "functools"})


def _has_attributes(obj: Any) -> bool:
    """Whether ``obj`` is an object with attributes of its own (not a class or module)."""
    return hasattr(obj, "__dict__") and not isinstance(obj, (type, types.ModuleType))


def _followed(obj: Any) -> bool:
    """Whether :func:`find` looks into ``obj``: functions, methods and partials, models,
    small containers (:data:`CONTAINER_ITEMS`), and the user's own classes and objects
    (a library's, a tensor or an optimizer, keep no generator of the user's)."""
    if isinstance(obj, (types.FunctionType, types.MethodType, functools.partial)):
        return True
    if isinstance(obj, (contextvars.ContextVar, property, weakref.ref, types.GeneratorType)):
        return True
    if isinstance(obj, np.ndarray):
        return obj.dtype == object and obj.size <= CONTAINER_ITEMS
    if isinstance(obj, types.BuiltinMethodType):
        return not isinstance(obj.__self__, types.ModuleType) and obj.__self__ is not None
    if isinstance(obj, types.ModuleType):
        return _users_module(obj)
    if isinstance(obj, (*_CONTAINERS, dict)):
        return len(obj) <= CONTAINER_ITEMS
    if isinstance(obj, type):
        return _users(obj)
    if _is_model(obj):
        return True
    if not _users(type(obj)):
        return False
    return _has_attributes(obj) or any(hasattr(obj, n) for n in _slot_names(type(obj)))


def _users(owner: type | types.FunctionType) -> bool:
    """Whether ``owner`` (a class or function) is defined outside the libraries
    :func:`find` does not look into."""
    return str(getattr(owner, "__module__", "")).split(".")[0] not in _LIBRARIES


def _is_model(obj: Any) -> bool:
    """Whether ``obj`` is a torch module (it has ``modules()`` and ``_modules``)."""
    kind = type(obj)  # the class, not the object: a tensor's failed lookups cost 20 µs
    return callable(getattr(kind, "modules", None)) and "_modules" in getattr(obj, "__dict__", ())


def reachable(*owners: Any, depth: int = DEPTH) -> list[Any]:
    """Every object ``owners`` keep, down to ``depth`` levels (module text), each once,
    in the order found; at most :data:`VISITS` objects are looked into. An object that
    cannot be looked into (a dead ``weakref.proxy`` raises ``ReferenceError`` at any
    touch, attack27 H49) is passed over and left out."""
    found: dict[int, Any] = {}
    seen: set[int] = set()
    level = list(owners)
    for _ in range(depth):
        below: list[Any] = []
        for obj in level:
            if id(obj) in seen or len(seen) >= VISITS:
                continue
            seen.add(id(obj))
            try:
                if _is_model(obj):  # its submodules are looked into with it, once
                    seen.update(id(m) for m in obj.modules())
                items = list(_inside(obj))
            except Exception:  # the user's object, not ours to judge
                continue
            for item in items:
                try:
                    followed = _followed(item)
                except Exception:  # as above, for one item
                    continue
                found.setdefault(id(item), item)
                if followed:
                    below.append(item)
        level = below
    return list(found.values())


def find(*owners: Any, depth: int = DEPTH) -> list[Any]:
    """The generators ``owners`` keep (:func:`reachable`), each once, in the order found."""
    return generators(reachable(*owners, depth=depth))


def generators(objects: Iterable[Any]) -> list[Any]:
    """The generators among ``objects`` (what :func:`reachable` found), in their order."""
    return [item for item in objects if _handle(item) is not None]


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
