"""Second order (issue 14): ``order=2`` against ``gradgradcheck`` and ``check_grads(order=2)``.

Same cases, same run:

* **Verdicts.** A correct function and planted second-order bugs, as torch custom
  ``Function``s and as jax ``custom_vjp`` rules, each of ``sin`` with its backward
  ``g · cos(x)`` made wrong in one way: computed through NumPy (``numpy``), with
  ``cos(x)`` detached (``detach``), with the cotangent detached (``cotangent``), and
  through a ``cos`` whose own backward is off by a factor 2 (``x2``) or by 0.1%
  (``0.1%``). Checkers: ``gradcheck.torch.check_function(order=2)`` (full and
  directional), ``torch.autograd.gradgradcheck`` (``fast_mode`` True and False),
  ``gradcheck.jax.check_function(order=2)`` and ``jax.test_util.check_grads(order=2,
  modes=("rev",))``.
* **Time and evaluations.** ``Ring2`` (``f(x) = tanh(x) · roll(x, 1)``, O(N), a Hessian
  that is neither zero nor diagonal) at N = 10³..10⁵: the directional second-order
  check against ``gradgradcheck(fast_mode=True)``, and the full check against
  ``gradgradcheck(fast_mode=False)`` at small N. ``fn calls`` counts the calls of the
  function by each checker (every gradient or double-backward evaluation calls it
  once); ``grad evals / param`` divides the full check's evaluations of the backward
  by the backward's parameters (inputs and cotangents). Timings are interleaved and the
  median is reported (``_jacobian.interleaved``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _jacobian import interleaved

__all__ = [
    "BEGIN",
    "END",
    "order2_tables",
    "order2_targets",
    "section",
    "timing_rows",
    "verdict_rows",
    "write_section",
]

#: The full-mode target: at most 2 evaluations of the backward per parameter of the
#: backward (its inputs and its cotangent entries), the two at the point included (the
#: backward is linear in its cotangent, so a cotangent entry's column costs 1, or 0
#: for a scalar loss's: ``gradcheck._jaclinear``).
FULL_PER_PARAM = 2.0
#: The planted bugs (see the module doc), in the tables' order.
BUGS = ("correct", "numpy", "detach", "cotangent", "x2", "0.1%")


def _torch_fns() -> dict[str, Callable[..., Any]]:
    """sin as a torch ``Function`` per case of :data:`BUGS`."""
    import torch

    def cos_times(c: float) -> Any:
        class Cos(torch.autograd.Function):
            @staticmethod
            def forward(ctx: Any, x: Any) -> Any:
                ctx.save_for_backward(x)
                return torch.cos(x)

            @staticmethod
            def backward(ctx: Any, g: Any) -> Any:
                (x,) = ctx.saved_tensors
                return -g * torch.sin(x) * c

        return Cos.apply

    def sin_with(backward: Callable[[Any, Any], Any]) -> Any:
        class Sin(torch.autograd.Function):
            @staticmethod
            def forward(ctx: Any, x: Any) -> Any:
                ctx.save_for_backward(x)
                return torch.sin(x)

            @staticmethod
            def backward(ctx: Any, g: Any) -> Any:
                (x,) = ctx.saved_tensors
                return backward(x, g)

        return Sin.apply

    def numpy(x: Any, g: Any) -> Any:
        return torch.from_numpy(np.cos(x.detach().numpy()) * g.detach().numpy())

    return {
        "correct": sin_with(lambda x, g: g * cos_times(1.0)(x)),
        "numpy": sin_with(numpy),
        "detach": sin_with(lambda x, g: g * torch.cos(x).detach()),
        "cotangent": sin_with(lambda x, g: g.detach() * torch.cos(x)),
        "x2": sin_with(lambda x, g: g * cos_times(2.0)(x)),
        "0.1%": sin_with(lambda x, g: g * cos_times(1.001)(x)),
    }


def _jax_fns() -> dict[str, Callable[..., Any]]:
    """sin as a jax ``custom_vjp`` per case of :data:`BUGS`."""
    import jax
    import jax.numpy as jnp

    def cos_times(c: float) -> Any:
        @jax.custom_vjp
        def cos(x: Any) -> Any:
            return jnp.cos(x)

        cos.defvjp(lambda x: (jnp.cos(x), x), lambda x, g: (-g * jnp.sin(x) * c,))
        return cos

    def sin_with(bwd: Callable[[Any, Any], Any]) -> Any:
        @jax.custom_vjp
        def sin(x: Any) -> Any:
            return jnp.sin(x)

        sin.defvjp(lambda x: (jnp.sin(x), x), lambda x, g: (bwd(x, g),))
        return sin

    def numpy(x: Any, g: Any) -> Any:
        return jnp.asarray(np.cos(np.asarray(x)) * np.asarray(g))

    return {
        "correct": sin_with(lambda x, g: g * cos_times(1.0)(x)),
        "numpy": sin_with(numpy),
        "detach": sin_with(lambda x, g: g * jax.lax.stop_gradient(jnp.cos(x))),
        "cotangent": sin_with(lambda x, g: jax.lax.stop_gradient(g) * jnp.cos(x)),
        "x2": sin_with(lambda x, g: g * cos_times(2.0)(x)),
        "0.1%": sin_with(lambda x, g: g * cos_times(1.001)(x)),
    }


def _verdict(check: Callable[[], Any]) -> str:
    """``passed``/``failed`` of a peer that raises or returns False on failure;
    ``error: ...`` when it raises anything else."""
    try:
        ok = check()
    except AssertionError:
        return "failed"
    except Exception as exc:
        name = type(exc).__name__
        return "failed" if "GradcheckError" in name else f"error: {name}"
    return "passed" if ok is not False else "failed"


def _named(report: Any) -> str:
    """What a failed report names: the diagnoses' kinds of its failed rows."""
    kinds = sorted({p.diagnosis.kind for p in report.parameters.values() if p.diagnosis})
    return report.status + (f" ({', '.join(kinds)})" if kinds else "")


