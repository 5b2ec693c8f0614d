"""``check_hessian``: second derivatives, as the Jacobian of the gradient.

The Hessian of a cost ``J`` is the Jacobian of its gradient ``∇J``, and a
Hessian–vector product ``hvp(params, v) = H v`` is that Jacobian's JVP (and, ``H``
being symmetric, its VJP too). So the check is :func:`gradcheck.check_jacobian` of the
user's ``grad``: differences of the gradient, ``(∇J(θ + h v) − ∇J(θ − h v)) / 2h``,
entry by entry for small problems, by random projections ``uᵀ H v`` with the stated
guarantee and localisation for large ones. Two findings are added:

* **Symmetry.** A Hessian of a twice continuously differentiable cost is symmetric.
  Each claimed form (``hessian``, ``hvp``) is tested for ``uᵀ(H v) = vᵀ(H u)`` on random
  pairs, exactly up to round-off (``gradcheck._consistency.agreement``); so are the
  finite differences of ``grad``, up to their own error: a ``grad`` whose differences
  are not symmetric is not the gradient of any smooth cost.
* **A zero second derivative.** A claimed Hessian or HVP that is zero on every probe
  while the differences of ``grad`` are not is named "the second derivative is zero
  where it should not be": a backward that detaches, or a term left out.

``cost`` is the cost whose gradient ``grad`` is: :func:`gradcheck.check` of ``grad``
runs first, and a wrong ``grad`` fails the report by name (the Hessian is then checked
as the derivative of a wrong gradient).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from gradcheck import _hessian_words as hw
from gradcheck._build import Outcome, ParameterOutcome, build_report, outcome_of, overall_status
from gradcheck._consistency import Consistency
from gradcheck._engine import check
from gradcheck._errors import GradcheckError
from gradcheck._errstate import checker_errors
from gradcheck._evaluate import preserve_rng
from gradcheck._hessian_fd import SYMMETRY_PAIRS, SYMMETRY_SAFETY, FdSymmetry, fd_symmetry
from gradcheck._hessian_sym import claimed_symmetry
from gradcheck._inputs import check_target, private_copy
from gradcheck._jacobian import jacobian_check
from gradcheck._layout import Layout
from gradcheck._linear import Forms
from gradcheck._pytree import flatten, unflatten
from gradcheck._report import Diagnosis, Report
from gradcheck._user_rng import generators_kept

__all__ = ["SYMMETRY_PAIRS", "SYMMETRY_SAFETY", "check_hessian"]

Array = np.ndarray[Any, Any]
#: The text of a claimed second derivative that is zero on every probe while the
#: finite differences are not.
ZERO_SECOND = (
    "the second derivative is zero where it should not be: the claimed Hessian-vector "
    "products are 0, the differences of grad are not (a backward that detaches or "
    "leaves autograd, or a term left out?)"
)


#: check_hessian's refusal of a complex parameter, with the remedy (attack22 C7c).
_COMPLEX = (
    "parameter {name!r} has complex dtype {dtype}: check_hessian takes real parameters "
    "only (the second derivative of a real cost of complex z is a 2n × 2n Hessian over "
    "re z and im z, which it does not build for you). Split {name!r} into two real "
    "parameters re and im and rebuild z = re + 1j·im inside cost, grad and hvp/hessian: "
    "grad returns the gradients with respect to re and im, and the Hessian is laid out "
    "over (re, im). For a torch function, gradcheck.torch.check_function(fn, z, "
    "order=2) checks complex inputs through their real and imaginary parts"
)


def _validate(cost: Any, params: Any, grad: Any, hvp: Any, hessian: Any) -> None:
    """Raise, naming the argument, unless the inputs can be checked."""
    check_target(cost, params)
    for name, leaf in zip(*flatten(params)[:2]):
        if not hasattr(leaf, "detach") and np.iscomplexobj(leaf):
            raise GradcheckError(_COMPLEX.format(name=name, dtype=np.asarray(leaf).dtype))
    if not callable(grad):
        raise GradcheckError(
            f"grad must be a function grad(params) -> like params (the Hessian is checked "
            f"against differences of it), not a {type(grad).__name__}"
        )
    if hvp is None and hessian is None:
        raise GradcheckError(
            "check_hessian needs the second derivative in at least one form: "
            "hvp=hvp(params, v) -> like params (H v), or hessian= (an array, or a function "
            "of params returning one, laid out as check_jacobian's Jacobian of grad)"
        )
    if hvp is not None and not callable(hvp):
        raise GradcheckError(
            f"hvp must be a function hvp(params, v) -> like params, not a {type(hvp).__name__}"
        )


@checker_errors()
def check_hessian(
    cost: Callable[[Any], Any],
    params: Any,
    grad: Callable[[Any], Any],
    *,
    hvp: Callable[[Any, Any], Any] | None = None,
    hessian: Any = None,
    **options: Any,
) -> Report:
    """Check a Hessian or Hessian–vector product against differences of ``grad``.

    Args:
        cost: ``cost(params) -> scalar``: ``grad`` is checked against it first.
        params: an array, or a dict / list / tuple of arrays, nested.
        grad: ``grad(params) -> like params``, the gradient of ``cost``.
        hvp: ``hvp(params, v) -> like params``: ``H v`` for ``v`` shaped like
            ``params``.
        hessian: the Hessian: for one parameter array of shape ``S`` an array of shape
            ``S + S``; for pytrees jax's ``jax.hessian`` layout; or the flat ``(n, n)``
            matrix; or a function ``hessian(params)`` returning one of these.
        **options: as :func:`gradcheck.check_jacobian` (``method``, ``eps``, ``rtol``,
            ``atol``, ``mode``, ``seed``, ``progress``, ``localise``, ``budget``,
            ``miss_probability``).

    Returns:
        A :class:`~gradcheck.Report`: the Jacobian check of ``grad`` (blocks ``"W / b"``,
        the gradient of ``W`` against ``b``; ``"out / x"`` for one bare array), plus a
        result per symmetry test (``"symmetry: hvp"``, ``"symmetry: finite
        differences"``) and, when ``grad`` itself is wrong, ``"grad"``.

    Raises:
        GradcheckError: for bad input, or a function that fails.

    >>> import numpy as np
    >>> x = np.array([1.0, 2.0])
    >>> r = check_hessian(lambda p: float(np.sum(p**4)), x, lambda p: 4 * p**3,
    ...                   hvp=lambda p, v: 12 * p**2 * v)
    >>> r.status
    'passed'
    """
    _validate(cost, params, grad, hvp, hessian)
    with generators_kept(cost, grad, hvp, hessian):  # the forms' generators (H74)
        return _check_hessian(cost, params, grad, hvp, hessian, options)


def _check_hessian(
    cost: Callable[[Any], float],
    params: Any,
    grad: Any,
    hvp: Any,
    hessian: Any,
    options: dict[str, Any],
) -> Report:
    """:func:`check_hessian` on valid arguments."""
    kept = _KeptGradient(grad, params)
    try:
        report = jacobian_check(kept, params, hessian, None, hvp, options, "check_hessian")
    except GradcheckError as exc:
        words = hw.words_of(params, hvp, hessian, exc)
        raise GradcheckError(hw.in_hessian_words(str(exc), words)) from exc
    seed = int(options.get("seed", 0))
    g0 = kept.value
    first = check(cost, params, grad if g0 is None else unflatten(kept.treedef, g0), seed=seed)
    with preserve_rng() as saved:
        forms = _forms(params, grad, hvp, hessian)
        unresolved = any(p.uncertain for p in report.parameters.values())
        claimed = [claimed_symmetry(forms, f, seed, g0, unresolved) for f in forms.given]
        # every grad call from the saved random states, as the Jacobian check's (a grad
        # drawing a dropout mask from Python's random differed per call: attack36 H168)
        fd = fd_symmetry(forms, grad, seed, g0, reset=saved.reset)
    return _report(report, first, claimed, fd, hw.words_of(params, hvp, hessian))


class _KeptGradient:
    """``grad``, keeping its first value at ``params`` (float64 leaves): the Jacobian
    check evaluates it there first, and the gradient's own check and the symmetry
    test's round-off need it, at no evaluation of their own."""

    def __init__(self, grad: Callable[[Any], Any], params: Any) -> None:
        self.grad = grad
        _, self.point, self.treedef = flatten(params)
        self.value: list[Array] | None = None

    def __call__(self, params: Any) -> Any:
        result = self.grad(params)
        if self.value is None:
            leaves = flatten(params)[1]
            if len(leaves) == len(self.point) and all(
                np.shape(a) == np.shape(b) and np.array_equal(a, b, equal_nan=False)
                for a, b in zip(leaves, self.point)
            ):
                values = flatten(result)[1]
                shapes = [np.shape(x) for x in self.point]
                if [np.shape(v) for v in values] == shapes:
                    self.value = [np.array(np.asarray(v), dtype=np.float64) for v in values]
        return result


def _forms(params: Any, grad: Callable[[Any], Any], hvp: Any, hessian: Any) -> Forms:
    """The claimed forms as linear maps of flat vectors (gradient-shaped outputs)."""
    names, user_leaves, treedef = flatten(params)
    leaves = [private_copy(n, x, False) for n, x in zip(names, user_leaves)]
    out_names = ["out"] if treedef.kind == "leaf" else names
    shapes = [x.shape for x in leaves]
    dtypes = [x.dtype for x in leaves]
    layout = Layout(names, shapes, dtypes, treedef, out_names, shapes, dtypes, treedef)
    return Forms(layout, leaves, hessian, None, hvp)


def _symmetry_row(
    name: str, values: Any, tolerance: Any, wrong: bool, text: str, uncertain: bool = False
) -> ParameterOutcome:
    """One symmetry test as a result: failed when a pair disagrees, inconclusive where
    that may be the form's rounding (``Consistency.uncertain``)."""
    worst = max((abs(a - b) for a, b in values), default=math.nan)
    return ParameterOutcome(
        name=name,
        shape=(len(values),),
        dtype="float64",
        status=("inconclusive" if uncertain else "failed") if wrong else "passed",
        difference=math.nan,
        checked=len(values),
        max_abs_error=float(worst),
        diagnosis=Diagnosis("asymmetric", None, text) if wrong and not uncertain else None,
    )


def _claimed_text(c: Consistency) -> str:
    form = c.forms[0].split(":")[0]
    k = max(range(len(c.values)), key=lambda i: abs(c.values[i][0] - c.values[i][1]))
    a, b = c.values[k]
    verdict = "is not symmetric" if c.wrong else "is symmetric"
    return (
        f"the claimed {form} {verdict}: uᵀ(Hv) = {a:.6g}, vᵀ(Hu) = {b:.6g} for random u, v "
        f"(round-off allowance {c.tolerance[k]:.2g})"
        + (
            "; a Hessian of a smooth cost is symmetric (a transposed term, or a term "
            "added on one side only?)"
            if c.wrong and not c.uncertain
            else ""
        )
        + (
            "; the finite differences could not resolve its entries, so this may be its "
            "rounding (small values computed as the difference of large terms), not a "
            "wrong Hessian: inconclusive"
            if c.wrong and c.uncertain
            else ""
        )
    )


def _fd_text(fd: FdSymmetry, grad_passed: bool) -> str:
    """The finite differences' symmetry test in words. Where ``grad`` passed its own
    check (``gradcheck.check(cost, params, grad)``) it is the cost's gradient to that
    check's bound, and differences that are not symmetric say only that ``grad``
    carries noise (a value computed as ``(big + t) − big`` rounds to ``u·big``, far
    above the ``u·|g|`` the error estimate allows) or an error below that bound: the
    row is then inconclusive, not failed (attack38 H193: 6 seeds of 8 failed)."""
    k = max(range(len(fd.values)), key=lambda i: abs(fd.values[i][0] - fd.values[i][1]))
    a, b = fd.values[k]
    if not fd.wrong:
        return (
            f"the finite differences of grad are symmetric (uᵀ(Dv) = {a:.6g}, vᵀ(Du) = "
            f"{b:.6g}, error allowance {fd.tolerance[k]:.2g})"
        )
    head = (
        f"the finite differences of grad are not symmetric: uᵀ(Dv) = {a:.6g}, vᵀ(Du) = "
        f"{b:.6g} (error allowance {fd.tolerance[k]:.2g})"
    )
    if grad_passed:
        return (
            f"{head}, though grad passes its check against cost: grad carries noise (a "
            "value computed as the difference of large terms?) or an error below that "
            "check's bound: inconclusive"
        )
    return (
        f"{head}: grad is not the gradient of a smooth cost; check it first with "
        "gradcheck.check(cost, params, grad)"
    )


#: How the Jacobian check's guarantee names its fold (``gradcheck._jacproj``).
_FOLD_WORDS = "uᵀJ with random u (each output's share equal)"


def _report(
    report: Report, first: Report, claimed: list[Consistency], fd: FdSymmetry, words: hw.Words
) -> Report:
    """The Jacobian check's report with the symmetry tests and the gradient's check."""
    rows = [hw.renamed(outcome_of(p), words) for p in report.parameters.values()]
    zero = fd.claimed_zero and fd.fd_nonzero
    if zero:
        rows = [
            r._replace(diagnosis=Diagnosis("zero", 0.0, ZERO_SECOND)) if r.status == "failed" else r
            for r in rows
        ]
    rows += [
        _symmetry_row(
            f"symmetry: {c.forms[0].split(':')[0]}",
            c.values,
            c.tolerance,
            c.wrong,
            _claimed_text(c),
            c.uncertain,
        )
        for c in claimed
    ]
    rows.append(
        _symmetry_row(
            "symmetry: finite differences",
            fd.values,
            fd.tolerance,
            fd.wrong,
            _fd_text(fd, first.status == "passed"),
            fd.wrong and first.status == "passed",
        )
    )
    notes = [*(_claimed_text(c) for c in claimed), _fd_text(fd, first.status == "passed")]
    if zero:
        notes.insert(0, ZERO_SECOND)
    if first.status == "failed":
        bad = ", ".join(first.failed_parameters) or "its directional check"
        text = (
            f"grad is not the gradient of cost (gradcheck.check fails for {bad}): the "
            "Hessian is checked as the derivative of this grad; fix grad first"
        )
        rows.insert(
            0,
            ParameterOutcome(
                "grad",
                (),
                "float64",
                "failed",
                first.difference,
                checked=0,
                diagnosis=Diagnosis("gradient", None, text),
            ),
        )
        notes.insert(0, text)
    options = {**report.options, "hessian": True}
    messages = (*(hw.in_hessian_words(m, words) for m in report.messages), *notes)
    # the Jacobian check's own verdict and guarantee carry over (its localisation names
    # the forms in the Jacobian's words, and its rows say the same here): a
    # directional verdict may fail with no row failed, and its stated bound is the
    # Hessian's (attack38 H190: check_hessian(hessian=..., mode="directional") stated none)
    status = overall_status([report.status, *(r.status for r in rows)])
    guarantee = _in_words(report.guarantee)
    outcome = Outcome(
        tuple(rows),
        report.difference,
        report.noise,
        messages,
        status,
        guarantee,
    )
    start = time.perf_counter() - report.seconds - first.seconds
    return build_report(
        outcome,
        evaluations=report.evaluations + first.evaluations + fd.evaluations,
        start=start,
        options=options,
    )


def _in_words(guarantee: Any) -> dict[str, Any] | None:
    """The Jacobian check's stated guarantee, its text said of ``uᵀH``."""
    if not guarantee:
        return None
    out = dict(guarantee)
    text = out.get("text")
    if isinstance(text, str):
        text = text.replace(_FOLD_WORDS, "uᵀH with random u (each gradient entry's share equal)")
        out["text"] = text.replace("a relative gradient error", "a relative error of uᵀH")
    return out
