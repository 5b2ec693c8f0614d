"""``check_jacobian``: the derivative of a vector-valued function, in whatever form.

One check, on private copies of the parameters:

1. read the options and the forms given (``jacobian``, ``vjp``, ``jvp``);
2. evaluate ``f`` at the parameters (twice: different values mean ``f`` is not
   deterministic and the check is ``inconclusive``), which fixes the output's layout;
3. choose entrywise or projections (:func:`resolve_mode`);
4. entrywise (``gradcheck._jacgrid``): ``2n`` evaluations give every column of the
   finite-difference Jacobian; each form's ``m × n`` matrix is compared entry by
   entry, with ``check``'s rules. Projections (``gradcheck._jacproj``): random
   ``uᵀ J v`` through ``check``'s directional machinery;
5. the consistency of every two forms (``gradcheck._consistency``);
6. the report (``gradcheck._jacreport``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from gradcheck import _jacoptions as jo
from gradcheck import _jacreport as rep
from gradcheck._consistency import consistency, linearity
from gradcheck._errors import GradcheckError
from gradcheck._errstate import checker_errors
from gradcheck._evaluate import preserve_rng
from gradcheck._inputs import check_target, private_copy
from gradcheck._jac_complex import ComplexOutputs, complex_check, has_complex
from gradcheck._jacdiag import diagnose_block
from gradcheck._jacgrid import (
    Setting,
    VectorEvaluator,
    block_noise,
    entrywise,
    noise_floor,
    output_roundoff,
)
from gradcheck._jaclinear import Linear
from gradcheck._jacoptions import Options
from gradcheck._jacproj import projected
from gradcheck._layout import Layout, Outputs, output_layout
from gradcheck._linear import Forms
from gradcheck._modes import AUTO_FULL_MAX
from gradcheck._pytree import flatten, unflatten
from gradcheck._report import Report
from gradcheck._user_rng import generators_kept

__all__ = ["FULL_ENTRIES_MAX", "Options", "check_jacobian", "jacobian_check", "resolve_mode"]

Array = np.ndarray[Any, Any]
#: ``mode="auto"`` checks entry by entry up to this many Jacobian entries (and
#: ``n ≤ AUTO_FULL_MAX`` inputs, as ``check``): the finite-difference Jacobian is kept
#: in memory with each entry's comparison, about 220 bytes per entry with one form (a
#: 973 MB peak at 2²² entries, n = 4096, m = 1024), and every row is compared.
FULL_ENTRIES_MAX = 2**22


def resolve_mode(mode: str, n: int, m: int) -> str:
    """``full`` or ``directional``: ``auto`` is ``full`` for up to ``AUTO_FULL_MAX``
    inputs and :data:`FULL_ENTRIES_MAX` entries, ``directional`` above.

    >>> resolve_mode("auto", 1000, 1000), resolve_mode("auto", 10**5, 10**5)
    ('full', 'directional')
    """
    if mode != "auto":
        return mode
    return "full" if n <= AUTO_FULL_MAX and n * m <= FULL_ENTRIES_MAX else "directional"


def _forms_given(jacobian: Any, vjp: Any, jvp: Any) -> None:
    if jacobian is None and vjp is None and jvp is None:
        raise GradcheckError(
            "check_jacobian needs the derivative in at least one form: jacobian= (an array "
            "shaped output_shape + parameter_shape, or a function of params returning it), "
            "vjp=vjp(params, cotangent) or jvp=jvp(params, tangent)"
        )
    for name, fn in (("vjp", vjp), ("jvp", jvp)):
        if fn is not None and not callable(fn):
            raise GradcheckError(
                f"{name} must be a function {name}(params, "
                f"{'cotangent' if name == 'vjp' else 'tangent'}), not {type(fn).__name__}"
            )


def _first_output(fn: Callable[[Any], Any], params: Any) -> Outputs:
    """``fn`` at a private copy of the parameters: the output's names, leaves, structure."""
    try:
        value = fn(params)
    except GradcheckError:
        raise
    except Exception as exc:
        raise GradcheckError(
            f"fn raised {type(exc).__name__}: {exc} (at the parameters given)"
        ) from exc
    if has_complex(value):
        raise ComplexOutputs(value)
    out = output_layout(value, "fn")
    for name, arr in zip(out.names, out.arrays):
        flat = np.asarray(arr, dtype=np.float64).reshape(-1)
        # the sum is finite when every value is (one pass, no temporary, as
        # ``VectorEvaluator._read``); only a sum that is not is searched entry by entry
        with np.errstate(over="ignore", invalid="ignore"):
            total = float(np.add.reduce(flat)) if flat.size else 0.0
        if math.isfinite(total):
            continue
        bad = np.flatnonzero(~np.isfinite(flat))
        if bad.size:
            raise GradcheckError(
                f"fn returned {flat[bad[0]]} in output {name!r} at the parameters given: "
                "check at a point where every output is finite"
            )
    return out


