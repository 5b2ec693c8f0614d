"""``gradcheck._torch_function``: a backward that raises is the user's code failing."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

import gradcheck.torch as gt
from gradcheck import GradcheckError
from gradcheck._evaluate import preserve_rng
from gradcheck._torch_function import Function, rules_agree
from gradcheck._torch_rng import RNG_SEED, SeededRng


def _broken(exc: type[Exception]) -> Any:
    """A ``Function`` whose forward is ``2x`` and whose backward raises ``exc``."""

    class Broken(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
            return x * 2

        @staticmethod
        def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
            raise exc("my backward is broken")

    return Broken


def _states() -> tuple[Any, ...]:
    return (np.random.get_state()[1].copy(), random.getstate(), torch.get_rng_state())


def _same_states(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    return np.array_equal(a[0], b[0]) and a[1] == b[1] and torch.equal(a[2], b[2])


def _model_state(m: nn.Module) -> list[Any]:
    out: list[Any] = [m.training]
    for p in m.parameters():
        out += [p.detach().clone(), p.requires_grad, p.grad]
    return out + [b.clone() for b in m.buffers()]


def _same_model(a: list[Any], b: list[Any]) -> bool:
    return all(
        torch.equal(x, y) if isinstance(x, torch.Tensor) else x == y
        for x, y in zip(a, b, strict=True)
    )


class TestBackwardThatRaises:
    @pytest.mark.parametrize("exc", [RuntimeError, ValueError])
    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    @pytest.mark.parametrize("order", [1, 2])
    def test_check_module_names_loss_fn_backward_and_restores_state(
        self, exc: type[Exception], dtype: torch.dtype, order: int
    ) -> None:
        torch.manual_seed(0)
        model = nn.Linear(3, 1).to(dtype)
        x = torch.ones(2, 3, dtype=dtype)
        broken = _broken(exc)
        before, states = _model_state(model), _states()
        with pytest.raises(
            GradcheckError,
            match=rf"^the backward \(autograd.grad of loss_fn\) raised {exc.__name__}: "
            "my backward is broken",
        ):
            gt.check_module(model, lambda m: broken.apply(m(x)).sum(), order=order)
        assert _same_model(before, _model_state(model))
        assert _same_states(states, _states())

    @pytest.mark.parametrize("shape", [(3,), (2, 4)])
    def test_check_function_names_fn_backward_and_leaves_the_input(
        self, shape: tuple[int, ...]
    ) -> None:
        x = torch.linspace(-1, 1, int(np.prod(shape)), dtype=torch.float64).reshape(shape)
        x.requires_grad_()
        saved, states = x.detach().clone(), _states()
        with pytest.raises(
            GradcheckError,
            match=r"^the backward \(autograd.grad of fn\) raised RuntimeError: my backward",
        ):
            gt.check_function(_broken(RuntimeError).apply, x)
        assert torch.equal(x.detach(), saved) and x.grad is None and x.requires_grad
        assert _same_states(states, _states())

    def test_a_backward_torch_refuses_is_named_with_torchs_words(self) -> None:
        emb = nn.Embedding(5, 3, sparse=True, scale_grad_by_freq=True).double()
        idx = torch.tensor([[1, 3, 3, 0]])
        before = _model_state(emb)
        with pytest.raises(
            GradcheckError, match=r"autograd.grad of loss_fn\) raised RuntimeError: .*scale_grad"
        ):
            gt.check_module(emb, lambda m: (m(idx) ** 3).sum())
        assert _same_model(before, _model_state(emb))


class _BigEntry(torch.autograd.Function):
    """``[sin(x), big·(1 + 1e-3·x₀)]`` whose backward is ``c`` times off on the sin part."""

    c, big = 1.0, 1e12

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.cat([torch.sin(x), _BigEntry.big * (1 + 1e-3 * x[:1])])

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        gx = (_BigEntry.c * torch.cos(x) * g[:-1]).clone()
        gx[0] = gx[0] + _BigEntry.big * 1e-3 * g[-1]
        return gx


class TestFairShares:
    """Attack 20 A7: one output entry with a huge derivative hides no error elsewhere."""

    @pytest.mark.parametrize("big", [1.0, 1e8, 1e12])
    @pytest.mark.parametrize("c", [1.0, 2.0, -1.0, 1.01])
    @pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
    def test_every_entry_has_its_share(
        self, big: float, c: float, dtype: torch.dtype, monkeypatch: Any
    ) -> None:
        monkeypatch.setattr(_BigEntry, "c", c)
        monkeypatch.setattr(_BigEntry, "big", big if dtype == torch.float64 else min(big, 1e8))
        x = torch.randn(10, dtype=dtype, generator=torch.Generator().manual_seed(4))
        report = gt.check_function(_BigEntry.apply, x.requires_grad_())
        assert report.status == ("passed" if c == 1.0 else "failed"), str(report)

    @pytest.mark.parametrize("big", [1e8, 1e10, 1e12])
    def test_a_constant_huge_entry_does_not_drown_the_check(self, big: float) -> None:
        x = torch.randn(10, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
        fn = lambda t: torch.cat([torch.sin(t), big + 0 * t[:1]])  # noqa: E731
        report = gt.check_function(fn, x.requires_grad_())
        assert report.passed, str(report)

    def test_the_cotangents_are_a_private_draw(self) -> None:
        x = torch.randn(10, dtype=torch.float64, requires_grad=True)
        state, np_state = torch.get_rng_state(), np.random.get_state()
        gt.check_function(_BigEntry.apply, x)
        assert torch.equal(torch.get_rng_state(), state)
        assert np.array_equal(np.random.get_state()[1], np_state[1])


def _agreement(fn: Any, *inputs: torch.Tensor) -> Any:
    """``rules_agree`` of ``fn`` at ``inputs`` (all checked), as check_function runs it."""
    xs = [x.detach().clone().requires_grad_() for x in inputs]
    names = [f"input{i}" for i in range(len(xs))]
    with preserve_rng() as rng:
        f = Function(fn, xs, list(range(len(xs))), names, 0)
        ts = {n: x.detach() for n, x in zip(names, xs)}
        return rules_agree(f, ts, SeededRng(RNG_SEED), rng).result


def _confident(margin: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """float32 logits of a classifier ``margin`` sure of its labels, and the labels."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 5, (8,), generator=g)
    return (torch.randn(8, 5, generator=g) + margin * F.one_hot(y, 5)).float(), y


