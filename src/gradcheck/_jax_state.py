"""The user's objects as a traced ``fn`` found them: no leaked tracer (attack27 H42).

JAX traces a function to transform it (``jax.jit``, ``jax.make_jaxpr`` for the float64
route, ``jax.grad``, ``jax.vmap``). A Python side effect of the user's function runs
with the tracers then: ``self.last = loss`` leaves a tracer in the user's object, and
``self.key, sub = jax.random.split(self.key)`` leaves one that every later call trips
on (``UnexpectedTracerError``), during the check and after it. ``check_grads``
evaluates eagerly and leaves concrete values there.

:class:`Kept` wraps the user's function: after every call it puts back each attribute
that now holds a tracer (directly, or in a list, tuple or dict) to what it held before
the call, on the objects the function keeps (a bound method's object, its closure and
defaults, a ``partial``'s arguments, and one level below each:
``gradcheck._user_rng``'s search). Concrete values a call leaves (an eager
evaluation's loss, a moved key) are the user's code's own doing, as with
``check_grads``. An object reachable only deeper, or a module global the function
assigns, is not found.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from gradcheck._user_rng import DEPTH, _has_attributes, _inside

__all__ = ["Kept", "holders"]


def holders(fn: Any, depth: int = DEPTH) -> list[Any]:
    """The objects with attributes of their own that ``fn`` keeps, each once."""
    found: dict[int, Any] = {}
    seen: set[int] = set()
    level = [fn]
    for _ in range(depth):
        below: list[Any] = []
        for obj in level:
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            for item in _inside(obj):
                if _has_attributes(item) and not callable(item):
                    found.setdefault(id(item), item)
                if callable(item) or _has_attributes(item):
                    below.append(item)
        level = below
    return list(found.values())


def _traced(value: Any) -> bool:
    """Whether ``value`` is a tracer, or a list, tuple or dict holding one."""
    if isinstance(value, jax.core.Tracer):
        return True
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return any(isinstance(x, jax.core.Tracer) for x in value)
    return False


class Kept:
    """``fn``, putting back after every call the attributes it left a tracer in."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.objects = holders(fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        saved = [(obj, dict(vars(obj))) for obj in self.objects]
        try:
            return self.fn(*args, **kwargs)
        finally:
            for obj, before in saved:
                for name, value in list(vars(obj).items()):
                    if not _traced(value):
                        continue
                    if name in before and not _traced(before[name]):
                        setattr(obj, name, before[name])
                    else:
                        delattr(obj, name)
