"""Accuracy benchmark: how often is gradcheck's verdict wrong, at its default options?

Run from the repository root: ``.venv/bin/python benchmarks/accuracy.py`` (part of
``make bench``; a few minutes on 2 cores). Over many seeded random problems with exact
gradients it counts false failures on correct gradients, misses of errors planted at
1.1× each parameter's stated detection bound, and inconclusive verdicts (issue 11),
prints a table and every wrong verdict's family and seed, and writes
``benchmarks/accuracy.json`` and ``docs/accuracy.md``.

``--quick`` runs a few cases per family (seconds; writes nothing unless ``--out DIR``);
``--case FAMILY:SEED`` reruns one case and prints its reports; ``--family NAME`` (may
repeat) runs only those families, ``--seeds N`` N cases of each. The families are in
``_accuracy_run``, the problems in ``_accuracy_problems`` and ``_accuracy_frameworks``,
the page in ``_accuracy_page``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"
os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import multiprocessing  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from concurrent.futures import ProcessPoolExecutor, as_completed  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _accuracy_page import markdown, reproducers, summarise, table, targets  # noqa: E402
from _accuracy_run import FAMILIES, Family, Outcome, family_named, run_case, run_chunk  # noqa: E402
from _page import machine  # noqa: E402

import gradcheck  # noqa: E402

#: Each family's seeds are split into about this many process-pool tasks.
CHUNKS = 6


def _tasks(families: list[Family], quick: bool, seeds: int | None) -> list[tuple[str, range]]:
    """(family name, seeds) tasks, the slowest families first (their order in FAMILIES)."""
    out = []
    for f in families:
        n = seeds if seeds is not None else f.quick if quick else f.seeds
        step = max(1, math.ceil(n / CHUNKS))
        out += [(f.name, range(a, min(n, a + step))) for a in range(0, n, step)]
    return out


def measure(
    families: list[Family], quick: bool, jobs: int, seeds: int | None = None
) -> dict[str, Any]:
    """Run every case; the per-family summaries (in FAMILIES order) and the targets."""
    found: dict[str, list[Outcome]] = defaultdict(list)
    seconds: dict[str, float] = defaultdict(float)
    tasks = _tasks(families, quick, seeds)

    def take(result: tuple[str, list[Outcome], float]) -> None:
        name, outs, sec = result
        found[name] += outs
        seconds[name] += sec
        wrong = sum(
            o.status in ("failed", "passed") and (o.kind == "correct") == (o.status == "failed")
            for o in outs
        )
        print(f"  {name}: {len(outs)} checks in {sec:.1f} s, {wrong} wrong", flush=True)

    if jobs <= 1:
        for name, seeds in tasks:
            take(run_chunk(name, seeds))
    else:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(jobs, mp_context=ctx) as pool:
            for fut in as_completed([pool.submit(run_chunk, n, s) for n, s in tasks]):
                take(fut.result())
    rows = [
        summarise(f, sorted(found[f.name], key=lambda o: o.seed), seconds[f.name]) for f in families
    ]
    return {"families": rows, "targets": targets(rows)}


def show_case(spec: str) -> int:
    """``--case FAMILY:SEED``: rerun that case and print each report."""
    name, _, seed = spec.rpartition(":")
    family = family_named(name)

    def show(title: str, report: gradcheck.Report) -> None:
        print(f"=== {title}: {report.status}\n{report}\n", flush=True)

    for o in run_case(family, int(seed), show):
        print(f"{o.kind}: {o.status} (parameter {o.parameter}, stated bound {o.bound:.3g})")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the table; write the JSON and the page."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a few cases per family")
    ap.add_argument(
        "--out",
        type=Path,
        help="write accuracy.json and accuracy.md here "
        "(default: benchmarks/ and docs/, written only by the full run)",
    )
    ap.add_argument(
        "--jobs",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="worker processes (default: 2, or 1 on one CPU)",
    )
    ap.add_argument("--family", action="append", help="run only this family (may repeat)")
    ap.add_argument("--seeds", type=int, help="this many cases in every family run")
    ap.add_argument("--case", metavar="FAMILY:SEED", help="rerun one case, print its reports")
    args = ap.parse_args(argv)
    if args.case:
        return show_case(args.case)
    families = [family_named(n) for n in args.family] if args.family else list(FAMILIES)
    start = time.perf_counter()
    out: dict[str, Any] = {"machine": machine(), "jobs": args.jobs}
    load = os.getloadavg()[0]
    out.update(measure(families, args.quick, args.jobs, args.seeds))
    out["loadavg"] = [load, os.getloadavg()[0]]
    out["total_s"] = time.perf_counter() - start
    exe = Path(sys.executable)
    exe_s = ".venv/bin/python" if exe.parent.parent.name == ".venv" else str(exe)
    out["command"] = shlex.join([exe_s, "benchmarks/accuracy.py", *(argv or sys.argv[1:])])
    print("\n".join(table(out["families"])))
    print("\nEvery wrong or undecided verdict (rerun with --case 'FAMILY:SEED'):")
    print("\n".join(reproducers(out["families"], None)) or "- none")
    print("\nTargets:\n" + "\n".join(t["line"] for t in out["targets"]))
    print(f"\n{out['total_s']:.0f} s")
    full = not args.quick and not args.family and args.seeds is None
    if args.out or full:
        json_path = (args.out or ROOT / "benchmarks") / "accuracy.json"
        page_path = (args.out or ROOT / "docs") / "accuracy.md"
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(out, indent=1) + "\n")
        page_path.write_text(markdown(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
