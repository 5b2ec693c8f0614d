"""Precision: check the formula in float64, judge a cost by the precision it shows.

Two things decide a low-precision check (issue 11 §2, ``docs/numerics.md``):

* **The float64 route.** When parameters are below float64 and ``grad`` is a
  function, the cost and the gradient are also computed on a float64 copy of the
  parameters. If the cost follows its input's dtype (:func:`formula_in_float64`), the
  check goes on at that copy, through the same evaluator (one evaluation count, one
  report), with float64's steps and tolerances; the round-off of the user's-dtype
  gradient against its float64 self is reported apart (:func:`with_precision`,
  ``ParameterResult.precision``) and does not enter the verdict.
* **Hidden precision.** A cost that computes in float32 inside but returns a float64
  (``float(...)``, ``.item()``) is judged by how its values move, not by the dtype it
  returns (:func:`cost_noise`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, NamedTuple

import numpy as np

from gradcheck import _kinks as kinks
from gradcheck._directional import effective_roundoff
from gradcheck._errors import GradcheckError
from gradcheck._evaluate import Delta, Evaluator, SerialEvaluator
from gradcheck._inputs import analytic_gradient
from gradcheck._numerics import (
    ATOL_ROUNDOFFS,
    CANCELLATION,
    HIDDEN_MAGNITUDE,
    HIDDEN_STEP,
    NOISE_LIKE,
    NOISY,
    RTOL,
    SHOWN_NOISE,
    STAGE_NOISE,
    UNSEEN,
    entry_scale,
    noise_from_table,
    plausible,
    unit_roundoff,
)
from gradcheck._pytree import TreeDef, flatten, unflatten
from gradcheck._report import Report

__all__ = [
    "HIDDEN_NOTE",
    "Float64Route",
    "Noise",
    "cost_noise",
    "directional_work",
    "formula_in_float64",
    "terms_size",
    "unseen_notes",
    "with_precision",
]

Array = np.ndarray[Any, Any]
_U32 = unit_roundoff(np.float32)
_U64 = unit_roundoff(np.float64)
_FLOAT64 = np.dtype(np.float64)
_TINY = float(np.finfo(np.float64).tiny)

#: A probe moves a non-zero entry by at most ``3 / _PROBE_REACH`` of itself.
_PROBE_REACH = 1024.0
#: The note of a cost found to compute in float32 inside.
HIDDEN_NOTE = (
    "the cost returns float64 values but computes in float32 inside: its values move in "
    "float32-sized steps, so it is judged with float32's steps and tolerances (compute it "
    "in float64 to check the formula more tightly)"
)
#: Where the evaluator's error messages say the float64 copy is evaluated.
ON_COPY = "on a float64 copy of the parameters (to check the formula in float64)"


class Noise(NamedTuple):
    """The cost's noise, the dtype it computes in when below what it returns, and the
    report's note saying so."""

    sigma: float
    work: np.dtype[Any] | None  # float32: a float64 value computed in float32 inside
    note: str = HIDDEN_NOTE


def _noisy_note(work: np.dtype[Any], sigma: float) -> str:
    """The note of a float64 cost whose measured noise is that of ``work``."""
    return (
        f"the cost returns float64 values, but they are as noisy as {work} round-off "
        f"(noise {sigma:.2g}; a {work} stage inside?), so it is judged with {work}'s "
        "steps and tolerances (compute every stage in float64 to check the formula "
        "more tightly)"
    )


def _probe(
    evaluate: Evaluator, leaves: list[Array], j0: float, step: float, seed: int, kinked: bool
) -> tuple[float, Array]:
    """Noise from 6 evaluations at relative steps ``k · step`` along a private random
    direction, and every value seen. With ``kinked``, 12 where a kink near θ spoils
    the first table (``gradcheck._kinks``, rule 6); else the plain ECnoise estimate."""
    rng = np.random.default_rng(seed)
    deltas = []
    for i, leaf in enumerate(leaves):
        scale = entry_scale(leaf.reshape(-1))
        # a non-zero entry moves by at most 3/1024 of itself: a step across 0, or most
        # of the way there, meets whatever the cost does at 0 (a pole of 1/θ read as
        # noise of |J|, F12); only entries below 1.5e-5 × the rms are held back at √u64
        theta = np.abs(np.real(leaf.reshape(-1)), dtype=np.float64)
        with np.errstate(over="ignore"):  # θ of 1e305: inf, and the scale stands
            reach = theta / (_PROBE_REACH * step)
        scale = np.where(theta > 0, np.minimum(scale, reach), scale)
        deltas.append((i, step * scale * rng.choice([-1.0, 1.0], size=scale.size)))
    ks = (-3, -2, -1, 1, 2, 3)
    seen: list[Array] = [np.array([j0])]

    def table(shrink: float) -> Array:
        points = [tuple(Delta(i, slice(None), d, k * shrink) for i, d in deltas) for k in ks]
        vals = np.real(evaluate(points))
        seen.append(vals)
        return np.concatenate([vals[:3], [j0], vals[3:]])

    sigma = kinks.table_noise(table) if kinked else noise_from_table(table(1.0))
    return sigma, np.concatenate(seen)


