"""Staircases: costs whose slope at the step is not their slope below it.

A quantiser (``round(x·K)/K``, ``torch.round(x, decimals=3)``) is piecewise constant:
its derivative is 0 between its stairs, while a step that spans several stairs
measures the slope across them, a smooth-looking estimate with a small Richardson
spread. Two rules keep such a cost from failing a right gradient (attack27 H48):

1. **Confirmed wrong** (:func:`confirmed`). An entry judged ``wrong`` at its step is
   measured again at a step :data:`~gradcheck._sharp.FINER` times smaller
   (``gradcheck._sharp.confirm``). A cost smooth on the scale of the step gives an
   estimate there within both allowances, with 64 times less truncation; one that
   lies further off, or whose spread there is truncation or a kink, is no smooth
   cost's, and the entry is judged only where two smaller steps agree, else left
   ``uncertain``. A wrong gradient pays 8 such checks per parameter.
2. **Stairs read as noise** (:func:`between_stairs`). A float64 cost whose values
   repeat at float64's probe, or are as noisy as a low-precision stage's, is judged
   with that stage's steps (``gradcheck._precision``), which span many stairs. Its
   ``wrong`` entries are compared again in float64 (the float64 probe's noise and
   steps, rule 1 included; 8 first). Where that comparison finds some of them right
   and none wrong (a stage's wrong gradient is mostly wrong there too), the claim
   matches the cost between its stairs, which is a quantiser's derivative but not a
   low-precision stage's gradient (the slope across them), and no difference can tell
   the two apart: the entries not wrong there are ``uncertain``, named in a note.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gradcheck import _compare as cmp
from gradcheck import _rechecks as rechecks
from gradcheck import _sharp as sharp
from gradcheck._entries import Entries, Setting
from gradcheck._evaluate import Evaluator

__all__ = ["between_stairs", "confirmed"]

Array = np.ndarray[Any, Any]
#: A parameter's records: its name, value, comparison and checked entries.
Record = tuple[str, Array, cmp.Comparison, Array]


def confirmed(
    ev: Evaluator, s: Setting, e: Entries, comp: cmp.Comparison, name: str
) -> cmp.Comparison:
    """Rule 1: entries of ``e`` (compared in ``comp``) judged ``wrong`` whose estimate a
    smaller step contradicts, and a note naming ``name`` (none without a name)."""
    if s.method != "central":
        return comp
    measure = rechecks.measurer(ev, s, e, comp.scale)
    noise = cmp.roundoff(s.method, s.sigma, e.h)
    out, n = sharp.confirm(comp, e.theta, e.h, s.dtype(e.leaf), noise, measure)
    if not n or not name:
        return out
    note = (
        f"{name}: {n} entries' slope at a step {sharp.FINER:g} times smaller contradicts "
        "the one at their step (a staircase, or a feature narrower than the step): they "
        "are judged where two smaller steps agree, else left unresolved"
    )
    return rechecks.noted(out, note)


def between_stairs(
    records: list[Record], work: Any, check: Callable[[int, Array], cmp.Comparison]
) -> tuple[list[Record], tuple[str, ...]]:
    """Rule 2: each parameter's ``wrong`` entries, judged with ``work``'s steps,
    compared again by ``check(i, idx)`` (parameter ``i``'s entries ``idx`` in float64);
    those it does not find wrong are ``uncertain``. First :data:`~gradcheck._sharp.CONFIRM`
    of them: where one is wrong there too, or none agrees there, the parameter keeps its
    verdicts; else every one is compared.

    Returns:
        The records, and a note per parameter with entries left unresolved.
    """
    out, notes = [], []
    name_of = np.dtype(work).name
    for i, (name, leaf, comp, idx) in enumerate(records):
        wrong = np.flatnonzero(comp.status == "wrong")
        if not wrong.size:
            out.append((name, leaf, comp, idx))
            continue
        fine_first = check(i, idx[wrong[: sharp.CONFIRM]])
        first = fine_first.status
        # evidence needed: one claim that matches the slope between the stairs (ok, or
        # to the last bit: 0 against differences of exactly 0, whose scale is none),
        # and none that is wrong there too (a stage's wrong gradient mostly is)
        agrees = (first == "ok") | (fine_first.abs_error == 0)
        if np.any(first == "wrong") or not np.any(agrees):
            out.append((name, leaf, comp, idx))
            continue
        fine = first != "wrong"
        if wrong.size > sharp.CONFIRM:
            rest = check(i, idx[wrong[sharp.CONFIRM :]]).status != "wrong"
            fine = np.concatenate([fine, rest])
        unsure = wrong[fine]
        if unsure.size:
            comp = comp.subset(np.arange(comp.status.size))
            comp.status[unsure] = "uncertain"
            notes.append(
                f"{name}: {unsure.size} entries are wrong at {name_of}'s steps, which span "
                "the cost's stairs (its values repeat or jump at float64's: a quantiser "
                f"such as round or floor, or a {name_of} stage), but not at float64's "
                "steps between them: there the claim matches the cost's slope, a "
                "quantiser's derivative but not a low-precision stage's gradient (the "
                "slope across the stairs), which differences cannot tell apart, so they "
                "are left unresolved"
            )
        out.append((name, leaf, comp, idx))
    return out, tuple(notes)
