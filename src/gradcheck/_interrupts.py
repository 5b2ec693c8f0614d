"""Putting the user's state back all the way, also when Ctrl-C lands in the middle.

A check ends by putting back what it moved: the user's generators
(``gradcheck._user_rng``), the arrays and dicts the cost wrote into
(``gradcheck._user_arrays``), the global RNG states (``gradcheck._rng``). Those run in
``finally`` blocks, one after another. A ``KeyboardInterrupt`` raised inside one of them
(Ctrl-C is delivered at the next bytecode, wherever that is) stopped it there and
skipped every one after it: the generators put back, the arrays not.

:func:`put_back` runs the steps given, each to its end: a step that a
``KeyboardInterrupt`` stops is run again (every step sets saved values, so running it
twice is running it once), and the interrupt is raised again after the last step. What
it cannot cover is an interrupt that lands in its own few bytecodes before the first
step starts.

>>> done = []
>>> put_back(lambda: done.append("generators"), lambda: done.append("arrays"))
>>> done
['generators', 'arrays']
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["put_back"]


def put_back(*steps: Callable[[], object]) -> None:
    """Run every step of ``steps`` to its end, in order; a step a ``KeyboardInterrupt``
    stops is run again, and the (first) interrupt is raised after the last step.

    Raises:
        KeyboardInterrupt: after every step ran, if one arrived meanwhile.
        Exception: what a step raised (the steps after it still run first).
    """
    interrupted: KeyboardInterrupt | None = None
    failed: Exception | None = None
    done = 0
    while done < len(steps):
        try:
            while done < len(steps):
                try:
                    steps[done]()
                except Exception as exc:  # raised after the other steps ran
                    failed = failed or exc
                done += 1  # an interrupt before this runs the step again: harmless
        except KeyboardInterrupt as interrupt:
            interrupted = interrupted or interrupt
    if interrupted is not None:
        raise interrupted
    if failed is not None:
        raise failed
