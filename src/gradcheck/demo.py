"""``gradcheck demo``: the gradient-checking lesson, then what gradcheck adds.

The demo runs the lesson's 1-D check and its network check (which finds "a mistake"
somewhere in backprop), then gradcheck's own report of the same network, which names
the two wrong gradients and the factor each is off by, and finally the corrected
backprop passing. It needs no network and runs in well under a second.

Colour is used only when the output is a terminal, ``NO_COLOR`` is unset (or empty)
and ``--no-color`` is not given, as for the rest of the command line.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from gradcheck import lesson
from gradcheck._engine import check
from gradcheck._report import Report
from gradcheck._terminal import BOLD, EXIT_USAGE, RESET, colourise, plain, use_colour

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gradcheck demo",
        description=(
            "Walk through the classic gradient-checking lesson (the 1-D check and the "
            "3-layer network with two planted backprop mistakes), then show gradcheck's "
            "report of the same network and the corrected backprop passing."
        ),
        add_help=False,
        allow_abbrev=False,
    )
    parser.add_argument("-h", "--help", action="store_true", help="show this help and exit")
    parser.add_argument("--no-color", action="store_true", help="no ANSI colour")
    return parser


def _lesson_line(run: Callable[[], object], colour: bool) -> str:
    """Run a lesson function with ``print_msg=True`` and return what it printed.

    Without colour the lesson's ANSI codes are stripped.
    """
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        run()
    text = buf.getvalue().rstrip("\n")
    return text if colour else plain(text)


def _summary(report: Report) -> list[str]:
    """The report in words: each wrong gradient and its diagnosis, then the right ones."""
    lines = []
    for name, p in report.parameters.items():
        if p.status == "failed":
            why = p.diagnosis.text if p.diagnosis else "wrong"
            lines.append(f"   d{name} is wrong: {why} ({p.failed} of {p.size} entries wrong)")
    right = [n for n, p in report.parameters.items() if p.status == "passed"]
    if right:
        lines.append(f"   d{', d'.join(right)} {'is' if len(right) == 1 else 'are'} right.")
    return lines


def main(argv: list[str] | None = None, *, out: TextIO | None = None) -> int:
    """Print the walk-through.

    Args:
        argv: the arguments after ``demo`` (``-h``/``--help``, ``--no-color``); default none.
        out: where to print; default ``sys.stdout``.

    Returns:
        The exit code: 0, or 3 for an unknown argument.
    """
    out = out or sys.stdout
    parser = _parser()
    args, unknown = parser.parse_known_args([] if argv is None else argv)
    if unknown:
        parser.print_usage(sys.stderr)
        message = f"unrecognized arguments: {' '.join(unknown)}"
        print(f"{parser.prog}: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    if args.help:
        out.write(parser.format_help())
        return 0

    colour = use_colour(out, args.no_color)

    def say(text: str = "") -> None:
        print(text, file=out)

    def heading(text: str) -> None:
        say(f"{BOLD}{text}{RESET}" if colour else text)

    heading("1. The lesson's 1-D check: J(θ) = θx at x = 2, θ = 4, ε = 1e-7")
    say(_lesson_line(lambda: lesson.gradient_check(2, 4, print_msg=True), colour))
    say()

    X, Y, parameters = lesson.lesson_problem()
    cost, cache = lesson.forward_propagation_n(X, Y, parameters)
    gradients = lesson.backward_propagation_n(X, Y, cache)
    heading("2. The lesson's network check: LINEAR→RELU→LINEAR→RELU→LINEAR→SIGMOID")
    say(f"   cost J = {cost:.6f}; backprop has two planted mistakes. The lesson says:")
    say(
        _lesson_line(
            lambda: lesson.gradient_check_n(parameters, gradients, X, Y, print_msg=True), colour
        )
    )
    say("   ...but not where, nor what kind of mistake.")
    say()

    def network_cost(p: Mapping[str, Any]) -> float:
        return lesson.forward_propagation_n(X, Y, dict(p))[0]

    report = check(network_cost, parameters, gradients)
    heading("3. gradcheck's report of the same check (automatic step per entry):")
    table = str(report)
    if colour:
        table = colourise(table)
    say(table)
    say()
    heading("   In words:")
    for line in _summary(report):
        say(line)
    say()

    fixed = lesson.backward_propagation_n_fixed(X, Y, cache)
    heading("4. The corrected backprop (dW2 without ×2, db1 with 1/m):")
    say(
        _lesson_line(
            lambda: lesson.gradient_check_n(parameters, fixed, X, Y, print_msg=True), colour
        )
    )
    fixed_report = check(network_cost, parameters, fixed)
    say(
        f"   gradcheck: {fixed_report.status} — all {len(fixed_report.parameters)} parameters, "
        f"{sum(p.checked for p in fixed_report.parameters.values())} entries, "
        f"{fixed_report.evaluations} cost evaluations, difference {fixed_report.difference:.2e}"
    )
    return 0
