"""Where JAX cannot differentiate a function in reverse mode at all (attack24 F3).

JAX transposes a ``lax.while_loop`` (and a ``lax.fori_loop`` with traced bounds) in
no way: ``jax.vjp`` linearises it and its pullback raises ``ValueError: Reverse-mode
differentiation does not work for lax.while_loop ...``, while forward mode runs. That
is no bug of the function's rules, so ``gradcheck.jax.check_function`` at its default
``modes`` (what the function supports) checks forward mode only, with a note, as the
torch adapter does for a function torch cannot run under forward AD (attack23 D4).
``gradcheck.jax.check`` needs ``jax.grad`` and says so, naming the remedy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from gradcheck._adapters import Mode, NoForward
from gradcheck._errors import GradcheckError

__all__ = [
    "FORWARD_REMEDY",
    "NO_REVERSE",
    "REVERSIBLE",
    "ForwardOnly",
    "no_reverse",
    "reverse_error",
    "without_reverse",
]

#: What JAX raises where it cannot run reverse mode on a function (jax 0.4 to 0.10:
#: the transpose rule of ``lax.while_loop``, ``loops._while_transpose_error``).
NO_REVERSE = ("Reverse-mode differentiation does not work",)
#: What checks such a function instead, for the error where reverse mode is asked for.
REVERSIBLE = "write the loop with lax.scan or a lax.fori_loop with static bounds"
FORWARD_REMEDY = f"check forward mode with modes=('fwd',) (or {REVERSIBLE}, which JAX reverses)"


def no_reverse(exc: BaseException) -> bool:
    """Whether ``exc`` is JAX saying that it cannot run reverse mode on the function."""
    return any(part in str(exc) for part in NO_REVERSE)


def reverse_error(pullback: Callable[[], Any]) -> str | None:
    """What one reverse pass (``pullback()``) raised where JAX cannot run reverse mode,
    else ``None`` (other exceptions are the checks' to report, by name)."""
    try:
        pullback()
    except Exception as exc:
        if no_reverse(exc):
            return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return None


class ForwardOnly(NamedTuple):
    """What :func:`without_reverse` chose: the modes to check (forward only) and the
    report's notes saying why (none where ``modes=("fwd",)`` was asked for)."""

    modes: tuple[Mode, ...]
    notes: list[str]


def without_reverse(
    wanted: tuple[Mode, ...] | None, why: str, forward: Callable[[], NoForward | None]
) -> ForwardOnly:
    """The modes to check where JAX cannot run reverse mode, forward mode only, and
    the report's note saying why.

    Args:
        wanted: the checked ``modes`` option (``None``: not given).
        why: what the reverse pass raised (:func:`reverse_error`).
        forward: why forward mode does not run either (``None``: it runs); one JVP.

    Raises:
        GradcheckError: ``"rev"`` asked for, or forward mode does not run either.
    """
    cause = f"JAX cannot differentiate fn in reverse mode: its VJP raised {why.rstrip('.')}"
    if wanted is not None and "rev" in wanted:
        raise GradcheckError(
            f"modes={wanted!r} asks for reverse mode, but {cause}; {FORWARD_REMEDY}"
        )
    probe = forward()
    if probe is not None:
        raise GradcheckError(
            f"fn cannot be checked in either mode: {cause}, and its JVP (jax.jvp) raised "
            f"{probe.error.rstrip('.')}"
        )
    note = f"reverse mode not checked: {cause} (modes defaults to what fn supports: ('fwd',))"
    return ForwardOnly(("fwd",), [] if wanted else [note])
