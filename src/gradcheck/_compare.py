"""Turn cost values into numerical derivatives, error estimates and per-entry verdicts.

The verdict rule, for one entry with analytic value ``a`` and numerical estimate
``D`` at step ``h``:

1. **Screen.** ``|a − D| ≤ tol = atol + rtol · max(|a|, |D|) + 3ν`` passes at once.
   ``rtol`` is the method and dtype's default (:data:`gradcheck._numerics.RTOL`),
   ``atol = rtol × the largest gradient entry of the same parameter`` (errors are
   judged on the scale of that parameter's gradient), and ``ν`` is the round-off
   error the difference quotient inherits from the cost's measured noise ``σ``
   (``σ/h`` for central differences).
2. **Re-examine** entries that fail the screen, with two more evaluations at ``h/2``.
   The Richardson extrapolation ``R = (4 C(h/2) − C(h)) / 3`` of the central
   differences ``C`` is a higher-order estimate; ``e = |D − R| + ν`` estimates the
   error of ``D`` itself — the spread of the Richardson table.
3. **Kinks** (``gradcheck._kinks``). With ``J0`` the unperturbed cost, the one-sided
   slopes differ by ``jump(s) = (J(θ+s) − 2 J0 + J(θ−s)) / s``. For a smooth cost
   ``jump(s) ≈ s f''`` halves with ``s``; at a kink (ReLU at 0, ties in max/abs) it
   does not. An entry whose jump stays (``|jump(h/2)| > 0.75 |jump(h)|``, above noise
   and tolerance) has a kink within its steps: at θ it is ``nonsmooth``, kept out of
   the verdict (:attr:`Comparison.kink` 0); away from θ the steps straddle it and the
   entry is ``uncertain`` until the engine compares it with smaller steps
   (:attr:`Comparison.kink` is the kink's estimated offset).
4. **Decide.** ``|a − D| ≤ tol + SAFETY · e`` is ``ok`` — unless that allowance is more
   than :data:`UNCERTAIN` of the parameter's gradient scale, when the entry is
   ``uncertain`` (the finite differences, drowned in noise, cannot resolve it: this
   is how a float32 cost too noisy to conclude comes out ``inconclusive`` instead of
   ``passed``), as is an ``ok`` entry whose reach, the largest error it could hide,
   exceeds :data:`UNCERTAIN` (an entry whose reach, with ``e`` not measured, would
   exceed it is re-examined first, :func:`examined`); otherwise
   ``wrong``. With an explicit ``rtol``/``atol`` the rule is the fixed one,
   ``|a − D| ≤ atol + rtol · max(|a|, |D|)``, with no allowance for ``e``.
5. **Unresponsive.** An entry that fails the screen although the cost returned exactly
   ``J0`` at every step (``J(θ ± h) = J(θ ± h/2) = J0``) saw no change at all: the
   cost does not depend on that entry, or its dependence is lost to rounding inside
   the cost (cancellation). In float64 the loss would need intermediates about
   ``1/u ≈ 4.5e15`` times the entry's contribution ``|a|·h``, so the entry is
   ``wrong`` (the cost does not use it, and its gradient should be 0). In float32 and
   below 1/u is 1.7e7 or less, and ``(1e4 + f) − 1e4`` in float32 already loses every
   change of ``f`` under 1e-3: the entry is ``uncertain``, and the report says why
   (:attr:`Comparison.flat`).
6. **Exact zero.** A claim of exactly 0 against central differences of exactly 0 at ``h``
   and ``h/2`` (and a method's estimate of 0) agrees to the last bit, which proves
   ``|g| ≤ R``, the values' resolution (``gradcheck._numerics.resolution``): ``ok``
   where ``R`` is within :data:`UNCERTAIN` of the scale, else ``uncertain`` with a reach
   of ``R`` (:func:`exact_zero`, :attr:`Comparison.exact`; a whole-zero gradient is
   ``gradcheck._flatness``'s).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import numpy as np

from gradcheck import _kinks
from gradcheck._numerics import EXACT_LEAST, SAFETY, SCREEN_NOISE, Method, resolution

__all__ = [
    "NOISE_SPREAD",
    "RECHECK",
    "SHOWN_DISTINCT",
    "STAGE1",
    "UNCERTAIN",
    "Comparison",
    "compare",
    "examined",
    "first_estimate",
    "noise_for",
    "on_model_scale",
    "roundoff",
    "roundoff_limited",
    "shown_roundoff",
    "tolerance",
    "value_noise",
    "zero_within_noise",
]

Array = np.ndarray[Any, Any]
_P = ParamSpec("_P")
_R = TypeVar("_R")


def _overflow_is_inf(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``fn`` with NumPy's overflows giving ``inf`` silently: ``σ/h`` at a step
    near the underflow (a parameter of 1e-308: steps of 1e-314) or a tolerance of a
    huge ``rtol`` is beyond float64, and an infinite allowance is then the right value
    (the entry is ``uncertain``; with a fixed tolerance, what the user asked for).
    Without this, a check warns, an error under ``-W error`` and pytest's
    ``filterwarnings = error``. Applied by assignment after each ``def``, not as
    ``@_overflow_is_inf``: mutmut makes no mutant of a decorated function
    (``make mutate``, docs/testing.md)."""

    @functools.wraps(fn)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with np.errstate(over="ignore"):
            return fn(*args, **kwargs)

    return run


