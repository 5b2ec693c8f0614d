"""JAX's float64 side computes in float64 where ``fn`` casts below it (attack26 G1).

For leaves below float64 the adapter checks the formula on float64 copies under JAX's
x64 mode (``gradcheck.jax``). A function that casts inside, ``x.astype(jnp.float32)``,
``jnp.asarray(c, dtype=jnp.float32)``, ``lax.convert_element_type``, still computed in
float32 there: its finite differences were float32 ones while the report said float64,
and a ``custom_vjp`` 0.2% wrong passed (attack25 g06). :func:`widened` gives the side
``fn`` traced to a jaxpr (``jax.make_jaxpr``) and evaluated with every value below
float64 made float64 (complex64: complex128):

* a conversion to a lower floating precision converts to float64 instead, and every
  primitive's dtype parameter below float64 (``preferred_element_type``, ``out_dtype``,
  an ``iota``'s dtype) asks for float64; constants and literals below float64 are
  widened (their values are the user's own, float32-rounded constants included);
* a float made from no float (``jax.random.normal`` bit-casts ``uint32`` draws) is made
  as written and then widened: the same draws, float64 arithmetic;
* ``jit``, ``closed_call`` and ``checkpoint`` bodies are evaluated inline, ``cond``,
  ``while`` and ``scan`` rebuilt on the widened bodies, a ``custom_jvp`` function on
  its widened primal and its widened rule, a ``custom_vjp`` function on its widened
  primal and forward rule and its backward rule run on the widened residuals and
  cotangents (the user's rules: what is checked is still those rules);
* ``reduce_precision`` of a value widened from below float64 is the value itself (in
  the model's dtype it rounds to what that dtype holds anyway), and so is one to
  float32's format or finer of any value: without x64 JAX holds nothing finer.

What cannot be widened soundly raises :class:`Unwidened`, saying where: a bit-level
cast of a value below float64, a ``custom_vjp`` function closing over traced values
(or taking integers, or with symbolic zeros) that holds values below float64, another
primitive with a body below float64. The x64 side then raises, and the adapter checks
in the user's dtype with a note saying why (``gradcheck._frameworks``): an honest
report, never float32 arithmetic reported as float64. A function that cannot be traced
(Python control flow on values) is evaluated eagerly as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextvars import ContextVar
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.extend import core

from gradcheck._adapter_complex import widen
from gradcheck._jax_args import forward_gradient
from gradcheck._roundoff_verdict import Gradient

__all__ = ["Unwidened", "in_dtype", "reference", "widened"]

_LOW = {
    np.dtype(np.float32): np.dtype(np.float64),
    np.dtype(np.float16): np.dtype(np.float64),
    np.dtype(jnp.bfloat16): np.dtype(np.float64),
    np.dtype(np.complex64): np.dtype(np.complex128),
}

#: The dtypes the evaluation changes, and what each becomes: :data:`_LOW` widening;
#: :func:`in_dtype` sets float64 to the model's dtype.
_MAP: ContextVar[dict[np.dtype[Any], np.dtype[Any]]] = ContextVar("map", default=_LOW)

#: Primitives whose body is evaluated inline (a call: nothing but its body).
_CALLS = {"jit", "pjit", "closed_call", "core_call", "checkpoint", "remat", "remat2"}


class Unwidened(Exception):
    """``fn`` computes below float64 where it cannot be made float64 (module text)."""


def widened(fn: Callable[[Any], Any], reset: Callable[[], None]) -> Callable[[Any], Any]:
    """``fn`` (of a list of arrays) computing in float64 where it casts below (module
    text); call it under ``jax.enable_x64(True)``.

    ``reset`` puts the user's global RNG states back: where ``fn`` cannot be traced
    (Python control flow on values) it runs as it is, from the states it started from.
    """

    def wide(xs: Any) -> Any:
        try:
            closed, shape = jax.make_jaxpr(fn, return_shape=True)(xs)
        except Exception:  # not traceable: fn itself (under jit, its own error)
            reset()
            return fn(xs)
        outs = _eval(closed.jaxpr, closed.consts, jax.tree.leaves(xs))
        return jax.tree.unflatten(jax.tree.structure(shape), outs)

    return wide


def _wide(dtype: Any) -> Any:
    """float64 (complex128) for a dtype below it; any other dtype as it is."""
    try:
        return _MAP.get().get(np.dtype(dtype), dtype)
    except TypeError:  # an extended dtype (a PRNG key's)
        return dtype


def _low(dtype: Any) -> bool:
    try:
        return np.dtype(dtype) in _MAP.get()
    except TypeError:
        return False


def _widen(x: Any) -> Any:
    """An array (a constant, a literal) below float64 as float64 (complex128); under
    :func:`in_dtype`'s narrowing, a finite constant beyond the narrow dtype's range
    becomes its largest finite value, as the model computes with it (attack27 H44:
    ``jnp.finfo(s.dtype).min`` in float64 is ``-1.8e308``, which float32 makes
    ``-inf``: a fully masked attention row became NaN in the reference only)."""
    dtype = getattr(x, "dtype", None)
    if dtype is None or not _low(dtype):
        return x
    to = np.dtype(_wide(dtype))
    return jnp.asarray(_saturated(x, to), dtype=to)


def _saturated(x: Any, to: np.dtype[Any]) -> Any:
    """``x``'s finite real values clipped to ``to``'s finite range where ``to`` is
    the narrower (a tracer, or a complex value, as it is)."""
    if not (np.issubdtype(to, np.floating) and np.issubdtype(x.dtype, np.floating)):
        return x
    top = float(np.finfo(to).max)
    if float(np.finfo(x.dtype).max) <= top:
        return x
    try:
        a = np.asarray(x)
    except Exception:  # a tracer: no value to clip
        return x
    return np.where(np.isfinite(a), np.clip(a, -top, top), a)


def _eval(jaxpr: Any, consts: Sequence[Any], args: Sequence[Any]) -> list[Any]:
    """``jaxpr`` at ``args``, every value below float64 made float64 (module text)."""
    env: dict[Any, Any] = {}

    def read(v: Any) -> Any:
        return _widen(v.val) if isinstance(v, core.Literal) else env[v]

    env.update(zip(jaxpr.constvars, map(_widen, consts)))
    env.update(zip(jaxpr.invars, args))
    for eqn in jaxpr.eqns:
        outs = _apply(eqn, [read(v) for v in eqn.invars])
        outs = outs if eqn.primitive.multiple_results else [outs]
        for v, out in zip(eqn.outvars, outs):
            if not isinstance(v, core.DropVar):
                env[v] = _made(out)
    return [read(v) for v in jaxpr.outvars]


def _made(out: Any) -> Any:
    """An output still below float64 (a float made from integers: a bit-cast of random
    bits) as float64: made as written, then widened."""
    dtype = getattr(out, "dtype", None)
    return lax.convert_element_type(out, _wide(dtype)) if dtype is not None and _low(dtype) else out


def _closed(jaxpr: Any) -> tuple[Any, list[Any]]:
    """A body parameter as ``(jaxpr, consts)`` (a ``ClosedJaxpr`` or an open one)."""
    return (jaxpr.jaxpr, list(jaxpr.consts)) if hasattr(jaxpr, "consts") else (jaxpr, [])


def _bodies(params: dict[str, Any]) -> list[Any]:
    """The bodies (jaxprs) among an equation's parameters."""
    found = []
    for value in params.values():
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, (core.Jaxpr, core.ClosedJaxpr)):
                found.append(item)
    return found


