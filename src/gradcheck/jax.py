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
from typing import Any

import numpy as np

try:
    import jax
    import jax.numpy as jnp
except ImportError as exc:  # pragma: no cover - the extra is always installed in CI
    raise ImportError("gradcheck.jax needs JAX: pip install 'gradcheck[jax]'") from exc

from gradcheck._errors import GradcheckError
from gradcheck._evaluate import GlobalRng, preserve_rng
from gradcheck._frameworks import Analytic, Side, check_adapted, check_precision
from gradcheck._pytree import PathEntry, unique_names
from gradcheck._report import Report

__all__ = ["check", "check_function", "path_names"]

Array = np.ndarray[Any, Any]


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
    return unique_names([tuple(_entry(k) for k in path) for path in paths])


def _entry(k: Any) -> PathEntry:
    """One JAX key-path entry as the core's :class:`~gradcheck._pytree.PathEntry`."""
    if hasattr(k, "idx"):
        return PathEntry(k.idx, position=True)
    for attr in ("key", "name"):
        if hasattr(k, attr):
            return PathEntry(getattr(k, attr))
    return PathEntry(str(k))


def _x64() -> bool:
    """Whether JAX's x64 mode is on now."""
    return bool(jax.config.read("jax_enable_x64"))  # type: ignore[no-untyped-call]


def _dtype(leaves: Sequence[Any]) -> str:
    """The least precise floating dtype among ``leaves``."""
    dtypes = {np.dtype(x.dtype) for x in leaves}
    return str(max(dtypes, key=lambda d: float(jnp.finfo(d).eps)))  # type: ignore[no-untyped-call]


class _Side:
    """``fn`` on NumPy parameters in one dtype: jitted (eager if it cannot be), vmapped,
    and differentiated, in x64 mode when ``x64``."""

    def __init__(self, fn: Callable[[list[Any]], Any], names: list[str], params: dict[str, Array],
                 x64: bool) -> None:  # fmt: skip
        self.fn, self.names, self.params, self.x64 = fn, names, params, x64
        self.serial: Callable[[list[Any]], Any] = jax.jit(fn)
        self.vfn = jax.jit(jax.vmap(lambda *xs: fn(list(xs))))

    def scope(self) -> Any:
        """JAX's x64 switch as this side needs it (restored on exit)."""
        return jax.enable_x64(self.x64)

    def compile(self, rng: GlobalRng, notes: list[str]) -> None:
        """Trace ``fn`` once; evaluate it eagerly from now on if that raises."""
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

    def cost(self, tree: dict[str, Any]) -> Any:
        return np.asarray(self.serial(self._arrays(tree)))

    def batched(self, stacked: dict[str, Any]) -> Any:
        return np.asarray(self.vfn(*self._arrays(stacked)))

    def gradient(self, tree: dict[str, Any]) -> tuple[float, dict[str, Array | None]]:
        value, g = jax.value_and_grad(self.fn)(self._arrays(tree))
        return float(value), {n: np.asarray(x, dtype=np.float64) for n, x in zip(self.names, g)}

    def side(self) -> Side:
        return Side(self.params, self.cost, self.batched, self.gradient, self.scope,
                    "jax.vmap", "x64 mode")  # fmt: skip


def _run(
    fn: Callable[[list[Any]], Any],
    names: list[str],
    leaves: list[Any],
    user: Analytic,
    precision: str,
    options: dict[str, Any],
    rng: GlobalRng,
    start: float,
) -> Report:
    """Check through the shared routes of ``gradcheck._frameworks``.

    Every call of ``fn`` starts from the user's global NumPy and ``random`` states
    (``rng``), as the analytic pass did; a jitted ``fn`` draws them while it is traced.
    """
    notes: list[str] = []

    def make(precision: str) -> Side:
        float64 = precision == "float64"
        dtype = np.float64 if float64 else np.dtype(user.dtype)
        params = {n: np.array(np.asarray(x), dtype=dtype) for n, x in zip(names, leaves)}
        side = _Side(fn, names, params, float64 or _x64())
        side.compile(rng, notes)
        return side.side()

    return check_adapted(make, user, precision=precision, rng=rng, notes=notes,
                         options=options, start=start, unused=None)  # fmt: skip


def _inexact(name: str, x: Any) -> None:
    if not jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating):
        raise GradcheckError(f"{name!r} has dtype {jnp.asarray(x).dtype}; real floats only")