#: Offsets, as multiples of ``h``, evaluated for every entry.
STAGE1: dict[str, tuple[complex, ...]] = {
    "central": (1, -1),
    "forward": (1,),
    "complex": (1j,),
    "richardson": (1, -1, 0.5, -0.5, 0.25, -0.25),
}
#: Offsets evaluated again for entries that fail the screen.
RECHECK: dict[str, tuple[complex, ...]] = {
    "central": (0.5, -0.5),
    "forward": (-1, 0.5, -0.5),
    "complex": (0.5j,),
    "richardson": (),
}
#: Round-off amplification: the numerical derivative's noise is ``NOISE_GAIN · σ / h``.
NOISE_GAIN = {"central": 1.0, "forward": 2.0, "complex": 0.0, "richardson": 8.0}
#: An entry is ``uncertain`` when ``SAFETY · e`` exceeds this fraction of the parameter's
#: gradient scale (the largest ``max(|a|, |D|)`` of its own entries, never another
#: parameter's): the check could not see a 10% error there.
UNCERTAIN = 0.1
#: The detection bound must hold for an error ``ε`` planted in any entry. The planted
#: entry is judged on the same cost values, so its ``D`` and ``e = |D − R| + ν`` do not
#: change; it is caught once ``|a + ε − D| ≥ |ε| − |a − D|`` exceeds its allowance
#: ``tol + SAFETY · e``. Its reach is therefore ``tol + |a − D| + SAFETY · e``, with the
#: entry's own mismatch (an error of the opposite sign first cancels it). ``e`` is
#: measured for every entry that was re-examined (and for every ``richardson`` entry,
#: whose table is all in stage 1); for the others it is taken as
#: ``|a − D| + NOISE_SPREAD · ν``: for a correct gradient ``|a − D|`` is the
#: finite-difference error itself, and ``D − R = 4/3 (C(h) − C(h/2))`` carries round-off
#: of standard deviation ``4/3 · √(1/2 + 2) · σ/h ≈ 2.1 ν``, so 7 covers it at three
#: standard deviations, plus ``ν``. (The planted error also raises ``tol`` by at most
#: ``2 · rtol · |ε|``, which the benchmark's margin of 1.1 covers for ``rtol`` ≤ 4%.)
NOISE_SPREAD = 7.0


def _central(jp: Array, jm: Array, h: Array) -> Array:
    return (jp - jm) / (2.0 * h)  # the lesson's formula, in the lesson's order


def _richardson(c1: Array, c2: Array, c3: Array) -> tuple[Array, Array]:
    r1, r2 = (4 * c2 - c1) / 3, (4 * c3 - c2) / 3
    best = (16 * r2 - r1) / 15
    return best, np.abs(best - r2)


def _table(vals: Array, h: Array) -> list[Array]:
    """The central differences at ``h``, ``h/2``, ``h/4`` from the ``richardson``
    stage-1 values."""
    return [_central(vals[:, i], vals[:, i + 1], h * s) for i, s in ((0, 1), (2, 0.5), (4, 0.25))]


