"""The claimed form's symmetry test of ``check_hessian``: ``uᵀ(H v)`` against ``vᵀ(H u)``.

A Hessian of a twice continuously differentiable cost is symmetric, so the two
numbers agree up to round-off, with no finite differences: a transposed term, or a
term added on one side only, shows even where finite differences are too noisy to
see it. The round-off allowed is the consistency check's
(``gradcheck._consistency.agreement``: the rounding of the dot products, and the
floor where the products are round-off next to ``|g|/s``), plus the round-off the
form itself shows: an ``hvp`` is linear in ``v``, so
``H(u + v) − H(u) − H(v)`` is its own rounding, and :data:`FORM_ROUNDOFFS` times
``|uᵀr| + |vᵀr|`` of that residual ``r`` (the largest over the pairs) is allowed,
for a form that keeps ``H(2x) = 2H(x)`` and ``H(−x) = −H(x)``
(``gradcheck._consistency.homogeneous``: what rounding cannot break): a form that is
not linear makes the residual itself, and an hvp wrong off the basis vectors by
``0.1·max|H|·w·v₀v₁`` passed with an allowance of 61 on values of 5 (attack37 H184).
A form that keeps both and is asymmetric beyond both allowances where the finite
differences could not resolve the Hessian's entries is ``uncertain`` (the row is
inconclusive, with the reason): a Hessian given as a matrix shows no rounding of its
own to measure, and the same saturated softmax's ``hessian=`` failed 4 seeds of 12.

Why: an hvp that computes a small Hessian as the difference of large terms (a
saturated softmax's ``p⊙Av − p(pᵀAv)``, ``1 − max p = 6e-15``) is accurate to a few
percent only, and its asymmetry of 1% was reported as a wrong Hessian: a right
``hvp`` of ``logsumexp(A x)`` failed 5 seeds of 6 (attack35 H142).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from gradcheck import _hessian_words as hw
from gradcheck._consistency import (
    Consistency,
    LinearMap,
    agreement,
    homogeneous,
    magnitudes,
    random_pairs,
)
from gradcheck._hessian_fd import SYMMETRY_PAIRS
from gradcheck._linear import Forms, Memo

__all__ = ["FORM_ROUNDOFFS", "claimed_symmetry"]

Array = np.ndarray[Any, Any]
#: The asymmetry a form may show: this many times ``|uᵀr| + |vᵀr|`` of its linearity
#: residual ``r = H(u+v) − H(u) − H(v)`` (the largest over the pairs). The residual
#: holds three roundings, the asymmetry two, of the same size; 16 covers a residual
#: that came out small by chance (below 1/16 of its typical size in about 5% of
#: pairs, so in 1 check of 400 over two pairs). An asymmetric term of the Hessian's
#: own size is far above it wherever the form computes to round-off.
FORM_ROUNDOFFS = 16.0


def claimed_symmetry(
    forms: Forms, form: str, seed: int, g0: list[Array] | None, unresolved: bool = False
) -> Consistency:
    """``uᵀ(H v)`` against ``vᵀ(H u)`` for one claimed form (module doc); ``g0``, the
    gradient at the parameters, sets the consistency check's round-off floor;
    ``unresolved``: whether the finite differences left an entry of the Hessian
    uncertain (an asymmetry beyond every allowance is then ``uncertain``)."""
    n, lay = forms.layout.n, forms.layout
    apply = Memo(partial(forms.jv, form))
    name = hw.FORM_NAMES[form]
    maps = [LinearMap(f"{name}: uᵀ(Hv)", apply, False), LinearMap(f"{name}: vᵀ(Hu)", apply, True)]
    mags = None if g0 is None else magnitudes(forms, np.concatenate([g.reshape(-1) for g in g0]))
    pairs = random_pairs(n, n, seed, SYMMETRY_PAIRS)
    c = agreement(maps, n, n, lay.roundoff(), seed, SYMMETRY_PAIRS, mags, vectors=pairs)[0]
    if not c.wrong:
        return c
    if not homogeneous(maps[0], n, n, lay.roundoff(), random_pairs(n, n, seed)):
        # a form that is not linear shows its own error as linearity residual: not
        # round-off (attack37 H184: an allowance of 61 on values of 5)
        return c
    shown = 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for u, v in pairs:
            r = apply(u + v) - apply(u) - apply(v)
            shown = max(shown, float(abs(u @ r) + abs(v @ r)))
        tolerance = tuple(t + FORM_ROUNDOFFS * shown for t in c.tolerance)
    wrong = any(not abs(a - b) <= t for (a, b), t in zip(c.values, tolerance))
    return c._replace(tolerance=tolerance, wrong=wrong, uncertain=wrong and unresolved)
