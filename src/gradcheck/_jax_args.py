"""What ``gradcheck.jax`` takes: pytree arguments, and complex leaves in JAX's convention.

``check_function(fn, *args)`` checks every real or complex floating leaf of its
arguments, each of which may be a pytree (a dict of parameters is the normal way to
pass JAX parameters, F32): :class:`Arguments` flattens them with their key paths and
names each leaf ``input0`` (a plain array) or ``input0.w`` (entry ``"w"`` of a dict),
as the core names pytree leaves; other leaves (integers, strings) are held fixed.

A complex leaf's gradient is what ``jax.grad`` and ``jax.vjp`` return, ``∂L/∂x − i ∂L/∂y``
(the core's ``complex_convention="plain"``; ``gradcheck._adapter_complex``).
:func:`forward_gradient` builds the same gradient from JVPs, which ``jax.jacfwd``
refuses to do for complex inputs; :func:`fold` is the real scalar of a complex output
whose gradient ``jax.vjp`` computes with the cotangent ``w``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gradcheck._adapter_complex import real_dtype
from gradcheck._errors import GradcheckError
from gradcheck._jax_forward import jvp_gradient
from gradcheck._pytree import PathEntry, unique_names

__all__ = [
    "Arguments",
    "arguments",
    "check_inexact",
    "eps",
    "fold",
    "forward_gradient",
    "is_inexact",
    "least_precise",
    "like",
    "path_entry",
    "value_of",
]

#: ``check``'s error for a pytree JAX cannot flatten (``{what}``: what it was given).
UNFLATTENABLE = (
    "JAX cannot flatten {what} ({error}); a dict whose keys JAX cannot sort (1 and '1' "
    "together, say) needs keys of one type"
)


def path_entry(k: Any) -> PathEntry:
    """One JAX key-path entry as the core's :class:`~gradcheck._pytree.PathEntry`."""
    if hasattr(k, "idx"):
        return PathEntry(k.idx, position=True)
    for attr in ("key", "name"):
        if hasattr(k, attr):
            return PathEntry(getattr(k, attr))
    return PathEntry(str(k))


def is_inexact(x: Any) -> bool:
    """Whether ``x`` is a real or complex floating array or number (what is checked)."""
    try:
        dtype = jnp.asarray(x).dtype
    except (TypeError, ValueError):
        return False
    return bool(jnp.issubdtype(dtype, jnp.inexact))


class Arguments(NamedTuple):
    """``fn``'s arguments, flattened: the checked leaves, their names, and a rebuilder.

    Attributes:
        names: the checked leaves' names (``input0``, ``input1.w``, ...).
        leaves: the checked leaves, as JAX arrays.
        call: ``call(fn, xs)``: ``fn`` of the arguments with the checked leaves ``xs``.
    """

    names: list[str]
    leaves: list[Any]
    call: Callable[[Callable[..., Any], Sequence[Any]], Any]


def arguments(args: Sequence[Any]) -> Arguments:
    """Flatten ``args`` (each a pytree) and pick the leaves to check.

    Raises:
        GradcheckError: JAX cannot flatten an argument, or no leaf is floating.
    """
    try:
        flat, treedef = jax.tree_util.tree_flatten_with_path(tuple(args))
    except (TypeError, ValueError) as exc:
        what = UNFLATTENABLE.format(what="the arguments", error=f"{type(exc).__name__}: {exc}")
        raise GradcheckError(what) from exc
    pos = [j for j, (_, x) in enumerate(flat) if is_inexact(x)]
    if not pos:
        raise GradcheckError("no argument is a floating array: nothing to check")
    paths = [
        (PathEntry(f"input{flat[j][0][0].idx}"), *(path_entry(k) for k in flat[j][0][1:]))
        for j in pos
    ]
    everything = [x for _, x in flat]

    def call(fn: Callable[..., Any], xs: Sequence[Any]) -> Any:
        full = list(everything)
        for j, x in zip(pos, xs, strict=True):
            full[j] = x
        return fn(*jax.tree_util.tree_unflatten(treedef, full))

    return Arguments(unique_names(paths), [jnp.asarray(everything[j]) for j in pos], call)


def check_inexact(name: str, x: Any) -> None:
    """Raise unless ``x`` is a real or complex floating array (named ``name``): what it
    is (a Python int is named as such, not as the int32 JAX would make of it), and
    what to do."""
    if is_inexact(x):
        return
    what = f"a Python {type(x).__name__}" if isinstance(x, (bool, int)) else None
    what = what or f"an array of dtype {jnp.asarray(x).dtype}"
    raise GradcheckError(
        f"params leaf {name!r} is {what}: integer and boolean leaves have no gradient, "
        "so they cannot be checked. Take it out of params (close over it in the loss), "
        "or use gradcheck.jax.check_function, which holds non-floating arguments fixed; "
        "if it is a parameter, give it a floating dtype"
    )


def eps(dtype: Any) -> float:
    """The unit round-off of a JAX dtype (bfloat16 included)."""
    return float(jnp.finfo(dtype).eps)  # type: ignore[no-untyped-call]


def like(x: Any, dtype: Any) -> Any:
    """``dtype`` for a real leaf; its complex counterpart for a complex one."""
    return np.result_type(dtype, np.complex64) if jnp.iscomplexobj(x) else dtype


def least_precise(leaves: Sequence[Any]) -> str:
    """The least precise floating dtype among ``leaves`` (a complex leaf's parts':
    complex64 is judged as float32)."""
    dtypes = {np.dtype(real_dtype(str(np.dtype(x.dtype)))) for x in leaves}
    return str(max(dtypes, key=lambda d: float(jnp.finfo(d).eps)))  # type: ignore[no-untyped-call]


def fold(out: Any, w: Any) -> Any:
    """The real scalar ``<out, w>`` whose gradient ``jax.vjp`` gives for the cotangent
    ``w``: ``Σ out·w`` (``jnp.vdot``), or ``Re Σ w·out`` for a complex output."""
    if jnp.iscomplexobj(out):
        return jnp.real(jnp.sum(out * jnp.asarray(w, dtype=out.dtype)))
    return jnp.vdot(out, jnp.asarray(w, dtype=out.dtype))


def forward_gradient(fn: Callable[[list[Any]], Any], xs: Sequence[Any]) -> list[Any]:
    """The gradient of a real scalar ``fn`` by forward mode
    (``gradcheck._jax_forward.jvp_gradient``: the transpose of one JVP where it agrees
    with a JVP along a random tangent, else the basis JVPs in chunks, else
    ``jax.jacfwd``; ``custom_jvp`` rules run); a complex leaf's in JAX's convention
    ``∂/∂x − i ∂/∂y``, from the forward-mode gradient of its real view (``jax.jacfwd``
    takes real inputs only)."""
    mask = [bool(jnp.iscomplexobj(x)) for x in xs]
    if not any(mask):
        return jvp_gradient(fn, list(xs))
    views = [jnp.stack([x.real, x.imag], axis=-1) if c else x for x, c in zip(xs, mask)]

    def real(rs: list[Any]) -> Any:
        return fn([jax.lax.complex(r[..., 0], r[..., 1]) if c else r for r, c in zip(rs, mask)])

    grads = jvp_gradient(real, views)
    return [g[..., 0] - 1j * g[..., 1] if c else g for g, c in zip(grads, mask)]


def value_of(out: Any, w: Any) -> float:
    """:func:`fold` in NumPy float64 / complex128, for the report's value."""
    o = np.asarray(out)
    if np.iscomplexobj(o):
        return float(np.real(np.sum(o.astype(np.complex128) * w)))
    return float(np.vdot(o.astype(np.float64), w))