@checker_errors()
def check_jacobian(
    fn: Callable[[Any], Any],
    params: Any,
    jacobian: Any = None,
    *,
    vjp: Callable[[Any, Any], Any] | None = None,
    jvp: Callable[[Any, Any], Any] | None = None,
    **options: Any,
) -> Report:
    """Check the derivative of a vector-valued ``fn`` against finite differences.

    Args:
        fn: ``fn(params) -> array`` (or a dict / list / tuple of arrays); called with a
            private copy of ``params``.
        params: an array, or a dict / list / tuple of arrays, nested; complex
            parameters and outputs are checked on their real and imaginary parts.
        jacobian: the Jacobian: for one output and one parameter array an array of
            shape ``output_shape + parameter_shape``; for pytrees jax's ``jacrev``
            layout (each output leaf holds a structure like ``params`` of blocks
            ``output_shape + parameter_shape``); or the flat ``(m, n)`` matrix; or a
            function ``jacobian(params)`` returning one of these.
        vjp: ``vjp(params, cotangent) -> like params``: ``uᵀJ`` for a cotangent ``u``
            shaped like the output.
        jvp: ``jvp(params, tangent) -> like the output``: ``J v`` for a tangent ``v``
            shaped like ``params``.
        **options: as :func:`gradcheck.check`: ``method`` (``central``, ``forward``,
            ``richardson``), ``eps``, ``rtol``, ``atol``, ``mode`` (``Auto()``,
            ``Full()``, ``Directional(...)`` or their names), ``seed``, ``progress``,
            ``localise``, ``budget``, ``miss_probability`` (``gradcheck._options``), and
            ``complex_convention`` (``"conjugate"``, torch's, or ``"plain"``, jax's: what
            a ``vjp`` of complex values returns; ``gradcheck._jac_complex``). An option
            of ``check`` that does not apply raises (``execution`` is only ``None``:
            ``fn`` runs in this process).

    Returns:
        A :class:`~gradcheck.Report` whose parameters are the Jacobian's blocks
        (``"out / W"``; see ``docs/jacobians.md``).

    Raises:
        GradcheckError: for bad input, or an ``fn`` or form that fails.

    >>> import numpy as np
    >>> x = np.array([1.0, 2.0])
    >>> check_jacobian(lambda p: p**2, x, np.diag(2 * x)).status
    'passed'
    >>> check_jacobian(lambda p: p**2, x, np.diag(3 * x)).status
    'failed'
    """
    return jacobian_check(fn, params, jacobian, vjp, jvp, options, "check_jacobian")


def jacobian_check(
    fn: Callable[[Any], Any],
    params: Any,
    jacobian: Any,
    vjp: Callable[[Any, Any], Any] | None,
    jvp: Callable[[Any, Any], Any] | None,
    options: dict[str, Any],
    caller: str,
    linear: frozenset[str] = frozenset(),
) -> Report:
    """:func:`check_jacobian`, whose option errors name ``caller``; a problem with
    complex parameters or outputs is checked on its real views (``gradcheck._jac_complex``).
    ``linear``: the parameters (leaf names) ``fn`` is linear in, by construction (a
    backward's cotangents), whose entrywise columns cost half (``gradcheck._jaclinear``)."""
    request = jo.Request(fn, params, jacobian, vjp, jvp, options, caller, linear)
    complex_ok = caller == "check_jacobian"  # check_hessian: real parameters only
    # the generators the forms keep too (a sampled VJP's): reset per call, put back
    # after (attack29 H74); the inner saves include them (``_user_rng.active``)
    with generators_kept(fn, jacobian, vjp, jvp):
        if complex_ok and params is not None and callable(fn) and has_complex(params):
            jo.options(options, caller)
            _forms_given(jacobian, vjp, jvp)
            return complex_check(_real_check, request)
        try:
            return _real_check(request)
        except ComplexOutputs as found:
            if not complex_ok:
                output_layout(found.value, "fn")  # raises, naming the complex output
            return complex_check(_real_check, request, found.value)


