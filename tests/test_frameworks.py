"""gradcheck._frameworks: the formula checked in float64, the user's round-off reported.

Issue 11 §2 (formula vs precision), §3 (every parameter on its own scale) and issue 16
(a mixed-precision model is judged by its least precise dtype), for both adapters,
plus the shared routes on a NumPy stand-in for a framework.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from torch import nn

import gradcheck._frameworks
import gradcheck._roundoff_verdict
import gradcheck.jax as gj
import gradcheck.torch as gt
from _torch_cases import unary
from gradcheck import GradcheckError
from gradcheck._evaluate import preserve_rng
from gradcheck._frameworks import (
    ATOL_ROUNDOFFS,
    PLAUSIBLE,
    Analytic,
    Side,
    check_adapted,
    plausible,
    probe_batched,
)
from gradcheck._modes import AUTO_FULL_MAX
from gradcheck._rng import GlobalRng

Array = np.ndarray[Any, Any]


class TestPlausible:
    def test_round_off_within_the_parameter_scale_is_plausible(self) -> None:
        g64 = np.array([1.0, -2.0])
        assert plausible(g64 * (1 + 0.9 * PLAUSIBLE), g64, 0.0)
        assert not plausible(2 * g64, g64, 0.0)
        assert not plausible(-g64, g64, 0.0)

    def test_round_off_of_the_model_scale_is_plausible(self) -> None:
        g64 = np.array([1e-17, 0.0])  # a bias before BatchNorm: zero in exact arithmetic
        assert plausible(np.array([1e-9, -1e-9]), g64, ATOL_ROUNDOFFS * 2**-23 * 0.06)
        assert not plausible(np.array([1e-9, -1e-9]), g64, 0.0)


def _sides(w: Array, grads64: Any, backward64: bool = True) -> Any:
    """``make`` for ``J(w) = Σ sin(w)`` whose float64 autodiff gives ``grads64``."""

    def make(precision: str) -> Side:
        dtype = np.float64 if precision == "float64" else np.float32
        params = {"w": w.astype(dtype)}

        def cost(p: dict[str, Array]) -> Any:
            return np.sum(np.sin(p["w"]))

        def gradient(p: dict[str, Array]) -> tuple[float, dict[str, Array | None]]:
            if precision == "float64" and not backward64:
                raise TypeError("float32 only")
            return float(cost(p)), {"w": grads64(p["w"])}

        def batched(s: dict[str, Array]) -> Any:
            return np.sum(np.sin(s["w"]), axis=1)

        return Side(params, cost, batched, gradient, nullcontext, "stacking", "float64")

    return make


def _check(make: Any, user: Analytic, **options: Any) -> Any:
    with preserve_rng() as rng:
        return check_adapted(
            make,
            user,
            precision="float64",
            rng=rng,
            notes=[],
            options=options,
            start=time.perf_counter(),
            unused=None,
        )


class TestRoutes:
    W = np.array([0.3, -1.2, 2.0, 0.7])

    def test_float64_route_checks_the_float64_gradient_and_reports_round_off(self) -> None:
        noisy = np.cos(self.W) * (1 + 3e-3 * np.array([1, -1, 1, -1]))  # 0.3% "round-off"
        user = Analytic(float(np.sum(np.sin(self.W))), {"w": noisy}, "float32")
        report = _check(_sides(self.W, np.cos), user)
        assert report.status == "passed", str(report)
        assert report.options["route"] == "float64"
        assert report.parameters["w"].precision == pytest.approx(3e-3, rel=0.05)
        assert any("float32 round-off" in m and "on w" in m for m in report.messages)

    def test_a_wrong_formula_fails_in_float64(self) -> None:
        user = Analytic(float(np.sum(np.sin(self.W))), {"w": -np.cos(self.W)}, "float32")
        report = _check(_sides(self.W, lambda w: -np.cos(w)), user)
        assert report.failed_parameters == ["w"]

    @pytest.mark.parametrize("factor", [2.0, -1.0, 1.5])
    def test_a_user_gradient_off_beyond_round_off_is_checked_itself(self, factor: float) -> None:
        # a hook acting only on the user's dtype: the float64 formula is right
        user = Analytic(float(np.sum(np.sin(self.W))), {"w": factor * np.cos(self.W)}, "float32")
        report = _check(_sides(self.W, np.cos), user)
        assert report.failed_parameters == ["w"]
        assert any("more than float32 round-off explains" in m for m in report.messages)

    def test_mixed_route_when_the_float64_backward_raises(self) -> None:
        user = Analytic(float(np.sum(np.sin(self.W))), {"w": np.cos(self.W)}, "float32")
        report = _check(_sides(self.W, np.cos, backward64=False), user)
        assert report.passed and report.options["route"] == "mixed"
        assert report.parameters["w"].precision is None

    def test_same_route_when_the_float64_loss_differs(self) -> None:
        user = Analytic(1.0 + float(np.sum(np.sin(self.W))), {"w": np.cos(self.W)}, "float32")
        report = _check(_sides(self.W, np.cos), user)
        assert report.options["route"] == "same"
        assert report.options["numeric_dtype"] == "float32"
        assert any("could not be used" in m for m in report.messages)

    def test_seconds_count_from_the_adapter_entry(self) -> None:
        user = Analytic(float(np.sum(np.sin(self.W))), {"w": np.cos(self.W)}, "float64")
        with preserve_rng() as rng:
            report = check_adapted(
                _sides(self.W, np.cos),
                user,
                precision="float64",
                rng=rng,
                notes=[],
                options={},
                start=time.perf_counter() - 100.0,
                unused=None,
            )
        assert report.seconds >= 100.0


class _Flip(torch.autograd.Function):
    """``x * w`` whose backward for ``w`` has the wrong sign (issue 11 §3)."""

    float64_raises = False

    @staticmethod
    def forward(ctx: Any, x: Any, w: Any) -> Any:
        ctx.save_for_backward(x, w)
        return x * w

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        if _Flip.float64_raises and g.dtype == torch.float64:
            raise TypeError("this backward only runs in float32")
        x, w = ctx.saved_tensors
        return g * w, -(g * x).sum(0)


class _Tiny(nn.Module):
    """A model whose parameter ``w`` has a gradient ``weight`` times the largest."""

    def __init__(self, weight: float) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.big = nn.Linear(4, 1)
        self.w = nn.Parameter(torch.tensor([0.5]))
        self.weight = weight

    def forward(self, x: Any) -> Any:
        return self.big(x).pow(2).mean() + self.weight * _Flip.apply(x[:, :1], self.w).sum()


X = torch.randn(8, 4, generator=torch.Generator().manual_seed(3)) + 1


class TestTorchScale:
    """Issue 11 §3: a sign-flipped backward on a tiny-gradient parameter never passes."""

    @pytest.mark.parametrize("weight", [4e-6, 1e-7, 1e-3])
    @pytest.mark.parametrize("float64_raises", [False, True])
    def test_sign_flip_on_a_tiny_gradient_is_not_passed(
        self, weight: float, float64_raises: bool, monkeypatch: Any
    ) -> None:
        monkeypatch.setattr(_Flip, "float64_raises", float64_raises)
        report = gt.check_module(_Tiny(weight), lambda m: m(X))
        assert report.options["route"] == ("mixed" if float64_raises else "float64")
        w = report.parameters["w"]
        assert w.status in ("failed", "inconclusive"), str(report)
        assert report.parameters["big.weight"].status == "passed"
        if w.status == "inconclusive":
            assert any("w: its gradient" in m and "round-off" in m for m in report.messages)
        if not float64_raises:  # the formula is checked in float64: a plain failure
            assert report.failed_parameters == ["w"]


class _Saturated(nn.Module):
    def __init__(self, dtype: torch.dtype) -> None:
        super().__init__()
        self.W = nn.Parameter(torch.ones(3, 4, dtype=dtype))

    def forward(self, x: Any) -> Any:
        return torch.tanh(self.W @ x).sum()


class TestTorchPrecision:
    """Issue 11 §2: correct float32 gradients pass, their round-off is reported."""

    @pytest.mark.parametrize("shift", [0.0, 0.5])
    def test_saturated_tanh_passes_with_a_precision_note(self, shift: float) -> None:
        x = torch.arange(4.0) + shift
        report = gt.check_module(_Saturated(torch.float32), lambda m: m(x))
        assert report.status == "passed", str(report)
        figure = report.parameters["W"].precision
        assert figure is not None and 1e-4 < figure < PLAUSIBLE
        assert any("float32 round-off" in m and "saturated tanh" in m for m in report.messages)

    def test_a_zero_gradient_is_not_the_headline_round_off(self) -> None:
        # the bias before BatchNorm is zero in exact arithmetic: ±1e-9 in float32
        torch.manual_seed(0)
        m = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Tanh(), nn.Linear(6, 1))
        report = gt.check_module(m, lambda m: m(X).pow(2).mean())
        assert report.status == "passed", str(report)
        headline = [msg for msg in report.messages if "float32 round-off of your" in msg]
        assert len(headline) == 1 and "0.bias" not in headline[0]
        assert any(
            msg.startswith("0.bias: the gradient is zero up to float32 round-off")
            for msg in report.messages
        )

    def test_float64_model_has_no_precision_figure(self) -> None:
        report = gt.check_module(_Saturated(torch.float64), lambda m: m(torch.arange(4.0).double()))
        assert report.passed and report.parameters["W"].precision is None
        assert report.options["route"] == "same"

    @pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
    def test_half_types_check_the_formula_in_float64(self, dtype: torch.dtype) -> None:
        torch.manual_seed(1)
        m = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 1)).to(dtype)
        report = gt.check_module(m, lambda m: m(X.to(dtype)).pow(2).mean())
        assert report.status == "passed", str(report)
        assert report.options["user_dtype"] == str(dtype).removeprefix("torch.")
        assert all(p.precision is not None for p in report.parameters.values())

    def test_bfloat16_in_its_own_dtype_says_what_to_do(self) -> None:
        m = nn.Linear(4, 1).to(torch.bfloat16)
        with pytest.raises(GradcheckError, match="Leave precision at its default") as err:
            gt.check_module(m, lambda m: m(X.bfloat16()).sum(), precision="model")
        assert "use precision='float64'" not in str(err.value)

    def test_check_function_float32_reports_round_off(self) -> None:
        x = (torch.arange(4.0) + 4).requires_grad_()
        report = gt.check_function(torch.tanh, x)
        assert report.status == "passed", str(report)
        assert report.options["route"] == "float64"
        assert report.parameters["input0"].precision is not None

    def test_mixed_float32_float64_model_is_judged_as_float32(self) -> None:
        # issue 16: the least precise dtype (largest eps), not the most precise
        torch.manual_seed(2)
        m = nn.Sequential(nn.Linear(4, 3).double(), nn.Tanh(), nn.Linear(3, 1).float())

        def loss(m: Any) -> Any:  # each layer is fed its own dtype
            h = torch.tanh(m[0](X.to(m[0].weight.dtype)))
            return m[2](h.to(m[2].weight.dtype)).pow(2).sum()

        report = gt.check_module(m, loss)
        assert report.options["user_dtype"] == "float32"
        assert report.status == "passed", str(report)


class TestJaxPrecision:
    def test_guide_example_passes_with_a_precision_note(self) -> None:
        params = {"W": jnp.ones((3, 4)), "x": jnp.arange(4.0)}
        report = gj.check(lambda p: jnp.sum(jnp.tanh(p["W"] @ p["x"])), params)
        assert report.status == "passed", str(report)
        figure = report.parameters["W"].precision
        assert figure is not None and 1e-3 < figure < 2e-2  # 0.9% in float32
        assert any("0.89%" in m or "0.9%" in m for m in report.messages)

    def test_a_wrong_rule_still_fails(self) -> None:
        @jax.custom_vjp
        def sq(x: Any) -> Any:
            return x * x

        sq.defvjp(lambda x: (x * x, x), lambda x, g: (-2 * x * g,))
        report = gj.check(lambda p: jnp.sum(sq(p["w"])), {"w": jnp.array([0.5, -1.0])})
        assert report.failed_parameters == ["w"]

    def test_bfloat16_leaves(self) -> None:
        params = {"w": jnp.array([0.5, -1.0], dtype=jnp.bfloat16)}
        report = gj.check(lambda p: jnp.sum(jnp.sin(p["w"])), params)
        assert report.status == "passed", str(report)
        with pytest.raises(GradcheckError, match="Leave precision at its default"):
            gj.check(lambda p: jnp.sum(jnp.sin(p["w"])), params, precision="model")

    def test_mixed_leaves_are_judged_by_the_least_precise(self) -> None:
        params = {"a": np.array([0.5, 1.0]), "b": jnp.array([0.3], dtype=jnp.float32)}
        report = gj.check(lambda p: jnp.sum(p["a"] ** 2) * jnp.sum(p["b"]), params)
        assert report.options["user_dtype"] == "float32"


def _mlp(dtype: torch.dtype) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).to(dtype)


XS = torch.randn(8, 3, generator=torch.Generator().manual_seed(5))


def _mlp_loss(m: nn.Module) -> Any:
    first = next(m.parameters())
    return m(XS.to(first.dtype)).pow(2).sum()


def _float32_only(factor: float) -> Any:
    """``sin`` whose backward is ``factor`` off for float32 inputs only (``.apply``)."""

    def rule(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        gx = torch.cos(x) * g
        return gx * factor if x.dtype == torch.float32 else gx

    return unary(torch.sin, rule).apply


class TestCodeActingInOneDtype:
    """Attack 20 A12: a 1-5% hook or float32-only backward is no round-off: it fails."""

    @pytest.mark.parametrize("factor", [1.01, 1.05])
    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    def test_a_parameter_hook_is_checked(self, factor: float, dtype: torch.dtype) -> None:
        m = _mlp(dtype)
        m[0].weight.register_hook(lambda g: g * factor)
        report = gt.check_module(m, _mlp_loss)
        assert report.failed_parameters == ["0.weight"], str(report)

    @pytest.mark.parametrize("factor", [1.01, 1.05])
    def test_a_float32_only_hook_fails_naming_the_parameter(self, factor: float) -> None:
        m = _mlp(torch.float32)
        m[2].weight.register_hook(lambda g: g * factor if g.dtype == torch.float32 else g)
        report = gt.check_module(m, _mlp_loss)
        assert report.failed_parameters == ["2.weight"], str(report)
        note = next(msg for msg in report.messages if msg.startswith("2.weight: the float32"))
        assert "same formula computed in float32" in note
        assert "hook or backward acting only in float32" in note
        assert not any("cancellation" in msg for msg in report.messages)

    @pytest.mark.parametrize("factor", [1.01, 1.05])
    def test_without_a_reference_the_nudges_find_the_hook(
        self, factor: float, monkeypatch: Any
    ) -> None:
        # where the float32 reference cannot be used, the difference is measured
        monkeypatch.setattr(gradcheck._roundoff_verdict, "_reference", lambda *a: None)
        m = _mlp(torch.float32)
        m[2].weight.register_hook(lambda g: g * factor if g.dtype == torch.float32 else g)
        report = gt.check_module(m, _mlp_loss)
        assert report.failed_parameters == ["2.weight"], str(report)
        note = next(msg for msg in report.messages if msg.startswith("2.weight: the float32"))
        assert "nudged" in note and "hook or backward acting only in float32" in note

    def test_a_probe_that_raises_is_said_not_measured(self, monkeypatch: Any) -> None:
        def raising(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("no float32 evaluation away from the start")

        monkeypatch.setattr(gradcheck._roundoff_verdict, "measure", raising)
        monkeypatch.setattr(gradcheck._roundoff_verdict, "_reference", lambda *a: None)
        m = _mlp(torch.float32)
        m[2].weight.register_hook(lambda g: g * 1.05 if g.dtype == torch.float32 else g)
        report = gt.check_module(m, _mlp_loss)
        note = next(msg for msg in report.messages if "was not measured" in msg)
        assert "RuntimeError: no float32 evaluation away from the start" in note
        assert "precision='model'" in note
        assert gt.check_module(m, _mlp_loss, precision="model").failed_parameters == ["2.weight"]

    def test_the_user_model_and_its_hooks_are_untouched(self) -> None:
        m = _mlp(torch.float32)
        m[0].weight.register_hook(lambda g: g * 1.05 if g.dtype == torch.float32 else g)
        m[0].weight.grad = torch.full_like(m[0].weight, 0.25)
        before = {n: p.detach().clone() for n, p in m.state_dict().items()}
        hooks = dict(m[0].weight._backward_hooks or {})
        rng = torch.get_rng_state()
        gt.check_module(m, _mlp_loss)
        assert all(torch.equal(before[n], p) for n, p in m.state_dict().items())
        assert torch.equal(m[0].weight.grad, torch.full_like(m[0].weight, 0.25))
        assert m[2].weight.grad is None
        assert dict(m[0].weight._backward_hooks or {}) == hooks
        assert torch.equal(torch.get_rng_state(), rng)

    @pytest.mark.parametrize("factor", [1.01, 1.03, 1.05])
    def test_a_float32_only_backward_fails(self, factor: float) -> None:
        x = torch.randn(5, generator=torch.Generator().manual_seed(2)).requires_grad_()
        report = gt.check_function(_float32_only(factor), x)
        assert report.status == "failed", str(report)
        assert any(m.startswith("input0: the float32 gradient") for m in report.messages)

    @pytest.mark.parametrize("factor", [1.0, 1.02, 1.05, 1.08, 0.97])
    @pytest.mark.parametrize("seed", range(4))
    def test_a_float32_only_backward_fails_where_cos_is_flat(
        self, factor: float, seed: int
    ) -> None:
        # attack21 B4 (b28.py): at seed 3's input no nudge moved g64 by 16 |d|, and an
        # unmeasured difference passed as round-off
        torch.manual_seed(seed)
        x = torch.randn(5).requires_grad_()
        report = gt.check_function(_float32_only(factor), x)
        assert report.status == ("passed" if factor == 1.0 else "failed"), str(report)

    def test_the_same_backward_passes_in_float64(self) -> None:
        x = torch.randn(5, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
        assert gt.check_function(_float32_only(1.05), x.requires_grad_()).passed

    @pytest.mark.parametrize("factor", [1.0, 1.03])
    def test_a_jax_float32_only_rule_fails(self, factor: float) -> None:
        @jax.custom_vjp
        def s(v: Any) -> Any:
            return jnp.sin(v)

        def bwd(v: Any, g: Any) -> Any:
            out = jnp.cos(v) * g
            return (out * factor if v.dtype == jnp.float32 else out,)

        s.defvjp(lambda v: (jnp.sin(v), v), bwd)
        x = np.array([0.3, -1.2, 0.8, 0.1], np.float32)
        report = gj.check(lambda p: jnp.sum(s(p["x"])), {"x": x})
        assert report.status == ("passed" if factor == 1.0 else "failed"), str(report)
        # attack21 B4: near 0, where cos is flat
        flat = np.array([0.8033, 0.1748, 0.0890, -0.6137, 0.0462], np.float32)
        report = gj.check_function(s, flat)
        assert report.status == ("passed" if factor == 1.0 else "failed"), str(report)

    @pytest.mark.parametrize("reference", [True, False])
    def test_a_gradient_no_nudge_moves(self, reference: bool, monkeypatch: Any) -> None:
        # a float32-only backward on a linear function: the gradient never moves, so
        # nudges cannot tell it from round-off (the report says so); the float32
        # reference can: it fails
        if not reference:
            monkeypatch.setattr(gradcheck._roundoff_verdict, "_reference", lambda *a: None)

        class Linear32(torch.autograd.Function):
            @staticmethod
            def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
                ctx.dtype = x.dtype
                return 3 * x

            @staticmethod
            def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
                return 3 * g * (1.05 if ctx.dtype == torch.float32 else 1.0)

        x = torch.tensor([0.5, -1.0, 2.0]).requires_grad_()
        report = gt.check_function(Linear32.apply, x)
        if reference:
            assert report.status == "failed", str(report)
            assert any("same formula computed in float32" in m for m in report.messages)
            return
        note = next(m for m in report.messages if "no nudge of the parameters" in m)
        assert note.startswith("input0: the float32 gradient's difference")
        assert "precision='model'" in note


class TestRoundOffStillPasses:
    """Attack 20 A12's other side: measured round-off is still reported, not judged."""

    @pytest.mark.parametrize("seed", [0, 1])
    def test_softmax_cross_entropy_near_one_hot(self, seed: int) -> None:
        torch.manual_seed(seed)
        lin = nn.Linear(6, 5)
        with torch.no_grad():
            lin.weight.mul_(30)
        x, y = torch.randn(8, 6), torch.randint(0, 5, (8,))
        report = gt.check_module(lin, lambda m: nn.functional.cross_entropy(m(x), y))
        assert report.status == "passed", str(report)

    @pytest.mark.parametrize("pre", [6.3, 7.0])
    def test_a_saturated_tanh_measured_as_round_off(self, pre: float) -> None:
        x = torch.tensor([0.5, -1.0, 2.0, 1.5])
        w = (torch.full((2, 1), pre) * x / float(x @ x)) + torch.tensor([[0.0], [0.05]])
        model = _Saturated(torch.float32)
        with torch.no_grad():
            model.W = nn.Parameter(w.float())
        report = gt.check_module(model, lambda m: m(x))
        assert report.status == "passed", str(report)
        figure = report.parameters["W"].precision
        assert figure is not None and CANCELLATION_U32 < figure < PLAUSIBLE

    @pytest.mark.parametrize("margin", [12.0, 16.0])
    @pytest.mark.parametrize("seed", range(5))
    def test_confident_cross_entropy_in_float32_never_fails(self, margin: float, seed: int) -> None:
        # attack21 B5 residue (/tmp/b5r.py: margin 16, seed 4): the float32 loss moves in
        # steps of 1e-8, so differences of entries of gradient 1e-7 are exactly 0
        g = torch.Generator().manual_seed(seed)
        y = torch.randint(0, 5, (8,), generator=g)
        z = torch.randn(8, 5, generator=g) + margin * nn.functional.one_hot(y, 5)
        z = z.float().requires_grad_()
        report = gt.check_function(lambda t: nn.functional.cross_entropy(t, y), z)
        assert report.status != "failed", str(report)
        if (margin, seed) == (16.0, 4):
            assert report.status == "inconclusive"
            note = next(m for m in report.messages if m.startswith("input0: every difference"))
            assert "float32 loss's round-off" in note and "float64" in note

    @pytest.mark.parametrize("factor", [2.0, -1.0])
    def test_a_wrong_backward_of_a_cancelling_loss_still_fails(self, factor: float) -> None:
        class XMinusSin(torch.autograd.Function):
            @staticmethod
            def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
                ctx.save_for_backward(x)
                return x - torch.sin(x)

            @staticmethod
            def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
                (x,) = ctx.saved_tensors
                return g * (1 - torch.cos(x)) * factor

        torch.manual_seed(0)
        x = (1e-2 * torch.randn(6)).requires_grad_()
        report = gt.check_function(XMinusSin.apply, x)
        assert any("float64 inputs could not be used" in m for m in report.messages)
        assert report.status == "failed", str(report)


