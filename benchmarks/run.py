"""Benchmarks: gradcheck's modes against the peers, on the same functions, in one run.

Run: ``.venv/bin/python benchmarks/run.py`` (``--quick`` for a smaller run). Prints a
table, writes ``benchmarks/results.json`` and ``docs/benchmarks.md``.

The model is a one-hidden-layer tanh MLP with a mean-squared loss whose parameter
count ``N`` is set by the hidden width. Peers: ``torch.autograd.gradcheck`` (slow and
``fast_mode``), ``jax.test_util.check_grads`` (one random direction, jit) and a naive
one-entry-at-a-time NumPy central-difference loop.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import gradcheck

Array = np.ndarray[Any, Any]
ROOT = Path(__file__).resolve().parent.parent


def mlp(n_params: int, dtype: Any = np.float64) -> tuple[Any, Any, dict[str, Array], Array]:
    """Cost, gradient function, parameters and inputs of a tanh MLP with ~n_params."""
    rng = np.random.default_rng(0)
    d_in = 100
    hidden = max(2, n_params // (d_in + 2))
    xs = rng.standard_normal((32, d_in)).astype(dtype)
    p = {"W": (rng.standard_normal((d_in, hidden)) / 10).astype(dtype),
         "b": (rng.standard_normal(hidden) / 10).astype(dtype),
         "v": (rng.standard_normal(hidden) / 10).astype(dtype)}  # fmt: skip

    def cost(q: dict[str, Array]) -> Any:
        return np.mean((np.tanh(xs @ q["W"] + q["b"]) @ q["v"]) ** 2)

    def grad(q: dict[str, Array]) -> dict[str, Array]:
        t = np.tanh(xs @ q["W"] + q["b"])
        y = t @ q["v"]
        dy = 2 * y / y.size
        dz = np.outer(dy, q["v"]) * (1 - t**2)
        return {"W": xs.T @ dz, "b": dz.sum(0), "v": t.T @ dy}

    return cost, grad, p, xs


def _time(fn: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def torch_runs(p: dict[str, Array], xs: Array, fast: bool, bug: str | None) -> tuple[float, bool]:
    """torch.autograd.gradcheck on the same model; returns (seconds, passed)."""
    import torch

    torch.set_num_threads(1)
    tx = torch.tensor(xs)
    ts = [torch.tensor(p[k], requires_grad=True) for k in ("W", "b", "v")]

    class Bad(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, w: Any) -> Any:
            return w.clone()

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            return 2 * g if bug == "x2" else -g

    def f(w: Any, b: Any, v: Any) -> Any:
        if bug == "x2":
            w = Bad.apply(w)
        if bug == "sign":
            b = Bad.apply(b)
        return torch.mean((torch.tanh(tx @ w + b) @ v) ** 2)

    t = time.perf_counter()
    ok = torch.autograd.gradcheck(f, tuple(ts), fast_mode=fast, raise_exception=False)
    return time.perf_counter() - t, bool(ok)


def jax_run(p: dict[str, Array], xs: Array) -> float:
    """jax.test_util.check_grads (mode rev, order 1, jit) on the same model."""
    import jax
    import jax.numpy as jnp
    from jax.test_util import check_grads

    jax.config.update("jax_enable_x64", True)
    jx = jnp.asarray(xs)
    f = jax.jit(lambda q: jnp.mean((jnp.tanh(jx @ q["W"] + q["b"]) @ q["v"]) ** 2))
    q = {k: jnp.asarray(v) for k, v in p.items()}
    f(q)
    t = time.perf_counter()
    check_grads(f, (q,), order=1, modes=["rev"])
    return time.perf_counter() - t


def naive(cost: Any, p: dict[str, Array], eps: float = 1e-6) -> float:
    """The lesson's loop: two evaluations per entry, one entry at a time."""
    t = time.perf_counter()
    for k in p:
        flat = p[k].reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            jp = cost(p)
            flat[i] = old - eps
            jm = cost(p)
            flat[i] = old
            _ = (jp - jm) / (2 * eps)
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="smaller sizes (about a minute)")
    args = ap.parse_args(argv)
    sizes = [10**3, 10**4, 10**5] if args.quick else [10**3, 10**4, 10**5, 10**6]
    full_max = 10**3 if args.quick else 10**4
    rows: list[dict[str, Any]] = []
    for n in sizes:
        cost, grad, p, xs = mlp(n)
        size = sum(v.size for v in p.values())
        t_eval, _ = _time(lambda c=cost, q=p: [c(q) for _ in range(5)])
        t_eval /= 5
        row: dict[str, Any] = {"N": size, "t_eval_ms": 1e3 * t_eval}
        sec, rep = _time(
            lambda c=cost, q=p, g=grad: gradcheck.check(c, q, g, mode="directional")
        )
        row.update(directional_s=sec, directional_evals=rep.evaluations,
                   directional_ok=rep.passed)  # fmt: skip

        def bad_w(q: dict[str, Array], g: Any = grad) -> dict[str, Array]:
            out = g(q)
            return {**out, "W": 2 * out["W"]}

        def bad_b(q: dict[str, Array], g: Any = grad) -> dict[str, Array]:
            out = g(q)
            return {**out, "b": -out["b"]}

        caught_w = gradcheck.check(cost, p, bad_w, mode="directional").failed_parameters
        caught_b = gradcheck.check(cost, p, bad_b, mode="directional").failed_parameters
        row["directional_catches_x2W"] = caught_w == ["W"]
        row["directional_catches_sign_b"] = caught_b == ["b"]
        c32, g32, p32, _ = mlp(n, np.float32)
        row["float32_correct_passes"] = gradcheck.check(c32, p32, g32, mode="directional").passed
        row["torch_fast_s"], row["torch_fast_ok"] = torch_runs(p, xs, True, None)
        row["torch_fast_catches_x2W"] = not torch_runs(p, xs, True, "x2")[1]
        row["torch_fast_catches_sign_b"] = not torch_runs(p, xs, True, "sign")[1]
        row["jax_check_grads_s"] = jax_run(p, xs)
        if size <= full_max:
            sec, rep = _time(lambda c=cost, q=p, g=grad: gradcheck.check(c, q, g, mode="full"))
            row.update(full_s=sec, full_evals_per_param=rep.evaluations / size,
                       full_passes_per_param=sec / (t_eval * size))  # fmt: skip
            row["torch_slow_s"] = torch_runs(p, xs, False, None)[0]
            row["naive_s"] = naive(cost, {k: v.copy() for k, v in p.items()})
        rows.append(row)
        print(json.dumps(row), flush=True)
    loc = localisation_row()
    out = {"machine": platform.platform(), "python": sys.version.split()[0],
           "command": "make bench" + (" (benchmarks/run.py --quick)" if args.quick else ""),
           "rows": rows, "localisation": loc}  # fmt: skip
    (ROOT / "benchmarks" / "results.json").write_text(json.dumps(out, indent=1))
    (ROOT / "docs" / "benchmarks.md").write_text(markdown(out))
    print(markdown(out))
    return 0


