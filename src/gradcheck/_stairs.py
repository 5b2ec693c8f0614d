"""Staircases: costs whose slope at the step is not their slope below it.

A quantiser (``round(x·K)/K``, ``torch.round(x, decimals=3)``) is piecewise constant:
its derivative is 0 between its stairs, while a step that spans several stairs
measures the slope across them, a smooth-looking estimate with a small Richardson
spread. Three rules keep such a cost from failing a right gradient (attack27 H48):

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
3. **Stairs narrower than float64's steps** (:func:`_below_stairs`). Where rule 2's
   float64 comparison finds some of them wrong too (stairs of 1e-7 beside float64's
   steps of 5e-6), they are measured between the stairs, at ``h/4096`` of float64's
   first step and 8 times smaller, with float64's round-off as noise. One claim ``ok``
   at both, with estimates that agree and move, and none wrong at either, is the
   evidence: a stage's values do not move there (a nonzero claim is wrong against them;
   a zero claim's agreement with differences of exactly 0 proves nothing). The entries
   not wrong there are ``uncertain``, named in a note.
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
from gradcheck._kinks import exact_steps
from gradcheck._numerics import Method
from gradcheck._steps import steps
from gradcheck._tolerances import unit_roundoff

__all__ = ["Between", "between_stairs", "confirmed"]

Array = np.ndarray[Any, Any]
#: A parameter's records: its name, value, comparison and checked entries.
Record = tuple[str, Array, cmp.Comparison, Array]
#: ``between(i, idx, h, floor)``: parameter ``i``'s entries ``idx`` compared in float64 at
#: steps ``h`` between the stairs, on a gradient scale of at least ``floor`` (rule 3).
Between = Callable[[int, Array, Array, float], cmp.Comparison]
_NONE = np.empty(0, dtype=np.intp)


def confirmed(
    ev: Evaluator, s: Setting, e: Entries, comp: cmp.Comparison, name: str
) -> cmp.Comparison:
    """Rule 1: entries of ``e`` (compared in ``comp``) judged ``wrong`` whose estimate a
    smaller step contradicts, and a note naming ``name`` (none without a name)."""
    if s.method != "central":
        return comp
    measure = rechecks.measurer(ev, s, e, comp.scale)
    # the round-off each comparison allows for, floored at the dtype's as theirs is
    # (``value_noise``): a float16 stage's steps see u16·|J|, not the probe's noise, and
    # 8 times that at h/8 is no truncation (attack32 H112)
    sigma = max(s.sigma, unit_roundoff(s.dtype(e.leaf)) * abs(s.j0))
    noise = cmp.roundoff(s.method, sigma, e.h)
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
    records: list[Record],
    work: Any,
    check: Callable[[int, Array], cmp.Comparison],
    method: Method = "central",
    between: Between | None = None,
) -> tuple[list[Record], tuple[str, ...]]:
    """Rules 2 and 3: each parameter's ``wrong`` entries, judged with ``work``'s steps,
    compared again by ``check(i, idx)`` (parameter ``i``'s entries ``idx`` in float64);
    those it does not find wrong are ``uncertain`` (``method``: the check's, whose
    float64 steps ``check`` compares at first). First :data:`~gradcheck._sharp.CONFIRM`
    of them: where one is wrong there too, or none agrees there, the parameter keeps its
    verdicts (or rule 3's, with ``between``: :func:`_below_stairs`); else every one is
    compared.

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
        first_h = steps(np.real(leaf.reshape(-1)), method, None, np.float64)[idx[wrong]]
        fine_first = check(i, idx[wrong[: sharp.CONFIRM]])
        first = fine_first.status
        # evidence needed: one claim that matches the slope between the stairs (ok, or
        # to the last bit: 0 against differences of exactly 0, whose scale is none),
        # and none that is wrong there too (a stage's wrong gradient mostly is)
        agrees = (first == "ok") | (fine_first.abs_error == 0)
        unsure = _NONE
        if not np.any(first == "wrong") and np.any(agrees):
            fine = first != "wrong"
            if wrong.size > sharp.CONFIRM:
                rest = check(i, idx[wrong[sharp.CONFIRM :]]).status != "wrong"
                fine = np.concatenate([fine, rest])
            unsure = wrong[fine]
            how = "at float64's steps between them"
        elif between is not None and method == "central":
            theta = np.real(leaf.reshape(-1))[idx[wrong]]
            fine = _below_stairs(i, idx[wrong], theta, first_h, comp.scale, between)
            unsure = wrong[fine]
            how = (
                f"at steps {sharp.FINER**sharp.LEVELS:g} times smaller than float64's, "
                "which the stairs are wider than"
            )
        if unsure.size:
            comp = comp.subset(np.arange(comp.status.size))
            comp.status[unsure] = "uncertain"
            notes.append(
                f"{name}: {unsure.size} entries are wrong at {name_of}'s steps, which span "
                "the cost's stairs (its values repeat or jump at float64's: a quantiser "
                f"such as round or floor, or a {name_of} stage), but not {how}: there "
                "the claim matches the cost's slope, a quantiser's derivative but not a "
                "low-precision stage's gradient (the slope across the stairs), which "
                "differences cannot tell apart, so they are left unresolved"
            )
        out.append((name, leaf, comp, idx))
    return out, tuple(notes)


def _below_stairs(
    i: int, ids: Array, theta: Array, first_h: Array, scale: float, between: Between
) -> Array:
    """Rule 3: which of parameter ``i``'s wrong entries ``ids`` (values ``theta``, float64
    first steps ``first_h``) are not wrong between the stairs, where the evidence holds.

    Measured at :data:`~gradcheck._sharp.LEVELS` levels below the first step
    (``h/4096``), then :data:`~gradcheck._sharp.FINER` times smaller, on a gradient
    scale of at least ``scale``: evidence is one claim ``ok`` at both with estimates
    that agree and move (a stage's values do not move there: differences of exactly 0
    are no evidence), and none ``wrong`` at either (a stage's wrong claim is wrong
    against its flat values). First :data:`~gradcheck._sharp.CONFIRM`; the rest, where
    the evidence holds, at the first of the two steps.
    """
    none = np.zeros(ids.size, dtype=bool)
    t1 = exact_steps(theta, first_h / sharp.FINER**sharp.LEVELS, np.float64)
    k = np.flatnonzero(t1[: sharp.CONFIRM] > 0)
    if not k.size:
        return none
    c1 = between(i, ids[k], t1[k], scale)
    ok1 = (c1.status == "ok") & (c1.numeric != 0) & ~c1.exact
    if np.any(c1.status == "wrong") or not np.any(ok1):
        return none
    t2 = exact_steps(theta[k], t1[k] / sharp.FINER, np.float64)
    ok1 &= t2 > 0
    if not np.any(ok1):
        return none
    c2 = between(i, ids[k[ok1]], t2[ok1], scale)
    agree = sharp.agree(c2, c1.subset(ok1)) & (c2.numeric != 0) & ~c2.exact
    if np.any(c2.status == "wrong") or not np.any(agree):
        return none
    fine = np.zeros(ids.size, dtype=bool)
    fine[k] = True
    rest = np.flatnonzero(t1 > 0)
    rest = rest[rest >= sharp.CONFIRM]
    if rest.size:
        fine[rest] = between(i, ids[rest], t1[rest], scale).status != "wrong"
    return np.asarray(fine, dtype=bool)
