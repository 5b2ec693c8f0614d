"""Rows 6 and 7 (issue 13): Jacobian checks against torch and jax, in the same run.

6. The full (entrywise) Jacobian check of ``Dense`` (``R^n → R^n``, n = 1000):
   ``gradcheck.check_jacobian(mode="full")`` given the Jacobian function, or the VJP,
   against ``torch.autograd.gradcheck(fast_mode=False)``; time, evaluations, verdicts,
   and one planted wrong Jacobian entry.
7. The directional Jacobian check of ``Ring`` (O(N)) at N = 10³..10⁶:
   ``check_jacobian(mode="directional")`` given the VJP, or the VJP and the JVP,
   against torch's ``fast_mode=True`` (with and without ``check_forward_ad=True``) and
   ``jax.test_util.check_grads(order=1, modes=("fwd", "rev"))`` on the jitted function.
   The same torch and jax functions are also checked through gradcheck's adapters
   (``gradcheck.torch.check_function``, ``gradcheck.jax.check_function``, directional
   mode): each checker differentiates and evaluates the very same function, so the
   ratios compare the checkers alone (:func:`adapter_columns`).

Timings are interleaved: each round calls every checker once, in turn, and the median
over the rounds is reported, so that a change in this shared machine's load falls on
every checker alike.
"""

from __future__ import annotations

import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

from _jacproblems import Dense, Ring
from _models import eval_seconds, typical_entry
from _peers import torch_gradcheck

import gradcheck

__all__ = [
    "adapter_checks",
    "adapter_columns",
    "directional_jacobian_row",
    "full_jacobian_row",
    "interleaved",
]

#: The planted wrong entry's factors: one off by a relative 1e-3 (the size used in
#: the rest of the page), one doubled.
ENTRY_FACTORS = {"1e-3": 1 + 1e-3, "x2": 2.0}


