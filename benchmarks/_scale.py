"""Rows 2, 4 and 5: localisation at N = 10⁶, workers (Dask, process pool), peak memory."""

from __future__ import annotations

import os
import time
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
from _models import MLP, Array, busy_cost, eval_seconds, typical_entry

import gradcheck

__all__ = ["localisation_rows", "memory_row", "torch_slow_hours", "workers_row"]


def _label(name: str, shape: tuple[int, ...], flat: int) -> str:
    idx = np.unravel_index(flat, shape)
    return f"{name}[{', '.join(str(int(i)) for i in idx)}]"


def localisation_rows(n: int, seeds: range) -> list[dict[str, Any]]:
    """One wrong entry (×(1 + 1e-3)) among ``n``: the MLP's W and ``sum(sin x)``, per seed.

    The MLP's wrong entry is a typical one (magnitude closest to the RMS of W's
    gradient, see ``typical_entry``); the ``sin`` one is entry 654321 (or ``n // 2``).
    """
    rows: list[dict[str, Any]] = []
    m = MLP(n)
    g = m.grad(m.params)
    entry = typical_entry(g["W"])
    bad = {**g, "W": g["W"].copy()}
    bad["W"].reshape(-1)[entry] *= 1 + 1e-3
    x = np.random.default_rng(3).standard_normal(n)
    gs = np.cos(x)
    k = 654321 if n > 654321 else n // 2
    gs[k] *= 1 + 1e-3
    cases: list[tuple[str, Any, Any, Any, str]] = [
        ("tanh MLP", m.cost, m.params, bad, _label("W", g["W"].shape, entry)),
        ("sum(sin x)", lambda p: float(np.sum(np.sin(p))), x, gs, f"x[{k}]"),
    ]
    for fn_name, cost, params, grad, want in cases:
        size = m.size if fn_name == "tanh MLP" else n
        for seed in seeds:
            t = time.perf_counter()
            rep = gradcheck.check(cost, params, grad, mode="directional", seed=seed)
            sec = time.perf_counter() - t
            pinned = list(rep.localisation.get("pinned", []))
            rows.append(
                {
                    "function": fn_name,
                    "N": size,
                    "seed": seed,
                    "wrong": want,
                    "status": rep.status,
                    "evaluations": rep.evaluations,
                    "seconds": sec,
                    "pinned": pinned,
                    "exact": pinned == [want],
                    "regions": len(rep.localisation.get("regions", [])),
                }
            )
    return rows


def torch_slow_hours(full_rows: list[dict[str, Any]], n: int) -> dict[str, Any]:
    """Torch slow mode at ``n``, extrapolated (never run): passes/param × N × forward time.

    Uses the forward passes per parameter measured at the largest full-mode size and
    the torch forward time measured at ``n``.
    """
    from _peers import TorchModel

    src = max((r for r in full_rows if "torch_slow_s" in r), key=lambda r: r["N"])
    m = MLP(n)
    t_fwd = eval_seconds(TorchModel(m).plain)
    sec = src["torch_slow_passes_per_param"] * m.size * t_fwd
    return {
        "N": m.size,
        "from_N": src["N"],
        "passes_per_param": src["torch_slow_passes_per_param"],
        "torch_eval_ms": 1e3 * t_fwd,
        "extrapolated_s": sec,
        "extrapolated_h": sec / 3600,
        "catches_entry_at_from_N": src["torch_slow_catches_entry"],
    }


#: Each worker configuration is timed this many times; the best time is kept, the
#: least disturbed by other processes on a shared machine.
WORKER_REPEATS = 2


def _full(x: Array, executor: Any) -> tuple[float, Any]:
    times, rep = [], None
    for _ in range(WORKER_REPEATS):
        t = time.perf_counter()
        rep = gradcheck.check(busy_cost, x, np.cos(x), mode="full", executor=executor)
        times.append(time.perf_counter() - t)
    return min(times), rep