def _table_spread(vals: Array, h: Array) -> Array:
    """The spread of the Richardson table from the ``richardson`` stage-1 values."""
    c1, c2, c3 = _table(vals, h)
    return _richardson(c1, c2, c3)[1]


def first_estimate(method: Method, j0: float, vals: Array, h: Array) -> Array:
    """The method's derivative estimate from the stage-1 values (columns = STAGE1)."""
    if method == "central":
        return _central(vals[:, 0], vals[:, 1], h)
    if method == "forward":
        return (vals[:, 0] - j0) / h
    if method == "complex":
        return np.asarray(np.imag(vals[:, 0]) / h, dtype=np.float64)
    c = [_central(vals[:, i], vals[:, i + 1], h * s) for i, s in ((0, 1), (2, 0.5), (4, 0.25))]
    return _richardson(*c)[0]


first_estimate = _overflow_is_inf(first_estimate)


@dataclass
class Comparison:
    """Per-entry results for one parameter (arrays over its checked entries).

    ``reach`` is the largest error each entry could hide (:data:`NOISE_SPREAD`),
    ``flat`` marks unresponsive entries (rule 5 of the module doc) and ``scale`` is the
    parameter's gradient scale (the largest ``max(|a|, |D|)``: a tolerance's reference).
    ``peak`` is the largest ``|a|`` of the entries, the reference of
    :attr:`detection_bound` (0: use ``scale``). ``kink`` is the estimated offset from θ of a kink
    within the entry's steps (0: at θ; NaN: none seen), ``bracketed`` whether the
    analytic value lies between the one-sided slopes there (``gradcheck._kinks``), and
    ``notes`` are lines for the report.
    """

    numeric: Array
    abs_error: Array
    tolerance: Array
    fd_error: Array
    status: Array  # of str: "ok" | "wrong" | "nonsmooth" | "uncertain"
    reach: Array
    flat: Array  # of bool
    scale: float
    kink: Array = dataclasses.field(default_factory=lambda: np.empty(0))  # of float
    bracketed: Array = dataclasses.field(default_factory=lambda: np.empty(0, dtype=bool))
    notes: tuple[str, ...] = ()
    peak: float = 0.0
    #: The kink entries' re-check at nearby points (``gradcheck._nearby``): ``""`` not
    #: run (``grad`` given as values, or nothing to re-check), ``"ran"``, or why it failed.
    nearby: str = ""
    #: Entries whose claim is exactly 0 and whose differences at ``h`` and ``h/2`` are
    #: exactly 0 too (:func:`exact_zero`), with a :attr:`resolution` within
    #: :data:`UNCERTAIN` of the gradient scale: ``ok`` whatever the cost's noise.
    exact: Array = dataclasses.field(default_factory=lambda: np.empty(0, dtype=bool))
    #: Where the claim and the differences are exactly 0, the largest ``|g|`` they leave
    #: possible (``gradcheck._flatness.resolution``); NaN elsewhere.
    resolution: Array = dataclasses.field(default_factory=lambda: np.empty(0))

    def __post_init__(self) -> None:
        """Comparisons built without kink fields saw no kink, nor exact zeros."""
        if self.kink.shape != self.numeric.shape:
            self.kink = np.full(self.numeric.shape, np.nan)
        if self.bracketed.shape != self.numeric.shape:
            self.bracketed = np.zeros(self.numeric.shape, dtype=bool)
        if self.exact.shape != self.numeric.shape:
            self.exact = np.zeros(self.numeric.shape, dtype=bool)
        if self.resolution.shape != self.numeric.shape:
            self.resolution = np.full(self.numeric.shape, np.nan)

    @property
    def detection_bound(self) -> float:
        """The largest ``reach`` relative to ``peak``, the parameter's largest gradient
        entry: an error of this size or more, relative to that entry, at any checked
        entry, is caught (``failed``). ``inf`` when an entry is left ``nonsmooth``: an
        error at a kink that no check could settle is kept out of the verdict, so no
        error there is known to be caught. 0 for an empty comparison or a zero scale.
        """
        if self.scale <= 0 or not self.reach.size:
            return 0.0
        if np.any(self.status == "nonsmooth"):
            return math.inf
        return float(self.reach.max() / (self.peak if self.peak > 0 else self.scale))

    #: The per-entry fields (all but ``scale``).
    PER_ENTRY = (
        "numeric",
        "abs_error",
        "tolerance",
        "fd_error",
        "status",
        "reach",
        "flat",
        "kink",
        "bracketed",
        "exact",
        "resolution",
    )

    def subset(self, where: Array) -> Comparison:
        """The results of the entries ``where`` (an index or boolean mask)."""
        return dataclasses.replace(self, **{n: getattr(self, n)[where] for n in self.PER_ENTRY})

    def replace(self, where: Array, other: Comparison) -> None:
        """Take ``other``'s results (a comparison of the entries ``where``) for them."""
        for name in self.PER_ENTRY:
            getattr(self, name)[where] = getattr(other, name)


