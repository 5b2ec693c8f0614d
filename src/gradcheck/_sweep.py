"""The step-size sweep: finite-difference error against the step ``h``, per entry.

For a correct gradient, ``|g − g̃(h)|`` traces a V on a log–log plot: on the right the
truncation error ``~ h^p`` (slope ``p``: 2 for central, 1 for forward differences), on
the left the round-off error ``~ u·|J| / h`` (slope −1), and the bottom of the V near
the step the engine chooses (``u^(1/(p+1))`` times the entry's scale, see
``gradcheck._numerics``). A wrong gradient shows a floor instead: the error stops
falling at the size of the mistake, whatever the step.

So each curve carries two errors: ``errors``, against the gradient you supplied, and
``fd_errors``, the finite-difference error itself, against a reference derivative
from Richardson extrapolation (central differences at ``h, h/2, h/4``, order 6, at the
engine's Richardson step). The slopes are fitted to ``fd_errors``; where ``errors``
sits far above ``fd_errors``, the supplied gradient is wrong.

>>> x = np.array([1.0, 2.0])
>>> result = sweep(lambda p: float(np.sum(np.sin(p))), x, np.cos(x), points=13)
>>> curve = result.curves[0]
>>> round(curve.truncation_slope), round(curve.roundoff_slope)
(2, -1)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from gradcheck._errors import GradcheckError
from gradcheck._evaluate import Delta, SerialEvaluator, preserve_rng
from gradcheck._inputs import analytic_gradient, private_copy
from gradcheck._pytree import flatten
from gradcheck._steps import check_method, relative_step, steps

__all__ = ["ORDER", "SWEEP_METHODS", "SweepCurve", "SweepResult", "slope", "sweep"]

Array = np.ndarray[Any, Any]
SWEEP_METHODS = ("central", "forward")
#: Truncation order ``p`` of each swept method.
ORDER = {"central": 2, "forward": 1}
#: The swept range, as ``h / s`` (``s`` the entry's scale): from 1e-13, deep in
#: round-off for float64, to 1e-1, deep in truncation.
RANGE = (-13.0, -1.0)


@dataclass(frozen=True)
class SweepCurve:
    """The sweep of one entry.

    Attributes:
        parameter, index: the entry.
        analytic: the gradient supplied for it.
        steps: the steps ``h``, increasing.
        numeric: the finite-difference estimate at each step.
        errors: ``|analytic − numeric|`` at each step.
        reference: the Richardson-extrapolated derivative.
        fd_errors: ``|reference − numeric|``: the finite-difference error at each step.
        chosen: the step the engine's automatic rule picks for this entry.
        chosen_error: the error at ``chosen``.
        best: the step with the smallest finite-difference error.
        truncation_slope: log–log slope of ``fd_errors`` right of its minimum (≈ p).
        roundoff_slope: log–log slope of ``fd_errors`` left of its minimum (≈ −1).
    """

    parameter: str
    index: tuple[int, ...]
    analytic: float
    steps: Array
    numeric: Array
    errors: Array
    reference: float
    fd_errors: Array
    chosen: float
    chosen_error: float
    best: float
    truncation_slope: float
    roundoff_slope: float

    def label(self) -> str:
        """``"W1[2, 3]"``, or the bare name for a scalar."""
        if not self.index:
            return self.parameter
        return f"{self.parameter}[{', '.join(map(str, self.index))}]"


@dataclass(frozen=True)
class SweepResult:
    """All swept entries; ``order`` is the method's truncation order ``p``."""

    method: str
    order: int
    curves: tuple[SweepCurve, ...]


def slope(h: Array, err: Array) -> float:
    """Least-squares slope of ``log10 err`` against ``log10 h`` (NaN with < 2 points).

    >>> round(slope(np.array([1e-3, 1e-2, 1e-1]), np.array([1e-6, 1e-4, 1e-2])), 6)
    2.0
    """
    keep = (err > 0) & np.isfinite(err)
    if keep.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log10(h[keep]), np.log10(err[keep]), 1)[0])


class _Slopes(NamedTuple):
    """The error curve's slopes right of its minimum (truncation) and left (round-off)."""

    right: float
    left: float


def _branch_slopes(h: Array, err: Array) -> _Slopes:
    """Slopes right and left of the minimum, ignoring two points next to it (the bend)."""
    positive = np.where(err > 0, err, np.nan)
    if np.all(np.isnan(positive)):
        return _Slopes(float("nan"), float("nan"))
    k = int(np.nanargmin(positive))
    right = slice(min(k + 2, len(h)), len(h))
    left = slice(0, max(k - 1, 0))
    return _Slopes(slope(h[right], err[right]), slope(h[left], err[left]))


