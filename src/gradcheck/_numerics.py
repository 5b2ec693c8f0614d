"""Finite-difference numerics: methods, step sizes, tolerances, noise.

Everything numerical that has a default lives here, with its reason.

Step size (``eps=None``). For a difference formula whose truncation error is
``O(h^p)`` and whose round-off error is ``O(u/h)`` (``u`` the unit round-off of the
dtype), the total error is smallest at ``h ~ u^(1/(p+1))`` times the scale on which
the function varies (Numerical Recipes, 3rd ed., §5.7; Gill, Murray & Wright,
*Practical Optimization*, §8.6; the same exponents as scipy's ``_numdiff``):

=============  ======  ==========  =====================================
method         order   ``h / s``   float64 value
=============  ======  ==========  =====================================
forward        1       u^(1/2)     1.5e-8
central        2       u^(1/3)     6.1e-6
richardson     6       u^(1/7)     5.8e-3   (three central steps h, h/2, h/4)
complex        2       u^(1/2)     1.5e-8   (no cancellation; any small h works)
=============  ======  ==========  =====================================

The scale ``s`` of entry ``θ_i`` is ``max(|θ_i|, rms(θ))``, the RMS taken over the
parameter array it belongs to, and 1 when the whole array is zero. The common rule
``max(1, |θ_i|)`` assumes the function varies on a scale of 1; it breaks for parameters
of magnitude 1e-6, where a step of 6e-6 is six times the parameter itself. Using the
array's own RMS keeps the relative step right for parameters far from 1 (1e-6 or 1e4)
and never lets a single near-zero entry (a bias initialised to 0 next to weights of
0.5) get a step that drowns in round-off. The step is then rounded so that
``θ + h`` is exactly representable (``h = (θ + h) - θ``, Numerical Recipes eq. 5.7.4).
An explicit ``eps`` is used exactly as given, as the lesson does.

Retry step. When every parameter entry is tiny next to the scale on which the cost
varies (a scalar ``θ = 1e-38``, weights initialised at 1e-30), the step above is tiny
too and the cost does not move: the entries come out unresolved. Those entries are
tried once more with the classic scale ``max(1, |θ_i|)`` (scipy's ``_numdiff``; Numerical
Recipes §5.7), when it gives a step at least :data:`RETRY_GROWTH` times larger, and
only where round-off, not curvature, left them unresolved (``docs/numerics.md``).

Tolerances: see :data:`RTOL`.
"""

from __future__ import annotations

import math
from math import comb
from typing import Any, Literal

import numpy as np

from gradcheck._errors import GradcheckError

__all__ = [
    "ATOL_ROUNDOFFS",
    "BATCHED_ROUNDOFFS",
    "CANCELLATION",
    "CONSISTENCY_ROUNDOFFS",
    "CONSISTENCY_RTOL",
    "HIDDEN_MAGNITUDE",
    "HIDDEN_STEP",
    "METHODS",
    "NOISE_LIKE",
    "NOISE_STEP_CAP",
    "NOISY",
    "NORM2_SQUARES_SAFE",
    "PLAUSIBLE",
    "RETRY_GROWTH",
    "RTOL",
    "SAFETY",
    "SCREEN_NOISE",
    "SHOWN_NOISE",
    "STAGE_NOISE",
    "UNSEEN",
    "Method",
    "check_method",
    "consistency_tolerance",
    "default_rtol",
    "entry_scale",
    "noise_from_table",
    "noise_steps",
    "norm2",
    "plausible",
    "relative_step",
    "rms_of",
    "steps",
    "unit_roundoff",
]

Method = Literal["central", "forward", "complex", "richardson"]
METHODS: tuple[str, ...] = ("central", "forward", "complex", "richardson")

_STEP_EXPONENT: dict[str, float] = {
    "forward": 1 / 2,
    "central": 1 / 3,
    "richardson": 1 / 7,
    "complex": 1 / 2,
}

