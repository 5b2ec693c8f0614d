"""Validating what the user hands to a check: parameters, gradient and options.

Every error names the offending parameter or option and says what to do (see
``docs/reliability.md``). The user's gradient function runs here, inside
:func:`~gradcheck._evaluate.preserve_rng`: it sees the global random generators as
every cost evaluation does, and leaves them as they were.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from gradcheck._errors import GradcheckError
from gradcheck._errstate import user_errors
from gradcheck._evaluate import preserve_rng
from gradcheck._modes import DIRECTIONAL_OPTIONS, ModeKeywords, sample_error
from gradcheck._pytree import GradientShapeError, flatten, match_gradient, unflatten

__all__ = [
    "Gradient",
    "analytic_gradient",
    "check_options",
    "check_run_options",
    "check_target",
    "private_copy",
]

Array = np.ndarray[Any, Any]


class _NonFiniteAt(NamedTuple):
    """A NaN or inf and its index."""

    value: Any
    at: tuple[int, ...]


def _first_non_finite(arr: Array) -> _NonFiniteAt | None:
    """The first NaN or inf of ``arr`` and its index, or None when all are finite.

    A finite sum proves every entry finite without an N-long mask (the common case);
    only a non-finite sum (or an overflow) looks entry by entry.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.sum(arr)) or np.all(np.isfinite(arr)):
            return None
    i = int(np.flatnonzero(~np.isfinite(arr))[0])
    return _NonFiniteAt(arr.reshape(-1)[i], tuple(int(t) for t in np.unravel_index(i, arr.shape)))


def _framework_tensor(name: str, leaf: Any) -> GradcheckError:
    """The error for a torch (or other framework) tensor passed to the NumPy core."""
    if type(leaf).__module__.split(".")[0] == "torch":
        return GradcheckError(
            f"parameter {name!r} is a torch tensor: check torch code with "
            "gradcheck.torch.check_module(model, loss_fn) or "
            "gradcheck.torch.check_function(fn, *inputs), or pass NumPy arrays "
            "(tensor.detach().cpu().numpy()) to gradcheck.check"
        )
    return GradcheckError(
        f"parameter {name!r} is a framework tensor ({type(leaf).__name__}): use "
        "gradcheck.torch or gradcheck.jax, or pass NumPy arrays"
    )


def _check_magnitude(name: str, arr: Array) -> None:
    """Raise when the parameter is so large that θ ± h overflows.

    The automatic step is at most ``u^(1/7)`` ≈ 6e-3 of an entry's scale (its RMS is
    computed without overflow, ``gradcheck._norms.rms_of``), so θ ± h stays finite
    for entries below half the dtype's largest value.
    """
    flat = arr.reshape(-1)
    if not flat.size:
        return
    if flat.dtype.kind == "f":  # the largest magnitude without an N-long temporary
        top = max(float(np.max(flat)), -float(np.min(flat)))
    else:
        top = float(np.max(np.abs(flat, dtype=np.float64)))
    if top < float(np.finfo(arr.dtype).max) / 2:
        return
    mag = np.abs(flat, dtype=np.float64)
    i = tuple(int(t) for t in np.unravel_index(int(np.argmax(mag)), arr.shape))
    raise GradcheckError(
        f"parameter {name!r} has entries as large as {top:.3g} (index {i}), over half "
        f"the largest {arr.dtype} number: θ ± h would overflow, so no check is possible; "
        "this is not the cost's fault. Rescale: check the cost as a function of θ/s "
        "for a scale s (and the gradient times s)"
    )


