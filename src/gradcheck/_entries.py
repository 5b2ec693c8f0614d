"""One comparison of a parameter's chosen entries at given steps (stages 3 and 4).

What the entrywise strategy (``gradcheck._entrywise``) and its retries
(``gradcheck._retry``) share: the :class:`Setting` every comparison of one check
uses, the :class:`Entries` of one parameter that a comparison is of,
:func:`compare_entries`, which evaluates the cost at their steps and compares
(``gradcheck._compare``), and :func:`domain_error`, which tells a cost's failure at a
domain's edge from the user's own exception.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np

from gradcheck import _compare as cmp
from gradcheck._errors import GradcheckError
from gradcheck._evaluate import Delta, Evaluator, NonFinite
from gradcheck._numerics import Method
from gradcheck._tolerances import unit_roundoff

__all__ = ["Entries", "Setting", "compare_entries", "domain_error"]

Array = np.ndarray[Any, Any]


@dataclass(frozen=True)
class Setting:
    """What every per-entry comparison of one check shares."""

    method: Method
    j0: float
    sigma: float
    rtol: float | None
    atol: float | None
    fixed: bool
    low_precision: bool
    work: np.dtype[Any] | None = None  # the cost's own dtype, when below the leaves'
    sigmas: tuple[float, ...] = ()  # each parameter's noise floor (``_leaf_noise``)

    def at(self, i: int) -> Setting:
        """The setting for parameter ``i``: its own noise floor."""
        return replace(self, sigma=self.sigmas[i]) if self.sigmas else self

    def dtype(self, leaf: Array) -> np.dtype[Any]:
        """The dtype whose round-off sets ``leaf``'s steps and tolerances."""
        own = leaf.real.dtype
        return own if self.work is None or self.work.itemsize >= own.itemsize else self.work


class Entries(NamedTuple):
    """The entries of parameter ``i`` at steps ``h``: what one comparison is of.

    Attributes:
        i: the parameter's position among the check's leaves.
        leaf: the parameter's value.
        idx: the entries' flat positions in ``leaf``.
        h: their steps.
        a: their claimed derivatives (the analytic gradient's entries).
        rtol: the screening tolerance they are judged at.
    """

    i: int
    leaf: Array
    idx: Array
    h: Array
    a: Array
    rtol: float

    @property
    def theta(self) -> Array:
        """The entries' values (real parts)."""
        return np.real(self.leaf.reshape(-1))[self.idx]

    def take(self, k: Array, h: Array) -> Entries:
        """The entries at positions ``k`` of these, at steps ``h``."""
        return self._replace(idx=self.idx[k], h=h, a=self.a[k])


def compare_entries(ev: Evaluator, s: Setting, e: Entries, floor: float) -> cmp.Comparison:
    """Stages 3 and 4 for the entries ``e``, on a gradient scale of at least ``floor``."""
    i, leaf, idx, h, a = e.i, e.leaf, e.idx, e.h, e.a
    method = s.method
    offsets = cmp.STAGE1[method]
    # Python floats are cheaper to build and add; float64 arithmetic is identical. In
    # lower precision NumPy scalars keep θ + h computed in float64, then rounded.
    hl = h.tolist() if leaf.dtype == np.float64 else list(h)
    vals1 = ev([(Delta(i, j, o * hj),) for j, hj in zip(idx.tolist(), hl) for o in offsets])
    vals1 = vals1.reshape(idx.size, len(offsets))
    real1 = np.real(vals1) if method != "complex" else vals1
    numeric = cmp.first_estimate(method, s.j0, real1, h)
    sigma = cmp.value_noise(s.sigma, unit_roundoff(s.dtype(leaf)), s.j0, real1, a)
    tol = cmp.tolerance(
        method, a, numeric, h, sigma=sigma, rtol=e.rtol, atol=s.atol, fixed=s.fixed, floor=floor
    )
    nu = cmp.noise_for(method, sigma, h, s.fixed)
    sus = np.flatnonzero(cmp.examined(method, a, numeric, tol, real1, s.j0, h, floor, nu))
    offs2 = cmp.RECHECK[method]
    vals2 = ev([(Delta(i, int(idx[k]), o * hl[k]),) for k in sus for o in offs2])
    vals2 = vals2.reshape(sus.size, len(offs2))
    if method != "complex":
        vals2 = np.real(vals2)
    return cmp.compare(
        method,
        a,
        numeric,
        h,
        tol,
        j0=s.j0,
        sigma=sigma,
        fixed=s.fixed,
        stage1=real1,
        recheck=vals2,
        floor=floor,
        low_precision=s.low_precision,
    )


def domain_error(err: GradcheckError) -> bool:
    """Whether the cost's failure is a domain's edge: NaN or inf, or a numeric error
    (a RuntimeWarning raised as an error, a math domain error). Any other exception
    from the cost is the user's (a bug, an injected fault) and must reach them."""
    return isinstance(err, NonFinite) or isinstance(
        err.__cause__, (ArithmeticError, ValueError, Warning)
    )