#: Default screening tolerance ``rtol`` per (dtype, method), like jax's per-dtype
#: tables. Each is a few hundred times the error the method makes at its optimal step
#: on a well-scaled function (``u^(p/(p+1))``: float64 central 3.7e-11, float32
#: central 2.4e-5), so that correct gradients rarely need a second look, while a 1e-4
#: relative error in float64 is caught with three orders of magnitude to spare
#: (torch's default ``rtol=1e-3`` lets it through). Entries beyond this tolerance are
#: not failed on it alone: they are re-examined against an estimate of the
#: finite-difference error itself (see ``gradcheck._engine``).
RTOL: dict[str, dict[str, float]] = {
    "float64": {"central": 1e-7, "forward": 1e-5, "richardson": 1e-9, "complex": 1e-10},
    "float32": {"central": 1e-3, "forward": 1e-2, "richardson": 1e-4, "complex": 1e-5},
    "float16": {"central": 5e-2, "forward": 1e-1, "richardson": 1e-2, "complex": 1e-2},
}

#: How many estimated finite-difference errors a mismatch may be and still be
#: explained by them. Error estimates from two-step Richardson tables are good to a
#: factor of a few (they can underestimate when the next term of the error series is
#: large), so 10 keeps false failures away while a real error of 1e-4 against an
#: estimated error of 1e-10 is still a million times too large.
SAFETY = 10.0
#: The screen's allowance for round-off, in units of ``ν = gain·σ/h``, the standard
#: deviation of the round-off a difference quotient inherits from the cost's noise
#: ``σ`` (``gradcheck._compare``, rule 1): a correct entry's quotient is within
#: three standard deviations of its exact value 99.7% of the time under Gaussian
#: noise, and an entry outside is re-examined (rule 2), never failed on the screen.
SCREEN_NOISE = 3.0
#: The least magnitude of a nonzero cost value that can show an exact zero: a claim of
#: exactly 0 agrees to the last bit with differences of exactly 0 (``gradcheck._compare.
#: exact_zero``) only where the values round relative to their size. Below float32's
#: smallest normal number they may be subnormal (in float32, or in float64 below 2.2e-308),
#: spaced by an absolute 2⁻¹⁴⁹ or 2⁻¹⁰⁷⁴: ``Σθ²`` at θ = 1e-160 moves by 4e-325 under
#: its steps and shows differences of exactly 0 although its gradient is 2e-160
#: (attack20 A2). There an exact zero proves nothing, and the usual rule decides.
EXACT_LEAST = float(np.finfo(np.float32).tiny)
#: The spacing of floating-point numbers at 0 (float64's smallest subnormal): a cost of
#: exactly 0 still rounds to it, so an exact zero's resolution is never 0.
SMALLEST = float(np.nextafter(0.0, 1.0))


def resolution(sigma: float | np.ndarray[Any, Any], h: Any) -> np.ndarray[Any, Any]:
    """``R = 2·max(σ, SMALLEST)/h``: the largest ``|g|`` that central differences of
    exactly 0 at step ``h`` leave possible, for values of round-off ``σ ≥ u·|J|``.

    Two values that round to the same number differ by at most their spacing, which
    is at most ``2u·|J| ≤ 2σ``; ``C(h) = 0`` so proves ``2h·|g| ≤ 2σ`` up to curvature,
    and ``R`` keeps a factor 2 of margin. ``Σθ + 1e8`` in float32 has a spacing of 8:
    its gradient of 1 shows differences of exactly 0 at every step (``gradcheck._flatness``).
    """
    return np.asarray(2.0 * np.maximum(sigma, SMALLEST) / np.asarray(h), dtype=np.float64)


#: A retry with the classic step scale is worth it only if the step grows this much
#: (the round-off part of the error, ``u·|J|/h``, then drops by as much).
RETRY_GROWTH = 4.0


#: The largest noise-sized step (:func:`noise_steps`), relative to the entry's scale
#: ``s``: a cost whose noise swamps even a tenth of the scale it varies on cannot be
#: resolved by a larger step (its truncation error grows as ``h^p``), and the
#: estimates at such steps are checked against the first one anyway (``_entrywise``).
NOISE_STEP_CAP = 0.1


