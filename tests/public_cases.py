"""Public gradient cases that none of us wrote, with their provenance (issue 11, trust).

Each :class:`Case` is a small transcription of public code: a PyTorch tutorial or
documentation ``autograd.Function``, a case from PyTorch's own ``autograd.Function``
test database, a JAX documentation ``custom_jvp``/``custom_vjp`` rule, a SciPy test's
function and gradient, or a CS231n assignment layer from a public solution repository.
Only the formulas are transcribed (restyled, never whole files); :class:`Source` says
where each comes from, at which commit, under which licence, and what was taken.

Every case has variants: the published code (``expect`` says what a right checker
must answer: ``passed`` for a right derivative, ``failed`` where the published rule is
not the derivative, ``error`` where it cannot be compared at all), and planted bugs,
each a documented classic (missing transpose, wrong sign, factor 2, missing term,
off-by-one slice, forgotten 1/N, ...) that must fail with the wrong parameter named.

:func:`run_all` runs every variant once through gradcheck at its default options and
through the peers where they apply (``torch.autograd.gradcheck`` with its defaults,
``jax.test_util.check_grads`` in float64 reverse mode); ``tests/test_public_cases.py``
checks the verdicts and ``tools/make_public_cases_doc.py`` writes docs/public-cases.md.
The transcriptions live in ``_public_numpy.py``, ``_public_torch.py`` and
``_public_jax.py`` beside this module (``_public_torch_db.py`` for PyTorch's test database,
``_public_scipy.py`` for SciPy's tests and ``_public_cs231n.py`` for the CS231n layers).
"""

from __future__ import annotations

import functools

import _public_jax
import _public_numpy
import _public_scipy
import _public_torch
import _public_torch_db
from _public_base import Case, Outcome, Run, Source, Variant

__all__ = ["CASES", "Case", "Outcome", "Run", "Source", "Variant", "run_all"]

CASES: tuple[Case, ...] = (
    *_public_scipy.CASES,
    *_public_numpy.CASES,
    *_public_torch.CASES,
    *_public_torch_db.CASES,
    *_public_jax.CASES,
)


@functools.cache
def run_all() -> tuple[Outcome, ...]:
    """Every variant of every case, run once (cached for the test session)."""
    return tuple(Outcome(c, v, v.run()) for c in CASES for v in c.variants)
