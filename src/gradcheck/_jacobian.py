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

import time
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from gradcheck import _jacreport as rep
from gradcheck._complex import check_convention
from gradcheck._consistency import consistency, linearity
from gradcheck._errors import GradcheckError
from gradcheck._evaluate import preserve_rng
from gradcheck._inputs import check_options, check_run_options, check_target, private_copy
from gradcheck._jac_complex import ComplexOutputs, complex_check, has_complex
from gradcheck._jacdiag import diagnose_block
from gradcheck._jacgrid import (
    Setting,
    VectorEvaluator,
    block_noise,
    entrywise,
    output_roundoff,
)
from gradcheck._jacproj import projected
from gradcheck._linear import Forms, Layout, output_layout
from gradcheck._modes import (
    AUTO_FULL_MAX,
    MODE_TYPES,
    Directional,
    ModeKeywords,
    ModeName,
    Sample,
    mode_object,
    with_keywords,
)
from gradcheck._numerics import check_method
from gradcheck._options import NAMES
from gradcheck._pytree import flatten, unflatten
from gradcheck._report import Report

__all__ = ["FULL_ENTRIES_MAX", "check_jacobian", "jacobian_check", "resolve_mode"]

Array = np.ndarray[Any, Any]
#: ``mode="auto"`` checks entry by entry up to this many Jacobian entries (and
#: ``n ≤ AUTO_FULL_MAX`` inputs, as ``check``): the finite-difference Jacobian is kept
#: in memory with each entry's comparison, about 220 bytes per entry with one form (a
#: 973 MB peak at 2²² entries, n = 4096, m = 1024), and every row is compared.
FULL_ENTRIES_MAX = 2**22
#: ``check``'s options that have no meaning here, and why (``None``, their default,
#: is accepted).
NOT_APPLICABLE = {
    "sample": "every entry or random projections are checked, never a sample",
    "execution": "fn is called once per point, in this process",
    "batched": "fn is called once per point (a batched fn is not supported here)",
    "executor": "fn is called in this process",
    "memory_budget": "there is no batched evaluation here",
}
_METHODS = ("central", "forward", "richardson")
_MODES = ("auto", "full", "directional")


class Options(NamedTuple):
    """The options of one Jacobian check, validated.

    ``mode`` is the name of the mode chosen (``auto`` resolves once the output's size
    is known: :func:`resolve_mode`); ``localise``, ``budget`` and ``miss_probability``
    are the projections' (from ``mode=Directional(...)`` or the older keywords), and
    ``given`` names the older keywords given, which the report records.
    """

    method: Any
    eps: float | None
    rtol: float | None
    atol: float | None
    mode: ModeName
    seed: int
    progress: Callable[[int, int], None] | None
    localise: bool
    budget: int
    miss_probability: float
    given: tuple[str, ...] = ()


def _options(given: dict[str, Any], caller: str = "check_jacobian") -> Options:
    """The options, validated; errors name ``caller`` (the public function called)."""
    for name, value in given.items():
        if name in NOT_APPLICABLE and value is not None:
            raise GradcheckError(
                f"option {name!r} does not apply to {caller}: {NOT_APPLICABLE[name]}; leave it out"
            )
        if name not in NAMES:
            raise GradcheckError(
                f"unknown option {name!r} for {caller}: choose from "
                f"{', '.join(n for n in NAMES if n not in NOT_APPLICABLE)}"
            )
    check_convention(given.get("complex_convention") or "conjugate")
    method = check_method(given.get("method", "central"))
    if method not in _METHODS:
        why = (
            " (the complex step perturbs along the imaginary axis, which complex "
            "parameters and outputs use for their imaginary parts)"
            if method == "complex" and caller == "check_jacobian"
            else ""
        )
        raise GradcheckError(
            f"method={method!r} does not apply to {caller}{why}: choose one of "
            f"{', '.join(map(repr, _METHODS))}"
        )
    eps, rtol, atol = (given.get(k) for k in ("eps", "rtol", "atol"))
    check_options(eps, rtol, atol)
    mode = given.get("mode", "auto")
    named = mode in _MODES if isinstance(mode, str) else isinstance(mode, MODE_TYPES)
    choices = (
        "choose 'auto', 'full' (every entry) or 'directional' (random projections), or a "
        "mode object: Full(), Directional(miss_probability=1e-3, budget=400), Auto()"
    )
    if isinstance(mode, Sample) or (isinstance(mode, str) and mode == "sample"):
        raise GradcheckError(
            f"mode={mode!r} does not apply to {caller}: a sample of entries would leave "
            f"most of the matrix unchecked without a stated guarantee; {choices}"
        )
    if not named:
        raise GradcheckError(f"unknown mode {mode!r} for {caller}: {choices}")
    keywords = ModeKeywords(
        None, given.get("miss_probability"), given.get("budget"), given.get("localise")
    )
    seed, progress = given.get("seed", 0), given.get("progress")
    # every option, whatever the mode (a bad value is a mistake even where it is unused)
    check_run_options(seed=seed, progress=progress, keywords=keywords)
    # a keyword must apply to the mode chosen (under auto: if it resolves to projections)
    projections = with_keywords(mode, Directional(), keywords)
    d = projections if isinstance(projections, Directional) else Directional()
    return Options(
        method=method,
        eps=eps,
        rtol=rtol,
        atol=atol,
        mode=mode_object(mode).name,
        seed=seed,
        progress=progress,
        localise=d.localise,
        budget=d.budget,
        miss_probability=d.miss_probability,
        given=tuple(keywords.given()),
    )


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


