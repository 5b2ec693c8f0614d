"""The accuracy benchmark's NumPy problems: random costs with exact gradients.

A :class:`Form` is a cost and its hand-written gradient that both follow the dtype of
the parameters they are given (constants are cast to it), so the same form serves
float64, float32 declared (float32 parameters, float32 arithmetic) and float32 hidden
(float64 parameters, cast to float32 inside, a Python float out). A :class:`Case` is
what the benchmark checks: the point, the exact gradient there, and a ``run`` that
checks the gradient plus planted errors at gradcheck's default options.

Every problem is drawn from ``np.random.default_rng(seed)``: a family and a seed
reproduce it exactly (``benchmarks/accuracy.py --case FAMILY:SEED``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import gradcheck

__all__ = [
    "Array",
    "Case",
    "Form",
    "Grads",
    "maxpool_ties",
    "mixed_scales",
    "mlp",
    "near_kinks",
    "numpy_case",
    "random_form",
    "relu_kinks",
    "sharp",
    "sized",
]

Array = np.ndarray[Any, Any]
Grads = dict[str, Array]
Runner = Callable[[Grads], gradcheck.Report]


@dataclass(frozen=True)
class Form:
    """A cost and its exact gradient, both computed in the dtype of their argument."""

    params: Grads
    cost: Callable[[Grads], Any]
    grad: Callable[[Grads], Grads]
    data: Grads = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    """One reproducible check problem.

    Attributes:
        params: the point, as float64 arrays (for sizing planted errors).
        grad: the exact gradient there, float64.
        targets: the parameters an error may be planted in.
        run: ``run(errors)`` checks the gradient plus ``errors`` (name → float64 array
            added to that parameter's gradient; ``{}`` for the correct gradient).
    """

    params: Grads
    grad: Grads
    targets: tuple[str, ...]
    run: Runner


def _c(a: Any, like: Array) -> Array:
    """The constant ``a`` in the dtype of ``like``."""
    return np.asarray(a, dtype=like.dtype)


def sines(rng: np.random.Generator, n: int, scale: float = 1.0) -> Form:
    """``Σ aᵢ sin(bᵢ xᵢ / scale)`` at ``x ~ scale · N(0, 1)``."""
    a = rng.uniform(0.5, 2.0, n) * rng.choice([-1.0, 1.0], n)
    b = rng.uniform(0.3, 3.0, n) / scale
    x = scale * rng.standard_normal(n)

    def cost(p: Grads) -> Any:
        return np.sum(_c(a, p["x"]) * np.sin(_c(b, p["x"]) * p["x"]))

    def grad(p: Grads) -> Grads:
        x = p["x"]
        return {"x": _c(a, x) * _c(b, x) * np.cos(_c(b, x) * x)}

    return Form({"x": x}, cost, grad)


def mlp(rng: np.random.Generator, d: int, h: int, batch: int = 8, act: str = "tanh") -> Form:
    """``mean((act(X W + b) v − y)²)``, ``act`` tanh or relu (with relu'(0) = 0)."""
    xs, y = rng.standard_normal((batch, d)), rng.standard_normal(batch)
    params = {
        "W": rng.standard_normal((d, h)) / np.sqrt(d),
        "b": 0.1 * rng.standard_normal(h),
        "v": rng.standard_normal(h) / np.sqrt(h),
    }

    def forward(p: Grads) -> tuple[Array, Array, Array]:
        z = _c(xs, p["W"]) @ p["W"] + p["b"]
        t = np.tanh(z) if act == "tanh" else np.maximum(z, 0)
        return z, t, t @ p["v"] - _c(y, p["W"])

    def cost(p: Grads) -> Any:
        return np.mean(forward(p)[2] ** 2)

    def grad(p: Grads) -> Grads:
        z, t, r = forward(p)
        dr = 2 * r / _c(batch, r)
        dz = np.outer(dr, p["v"]) * ((1 - t**2) if act == "tanh" else (z > 0).astype(z.dtype))
        return {"W": _c(xs, p["W"]).T @ dz, "b": dz.sum(0), "v": t.T @ dr}

    return Form(params, cost, grad, {"X": xs, "y": y})


def rosenbrock(rng: np.random.Generator, n: int) -> Form:
    """``Σ 100 (xᵢ₊₁ − xᵢ²)² + (1 − xᵢ)²`` near its valley."""
    x = 1 + 0.3 * rng.standard_normal(n)

    def cost(p: Grads) -> Any:
        x = p["x"]
        return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

    def grad(p: Grads) -> Grads:
        x = p["x"]
        g = np.zeros_like(x)
        r = x[1:] - x[:-1] ** 2
        g[:-1] = -400 * x[:-1] * r - 2 * (1 - x[:-1])
        g[1:] += 200 * r
        return {"x": g}

    return Form({"x": x}, cost, grad)


def logsumexp_quadratic(rng: np.random.Generator, n: int, m: int) -> Form:
    """``logsumexp(A x) + ½ xᵀ Q x`` with ``Q`` positive semi-definite."""
    a = rng.standard_normal((m, n))
    half = rng.standard_normal((n, n)) / np.sqrt(n)
    q = half @ half.T
    x = rng.standard_normal(n)

    def cost(p: Grads) -> Any:
        x = p["x"]
        z = _c(a, x) @ x
        top = np.max(z)
        return top + np.log(np.sum(np.exp(z - top))) + 0.5 * x @ _c(q, x) @ x

    def grad(p: Grads) -> Grads:
        x = p["x"]
        z = _c(a, x) @ x
        w = np.exp(z - np.max(z))
        return {"x": _c(a, x).T @ (w / np.sum(w)) + _c(q, x) @ x}

    return Form({"x": x}, cost, grad)


def random_form(rng: np.random.Generator, seed: int) -> Form:
    """One of the four smooth forms (chosen by ``seed``), at a random small size."""
    kind = seed % 4
    if kind == 0:
        return sines(rng, int(rng.integers(1, 41)), float(10 ** rng.uniform(-1, 1)))
    if kind == 1:
        return mlp(rng, int(rng.integers(2, 6)), int(rng.integers(2, 7)))
    if kind == 2:
        return rosenbrock(rng, int(rng.integers(2, 21)))
    return logsumexp_quadratic(rng, int(rng.integers(2, 21)), int(rng.integers(2, 9)))


def numpy_case(
    form: Form,
    rng: np.random.Generator,
    *,
    dtype: Any = np.float64,
    hidden: bool = False,
    precomputed: bool = False,
    mode: str = "auto",
    targets: tuple[str, ...] = (),
) -> Case:
    """The :class:`Case` checking ``form`` through :func:`gradcheck.check`.

    ``dtype`` is the parameters' dtype; ``hidden`` keeps them float64 and computes the
    cost in float32 inside, returning a Python float; ``precomputed`` passes the
    gradient as arrays instead of a function; ``mode`` other than ``auto`` is passed on.
    ``targets`` defaults to one parameter drawn with ``rng``.
    """
    params64 = {k: np.asarray(v, dtype=np.float64) for k, v in form.params.items()}
    params = {k: v.astype(dtype) for k, v in params64.items()}
    cost = form.cost
    if hidden:

        def cost(p: Grads) -> Any:
            return float(form.cost({k: v.astype(np.float32) for k, v in p.items()}))

    names = tuple(params)
    chosen = targets or (names[int(rng.integers(len(names)))],)
    options = {} if mode == "auto" else {"mode": mode}

    def run(errors: Grads) -> gradcheck.Report:
        def grad(p: Grads) -> Grads:
            out = form.grad(p)
            return {
                k: (v + errors[k]).astype(v.dtype) if k in errors else v for k, v in out.items()
            }

        given: Any = grad(params) if precomputed else grad
        return gradcheck.check(cost, params, given, **options)

    exact = form.grad({k: v.astype(np.float64) for k, v in params.items()})
    point = {k: v.astype(np.float64) for k, v in params.items()}
    return Case(point, exact, chosen, run)


def sized(rng: np.random.Generator, seed: int, n: int) -> Form:
    """About ``n`` parameters: a sine sum (even seeds) or a tanh MLP (odd seeds)."""
    if seed % 2 == 0:
        return sines(rng, n, float(10 ** rng.uniform(-1, 1)))
    d = 20
    return mlp(rng, d, max(2, n // (d + 2)), batch=16)


def mixed_scales(rng: np.random.Generator, weight: float) -> Form:
    """``Σ sin(a / sa) + weight · Σ log(1 + (b / sb)²)``: b's gradient is ``weight``
    times a's, at parameter scales ``sa``, ``sb`` drawn from 1e-4 … 1e4."""
    na, nb = (int(k) for k in rng.integers(2, 11, 2))
    sa, sb = (float(10**s) for s in rng.uniform(-4, 4, 2))
    a, b = sa * rng.standard_normal(na), sb * rng.standard_normal(nb)

    def cost(p: Grads) -> Any:
        u = p["b"] / sb
        return np.sum(np.sin(p["a"] / sa)) + weight * np.sum(np.log1p(u * u))

    def grad(p: Grads) -> Grads:
        u = p["b"] / sb
        return {"a": np.cos(p["a"] / sa) / sa, "b": weight * 2 * u / (1 + u * u) / sb}

    return Form({"a": a, "b": b}, cost, grad)


def relu_kinks(rng: np.random.Generator) -> Form:
    """A ReLU MLP with a third of its hidden units zero-initialised (column of W and
    bias 0): every sample's pre-activation there is exactly 0, a kink, where the
    gradient follows the frameworks' relu'(0) = 0."""
    d, h = int(rng.integers(3, 7)), int(rng.integers(4, 9))
    form = mlp(rng, d, h, act="relu")
    dead = rng.choice(h, size=max(1, h // 3), replace=False)
    form.params["W"][:, dead] = 0.0
    form.params["b"][dead] = 0.0
    return form


def maxpool_ties(rng: np.random.Generator) -> Form:
    """``Σᵢ vᵢ maxⱼ xᵢⱼ + 0.1 Σ sin x`` with ``x`` on a coarse grid, so windows tie;
    the gradient sends ``vᵢ`` to the first maximum, as NumPy's argmax and the
    frameworks' max-pool do."""
    m, k = int(rng.integers(3, 11)), int(rng.integers(2, 5))
    x = 0.5 * rng.integers(-2, 3, (m, k)).astype(np.float64)
    v = rng.standard_normal(m)

    def cost(p: Grads) -> Any:
        return p["v"] @ np.max(p["x"], axis=1) + _c(0.1, p["x"]) * np.sum(np.sin(p["x"]))

    def grad(p: Grads) -> Grads:
        x = p["x"]
        first = np.zeros_like(x)
        first[np.arange(x.shape[0]), np.argmax(x, axis=1)] = 1
        return {"x": first * p["v"][:, None] + _c(0.1, x) * np.cos(x), "v": np.max(x, axis=1)}

    return Form({"x": x, "v": v}, cost, grad)


def sharp(rng: np.random.Generator) -> Form:
    """``Σ log1p((x / w)²)`` with ``w ≈ 5e-7`` and one or two entries within 4 w of 0
    (features far sharper than the step), the rest near ±1e-2."""
    n = int(rng.integers(3, 9))
    w = 5e-7 * float(10 ** rng.uniform(-0.3, 0.3))
    x = rng.choice([-1.0, 1.0], n) * 10 ** rng.uniform(-2.3, -1.7, n)
    near = rng.choice(n, size=int(rng.integers(1, 3)), replace=False)
    x[near] = w * rng.uniform(-4, 4, near.size)

    def cost(p: Grads) -> Any:
        return np.sum(np.log1p((p["x"] / _c(w, p["x"])) ** 2))

    def grad(p: Grads) -> Grads:
        x = p["x"]
        return {"x": 2 * x / (_c(w, x) ** 2 + x**2)}

    return Form({"x": x}, cost, grad)


def near_kinks(rng: np.random.Generator) -> Form:
    """``Σ aᵢ |xᵢ| + 0.1 Σ sin x`` with one or two entries within 1e-9 … 1e-6 of the kink
    at 0 (inside one central-difference step), the rest ~ N(0, 1); the gradient is
    ``a sign(x) + 0.1 cos x``, smooth at every point checked."""
    n = int(rng.integers(3, 9))
    a = rng.uniform(0.5, 2.0, n)
    x = rng.standard_normal(n)
    near = rng.choice(n, size=int(rng.integers(1, 3)), replace=False)
    x[near] = rng.choice([-1.0, 1.0], near.size) * 10 ** rng.uniform(-9, -6, near.size)

    def cost(p: Grads) -> Any:
        x = p["x"]
        return np.sum(_c(a, x) * np.abs(x)) + _c(0.1, x) * np.sum(np.sin(x))

    def grad(p: Grads) -> Grads:
        x = p["x"]
        return {"x": _c(a, x) * np.sign(x) + _c(0.1, x) * np.cos(x)}

    return Form({"x": x}, cost, grad)
