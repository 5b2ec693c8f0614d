"""gradcheck._interrupts: a Ctrl-C anywhere in a check leaves the user's state as it was.

Each point a ``KeyboardInterrupt`` can land is tested for exact restoration: inside the
cost, between evaluations (the progress callback), and inside the final restore (a
user's generator whose ``setstate`` is where the interrupt lands: it is raised there
directly, as Python raises a Ctrl-C at the next bytecode).
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

import gradcheck
from gradcheck._interrupts import put_back


class TestPutBack:
    def test_every_step_runs_once(self) -> None:
        done: list[int] = []
        put_back(*(lambda k=k: done.append(k) for k in range(3)))
        assert done == [0, 1, 2]

    def test_an_interrupted_step_runs_again_and_the_interrupt_comes_after(self) -> None:
        done: list[str] = []
        hits = [0]

        def interrupted() -> None:
            hits[0] += 1
            if hits[0] == 1:
                raise KeyboardInterrupt
            done.append("b")

        with pytest.raises(KeyboardInterrupt):
            put_back(lambda: done.append("a"), interrupted, lambda: done.append("c"))
        assert done == ["a", "b", "c"] and hits[0] == 2

    def test_an_error_is_raised_after_the_other_steps(self) -> None:
        done: list[str] = []

        def fails() -> None:
            raise ValueError("boom")

        with pytest.raises(ValueError, match="boom"):
            put_back(fails, lambda: done.append("after"))
        assert done == ["after"]

    def test_an_interrupt_wins_over_an_error(self) -> None:
        hits = [0]

        def interrupted() -> None:
            hits[0] += 1
            if hits[0] == 1:
                raise KeyboardInterrupt

        def fails() -> None:
            raise ValueError("boom")

        with pytest.raises(KeyboardInterrupt):
            put_back(fails, interrupted)


class Armed(random.Random):
    """A user's generator whose ``setstate`` is interrupted on its ``at``-th call."""

    at = -1
    calls = 0

    def setstate(self, state: Any) -> None:
        Armed.calls += 1
        if Armed.calls == Armed.at:
            raise KeyboardInterrupt
        super().setstate(state)


class _Setup:
    """A cost keeping a generator, an interruptible one and running statistics."""

    def __init__(self, at: str, k: int) -> None:
        self.gen, self.armed = np.random.default_rng(3), Armed(4)
        self.stats = {"mean": np.zeros(3), "scale": np.ones(3)}
        self.x = np.linspace(0.5, 1.5, 3)
        self.at, self.k, self.calls = at, k, 0

    def cost(self, p: np.ndarray) -> float:
        self.calls += 1
        if self.at == "cost" and self.calls == self.k:
            raise KeyboardInterrupt
        self.stats["mean"] = 0.9 * self.stats["mean"] + 0.1 * p  # a new array
        self.stats["scale"] *= 1.01  # in place
        return float(p @ p) + 1e-3 * (self.gen.normal() + self.armed.random())

    def progress(self, done: int, planned: int) -> None:
        if self.at == "progress" and done == self.k:
            raise KeyboardInterrupt

    def state(self) -> Any:
        return (
            np.random.get_state()[1].tobytes(),
            random.getstate(),
            self.gen.bit_generator.state,
            self.armed.getstate(),
            self.stats["mean"].tobytes(),
            self.stats["scale"].tobytes(),
            self.x.tobytes(),
            np.geterr(),
        )


def _calls_to_setstate() -> int:
    """How many times a whole check calls the armed generator's ``setstate``."""
    Armed.calls, Armed.at = 0, -1
    s = _Setup("none", 0)
    assert gradcheck.check(s.cost, s.x, 2 * s.x, progress=s.progress).status == "passed"
    return Armed.calls


@pytest.mark.parametrize(
    "at, k",
    [
        ("cost", 1),
        ("cost", 2),
        ("cost", 7),
        ("progress", 1),
        ("progress", 5),
        ("restore", 0),
        ("restore", 1),
        ("restore", 2),
    ],
)
def test_a_ctrl_c_leaves_everything_as_it_was(at: str, k: int) -> None:
    # attack31 H90/state33: a Ctrl-C in the final restore of the user's generators
    # skipped the restore of the cost's arrays (the running statistics stayed moved)
    last = _calls_to_setstate()
    np.random.seed(1)
    random.seed(2)
    s = _Setup(at, k)
    before = s.state()
    # "restore", k: the k-th last setstate (0: the engine's, 1 and 2: preserve_rng's)
    Armed.calls, Armed.at = 0, last - k if at == "restore" else -1
    with pytest.raises(KeyboardInterrupt):
        gradcheck.check(s.cost, s.x, 2 * s.x, progress=s.progress)
    assert Armed.calls >= (last - k if at == "restore" else 1)
    assert s.state() == before
