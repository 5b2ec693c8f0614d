"""``gradcheck demo``: the walk-through's output and exit code."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from gradcheck import demo


class TestDemo:
    def test_walk_through(self) -> None:
        out = io.StringIO()
        assert demo.main([], out=out) == 0
        text = out.getvalue()
        assert "difference = 2.919335883291695e-10" in text
        assert "There is a mistake in the backward propagation! difference = 0.285093156776" in text
        assert "FAILED: wrong gradient for b1, W2" in text
        assert "dW2 is wrong: ×2" in text
        assert "db1 is wrong: ×4" in text
        assert "dW1, db2, dW3, db3 are right." in text
        assert "works perfectly fine! difference = 1.18909130242" in text
        assert "gradcheck: passed" in text
        assert "\033[" not in text  # not a terminal: no colour

    def test_colour_on_a_terminal_unless_no_color(self, monkeypatch: pytest.MonkeyPatch) -> None:
        class Tty(io.StringIO):
            def isatty(self) -> bool:
                return True

        monkeypatch.delenv("NO_COLOR", raising=False)
        out = Tty()
        demo.main([], out=out)
        assert "\033[92m" in out.getvalue()
        monkeypatch.setenv("NO_COLOR", "1")
        out = Tty()
        demo.main([], out=out)
        assert "\033[" not in out.getvalue()

    @pytest.mark.parametrize(
        "command",
        [
            [str(Path(sys.executable).with_name("gradcheck")), "demo"],
            [sys.executable, "-m", "gradcheck", "demo"],
        ],
        ids=["console script", "python -m"],
    )
    def test_commands(self, command: list[str]) -> None:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        assert "gradcheck: passed" in done.stdout