def _float32_numbers(values: Array) -> bool:
    """Whether every value is exactly a float32 number (all equal ones included)."""
    with np.errstate(over="ignore"):
        return bool(np.all(values.astype(np.float32).astype(np.float64) == values))


def terms_size(analytic: Sequence[Array], leaves: Sequence[Array]) -> float:
    """``Σ |g_i θ_i|`` over every entry: how much rounding the inputs alone moves ``J``
    per unit round-off, the size of the terms that make the cost."""
    return sum(
        float(np.abs(g.reshape(-1)) @ np.abs(np.real(x.reshape(-1)).astype(np.float64)))
        for g, x in zip(analytic, leaves)
    )


def cost_noise(
    evaluate: Evaluator,
    leaves: list[Array],
    j0: float,
    u: float,
    seed: int,
    *,
    hidden: float | None,
) -> Noise:
    """The cost's noise, floored at the round-off its values show (``u·|J|`` or coarser).

    A cost computed in float32 but returned as float64 rounds to float32 whatever its
    return dtype says; at the float64 probe's step ``√u`` its values often do not move
    at all. With ``hidden`` (a float64 check), when every value of that probe is a
    float32 number, a second probe at :data:`~gradcheck._numerics.HIDDEN_STEP` (6
    evaluations) decides: values that move and are all float32 numbers are a float32
    computation (a float64 one gives seven float32 numbers by chance with probability
    about ``2^(-29·7)``); the values decide, not their noise, since float32 inputs
    moved by equal steps can round onto an exact lattice whose differences are 0.
    Values tiny next to the cost's terms (below ``HIDDEN_MAGNITUDE · max(|J|, hidden)``)
    are float32 numbers whatever computes them, and are no evidence.
    Such a cost's noise is that probe's ECnoise estimate, floored at ``u32·|J|``, and
    ``work`` is float32: it is checked with float32's steps and tolerances.
    """
    sigma, values = _probe(evaluate, leaves, j0, math.sqrt(u), seed, kinked=True)
    sigma = max(sigma, effective_roundoff(values, u) * abs(j0))
    if hidden is None or u > _U64:
        return Noise(sigma, None)
    if not _float32_numbers(values):
        return _noisy(evaluate, leaves, j0, seed, Noise(sigma, None), values, hidden)
    sigma32, values32 = _probe(evaluate, leaves, j0, HIDDEN_STEP, seed, kinked=False)
    work = _float32_inside(values32, j0, hidden)
    return Noise(sigma, None) if work is None else Noise(max(sigma32, _U32 * abs(j0)), work)


def _noise_like(table: Array) -> bool:
    """Whether a probe's table varies like noise, not like a smooth function.

    Noise of standard deviation ``σ`` gives ``k``-th differences whose RMS over
    ``√C(2k, k)`` is ``σ`` for every ``k`` (ECnoise, Moré & Wild 2011); a smooth function
    sampled at a step far below the scale it varies on gives differences that shrink by
    that ratio at each order. The estimates for ``k = 2, 3, 4`` agree to within
    :data:`~gradcheck._numerics.NOISE_LIKE` for a float32 stage (1.3 to 1.5), while a
    feature of width 1e-7 read at ``√u64`` spreads them by 400 to 4·10⁶.
    """
    top = float(np.max(np.abs(table)))
    if not 0 < top < math.inf:
        return False
    unit = table / top  # scaled: a cost of 1e200 would overflow the squares
    est = [float(np.mean(np.diff(unit, n=k) ** 2)) / math.comb(2 * k, k) for k in (2, 3, 4)]
    return min(est) > 0 and max(est) <= NOISE_LIKE**2 * min(est)


