"""Check JAX gradients and ``custom_vjp``/``custom_jvp`` rules (needs ``gradcheck[jax]``).

* :func:`check`: ``jax.grad(f)`` of a scalar function of a pytree, so the custom rules
  inside ``f`` are what is checked; parameters are named by their pytree paths (dict
  keys and positions joined by dots, as in the core).
* :func:`check_function`: the VJP of a function with any outputs, through random
  output cotangents.

By default, for leaves below float64, the formula is checked in float64 (the gradient
and the finite differences of ``f`` under JAX's x64 mode, switched on for the duration
of the check with ``jax.enable_x64`` and restored after), and the round-off of the
gradient in the user's own dtype is reported beside it; see ``gradcheck._frameworks``.
JAX has no global RNG state; NumPy's and ``random``'s are saved on entry and put back
before every call of ``f`` (analytic pass, probes, evaluations), so both sides draw the
same numbers.

>>> import jax.numpy as jnp, gradcheck.jax
>>> gradcheck.jax.check(lambda p: jnp.sum(jnp.sin(p["w"])), {"w": jnp.ones(3)}).status
'passed'
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

try:
    import jax
    import jax.numpy as jnp
except ImportError as exc:  # pragma: no cover - the extra is always installed in CI
    raise ImportError("gradcheck.jax needs JAX: pip install 'gradcheck[jax]'") from exc

from gradcheck._adapter_complex import RealViews, explain, widen, with_convention
from gradcheck._adapters import (
    Mode,
    Options,
    check_modes,
    choose_modes,
    combine,
    consistency,
    linearity,
    magnitudes,
    require_entries,
)
from gradcheck._errors import GradcheckError
from gradcheck._evaluate import preserve_rng
from gradcheck._frameworks import Analytic, check_precision
from gradcheck._jax_args import (
    UNFLATTENABLE,
    arguments,
    check_inexact,
    eps,
    least_precise,
    path_entry,
)
from gradcheck._jax_function import Function, agreement_x64
from gradcheck._jax_modes import REVERSIBLE, no_reverse, reverse_error, without_reverse
from gradcheck._jax_order2 import check_order2, function_order2
from gradcheck._jax_side import check_routes
from gradcheck._jax_state import Kept
from gradcheck._jax_widen import widened
from gradcheck._order2 import check_order
from gradcheck._pytree import unique_names
from gradcheck._report import Report

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["check", "check_function", "path_names"]

#: What each mode runs, for the report's messages.
RULES: dict[Mode, str] = {"rev": "the VJP (jax.vjp)", "fwd": "the JVP (jax.jvp)"}
#: How to give a function forward mode, for the note or error when it has none.
REMEDY = (
    "a custom_vjp function has no forward mode; define the rule with jax.custom_jvp "
    "(reverse mode then transposes it)"
)
#: The error when fn's forward-mode rule exists and raises (``{error}``: what it raised).
BROKEN = (
    "the JVP (jax.jvp) of fn raised {error} (probing forward mode with tangents of "
    "ones): fn has a forward-mode rule and it fails, a bug; a custom_jvp rule returns "
    "(primal_out, tangent_out) with tangent_out of primal_out's structure, shape and dtype"
)


def path_names(paths: Sequence[Sequence[Any]]) -> list[str]:
    """The core's names for JAX key paths: keys and positions joined by dots, in
    ``keystr`` brackets where two dotted names would collide (as ``gradcheck.check``
    names NumPy pytrees: :func:`gradcheck._pytree.unique_names`).

    >>> from jax.tree_util import DictKey, SequenceKey
    >>> path_names([(DictKey("layers"), SequenceKey(0), DictKey("W"))])
    ['layers.0.W']
    >>> path_names([(DictKey("a.b"),), (DictKey("a"), DictKey("b"))])
    ["['a.b']", 'a.b']
    """
    return unique_names([tuple(path_entry(k) for k in path) for path in paths])


def _no_order2(exc: BaseException) -> str:
    """The error for ``order=2`` of a function JAX cannot reverse (a ``lax.while_loop``):
    the second-order check differentiates its VJP, and the first message blamed fn."""
    lines = str(exc).splitlines()
    why = next((line for line in lines if no_reverse(ValueError(line))), str(exc))
    why = why.removeprefix("fn raised ").split(" (at the parameters given)")[0]
    return (
        "order=2 differentiates fn's VJP, but JAX cannot differentiate fn in reverse mode "
        f"({why.rstrip('.')}); order=1 with modes=('fwd',) checks its first derivative, "
        f"and for the second order {REVERSIBLE}"
    )


def _real_order2(names: list[str], leaves: list[Any]) -> None:
    """Refuse ``order=2`` with complex parameters (attack23 D7): the second-order check
    in ``gradcheck._jax_order2`` is real-only, and ran at the real parts."""
    complex_ = [n for n, x in zip(names, leaves) if jnp.iscomplexobj(x)]
    if complex_:
        raise GradcheckError(
            f"order=2 does not check complex parameters in gradcheck.jax yet "
            f"({', '.join(complex_)}): order=1 checks them; for the second order pass "
            "the real and imaginary parts as two real parameters (z = re + 1j·im inside "
            "the function), or use gradcheck.torch, whose order=2 takes complex inputs"
        )


def check(
    f: Callable[[Any], Any],
    params: Any,
    *,
    precision: str = "float64",
    order: int = 1,
    **options: Unpack[Options],
) -> Report:
    """Check ``jax.grad(f)`` at ``params``.

    Args:
        f: ``f(params) -> scalar``; may be jitted and may use ``custom_vjp`` rules.
        params: a pytree of floating arrays.
        precision: ``"float64"`` (default: the formula checked in x64 mode, gradient
            and finite differences, the user's-dtype round-off reported beside it;
            falls back with a message when x64 fails or computes a different value) or
            ``"model"`` (the user's dtype throughout).
        order: ``2`` also checks ``jax.grad`` of ``jax.grad(f)`` (``custom_vjp`` bwd
            rules differentiated) against finite differences of the gradient
            (``gradcheck._jax_order2``; docs/second-order.md).
        **options: passed to :func:`gradcheck.check`.

    Raises:
        GradcheckError: a non-floating leaf, or ``f`` fails (named).
    """
    start = time.perf_counter()
    precision = check_precision(precision)
    options = with_convention(options, "plain", "jax")
    try:
        flat, treedef = jax.tree_util.tree_flatten_with_path(params)
    except (TypeError, ValueError) as exc:
        error = f"{type(exc).__name__}: {exc}"
        raise GradcheckError(UNFLATTENABLE.format(what="params", error=error)) from exc
    if not flat:
        raise GradcheckError("params is empty: there is no entry to check")
    names = path_names([p for p, _ in flat])
    for n, (_, x) in zip(names, flat):
        check_inexact(n, x)
    leaves = [jnp.asarray(x) for _, x in flat]
    require_entries({n: int(x.size) for n, x in zip(names, leaves)})

    kept = Kept(f)  # no tracer left in f's objects (attack27 H42)

    def fn(xs: list[Any]) -> Any:
        return kept(jax.tree_util.tree_unflatten(treedef, xs))

    if check_order(order) == 2:
        _real_order2(names, leaves)
        first = partial(check, f, params, precision=precision, **options)
        return check_order2(first, fn, names, leaves, precision, dict(options))
    with preserve_rng() as rng:
        try:
            value, g = jax.value_and_grad(fn)(leaves)
        except Exception as exc:
            raise GradcheckError(_grad_failed(exc)) from exc
        grads = {n: widen(x) for n, x in zip(names, g)}
        user = Analytic(float(value), grads, least_precise(leaves))
        report = check_routes(fn, names, leaves, user, precision, options, rng, start)
        return explain(kept.noted(report), "jax")  # a walk stopped short (state34)


def _grad_failed(exc: Exception) -> str:
    """What :func:`check` says where ``jax.value_and_grad(f)`` raised ``exc``."""
    error = f"jax.value_and_grad(f) raised {type(exc).__name__}: {exc}"
    if not no_reverse(exc):
        return f"{error} (f must return a scalar)"
    first = error.splitlines()[0].rstrip(".")
    return (
        f"{first}: JAX cannot differentiate f in reverse mode, which jax.grad needs; check "
        f"it in forward mode with gradcheck.jax.check_function(f, params, modes=('fwd',)), "
        f"or {REVERSIBLE}"
    )


def check_function(
    fn: Callable[..., Any],
    *args: Any,
    precision: str = "float64",
    modes: Sequence[str] | None = None,
    order: int = 1,
    **options: Unpack[Options],
) -> Report:
    """Check the derivatives of ``fn`` for every floating array argument.

    Each floating output ``out_k`` is checked on its own, in each mode, through
    ``<out_k, w_k>`` with a random cotangent ``w_k`` (a private generator seeded by
    ``seed``): in reverse mode its gradient is what ``jax.vjp`` returns for ``w_k``
    (``custom_vjp`` rules run), in forward mode what ``jax.jacfwd`` builds from JVPs
    (``custom_jvp`` rules run). With both modes the two are also compared with each
    other (``uᵀ(J v) = (uᵀJ) v``, no finite differences; ``gradcheck._adapters``).
    Arguments are named ``input0``, ``input1``, ... by position; non-floating
    arguments are held fixed.

    Args:
        fn: a function of arrays returning an array or a pytree of arrays.
        *args: its arguments.
        precision: as for :func:`check`.
        modes: ``("rev",)``, ``("fwd",)`` or ``("rev", "fwd")``; by default both when
            ``jax.jvp`` runs on ``fn`` (a ``custom_vjp`` function has no forward mode:
            then ``("rev",)``, with a note). Results are named ``input0`` (reverse,
            one floating output), ``out[1]/input0`` (an output of several; ``k`` counts
            the output pytree's leaves) and ``fwd/...`` (forward mode).
        order: ``2`` also checks the VJP's own derivative (``jax.vjp`` of the VJP),
            through the inputs and the output cotangents (docs/second-order.md).
        **options: passed to :func:`gradcheck.check`.

    Raises:
        GradcheckError: no floating argument or output, ``fn`` raises, an unknown
            ``modes``, or ``"fwd"`` asked of a function without forward mode.

    >>> import jax, jax.numpy as jnp, gradcheck.jax
    >>> gradcheck.jax.check_function(jnp.tanh, jnp.array([0.5, -1.0])).passed
    True
    """
    start = time.perf_counter()
    precision = check_precision(precision)
    options = with_convention(options, "plain", "jax")
    wanted = check_modes(modes)
    if check_order(order) == 2:
        given = arguments(args)
        _real_order2(given.names, given.leaves)
        first = partial(check_function, fn, *args, precision=precision, modes=modes, **options)
        try:
            return function_order2(first, fn, args, precision, dict(options))
        except GradcheckError as exc:
            if not no_reverse(exc):
                raise
            raise GradcheckError(_no_order2(exc)) from None
    given = arguments(args)
    names, leaves = given.names, given.leaves
    require_entries({n: int(np.size(x)) for n, x in zip(names, leaves)})

    kept = Kept(fn)  # no tracer left in fn's objects (attack27 H42)

    def outputs(xs: Sequence[Any]) -> list[Any]:
        return list(jax.tree.leaves(given.call(kept, xs)))

    with preserve_rng() as rng:
        f = Function(outputs, names, leaves, int(options.get("seed", 0)), rng)
        rng.reset()
        backward = None if wanted == ("fwd",) else reverse_error(f.reverse)
        if backward is not None:  # a lax.while_loop: JAX runs forward mode only (F3)
            chosen, notes = without_reverse(wanted, backward, f.forward_error)
        else:
            error = None if wanted == ("rev",) else f.forward_error()
            chosen, notes = choose_modes(wanted, error, REMEDY, BROKEN)
        runs = [f.run(mode, k, precision, options) for mode in chosen for k in f.floating]
        agreement, linear = None, None
        outs = [f.outs[k] for k in f.floating]
        roundoff = max(eps(x.dtype) for x in [*leaves, *outs])
        views = RealViews(
            "plain", tuple(map(jnp.iscomplexobj, leaves)), tuple(map(jnp.iscomplexobj, outs))
        )
        shapes = views.shapes([tuple(x.shape) for x in leaves], views.inputs)
        if chosen == ("fwd",):  # with both modes the consistency check sees it too
            forward = [views.dual(f.forward[k], views.inputs) for k in f.floating]
            ws = views.dual([f.ws[k] for k in f.floating], views.outputs)
            linear = linearity(views.jvp(f.jvp), forward, ws, shapes, roundoff, f.seed)
        if len(chosen) == 2:
            dims = (shapes, views.shapes([tuple(o.shape) for o in outs], views.outputs))
            floor = magnitudes(leaves, outs)  # the round-off floor torch's has (G3)
            agreement = consistency(
                views.jvp(f.jvp), views.vjp(f.vjp), *dims, roundoff, f.seed, floor
            )
            if agreement.wrong and roundoff > eps(np.float64):
                make = partial(Function, widened(outputs, rng.reset), names)  # as check_routes
                wide = agreement_x64(make, leaves, views, dims, f.seed, rng)
                if isinstance(wide, str):
                    notes.append(wide)
                else:
                    agreement = wide
        report = combine(runs, notes, agreement, RULES, time.perf_counter() - start, linear)
        return explain(kept.noted(report), "jax")  # a walk stopped short (state34)