def _pick(
    names: list[str],
    leaves: list[Array],
    analytic: list[Array],
    entries: Sequence[tuple[str, tuple[int, ...]]] | None,
    count: int,
) -> list[tuple[int, int]]:
    """(leaf, flat index) pairs: the given entries, or the ``count`` largest |gradients|."""
    if entries is not None:
        out = []
        for name, index in entries:
            if name not in names:
                raise GradcheckError(f"sweep entry {name!r}: no such parameter ({names})")
            i = names.index(name)
            try:
                flat = int(np.ravel_multi_index(index, leaves[i].shape)) if index else 0
            except ValueError as exc:
                raise GradcheckError(f"sweep entry {name}{list(index)}: {exc}") from exc
            out.append((i, flat))
        return out
    ranked = [
        (-abs(float(a.reshape(-1)[j])), i, j) for i, a in enumerate(analytic) for j in range(a.size)
    ]
    return [(i, j) for _, i, j in sorted(ranked)[:count]]


def _reference(ev: SerialEvaluator, i: int, j: int, h: float) -> float:
    """Richardson extrapolation of central differences at ``h, h/2, h/4`` (order 6)."""
    vals = np.real(ev([(Delta(i, j, o * h / d),) for d in (1, 2, 4) for o in (1.0, -1.0)]))
    c1, c2, c3 = ((vals[2 * k] - vals[2 * k + 1]) * d / (2.0 * h) for k, d in enumerate((1, 2, 4)))
    r1, r2 = (4 * c2 - c1) / 3, (4 * c3 - c2) / 3
    return float((16 * r2 - r1) / 15)


def sweep(
    cost: Callable[[Any], Any],
    params: Any,
    grad: Any,
    *,
    method: str = "central",
    entries: Sequence[tuple[str, tuple[int, ...]]] | None = None,
    count: int = 3,
    points: int = 25,
) -> SweepResult:
    """Finite-difference error against the step for a few entries.

    Args:
        cost, params, grad: as for :func:`gradcheck.check`.
        method: ``"central"`` or ``"forward"``.
        entries: ``(parameter, index)`` pairs to sweep (e.g. a report's worst
            entries); default the ``count`` entries with the largest gradient.
        count: how many entries when ``entries`` is not given.
        points: steps per entry, log-spaced over :data:`RANGE` times the entry's scale.

    Returns:
        A :class:`SweepResult`. The user's parameters and RNG state are untouched.

    Raises:
        GradcheckError: an unknown method or entry, or a cost that fails (named).
    """
    if method not in SWEEP_METHODS:
        raise GradcheckError(f"sweep method {method!r}: choose 'central' or 'forward'")
    m = check_method(method)
    if points < 3:
        raise GradcheckError(f"sweep points={points}: need at least 3")
    names, user_leaves, treedef = flatten(params)
    leaves = [private_copy(n, x, False) for n, x in zip(names, user_leaves)]
    analytic = analytic_gradient(grad, params, names).values
    chosen = _pick(names, leaves, analytic, entries, count)
    rel = np.logspace(RANGE[0], RANGE[1], points)
    curves = []
    with preserve_rng() as rng:
        ev = SerialEvaluator(cost, treedef, leaves, names, rng, complex_ok=False)
        j0 = float(np.real(ev([()])[0]))
        for i, j in chosen:
            flat = np.real(leaves[i].reshape(-1)).astype(np.float64)
            auto = float(steps(flat, m, None, leaves[i].real.dtype)[j])
            scale = auto / relative_step(m, leaves[i].real.dtype)
            h = np.sort(np.append(rel * scale, auto))
            offsets = (1.0, -1.0) if method == "central" else (1.0,)
            vals = np.real(ev([(Delta(i, j, o * hk),) for hk in h for o in offsets]))
            vals = vals.reshape(h.size, len(offsets))
            if method == "central":
                numeric = (vals[:, 0] - vals[:, 1]) / (2.0 * h)
            else:
                numeric = (vals[:, 0] - j0) / h
            a = float(np.real(analytic[i].reshape(-1)[j]))
            err = np.abs(a - numeric)
            ref = _reference(ev, i, j, scale * relative_step("richardson", leaves[i].real.dtype))
            fd_err = np.abs(ref - numeric)
            trunc, rnd = _branch_slopes(h, fd_err)
            k = int(np.argmin(fd_err))
            at = int(np.searchsorted(h, auto))
            index = tuple(int(v) for v in np.unravel_index(j, leaves[i].shape))
            curves.append(
                SweepCurve(
                    parameter=names[i],
                    index=index,
                    analytic=a,
                    steps=h,
                    numeric=numeric,
                    errors=err,
                    reference=ref,
                    fd_errors=fd_err,
                    chosen=auto,
                    chosen_error=float(err[at]),
                    best=float(h[k]),
                    truncation_slope=trunc,
                    roundoff_slope=rnd,
                )
            )
    return SweepResult(method=method, order=ORDER[method], curves=tuple(curves))
