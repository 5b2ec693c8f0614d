"""Public JAX cases: the custom derivative rules of JAX's documentation.

Source: jax-ml/jax, docs/notebooks/Custom_derivative_rules_for_Python_code.md. Each
rule is transcribed (restyled); a ``bug`` argument plants one mistake. They are checked
in float64 with ``gradcheck.jax.check_function`` (or ``gradcheck.jax.check`` for a
scalar cost) and ``jax.test_util.check_grads(order=1, modes=["rev"])``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np

import gradcheck.jax as gj
from _public_base import Case, Run, Source, Variant, guarded

__all__ = ["CASES", "jax_run"]

Fn = Callable[..., Any]
_DOC = (
    "jax-ml/jax",
    "docs/notebooks/Custom_derivative_rules_for_Python_code.md",
    "ce92e479702b0642060c364b403675762eb22b1e",
    "Apache-2.0",
)


def _src(what: str) -> Source:
    return Source(*_DOC, what)


def _peer(fn: Fn, xs: tuple[Any, ...]) -> bool:
    try:
        jax.test_util.check_grads(fn, xs, order=1, modes=["rev"])
    except AssertionError:
        return False
    return True


def jax_run(fn: Fn, *args: Any, scalar: bool = False, float32: bool = False) -> Callable[[], Run]:
    """A runner: gradcheck's VJP check (``modes=("rev",)``, as the peer's), or with
    ``scalar`` its ``check`` of the scalar ``fn(x)`` (one argument, named ``x``), then
    jax's ``check_grads``; in float64, or
    with ``float32`` in JAX's default precision (gradcheck still checks the formula in
    float64 by itself, its default)."""

    def run() -> Run:
        dtype = np.float32 if float32 else np.float64
        with jax.enable_x64(not float32):
            xs = tuple(jnp.asarray(np.asarray(a, dtype)) for a in args)
            if scalar:
                report, error = guarded(lambda: gj.check(lambda p: fn(p["x"]), {"x": xs[0]}))
            else:
                report, error = guarded(lambda: gj.check_function(fn, *xs, modes=("rev",)))
            return Run(report, None, _peer(fn, xs), error)

    return run


def sin_times_y_jvp(bug: bool) -> Fn:
    @jax.custom_jvp
    def f(x: Any, y: Any) -> Any:
        return jnp.sin(x) * y

    @f.defjvp
    def f_jvp(primals: Any, tangents: Any) -> Any:
        x, y = primals
        x_dot, y_dot = tangents
        cos = -jnp.cos(x) if bug else jnp.cos(x)
        return f(x, y), cos * x_dot * y + jnp.sin(x) * y_dot

    return f


def sin_times_y_vjp(bug: bool) -> Fn:
    @jax.custom_vjp
    def f(x: Any, y: Any) -> Any:
        return jnp.sin(x) * y

    def f_fwd(x: Any, y: Any) -> Any:
        res = (jnp.sin(x), jnp.cos(x), y) if bug else (jnp.cos(x), jnp.sin(x), y)
        return f(x, y), res

    def f_bwd(res: Any, g: Any) -> Any:
        cos_x, sin_x, y = res
        return cos_x * g * y, sin_x * g

    f.defvjp(f_fwd, f_bwd)
    return f


def log1pexp(bug: bool) -> Fn:
    @jax.custom_jvp
    def f(x: Any) -> Any:
        return jnp.log(1.0 + jnp.exp(x))

    @f.defjvp
    def f_jvp(primals: Any, tangents: Any) -> Any:
        (x,), (x_dot,) = primals, tangents
        slope = 1 / (1 + jnp.exp(x)) if bug else 1 - 1 / (1 + jnp.exp(x))
        return f(x), slope * x_dot

    return f


def x_over_1p_sqrt(bug: bool) -> Fn:
    @jax.custom_jvp
    def f(x: Any) -> Any:
        return x / (1 + jnp.sqrt(x))

    two = 1 if bug else 2
    f.defjvps(lambda t, ans, x: ((jnp.sqrt(x) + 2) / (two * (jnp.sqrt(x) + 1) ** 2)) * t)
    return f


def x2_times_y(bug: bool) -> Fn:
    @jax.custom_jvp
    def f(x: Any, y: Any) -> Any:
        return x**2 * y

    two = 1 if bug else 2
    f.defjvps(lambda x_dot, ans, x, y: two * x * y * x_dot, lambda y_dot, ans, x, y: x**2 * y_dot)
    return f


def newton_sqrt(bug: bool) -> Fn:
    """``newton_sqrt`` through ``fixed_point`` with its implicit-function VJP."""

    @partial(jax.custom_vjp, nondiff_argnums=(0,))
    def fixed_point(f: Fn, a: Any, x_guess: Any) -> Any:
        def cond_fun(carry: Any) -> Any:
            x_prev, x = carry
            return jnp.abs(x_prev - x) > 1e-6

        def body_fun(carry: Any) -> Any:
            _, x = carry
            return x, f(a, x)

        _, x_star = jax.lax.while_loop(cond_fun, body_fun, (x_guess, f(a, x_guess)))
        return x_star

    def fixed_point_fwd(f: Fn, a: Any, x_init: Any) -> Any:
        x_star = fixed_point(f, a, x_init)
        return x_star, (a, x_star)

    def rev_iter(f: Fn, packed: Any, u: Any) -> Any:
        a, x_star, x_star_bar = packed
        _, vjp_x = jax.vjp(lambda x: f(a, x), x_star)
        return vjp_x(u)[0] if bug else x_star_bar + vjp_x(u)[0]

    def fixed_point_rev(f: Fn, res: Any, x_star_bar: Any) -> Any:
        a, x_star = res
        _, vjp_a = jax.vjp(lambda a: f(a, x_star), a)
        w = fixed_point(partial(rev_iter, f), (a, x_star, x_star_bar), x_star_bar)
        (a_bar,) = vjp_a(w)
        return a_bar, jnp.zeros_like(x_star)

    fixed_point.defvjp(fixed_point_fwd, fixed_point_rev)

    def sqrt(a: Any) -> Any:
        return fixed_point(lambda a, x: 0.5 * (x + a / x), a, a)

    return sqrt


@jax.custom_vjp
def clip_gradient(lo: Any, hi: Any, x: Any) -> Any:
    return x


def _clip_fwd(lo: Any, hi: Any, x: Any) -> Any:
    return x, (lo, hi)


def _clip_bwd(res: Any, g: Any) -> Any:
    lo, hi = res
    return None, None, jnp.clip(g, lo, hi)


clip_gradient.defvjp(_clip_fwd, _clip_bwd)


def clip_sin_sum(x: Any) -> Any:
    """``clip_sin`` of the documentation, summed: the gradient is cos(x) clipped to ±0.75."""
    return jnp.sum(jnp.sin(clip_gradient(-0.75, 0.75, x)))


def control_flow(corrected: bool) -> Fn:
    """The documentation's Python-control-flow ``custom_jvp``: its rule says 2 and 3."""

    @jax.custom_jvp
    def f(x: Any) -> Any:
        if x > 0:
            return jnp.sin(x)
        return jnp.cos(x)

    @f.defjvp
    def f_jvp(primals: Any, tangents: Any) -> Any:
        (x,), (x_dot,) = primals, tangents
        if x > 0:
            return f(x), (jnp.cos(x) if corrected else 2) * x_dot
        return f(x), (-jnp.sin(x) if corrected else 3) * x_dot

    return f


