"""The per-entry results of one parameter's comparison, and the rules that read them.

:class:`Comparison` carries what ``gradcheck._compare.compare`` found for each checked
entry; :data:`UNCERTAIN` and :data:`NOISE_SPREAD` are the thresholds its reach is judged
by, and :func:`zero_within_noise`, :func:`on_model_scale` and :func:`roundoff_limited`
read a comparison afterwards (a zero gradient, the model's scale, the retry).

>>> import numpy as np
>>> c = Comparison(
...     numeric=np.array([2.0, 1.0]),
...     abs_error=np.zeros(2),
...     tolerance=np.full(2, 1e-7),
...     fd_error=np.zeros(2),
...     status=np.array(["ok", "ok"], dtype=object),
...     reach=np.array([2e-7, 1e-7]),
...     flat=np.zeros(2, dtype=bool),
...     scale=2.0,
...     peak=2.0,
... )
>>> c.detection_bound  # the largest reach, relative to the largest entry
1e-07
>>> c.subset(np.array([False, True])).reach.tolist()
[1e-07]
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradcheck._numerics import SAFETY

__all__ = [
    "NOISE_SPREAD",
    "UNCERTAIN",
    "Comparison",
    "on_model_scale",
    "roundoff_limited",
    "zero_within_noise",
]

Array = np.ndarray[Any, Any]

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


@dataclass
class Comparison:
    """Per-entry results for one parameter (arrays over its checked entries).

    ``reach`` is the largest error each entry could hide (:data:`NOISE_SPREAD`),
    ``flat`` marks unresponsive entries (rule 5 of ``gradcheck._compare``'s module doc)
    and ``scale`` is the parameter's gradient scale (the largest ``max(|a|, |D|)``: a
    tolerance's reference). ``peak`` is the largest ``|a|`` of the entries, the
    reference of :attr:`detection_bound` (0: use ``scale``). ``kink`` is the estimated
    offset from θ of a kink within the entry's steps (0: at θ; NaN: none seen),
    ``bracketed`` whether the analytic value lies between the one-sided slopes there
    (``gradcheck._kinks``), and ``notes`` are lines for the report.
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
    #: exactly 0 too (``gradcheck._compare.exact_zero``), with a :attr:`resolution` within
    #: :data:`UNCERTAIN` of the gradient scale: ``ok`` whatever the cost's noise.
    exact: Array = dataclasses.field(default_factory=lambda: np.empty(0, dtype=bool))
    #: Where the claim and the differences are exactly 0, the largest ``|g|`` they leave
    #: possible (``gradcheck._flatness.resolution``); NaN elsewhere.
    resolution: Array = dataclasses.field(default_factory=lambda: np.empty(0))
    #: Whether the analytic value lies between the one-sided slopes once 0 counts as one
    #: (``gradcheck._kinks`` rule 5: relu'(0) = 0 switches every kink meeting at θ off).
    off: Array = dataclasses.field(default_factory=lambda: np.empty(0, dtype=bool))
    #: θ's one-sided slopes at ``h/2``, left and right (one row per entry; NaN where the
    #: entry was not examined for a kink): a move's gradients match them at one kink.
    slopes: Array = dataclasses.field(default_factory=lambda: np.empty((0, 2)))
    #: The step each entry's result was measured at (NaN: not known).
    step: Array = dataclasses.field(default_factory=lambda: np.empty(0))

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
        if self.off.shape != self.numeric.shape:
            self.off = np.zeros(self.numeric.shape, dtype=bool)
        if self.slopes.shape != (*self.numeric.shape, 2):
            self.slopes = np.full((*self.numeric.shape, 2), np.nan)
        if self.step.shape != self.numeric.shape:
            self.step = np.full(self.numeric.shape, np.nan)

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
        "off",
        "slopes",
        "step",
    )

    def subset(self, where: Array) -> Comparison:
        """The results of the entries ``where`` (an index or boolean mask)."""
        return dataclasses.replace(self, **{n: getattr(self, n)[where] for n in self.PER_ENTRY})

    def replace(self, where: Array, other: Comparison) -> None:
        """Take ``other``'s results (a comparison of the entries ``where``) for them."""
        for name in self.PER_ENTRY:
            getattr(self, name)[where] = getattr(other, name)


def roundoff_limited(c: Comparison, noise: Array) -> Array:
    """Which entries' estimated error is round-off, not truncation (a boolean mask).

    ``noise`` is each entry's ``ν``. An entry never re-examined has ``fd_error = 0``;
    a re-examined one has ``fd_error = |D − R| + ν``, whose round-off part stays under
    ``NOISE_SPREAD · ν`` at three standard deviations (see :data:`NOISE_SPREAD`). Beyond
    that, ``D − R`` is truncation: the function varies on the scale of the step, and a
    larger step (the retry) would only make the estimate worse.
    """
    return np.asarray(c.fd_error <= (1.0 + NOISE_SPREAD) * noise, dtype=bool)


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
