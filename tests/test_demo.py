"""``gradcheck demo``: the walk-through's output and exit code."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from gradcheck import demo

ROOT = Path(__file__).resolve().parents[1]


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def text(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("NO_COLOR", raising=False)
    out = io.StringIO()
    assert demo.main([], out=out) == 0
    return out.getvalue()


class TestWalkThrough:
    def test_the_lesson_1d_check(self, text: str) -> None:
        fine = "Your backward propagation works perfectly fine! difference = "
        assert f"{fine}2.919335883291695e-10" in text

    def test_the_lesson_network_check_fails(self, text: str) -> None:
        mistake = "There is a mistake in the backward propagation! difference = "
        assert f"{mistake}0.2850931567761624" in text

    def test_gradcheck_report(self, text: str) -> None:
        assert "gradcheck FAILED: wrong gradient for b1, W2" in text
        assert "worst entries:" in text

    def test_in_words(self, text: str) -> None:
        assert "dW2 is wrong: ×2" in text
        assert "db1 is wrong: ×4" in text
        assert "dW1, db2, dW3, db3 are right." in text

    def test_corrected_backprop_passes(self, text: str) -> None:
        assert "works perfectly fine! difference = 1.1890913024229996e-07" in text
        assert "gradcheck: passed — all 6 parameters, 47 entries" in text

    def test_in_order(self, text: str) -> None:
        marks = ["1. ", "2. ", "There is a mistake", "3. ", "gradcheck FAILED", "In words", "4. "]
        positions = [text.index(m) for m in marks]
        assert positions == sorted(positions)

    def test_no_colour_when_not_a_terminal(self, text: str) -> None:
        assert "\033[" not in text


class TestColour:
    def test_on_a_terminal(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("NO_COLOR", raising=False)
        out = Tty()
        assert demo.main([], out=out) == 0
        assert "\033[92mYour backward propagation works perfectly fine!" in out.getvalue()
        assert "\033[93mThere is a mistake" in out.getvalue()

    @pytest.mark.parametrize("argv", [[], ["--no-color"]], ids=["NO_COLOR", "--no-color"])
    def test_off(self, monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> None:
        if argv:
            monkeypatch.delenv("NO_COLOR", raising=False)
        else:
            monkeypatch.setenv("NO_COLOR", "1")
        out = Tty()
        assert demo.main(argv, out=out) == 0
        assert "\033[" not in out.getvalue()
        assert "There is a mistake in the backward propagation!" in out.getvalue()


class TestArguments:
    def test_help(self) -> None:
        out = io.StringIO()
        assert demo.main(["--help"], out=out) == 0
        assert out.getvalue().startswith("usage: gradcheck demo")
        assert "There is a mistake" not in out.getvalue()

    def test_unknown_argument(self, capsys: pytest.CaptureFixture[str]) -> None:
        out = io.StringIO()
        assert demo.main(["--bogus"], out=out) == 3
        assert out.getvalue() == ""
        assert "unrecognized arguments: --bogus" in capsys.readouterr().err


class TestCommands:
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
        assert "There is a mistake in the backward propagation!" in done.stdout
        assert "gradcheck: passed" in done.stdout

    def test_example_script(self) -> None:
        script = ROOT / "examples" / "lesson_walkthrough.py"
        done = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stderr
        assert "W2: ×2" in done.stdout and "b1: ×4" in done.stdout