CANCELLATION_U32 = 1e3 * 2.0**-23


def _tf32(a: Array) -> Array:
    """``a`` with 10 mantissa bits, as a GPU's TF32 products read float32 inputs."""
    return (np.asarray(a, np.float32).view(np.uint32) & np.uint32(0xFFFFE000)).view(np.float32)


class TestBatchedProbe:
    """A vectorised cost is used only where it gives the serial values near the point."""

    # w holds 10-bit mantissas: TF32 reads the unperturbed point exactly
    P: ClassVar[dict[str, Array]] = {
        "w": np.array([0.25, -1.75, 2.875], np.float32),
        "b": np.array([0.1], np.float32),
    }

    @staticmethod
    def cost(p: dict[str, Array]) -> float:
        return float(np.sum(np.sin(p["w"])) + 2 * p["b"][0])

    def batched(self, rounds_from: int = 10**9) -> Any:
        """Stacks of at least ``rounds_from`` points read ``w`` in TF32 (a GPU kernel
        chosen by batch size, tools/gpu_check.py); smaller ones compute exactly."""

        def run(stacked: dict[str, Array]) -> Array:
            w = stacked["w"] if len(stacked["w"]) < rounds_from else _tf32(stacked["w"])
            return np.array([self.cost({"w": a, "b": b}) for a, b in zip(w, stacked["b"])])

        return run

    def probe(self, batched: Any, cost: Any = None) -> str | None:
        cost = cost or self.cost
        return probe_batched(batched, cost, self.P, cost(self.P), 1.2e-7, GlobalRng())

    def test_a_batched_cost_that_agrees_is_used(self) -> None:
        assert self.probe(self.batched()) is None

    def test_one_that_rounds_only_in_large_stacks_is_refused_at_a_moved_point(self) -> None:
        # the stack of two unperturbed points the probe used to take agreed exactly
        w = self.P["w"]
        assert (
            self.batched(3)({"w": np.stack([w, w]), "b": np.zeros((2, 1))}).tolist()
            == [self.cost({"w": w, "b": np.zeros(1)})] * 2
        )
        why = self.probe(self.batched(3))
        assert why is not None and why.startswith("at a point near it, batched value")
        why = self.probe(self.batched(32))  # the probe's stack reaches 32 points
        assert why is not None and "differs from the serial value" in why

    def test_a_stack_of_the_wrong_length_is_refused(self) -> None:
        assert self.probe(lambda s: np.zeros(2)) == "batched values have shape (2,), not (33,)"

    def test_a_large_parameter_is_stacked_once(self) -> None:
        seen: list[int] = []
        big = {"w": np.linspace(-1.0, 1.0, 2**17)}

        def cost(p: dict[str, Array]) -> float:
            return float(np.sum(np.sin(p["w"])))

        def run(stacked: dict[str, Array]) -> Array:
            seen.append(len(stacked["w"]))
            return np.array([cost({"w": w}) for w in stacked["w"]])

        assert probe_batched(run, cost, big, cost(big), 2.2e-16, GlobalRng()) is None
        assert seen == [3]  # 33 points of 2**17 entries cost more than a directional check

    def test_moves_out_of_the_domain_are_left_out(self) -> None:
        def cost(p: dict[str, Array]) -> float:
            moved = not np.array_equal(p["w"], self.P["w"])
            return float("nan") if moved else self.cost(p)

        seen: list[int] = []

        def run(stacked: dict[str, Array]) -> Array:
            seen.append(len(stacked["w"]))
            return np.full(len(stacked["w"]), self.cost(self.P))

        assert self.probe(run, cost) is None and seen == [32]

    def test_the_user_rng_is_not_moved(self) -> None:
        before = np.random.get_state()[1].copy()
        self.probe(self.batched())
        assert np.array_equal(np.random.get_state()[1], before)

    def test_jax_vmap_that_runs_tf32_only_in_large_batches_is_not_used(self) -> None:
        """On an H200 a ``jax.vmap`` of 34 float32 points ran its products in TF32, a
        stack of 2 and the serial cost did not; the old probe (2 unperturbed points)
        let it through and ``precision="model"`` FAILED a right MLP (tests/test_jax.py
        test_model_precision; tools/gpu_check.py). Emulated here with a batching rule
        that rounds the weights to 10 mantissa bits in stacks of more than 2 points:
        inconclusive before, passed now, serially."""

        @jax.custom_batching.custom_vmap
        def rounded(w: Any) -> Any:
            return w

        @rounded.def_vmap
        def _rule(axis_size: int, in_batched: Any, w: Any) -> Any:
            out = jax.lax.reduce_precision(w, exponent_bits=8, mantissa_bits=10)
            return (out if axis_size > 2 else w), in_batched[0]

        @jax.custom_jvp
        def tf32_in_batches(w: Any) -> Any:
            return rounded(w)

        tf32_in_batches.defjvp(lambda p, t: (tf32_in_batches(p[0]), t[0]))
        key = jax.random.PRNGKey
        params = {"W1": jax.random.normal(key(0), (3, 4)), "W2": jax.random.normal(key(1), (4, 2))}
        x = jax.random.normal(key(2), (5, 3))

        def mlp(p: Any) -> Any:
            h = jnp.logaddexp(x @ tf32_in_batches(p["W1"]), 0.0)
            return jnp.mean((h @ tf32_in_batches(p["W2"])) ** 2)

        report = gj.check(mlp, params, precision="model")
        assert report.status == "passed", str(report)
        assert report.options["vectorised"] is False
        note = next(m for m in report.messages if "not vectorised" in m)
        assert "batched value" in note and "differs from the serial value" in note