#: Precision (``gradcheck._precision``, ``docs/numerics.md`` "Precision").
#: Relative step of the hidden-precision probe, ``u32^(2/3)`` ≈ 2.4e-5: it moves a
#: cost computed in float32 by about 200 float32 quanta per step (``u32^(2/3) / u32``),
#: where the float64 probe's ``√u64`` ≈ 1.5e-8 is below float32's resolution and shows
#: no noise at all (issue 11 §2).
HIDDEN_STEP = float(np.finfo(np.float32).eps) ** (2 / 3)
#: Values of that probe count as float32 evidence only where some is above this
#: fraction of the size ``T`` of the terms that make the cost (``max(|J|, Σ|g_i θ_i|)``):
#: a float64 value below ``2^-29 T`` has at most 24 significant bits above the terms'
#: ulp ``2^-53 T``, so it is a float32 number whatever computed it (a cost cancelling to
#: about 0), while a nonzero float32 result of such terms is at least about their
#: float32 ulp, ``2^-24 T``; ``2^-27`` is between, with a factor 4 to 8 either side.
HIDDEN_MAGNITUDE = 2.0**-27
#: A float64 cost whose float64 probe measures noise above this fraction of float32's
#: round-off of the size ``T`` of its terms (``max(|J|, Σ|g_i θ_i|)``), or whose values
#: repeat there, is probed again at :data:`HIDDEN_STEP`. A float32 stage inside
#: (``float(u @ np.tanh(A @ p).astype(np.float32))``) measures about ``u32/54 · T``; a
#: float16 stage does not move at ``√u64`` at all (its values repeat); float64
#: round-off of ``n`` terms is about ``√n · u64 · T`` (Higham, §4.2), and a feature as
#: narrow as 5e-7 that the probe reads as noise (``exp(-(θ/w)²)``) ``2e-13 · T``.
NOISY = 1 / 256
#: A probe's table is noise when its ECnoise estimates from the 2nd, 3rd and 4th
#: differences agree to within this factor (``_precision._noise_like``): 1.3 to 1.5 for
#: float32 stages and float64 round-off, 400 to 4·10⁶ for narrow features at ``√u64``.
NOISE_LIKE = 4.0
#: A float64 cost whose measured noise is at least this fraction of float32's
#: round-off of its terms, ``SHOWN_NOISE · u32 · T``, is judged with float32's steps and
#: tolerances (float16's where the float64 probe did not move it at all). A cost with a
#: float32 stage measures ``u32/54 · T`` at ``√u64`` and ``u32/9 · T`` at
#: :data:`HIDDEN_STEP`, a float16 stage ``u32·100 · T`` there; float64 costs measure
#: about ``u64 · T``, and curvature that the larger step shows as noise
#: (``Σ sin(200·θ)``) ``4e-14 · T``: 1/256 is a factor 4 to 30 below the first and
#: 5 000 above the second.
SHOWN_NOISE = 1 / 256
#: Noise above this fraction of the terms' size ``T`` is no stage's rounding (float16's
#: round-off of ``T`` is ``4.9e-4 · T``; a float16 stage measures about ``7e-6 · T``):
#: a probe that crossed a pole (``1/θ`` at ``θ = 1e-8``) or a jump measures ``T`` itself,
#: and keeps float64's steps.
STAGE_NOISE = 2e-3
#: A low-precision gradient whose round-off against its float64 self exceeds this
#: many ``u`` of its dtype comes with a hint: so much round-off means cancellation (a
#: saturated tanh, a softmax of large logits), not the accumulation of ``n`` terms
#: (about ``√n · u``; 1e3 u would take 10⁶ terms).
CANCELLATION = 1e3
#: A vectorised cost (a ``vmap``) may sum in another order than the serial one: its
#: values at the unperturbed point may differ from the serial value by accumulated
#: round-off, about ``√n · u`` for ``n`` terms. This many ``u`` (relative) covers
#: ``10⁶`` terms; a batched cost that computes something else differs by far more
#: (``gradcheck._frameworks.probe_batched``).
BATCHED_ROUNDOFFS = 1e3
#: Round-off of a low-precision gradient, in units of its dtype's round-off times the
#: largest gradient entry of the model: 100 round-offs leave a wide margin over the
#: ``±u ×`` that scale of an exactly-zero gradient (``gradcheck._frameworks``).
ATOL_ROUNDOFFS = 100.0
#: A user's-dtype gradient within this fraction of its parameter's float64 gradient
#: scale is taken as round-off of the same formula (the guide's saturated tanh: 0.9%;
#: a doubled or negated gradient: 100% or 200%); a larger difference is no round-off
#: (code acting only in that dtype), and the user's-dtype gradient itself is checked.
#: Below this, size alone cannot tell (a 1% hook, a bfloat16-rounding backward): the
#: difference is reproduced in torch (``gradcheck._roundoff_verdict``: its
#: ``REPRODUCED`` and ``SYSTEMATIC``), else measured (``gradcheck._adapter_roundoff``).
PLAUSIBLE = 0.1
#: A detection bound above this many times float64's screening tolerance for the
#: method (1e-5 for central differences, where a float64 check states about 2e-7) is
#: said in a note: the report then states what it could not see.
UNSEEN = 100.0

