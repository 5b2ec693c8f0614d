"""``gradcheck._torch_rng``: every evaluation starts from the seeded torch RNG state,
and the caller's state is back afterwards."""

from __future__ import annotations

import pytest
import torch

import gradcheck.torch as gt
from gradcheck._torch_rng import RNG_SEED, SeededRng, forked


class TestSeededRng:
    """Each evaluation draws what it would right after ``manual_seed(RNG_SEED)``."""

    def test_every_evaluation_starts_from_the_seed(self) -> None:
        torch.manual_seed(RNG_SEED)
        expected = torch.rand(3)
        torch.manual_seed(99)
        caller = torch.get_rng_state()
        seeded = SeededRng(RNG_SEED)
        for _ in range(3):
            with seeded():
                assert torch.equal(torch.rand(3), expected)
            assert torch.equal(torch.get_rng_state(), caller)

    def test_caller_state_back_after_an_exception(self) -> None:
        seeded = SeededRng(RNG_SEED)
        caller = torch.get_rng_state()
        with pytest.raises(ZeroDivisionError), seeded():
            torch.rand(5)
            _ = 1 / 0
        assert torch.equal(torch.get_rng_state(), caller)


class TestForked:
    def test_seeded_inside_and_the_caller_state_back_outside(self) -> None:
        torch.manual_seed(RNG_SEED)
        expected = torch.rand(4)
        torch.manual_seed(7)
        caller = torch.get_rng_state()
        with forked():
            assert torch.equal(torch.rand(4), expected)
        assert torch.equal(torch.get_rng_state(), caller)

    def test_no_seed_forks_without_seeding(self) -> None:
        torch.manual_seed(3)
        expected = torch.rand(2)
        torch.manual_seed(3)
        with forked(None):
            assert torch.equal(torch.rand(2), expected)
        assert torch.equal(torch.rand(2), expected)  # the draw inside was undone

    def test_the_adapter_states_the_same_seed(self) -> None:
        assert gt.RNG_SEED == RNG_SEED


class TestSeededOnce:
    def test_no_global_seeding_after_the_first_state_is_made(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # torch.manual_seed costs about 1 ms and seeds generators no fork covers (MPS,
        # XPU, MTIA); a torch check forked and seeded several times. The seeded state
        # comes from a fresh generator, once: draws are those of manual_seed(seed).
        torch.manual_seed(123)
        expected = torch.rand(3)

        def refused(seed: int) -> None:
            raise AssertionError("torch.manual_seed called")

        monkeypatch.setattr(torch, "manual_seed", refused)
        caller = torch.get_rng_state()
        with forked(123):
            assert torch.equal(torch.rand(3), expected)
        with SeededRng(123)():
            assert torch.equal(torch.rand(3), expected)
        assert torch.equal(torch.get_rng_state(), caller)
