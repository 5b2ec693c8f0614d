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

from gradcheck._adapter_complex import (
    RealViews,
    cotangent,
    explain,
    real_dtype,
    widen,
    with_convention,
)
from gradcheck._adapters import (
    Consistency,
    Mode,
    NoForward,
    Options,
    Run,
    check_modes,
    choose_modes,
    combine,
    consistency,
    fair_share,
    linearity,
    magnitudes,
    require_entries,
    retry_failed,
    run_name,
)
from gradcheck._errors import GradcheckError
from gradcheck._evaluate import GlobalRng, preserve_rng
from gradcheck._frameworks import Analytic, Side, check_adapted, check_precision
from gradcheck._jacdir import random_steps
from gradcheck._jax_args import (
    UNFLATTENABLE,
    arguments,
    check_inexact,
    eps,
    fold,
    forward_gradient,
    least_precise,
    like,
    path_entry,
    value_of,
)
from gradcheck._jax_modes import REVERSIBLE, no_reverse, reverse_error, without_reverse
from gradcheck._jax_order2 import check_order2, function_order2
from gradcheck._jax_widen import reference, widened
from gradcheck._order2 import check_order
from gradcheck._pytree import unique_names
from gradcheck._report import Report

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["check", "check_function", "path_names"]

Array = np.ndarray[Any, Any]
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
#: The error when reverse mode cannot transpose fn's forward rule (F29).
UNTRANSPOSABLE = (
    "the VJP (jax.vjp) of fn cannot be computed: JAX transposes fn's forward rule (a "
    "custom_jvp rule) and raised NotImplementedError: {error}; a custom_jvp rule must be "
    "linear in its tangent (jnp.abs(t), t**2 or a branch on t are not), or check "
    "modes=('fwd',)"
)
#: What ``jax.jvp`` raises on a function with no forward mode: a ``custom_vjp``
#: function (``TypeError: can't apply forward-mode autodiff (jvp) to a custom_vjp
#: function``), a ``pure_callback`` (``ValueError: Pure callbacks do not support JVP``).
NO_FORWARD = ("custom_vjp", "do not support JVP")


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


def compiled(fn: Any) -> bool:
    """Whether ``fn`` is already compiled by ``jax.jit`` (it has ``lower``).

    The check wraps the user's function in a closure (the fold ``<out_k, w_k>`` of
    ``check_function``'s runs, the pytree of ``check``): jitting that wrapper compiles
    the user's function once more for every check and run (about half a second each,
    three per run: 27× ``check_grads``' time at N = 10⁵, where the checks themselves take
    tens of milliseconds). Around an already compiled function the wrapper adds a few
    array operations, which run eagerly; the function's own evaluations stay compiled
    (and ``jax.vmap`` of it compiles its batched version once, in JAX's own cache).
    """
    return callable(getattr(fn, "lower", None))


def _x64() -> bool:
    """Whether JAX's x64 mode is on now."""
    return bool(jax.config.read("jax_enable_x64"))  # type: ignore[no-untyped-call]


