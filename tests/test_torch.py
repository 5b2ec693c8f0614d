"""gradcheck.torch: real models pass, planted mistakes are localised, nothing is lost."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn import functional as F

import gradcheck.torch as gt
from gradcheck import GradcheckError


def _fresh() -> torch.Generator:
    """A generator made at each call from the OS's entropy: a source of draws no check
    can find or reset (a generator the user keeps is reset per evaluation)."""
    return torch.Generator().manual_seed(random.SystemRandom().randrange(2**62))


def _mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Dropout(0.3), nn.Linear(8, 2)
    )


X = torch.randn(6, 4, generator=torch.Generator().manual_seed(1))
Y = torch.randn(6, 2, generator=torch.Generator().manual_seed(2))


def _mlp_loss(m: Any) -> Any:
    return F.mse_loss(m(X), Y)


class _Cnn(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3)
        self.fc = nn.Linear(3 * 4 * 4, 3)

    def forward(self, x: Any) -> Any:
        return self.fc(torch.tanh(self.conv(x)).flatten(1))


class _Rnn(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gru = nn.GRU(3, 4, batch_first=True)
        self.attn = nn.MultiheadAttention(4, 2, batch_first=True)
        self.out = nn.Linear(4, 1)

    def forward(self, x: Any) -> Any:
        h, _ = self.gru(x)
        a, _ = self.attn(h, h, h)
        return self.out(a).sum()


class _BadScale(torch.autograd.Function):
    """y = w * x with a planted mistake: the gradient for w is doubled."""

    @staticmethod
    def forward(ctx: Any, x: Any, w: Any) -> Any:
        ctx.save_for_backward(x, w)
        return x * w

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, w = ctx.saved_tensors
        return g * w, 2 * (g * x).sum(0)


class _Scaled(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.pre = nn.Linear(3, 3)
        self.w = nn.Parameter(torch.tensor([0.5, -1.0, 2.0]))

    def forward(self, x: Any) -> Any:
        return _BadScale.apply(torch.tanh(self.pre(x)), self.w).pow(2).sum()


class _Cube(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return 3 * x**2 * g


def _state(m: nn.Module) -> list[Any]:
    out: list[Any] = [m.training, [s.training for s in m.modules()]]
    for p in m.parameters():
        out += [p.detach().clone(), p.requires_grad, None if p.grad is None else p.grad.clone()]
    out += [b.clone() for b in m.buffers()]
    out.append(torch.get_rng_state())
    return out


def _same(a: list[Any], b: list[Any]) -> bool:
    for x, y in zip(a, b, strict=True):
        if isinstance(x, torch.Tensor):
            if not (isinstance(y, torch.Tensor) and x.dtype == y.dtype and torch.equal(x, y)):
                return False
        elif x != y:
            return False
    return True


class TestModels:
    def test_mlp_with_batchnorm_and_dropout_in_train_mode_passes(self) -> None:
        m = _mlp()
        report = gt.check_module(m, _mlp_loss)
        assert report.status == "passed", str(report)
        assert list(report.parameters) == [n for n, _ in m.named_parameters()]
        assert report.options["precision"] == "float64"
        assert report.options["vectorised"] is False  # BatchNorm in train mode: no vmap
        assert any("Batch norm" in m for m in report.messages)

    def test_dropout_in_train_mode_is_vectorised_with_the_serial_mask(self) -> None:
        torch.manual_seed(4)
        m = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Dropout(0.3), nn.Linear(8, 2)).train()
        report = gt.check_module(m, _mlp_loss, mode="full")
        # vmap draws the mask once (randomness="same") from the seeded state, so the
        # batched values agree with the serial ones and the probe lets them through
        assert report.status == "passed", str(report)
        assert report.options["vectorised"] is True
        hook = m[0].weight.register_hook(lambda g: 2 * g)
        try:
            wrong = gt.check_module(m, _mlp_loss, mode="full")
        finally:
            hook.remove()
        assert wrong.failed_parameters == ["0.weight"]

    def test_mlp_in_eval_mode_is_vectorised(self) -> None:
        m = _mlp().eval()
        report = gt.check_module(m, _mlp_loss)
        assert report.passed and report.options["vectorised"] is True

    def test_small_cnn_passes(self) -> None:
        torch.manual_seed(3)
        m, x = _Cnn(), torch.randn(2, 1, 6, 6)
        report = gt.check_module(m, lambda m: F.cross_entropy(m(x), torch.tensor([0, 2])))
        assert report.status == "passed", str(report)

    def test_gru_and_attention_pass(self) -> None:
        torch.manual_seed(4)
        m, x = _Rnn(), torch.randn(2, 3, 3)
        report = gt.check_module(m, lambda m: m(x), mode="sample", sample=8)
        assert report.status == "passed", str(report)
        assert "gru.weight_hh_l0" in report.parameters

    def test_model_precision_keeps_float32(self) -> None:
        report = gt.check_module(_mlp().eval(), _mlp_loss, precision="model")
        assert report.options["numeric_dtype"] == "float32"
        assert report.status == "passed", str(report)

    def test_without_engine_batching_it_still_passes(self, monkeypatch: Any) -> None:
        monkeypatch.setattr("gradcheck._frameworks.probe_batched", lambda *a: "refused")
        report = gt.check_module(_mlp().eval(), _mlp_loss)
        assert report.passed and report.options["vectorised"] is False

    def test_a_float32_tensor_in_the_loss_is_float64_in_the_copy(self) -> None:
        v = torch.ones(4)  # float32: torch.mv refuses to mix dtypes, unless widened (G1)
        model = nn.Linear(4, 3)
        report = gt.check_module(model, lambda m: torch.mv(m.weight, v).pow(2).sum())
        assert report.options["route"] == "float64", str(report)
        assert report.status == "passed", str(report)

    def test_falls_back_to_model_dtype_when_float64_copy_fails(self) -> None:
        def loss(m: nn.Module) -> torch.Tensor:
            if m.weight.dtype != torch.float32:
                raise TypeError("this loss runs in float32 only")
            return m.weight.pow(2).sum()

        report = gt.check_module(nn.Linear(4, 3), loss)
        assert report.options["precision"] == "model"
        assert any("float64 copy could not be used" in msg for msg in report.messages)
        assert report.status == "passed", str(report)

    def test_a_loss_with_its_own_generator_is_judged_and_the_generator_kept(self) -> None:
        """attack26 H08: a generator the loss names is reset before every evaluation
        (each gets the same draw) and is where it was after the check."""
        g = torch.Generator().manual_seed(0)  # not the global RNG: forking cannot fix it
        before = g.get_state()
        report = gt.check_module(_mlp(), lambda m: _mlp_loss(m) + torch.rand(1, generator=g)[0])
        assert report.status == "passed"
        assert torch.equal(g.get_state(), before)

    def test_a_loss_with_a_generator_it_cannot_find_is_inconclusive(self) -> None:
        # a generator made at each call, seeded from the OS's entropy: nothing to reset
        report = gt.check_module(
            _mlp(), lambda m: _mlp_loss(m) + torch.rand(1, generator=_fresh())[0]
        )
        assert report.status == "inconclusive"
        assert "not deterministic" in report.messages[0]

    def test_unknown_precision_is_an_error(self) -> None:
        with pytest.raises(GradcheckError, match="precision"):
            gt.check_module(_mlp(), _mlp_loss, precision="double")


class TestPlantedMistakes:
    def test_custom_function_mistake_is_localised(self) -> None:
        torch.manual_seed(5)
        m, x = _Scaled(), torch.randn(4, 3)
        report = gt.check_module(m, lambda m: m(x))
        assert report.failed_parameters == ["w"]
        assert report.worst[0].parameter == "w"
        assert report.parameters["w"].diagnosis is not None
        assert report.parameters["w"].diagnosis.kind == "factor"

    def test_wrong_backward_hook_is_localised_upstream_on_the_vectorised_path(self) -> None:
        m = _mlp().eval()
        m[2].register_full_backward_hook(lambda mod, gi, go: (2 * gi[0],))
        report = gt.check_module(m, _mlp_loss)
        assert report.options["vectorised"] is True
        assert report.failed_parameters == ["0.weight", "0.bias", "1.weight", "1.bias"]

    def test_check_function_catches_wrong_backward(self) -> None:
        x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
        w = torch.randn(3, dtype=torch.float64, requires_grad=True)
        report = gt.check_function(_BadScale.apply, x, w)
        assert report.failed_parameters == ["input1"]

    def test_check_function_passes_a_correct_function(self) -> None:
        x = torch.randn(5, requires_grad=True)
        report = gt.check_function(_Cube.apply, x)
        assert report.passed and list(report.parameters) == ["input0"]

    def test_loss_error_is_named(self) -> None:
        def bad(m: Any) -> Any:
            raise ValueError("boom")

        with pytest.raises(GradcheckError, match="loss_fn raised ValueError: boom"):
            gt.check_module(_mlp(), bad)


def _confident_classifier(seed: int) -> tuple[nn.Module, Any]:
    """attack25 G10: a right float64 Linear–Tanh–Dropout–Linear classifier in train mode
    at logit margin 16: its cross-entropy (4e-7) is ``log(1 + ε)`` with ``1 + ε``
    rounded to ``ulp(1)``, a deterministic staircase with steps of 1.4e-17."""
    torch.manual_seed(seed)
    x, y = torch.randn(16, 6).double(), torch.randint(0, 4, (16,))
    lift = 16.0 * F.one_hot(y, 4).double()
    body = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Dropout(0.2), nn.Linear(8, 4))
    m = body.double().train()
    return m, lambda m: F.cross_entropy(m(x) + lift, y)


class TestStaircaseCost:
    @pytest.mark.parametrize("seed", [0, 1, 2])
    def test_right_gradient_is_not_failed(self, seed: int) -> None:
        m, loss = _confident_classifier(seed)
        report = gt.check_module(m, loss)
        assert report.status != "failed", report  # seed 0 failed 3.weight, 3.bias
        assert report.noise > 1e-18  # the staircase's, not u·|J| = 9e-23

    @pytest.mark.parametrize("seed", [0, 1, 2])
    @pytest.mark.parametrize(("name", "factor"), [("3.weight", 1.01), ("0.bias", -1.0)])
    def test_planted_mistakes_still_fail(self, seed: int, name: str, factor: float) -> None:
        m, loss = _confident_classifier(seed)
        dict(m.named_parameters())[name].register_hook(lambda g: g * factor)
        assert name in gt.check_module(m, loss).failed_parameters


class TestNothingLost:
    def test_state_is_bit_exact_after_a_check(self) -> None:
        m = _mlp()
        for p in m.parameters():
            p.grad = torch.full_like(p, 0.25)
        m[0].bias.requires_grad_(False)
        before = _state(m)
        gt.check_module(m, _mlp_loss)
        assert _same(before, _state(m))

    # evaluation 0 is the analytic pass on the user's model, the rest run on the copy;
    # k drawn once from a seeded generator plus the two ends.
    @pytest.mark.parametrize("k", [0, 1, *np.random.default_rng(5).integers(2, 170, 4).tolist()])
    def test_state_survives_an_exception_at_evaluation_k(self, k: int) -> None:
        m = _mlp()
        before = _state(m)
        calls = [0]

        def loss(model: Any) -> Any:
            calls[0] += 1
            if calls[0] == k + 1:
                raise KeyboardInterrupt if k % 2 else RuntimeError("injected")
            return _mlp_loss(model)

        try:
            report = gt.check_module(m, loss)
        except (GradcheckError, KeyboardInterrupt):
            report = None
        assert _same(before, _state(m))
        # an interrupt always surfaces; an error surfaces, or, raised where the float32
        # round-off probe nudged the parameters, is named in a note (nothing measured)
        if report is not None:
            assert not k % 2, "a KeyboardInterrupt was swallowed"
            said = [msg for msg in report.messages if "was not measured" in msg]
            assert said and "RuntimeError: injected" in said[0], report.messages

    @pytest.mark.parametrize("order", [1, 2])
    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    def test_a_loss_computed_before_the_check_still_backpropagates(
        self, dtype: torch.dtype, order: int
    ) -> None:
        # a copy back into an untouched parameter would move its version counter, and
        # autograd refuses a graph whose saved tensors moved (attack22 C3). No
        # BatchNorm here: in train mode its forward moves its running statistics in
        # place, which any forward pass (torch's gradcheck's too) does.
        torch.manual_seed(0)
        m = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2)).to(dtype)
        for p in m.parameters():
            p.grad = torch.full_like(p, 0.5)
        x, y = torch.randn(8, 4, dtype=dtype), torch.randn(8, 2, dtype=dtype)
        loss = F.mse_loss(m(x), y)
        versions = [p._version for p in m.parameters()]
        report = gt.check_module(
            m, lambda mm: F.mse_loss(mm(X.to(dtype)), Y.to(dtype)), order=order
        )
        assert report.status == "passed", report
        assert [p._version for p in m.parameters()] == versions
        loss.backward()  # raised "modified by an inplace operation" before
        assert all(torch.isfinite(p.grad).all() for p in m.parameters())

    def test_a_write_through_data_is_still_undone(self) -> None:
        # `.data` writes do not move the version counter: values are compared as well
        from gradcheck._torch_state import preserved

        m = _mlp()
        with torch.no_grad():
            m[0].bias[0] = -0.0
        before = _state(m)
        with preserved(m):
            m[0].bias.data[0] = 0.0  # +0.0 over -0.0: equal values, other bits
            m[4].weight.data.mul_(1.0 + 1e-12)
            m[1].running_mean.data.add_(1.0)
        assert _same(before, _state(m))
        assert torch.signbit(m[0].bias[0])

    def test_numpy_rng_untouched(self) -> None:
        state = np.random.get_state()[1].copy()
        gt.check_module(_mlp(), _mlp_loss)
        assert np.array_equal(np.random.get_state()[1], state)

    def test_inputs_of_check_function_are_untouched(self) -> None:
        x = torch.randn(3, requires_grad=True)
        x.grad = torch.ones(3)
        saved, rng = x.detach().clone(), torch.get_rng_state()
        gt.check_function(lambda t: F.dropout(t, 0.5) * t, x)
        assert torch.equal(x.detach(), saved) and torch.equal(x.grad, torch.ones(3))
        assert torch.equal(torch.get_rng_state(), rng)


class _Counting(nn.Module):
    """A forward that changes its module's own attributes, as user code does: a
    step counter, a tensor moved in place, a reassigned cache, a history list, and
    an attribute it creates."""

    def __init__(self, dtype: torch.dtype) -> None:
        super().__init__()
        self.lin = nn.Linear(3, 2).to(dtype)
        self.calls = 0
        self.count = torch.zeros(())
        self.last: Any = None
        self.history: list[int] = [7]
        self.names = {"a": 1}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        self.count.add_(1)
        self.last = x
        self.history.append(self.calls)
        self.names["b"] = 2
        self.made = x.sum()
        return torch.tanh(self.lin(x))


def _attributes(m: _Counting) -> tuple[Any, ...]:
    return m.calls, m.count, float(m.count), m.last, list(m.history), dict(m.names)


class TestUserAttributes:
    """The check leaves a module's own attributes as they were (attack21 b08.py: the
    analytic pass on the user's model moved them once)."""

    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    def test_check_module_restores_them(self, dtype: torch.dtype) -> None:
        m = _Counting(dtype)
        x = torch.randn(4, 3, dtype=dtype, generator=torch.Generator().manual_seed(1))
        count, history = m.count, m.history
        before = _attributes(m)
        report = gt.check_module(m, lambda mm: mm(x).pow(2).sum())
        assert report.status == "passed", str(report)
        assert _attributes(m) == before
        assert m.count is count and m.history is history and not hasattr(m, "made")

    @pytest.mark.parametrize("order", [1, 2])
    def test_check_function_of_a_module_restores_them(self, order: int) -> None:
        m = _Counting(torch.float64)
        x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
        before, state = _attributes(m), _state(m)
        report = gt.check_function(m, x, order=order)
        assert report.status == "passed", str(report)
        assert _attributes(m) == before and _same(state, _state(m))
        assert not hasattr(m, "made")

    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    def test_check_function_of_batchnorm_keeps_its_running_statistics(
        self, dtype: torch.dtype
    ) -> None:
        # on main every evaluation moved them (num_batches_tracked 107 after one check)
        bn = nn.BatchNorm1d(3).to(dtype)
        x = torch.randn(5, 3, dtype=dtype, generator=torch.Generator().manual_seed(0))
        before = _state(bn)
        gt.check_function(bn, x.requires_grad_())
        assert _same(before, _state(bn)) and int(bn.num_batches_tracked) == 0

    def test_restored_when_the_loss_raises(self) -> None:
        m = _Counting(torch.float64)
        before = _attributes(m)

        def loss(mm: Any) -> Any:
            mm(torch.ones(2, 3, dtype=torch.float64))
            raise RuntimeError("after one forward")

        with pytest.raises(GradcheckError, match="after one forward"):
            gt.check_module(m, loss)
        assert _attributes(m) == before and not hasattr(m, "made")


