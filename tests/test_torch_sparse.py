"""gradcheck._torch_sparse: sparse inputs are checked on their stored values (masked)."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import gradcheck.torch as gt
from gradcheck import GradcheckError

# torch's one-time notice on building a compressed sparse tensor (not a gradcheck warning)
pytestmark = pytest.mark.filterwarnings("ignore:Sparse .* tensor support is in beta")

SHAPE = (5, 7)


def _dense(seed: int, dtype: torch.dtype = torch.float64, shape: tuple[int, ...] = SHAPE) -> Any:
    """A dense matrix with about 40% of its entries nonzero (at least one per row)."""
    g = torch.Generator().manual_seed(seed)
    keep = torch.rand(shape, generator=g) < 0.4
    keep[:, 0] = True
    return (torch.randn(shape, generator=g, dtype=torch.float64) * keep).to(dtype)


def _sparse(seed: int, layout: str, dtype: torch.dtype = torch.float64) -> Any:
    d = _dense(seed, dtype)
    x = d.to_sparse() if layout == "coo" else d.to_sparse_csr()
    return x.requires_grad_()


def _stored(x: Any) -> list[tuple[int, ...]]:
    """The dense index of each stored value, in the stored order."""
    coo = x.detach().to_sparse_coo().coalesce() if x.layout != torch.sparse_coo else x.detach()
    return [tuple(int(i) for i in col) for col in coo._indices().t()]


class _SpMM(torch.autograd.Function):
    """``a @ w`` for a sparse ``a``; the backward gives ``a`` its masked gradient, with
    a planted factor ``bad[1]`` on stored value ``bad[0]`` when ``bad`` is set."""

    bad: tuple[int, float] | None = None

    @staticmethod
    def forward(ctx: Any, a: Any, w: Any) -> Any:
        ctx.save_for_backward(a, w)
        return torch.sparse.mm(a, w)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        a, w = ctx.saved_tensors
        full = g @ w.t()
        coo = a.to_sparse_coo() if a.layout != torch.sparse_coo else a
        idx = coo._indices()
        vals = full[idx[0], idx[1]].clone()
        if _SpMM.bad is not None:
            vals[_SpMM.bad[0]] *= _SpMM.bad[1]
        ga = torch.sparse_coo_tensor(idx, vals, a.shape, check_invariants=False)
        if a.layout == torch.sparse_csr:
            ga = ga.coalesce().to_sparse_csr()
        return ga, a.to_dense().t() @ g


@pytest.fixture
def planted() -> Any:
    yield _SpMM
    _SpMM.bad = None


def _w(dtype: torch.dtype = torch.float64, seed: int = 3) -> Any:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(SHAPE[1], 3, generator=g, dtype=torch.float64).to(dtype).requires_grad_()


class TestCorrect:
    @pytest.mark.parametrize("layout", ["coo", "csr"])
    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    @pytest.mark.parametrize("seed", [0, 1])
    def test_a_correct_sparse_function_passes(
        self, layout: str, dtype: torch.dtype, seed: int
    ) -> None:
        x = _sparse(seed, layout, dtype)
        report = gt.check_function(_SpMM.apply, x, _w(dtype))
        assert report.status == "passed", str(report)
        p = report.parameters["input0"]
        assert p.shape == SHAPE
        assert p.size == x.detach().to_sparse_coo()._nnz()
        assert any("stored values only" in m and "masked" in m for m in report.messages)

    @pytest.mark.parametrize("layout", ["coo", "csr"])
    def test_torch_operations_on_a_sparse_input_pass(self, layout: str) -> None:
        x = _sparse(4, layout)
        w = _w().detach()
        report = gt.check_function(lambda a: torch.sparse.mm(a, w).tanh(), x)
        assert report.status == "passed", str(report)

    def test_gradient_at_unstored_entries_is_ignored(self) -> None:
        # to_dense() gives every entry a gradient; only the stored ones are checked
        x = _sparse(5, "coo")
        report = gt.check_function(lambda a: (a.to_dense() + 1.0).pow(3).sum(), x)
        assert report.status == "passed", str(report)
        errors = report.parameters["input0"].errors
        assert errors is not None and errors.shape == SHAPE
        stored = np.zeros(SHAPE, dtype=bool)
        stored[tuple(np.array(_stored(x)).T)] = True
        assert np.all(np.isnan(errors[~stored])) and not np.any(np.isnan(errors[stored]))

    def test_hybrid_coo_entries_have_their_dense_index(self) -> None:
        d = torch.zeros(4, 3, 2, dtype=torch.float64)
        d[1, 2] = torch.tensor([0.5, -1.0])
        d[3, 0] = torch.tensor([2.0, 0.25])
        x = d.to_sparse(sparse_dim=2).requires_grad_()
        assert x.dense_dim() == 1

        def fn(a: Any) -> Any:
            return a.to_dense().sin() * torch.tensor([1.0, 3.0], dtype=torch.float64)

        assert gt.check_function(fn, x).passed

        def wrong(a: Any) -> Any:
            return _Wrong.apply(a.to_dense(), (3, 0, 1))

        report = gt.check_function(wrong, x)
        assert report.status == "failed"
        assert [e.label() for e in report.worst if e.status == "wrong"] == ["input0[3, 0, 1]"]

    def test_a_sparse_input_that_does_not_require_grad_is_a_constant(self) -> None:
        a = _dense(6).to_sparse()
        w = _w()
        report = gt.check_function(lambda w_: torch.sparse.mm(a, w_).pow(2), w)
        assert report.passed and list(report.parameters) == ["input0"]


class _Wrong(torch.autograd.Function):
    """``sin`` with its gradient doubled at one entry of a dense tensor."""

    @staticmethod
    def forward(ctx: Any, x: Any, at: tuple[int, ...]) -> Any:
        ctx.save_for_backward(x)
        ctx.at = at
        return x.sin()

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        grad = g * x.cos()
        grad[ctx.at] *= 2
        return grad, None


class TestPlanted:
    @pytest.mark.parametrize("layout", ["coo", "csr"])
    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    @pytest.mark.parametrize(("seed", "k", "factor"), [(0, 2, 1.1), (1, 0, -1.0), (2, 7, 1.01)])
    def test_one_wrong_stored_value_is_named(
        self, planted: Any, layout: str, dtype: torch.dtype, seed: int, k: int, factor: float
    ) -> None:
        x = _sparse(seed, layout, dtype)
        planted.bad = (k, factor)
        report = gt.check_function(planted.apply, x, _w(dtype))
        assert report.status == "failed"
        assert report.failed_parameters == ["input0"]
        index = _stored(x)[k]
        wrong = [e for e in report.worst if e.status == "wrong"]
        assert [e.label() for e in wrong] == [f"input0[{', '.join(map(str, index))}]"]
        assert wrong[0].index == index
        lines = [m for m in report.messages if "backward (autograd.grad) is wrong" in m]
        assert lines and "input0" in lines[0]

    def test_a_wrong_value_found_by_directional_mode_is_named_densely(self, planted: Any) -> None:
        x = _sparse(8, "coo")
        planted.bad = (3, 1.5)
        report = gt.check_function(planted.apply, x, _w(), mode="directional")
        assert report.status == "failed"
        index = ", ".join(map(str, _stored(x)[3]))
        assert f"input0[{index}]" in report.localisation.get("pinned", [])


class TestUserState:
    @pytest.mark.parametrize("layout", ["coo", "csr"])
    def test_inputs_and_rng_are_untouched(self, layout: str) -> None:
        x = _sparse(9, layout)
        before = x.detach().to_dense().clone()
        np.random.seed(3)
        random.seed(3)
        states = (torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate())

        def fn(a: Any) -> Any:
            np.random.rand()
            random.random()
            return torch.sparse.mm(a, _w().detach()) * torch.rand(()).add(1)

        gt.check_function(fn, x)
        assert torch.equal(x.detach().to_dense(), before)
        assert x.requires_grad and x.grad is None and x.is_leaf and x.layout == _layout(layout)
        assert torch.equal(torch.get_rng_state(), states[0])
        assert np.array_equal(np.random.get_state()[1], states[1])
        assert random.getstate() == states[2]

    def test_untouched_when_fn_raises(self) -> None:
        x = _sparse(10, "coo")
        before, rng = x.detach().to_dense().clone(), torch.get_rng_state()

        def fn(a: Any) -> Any:
            torch.rand(3)
            raise ValueError("boom")

        with pytest.raises(GradcheckError, match="fn raised ValueError: boom"):
            gt.check_function(fn, x)
        assert torch.equal(x.detach().to_dense(), before) and x.grad is None
        assert torch.equal(torch.get_rng_state(), rng)


def _layout(name: str) -> Any:
    return {"coo": torch.sparse_coo, "csr": torch.sparse_csr}[name]


class TestRefused:
    @pytest.mark.parametrize(
        ("make", "layout"),
        [
            (lambda d: d.to_sparse_csc(), "sparse_csc"),
            (lambda d: d.to_sparse_bsr((1, 1)), "sparse_bsr"),
            (lambda d: d.to_sparse_bsc((1, 1)), "sparse_bsc"),
        ],
    )
    def test_unsupported_layouts_are_named_with_advice(self, make: Any, layout: str) -> None:
        x = make(_dense(0)).requires_grad_()
        w = _w()
        with pytest.raises(GradcheckError) as info:
            gt.check_function(lambda t, w_: t.to_dense() @ w_, w, x)
        text = str(info.value)
        assert f"'input1' is a sparse tensor of layout {layout}" in text
        assert "to_sparse_coo()" in text and "to_dense()" in text

    def test_uncoalesced_coo_says_coalesce(self) -> None:
        i = torch.tensor([[0, 0, 1], [1, 1, 2]])
        x = torch.sparse_coo_tensor(i, torch.ones(3), (2, 3), check_invariants=True)
        x.requires_grad_()
        with pytest.raises(GradcheckError, match=r"'input0' is an uncoalesced.*coalesce\(\)"):
            gt.check_function(lambda t: t.to_dense().sum(), x)

    def test_batched_csr_is_refused(self) -> None:
        x = torch.randn(2, 3, 4, dtype=torch.float64).to_sparse_csr().requires_grad_()
        with pytest.raises(GradcheckError, match=r"'input0' is a sparse CSR tensor of 3 dim"):
            gt.check_function(lambda t: t.to_dense().sum(), x)


class _LookupBad(torch.autograd.Function):
    """An embedding lookup whose sparse gradient is wrong (scaled) on one row."""

    @staticmethod
    def forward(ctx: Any, idx: Any, weight: Any, row: int) -> Any:
        ctx.save_for_backward(idx)
        ctx.rows, ctx.row = weight.shape[0], row
        return weight[idx]

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (idx,) = ctx.saved_tensors
        vals = torch.where((idx == ctx.row)[:, None], 1.5 * g, g)
        grad = torch.sparse_coo_tensor(
            idx[None], vals, (ctx.rows, g.shape[1]), check_invariants=False
        )
        return None, grad, None


class _Embedding(nn.Module):
    def __init__(self, row: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(8, 3, dtype=torch.float64))
        self.row = row

    def forward(self, idx: Any) -> Any:
        return _LookupBad.apply(idx, self.weight, self.row)


class TestEmbedding:
    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    @pytest.mark.parametrize("seed", [0, 1])
    def test_sparse_embedding_passes(self, dtype: torch.dtype, seed: int) -> None:
        torch.manual_seed(seed)
        emb = nn.Embedding(9, 4, sparse=True).to(dtype)
        idx = torch.tensor([1, 4, 4, 8, 0])
        report = gt.check_module(emb, lambda e: e(idx).tanh().pow(2).sum())
        assert report.status == "passed", str(report)

    @pytest.mark.parametrize("row", [2, 5])
    def test_a_wrong_row_of_a_sparse_gradient_is_named(self, row: int) -> None:
        torch.manual_seed(row)
        model = _Embedding(row)
        idx = torch.tensor([0, row, 3, row, 7])
        report = gt.check_module(model, lambda m: m(idx).sin().sum())
        assert report.failed_parameters == ["weight"]
        wrong = {e.index for e in report.parameters["weight"].worst if e.status == "wrong"}
        assert wrong == {(row, j) for j in range(3)}
        assert model(idx).grad_fn is not None and model.weight.grad is None


class TestForwardMode:
    """Attack 20 A11: forward mode with a sparse input is our limit, not fn's fault."""

    @pytest.mark.parametrize("layout", ["coo", "csr"])
    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    def test_default_modes_check_reverse_and_say_why(self, layout: str, dtype: torch.dtype) -> None:
        report = gt.check_function(lambda x: x.to_dense().sin(), _sparse(0, layout, dtype))
        assert report.passed, str(report)
        assert not any(n.startswith("fwd/") for n in report.parameters)
        note = next(m for m in report.messages if "forward mode" in m)
        assert note.startswith("forward mode is not checked for sparse inputs (input0)")
        assert "no forward AD" in note and "jvp staticmethod" not in note

    @pytest.mark.parametrize("modes", [("fwd",), ("rev", "fwd")])
    def test_forward_mode_asked_for_is_refused_with_the_reason(self, modes: Any) -> None:
        with pytest.raises(GradcheckError, match=r"sparse inputs \(input1\)") as info:
            gt.check_function(lambda w, a: _SpMM.apply(a, w), _w(), _sparse(1, "coo"), modes=modes)
        assert "jvp staticmethod" not in str(info.value)
        assert "modes=('rev',)" in str(info.value)

    def test_reverse_mode_alone_has_no_note(self) -> None:
        report = gt.check_function(_SpMM.apply, _sparse(0, "coo"), _w(), modes=("rev",))
        assert report.passed and not any("forward mode" in m for m in report.messages)