#: The JVP–VJP consistency checks' tolerance (the core's
#: ``gradcheck._consistency.agreement`` and the adapters' ``gradcheck._adapters``: one
#: rule, :func:`consistency_tolerance`), in unit round-offs of the dtype the forms run
#: in, times ``√(n + m)`` and the scale ``Σ|uᵢ(Jv)ᵢ| + Σ|(uᵀJ)ⱼvⱼ|``: each side of
#: ``uᵀJv`` is a sum of about ``n + m`` products, whose round-off grows like
#: ``√(n + m)·u`` for random signs (Higham, *Accuracy and Stability of Numerical
#: Algorithms*, §2.8 and §4.2; Higham & Mary, SIAM J. Sci. Comput. 41(5), 2019), and
#: two correct rules may round in another order and through more intermediates.
CONSISTENCY_ROUNDOFFS = 100.0
#: A relative floor of the consistency tolerance, as a share of the same scale: two
#: correct forms agree only as well as each is accurate, and a correct form need not be
#: accurate to round-off: a backward-stable solve of condition κ is accurate to
#: ``κ·u`` (an implicit layer at κ = 1e8 in float64: 1e-8; jax's ``check_grads``, with
#: a relative tolerance of 1e-5 in float64, passes it), and a float64 form with float32
#: internals to float32's ``u`` = 6e-8. 1e-6 accepts both, and a factor or sign error
#: ``c`` (off by ``|c − 1|·|uᵀJv|``, with ``|uᵀJv| ≈ scale/(2√m)`` for random ``u``) is
#: still caught while ``|c − 1| > 2√m·(1e-6 + CONSISTENCY_ROUNDOFFS·√(n+m)·u)``: a
#: doubled or negated form at any size in float64, and in float32 up to n, m ≈ 10⁵.
#: A form accurate only to TF32 (``u`` = 4.9e-4) in a float64 check is not accepted:
#: the float64 finite differences see that error too.
CONSISTENCY_RTOL = 1e-6


