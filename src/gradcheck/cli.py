"""The ``gradcheck`` command line: ``run``, ``sweep`` and ``demo``.

Exit codes (also in ``gradcheck --help`` and ``docs/cli.md``):

====  =======================================================================
0     passed (``run``), or the sweep was drawn (``sweep``), or help/version
1     failed: some gradient is wrong
2     inconclusive: no verdict could be reached (non-deterministic cost, noise)
3     usage or input error: bad option, missing file or function, bad problem
130   interrupted (Ctrl-C); no output file is left half-written
====  =======================================================================
"""

from __future__ import annotations

import argparse
import multiprocessing
import pickle
import sys
import traceback
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import NoReturn, TextIO

import numpy as np

from gradcheck import __version__
from gradcheck._cli_args import exited, load, run_options, seed_option
from gradcheck._errors import GradcheckError
from gradcheck._load import Problem, import_target_module
from gradcheck._report import Report
from gradcheck._terminal import (
    BOLD,
    EXIT,
    EXIT_FAILED,
    EXIT_INCONCLUSIVE,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_PASSED,
    EXIT_USAGE,
    RESET,
    colourise,
    use_colour,
)

__all__ = [
    "EXIT_FAILED",
    "EXIT_INCONCLUSIVE",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_PASSED",
    "EXIT_USAGE",
    "main",
]

_EPILOG = """\
exit codes:
  0  passed (run) / sweep drawn (sweep)
  1  failed: some gradient is wrong
  2  inconclusive: no verdict (non-deterministic cost, too much noise)
  3  usage or input error (bad option, missing file or function, bad problem)
  4  internal error (an exception gradcheck did not expect: a bug in it)
  130  interrupted (Ctrl-C)

TARGET is path/to/file.py:function or package.module:function; the function takes no
arguments (or params=, for --params) and returns (cost, params, grad),
{"cost", "params", "grad"[, "options"]}, {"model": torch_module, "loss": loss_fn}
or {"jax": f, "params": pytree}.
Colour is off when stdout is not a terminal, NO_COLOR is set, or with --no-color.
See docs/cli.md."""