def interleaved(
    fns: dict[str, Callable[[], Any]], repeats: int, warmup: bool = True
) -> tuple[dict[str, float], dict[str, Any]]:
    """Median seconds of each of ``fns`` over ``repeats`` rounds (after one untimed
    round if ``warmup``), each round calling every function once in turn; and each
    function's last result."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    last: dict[str, Any] = {}
    for r in range(repeats + int(warmup)):
        for name, fn in fns.items():
            t = time.perf_counter()
            last[name] = fn()
            if r >= int(warmup):
                times[name].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}, last


def _jax_passes(f: Any, x: Any) -> bool:
    """``check_grads(f, (x,), order=1, modes=("fwd", "rev"))``: True when it passes."""
    from jax.test_util import check_grads

    try:
        check_grads(f, (x,), order=1, modes=("fwd", "rev"))  # type: ignore[no-untyped-call]
    except AssertionError:
        return False
    return True


def adapter_checks(tf: Any, tx: Any, jf: Any, jx: Any) -> dict[str, Callable[[], Any]]:
    """The Ring's torch function ``tf`` at ``tx`` and jitted jax function ``jf`` at
    ``jx`` checked through gradcheck's adapters in directional mode, each option left at
    its default: ``gradcheck.torch.check_function`` in reverse mode (against torch's fast
    mode) and in both modes (against fast mode with ``check_forward_ad=True``), and
    ``gradcheck.jax.check_function`` in both modes (against ``check_grads``)."""
    import gradcheck.jax
    import gradcheck.torch

    return {
        "gct_rev": lambda: gradcheck.torch.check_function(
            tf, tx, modes=("rev",), mode="directional"
        ),
        "gct_both": lambda: gradcheck.torch.check_function(
            tf, tx, modes=("rev", "fwd"), mode="directional"
        ),
        "gcj_both": lambda: gradcheck.jax.check_function(
            jf, jx, modes=("rev", "fwd"), mode="directional"
        ),
    }


#: Each adapter check and the peer it is timed against (the same function for both).
ADAPTER_PEERS = {"gct_rev": "torch_fast", "gct_both": "torch_fast_fwd", "gcj_both": "jax"}


def adapter_columns(secs: dict[str, float], last: dict[str, Any]) -> dict[str, Any]:
    """The adapter checks' columns of a row: seconds, status, evaluations and the ratio
    to the peer of :data:`ADAPTER_PEERS` timed in the same rounds."""
    row: dict[str, Any] = {}
    for name, peer in ADAPTER_PEERS.items():
        row[f"{name}_s"] = secs[name]
        row[f"{name}_status"] = last[name].status
        row[f"{name}_evals"] = last[name].evaluations
        row[f"{name}_vs_{peer}"] = secs[name] / secs[peer]
    return row


def _warm_up() -> None:
    """First calls pay for imports: torch's first ``autograd.grad`` imports sympy (about
    a second), its first forward-AD call loads its JVP decompositions through the
    deprecated ``torch.jit.script`` (with a ``DeprecationWarning``, silenced here).
    Pay them on a tiny problem, off the clock."""
    import torch

    small = Dense(4)
    gradcheck.check_jacobian(small.f, small.x, small.jacobian, mode="full")
    x = torch.tensor(small.x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch_gradcheck(small.torch_fn(), (x,), fast_mode=False, check_forward_ad=True)


def full_jacobian_row(n: int, repeats: int) -> dict[str, Any]:
    """Row 6 at ``n``: the entrywise check against torch's slow mode."""
    import torch

    _warm_up()
    d = Dense(n)
    tx = torch.tensor(d.x, requires_grad=True)
    tfn = d.torch_fn()
    row: dict[str, Any] = {"n": n, "m": n, "t_eval_ms": 1e3 * eval_seconds(lambda: d.f(d.x))}
    with torch.no_grad():
        row["torch_eval_ms"] = 1e3 * eval_seconds(lambda: tfn(tx))
    secs, last = interleaved(
        {
            "gc_jacobian": lambda: gradcheck.check_jacobian(d.f, d.x, d.jacobian, mode="full"),
            "gc_vjp": lambda: gradcheck.check_jacobian(d.f, d.x, vjp=d.vjp, mode="full"),
            "torch_slow": lambda: torch_gradcheck(tfn, (tx,), fast_mode=False)[1],
        },
        repeats,
        warmup=False,
    )
    for k, v in secs.items():
        row[f"{k}_s"] = v
    for form in ("gc_jacobian", "gc_vjp"):
        row[f"{form}_status"] = last[form].status
        row[f"{form}_evals"] = last[form].evaluations
        row[f"{form}_vs_torch_slow"] = secs[form] / secs["torch_slow"]
    row["gc_evals_per_n"] = last["gc_jacobian"].evaluations / n
    row["torch_slow_passes"] = last["torch_slow"]
    i, j = divmod(typical_entry(d.jacobian(d.x)), n)
    row["planted_entry"] = f"out[{i}] / x[{j}]"
    for tag, factor in ENTRY_FACTORS.items():
        rep = gradcheck.check_jacobian(d.f, d.x, d.bad_jacobian((i, j), factor), mode="full")
        row[f"gc_{tag}_status"] = rep.status
        row[f"gc_{tag}_named"] = bool(rep.worst) and rep.worst[0].label() == row["planted_entry"]
        bad = d.torch_fn((i, j), factor)
        row[f"torch_slow_{tag}_catches"] = not torch_gradcheck(bad, (tx,), fast_mode=False)[1]
    return row


