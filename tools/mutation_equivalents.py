"""Surviving mutants that cannot change any result, each with its reason.

Keyed by mutmut's mutant name (``gradcheck.<module>.x_<function>__mutmut_<n>``, stable
for the mutmut version pinned in ``constraints.txt``); read by ``tools/mutate.py``.
A mutant belongs here only when no input can tell it from the original (for example a
changed default that every caller overrides); one that a test *could* notice is a gap
in the tests, not an entry here.
"""

from __future__ import annotations

EQUIVALENT: dict[str, str] = {}