def check(f: Callable[[Any], Any], params: Any, *, precision: str = "float64",
          **options: Any) -> Report:  # fmt: skip
    """Check ``jax.grad(f)`` at ``params``.

    Args:
        f: ``f(params) -> scalar``; may be jitted and may use ``custom_vjp`` rules.
        params: a pytree of floating arrays.
        precision: ``"float64"`` (default: the formula checked in x64 mode, gradient
            and finite differences, the user's-dtype round-off reported beside it;
            falls back with a message when x64 fails or computes a different value) or
            ``"model"`` (the user's dtype throughout).
        **options: passed to :func:`gradcheck.check`.

    Raises:
        GradcheckError: a non-floating leaf, or ``f`` fails (named).
    """
    start = time.perf_counter()
    precision = check_precision(precision)
    try:
        flat, treedef = jax.tree_util.tree_flatten_with_path(params)
    except (TypeError, ValueError) as exc:
        raise GradcheckError(
            f"JAX cannot flatten params ({type(exc).__name__}: {exc}); a dict whose keys "
            "JAX cannot sort (1 and '1' together, say) needs keys of one type"
        ) from exc
    if not flat:
        raise GradcheckError("params is empty: there is no entry to check")
    names = path_names([p for p, _ in flat])
    leaves = [jnp.asarray(x) for _, x in flat]
    for n, x in zip(names, leaves):
        _inexact(n, x)

    def fn(xs: list[Any]) -> Any:
        return f(jax.tree_util.tree_unflatten(treedef, xs))

    with preserve_rng() as rng:
        try:
            value, g = jax.value_and_grad(fn)(leaves)
        except Exception as exc:
            raise GradcheckError(
                f"jax.value_and_grad(f) raised {type(exc).__name__}: {exc} (f must return a scalar)"
            ) from exc
        grads = {n: np.asarray(x, dtype=np.float64) for n, x in zip(names, g)}
        user = Analytic(float(value), grads, _dtype(leaves))
        return _run(fn, names, leaves, user, precision, options, rng, start)


def check_function(fn: Callable[..., Any], *args: Any, precision: str = "float64",
                   **options: Any) -> Report:  # fmt: skip
    """Check the VJP of ``fn`` for every floating array argument.

    The checked scalar is ``Σ <out_k, v_k>`` over the floating outputs, with random
    cotangents ``v_k`` from a private generator seeded by ``seed``; its gradient is
    what ``jax.vjp(fn, ...)`` returns for ``v``. Arguments are named ``input0``,
    ``input1``, ... by position; non-floating arguments are held fixed.

    >>> import jax, jax.numpy as jnp, gradcheck.jax
    >>> gradcheck.jax.check_function(jnp.tanh, jnp.array([0.5, -1.0])).passed
    True
    """
    start = time.perf_counter()
    precision = check_precision(precision)
    pos = [i for i, a in enumerate(args)
           if jnp.issubdtype(jnp.asarray(a).dtype, jnp.floating)]  # fmt: skip
    if not pos:
        raise GradcheckError("no argument is a floating array: nothing to check")
    names = [f"input{i}" for i in pos]
    leaves = [jnp.asarray(args[i]) for i in pos]

    def assemble(xs: Sequence[Any]) -> list[Any]:
        full = list(args)
        for i, x in zip(pos, xs):
            full[i] = x
        return full

    with preserve_rng() as rng:
        return _check_vjp(fn, assemble, names, leaves, precision, options, rng, start)


def _check_vjp(fn: Callable[..., Any], assemble: Callable[[Sequence[Any]], list[Any]],
               names: list[str], leaves: list[Any], precision: str, options: dict[str, Any],
               rng: GlobalRng, start: float) -> Report:  # fmt: skip
    """The VJP check of :func:`check_function`, inside the user's saved RNG states."""
    try:
        out, vjp = jax.vjp(lambda *xs: fn(*assemble(xs)), *leaves)
    except Exception as exc:
        raise GradcheckError(f"fn raised {type(exc).__name__}: {exc}") from exc
    outs, out_tree = jax.tree.flatten(out)
    draw = np.random.default_rng([options.get("seed", 0), 5])
    floating = [jnp.issubdtype(o.dtype, jnp.floating) for o in outs]
    vs = [np.asarray(draw.standard_normal(o.shape), dtype=o.dtype) if fl
          else np.zeros(o.shape, dtype=jax.dtypes.float0)
          for o, fl in zip(outs, floating)]  # fmt: skip
    grads = {n: np.asarray(x, dtype=np.float64)
             for n, x in zip(names, vjp(jax.tree.unflatten(out_tree, vs)))}  # fmt: skip
    v64 = [np.asarray(v, dtype=np.float64) if fl else None for v, fl in zip(vs, floating)]
    value = sum(float(np.vdot(np.asarray(o, np.float64), v))
                for o, v in zip(outs, v64) if v is not None)  # fmt: skip

    def scalar(xs: list[Any]) -> Any:
        res = jax.tree.leaves(fn(*assemble(xs)))
        return sum(jnp.vdot(r, jnp.asarray(v, dtype=r.dtype)) for r, v in zip(res, v64)
                   if v is not None)  # fmt: skip

    user = Analytic(float(value), grads, _dtype(leaves))
    return _run(scalar, names, leaves, user, precision, options, rng, start)
