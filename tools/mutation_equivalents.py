"""Surviving mutants that cannot change any result, each with its reason.

Keyed by mutmut's mutant name (``gradcheck.<module>.x_<function>__mutmut_<n>``, stable
for the mutmut version pinned in ``constraints.txt``); read by ``tools/mutate.py``.
A mutant belongs here only when no input can tell it from the original (for example a
changed default that every caller overrides); one that a test *could* notice is a gap
in the tests, not an entry here.
"""

from __future__ import annotations

#: ``<`` for ``<=`` in ``_factor_text``: they differ only when ``|c − k|`` (or
#: ``|1/c − j|``) equals ``FIT·|c|`` exactly in float64. ``c − k`` is exact (Sterbenz)
#: while ``FIT·c`` is rounded, and a search of ±20000 ulps around every boundary
#: ``k/(1 ± FIT)``, ``k = 2…500`` (and the same for ``1/c``) finds no such ``c``; past
#: 500, ``FIT·c > 0.5 ≥ |c − k|`` and both comparisons hold.
_FACTOR_EDGE = (
    "no float64 factor sits exactly on the FIT boundary of a whole number: a search of "
    "±20000 ulps around every k/(1 ± FIT), k = 2…500, finds none (c − k is exact, "
    "FIT·c is rounded; past 500 both hold), so < and <= agree on every input"
)

EQUIVALENT: dict[str, str] = {
    "gradcheck._diagnose.x__factor_text__mutmut_8": _FACTOR_EDGE,
    "gradcheck._diagnose.x__factor_text__mutmut_28": _FACTOR_EDGE,
    "gradcheck._diagnose.x__fits__mutmut_11": (
        "scale >= 0 instead of > 0 lets two all-zero vectors fit. diagnose() calls _fits "
        "with both zero only when the judged entries of both gradients are 0 (or none is "
        "judged); every later pattern test then fails too (a transpose or another "
        "parameter's gradient of norm > 0 cannot fit 0), so both versions return the same "
        "_scattered() diagnosis"
    ),
}
