"""Large Jacobian checks by random projections ``uᵀ J v``, on shared evaluations.

For a cotangent ``u`` over the outputs, ``c_u(θ) = uᵀ f(θ)`` is a scalar whose
gradient is ``uᵀ J``: the VJP ``vjp(θ, u)``, or ``uᵀ J`` of a given Jacobian. So the
check of a ``vjp`` (or, without one, a ``jacobian``) form *is* a scalar check, run by
``check``'s directional verdict (``gradcheck._directional_check``): the same
directions, tolerance and stated guarantee (``gradcheck._directional``: a relative
error of ``uᵀJ`` of the stated size is caught with probability
``1 − miss_probability``). ``u`` gives every output a fair share
(``gradcheck._jacdir.cotangent``, one evaluation).

Its evaluations serve every form (``gradcheck._jacdir``): the verdict's probes
evaluate the whole output at ``θ ± w_k``, ``θ ± w_k/2``, and each output of a ``jvp``
or ``jacobian`` form is compared with those rows (``J w_k`` output by output, with the
same rule), and the consistency check uses the same pairs ``(u, w_k)``. A
``jvp``-only check draws its own :data:`~gradcheck._directional.DIRECTIONS` steps. A
check of every form costs ``2 + 1 + 4·DIRECTIONS`` evaluations of ``fn`` (11), about
what one scalar directional check costs.

After a failed fold the wrong outputs are found by bisection over the flat outputs:
``u`` restricted to each half is checked again by :func:`gradcheck.check`
(``budget`` evaluations at most), and for the first outputs found alone, ``check``'s
own localisation names the wrong inputs: an entry ``out[i] / W[j]``. A ``jvp`` or
``jacobian`` form's wrong outputs are named by its output-by-output comparison
directly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

import numpy as np

from gradcheck import _precision as prec
from gradcheck._build import (
    Outcome,
    ParameterOutcome,
    build_report,
    overall_status,
)
from gradcheck._consistency import Consistency, LinearMap, agreement, consistency, magnitudes
from gradcheck._directional import DIRECTIONS, STEP_EXPONENT
from gradcheck._directional_check import directional_check
from gradcheck._evaluate import Delta, GlobalRng
from gradcheck._jacalong import allow, along, along_results, rejudge
from gradcheck._jacclaims import (
    claim_allowance,
    claim_floor,
    fitted_noise,
    form_roundoff,
    unseen_note,
)
from gradcheck._jacdir import (
    Folded,
    cotangent,
    flat_step,
    probe_points,
    random_steps,
    taken_step,
)
from gradcheck._jacgrid import VectorEvaluator, output_roundoff
from gradcheck._jacreport import consistency_result, not_deterministic
from gradcheck._jacsearch import PINNED_OUTPUTS, out_label, search
from gradcheck._linear import Forms, Memo
from gradcheck._report import Report, Status
from gradcheck._steps import entry_scale
from gradcheck._tolerances import default_rtol, unit_roundoff

__all__ = ["NO_JVP_GUARANTEE", "projected"]

Array = np.ndarray[Any, Any]
#: What a jvp-only report says in place of a guarantee.
NO_JVP_GUARANTEE = (
    "jvp: no detection guarantee is stated: the jvp is compared output by output with "
    f"finite differences along {DIRECTIONS} random tangents, not by the directional check "
    "whose bound a vjp or jacobian form gets"
)


#: Evaluations per input the fold's own localisation may spend (``_shared``): one
#: probe of each input alone (4 evaluations) and one retry where none disagrees.
FOLD_LOCALISE = 8


def _relevant(message: str, localise: bool) -> bool:
    """Whether a note of the fold's verdict describes the user's call (the fold runs
    without localisation: the search over outputs localises)."""
    return not (localise and "(localise=False)" in message)


class _Shared(NamedTuple):
    """The evaluations every form shares: the steps ``w_k`` (flat) and the rows of
    ``f`` at ``θ ± w_k``, ``θ ± w_k/2``; the fold's cotangent and its outcome."""

    steps: list[Array]
    rows: list[Array]
    u: Array
    fold: Outcome | None
    work: Any
    scales: list[Array] | None = None  # the leaves' entry scales, where computed
    claim_u: float = 0.0  # a jacobian form's own unit round-off (``form_roundoff``)


def _relative_step(leaves: list[Array]) -> float:
    """A directional probe's relative step for the coarsest parameter dtype."""
    dtypes = [x.dtype if x.dtype.kind == "f" else np.dtype(np.float64) for x in leaves]
    return float(max(unit_roundoff(d) ** STEP_EXPONENT.get(d.itemsize, 1 / 5) for d in dtypes))


