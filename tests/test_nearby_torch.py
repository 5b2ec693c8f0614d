"""Kink entries re-checked at nearby points with torch's gradient (``torch.relu``,
relu'(0) = 0): the framework's convention at the dead units passes. Apart from
``test_nearby.py`` so that its mutation run (one forked child per mutant) does not
import torch in every child."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import gradcheck
from test_kinks import dead_units
from test_nearby import AWKWARD, Params


def _torch_grad(cost_seed: int) -> Any:
    """The same cost's gradient as torch computes it (``torch.relu``, relu'(0) = 0)."""
    rng = np.random.default_rng(cost_seed)
    for shape in ((4, 3), (3, 4), (4,)):
        rng.standard_normal(shape)
    dout = torch.from_numpy(rng.standard_normal((4, 4)))

    def grad(p: Params) -> Params:
        ts = {k: torch.tensor(v, requires_grad=True) for k, v in p.items()}
        (torch.relu(ts["x"] @ ts["w"] + ts["b"]) * dout).sum().backward()
        return {k: t.grad.numpy() for k, t in ts.items() if t.grad is not None}

    return grad


class TestFreshMoves:
    @pytest.mark.parametrize("seed", AWKWARD)
    def test_torch_convention_passes(self, seed: int) -> None:
        cost, p, _ = dead_units(seed)
        assert gradcheck.check(cost, p, _torch_grad(seed)).status == "passed"