def _noisy(
    evaluate: Evaluator,
    leaves: list[Array],
    j0: float,
    seed: int,
    noise: Noise,
    values: Array,
    hidden: float,
) -> Noise:
    """``noise``, or the noise of a float64 cost with a low-precision stage inside.

    Such a cost (``float(u @ np.tanh(A @ p).astype(np.float16))``) returns float64
    numbers, no float32 ones, but its values move in the stage's steps: the float64
    probe measures float32-sized noise (:data:`~gradcheck._numerics.NOISY`) that varies
    like noise (:func:`_noise_like`: curvature of a narrow feature does not), or
    its values repeat where the stage does not move at ``√u64`` (a float64 cost moves
    by ``√u64 · T`` there, a repeat needs ``|J|`` 1e8 times its terms). The probe at
    :data:`~gradcheck._numerics.HIDDEN_STEP` (6 evaluations) measures it then. A noise of
    :data:`~gradcheck._numerics.SHOWN_NOISE` of float32's round-off of the cost's terms
    or more, up to :data:`~gradcheck._numerics.STAGE_NOISE` of them (more is no
    rounding: a pole crossed, a jump), makes it judged with float32's steps and
    tolerances, or float16's where the
    float64 probe saw at most two values (a float32 stage moves at ``√u64``, a quarter
    of its spacing, many times; a float16 stage, 3e4 times finer than its spacing,
    seldom) (F27): with float64's, a step that does not move the stage gave finite
    differences of exactly 0, and a correct gradient failed.
    """
    size = max(abs(j0), hidden)
    if size < _TINY:  # subnormal values repeat and jump by underflow, no stage's rounding
        return noise
    distinct = np.unique(values).size
    table = np.concatenate([values[1:4], [j0], values[4:7]])  # the first, k = -3..3
    noisy = noise.sigma >= NOISY * _U32 * size and _noise_like(table)
    if not size > 0 or (distinct == values.size and not noisy):
        return noise
    sigma2, _ = _probe(evaluate, leaves, j0, HIDDEN_STEP, seed, kinked=False)
    sigma = max(noise.sigma, sigma2)
    if not SHOWN_NOISE * _U32 * size <= sigma <= STAGE_NOISE * size:
        return noise
    work = np.dtype(np.float16 if distinct <= 2 else np.float32)
    return Noise(sigma, work, _noisy_note(work, sigma))


def directional_work(
    evaluate: Evaluator,
    leaves: list[Array],
    j0: float,
    u: float,
    seed: int,
    analytic: Sequence[Array],
) -> np.dtype[Any] | None:
    """float32 where a float64 check in directional mode has a cost that computes in
    float32 inside (see :func:`cost_noise`), else ``None``.

    The directional mode has no noise probe to look at, so the probe at
    :data:`~gradcheck._numerics.HIDDEN_STEP` (6 evaluations) runs only when ``J(θ)``
    itself is a float32 number (a float64 computation gives one with probability 2⁻²⁹)
    and not a float16 one: 0, small integers and other short numbers (a symmetric test
    input, a cost at its exact minimum) are what float64 costs give, and a float32 one
    only with probability 2⁻¹³. The terms' size (:func:`terms_size`, of ``analytic``:
    three passes over the parameters) is computed only then.
    """
    with np.errstate(over="ignore"):
        short = float(np.float16(j0)) == j0
    if u > _U64 or short or not _float32_numbers(np.array([j0])):
        return None
    _, values = _probe(evaluate, leaves, j0, HIDDEN_STEP, seed, kinked=False)
    return _float32_inside(values, j0, terms_size(analytic, leaves))


def _float32_inside(values: Array, j0: float, terms: float) -> np.dtype[Any] | None:
    """float32 when the values of the probe at ``HIDDEN_STEP`` show a float32 cost."""
    large = float(np.max(np.abs(values))) > HIDDEN_MAGNITUDE * max(abs(j0), terms)
    if large and np.ptp(values) > 0 and _float32_numbers(values):
        return np.dtype(np.float32)
    return None


