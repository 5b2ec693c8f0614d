"""The pytest plugin (entry point ``pytest11``): a ``gradcheck`` fixture and ``--gradcheck-mode``.

Installed with gradcheck, it is active in every pytest run. In a test::

    def test_backprop(gradcheck):
        gradcheck.assert_gradients(cost, params, grad)        # fails with a compact report
        report = gradcheck.check(cost, params, grad)          # or look at the report
        gradcheck.check_module(model, loss_fn)                # torch: gradcheck.torch

``--gradcheck-mode`` runs a whole suite's fixture checks in one mode:

* ``quick``: the ``directional`` mode (10 cost evaluations whatever the size, with a
  stated detection guarantee; see ``docs/scale.md``);
* ``full``: every entry (``mode="full"``), e.g. for a nightly job;
* ``auto`` (default): each call's own ``mode=``, else the engine's ``auto``.

A mode given on the command line overrides a test's own ``mode=``; without it, the
test's choice stands. The failure message is the compact report: the mode that ran
(and the ``--gradcheck-mode`` that chose it), the wrong parameters with their
diagnosis, then the worst entries. Neither the fixture's frames nor
:func:`gradcheck.assert_gradients`'s show in a failure's traceback.

This module is imported by pytest for every run: it imports nothing but pytest at
import time (no NumPy, never torch or jax).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from gradcheck._report import Report

__all__ = ["CHOICES", "GradcheckFixture", "compact", "gradcheck", "pytest_addoption"]

#: ``--gradcheck-mode`` values → engine mode (``None``: leave each call's own).
CHOICES: dict[str, str | None] = {"auto": None, "quick": "directional", "full": "full"}
#: The older mode-only keywords of :func:`gradcheck.check` and the mode each applies to.
MODE_ONLY = {
    "sample": "sample",
    "miss_probability": "directional",
    "budget": "directional",
    "localise": "directional",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--gradcheck-mode``."""
    group = parser.getgroup("gradcheck", "gradient checks (gradcheck)")
    group.addoption(
        "--gradcheck-mode",
        choices=tuple(CHOICES),
        default="auto",
        help="mode of every `gradcheck` fixture check: quick (directional), full (every "
        "entry) or auto (each test's own mode; default)",
    )


def pytest_report_header(config: pytest.Config) -> str | None:
    """Name the mode in the session header when one was chosen."""
    mode = config.getoption("--gradcheck-mode", default="auto")
    return None if mode == "auto" else f"gradcheck: --gradcheck-mode={mode}"


def _engine_mode(choice: str) -> str | None:
    """The engine mode for ``choice`` (``None``: each call's own)."""
    return CHOICES[choice]


def _ran(report: Report, choice: str | None) -> str:
    """Which mode ran, and who chose it: ``"directional mode (--gradcheck-mode=quick)"``."""
    how = f" (--gradcheck-mode={choice})" if choice and choice != "auto" else ""
    return f"{report.mode} mode{how}"


def _wrong_entries(p: Any, mode: str) -> str:
    """How a parameter went wrong; a directional check compares no entry by itself."""
    if mode != "directional":
        if p.checked < p.size:  # a sample: the entries not compared are not known right
            return f"{p.failed} of {p.checked} entries compared wrong ({p.size} in all)"
        return f"{p.failed} of {p.size} entries wrong"
    alone = f"; {p.failed} of {p.checked} entries compared alone wrong" if p.checked else ""
    return f"wrong along random directions (no per-entry comparison{alone})"


def compact(report: Report, max_entries: int = 5, *, choice: str | None = None) -> str:
    """The failure message: the mode that ran, wrong parameters with diagnosis, worst entries.

    Args:
        report: a report that did not pass.
        max_entries: at most this many worst entries.
        choice: the ``--gradcheck-mode`` that forced the mode, if any.
    """
    lines = [
        f"gradient check {report.status} in {_ran(report, choice)}: difference "
        f"{report.difference:.3g}"
    ]
    if report.guarantee:
        lines.append(f"  guarantee: {report.guarantee.get('text', '')}")
    for p in report.parameters.values():
        if p.status != "passed":
            why = f" — {p.diagnosis.text}" if p.diagnosis else ""
            what = _wrong_entries(p, report.mode) if p.status == "failed" else "no verdict"
            lines.append(f"  {p.name} {p.shape}: {p.status}, {what}{why}")
    shown = [e for e in report.worst if e.status != "ok"][:max_entries]
    if shown:
        lines.append("  worst entries:")
        lines += [
            f"    {e.label()}: analytic {e.analytic:.6g}, numeric {e.numeric:.6g} "
            f"(abs err {e.abs_error:.2g}, rel err {e.rel_error:.2g}) [{e.status}]"
            for e in shown
        ]
    lines += [f"  note: {m}" for m in report.messages]
    return "\n".join(lines)


class GradcheckFixture:
    """What the ``gradcheck`` fixture gives a test.

    Args:
        mode: the engine mode forced by ``--gradcheck-mode``, or ``None``.
        choice: the ``--gradcheck-mode`` value, named in failure messages.
    """

    def __init__(self, mode: str | None, choice: str | None = None) -> None:
        self.mode = mode
        self.choice = choice

    def options(self, options: dict[str, Any]) -> dict[str, Any]:
        """``options`` with the session's mode applied.

        The session's mode replaces the test's own (a test's mode object of the same
        mode is kept, with its options), and with it the mode-only keywords of another
        mode (the engine refuses options that do not apply).
        """
        if not self.mode:
            return dict(options)
        own = options.get("mode")
        mode = own if getattr(own, "name", None) == self.mode else self.mode
        kept = {k: v for k, v in options.items() if MODE_ONLY.get(k, self.mode) == self.mode}
        return {**kept, "mode": mode}

    def check(self, cost: Callable[[Any], Any], params: Any, grad: Any, **options: Any) -> Report:
        """:func:`gradcheck.check` in the session's mode."""
        from gradcheck._engine import check

        return check(cost, params, grad, **self.options(options))

    def check_module(self, model: Any, loss_fn: Any, **options: Any) -> Report:
        """``gradcheck.torch.check_module`` in the session's mode."""
        check_module = importlib.import_module("gradcheck.torch").check_module
        report: Report = check_module(model, loss_fn, **self.options(options))
        return report

    def assert_report(self, report: Report) -> Report:
        """Return ``report`` if it passed, else raise with the compact report."""
        __tracebackhide__ = True
        if not report.passed:
            from gradcheck._report import GradientMismatch

            error = GradientMismatch(report)
            error.args = (compact(report, choice=self.choice),)
            raise error
        return report

    def assert_gradients(
        self, cost: Callable[[Any], Any], params: Any, grad: Any, **options: Any
    ) -> Report:
        """Check, and fail the test with the compact report unless it passed.

        Raises:
            GradientMismatch: an ``AssertionError``; ``.report`` holds the full report.
        """
        __tracebackhide__ = True
        return self.assert_report(self.check(cost, params, grad, **options))


@pytest.fixture
def gradcheck(request: pytest.FixtureRequest) -> GradcheckFixture:
    """Gradient checks in the session's ``--gradcheck-mode``."""
    choice = request.config.getoption("--gradcheck-mode", default="auto")
    return GradcheckFixture(_engine_mode(str(choice)), str(choice))
