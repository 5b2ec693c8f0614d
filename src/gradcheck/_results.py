"""The records a report is made of: one compared entry, a diagnosis, one parameter's result.

Frozen dataclasses of plain data; :class:`gradcheck._report.Report` holds them and
round-trips them through :meth:`~gradcheck.Report.to_dict` and JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

__all__ = ["Diagnosis", "Entry", "EntryStatus", "ParameterResult", "Status", "entry_label"]

Status = Literal["passed", "failed", "inconclusive"]
#: Per-entry outcome: ``ok`` (agrees), ``wrong`` (disagrees beyond the tolerance and
#: the estimated finite-difference error), ``nonsmooth`` (at a kink: one-sided
#: derivatives differ and the analytic value lies between them; kept out of the
#: verdict) or ``uncertain`` (the finite-difference error is too large to tell).
EntryStatus = Literal["ok", "wrong", "nonsmooth", "uncertain"]


def entry_label(parameter: str, index: tuple[int, ...], part: str = "") -> str:
    """``"W1[2, 3]"`` for entry ``(2, 3)`` of ``W1``, or the bare name for a scalar;
    a complex entry's part follows: ``"z[3] (imag)"``."""
    label = f"{parameter}[{', '.join(map(str, index))}]" if index else parameter
    return f"{label} ({part})" if part else label


@dataclass(frozen=True)
class Entry:
    """One compared gradient entry.

    Attributes:
        parameter: the parameter's name, e.g. ``"W1"``.
        index: the entry's index in the parameter array (``()`` for a scalar).
        analytic: the gradient you supplied.
        numeric: the finite-difference estimate.
        abs_error: ``|analytic - numeric|``.
        rel_error: ``abs_error / max(|analytic|, |numeric|)`` (0 when both are 0).
        tolerance: the largest ``abs_error`` that counts as agreement.
        fd_error: the estimated error of ``numeric`` itself (0 when not estimated).
        status: see :data:`EntryStatus`.
        part: for a complex parameter, which part of entry ``index`` this is,
            ``"real"`` or ``"imag"`` (``gradcheck._complex``); ``""`` otherwise.
    """

    parameter: str
    index: tuple[int, ...]
    analytic: float
    numeric: float
    abs_error: float
    rel_error: float
    tolerance: float
    fd_error: float
    status: EntryStatus
    part: str = ""

    def label(self) -> str:
        """``"W1[2, 3]"``, the bare name for a scalar, ``"z[3] (imag)"`` for a part."""
        return entry_label(self.parameter, self.index, self.part)


@dataclass(frozen=True)
class Diagnosis:
    """Which common mistake explains a wrong parameter gradient.

    Attributes:
        kind: ``"unused"`` (the cost does not change with the parameter),
            ``"factor"``, ``"sign"``, ``"transpose"``, ``"conjugate"`` (a complex
            parameter's gradient is the conjugate of the right one), ``"zero"``,
            ``"swapped"`` or ``"scattered"`` (no simple pattern); Jacobian reports add
            ``"row"`` (one wrong output row), ``"column"`` (one wrong input column),
            ``"inconsistent"`` (two forms of one Jacobian disagree) and
            ``"not_holomorphic"`` (a complex ``jacobian=`` of a function that has no
            complex derivative).
        factor: for ``factor`` and ``sign``, the ``c`` with ``analytic ≈ c · numeric``.
        text: one sentence for a person.
    """

    kind: str
    factor: float | None
    text: str


@dataclass(frozen=True)
class ParameterResult:
    """The check of one parameter array.

    Attributes:
        name: the parameter's name.
        shape: its shape.
        dtype: its dtype, as a string.
        status: ``passed``, ``failed`` or ``inconclusive``.
        difference: the lesson's ‖g − g̃‖₂ / (‖g‖₂ + ‖g̃‖₂) over its checked entries.
        max_abs_error: the largest ``|analytic - numeric|`` among them.
        checked: how many entries were compared one by one (in ``directional`` mode,
            only the entries localisation probed alone, usually 0: directions compare
            combinations of entries).
        size: how many entries it has. A complex parameter counts real components
            (two per entry, ``size = 2·prod(shape)``), and so do ``checked``,
            ``failed``, ``nonsmooth`` and ``uncertain``.
        failed: how many entries are ``wrong``.
        nonsmooth: how many entries sit at a kink (excluded from the verdict).
        uncertain: how many entries could not be resolved.
        worst: its worst entries: ``wrong`` first, then ``uncertain``, ``nonsmooth``
            and ``ok``; within each, largest error relative to tolerance first.
        diagnosis: for a failed parameter, the mistake that fits, if any.
        detection_bound: the size of error this check vouches to catch, as a ratio.
            In the ``full`` and ``sample`` modes: an error ``|ε_i|`` at any one checked
            entry of at least ``detection_bound × max_j |g_j|`` (``g`` this parameter's
            analytic gradient over its checked entries; the model's largest entry where
            a message says the parameter's gradient is zero within round-off) makes the
            parameter ``failed``; it includes the finite differences' own error at each
            entry (truncation and round-off), not only the tolerance. In the
            ``directional`` mode it is the guarantee's ``ρ* = ‖s ⊙ ε‖ / ‖s ⊙ g‖`` (``s``
            the entry scales of the step rule, ``ε`` the error over the whole parameter):
            an error with a norm ratio of at least ρ* is caught with probability at
            least ``1 − miss_probability``. ``inf`` when it compared no entry, when the
            gradient is zero (directional), or when an entry is left at a kink
            (``nonsmooth``): no error there is known to be caught.
        precision: when the gradient could also be computed by the same formula in
            float64, the round-off of the gradient in the user's dtype:
            ``max |g_user − g_float64| / max |g_float64|``; ``None`` otherwise. It is a
            figure for the reader and does not enter the verdict.
        errors: per-entry ``|analytic − numeric|`` in the parameter's shape, NaN where
            not checked; kept in memory for pictures, left out of :meth:`Report.to_dict`.
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    status: Status
    difference: float
    max_abs_error: float
    checked: int
    size: int
    failed: int = 0
    nonsmooth: int = 0
    uncertain: int = 0
    worst: tuple[Entry, ...] = ()
    diagnosis: Diagnosis | None = None
    detection_bound: float = 0.0
    precision: float | None = None
    errors: np.ndarray[Any, Any] | None = field(default=None, repr=False, compare=False)
