"""``order=2`` in ``gradcheck.jax``: the VJP of a function, differentiated again.

:class:`JaxBackward` is the backward ``G(x, w) = jax.vjp(f, x)[1](w)`` as a function of
NumPy arrays (``custom_vjp`` rules run in it), with its own VJP by ``jax.vjp`` of ``G``
(JAX differentiates the ``bwd`` rule) for :func:`gradcheck._order2.second_order` to
check against finite differences of ``G``, through the cotangent ``w`` too, as
``jax.test_util.check_grads(order=2)`` does. For ``gradcheck.jax.check`` ``G`` is
``jax.grad`` of the scalar ``f`` (cotangent 1), so the check is ``jax.grad`` of
``jax.grad``.

A gradient JAX cannot differentiate is *detached*, named: differentiating ``G`` raised
(a ``bwd`` rule computed through NumPy meets a tracer), or its derivative against the
cotangent is exactly 0 along a random direction although the gradient is nonzero
(``stop_gradient`` on the cotangent; a correct ``G`` is linear in ``w``, so
``∂G/∂w = 0`` would make it 0).

``G`` and its VJP are jitted, and run eagerly when tracing them raises. With
``precision="float64"`` everything runs in JAX's x64 mode on float64 copies, switched
on for the check and restored after (``jax.enable_x64``); the user's global NumPy and
``random`` states are put back before every call.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gradcheck._evaluate import GlobalRng, preserve_rng
from gradcheck._order2 import Backward, cotangent_name, disjoint, second_order
from gradcheck._report import Report

__all__ = ["JaxBackward", "check_order2", "function_order2"]

Array = np.ndarray[Any, Any]
Outputs = Callable[[list[Any]], list[Any]]
#: Why a gradient whose derivative against the cotangent is 0 is detached.
NO_COTANGENT = (
    "its derivative against the cotangent is exactly 0 along a random direction (a bwd "
    "rule that stops the gradient, or does not use its cotangent in JAX operations)"
)


class JaxBackward:
    """The backward of ``outputs`` at ``point``, paired with ``cotangents``.

    Args:
        outputs: ``outputs(xs) -> list of arrays``, one per cotangent.
        point: the checked inputs, by name, as NumPy arrays in the dtype checked.
        cotangents: one array per output, by name.
        x64: whether JAX's x64 mode is on during every call.
        rng: the user's global NumPy and ``random`` states, put back before each call.
    """

    def __init__(
        self,
        outputs: Outputs,
        point: dict[str, Array],
        cotangents: dict[str, Array],
        x64: bool,
        rng: GlobalRng,
    ) -> None:
        self.outputs, self.x64, self.rng = outputs, x64, rng
        disjoint(point, cotangents)
        self.inputs = tuple(point)
        self.point = {**point, **cotangents}
        self.broken: dict[str, str] = {}  # input -> what differentiating its gradient raised
        self.grads = _jitted(self._g)
        self.pullback = _jitted(self._double)

    def _g(self, xs: list[Any], ws: list[Any]) -> list[Any]:
        _, pull = jax.vjp(lambda *a: self.outputs(list(a)), *xs)
        return list(pull(list(ws)))

    def _double(self, xs: list[Any], ws: list[Any], us: list[Any]) -> tuple[Any, Any]:
        _, pull = jax.vjp(self._g, xs, ws)
        result: tuple[Any, Any] = pull(us)
        return result

    def _split(self, params: dict[str, Array]) -> tuple[list[Any], list[Any]]:
        xs = [jnp.asarray(params[n]) for n in self.inputs]
        ws = [jnp.asarray(a) for n, a in params.items() if n not in self.inputs]
        return xs, ws

    def grad(self, params: dict[str, Array]) -> dict[str, Array]:
        """``G(x, w)``: the gradient of every checked input."""
        with jax.enable_x64(self.x64):
            self.rng.reset()
            gs = self.grads(*self._split(params))
            return {n: np.asarray(g, dtype=self.point[n].dtype) for n, g in zip(self.inputs, gs)}

    def double(self, params: dict[str, Array], u: dict[str, Array]) -> dict[str, Array]:
        """The VJP of ``G`` with ``u`` (like the gradients); zeros once it has raised."""
        if self.broken:
            return {n: np.zeros_like(a) for n, a in self.point.items()}
        with jax.enable_x64(self.x64):
            xs, ws = self._split(params)
            us = [jnp.asarray(u[n], dtype=x.dtype) for n, x in zip(self.inputs, xs)]
            self.rng.reset()
            dxs, dws = self.pullback(xs, ws, us)
        return {n: np.asarray(d, dtype=self.point[n].dtype) for n, d in zip(params, [*dxs, *dws])}

    def detached(self, seed: int) -> dict[str, str]:
        """``{input: why}`` for each gradient JAX cannot differentiate at the point."""
        rng = np.random.default_rng([seed, 31])
        out: dict[str, str] = {}
        for name in self.inputs:
            u = {n: np.zeros_like(self.point[n]) for n in self.inputs}
            u[name] = np.asarray(rng.standard_normal(self.point[name].shape))
            try:
                d = self.double(self.point, u)
            except Exception as exc:
                why = f"differentiating it raised {type(exc).__name__}: {_first_line(exc)}"
                self.broken = dict.fromkeys(self.inputs, why)
                return dict(self.broken)
            if all(not np.any(d[n]) for n in self.point if n not in self.inputs):
                out[name] = NO_COTANGENT
        return out

    def backward(self, seed: int) -> Backward:
        """This as the core's :class:`~gradcheck._order2.Backward`."""
        detached = self.detached(seed)
        return Backward(self.inputs, self.point, self.grad, self.double, detached)


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else ""