class _Side:
    """``fn`` on NumPy parameters in one dtype: jitted (eager if it cannot be), vmapped,
    and differentiated, in x64 mode when ``x64``; ``toggled``: the check runs ``fn``
    in the other mode too (the user's own pass, another side: :meth:`_fresh`)."""

    def __init__(
        self,
        fn: Callable[[list[Any]], Any],
        names: list[str],
        params: dict[str, Array],
        x64: bool,
        forward: bool = False,
        toggled: bool = False,
        jit: bool = True,
    ) -> None:
        self.fn, self.names, self.params, self.x64 = fn, names, params, x64
        self.forward, self.toggled, self.jit = forward, toggled, jit
        vmapped = jax.vmap(lambda *xs: fn(list(xs)))
        self.serial: Callable[[list[Any]], Any] = jax.jit(fn) if jit else fn
        self.vfn: Callable[..., Any] = jax.jit(vmapped) if jit else vmapped

    def scope(self) -> Any:
        """JAX's x64 switch as this side needs it (restored on exit)."""
        return jax.enable_x64(self.x64)

    def compile(self, rng: GlobalRng, notes: list[str]) -> None:
        """Trace ``fn`` once; evaluate it eagerly from now on if that raises."""
        if not self.jit:
            return
        with self.scope():
            rng.reset()
            try:
                self.cost(self.params)
            except Exception as exc:
                self.serial = self.fn
                notes.append(
                    f"f is evaluated without jax.jit (tracing it raised {type(exc).__name__})"
                )

    def _arrays(self, tree: dict[str, Any]) -> list[Any]:
        return [jnp.asarray(tree[n]) for n in self.names]

    def _fresh(self, call: Callable[[], Any]) -> Any:
        """``call()``; where the check switches JAX's x64 mode, once more after
        ``jax.clear_caches()`` if it raises: JAX keeps some constants across the switch
        (jax 0.10: indexing with a NumPy int64 array, ``jnp.eye(5)[y]``, after it ran
        in the other mode raises "lax.add requires ... int64, int32", attack22 C5).
        Clearing the caches only costs recompilation."""
        try:
            return call()
        except Exception:
            if not self.toggled:
                raise
            jax.clear_caches()  # type: ignore[no-untyped-call]
            return call()

    def cost(self, tree: dict[str, Any]) -> Any:
        return self._fresh(lambda: np.asarray(self.serial(self._arrays(tree))))

    def batched(self, stacked: dict[str, Any]) -> Any:
        return self._fresh(lambda: np.asarray(self.vfn(*self._arrays(stacked))))

    def gradient(self, tree: dict[str, Any]) -> tuple[float, dict[str, Array | None]]:
        """The value and gradient of ``fn`` (:meth:`_fresh`)."""
        result: tuple[float, dict[str, Array | None]] = self._fresh(lambda: self._gradient(tree))
        return result

    def _gradient(self, tree: dict[str, Any]) -> tuple[float, dict[str, Array | None]]:
        """The value and gradient of ``fn``: by ``jax.value_and_grad``, or by forward
        mode when ``forward`` (``gradcheck._jax_args.forward_gradient``: the transpose
        of one JVP where it agrees with a JVP along a random tangent, else the basis
        JVPs in chunks; ``custom_jvp`` rules run either way)."""
        if self.forward:
            xs = self._arrays(tree)
            value, g = self.fn(xs), forward_gradient(self.fn, xs)
        else:
            value, g = jax.value_and_grad(self.fn)(self._arrays(tree))
        return float(value), {n: widen(x) for n, x in zip(self.names, g)}

    def side(self) -> Side:
        return Side(
            self.params, self.cost, self.batched, self.gradient, self.scope, "jax.vmap", "x64 mode"
        )


def _run(
    fn: Callable[[list[Any]], Any],
    names: list[str],
    leaves: list[Any],
    user: Analytic,
    precision: str,
    options: Options,
    rng: GlobalRng,
    start: float,
    forward: bool = False,
    jit: bool = True,
) -> Report:
    """Check through the shared routes of ``gradcheck._frameworks``.

    Every call of ``fn`` starts from the user's global NumPy and ``random`` states
    (``rng``), as the analytic pass did; a jitted ``fn`` draws them while it is traced.
    ``jit=False``: ``fn`` is evaluated as it is (:func:`compiled`).
    """
    notes: list[str] = []
    made: list[bool] = []  # whether each side made so far runs in x64 mode

    def make(precision: str) -> Side:
        float64 = precision == "float64"
        dtype = np.float64 if float64 else np.dtype(user.dtype)
        params = {n: np.array(np.asarray(x), dtype=like(x, dtype)) for n, x in zip(names, leaves)}
        x64 = float64 or _x64()
        toggled = x64 != _x64() or any(m != x64 for m in made)
        wide = widened(fn, rng.reset) if float64 else fn  # casts below float64 widened
        side = _Side(wide, names, params, x64, forward, toggled, jit)
        made.append(x64)
        side.compile(rng, notes)
        # the formula run op by op in the user's dtype: a rule acting only in float32
        # (a bfloat16 cast in a custom_vjp's bwd, attack26 H10) is told from round-off
        same = all(real_dtype(str(np.dtype(x.dtype))) == user.dtype for x in leaves)
        ref = reference(wide, names, user.dtype, forward) if float64 and same else None
        return side.side()._replace(reference=ref)

    return check_adapted(
        make,
        user,
        precision=precision,
        rng=rng,
        notes=notes,
        options=dict(options),
        start=start,
        unused=None,
    )


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

    def fn(xs: list[Any]) -> Any:
        return f(jax.tree_util.tree_unflatten(treedef, xs))

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
        report = _run(fn, names, leaves, user, precision, options, rng, start, jit=not compiled(f))
        return explain(report, "jax")


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

    def outputs(xs: Sequence[Any]) -> list[Any]:
        return list(jax.tree.leaves(given.call(fn, xs)))

    with preserve_rng() as rng:
        f = _Function(outputs, names, leaves, int(options.get("seed", 0)), rng, compiled(fn))
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
                make = partial(_Function, widened(outputs, rng.reset), names)  # as _run's
                wide = _agreement_x64(make, leaves, views, dims, f.seed, rng)
                if isinstance(wide, str):
                    notes.append(wide)
                else:
                    agreement = wide
        report = combine(runs, notes, agreement, RULES, time.perf_counter() - start, linear)
        return explain(report, "jax")