def _shared(
    ev: VectorEvaluator,
    forms: Forms,
    maps: dict[str, Memo],
    opts: Any,
    f0: Array,
    out_u: Array,
) -> _Shared:
    """The fold's verdict (with a ``vjp``/``jacobian`` form) and the steps' rows."""
    lay, leaves = forms.layout, ev.leaves
    rng = np.random.default_rng([opts.seed, 17])
    z = rng.standard_normal(lay.m)
    rel = _relative_step(leaves)
    primary = next((f for f in ("vjp", "jacobian") if f in forms.given), None)
    if primary is None:
        steps, rows = [], []
        for _ in range(DIRECTIONS):
            points = probe_points(random_steps(leaves, rng, rel))
            w = flat_step(points[0], [x.size for x in leaves])  # a fresh array: ours
            steps.append(taken_step(leaves, w, own=True))
            rows.append(ev(points))
        return _Shared(steps, rows, z, None, None)
    # one computation of the entry scales serves the cotangent's step and the verdict
    scales = [entry_scale(x.reshape(-1)) for x in leaves]
    w0 = random_steps(leaves, rng, rel, scales)
    change = ev([tuple(Delta(i, slice(None), w) for i, w in enumerate(w0))])[0]
    change -= f0  # in place: the row is this call's own
    u = cotangent(z, change, _one_roundoff(out_u, lay.out_dtypes), f0)
    g = maps[primary](u) if primary == "vjp" else forms.uj(primary, u)
    # a Jacobian of float32 numbers is a float32 claim, which uᵀJ (float64) hides
    claim_u = form_roundoff(forms.jacobian_matrix(), leaves) if "jacobian" in forms.given else 0.0
    analytic = [g[c].reshape(s) for c, s in zip(lay.in_slices(), lay.in_shapes)]
    # the rows and steps serve the jvp/jacobian comparisons and the consistency pairs:
    # a vjp alone needs neither
    folded = Folded(ev, u, keep=forms.given != ("vjp",))
    j0 = float(u @ f0)
    u_params = max(unit_roundoff(x.dtype if x.dtype.kind == "f" else np.float64) for x in leaves)
    work = prec.directional_work(folded, leaves, j0, u_params, opts.seed, analytic)
    first = len(folded.calls)
    fold = directional_check(
        folded,
        leaves,
        list(lay.in_names),
        analytic,
        j0,
        rtol=opts.rtol,
        seed=opts.seed,
        miss=opts.miss_probability,
        # with several inputs, a failed fold names the wrong ones at the first level of
        # localisation (4 evaluations an input, once more where none disagrees); the
        # search over outputs (``_fold_part``) names entries, and may run out of budget
        # first (attack35 H140: failed, and every input inconclusive)
        localise=opts.localise and len(leaves) > 1,
        budget=min(opts.budget, FOLD_LOCALISE * len(leaves)),
        roundoff=u_params if work is None else unit_roundoff(work),
        work=work,
        scales=scales,
        words=(f"the {primary}", "uᵀout's slope"),
        claim_u=claim_u if primary == "jacobian" else 0.0,
    )
    calls = folded.calls[first : first + DIRECTIONS]
    # as the rows took them; each w is Folded's own copy, read nowhere else
    steps = [taken_step(leaves, w, own=True) for w, _ in calls]
    return _Shared(steps, [r for _, r in calls], u, fold, work, scales, claim_u)


def _one_roundoff(out_u: Array, dtypes: list[Any]) -> Array | float:
    """The outputs' unit round-off as one number where one output dtype gives it
    (``cotangent`` then reads no array of them), else ``out_u``, one per output."""
    if out_u.size and len({np.dtype(d) for d in dtypes}) == 1:
        return float(out_u[0])
    return out_u


def _agree(forms: Forms, maps: dict[str, Memo], shared: _Shared, f0: Array) -> list[Consistency]:
    """The forms' consistency on the shared pairs ``(u, w_k)`` (no new evaluation)."""
    lay = forms.layout
    if len(forms.given) < 2:
        return []  # nothing to compare (``agreement``'s rule), the magnitudes' passes saved
    linear = [LinearMap(f, maps[f], f == "vjp") for f in forms.given]
    pairs = [(shared.u, w) for w in shared.steps]
    mags = magnitudes(forms, f0, shared.scales)
    return agreement(linear, lay.n, lay.m, lay.roundoff(), 0, magnitudes=mags, vectors=pairs)


