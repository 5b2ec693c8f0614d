"""Complex parameters and outputs in ``check_jacobian``, checked on their real views.

A function of complex parameters with complex outputs is a real function of the real
and imaginary parts, and that is what is checked, on the same engine as a real
Jacobian: each complex leaf of shape ``S`` (a parameter or an output) becomes a real
leaf ``(*S, 2)`` holding ``(Re, Im)`` (as ``gradcheck._complex`` does for ``check``),
the forms are restated on those views, and the report's names are mapped back:
``out[2] (imag) / z[0] (real)``. The forms mean:

* ``jvp(params, tangent) -> like the output``: ``df = ∂f/∂z·v + ∂f/∂z̄·v̄``, the real
  linear map (what ``jax.jvp`` and torch's forward AD give); any ``f``.
* ``jacobian=``: the complex derivative ``df/dz``, shape ``(*out, *in)``: right for a
  holomorphic ``f`` and for real parameters with complex outputs. For a ``f`` that is
  not holomorphic it cannot describe the map, and the check says so
  (``gradcheck._jac_holomorphic``).
* ``vjp(params, cotangent) -> like params``: the adjoint of the jvp for the real
  pairing ``Re Σ conj(a)·b``, in ``complex_convention``: ``"conjugate"`` (torch, the
  default) takes ``w = a + ib`` for the real view ``(a, b)`` of the cotangent and returns
  ``∂L/∂x + i ∂L/∂y`` of ``L = Re Σ conj(w)·f``; ``"plain"`` (jax) returns
  ``∂L/∂x − i ∂L/∂y`` of ``L = Re Σ w·f``. For a holomorphic ``f`` that is
  ``w·conj(f′)`` and ``w·f′``. A real parameter's entry is the real part of what the
  vjp returns (torch's rule).

>>> import numpy as np, gradcheck
>>> A = np.array([[1 + 2j, 0.5], [-1j, 2.0]])
>>> z = np.array([0.3 - 0.1j, -0.7 + 0.4j])
>>> gradcheck.check_jacobian(lambda p: A @ p, z, A).status
'passed'
>>> vjp = lambda p, w: A.T @ w                  # torch wants A.H @ w: a missing conj
>>> r = gradcheck.check_jacobian(lambda p: A @ p, z, vjp=vjp)
>>> r.status, r.parameters["out / x"].diagnosis.kind
('failed', 'conjugate')
>>> gradcheck.check_jacobian(lambda p: A @ p, z, vjp=vjp, complex_convention="plain").status
'passed'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gradcheck._complex import check_convention, pair
from gradcheck._errors import GradcheckError
from gradcheck._evaluate import preserve_rng
from gradcheck._flat_values import as_array
from gradcheck._inputs import private_copy
from gradcheck._jac_complex_report import block_diagnosis, relabel
from gradcheck._jac_holomorphic import cauchy_riemann, explain, failed_blocks
from gradcheck._jac_realviews import (
    Fn,
    Jacobian,
    Jvp,
    RealViews,
    Vjp,
    has_complex,
    is_complex,
)
from gradcheck._jacoptions import Request
from gradcheck._jacreport import BlockDiagnosis
from gradcheck._pytree import builder, flatten
from gradcheck._report import Report

__all__ = ["ComplexOutputs", "RealViews", "complex_check", "has_complex"]

Array = np.ndarray[Any, Any]
Check = Callable[[Request, BlockDiagnosis], Report]


class ComplexOutputs(Exception):
    """``fn`` returned complex values at the parameters (raised by the real check's first
    evaluation, which hands them on, so that ``fn`` is not evaluated again to see them)."""

    def __init__(self, value: Any) -> None:
        super().__init__("fn returned complex values")
        self.value = value


def _probe(fn: Callable[[Any], Any], params: Any) -> Any:
    """``fn`` at a private copy of ``params``, inside saved-and-restored RNGs."""
    _, leaves, treedef = flatten(params)
    with preserve_rng():
        try:
            return fn(builder(treedef)([np.array(x, copy=True) for x in leaves]))
        except GradcheckError:
            raise
        except Exception as exc:
            raise GradcheckError(
                f"fn raised {type(exc).__name__}: {exc} (at the parameters given)"
            ) from exc


def _real_params(names: list[str], leaves: list[Any], mask: tuple[bool, ...]) -> list[Any]:
    """Each complex leaf as its real view (a new array); a non-finite one is refused,
    and so is a framework tensor (as for real parameters: the adapters check those)."""
    out = []
    for name, leaf, c in zip(names, leaves, mask):
        if hasattr(leaf, "detach"):
            private_copy(name, leaf, False)  # raises, naming the adapter to use
        if not c:
            out.append(leaf)
            continue
        z = as_array(leaf)
        bad = np.flatnonzero(~np.isfinite(z.reshape(-1)))
        if bad.size:
            at = tuple(int(t) for t in np.unravel_index(int(bad[0]), z.shape))
            raise GradcheckError(f"parameter {name!r} has a non-finite value at index {at}")
        out.append(pair(z))
    return out


def _views(params: Any, value: Any, convention: str) -> RealViews:
    """The layout of the parameters and of ``fn``'s value, with their complex masks."""
    names, leaves, treedef = flatten(params)
    out_names, outs, out_treedef = flatten(value)
    if out_treedef.kind == "leaf":
        out_names = ["out"]
    return RealViews(
        names,
        [np.shape(as_array(x)) for x in leaves],
        tuple(is_complex(x) for x in leaves),
        treedef,
        out_names,
        [np.shape(as_array(x)) for x in outs],
        tuple(is_complex(x) for x in outs),
        out_treedef,
        convention,
    )


