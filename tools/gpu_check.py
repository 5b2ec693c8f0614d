"""Verdicts and state isolation on a CUDA machine (torch on the GPU, JAX on the GPU).

The suite runs on CPUs only (CI has no accelerator). This script is the device check a
session runs when it is lent a GPU: right models on the GPU must pass (TF32 convolutions
and cuDNN kernels included), planted bugs must fail, and the CUDA RNG states, parameters,
buffers, ``.grad``, ``requires_grad``, train/eval mode and NumPy's and ``random``'s global
states must be exactly as before, also after the loss raised or a Ctrl-C landed mid-check
(the cases of the former ``tools/cuda_check.py``). Without a GPU it runs on the CPU. It
prints one line a case and writes the rows as JSON.

Run (on the GPU machine, from the repository root)::

    PYTHONPATH=src python tools/gpu_check.py torch out.json
    XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONPATH=src python tools/gpu_check.py jax out.json

Each row: the case, the statuses it may have, the status it got, and whether the
user's state came back. Exit status 1 where a row is wrong.
"""

from __future__ import annotations

import json
import random
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

ROWS: list[dict[str, Any]] = []


def record(case: str, expect: set[str], got: str, detail: str = "") -> None:
    """Keep one row and print it."""
    ok = got in expect
    ROWS.append({"case": case, "expect": sorted(expect), "got": got, "ok": ok, "detail": detail})
    want = "/".join(sorted(expect))
    print(f"{'ok ' if ok else 'BAD'} {case:<44} expect {want:<20} got {got:<12} {detail}")
    sys.stdout.flush()


def attempt(case: str, expect: set[str], run: Callable[[], tuple[str, str]]) -> None:
    """Run one case; an exception is a row of its own ("raised")."""
    try:
        got, detail = run()
    except Exception as exc:  # every failure is a row
        got, detail = "raised", f"{type(exc).__name__}: {str(exc)[:300]}"
        traceback.print_exc(limit=3)
    record(case, expect, got, detail)


# --------------------------------------------------------------------------- torch