def value_noise(sigma: float | Array, u: float, j0: float, values: Array, analytic: Array) -> Array:
    """Each entry's noise: the cost's ``σ``, and at least the round-off of the values
    it was differenced from, ``u · max(|J0|, |J(θ ± h)|)``, or ``u · tiny`` where those
    are all below ``tiny`` and the entry's ``analytic`` value is not 0.

    ``σ`` is measured at θ. Where the cost is far larger at θ ± h (a retry's classic
    step 6e-6 for a parameter of 1e-170: ``Σθ²`` is 3.6e-11 there and 0 at θ) its
    values carry that much more round-off, and where they underflow (``Σθ²`` at 1e-160
    is subnormal) their resolution is the smallest subnormal, ``u · tiny``, not
    ``u · |J|``: without this floor a cost that lost the entry to rounding was
    "unresponsive", and a correct gradient failed. A claim of exactly 0 predicts no
    change, so exact zeros at every step agree with it to the last bit: there the
    floor stays 0 (a cost that is 0 near θ, all of a dropout's outputs dropped, has
    nothing to resolve, and its zero gradient passes). Values that are subnormal but
    not all 0 get the floor whatever the claim: a zero claim against ``Σθ²`` at 1e-160
    (1.4e-319, moving) passed while the correct claim was inconclusive (attack20 A2).
    """
    tiny = float(np.finfo(np.float64).tiny)
    if not values.size:
        return np.array(np.broadcast_to(np.asarray(sigma, dtype=np.float64), analytic.shape))
    mag = np.max(np.abs(values), axis=1, initial=abs(j0))
    # a claim of 0 is spared the floor only where every value is exactly 0: values that
    # move among subnormals (Σθ² at 1e-160) do not agree with it to the last bit
    mag = np.where((mag < tiny) & ((analytic != 0) | (mag > 0)), tiny, mag)
    return np.asarray(np.maximum(sigma, u * mag), dtype=np.float64)


#: The dtypes whose numbers a cost's values can show it computes in, coarsest first.
_SHOWN = (np.dtype(np.float16), np.dtype(np.float32))
#: Distinct values needed as evidence: a float64 computation gives ``k`` distinct
#: float32 numbers by chance with probability about ``2^(-29·k)``.
SHOWN_DISTINCT = 3


def shown_roundoff(*values: float | Array) -> float:
    """The unit round-off the cost's values show, or 0 where they show none.

    A float64 cost with a float16 or float32 stage whose result is only cast up
    (``(A32 @ p.astype(np.float32)).astype(np.float64)``) returns numbers of that
    dtype: when ``J0`` and every value differenced from are exactly such numbers, at
    least :data:`SHOWN_DISTINCT` of them distinct, they move in that dtype's steps
    whatever dtype is declared, and their round-off is that dtype's (F2, F27).
    ``values`` are ``J0`` and the arrays of values (a check_jacobian grid passes every
    output's, so that a saturated output, all 1.0, is judged by its neighbours').
    """
    seen = np.concatenate([np.real(np.asarray(v)).reshape(-1) for v in values]).astype(float)
    if not np.all(np.isfinite(seen)):
        return 0.0
    with np.errstate(over="ignore"):
        for dtype in _SHOWN:
            if np.all(seen.astype(dtype).astype(np.float64) == seen):
                distinct = np.unique(seen).size >= SHOWN_DISTINCT
                return float(np.finfo(dtype).eps) / 2 if distinct else 0.0
    return 0.0


def roundoff(method: Method, sigma: float | Array, h: Array) -> Array:
    """Each entry's ``ν = NOISE_GAIN · σ / h``: the round-off its difference quotient
    inherits from the cost's noise (``inf`` where that is beyond float64)."""
    return np.asarray(NOISE_GAIN[method] * sigma / h, dtype=np.float64)