def directional_jacobian_row(n: int, repeats: int) -> dict[str, Any]:
    """Row 7 at ``n``: the directional check against torch's fast mode and jax."""
    import jax
    import jax.numpy as jnp
    import torch

    jax.config.update("jax_enable_x64", True)  # type: ignore[no-untyped-call]
    _warm_up()
    r = Ring(n)
    x, tx, jx = r.x, torch.tensor(r.x, requires_grad=True), jnp.asarray(r.x)
    tf, jf = Ring.torch_fn(), Ring.jax_fn()
    row: dict[str, Any] = {"N": n, "t_eval_ms": 1e3 * eval_seconds(lambda: Ring.f(x))}
    row["t_vjp_ms"] = 1e3 * eval_seconds(lambda: Ring.vjp(x, x))
    with torch.no_grad():
        row["torch_eval_ms"] = 1e3 * eval_seconds(lambda: tf(tx))
    secs, last = interleaved(
        {
            "gc_vjp": lambda: gradcheck.check_jacobian(Ring.f, x, vjp=Ring.vjp, mode="directional"),
            "gc_both": lambda: gradcheck.check_jacobian(
                Ring.f, x, vjp=Ring.vjp, jvp=Ring.jvp, mode="directional"
            ),
            "torch_fast": lambda: torch_gradcheck(tf, (tx,), fast_mode=True)[1],
            "torch_fast_fwd": lambda: torch_gradcheck(
                tf, (tx,), fast_mode=True, check_forward_ad=True
            )[1],
            "jax": lambda: _jax_passes(jf, jx),
            **adapter_checks(tf, tx, jf, jx),
        },
        repeats,
    )
    for k, v in secs.items():
        row[f"{k}_s"] = v
    row.update(adapter_columns(secs, last))
    row["gc_vjp_evals"], row["gc_vjp_status"] = last["gc_vjp"].evaluations, last["gc_vjp"].status
    row["gc_both_evals"], row["gc_both_status"] = (
        last["gc_both"].evaluations,
        last["gc_both"].status,
    )
    row["torch_fast_passes"] = last["torch_fast"] and last["torch_fast_fwd"]
    row["jax_passes"] = last["jax"]
    row["gc_vjp_vs_torch_fast"] = secs["gc_vjp"] / secs["torch_fast"]
    # What the VJP check's evaluations of f and its one VJP call alone take, over torch
    # fast mode's time: the ratio no cut of the passes around them can go below.
    floor_s = (row["gc_vjp_evals"] * row["t_eval_ms"] + row["t_vjp_ms"]) / 1e3
    row["gc_vjp_floor_vs_torch_fast"] = floor_s / secs["torch_fast"]
    row["gc_both_vs_torch_fast_fwd"] = secs["gc_both"] / secs["torch_fast_fwd"]
    row["gc_both_vs_jax"] = secs["gc_both"] / secs["jax"]

    def bad_vjp(p: Any, u: Any) -> Any:
        return Ring.vjp(p, u, sign=-1.0)

    def bad_jvp(p: Any, v: Any) -> Any:
        return Ring.jvp(p, v, sign=-1.0)

    bad = gradcheck.check_jacobian(Ring.f, x, vjp=bad_vjp, jvp=bad_jvp, mode="directional")
    row["gc_bug_status"] = bad.status
    row["gc_bug_failed"] = list(bad.failed_parameters)
    row["torch_bug_catches"] = not torch_gradcheck(
        Ring.torch_fn(bug=True), (tx,), fast_mode=True, check_forward_ad=True
    )[1]
    row["jax_bug_catches"] = not _jax_passes(Ring.jax_fn(bug=True), jx)
    bugs = adapter_checks(Ring.torch_fn(bug=True), tx, Ring.jax_fn(bug=True), jx)
    row["gct_bug_status"] = bugs["gct_both"]().status
    row["gcj_bug_status"] = bugs["gcj_both"]().status
    return row


def _floor_clause(directional: list[dict[str, Any]]) -> str:
    """What the VJP check's evaluations and VJP alone take against torch fast mode
    (``gc_vjp_floor_vs_torch_fast``), and each checker's own evaluation of ``f``; empty
    for rows measured before these columns existed."""
    keys = ("gc_vjp_floor_vs_torch_fast", "torch_eval_ms")
    if not directional or not all(k in r for r in directional for k in keys):
        return ""
    evals = "/".join(sorted({str(r["gc_vjp_evals"]) for r in directional}))
    floors = ", ".join(
        f"{r['gc_vjp_floor_vs_torch_fast']:.2f}× at N = {r['N']}" for r in directional
    )
    own = ", ".join(f"{r['t_eval_ms']:.3g} vs {r['torch_eval_ms']:.3g} ms" for r in directional)
    return (
        f"; its {evals} evaluations of f and one VJP alone take {floors} of torch fast "
        f"mode's time (one evaluation of f, NumPy's vs torch's: {own})"
    )


