"""gradcheck._torch_module: check_module's loss as a module, private copy, analytic pass."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from gradcheck import GradcheckError
from gradcheck._torch_module import LossModule, module_pass, private_copy


class _Uncopyable:
    def __deepcopy__(self, memo: Any) -> Any:
        raise RuntimeError("no copies")


class TestPrivateCopy:
    def test_a_copy_shares_no_tensor_with_the_model(self) -> None:
        model = nn.Linear(3, 2)
        copy, notes = private_copy(model)
        assert copy is not None and copy is not model and notes == ()
        assert torch.equal(copy.weight, model.weight)
        assert copy.weight.data_ptr() != model.weight.data_ptr()

    def test_a_model_that_cannot_be_copied_gives_none_and_says_why(self) -> None:
        model = nn.Linear(3, 2)
        model.handle = _Uncopyable()
        copy, notes = private_copy(model)
        assert copy is None
        assert len(notes) == 1
        assert notes[0].startswith("the model cannot be deep-copied (RuntimeError: no copies)")


class TestLossModule:
    def test_functional_call_swaps_the_inner_models_tensors(self) -> None:
        model = nn.Linear(3, 1, bias=False)
        wrapper = LossModule(model, lambda m: m.weight.sum())
        w = torch.full((1, 3), 2.0)
        out = torch.func.functional_call(wrapper, {"inner.weight": w}, ())
        assert float(out) == 6.0
        assert torch.equal(wrapper(), model.weight.sum())


class TestModulePass:
    def _named(self, model: nn.Module) -> list[tuple[str, Any]]:
        return [(n, p) for n, p in model.named_parameters() if p.requires_grad]

    def test_the_value_and_gradients_are_autograds(self) -> None:
        torch.manual_seed(0)
        model, x = nn.Linear(3, 1).double(), torch.randn(4, 3, dtype=torch.float64)
        user, notes = module_pass(model, lambda m: m(x).pow(2).sum(), self._named(model))
        loss = model(x).pow(2).sum()
        gw, gb = torch.autograd.grad(loss, [model.weight, model.bias])
        assert user.value == float(loss.detach()) and user.dtype == "float64"
        assert np.array_equal(user.grads["weight"], gw.numpy())
        assert np.array_equal(user.grads["bias"], gb.numpy())
        assert model.weight.grad is None and notes == ()

    def test_an_unused_parameter_is_a_zero_gradient_with_a_note(self) -> None:
        model = nn.Linear(3, 1)
        user, notes = module_pass(model, lambda m: m.weight.sum(), self._named(model))
        assert np.array_equal(user.grads["bias"], np.zeros(1, dtype=np.float32))
        assert notes == ("bias: autograd gave no gradient (unused); taken as zero",)

    def test_a_loss_that_raises_is_named(self) -> None:
        def loss(m: nn.Module) -> Any:
            raise ValueError("bad shapes")

        model = nn.Linear(3, 1)
        with pytest.raises(GradcheckError, match=r"^loss_fn raised ValueError: bad shapes \("):
            module_pass(model, loss, self._named(model))

    def test_a_loss_that_does_not_require_grad_is_refused(self) -> None:
        model = nn.Linear(3, 1)
        with pytest.raises(GradcheckError, match="does not require grad"):
            module_pass(model, lambda m: torch.tensor(1.0), self._named(model))