class TestDirectionalEvaluationsStaySerial:
    """The directional check's stacks would be one probe's 4 points: probing ``vmap``
    for them (3 serial calls and a stack of up to 32 points) cost more than the 8
    serial evaluations it saved at every size measured (docs/evaluations.md). So that
    mode is neither probed nor vectorised; the full mode still is."""

    @staticmethod
    def _torch(mode: str, n: int) -> tuple[Any, list[bool]]:
        batched: list[bool] = []

        def fn(x: torch.Tensor) -> torch.Tensor:
            batched.append(bool(torch._C._functorch.is_batchedtensor(x)))
            return torch.sin(x) * torch.roll(x, 1)

        x = torch.linspace(-1, 1, n, dtype=torch.float64, requires_grad=True)
        return gt.check_function(fn, x, mode=mode, modes=("rev",)), batched

    @pytest.mark.parametrize(("mode", "n"), [("directional", 50), ("auto", AUTO_FULL_MAX + 1)])
    def test_torch_directional_is_serial_and_unprobed(self, mode: str, n: int) -> None:
        report, batched = self._torch(mode, n)
        assert report.status == "passed", str(report)
        assert report.options["vectorised"] is False
        assert not any(batched)  # fn never ran under vmap
        # the first pass, the fair share, the engine's 2 + 8, the side checks' pass
        assert len(batched) == 1 + 1 + 10 + 1
        assert not any("not vectorised" in m for m in report.messages)

    def test_torch_full_mode_is_still_vectorised(self) -> None:
        report, batched = self._torch("full", 50)
        assert report.status == "passed", str(report)
        assert report.options["vectorised"] is True and any(batched)

    @pytest.mark.parametrize(("mode", "vectorised"), [("directional", False), ("full", True)])
    def test_jax(self, mode: str, vectorised: bool) -> None:
        report = gj.check(lambda p: jnp.sum(jnp.sin(p) ** 2), jnp.linspace(0.1, 1.0, 50), mode=mode)
        assert report.status == "passed", str(report)
        assert report.options["vectorised"] is vectorised

    def test_a_wrong_backward_still_fails_serially(self) -> None:
        class Doubled(torch.autograd.Function):
            @staticmethod
            def forward(ctx: Any, x: Any) -> Any:
                ctx.save_for_backward(x)
                return x.sin()

            @staticmethod
            def backward(ctx: Any, g: Any) -> Any:
                (x,) = ctx.saved_tensors
                return 2 * g * x.cos()

        x = torch.linspace(-1, 1, 50, dtype=torch.float64, requires_grad=True)
        report = gt.check_function(Doubled.apply, x, mode="directional", modes=("rev",))
        assert report.status == "failed" and report.options["vectorised"] is False
        assert report.failed_parameters == ["input0"]