def jacobian_targets(full: dict[str, Any], directional: list[dict[str, Any]]) -> list[str]:
    """Issue 13's benchmark targets, each marked met or not met with the numbers."""

    def mark(ok: bool) -> str:
        return "**met**" if ok else "**not met**"

    ratios = {
        key: ", ".join(f"{r[key]:.2f}× at N = {r['N']}" for r in directional)
        for key in ("gc_vjp_vs_torch_fast", "gc_both_vs_torch_fast_fwd", "gc_both_vs_jax")
    }
    met = {k: all(r[k] <= 1.5 for r in directional) for k in ratios}
    evals = sorted(
        {r["gc_vjp_evals"] for r in directional} | {r["gc_both_evals"] for r in directional}
    )
    caught = all(r["gc_bug_status"] == "failed" for r in directional)
    lines = [
        f"- Full Jacobian check at n = m = {full['n']} within 1× of torch slow mode's time: "
        f"{mark(full['gc_jacobian_vs_torch_slow'] <= 1.0)} given the Jacobian "
        f"({full['gc_jacobian_vs_torch_slow']:.2f}×), "
        f"{mark(full['gc_vjp_vs_torch_slow'] <= 1.0)} given the VJP "
        f"({full['gc_vjp_vs_torch_slow']:.2f}×); {full['gc_jacobian_evals']} evaluations "
        f"= {full['gc_evals_per_n']:.3f}·n (≈ 2n: {mark(full['gc_evals_per_n'] <= 2.1)}).",
        f"- Directional Jacobian check within 1.5× of torch fast mode (VJP only): "
        f"{mark(met['gc_vjp_vs_torch_fast'])} ({ratios['gc_vjp_vs_torch_fast']})"
        f"{_floor_clause(directional)}.",
        f"- Directional check of VJP and JVP within 1.5× of torch fast mode with "
        f"`check_forward_ad=True`: {mark(met['gc_both_vs_torch_fast_fwd'])} "
        f"({ratios['gc_both_vs_torch_fast_fwd']}).",
        f'- Directional check of VJP and JVP within 1.5× of jax `check_grads(modes=("fwd", '
        f'"rev"))`: {mark(met["gc_both_vs_jax"])} ({ratios["gc_both_vs_jax"]}).',
        f"- O(1) evaluations at every N: {mark(len(set(evals)) <= 2)} "
        f"({', '.join(map(str, evals))} evaluations); the planted sign bug caught at every "
        f"N: {mark(caught)}.",
    ]
    return lines + _adapter_targets(directional, mark)


def _adapter_targets(directional: list[dict[str, Any]], mark: Callable[[bool], str]) -> list[str]:
    """The same function through gradcheck's adapters, within 1.5× of its peer (each
    ratio of :data:`ADAPTER_PEERS`); empty for rows measured before these columns."""
    keys = [f"{name}_vs_{peer}" for name, peer in ADAPTER_PEERS.items()]
    if not directional or not all(k in r for r in directional for k in keys):
        return []
    ratios = {k: ", ".join(f"{r[k]:.2f}× at N = {r['N']}" for r in directional) for k in keys}
    met = {k: all(r[k] <= 1.5 for r in directional) for k in keys}
    caught = all(
        r.get("gct_bug_status") == r.get("gcj_bug_status") == "failed" for r in directional
    )
    rev, both, jax = keys
    return [
        f"- The same torch function through `gradcheck.torch.check_function` (directional) "
        f"within 1.5× of torch fast mode, reverse mode: {mark(met[rev])} ({ratios[rev]}); "
        f"both modes, against fast mode with `check_forward_ad=True`: {mark(met[both])} "
        f"({ratios[both]}).",
        f"- The same jitted jax function through `gradcheck.jax.check_function` "
        f'(directional, both modes) within 1.5× of `check_grads(modes=("fwd", "rev"))`: '
        f"{mark(met[jax])} ({ratios[jax]}); the planted sign bug caught by both adapters "
        f"at every N: {mark(caught)}.",
    ]