class TestImports:
    def test_import_gradcheck_imports_no_framework(self) -> None:
        code = "import sys, gradcheck; print('torch' in sys.modules, 'jax' in sys.modules)"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert out.stdout.split() == ["False", "False"], out.stderr

    def test_the_first_check_leaves_the_environment_and_warning_filters(self) -> None:
        # attack31 H92: torch.func's first use imports torch._dynamo, which sets
        # TORCHINDUCTOR_CACHE_DIR and adds a warnings filter; the first check did that
        code = (
            "import os, warnings, torch, gradcheck.torch as gt\n"
            "env, filters = dict(os.environ), list(warnings.filters)\n"
            "m = torch.nn.Linear(3, 1)\n"
            "gt.check_module(m, lambda m: m(torch.ones(2, 3)).tanh().sum())\n"
            "print(dict(os.environ) == env, list(warnings.filters) == filters)"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert out.stdout.split() == ["True", "True"], out.stderr


def _rng_states() -> tuple[Any, ...]:
    np_state = np.random.get_state()
    return (
        np_state[0],
        np_state[1].copy(),
        *np_state[2:],
        random.getstate(),
        torch.get_rng_state(),
    )


def _same_rng(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    return (
        a[0] == b[0]
        and np.array_equal(a[1], b[1])
        and a[2:5] == b[2:5]
        and a[5] == b[5]
        and torch.equal(a[6], b[6])
    )


XS = torch.randn(20, 4, generator=torch.Generator().manual_seed(7))
YS = torch.randn(20, 1, generator=torch.Generator().manual_seed(8))


def _small(dtype: torch.dtype = torch.float64, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 1)).to(dtype)


def _minibatch_loss(draw: str) -> Any:
    """A loss on a minibatch drawn from the global NumPy or ``random`` generator."""

    def loss(m: Any) -> Any:
        if draw == "choice":
            idx = torch.from_numpy(np.random.choice(20, 5, replace=False))
        else:
            start = random.randrange(15)
            idx = torch.arange(start, start + 5)
        x, y = XS[idx], YS[idx]
        dtype = next(m.parameters()).dtype
        return (m(x.to(dtype)) - y.to(dtype)).pow(2).mean()

    return loss


class TestUserRandomness:
    """Issue 12 §1: every call of the user's code starts from the user's RNG states."""

    @pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
    @pytest.mark.parametrize("draw", ["choice", "randrange"])
    @pytest.mark.parametrize("seed", [0, 3])
    def test_minibatch_drawn_from_the_global_generators_passes(
        self, dtype: torch.dtype, draw: str, seed: int
    ) -> None:
        model = _small(dtype, seed)
        np.random.seed(seed)
        random.seed(seed)
        before = _rng_states()
        report = gt.check_module(model, _minibatch_loss(draw))
        assert report.status == "passed", str(report)
        assert report.options["precision"] == "float64"  # the float64 copy drew the same batch
        assert _same_rng(before, _rng_states())

    def test_a_wrong_gradient_is_still_caught(self) -> None:
        m = _small()
        m[0].weight.register_hook(lambda g: -g)
        np.random.seed(1)
        before = _rng_states()
        report = gt.check_module(m, _minibatch_loss("choice"))
        assert report.failed_parameters == ["0.weight"]
        assert _same_rng(before, _rng_states())

    @pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
    def test_check_function_with_a_drawn_subset(self, dtype: torch.dtype) -> None:
        x = torch.linspace(-1, 1, 20, dtype=dtype, requires_grad=True)
        np.random.seed(2)
        before = _rng_states()
        report = gt.check_function(lambda t: torch.sin(t[np.random.choice(20, 6)]) * 3, x)
        assert report.status == "passed", str(report)
        assert _same_rng(before, _rng_states())

    @pytest.mark.parametrize("k", [0, 1, 2, 3, 9])
    @pytest.mark.parametrize("interrupt", [False, True])
    def test_states_are_back_when_the_loss_raises_at_call_k(self, k: int, interrupt: bool) -> None:
        m = _small(torch.float32)
        draw, calls = _minibatch_loss("choice"), [0]

        def loss(model: Any) -> Any:
            calls[0] += 1
            np.random.rand()  # moves the stream before raising, too
            random.random()
            if calls[0] > k:  # every call from the k-th on, so a fallback cannot avoid it
                raise KeyboardInterrupt if interrupt else RuntimeError("injected")
            return draw(model)

        np.random.seed(5)
        before, state = _rng_states(), _state(m)
        with pytest.raises((GradcheckError, KeyboardInterrupt)):
            gt.check_module(m, loss)
        assert _same_rng(before, _rng_states())
        assert _same(state, _state(m))


class _EmaNorm(nn.Module):
    """Subtracts a running mean that moves in train mode (issue 12 §2)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(n))

    def forward(self, x: Any) -> Any:
        if self.training:
            self.mean.mul_(0.9).add_(0.1 * x.mean(0))
        return x - self.mean


class _Warmup(nn.Module):
    """Scales by a factor that depends on an integer step counter moved in forward."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("steps", torch.tensor(0, dtype=torch.int64))

    def forward(self, x: Any) -> Any:
        self.steps += 1
        return x * (1.0 + self.steps.to(x.dtype))


class TestBuffersMovedInForward:
    """Issue 12 §2: both sides start from the user's buffers, which are left as they were."""

    @pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
    @pytest.mark.parametrize("layer", ["ema", "warmup", "batchnorm"])
    def test_passes_and_buffers_are_untouched(self, dtype: torch.dtype, layer: str) -> None:
        torch.manual_seed(1)
        first = {
            "ema": lambda: _EmaNorm(4),
            "warmup": _Warmup,
            "batchnorm": lambda: nn.BatchNorm1d(4, momentum=None),  # counts batches
        }[layer]()
        model = nn.Sequential(first, nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 1)).to(dtype)
        with torch.no_grad():  # buffers away from their initial values
            for _ in range(3):
                model(XS[:8].to(dtype) + 1)
        x = (XS[8:16] + 1).to(dtype)
        before = _state(model)
        report = gt.check_module(model, lambda m: m(x).pow(2).mean())
        assert report.status == "passed", str(report)
        assert _same(before, _state(model))

    def test_a_wrong_gradient_behind_a_moving_buffer_is_caught(self) -> None:
        torch.manual_seed(2)
        model = nn.Sequential(_Warmup(), nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 1)).double()
        model[3].weight.register_hook(lambda g: 1.5 * g)
        report = gt.check_module(model, lambda m: m(XS[:6].double()).pow(2).mean())
        assert report.failed_parameters == ["3.weight"]


