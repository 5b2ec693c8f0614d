"""NumPy's floating-point error handling: the checker's own, and the user's.

A user may run with ``np.seterr(all="raise")`` (hunting a NaN) or turn NumPy's
warnings into errors (``python -W error``, pytest's ``filterwarnings = error``). The
checker's own arithmetic underflows and overflows on purpose (a float16 cast of the
cost's values to read their rounding, the squares of differences of 1e-200), and raised
``FloatingPointError`` there (attack33 H126: any cost below about 6e-5). So a check
runs its own arithmetic with every floating-point error ignored, and the user's code
(the cost, the gradient, a batched cost) under the handling the user set.

>>> import numpy as np
>>> old = np.seterr(all="raise")
>>> with checker_errors():
...     with user_errors():
...         np.geterr()["under"]
...     float(np.float64(1e-300) * 1e-300)
'raise'
0.0
>>> _ = np.seterr(**old)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

import numpy as np

from gradcheck._interrupts import put_back

__all__ = ["checker_errors", "user_errors"]

#: The user's ``np.geterr()`` while a check runs; ``None`` outside one.
_USER: ContextVar[Any] = ContextVar("gradcheck_user_errors", default=None)


@contextlib.contextmanager
def checker_errors() -> Iterator[None]:
    """Ignore NumPy's floating-point errors inside, remembering the user's handling
    for :func:`user_errors`; a check inside a check (an adapter's call of the core)
    keeps the outer one's."""
    if _USER.get() is not None:
        yield
        return
    saved = np.geterr()
    tokens = []
    try:
        tokens.append(_USER.set(saved))
        with np.errstate(all="ignore"):
            yield
    finally:
        # both to their end, also when Ctrl-C lands in the first moments of a check,
        # between the errstate's own steps (it left "ignore" set in 1 run of some
        # hundreds there: the user's warnings silenced, state34's alarm probe)
        def user_back() -> None:
            for t in tokens:
                _USER.reset(t)

        put_back(user_back, lambda: np.seterr(**saved))


def user_errors() -> contextlib.AbstractContextManager[Any]:
    """The user's floating-point error handling, for a call of the user's code."""
    saved = _USER.get()
    return contextlib.nullcontext() if saved is None else np.errstate(**saved)