roundoff = _overflow_is_inf(roundoff)


def _gradient_scale(analytic: Array, numeric: Array, floor: float) -> float:
    """The largest ``max(|a|, |D|)`` over the entries whose estimate is finite, or
    ``floor``. An estimate that overflowed (cost round-off over a step near the
    underflow) is no measure of the gradient's size; its entry is ``uncertain``."""
    big = np.maximum(np.abs(analytic), np.abs(numeric))
    return max(float(np.max(big, where=np.isfinite(big), initial=0.0)), floor)


def roundoff_limited(c: Comparison, noise: Array) -> Array:
    """Which entries' estimated error is round-off, not truncation (a boolean mask).

    ``noise`` is each entry's ``ν``. An entry never re-examined has ``fd_error = 0``;
    a re-examined one has ``fd_error = |D − R| + ν``, whose round-off part stays under
    ``NOISE_SPREAD · ν`` at three standard deviations (see :data:`NOISE_SPREAD`). Beyond
    that, ``D − R`` is truncation: the function varies on the scale of the step, and a
    larger step (the retry) would only make the estimate worse.
    """
    return np.asarray(c.fd_error <= (1.0 + NOISE_SPREAD) * noise, dtype=bool)


def examined(
    method: Method,
    analytic: Array,
    numeric: Array,
    tol: Array,
    stage1: Array,
    j0: float,
    h: Array,
    floor: float = 0.0,
    noise: Array | None = None,
) -> Array:
    """Which entries are re-examined (rules 2 and 3): those that fail the screen, and
    those whose one-sided slopes at ``h`` differ by :data:`gradcheck._kinks.SCREEN` of
    the gradient scale or more (a kink can hide behind a central difference that
    matches: ``|x|`` at 0 gives 0 exactly). ``stage1`` holds the columns of
    :data:`STAGE1`.

    With ``noise`` (each entry's ``ν``; ``None`` for a fixed tolerance), also the
    entries whose reach with ``e`` not measured, ``tol + |a − D| + SAFETY · (|a − D| +
    NOISE_SPREAD · ν)``, exceeds :data:`UNCERTAIN` of the gradient scale: measured, their
    ``e`` is usually a third of that worst case, and an entry whose reach stays above it
    is ``uncertain`` (:func:`compare`). Not those whose reach would exceed it even with
    the least ``e``, ``ν``: they are ``uncertain`` whatever the two evaluations show."""
    mismatch = np.abs(analytic - numeric)
    out = mismatch > tol
    if method in ("central", "richardson") and out.size:
        scale = _gradient_scale(analytic, numeric, floor)
        jump = (np.real(stage1[:, 0]) - 2.0 * j0 + np.real(stage1[:, 1])) / h
        out |= np.abs(jump) > _kinks.SCREEN * scale
    if noise is not None and method in ("central", "forward") and out.size:
        scale = _gradient_scale(analytic, numeric, floor)
        worst = tol + mismatch + SAFETY * (mismatch + NOISE_SPREAD * noise)
        least = tol + mismatch + SAFETY * noise  # e is at least ν
        hopeless = least > UNCERTAIN * scale
        out |= (worst > UNCERTAIN * scale) & ~hopeless
        # a claim of 0 against a difference of 0 may be exact agreement (exact_zero)
        out |= hopeless & (analytic == 0) & (numeric == 0)
    return np.asarray(out)


examined = _overflow_is_inf(examined)


