"""Rows 1 and 3: the directional verdict against torch's fast mode, and the full mode.

Timings are medians of ``REPEATS`` calls after one untimed warm-up call, for
gradcheck and torch alike (first calls pay for imports and allocator warm-up).

The directional timings are taken in ``PROCESSES`` fresh processes (``timing_child``)
and the median across processes is reported: on this shared machine a process's
timings of a memory-bound check at N = 10⁶ land near one of two values (about 65 or
90 ms for the same code and inputs), decided when the process starts, while torch's
compute-bound fast mode does not move. One process would report whichever it drew.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
from _models import MLP, Array, eval_seconds, timed, typical_entry
from _peers import TorchModel, jax_check_grads, naive_loop

import gradcheck

__all__ = [
    "PROCESSES",
    "REPEATS",
    "directional_row",
    "extrapolate_torch_slow",
    "full_row",
    "timing_child",
]

REPEATS = 7
PROCESSES = 3


def _bug(model: MLP, kind: str, entry: int = 0) -> Any:
    """The MLP's gradient with a planted bug: ``x2`` W, ``sign`` b or one ``entry`` of W."""

    def grad(q: dict[str, Array]) -> dict[str, Array]:
        out = model.grad(q)
        if kind == "x2":
            return {**out, "W": 2 * out["W"]}
        if kind == "sign":
            return {**out, "b": -out["b"]}
        w = out["W"].copy()
        w.reshape(-1)[entry] *= 1 + 1e-3
        return {**out, "W": w}

    return grad


def timing_child(n: int) -> dict[str, float]:
    """In this process: median seconds of gradcheck's directional check and torch's fast
    mode on the MLP of about ``n`` (``benchmarks/run.py --time-directional N``)."""
    m = MLP(n)
    gc, rep = timed(
        lambda: gradcheck.check(m.cost, m.params, m.grad, mode="directional"),
        repeats=REPEATS,
        warmup=True,
    )
    assert rep.status == "passed", rep
    tm = TorchModel(m)
    tf, ok = timed(lambda: tm.gradcheck(fast=True)[1], repeats=REPEATS, warmup=True)
    assert ok
    return {"gc_s": gc, "torch_fast_s": tf}


def _timings(n: int) -> list[dict[str, float]]:
    """``timing_child(n)`` in ``PROCESSES`` fresh processes, one after another."""
    run = Path(__file__).resolve().parent / "run.py"
    out = []
    for _ in range(PROCESSES):
        done = subprocess.run(
            [sys.executable, str(run), "--time-directional", str(n)],
            capture_output=True,
            text=True,
            check=True,
        )
        out.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return out


def directional_row(n: int) -> dict[str, Any]:
    """Directional verdict vs torch fast mode (and jax check_grads) at about ``n``."""
    m = MLP(n)
    row: dict[str, Any] = {"N": m.size}
    row["t_eval_ms"] = 1e3 * eval_seconds(lambda: m.cost(m.params))
    per_process = _timings(n)
    row["processes"] = per_process
    row["directional_s"] = statistics.median(t["gc_s"] for t in per_process)
    row["torch_fast_s"] = statistics.median(t["torch_fast_s"] for t in per_process)
    rep = gradcheck.check(m.cost, m.params, m.grad, mode="directional")
    row.update(directional_evals=rep.evaluations, directional_status=rep.status)
    calls = []

    def counted(q: dict[str, Array]) -> dict[str, Array]:
        calls.append(1)
        return m.grad(q)

    gradcheck.check(m.cost, m.params, counted, mode="directional")
    row["directional_grad_calls"] = len(calls)
    row["ratio_vs_torch_fast"] = row["directional_s"] / row["torch_fast_s"]
    ratios = [t["gc_s"] / t["torch_fast_s"] for t in per_process]
    row["ratio_range"] = f"{min(ratios):.2f}..{max(ratios):.2f}"
    entry = typical_entry(m.grad(m.params)["W"])
    for kind in ("x2", "sign", "entry"):
        r = gradcheck.check(m.cost, m.params, _bug(m, kind, entry), mode="directional")
        want = "b" if kind == "sign" else "W"
        row[f"gc_catches_{kind}"] = r.failed_parameters == [want]
        row[f"torch_fast_catches_{kind}"] = not TorchModel(m, kind, entry).gradcheck(True)[1]
        if kind == "entry":
            row["gc_entry_pinned"] = list(r.localisation.get("pinned", []))
            row["gc_entry_evals"] = r.evaluations
    m32 = MLP(n, np.float32)
    r32 = gradcheck.check(m32.cost, m32.params, m32.grad, mode="directional")
    row["float32_correct_status"] = r32.status
    row["jax_check_grads_s"] = jax_check_grads(m, REPEATS)
    return row


def full_row(n: int, torch: bool = True, naive: bool = True) -> dict[str, Any]:
    """Full mode on one worker vs torch slow mode and the naive loop at about ``n``.

    Forward passes per parameter = check seconds / (one evaluation's seconds × N),
    each checker against its own forward pass (NumPy's for gradcheck and the loop,
    torch's for torch). ``torch=False`` leaves torch's slow mode out (its forward time
    is still measured, for :func:`extrapolate_torch_slow`); ``naive=False`` the naive
    loop.
    """
    m = MLP(n)
    t_eval = eval_seconds(lambda: m.cost(m.params))
    row: dict[str, Any] = {"N": m.size, "t_eval_ms": 1e3 * t_eval}
    sec, rep = timed(
        lambda: gradcheck.check(m.cost, m.params, m.grad, mode="full"),
        repeats=3 if m.size < 50_000 else 1,
        warmup=m.size < 5000,
    )
    row.update(
        full_s=sec,
        full_status=rep.status,
        full_evals_per_param=rep.evaluations / m.size,
        full_passes_per_param=sec / (t_eval * m.size),
    )
    entry = typical_entry(m.grad(m.params)["W"])
    tm = TorchModel(m)
    t_torch = eval_seconds(tm.plain)
    row["torch_eval_ms"] = 1e3 * t_torch
    if torch:
        row["torch_slow_s"], ok = tm.gradcheck(fast=False)
        assert ok, "torch slow mode failed a correct gradient"
        row["torch_slow_passes_per_param"] = row["torch_slow_s"] / (t_torch * m.size)
        row["torch_slow_catches_entry"] = not TorchModel(m, "entry", entry).gradcheck(False)[1]
    bad = gradcheck.check(m.cost, m.params, _bug(m, "entry", entry), mode="full")
    row["gc_full_catches_entry"] = bad.failed_parameters == ["W"]
    if naive:
        row["naive_s"] = naive_loop(m)
        row["naive_passes_per_param"] = row["naive_s"] / (t_eval * m.size)
    return row


def extrapolate_torch_slow(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows``, those where torch's slow mode was not run with
    ``torch_slow_extrapolated_s``: its passes per parameter at the largest size where it
    ran × N × torch's forward time measured at that row's N."""
    ran = [r for r in rows if "torch_slow_s" in r]
    if not ran:
        return rows
    src = max(ran, key=lambda r: r["N"])
    per_param = src["torch_slow_passes_per_param"]
    out = []
    for r in rows:
        if "torch_slow_s" not in r:
            sec = per_param * r["N"] * r["torch_eval_ms"] / 1e3
            r = {**r, "torch_slow_extrapolated_s": sec, "torch_slow_extrapolated_from_N": src["N"]}
        out.append(r)
    return out