class _Locked(nn.Module):
    """A module holding a lock: copy.deepcopy raises on it."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(6)
        self.lin = nn.Linear(4, 2)
        self.register_buffer("shift", torch.zeros(4))
        self.lock = threading.Lock()

    def forward(self, x: Any) -> Any:
        if self.training:
            self.shift.add_(0.5)  # a buffer moved in forward, on the model itself
        return self.lin(x - self.shift)


class TestUsageErrors:
    """Issue 12 §6: a sentence that names the mistake and says what to do."""

    def test_meta_device_model(self) -> None:
        m = nn.Linear(4, 3, device="meta")
        with pytest.raises(GradcheckError, match=r"'weight' is on the meta device.*materialise"):
            gt.check_module(m, lambda m: m(X.to("meta")).sum())

    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    def test_inference_mode_parameters(self, dtype: torch.dtype) -> None:
        with torch.inference_mode():
            m = nn.Linear(4, 3, dtype=dtype)
        with pytest.raises(GradcheckError, match=r"'weight' is an inference tensor.*outside"):
            gt.check_module(m, lambda m: m(X.to(dtype)).sum())

    def test_inference_mode_buffer(self) -> None:
        m = nn.BatchNorm1d(4).eval()
        with torch.inference_mode():
            m.register_buffer("running_mean", torch.zeros(4))
        with pytest.raises(GradcheckError, match=r"buffer 'running_mean' is an inference"):
            gt.check_module(m, lambda m: m(X).sum())

    def test_meta_device_input(self) -> None:
        x = torch.empty(3, device="meta", requires_grad=True)
        with pytest.raises(GradcheckError, match="'input0' is on the meta device"):
            gt.check_function(torch.sin, x)

    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    def test_loss_fn_that_calls_backward(self, dtype: torch.dtype) -> None:
        m = _small(dtype)
        m[0].weight.grad = torch.ones_like(m[0].weight)
        before = _state(m)

        def loss(model: Any) -> Any:
            out = model(XS.to(dtype)).pow(2).mean()
            out.backward()
            return out

        with pytest.raises(GradcheckError, match=r"loss_fn called backward\(\) itself"):
            gt.check_module(m, loss)
        assert _same(before, _state(m))

    def test_fn_that_calls_backward(self) -> None:
        x = torch.randn(3, dtype=torch.float64, requires_grad=True)

        def fn(t: Any) -> Any:
            out = torch.sin(t).sum()
            out.backward(retain_graph=True)
            return out

        with pytest.raises(GradcheckError, match=r"fn called backward\(\) itself"):
            gt.check_function(fn, x)
        assert x.grad is None

    @pytest.mark.filterwarnings("ignore:Sparse .* tensor support is in beta")
    def test_sparse_csc_input_is_refused_with_advice(self) -> None:
        # COO and CSR inputs are checked on their stored values (test_torch_sparse.py)
        x = torch.randn(3, 3).to_sparse_csc().requires_grad_()
        with pytest.raises(GradcheckError, match=r"'input0' is a sparse tensor.*to_dense"):
            gt.check_function(lambda t: t.to_dense().sum(), x)

    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    def test_sparse_embedding_gradient_is_checked(self, dtype: torch.dtype) -> None:
        torch.manual_seed(7)
        emb = nn.Embedding(10, 3, sparse=True).to(dtype)
        idx = torch.tensor([1, 2, 2, 5])
        report = gt.check_module(emb, lambda e: e(idx).tanh().sum())
        assert report.status == "passed", str(report)
        hook = emb.weight.register_hook(lambda g: 2 * g)
        try:
            assert gt.check_module(emb, lambda e: e(idx).tanh().sum()).failed_parameters == [
                "weight"
            ]
        finally:
            hook.remove()

    @pytest.mark.parametrize("precision", ["float64", "model"])
    def test_model_that_cannot_be_deep_copied(self, precision: str) -> None:
        m = _Locked()
        before, hooks = _state(m), dict(m._forward_pre_hooks)
        report = gt.check_module(m, lambda m: m(XS[:5]).tanh().sum(), precision=precision)
        assert report.status == "passed", str(report)
        assert any("cannot be deep-copied" in msg for msg in report.messages)
        assert _same(before, _state(m))
        assert dict(m._forward_pre_hooks) == hooks  # the float64 cast hook is gone again

    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    def test_loss_that_uses_the_outer_model(self, dtype: torch.dtype) -> None:
        model = _small(dtype)
        before = _state(model)
        with pytest.raises(GradcheckError, match="does not use the model it is given") as err:
            gt.check_module(model, lambda m: model(XS.to(dtype)).pow(2).mean())
        assert "lambda m:" in str(err.value)
        assert _same(before, _state(model))

    def test_a_constant_loss_is_not_called_a_usage_error(self) -> None:
        model = _small()  # the user's own gradient is zero too: nothing to contradict
        report = gt.check_module(model, lambda m: (m(XS.double()) * 0).sum())
        assert report.status != "failed"


class TestSecondsCounted:
    """Issue 12 §7: report.seconds counts the adapter's own passes."""

    def test_a_slow_analytic_pass_is_counted(self) -> None:
        calls = [0]

        def loss(m: Any) -> Any:
            calls[0] += 1
            if calls[0] == 1:  # the analytic pass, before the engine starts
                time.sleep(0.3)
            return m(XS.double()).pow(2).mean()

        report = gt.check_module(_small(), loss)
        assert report.passed and report.seconds >= 0.3


