"""Step sizes: each entry's finite-difference step, by the rule ``gradcheck._numerics``
states with its reasons (the method's relative step ``u^(1/(p+1))`` times the entry's
scale ``max(|θ_i|, rms θ)``, rounded so that ``θ + h`` is exact), and the steps sized
to a cost's measured noise instead (:func:`noise_steps`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradcheck._errors import GradcheckError
from gradcheck._norms import rms_of
from gradcheck._numerics import METHODS, NOISE_STEP_CAP, STEP_EXPONENT, Method
from gradcheck._tolerances import unit_roundoff

__all__ = ["check_method", "entry_scale", "noise_steps", "relative_step", "steps"]


def check_method(method: object) -> Method:
    """Return ``method`` if it is known, else raise naming the valid ones."""
    if method not in METHODS:
        raise GradcheckError(
            f"unknown method {method!r}: choose one of {', '.join(map(repr, METHODS))}"
        )
    return method  # type: ignore[return-value]


def relative_step(method: Method, dtype: Any) -> float:
    """``u^(1/(p+1))`` for ``method``'s order ``p`` and ``dtype``'s round-off ``u``.

    >>> round(relative_step("central", np.float64), 8)
    6.06e-06
    """
    return float(unit_roundoff(dtype) ** STEP_EXPONENT[method])


def entry_scale(theta: np.ndarray[Any, Any], *, classic: bool = False) -> np.ndarray[Any, Any]:
    """The scale ``max(|θ_i|, rms θ)`` of each entry of a flat array (see
    ``gradcheck._numerics``'s module doc).

    The RMS is 1 for an all-zero array; ``classic`` uses ``max(|θ_i|, 1)`` instead (the
    retry step). Returns a new float64 array; the real part of a complex ``theta``.

    >>> entry_scale(np.array([0.0, 3.0, -4.0])).tolist()
    [2.886751345948129, 3.0, 4.0]
    """
    real = np.real(theta)
    mag = np.abs(real, dtype=np.float64)
    rms = rms_of(mag)
    # an array of subnormals (5e-324) scales as its dtype's smallest normal number: a
    # step relative to its own RMS would round to 0
    tiny = float(np.finfo(real.dtype if real.dtype.kind == "f" else np.float64).tiny)
    floor = 1.0 if classic or rms == 0 else max(rms, tiny)
    return np.maximum(mag, floor, out=mag)


def steps(
    theta: np.ndarray[Any, Any],
    method: Method,
    eps: float | None,
    dtype: Any,
    *,
    classic: bool = False,
) -> np.ndarray[Any, Any]:
    """Per-entry steps ``h`` for a flat parameter array ``theta`` (see
    ``gradcheck._numerics``'s module doc).

    Args:
        theta: the parameter values, flattened.
        method: the difference method.
        eps: an explicit step, used exactly as given; ``None`` for the automatic rule.
        dtype: the working dtype, whose round-off sets the automatic step.
        classic: scale by ``max(1, |θ_i|)`` (the retry step) instead of
            ``max(|θ_i|, rms θ)``.

    >>> [f"{h:.1e}" for h in steps(np.array([1e-6, 2e-6]), "central", None, np.float64)]
    ['9.6e-12', '1.2e-11']
    >>> [f"{h:.1e}" for h in steps(np.array([1e-6]), "central", None, np.float64, classic=True)]
    ['6.1e-06']
    """
    if eps is not None:
        return np.full(theta.shape, float(eps), dtype=np.float64)
    h = relative_step(method, dtype) * entry_scale(theta, classic=classic)
    return _representable(theta, h, method, dtype)


def _representable(
    theta: np.ndarray[Any, Any], h: np.ndarray[Any, Any], method: Method, dtype: Any
) -> np.ndarray[Any, Any]:
    """``h`` rounded so that ``θ + h`` is exact in ``dtype`` (Numerical Recipes eq. 5.7.4);
    as given for the complex step, whose ``ih`` is never added to ``θ``'s real part."""
    if method == "complex":
        return np.asarray(h, dtype=np.float64)
    work = np.asarray(theta, dtype=dtype)
    exact = ((work + h.astype(dtype)) - work).astype(np.float64)
    return np.asarray(np.where(exact > 0, exact, h), dtype=np.float64)


def noise_steps(
    theta: np.ndarray[Any, Any],
    method: Method,
    dtype: Any,
    sigma: float,
    gradient_scale: float,
) -> np.ndarray[Any, Any]:
    """Steps sized to the cost's measured noise ``σ`` rather than to its dtype's round-off.

    The automatic step ``u^(1/(p+1)) · s`` balances truncation against round-off when
    the cost's noise is about ``u`` times its variation over the scale ``s``,
    ``u · G · s`` for a gradient of size ``G``. A cost with a large offset (``1e9 +
    Σ sin θ``: ``σ ≈ u · 1e9``) is far noisier than that, and the balance moves to
    ``h = s · (σ / (G · s))^(1/(p+1))`` (Numerical Recipes 3rd ed. eq. 5.7.5 with the
    measured noise for ``u · |J|``; Moré & Wild, "Estimating derivatives of noisy
    simulations", ACM TOMS 38(3), 2012, take ``h ~ (σ / |J‴|)^(1/3)`` for central
    differences, with ``|J‴| ≈ G / s²`` here). Never below the automatic step, never
    above :data:`gradcheck._numerics.NOISE_STEP_CAP` of ``s`` (unless the automatic step
    is larger), and rounded so that ``θ + h`` is exact.

    Args:
        theta: the parameter values, flattened.
        method: the difference method.
        dtype: the working dtype.
        sigma: the cost's measured noise.
        gradient_scale: ``G``, the parameter's gradient scale (0: no noise step).

    >>> [f"{h:.1e}" for h in noise_steps(np.array([1.0, -1.0]), "central", np.float64, 1e-7, 1.0)]
    ['4.6e-03', '4.6e-03']
    """
    scale = entry_scale(theta)
    base = relative_step(method, dtype) * scale
    if not gradient_scale > 0 or not sigma > 0:
        return steps(theta, method, None, dtype)
    with np.errstate(over="ignore"):  # σ of 1e300 over G·s of 1e-310: inf, capped
        ratio = sigma / (gradient_scale * scale)
        rel = np.minimum(ratio ** STEP_EXPONENT[method], NOISE_STEP_CAP)
    return _representable(theta, np.maximum(rel * scale, base), method, dtype)