def private_copy(name: str, leaf: Any, complex_step: bool) -> Array:
    """A fresh contiguous float copy of one parameter, or an error naming it."""
    if hasattr(leaf, "detach"):
        raise _framework_tensor(name, leaf)
    arr = np.asarray(leaf)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        raise GradcheckError(
            f"parameter {name!r} has dtype {arr.dtype}; gradients need floating-point arrays"
        )
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise GradcheckError(
            f"parameter {name!r} has complex dtype {arr.dtype}: gradcheck.check accepts "
            "complex parameters, but this check does not (a cast to float would drop the "
            "imaginary part). Split it into its real and imaginary parts, two real "
            "parameters, and rebuild z = re + 1j·im inside the function"
        )
    if not np.issubdtype(arr.dtype, np.floating):
        raise GradcheckError(
            f"parameter {name!r} has integer dtype {arr.dtype}; gradients need real "
            f"floating-point parameters (convert with .astype(float))"
        )
    bad = _first_non_finite(arr)
    if bad is not None:
        raise GradcheckError(f"parameter {name!r} has a non-finite value at index {bad.at}")
    _check_magnitude(name, arr)
    if complex_step:
        return np.array(arr, dtype=np.result_type(arr.dtype, np.complex64), order="C")
    return np.array(arr, order="C", copy=True)


def _call_grad(grad: Callable[[Any], Any], params: Any) -> Any:
    """``grad`` at a private copy of ``params``, inside the saved-and-restored RNGs.

    It sees the global NumPy and ``random`` states as they are now, which is what the
    first cost evaluation sees; afterwards both are put back, also when it raises or
    is interrupted.
    """
    _, leaves, treedef = flatten(params)
    copy = unflatten(treedef, [np.array(x, copy=True) for x in leaves])
    with preserve_rng():
        try:
            with user_errors():
                return grad(copy)
        except GradcheckError:
            raise  # already names what is wrong (a complex gradient's shape, say)
        except Exception as exc:
            raise GradcheckError(f"grad function raised {type(exc).__name__}: {exc}") from exc


def _cost_shape(cost: Callable[[Any], Any], params: Any) -> tuple[int, ...] | None:
    """The shape of the cost's value at a copy of ``params``; None if it raises."""
    _, leaves, treedef = flatten(params)
    copy = unflatten(treedef, [np.array(x, copy=True) for x in leaves])
    with preserve_rng():
        try:
            value = cost(copy)
        except Exception:
            return None
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return tuple(np.shape(value))


def _matched(grad: Any, params: Any, cost: Callable[[Any], Any] | None) -> Gradient:
    """``match_gradient``; a Jacobian given for a vector-valued cost is named as such."""
    notes: list[str] = []
    try:
        values = match_gradient(params, grad, notes)
    except GradientShapeError as exc:
        shape = _cost_shape(cost, params) if exc.jacobian and cost is not None else None
        if shape is None or int(np.prod(shape)) == 1:
            raise GradcheckError(str(exc)) from None
        raise GradcheckError(
            f"the cost must return a scalar, but it returned shape {shape}, and the gradient "
            f"for {exc.name!r} has shape {exc.shape}: a Jacobian. gradcheck checks the "
            "gradient of one number: to check a Jacobian, use "
            "gradcheck.check_jacobian(fn, params, jacobian) (or its vjp=/jvp= forms); to "
            "check a gradient, reduce the cost to that scalar (sum, mean, or a dot with a "
            "fixed vector)"
        ) from None
    return Gradient(values, tuple(notes))


class NonFiniteEntry(NamedTuple):
    """A NaN or infinite entry of the supplied gradient.

    Attributes:
        parameter: the parameter's name.
        at: the entry's index in the parameter's shape.
        flat: the entry's flat index.
        value: the NaN or inf.
    """

    parameter: str
    at: tuple[int, ...]
    flat: int
    value: float


class Gradient(NamedTuple):
    """The supplied gradient, read.

    Attributes:
        values: float64 arrays in parameter order, each shaped like its parameter.
        notes: what the reader should know about how it was read (ignored keys).
        non_finite: the NaN or infinite entries, where they are allowed; their
            ``values`` are 0 (a placeholder the check never passes: attack23 D3).
    """

    values: list[Array]
    notes: tuple[str, ...] = ()
    non_finite: tuple[NonFiniteEntry, ...] = ()


