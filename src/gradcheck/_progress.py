"""A progress bar for long checks, driven by ``check(..., progress=bar)``.

The bar stays silent for the first :data:`DELAY` seconds (most checks are over by then),
and on anything but a terminal. Once shown it redraws at most every :data:`INTERVAL`
seconds on one line: evaluations done / planned, the rate, and the estimated time left.

>>> import io
>>> ProgressBar(io.StringIO()).line(50, 100, elapsed=2.0)
'[#############.............]  50/100 evaluations  25/s  ETA 2s'
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["DELAY", "INTERVAL", "ProgressBar", "format_seconds"]

#: Seconds before the bar appears: the issue asks for a bar on checks longer than a second.
DELAY = 1.0
#: Seconds between redraws: ten a second looks live and costs nothing.
INTERVAL = 0.1
_WIDTH = 26


def format_seconds(seconds: float) -> str:
    """``"42s"``, ``"3m05s"`` or ``"1h02m"``.

    >>> format_seconds(185)
    '3m05s'
    """
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


class ProgressBar:
    """``progress(done, planned)`` callback drawing a bar on ``stream``.

    Args:
        stream: where to draw (default ``sys.stderr``).
        enabled: ``None`` (default) draws only when ``stream`` is a terminal.
        delay: seconds of silence before the bar first appears.
        clock: a monotonic clock (for tests).
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        enabled: bool | None = None,
        delay: float = DELAY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = enabled
        self.delay = delay
        self._clock = clock
        self._start = clock()
        self._last = -float("inf")
        self.shown = False

    def line(self, done: int, planned: int, elapsed: float) -> str:
        """The bar's text for ``done`` of ``planned`` after ``elapsed`` seconds."""
        planned = max(planned, done, 1)
        filled = int(_WIDTH * done / planned)
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = format_seconds((planned - done) / rate) if rate > 0 else "?"
        width = len(str(planned))
        return (
            f"[{'#' * filled}{'.' * (_WIDTH - filled)}] {done:>{width}}/{planned} evaluations"
            f"  {rate:.3g}/s  ETA {eta}"
        )

    def __call__(self, done: int, planned: int) -> None:
        if not self.enabled:
            return
        now = self._clock()
        elapsed = now - self._start
        if elapsed < self.delay or (now - self._last < INTERVAL and done < planned):
            return
        self._last = now
        self.shown = True
        self.stream.write("\r" + self.line(done, planned, elapsed) + "\033[K")
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line (erase it) if it was shown."""
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False