def _touched(jaxpr: Any, consts: Sequence[Any]) -> bool:
    """Whether a body holds a value below float64 (then it must be widened)."""
    if any(_low(getattr(c, "dtype", None)) for c in consts):
        return True
    for eqn in jaxpr.eqns:
        values = [*eqn.invars, *eqn.outvars]
        if any(_low(getattr(v.aval, "dtype", None)) for v in values):
            return True
        if any(_touched(*_closed(b)) for b in _bodies(eqn.params)):
            return True
    return any(_low(getattr(v.aval, "dtype", None)) for v in [*jaxpr.invars, *jaxpr.outvars])


def _apply(eqn: Any, invals: list[Any]) -> Any:
    """One equation at widened inputs (module text)."""
    prim, params = eqn.primitive, dict(eqn.params)
    name = prim.name
    was_low = [_low(getattr(v.aval, "dtype", None)) for v in eqn.invars]
    bodies = _bodies(params)
    if bodies and (any(was_low) or any(_touched(*_closed(b)) for b in bodies)):
        return _structured(eqn, invals)
    if name == "bitcast_convert_type" and any(was_low):
        raise Unwidened(
            "fn reinterprets the bits of a value below float64 (lax.bitcast_convert_type), "
            "which a float64 value does not have"
        )
    if name == "reduce_precision" and (any(was_low) or _float32_or_finer(params)):
        return invals[0]
    if name != "bitcast_convert_type":  # bits made into a float32: as written (_made)
        params = {k: _wide(v) if isinstance(v, np.dtype) else v for k, v in params.items()}
    with eqn.ctx.manager:
        return prim.bind(*invals, **prim.get_bind_params(params))


