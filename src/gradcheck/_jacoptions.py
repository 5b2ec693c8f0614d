"""The options of ``check_jacobian``: validated, checked against the mode that runs,
and recorded in the report."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from gradcheck._complex import check_convention
from gradcheck._errors import GradcheckError
from gradcheck._inputs import check_options, check_run_options
from gradcheck._layout import Layout
from gradcheck._modes import (
    MODE_TYPES,
    Directional,
    ModeKeywords,
    ModeName,
    Sample,
    mode_object,
    with_keywords,
)
from gradcheck._options import NAMES
from gradcheck._steps import check_method

__all__ = ["NOT_APPLICABLE", "Options", "Request", "fits_mode", "options", "record"]

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


class Request(NamedTuple):
    """One Jacobian check as asked: ``fn``, the parameters, the derivative's forms
    (``None`` where not given), the user's options, the caller that errors name
    (``check_jacobian`` or ``check_hessian``), and the parameters ``fn`` is linear in
    by construction (a backward's cotangents: ``gradcheck._jaclinear``)."""

    fn: Callable[[Any], Any]
    params: Any
    jacobian: Any
    vjp: Callable[[Any, Any], Any] | None
    jvp: Callable[[Any, Any], Any] | None
    options: dict[str, Any]
    caller: str
    linear: frozenset[str] = frozenset()


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


def options(given: dict[str, Any], caller: str = "check_jacobian") -> Options:
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


def fits_mode(opts: Options, run_mode: str, layout: Layout) -> None:
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


def record(opts: Options, run_mode: str, given: tuple[str, ...]) -> dict[str, Any]:
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
