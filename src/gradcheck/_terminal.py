"""What the command lines share about the terminal: exit codes and colour.

``gradcheck run`` / ``sweep`` (``gradcheck.cli``) and ``gradcheck demo``
(``gradcheck.demo``) both read these; neither imports the other for them. The
progress bar is ``gradcheck._progress``.

>>> colourise("gradcheck FAILED: x") == "gradcheck \\033[1m\\033[31mFAILED\\033[0m: x"
True
>>> plain(colourise("x passed"))
'x passed'
"""

from __future__ import annotations

import os
import re
from typing import TextIO

__all__ = [
    "BOLD",
    "EXIT",
    "EXIT_FAILED",
    "EXIT_INCONCLUSIVE",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_PASSED",
    "EXIT_USAGE",
    "RESET",
    "colourise",
    "plain",
    "use_colour",
]

EXIT_PASSED, EXIT_FAILED, EXIT_INCONCLUSIVE, EXIT_USAGE = 0, 1, 2, 3
#: An exception gradcheck did not expect (a bug in it): not 1, which says "failed", what
#: Python exits with on an uncaught exception (attack33: a FloatingPointError from the
#: checker's own arithmetic read as a failed gradient to a CI script).
EXIT_INTERNAL = 4
#: 128 + SIGINT, what a shell reports for a Ctrl-C'd command.
EXIT_INTERRUPTED = 130
#: A report's status → the command's exit code.
EXIT = {"passed": EXIT_PASSED, "failed": EXIT_FAILED, "inconclusive": EXIT_INCONCLUSIVE}
RED, GREEN, YELLOW, BOLD, RESET = "\033[31m", "\033[32m", "\033[33m", "\033[1m", "\033[0m"
_ANSI = re.compile(r"\033\[[0-9;]*m")
_PAINT = {
    "PASSED": GREEN,
    "passed": GREEN,
    "FAILED": RED,
    "INCONCLUSIVE": YELLOW,
    "inconclusive": YELLOW,
    "[wrong]": RED,
    "[uncertain]": YELLOW,
}
_WORDS = re.compile(
    r"(?<![\w\[])(PASSED|FAILED|INCONCLUSIVE|passed|inconclusive)(?!\w)|\[wrong\]|\[uncertain\]"
)


def use_colour(stream: TextIO, no_color: bool) -> bool:
    """Whether to colour what goes to ``stream``: a terminal, without ``--no-color``
    or the ``NO_COLOR`` environment variable (https://no-color.org)."""
    if no_color or os.environ.get("NO_COLOR"):
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def colourise(text: str) -> str:
    """Colour a report's verdicts and statuses with ANSI codes (verdicts in bold)."""

    def paint(m: re.Match[str]) -> str:
        word = m.group(0)
        bold = BOLD if word.isupper() else ""
        return f"{bold}{_PAINT[word]}{word}{RESET}"

    return _WORDS.sub(paint, text)


def plain(text: str) -> str:
    """``text`` without ANSI colour codes."""
    return _ANSI.sub("", text)