class TestConsistencyVjpsShareOnePass:
    """The JVP–VJP consistency takes its 3 VJPs on one pass of fn (kept with
    retain_graph, as torch's gradcheck takes its rows), not on a pass each."""

    @staticmethod
    def _counted(op: Any) -> tuple[Any, list[int]]:
        calls = [0]

        def fn(x: torch.Tensor) -> Any:
            calls[0] += 1
            return op(x)

        return fn, calls

    def test_three_vjps_on_one_pass(self) -> None:
        fn, calls = self._counted(lambda x: torch.sin(x) * torch.roll(x, 1))
        x = torch.linspace(-1, 1, 20, dtype=torch.float64)
        calls[0] = 0
        result = _agreement(fn, x)
        assert not result.wrong
        # Function's first pass and its fair share's; then 3 forward-AD passes (one per
        # tangent) and 1 pass for the 3 VJPs (was 3 + 3)
        assert calls[0] == 2 + 3 + 1

    def test_a_wrong_vjp_still_disagrees_on_the_shared_pass(self) -> None:
        class WrongBackward(torch.autograd.Function):
            @staticmethod
            def forward(ctx: Any, x: Any) -> Any:
                ctx.save_for_backward(x)
                ctx.save_for_forward(x)
                return x.sin()

            @staticmethod
            def backward(ctx: Any, g: Any) -> Any:
                (x,) = ctx.saved_tensors
                return -g * x.cos()

            @staticmethod
            def jvp(ctx: Any, v: Any) -> Any:
                (x,) = ctx.saved_tensors
                return v * x.cos()

        fn, calls = self._counted(WrongBackward.apply)
        x = torch.linspace(-1, 1, 20, dtype=torch.float64)
        calls[0] = 0
        result = _agreement(fn, x)
        assert result.wrong
        assert calls[0] == 2 + 3 + 1

    def test_one_vjp_alone_takes_its_own_pass(self) -> None:
        fn, calls = self._counted(torch.sin)
        xs = [torch.linspace(-1, 1, 5, dtype=torch.float64).requires_grad_()]
        with preserve_rng() as rng:
            f = Function(fn, xs, [0], ["input0"], 0)
            calls[0] = 0
            ones = [np.ones(5)]
            g = f.vjp(ones, SeededRng(RNG_SEED), rng)
            assert np.allclose(g[0], np.cos(np.linspace(-1, 1, 5)))
            vjps = f.vjps(SeededRng(RNG_SEED), rng)
            assert np.array_equal(vjps(ones)[0], g[0]) and np.array_equal(vjps(ones)[0], g[0])
        assert calls[0] == 2  # one for vjp, one shared by both calls of vjps


