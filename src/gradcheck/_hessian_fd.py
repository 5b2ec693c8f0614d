"""The finite differences' symmetry test of ``check_hessian``.

A ``grad`` that is the gradient of a twice continuously differentiable cost has
symmetric central differences, ``uᵀ(D v) = vᵀ(D u)`` up to their error: differences
that are not symmetric mean ``grad`` is not the gradient of any smooth cost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from gradcheck._errors import GradcheckError
from gradcheck._flat_values import flat_like
from gradcheck._linear import Forms
from gradcheck._pytree import unflatten
from gradcheck._steps import entry_scale
from gradcheck._tolerances import unit_roundoff

__all__ = ["SYMMETRY_PAIRS", "SYMMETRY_SAFETY", "FdSymmetry", "fd_symmetry"]

Array = np.ndarray[Any, Any]
#: Random pairs ``(u, v)`` of each symmetry test (2 form calls each for a claimed
#: form's; the finite differences' pairs share their vectors, ``(w_0, w_1)``,
#: ``(w_1, w_2)``, ..., each vector 4 gradient evaluations).
SYMMETRY_PAIRS = 2
#: The finite differences' symmetry allows this many times their estimated error: the
#: estimate (the change from step ``h`` to ``h/2``, plus the gradient's round-off over
#: ``h``) is of the right size but not a bound; 4 covers its usual underestimate by up
#: to 4× (the same margin as ``gradcheck._numerics``' screening).
SYMMETRY_SAFETY = 4.0


class FdSymmetry(NamedTuple):
    """The finite differences' symmetry test.

    Attributes:
        values: per pair, ``uᵀ(D v)`` and ``vᵀ(D u)`` (``D w`` the central difference of
            ``grad`` along ``w``).
        tolerance: per pair, :data:`SYMMETRY_SAFETY` times their estimated error.
        claimed_zero: every claimed form gave exactly 0 along every probe.
        fd_nonzero: some difference was larger than its error.
        evaluations: gradient evaluations spent.
    """

    values: tuple[tuple[float, float], ...]
    tolerance: tuple[float, ...]
    claimed_zero: bool
    fd_nonzero: bool
    evaluations: int

    @property
    def wrong(self) -> bool:
        """Whether a pair disagrees beyond its tolerance (NaN: wrong)."""
        return any(not abs(a - b) <= t for (a, b), t in zip(self.values, self.tolerance))


def fd_symmetry(
    forms: Forms,
    grad: Callable[[Any], Any],
    seed: int,
    at: list[Array] | None = None,
    reset: Callable[[], None] | None = None,
) -> FdSymmetry:
    """``uᵀ(D v)`` against ``vᵀ(D u)`` for central differences ``D`` of ``grad``.

    The vectors ``w_0, ..., w_P`` (``P =`` :data:`SYMMETRY_PAIRS`) are standard normal
    scaled by the entry scales of the step rule (``gradcheck._steps.entry_scale``),
    the step along them is the central difference's ``u_dtype^(1/3)``; the pairs are
    ``(w_0, w_1), (w_1, w_2), ...``, so each ``D w`` serves two. The error of ``uᵀ(D v)``
    is estimated as the change from ``h`` to ``h/2`` plus the gradient's round-off,
    ``u_dtype · Σ|u_i g_i| / h``. ``at``: the gradient at the point, if known;
    ``reset``: puts the random states back before every call of ``grad``.
    """
    lay, leaves = forms.layout, forms.leaves
    theta = np.concatenate([x.reshape(-1).astype(np.float64) for x in leaves])
    scales = np.concatenate([entry_scale(x.reshape(-1)) for x in leaves])
    rnd = max(unit_roundoff(x.dtype) for x in leaves)
    h = rnd ** (1 / 3)
    rng = np.random.default_rng([seed, 23])
    count = 0

    def g(x: Array) -> Array:
        nonlocal count
        count += 1
        tree = unflatten(lay.in_treedef, _split(x, leaves))
        if reset is not None:
            reset()
        try:
            value = grad(tree)
        except Exception as exc:
            raise GradcheckError(f"grad raised {type(exc).__name__}: {exc}") from exc
        return flat_like(
            value, lay.out_names, lay.out_shapes, "grad(params)", "params", lay.out_treedef
        )

    g0 = g(theta) if at is None else np.concatenate([a.reshape(-1) for a in at])
    ws = [scales * rng.standard_normal(lay.n) for _ in range(SYMMETRY_PAIRS + 1)]
    ds = [
        (
            (g(theta + h * w) - g(theta - h * w)) / (2 * h),
            (g(theta + h / 2 * w) - g(theta - h / 2 * w)) / h,
        )
        for w in ws
    ]
    zero = all(not np.any(forms.jv(f, w)) for w in ws for f in forms.given)
    values, tols, nonzero = [], [], False
    for k in range(SYMMETRY_PAIRS):
        pair, err = [], 0.0
        for a, (d1, d2) in ((ws[k], ds[k + 1]), (ws[k + 1], ds[k])):
            s = float(a @ d1)
            e = abs(float(a @ d2) - s) + rnd * float(np.abs(a) @ np.abs(g0)) / h
            pair.append(s)
            err += e
            nonzero = nonzero or abs(s) > SYMMETRY_SAFETY * e
        values.append((pair[0], pair[1]))
        tols.append(SYMMETRY_SAFETY * err)
    return FdSymmetry(tuple(values), tuple(tols), zero, nonzero, count)


def _split(x: Array, leaves: list[Array]) -> list[Array]:
    """A flat float64 vector as arrays shaped and typed like ``leaves``."""
    out, start = [], 0
    for leaf in leaves:
        out.append(x[start : start + leaf.size].reshape(leaf.shape).astype(leaf.dtype))
        start += leaf.size
    return out
