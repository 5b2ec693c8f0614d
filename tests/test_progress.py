"""gradcheck._progress: the progress bar of long checks."""

from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np

import gradcheck
from gradcheck._progress import ProgressBar, format_seconds


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def clock(times: list[float]) -> Iterator[float]:
    return iter(times)


class TestProgressBar:
    def test_silent_when_not_a_terminal(self) -> None:
        out = io.StringIO()
        bar = ProgressBar(out, delay=0.0)
        bar(5, 10)
        bar.close()
        assert out.getvalue() == ""
        assert not bar.enabled

    def test_silent_for_the_first_second(self) -> None:
        out = Tty()
        bar = ProgressBar(out, clock=clock([0.0, 0.5, 0.9]).__next__)
        bar(1, 10)
        bar(2, 10)
        assert out.getvalue() == ""

    def test_draws_done_planned_rate_and_eta_after_the_delay(self) -> None:
        out = Tty()
        bar = ProgressBar(out, clock=clock([0.0, 2.0]).__next__)
        bar(100, 400)
        text = out.getvalue()
        assert "100/400 evaluations" in text
        assert "50/s" in text
        assert "ETA 6s" in text
        assert text.startswith("\r[")

    def test_close_erases_the_line_once_shown(self) -> None:
        out = Tty()
        bar = ProgressBar(out, delay=0.0, clock=clock([0.0, 1.0]).__next__)
        bar(1, 2)
        bar.close()
        assert out.getvalue().endswith("\r\033[K")
        assert not bar.shown

    def test_disabled_explicitly_even_on_a_terminal(self) -> None:
        out = Tty()
        bar = ProgressBar(out, enabled=False, delay=0.0)
        bar(1, 2)
        assert out.getvalue() == ""

    def test_redraws_are_throttled_but_the_last_is_drawn(self) -> None:
        out = Tty()
        bar = ProgressBar(out, delay=0.0, clock=clock([0.0, 1.0, 1.01, 1.02]).__next__)
        bar(1, 3)
        bar(2, 3)  # within INTERVAL: skipped
        bar(3, 3)  # the last: drawn
        assert out.getvalue().count("\r[") == 2
        assert "3/3" in out.getvalue()

    def test_driven_by_check(self) -> None:
        out = Tty()
        bar = ProgressBar(out, delay=0.0)
        x = np.linspace(0.1, 1.0, 20)
        report = gradcheck.check(lambda p: float(np.sum(p**3)), x, 3 * x**2, progress=bar)
        assert report.passed
        assert f"{report.evaluations}/{report.evaluations} evaluations" in out.getvalue()


class TestFormatSeconds:
    def test_units(self) -> None:
        assert format_seconds(42.4) == "42s"
        assert format_seconds(185) == "3m05s"
        assert format_seconds(3720) == "1h02m"