def torch_cases() -> None:
    import torch
    from torch import nn

    import gradcheck
    import gradcheck.torch as gt

    dev = "cuda" if torch.cuda.is_available() else "cpu"
    print(
        f"torch {torch.__version__} on {dev}"
        + (f" ({torch.cuda.get_device_name(0)})" if dev == "cuda" else ""),
        f"cudnn.allow_tf32={torch.backends.cudnn.allow_tf32}",
        f"matmul.allow_tf32={torch.backends.cuda.matmul.allow_tf32}",
    )

    class Scaled(torch.autograd.Function):
        """Identity whose backward multiplies by ``factor`` (1 = right)."""

        @staticmethod
        def forward(ctx: Any, x: torch.Tensor, factor: float) -> torch.Tensor:
            ctx.factor = factor
            return x.clone()

        @staticmethod
        def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor, None]:
            if ctx.factor == 0 and g.dtype == torch.bfloat16:  # rounds to float8, in bf16 only
                return g.to(torch.float8_e4m3fn).to(g.dtype), None
            return g * (ctx.factor or 1.0), None

    def mlp(
        dtype: torch.dtype, factor: float = 1.0
    ) -> tuple[nn.Module, Callable[[nn.Module], Any]]:
        torch.manual_seed(0)
        lin1, lin2 = nn.Linear(20, 32), nn.Linear(32, 5)

        class M(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.lin1, self.lin2 = lin1, lin2

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                return self.lin2(torch.tanh(Scaled.apply(self.lin1(x), factor)))

        model = M().to(dev, dtype)
        x = torch.randn(16, 20, device=dev, dtype=dtype)
        y = torch.randint(0, 5, (16,), device=dev)
        return model, lambda m: nn.functional.cross_entropy(m(x), y)

    def cnn(dtype: torch.dtype) -> tuple[nn.Module, Callable[[nn.Module], Any]]:
        torch.manual_seed(1)
        model = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.Dropout(0.2),
            nn.Conv2d(8, 4, 3),
            nn.Flatten(),
            nn.Linear(4 * 6 * 6, 3),
        ).to(dev, dtype)
        x = torch.randn(4, 3, 8, 8, device=dev, dtype=dtype)
        y = torch.randint(0, 3, (4,), device=dev)
        return model, lambda m: nn.functional.cross_entropy(m(x), y)

    def lstm(dtype: torch.dtype) -> tuple[nn.Module, Callable[[nn.Module], Any]]:
        torch.manual_seed(2)

        class L(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.rnn = nn.LSTM(6, 12, batch_first=True)
                self.head = nn.Linear(12, 2)

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                out, _ = self.rnn(x)
                return self.head(out[:, -1])

        model = L().to(dev, dtype)
        x = torch.randn(3, 7, 6, device=dev, dtype=dtype)
        return model, lambda m: (m(x) ** 2).mean()

    def attn(dtype: torch.dtype) -> tuple[nn.Module, Callable[[nn.Module], Any]]:
        torch.manual_seed(3)
        model = nn.MultiheadAttention(16, 4, batch_first=True, dropout=0.1).to(dev, dtype)
        x = torch.randn(2, 5, 16, device=dev, dtype=dtype)
        mask = torch.tensor([[False] * 5, [False] * 3 + [True] * 2], device=dev)
        return model, lambda m: m(x, x, x, key_padding_mask=mask)[0].square().mean()

    def snapshot(model: nn.Module) -> dict[str, Any]:
        state: dict[str, Any] = {
            "numpy_rng": repr(np.random.get_state()[1].tolist()),
            "python_rng": random.getstate(),
            "cpu_rng": torch.get_rng_state().clone(),
            "requires_grad": [p.requires_grad for p in model.parameters()],
            "mode": [m.training for m in model.modules()],
            "params": {k: v.detach().clone() for k, v in model.named_parameters()},
            "buffers": {k: v.clone() for k, v in model.named_buffers()},
            "grads": {
                k: None if v.grad is None else v.grad.clone() for k, v in model.named_parameters()
            },
        }
        if dev == "cuda":
            state["cuda_rng"] = [s.clone() for s in torch.cuda.get_rng_state_all()]
        return state

    def same(a: Any, b: Any) -> bool:
        if isinstance(a, dict):
            return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        if isinstance(a, list):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
        if isinstance(a, torch.Tensor):
            return (
                isinstance(b, torch.Tensor)
                and a.dtype == b.dtype
                and a.device == b.device
                and torch.equal(a, b)
            )
        return bool(a == b)

    def module_case(
        build: Callable[[], tuple[nn.Module, Callable[[nn.Module], Any]]],
        train: bool,
        **options: Any,
    ) -> tuple[str, str]:
        model, loss = build()
        model.train(train)
        first = next(model.parameters())
        first.grad = torch.full_like(first, 0.25)  # a user's .grad, kept as is
        torch.manual_seed(1234)
        np.random.seed(5)
        random.seed(6)
        if dev == "cuda":
            torch.cuda.manual_seed_all(4321)
            torch.randn(3, device=dev)  # a CUDA state that is not a fresh seed
        before = snapshot(model)
        try:
            report = gt.check_module(model, loss, **options)
        except (gradcheck.GradcheckError, KeyboardInterrupt) as exc:
            # the loss raised or was interrupted (below): the state must still be back
            moved = [k for k in before if not same(before[k], snapshot(model)[k])]
            kind = "KeyboardInterrupt" if isinstance(exc, KeyboardInterrupt) else "GradcheckError"
            got = kind if not moved else "state-moved"
            return got, ("STATE MOVED: " + ",".join(moved) + " " if moved else "") + str(exc)[:80]
        after = snapshot(model)
        moved = [k for k in before if not same(before[k], after[k])]
        worst = report.worst[:1]
        detail = ("STATE MOVED: " + ",".join(moved) + " ") if moved else ""
        detail += f"{report.seconds:.2f}s {str(worst)[:120]}"
        if report.status != "passed":
            detail += " | " + " | ".join(m[:160] for m in report.messages[:4])
        return (report.status if not moved else "state-moved"), detail

    f32, f64 = torch.float32, torch.float64
    right = {"passed"}
    for dt in (f32, f64):
        name = str(dt).removeprefix("torch.")
        attempt(f"mlp {name} right", right, lambda dt=dt: module_case(lambda: mlp(dt), True))
        attempt(
            f"cnn+bn+dropout {name} train", right, lambda dt=dt: module_case(lambda: cnn(dt), True)
        )
        attempt(f"cnn+bn {name} eval", right, lambda dt=dt: module_case(lambda: cnn(dt), False))
        attempt(f"lstm(cudnn) {name}", right, lambda dt=dt: module_case(lambda: lstm(dt), True))
        attempt(
            f"attention+dropout {name}", right, lambda dt=dt: module_case(lambda: attn(dt), True)
        )
        wrong = 1.01 if dt == f32 else 1.0001
        attempt(
            f"mlp {name} backward x{wrong}",
            {"failed"},
            lambda dt=dt, wrong=wrong: module_case(lambda: mlp(dt, wrong), True),
        )
    attempt(
        "mlp float32 precision=model",
        right | {"inconclusive"},
        lambda: module_case(lambda: mlp(f32), True, precision="model"),
    )
    half = right | {"inconclusive"}
    bf16 = torch.bfloat16
    attempt("mlp bfloat16 right", half, lambda: module_case(lambda: mlp(bf16), True))
    attempt("cnn+bn+dropout bfloat16 train", half, lambda: module_case(lambda: cnn(bf16), True))
    attempt("lstm(cudnn) bfloat16", half, lambda: module_case(lambda: lstm(bf16), True))
    attempt("attention+dropout bfloat16", half, lambda: module_case(lambda: attn(bf16), True))
    attempt(  # attack27 H47: a backward rounding to float8 in bfloat16 only
        "mlp bfloat16 float8 backward",
        {"failed", "inconclusive"},
        lambda: module_case(lambda: mlp(bf16, 0.0), True),
    )
    attempt(
        "mlp float64 mode=directional",
        right,
        lambda: module_case(lambda: mlp(f64), True, mode="directional"),
    )
    attempt("mlp float64 order=2", right, lambda: module_case(lambda: mlp(f64), False, order=2))

    # from tools/cuda_check.py: a loss drawing its minibatch from the global RNGs (torch on
    # the device, NumPy), a loss raising mid-check, a Ctrl-C mid-check (state back)
    def minibatch(dtype: torch.dtype) -> tuple[nn.Module, Callable[[nn.Module], Any]]:
        model, _ = cnn(dtype)
        x = torch.randn(16, 3, 8, 8, device=dev, dtype=dtype)
        y = torch.randint(0, 3, (16,), device=dev)

        def loss(m: nn.Module) -> Any:
            i = torch.randint(0, 16, (8,), device=dev)
            return nn.functional.cross_entropy(m(x[i]), y[i]) + 0 * float(np.random.rand())

        return model, loss

    def raising(exc: type[BaseException], at: int) -> Callable[[], Any]:
        """A loss that raises ``exc`` at call ``at`` (an error: at every call from it on)."""

        def build() -> tuple[nn.Module, Callable[[nn.Module], Any]]:
            model, loss = cnn(f32)
            calls = [0]

            def raises(m: nn.Module) -> Any:
                calls[0] += 1
                if calls[0] == at or (calls[0] > at and exc is not KeyboardInterrupt):
                    raise exc("planted")
                return loss(m)

            return model, raises

        return build

    attempt(
        "cnn+dropout global-RNG minibatch", right, lambda: module_case(lambda: minibatch(f32), True)
    )
    attempt(
        "cnn+dropout loss raises mid-check",
        {"GradcheckError"},
        lambda: module_case(raising(RuntimeError, 6), True),
    )
    for at in (1, 6, 40):
        attempt(
            f"cnn+dropout Ctrl-C at loss call {at}",
            {"KeyboardInterrupt"},
            lambda at=at: module_case(raising(KeyboardInterrupt, at), True),
        )

    # check_function: a custom Function with a jvp, on the GPU.
    class Mul(torch.autograd.Function):
        """y = x * sin(w), with backward and jvp; ``bad`` plants a bug in one rule."""

        bad = ""

        @staticmethod
        def forward(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
            return x * torch.sin(w)

        @staticmethod
        def setup_context(ctx: Any, inputs: Any, output: Any) -> None:
            ctx.save_for_backward(*inputs)
            ctx.save_for_forward(*inputs)

        @staticmethod
        def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            x, w = ctx.saved_tensors
            gw = g * x * torch.cos(w)
            return g * torch.sin(w), (gw * 1.1 if Mul.bad == "vjp" else gw)

        @staticmethod
        def jvp(ctx: Any, tx: torch.Tensor, tw: torch.Tensor) -> torch.Tensor:
            x, w = ctx.saved_tensors
            t = tx * torch.sin(w) + x * torch.cos(w) * tw
            return -t if Mul.bad == "jvp" else t

    def function_case(bad: str, **options: Any) -> tuple[str, str]:
        Mul.bad = bad
        g = torch.Generator(device=dev).manual_seed(5)
        x = torch.randn(40, device=dev, dtype=f64, generator=g, requires_grad=True)
        w = torch.randn(40, device=dev, dtype=f64, generator=g, requires_grad=True)
        x0, w0 = x.detach().clone(), w.detach().clone()
        report = gt.check_function(Mul.apply, x, w, **options)
        moved = not (torch.equal(x, x0) and torch.equal(w, w0)) or x.grad is not None
        failed = [k for k, r in report.parameters.items() if r.status == "failed"]
        return (
            "state-moved" if moved else report.status
        ), f"failed: {failed} {report.seconds:.2f}s"

    attempt("Function right rev+fwd", right, lambda: function_case(""))
    xs = torch.randn(5, device=dev, dtype=f64, requires_grad=True)
    attempt("function sin right", right, lambda: (gt.check_function(torch.sin, xs).status, ""))
    attempt("Function wrong vjp", {"failed"}, lambda: function_case("vjp"))
    attempt("Function wrong jvp", {"failed"}, lambda: function_case("jvp"))

    def order2_case(detach: bool) -> tuple[str, str]:
        class Cube(torch.autograd.Function):
            @staticmethod
            def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
                ctx.save_for_backward(x)
                return x**3

            @staticmethod
            def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
                (x,) = ctx.saved_tensors
                x = x.detach() if detach else x
                return g * 3 * x**2

        x = torch.randn(30, device=dev, dtype=f64, requires_grad=True)
        report = gt.check_function(Cube.apply, x, order=2)
        return report.status, f"{report.seconds:.2f}s"

    attempt("order=2 right Function", right, lambda: order2_case(False))
    attempt("order=2 backward detaches", {"failed"}, lambda: order2_case(True))

    # One timing beside the peer, on the same device (not a benchmark: one run each).
    import torch.autograd as ag

    for n in (10**4, 10**6):
        x = torch.randn(n, device=dev, dtype=f64, requires_grad=True)

        def fn(t: torch.Tensor) -> torch.Tensor:
            return (torch.sin(t) * t).sum()

        ag.gradcheck(fn, (x,), fast_mode=True)  # warm-up
        t0 = time.perf_counter()
        ag.gradcheck(fn, (x,), fast_mode=True)
        peer = time.perf_counter() - t0
        gt.check_function(fn, x, mode="directional", modes=("rev",))
        t0 = time.perf_counter()
        report = gt.check_function(fn, x, mode="directional", modes=("rev",))
        ours = time.perf_counter() - t0
        record(
            f"timing n={n} directional vs fast_mode",
            {"passed"},
            report.status,
            f"ours {ours:.3f}s torch {peer:.3f}s ratio {ours / peer:.2f}",
        )


# --------------------------------------------------------------------------- jax


def jax_cases() -> None:
    import jax
    import jax.numpy as jnp

    import gradcheck.jax as gj

    print(f"jax {jax.__version__} devices {jax.devices()}")

    def mlp_params(dtype: Any) -> dict[str, Any]:
        k = jax.random.split(jax.random.key(0), 4)
        return {
            "W1": jax.random.normal(k[0], (20, 32), dtype) / 4,
            "b1": jnp.zeros(32, dtype),
            "W2": jax.random.normal(k[1], (32, 5), dtype) / 6,
        }

    def scaled(factor: float) -> Callable[[Any], Any]:
        @jax.custom_vjp
        def ident(h: Any) -> Any:
            return h

        ident.defvjp(lambda h: (h, None), lambda _, g: (g * factor,))
        return ident

    def loss(factor: float, dtype: Any) -> Callable[[dict[str, Any]], Any]:
        x = jax.random.normal(jax.random.key(1), (16, 20), dtype)
        ident = scaled(factor)

        def f(p: dict[str, Any]) -> Any:
            h = jnp.tanh(ident(x @ p["W1"] + p["b1"]))
            return jnp.mean(jax.nn.log_softmax(h @ p["W2"])[:, 0])

        return f

    def check(factor: float, dtype: Any, **options: Any) -> tuple[str, str]:
        params = mlp_params(dtype)
        report = gj.check(loss(factor, dtype), params, **options)
        failed = [k for k, r in report.parameters.items() if r.status == "failed"]
        vectorised = report.options.get("vectorised")
        return report.status, f"failed: {failed} vectorised {vectorised} {report.seconds:.2f}s"

    attempt("jax mlp float32 right", {"passed"}, lambda: check(1.0, jnp.float32))
    attempt("jax mlp float32 x1.01", {"failed"}, lambda: check(1.01, jnp.float32))
    # a vmap of many float32 points ran in TF32 on an H200, the serial cost did not
    attempt(
        "jax mlp float32 precision=model",
        {"passed"},
        lambda: check(1.0, jnp.float32, precision="model"),
    )
    attempt(
        "jax mlp float32 directional",
        {"passed"},
        lambda: check(1.0, jnp.float32, mode="directional"),
    )
    jax.config.update("jax_enable_x64", True)
    attempt("jax mlp float64 right", {"passed"}, lambda: check(1.0, jnp.float64))
    attempt("jax mlp float64 x1.0001", {"failed"}, lambda: check(1.0001, jnp.float64))

    def jvp_case(bad: bool) -> tuple[str, str]:
        @jax.custom_jvp
        def f(x: Any) -> Any:
            return jnp.sin(x) * x

        @f.defjvp
        def f_jvp(primals: Any, tangents: Any) -> Any:
            (x,), (t,) = primals, tangents
            d = jnp.cos(x) * x + jnp.sin(x)
            return f(x), (1.1 if bad else 1.0) * d * t

        x = jax.random.normal(jax.random.key(2), (30,), jnp.float64)
        report = gj.check_function(f, x, modes=("fwd", "rev"))
        return report.status, f"{report.seconds:.2f}s"

    attempt("jax custom_jvp right", {"passed"}, lambda: jvp_case(False))
    attempt("jax custom_jvp x1.1", {"failed"}, lambda: jvp_case(True))
    attempt("jax mlp float64 order=2", {"passed"}, lambda: check(1.0, jnp.float64, order=2))


def main() -> int:
    which, out = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None
    (torch_cases if which == "torch" else jax_cases)()
    bad = [r for r in ROWS if not r["ok"]]
    print(f"{len(ROWS) - len(bad)}/{len(ROWS)} rows as expected")
    if out:
        with open(out, "w") as fh:
            json.dump(ROWS, fh, indent=1)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