class _Planted(torch.autograd.Function):
    """log-sum-exp of each row, its jvp scaled by ``c`` (1: right) or its term dropped."""

    @staticmethod
    def forward(ctx: Any, z: Any, c: float) -> Any:
        ctx.z, ctx.c = z, c
        return torch.logsumexp(z, -1)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g[:, None] * torch.softmax(ctx.z, -1), None

    @staticmethod
    def jvp(ctx: Any, t: Any, _: Any) -> Any:
        p = torch.softmax(ctx.z, -1)
        if ctx.c == 0:  # a missing term: the largest class's share dropped
            p = p * (p < p.amax(-1, keepdim=True))
        return ctx.c * (p * t).sum(-1)


class TestConsistencyInLowPrecision:
    """attack21 B5: correct float32 rules whose cancellation exceeds the sums' round-off."""

    @pytest.mark.parametrize("margin", [8.0, 12.0, 16.0])
    @pytest.mark.parametrize("seed", range(5))
    def test_cross_entropy_of_a_confident_classifier_agrees(self, margin: float, seed: int) -> None:
        z, y = _confident(margin, seed)
        c = _agreement(lambda t: F.cross_entropy(t, y), z)
        assert not c.wrong, c

    @pytest.mark.parametrize("scale", [1e-2, 1e-3])
    def test_x_minus_sin_x_at_small_x_agrees(self, scale: float) -> None:
        x = torch.linspace(0.5, 1.5, 20) * scale
        assert not _agreement(lambda t: t - torch.sin(t), x).wrong

    @pytest.mark.parametrize("c", [1.5, -1.0, 0.0, 1 + 1e-3])
    @pytest.mark.parametrize("margin", [0.0, 12.0])
    def test_a_wrong_jvp_still_disagrees_in_float32(self, c: float, margin: float) -> None:
        z, _ = _confident(margin, 0)
        assert not _agreement(lambda t: _Planted.apply(t, 1.0), z).wrong
        assert _agreement(lambda t: _Planted.apply(t, c), z).wrong

    def test_without_a_float64_copy_the_float32_comparison_stands(self) -> None:
        # fn's float32 weight makes its float64 copy raise: the float32 verdict is kept
        w = torch.linspace(-1, 1, 25).reshape(5, 5)
        z, _ = _confident(0.0, 1)
        assert _agreement(lambda t: _Planted.apply(t @ w, 1.5), z).wrong
        assert not _agreement(lambda t: _Planted.apply(t @ w, 1.0), z).wrong

    def test_a_float64_retry_that_raises_is_said_in_the_report(self) -> None:
        # fn's float32 weight makes its float64 copy raise: not swallowed silently
        w = torch.linspace(-1, 1, 25).reshape(5, 5)
        z, _ = _confident(0.0, 1)
        report = gt.check_function(lambda t: _Planted.apply(t @ w, 1.5), z.requires_grad_())
        note = next(m for m in report.messages if "comparing them again in float64" in m)
        assert "disagree in float32" in note and "RuntimeError" in note
        assert "the float32 comparison stands" in note
        assert report.parameters["consistency: jvp vs vjp"].status == "failed"

    def test_a_retry_that_runs_leaves_no_note(self) -> None:
        z, y = _confident(16.0, 0)
        xs = [z.detach().clone().requires_grad_()]
        with preserve_rng() as rng:
            f = Function(lambda t: F.cross_entropy(t, y), xs, [0], ["input0"], 0)
            retried = rules_agree(f, {"input0": z}, SeededRng(RNG_SEED), rng)
        assert retried.note is None and not retried.result.wrong

    def test_the_check_passes_cross_entropy_and_leaves_its_input(self) -> None:
        z, y = _confident(12.0, 0)
        z.requires_grad_()
        saved, states = z.detach().clone(), _states()
        report = gt.check_function(lambda t: F.cross_entropy(t, y), z)
        assert report.parameters["consistency: jvp vs vjp"].status == "passed"
        assert report.status == "passed", str(report)
        assert torch.equal(z.detach(), saved) and z.grad is None
        assert _same_states(states, _states())


