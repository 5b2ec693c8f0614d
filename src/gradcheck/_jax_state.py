"""The user's objects as a traced ``fn`` found them: no leaked tracer (attack27 H42).

JAX traces a function to transform it (``jax.jit``, ``jax.make_jaxpr`` for the float64
route, ``jax.grad``, ``jax.vmap``). A Python side effect of the user's function runs
with the tracers then: ``self.last = loss`` leaves a tracer in the user's object, and
``self.key, sub = jax.random.split(self.key)`` leaves one that every later call trips
on (``UnexpectedTracerError``), during the check and after it.

:class:`Kept` wraps the user's function: after every call it puts back each attribute
that now holds a tracer (directly, or in a list, tuple or dict) to what it held before
the call, on the objects the function keeps (a bound method's object, its closure and
defaults, a ``partial``'s arguments, and below: ``gradcheck._user_rng``'s search),
and a random key it replaced. Other concrete values a call leaves (an eager
evaluation's loss) are the user's code's own doing, as with ``check_grads``. An
object reachable only deeper, or a module global the function assigns, is not found.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from gradcheck._user_rng import DEPTH, _has_attributes, _users, reachable

__all__ = ["Kept", "holders"]


def holders(fn: Any, depth: int = DEPTH) -> list[Any]:
    """The user's objects with attributes of their own that ``fn`` keeps, each once
    (``gradcheck._user_rng.reachable``: a library's objects, JAX's own among them, are
    neither kept nor looked into; at most ``VISITS`` objects)."""
    return [
        item
        for item in reachable(fn, depth=depth)
        if _has_attributes(item) and not callable(item) and _users(type(item))
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


def _contents(value: Any) -> Any:
    """A shallow copy of a list's or dict's contents (what a call may change in place)."""
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return None


class Kept:
    """``fn``, putting back after every call the attributes it left a tracer in.

    An attribute the call made that holds a tracer is removed; one it rebound is put
    back; a list or dict it filled in place (``self.history.append(loss)``,
    ``self.log["last"] = loss``) gets its contents back (attack28 H60: it was deleted,
    and the next evaluation raised). An attribute that held a tracer before the call
    is left as it is. A JAX random key the call replaced (``self.key, sub =
    jax.random.split(self.key)``) is put back, as the user's torch and NumPy generators
    are reset (``gradcheck._user_rng``): each evaluation draws the same numbers, and
    the key is where it was after the check (attack28 H64: it had moved).
    """

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.objects = holders(fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        saved = [
            (obj, {name: (value, _contents(value)) for name, value in vars(obj).items()})
            for obj in self.objects
        ]
        try:
            return self.fn(*args, **kwargs)
        finally:
            for obj, before in saved:
                for name, value in list(vars(obj).items()):
                    if _traced(value):
                        _put_back(obj, name, value, before.get(name))
                    elif name in before and _key(before[name][0]) and value is not before[name][0]:
                        setattr(obj, name, before[name][0])  # a key it split (attack28 H64)


def _put_back(obj: Any, name: str, value: Any, before: tuple[Any, Any] | None) -> None:
    """Put ``obj.name``, now holding a tracer, back as it was (``before``: its value
    and its contents then; ``None``: the call made it)."""
    if before is None:
        delattr(obj, name)
        return
    old, contents = before
    if old is not value:
        if not _traced(old):
            setattr(obj, name, old)
    elif isinstance(value, list) and contents is not None:
        value[:] = contents
    elif isinstance(value, dict) and contents is not None:
        value.clear()
        value.update(contents)