def _float32_or_finer(params: dict[str, Any]) -> bool:
    """Whether a ``reduce_precision`` rounds to float32's format or a finer one: a
    no-op on every value of a model that computes without x64 (attack26 h26:
    ``reduce_precision(W, 8, 23)`` of the float64 copy's ``W`` made that side float32
    noisy, and a 0.2% wrong rule passed within its noise)."""
    exponent, mantissa = int(params.get("exponent_bits", 0)), int(params.get("mantissa_bits", 0))
    return exponent >= 8 and mantissa >= 23


def _structured(eqn: Any, invals: list[Any]) -> Any:
    """An equation with a body below float64: inline, or rebuilt on widened bodies."""
    name, params = eqn.primitive.name, eqn.params
    if name in _CALLS:
        return _eval(*_closed(params["jaxpr"]), invals)
    if name == "cond":
        branches = [partial(_run, *_closed(b)) for b in params["branches"]]
        return lax.switch(invals[0], branches, *invals[1:])
    if name == "while":
        cn, bn = params["cond_nconsts"], params["body_nconsts"]
        cc, bc, init = invals[:cn], invals[cn : cn + bn], invals[cn + bn :]
        cond, body = _closed(params["cond_jaxpr"]), _closed(params["body_jaxpr"])
        return lax.while_loop(
            lambda c: _eval(*cond, [*cc, *c])[0], lambda c: _eval(*body, [*bc, *c]), init
        )
    if name == "scan":
        return _scan(params, invals)
    if name == "custom_jvp_call":
        return _custom_jvp(params, invals)
    if name == "custom_vjp_call" and _plain_vjp(params, invals):
        return _custom_vjp(params, invals)
    what = "a custom_vjp function" if name == "custom_vjp_call" else f"the primitive {name}"
    raise Unwidened(
        f"{what} in fn takes or computes values below float64 and cannot be run in "
        "float64 (only as it was traced)"
    )


def _run(jaxpr: Any, consts: list[Any], *args: Any) -> list[Any]:
    return _eval(jaxpr, consts, args)


def _scan(params: dict[str, Any], invals: list[Any]) -> list[Any]:
    """A ``scan`` rebuilt on its widened body."""
    nc, ncarry = params["num_consts"], params["num_carry"]
    consts, init, xs = invals[:nc], invals[nc : nc + ncarry], invals[nc + ncarry :]
    body = _closed(params["jaxpr"])

    def step(carry: list[Any], x: list[Any]) -> tuple[list[Any], list[Any]]:
        out = _eval(*body, [*consts, *carry, *x])
        return out[:ncarry], out[ncarry:]

    carry, ys = lax.scan(
        step,
        init,
        xs,
        length=params["length"],
        reverse=params["reverse"],
        unroll=params["unroll"],
    )
    return [*carry, *ys]


def _custom_jvp(params: dict[str, Any], invals: list[Any]) -> list[Any]:
    """A ``custom_jvp`` function rebuilt on its widened primal and its widened rule
    (``jax._src.custom_derivatives.lift_jvp``: the rule's jaxpr takes the primals and
    the tangents, closed-over constants left out)."""
    call, nconsts, rule = params["call_jaxpr"], params["num_consts"], params["jvp_jaxpr_fun"]
    consts, primals = invals[:nconsts], invals[nconsts:]

    @jax.custom_jvp
    def f(*xs: Any) -> list[Any]:
        return _eval(call.jaxpr, call.consts, [*consts, *xs])

    @f.defjvp
    def f_jvp(xs: Sequence[Any], ts: Sequence[Any]) -> tuple[list[Any], list[Any]]:
        jaxpr, rule_consts, out_zeros = rule.call_wrapped(*[False] * len(xs))
        out = _eval(jaxpr, rule_consts, [*xs, *ts])
        ps, nonzero = out[: len(out_zeros)], iter(out[len(out_zeros) :])
        tangents = [jnp.zeros_like(p) if z else next(nonzero) for p, z in zip(ps, out_zeros)]
        return ps, tangents

    return list(f(*primals))