class _Mixed(nn.Module):
    """One float32 and one float64 parameter."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.linspace(0.1, 1.0, 4))
        self.b = nn.Parameter(torch.linspace(-1.0, 0.5, 3, dtype=torch.float64))

    def forward(self) -> Any:
        return torch.sin(self.a).double().sum() + (self.b**3).sum()


class TestMixedDtypes:
    def test_reported_with_the_least_precise_dtype(self) -> None:
        report = gt.check_module(_Mixed(), lambda m: m())
        assert report.options["user_dtype"] == "float32", report.options
        assert report.parameters["a"].dtype == "float64" == report.options["numeric_dtype"]
        assert report.status == "passed", str(report)


class _Moving(nn.Module):
    """An EMA of its input (momentum ``m``) and an integer step counter, both moved in
    forward in train mode: the state that leaks between evaluations if anything does."""

    def __init__(self, n: int, m: float) -> None:
        super().__init__()
        self.m = m
        self.register_buffer("mean", torch.zeros(n))
        self.register_buffer("steps", torch.tensor(0, dtype=torch.int64))

    def forward(self, x: Any) -> Any:
        if self.training:
            self.mean.mul_(1 - self.m).add_(self.m * x.mean(0).detach())
            self.steps += 1
        return (x - self.mean) * (1.0 + 0.1 * self.steps.to(x.dtype))


class TestMovingBuffersProperty:
    """Issue 12, beyond fixed cases: random modules whose buffers move in forward."""

    @settings(max_examples=25, deadline=None, derandomize=True, database=None)
    @given(
        st.integers(2, 5),
        st.floats(0.01, 0.99),
        st.integers(0, 4),
        st.sampled_from([torch.float64, torch.float32]),
        st.booleans(),
        st.integers(0, 2**16),
    )
    def test_correct_gradient_passes_and_state_is_untouched(
        self, n: int, m: float, warm: int, dtype: torch.dtype, train: bool, seed: int
    ) -> None:
        torch.manual_seed(seed)
        model = nn.Sequential(_Moving(n, m), nn.Linear(n, 3), nn.Tanh(), nn.Linear(3, 1))
        model = model.to(dtype).train(train)
        xs = torch.randn(warm + 6, n, dtype=dtype)
        with torch.no_grad():
            for i in range(warm):  # buffers away from their initial values
                model(xs[i : i + 1] + 1)
        x = xs[warm:] + 1
        before, rng = _state(model), (np.random.get_state()[1].tobytes(), random.getstate())
        report = gt.check_module(model, lambda mod: mod(x).pow(2).mean())
        assert report.status == "passed", str(report)
        assert _same(before, _state(model))
        assert (np.random.get_state()[1].tobytes(), random.getstate()) == rng


class _SoftplusPlanted(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Any, jvp: float, vjp: float) -> Any:
        ctx.save_for_backward(x)
        ctx.x, ctx.scales = x, (jvp, vjp)
        return F.softplus(x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return ctx.scales[1] * g * torch.sigmoid(x), None, None

    @staticmethod
    def jvp(ctx: Any, t: Any, *_: Any) -> Any:
        return ctx.scales[0] * t * torch.sigmoid(ctx.x)


def _planted(jvp: float = 1.0, vjp: float = 1.0) -> Any:
    return lambda x: _SoftplusPlanted.apply(x, jvp, vjp)


class _Pair(torch.autograd.Function):
    """(x * y, sin(x)) with a backward and a jvp; the cos of out[1]'s backward scaled."""

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any, scale: float) -> Any:
        ctx.save_for_backward(x, y)
        ctx.xy, ctx.scale = (x, y), scale
        return x * y, torch.sin(x)

    @staticmethod
    def backward(ctx: Any, g0: Any, g1: Any) -> Any:
        x, y = ctx.saved_tensors
        return g0 * y + ctx.scale * g1 * torch.cos(x), g0 * x, None

    @staticmethod
    def jvp(ctx: Any, tx: Any, ty: Any, _: Any) -> Any:
        x, y = ctx.xy
        return tx * y + ty * x, tx * torch.cos(x)