def _pair(
    name: str,
    what: str,
    make: Callable[[bool], Fn],
    bug: str,
    wrong: tuple[str, ...],
    *args: Any,
    float32: bool = False,
) -> Case:
    variants = [
        Variant("published", "passed", jax_run(make(False), *args)),
        Variant(f"bug: {bug}", "failed", jax_run(make(True), *args), wrong),
    ]
    if float32:
        why = "float32, JAX's default"
        variants += [
            Variant(f"published, {why}", "passed", jax_run(make(False), *args, float32=True)),
            Variant(
                f"bug: {bug}, {why}", "failed", jax_run(make(True), *args, float32=True), wrong
            ),
        ]
    return Case(name, "jax", _src(what), tuple(variants))


_X = np.array([0.3, -1.2, 0.7, 2.0])
_Y = np.array([1.5, 0.4, -0.8, 1.1])

CASES: tuple[Case, ...] = (
    _pair(
        "jax docs sin(x)·y custom_jvp",
        "f(x, y) = sin(x) * y with f_jvp",
        sin_times_y_jvp,
        "wrong sign",
        ("input0",),
        _X,
        _Y,
    ),
    _pair(
        "jax docs sin(x)·y custom_vjp",
        "f(x, y) = sin(x) * y with f_fwd/f_bwd",
        sin_times_y_vjp,
        "residuals swapped",
        ("input0", "input1"),
        _X,
        _Y,
    ),
    _pair(
        "jax docs log1pexp",
        "log1pexp with its stable custom_jvp",
        log1pexp,
        "the 1 − dropped",
        ("input0",),
        np.array([-3.0, 0.5, 3.0, 30.0, 80.0]),
        float32=True,
    ),
    _pair(
        "jax docs x/(1+√x)",
        "f(x) = x / (1 + sqrt(x)) with its custom_jvp on R+",
        x_over_1p_sqrt,
        "factor 2 lost",
        ("input0",),
        np.array([0.5, 2.0, 7.0]),
    ),
    _pair(
        "jax docs x²·y defjvps",
        "f(x, y) = x ** 2 * y with defjvps",
        x2_times_y,
        "factor 2 lost",
        ("input0",),
        _X,
        _Y,
    ),
    _pair(
        "jax docs newton_sqrt",
        "fixed_point with its custom_vjp (rev_iter); newton_sqrt",
        newton_sqrt,
        "x_star_bar dropped in rev_iter",
        ("input0",),
        np.array(2.0),
    ),
    Case(
        "jax docs clip_gradient",
        "jax",
        _src("clip_gradient (custom_vjp) and clip_sin"),
        (
            Variant(
                "published where |cos x| < 0.75",
                "passed",
                jax_run(clip_sin_sum, np.array([1.0, 1.5, 2.0]), scalar=True),
                note="the clip is inactive for the gradient (cotangent 1): the rule is the "
                "derivative there; check_grads' random cotangent activates it (the rule is "
                "not linear in the cotangent)",
            ),
            Variant(
                "published where |cos x| > 0.75",
                "failed",
                jax_run(clip_sin_sum, np.array([0.1, 1.5, 3.0]), scalar=True),
                ("x",),
                (("x", (0,)), ("x", (2,))),
                note="the clip is active: not the derivative",
            ),
        ),
    ),
    Case(
        "jax docs control-flow custom_jvp",
        "jax",
        _src(
            "f with Python control flow; its "
            "f_jvp returns 2 and 3 (an API illustration, not a derivative)"
        ),
        (
            Variant(
                "published", "failed", jax_run(control_flow(False), np.array(1.0)), ("input0",)
            ),
            Variant(
                "rule corrected to cos / −sin (ours)",
                "passed",
                jax_run(control_flow(True), np.array(1.0)),
            ),
        ),
    ),
)