class _Parser(argparse.ArgumentParser):
    """argparse with exit code 3 for usage errors (argparse's own is 2, our inconclusive)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _modes() -> tuple[str, ...]:
    from gradcheck._modes import MODES

    return tuple(MODES)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", metavar="TARGET", help="file.py:function or package.module:function")
    p.add_argument("--params", metavar="FILE.npz", help="replace parameters by name from an .npz")
    p.add_argument("--seed", type=int, default=None, help="seed of the private RNG (default 0)")
    p.add_argument("--json", metavar="FILE", help="write the result as JSON (atomically)")
    p.add_argument("--plot", metavar="FILE.png", help="write a picture (needs matplotlib)")
    p.add_argument("-q", "--quiet", action="store_true", help="only the verdict line, no bar")
    p.add_argument("--no-color", action="store_true", help="no ANSI colour")


def _parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog="gradcheck",
        description="Prove a gradient is right, or show exactly where and how it is wrong.",
        epilog=_EPILOG,
        formatter_class=fmt,
    )
    parser.add_argument("--version", action="version", version=f"gradcheck {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser(
        "run", help="check the gradient of a problem", epilog=_EPILOG, formatter_class=fmt
    )
    _common(run)
    run.add_argument("--method", choices=("central", "forward", "complex", "richardson"))
    run.add_argument("--eps", type=float, help="a fixed step (default: automatic per entry)")
    run.add_argument("--mode", choices=_modes(), help="which entries to check (default auto)")
    run.add_argument("--sample", type=float, help="entries per parameter (>= 1) or a fraction")
    run.add_argument("--rtol", type=float, help="fixed relative tolerance")
    run.add_argument("--atol", type=float, help="fixed absolute tolerance")
    run.add_argument("--workers", type=int, help="evaluate on N threads (or processes)")
    run.add_argument("--processes", action="store_true", help="--workers uses processes")
    run.add_argument(
        "--html", metavar="FILE.html", help="write a self-contained HTML report (atomically)"
    )
    sweep = sub.add_parser(
        "sweep",
        help="error against step size for the worst entries",
        epilog=_EPILOG,
        formatter_class=fmt,
    )
    _common(sweep)
    sweep.add_argument("--method", choices=("central", "forward"), default="central")
    sweep.add_argument("--entries", type=int, default=3, help="how many entries (default 3)")
    sweep.add_argument("--points", type=int, default=25, help="steps per entry (default 25)")
    sub.add_parser("demo", help="walk through the gradient-checking lesson", add_help=False)
    return parser


def _executor(args: argparse.Namespace, problem: Problem) -> Executor | None:
    if args.workers is None:
        return None
    if args.workers < 1:
        raise GradcheckError(f"--workers {args.workers}: need at least 1")
    if args.processes:
        _check_picklable(problem)
        # forkserver where there is one: fork() copies a process whose threads (torch,
        # JAX, BLAS) may hold locks; the workers import a file target themselves.
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else None)
        return ProcessPoolExecutor(
            args.workers, context, initializer=import_target_module, initargs=(args.target,)
        )
    return ThreadPoolExecutor(args.workers, thread_name_prefix="gradcheck")


def _check_picklable(problem: Problem) -> None:
    """Refuse ``--processes`` before starting a worker when the cost cannot reach one."""
    if problem.kind != "numpy":
        raise GradcheckError(
            f"--processes: a {problem.kind} problem's cost is built inside gradcheck."
            f"{problem.kind} and cannot be sent to worker processes; drop --processes "
            "(--workers N alone evaluates on threads)"
        )
    for what, value in (("cost", problem.cost), ("batched", problem.options.get("batched"))):
        if value is None:
            continue
        try:
            pickle.dumps(value)
        except Exception as exc:
            raise GradcheckError(
                f"--processes: the {what} cannot be pickled ({type(exc).__name__}: {exc}), so "
                "it cannot be sent to worker processes; drop --processes (--workers N alone "
                f"evaluates on threads), or define the {what} as a function at the top level "
                "of the target's file or module (not a lambda or a nested function)"
            ) from exc


def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from gradcheck._progress import ProgressBar

    opts = run_options(args)
    problem = load(args)
    executor = _executor(args, problem)
    bar = ProgressBar(err, enabled=False if args.quiet else None)
    try:
        report: Report = problem.run(
            {**opts, "progress": bar, **({"executor": executor} if executor else {})}
        )
    except SystemExit as exc:
        raise exited(exc) from exc
    finally:
        bar.close()
        if executor is not None:
            executor.shutdown(cancel_futures=True)
    text = str(report)
    if args.quiet:
        text = text.splitlines()[0]
    print(colourise(text) if use_colour(out, args.no_color) else text, file=out)
    if args.json:
        from gradcheck._io import write_json_atomic

        write_json_atomic(args.json, report.to_dict())
    if args.plot:
        report.plot(args.plot)
    if args.html:
        try:
            report.to_html(args.html)
        except GradcheckError as exc:
            raise GradcheckError(f"--html {args.html}: {exc}") from exc
    return EXIT[report.status]


def _sweep(args: argparse.Namespace, out: TextIO) -> int:
    from gradcheck._engine import check
    from gradcheck._sweep import sweep

    seed = seed_option(args)
    problem = load(args)
    if problem.kind != "numpy":
        raise GradcheckError(
            f"sweep works on (cost, params, grad) problems; {args.target} is a {problem.kind} "
            "problem (use `gradcheck run` for it)"
        )
    if args.entries < 1:
        raise GradcheckError(f"--entries {args.entries}: need at least 1")
    cost = problem.cost
    assert cost is not None  # a numpy problem always has one
    # The check picks the entries to sweep: its worst ones (the largest gradients when it
    # names none, e.g. a passing directional check).
    options = {**problem.options, **seed}
    try:
        report = check(cost, problem.params, problem.grad, **options)
        worst = sorted(report.worst, key=lambda e: e.status == "ok")
        entries = [(e.parameter, e.index) for e in worst[: args.entries]] or None
        result = sweep(
            cost,
            problem.params,
            problem.grad,
            method=args.method,
            entries=entries,
            count=args.entries,
            points=args.points,
        )
    except SystemExit as exc:
        raise exited(exc) from exc
    colour = use_colour(out, args.no_color)
    head = f"step-size sweep ({result.method} differences, truncation order {result.order})"
    lines = [f"{BOLD}{head}{RESET}" if colour else head]
    rows = [
        (
            "entry",
            "analytic",
            "numeric",
            "chosen ε",
            "|g − g̃| at ε",
            "FD error at ε",
            "best ε",
            "truncation slope",
            "round-off slope",
        )
    ]
    for c in result.curves:
        at = int(np.searchsorted(c.steps, c.chosen))
        rows.append(
            (
                c.label(),
                f"{c.analytic:.6g}",
                f"{c.reference:.6g}",
                f"{c.chosen:.2e}",
                f"{c.chosen_error:.2e}",
                f"{c.fd_errors[at]:.2e}",
                f"{c.best:.2e}",
                f"{c.truncation_slope:.2f}",
                f"{c.roundoff_slope:.2f}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    if not args.quiet:
        lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        lines.append(
            f"  expected: truncation slope ≈ {result.order}, round-off slope ≈ -1. |g − g̃| far "
            "above the FD error at every ε is a wrong gradient, not round-off."
        )
    print("\n".join(lines), file=out)
    if args.json:
        from gradcheck._io import write_json_atomic

        write_json_atomic(
            args.json,
            {
                "method": result.method,
                "order": result.order,
                "status": report.status,
                "curves": [
                    {
                        "parameter": c.parameter,
                        "index": list(c.index),
                        "analytic": c.analytic,
                        "reference": c.reference,
                        "chosen": c.chosen,
                        "chosen_error": c.chosen_error,
                        "best": c.best,
                        "fd_errors": c.fd_errors.tolist(),
                        "truncation_slope": c.truncation_slope,
                        "roundoff_slope": c.roundoff_slope,
                        "steps": c.steps.tolist(),
                        "errors": c.errors.tolist(),
                    }
                    for c in result.curves
                ],
            },
        )
    if args.plot:
        from gradcheck.plot import plot_sweep

        plot_sweep(result, args.plot)
    return EXIT_PASSED


def main(
    argv: list[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run the command line; returns the exit code (see the module doc)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    out = out or sys.stdout
    err = err or sys.stderr
    if args_list and args_list[0] == "demo":
        from gradcheck.demo import main as demo_main

        return demo_main(args_list[1:])
    parser = _parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help(err)
        return EXIT_USAGE
    try:
        if args.command == "run":
            return _run(args, out, err)
        return _sweep(args, out)
    except GradcheckError as exc:
        print(f"gradcheck: error: {exc}", file=err)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("gradcheck: interrupted (no output file is left half-written)", file=err)
        return EXIT_INTERRUPTED
    except Exception as exc:
        traceback.print_exc(file=err)
        print(
            f"gradcheck: internal error: {type(exc).__name__}: {exc} (a bug in gradcheck: "
            "please report it with the traceback above; exit code 4, not a verdict)",
            file=err,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