class TestAdapterWords:
    """attack22 C7(d): the adapters' reports gave the core's advice "pass grad as a
    function", an argument their callers do not have."""

    @pytest.mark.parametrize("framework", ["torch", "jax"])
    @pytest.mark.parametrize("n", [6, 40])
    def test_a_float32_bound_says_how_to_check_in_float64(self, framework: str, n: int) -> None:
        if framework == "torch":
            x = torch.linspace(-1, 1, n).requires_grad_()
            report = gt.check_function(torch.sin, x, precision="model")
        else:
            w = jnp.linspace(-1, 1, n, dtype=jnp.float32)
            report = gj.check(lambda p: jnp.sum(jnp.sin(p)), w, precision="model")
        bounds = [m for m in report.messages if "could not be seen" in m]
        assert bounds and all("precision='float64'" in m for m in bounds), str(report)
        assert not any("grad as a function" in m for m in report.messages)

    def test_the_kink_advice_is_the_adapters(self) -> None:
        message = (
            "w: 1 entries sit at a kink; grad was given as values, so they were not "
            "re-checked at a nearby smooth point; pass grad as a function to do that"
        )
        own = gradcheck._frameworks._adapter_words(message)
        assert "grad as a function" not in own and "check at another point" in own
        assert gradcheck._frameworks._adapter_words("other words") == "other words"
