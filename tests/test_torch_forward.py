"""Batched forward-mode gradients (attack21 B6, attack23 D6): the same gradients, in few
calls and O(n) work (the transposed JVP), or by basis JVPs under vmap."""

from __future__ import annotations

import random
from contextlib import nullcontext
from typing import Any

import numpy as np
import pytest
import torch

import gradcheck._torch_jvp as torch_jvp
import gradcheck.torch as gt
from _torch_cases import OldStyleSin
from gradcheck._torch_forward import ForwardFold, batched_forward_grads
from gradcheck._torch_jvp import forward_grads
from gradcheck._torch_rng import RNG_SEED, SeededRng


@pytest.fixture(autouse=True)
def _forward_ad_loaded() -> None:
    """forward_grads loads forward AD's decompositions quietly before batching; the
    tests that call batched_forward_grads directly do the same."""
    torch_jvp._forward_ad_loaded()


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


def _no_transposition(*_: Any) -> Any:
    raise RuntimeError("transposition switched off")


@pytest.fixture(params=["transposed", "dual", "entries"])
def way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each way of batching: the transposed JVP, (with it switched off) the JVP of dual
    tensors transposed, or (with both switched off) the basis JVPs under vmap."""
    import gradcheck._torch_forward as fwd

    if request.param in ("dual", "entries"):
        monkeypatch.setattr(fwd, "_transposed", _no_transposition)
    if request.param == "entries":
        monkeypatch.setattr(fwd, "_dual_transposed", _no_transposition)
    return str(request.param)


class AffineRule(torch.autograd.Function):
    """sin whose ``jvp`` rule adds a constant: not linear in its tangent."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x: torch.Tensor) -> torch.Tensor:
        return torch.sin(x)

    @staticmethod
    def setup_context(ctx: Any, inputs: Any, output: Any) -> None:
        ctx.save_for_forward(inputs[0])

    @staticmethod
    def jvp(ctx: Any, t: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return t * torch.cos(x) + 0.25

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def _one_by_one(monkeypatch: pytest.MonkeyPatch, fold: ForwardFold) -> Any:
    """``forward_grads`` with its JVPs one per entry (the batched path switched off)."""
    with monkeypatch.context() as m:
        m.setattr(torch_jvp, "batched_forward_grads", lambda *_: None)
        return forward_grads(fold)


def _no_reset() -> None:
    """A ``reset`` with no user state to put back."""


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
        self,
        name: str,
        dtype: torch.dtype,
        seed: int,
        way: str,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        fn, ts = Counted(FUNCTIONS[name]), _inputs(dtype, seed)
        ws = _cotangents(fn(ts), seed + 1)
        seeded = SeededRng(RNG_SEED)
        assert batched_forward_grads(ForwardFold(fn, ts, ws, seeded, _no_reset)) is not None
        got = forward_grads(ForwardFold(fn, ts, ws, seeded, _no_reset))
        expected = _one_by_one(monkeypatch, ForwardFold(fn, ts, ws, seeded, _no_reset))
        assert got.keys() == expected.keys()
        eps = float(torch.finfo(dtype).eps)
        for k in got:
            for n in ts:
                assert got[k][n].shape == tuple(ts[n].shape)
                np.testing.assert_allclose(got[k][n], expected[k][n], rtol=8 * eps, atol=8 * eps)

    def test_a_few_calls_instead_of_one_per_entry(self, way: str) -> None:
        fn = Counted(lambda a, b: [torch.sin(a), b])
        ts = _inputs(n=3000)
        ws = _cotangents(fn(ts))
        fn.calls = 0
        got = batched_forward_grads(ForwardFold(fn, ts, ws, nullcontext, _no_reset))
        assert got is not None
        np.testing.assert_allclose(got[0]["a"], np.cos(ts["a"].numpy()) * ws[0].numpy())
        np.testing.assert_array_equal(got[1]["b"], ws[1].numpy())
        # transposed (either way): one JVP at v = 0 for every input and output; by
        # entries: batches of BATCH_ENTRIES // (3000 + 3006) tangents, 5 for a, 1 for b;
        # each then one dual-tensor JVP to compare with (one per entry: 3006 calls)
        assert fn.calls == (7 if way == "entries" else 2)

    @pytest.mark.parametrize("n", [2000, 30000])
    def test_transposed_work_does_not_grow_with_n_squared(self, n: int) -> None:
        """attack23 D6: a scalar function of 30000 entries took 74 s by basis JVPs
        (``n²/BATCH_ENTRIES`` of them per batch: 215 calls here)."""
        fn = Counted(lambda a, b: [(torch.sin(a) * a).sum() * b.sum()])
        ts = _inputs(n=n, seed=n)
        ws = _cotangents(fn(ts))
        fn.calls = 0
        got = batched_forward_grads(ForwardFold(fn, ts, ws, nullcontext, _no_reset))
        assert got is not None and fn.calls == 2
        a, b = ts["a"].numpy(), ts["b"].numpy()
        expected = (np.cos(a) * a + np.sin(a)) * b.sum() * float(ws[0])
        np.testing.assert_allclose(got[0]["a"], expected, rtol=1e-12, atol=1e-15)
        total = float((torch.sin(ts["a"]) * ts["a"]).sum()) * float(ws[0])
        np.testing.assert_allclose(got[0]["b"], np.full(b.shape, total), rtol=1e-12)

    @pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
    def test_a_rule_not_linear_in_its_tangent_is_taken_one_by_one(
        self, dtype: torch.dtype, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Transposed at v = 0 (either way) the constant is lost, and summed over basis
        JVPs it is counted once per entry: all disagree with the dual JVP along ``r``, and
        the gradient is that of the JVPs one by one (the constant in every entry)."""
        import gradcheck._torch_forward as fwd

        ways: list[str] = []
        transposed, dual, entries = fwd._transposed, fwd._dual_transposed, fwd._entries
        monkeypatch.setattr(fwd, "_transposed", lambda *a: ways.append("t") or transposed(*a))
        monkeypatch.setattr(fwd, "_dual_transposed", lambda *a: ways.append("d") or dual(*a))
        monkeypatch.setattr(fwd, "_entries", lambda *a: ways.append("e") or entries(*a))
        call = Counted(lambda a: [AffineRule.apply(a)])
        ts = {"a": _inputs(dtype, n=6)["a"]}
        ws = _cotangents(call(ts))
        seeded = SeededRng(RNG_SEED)
        assert batched_forward_grads(ForwardFold(call, ts, ws, seeded, _no_reset)) is None
        assert ways == ["t", "d", "e"]
        got = forward_grads(ForwardFold(call, ts, ws, seeded, _no_reset))
        a, w = ts["a"].to(torch.float64), ws[0].to(torch.float64)
        affine = (torch.cos(a) * w).numpy() + 0.25 * float(w.sum())
        np.testing.assert_allclose(got[0]["a"], affine, rtol=1e-5)

    def test_batches_of_bounded_size(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import gradcheck._torch_forward as fwd

        monkeypatch.setattr(fwd, "_transposed", _no_transposition)
        monkeypatch.setattr(fwd, "BATCH_ENTRIES", 64)
        fn = Counted(lambda a, b: [a.exp() * b.sum()])
        ts = _inputs(n=40)
        ws = _cotangents(fn(ts))
        got = batched_forward_grads(ForwardFold(fn, ts, ws, nullcontext, _no_reset))
        assert got is not None
        expected = np.exp(ts["a"].numpy()) * float(ts["b"].sum()) * ws[0].numpy()
        np.testing.assert_allclose(got[0]["a"], expected, rtol=1e-14)


class UnrecordedSin(OldStyleSin):
    """``OldStyleSin`` whose ``jvp`` leaves torch through NumPy: autograd cannot record
    its tangent, and functorch refuses the old-style ``Function``."""

    @staticmethod
    def jvp(ctx: Any, t: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return torch.from_numpy(t.detach().numpy() * np.cos(x.detach().numpy()))


class TestOldStyleFunction:
    def test_transposed_through_dual_tensors_in_three_calls(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """functorch refuses an old-style ``Function``; its ``jvp`` rule is transposed
        through dual tensors (speed27: one call per entry took hours at N = 10⁶): the
        gradient of the JVPs one by one, in three calls (functorch's, which refuses it;
        the transposed one; the dual JVP it is compared with), not one per entry."""
        ts = {"a": _inputs(n=50)["a"]}
        call = Counted(lambda a: [OldStyleSin.apply(a)])
        ws = _cotangents(call(ts))
        seeded = SeededRng(RNG_SEED)
        call.calls = 0
        got = batched_forward_grads(ForwardFold(call, ts, ws, seeded, _no_reset))
        assert got is not None and call.calls == 3
        expected = _one_by_one(monkeypatch, ForwardFold(call, ts, ws, seeded, _no_reset))
        np.testing.assert_allclose(got[0]["a"], expected[0]["a"], rtol=1e-15, atol=1e-16)
        np.testing.assert_allclose(
            got[0]["a"], np.cos(ts["a"].numpy()) * ws[0].numpy(), rtol=1e-15, atol=1e-16
        )


class TestFallsBackToOneByOne:
    @pytest.mark.parametrize(
        "fn",
        [
            lambda a, b: [UnrecordedSin.apply(a)],
        ],
        ids=["old-style-function-numpy-jvp"],
    )
    def test_none_where_batching_cannot_run_or_disagrees(
        self, fn: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        ts = {"a": _inputs()["a"]}
        call = Counted(lambda a: fn(a, None))
        ws = _cotangents(call(ts))
        seeded = SeededRng(RNG_SEED)
        assert batched_forward_grads(ForwardFold(call, ts, ws, seeded, _no_reset)) is None
        got = forward_grads(ForwardFold(call, ts, ws, seeded, _no_reset))
        expected = _one_by_one(monkeypatch, ForwardFold(call, ts, ws, seeded, _no_reset))
        np.testing.assert_array_equal(got[0]["a"], expected[0]["a"])
        np.testing.assert_allclose(got[0]["a"], np.cos(ts["a"].numpy()) * ws[0].numpy())

    def test_randomness_transposed_with_the_seeded_draws(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """vmap refuses randomness; the transposed JVP runs the function once from the
        seeded state, as every JVP one by one does: the same dropout mask."""
        ts = {"a": _inputs()["a"]}
        call = Counted(lambda a: [torch.nn.functional.dropout(a, 0.5, training=True)])
        seeded = SeededRng(RNG_SEED)
        with seeded():
            ws = _cotangents(call(ts))
        got = batched_forward_grads(ForwardFold(call, ts, ws, seeded, _no_reset))
        assert got is not None
        expected = _one_by_one(monkeypatch, ForwardFold(call, ts, ws, seeded, _no_reset))
        np.testing.assert_allclose(got[0]["a"], expected[0]["a"], rtol=1e-15)
        assert np.count_nonzero(expected[0]["a"]) not in (0, ts["a"].numel())

    @pytest.mark.parametrize("error", [1e-9, -1e-6, 0.01])
    def test_none_where_the_batched_gradient_disagrees_with_a_dual_jvp(
        self, error: float, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import gradcheck._torch_forward as fwd

        def wrong(way: Any) -> Any:
            def wrong_way(*a: Any) -> Any:
                got = way(*a)
                return (
                    {n: g * (1 + error) for n, g in got.items()}
                    if isinstance(got, dict)
                    else got * (1 + error)
                )

            return wrong_way

        transposed, dual, entries = fwd._transposed, fwd._dual_transposed, fwd._entries
        ts = _inputs(n=50)
        call = Counted(FUNCTIONS["mixed"])
        ws = _cotangents(call(ts))
        seeded = SeededRng(RNG_SEED)
        expected = _one_by_one(monkeypatch, ForwardFold(call, ts, ws, seeded, _no_reset))
        monkeypatch.setattr(fwd, "_transposed", wrong(transposed))
        monkeypatch.setattr(fwd, "_dual_transposed", wrong(dual))
        monkeypatch.setattr(fwd, "_entries", wrong(entries))
        assert batched_forward_grads(ForwardFold(call, ts, ws, seeded, _no_reset)) is None
        monkeypatch.setattr(fwd, "_entries", entries)  # a wrong transposition: by entries
        got = batched_forward_grads(ForwardFold(call, ts, ws, seeded, _no_reset))
        assert got is not None
        for k in got:
            for n in ts:
                np.testing.assert_allclose(got[k][n], expected[k][n], rtol=1e-14, atol=1e-14)
        monkeypatch.setattr(fwd, "_transposed", transposed)
        assert batched_forward_grads(ForwardFold(call, ts, ws, seeded, _no_reset)) is not None

    def test_none_for_complex_inputs(self) -> None:
        ts = {"a": torch.randn(4, dtype=torch.complex128)}
        call = Counted(lambda a: [a * a])
        ws = {0: torch.randn(4, dtype=torch.complex128)}
        assert batched_forward_grads(ForwardFold(call, ts, ws, nullcontext, _no_reset)) is None

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
