"""Tests for gradcheck._terminal: exit codes and colour, shared by cli and demo."""

from __future__ import annotations

import io

import pytest

from gradcheck import _terminal, cli, demo
from gradcheck._terminal import EXIT, colourise, plain, use_colour


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class TestUseColour:
    def test_a_terminal_gets_colour(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("NO_COLOR", raising=False)
        assert use_colour(_Terminal(), no_color=False)

    def test_no_color_flag_or_variable_or_no_terminal_turn_it_off(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("NO_COLOR", raising=False)
        assert not use_colour(_Terminal(), no_color=True)
        assert not use_colour(io.StringIO(), no_color=False)
        assert not use_colour(object(), no_color=False)  # type: ignore[arg-type]
        monkeypatch.setenv("NO_COLOR", "1")
        assert not use_colour(_Terminal(), no_color=False)

    def test_an_empty_no_color_variable_leaves_colour_on(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # https://no-color.org: only a non-empty value turns colour off
        monkeypatch.setenv("NO_COLOR", "")
        assert use_colour(_Terminal(), no_color=False)


class TestColourise:
    @pytest.mark.parametrize(
        ("word", "code"),
        [("FAILED", "\033[31m"), ("PASSED", "\033[32m"), ("INCONCLUSIVE", "\033[33m")],
    )
    def test_verdicts_in_bold_and_their_colour(self, word: str, code: str) -> None:
        assert colourise(f"gradcheck {word}: x") == f"gradcheck \033[1m{code}{word}\033[0m: x"

    def test_statuses_coloured_and_words_inside_others_left_alone(self) -> None:
        text = "W [wrong] b passed, c [uncertain] d inconclusive; bypassed [passed]"
        coloured = colourise(text)
        assert "\033[31m[wrong]\033[0m" in coloured and "\033[33m[uncertain]\033[0m" in coloured
        assert "bypassed" in coloured and "[passed]" in coloured
        assert plain(coloured) == text

    def test_plain_removes_every_code(self) -> None:
        assert plain("\033[1m\033[31mFAILED\033[0m x \033[0;32m") == "FAILED x "


class TestShared:
    def test_exit_codes_by_status(self) -> None:
        assert EXIT == {"passed": 0, "failed": 1, "inconclusive": 2}
        assert (_terminal.EXIT_USAGE, _terminal.EXIT_INTERRUPTED) == (3, 130)

    def test_cli_and_demo_use_these(self) -> None:
        assert cli.EXIT_USAGE is _terminal.EXIT_USAGE
        assert cli.colourise is demo.colourise is colourise  # type: ignore[attr-defined]
        assert cli.use_colour is demo.use_colour is use_colour  # type: ignore[attr-defined]