def verdict_rows(n: int = 8) -> list[dict[str, Any]]:
    """One row per case of :data:`BUGS`: every checker's verdict at ``n`` inputs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the peers' own deprecation warnings
        return _verdict_rows(n)


def _verdict_rows(n: int) -> list[dict[str, Any]]:
    import jax
    import jax.numpy as jnp
    import torch

    jax.config.update("jax_enable_x64", True)  # type: ignore[no-untyped-call]
    x0 = np.random.default_rng(0).uniform(-1, 1, n)
    tx, jx = torch.tensor(x0, requires_grad=True), jnp.asarray(x0)
    tfs, jfs = _torch_fns(), _jax_fns()
    return [_verdict_row(bug, tfs[bug], tx, jfs[bug], jx) for bug in BUGS]


def _verdict_row(bug: str, tf: Any, tx: Any, jf: Any, jx: Any) -> dict[str, Any]:
    """Every checker on one case: torch's ``tf`` at ``tx``, jax's ``jf`` at ``jx``."""
    import torch
    from jax.test_util import check_grads

    import gradcheck.jax
    import gradcheck.torch

    check = gradcheck.torch.check_function
    return {
        "bug": bug,
        "gc_first_order": check(tf, tx).status,
        "gc_full": _named(check(tf, tx, order=2, mode="full")),
        "gc_directional": _named(check(tf, tx, order=2, mode="directional")),
        "ggc_fast": _verdict(lambda: torch.autograd.gradgradcheck(tf, (tx,), fast_mode=True)),
        "ggc_slow": _verdict(lambda: torch.autograd.gradgradcheck(tf, (tx,))),
        "gc_jax": _named(gradcheck.jax.check_function(jf, jx, order=2)),
        "jax_check_grads": _verdict(
            lambda: check_grads(jf, (jx,), order=2, modes=("rev",))  # type: ignore[no-untyped-call]
        ),
    }


class Counted:
    """``Ring2``'s torch function, counting its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, x: Any) -> Any:
        import torch

        self.calls += 1
        return torch.tanh(x) * torch.roll(x, 1)


def timing_rows(sizes: list[int], full_sizes: list[int], repeats: int) -> list[dict[str, Any]]:
    """Per N: the directional check against ``gradgradcheck(fast_mode=True)`` (and
    against ``gradcheck`` then ``gradgradcheck``, both fast) and, for ``full_sizes``,
    the full check against ``gradgradcheck(fast_mode=False)``."""
    return [_timing_row(n, n in full_sizes, repeats) for n in sorted({*sizes, *full_sizes})]