DTYPES = [torch.float64, torch.float32]


class TestForwardMode:
    """Issue 13: a custom Function's jvp, forward AD of any function, per output."""

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_wrong_jvp_right_backward_fails_forward_and_consistency(self, dtype: Any) -> None:
        x = torch.linspace(-2, 2, 5, dtype=dtype).requires_grad_()
        report = gt.check_function(_planted(jvp=1.5), x)
        assert report.options["modes"] == ["rev", "fwd"]
        assert report.parameters["input0"].status == "passed"
        assert report.failed_parameters == ["fwd/input0", "consistency: jvp vs vjp"]
        assert report.parameters["fwd/input0"].diagnosis.kind == "factor"  # type: ignore[union-attr]
        assert report.options["consistency"] is False
        assert any(m.startswith("the jvp (forward AD) is wrong") for m in report.messages)
        assert any(
            "the jvp (forward AD) and the backward" in m and "disagree" in m
            for m in report.messages
        )

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_right_jvp_wrong_backward_is_the_mirror(self, dtype: Any) -> None:
        x = torch.linspace(-2, 2, 5, dtype=dtype).requires_grad_()
        report = gt.check_function(_planted(vjp=-1.0), x)
        assert report.failed_parameters == ["input0", "consistency: jvp vs vjp"]
        assert report.parameters["fwd/input0"].status == "passed"
        assert report.options["consistency"] is False
        assert any(
            m.startswith("the backward (autograd.grad) is wrong")
            and "the jvp (forward AD) agrees" in m
            for m in report.messages
        )

    def test_a_jvp_off_by_little_is_caught_by_the_consistency_alone(self) -> None:
        # 1e-3 relative: below what float32 finite differences can see, far above the
        # round-off of the two float32 rules compared with each other.
        x = torch.linspace(-2, 2, 5).requires_grad_()
        report = gt.check_function(_planted(jvp=1 + 1e-3), x, precision="model")
        assert report.failed_parameters == ["consistency: jvp vs vjp"]
        assert report.status == "failed" and report.options["consistency"] is False

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_right_rules_pass_both_modes(self, dtype: Any) -> None:
        x = torch.linspace(-2, 2, 6, dtype=dtype).requires_grad_()
        report = gt.check_function(_planted(), x)
        assert report.status == "passed", str(report)
        assert list(report.parameters) == ["input0", "fwd/input0", "consistency: jvp vs vjp"]
        assert report.options["consistency"] is True

    @pytest.mark.parametrize(
        "fn", [torch.sin, lambda a: a @ a.T, lambda a: torch.softmax(a, -1).cumsum(0)]
    )
    @pytest.mark.parametrize("dtype", DTYPES)
    def test_ordinary_functions_pass_both_modes(self, fn: Any, dtype: Any) -> None:
        a = torch.randn(3, 4, dtype=dtype, generator=torch.Generator().manual_seed(7))
        report = gt.check_function(fn, a.requires_grad_())
        assert report.status == "passed", str(report)
        assert report.options["modes"] == ["rev", "fwd"] and report.options["consistency"]
        if dtype == torch.float32:
            assert report.options["route"] == "float64"
            assert report.parameters["fwd/input0"].precision is not None

    def test_matmul_of_two_inputs_in_forward_mode_only(self) -> None:
        g = torch.Generator().manual_seed(8)
        a, b = torch.randn(3, 4, generator=g), torch.randn(4, 2, generator=g)
        report = gt.check_function(
            torch.matmul, a.requires_grad_(), b.requires_grad_(), modes=("fwd",)
        )
        names = ["fwd/input0", "fwd/input1", "linearity: jvp"]
        assert report.passed and list(report.parameters) == names
        assert "consistency" not in report.options

    def test_several_outputs_are_reported_per_output(self) -> None:
        x, y = torch.randn(4, dtype=torch.float64), torch.randn(4, dtype=torch.float64)
        report = gt.check_function(
            lambda a, b: _Pair.apply(a, b, 1.0), x.requires_grad_(), y.requires_grad_()
        )
        assert report.status == "passed", str(report)
        assert set(report.parameters) == {
            f"{m}out[{k}]/input{i}" for m in ("", "fwd/") for k in (0, 1) for i in (0, 1)
        } | {"consistency: jvp vs vjp"}

    def test_a_wrong_output_is_named(self) -> None:
        x, y = torch.randn(4, dtype=torch.float64), torch.randn(4, dtype=torch.float64)
        report = gt.check_function(
            lambda a, b: _Pair.apply(a, b, 2.0), x.requires_grad_(), y.requires_grad_()
        )
        assert report.failed_parameters == ["out[1]/input0", "consistency: jvp vs vjp"]
        assert report.worst[0].label().startswith("out[1]/input0[")
        assert (
            "the backward (autograd.grad) is wrong: the derivative of out[1] with respect "
            "to input0; the jvp (forward AD) agrees with finite differences" in report.messages
        )
        assert report.options["consistency"] is False
        assert len(str(report)) < 4000  # never a Jacobian dump

    def test_a_function_without_jvp_defaults_to_reverse_with_a_note(self) -> None:
        x = torch.randn(5, dtype=torch.float64, requires_grad=True)
        report = gt.check_function(_Cube.apply, x)
        assert report.passed and report.options["modes"] == ["rev"]
        assert any(
            "forward mode not checked" in m and "jvp staticmethod" in m for m in report.messages
        )

    @pytest.mark.parametrize("modes", [("fwd",), ("rev", "fwd"), "fwd"])
    def test_asking_forward_of_a_function_without_jvp_is_an_error(self, modes: Any) -> None:
        x = torch.randn(5, dtype=torch.float64, requires_grad=True)
        with pytest.raises(GradcheckError, match=r"modes=.*NotImplementedError.*jvp staticmethod"):
            gt.check_function(_Cube.apply, x, modes=modes)

    @pytest.mark.parametrize("modes", [("reverse",), ("rev", "rev"), [], "both"])
    def test_bad_modes_are_an_error(self, modes: Any) -> None:
        with pytest.raises(GradcheckError, match="modes="):
            gt.check_function(torch.sin, torch.randn(3, requires_grad=True), modes=modes)

    def test_nothing_of_the_users_changes_in_forward_mode(self) -> None:
        x = torch.randn(3, requires_grad=True)
        x.grad = torch.ones(3)
        saved, rng = x.detach().clone(), torch.get_rng_state()
        np.random.seed(3)
        before = _rng_states()
        report = gt.check_function(lambda t: F.dropout(t, 0.5) * torch.sin(t), x)
        assert report.status == "passed", str(report)
        assert report.options["modes"] == ["rev", "fwd"]
        assert torch.equal(x.detach(), saved) and torch.equal(x.grad, torch.ones(3))
        assert x.requires_grad and torch.equal(torch.get_rng_state(), rng)
        assert _same_rng(before, _rng_states())

    def test_a_drawn_subset_is_the_same_in_forward_mode(self) -> None:
        np.random.seed(5)
        before = _rng_states()
        x = torch.linspace(-1, 1, 20, dtype=torch.float64).requires_grad_()
        report = gt.check_function(
            lambda t: torch.sin(t[np.random.choice(20, 6)]) * 3, x, modes=("fwd",)
        )
        assert report.status == "passed", str(report)
        assert _same_rng(before, _rng_states())