def _dask(x: Array, workers: int, trim: str) -> tuple[float, Any]:
    """Full mode on a loopback ``LocalCluster`` of ``workers`` single-threaded processes.

    ``trim="dask"`` keeps Dask's default worker environment, which sets
    ``MALLOC_TRIM_THRESHOLD_=65536``: glibc then stops raising its mmap threshold, every
    NumPy temporary over 128 KiB is mmapped and unmapped, and this cost runs about 2×
    slower in a worker than in the parent. ``trim="unset"`` removes the variable
    (``distributed.nanny.pre-spawn-environ``), as Dask's docs allow, and from this
    process's environment, where the first ``LocalCluster`` copied it (the workers
    inherit it from there).
    """
    import dask
    from distributed import Client, LocalCluster

    env = (
        {}
        if trim == "dask"
        else {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
    )
    saved = os.environ.pop("MALLOC_TRIM_THRESHOLD_", None) if trim == "unset" else None
    with dask.config.set(env):
        cluster = LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
        )
        with cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]
            for fut in [client.submit(busy_cost, x, pure=False) for _ in range(2 * workers)]:
                fut.result()  # workers up and warm before the clock
            out = _full(x, client)
    if saved is not None:
        os.environ["MALLOC_TRIM_THRESHOLD_"] = saved
    return out


def workers_row(n: int) -> dict[str, Any]:
    """Full mode on a ≥ 10 ms cost: serial, 2 processes, Dask 1 and 2 workers."""
    x = np.random.default_rng(5).standard_normal(n)
    row: dict[str, Any] = {
        "N": n,
        "t_eval_ms": 1e3 * eval_seconds(lambda: busy_cost(x), 0.5),
        "loadavg_before": os.getloadavg()[0],
    }
    row["serial_s"], rep = _full(x, None)
    row["evaluations"] = rep.evaluations
    row["serial_status"] = rep.status
    # spawn, not fork: the parent has imported jax and torch, which run threads.
    with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as pool:
        for fut in [pool.submit(busy_cost, x) for _ in range(4)]:
            fut.result()  # start both workers before the clock
        row["pool2_s"], rep = _full(x, pool)
    row["pool2_status"] = rep.status
    # Workers import busy_cost from this folder: put it on their path.
    here = str(Path(__file__).resolve().parent)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (here, os.environ.get("PYTHONPATH", "")) if p
    )
    for trim in ("dask", "unset"):
        for workers in (1, 2):
            sec, rep = _dask(x, workers, trim)
            key = f"dask{workers}" + ("" if trim == "dask" else "_notrim")
            row[f"{key}_s"], row[f"{key}_status"] = sec, rep.status
    row["loadavg_after"] = os.getloadavg()[0]
    row["dask_speedup"] = row["dask1_s"] / row["dask2_s"]
    row["dask_notrim_speedup"] = row["dask1_notrim_s"] / row["dask2_notrim_s"]
    row["dask2_vs_serial"] = row["serial_s"] / row["dask2_s"]
    row["dask2_notrim_vs_serial"] = row["serial_s"] / row["dask2_notrim_s"]
    row["pool2_speedup"] = row["serial_s"] / row["pool2_s"]
    row["dask1_evals_per_s"] = row["evaluations"] / row["dask1_s"]
    row["dask2_evals_per_s"] = row["evaluations"] / row["dask2_s"]
    return row


def memory_row(n: int) -> dict[str, Any]:
    """tracemalloc peak (NumPy's allocations included) of directional checks at ``n``."""
    m = MLP(n)
    row: dict[str, Any] = {"N": m.size, "param_bytes": 8 * m.size}

    def bad(q: dict[str, Array]) -> dict[str, Array]:
        out = m.grad(q)
        return {**out, "W": 2 * out["W"]}

    for key, grad in (("correct", m.grad), ("x2_W_diagnosed", bad)):
        tracemalloc.start()
        try:
            rep = gradcheck.check(m.cost, m.params, grad, mode="directional")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        row[f"{key}_status"] = rep.status
        row[f"{key}_peak_MiB"] = peak / 2**20
        row[f"{key}_peak_over_8N"] = peak / (8 * m.size)
    return row