def analytic_gradient(
    grad: Any,
    params: Any,
    names: Sequence[str],
    cost: Callable[[Any], Any] | None = None,
    *,
    non_finite_ok: bool = False,
) -> Gradient:
    """The supplied gradient, flattened in parameter order and validated.

    A callable ``grad`` is called on a private copy of ``params`` (see
    :func:`_call_grad`). ``cost``, when given, tells a Jacobian passed for a
    vector-valued cost from a plain shape mistake. A NaN or infinite entry is an error,
    unless ``non_finite_ok``: then it is listed in :attr:`Gradient.non_finite` (the
    check's verdict fails it where the cost is finite) and read as 0.
    """
    if callable(grad):
        grad = _call_grad(grad, params)
    matched = _matched(grad, params, cost)
    out, non_finite = [], []
    for name, g in zip(names, matched.values):
        if hasattr(g, "detach"):
            g = g.detach().cpu().numpy()
        g = np.asarray(g)
        if not (np.issubdtype(g.dtype, np.floating) or np.issubdtype(g.dtype, np.integer)):
            raise GradcheckError(f"gradient for {name!r} has unsupported dtype {g.dtype}")
        g = np.asarray(g, dtype=np.float64)  # read only: no copy when already float64
        bad = _first_non_finite(g)
        if bad is not None and not non_finite_ok:
            raise GradcheckError(
                f"gradient for {name!r} has a non-finite value {bad.value} at index {bad.at}"
            )
        if bad is not None:
            where = np.flatnonzero(~np.isfinite(g))
            for i in where.tolist():
                at = tuple(int(t) for t in np.unravel_index(i, g.shape))
                non_finite.append(NonFiniteEntry(name, at, i, float(g.reshape(-1)[i])))
            g = np.where(np.isfinite(g), g, 0.0)
        out.append(g)
    return Gradient(out, matched.notes, tuple(non_finite))


def check_target(cost: Any, params: Any) -> None:
    """Raise unless ``cost`` is callable and ``params`` is given."""
    if not callable(cost):
        raise GradcheckError(
            f"cost must be a function of the parameters, got a {type(cost).__name__}"
        )
    if params is None:
        raise GradcheckError("params is None: pass an array, or a dict / list / tuple of arrays")


def _is_real(value: Any) -> bool:
    """A real number: Python or NumPy int or float, not a bool."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_options(eps: float | None, rtol: float | None, atol: float | None) -> None:
    """Raise unless the step and the tolerances are finite, eps positive, tolerances >= 0."""
    for opt, val in (("eps", eps), ("rtol", rtol), ("atol", atol)):
        if val is not None and not (_is_real(val) and np.isfinite(val)):
            raise GradcheckError(f"option {opt}={val!r} must be a finite number or None")
    if eps is not None and eps <= 0:
        raise GradcheckError(f"option eps={eps!r} must be positive")
    tiny = float(np.finfo(np.float64).tiny)
    if eps is not None and eps < tiny:  # subnormal: h/4 is 0 and (J+ − J−)/h overflows
        raise GradcheckError(
            f"option eps={eps!r} is below the smallest normal float64 ({tiny:.3g}), where "
            "steps lose their digits: choose eps >= 1e-300, or leave eps=None"
        )
    for opt, val in (("rtol", rtol), ("atol", atol)):
        if val is not None and val < 0:
            raise GradcheckError(f"option {opt}={val!r} must not be negative")


def check_run_options(*, seed: Any, progress: Any, keywords: ModeKeywords) -> None:
    """Raise, naming the option and what it takes, unless every run option is valid.

    The older mode keywords (``keywords``) are validated where given, before
    :func:`gradcheck._modes.resolve_mode` refuses one that does not apply: a bad value
    is named for what is wrong with it.
    """
    if not (_is_int(seed) and seed >= 0):
        raise GradcheckError(
            f"option seed={seed!r} must be a non-negative integer: it seeds gradcheck's "
            "private generator (noise probe, sampled entries, directions), so that the "
            "same seed repeats the check; the default is 0"
        )
    if progress is not None and not callable(progress):
        raise GradcheckError(
            f"option progress={progress!r} must be a function progress(done, planned), or None"
        )
    for option, value in keywords.given().items():
        why = sample_error(value) if option == "sample" else DIRECTIONAL_OPTIONS[option](value)
        if why:
            raise GradcheckError(f"option {option}={value!r}{why}")
