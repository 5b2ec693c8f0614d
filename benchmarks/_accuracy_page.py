"""The accuracy benchmark's summary: counts per family, targets, the printed table and
the docs/accuracy.md page."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from _accuracy_run import PLANT_FACTOR, Family, Outcome

__all__ = ["REPRO_SHOWN", "markdown", "summarise", "table", "targets"]

#: Reproducer seeds listed per family and kind on the page (all of them are printed
#: by the run and kept in the JSON).
REPRO_SHOWN = 5
#: The targets of issue 11.
MIN_CORRECT = 5000
MIN_CAUGHT = 0.999
MAX_INCONCLUSIVE = 0.05


def summarise(family: Family, outcomes: Iterable[Outcome], seconds: float) -> dict[str, Any]:
    """The counts of one family and the seeds of every wrong or undecided verdict."""
    outs = list(outcomes)
    correct = [o for o in outs if o.kind == "correct"]
    planted = [o for o in outs if o.kind != "correct" and o.status != "no bound"]

    def seeds(items: Iterable[Outcome], status: str) -> list[int]:
        return sorted({o.seed for o in items if o.status.startswith(status)})

    caught = sum(o.status == "failed" for o in planted)
    row: dict[str, Any] = {
        "family": family.name,
        "about": family.about,
        "cases": len(correct),
        "float32_formula": family.float32_formula,
        "modes": sorted({o.mode for o in outs if o.mode}),
        "correct": len(correct),
        "false_failures": sum(o.status == "failed" for o in correct),
        "correct_inconclusive": sum(o.status == "inconclusive" for o in correct),
        "planted": len(planted),
        "caught": caught,
        "missed": sum(o.status == "passed" for o in planted),
        "planted_inconclusive": sum(o.status == "inconclusive" for o in planted),
        "errors": sum(o.status.startswith("error") for o in outs),
        "no_bound": sum(o.status == "no bound" for o in outs),
        "seconds": seconds,
        "reproducers": {
            "false_failure": seeds(correct, "failed"),
            "missed_random": seeds((o for o in planted if o.kind == "random"), "passed"),
            "missed_largest": seeds((o for o in planted if o.kind == "largest"), "passed"),
            "inconclusive": seeds(correct, "inconclusive"),
            "planted_inconclusive": seeds(planted, "inconclusive"),
            "error": seeds(outs, "error"),
        },
        "error_messages": sorted({o.status for o in outs if o.status.startswith("error")})[:5],
    }
    row["inconclusive_share"] = row["correct_inconclusive"] / max(1, row["correct"])
    row["caught_share"] = caught / row["planted"] if row["planted"] else float("nan")
    return row


def _mark(ok: bool) -> str:
    return "**met**" if ok else "**NOT met**"


def targets(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Issue 11's three targets, each with ``met`` and a sentence with the numbers."""
    n = sum(r["correct"] for r in rows)
    ff = sum(r["false_failures"] for r in rows)
    planted = sum(r["planted"] for r in rows)
    caught = sum(r["caught"] for r in rows)
    missed = sum(r["missed"] for r in rows)
    share = caught / planted if planted else 0.0
    f32 = [r for r in rows if r["float32_formula"]]
    worst = max((r["inconclusive_share"] for r in f32), default=0.0)
    per = ", ".join(f"{r['family']} {r['correct_inconclusive']}/{r['correct']}" for r in f32)
    per = per or "no such family was run"
    crashed = sum(r["errors"] for r in rows)
    out = [
        {
            "target": "false failures",
            "met": ff == 0 and n >= MIN_CORRECT and not crashed,
            "text": f"0 false failures in at least {MIN_CORRECT} correct-gradient checks: "
            f"{ff} in {n}" + (f" ({crashed} checks crashed)" if crashed else ""),
        },
        {
            "target": "caught",
            "met": planted > 0 and share >= MIN_CAUGHT,
            "text": f"at least {MIN_CAUGHT:.1%} of errors at {PLANT_FACTOR}× the stated bound "
            f"caught: {caught}/{planted} = {share:.2%} ({missed} passed, "
            f"{planted - caught - missed} inconclusive or crashed)",
        },
        {
            "target": "inconclusive",
            "met": bool(f32) and worst <= MAX_INCONCLUSIVE,
            "text": f"at most {MAX_INCONCLUSIVE:.0%} inconclusive on correct float32 models "
            f"whose formula can be checked in float64, in every such family: {per}",
        },
    ]
    for t in out:
        t["line"] = f"- {t['text']}: {_mark(t['met'])}"
    return out


COLUMNS = [
    ("family", "family"),
    ("correct", "correct checks"),
    ("false_failures", "false failures"),
    ("correct_inconclusive", "inconclusive"),
    ("planted", "planted errors"),
    ("caught", "caught"),
    ("missed", "missed (passed)"),
    ("planted_inconclusive", "planted → inconclusive"),
    ("no_bound", "no bound stated"),
    ("errors", "crashed"),
    ("seconds", "seconds"),
]