def _jitted(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``jax.jit(fn)``, falling back to ``fn`` itself for good once tracing raises."""
    compiled = jax.jit(fn)
    state = {"jit": True}

    def call(*args: Any) -> Any:
        if state["jit"]:
            try:
                return compiled(*args)
            except Exception:
                state["jit"] = False
        return fn(*args)

    return call


def _arrays(leaves: Sequence[Any], float64: bool) -> list[Array]:
    return [np.array(np.asarray(x), dtype=np.float64 if float64 else None) for x in leaves]


def check_order2(
    first: Callable[[], Report],
    fn: Callable[[list[Any]], Any],
    names: list[str],
    leaves: list[Any],
    precision: str,
    options: dict[str, Any],
) -> Report:
    """``gradcheck.jax.check(order=2)``: the first-order report, then ``jax.grad`` of
    ``jax.grad`` (the backward with cotangent ``"cotangent"`` = 1, named
    ``"cotangent (of the loss)"`` when a leaf is called ``cotangent``).

    Args:
        first: runs the first-order check.
        fn: the scalar function of the list of leaves.
        names: the leaves' names; ``leaves`` the user's values (never modified).
        precision: ``"float64"`` (x64 mode, float64 copies) or ``"model"``.
        options: the user's options.
    """
    start = time.perf_counter()
    report = first()
    float64 = precision == "float64"
    x64 = float64 or bool(jax.config.read("jax_enable_x64"))  # type: ignore[no-untyped-call]
    point = dict(zip(names, _arrays(leaves, float64)))
    dtype = np.result_type(*point.values())
    with preserve_rng() as rng:
        backward = JaxBackward(
            lambda xs: [fn(xs)], point, {cotangent_name(point): np.ones((), dtype)}, x64, rng
        ).backward(int(options.get("seed", 0)))
        return second_order(report, backward, options, start)


def function_order2(
    first: Callable[[], Report],
    fn: Callable[..., Any],
    args: Sequence[Any],
    precision: str,
    options: dict[str, Any],
) -> Report:
    """``gradcheck.jax.check_function(order=2)``: the first-order report, then the
    VJP of ``fn`` checked as a function of the inputs and the output cotangents.

    Args:
        first: runs the first-order check.
        fn: the user's function; ``args`` its arguments (floating arrays are checked).
        precision: ``"float64"`` (x64 mode, float64 copies) or ``"model"``.
        options: the user's options.
    """
    start = time.perf_counter()
    report = first()
    float64 = precision == "float64"
    x64 = float64 or bool(jax.config.read("jax_enable_x64"))  # type: ignore[no-untyped-call]
    pos = [i for i, a in enumerate(args) if jnp.issubdtype(jnp.asarray(a).dtype, jnp.floating)]
    names = [f"input{i}" for i in pos]
    point = dict(zip(names, _arrays([args[i] for i in pos], float64)))
    with preserve_rng() as rng, jax.enable_x64(x64):

        def leaves(xs: list[Any]) -> list[Any]:
            full = list(args)
            for i, x in zip(pos, xs):
                full[i] = x
            return list(jax.tree.leaves(fn(*full)))

        rng.reset()
        outs = leaves([jnp.asarray(point[n]) for n in names])
        floating = [k for k, o in enumerate(outs) if jnp.issubdtype(o.dtype, jnp.floating)]
        draw = np.random.default_rng([int(options.get("seed", 0)), 5])
        cotangents = {
            f"cotangent{k}": np.asarray(draw.standard_normal(outs[k].shape), dtype=outs[k].dtype)
            for k in floating
        }

        def outputs(xs: list[Any]) -> list[Any]:
            res = leaves(xs)
            return [res[k] for k in floating]

        backward = JaxBackward(outputs, point, cotangents, x64, rng)
        return second_order(report, backward.backward(int(options.get("seed", 0))), options, start)
