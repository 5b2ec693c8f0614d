"""The side checks of ``gradcheck.torch.check_function``'s backward: which run, on which
pass of the function, and how their verdicts enter the report.

The checks themselves (the backward batched under ``torch.func.vmap``, and with
undefined cotangents) are in ``gradcheck._torch_batched``; one fresh pass of the
function serves both where no backward raised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import torch

from gradcheck._errors import GradcheckError
from gradcheck._evaluate import GlobalRng
from gradcheck._report import Report
from gradcheck._torch_batched import Graph, SideCheck, batched_backward, undefined_backward
from gradcheck._torch_function import Function
from gradcheck._torch_rng import SeededRng

__all__ = ["check_flags", "fresh_graph", "side_checks", "with_side_checks"]


def check_flags(batched_grad: object, undefined_grad: object) -> tuple[bool | None, bool]:
    """``batched_grad`` (``None``: where vmap runs) and ``undefined_grad`` as given, or
    a clear error naming the option."""
    if batched_grad is not None and not isinstance(batched_grad, bool):
        raise GradcheckError(
            f"batched_grad={batched_grad!r}: give True (check the backward under "
            "torch.func.vmap, an error where it cannot run), False (skip it) or None "
            "(default: check it where vmap runs)"
        )
    if not isinstance(undefined_grad, bool):
        raise GradcheckError(
            f"undefined_grad={undefined_grad!r}: give True (default: check the backward "
            "with undefined cotangents) or False (skip it)"
        )
    return batched_grad, undefined_grad


def with_side_checks(report: Report, checks: Sequence[SideCheck]) -> Report:
    """``report`` with the side checks' messages and verdicts (``report.options``), and
    each failed comparison as a parameter of its own; failed where one is."""
    failed = {n: r for c in checks for n, r in c.results.items() if r.status == "failed"}
    verdicts = {
        c.option: "skipped"
        if not c.results
        else ("failed" if any(r.status == "failed" for r in c.results.values()) else "passed")
        for c in checks
    }
    return replace(
        report,
        status="failed" if failed else report.status,
        parameters={**report.parameters, **failed},
        messages=(*report.messages, *(m for c in checks for m in c.messages)),
        options={**report.options, **verdicts},
    )


def fresh_graph(f: Function, seeded: SeededRng, rng: GlobalRng) -> Graph:
    """A fresh pass of ``f``'s function on private copies of the checked inputs, from
    the seeded torch RNG state and the user's NumPy and ``random`` states."""
    ts = {n: f.xs[i].detach().clone().requires_grad_() for n, i in zip(f.names, f.pos)}
    rng.reset()
    with torch.enable_grad(), seeded():
        outs = f.outputs(ts)
    return Graph(ts, {k: outs[k] for k in f.diff}, lambda: fresh_graph(f, seeded, rng), f.seed)


def side_checks(
    f: Function, seeded: SeededRng, rng: GlobalRng, batched: bool | None, undefined: bool
) -> list[SideCheck]:
    """The batched and undefined-cotangent checks of ``f``'s backward, as asked.

    Args:
        f: the function at the user's inputs.
        seeded: the seeded torch RNG state every pass starts from.
        rng: the user's saved NumPy and ``random`` states.
        batched: ``batched_grad`` (:func:`check_flags`).
        undefined: ``undefined_grad``: whether to check undefined cotangents.
    """
    used = [*(f.xs[i] for i in f.pos), *(f.outs[k] for k in f.diff)]
    if any(t.is_complex() for t in used):
        note = "not checked for complex inputs or outputs (real ones only)"
        asked = [("batched_grad", batched is not False), ("undefined_grad", undefined)]
        return [SideCheck(o, {}, (f"{o}: {note}",)) for o, on in asked if on]
    checks = []
    with seeded():
        # one pass serves both: the batched check keeps its graph (retain_graph), and
        # the undefined check's first case runs on it where no backward raised, each
        # further case on a pass of its own
        graph = fresh_graph(f, seeded, rng) if batched is not False or undefined else None
        intact = True  # no backward of ``graph`` has raised
        if graph is not None and batched is not False:
            checks.append(batched_backward(graph, len(f.diff) > 1, bool(batched)))
            # results only where every backward under vmap ran (one that raised is a
            # note, and its graph may be half-freed)
            intact = bool(checks[-1].results)
        if graph is not None and undefined:
            checks.append(undefined_backward(graph, intact))
    return checks