class TestEmptyInputs:
    """Attack 20 A8: an empty input is named (it used to be "params is empty")."""

    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.complex128])
    @pytest.mark.parametrize("order", [1, 2])
    def test_an_empty_input_is_named(self, dtype: torch.dtype, order: int) -> None:
        x = torch.zeros(0, dtype=dtype, requires_grad=True)
        with pytest.raises(GradcheckError, match=r"^input0 has no entries \(size 0\)"):
            gt.check_function(lambda t: t * 2, x, order=order)

    def test_every_empty_input_is_named(self) -> None:
        a, b = (torch.zeros(2, 0, requires_grad=True) for _ in range(2))
        with pytest.raises(GradcheckError, match=r"^input0 and input1 have no entries"):
            gt.check_function(lambda t, u: t * u, a, b)

    def test_an_empty_sparse_input_is_named(self) -> None:
        index = torch.zeros(2, 0, dtype=torch.long)
        values = torch.zeros(0, dtype=torch.float64)
        coo = torch.sparse_coo_tensor(index, values, (3, 4), check_invariants=True)
        coo = coo.coalesce().requires_grad_()
        with pytest.raises(GradcheckError, match=r"^input0 has no entries"):
            gt.check_function(lambda s: s.to_dense(), coo)

    def test_an_empty_input_beside_a_full_one_is_checked(self) -> None:
        empty = torch.zeros(0, dtype=torch.float64, requires_grad=True)
        full = torch.ones(2, dtype=torch.float64, requires_grad=True)
        report = gt.check_function(lambda t, u: t.sum() + u.sin().sum(), empty, full)
        assert report.passed and "input1" in report.parameters

    def test_an_empty_model_is_named(self) -> None:
        m = nn.Linear(1, 2, bias=False)
        m.weight = nn.Parameter(torch.zeros(2, 0))
        with pytest.raises(GradcheckError, match=r"^weight has no entries"):
            gt.check_module(m, lambda mm: mm(torch.zeros(3, 0)).sum())


class TestRulesOfAnUnrepeatableFn:
    """attack23 D5: noise from a user-held Generator the check cannot find (kept in a
    list; one fn names itself is reset before every call, gradcheck._user_rng) makes the
    two rules run on different draws: their disagreement is no verdict."""

    @pytest.mark.parametrize("seed", [0, 3])
    @pytest.mark.parametrize("shape", [(4, 3), (7,)])
    @pytest.mark.parametrize("dtype", DTYPES)
    def test_both_modes_are_inconclusive_not_failed(
        self, dtype: Any, shape: tuple[int, ...], seed: int
    ) -> None:
        mu = torch.randn(shape, dtype=dtype, generator=torch.Generator().manual_seed(seed))
        fn = lambda t: t * torch.randn(t.shape, generator=_fresh(), dtype=t.dtype)  # noqa: E731
        report = gt.check_function(fn, mu.requires_grad_())
        assert report.status == "inconclusive", str(report)
        assert {p.status for p in report.parameters.values()} == {"inconclusive"}
        assert report.parameters["consistency: jvp vs vjp"].diagnosis is None
        assert "consistency" not in report.options
        assert any(m.startswith("the cost is not deterministic") for m in report.messages)
        assert not any("one of the two rules is wrong" in m for m in report.messages)
        assert any("not compared: fn does not repeat" in m for m in report.messages)

    def test_forward_mode_alone_keeps_its_linearity_row_inconclusive(self) -> None:
        fn = lambda t: t * torch.randn(t.shape, generator=_fresh(), dtype=t.dtype)  # noqa: E731
        mu = torch.linspace(-1, 2, 5, dtype=torch.float64).requires_grad_()
        report = gt.check_function(fn, mu, modes=("fwd",))
        assert report.status == "inconclusive", str(report)
        assert report.parameters["linearity: jvp"].status == "inconclusive"
        assert not any("is not linear in its tangent" in m for m in report.messages)

    def test_a_seeded_draw_inside_fn_still_fails_a_wrong_jvp(self) -> None:
        # reseeded at each call, fn repeats: the consistency row judges the rules
        def fn(t: torch.Tensor) -> Any:
            noise = torch.randn(t.shape, generator=torch.Generator().manual_seed(2))
            return _planted(jvp=1 + 1e-3)(t * noise.to(t.dtype))

        x = torch.linspace(-2, 2, 5).requires_grad_()
        report = gt.check_function(fn, x, precision="model")
        assert report.status == "failed" and report.options["consistency"] is False
        assert report.parameters["consistency: jvp vs vjp"].status == "failed"


