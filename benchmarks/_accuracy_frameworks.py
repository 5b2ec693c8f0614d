"""The accuracy benchmark's framework cases: a torch float32 model through
``gradcheck.torch.check_module`` and a JAX float32 function through ``gradcheck.jax.check``.

Both are the tanh MLP of ``_accuracy_problems.mlp`` (same draws), so its NumPy float64
gradient is the exact one. An error ``e`` is planted in autograd's gradient without
touching the loss's value: the loss gains ``Σ e ⊙ (θ − stop_gradient(θ))``, which is
exactly 0 but has gradient ``e``. torch and jax are imported on first use.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from _accuracy_problems import Array, Case, Form, Grads, mlp

import gradcheck

__all__ = ["jax_case", "torch_case"]


def _float32_mlp(rng: np.random.Generator) -> tuple[Form, Array, Array]:
    """The MLP at a random size, its parameters rounded to float32; with X and y."""
    form = mlp(rng, int(rng.integers(2, 9)), int(rng.integers(3, 13)))
    for k, v in form.params.items():
        form.params[k] = v.astype(np.float32).astype(np.float64)
    return form, form.data["X"], form.data["y"]


def torch_case(rng: np.random.Generator) -> Case:
    """A float32 ``Linear → Tanh → Linear`` model with a mean-squared loss."""
    import torch

    import gradcheck.torch as gct

    form, xs, y = _float32_mlp(rng)
    d, h = form.params["W"].shape
    model = torch.nn.Sequential(torch.nn.Linear(d, h), torch.nn.Tanh(), torch.nn.Linear(h, 1))
    values = {
        "0.weight": form.params["W"].T,
        "0.bias": form.params["b"],
        "2.weight": form.params["v"][None, :],
        "2.bias": np.zeros(1),
    }
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.from_numpy(values[name]))
    model = model.float()
    tx = torch.from_numpy(xs).float()
    ty = torch.from_numpy(y).float()
    exact = form.grad(form.params)
    r = form.params["v"] @ np.tanh(xs @ form.params["W"] + form.params["b"]).T - y
    grad = {
        "0.weight": exact["W"].T,
        "0.bias": exact["b"],
        "2.weight": exact["v"][None, :],
        "2.bias": np.array([2 * r.mean()]),
    }
    point = {n: p.detach().double().numpy() for n, p in model.named_parameters()}

    def run(errors: Grads) -> gradcheck.Report:
        planted = {n: torch.from_numpy(e) for n, e in errors.items()}

        def loss_fn(m: Any) -> Any:
            out = m(tx.to(next(m.parameters()).dtype))[:, 0]
            loss = torch.mean((out - ty.to(out.dtype)) ** 2)
            for n, p in m.named_parameters():
                if n in planted:
                    loss = loss + torch.sum(planted[n].to(p.dtype) * (p - p.detach()))
            return loss

        return gct.check_module(model, loss_fn)

    names = tuple(point)
    return Case(point, grad, (names[int(rng.integers(len(names)))],), run)


def jax_case(rng: np.random.Generator) -> Case:
    """A float32 JAX function ``mean((tanh(X W + b) v − y)²)`` of ``{"W", "b", "v"}``."""
    import jax
    import jax.numpy as jnp

    import gradcheck.jax as gcj

    form, xs, y = _float32_mlp(rng)
    params = {k: jnp.asarray(v, dtype=jnp.float32) for k, v in form.params.items()}
    point = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}

    def run(errors: Grads) -> gradcheck.Report:
        planted = {k: np.asarray(e, dtype=np.float32) for k, e in errors.items()}

        def f(p: dict[str, Any]) -> Any:
            z = jnp.asarray(xs, dtype=p["W"].dtype) @ p["W"] + p["b"]
            loss = jnp.mean((jnp.tanh(z) @ p["v"] - jnp.asarray(y, dtype=p["W"].dtype)) ** 2)
            for k, e in planted.items():
                loss = loss + jnp.sum(e * (p[k] - jax.lax.stop_gradient(p[k])))
            return loss

        return gcj.check(f, params)

    names = tuple(params)
    return Case(point, form.grad(point), (names[int(rng.integers(len(names)))],), run)