def _agreement_x64(
    make: Callable[..., _Function],
    leaves: list[Any],
    views: RealViews,
    dims: tuple[list[tuple[int, ...]], list[tuple[int, ...]]],
    seed: int,
    rng: GlobalRng,
) -> Consistency | str:
    """The JVP–VJP consistency of ``fn``'s rules again, in x64 mode on float64 copies
    of its ``leaves`` (where that copy cannot run: the report's note saying why).

    Low-precision rules that are right can disagree by more than the sums' round-off
    the allowance counts: each carries its own cancellation (softmax cross-entropy of a
    confident classifier in float32, attack21 B5). A wrong rule is wrong in float64
    too; one wrong in float32 alone is the entry check's to see.
    """
    try:
        with jax.enable_x64(True):
            wide = [jnp.asarray(x, dtype=np.result_type(x.dtype, np.float64)) for x in leaves]
            f = make(wide, seed, rng)
            floor = magnitudes(wide, [f.outs[k] for k in f.floating])
            return consistency(
                views.jvp(f.jvp), views.vjp(f.vjp), *dims, eps(np.float64), seed, floor
            )
    except Exception as exc:  # no float64 copy (float32 constants inside fn)
        low = max((x.dtype for x in leaves), key=eps)
        return retry_failed(exc, str(low))