def _cell(v: Any) -> str:
    return f"{v:.1f}" if isinstance(v, float) else str(v)


def table(rows: list[dict[str, Any]]) -> list[str]:
    """The per-family counts as a Markdown table, with a totals row."""
    total: dict[str, Any] = {k: sum(r[k] for r in rows) for k, _ in COLUMNS[1:]}
    total["family"] = "**all**"
    out = [
        "| " + " | ".join(h for _, h in COLUMNS) + " |",
        "|---" + "|---:" * (len(COLUMNS) - 1) + "|",
    ]
    out += ["| " + " | ".join(_cell(r[k]) for k, _ in COLUMNS) + " |" for r in [*rows, total]]
    return out


def reproducers(rows: list[dict[str, Any]], limit: int | None = REPRO_SHOWN) -> list[str]:
    """One line per family and kind of wrong verdict: the seeds (the first ``limit``)."""
    out = []
    for r in rows:
        for kind, seeds in r["reproducers"].items():
            if seeds:
                shown = seeds if limit is None else seeds[:limit]
                more = f" … ({len(seeds)} in all)" if len(shown) < len(seeds) else ""
                out.append(
                    f"- {r['family']}, {kind.replace('_', ' ')}: seeds "
                    f"{', '.join(map(str, shown))}{more}"
                )
    return out


def markdown(out: dict[str, Any]) -> str:
    """The docs/accuracy.md page."""
    mc = out["machine"]
    vs = ", ".join(f"{k} {v}" for k, v in mc["versions"].items())
    about = [
        f"- **{r['family']}** ({r['cases']} cases; mode {', '.join(r['modes']) or '-'}): "
        f"{r['about']}"
        for r in out["families"]
    ]
    page = [
        "# Accuracy: how often is the verdict wrong?",
        "",
        "Generated by `benchmarks/accuracy.py` (run by `make bench`); do not edit by hand. "
        "Command:",
        "",
        f"    {out['command']}",
        "",
        f"Machine: {mc['nproc']} CPUs ({mc['cpu']}), {mc['platform']}, Python "
        f"{mc['python']}; {vs}. Total run time {out['total_s']:.0f} s "
        f"({out['jobs']} worker processes, one thread each; 1-minute load average "
        f"{out['loadavg'][0]:.1f} before, {out['loadavg'][1]:.1f} after: the machine is "
        "shared). *seconds* in the table is a family's wall time summed over its tasks.",
        "",
        "Every check runs `gradcheck.check` (or `gradcheck.torch.check_module`, "
        "`gradcheck.jax.check`) at its **default options** (the one exception is the "
        "family `N=1e3 directional`, which asks for `mode='directional'`). For each case "
        "(a family and a seed, drawn from `np.random.default_rng(seed)`):",
        "",
        "1. the correct gradient is checked: `failed` is a **false failure**, "
        "`inconclusive` is counted as such;",
        f"2. in one parameter (drawn with the seed) an error of **{PLANT_FACTOR}× the bound "
        "that check stated** is planted at one entry: a random entry, and separately the "
        "parameter's largest gradient entry, and each is checked. Only `failed` counts as "
        "**caught**; `passed` is a **miss**; `inconclusive` is counted on its own.",
        "",
        "The stated bound is the parameter's `detection_bound`: in the full mode relative to "
        "its largest gradient entry (the model's, where the report notes that the "
        "parameter's gradient is zero within round-off; the planted error is "
        "`1.1 · bound · max|g|`); in the "
        "directional mode the guarantee's `ρ* = ‖s ⊙ ε‖ / ‖s ⊙ g‖` (`s` the entry scales), "
        "so one entry `i` gets `1.1 · ρ* · ‖s ⊙ g‖ / sᵢ`. A check that states no bound "
        "(zero or not finite) gets no planted error (column *no bound stated*). Errors enter "
        "the NumPy gradient functions as an added array, and torch's and JAX's autograd "
        "through `Σ e ⊙ (θ − stop_gradient(θ))` added to the loss (value exactly 0, "
        "gradient `e`). The directional guarantee itself allows a miss with probability "
        "δ = 1e-3 per check, which is the 99.9% of the target; run one family longer "
        "with `--family NAME --seeds N`.",
        "",
        "## Targets (issue 11)",
        "",
        *(t["line"] for t in out["targets"]),
        "",
        "## Results",
        "",
        *table(out["families"]),
        "",
        "## Reproducers",
        "",
        "Rerun one case, with every report printed: "
        "`.venv/bin/python benchmarks/accuracy.py --case 'FAMILY:SEED'`. "
        f"The first {REPRO_SHOWN} seeds of each kind (all of them are in "
        "`benchmarks/accuracy.json`):",
        "",
        *(reproducers(out["families"]) or ["- none"]),
        "",
        "## Families",
        "",
        *about,
        "",
    ]
    return "\n".join(page) + "\n"
