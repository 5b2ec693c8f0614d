"""The checking engine: ``check`` and ``assert_gradients``.

One check runs in five steps, all on a private copy of the parameters:

1. evaluate the cost twice at the unperturbed point — different values mean the
   cost is not deterministic and the check is ``inconclusive``;
2. measure the cost's noise from a small difference table (ECnoise, see
   :func:`gradcheck._numerics.noise_from_table`);
3. evaluate the method's finite differences for every checked entry;
4. re-examine entries that fail the screening tolerance (see ``gradcheck._compare``);
5. build the report: per-parameter verdicts, worst entries and a diagnosis.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np

from gradcheck import _compare as cmp
from gradcheck import _kinks as kinks
from gradcheck import _nearby as nearby
from gradcheck import _precision as prec
from gradcheck._directional import MISS_PROBABILITY
from gradcheck._errors import GradcheckError, GradientMismatch
from gradcheck._evaluate import Delta, Evaluator, SerialEvaluator, preserve_rng
from gradcheck._inputs import (
    analytic_gradient,
    check_options,
    check_run_options,
    check_target,
    private_copy,
)
from gradcheck._localise import BUDGET
from gradcheck._modes import (
    directional_check,
    resolve_mode,
    sample_indices,
    sample_size,
)
from gradcheck._numerics import (
    RETRY_GROWTH,
    SAFETY,
    Method,
    check_method,
    default_rtol,
    steps,
    unit_roundoff,
)
from gradcheck._parallel import MEMORY_BUDGET, BatchedEvaluator, ExecutorEvaluator
from gradcheck._pytree import flatten, unflatten
from gradcheck._report import Report
from gradcheck._summary import WORST, inconclusive, summarise

__all__ = ["assert_gradients", "check"]

Array = np.ndarray[Any, Any]
Cost = Callable[[Any], Any]
_FLOAT64_U = unit_roundoff(np.float64)


def _read_only_twin(user: Any, leaf: Array) -> Array | None:
    """The user's array as a flat view when it equals ``leaf`` bit for bit, else None.

    The evaluator only reads it (to restore perturbed entries), which saves one copy
    of every parameter: at N = 10⁶ one pass over 8 MB less per check.
    """
    if isinstance(user, np.ndarray) and user.dtype == leaf.dtype and user.flags.c_contiguous:
        return user.reshape(-1)
    return None


def check(
    cost: Cost,
    params: Any,
    grad: Any,
    *,
    method: Method = "central",
    eps: float | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    mode: str = "auto",
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
    sample: float | None = None,
    batched: Callable[[Any], Any] | None = None,
    executor: Any = None,
    memory_budget: int = MEMORY_BUDGET,
    localise: bool = True,
    budget: int = BUDGET,
    miss_probability: float = MISS_PROBABILITY,
) -> Report:
    """Compare ``grad`` with a numerical gradient of ``cost`` at ``params``.

    Args:
        cost: ``cost(params) -> scalar``; called with a private copy of ``params``.
        params: an array, or a dict / list / tuple of arrays, nested.
        grad: the gradient to check: the same structure as ``params`` (dict keys may
            carry the lesson's ``d`` prefix, ``dW1`` for ``W1``) or a function
            ``grad(params)`` returning it.
        method: ``"central"`` (default), ``"forward"``, ``"complex"`` (the cost must
            accept complex input) or ``"richardson"``; see ``gradcheck._numerics``.
        eps: the step; ``None`` chooses it per entry from the dtype and the entry's
            magnitude, a number is used exactly as given.
        rtol, atol: fixed tolerances that replace the error-estimate rule of
            ``gradcheck._compare``.
        mode: ``"full"`` (every entry), ``"sample"`` (``sample`` entries per
            parameter), ``"directional"`` (random projections, 10 evaluations
            whatever the size, then localisation on failure) or ``"auto"``
            (default: full up to ``gradcheck._modes.AUTO_FULL_MAX`` entries,
            directional above); see ``docs/scale.md``.
        seed: seeds the private RNG (noise probe, sampled entries, directions). The
            global NumPy and ``random`` states are never changed.
        progress: called as ``progress(done, planned)`` after every cost evaluation
            (``planned`` grows as stages are planned); for progress bars.
        sample: for ``mode="sample"``: an int (entries per parameter) or a float in
            (0, 1] (fraction of each parameter); default 100 entries.
        batched: ``batched(stacked) -> B values``: the cost of a pytree shaped like
            ``params`` whose every leaf has a leading batch axis ``(B, *shape)``;
            used for the perturbed evaluations, ``B`` chunked to ``memory_budget``.
        executor: a ``concurrent.futures.Executor`` or a Dask ``distributed.Client``
            to run the perturbed evaluations on (a process or Dask worker needs a
            picklable cost; a thread pool's cost must not draw global random numbers).
        memory_budget: bytes one stacked batch may take (with ``batched``).
        localise: after a failed directional verdict, find the wrong parameters and
            entries (``gradcheck._localise``).
        budget: at most this many evaluations for localisation.
        miss_probability: the ``δ`` of the directional guarantee: an error of the
            stated size is missed with probability at most ``δ``.

    Returns:
        A :class:`~gradcheck.Report`.

    Raises:
        GradcheckError: for bad input or a cost that fails; the message names it.

    >>> import numpy as np
    >>> x = np.array([1.0, 2.0])
    >>> check(lambda p: float(np.sum(p**3)), x, 3 * x**2).status
    'passed'
    >>> check(lambda p: float(np.sum(p**3)), x, 2 * x**2).status
    'failed'
    """
    start = time.perf_counter()
    check_target(cost, params)
    method = check_method(method)
    check_options(eps, rtol, atol)
    names, user_leaves, treedef = flatten(params)
    complex_step = method == "complex"
    leaves = [private_copy(n, x, complex_step) for n, x in zip(names, user_leaves)]
    total = sum(x.size for x in leaves)
    if not names or total == 0:
        raise GradcheckError("params is empty: there is no entry to check")
    run_mode = resolve_mode(mode, total)
    check_run_options(
        seed=seed,
        progress=progress,
        batched=batched,
        memory_budget=memory_budget,
        localise=localise,
        budget=budget,
        miss_probability=miss_probability,
        sample=sample,
        run_mode=run_mode,
    )
    notes: list[str] = []
    analytic = analytic_gradient(grad, params, names, notes, cost)
    fixed = rtol is not None or atol is not None
    options: dict[str, Any] = {
        "method": method,
        "eps": eps,
        "rtol": rtol,
        "atol": atol,
        "mode": mode,
        "seed": seed,
        "safety": SAFETY,
        "step_rule": "given" if eps is not None else "u^(1/(p+1)) * max(|θ|, rms(θ))",
        "tolerance_rule": "fixed" if fixed else "estimate",
        "resolved_mode": run_mode,
    }
    if sample is not None:
        options["sample"] = sample
    with preserve_rng() as saved_rng:
        ev = SerialEvaluator(
            cost, treedef, leaves, names, saved_rng, complex_ok=complex_step, progress=progress,
            pristine=[_read_only_twin(u, x) for u, x in zip(user_leaves, leaves)],
        )
        base = np.real(ev([(), ()]))
        if base[0] != base[1]:
            msg = (
                f"the cost is not deterministic: two evaluations at the same parameters "
                f"gave {base[0]:.17g} and {base[1]:.17g}. Dropout or sampling? Fix its random "
                "numbers (a seeded generator inside the cost) so that each call repeats."
            )
            return inconclusive(names, leaves, ev.count, start, msg, options, notes)
        j0 = float(base[0])
        if complex_step and not np.issubdtype(np.dtype(ev.result_dtype), np.complexfloating):
            raise GradcheckError(
                "method='complex' needs a cost that carries complex input through to a "
                "complex result; this cost returned a real value (abs, real parts or a "
                "cast to float?). Use method='central'."
            )
        route = None
        # a batched cost is not seen to follow its dtype (it may be a float32 vmap)
        if callable(grad) and not (fixed or complex_step or eps is not None or batched):
            found = prec.formula_in_float64(ev, grad, treedef, names, leaves, analytic, j0)
            if isinstance(found, prec.Float64Route):
                route, leaves, analytic, j0 = found, found.leaves, found.analytic, found.j0
            else:
                notes += found
        bulk: Evaluator = ev
        if executor is not None:
            bulk = ExecutorEvaluator(executor, cost, batched, ev, treedef, memory_budget)
        elif batched is not None:
            bulk = BatchedEvaluator(batched, ev, treedef, memory_budget)
        cost_u = unit_roundoff(ev.result_dtype) if np.issubdtype(
            np.dtype(ev.result_dtype), np.inexact
        ) else unit_roundoff(np.float64)
        u = max([cost_u] + [unit_roundoff(x.dtype) for x in leaves])
        extra: dict[str, Any] = {}
        work = None  # the dtype the cost computes in, when below what it returns
        terms = prec.terms_size(analytic, leaves)
        if run_mode == "directional":
            if not complex_step:
                work = prec.directional_work(bulk, leaves, j0, u, seed, terms)
            if work is not None:
                u = unit_roundoff(work)
                notes.append(prec.HIDDEN_NOTE)
            res, status, diff, guarantee, loc, msgs = directional_check(
                bulk, leaves, names, analytic, j0, rtol=rtol, seed=seed,
                miss=miss_probability, localise=localise, budget=budget, roundoff=u, work=work,
            )  # fmt: skip
            sigma = float(guarantee["noise"])
            extra = {"mode": run_mode, "guarantee": guarantee, "localisation": loc}
        else:
            hidden = None if complex_step else terms
            sigma, work = prec.cost_noise(bulk, leaves, j0, u, seed, hidden=hidden)
            if work is not None:
                notes.append(prec.HIDDEN_NOTE)
            rng = np.random.default_rng([seed, 2])
            chosen = [
                sample_indices(x.size, sample_size(x.size, sample, n), rng)
                if run_mode == "sample" else np.arange(x.size)
                for n, x in zip(names, leaves)
            ]  # fmt: skip
            setting = _Setting(method, j0, sigma, rtol, atol, fixed, u > _FLOAT64_U, work)
            grad_at = None
            if callable(grad):

                def grad_at(moved: list[Array]) -> list[Array]:
                    return analytic_gradient(grad, unflatten(treedef, moved), names, [])

            where = (leaves, names, analytic, eps, chosen)
            results = _check_leaves(bulk, setting, *where, notes, grad_at=grad_at, seed=seed)
    if run_mode == "directional":
        report = Report(
            status=status, difference=diff, parameters={r.name: r for r in res},
            worst=tuple(e for r in res for e in r.worst)[:WORST], evaluations=ev.count,
            seconds=time.perf_counter() - start, options=options, noise=sigma,
            messages=tuple(notes + msgs), **extra,
        )  # fmt: skip
    else:
        report = summarise(results, analytic, ev.count, start, options, sigma, notes)
        report = replace(report, mode=run_mode) if run_mode != "full" else report
    if route is None:
        return report
    return prec.with_precision(report, route, "float64" if work is None else "float32")


@dataclass(frozen=True)
class _Setting:
    """What every per-entry comparison of one check shares."""

    method: Method
    j0: float
    sigma: float
    rtol: float | None
    atol: float | None
    fixed: bool
    low_precision: bool
    work: np.dtype[Any] | None = None  # the cost's own dtype, when below the leaves'

    def dtype(self, leaf: Array) -> np.dtype[Any]:
        """The dtype whose round-off sets ``leaf``'s steps and tolerances."""
        own = leaf.real.dtype
        return own if self.work is None or self.work.itemsize >= own.itemsize else self.work


def _compare_entries(
    ev: Evaluator, s: _Setting, i: int, leaf: Array, idx: Array, h: Array, a: Array,
    rtol: float, floor: float,
) -> cmp.Comparison:  # fmt: skip
    """Stages 3 and 4 for the entries ``idx`` of parameter ``i`` at steps ``h``."""
    method = s.method
    offsets = cmp.STAGE1[method]
    # Python floats are cheaper to build and add; float64 arithmetic is identical. In
    # lower precision NumPy scalars keep θ + h computed in float64, then rounded.
    hl = h.tolist() if leaf.dtype == np.float64 else list(h)
    vals1 = ev([(Delta(i, j, o * hj),) for j, hj in zip(idx.tolist(), hl) for o in offsets])
    vals1 = vals1.reshape(idx.size, len(offsets))
    real1 = np.real(vals1) if method != "complex" else vals1
    numeric = cmp.first_estimate(method, s.j0, real1, h)
    tol = cmp.tolerance(
        method, a, numeric, h, sigma=s.sigma, rtol=rtol, atol=s.atol, fixed=s.fixed, floor=floor
    )
    sus = np.flatnonzero(cmp.examined(method, a, numeric, tol, real1, s.j0, h, floor))
    offs2 = cmp.RECHECK[method]
    vals2 = ev([(Delta(i, int(idx[k]), o * hl[k]),) for k in sus for o in offs2])
    vals2 = vals2.reshape(sus.size, len(offs2))
    if method != "complex":
        vals2 = np.real(vals2)
    return cmp.compare(
        method, a, numeric, h, tol, j0=s.j0, sigma=s.sigma, fixed=s.fixed,
        stage1=real1, recheck=vals2, floor=floor, low_precision=s.low_precision,
    )  # fmt: skip


def _check_leaves(
    ev: Evaluator,
    s: _Setting,
    leaves: list[Array],
    names: list[str],
    analytic: list[Array],
    eps: float | None,
    chosen: list[Array],
    notes: list[str],
    *,
    grad_at: Callable[[list[Array]], list[Array]] | None = None,
    seed: int = 0,
) -> list[tuple[str, Array, cmp.Comparison, Array]]:
    """Stages 3 and 4 for every parameter; returns (name, leaf, comparison, indices).

    Entries whose steps straddle a kink are compared again with smaller steps, and
    with ``grad_at`` (the gradient at given parameters) entries at a kink are checked
    again at nearby points (``gradcheck._nearby``). Entries left ``uncertain`` are
    tried again at the classic step (``gradcheck._numerics``, "Retry step") when it
    is much larger. Each parameter is judged on its own gradient scale; one whose
    gradient is zero within round-off on the model's (:func:`_zero_parameters`, which
    adds its note to ``notes``).
    """
    out = []
    for i, (name, leaf) in enumerate(zip(names, leaves)):
        flat = np.real(leaf.reshape(-1))
        idx = chosen[i]
        dtype = s.dtype(leaf)
        h = steps(flat, s.method, eps, dtype)[idx]
        a = analytic[i].reshape(-1)[idx]
        r = default_rtol(dtype, s.method) if s.rtol is None else s.rtol
        comp = _compare_entries(ev, s, i, leaf, idx, h, a, r, 0.0)
        if eps is None:
            comp = _straddled_kinks(ev, s, i, leaf, idx, a, r, comp)
            _retry(ev, s, i, leaf, idx, h, a, r, comp)
        out.append((name, leaf, comp, idx))
    if grad_at is not None:
        out = nearby.recheck(out, ev, grad_at, partial(_check_moved, s, eps), seed)
    if not s.fixed:
        out = _zero_parameters(out, analytic, notes)
        notes += prec.unseen_notes([(n, c.detection_bound) for n, _, c, _ in out], s.method)
    return out


def _zero_parameters(
    results: list[tuple[str, Array, cmp.Comparison, Array]],
    analytic: list[Array],
    notes: list[str],
) -> list[tuple[str, Array, cmp.Comparison, Array]]:
    """Judge each parameter whose gradient is zero within round-off on the model's scale.

    Every parameter is judged on its own gradient scale, except one that has none: a
    parameter whose analytic and numerical gradients are both within the screening
    tolerance of 0 at every entry (a bias before a normalisation) is compared on the
    model's scale, the largest gradient scale of any parameter
    (``gradcheck._compare.on_model_scale``), and a note says so.
    """
    model = max((c.scale for _, _, c, _ in results), default=0.0)
    peak = max((c.peak for _, _, c, _ in results), default=0.0) or model
    out = []
    for (name, leaf, c, idx), g in zip(results, analytic):
        if cmp.zero_within_noise(c, g.reshape(-1)[idx]) and c.scale < model:
            c = cmp.on_model_scale(c, model, peak)
            size = float(np.max(c.tolerance, initial=0.0))
            notes.append(
                f"{name}: the gradient is zero to within round-off (|g| ≤ {size:.2g} at "
                f"every entry), so it has no scale of its own: it is judged on the model's "
                f"largest gradient entry ({peak:.2g}), and errors above "
                f"{c.detection_bound:.2g} of that are caught"
            )
        out.append((name, leaf, c, idx))
    return out


def _retry(
    ev: Evaluator,
    s: _Setting,
    i: int,
    leaf: Array,
    idx: Array,
    h: Array,
    a: Array,
    rtol: float,
    comp: cmp.Comparison,
) -> None:
    """Try the uncertain entries of ``comp`` again at the classic step (in place).

    Only entries that round-off left uncertain are tried: a larger step lowers the
    round-off but raises the truncation error, so it cannot resolve an entry whose
    function varies faster than the first step (``gradcheck._compare.roundoff_limited``).
    The retry may resolve or confirm; a ``wrong`` from it stands only where its estimate
    agrees with the first one to within the first one's own error allowance
    ``tol + SAFETY · e`` (``consistent``), and where the estimate at the geometric mean
    of the two steps agrees with it to within that one's allowance. A step far beyond
    the scale the cost varies on (``sin(5e5·b)`` at ``b = 1e-6`` with float32's steps:
    hundreds of periods) aliases into an estimate of any value with a small Richardson
    spread, and a first estimate drowned in noise is consistent with any value. The
    step between also settles what the retry left open or got wrong: as ``ok``, or as
    ``wrong`` where it agrees with the first estimate (the retry's own rule).
    """
    noise = cmp.NOISE_GAIN[s.method] * s.sigma / h
    unsure = np.flatnonzero((comp.status == "uncertain") & cmp.roundoff_limited(comp, noise))
    if not unsure.size:
        return
    flat = np.real(leaf.reshape(-1))
    h2 = steps(flat, s.method, None, s.dtype(leaf), classic=True)[idx[unsure]]
    grow = h2 >= RETRY_GROWTH * h[unsure]
    k = unsure[grow]
    if not k.size:
        return
    again = _compare_entries(ev, s, i, leaf, idx[k], h2[grow], a[k], rtol, comp.scale)
    consistent = np.abs(again.numeric - comp.numeric[k]) <= _allowance(comp)[k]
    resolved = (again.status == "ok") | ((again.status != "uncertain") & consistent)
    # a retry's wrong, and what it left open, are compared again between the two steps
    todo = np.flatnonzero((again.status == "wrong") | ~resolved)
    if todo.size:
        at = k[todo]
        mid = kinks.exact_steps(flat[idx[at]], np.sqrt(h[at] * h2[grow][todo]), leaf.real.dtype)
        check = _compare_entries(ev, s, i, leaf, idx[at], mid, a[at], rtol, comp.scale)
        agree = np.abs(check.numeric - again.numeric[todo]) <= _allowance(check)
        confirmed = resolved[todo] & (again.status[todo] == "wrong") & agree
        resolved[todo[~confirmed]] = False
        first = np.abs(check.numeric - comp.numeric[at]) <= _allowance(comp)[at]
        settle = ~confirmed & ((check.status == "ok") | ((check.status == "wrong") & first))
        if np.any(settle):
            comp.replace(at[settle], check.subset(settle))
    if np.any(resolved):
        comp.replace(k[resolved], again.subset(resolved))


def _allowance(c: cmp.Comparison) -> Array:
    """How far each estimate of ``c`` may be from the true derivative: ``tol + SAFETY·e``."""
    return np.asarray(c.tolerance + SAFETY * c.fd_error)


def _check_moved(
    s: _Setting,
    eps: float | None,
    ev: Evaluator,
    j0: float,
    i: int,
    leaf: Array,
    idx: Array,
    a: Array,
    floor: float,
) -> cmp.Comparison:
    """The entries ``idx`` of parameter ``i`` compared at a moved point (``gradcheck._nearby``):
    ``ev`` evaluates there, ``j0`` is the cost and ``leaf`` the parameter there."""
    at = replace(s, j0=j0)
    h = steps(np.real(leaf.reshape(-1)), s.method, eps, s.dtype(leaf))[idx]
    r = default_rtol(s.dtype(leaf), s.method) if s.rtol is None else s.rtol
    comp = _compare_entries(ev, at, i, leaf, idx, h, a, r, floor)
    return comp if eps is not None else _straddled_kinks(ev, at, i, leaf, idx, a, r, comp)


def _straddled_kinks(
    ev: Evaluator,
    s: _Setting,
    i: int,
    leaf: Array,
    idx: Array,
    a: Array,
    r: float,
    comp: cmp.Comparison,
) -> cmp.Comparison:
    """Entries whose steps straddle a kink, compared again with steps clear of it.

    A step below the cost's resolution is no evidence of a wrong gradient, so a cost
    that does not move at the smaller steps leaves the entry ``uncertain``.
    """
    low = replace(s, low_precision=True)
    floor = comp.scale

    def measure(k: Array, hk: Array) -> cmp.Comparison:
        return _compare_entries(ev, low, i, leaf, idx[k], hk, a[k], r, floor)

    return kinks.resolve(comp, np.real(leaf.reshape(-1))[idx], s.dtype(leaf), measure)


def assert_gradients(cost: Cost, params: Any, grad: Any, **options: Any) -> Report:
    """Like :func:`check`, but raise :class:`GradientMismatch` unless it passed.

    Returns:
        The passing report.

    Raises:
        GradientMismatch: an ``AssertionError`` whose message is the report.
    """
    __tracebackhide__ = True  # pytest shows the caller's line, not this frame
    report = check(cost, params, grad, **options)
    if not report.passed:
        raise GradientMismatch(report)
    return report