def _real_check(request: jo.Request, diagnose: rep.BlockDiagnosis = diagnose_block) -> Report:
    """The check of real parameters and outputs (``diagnose`` names a failed block's
    mistake in entrywise mode)."""
    fn, params, jacobian, vjp, jvp, options, caller, linear = request
    start = time.perf_counter()
    opts = jo.options(options, caller)
    _forms_given(jacobian, vjp, jvp)
    check_target(fn, params)
    names, user_leaves, treedef = flatten(params)
    leaves = [private_copy(nm, x, False) for nm, x in zip(names, user_leaves)]
    if not names or sum(x.size for x in leaves) == 0:
        raise GradcheckError("params is empty: there is no entry to check")
    with preserve_rng() as saved:
        copy = unflatten(treedef, [x.copy() for x in leaves])
        out_names, first, out_tree = _first_output(fn, copy)
        layout = Layout(
            names,
            [x.shape for x in leaves],
            [x.dtype for x in leaves],
            treedef,
            out_names,
            [x.shape for x in first],
            [x.dtype for x in first],
            out_tree,
        )
        if layout.m == 0:
            raise GradcheckError("fn returned no values: there is no output to check")
        _distinct_blocks(layout)
        forms = Forms(layout, leaves, jacobian, vjp, jvp, rng=saved)
        run_mode = resolve_mode(opts.mode, layout.n, layout.m)
        jo.fits_mode(opts, run_mode, layout)
        options_record = jo.record(opts, run_mode, forms.given)
        flat_first = np.concatenate([np.asarray(x, dtype=np.float64).reshape(-1) for x in first])
        if run_mode == "directional":
            return projected(fn, params, forms, opts, options_record, start, flat_first, saved)
        ev = VectorEvaluator(
            fn, treedef, leaves, names, saved, progress=opts.progress, size=layout.m
        )
        f0 = ev([()])[0]
        if not np.array_equal(f0, flat_first):
            agree = consistency(forms, opts.seed, outputs=flat_first)
            return rep.not_deterministic(
                layout, forms.given, agree, ev.count + 1, start, options_record
            )
        out_roundoff = output_roundoff(layout.out_dtypes, layout.out_shapes)
        floor = noise_floor(leaves, f0, out_roundoff)

        def measure() -> Array:
            return block_noise(ev, leaves, f0, out_roundoff, opts.seed)

        setting = Setting(
            opts.method,
            opts.eps,
            opts.rtol,
            opts.atol,
            opts.rtol is not None or opts.atol is not None,
        )
        claimed = [forms.matrix(f) for f in forms.given]
        along = Linear.of([nm in linear for nm in names], leaves)
        # a Hessian's rows are one gradient's entries: judged on their block's scale
        blocks = np.repeat(np.arange(len(first)), [x.size for x in first])
        grids, sigma = entrywise(
            ev,
            setting,
            leaves,
            claimed,
            f0,
            floor,
            out_roundoff,
            measure,
            along,
            blocks if caller == "check_hessian" else None,
        )
        agree = consistency(forms, opts.seed, outputs=f0)
        unresolved = frozenset(
            f for f, g in zip(forms.given, grids) if np.any(g.status == "uncertain")
        )
        # reported only when a form is not linear (docs/jacobians.md)
        agree += [
            c
            for c in linearity(forms, dict(zip(forms.given, claimed)), opts.seed, unresolved)
            if c.wrong
        ]
    return rep.entrywise_report(
        layout,
        forms.given,
        claimed,
        grids,
        agree,
        ev.count + 1,
        start,
        options_record,
        sigma,
        diagnose,
    )


def _distinct_blocks(layout: Layout) -> None:
    """Raise unless every block's name ``"out / param"`` is its own: the report keys its
    results by name, and two blocks of one name would leave one of them unreported."""
    seen: dict[str, tuple[str, str]] = {}
    for out in layout.out_names:
        for param in layout.in_names:
            name = f"{out} / {param}"
            if name in seen:
                raise GradcheckError(
                    f"the block names collide: output {seen[name][0]!r} with parameter "
                    f"{seen[name][1]!r} and output {out!r} with parameter {param!r} are both "
                    f"{name!r} in the report; rename a parameter or an output so that no "
                    "name contains ' / '"
                )
            seen[name] = (out, param)