def consistency_tolerance(roundoff: float, size: int, scale: float, floor: float = 0.0) -> float:
    """The consistency checks' allowance for ``|uᵀ(Jv) − (uᵀJ)v|`` (see
    :data:`CONSISTENCY_ROUNDOFFS` and :data:`CONSISTENCY_RTOL`).

    ``floor`` is an absolute scale of the round-off alone (no relative part): the
    size ``uᵀJv`` would have for derivatives as large as the function's values over
    its inputs' scales, ``‖u ⊙ f‖·‖v / s‖``. A Jacobian known only at a rounded point
    is known to about ``u`` times that (``sin(fl(3π))`` is 3.7e-16, not 0): at a
    stationary point the forms' own scale is round-off, and two correct forms
    differ by all of it (attack13 F3, ``cos`` at ``kπ``). A function that oscillates
    much faster than its inputs' scale (``cos`` at ``50π``) is not covered: its
    curvature is not seen in ``|f|/s``.

    Args:
        roundoff: the unit round-off the forms compute in.
        size: ``n + m``, the numbers of input and output entries.
        scale: ``Σ|uᵢ(Jv)ᵢ| + Σ|(uᵀJ)ⱼvⱼ|`` by the two forms compared (the sums of
            absolute products behind each side, ``gradcheck._consistency``).
        floor: the round-off-only scale above (0: none).

    >>> f"{consistency_tolerance(2.0**-53, 100, 1.0):.3g}"
    '1e-06'
    """
    ulps = CONSISTENCY_ROUNDOFFS * math.sqrt(size) * roundoff
    return (ulps + CONSISTENCY_RTOL) * scale + ulps * floor


def check_method(method: object) -> Method:
    """Return ``method`` if it is known, else raise naming the valid ones."""
    if method not in METHODS:
        raise GradcheckError(
            f"unknown method {method!r}: choose one of {', '.join(map(repr, METHODS))}"
        )
    return method  # type: ignore[return-value]


def unit_roundoff(dtype: Any) -> float:
    """Machine epsilon of a floating (or complex) dtype."""
    return float(np.finfo(np.dtype(dtype)).eps)


def _dtype_key(dtype: Any) -> str:
    size = np.dtype(dtype).itemsize
    if np.issubdtype(np.dtype(dtype), np.complexfloating):
        size //= 2
    return {8: "float64", 4: "float32", 2: "float16"}.get(size, "float64")


def default_rtol(dtype: Any, method: Method) -> float:
    """The screening tolerance for ``dtype`` and ``method`` (see :data:`RTOL`).

    >>> default_rtol(np.float64, "central")
    1e-07
    """
    return RTOL[_dtype_key(dtype)][method]


def relative_step(method: Method, dtype: Any) -> float:
    """``u^(1/(p+1))`` for ``method``'s order ``p`` and ``dtype``'s round-off ``u``.

    >>> round(relative_step("central", np.float64), 8)
    6.06e-06
    """
    return float(unit_roundoff(dtype) ** _STEP_EXPONENT[method])


def entry_scale(theta: np.ndarray[Any, Any], *, classic: bool = False) -> np.ndarray[Any, Any]:
    """The scale ``max(|θ_i|, rms θ)`` of each entry of a flat array (see module doc).

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


def rms_of(mag: np.ndarray[Any, Any]) -> float:
    """The RMS of an array of magnitudes, scaled by its largest so that the squares
    neither underflow (entries below about 1e-154: their RMS came out 0, and the step
    took the scale 1) nor overflow (above about 1e154); 0 for an empty or zero array.
    Where the plain sum of squares is safe (:data:`NORM2_SQUARES_SAFE`, as
    :func:`norm2` trusts it) it is used as it is, without the scaled copy.

    >>> f"{rms_of(np.array([3e-200, 4e-200])):.6g}", f"{rms_of(np.array([3e200, 4e200])):.6g}"
    ('3.53553e-200', '3.53553e+200')
    """
    top = float(np.max(mag, initial=0.0))
    if top == 0 or not math.isfinite(top):
        return top
    with np.errstate(over="ignore", under="ignore"):
        squares = float(mag @ mag)
    if NORM2_SQUARES_SAFE**2 <= squares < math.inf:  # as norm2 trusts it: no N-long temporary
        return math.sqrt(squares / mag.size)
    scaled = mag / top
    return top * math.sqrt(float(scaled @ scaled) / mag.size)


def steps(
    theta: np.ndarray[Any, Any],
    method: Method,
    eps: float | None,
    dtype: Any,
    *,
    classic: bool = False,
) -> np.ndarray[Any, Any]:
    """Per-entry steps ``h`` for a flat parameter array ``theta`` (see module doc).

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
    above :data:`NOISE_STEP_CAP` of ``s`` (unless the automatic step is larger), and
    rounded so that ``θ + h`` is exact.

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
    ratio = sigma / (gradient_scale * scale)
    with np.errstate(over="ignore"):
        rel = np.minimum(ratio ** _STEP_EXPONENT[method], NOISE_STEP_CAP)
    return _representable(theta, np.maximum(rel * scale, base), method, dtype)