def _rtol(opts: Any, leaves: list[Array], work: Any) -> float:
    """The comparisons' screening tolerance: the user's, or Richardson's for the
    coarsest dtype the steps were taken in."""
    if opts.rtol is not None:
        return float(opts.rtol)
    dtypes = [x.dtype if x.dtype.kind == "f" else np.dtype(np.float64) for x in leaves]
    if work is not None:
        dtypes = [min(d, np.dtype(work), key=lambda t: t.itemsize) for d in dtypes]
    return max(default_rtol(d, "richardson") for d in dtypes)


class _Part(NamedTuple):
    """What one part of the check (the output-by-output comparisons, or the fold and
    its search) adds to the report."""

    results: list[ParameterOutcome]
    statuses: list[Status]
    messages: list[str]
    pinned: list[str]
    regions: tuple[dict[str, Any], ...] = ()
    evaluations: int = 0
    exhausted: bool = False


def _signed(leaves: list[Array], seed: int) -> Array:
    """``θ ⊙ ρ``, flat, for random signs ``ρ`` (a private generator): the tangent
    whose image sizes the round-off of ``f``'s arguments (``_jacalong.rejudge``)."""
    theta = np.concatenate([x.reshape(-1).astype(np.float64) for x in leaves])
    signs = np.random.default_rng([seed, 23]).integers(0, 2, theta.size)
    return np.where(signs == 1, theta, -theta)


def _outputs_part(
    ev: VectorEvaluator,
    forms: Forms,
    maps: dict[str, Memo],
    shared: _Shared,
    f0: Array,
    out_u: Array,
    opts: Any,
) -> _Part:
    """Each ``jvp``/``jacobian`` form output by output along the shared steps.

    Outputs still wrong after the allowances for rounding (the form's own, ``f``'s
    arguments') are judged again with ``6σ`` more, ``σ`` their noise fitted through
    irregular points (``gradcheck._jacclaims.fitted_noise``, 12 evaluations): the five
    values of a step can hide a rounding inside ``f`` (``x − sin x`` near 0 rounds by
    ``u·|x|``, 7500 times ``u·|f_i|``, on a grid whose fourth differences vanish:
    attack38 H191, a right jvp failed 3 checks in 10 at 10⁴ outputs)."""
    noise: Array | None = None
    several = len(forms.given) > 1
    results: list[ParameterOutcome] = []
    messages: list[str] = []
    pinned: list[str] = []
    rtol = _rtol(opts, forms.leaves, shared.work)
    u_in = max(unit_roundoff(x.dtype if x.dtype.kind == "f" else np.float64) for x in forms.leaves)
    for form in (f for f in forms.given if f != "vjp"):
        prefix = f"{form}: " if several else ""
        claims = np.array([maps[form](w) for w in shared.steps])
        unit = shared.claim_u if form == "jacobian" else form_roundoff(claims, forms.leaves)
        floor = claim_floor(shared.steps, unit)
        cmp = along(shared.rows, f0, claims, out_u, rtol, floor)
        if cmp.wrong.any() and unit:  # the form's own float32 rounding (attack35 H141)
            cmp = allow(cmp, claim_allowance(maps[form], claims, shared.steps, unit, opts.seed))
        if cmp.wrong.any():  # one more call of the form, not of fn
            cmp = rejudge(cmp, np.abs(maps[form](_signed(forms.leaves, opts.seed))), u_in)
        if cmp.wrong.any():  # the outputs' noise, fitted through irregular points (H191)
            if noise is None:
                noise = fitted_noise(ev, forms.leaves, f0, u_in, opts.seed, out_u)
            cmp = allow(cmp, 6.0 * noise)
        rows, wrong, unseen = along_results(forms, cmp, prefix)
        if unseen:
            labels = [out_label(forms, i) for i in unseen[:8]]
            messages.append(unseen_note(labels, len(unseen), prefix))
        results += rows
        if wrong:
            named = ", ".join(out_label(forms, i) for i in wrong[:8])
            messages.append(f"{prefix}wrong outputs (J v against f's differences): {named}")
            if opts.localise:
                pinned += [f"{prefix}{out_label(forms, i)}" for i in wrong[:PINNED_OUTPUTS]]
    if pinned and "vjp" not in forms.given and "jacobian" not in forms.given:
        messages.append("jvp: the wrong inputs are not localised (give vjp= or jacobian= for that)")
    return _Part(results, [r.status for r in results], messages, pinned)