def _no_complex_derivative(views: RealViews) -> None:
    """Raise for ``jacobian=`` where a real output depends on a complex parameter."""
    if not any(views.in_mask) or all(views.out_mask):
        return
    out = views.out_names[views.out_mask.index(False)]
    z = views.in_names[views.in_mask.index(True)]
    raise GradcheckError(
        f"jacobian= cannot give output {out!r}'s derivative in complex parameter {z!r}: a "
        "real-valued function of a complex variable has no complex derivative (it is "
        "holomorphic only where it is constant). Give vjp= (its rows are the gradients, in "
        "complex_convention) or jvp=, or return the output as complex"
    )


def complex_check(check: Check, request: Request, first: Any = None) -> Report:
    """``check_jacobian`` of a problem with complex parameters or outputs, on real views.

    Args:
        check: the real check (``gradcheck._jacobian._real_check``).
        request: as the user asked it (``complex_convention`` among its options).
        first: ``fn``'s value at the parameters where the real check already has it.
    """
    fn, params, options = request.fn, request.params, request.options
    convention = options.get("complex_convention") or "conjugate"
    check_convention(convention)
    if options.get("method") == "complex":
        raise GradcheckError(
            "method='complex' cannot check a complex parameter or output: the complex "
            "step perturbs along the imaginary axis, which these already use for their "
            "imaginary parts; use method='central' (the default) or 'richardson'"
        )
    names, leaves, treedef = flatten(params)
    mask = tuple(is_complex(x) for x in leaves)
    real_params = builder(treedef)(_real_params(names, leaves, mask))
    value = _probe(fn, params) if first is None else first
    views = _views(params, value, convention)
    jacobian, vjp, jvp = request.jacobian, request.vjp, request.jvp
    if jacobian is not None:
        _no_complex_derivative(views)
        jac = Jacobian(jacobian, views)
        jacobian = jac if callable(jacobian) else jac.matrix(jacobian, "jacobian is")
    inner = {k: v for k, v in options.items() if k != "complex_convention"}
    real = request._replace(
        fn=Fn(fn, views),
        params=real_params,
        jacobian=jacobian,
        vjp=None if vjp is None else Vjp(vjp, views),
        jvp=None if jvp is None else Jvp(jvp, views),
        options=inner,
    )
    report = check(real, block_diagnosis(views))
    blocks = failed_blocks(report, views)
    if blocks:
        residual = cauchy_riemann(Fn(fn, views), real_params, views, options.get("seed", 0))
        report = explain(report, blocks, residual)
    return relabel(report, views)