def exact_zero(analytic: Array, values: Array, *differences: Array) -> Array:
    """Which entries agree to the last bit: the claim is exactly 0, and so is every
    difference quotient given (the method's estimate, and the central differences at
    ``h`` and ``h/2``), and ``values`` (one row per entry: ``J0`` and the values
    differenced) are 0 or at least :data:`~gradcheck._numerics.EXACT_LEAST` in magnitude.

    A cost that does not move under the steps (``sign``, ``floor``, ``round``,
    ``argmax`` away from their jumps, a constant) or moves by the same amount both ways
    (``Σθ²`` at 0) shows a derivative of exactly 0 at two steps: a claim of 0 agrees
    with it exactly, whatever the cost's noise, up to the values' resolution ``R``
    (:func:`compare` judges that; ``gradcheck._flatness``, which the directional mode
    shares). Two steps, not one:
    a jump at ``θ + h`` and another at ``θ − h`` cancel in ``C(h)`` but not in
    ``C(h/2)``. A jump within ``h`` of θ moves the differences: that entry is a kink's
    (``gradcheck._kinks``), not an exact zero. Subnormal values round by an absolute
    spacing that can hide a gradient (``Σθ²`` at 1e-160): no exact zero there."""
    mag = np.abs(values)
    out = np.asarray(analytic == 0) & np.all((mag == 0) | (mag >= EXACT_LEAST), axis=1)
    for d in differences:
        out = out & (d == 0)
    return np.asarray(out, dtype=bool)


def noise_for(method: Method, sigma: float | Array, h: Array, fixed: bool) -> Array | None:
    """The ``noise`` argument of :func:`examined` for a comparison with noise ``sigma``
    at steps ``h``: each entry's ``ν``, or ``None`` under a fixed tolerance (no reach
    rule). The caller choosing the re-examined entries and :func:`compare` must agree."""
    return None if fixed else roundoff(method, sigma, h)


def zero_within_noise(
    c: Comparison, analytic: Array, tolerance: Array | None = None, *, with_error: bool = False
) -> bool:
    """Whether a parameter's gradient is zero within round-off at every checked entry.

    Both the analytic value and the finite difference lie within the entry's
    screening tolerance of 0 (about ``3ν``, the cost's round-off in the difference
    quotient): the finite differences see no gradient at all, so there is no scale of
    the parameter's own to judge a relative error by. A gradient that is small but
    measurably non-zero (a regulariser weighted 1e-9) is not zero: it is judged on its
    own scale, and is ``uncertain`` where noise hides a 10% error.

    ``tolerance`` is the first comparison's (default: ``c``'s own): a retry at a larger
    step has a tighter one, and a parameter whose gradient is round-off at the first
    step is no less so after it (attack23 D1). Where an entry was re-examined, its
    estimated error ``SAFETY · e`` counts too: a difference that is within its own
    truncation error of 0 (``−2 sin(θ/2) + sin θ`` at 0: ``C(h) = −3h²/8``, 5e-12, on
    a cost of 3e-17) sees no gradient either (``with_error``: ``check``'s parameters; a
    Hessian block's estimates carry truncation errors that this would call zero, and
    their kink rules then flagged a zero-gradient bias's block, test_torch_order2).
    """
    if not c.numeric.size:
        return False
    big = np.maximum(np.abs(analytic), np.abs(c.numeric))
    tol = c.tolerance if tolerance is None else tolerance
    return bool(np.all(big <= tol + (SAFETY * c.fd_error if with_error else 0.0)))


def on_model_scale(
    c: Comparison, model_scale: float, model_peak: float, screen: Array | None = None
) -> Comparison:
    """A zero-gradient parameter's comparison judged on the model's gradient scale.

    The ``uncertain`` entries whose reach is within :data:`UNCERTAIN` of
    ``model_scale`` become ``ok`` (the rule every parameter meets on its own scale),
    and :attr:`Comparison.detection_bound` becomes relative to ``model_peak``, the
    model's largest gradient entry.

    ``screen`` is the first comparison's tolerance. An entry that rule 5 made ``wrong``
    (the cost did not move at all, at a retry's larger step) with a claim within it is
    round-off on the model's scale (a true zero that autograd leaves as 1e-15,
    ``LayerNorm`` over one feature, attack23 D1): it is ``uncertain`` with a reach of at
    least ``screen + |a|``, then judged as the others, so the stated bound covers it
    and an error planted at 1.1 times that bound still fails.
    """
    status, reach = c.status.copy(), c.reach.copy()
    if screen is not None:
        lost = (status == "wrong") & c.flat & (c.abs_error <= screen)
        status[lost] = "uncertain"
        reach[lost] = np.maximum(reach[lost], screen[lost] + c.abs_error[lost])
    status[(status == "uncertain") & (reach <= UNCERTAIN * model_scale)] = "ok"
    return dataclasses.replace(c, status=status, reach=reach, scale=model_scale, peak=model_peak)


