"""Batched forward-mode gradients (attack21 B6): the same gradients, in few calls."""

from __future__ import annotations

import random
from contextlib import nullcontext
from typing import Any

import numpy as np
import pytest
import torch

import gradcheck._torch_state as state
import gradcheck.torch as gt
from _torch_cases import OldStyleSin
from gradcheck._torch_forward import batched_forward_grads
from gradcheck._torch_state import RNG_SEED, SeededRng, forward_grads


@pytest.fixture(autouse=True)
def _forward_ad_loaded() -> None:
    """forward_grads loads forward AD's decompositions quietly before batching; the
    tests that call batched_forward_grads directly do the same."""
    state._forward_ad_loaded()


class Counted:
    """``fn`` of the inputs by name, counting its calls."""

    def __init__(self, fn: Any) -> None:
        self.fn, self.calls = fn, 0

    def __call__(self, ts: dict[str, torch.Tensor]) -> list[Any]:
        self.calls += 1
        return list(self.fn(**ts))


def _inputs(dtype: torch.dtype = torch.float64, seed: int = 0, n: int = 5) -> Any:
    gen = torch.Generator().manual_seed(seed)
    return {
        "a": torch.randn(n, generator=gen, dtype=torch.float64).to(dtype),
        "b": torch.randn(3, 2, generator=gen, dtype=torch.float64).to(dtype),
    }


