"""Second order in the adapters: the backward itself, checked as a function.

A backward maps the inputs ``x`` and the output cotangents ``w`` to the gradient
``G(x, w) = J(x)ᵀ w``. Its derivative is what a double backward computes: against
``x`` the Hessian–vector products ``Σ_k w_k ∇²f_k(x)``, against ``w`` the Jacobian
``J(x)`` itself. :func:`second_order` checks both, as ``torch.autograd.gradgradcheck``
does and as HIPS autograd's ``check_grads`` does (differentiating through the
cotangent too): :func:`gradcheck.check_jacobian` of ``G`` over the point ``(x, w)``,
with the framework's VJP of ``G`` (the double backward) as its ``vjp``. So the
finite differences, modes (entry by entry, or random projections with the stated
guarantee and localisation), tolerances and first-order diagnoses (factor, sign,
transpose, ...) are ``check_jacobian``'s, applied to the second derivative. An adapter
(``gradcheck._torch_order2``, ``gradcheck._jax_order2``) provides the :class:`Backward`.

Two findings are added, named:

* **The backward is not differentiable.** A gradient that autodiff cannot
  differentiate (torch: computed with ``create_graph=True`` it does not require grad;
  JAX: differentiating it raised) although it is nonzero. A correct backward is linear
  in its cotangent, ``G(x, w) = (∂G/∂w) w``, so a nonzero gradient must change with
  ``w``: a backward that detaches or leaves autodiff (NumPy inside, ``.detach()``) is
  wrong, whatever the finite differences say. ``gradgradcheck`` skips such outputs.
* **The second derivative is zero where it should not be**: the double backward gives
  0 against ``x`` where the differences of the backward do not (a backward that
  detaches part of its computation, or a term left out).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from numbers import Integral
from typing import Any, NamedTuple

import numpy as np

from gradcheck._build import Outcome, ParameterOutcome, build_report, outcome_of, overall_status
from gradcheck._errors import GradcheckError
from gradcheck._jacobian import Options as JacobianOptions
from gradcheck._jacobian import jacobian_check
from gradcheck._order2_rows import split_name, zero_gradient_rows
from gradcheck._pytree import flatten
from gradcheck._report import Diagnosis, Report
from gradcheck._tolerances import unit_roundoff

__all__ = [
    "ORDERS",
    "Backward",
    "check_order",
    "cotangent_name",
    "disjoint",
    "same_point",
    "second_order",
]

Array = np.ndarray[Any, Any]
Params = dict[str, Array]
#: The ``order`` values: 1 (the gradient), 2 (also the derivative of the backward).
ORDERS = (1, 2)
#: What a finding says, with ``{name}`` the input and ``{how}`` the framework's words.
DETACHED = (
    "the backward is not differentiable (it detaches or leaves autograd): the gradient of "
    "{name} is nonzero, yet {how}; a correct backward is linear in its cotangent and "
    "differentiable, so its double backward is wrong (NumPy inside the backward, "
    ".detach(), .data, .item() or stop_gradient?)"
)
ZERO_SECOND = (
    "the second derivative is zero where it should not be: the double backward gives 0 "
    "for {name}, the finite differences of the backward do not (a backward that detaches "
    "part of its computation, or a term left out?)"
)
#: The finite differences' nonzero test allows this many times their estimated error
#: (the margin of ``gradcheck._hessian.SYMMETRY_SAFETY``, for the same estimate).
NONZERO_SAFETY = 4.0


class Backward(NamedTuple):
    """A framework's backward at the point checked, as :func:`second_order` needs it.

    Attributes:
        inputs: the checked inputs' names (the gradient's leaves, in order).
        point: the inputs and then the cotangents, by name, as NumPy arrays in the
            dtype checked.
        grad: ``grad(point) -> {input: gradient}``, the backward ``G(x, w)``.
        double: ``double(point, u) -> like point``, the VJP of ``grad`` with ``u``
            (shaped like ``grad``'s result): the double backward.
        detached: ``{input: why}`` for each input whose gradient autodiff cannot
            differentiate at ``point`` (the words fill :data:`DETACHED`'s ``{how}``).
        who: the user's callable whose backward this is (``"fn"``, ``"loss_fn"``).
    """

    inputs: tuple[str, ...]
    point: Params
    grad: Callable[[Params], Params]
    double: Callable[[Params, Params], Params]
    detached: Mapping[str, str]
    who: str = "fn"


def cotangent_name(taken: Collection[str]) -> str:
    """The name of a scalar loss's cotangent in the point, one no input has.

    The point holds the inputs and the cotangents by name, so an input called
    ``"cotangent"`` (a model parameter, a key of ``jax.check``'s dict) must not be
    overwritten by the loss's cotangent: it is then ``"cotangent (of the loss)"``.
    """
    name, k = "cotangent", 1
    while name in taken:
        name = "cotangent (of the loss)" if k == 1 else f"cotangent (of the loss, {k})"
        k += 1
    return name


def disjoint(inputs: Collection[str], cotangents: Collection[str]) -> None:
    """Raise if a cotangent's name is an input's (the point would lose the input)."""
    shared = sorted(set(inputs) & set(cotangents))
    if shared:
        raise GradcheckError(f"internal: the cotangents' names {shared} are inputs' names")


def check_order(order: object) -> int:
    """``order`` as 1 or 2, or a :class:`GradcheckError` that says what to give."""
    if isinstance(order, bool) or not isinstance(order, Integral) or order not in ORDERS:
        raise GradcheckError(
            f"order={order!r}: give 1 (check the gradient) or 2 (also the derivative of "
            "the backward, as a double backward computes it)"
        )
    return int(order)


def _jacobian_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The options ``check_jacobian`` takes; the others apply to the first order only."""
    return {k: v for k, v in options.items() if k in JacobianOptions._fields}


def second_order(
    first: Report, backward: Backward, options: Mapping[str, Any], start: float
) -> Report:
    """The first-order report ``first`` with the backward's own check added.

    Args:
        first: the adapter's first-order report (its rows come first).
        backward: the backward at the point.
        options: the user's options (those of ``check_jacobian`` apply here).
        start: ``time.perf_counter()`` when the whole check started.

    Returns:
        One report: the first-order rows, then the blocks of the backward's derivative
        (``"input0 / input0"``: the gradient of ``input0`` against ``input0``;
        ``"input0 / cotangent0"``: against the cotangent), then a
        ``"differentiable: input0"`` row per input whose backward is not differentiable.
    """
    backward = backward._replace(double=_finite_double(backward))
    at = _AtPoint(backward)
    report = jacobian_check(
        at.grad,
        backward.point,
        None,
        backward.double,
        None,
        _jacobian_options(options),
        "check_jacobian",
        linear=_cotangent_leaves(backward),
    )
    g0 = at.value if at.value is not None else backward.grad(backward.point)
    detached = {n: why for n, why in backward.detached.items() if np.any(g0[n] != 0)}
    rows = [_diagnosed(outcome_of(p), backward, detached) for p in report.parameters.values()]
    rows, zero_notes = zero_gradient_rows(rows, g0, options.get("rtol"))
    notes = [DETACHED.format(name=n, how=why) for n, why in detached.items()]
    evaluations = report.evaluations + (at.value is None)
    if report.status != "passed" and report.mode == "directional" and not detached:
        zero, spent = _zero_second(backward, g0, int(options.get("seed", 0)))
        evaluations += spent
        if zero:
            text = ZERO_SECOND.format(name=", ".join(backward.inputs))
            notes.append(text)
            rows = [_zero_row(r, backward, text) for r in rows]
    extra = [
        _detached_row(n, g0[n], DETACHED.format(name=n, how=why)) for n, why in detached.items()
    ]
    second = report.status
    if zero_notes and second == "inconclusive":
        second = overall_status([r.status for r in rows])
    statuses = [first.status, second, *(r.status for r in extra)]
    kept = [m for m in report.messages if m.split(": ")[0] not in zero_notes]
    outcome = Outcome(
        parameters=(*(outcome_of(p) for p in first.parameters.values()), *rows, *extra),
        difference=max(first.difference, report.difference),
        noise=first.noise,
        notes=tuple(dict.fromkeys((*first.messages, *kept, *zero_notes.values(), *notes))),
        status=overall_status(statuses),
        guarantee=report.guarantee or first.guarantee,
        localisation=report.localisation or first.localisation,
    )
    opts = {
        **first.options,
        "order": 2,
        "second_order_mode": report.mode,
        "second_order_evaluations": evaluations,
    }
    return build_report(
        outcome, evaluations=first.evaluations + evaluations, start=start, options=opts
    )


def _cotangent_leaves(backward: Backward) -> frozenset[str]:
    """The names ``check_jacobian`` gives the cotangents among the point's leaves: the
    backward is linear in them, so its entrywise columns along them cost one
    evaluation, or none for one scalar cotangent (``gradcheck._jaclinear``)."""
    names, _, _ = flatten(backward.point)
    return frozenset(nm for nm, key in zip(names, backward.point) if key not in backward.inputs)


class _AtPoint:
    """``backward.grad`` keeping its first value at the point: ``check_jacobian``
    evaluates the gradient there first (its output's layout, then again for its
    determinism test), and the findings need that gradient, ``g0``: kept, it costs no
    evaluation of its own."""

    def __init__(self, backward: Backward) -> None:
        self.backward = backward
        self.value: Params | None = None

    def grad(self, params: Params) -> Params:
        result = self.backward.grad(params)
        if self.value is None and same_point(params, self.backward.point):
            self.value = {n: np.array(g, copy=True) for n, g in result.items()}
        return result


def same_point(params: Params, point: Params) -> bool:
    """Whether ``params`` is ``point`` bit for bit (names, dtypes, shapes, values).

    Asked at every evaluation of the backward (``gradcheck._torch_order2``), mostly at
    points moved along a step, which differ in their first entries already: those are
    compared first, then the rest in one pass over unsigned integers of the entries'
    size (no copy; ``tobytes`` copied both arrays, 3 ms per call for the 2·10⁶ entries
    of a backward's point at N = 10⁶).
    """
    if params.keys() != point.keys():
        return False
    for name, value in params.items():
        a, b = np.asarray(value), point[name]
        if a is b:
            continue
        if a.dtype != b.dtype or a.shape != b.shape or not _same_bits(a, b):
            return False
    return True


#: Unsigned integer dtypes by item size, to compare entries bit for bit.
_BITS = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}
#: The leading entries :func:`same_point` compares before the rest.
_HEAD = 64


def _same_bits(a: Array, b: Array) -> bool:
    """Whether ``a`` and ``b`` (one dtype and shape) hold the same bits."""
    bits = _BITS.get(a.dtype.itemsize) if a.dtype.kind in "biuf" else None
    if bits is None:  # complex128 and others: the bytes themselves
        return a.tobytes() == b.tobytes()
    x, y = a.reshape(-1).view(bits), b.reshape(-1).view(bits)
    return bool(np.array_equal(x[:_HEAD], y[:_HEAD]) and (x[_HEAD:] == y[_HEAD:]).all())


def _finite_double(backward: Backward) -> Callable[[Params, Params], Params]:
    """``backward.double`` raising, in second-order words, where it is not finite
    (``check_jacobian`` would name its ``vjp``, which the user never wrote)."""

    def double(params: Params, u: Params) -> Params:
        result = backward.double(params, u)
        for name, values in result.items():
            flat = np.ravel(values)
            bad = np.flatnonzero(~np.isfinite(flat))
            if bad.size:
                where = np.unravel_index(int(bad[0]), np.shape(values))
                entry = f"{name}[{', '.join(str(int(i)) for i in where)}]" if where else name
                value = "NaN" if np.isnan(flat[bad[0]]) else str(float(flat[bad[0]]))
                raise GradcheckError(
                    f"the double backward of {backward.who} returned {value} for {entry} "
                    "(order=2 differentiates the gradient at the point checked): the second "
                    "derivative is not finite there (as the norm's at 0); check order=2 at "
                    "another point, or order=1 here"
                )
        return result

    return double


def _diagnosed(
    row: ParameterOutcome, backward: Backward, detached: Mapping[str, str]
) -> ParameterOutcome:
    """A failed block's diagnosis in second-order words, where one fits."""
    block = split_name(row.name)
    if row.status != "failed" or block is None:
        return row
    out, against = block
    if out in detached:
        text = DETACHED.format(name=out, how=detached[out])
        return row._replace(diagnosis=Diagnosis("detached", None, text))
    if row.diagnosis is not None and row.diagnosis.kind == "zero" and against in backward.inputs:
        text = ZERO_SECOND.format(name=row.name)
        return row._replace(diagnosis=Diagnosis("zero", 0.0, text))
    return row


def _zero_row(row: ParameterOutcome, backward: Backward, text: str) -> ParameterOutcome:
    """A directional block against an input, diagnosed as a zero second derivative."""
    block = split_name(row.name)
    if block is None or block.against not in backward.inputs or row.status == "passed":
        return row
    return row._replace(diagnosis=Diagnosis("zero", 0.0, text))


def _detached_row(name: str, g0: Array, text: str) -> ParameterOutcome:
    """The finding that ``name``'s backward is not differentiable, as a failed row."""
    return ParameterOutcome(
        name=f"differentiable: {name}",
        shape=tuple(g0.shape),
        dtype=str(g0.dtype),
        status="failed",
        difference=1.0,
        checked=0,
        diagnosis=Diagnosis("detached", None, text),
    )


class _ZeroSecond(NamedTuple):
    """:func:`_zero_second`'s answer, and the gradient evaluations it took."""

    zero: bool
    spent: int


def _zero_second(backward: Backward, g0: Params, seed: int) -> _ZeroSecond:
    """Whether the double backward is 0 against the inputs along a random cotangent
    while the differences of the backward along a random input direction are not.

    The differences are central with step ``u_dtype^(1/3)`` along a standard normal
    direction scaled by ``max(|x|, 1)``; their error is estimated as the change from
    ``h`` to ``h/2`` plus the gradient's round-off over ``h`` (as
    ``gradcheck._hessian``'s symmetry test), and "not zero" means larger than
    :data:`NONZERO_SAFETY` times it. Returns the answer and the gradient evaluations.
    """
    rng = np.random.default_rng([seed, 29])
    point = backward.point
    u = {n: np.asarray(rng.standard_normal(g0[n].shape)) for n in backward.inputs}
    claimed = backward.double(point, u)
    if any(np.any(np.asarray(claimed[n]) != 0) for n in backward.inputs):
        return _ZeroSecond(False, 1)
    rnd = max(unit_roundoff(point[n].dtype) for n in backward.inputs)
    h = rnd ** (1 / 3)
    v = {
        n: np.maximum(np.abs(point[n]), 1.0) * rng.standard_normal(point[n].shape)
        for n in backward.inputs
    }

    def diff(step: float) -> Array:
        def at(sign: float) -> Array:
            moved = {
                n: (a + sign * step * v[n]).astype(a.dtype) if n in v else a
                for n, a in point.items()
            }
            g = backward.grad(moved)
            return np.concatenate([np.ravel(g[n]).astype(np.float64) for n in backward.inputs])

        return (at(1.0) - at(-1.0)) / (2 * step)

    d1, d2 = diff(h), diff(h / 2)
    scale = float(np.linalg.norm(np.concatenate([np.ravel(g0[n]) for n in backward.inputs])))
    error = float(np.linalg.norm(d1 - d2)) + rnd * scale / h
    return _ZeroSecond(float(np.linalg.norm(d1)) > NONZERO_SAFETY * error, 5)