def localisation_row() -> dict[str, Any]:
    """One wrong entry (1e-3 relative) among 10⁶: seeds until the verdict fails."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal(10**6)
    g = np.cos(x)
    g[654321] *= 1 + 1e-3
    tries = []
    for seed in range(8):
        sec, rep = _time(lambda s=seed: gradcheck.check(
            lambda p: float(np.sum(np.sin(p))), x, g, mode="directional", seed=s))  # fmt: skip
        tries.append({"seed": seed, "status": rep.status, "evaluations": rep.evaluations,
                      "seconds": sec, "pinned": rep.localisation.get("pinned", [])})  # fmt: skip
    return {"tries": tries}


def markdown(out: dict[str, Any]) -> str:
    """The docs/benchmarks.md page."""
    cols = ["N", "t_eval_ms", "directional_s", "directional_evals", "torch_fast_s",
            "jax_check_grads_s", "directional_catches_x2W", "torch_fast_catches_x2W",
            "directional_catches_sign_b", "torch_fast_catches_sign_b",
            "float32_correct_passes", "full_s", "full_evals_per_param",
            "full_passes_per_param", "torch_slow_s", "naive_s"]  # fmt: skip

    def fmt(v: Any) -> str:
        return "-" if v is None else (f"{v:.3g}" if isinstance(v, float) else str(v))

    lines = ["# Benchmarks", "", f"Command: `{out['command']}` "
             "(`.venv/bin/python benchmarks/run.py`); machine: " + out["machine"], "",
             "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]  # fmt: skip
    for r in out["rows"]:
        lines.append("| " + " | ".join(fmt(r.get(c)) for c in cols) + " |")
    lines += ["", "Localisation of one wrong entry (1e-3 relative) among 10⁶ "
              "(`sum(sin(x))`), per seed:", "", "| seed | status | evaluations | seconds | "
              "pinned |", "|---|---|---|---|---|"]  # fmt: skip
    for t in out["localisation"]["tries"]:
        lines.append(f"| {t['seed']} | {t['status']} | {t['evaluations']} | "
                     f"{t['seconds']:.3g} | {', '.join(t['pinned'])} |")  # fmt: skip
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
