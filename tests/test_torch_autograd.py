"""``gradcheck._torch_autograd``: gradients by name, a raising backward named, cotangents
the backward may not move, and the dtype a mixed model is judged by."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from gradcheck import _torch_autograd as ta
from gradcheck._errors import GradcheckError


class TestLeastPrecise:
    def test_the_largest_eps_wins(self) -> None:
        mixed = [torch.zeros(2, dtype=torch.float64), torch.zeros(2, dtype=torch.float32)]
        assert ta.least_precise(mixed) == "float32"
        assert ta.least_precise([torch.zeros(1, dtype=torch.float64)]) == "float64"
        half = [torch.zeros(1, dtype=torch.bfloat16), torch.zeros(1, dtype=torch.float16)]
        assert ta.least_precise(half) == "bfloat16"

    def test_a_complex_dtype_is_judged_by_its_real_parts(self) -> None:
        mixed = [torch.zeros(1, dtype=torch.complex64), torch.zeros(1, dtype=torch.float64)]
        assert ta.least_precise(mixed) == "float32"


class TestAutogradGrads:
    def test_gradients_by_name(self) -> None:
        a = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
        b = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
        got = ta.autograd_grads((a * a).sum() * b, [a, b], ["a", "b"])
        assert list(got.grads) == ["a", "b"] and got.notes == ()
        np.testing.assert_array_equal(got.grads["a"], [6.0, 12.0])
        np.testing.assert_array_equal(got.grads["b"], 5.0)

    def test_an_unused_input_is_zero_with_a_note(self) -> None:
        a = torch.ones(2, dtype=torch.float64, requires_grad=True)
        unused = torch.ones(3, dtype=torch.float64, requires_grad=True)
        got = ta.autograd_grads(a.sum(), [a, unused], ["a", "w"])
        np.testing.assert_array_equal(got.grads["w"], np.zeros(3))
        assert got.notes == ("w: autograd gave no gradient (unused); taken as zero",)

    def test_cotangents_and_a_kept_graph(self) -> None:
        a = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
        out = 3 * a
        first = ta.autograd_grads(out, [a], ["a"], torch.tensor([1.0, -1.0]), retain=True)
        again = ta.autograd_grads(out, [a], ["a"], torch.tensor([2.0, 0.0]))
        np.testing.assert_array_equal(first.grads["a"], [3.0, -3.0])
        np.testing.assert_array_equal(again.grads["a"], [6.0, 0.0])


class _Raises(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        return 2 * x

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        raise RuntimeError("my backward broke")


class _ForwardOnly(torch.autograd.Function):
    @staticmethod
    def forward(x: Any) -> Any:
        return 2 * x

    @staticmethod
    def setup_context(ctx: Any, inputs: Any, output: Any) -> None:
        pass

    @staticmethod
    def jvp(ctx: Any, t: Any) -> Any:
        return 2 * t


class TestBackwardGrads:
    def test_a_raising_backward_is_named_with_whose_it_is(self) -> None:
        x = torch.ones(2, dtype=torch.float64, requires_grad=True)
        with pytest.raises(GradcheckError, match=r"autograd.grad of loss_fn\) raised Runt"):
            ta.backward_grads("loss_fn", _Raises.apply(x).sum(), [x])

    def test_a_function_with_only_a_jvp_is_pointed_at_forward_mode(self) -> None:
        x = torch.ones(2, dtype=torch.float64, requires_grad=True)
        with pytest.raises(GradcheckError, match=r"a Function with only a jvp: check modes"):
            ta.backward_grads("fn", _ForwardOnly.apply(x).sum(), [x])

    def test_an_input_left_unused_is_none(self) -> None:
        x = torch.ones(2, dtype=torch.float64, requires_grad=True)
        y = torch.ones(2, dtype=torch.float64, requires_grad=True)
        gs = ta.backward_grads("fn", x.sum(), [x, y])
        assert gs[1] is None and torch.equal(gs[0], torch.ones(2, dtype=torch.float64))


class _InPlaceScale(torch.autograd.Function):
    """A memory-saving backward that scales its ``grad_output`` in place (attack22 C8)."""

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        return 3 * x

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g.mul_(3)


class TestFresh:
    def test_a_backward_that_writes_its_cotangent_leaves_the_callers(self) -> None:
        x = torch.ones(2, dtype=torch.float64, requires_grad=True)
        u = torch.tensor([1.0, 2.0], dtype=torch.float64)
        (g,) = ta.backward_grads("fn", _InPlaceScale.apply(x), [x], u)
        assert torch.equal(u, torch.tensor([1.0, 2.0], dtype=torch.float64))
        assert torch.equal(g, torch.tensor([3.0, 6.0], dtype=torch.float64))

    def test_copies_of_tensors_in_a_list_and_the_rest_as_given(self) -> None:
        u = torch.ones(2)
        copied = ta.fresh([u, None])
        assert copied[0] is not u and torch.equal(copied[0], u) and copied[1] is None
        assert ta.fresh(u) is not u
        assert ta.fresh(None) is None


class TestNoBackward:
    def test_a_written_grad_is_refused_naming_who(self) -> None:
        x = torch.ones(2, requires_grad=True)
        ta.no_backward([x], "loss_fn")  # nothing written: fine
        x.sum().backward()
        with pytest.raises(GradcheckError, match=r"loss_fn called backward\(\) itself"):
            ta.no_backward([x], "loss_fn")
