"""The peers, on the same MLP: torch.autograd.gradcheck, jax check_grads, a naive loop.

Torch's bugs are planted with a custom ``autograd.Function`` that is the identity
forward and corrupts the backward: ``"x2"`` doubles the weight gradient, ``"sign"``
flips the bias gradient, ``"entry"`` scales one weight-gradient entry by ``1 + 1e-3``.
"""

from __future__ import annotations

import importlib
import time
from typing import Any

import numpy as np
from _models import MLP

__all__ = ["TorchModel", "jax_check_grads", "naive_loop", "torch_gradcheck"]


class TorchModel:
    """The MLP in torch (float64, one thread), with an optional planted bug."""

    def __init__(self, model: MLP, bug: str | None = None, entry: int = 0) -> None:
        import torch

        torch.set_num_threads(1)
        self.torch = torch
        self.xs = torch.tensor(model.xs)
        self.inputs = tuple(
            torch.tensor(model.params[k], requires_grad=True) for k in ("W", "b", "v")
        )
        self.bug, self.entry = bug, entry

        class Bad(torch.autograd.Function):
            @staticmethod
            def forward(ctx: Any, w: Any) -> Any:
                return w.clone()

            @staticmethod
            def backward(ctx: Any, g: Any) -> Any:
                if bug == "x2":
                    return 2 * g
                if bug == "sign":
                    return -g
                g = g.clone()
                g.view(-1)[entry] *= 1 + 1e-3
                return g

        self.bad = Bad

    def forward(self, w: Any, b: Any, v: Any) -> Any:
        """The cost, with the planted bug in the backward pass."""
        if self.bug in ("x2", "entry"):
            w = self.bad.apply(w)  # type: ignore[no-untyped-call]
        if self.bug == "sign":
            b = self.bad.apply(b)  # type: ignore[no-untyped-call]
        return self.torch.mean((self.torch.tanh(self.xs @ w + b) @ v) ** 2)

    def plain(self) -> Any:
        """One forward pass at the parameters, without autograd."""
        with self.torch.no_grad():
            return self.forward(*self.inputs)

    def gradcheck(self, fast: bool) -> tuple[float, bool]:
        """``torch.autograd.gradcheck`` (default tolerances); ``(seconds, passed)``.

        A failing fast-mode check recomputes the whole Jacobian in slow mode only to
        build its error message (``_run_slow_mode_and_get_error``: 2N forward passes,
        hours at N = 10⁶). The verdict is decided before that, so the benchmark
        replaces it with an empty message: the verdict is torch's, the time is not
        that of a failing torch check (which is as slow as slow mode).
        """
        return torch_gradcheck(self.forward, self.inputs, fast_mode=fast)


def torch_gradcheck(fn: Any, inputs: tuple[Any, ...], **options: Any) -> tuple[float, bool]:
    """``torch.autograd.gradcheck(fn, inputs, **options)``; ``(seconds, passed)``.

    Default tolerances, ``raise_exception=False``. A failing fast-mode check's error
    message builder (``_run_slow_mode_and_get_error``) is patched out: see
    :meth:`TorchModel.gradcheck`.
    """
    import torch

    tgc: Any = importlib.import_module("torch.autograd.gradcheck")  # the module
    saved = tgc._run_slow_mode_and_get_error
    tgc._run_slow_mode_and_get_error = lambda *a, **k: ""
    try:
        t = time.perf_counter()
        ok = torch.autograd.gradcheck(fn, inputs, raise_exception=False, **options)
        return time.perf_counter() - t, bool(ok)
    finally:
        tgc._run_slow_mode_and_get_error = saved


def jax_check_grads(model: MLP, repeats: int = 5) -> float:
    """``jax.test_util.check_grads`` (reverse mode, order 1) on the jitted MLP.

    Best seconds of ``repeats`` calls, after one untimed call that compiles the
    function and its derivatives.
    """
    import jax
    import jax.numpy as jnp
    from jax.test_util import check_grads

    jax.config.update("jax_enable_x64", True)  # type: ignore[no-untyped-call]
    jx = jnp.asarray(model.xs)
    f = jax.jit(lambda q: jnp.mean((jnp.tanh(jx @ q["W"] + q["b"]) @ q["v"]) ** 2))
    q = {k: jnp.asarray(v) for k, v in model.params.items()}
    times = []
    for _ in range(repeats + 1):
        t = time.perf_counter()
        check_grads(f, (q,), order=1, modes=["rev"])  # type: ignore[no-untyped-call]
        times.append(time.perf_counter() - t)
    return min(times[1:])


def naive_loop(model: MLP, eps: float = 1e-6) -> float:
    """The lesson's loop: two cost evaluations per entry, one entry at a time; seconds."""
    p = {k: v.copy() for k, v in model.params.items()}
    grad = model.grad(p)
    t = time.perf_counter()
    worst = 0.0
    for k in p:
        flat = p[k].reshape(-1)
        g = grad[k].reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            jp = model.cost(p)
            flat[i] = old - eps
            jm = model.cost(p)
            flat[i] = old
            num = (jp - jm) / (2 * eps)
            worst = max(worst, abs(num - g[i]) / max(abs(num), abs(g[i]), 1e-30))
    sec = time.perf_counter() - t
    assert np.isfinite(worst)
    return sec
