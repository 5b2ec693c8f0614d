"""Is ``fn`` holomorphic? The Cauchy–Riemann residual, measured on the real views.

A complex ``jacobian=`` is the complex derivative ``df/dz``: it describes the map only
where ``f`` is holomorphic. In general ``df = A·dz + B·dz̄`` (the Wirtinger derivatives
``A = ∂f/∂z``, ``B = ∂f/∂z̄``), and no complex matrix can stand for ``B ≠ 0``: a
Jacobian check of such an ``f`` fails whatever matrix is given. When a ``jacobian``
block of complex parameters fails, this module tells why, with 9 more evaluations:
along a random complex direction ``v`` (each complex parameter's entries scaled by
``max(|z_j|, rms z)``, real parameters still), the derivatives along ``v`` and ``iv``,

    D₁ = A v + B v̄,    D₂ = i (A v − B v̄),    so    D₁ + i D₂ = 2 B v̄,

by central differences at steps ``h`` and ``h/2`` (``h = u^(1/3)``, the central step
rule, ``u`` the round-off of the parameters' parts), Richardson-extrapolated. For a
holomorphic ``f`` the residual ``D₁ + i D₂`` is the differences' error alone: their
truncation (``O(h²)``, which the two steps measure) and round-off (about ``u·‖f‖/h``).
``f`` is called not holomorphic when the extrapolated residual is
:data:`RESIDUAL_MARGIN` times those errors; the failed blocks' diagnosis then says so,
with the size of ``B v̄`` against ``A v``, and asks for a ``jvp`` or ``vjp``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, NamedTuple

import numpy as np

from gradcheck._evaluate import preserve_rng
from gradcheck._jac_realviews import RealViews
from gradcheck._norms import norm2
from gradcheck._pytree import builder, flatten
from gradcheck._report import Diagnosis, Report
from gradcheck._steps import entry_scale, relative_step
from gradcheck._tolerances import unit_roundoff

__all__ = [
    "DECISIVE_SHARE",
    "RESIDUAL_MARGIN",
    "Residual",
    "cauchy_riemann",
    "explain",
    "failed_blocks",
]

Array = np.ndarray[Any, Any]
#: The residual must exceed its error estimate this many times: the estimate is of the
#: size of the error (not a bound), so a margin of 10 keeps a holomorphic ``f`` whose
#: truncation is underestimated from being called not holomorphic.
RESIDUAL_MARGIN = 10.0
#: A block the entrywise check left inconclusive fails as "not holomorphic" when
#: ``‖B v̄‖`` is at least this share of ``‖A v‖ + ‖B v̄‖``: 0.1%, the misfit the
#: diagnoses allow a pattern (``gradcheck._diagnose.FIT``); the residual has already
#: passed :data:`RESIDUAL_MARGIN` times its own error, so the finite differences'
#: error cannot make it.
DECISIVE_SHARE = 1e-3
#: Evaluations of ``fn`` one measurement takes (± along ``v`` and ``iv`` at two steps,
#: and one at the parameters for the round-off).
EVALUATIONS = 9


class Residual(NamedTuple):
    """The Cauchy–Riemann residual along one random direction.

    Attributes:
        anti: ``‖B v̄‖``, the part no complex derivative can give.
        holo: ``‖A v‖``, the holomorphic part.
        error: the estimated error of ``anti`` (truncation and round-off).
    """

    anti: float
    holo: float
    error: float

    @property
    def holomorphic(self) -> bool:
        """Whether ``B v̄`` is within :data:`RESIDUAL_MARGIN` times its error."""
        return self.anti <= RESIDUAL_MARGIN * self.error

    @property
    def share(self) -> float:
        """``‖B v̄‖ / (‖A v‖ + ‖B v̄‖)``: 0 for holomorphic, 1 for antiholomorphic."""
        total = self.anti + self.holo
        return self.anti / total if total > 0 else 0.0


def _outputs(value: Any) -> Array:
    """The real views of ``fn``'s outputs as one complex vector (every output is
    complex where a complex parameter has a ``jacobian``)."""
    flat = np.concatenate([np.asarray(x, dtype=np.float64).reshape(-1) for x in flatten(value)[1]])
    return flat[0::2] + 1j * flat[1::2]


def cauchy_riemann(fn: Callable[[Any], Any], params: Any, views: RealViews, seed: int) -> Residual:
    """Measure ``‖B v̄‖`` (module text) of ``fn`` (on real views) at ``params`` (real
    views, the user's values), each evaluation on a private copy from the same RNG
    states."""
    _, leaves, treedef = flatten(params)
    rng = np.random.default_rng(seed)
    directions, dtypes = [], []
    for x, c in zip(leaves, views.in_mask):
        arr = np.asarray(x)
        if not c:
            directions.append(np.zeros(arr.shape))
            continue
        z = arr[..., 0] + 1j * arr[..., 1]
        s = entry_scale(np.abs(z).reshape(-1)).reshape(z.shape)
        directions.append(s * (rng.standard_normal(z.shape) + 1j * rng.standard_normal(z.shape)))
        dtypes.append(arr.dtype)
    coarsest = max(dtypes, key=unit_roundoff)
    u, h = unit_roundoff(coarsest), relative_step("central", coarsest)
    build = builder(treedef)

    def point(t: complex, step: float) -> list[Any]:
        out = []
        for x, d, c in zip(leaves, directions, views.in_mask):
            arr = np.asarray(x)
            if not c:
                out.append(np.array(arr, copy=True))
                continue
            moved = arr[..., 0] + 1j * arr[..., 1] + t * step * d
            out.append(np.stack([moved.real, moved.imag], axis=-1).astype(arr.dtype))
        return out

    with preserve_rng() as saved:

        def at(t: complex, step: float) -> Array:
            saved.reset()
            return _outputs(fn(build(point(t, step))))

        f0 = at(0, h)
        resid, holo = [], []
        for step in (h, h / 2):
            d1 = (at(1, step) - at(-1, step)) / (2 * step)
            d2 = (at(1j, step) - at(-1j, step)) / (2 * step)
            resid.append(d1 + 1j * d2)
            holo.append(d1 - 1j * d2)
    anti = (4 * resid[1] - resid[0]) / 3
    full = (4 * holo[1] - holo[0]) / 3
    noise = 4 * u * float(norm2(np.abs(f0))) / h
    error = float(norm2(np.abs(resid[0] - resid[1]))) + noise
    return Residual(float(norm2(np.abs(anti))) / 2, float(norm2(np.abs(full))) / 2, error / 2)


def _text(r: Residual) -> str:
    return (
        "not holomorphic: fn has no complex derivative here (Cauchy–Riemann fails: along "
        f"a random direction its ∂f/∂z̄ part is {_percent(r.share)} of its derivative), so "
        "no complex jacobian= can describe it; give jvp= (the real-linear map df = "
        "∂f/∂z·dz + ∂f/∂z̄·dz̄) or vjp= instead"
    )


def _note(r: Residual, blocks: list[str]) -> str:
    return (
        f"fn is not holomorphic (Cauchy–Riemann: ∂f/∂z̄ is {_percent(r.share)} of its "
        f"derivative along a random direction): see the diagnosis of {', '.join(blocks)}"
    )


def _percent(share: float) -> str:
    """``100%``, ``50%``, ``5e-05%``."""
    return f"{100 * share:.3g}%"


def failed_blocks(report: Report, views: RealViews) -> list[str]:
    """The failed or inconclusive ``jacobian`` blocks of complex parameters: where a
    ``jacobian`` that is no complex derivative shows."""
    forms = report.options.get("forms", [])
    if "jacobian" not in forms:
        return []
    prefix = "jacobian: " if len(forms) > 1 else ""
    names = [
        f"{prefix}{o} / {p}"
        for o in views.out_names
        for p, c in zip(views.in_names, views.in_mask)
        if c
    ]
    shown = ("failed", "inconclusive")
    return [n for n in names if n in report.parameters and report.parameters[n].status in shown]


def explain(report: Report, blocks: list[str], residual: Residual) -> Report:
    """``report`` with ``blocks`` diagnosed "not holomorphic" where the residual says
    so, and the measurement's evaluations counted. A failed block keeps its status; an
    inconclusive one (entries the differences could not resolve) fails when ``∂f/∂z̄``
    is at least :data:`DECISIVE_SHARE` of the derivative: along ``v`` or ``iv`` every
    complex matrix then misses the derivative by at least that share."""
    params = dict(report.parameters)
    messages = report.messages
    status = report.status
    if not residual.holomorphic:
        diagnosis = Diagnosis("not_holomorphic", None, _text(residual))
        named = []
        for name in blocks:
            p = params[name]
            if p.status == "failed" or residual.share >= DECISIVE_SHARE:
                params[name] = replace(p, status="failed", diagnosis=diagnosis)
                named.append(name)
                status = "failed"
        if named:
            messages += (_note(residual, named),)
    return replace(
        report,
        status=status,
        parameters=params,
        messages=messages,
        evaluations=report.evaluations + EVALUATIONS,
    )