def unseen_notes(bounds: Sequence[tuple[str, float, Any]], method: str) -> list[str]:
    """Notes for the parameters whose detection bound is above the float64 level
    (:data:`~gradcheck._numerics.UNSEEN`): what the check could not see.

    ``bounds`` holds each parameter's name, detection bound and the dtype its check
    ran in. Only a check below float64 is told to compute in float64; a float64 check
    with such a bound was limited by the cost's own noise or curvature.
    """
    level = RTOL["float64"][method]
    notes = []
    for name, bound, dtype in bounds:
        if not UNSEEN * level < bound < math.inf:
            continue
        head = (
            f"{name}: errors smaller than {bound:.2g} of its largest gradient entry could "
            "not be seen"
        )
        if np.dtype(dtype).itemsize >= _FLOAT64.itemsize:
            notes.append(
                f"{head} (its detection bound): the cost's noise or its curvature on the "
                "scale of the step hides smaller ones"
            )
            continue
        notes.append(
            f"{head} (its detection bound; a float64 check sees about {2 * level:.0e}): "
            "pass grad as a function and let the cost follow its input's dtype, or compute "
            "it in float64, to see smaller ones"
        )
    return notes


class Float64Route(NamedTuple):
    """The check at a float64 copy of the parameters (the formula in float64).

    Attributes:
        names: the parameters' names.
        leaves: the float64 private copies, where the check goes on.
        analytic: the gradient function's value there, flattened.
        j0: the cost there.
        dtypes: the user's dtype of each parameter.
        user: the gradient at the user's parameters (for the precision figure).
    """

    names: list[str]
    leaves: list[Array]
    analytic: list[Array]
    j0: float
    dtypes: list[str]
    user: list[Array]


def _value_on_copy(ev: SerialEvaluator) -> float | str:
    """The cost at the evaluator's (float64) parameters, or why it has none.

    A cost that raises there is tried once more: raising again, it cannot run in
    float64 (a float32 torch model given float64 input), which is no error of the
    user's; raising once, it is a faulty cost, and that first error is raised.
    """
    try:
        value = float(np.real(ev([()])[0]))
    except GradcheckError as first:
        try:
            ev([()])
        except GradcheckError:
            return f"the cost raised on a float64 copy ({first})"
        raise first
    if ev.result_dtype != _FLOAT64:
        return f"the cost returned {ev.result_dtype} for float64 parameters"
    return value


def _dtype_of(value: Any) -> np.dtype[Any]:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value).dtype


def _gradient_on_copy(
    grad: Callable[[Any], Any], params64: Any, names: list[str]
) -> list[Array] | str:
    """The gradient function at the float64 copy, or why it has none there."""
    kinds: set[np.dtype[Any]] = set()

    def recorded(p: Any) -> Any:
        out = grad(p)
        kinds.update(_dtype_of(g) for g in flatten(out)[1])
        return out

    try:
        g64 = analytic_gradient(recorded, params64, names).values
    except GradcheckError as exc:
        return f"the gradient function failed on a float64 copy ({exc})"
    low = sorted(str(k) for k in kinds if np.issubdtype(k, np.floating) and k.itemsize < 8)
    if low:
        return f"the gradient function returned {', '.join(low)} for float64 parameters"
    return g64


def _implausible(user: list[Array], g64: list[Array], names: list[str], dtype: str) -> str:
    """Why the user's-dtype gradient is no round-off of its float64 self, or ``""``.

    As the adapters do (:func:`~gradcheck._numerics.plausible`): a difference above
    :data:`~gradcheck._numerics.PLAUSIBLE` of a parameter's float64 gradient scale, and
    above :data:`~gradcheck._numerics.ATOL_ROUNDOFFS` round-offs of the model's largest
    entry, is code acting only in that dtype (a negated gradient passed on the float64
    copy, issue 11), so the user's own gradient must be the one checked.
    """
    largest = max((float(np.max(np.abs(g), initial=0.0)) for g in g64), default=0.0)
    floor = ATOL_ROUNDOFFS * float(np.finfo(np.dtype(dtype)).eps) * largest
    for name, gu, g in zip(names, user, g64):
        if not plausible(gu, g, floor):
            scale = float(np.max(np.abs(g), initial=0.0))
            diff = float(np.max(np.abs(gu - g), initial=0.0))
            return (
                f"the gradient function's {dtype} value differs from its float64 value by "
                f"{diff / max(scale, floor):.2g} of {name}'s gradient scale, more than "
                f"{dtype} round-off explains (code acting only in {dtype}?)"
            )
    return ""