def _first_output(fn: Callable[[Any], Any], params: Any) -> tuple[list[str], list[Array], Any]:
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
    names, arrays, treedef = output_layout(value, "fn")
    for name, arr in zip(names, arrays):
        flat = np.asarray(arr, dtype=np.float64).reshape(-1)
        bad = np.flatnonzero(~np.isfinite(flat))
        if bad.size:
            raise GradcheckError(
                f"fn returned {flat[bad[0]]} in output {name!r} at the parameters given: "
                "check at a point where every output is finite"
            )
    return names, arrays, treedef


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
) -> Report:
    """:func:`check_jacobian`, whose option errors name ``caller``; a problem with
    complex parameters or outputs is checked on its real views (``gradcheck._jac_complex``)."""

    def real(
        fn: Any, params: Any, jacobian: Any, vjp: Any, jvp: Any, options: Any, **how: Any
    ) -> Report:
        return _real_check(fn, params, jacobian, vjp, jvp, options, caller, **how)

    forms = (jacobian, vjp, jvp)
    complex_ok = caller == "check_jacobian"  # check_hessian: real parameters only
    if complex_ok and params is not None and callable(fn) and has_complex(params):
        _options(options, caller)
        _forms_given(*forms)
        return complex_check(real, fn, params, forms, options)
    try:
        return real(fn, params, jacobian, vjp, jvp, options)
    except ComplexOutputs as found:
        if not complex_ok:
            output_layout(found.value, "fn")  # raises, naming the complex output
        return complex_check(real, fn, params, forms, options, found.value)


def _real_check(
    fn: Callable[[Any], Any],
    params: Any,
    jacobian: Any,
    vjp: Callable[[Any, Any], Any] | None,
    jvp: Callable[[Any, Any], Any] | None,
    options: dict[str, Any],
    caller: str,
    diagnose: rep.BlockDiagnosis = diagnose_block,
) -> Report:
    """The check of real parameters and outputs (``diagnose`` names a failed block's
    mistake in entrywise mode)."""
    start = time.perf_counter()
    opts = _options(options, caller)
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
        _fits_mode(opts, run_mode, layout)
        options_record = _record(opts, run_mode, forms.given)
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
        sigma = block_noise(
            ev, leaves, f0, output_roundoff(layout.out_dtypes, layout.out_shapes), opts.seed
        )
        setting = Setting(
            opts.method,
            opts.eps,
            opts.rtol,
            opts.atol,
            opts.rtol is not None or opts.atol is not None,
        )
        claimed = [forms.matrix(f) for f in forms.given]
        grids = entrywise(ev, setting, leaves, claimed, f0, sigma, layout.out_dtypes)
        agree = consistency(forms, opts.seed, outputs=f0)
        # reported only when a form is not linear (docs/jacobians.md)
        agree += [
            c for c in linearity(forms, dict(zip(forms.given, claimed)), opts.seed) if c.wrong
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


def _fits_mode(opts: Options, run_mode: str, layout: Layout) -> None:
    """Raise for an option the projections do not use: they choose their own steps and
    tolerances (``gradcheck._directional``)."""
    if run_mode != "directional":
        return
    given = [
        name
        for name, unused in (
            ("eps", opts.eps is not None),
            ("atol", opts.atol is not None),
            ("method", opts.method != "central"),
        )
        if unused
    ]
    if given:
        why = "" if opts.mode == "directional" else f" (n = {layout.n}, m = {layout.m})"
        raise GradcheckError(
            f"option {given[0]!r} does not apply to this check: it runs by random "
            f"projections{why}, which choose their own steps and tolerances; leave it out, "
            "or pass mode='full' to check entry by entry"
        )


def _directional_record(opts: Options, run_mode: str) -> dict[str, Any]:
    """The projections' options, when they run or were given (under ``auto``)."""
    record = {
        "miss_probability": float(opts.miss_probability),
        "budget": int(opts.budget),
        "localise": bool(opts.localise),
    }
    return {k: v for k, v in record.items() if run_mode == "directional" or k in opts.given}


def _record(opts: Options, run_mode: str, given: tuple[str, ...]) -> dict[str, Any]:
    """The options a report records."""
    fixed = opts.rtol is not None or opts.atol is not None
    return {
        "method": opts.method,
        "eps": opts.eps,
        "rtol": opts.rtol,
        "atol": opts.atol,
        "mode": opts.mode,
        "seed": opts.seed,
        "resolved_mode": run_mode,
        **_directional_record(opts, run_mode),
        "forms": list(given),
        "step_rule": "given" if opts.eps is not None else "u^(1/(p+1)) * max(|θ|, rms(θ))",
        "tolerance_rule": "fixed" if fixed else "estimate",
    }
