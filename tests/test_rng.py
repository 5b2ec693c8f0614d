"""``gradcheck._rng``: the global random generators saved, compared and put back."""

from __future__ import annotations

import random
import sys
import types

import numpy as np
import pytest

import gradcheck._rng
from gradcheck._rng import (
    _MT_BYTES,
    GlobalRng,
    _mt_raw,
    _torch_rng,
    fresh_draws,
    preserve_rng,
)


class TestGlobalRng:
    @pytest.mark.parametrize("cached", [False, True])
    def test_moved_and_reset_with_and_without_a_cached_gaussian(self, cached: bool) -> None:
        np.random.seed(3)
        if cached:
            np.random.standard_normal()  # an odd number of Gaussians: one cached
        assert np.random.get_state()[3] == int(cached)
        saved = GlobalRng()
        before = np.random.get_state()
        for draw in (
            lambda: np.random.rand(),
            lambda: np.random.standard_normal(),  # uses or refills the cached Gaussian
            lambda: np.random.randint(10, size=624),  # 624 words: back to the same position
            lambda: np.random.seed(7),
        ):
            draw()
            assert saved.moved()
            saved.reset()
            assert not saved.moved()
            now = np.random.get_state()
            assert now[2:] == before[2:] and np.array_equal(now[1], before[1])

    def test_restore_undoes_a_cached_gaussian_the_bytes_do_not_show(self) -> None:
        np.random.seed(4)
        state = np.random.get_state()
        assert state[3] == 0
        with preserve_rng():  # a cost that sets the same key and position, one Gaussian cached
            np.random.set_state((state[0], state[1], state[2], 1, 0.25))
        assert np.random.get_state()[3:] == (0, 0.0)
        assert np.random.standard_normal() != 0.25

    def test_nested_preserve_rng_keeps_the_state_it_found(self) -> None:
        np.random.seed(6)
        random.seed(6)
        with preserve_rng() as outer:
            with preserve_rng(outer) as inner:  # nothing moved: the outer save serves
                assert inner is outer
                np.random.rand()
            assert not outer.moved()
            np.random.rand()  # moved: the inner one saves (and puts back) this state
            moved = np.random.get_state()
            with preserve_rng(outer) as inner:
                assert inner is not outer
                outer.reset()
                random.random()
            now = np.random.get_state()
            assert now[2:] == moved[2:] and np.array_equal(now[1], moved[1])
        assert not outer.moved()

    def test_moved_sees_each_generator(self) -> None:
        saved = GlobalRng()
        assert not saved.moved()
        np.random.rand()
        assert saved.moved()
        saved.reset()
        assert not saved.moved()
        random.random()
        assert saved.moved()
        saved.reset()
        np.random.standard_normal()  # leaves a cached Gaussian in the legacy state
        assert saved.moved()
        saved.reset()
        assert not saved.moved()


class TestNumpyErrorStateKept:
    def test_the_error_state_is_as_before_whatever_happened_inside(self) -> None:
        # attack29 H71: a Ctrl-C inside np.errstate.__enter__ leaves NumPy's context
        # variable set (2 of 400 interrupts): the user's overflow warnings were silenced
        # for the rest of the session. A cost that leaves it changed stands in for that.
        import gradcheck

        before = np.geterr()

        def cost(x: np.ndarray) -> float:
            np.seterr(over="ignore", invalid="ignore")
            return float(x @ x)

        x = np.linspace(0.5, 1.5, 4)
        with pytest.raises(KeyboardInterrupt):

            def interrupted(x: np.ndarray) -> float:
                np.seterr(divide="ignore")
                raise KeyboardInterrupt

            gradcheck.check(interrupted, x, 2 * x)
        assert np.geterr() == before
        assert gradcheck.check(cost, x, 2 * x).status == "passed"
        assert np.geterr() == before


class TestFreshDraws:
    def test_every_call_sees_the_saved_draws_and_leaves_them_also_when_it_raises(
        self,
    ) -> None:
        np.random.seed(8)
        random.seed(8)
        np_before, py_before = np.random.get_state(), random.getstate()
        draws = []
        with preserve_rng() as saved:
            for _ in range(3):
                with fresh_draws(saved):
                    draws.append((np.random.rand(), random.random()))
                assert not saved.moved()
            with pytest.raises(ValueError), fresh_draws(saved):
                np.random.standard_normal()  # a cached Gaussian too
                random.random()
                raise ValueError("boom")
            assert not saved.moved()
        assert draws[0] == draws[1] == draws[2]
        now = np.random.get_state()
        assert now[2:] == np_before[2:] and np.array_equal(now[1], np_before[1])
        assert random.getstate() == py_before

    def test_starts_from_the_saved_states_when_they_had_moved(self) -> None:
        np.random.seed(9)
        with preserve_rng() as saved:
            first = np.random.rand()
            saved.reset()
            np.random.rand()  # moved between two calls
            with fresh_draws(saved):
                assert np.random.rand() == first
            assert not saved.moved()


class TestTorchAndRaw:
    """torch's generator, and the raw-bytes reading of NumPy's (mutation testing)."""

    def test_torchs_generator_is_put_back_where_torch_is_imported(self) -> None:
        torch = pytest.importorskip("torch")
        torch.manual_seed(11)
        before = torch.get_rng_state()
        with pytest.raises(ValueError, match="user code"), preserve_rng():
            torch.rand(3)
            raise ValueError("user code")
        assert torch.equal(torch.get_rng_state(), before)

    def test_without_torch_imported_there_is_nothing_of_torchs_to_keep(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delitem(sys.modules, "torch", raising=False)
        assert _torch_rng() is None
        monkeypatch.setitem(sys.modules, "torch", types.ModuleType("torch"))  # no generator
        assert _torch_rng() is None
        with preserve_rng():
            np.random.rand()

    def test_the_raw_state_is_the_key_and_position(self) -> None:
        np.random.seed(5)
        raw = _mt_raw()
        assert raw is not None
        _, data = raw
        state = np.random.get_state()
        assert len(data) == _MT_BYTES == 624 * 4 + 4
        key = np.asarray(state[1], dtype=np.uint32).tobytes()
        assert data == key + int(state[2]).to_bytes(4, sys.byteorder, signed=True)
        np.random.rand()
        assert _mt_raw() != raw

    def test_a_numpy_without_the_raw_state_compares_the_full_state(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(gradcheck._rng, "_mt_raw", lambda: None)
        np.random.seed(8)
        saved = GlobalRng()
        assert not saved.moved()
        np.random.rand()
        assert saved.moved()
        saved.reset()
        assert not saved.moved()
        state = np.random.get_state()
        np.random.set_state((state[0], state[1], state[2], 1, 0.25))  # a cached Gaussian
        assert saved.moved()
        saved.reset()
        assert np.random.get_state()[3] == 0
        np.random.set_state((state[0], state[1][::-1].copy(), state[2], 0, 0.0))  # the key
        assert saved.moved()
        saved.reset()
        assert np.array_equal(np.random.get_state()[1], state[1])