def _checks(fns: dict[str, Counted], x: Any) -> dict[str, Callable[[], Any]]:
    """The timed checkers, each calling its own counted function."""
    import torch

    import gradcheck.torch

    check, ggc = gradcheck.torch.check_function, torch.autograd.gradgradcheck
    checks: dict[str, Callable[[], Any]] = {
        "gc_directional": lambda: check(fns["gc"], x, order=2, mode="directional", modes=("rev",)),
        "ggc_fast": lambda: ggc(fns["ggc"], (x,), fast_mode=True),
        "both_fast": lambda: (
            torch.autograd.gradcheck(fns["both"], (x,), fast_mode=True)
            and ggc(fns["both"], (x,), fast_mode=True)
        ),
    }
    if "gc_full" in fns:
        checks["gc_full"] = lambda: check(fns["gc_full"], x, order=2, mode="full", modes=("rev",))
        checks["ggc_slow"] = lambda: ggc(fns["ggc_slow"], (x,))
    return checks


def _timing_row(n: int, full: bool, repeats: int) -> dict[str, Any]:
    import torch

    x = torch.tensor(np.random.default_rng(1).uniform(-1, 1, n), requires_grad=True)
    names = ["gc", "ggc", "both", *(["gc_full", "ggc_slow"] if full else [])]
    fns = {k: Counted() for k in names}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the peers' own deprecation warnings
        secs, last = interleaved(_checks(fns, x), repeats)
    calls = {k: f.calls // (repeats + 1) for k, f in fns.items()}
    row: dict[str, Any] = {
        "N": n,
        "gc_directional_s": secs["gc_directional"],
        "ggc_fast_s": secs["ggc_fast"],
        "ratio_vs_ggc_fast": secs["gc_directional"] / secs["ggc_fast"],
        "both_fast_s": secs["both_fast"],
        "ratio_vs_both_fast": secs["gc_directional"] / secs["both_fast"],
        "both_fast_calls": calls["both"],
        "gc_directional_calls": calls["gc"],
        "ggc_fast_calls": calls["ggc"],
        "gc_directional_status": last["gc_directional"].status,
        "gc_directional_backward_evals": last["gc_directional"].options["second_order_evaluations"],
    }
    if full:
        rep = last["gc_full"]
        row |= {
            "gc_full_s": secs["gc_full"],
            "ggc_slow_s": secs["ggc_slow"],
            "gc_full_calls": calls["gc_full"],
            "ggc_slow_calls": calls["ggc_slow"],
            "gc_full_status": rep.status,
            "gc_full_backward_evals_per_param": rep.options["second_order_evaluations"] / (2 * n),
            "gc_module_full_backward_evals_per_param": _module_per_param(x),
        }
    return row


def _module_per_param(x: Any) -> float:
    """``check_module(order=2, mode="full")``'s evaluations of the backward per parameter
    of the backward, on ``Ring2`` as a module with a scalar loss (its n entries and the
    loss's one cotangent)."""
    import torch

    import gradcheck.torch

    class Ring(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.x = torch.nn.Parameter(x.detach().clone())

        def forward(self) -> Any:
            return (torch.tanh(self.x) * torch.roll(self.x, 1)).sum()

    rep = gradcheck.torch.check_module(Ring(), lambda m: m(), order=2, mode="full")
    return float(rep.options["second_order_evaluations"]) / (x.numel() + 1)


VERDICTS = [
    ("bug", "case"),
    ("gc_first_order", "gc order=1"),
    ("gc_full", "gc order=2 full"),
    ("gc_directional", "gc order=2 directional"),
    ("ggc_fast", "gradgradcheck fast"),
    ("ggc_slow", "gradgradcheck slow"),
    ("gc_jax", "gc jax order=2"),
    ("jax_check_grads", "jax check_grads(order=2)"),
]
TIMES = [
    ("N", "N"),
    ("gc_directional_s", "gc directional (s)"),
    ("ggc_fast_s", "ggc fast (s)"),
    ("ratio_vs_ggc_fast", "gc / ggc fast"),
    ("both_fast_s", "gradcheck + ggc, fast (s)"),
    ("ratio_vs_both_fast", "gc / both"),
    ("gc_directional_calls", "gc fn calls"),
    ("gc_directional_backward_evals", "gc backward evals"),
    ("ggc_fast_calls", "ggc fast fn calls"),
    ("both_fast_calls", "both fn calls"),
    ("gc_full_s", "gc full (s)"),
    ("ggc_slow_s", "ggc slow (s)"),
    ("gc_full_calls", "gc full fn calls"),
    ("ggc_slow_calls", "ggc slow fn calls"),
    ("gc_full_backward_evals_per_param", "gc full: backward evals / param"),
    ("gc_module_full_backward_evals_per_param", "gc module full: backward evals / param"),
]


def order2_tables(out: dict[str, Any]) -> list[str]:
    """The verdict and timing tables, as Markdown."""
    from _page import table

    return [
        "Verdicts (N = 8; gc = gradcheck, ggc = torch.autograd.gradgradcheck; in "
        "brackets the diagnoses gradcheck names):",
        "",
        *table(out["verdicts"], VERDICTS),
        "",
        "Time and function calls on Ring2 (float64, one thread; median of interleaved rounds):",
        "",
        *table(out["timing"], TIMES),
    ]


def order2_targets(out: dict[str, Any]) -> list[str]:
    """Issue 14's benchmark targets, each marked met or not met with the numbers."""

    def mark(ok: bool) -> str:
        return "**met**" if ok else "**not met**"

    t = out["timing"]
    calls = sorted({r["gc_directional_calls"] for r in t})
    evals = sorted({r["gc_directional_backward_evals"] for r in t})
    ratios = ", ".join(f"{r['ratio_vs_ggc_fast']:.2f}× at N = {r['N']}" for r in t)
    both = ", ".join(f"{r['ratio_vs_both_fast']:.2f}× at N = {r['N']}" for r in t)
    keys = ("gc_full_backward_evals_per_param", "gc_module_full_backward_evals_per_param")
    full = [r for r in t if keys[0] in r]
    per = ", ".join(
        f"{r[keys[0]]:.2f} at N = {r['N']} (module, scalar loss: {r.get(keys[1], 0):.2f})"
        for r in full
    )
    return [
        f"- Directional second-order verdict in O(1) gradient evaluations at every size: "
        f"{mark(len(evals) == 1 and len(calls) == 1)} ({evals[-1]} evaluations of the "
        f"backward and {calls[-1]} calls of fn, first order included, at every N = "
        f"{', '.join(str(r['N']) for r in t)}).",
        f"- Directional time ≤ 1.5× gradgradcheck(fast_mode=True): "
        f"{mark(all(r['ratio_vs_ggc_fast'] <= 1.5 for r in t))} ({ratios}). "
        "order=2 checks the first order too; against torch's check of both orders, "
        "gradcheck(fast_mode=True) then gradgradcheck(fast_mode=True): "
        f"{mark(all(r['ratio_vs_both_fast'] <= 1.5 for r in t))} ({both}).",
        f"- Full mode ≤ 2 gradient evaluations per parameter, the 2 at the point included: "
        f"{mark(all(r.get(k, 0) <= FULL_PER_PARAM for r in full for k in keys))} "
        f"({per}: 2 per input, 1 per cotangent entry, 0 for a scalar loss's, and 2 at the "
        "point; the parameters of the backward are its n inputs and its m cotangent "
        "entries, and the claimed matrix takes one double backward per gradient entry on "
        "top, as gradgradcheck(fast_mode=False)).",
    ]


#: The markers of the generated section in docs/second-order.md.
BEGIN, END = "<!-- order2-benchmark: begin -->", "<!-- order2-benchmark: end -->"


def section(out: dict[str, Any]) -> str:
    """The docs section: the command, the machine, the tables and the targets."""
    m = out["machine"]
    return "\n".join(
        [
            BEGIN,
            f"*Generated by `{out['command']}` on {m['nproc']} × {m['cpu']} (shared; "
            f"torch {m['versions']['torch']}, jax {m['versions']['jax']}), in "
            f"{out['total_s']:.0f} s; do not edit by hand.*",
            "",
            *order2_tables(out),
            "",
            "Targets:",
            "",
            *order2_targets(out),
            END,
        ]
    )


def write_section(path: Path, text: str) -> None:
    """Replace the generated section of ``path`` (or append it)."""
    page = path.read_text(encoding="utf-8")
    if BEGIN in page and END in page:
        head, rest = page.split(BEGIN, 1)
        page = head + text + rest.split(END, 1)[1]
    else:
        page = page.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(page, encoding="utf-8")
