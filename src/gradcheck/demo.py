"""``gradcheck demo``: the gradient-checking lesson, then what gradcheck adds.

The demo runs the lesson's 1-D check and its network check (which finds "a mistake"
somewhere in backprop), then gradcheck's own report of the same network, which names
the two wrong gradients and the factor each is off by, and finally the corrected
backprop passing. It needs no network and runs in well under a second.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
from typing import TextIO

from gradcheck import lesson
from gradcheck._engine import check
from gradcheck._report import Report

__all__ = ["main"]

_ANSI = re.compile(r"\033\[[0-9;]*m")


def _use_colour(out: TextIO) -> bool:
    return bool(getattr(out, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ


def _lesson_line(run: object, colour: bool) -> str:
    """Run a lesson function with ``print_msg=True`` and return what it printed."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        run()  # type: ignore[operator]
    text = buf.getvalue().rstrip("\n")
    return text if colour else _ANSI.sub("", text)


def _summary(report: Report) -> list[str]:
    lines = []
    for name, p in report.parameters.items():
        if p.status == "failed":
            why = p.diagnosis.text if p.diagnosis else "wrong"
            lines.append(f"  d{name} is wrong: {why} ({p.failed} of {p.size} entries)")
    right = [n for n, p in report.parameters.items() if p.status == "passed"]
    if right:
        lines.append(f"  d{', d'.join(right)} are right.")
    return lines


def main(argv: list[str] | None = None, *, out: TextIO | None = None) -> int:
    """Print the walk-through to ``out`` (stdout); returns the exit code, 0."""
    out = out or sys.stdout
    colour = _use_colour(out)
    bold = (lambda s: f"\033[1m{s}\033[0m") if colour else (lambda s: s)

    def say(text: str = "") -> None:
        print(text, file=out)

    say(bold("1. The lesson's 1-D check: J(θ) = θx at x = 2, θ = 4, ε = 1e-7"))
    say(_lesson_line(lambda: lesson.gradient_check(2, 4, print_msg=True), colour))
    say()

    X, Y, parameters = lesson.lesson_problem()
    cost, cache = lesson.forward_propagation_n(X, Y, parameters)
    gradients = lesson.backward_propagation_n(X, Y, cache)
    say(bold("2. The lesson's network check: LINEAR→RELU→LINEAR→RELU→LINEAR→SIGMOID"))
    say(f"   cost J = {cost:.6f}; backprop has two planted mistakes. The lesson says:")
    say(
        _lesson_line(
            lambda: lesson.gradient_check_n(parameters, gradients, X, Y, print_msg=True), colour
        )
    )
    say("   ...but not where, nor what kind of mistake.")
    say()

    def network_cost(p: dict[str, object]) -> float:
        return lesson.forward_propagation_n(X, Y, p)[0]  # type: ignore[arg-type]

    report = check(network_cost, parameters, gradients)
    say(bold("3. gradcheck's report of the same check (automatic step per entry):"))
    say(str(report))
    say()
    say(bold("   In words:"))
    for line in _summary(report):
        say(line)
    say()

    fixed = lesson.backward_propagation_n_fixed(X, Y, cache)
    say(bold("4. The corrected backprop (dW2 without ×2, db1 with 1/m):"))
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
