"""The property tests' examples do not depend on which modules are loaded (issue 16).

A derandomised property must see the same examples whether it runs alone, with its
file or in the whole suite. ``tests/conftest.py`` pins hypothesis's pool of local
constants empty; these tests draw a property's examples, load a module full of new
literal constants, and draw them again.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _grammar import problems


def _examples() -> list[str]:
    seen: list[str] = []

    @settings(max_examples=25, derandomize=True, database=None, deadline=None)
    @given(problems(), st.floats(-1e6, 1e6), st.integers(-(10**6), 10**6))
    def collect(problem: object, x: float, k: int) -> None:
        seen.append(repr((problem, x, k)))

    collect()
    return seen


def test_examples_do_not_depend_on_loaded_modules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _examples()
    module = tmp_path / "lots_of_constants.py"
    module.write_text(
        textwrap.dedent(
            """
            A = 123456.789
            B = -98765
            C = 3.25e-7
            D = 4242424242
            E = "a string constant"
            F = (0.015625, 77, -1.5e5, 9.75e4)
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "lots_of_constants", raising=False)
    __import__("lots_of_constants")
    after = _examples()
    assert after == before


def test_examples_are_repeatable() -> None:
    assert _examples() == _examples()