def _fold_part(
    fn: Callable[[Any], Any],
    params: Any,
    forms: Forms,
    opts: Any,
    shared: _Shared,
    rng: GlobalRng,
    fold: Outcome,
    done: int,
) -> _Part:
    """The fold's verdict as results ``uᵀout / W``, and the search for wrong outputs
    after a failure (``gradcheck._jacsearch``)."""
    primary = "vjp" if "vjp" in forms.given else "jacobian"
    prefix = f"{primary}: " if len(forms.given) > 1 else ""
    outs = "out" if len(forms.layout.out_names) == 1 else "outputs"
    messages = [f"{prefix}{m}" for m in fold.notes if _relevant(m, opts.localise)]
    found = None
    if fold.status == "failed" and opts.localise:
        found = search(fn, params, forms, opts, primary, shared.u, rng, prefix, done)
        messages += found.notes
    results = []
    for p in fold.parameters:
        extra = tuple(found.found.get(p.name, ())) if found else ()
        results.append(
            p._replace(
                name=f"{prefix}uᵀ{outs} / {p.name}",
                status="failed" if extra else p.status,
                worst=(*extra, *p.worst),
            )
        )
    status: Status = fold.status or "passed"
    if found is None:
        return _Part(results, [status], messages, [])
    return _Part(
        results,
        [status],
        messages,
        found.pinned,
        tuple(found.regions),
        found.evaluations,
        found.exhausted,
    )


def projected(
    fn: Callable[[Any], Any],
    params: Any,
    forms: Forms,
    opts: Any,
    options: dict[str, Any],
    start: float,
    outputs: Array,
    rng: GlobalRng,
) -> Report:
    """The projections check of every given form, and the consistency of the forms;
    ``outputs`` is ``fn``'s flat value at the parameters, ``rng`` the user's saved
    global random states (every evaluation of ``fn`` starts from them)."""
    lay = forms.layout
    user = opts.progress
    # the evaluator perturbs forms.leaves in place and puts them back after every
    # batch (also when fn raises); the forms read them only between batches, and hand
    # the user copies (``Forms._params``): no private copy of N entries is needed
    ev = VectorEvaluator(
        fn,
        lay.in_treedef,
        forms.leaves,
        list(lay.in_names),
        rng,
        progress=None if user is None else (lambda d, p: user(d + 1, p + 1)),
        size=lay.m,
    )
    f0 = ev([()])[0]
    if not np.array_equal(f0, outputs):
        agree = consistency(forms, opts.seed, outputs=outputs)
        return not_deterministic(lay, forms.given, agree, ev.count + 1, start, options)
    out_u = output_roundoff(lay.out_dtypes, lay.out_shapes)
    maps = {f: Memo(partial(forms.uj if f == "vjp" else forms.jv, f)) for f in forms.given}
    shared = _shared(ev, forms, maps, opts, f0, out_u)
    parts = [_outputs_part(ev, forms, maps, shared, f0, out_u, opts)]
    if shared.fold is not None:
        parts.append(_fold_part(fn, params, forms, opts, shared, rng, shared.fold, ev.count + 1))
    evaluations = ev.count + 1 + sum(p.evaluations for p in parts)  # +1: fn's first call
    agree = _agree(forms, maps, shared, f0)
    results = [r for p in parts for r in p.results] + [consistency_result(c) for c in agree]
    statuses = [s for p in parts for s in p.statuses]
    statuses += ["failed" if c.wrong else "passed" for c in agree]
    messages = [m for p in parts for m in p.messages] + [c.text() for c in agree]
    pinned = [x for p in parts for x in p.pinned]
    loc: dict[str, Any] = {}
    if pinned or any(p.evaluations for p in parts):
        loc = {
            "evaluations": evaluations,
            "exhausted": any(p.exhausted for p in parts),
            "pinned": pinned,
            "regions": [r for p in parts for r in p.regions],
        }
    guarantee: dict[str, Any] = dict(shared.fold.guarantee or {}) if shared.fold else {}
    if guarantee:
        guarantee["text"] = "uᵀJ with random u (each output's share equal), " + str(
            guarantee.get("text", "")
        )
    else:
        messages.append(NO_JVP_GUARANTEE)
    diff = max((p.difference for p in results if not math.isnan(p.difference)), default=0.0)
    noise = shared.fold.noise if shared.fold is not None else 0.0
    outcome = Outcome(
        tuple(results), diff, noise, tuple(messages), overall_status(statuses), guarantee, loc
    )
    return build_report(outcome, evaluations=evaluations, start=start, options=options)