def _cotangents(outs: list[torch.Tensor], seed: int = 1) -> dict[int, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {
        k: torch.randn(o.shape, generator=gen, dtype=torch.float64).to(o.dtype)
        for k, o in enumerate(outs)
    }


def _one_by_one(monkeypatch: pytest.MonkeyPatch, *args: Any) -> Any:
    """``forward_grads`` with its JVPs one per entry (the batched path switched off)."""
    with monkeypatch.context() as m:
        m.setattr(state, "batched_forward_grads", lambda *_: None)
        return forward_grads(*args)


FUNCTIONS = {
    "sin": lambda a, b: [torch.sin(a)],
    "two outputs": lambda a, b: [a * b.sum(), (b @ b.T).exp()],
    "mixed": lambda a, b: [torch.tanh(a).sum() * b, torch.roll(a, 1) * a],
    "one input unused": lambda a, b: [b.pow(3)],
}


class TestSameGradients:
    @pytest.mark.parametrize("seed", [0, 1, 2])
    @pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
    @pytest.mark.parametrize("name", list(FUNCTIONS))
    def test_equal_to_the_jvps_one_by_one(
        self, name: str, dtype: torch.dtype, seed: int, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        fn, ts = Counted(FUNCTIONS[name]), _inputs(dtype, seed)
        ws = _cotangents(fn(ts), seed + 1)
        seeded = SeededRng(RNG_SEED)
        assert batched_forward_grads(fn, ts, ws, seeded, lambda: None) is not None
        got = forward_grads(fn, ts, ws, seeded, lambda: None)
        expected = _one_by_one(monkeypatch, fn, ts, ws, seeded, lambda: None)
        assert got.keys() == expected.keys()
        eps = float(torch.finfo(dtype).eps)
        for k in got:
            for n in ts:
                assert got[k][n].shape == tuple(ts[n].shape)
                np.testing.assert_allclose(got[k][n], expected[k][n], rtol=8 * eps, atol=8 * eps)

    def test_a_few_calls_instead_of_one_per_entry(self) -> None:
        fn = Counted(lambda a, b: [torch.sin(a), b])
        ts = _inputs(n=3000)
        ws = _cotangents(fn(ts))
        fn.calls = 0
        got = batched_forward_grads(fn, ts, ws, nullcontext, lambda: None)
        assert got is not None
        np.testing.assert_allclose(got[0]["a"], np.cos(ts["a"].numpy()) * ws[0].numpy())
        # batches of BATCH_ENTRIES // (3000 + 3006) tangents: 5 for a, 1 for b, and one
        # dual-tensor JVP to compare with (one per entry: 3006 calls)
        assert fn.calls == 7

    def test_batches_of_bounded_size(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import gradcheck._torch_forward as fwd

        monkeypatch.setattr(fwd, "BATCH_ENTRIES", 64)
        fn = Counted(lambda a, b: [a.exp() * b.sum()])
        ts = _inputs(n=40)
        ws = _cotangents(fn(ts))
        got = batched_forward_grads(fn, ts, ws, nullcontext, lambda: None)
        assert got is not None
        expected = np.exp(ts["a"].numpy()) * float(ts["b"].sum()) * ws[0].numpy()
        np.testing.assert_allclose(got[0]["a"], expected, rtol=1e-14)


class TestFallsBackToOneByOne:
    @pytest.mark.parametrize(
        "fn",
        [
            lambda a, b: [OldStyleSin.apply(a)],
            lambda a, b: [torch.nn.functional.dropout(a, 0.5, training=True)],
        ],
        ids=["old-style-function", "randomness"],
    )
    def test_none_where_batching_cannot_run_or_disagrees(
        self, fn: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        ts = {"a": _inputs()["a"]}
        call = Counted(lambda a: fn(a, None))
        ws = _cotangents(call(ts))
        seeded = SeededRng(RNG_SEED)
        assert batched_forward_grads(call, ts, ws, seeded, lambda: None) is None
        got = forward_grads(call, ts, ws, seeded, lambda: None)
        expected = _one_by_one(monkeypatch, call, ts, ws, seeded, lambda: None)
        np.testing.assert_array_equal(got[0]["a"], expected[0]["a"])

    @pytest.mark.parametrize("error", [1e-9, -1e-6, 0.01])
    def test_none_where_the_batched_gradient_disagrees_with_a_dual_jvp(
        self, error: float, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import gradcheck._torch_forward as fwd

        entries = fwd._entries
        monkeypatch.setattr(fwd, "_entries", lambda *a: entries(*a) * (1 + error))
        ts = _inputs(n=50)
        call = Counted(FUNCTIONS["mixed"])
        ws = _cotangents(call(ts))
        assert batched_forward_grads(call, ts, ws, nullcontext, lambda: None) is None
        monkeypatch.setattr(fwd, "_entries", entries)
        assert batched_forward_grads(call, ts, ws, nullcontext, lambda: None) is not None

    def test_none_for_complex_inputs(self) -> None:
        ts = {"a": torch.randn(4, dtype=torch.complex128)}
        call = Counted(lambda a: [a * a])
        ws = {0: torch.randn(4, dtype=torch.complex128)}
        assert batched_forward_grads(call, ts, ws, nullcontext, lambda: None) is None

    def test_old_style_jvp_still_checked_and_a_wrong_one_fails(self) -> None:
        x = torch.linspace(-1, 1, 7, dtype=torch.float64, requires_grad=True)

        class Wrong(OldStyleSin):
            @staticmethod
            def jvp(ctx: Any, t: torch.Tensor) -> torch.Tensor:
                (x,) = ctx.saved_tensors
                return 1.01 * t * torch.cos(x)

            @staticmethod
            def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
                return g * torch.cos(ctx.saved_tensors[0]) if ctx.saved_tensors else g

        report = gt.check_function(Wrong.apply, x, modes=("fwd",))
        assert report.status == "failed"


class TestThroughCheckFunction:
    def test_b6_sin_on_5000_entries_in_few_calls(self) -> None:
        calls = {"n": 0}

        def sin(t: torch.Tensor) -> torch.Tensor:
            calls["n"] += 1
            return torch.sin(t)

        x = torch.tensor(np.random.default_rng(0).standard_normal(5000), requires_grad=True)
        report = gt.check_function(sin, x)
        assert report.status == "passed"
        assert "fwd/input0" in report.parameters
        assert calls["n"] < 200  # one per entry (5000 per pass) before

    def test_user_states_unchanged(self) -> None:
        x = torch.linspace(-1, 1, 50, dtype=torch.float64, requires_grad=True)
        np.random.seed(5)
        random.seed(5)
        torch.manual_seed(5)
        before = (np.random.get_state()[1].copy(), random.getstate(), torch.get_rng_state())
        assert gt.check_function(lambda t: t.sin() * t.sum(), x, modes=("fwd",)).passed
        assert np.array_equal(np.random.get_state()[1], before[0])
        assert random.getstate() == before[1]
        assert torch.equal(torch.get_rng_state(), before[2])