# torch.func's deprecated torch.jit.script: torch's own warning, not this code's.
@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
class TestFnThatCannotRunUnderForwardAD:
    """attack23 D4: torch cannot run fn under the check's forward AD (nested forward
    AD, a tensor hook): not a bug of fn's jvp; default modes check reverse mode."""

    @pytest.mark.parametrize("make", [torch.func.hessian, torch.func.jacfwd])
    @pytest.mark.parametrize("dtype", DTYPES)
    def test_nested_forward_ad_checks_reverse_mode_with_a_note(self, make: Any, dtype: Any) -> None:
        x = torch.randn(5, dtype=dtype, generator=torch.Generator().manual_seed(0))
        fn = make(lambda t: (t.sin() * t).sum())
        report = gt.check_function(fn, x.requires_grad_())
        assert report.status == "passed", str(report)
        assert report.options["modes"] == ["rev"]
        assert any(
            m.startswith("forward mode not checked: fn cannot run under forward AD")
            and "Nested forward mode AD" in m
            for m in report.messages
        )

    def test_asking_for_forward_mode_keeps_the_error(self) -> None:
        x = torch.randn(4, dtype=torch.float64).requires_grad_()
        fn = torch.func.hessian(lambda t: (t.sin() * t).sum())
        with pytest.raises(GradcheckError, match=r"^modes=\(.fwd.,\) asks for forward mode, but"):
            gt.check_function(fn, x, modes=("fwd",))

    def test_a_hook_is_not_blamed_on_a_jvp(self) -> None:
        def fn(t: torch.Tensor) -> torch.Tensor:
            y = t * 1.0
            y.register_hook(lambda g: g * 1.05)
            return y.sin()

        x = torch.randn(4, dtype=torch.float64).requires_grad_()
        report = gt.check_function(fn, x)  # the hook runs in the differences too (D4)
        assert report.parameters["input0"].status == "failed", str(report)
        assert not any("jvp (forward AD) of fn raised" in m for m in report.messages)


class TestUnderNoGrad:
    """attack22 C7(b): a check called inside torch.no_grad() blamed the user's fn."""

    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    def test_check_function_differentiates_and_restores_the_mode(self, dtype: torch.dtype) -> None:
        x = torch.linspace(-1, 1, 5, dtype=dtype).requires_grad_()
        with torch.no_grad():
            report = gt.check_function(torch.sin, x)
            assert not torch.is_grad_enabled()
        assert report.status == "passed", str(report)
        assert torch.is_grad_enabled()

    def test_check_module_differentiates_and_restores_the_mode(self) -> None:
        torch.manual_seed(0)
        model = nn.Linear(3, 2)
        x = torch.randn(4, 3)
        with torch.no_grad():
            report = gt.check_module(model, lambda m: m(x).pow(2).sum())
            assert not torch.is_grad_enabled()
        assert report.status == "passed", str(report)

    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    def test_check_function_order2_differentiates(self, dtype: torch.dtype) -> None:
        # order=2 returned before the enable_grad block (attack23 step 1, C7b residue)
        x = torch.linspace(-1, 1, 5, dtype=dtype).requires_grad_()
        with torch.no_grad():
            report = gt.check_function(lambda t: t.sin() * t, x, order=2)
            assert not torch.is_grad_enabled()
        assert report.status == "passed", str(report)

    def test_check_module_order2_differentiates(self) -> None:
        torch.manual_seed(1)
        model = nn.Sequential(nn.Linear(3, 2), nn.Tanh()).double()
        x = torch.randn(4, 3, dtype=torch.float64)
        with torch.no_grad():
            report = gt.check_module(model, lambda m: m(x).pow(2).sum(), order=2)
            assert not torch.is_grad_enabled()
        assert report.status == "passed", str(report)


class TestBatchedDomainEdge:
    """attack20 t82: check_function's vmapped evaluations raised "cost returned nan ...
    one of a batch of 4" at a step across 0, where the core's serial ones judge it."""

    @pytest.mark.parametrize("x", [[1e-8, 0.5], [1e-7, 0.3, 2.0]])
    def test_x_log_x_beside_zero_passes(self, x: list[float]) -> None:
        t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        report = gt.check_function(lambda v: v * torch.log(v), t)
        assert report.status == "passed", str(report)
        assert report.options["vectorised"]

    def test_a_wrong_backward_beside_zero_fails(self) -> None:
        class XLogX(torch.autograd.Function):
            @staticmethod
            def forward(ctx: Any, v: torch.Tensor) -> torch.Tensor:
                ctx.save_for_backward(v)
                return v * torch.log(v)

            @staticmethod
            def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
                (v,) = ctx.saved_tensors
                return g * 1.1 * (torch.log(v) + 1)

        t = torch.tensor([1e-8, 0.5], dtype=torch.float64, requires_grad=True)
        assert gt.check_function(XLogX.apply, t, modes=("rev",)).status == "failed"


class _HookedForward(nn.Module):
    """attack23 d04b.py: a forward that registers a gradient-scaling hook unguarded."""

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.l1, self.l2, self.scale = nn.Linear(3, 4), nn.Linear(4, 1), scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(self.l1(x))
        h.register_hook(lambda g: g * self.scale)
        return self.l2(h)


class TestUnguardedHook:
    """attack23 D4: the finite differences' no-grad evaluation raised "cannot register a
    hook on a tensor that doesn't require gradient", blamed on the cost."""

    @pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
    @pytest.mark.parametrize("seed", [0, 1])
    def test_a_model_whose_forward_hooks_is_checked(self, dtype: torch.dtype, seed: int) -> None:
        torch.manual_seed(seed)
        x = torch.randn(6, 3, dtype=dtype)
        right = _HookedForward(1.0).to(dtype)
        assert gt.check_module(right, lambda m: m(x).pow(2).mean()).status == "passed"
        wrong = _HookedForward(1.05).to(dtype)
        report = gt.check_module(wrong, lambda m: m(x).pow(2).mean())
        assert report.status == "failed", str(report)
        assert report.parameters["l1.weight"].status == "failed"
        assert report.parameters["l2.weight"].status == "passed"

    def test_a_function_that_hooks_is_checked(self) -> None:
        def fn(t: torch.Tensor) -> torch.Tensor:
            y = t * 1.0
            y.register_hook(lambda g: g * 1.05)
            return y.sin()

        x = torch.linspace(-1, 1, 5, dtype=torch.float64, requires_grad=True)
        report = gt.check_function(fn, x, modes=("rev",))
        assert report.parameters["input0"].status == "failed", str(report)


class _Square(torch.autograd.Function):
    """``v**2`` whose backward is scaled by ``scale`` (1.0: right), twice differentiable."""

    @staticmethod
    def forward(ctx: Any, v: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.save_for_backward(v)
        ctx.scale = scale
        return v * v

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor, None]:
        (v,) = ctx.saved_tensors
        return g * 2 * v * ctx.scale, None


def _penalty(x: torch.Tensor, scale: float) -> Any:
    """A WGAN-GP gradient penalty on inputs ``x``, its square's backward scaled."""

    def loss(m: nn.Module) -> torch.Tensor:
        z = x.clone().requires_grad_()
        (g,) = torch.autograd.grad(m(z).sum(), z, create_graph=True)
        return _Square.apply(g.norm(dim=1) - 1, scale).mean()

    return loss


