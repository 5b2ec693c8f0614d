"""What kind of object the walk of a cost's objects meets (``gradcheck._user_walk``).

The user's own classes, functions and modules (a library's are not looked into), torch
models, objects with attributes or ``__slots__``, and the objects whose contents only
the garbage collector's references show (an ``lru_cache``, a C iterator).
"""

from __future__ import annotations

import functools
import sys
import types
from pathlib import PurePath
from typing import Any

from gradcheck._user_scan import LIBRARIES

__all__ = [
    "c_held",
    "has_attributes",
    "is_model",
    "slot_names",
    "slot_values",
    "users",
    "users_module",
]

#: The modules of the C iterators read through their references (``gc.get_referents``).
_ITERATOR_MODULES = frozenset({"builtins", "itertools", "_collections", "collections"})
_LRU_WRAPPER: type | None = getattr(functools, "_lru_cache_wrapper", None)


def c_held(obj: Any) -> bool:
    """Whether ``obj`` is an ``lru_cache`` wrapper or a C iterator (``itertools.cycle``,
    a list's iterator, ``map``): objects whose contents only the garbage collector's
    references show."""
    if _LRU_WRAPPER is not None and isinstance(obj, _LRU_WRAPPER):
        return True
    kind = type(obj)
    return (
        kind.__module__ in _ITERATOR_MODULES
        and hasattr(kind, "__next__")
        and not isinstance(obj, types.GeneratorType)
    )


def slot_values(obj: Any) -> list[Any]:
    """The values of ``obj``'s ``__slots__`` that are set, for the user's classes."""
    if not users(type(obj)):
        return []
    return [getattr(obj, n) for n in slot_names(type(obj)) if hasattr(obj, n)]


def slot_names(kind: type) -> list[str]:
    """The ``__slots__`` names of ``kind`` and its bases (``__dict__`` left out)."""
    names = []
    for cls in kind.__mro__:
        slots = vars(cls).get("__slots__", ())
        names += [slots] if isinstance(slots, str) else list(slots)
    return [n for n in names if n != "__dict__"]


def users_module(module: types.ModuleType) -> bool:
    """Whether ``module`` is the user's: neither a library's (named in
    :data:`~gradcheck._user_scan.LIBRARIES`, or installed under ``site-packages``) nor the standard
    library's."""
    top = module.__name__.split(".")[0]
    if top in LIBRARIES or top in sys.stdlib_module_names:
        return False
    where = getattr(module, "__file__", None)
    parts = PurePath(where).parts if isinstance(where, str) else ()
    return "site-packages" not in parts and "dist-packages" not in parts


def has_attributes(obj: Any) -> bool:
    """Whether ``obj`` is an object with attributes of its own (not a class or module)."""
    return hasattr(obj, "__dict__") and not isinstance(obj, (type, types.ModuleType))


def users(owner: type | types.FunctionType) -> bool:
    """Whether ``owner`` (a class or function) is defined outside the libraries
    ``gradcheck._user_walk.walk`` does not look into."""
    return str(getattr(owner, "__module__", "")).split(".")[0] not in LIBRARIES


def is_model(obj: Any) -> bool:
    """Whether ``obj`` is a torch module (it has ``modules()`` and ``_modules``)."""
    kind = type(obj)  # the class, not the object: a tensor's failed lookups cost 20 µs
    return callable(getattr(kind, "modules", None)) and "_modules" in getattr(obj, "__dict__", ())
