"""gradcheck._torch_attributes: a module's own attributes, saved and put back."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import gradcheck.torch as gt
from gradcheck import GradcheckError
from gradcheck._torch_attributes import restore_attributes, saved_attributes


class _Leaf(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.steps = 3
        self.moving = torch.arange(3.0)
        self.seen: list[int] = []
        self.table = {"k": 1}


def _model() -> nn.Module:
    return nn.Sequential(_Leaf(), nn.Sequential(nn.Linear(2, 2), _Leaf()))


def test_every_kind_of_attribute_comes_back_by_object_and_value() -> None:
    model = _model()
    leaves = [m for m in model.modules() if isinstance(m, _Leaf)]
    objects = [(m.moving, m.seen, m.table) for m in leaves]
    saved = saved_attributes(model)
    for m in leaves:
        m.steps += 1
        m.moving.add_(5)
        m.seen.append(1)
        m.table["new"] = 2
        m.cache = torch.ones(1)
    leaves[0].moving = torch.zeros(3)  # rebound, not changed in place
    restore_attributes(model, saved)
    for m, (moving, seen, table) in zip(leaves, objects):
        assert m.steps == 3 and m.moving is moving and m.seen is seen and m.table is table
        assert torch.equal(m.moving, torch.arange(3.0)) and seen == [] and table == {"k": 1}
        assert not hasattr(m, "cache")


def test_parameters_buffers_and_submodules_are_not_attributes() -> None:
    model = _model()
    names = {a.name for a in saved_attributes(model)}
    assert names >= {"steps", "moving", "seen", "table", "in_features", "out_features"}
    assert not names & {"weight", "bias", "_parameters", "_buffers", "_modules", "training"}


class _Scaled(nn.Module):
    """A linear layer times a tensor attribute the forward reads, and a call counter
    (a tensor) it moves in place."""

    def __init__(self, dtype: torch.dtype) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.lin = nn.Linear(3, 2).to(dtype)
        self.scale = torch.tensor([2.0, -0.0], dtype=dtype)
        self.calls = torch.zeros((), dtype=torch.int64)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.lin(x) * self.scale


def _attributes(m: _Scaled) -> list[tuple[torch.Tensor, int, bytes]]:
    return [(t, t._version, t.numpy().tobytes()) for t in (m.scale, m.calls)]


X = torch.randn(4, 3, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("order", [1, 2])
def test_an_attribute_the_forward_only_reads_keeps_its_version(
    dtype: torch.dtype, order: int
) -> None:
    m = _Scaled(dtype)
    loss = m(X.to(dtype)).pow(2).sum()  # saves m.scale for backward
    (scale, version, bits), (calls, _, count) = _attributes(m)
    report = gt.check_module(m, lambda mm: mm(X.to(dtype)).pow(2).sum(), order=order)
    assert report.status == "passed", str(report)
    assert m.scale is scale and m.scale._version == version
    assert m.scale.numpy().tobytes() == bits  # -0.0 kept
    assert m.calls is calls and m.calls.numpy().tobytes() == count  # moved, put back
    loss.backward()  # raised "modified by an inplace operation" when scale was copied back
    assert m.lin.weight.grad is not None


@pytest.mark.parametrize("k", [0, 1, 3])
@pytest.mark.parametrize("interrupt", [False, True])
def test_attributes_are_back_when_the_loss_raises_at_call_k(k: int, interrupt: bool) -> None:
    m = _Scaled(torch.float32)
    before = _attributes(m)
    calls = [0]

    def loss(mm: nn.Module) -> torch.Tensor:
        calls[0] += 1
        out = mm(X).pow(2).sum()
        if calls[0] > k:
            raise KeyboardInterrupt if interrupt else RuntimeError("injected")
        return out

    with pytest.raises((GradcheckError, KeyboardInterrupt)):
        gt.check_module(m, loss)
    after = _attributes(m)
    assert [(t, b) for t, _, b in after] == [(t, b) for t, _, b in before]
    assert after[0][1] == before[0][1]  # scale: never written, never copied into