class TestZeroTensorGradients:
    def test_a_zero_tensor_gradient_is_read_as_zeros(self) -> None:
        # torch.sgn's backward returns an efficient ZeroTensor, which .numpy() refuses:
        # the check raised a raw RuntimeError (attack22 C1)
        a = torch.tensor([-0.5, 1.0, 2.0], dtype=torch.float64, requires_grad=True)
        b = torch.tensor([0.3, -1.2, 0.7], dtype=torch.float64, requires_grad=True)
        report = gt.check_function(lambda s, t: torch.sgn(s) * t, a, b)
        assert report.parameters["input1"].status == "passed"
        # a's differences are exactly zero, as is the claim; whether a claim of zero on
        # a locally constant output passes is the core's rule, not this conversion's
        assert report.parameters["input0"].status != "failed"
        assert report.parameters["input0"].max_abs_error == 0


class _InplaceSwish(torch.autograd.Function):
    """SiLU whose backward scales its cotangent in place and returns it (memory-saving)."""

    factor = 1.0

    @staticmethod
    def forward(ctx: Any, i: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(i)
        return i * torch.sigmoid(i)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> torch.Tensor:
        (i,) = ctx.saved_tensors
        s = torch.sigmoid(i)
        return grad_output.mul_(_InplaceSwish.factor * s * (1 + i * (1 - s)))


class TestBackwardWritingItsCotangent:
    # attack22 C8: the fold and the batched check reused the cotangent the backward had
    # scaled in place, and a correct backward failed (torch's gradcheck passes it)
    @pytest.mark.parametrize("factor", [1.0, 1.01, -1.0])
    def test_an_in_place_backward_is_judged_on_its_gradient(
        self, factor: float, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(_InplaceSwish, "factor", factor)
        x = torch.randn(6, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
        report = gt.check_function(_InplaceSwish.apply, x.requires_grad_())
        assert report.status == ("passed" if factor == 1.0 else "failed"), report
        if factor == 1.0:
            assert "batched backward" not in report.failed_parameters


class _ZeroBackwardHuber(torch.autograd.Function):
    """sqrt(x² + 1) − 1 whose backward returns 0: wrong wherever x is not 0."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.sqrt(x * x + 1) - 1

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return g * 0 * x


class TestNoPassAboveTheReachRule:
    # attack22 C6: in float32 near x = 0 the output is cancellation; a retry's verdicts,
    # judged on its own scale, were merged without the 10% reach rule and a zero
    # backward PASSED "with errors below 8.8e+07 ... unseen" (torch's gradcheck fails it)
    @pytest.mark.parametrize("seed", range(3))
    def test_a_zero_float32_backward_does_not_pass(self, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)
        x = (1e-3 * torch.randn(6, generator=g)).float().requires_grad_()
        report = gt.check_function(_ZeroBackwardHuber.apply, x, modes=("rev",))
        assert report.status != "passed", report


class _ConstantWithLeak(torch.autograd.Function):
    """``f(x) = 1`` for every ``x`` (true derivative 0); the jvp gives 0 and the
    backward ``leak · g`` (0 is right; a leak of 1e-6 is a wrong rule)."""

    leak = 0.0

    @staticmethod
    def forward(x: torch.Tensor) -> torch.Tensor:
        return torch.ones_like(x)

    @staticmethod
    def setup_context(ctx: Any, inputs: Any, output: Any) -> None:
        pass

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        return _ConstantWithLeak.leak * g

    @staticmethod
    def jvp(ctx: Any, t: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(t)


class TestConsistencyAtAConstantOutput:
    """attack24 F2: cosine similarity of 0-d tensors is ±1 (derivative 0); the jvp gives
    0 and the backward 1.6e-17 of round-off, and the consistency row failed with an
    allowance of 1.6e-23 ("round-off only"): the terms summed were the round-off
    itself. The allowance now has the floor of the function's values and the inputs'
    scales (``_consistency.Magnitudes``), as check_jacobian's has."""

    @pytest.mark.parametrize("seed", range(6))
    def test_cosine_similarity_of_0d_tensors_passes(self, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)
        a = torch.randn((), dtype=torch.float64, generator=g).requires_grad_()
        b = torch.randn((), dtype=torch.float64, generator=g).requires_grad_()
        report = gt.check_function(lambda x, y: F.cosine_similarity(x, y, dim=-1), a, b)
        assert report.parameters["consistency: jvp vs vjp"].status == "passed", str(report)
        assert report.status == "passed", str(report)

    @pytest.mark.parametrize("leak", [1e-6, 1e-3])
    def test_a_backward_that_leaks_beyond_round_off_still_fails(self, leak: float) -> None:
        _ConstantWithLeak.leak = leak
        try:
            x = torch.tensor([0.5, -1.5, 2.0], dtype=torch.float64, requires_grad=True)
            report = gt.check_function(_ConstantWithLeak.apply, x)
        finally:
            _ConstantWithLeak.leak = 0.0
        assert report.status == "failed", str(report)


class _JvpOnly(torch.autograd.Function):
    """PyTorch's forward-AD tutorial's ``Fn`` (pytorch/tutorials
    intermediate_source/forward_ad_usage.py): a ``jvp`` and no backward."""

    @staticmethod
    def forward(ctx: Any, foo: torch.Tensor) -> torch.Tensor:
        result = torch.exp(foo)
        ctx.result = result
        return result

    @staticmethod
    def jvp(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        out = g * ctx.result * ctx.scale
        del ctx.result
        return out


class TestJvpOnlyFunction:
    """attack29 H73: the default modes raised "You must implement either the backward or
    vjp method" for a Function with only a jvp."""

    @pytest.mark.parametrize("scale, status", [(1.0, "passed"), (1.1, "failed")])
    def test_default_modes_check_the_jvp(self, scale: float, status: str) -> None:
        class Fn(_JvpOnly):
            @staticmethod
            def forward(ctx: Any, foo: torch.Tensor) -> torch.Tensor:
                ctx.scale = scale
                return _JvpOnly.forward(ctx, foo)

        x = torch.linspace(-1.0, 1.0, 6, dtype=torch.float64).reshape(2, 3).requires_grad_()
        report = gt.check_function(Fn.apply, x)
        assert report.status == status, str(report)
        assert any("defines no backward" in m for m in report.messages)

    def test_wrapped_the_error_names_the_remedy(self) -> None:
        class Fn(_JvpOnly):
            @staticmethod
            def forward(ctx: Any, foo: torch.Tensor) -> torch.Tensor:
                ctx.scale = 1.0
                return _JvpOnly.forward(ctx, foo)

        x = torch.linspace(-1.0, 1.0, 6, dtype=torch.float64).requires_grad_()
        with pytest.raises(GradcheckError, match=r"check modes=\('fwd',\)"):
            gt.check_function(lambda t: Fn.apply(t) * 2, x)
        assert gt.check_function(lambda t: Fn.apply(t) * 2, x, modes=("fwd",)).status == "passed"


class _Square(torch.autograd.Function):
    """``x²`` whose jvp is times ``k``."""

    k = 1.0

    @staticmethod
    def forward(x: torch.Tensor) -> torch.Tensor:
        return x * x

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        ctx.save_for_backward(inputs[0])
        ctx.save_for_forward(inputs[0])

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return 2 * x * g

    @staticmethod
    def jvp(ctx: Any, t: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return 2 * x * t * _Square.k


class TestHalfRulesAgree:
    """attack35 H143 / attack36 H163: every bfloat16 check in both modes (the default
    for a function with forward AD) raised "Got unsupported ScalarType BFloat16" (the
    consistency floor read the tensors with ``.numpy()``); and in a half dtype the
    rules' comparison allowed anything (a jvp x1.5 "agreed", tolerance 24 beside 0.13):
    it is now made on the float64 copy."""

    def test_a_bfloat16_function_is_checked_in_both_modes(self) -> None:
        torch.manual_seed(0)
        x = torch.randn(3, 4).to(torch.bfloat16).requires_grad_()
        w = torch.randn(4, 2).to(torch.bfloat16).requires_grad_()
        report = gt.check_function(lambda a, b: torch.tanh(a @ b), x, w, seed=0)
        assert report.status == "passed", str(report)
        assert report.options["modes"] == ["rev", "fwd"]

    @pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
    @pytest.mark.parametrize(("k", "status"), [(1.0, "passed"), (1.05, "failed")])
    def test_the_rules_compare_on_the_float64_copy(
        self, dtype: torch.dtype, k: float, status: str
    ) -> None:
        torch.manual_seed(0)
        x = torch.randn(6, dtype=dtype, requires_grad=True)
        _Square.k = k
        try:
            report = gt.check_function(_Square.apply, x)
        finally:
            _Square.k = 1.0
        assert report.status == status, str(report)
        said = "disagree: uᵀ(J v)" if k != 1.0 else "agree: uᵀ(J v) = (uᵀJ) v"
        assert any(said in m for m in report.messages), str(report)