class _Function:
    """``fn`` at the user's arguments: its outputs, cotangents, and one check per run."""

    def __init__(
        self,
        outputs: Callable[[Sequence[Any]], list[Any]],
        names: list[str],
        leaves: list[Any],
        seed: int,
        rng: GlobalRng,
        compiled: bool = False,
    ) -> None:
        self.outputs, self.names, self.leaves = outputs, names, leaves
        self.seed, self.rng, self.compiled = seed, rng, compiled
        self.forward: dict[int, list[Array]] = {}  # w_kᵀJ from basis tangents, by run()
        self.probed: list[Array] | None = None  # the reverse probe's uᵀJ, by reverse()
        rng.reset()
        try:
            self.outs, self.pullback = jax.vjp(lambda *xs: outputs(xs), *leaves)
        except Exception as exc:
            raise GradcheckError(f"fn raised {type(exc).__name__}: {exc}") from exc
        self.floating = [k for k, o in enumerate(self.outs) if jnp.issubdtype(o.dtype, jnp.inexact)]
        if not self.floating:
            raise GradcheckError("no output of fn is a floating array: is it differentiable?")
        draw = np.random.default_rng([seed, 5])
        self.ws = {
            k: cotangent(draw, self.outs[k].shape, jnp.iscomplexobj(self.outs[k]))
            for k in self.floating
        }
        self.ws.update(self._shares())

    def _shares(self) -> dict[int, Array]:
        """Each real output's cotangent with every entry's fair share
        (:func:`gradcheck._adapters.fair_share`: one more call of ``fn``, along a random
        step); complex leaves or outputs, or a ``fn`` that raises there, keep the draws."""
        if any(jnp.iscomplexobj(x) for x in [*self.leaves, *self.outs]):
            return {}
        leaves = [np.asarray(x, dtype=np.float64) for x in self.leaves]
        rel = max(eps(x.dtype) for x in self.leaves) ** (1 / 3)
        steps = random_steps(leaves, np.random.default_rng([self.seed, 6]), rel)
        moved = [
            jnp.asarray(a + w.reshape(a.shape), x.dtype)
            for a, w, x in zip(leaves, steps, self.leaves)
        ]
        self.rng.reset()
        try:
            at = self.outputs(moved)
        except Exception:  # the plain draws: the checks will name what fails
            return {}
        shares = {}
        for k in self.floating:
            u = fair_share(
                self.ws[k], np.asarray(self.outs[k]), np.asarray(at[k]), eps(self.outs[k].dtype)
            )
            shares.update({} if u is None else {k: u})
        return shares

    def forward_error(self) -> NoForward | None:
        """Why ``jax.jvp`` does not run on ``fn``, or ``None``: one JVP.

        ``missing`` where ``fn`` has no forward mode (:data:`NO_FORWARD`, or a
        ``NotImplementedError``); any other exception is its forward rule's bug.
        """
        try:
            jax.jvp(
                lambda *xs: self.outputs(xs), self.leaves, [jnp.ones_like(x) for x in self.leaves]
            )
        except Exception as exc:
            text = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            missing = isinstance(exc, NotImplementedError) or any(s in str(exc) for s in NO_FORWARD)
            return NoForward(text, missing)
        return None

    def reverse(self) -> None:
        """One VJP of the floating outputs' cotangents (a probe of reverse mode). With
        one floating output it is that output's reverse gradient, the same cotangent
        from the same states: :meth:`run` uses it instead of a second VJP."""
        self.probed = self.vjp([self.ws[k] for k in self.floating])

    def vjp(self, u: list[Array]) -> list[Array]:
        """``uᵀJ`` by ``jax.vjp``, for cotangents ``u`` of the floating outputs."""
        cots = [np.zeros(o.shape, dtype=jax.dtypes.float0) for o in self.outs]
        for k, a in zip(self.floating, u):
            cots[k] = np.asarray(a, dtype=self.outs[k].dtype)
        try:
            grads = self.pullback(cots)
        except NotImplementedError as exc:  # jax transposes fn's custom_jvp rule
            raise GradcheckError(UNTRANSPOSABLE.format(error=f"{exc}".splitlines()[0])) from exc
        return [widen(g) for g in grads]

    def jvp(self, v: list[Array]) -> list[Array]:
        """``J v`` by ``jax.jvp`` for tangents ``v``, at the floating outputs."""
        tangents = [jnp.asarray(a, dtype=x.dtype) for a, x in zip(v, self.leaves)]
        self.rng.reset()
        _, jv = jax.jvp(lambda *xs: self.outputs(xs), self.leaves, tangents)
        return [widen(jv[k]) for k in self.floating]

    def run(self, mode: Mode, k: int, precision: str, options: Options) -> Run:
        """The check of output ``k`` in ``mode`` through the shared precision routes."""
        start = time.perf_counter()
        label = [run_name(mode, k, len(self.floating) > 1, n) for n in self.names]
        w64 = self.ws[k]

        def scalar(xs: list[Any]) -> Any:
            return fold(self.outputs(xs)[k], w64)

        self.rng.reset()
        if mode == "rev":
            if self.probed is not None and len(self.floating) == 1:
                g = self.probed
            else:
                cots = [w64 if j == k else np.zeros(self.outs[j].shape) for j in self.floating]
                g = self.vjp(cots)
        else:
            g = [widen(x) for x in forward_gradient(scalar, self.leaves)]
            self.forward[k] = g
        value = value_of(self.outs[k], w64)
        user = Analytic(value, dict(zip(label, g)), least_precise(self.leaves))
        forward = mode == "fwd"
        report = _run(
            scalar,
            label,
            self.leaves,
            user,
            precision,
            options,
            self.rng,
            start,
            forward,
            not self.compiled,
        )
        return Run(mode, k, tuple(label), report)