def _plain_vjp(params: dict[str, Any], invals: list[Any]) -> bool:
    """Whether a ``custom_vjp`` function can be rebuilt (:func:`_custom_vjp`): no
    closed-over tracers, floating arguments only, no symbolic zeros."""
    floating = all(jnp.issubdtype(jnp.result_type(x), jnp.inexact) for x in invals)
    return params["num_consts"] == 0 and floating and not params["symbolic_zeros"]


def _custom_vjp(params: dict[str, Any], invals: list[Any]) -> list[Any]:
    """A ``custom_vjp`` function rebuilt on its widened primal, its widened forward rule
    and its backward rule (the user's Python function, run on the widened residuals
    and cotangents), as ``jax._src.interpreters.ad`` runs them: the forward rule's
    jaxpr returns the residuals it does not forward from the inputs, then the outputs
    (``out_trees()``: which residuals are inputs)."""
    call, thunk, bwd = params["call_jaxpr"], params["fwd_jaxpr_thunk"], params["bwd"]

    @jax.custom_vjp
    def f(*xs: Any) -> list[Any]:
        return _eval(call.jaxpr, call.consts, xs)

    def f_fwd(*xs: Any) -> tuple[list[Any], list[Any]]:
        jaxpr, consts = thunk.call_wrapped(*[True] * len(xs))
        out = _eval(jaxpr, consts, xs)
        _, res_tree, forwarded = params["out_trees"]()
        own = iter(out[: res_tree.num_leaves - sum(i is not None for i in forwarded)])
        res = [next(own) if i is None else xs[i] for i in forwarded]
        return out[len(out) - len(call.jaxpr.outvars) :], res

    def f_bwd(res: list[Any], cts: list[Any]) -> tuple[Any, ...]:
        grads = bwd.call_wrapped(*res, *cts)
        return tuple(_zeros(g, x) for g, x in zip(grads, invals))

    f.defvjp(f_fwd, f_bwd)
    return list(f(*invals))


def _zeros(g: Any, x: Any) -> Any:
    """A cotangent the backward rule left out (``None``: JAX's ``Zero``) as zeros."""
    return jnp.zeros_like(x) if type(g).__name__ in ("Zero", "SymbolicZero") else g


def in_dtype(grad: Callable[[list[Any]], Any], dtype: str) -> Callable[[list[Any]], list[Any]]:
    """``grad`` (of float64 arrays, under x64 mode: the float64 side's value and
    gradient) computed operation by operation in ``dtype``: traced at the float64
    arrays, every float64 value, constant and dtype parameter of its jaxpr made
    ``dtype`` (complex128: complex64). What the float64 finite differences verify,
    with the model's round-off and none of the code that acts only in the model's
    dtype (a backward rounding to bfloat16 when it sees float32: attack26 H10); it
    returns the flat leaves of ``grad``'s result, in ``dtype``."""
    low = np.dtype(jnp.bfloat16) if dtype == "bfloat16" else np.dtype(dtype)
    narrow = {np.dtype(np.float64): low, np.dtype(np.complex128): np.dtype(np.complex64)}

    def run(xs: list[Any]) -> list[Any]:
        closed = jax.make_jaxpr(grad)(xs)
        token = _MAP.set(narrow)
        try:
            return _eval(closed.jaxpr, closed.consts, [_widen(x) for x in xs])
        finally:
            _MAP.reset(token)

    return run


def reference(
    fn: Callable[[list[Any]], Any], names: list[str], dtype: str, forward: bool
) -> Callable[[dict[str, Any]], Gradient]:
    """The float64 side's value and gradient of ``fn`` (by ``jax.grad``, or by JVPs
    when ``forward``) computed operation by operation in ``dtype`` (:func:`in_dtype`),
    at a dict of float64 parameters named ``names``: the reference the model's own
    gradient is judged against (``gradcheck._roundoff_verdict``)."""

    def grad(xs: list[Any]) -> Any:
        return (fn(xs), forward_gradient(fn, xs)) if forward else jax.value_and_grad(fn)(xs)

    run = in_dtype(grad, dtype)

    def ref(tree: dict[str, Any]) -> Gradient:
        out = run([jnp.asarray(tree[n]) for n in names])
        return Gradient(float(out[0]), {n: widen(g) for n, g in zip(names, out[1:])})

    return ref