def tolerance(
    method: Method,
    analytic: Array,
    numeric: Array,
    h: Array,
    *,
    sigma: float | Array,
    rtol: float,
    atol: float | None,
    fixed: bool,
    floor: float = 0.0,
) -> Array:
    """The screening tolerance of each entry (step 1 of the module doc's rule).

    Args:
        method: the difference method.
        analytic, numeric, h: per-entry gradient, estimate and step.
        sigma: the cost's measured noise.
        rtol, atol: tolerances; ``atol=None`` means ``rtol ×`` the gradient scale.
        fixed: the user gave ``rtol``/``atol``: no allowance for noise.
        floor: the least gradient scale (the first attempt's, for a retry).
    """
    big = np.maximum(np.abs(analytic), np.abs(numeric))
    scale = _gradient_scale(analytic, numeric, floor)
    base = rtol * scale if atol is None else atol
    noise = 0.0 if fixed else SCREEN_NOISE * roundoff(method, sigma, h)
    return np.asarray(base + rtol * big + noise, dtype=np.float64)


tolerance = _overflow_is_inf(tolerance)


def compare(
    method: Method,
    analytic: Array,
    numeric: Array,
    h: Array,
    tol: Array,
    *,
    j0: float,
    sigma: float | Array,
    fixed: bool,
    stage1: Array,
    recheck: Array,
    floor: float = 0.0,
    low_precision: bool = False,
    shown: float | None = None,
    reexamined: Array | None = None,
) -> Comparison:
    """Classify each entry (see the module doc for the rule).

    Args:
        method: the difference method.
        analytic, numeric, h: per-entry gradient, estimate and step.
        tol: per-entry screening tolerance from :func:`tolerance`.
        j0: the unperturbed cost; sigma: its noise (per entry: :func:`value_noise`).
        fixed: the user gave ``rtol``/``atol``: no allowance for estimated error.
        stage1: stage-1 cost values, one row per entry (columns = STAGE1).
        recheck: re-examination values, one row per entry that failed the screen
            (columns = RECHECK), in order.
        floor: the least gradient scale (the first attempt's, for a retry).
        low_precision: the cost or the parameter is below float64: unresponsive
            entries are ``uncertain`` rather than ``wrong`` (module doc, rule 5).
        shown: the round-off the cost's values show (:func:`shown_roundoff`); by
            default that of ``j0`` and ``stage1``. Where it is coarser than ``sigma``
            says, it is the noise, and the comparison is one in low precision.
        reexamined: :func:`examined` of these arguments (``noise`` by
            :func:`noise_for`), where the caller computed it to choose ``recheck``'s
            rows (an entrywise Jacobian check: once per row, not twice).
    """
    mismatch = np.abs(analytic - numeric)
    scale = _gradient_scale(analytic, numeric, floor)
    screen = tol  # the caller's: it chose the entries re-examined (``recheck``'s rows)
    # the caller's noise chose the entries re-examined, with ``screen``
    chosen = noise_for(method, sigma, h, fixed)
    if shown is None:
        shown = shown_roundoff(j0, stage1)
    # values of a coarser dtype than declared: its round-off is their noise (F2, F27)
    if shown > 0 and not fixed and method != "complex":
        wider = value_noise(sigma, shown, j0, stage1, analytic)
        extra = roundoff(method, wider, h) - roundoff(method, sigma, h)
        tol, sigma, low_precision = tol + 3 * np.maximum(extra, 0.0), wider, True
    noise = roundoff(method, sigma, h)
    suspicious = mismatch > tol
    fd_error = np.zeros_like(numeric)
    e_all = mismatch + NOISE_SPREAD * noise  # e where it is not measured (see reach)
    exact = np.zeros(numeric.shape, dtype=bool)
    if method == "richardson" and numeric.size:  # its table is all in stage 1
        e_all = _table_spread(stage1, h) + noise
        rows = np.column_stack([np.full(numeric.size, j0), stage1])
        exact = exact_zero(analytic, np.real(rows), numeric, *_table(stage1, h))
    status = np.where(mismatch <= tol, "ok", "wrong").astype(object)
    flat = np.zeros(numeric.shape, dtype=bool)
    kink, bracketed = np.full(numeric.shape, np.nan), np.zeros(numeric.shape, dtype=bool)
    if reexamined is None:
        reexamined = examined(method, analytic, numeric, screen, stage1, j0, h, floor, chosen)
    idx = np.flatnonzero(reexamined)
    if idx.size and method != "complex":
        s1, hh, j = stage1[idx], h[idx], recheck
        if method == "central":
            jp, jm, jp2, jm2 = s1[:, 0], s1[:, 1], j[:, 0], j[:, 1]
        elif method == "forward":
            jp, jm, jp2, jm2 = s1[:, 0], j[:, 0], j[:, 1], j[:, 2]
        else:
            jp, jm, jp2, jm2 = s1[:, 2], s1[:, 3], s1[:, 4], s1[:, 5]
            hh = hh / 2
        c1, c2 = _central(jp, jm, hh), _central(jp2, jm2, hh / 2)
        if method == "richardson":
            _, spread = _richardson(_central(s1[:, 0], s1[:, 1], 2 * hh), c1, c2)
            err = spread + noise[idx]
        else:
            rows = np.column_stack([np.full(idx.size, j0), s1, j])
            exact[idx] = exact_zero(analytic[idx], np.real(rows), numeric[idx], c1, c2)
            err = np.abs(numeric[idx] - (4 * c2 - c1) / 3) + noise[idx]
        screened = ~suspicious[idx]  # examined for a kink only (see examined())
        fd_error[idx] = np.where(screened, 0.0, err)
        e_all[idx] = err
        a = analytic[idx]
        sig = np.broadcast_to(np.asarray(sigma, dtype=np.float64), numeric.shape)[idx]
        site = _kinks.locate(jp, jm, jp2, jm2, j0=j0, h=hh, sigma=sig, tol=tol[idx], analytic=a)
        kink[idx], bracketed[idx] = site.offset, site.bracketed
        allowed = tol[idx] + (0.0 if fixed else SAFETY * err)
        verdict = np.where(mismatch[idx] <= allowed, "ok", "wrong").astype(object)
        if not fixed:
            verdict[(verdict == "ok") & (SAFETY * err > UNCERTAIN * scale)] = "uncertain"
        verdict[screened] = "ok"
        verdict[site.at_point] = "nonsmooth"
        verdict[site.kink & ~site.at_point] = "uncertain"
        if not fixed:
            # rule 5 is for entries that fail the screen: one examined only for its
            # reach agrees with the claim, and its reach decides (uncertain)
            still = np.all(s1 == j0, axis=1) & np.all(j == j0, axis=1) & ~screened
            verdict[still] = "uncertain" if low_precision else "wrong"
            flat[idx] = still
        status[idx] = verdict
    elif idx.size:  # complex step: compare with the half step
        err = np.abs(numeric[idx] - np.imag(recheck[:, 0]) / (h[idx] / 2))
        fd_error[idx] = err
        e_all[idx] = err
        allowed = tol[idx] + (0.0 if fixed else SAFETY * err)
        status[idx] = np.where(mismatch[idx] <= allowed, "ok", "wrong")
    allowed_all = tol + (0.0 if fixed else SAFETY * fd_error)
    reach = tol + mismatch + (0.0 if fixed else SAFETY * e_all)
    exact &= status == "ok"  # a kink's entry stays the kink rules'
    # exact zeros prove |g| <= R only: they pass where R is within reach of the scale
    res = np.where(exact, resolution(np.broadcast_to(sigma, numeric.shape), h), np.nan)
    reach[exact] = np.maximum(reach[exact], res[exact])
    exact &= res <= UNCERTAIN * scale
    if not fixed:  # agreement within a tolerance that would hide a 10% error proves
        # nothing, nor does agreement whose reach would hide one (attack20 A9)
        blind = (allowed_all > UNCERTAIN * scale) | (reach > UNCERTAIN * scale)
        status[(status == "ok") & blind & ~exact] = "uncertain"
    overflowed = ~np.isfinite(numeric)
    status[overflowed], reach[overflowed] = "uncertain", math.inf
    peak = float(np.abs(analytic).max()) if analytic.size else 0.0
    return Comparison(
        numeric,
        mismatch,
        tol,
        fd_error,
        status,
        reach,
        flat,
        scale,
        kink,
        bracketed,
        peak=peak,
        exact=exact,
        resolution=res,
    )


compare = _overflow_is_inf(compare)
