"""Second-order benchmark (issue 14): ``order=2`` against gradgradcheck and check_grads.

Run from the repository root: ``.venv/bin/python benchmarks/order2.py`` (a few minutes
on 2 shared cores) or ``--quick`` (smaller sizes; writes nothing unless ``--write``).
Prints the tables and the targets, writes ``benchmarks/order2.json`` and the generated
section of ``docs/second-order.md`` (between its ``order2-benchmark`` markers). The
cases and the columns: ``benchmarks/_order2.py``. One thread, as ``benchmarks/run.py``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"
os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"

import argparse  # noqa: E402
import json  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402

torch.set_num_threads(1)

from _order2 import (  # noqa: E402
    order2_tables,
    order2_targets,
    section,
    timing_rows,
    verdict_rows,
    write_section,
)
from _page import machine  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Run; print the tables and targets; write the JSON and the docs section."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes, about a minute")
    ap.add_argument("--write", action="store_true", help="with --quick: write the outputs")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    q = args.quick
    sizes = [10**2, 10**4] if q else [10**2, 10**4, 10**6]
    out: dict[str, Any] = {"machine": machine()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the peers' own deprecation warnings
        out["verdicts"] = verdict_rows()
        out["timing"] = timing_rows(sizes, [100] if q else [100, 300], 1 if q else 5)
    out["total_s"] = time.perf_counter() - start
    exe = Path(sys.executable)
    exe_s = str(exe.relative_to(ROOT)) if exe.is_relative_to(ROOT) else str(exe)
    out["command"] = shlex.join([exe_s, "benchmarks/order2.py", *(argv or sys.argv[1:])])
    out["targets"] = order2_targets(out)
    print("\n".join([*order2_tables(out), "", "Targets:", *out["targets"]]))
    if not q or args.write:
        (ROOT / "benchmarks" / "order2.json").write_text(json.dumps(out, indent=1) + "\n")
        write_section(ROOT / "docs" / "second-order.md", section(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
