"""Arrays and dicts the user's code keeps, put back after a check (attack31 H93).

A cost may write into state it keeps: CS231n's ``batchnorm_forward`` in train mode
updates ``bn_param["running_mean"]`` and ``["running_var"]`` at every call (a new
array in the dict, or ``running_mean *= momentum`` in place). A check calls the cost a
hundred times, and the running statistics were left at about the batch mean. The
torch adapter keeps a model's buffers (``gradcheck._torch_state``); this does the same
for the NumPy arrays and plain dicts the cost and the gradient function reach
(``gradcheck._user_walk.reachable``: closures, defaults, globals their code names, the
user's objects, small containers): :class:`Kept` saves them when made and
:meth:`Kept.restore` puts back what changed.

Saved: every writeable NumPy array (its values) until :data:`SAVED_BYTES` or
:data:`SAVED_ARRAYS` arrays are held (the nearest to the cost first),
and the array entries of every plain ``dict`` of up to ``CONTAINER_ITEMS`` items (an
array entry replaced, added or removed is put back as it was). Larger arrays (a dataset
the cost reads) are not copied; a cost that writes into one leaves it written. Other
entries and lists are left as the calls leave them, as the torch adapter leaves a
counter outside the model: a call counter counts the check's calls, a loss history
grows (tests/test_float64_route.py counts evaluations with a dict).

>>> import numpy as np
>>> state = {"running_mean": np.zeros(2)}
>>> def cost(x):
...     state["running_mean"] = 0.9 * state["running_mean"] + 0.1 * x
...     return float(x @ x)
>>> kept = Kept(reachable(cost))
>>> _ = cost(np.ones(2))
>>> kept.restore()
>>> state["running_mean"]
array([0., 0.])
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from gradcheck._user_walk import CONTAINER_ITEMS, reachable  # noqa: F401 (doctest)

__all__ = ["SAVED_ARRAYS", "SAVED_BYTES", "Kept"]

Array = np.ndarray[Any, Any]

#: The most bytes of the user's arrays one check copies (the running statistics of a
#: few layers take kilobytes; a dataset held by the cost is only read, not copied).
SAVED_BYTES = 64 * 2**20

#: The most arrays one check saves, the nearest the cost first (the walk's order): a
#: cost's state is a few arrays; a dataset of 7*10^4 small arrays the cost names was
#: saved whole and compared at the end, 16 s a check on a loaded machine (attack34 H132).
SAVED_ARRAYS = 1024


class Kept:
    """The dicts and arrays among ``objects`` (what :func:`~gradcheck._user_walk.reachable`
    found from the cost and the gradient function: module text), saved when this is
    made. The engine walks once for these and for the generators."""

    def __init__(self, objects: Iterable[Any]) -> None:
        objects = list(objects)
        self._dicts = [
            (d, dict(d)) for d in objects if type(d) is dict and len(d) <= CONTAINER_ITEMS
        ]
        self._arrays: list[tuple[Array, Array]] = []
        budget = SAVED_BYTES
        for a in objects:
            if len(self._arrays) == SAVED_ARRAYS:
                break
            if _saved(a) and a.nbytes <= budget:
                self._arrays.append((a, a.copy()))
                budget -= a.nbytes

    def restore(self) -> None:
        """Put back every saved array's values that changed, and every dict entry that
        holds an array now or held one when saved (other entries, a call counter, are
        the user's to keep)."""
        for d, items in self._dicts:
            for k in [k for k, v in d.items() if k not in items and _saved(v)]:
                del d[k]  # an array entry the check's calls added
            for k, v in items.items():
                if _saved(v) and d.get(k, None) is not v:
                    d[k] = v
        for a, values in self._arrays:
            if not _same_bits(a, values):
                np.copyto(a, values)


#: Unsigned integer dtypes by item size: a saved array is compared as these, bit for bit.
_BITS = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def _same_bits(a: Array, saved: Array) -> bool:
    """Whether ``a`` holds exactly ``saved``'s values, bit for bit: a ``-0.0`` written
    over ``0.0`` or another NaN payload is a change, put back. Numbers and booleans of
    1, 2, 4 or 8 bytes are compared as unsigned integers of their size (one pass, about
    0.9 ms per 10⁶ float64 entries; ``np.array_equal(equal_nan=True)`` took 10 ms, 4 of
    them in a directional check of the benchmark's MLP); complex numbers part by part
    the same way (a ``-0.0`` real part of a complex64 was not put back, mut36); other
    dtypes (strings, long doubles) with ``np.array_equal``."""
    x, y = np.asarray(a), np.asarray(saved)
    if x.shape != y.shape:
        return False
    if x.dtype.kind == "c" and x.dtype == y.dtype:
        return _same_bits(x.real, y.real) and _same_bits(x.imag, y.imag)
    bits = _BITS.get(x.dtype.itemsize) if x.dtype.kind in "biufmM" else None
    if bits is None:
        return bool(np.array_equal(x, y, equal_nan=x.dtype.kind in "fc"))
    return bool((x.view(bits) == y.view(bits)).all())


def _saved(a: Any) -> bool:
    """Whether ``a`` is an array :class:`Kept` saves (writeable, not of objects)."""
    return isinstance(a, np.ndarray) and a.flags.writeable and a.dtype != object