def noise_from_table(values: np.ndarray[Any, Any]) -> float:
    """Noise level of a function from its values at equally spaced points.

    The ``k``-th differences of values whose errors are independent with standard
    deviation ``σ`` have variance ``C(2k, k) σ²``; along a step small enough that the
    smooth part's ``k``-th difference vanishes, they are all noise (Moré & Wild,
    "Estimating computational noise", SIAM J. Sci. Comput. 33(3), 2011, the ECnoise
    method). We use ``k = 4`` over every window of the table and return the RMS
    estimate.

    >>> noise_from_table(np.zeros(7))
    0.0
    """
    k = 4
    diffs = np.diff(np.asarray(values, dtype=np.float64), n=k)
    if diffs.size == 0:
        return 0.0
    with np.errstate(over="ignore"):
        mean_square = float(np.mean(diffs**2))
    if math.isinf(mean_square):  # differences above about 1e154 (a cost of 1e200)
        return norm2(diffs) / math.sqrt(diffs.size * comb(2 * k, k))
    return math.sqrt(mean_square / comb(2 * k, k))


#: A norm from the sum of squares is trusted from here on: the squares it lost to
#: underflow (each below the smallest normal float64, 2.2e-308) are below 1e-21 of its
#: own square even for 10⁶ entries. Below it :func:`norm2` divides by the largest entry
#: first (a Jacobian of 1e-200 has squares of 1e-400: a norm of 0, attack20 A13).
NORM2_SQUARES_SAFE = 1e-140


def norm2(values: np.ndarray[Any, Any]) -> float:
    """The Euclidean norm of an array, without overflow or underflow where the norm
    itself is a normal float (NumPy's sums the squares, which overflow from about
    1.3e154 and underflow below about 1.5e-154; a check must not warn for a cost or
    gradient of 1e200, since pytest's ``filterwarnings = error`` turns the warning into
    a failure, nor see a norm of 0 for a Jacobian of 1e-200, attack20 A13).

    >>> f"{norm2(np.array([3e200, 4e200])):.6g}", f"{norm2(np.array([3e-200, 4e-200])):.6g}"
    ('5e+200', '5e-200')
    """
    v = np.asarray(values, dtype=np.float64)
    with np.errstate(over="ignore", under="ignore"):
        norm = float(np.linalg.norm(v))
        if (math.isinf(norm) or norm < NORM2_SQUARES_SAFE) and np.all(np.isfinite(v)):
            top = float(np.max(np.abs(v), initial=0.0))
            norm = top * float(np.linalg.norm(v / top)) if top > 0 else 0.0
    return norm


def plausible(user: np.ndarray[Any, Any], g64: np.ndarray[Any, Any], floor: float) -> bool:
    """Whether a user's-dtype gradient ``user`` differs from its float64 self ``g64`` by
    no more than round-off explains: ``PLAUSIBLE`` of ``g64``'s scale, or ``floor``
    (``ATOL_ROUNDOFFS`` round-offs of the model's largest entry), whichever is larger.

    >>> plausible(np.array([1.0, 2.0]), np.array([1.0, 2.1]), 0.0)
    True
    >>> plausible(np.array([-1.0, -2.0]), np.array([1.0, 2.0]), 0.0)
    False
    """
    scale = float(np.max(np.abs(g64), initial=0.0))
    return float(np.max(np.abs(user - g64), initial=0.0)) <= max(PLAUSIBLE * scale, floor)
