"""The checking engine: ``check`` and ``assert_gradients``.

A check runs on one road, all on a private copy of the parameters:

1. its inputs and options are validated into a plan (``gradcheck._plan``);
2. the cost is evaluated twice at the unperturbed point — different values mean the
   cost is not deterministic and the check is ``inconclusive``;
3. one strategy runs: ``gradcheck._entrywise`` (``full``, ``sample``: the cost's noise
   from a small difference table, the method's finite differences at every checked
   entry, suspects re-examined) or the directional check (``gradcheck._directional_check``);
4. ``gradcheck._build`` makes the report from the strategy's outcome.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from gradcheck import _float64_route as route64
from gradcheck import _precision as prec
from gradcheck._build import build_report
from gradcheck._complex import ComplexConvention, realify, relabel
from gradcheck._directional_check import directional_check
from gradcheck._entrywise import entrywise
from gradcheck._errors import GradcheckError
from gradcheck._errstate import checker_errors
from gradcheck._evaluate import Evaluator, SerialEvaluator, preserve_rng
from gradcheck._execution import evaluator, refusal, resolve_execution
from gradcheck._interrupts import put_back
from gradcheck._modes import Directional, Mode, ModeKeywords
from gradcheck._numerics import Method
from gradcheck._parallel import Probed
from gradcheck._plan import Plan, Point, Ran, make_plan
from gradcheck._report import GradientMismatch, Report
from gradcheck._summary import inconclusive, non_finite_failed
from gradcheck._tolerances import unit_roundoff
from gradcheck._user_arrays import Kept
from gradcheck._user_rng import UserGenerators, activated, generators
from gradcheck._user_walk import stopped_notes, walk

__all__ = ["assert_gradients", "check"]

Cost = Callable[[Any], Any]


@checker_errors()
def check(
    cost: Cost,
    params: Any,
    grad: Any,
    *,
    method: Method = "central",
    eps: float | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    mode: Mode = "auto",
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
    execution: Any = None,
    batched: Callable[[Any], Any] | None = None,
    executor: Any = None,
    memory_budget: int | None = None,
    sample: float | None = None,
    localise: bool | None = None,
    budget: int | None = None,
    miss_probability: float | None = None,
    complex_convention: ComplexConvention = "conjugate",
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
        mode: which entries are checked, with the options only that mode uses:
            ``Full()`` (every entry), ``Sample(100)`` / ``Sample(0.1)`` (entries or
            the fraction of each parameter), ``Directional(miss_probability=1e-3,
            budget=400, localise=True)`` (random projections, 10 evaluations whatever
            the size, then localisation on failure) or ``Auto()`` (default: full up
            to ``gradcheck._modes.AUTO_FULL_MAX`` entries, directional above). A
            name (``"full"``, ``"sample"``, ``"directional"``, ``"auto"``) means that
            mode's defaults. See ``docs/scale.md``.
        seed: seeds the private RNG (noise probe, sampled entries, directions). The
            global NumPy and ``random`` states are never changed.
        progress: called as ``progress(done, planned)`` after every cost evaluation
            (``planned`` grows as stages are planned); for progress bars.
        execution: how the perturbed evaluations run: ``None`` (in this process,
            one by one), ``Batched(fn, memory_budget=..., executor=None)`` (stacks of
            points through ``fn(stacked) -> B values``, a vectorised cost of a pytree
            shaped like ``params`` whose every leaf has a leading batch axis
            ``(B, *shape)``), or a ``concurrent.futures.Executor`` / Dask
            ``distributed.Client`` (a process or Dask worker needs a picklable cost; a
            thread pool's cost must not draw global random numbers). See
            ``gradcheck._execution``.
        batched, executor, memory_budget: the older spelling of ``execution``
            (``memory_budget`` only with ``batched``).
        sample, localise, budget, miss_probability: the older spelling of
            ``Sample(sample)`` and ``Directional(...)``'s options, with ``mode`` a
            name; each must apply to the mode that runs.
        complex_convention: what ``grad`` holds for a complex parameter
            ``z = x + iy``: ``"conjugate"`` (default) ``∂J/∂x + i·∂J/∂y``, as torch's
            ``.grad``; ``"plain"`` ``∂J/∂x − i·∂J/∂y``, as ``jax.grad`` returns (see
            ``gradcheck._complex`` and ``docs/numerics.md``, "Complex numbers").

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
    # the generators the cost keeps (attack26 H08): the probes of make_plan draw too,
    # so they are put back here, after everything, whatever happens
    walked = walk(cost, grad)  # one walk for both; named in the report if it stopped short
    objects = walked.objects
    found = generators(objects)
    kept = UserGenerators(found)
    arrays = Kept(objects)  # what the cost writes into (attack31 H93)
    try:
        run = resolve_execution(
            execution, batched=batched, executor=executor, memory_budget=memory_budget
        )
        real = realify(
            cost, params, grad, batched=run.batched, method=method, convention=complex_convention
        )
        if real is not None:
            cost, params, grad = real.cost, real.params, real.grad
            run = run._replace(batched=real.batched)
        # the generators the cost keeps are replayed in make_plan's calls of grad and
        # the cost too: each starts from the state the check began with (a dropout mask
        # from a user's Generator: grad drew it first, and the cost's evaluations were
        # replayed from the state after that draw, attack36 H167)
        with activated(found):
            plan = make_plan(
                cost,
                params,
                grad,
                method=method,
                eps=eps,
                rtol=rtol,
                atol=atol,
                mode=mode,
                seed=seed,
                progress=progress,
                execution=run,
                keywords=ModeKeywords(sample, miss_probability, budget, localise),
                pairs=frozenset() if real is None else real.names,
            )
        with preserve_rng(found=found) as saved_rng:
            ev = SerialEvaluator(
                plan.cost,
                plan.treedef,
                plan.leaves,
                plan.names,
                saved_rng,
                complex_ok=plan.complex_step,
                progress=plan.progress,
                pristine=plan.pristine,
            )
            ran = _run(plan, ev)
        notes = (*plan.notes, *stopped_notes(walked))
        report = build_report(
            ran.outcome, evaluations=ev.count, start=start, options=plan.options, notes=notes
        )
        if ran.route is not None:
            report = route64.with_precision(
                report, ran.route, "float64" if ran.work is None else "float32"
            )
        return report if real is None else relabel(report, real)
    finally:  # both to their end, also when Ctrl-C lands in one
        put_back(kept.reset, arrays.restore)


def _run(plan: Plan, ev: SerialEvaluator) -> Ran:
    """Steps 2 and 3: the determinism test, then the plan's strategy."""
    base = np.real(ev([(), ()]))
    if base[0] != base[1]:
        return Ran(inconclusive(plan.names, plan.leaves, _nondeterministic(base)))
    point = _point(plan, ev, float(base[0]))
    ran = _strategy(plan, ev, point)
    outcome = ran.outcome._replace(notes=(*point.notes, *ran.outcome.notes))
    outcome = non_finite_failed(outcome, plan.non_finite, point.j0)
    return ran._replace(outcome=outcome, route=point.route)


