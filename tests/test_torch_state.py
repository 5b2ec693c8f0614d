"""gradcheck._torch_state: the user's hooks, carried over or named."""

from __future__ import annotations

import torch

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