class TestLossThatDifferentiates:
    """attack24 F6: a loss calling ``torch.autograd.grad(..., create_graph=True)`` (a
    gradient penalty, a physics-informed residual) raised "element 0 of tensors does not
    require grad" in the no-grad finite differences, blamed on the cost."""

    @pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
    @pytest.mark.parametrize("seed", [0, 1])
    def test_a_gradient_penalty_is_checked(self, dtype: torch.dtype, seed: int) -> None:
        torch.manual_seed(seed)
        # no last bias: the penalty does not depend on it (exact zero differences)
        m = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1, bias=False)).to(dtype)
        x = torch.randn(4, 3, dtype=dtype)
        assert gt.check_module(m, _penalty(x, 1.0)).status == "passed"
        report = gt.check_module(m, _penalty(x, 1.05))
        assert report.status == "failed", str(report)
        assert report.parameters["0.weight"].status == "failed"

    def test_state_is_bit_exact_after_a_penalty_check(self) -> None:
        torch.manual_seed(2)
        m = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Dropout(0.2), nn.Linear(5, 1)).double()
        for p in m.parameters():
            p.grad = torch.full_like(p, 0.5)
        x = torch.randn(6, 3, dtype=torch.float64)
        before, rng = _state(m), np.random.get_state()[1].copy()
        gt.check_module(m, _penalty(x, 1.05))
        assert _same(before, _state(m))
        assert np.array_equal(np.random.get_state()[1], rng)

    @pytest.mark.parametrize("scale", [1.0, 1.05])
    def test_a_physics_informed_residual_is_checked(self, scale: float) -> None:
        # u'' + u = 0 at collocation points: autograd.grad twice inside the loss
        torch.manual_seed(4)
        m = nn.Sequential(nn.Linear(1, 6), nn.Tanh(), nn.Linear(6, 1, bias=False)).double()
        x = torch.linspace(-1, 1, 7, dtype=torch.float64).reshape(-1, 1)

        def residual(mm: nn.Module) -> torch.Tensor:
            z = x.clone().requires_grad_()
            u = mm(z)
            (du,) = torch.autograd.grad(u.sum(), z, create_graph=True)
            (d2u,) = torch.autograd.grad(du.sum(), z, create_graph=True)
            return _Square.apply(d2u + u, scale).mean()

        report = gt.check_module(m, residual)
        assert report.status == ("passed" if scale == 1.0 else "failed"), str(report)

    def test_state_is_bit_exact_after_a_function_check(self) -> None:
        def fn(t: torch.Tensor) -> torch.Tensor:
            (g,) = torch.autograd.grad((t.sin() * t).sum(), t, create_graph=True)
            return g * torch.rand(()).add(1)  # draws from the global RNG

        x = torch.randn(5, dtype=torch.float64, requires_grad=True)
        x.grad = torch.full_like(x, 0.5)
        saved, grad, rng = x.detach().clone(), x.grad.clone(), torch.get_rng_state()
        gt.check_function(fn, x)
        assert torch.equal(x.detach(), saved) and torch.equal(x.grad, grad)
        assert torch.equal(torch.get_rng_state(), rng)
        assert torch.is_grad_enabled()

    @pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
    def test_a_function_returning_a_gradient_is_checked(self, dtype: torch.dtype) -> None:
        def fn(t: torch.Tensor) -> torch.Tensor:
            return torch.autograd.grad((t.sin() * t).sum(), t, create_graph=True)[0]

        x = torch.randn(5, dtype=dtype, generator=torch.Generator().manual_seed(3))
        assert torch.autograd.gradcheck(fn, (x.double().requires_grad_(),))
        report = gt.check_function(fn, x.requires_grad_())
        assert report.status == "passed", str(report)
        assert report.options["modes"] == ["rev"]
        assert any(
            m.startswith("forward mode not checked") and "torch.autograd.grad" in m
            for m in report.messages
        )

    @pytest.mark.parametrize("modes", [None, ("rev",)])
    def test_a_wrong_backward_in_such_a_function_fails(self, modes: Any) -> None:
        def fn(t: torch.Tensor) -> torch.Tensor:
            (g,) = torch.autograd.grad((t.sin() * t).sum(), t, create_graph=True)
            return _Square.apply(g, 1.05)

        x = torch.randn(5, dtype=torch.float64, requires_grad=True)
        assert gt.check_function(fn, x, modes=modes).status == "failed"

    def test_asking_for_forward_mode_is_refused(self) -> None:
        def fn(t: torch.Tensor) -> torch.Tensor:
            return torch.autograd.grad((t.sin() * t).sum(), t, create_graph=True)[0]

        x = torch.randn(4, dtype=torch.float64, requires_grad=True)
        with pytest.raises(GradcheckError, match=r"^modes=\(.fwd.,\) asks for forward mode, but"):
            gt.check_function(fn, x, modes=("fwd",))


class TestPostAccumulateGradHooks:
    """attack27 H46: a hook doubling ``p.grad`` after accumulation passed with no word;
    ``torch.autograd.grad`` never runs it, so the report says it was not run."""

    @staticmethod
    def _model() -> nn.Module:
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2)).double()

    def test_check_module_names_the_hooked_parameters_and_keeps_the_hooks(self) -> None:
        m = self._model()
        x = torch.randn(6, 4, dtype=torch.float64)
        hooked = [m[0].weight, m[2].bias]

        def double(p: torch.Tensor) -> None:
            p.grad.mul_(2)  # type: ignore[union-attr]

        for p in hooked:
            p.register_post_accumulate_grad_hook(double)
        report = gt.check_module(m, lambda mm: mm(x).pow(2).sum())
        assert report.status == "passed"  # autograd's gradient, which the hooks leave alone
        notes = [n for n in report.messages if "post-accumulate-grad hooks" in n]
        assert len(notes) == 1 and notes[0].startswith("0.weight, 2.bias: post-accumulate")
        assert "the .grad that backward() leaves for your optimizer" in notes[0]
        assert all(p.grad is None and len(p._post_accumulate_grad_hooks) == 1 for p in hooked)
        (g,) = torch.autograd.grad(m(x).pow(2).sum(), [m[0].weight])
        m(x).pow(2).sum().backward()  # the user's hooks still run
        assert torch.equal(m[0].weight.grad, 2 * g)

    def test_no_hook_no_note(self) -> None:
        m = self._model()
        x = torch.randn(6, 4, dtype=torch.float64)
        report = gt.check_module(m, lambda mm: mm(x).pow(2).sum())
        assert not any("post-accumulate-grad" in n for n in report.messages)

    def test_check_function_names_the_hooked_input(self) -> None:
        x = torch.randn(5, dtype=torch.float64, requires_grad=True)
        y = torch.randn(5, dtype=torch.float64, requires_grad=True)
        y.register_post_accumulate_grad_hook(lambda t: None)
        report = gt.check_function(lambda a, b: a.sin() * b, x, y, modes=("rev",))
        assert report.status == "passed"
        assert [n.split(":")[0] for n in report.messages if "post-accumulate" in n] == ["input1"]


class TestLazyModules:
    def test_an_uninitialised_lazy_module_is_refused_by_name(self) -> None:
        # attack33 H125: torch's own ValueError ("Attempted to use an uninitialized
        # parameter in <method 'numel' ...>") came out of the check
        model = nn.Sequential(nn.LazyLinear(3), nn.Tanh(), nn.Linear(3, 1))
        x = torch.randn(4, 5)
        for order in (1, 2):
            with pytest.raises(GradcheckError) as raised:
                gt.check_module(model, lambda m: m(x).sum(), order=order)
            assert str(raised.value).startswith("model's '0.weight' is not initialised yet")
            assert "run one forward pass on an input first" in str(raised.value)
        model(x)  # initialised: checked as any model
        assert gt.check_module(model, lambda m: m(x).sum()).status == "passed"
