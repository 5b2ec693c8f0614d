"""Saving and restoring the global random generators around the user's code.

NumPy's legacy global generator, Python's ``random`` and (where the user imported it)
torch's: :class:`GlobalRng` saves the first two and says whether they moved;
:func:`preserve_rng` saves all three and puts them back on exit, also when the code
inside raises; inside it, :func:`fresh_draws` gives code called many times (a VJP per
Jacobian row) the saved states at every call, at a fraction of a nested save's cost.

>>> import numpy as np
>>> with preserve_rng() as saved:
...     _ = np.random.rand()
...     saved.moved()
True
>>> saved.moved()  # put back on exit
False
"""

from __future__ import annotations

import ctypes
import random
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from gradcheck._interrupts import put_back
from gradcheck._user_rng import UserGenerators, activated, active, find

__all__ = ["GlobalRng", "fresh_draws", "preserve_rng"]


#: Bytes of the legacy generator's MT19937 state, ``{uint32 key[624]; int pos;}``.
_MT_BYTES = 624 * 4 + 4


def _mt_raw() -> tuple[int, bytes] | None:
    """The global NumPy generator's MT19937 state as raw bytes (key and position), with
    its address; ``None`` where NumPy does not expose it.

    About 1 µs, where ``np.random.get_state()`` copies the key word by word (50 to
    250 µs here, and a check took up to 9 of them).
    """
    try:
        bitgen = np.random.get_state.__self__._bit_generator  # type: ignore[attr-defined]
        address = int(bitgen.ctypes.state_address)
    except (AttributeError, TypeError):
        return None
    return address, ctypes.string_at(address, _MT_BYTES)


class GlobalRng:
    """The global NumPy and ``random`` states, saved when this is made.

    :meth:`restore` puts both back exactly; :meth:`reset` does the same for a cost
    that left them as saved or drew from them; :meth:`moved` says whether either has
    changed since. Evaluators reset only once a cost has been seen to draw from them
    (see ``gradcheck._evaluate.SerialEvaluator``).

    NumPy's legacy state is its MT19937 key and position plus a cached Gaussian
    (``has_gauss``, ``gauss``). :meth:`moved` and :meth:`reset` compare the key and
    position as raw bytes (:func:`_mt_raw`) when no Gaussian was cached at the save:
    any draw advances the position or regenerates the key, and a cached Gaussian is
    only ever made by drawing. The one change the bytes do not show, a
    ``set_state`` to the saved key and position with a Gaussian cached, is undone by
    :meth:`restore` (what :func:`preserve_rng` calls on exit, always), which puts the
    full state back. Where the raw bytes do not read as ``get_state``'s key and
    position (another NumPy layout) the full state is compared.
    """

    def __init__(self, generators: UserGenerators | None = None) -> None:
        self.user = generators if generators is not None else UserGenerators(active())
        state: Any = np.random.get_state()
        self.np_state = state
        self.py_state = random.getstate()
        raw = _mt_raw()
        key = np.asarray(state[1], dtype=np.uint32).tobytes()
        pos = int(state[2]).to_bytes(4, sys.byteorder, signed=True)
        exact = raw is not None and raw[1] == key + pos and state[3] == 0
        self._raw = raw if exact else None

    def _np_moved(self) -> bool:
        if self._raw is not None:
            return _mt_raw() != self._raw
        now: Any = np.random.get_state()
        saved = self.np_state
        return now[0] != saved[0] or now[2:] != saved[2:] or not np.array_equal(now[1], saved[1])

    def restore(self) -> None:
        """Put both generators back to the saved states, in full."""
        np.random.set_state(self.np_state)
        random.setstate(self.py_state)
        self.user.reset()

    def reset(self) -> None:
        """Put both generators back to the saved states (NumPy's only if it moved)."""
        if self._np_moved():
            np.random.set_state(self.np_state)
        random.setstate(self.py_state)
        self.user.reset()

    def moved(self) -> bool:
        """Whether either generator's state differs from the saved one."""
        return self._np_moved() or random.getstate() != self.py_state or self.user.moved()


def _torch_rng() -> Callable[[], None] | None:
    """What puts torch's global RNGs back as they are now; ``None`` without torch.

    Only where the user imported torch (a cost may call a torch loss and ``.item()``):
    its CPU generator, and the CUDA devices' where CUDA is already initialised (reading
    them would initialise it).
    """
    torch = sys.modules.get("torch")
    if torch is None or not hasattr(torch, "get_rng_state"):
        return None
    cpu = torch.get_rng_state()
    cuda = torch.cuda
    devices = range(cuda.device_count()) if cuda.is_initialized() else range(0)
    states = [(d, cuda.get_rng_state(d)) for d in devices]

    def restore() -> None:
        torch.set_rng_state(cpu)
        for device, state in states:
            cuda.set_rng_state(state, device)

    return restore


@contextmanager
def preserve_rng(
    outer: GlobalRng | None = None,
    owners: tuple[Any, ...] = (),
    found: Sequence[Any] | None = None,
) -> Iterator[GlobalRng]:
    """Save NumPy's, Python's and (where imported) torch's global RNG states; restore
    them on exit, always. With ``owners`` (the user's cost, model, loss), also the
    generators they keep (``gradcheck._user_rng``: a ``default_rng`` in a closure, a
    ``torch.Generator`` on a model).

    Yields the saved :class:`GlobalRng`, so that a cost drawing random numbers from
    the global generators (dropout, sampling) can be given the same draws at every
    evaluation. Inside another ``preserve_rng``, ``outer`` (what that one yielded)
    serves as the save when the generators have not moved from it: they are then
    exactly its states (:meth:`GlobalRng.moved`), and putting them back is a
    :meth:`GlobalRng.reset` (the outer one restores them in full on its own exit).
    ``found``: the generators ``owners`` keep, where the caller has found them already.
    """
    found = find(*owners) if found is None else list(found)
    reuse = outer is not None and not outer.moved() and not found
    saved = outer if outer is not None and reuse else GlobalRng(UserGenerators([*active(), *found]))
    torch_rng = _torch_rng()
    errors = np.geterr()
    try:
        with activated(found):
            yield saved
    finally:  # every step to its end, also when Ctrl-C lands in one (_interrupts)

        def errstate() -> None:
            if np.geterr() != errors:
                # a Ctrl-C inside ``np.errstate.__enter__`` (NumPy sets its context
                # variable before it keeps the token) leaves the check's error handling
                # in place: the user's overflow warnings silenced (attack29 H71: 2/400)
                np.seterr(**errors)

        put_back(saved.reset if reuse else saved.restore, torch_rng or (lambda: None), errstate)


@contextmanager
def fresh_draws(saved: GlobalRng) -> Iterator[None]:
    """Inside :func:`preserve_rng` (``saved`` what it yielded): the generators reset to
    ``saved`` before the code inside and again after it, also when it raises; torch's
    global RNGs (where imported) put back as they were before it.

    Every call so sees the same draws, and leaves the generators as the check saved
    them. What a nested ``preserve_rng(saved)`` gives, less its comparison of the
    states and its new save: about 30 µs a call against 200 to 300 µs (the
    comparison reads Python's ``random`` state, a 625-tuple), which for the ``m`` VJPs
    of a full Jacobian check was the size of torch's whole slow-mode backward pass.
    The outer ``preserve_rng`` still restores everything in full on its exit.
    """
    saved.reset()
    torch_rng = _torch_rng()
    try:
        yield
    finally:
        saved.reset()
        if torch_rng is not None:
            torch_rng()
