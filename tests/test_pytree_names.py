"""gradcheck._pytree_names: a pytree leaf's name from its path."""

from __future__ import annotations

from gradcheck._pytree_names import BARE_NAME, PathEntry, plain_name, strict_name, unique_names

W = (PathEntry("layers"), PathEntry(0, position=True), PathEntry("W"))
DOTTED = (PathEntry("a.b"),)
NESTED = (PathEntry("a"), PathEntry("b"))


def test_plain_names_join_keys_and_positions_with_dots() -> None:
    assert plain_name(W) == "layers.0.W"
    assert plain_name(DOTTED) == plain_name(NESTED) == "a.b"
    assert plain_name(()) == BARE_NAME


def test_strict_names_bracket_what_a_dot_would_confuse() -> None:
    assert strict_name(W) == "layers.0.W"
    assert strict_name(DOTTED) == "['a.b']" and strict_name(NESTED) == "a.b"
    assert strict_name((PathEntry(1),)) == "[1]"  # a dict key 1, not a position
    assert strict_name((PathEntry("1"),)) == "['1']"
    assert strict_name(()) == BARE_NAME


def test_unique_names_are_plain_until_two_collide() -> None:
    assert unique_names([W, NESTED]) == ["layers.0.W", "a.b"]
    assert unique_names([DOTTED, NESTED]) == ["['a.b']", "a.b"]
