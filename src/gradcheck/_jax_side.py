"""``gradcheck.jax``'s sides: ``fn`` evaluated, vmapped and differentiated in one dtype.

:class:`JaxSide` is ``fn`` on NumPy parameters in one dtype, in or out of JAX's x64
mode, as the adapters' shared precision routes (``gradcheck._frameworks``) take it;
:func:`check_routes` makes the sides a check needs (the user's dtype, float64 with the
casts inside ``fn`` widened) and runs the routes, for ``check`` and for every run of
``check_function`` (``gradcheck._jax_function``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gradcheck._adapter_complex import real_dtype, widen
from gradcheck._adapters import Options
from gradcheck._evaluate import GlobalRng
from gradcheck._frameworks import Analytic, Gradient, Side, check_adapted
from gradcheck._jax_args import forward_gradient, like
from gradcheck._jax_widen import reference, widened
from gradcheck._report import Report

Array = np.ndarray[Any, Any]


def x64_mode() -> bool:
    """Whether JAX's x64 mode is on now."""
    return bool(jax.config.read("jax_enable_x64"))  # type: ignore[no-untyped-call]


class JaxSide:
    """``fn`` on NumPy parameters in one dtype: evaluated as it is, vmapped (eagerly)
    and differentiated, in x64 mode when ``x64``; ``toggled``: the check runs ``fn`` in
    the other mode too (the user's own pass, another side: :meth:`_fresh`).

    ``fn`` is never wrapped in ``jax.jit``, as ``check_grads`` evaluates it: a user's
    ``jax.jit`` function runs compiled inside, and a plain one runs as written.
    Jitting the check's wrapper compiled ``fn`` anew for every check and run (27×
    ``check_grads``' time at N = 10⁵, speed26), and the trace ran ``fn``'s Python side
    effects with tracers (a leaked tracer in the user's object, attack27 H42; 5-10×
    slower than eager on an un-jitted ``f`` at N = 10³..10⁵, speed27).
    """

    def __init__(
        self,
        fn: Callable[[list[Any]], Any],
        names: list[str],
        params: dict[str, Array],
        x64: bool,
        forward: bool = False,
        toggled: bool = False,
    ) -> None:
        self.fn, self.names, self.params, self.x64 = fn, names, params, x64
        self.forward, self.toggled = forward, toggled
        self.vfn: Callable[..., Any] = jax.vmap(lambda *xs: fn(list(xs)))

    def scope(self) -> Any:
        """JAX's x64 switch as this side needs it (restored on exit)."""
        return jax.enable_x64(self.x64)

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
        return self._fresh(lambda: np.asarray(self.fn(self._arrays(tree))))

    def batched(self, stacked: dict[str, Any]) -> Any:
        return self._fresh(lambda: np.asarray(self.vfn(*self._arrays(stacked))))

    def gradient(self, tree: dict[str, Any]) -> Gradient:
        """The value and gradient of ``fn`` (:meth:`_fresh`)."""
        result: Gradient = self._fresh(lambda: self._gradient(tree))
        return result

    def _gradient(self, tree: dict[str, Any]) -> Gradient:
        """The value and gradient of ``fn``: by ``jax.value_and_grad``, or by forward
        mode when ``forward`` (``gradcheck._jax_args.forward_gradient``: the transpose
        of one JVP where it agrees with a JVP along a random tangent, else the basis
        JVPs in chunks; ``custom_jvp`` rules run either way)."""
        if self.forward:
            xs = self._arrays(tree)
            value, g = self.fn(xs), forward_gradient(self.fn, xs)
        else:
            value, g = jax.value_and_grad(self.fn)(self._arrays(tree))
        return Gradient(float(value), {n: widen(x) for n, x in zip(self.names, g)})

    def side(self) -> Side:
        return Side(
            self.params, self.cost, self.batched, self.gradient, self.scope, "jax.vmap", "x64 mode"
        )


def check_routes(
    fn: Callable[[list[Any]], Any],
    names: list[str],
    leaves: list[Any],
    user: Analytic,
    precision: str,
    options: Options,
    rng: GlobalRng,
    start: float,
    forward: bool = False,
) -> Report:
    """Check through the shared routes of ``gradcheck._frameworks``.

    Every call of ``fn`` starts from the user's global NumPy and ``random`` states
    (``rng``), as the analytic pass did.
    """
    notes: list[str] = []
    made: list[bool] = []  # whether each side made so far runs in x64 mode

    def make(precision: str) -> Side:
        float64 = precision == "float64"
        dtype = np.float64 if float64 else np.dtype(user.dtype)
        params = {n: np.array(np.asarray(x), dtype=like(x, dtype)) for n, x in zip(names, leaves)}
        x64 = float64 or x64_mode()
        toggled = x64 != x64_mode() or any(m != x64 for m in made)
        wide = widened(fn, rng.reset) if float64 else fn  # casts below float64 widened
        side = JaxSide(wide, names, params, x64, forward, toggled)
        made.append(x64)
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