def formula_in_float64(
    ev: SerialEvaluator,
    grad: Callable[[Any], Any],
    treedef: TreeDef,
    names: list[str],
    leaves: list[Array],
    analytic: list[Array],
    j0: float,
) -> Float64Route | list[str]:
    """Move the check to a float64 copy of parameters below float64, when the cost and
    the gradient follow their input's dtype; else the note saying why not.

    ``ev`` is rebased onto the copy (:meth:`SerialEvaluator.rebase`: its evaluations
    keep their numbers), and back when the copy is not used. The cost follows its
    input's dtype when it returns a float64 value that agrees with its user-dtype value
    to ``√u`` of the user's dtype (3.4e-4 in float32) of ``max(|J64|, |J|, Σ|g_i θ_i|)``:
    round-off of a sum of ``n`` terms grows like ``√n · u`` (Higham, §4.2), so this
    admits millions of terms, while a cost that computes something else differs at
    O(1). ``Σ|g_i θ_i|``, how much rounding the inputs alone moves ``J`` per unit
    round-off, keeps a value that cancels to about 0 from being judged on ``|J|``.

    Args:
        ev: the check's evaluator, at the user's-dtype private parameters.
        grad: the user's gradient function.
        treedef, names, leaves: the parameters' structure, names and private copies.
        analytic: the gradient at the user's parameters, flattened.
        j0: the cost at the user's parameters.

    Raises:
        GradcheckError: the cost raised once on the copy but not again (a fault).
    """
    low = [x for x in leaves if np.issubdtype(x.dtype, np.floating) and x.dtype.itemsize < 8]
    if not low:
        return []
    dtype = str(max(low, key=lambda x: unit_roundoff(x.dtype)).dtype)
    leaves64 = [np.array(x, dtype=np.float64, order="C") for x in leaves]
    pristine, result_dtype = ev.pristine, ev.result_dtype
    ev.rebase(leaves64, on=ON_COPY)
    j64 = _value_on_copy(ev)
    ev.on = ""  # later errors read as those of any worker's evaluator
    if isinstance(j64, float):
        spread = terms_size(analytic, leaves)
        if abs(j64 - j0) <= math.sqrt(unit_roundoff(dtype)) * max(abs(j64), abs(j0), spread):
            ev.reset_rng()  # the global random numbers the gradient saw at the user's dtype
            g64 = _gradient_on_copy(grad, unflatten(treedef, leaves64), names)
            if not isinstance(g64, str):
                g64 = _implausible(analytic, g64, names, dtype) or g64
        else:
            g64 = (
                f"the cost's value in float64 ({j64:.9g}) differs from its {dtype} value "
                f"({j0:.9g}) by more than {dtype} round-off"
            )
    if isinstance(j64, str) or isinstance(g64, str):
        ev.rebase(leaves, pristine)
        ev.result_dtype = result_dtype
        why = j64 if isinstance(j64, str) else g64
        return [f"{why}: the formula is checked in {dtype}, with {dtype}'s steps and tolerances"]
    dtypes = [str(x.dtype) for x in leaves]
    return Float64Route(names, leaves64, g64, j64, dtypes, analytic)


def with_precision(report: Report, route: Float64Route, formula_dtype: str) -> Report:
    """The report of a check on the float64 route, with the user's dtypes and the
    precision figures.

    ``precision`` is ``max |g_user − g64| / max |g64|`` per parameter (``None`` where
    the float64 gradient is all zero); a note gives the largest and says it is not
    part of the verdict (above :data:`~gradcheck._numerics.CANCELLATION` round-offs
    with the hint that cancellation, not accumulation, explains it).
    """
    params = dict(report.parameters)
    worst: tuple[float, str, str] | None = None
    for name, dtype, gu, g in zip(route.names, route.dtypes, route.user, route.analytic):
        den = float(np.max(np.abs(g), initial=0.0))
        figure = float(np.max(np.abs(gu - g), initial=0.0)) / den if den > 0 else None
        params[name] = replace(params[name], dtype=dtype, precision=figure)
        if figure is not None and dtype != "float64" and (worst is None or figure > worst[0]):
            worst = (figure, name, dtype)
    notes = [
        "the formula is checked on a float64 copy of the parameters (the cost and the "
        "gradient follow their input's dtype)"
        + (", with float64's tolerances" if formula_dtype == "float64" else "")
    ]
    if worst is not None:
        figure, name, dtype = worst
        hint = ""
        if figure > CANCELLATION * unit_roundoff(np.dtype(dtype)):
            hint = " (cancellation, e.g. a saturated tanh)"
        notes.append(
            f"{dtype} round-off of your gradient against the same computation in float64: "
            f"up to {figure:.2g} ({100 * figure:.2g}%) on {name}{hint}; it does not enter "
            "the verdict"
        )
    return replace(
        report,
        parameters=params,
        messages=tuple(notes) + report.messages,
        options={**report.options, "formula_dtype": formula_dtype},
    )
