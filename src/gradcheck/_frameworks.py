"""What the PyTorch and JAX adapters share: precision, tolerance, batching, reporting.

Precision. By default the adapters compute the *numerical* side in float64 (a float64
copy of the model, or JAX's x64 mode) while the *analytic* gradient is what the
framework computes in the user's own dtype. The finite differences are then accurate
to about 1e-10 and the only error left is the analytic gradient's own round-off: a
float32 backward pass is good to a few hundred units of float32 round-off relative to
the gradient's scale (``n`` terms summed in float32 carry errors up to ``n · u``, and
``√n · u`` typically, Higham, *Accuracy and Stability of Numerical Algorithms*, §4.2).
:data:`ANALYTIC_RTOL` is that bound with a margin: it is passed to the engine as
``rtol`` (the fixed rule ``|a − D| ≤ rtol · (scale + |a|)`` of ``gradcheck._compare``,
``scale`` the parameter's largest gradient entry). For float32 it is ``1e-4``: ten
times tighter than the engine's float32 default (``1e-3``, which must also absorb
float32 finite-difference error) and than ``torch.autograd.gradcheck``'s ``rtol``.
A float64 model is checked by the engine's own error-estimate rule. ``precision=
"model"`` keeps everything in the model's dtype and uses the engine's defaults.

>>> analytic_rtol("float32"), analytic_rtol("float64")
(0.0001, None)
>>> agrees(1.0000001, 1.0)
True
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from gradcheck._engine import check
from gradcheck._errors import GradcheckError
from gradcheck._evaluate import GlobalRng
from gradcheck._report import Report

__all__ = [
    "ANALYTIC_RTOL",
    "ATOL_ROUNDOFFS",
    "CONSISTENT",
    "PRECISIONS",
    "agrees",
    "analytic_rtol",
    "check_precision",
    "engine_batches",
    "first_value",
    "probe_batched",
    "run_check",
]

#: ``precision`` values: ``"float64"`` (numerical side in float64, the default) or
#: ``"model"`` (everything in the model's own dtype).
PRECISIONS = ("float64", "model")
#: ``rtol`` for an analytic gradient computed in a low-precision dtype against float64
#: finite differences (see the module doc): about 840 float32 round-offs; for the half
#: types about 10 round-offs, all their few significant bits allow.
ANALYTIC_RTOL = {"float32": 1e-4, "float16": 1e-2, "bfloat16": 6e-2}
#: ``atol`` is this many round-offs of the analytic dtype times the largest analytic
#: gradient entry of any parameter: the floor of a low-precision backward pass, whose
#: errors scale with the terms it sums, not with the result. A gradient that is zero
#: in exact arithmetic (a bias just before a BatchNorm) comes out of float32 autograd as
#: about ``±u ×`` that scale; 100 round-offs leave a wide margin.
ATOL_ROUNDOFFS = 100.0
_UNIT = {"float32": 2.0**-23, "float16": 2.0**-10, "bfloat16": 2.0**-7}
#: The float64 copy must compute the same loss as the model to this relative accuracy
#: (a float32 forward pass of a small model is good to ~1e-6); a larger difference
#: means the copy is not the same function (dtype-dependent code or randomness), and
#: the check falls back to the model's dtype rather than compare two functions.
CONSISTENT = 1e-3


def check_precision(precision: object) -> str:
    """Return ``precision`` if it is known, else raise naming the valid ones."""
    if precision not in PRECISIONS:
        raise GradcheckError(
            f"unknown precision {precision!r}: choose one of {', '.join(map(repr, PRECISIONS))}"
        )
    return str(precision)


def analytic_rtol(dtype: str) -> float | None:
    """The ``rtol`` for an analytic gradient of ``dtype`` (``None``: engine default)."""
    return ANALYTIC_RTOL.get(dtype)


def agrees(user: float, numeric: float) -> bool:
    """Whether the numeric side's loss is the user's loss (see :data:`CONSISTENT`)."""
    return abs(user - numeric) <= CONSISTENT * max(abs(user), abs(numeric), 1e-300)


def engine_batches() -> bool:
    """Whether :func:`gradcheck.check` takes the ``batched=`` keyword."""
    return "batched" in inspect.signature(check).parameters


def first_value(cost: Callable[[Any], Any], params: Any, rng: GlobalRng) -> float:
    """``cost(params)`` from the user's saved RNG states; NaN if it raises.

    The engine reports a raising cost itself, naming the evaluation.
    """
    rng.reset()
    try:
        return float(cost(params))
    except Exception:
        return float("nan")


def probe_batched(
    batched: Callable[[Any], Any], stacked: Any, value: float, u: float, rng: GlobalRng
) -> str | None:
    """Try ``batched`` on a stack of two unperturbed points; ``None`` when usable.

    Like every call of the user's code, it starts from the user's saved global RNG
    states (``rng``), as the engine's evaluations do.

    Returns why it cannot be used otherwise: it raised or warned (no batching rule,
    a BatchNorm in train mode writing its statistics, data-dependent control flow),
    or it disagrees with the serial evaluation by more than ``1000 u`` relative.
    """
    if not np.isfinite(value):
        return "no value"
    rng.reset()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = np.asarray(batched(stacked), dtype=np.float64).reshape(-1)
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    if out.shape != (2,) or not np.all(np.abs(out - value) <= 1e3 * u * max(abs(value), 1e-300)):
        return f"batched values {out.tolist()} differ from the serial value {value!r}"
    return None


def run_check(
    cost: Callable[[Any], Any],
    params: Any,
    grad: Any,
    *,
    precision: str,
    user_dtype: str,
    batched: Callable[[Any], Any] | None,
    notes: list[str],
    options: dict[str, Any],
    rng: GlobalRng,
) -> Report:
    """Run the engine with the adapter's tolerance and batching; annotate the report.

    Args:
        cost, params, grad: as for :func:`gradcheck.check` (NumPy arrays).
        precision: the precision actually used (``"float64"`` or ``"model"``).
        user_dtype: the dtype the analytic gradient was computed in.
        batched: a vectorised cost, or ``None``.
        notes: messages to add to the report (fallbacks taken).
        options: the user's other options, forwarded to the engine.
        rng: the user's global RNG states saved on entry to the adapter; they are put
            back before the engine saves them, so the engine's evaluations draw what
            the analytic pass drew.
    """
    opts = dict(options)
    rtol = analytic_rtol(user_dtype) if precision == "float64" else None
    tolerance = "engine default"
    if rtol is not None and opts.get("rtol") is None and opts.get("atol") is None:
        scale = max((float(np.max(np.abs(g), initial=0.0)) for g in grad.values()), default=0.0)
        opts["rtol"], opts["atol"] = rtol, ATOL_ROUNDOFFS * _UNIT[user_dtype] * scale
        tolerance = (
            f"rtol={rtol:g}, atol={opts['atol']:.3g} ({ATOL_ROUNDOFFS:g} {user_dtype} "
            f"round-offs of the largest gradient entry) for a {user_dtype} analytic gradient"
        )
    if batched is not None and engine_batches() and "executor" not in opts:
        opts["batched"] = batched
    else:
        batched = None
    rng.reset()
    report = check(cost, params, grad, **opts)
    numeric = "float64" if precision == "float64" else user_dtype
    notes = [
        *notes,
        f"analytic gradient in {user_dtype}, finite differences in {numeric} "
        f"(precision={precision!r}); tolerance: {tolerance}",
    ]
    info = {
        "precision": precision,
        "analytic_dtype": user_dtype,
        "numeric_dtype": numeric,
        "vectorised": batched is not None,
    }
    return replace(
        report, options={**report.options, **info}, messages=(*report.messages, *notes)
    )
