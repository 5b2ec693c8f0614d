"""The float64 route: check a low-precision check's formula on a float64 copy.

When parameters are below float64 and ``grad`` is a function, the cost and the
gradient are also computed on a float64 copy of the parameters (issue 11 §2,
``docs/numerics.md`` "Precision"). If the cost follows its input's dtype
(:func:`formula_in_float64`), the check goes on at that copy, through the same
evaluator (one evaluation count, one report), with float64's steps and tolerances; the
round-off of the user's-dtype gradient against its float64 self is reported apart
(:func:`with_precision`, ``ParameterResult.precision``) and does not enter the verdict.
How a cost's values show the precision it computes in is ``gradcheck._precision``'s.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any, NamedTuple

import numpy as np

from gradcheck._errors import GradcheckError
from gradcheck._evaluate import SerialEvaluator
from gradcheck._inputs import analytic_gradient
from gradcheck._numerics import ATOL_ROUNDOFFS, CANCELLATION
from gradcheck._precision import terms_size
from gradcheck._pytree import TreeDef, flatten, unflatten
from gradcheck._report import Report
from gradcheck._tolerances import plausible, unit_roundoff

__all__ = ["Float64Route", "formula_in_float64", "with_precision"]

Array = np.ndarray[Any, Any]
_FLOAT64 = np.dtype(np.float64)

#: Where the evaluator's error messages say the float64 copy is evaluated.
ON_COPY = "on a float64 copy of the parameters (to check the formula in float64)"


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
    copy: str = "float64"  # the copy's dtype: float32 for a cost computed in it (H165)


def _value_on_copy(ev: SerialEvaluator, copy: np.dtype[Any] = _FLOAT64) -> float | str:
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
    if ev.result_dtype != copy:
        return f"the cost returned {ev.result_dtype} for {copy} parameters"
    return value


def _dtype_of(value: Any) -> np.dtype[Any]:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value).dtype


def _gradient_on_copy(
    grad: Callable[[Any], Any], params64: Any, names: list[str], copy: np.dtype[Any] = _FLOAT64
) -> list[Array] | str:
    """The gradient function at the copy (of dtype ``copy``), or why it has none there."""
    kinds: set[np.dtype[Any]] = set()

    def recorded(p: Any) -> Any:
        out = grad(p)
        kinds.update(_dtype_of(g) for g in flatten(out)[1])
        return out

    try:
        g64 = analytic_gradient(recorded, params64, names).values
    except GradcheckError as exc:
        return f"the gradient function failed on a float64 copy ({exc})"
    low = sorted(
        str(k) for k in kinds if np.issubdtype(k, np.floating) and k.itemsize < copy.itemsize
    )
    if low:
        return f"the gradient function returned {', '.join(low)} for {copy} parameters"
    return g64


def _implausible(user: list[Array], g64: list[Array], names: list[str], dtype: str) -> str:
    """Why the user's-dtype gradient is no round-off of its float64 self, or ``""``.

    As the adapters do (:func:`~gradcheck._tolerances.plausible`): a difference above
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
    found = _route_at(ev, grad, treedef, names, leaves, analytic, j0, _FLOAT64)
    finer = found.returned if isinstance(found, _Refused) else None
    if (
        finer is not None
        and np.issubdtype(finer, np.floating)
        and np.dtype(dtype).itemsize < finer.itemsize < 8
    ):
        # a cost computed in float32 of float16 parameters: its formula in float32, on a
        # float32 copy, rather than with float16's noise (attack36 H165)
        again = _route_at(ev, grad, treedef, names, leaves, analytic, j0, finer)
        if not isinstance(again, _Refused):
            return again
    if isinstance(found, _Refused):
        return [
            f"{found.why}: the formula is checked in {dtype}, with {dtype}'s steps and tolerances"
        ]
    return found


class _Refused(NamedTuple):
    """Why a copy does not serve; ``returned``: the dtype the cost returned there, where
    that is why (else ``None``)."""

    why: str
    returned: np.dtype[Any] | None = None


def _route_at(
    ev: SerialEvaluator,
    grad: Callable[[Any], Any],
    treedef: TreeDef,
    names: list[str],
    leaves: list[Array],
    analytic: list[Array],
    j0: float,
    copy: np.dtype[Any],
) -> Float64Route | _Refused:
    """The route at a copy of dtype ``copy`` (:func:`formula_in_float64`), or why not;
    ``ev`` is back at the user's parameters when it does not serve."""
    low = [x for x in leaves if np.issubdtype(x.dtype, np.floating) and x.dtype.itemsize < 8]
    dtype = str(max(low, key=lambda x: unit_roundoff(x.dtype)).dtype)
    copies = [np.array(x, dtype=copy, order="C") for x in leaves]
    pristine, result_dtype = ev.pristine, ev.result_dtype
    on = ON_COPY if copy == _FLOAT64 else ON_COPY.replace("float64", str(copy))
    ev.rebase(copies, on=on)
    value = _value_on_copy(ev, copy)
    ev.on = ""  # later errors read as those of any worker's evaluator
    g: list[Array] | str = ""
    if isinstance(value, float):
        spread = terms_size(analytic, leaves)
        if abs(value - j0) <= math.sqrt(unit_roundoff(dtype)) * max(abs(value), abs(j0), spread):
            ev.reset_rng()  # the global random numbers the gradient saw at the user's dtype
            g = _gradient_on_copy(grad, unflatten(treedef, copies), names, copy)
            if not isinstance(g, str):
                g = _implausible(analytic, g, names, dtype) or g
        else:
            g = (
                f"the cost's value in {copy} ({value:.9g}) differs from its {dtype} value "
                f"({j0:.9g}) by more than {dtype} round-off"
            )
    if isinstance(value, str) or isinstance(g, str):
        returned = np.dtype(ev.result_dtype) if ev.result_dtype is not None else None
        ev.rebase(leaves, pristine)
        ev.result_dtype = result_dtype
        if isinstance(value, str) and value.startswith("the cost returned"):
            return _Refused(value, returned)
        return _Refused(value if isinstance(value, str) else str(g))
    dtypes = [str(x.dtype) for x in leaves]
    return Float64Route(names, copies, g, value, dtypes, analytic, str(copy))


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
    why = "the cost and the gradient follow their input's dtype"
    if route.copy != "float64":  # the cost computes in it (attack36 H165)
        formula_dtype = route.copy
        why = f"the cost computes in {route.copy}: it returned {route.copy} on a float64 copy"
    notes = [
        f"the formula is checked on a {route.copy} copy of the parameters ({why})"
        + (f", with {formula_dtype}'s tolerances" if formula_dtype == route.copy else "")
    ]
    if worst is not None:
        figure, name, dtype = worst
        hint = ""
        if figure > CANCELLATION * unit_roundoff(np.dtype(dtype)):
            hint = " (cancellation, e.g. a saturated tanh)"
        notes.append(
            f"{dtype} round-off of your gradient against the same computation in {route.copy}: "
            f"up to {figure:.2g} ({100 * figure:.2g}%) on {name}{hint}; it does not enter "
            "the verdict"
        )
    return replace(
        report,
        parameters=params,
        messages=tuple(notes) + report.messages,
        options={**report.options, "formula_dtype": formula_dtype},
    )
