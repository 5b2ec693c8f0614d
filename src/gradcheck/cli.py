"""The ``gradcheck`` command line.

Exit codes: 0 passed, 1 failed, 2 inconclusive, 3 usage or input error.
"""

from __future__ import annotations

import argparse
import sys

from gradcheck import __version__

__all__ = ["main"]

EXIT_USAGE = 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gradcheck",
        description="Prove a gradient is right, or show exactly where and how it is wrong.",
    )
    parser.add_argument("--version", action="version", version=f"gradcheck {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("demo", help="walk through the gradient-checking lesson", add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    if args and args[0] == "demo":
        from gradcheck.demo import main as demo_main

        return demo_main(args[1:])
    try:
        parser.parse_args(args)
    except SystemExit as exc:
        return EXIT_USAGE if exc.code else 0
    parser.print_help()
    return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
