"""Finite-difference numerics: methods, step sizes, tolerances, noise.

Everything numerical that has a default lives here, with its reason. The functions
that compute with these defaults are ``gradcheck._steps`` (each entry's step),
``gradcheck._tolerances`` (round-off and the tolerance rules) and ``gradcheck._norms``
(norms and noise of arrays of values, without overflow).

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

from typing import Literal

import numpy as np

__all__ = [
    "ATOL_ROUNDOFFS",
    "BATCHED_ROUNDOFFS",
    "CANCELLATION",
    "CLAIM_ROUNDOFFS",
    "CLAIM_SAMPLES",
    "CONSISTENCY_ROUNDOFFS",
    "CONSISTENCY_RTOL",
    "EXACT_LEAST",
    "FIT_MARGIN",
    "FIT_OFFSETS",
    "HIDDEN_MAGNITUDE",
    "HIDDEN_STEP",
    "HIDDEN_STEP16",
    "JUMP_END",
    "JUMP_FINE",
    "JUMP_KEPT",
    "JUMP_STEP",
    "METHODS",
    "NOISE_LIKE",
    "NOISE_STEP_CAP",
    "NOISY",
    "NORM2_SQUARES_SAFE",
    "PLAUSIBLE",
    "PROBE_ENTRIES",
    "PROBE_POINTS",
    "RETRY_GROWTH",
    "RTOL",
    "SAFETY",
    "SCREEN_NOISE",
    "SHOWN_NOISE",
    "SMALLEST",
    "STAGE16_NOISE",
    "STAGE_NOISE",
    "STEP_EXPONENT",
    "STEP_RETRY",
    "STEP_RETRY_RATIO",
    "UNSEEN",
    "Method",
]

Method = Literal["central", "forward", "complex", "richardson"]
METHODS: tuple[str, ...] = ("central", "forward", "complex", "richardson")

#: The exponent ``1/(p+1)`` of each method's relative step ``u^(1/(p+1))``, for its
#: truncation order ``p`` (the table above; ``gradcheck._steps.relative_step``).
STEP_EXPONENT: dict[str, float] = {
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
#: A directional verdict that could not see a relative error of ``DIRECTIONAL_UNCERTAIN``
#: because of its steps' truncation (``SAFETY·e`` at least ``STEP_RETRY_RATIO`` times the
#: noise term ``6σ/h``) is taken again along fresh directions with steps this many times
#: as large (``gradcheck._directional_check._smaller_steps``): ``e`` falls 16 times, the
#: noise term grows 4 times, so a bound set by ``SAFETY·e`` at least 4 times ``6σ/h``
#: shrinks. Mixed-scale float32 parameters (``s = max(|θ_i|, rms θ)`` moves an entry of
#: 0.1 by a step sized for 10: ``tanh``'s curvature there) were inconclusive 3 times in 6
#: with ``SAFETY·e`` 15 to 80 times ``6σ/h`` (attack33 H127).
STEP_RETRY = 0.25
#: See :data:`STEP_RETRY`.
STEP_RETRY_RATIO = 4.0
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


#: A retry with the classic step scale is worth it only if the step grows this much
#: (the round-off part of the error, ``u·|J|/h``, then drops by as much).
RETRY_GROWTH = 4.0


#: The largest noise-sized step (:func:`gradcheck._steps.noise_steps`), relative to the
#: entry's scale ``s``: a cost whose noise swamps even a tenth of the scale it varies on
#: cannot be resolved by a larger step (its truncation error grows as ``h^p``), and the
#: estimates at such steps are checked against the first one anyway (``_entrywise``).
NOISE_STEP_CAP = 0.1


#: Precision (``gradcheck._precision``, ``docs/numerics.md`` "Precision").
#: Relative step of the hidden-precision probe, ``u32^(2/3)`` ≈ 2.4e-5: it moves a
#: cost computed in float32 by about 200 float32 quanta per step (``u32^(2/3) / u32``),
#: where the float64 probe's ``√u64`` ≈ 1.5e-8 is below float32's resolution and shows
#: no noise at all (issue 11 §2).
HIDDEN_STEP = float(np.finfo(np.float32).eps) ** (2 / 3)
#: Relative step of the second hidden-precision probe, ``u16^(2/3)`` ≈ 9.8e-3, run when
#: the cost did not move at :data:`HIDDEN_STEP` and its value is a float16 number: a
#: cost computed in float16 (``float(np.sum(np.tanh(A16 @ p.astype(np.float16))))``)
#: moves by about 10 float16 quanta per step there, where :data:`HIDDEN_STEP` is 40
#: times below float16's resolution (``u16`` ≈ 4.9e-4) and its finite differences are
#: exactly 0: a right gradient was failed as "the cost does not change with this
#: parameter" (stop 27).
HIDDEN_STEP16 = float(np.finfo(np.float16).eps) ** (2 / 3)
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
#: A float64 cost whose values repeat at ``√u64`` is judged with float16's steps only
#: where the probe at :data:`HIDDEN_STEP` did not move it, or measures at least this many
#: times float32's round-off of its terms, ``u32 · T``: a float32 stage whose total is
#: scaled in float64 (``0.1·float32(Σ …)``) repeats at ``√u64`` too, and measures 0.06 to
#: 0.5 ``u32 · T`` there, a float16 stage 240 to 1000 (attack32 H112: with float16's
#: steps and tolerances a sign error on one entry, or a 10% error, was inconclusive).
STAGE16_NOISE = 8.0
#: Noise above this fraction of the terms' size ``T`` is no stage's rounding (float16's
#: round-off of ``T`` is ``4.9e-4 · T``; a float16 stage measures about ``7e-6 · T``):
#: a probe that crossed a pole (``1/θ`` at ``θ = 1e-8``) or a jump measures ``T`` itself,
#: and keeps float64's steps.
STAGE_NOISE = 2e-3
#: Relative step of the probe for a low-precision stage *added* to a float64 cost
#: (``gradcheck._hidden_jumps``, attack34 H131), ``16·HIDDEN_STEP`` ≈ 3.9e-4: a float16
#: stage's inputs cross a spacing (``2^-11`` to ``2^-10`` of themselves) about every 2
#: steps, a float32 stage's many times per step, while a smooth cost's third derivative
#: moves the table by ``4·10⁻¹¹`` of its terms.
JUMP_STEP = 16 * HIDDEN_STEP
#: Relative size the interval of a departure from the probe's trend is halved down to
#: (``gradcheck._hidden_jumps``), ``√u64/16`` ≈ 9e-10: a jump (a stage's rounding, a
#: quantiser) keeps its departure at every size; a feature narrower than the probe's step
#: but wider than this (a bump of width 1e-7, attack28) is continuous there, and its
#: departure halves with the interval.
JUMP_END = float(np.finfo(np.float64).eps) ** 0.5 / 16
#: Relative size a jump's interval is halved down to, ``2^-44`` ≈ 5.7e-14, to find the
#: input it is in: one on a float32 rounding midpoint (spacing ``2^-24`` of itself) to
#: within 1e-6 of that spacing, a float16 one 1e-9 (``_hidden_jumps._stage_of``).
JUMP_FINE = 2.0**-44
#: The share of its departure 4 halvings up that a jump keeps at the last level: one
#: jump keeps all of it, many small ones (a float32 stage's) about 1/4, a continuous
#: cost 1/16 or less.
JUMP_KEPT = 1 / 8
#: A directional probe allows this many standard deviations of the claim's own rounding
#: where a float64 parameter's gradient is all float32 numbers (computed in float32:
#: ``A32.T @ cos(A x)32``): each entry is off by up to ``u32·|g_i|``, so ``a = gᵀv`` by
#: a sum of standard deviation at most ``u32·‖s ⊙ g‖`` (``v = z ⊙ s``, ``z`` Gaussian).
#: The full mode's per-entry tolerance (1e-6 and more) holds that rounding already; the
#: directional one (5e-9 of ``‖s ⊙ g‖``) failed such a right gradient 6/6 (attack35 H141).
#: The same many times the absolute rounding of a claim's subnormal entries (float64's
#: smallest subnormal an entry, times ``‖v‖``: attack36 H162).
CLAIM_ROUNDOFFS = 6.0
#: A ``jvp``/``jacobian`` form whose claims are float32 numbers for float64 parameters is
#: called this many more times per step, on the step with random signs, to size the
#: terms each output's ``J w`` sums (``gradcheck._jacclaims.claim_allowance``): with the
#: claim itself 4 samples of ``‖J_i ⊙ w‖²``, whose mean is below 1/400 of it (the claim
#: 1/20 of the terms) at about one output in 10⁵, against one in 25 for the claim alone
#: (attack35 H141: a right float32 jvp failed every check).
CLAIM_SAMPLES = 3
#: Offsets, in units of the step, of the points ``gradcheck._jacclaims.fitted_noise``
#: adds: irregular, so the rounding of a quantised ``f`` is not linear in them (equally
#: spaced values of a near-linear ``f`` on a grid round by ``frac(k·δ)``, whose fourth
#: differences vanish until it wraps: ECnoise saw no noise in ``log cosh x`` near 0,
#: attack38 H191).
FIT_OFFSETS = (-1.0, -0.83, -0.71, -0.52, -0.43, -0.17, 0.13, 0.29, 0.37, 0.61, 0.77, 0.89)
#: A fitted ``σ`` from ``len(FIT_OFFSETS) + 1 − 5 = 8`` degrees of freedom is below half
#: the truth with probability 2% and below a quarter with 1.4e-4 (χ² with 8): the
#: allowance takes ``FIT_MARGIN = 2`` times it, so a right output flagged by the rule
#: fails again with probability about 1e-4 (R's noise is 1.9σ, the tolerance 6σ).
FIT_MARGIN = 2.0
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
#: Points in the stack that probes a vectorised cost: a GPU picks its kernels by batch
#: size, so a stack of 2 can run another kernel than the engine's stacks of ``2n`` (a
#: JAX ``vmap`` on an H200 ran float32 products in TF32 at 34 points, not at 2;
#: ``tools/gpu_check.py``). The probe's three points are repeated to at least this many,
#: fewer where the stack would hold more than :data:`PROBE_ENTRIES`
#: (``gradcheck._frameworks.probe_batched``).
PROBE_POINTS = 32
#: The most entries the probe's stack holds (2 MiB in float64). A stack of 33 points
#: of 10⁵ or 10⁶ entries cost 3-6 times the directional check itself (benchmarks at
#: d196dfa: torch ``check_function`` 16× and 29× torch's fast mode at 10⁵ and 10⁶,
#: 3.7-5.1× before); there the probe stacks its three points once. A model of that
#: size is checked with few stacked points anyway (the directional mode's).
PROBE_ENTRIES = 2**18
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

#: The JVP–VJP consistency checks' tolerance (the core's ``gradcheck._consistency.agreement`` and
#: the adapters' ``gradcheck._adapters``: one rule,
#: :func:`gradcheck._tolerances.consistency_tolerance`), in unit round-offs of the dtype the forms
#: run in, times ``√(n + m)`` and the scale ``Σ|uᵢ(Jv)ᵢ| + Σ|(uᵀJ)ⱼvⱼ|``: each side of ``uᵀJv`` is a
#: sum of about ``n + m`` products, whose round-off grows like ``√(n + m)·u`` for random signs
#: (Higham, *Accuracy and Stability of Numerical Algorithms*, §2.8 and §4.2; Higham & Mary, SIAM J.
#: Sci. Comput. 41(5), 2019), and two correct rules may round in another order and through more
#: intermediates.
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


#: A norm from the sum of squares is trusted from here on: the squares it lost to
#: underflow (each below the smallest normal float64, 2.2e-308) are below 1e-21 of its
#: own square even for 10⁶ entries. Below it :func:`gradcheck._norms.norm2` divides by
#: the largest entry first (a Jacobian of 1e-200 has squares of 1e-400: a norm of 0, attack20 A13).
NORM2_SQUARES_SAFE = 1e-140
