"""gradcheck._torch_attributes: a module's own attributes, saved and put back."""

from __future__ import annotations

import torch
from torch import nn

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
