"""gradcheck._torch_state: the user's hooks, carried over or named."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import gradcheck._torch_state as torch_state
import gradcheck.torch as gt
from gradcheck._torch_state import UNRUN_HOOKS, tensor_hooks, unrun_hooks


def test_unrun_hooks_names_the_tensors_with_post_accumulate_grad_hooks() -> None:
    a, b, c = (torch.ones(2, requires_grad=True) for _ in range(3))
    handle = a.register_post_accumulate_grad_hook(lambda t: None)
    c.register_post_accumulate_grad_hook(lambda t: None)
    assert unrun_hooks([("a", a), ("b", b), ("c", c)]) == UNRUN_HOOKS.format(names="a, c")
    handle.remove()
    assert unrun_hooks([("a", a), ("b", b)]) is None
    assert unrun_hooks([]) is None


def test_tensor_hooks_are_the_gradient_hooks_only() -> None:
    a, b = (torch.ones(2, requires_grad=True) for _ in range(2))

    def double(g: torch.Tensor) -> torch.Tensor:
        return g * 2

    a.register_hook(double)
    b.register_post_accumulate_grad_hook(lambda t: None)
    assert tensor_hooks([("a", a), ("b", b)]) == {"a": [double]}


def _model() -> Any:
    torch.manual_seed(0)
    m = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Tanh(), torch.nn.Linear(4, 1)
    ).double()
    m[3].eval()  # a mix of modes
    m.gen = torch.Generator().manual_seed(7)  # type: ignore[assignment]
    for p in m.parameters():
        p.grad = torch.full_like(p, 0.25)
    return m


def _everything(m: Any) -> list[Any]:
    out: list[Any] = [[s.training for s in m.modules()], m.gen.get_state()]
    for p in m.parameters():
        out += [p.detach().clone(), p.requires_grad, p.grad.clone(), p._version]
    out += [b.clone() for b in m.buffers()]
    return [*out, torch.get_rng_state(), np.random.get_state()[1].copy()]


def _same(a: list[Any], b: list[Any]) -> bool:
    return len(a) == len(b) and all(
        torch.equal(x, y) if isinstance(x, torch.Tensor) else np.array_equal(x, y)
        for x, y in zip(a, b)
    )


X = torch.linspace(-1, 1, 15, dtype=torch.float64).reshape(5, 3)


def _loss(m: Any) -> Any:
    noise = torch.rand(1, generator=m.gen, dtype=torch.float64)
    return m(X).pow(2).sum() + 1e-3 * noise.sum()


@pytest.mark.parametrize("at", ["backward", "progress 1", "progress 9", "restore"])
def test_a_ctrl_c_leaves_the_model_as_it_was(at: str, monkeypatch: Any) -> None:
    # inside the user's backward (a gradient hook), between evaluations (the progress
    # callback), in the restore itself (its first step interrupted: the others ran no
    # more, the analytic pass's .grad was left on the model)
    m = _model()
    hits = [0]

    def once(*args: Any) -> Any:
        hits[0] += 1
        if hits[0] == 1:
            raise KeyboardInterrupt
        return restore(*args)

    if at == "backward":
        m[0].weight.register_hook(lambda g: once() if hits[0] == 0 else g)
    if at == "restore":
        restore = torch_state.restore_attributes
        monkeypatch.setattr(torch_state, "restore_attributes", once)

    def progress(done: int, planned: int) -> None:
        if at.startswith("progress") and done == int(at.split()[1]):
            raise KeyboardInterrupt

    np.random.seed(3)
    before = _everything(m)
    with pytest.raises(KeyboardInterrupt):
        gt.check_module(m, _loss, progress=progress)
    assert hits[0] >= 1 or at.startswith("progress")
    assert _same(before, _everything(m))
