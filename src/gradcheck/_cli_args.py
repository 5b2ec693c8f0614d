"""What a ``gradcheck run`` / ``sweep`` command line asks for, read and checked before
the check starts: the check's options, the seed, the output files and the problem.

Each error is a :class:`~gradcheck.GradcheckError` naming the flag (``gradcheck.cli``
prints it and exits with code 3).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
from typing import Any

from gradcheck._errors import GradcheckError
from gradcheck._load import Problem, load_problem

__all__ = ["check_outputs", "exited", "load", "run_options", "seed_option"]


def seed_option(args: argparse.Namespace) -> dict[str, int]:
    """``{"seed": S}`` from ``--seed S``, or ``{}`` without it."""
    if args.seed is None:
        return {}
    if args.seed < 0:
        raise GradcheckError(f"--seed {args.seed}: a seed is a non-negative integer (0, 1, ...)")
    return {"seed": args.seed}


def run_options(args: argparse.Namespace) -> dict[str, Any]:
    """The check's options that ``run``'s flags give (``--method``, ``--eps``, ``--mode``,
    ``--rtol``, ``--atol``, ``--seed``, ``--sample``); a flag not given is left out."""
    names = ("method", "eps", "mode", "rtol", "atol")
    opts = {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}
    opts.update(seed_option(args))
    if getattr(args, "sample", None) is not None:
        s = float(args.sample)
        opts["sample"] = int(s) if s >= 1 and s.is_integer() else s
    return opts


def check_outputs(args: argparse.Namespace) -> None:
    """Fail before a long check, not after it, on an output that cannot be written."""
    examples = {"--json": "report.json", "--plot": "report.png", "--html": "report.html"}
    html = getattr(args, "html", None)  # `sweep` has no --html
    for flag, path in (("--json", args.json), ("--plot", args.plot), ("--html", html)):
        if path is None:
            continue
        if os.path.isdir(path):
            raise GradcheckError(
                f"{flag} {path}: that is a folder; give a file name, e.g. "
                f"{os.path.join(path, examples[flag])}"
            )
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise GradcheckError(f"{flag} {path}: the folder {folder!r} does not exist")
    if args.plot is not None:
        if importlib.util.find_spec("matplotlib") is None:
            raise GradcheckError("--plot needs matplotlib: pip install 'gradcheck[plot]'")
        from gradcheck.plot import picture_format

        picture_format(args.plot)


def load(args: argparse.Namespace) -> Problem:
    """The problem ``TARGET`` returns (given ``--params``' arrays), once the output files
    are known to be writable (:func:`check_outputs`)."""
    check_outputs(args)
    arrays = None
    if args.params:
        from gradcheck._io import load_npz

        arrays = load_npz(args.params)
    return load_problem(args.target, arrays)


def exited(exc: SystemExit) -> GradcheckError:
    """The error for a target whose code called ``sys.exit()`` during the check."""
    return GradcheckError(
        f"the target's code exited during the check (SystemExit({exc.code!r})): a cost, "
        "gradient or loss must return a value, not call sys.exit() or parse the command line"
    )