#: How the note of a cost found not to repeat begins (the adapters read it: a run that
#: found it makes their comparisons of two separate runs of fn inconclusive).
NOT_DETERMINISTIC = "the cost is not deterministic"


def _nondeterministic(base: np.ndarray[Any, Any]) -> str:
    """Why a cost that gave two values at the same point stops the check."""
    return (
        f"{NOT_DETERMINISTIC}: two evaluations at the same parameters "
        f"gave {base[0]:.17g} and {base[1]:.17g}. Dropout or sampling? Fix its random "
        "numbers (a seeded generator inside the cost) so that each call repeats."
    )


def _point(plan: Plan, ev: SerialEvaluator, j0: float) -> Point:
    """Where the strategy runs: the plan's point or, when the cost and the gradient
    follow their input's dtype, its float64 copy (``gradcheck._float64_route``)."""
    if plan.complex_step and not np.issubdtype(np.dtype(ev.result_dtype), np.complexfloating):
        raise GradcheckError(
            "method='complex' needs a cost that carries complex input through to a "
            "complex result; this cost returned a real value (abs, real parts or a "
            "cast to float?). Use method='central'."
        )
    point = Point(plan.leaves, plan.analytic, j0, 0.0)
    # a batched cost is not seen to follow its dtype (it may be a float32 vmap)
    # a NaN gradient fails at the given point: no float64 copy (its grad would raise)
    if callable(plan.grad) and not (
        plan.fixed
        or plan.complex_step
        or plan.eps is not None
        or plan.execution.batched
        or plan.non_finite
    ):
        found = route64.formula_in_float64(
            ev, plan.grad, plan.treedef, plan.names, plan.leaves, plan.analytic, j0
        )
        if isinstance(found, route64.Float64Route):
            point = Point(found.leaves, found.analytic, found.j0, 0.0, route=found)
        else:
            point = point._replace(notes=tuple(found))
    result = np.dtype(ev.result_dtype)
    cost_u = unit_roundoff(result if np.issubdtype(result, np.inexact) else np.float64)
    u = max([cost_u] + [unit_roundoff(x.dtype) for x in point.leaves])
    return point._replace(roundoff=u, cost_roundoff=cost_u)


def _strategy(plan: Plan, ev: SerialEvaluator, point: Point) -> Ran:
    """Run the plan's strategy at ``point``; perturbed evaluations go to the plan's
    executor or batched cost when it has one."""
    bulk = evaluator(plan.execution, ev, plan.cost, plan.treedef)
    if plan.execution.batched is not None and not isinstance(plan.execution.batched, Probed):
        # the unperturbed value the stacks' values are compared with comes from a
        # stack too: a stack may sum in another order than the serial cost (a GEMM of
        # several rows), and its offset from the serial value, 60 u at 10⁶ terms,
        # read as a kink beside the stacks' differences (inconclusive)
        point = point._replace(j0=float(np.real(bulk([(), ()])[0])))
    if not isinstance(plan.mode, Directional):
        return _refused(entrywise(plan, bulk, point), bulk)
    work = None
    if not plan.complex_step:
        work = prec.directional_work(
            bulk, point.leaves, point.j0, point.roundoff, plan.seed, point.analytic
        )
    u = point.roundoff if work is None else unit_roundoff(work)
    outcome = directional_check(
        bulk,
        point.leaves,
        plan.names,
        point.analytic,
        point.j0,
        rtol=plan.rtol,
        seed=plan.seed,
        miss=plan.mode.miss_probability,
        localise=plan.mode.localise,
        budget=plan.mode.budget,
        roundoff=u,
        work=work,
    )
    if work is not None:
        outcome = outcome._replace(notes=(prec.hidden_note(work), *outcome.notes))
    return _refused(Ran(outcome, work), bulk)


def _refused(ran: Ran, bulk: Evaluator) -> Ran:
    """``ran`` with a note if ``bulk`` stopped stacking points mid-check."""
    why = refusal(bulk)
    if not why:
        return ran
    return ran._replace(outcome=ran.outcome._replace(notes=(*ran.outcome.notes, why)))


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
