"""gradcheck._torch_replay: the half model's own dtypes replayed on the reference.

attack32 H113: right bfloat16/float16 models whose forward runs a stage in another
dtype than the reference (a bfloat16 autocast region in a float16 model, a BatchNorm
upcast to float32 by code that tests the dtype) were inconclusive ("the float64 copy
run in float16 computes another loss than your float16 model"); main before the
half-dtype rules passed them, and a backward acting only in the half dtype beside such
a stage must still fail.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

import gradcheck.torch as gt
from gradcheck._torch_reference import InDtype
from gradcheck._torch_replay import Op, Recorder, Replay, recorded

HALF = (torch.float16, torch.bfloat16)


class _Tanh(torch.autograd.Function):
    """tanh whose backward is times ``factor`` only in half dtypes."""

    factor: float | torch.dtype = 1.0  # a dtype: the gradient rounded to it

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        y = torch.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        (y,) = ctx.saved_tensors
        out, k = g * (1 - y * y), _Tanh.factor
        if out.dtype not in HALF:
            return out
        return out.to(k).to(out.dtype) if isinstance(k, torch.dtype) else out * k


class _Autocast(nn.Module):
    """A first layer in a bfloat16 autocast region, then a LayerNorm (attack32 H113)."""

    def __init__(self) -> None:
        super().__init__()
        self.l1, self.ln, self.l2 = nn.Linear(6, 8), nn.LayerNorm(8), nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            h = self.l1(x)
        return self.l2(_Tanh.apply(self.ln(h.to(x.dtype))))


class _UpcastNorm(nn.Module):
    """BatchNorm run in float32 where the model is half (a test of the dtype)."""

    def __init__(self) -> None:
        super().__init__()
        self.l1, self.bn, self.l2 = nn.Linear(6, 8), nn.BatchNorm1d(8), nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.l1(x)
        w, b = self.bn.weight, self.bn.bias
        if h.dtype in HALF:
            h = nn.functional.batch_norm(h.float(), None, None, w.float(), b.float(), True)
            h = h.to(x.dtype)
        else:
            h = nn.functional.batch_norm(h, None, None, w, b, True)
        return self.l2(_Tanh.apply(h))


class _EpsNorm(nn.Module):
    """A normalisation whose eps is 3e-2 in half dtypes, 1e-6 otherwise (attack30 H81),
    and a log-softmax output with ``finfo(p.dtype).eps`` (attack32 H113)."""

    def __init__(self) -> None:
        super().__init__()
        self.l1, self.l2 = nn.Linear(6, 8), nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.l1(x)
        eps = 3e-2 if h.dtype in HALF else 1e-6
        h = (h - h.mean(-1, keepdim=True)) / torch.sqrt(h.var(-1, keepdim=True) + eps)
        p = torch.softmax(self.l2(_Tanh.apply(h)), -1)
        return torch.log(p + torch.finfo(p.dtype).eps)


class _Mlp(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.l1, self.l2 = nn.Linear(6, 8), nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.l2(_Tanh.apply(self.l1(x)))


class _SoftmaxEps(nn.Module):
    """``log(softmax(h) + finfo(p.dtype).eps)`` (attack34 H133, with the loss in the
    model's dtype)."""

    def __init__(self) -> None:
        super().__init__()
        self.l1, self.l2 = nn.Linear(6, 8), nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = torch.softmax(self.l2(_Tanh.apply(self.l1(x))), -1)
        return torch.log(p + torch.finfo(p.dtype).eps)


class _GeluByDtype(nn.Module):
    """The tanh approximation of GELU only in half dtypes (attack34 dtfwdh gelu_dt)."""

    def __init__(self) -> None:
        super().__init__()
        self.l1, self.l2 = nn.Linear(6, 8), nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = _Tanh.apply(self.l1(x))
        return self.l2(nn.functional.gelu(h, approximate="tanh" if h.dtype in HALF else "none"))


def _check(
    build: type[nn.Module],
    dtype: torch.dtype,
    seed: int,
    factor: float | torch.dtype,
    wide: bool = True,
) -> Any:
    """``build``'s check with ``_Tanh``'s half backward times ``factor``; the loss in
    float32 (``wide``) or in the model's dtype."""
    torch.manual_seed(seed)
    m = build().to(dtype)
    x, y = torch.randn(10, 6, dtype=dtype), torch.randint(0, 3, (10,))
    _Tanh.factor = factor
    try:
        return gt.check_module(
            m, lambda mm: nn.functional.cross_entropy(mm(x).float() if wide else mm(x), y)
        )
    finally:
        _Tanh.factor = 1.0


class TestStagesInAnotherDtype:
    """attack32 H113: inconclusive 8/8 (autocast, float16), 1-2/8 (BatchNorm upcast)."""

    @pytest.mark.parametrize("seed", [0, 5])
    def test_a_bfloat16_autocast_region_in_a_float16_model_passes(self, seed: int) -> None:
        report = _check(_Autocast, torch.float16, seed, 1.0)
        assert report.status == "passed", str(report)

    @pytest.mark.parametrize(("dtype", "seed"), [(torch.float16, 0), (torch.bfloat16, 7)])
    def test_a_norm_upcast_by_dtype_passes(self, dtype: torch.dtype, seed: int) -> None:
        report = _check(_UpcastNorm, dtype, seed, 1.0)
        assert report.status == "passed", str(report)

    @pytest.mark.parametrize("build", [_Autocast, _UpcastNorm])
    @pytest.mark.parametrize("dtype", HALF)
    def test_a_half_only_backward_beside_it_fails(
        self, build: type[nn.Module], dtype: torch.dtype
    ) -> None:
        report = _check(build, dtype, 0, 1.2)
        assert report.status == "failed", str(report)
        # every parameter before the tanh but l1.bias before BatchNorm (zero gradient)
        want = {_Autocast: ["l1.weight", "l1.bias", "ln.weight", "ln.bias"]}
        assert report.failed_parameters == want.get(build, ["l1.weight", "bn.weight", "bn.bias"])
        # the dtypes that ran are named, not the model's alone (trust33's leftover)
        name = str(dtype).removeprefix("torch.")
        ran = "float16, bfloat16" if (build, dtype) == (_Autocast, torch.float16) else name
        assert f"the same formula computed in {ran} and float32 (the float64 copy" in str(report)


class TestFloatsByDtype:
    """attack32 H113: an eps chosen by dtype made the float64 copy run in float16
    compute another loss: inconclusive 3/3 (a softmax with ``finfo.eps``, float16 eps by
    dtype); the reference now takes the forward's floats from the model."""

    @pytest.mark.parametrize("dtype", HALF)
    def test_a_right_model_passes(self, dtype: torch.dtype) -> None:
        assert _check(_EpsNorm, dtype, 1, 1.0).status == "passed"

    # bfloat16: the eps of 3e-2 moves the formula 0.13 of its scale from the float64
    # copy's (r), so a x1.2 backward (0.19) is within 4 r: inconclusive; x2 fails
    @pytest.mark.parametrize(("dtype", "factor"), [(torch.float16, 1.2), (torch.bfloat16, 2.0)])
    def test_a_half_only_backward_fails(self, dtype: torch.dtype, factor: float) -> None:
        report = _check(_EpsNorm, dtype, 1, factor)
        assert report.status == "failed", str(report)
        # l1.bias: zero before the norm, its noise doubled in bfloat16 only
        want = ["l1.weight", "l1.bias"] if dtype == torch.bfloat16 else ["l1.weight"]
        assert report.failed_parameters == want

    def test_a_backward_keeps_the_copys_floats(self) -> None:
        x = torch.tensor([0.75], dtype=torch.float64, requires_grad=True)
        forward, backward = Op("aten::mul", (None,), (2.0,)), Op("aten::mul", (None,), (4.0,), True)
        with InDtype(torch.bfloat16, Replay([forward], floats=True)):
            y = x * 3.0
        assert y.item() == 1.5  # the model's 2.0
        with InDtype(torch.bfloat16, Replay([backward], floats=True)):
            z = x * 3.0
        assert z.item() == 2.25  # a forward operation: no backward record matches it


class TestLossInTheModelDtype:
    """attack34 H133: with the loss in bfloat16 the model's loss rounds alike with the
    copy's eps (float64's) and the model's (bfloat16's 0.0078), so the replay of the
    dtypes alone was taken as the model's computation and judged within half a
    round-off: the right model failed ("differs from the same formula computed in
    bfloat16 by 0.067 of its scale", main F2 P1). A forward float (or string: GELU's
    ``approximate``) that is not the model's now makes the replay take the model's."""

    @pytest.mark.parametrize(
        ("build", "seed"), [(_SoftmaxEps, 0), (_SoftmaxEps, 2), (_GeluByDtype, 1)]
    )
    def test_a_right_model_passes(self, build: type[nn.Module], seed: int) -> None:
        report = _check(build, torch.bfloat16, seed, 1.0, wide=False)
        assert report.status == "passed", str(report)

    # the floats' replay moves r (the eps of 0.0078 against 2.2e-16: 0.06 of the scale
    # at seed 0, where x1.2 is within 4 r: inconclusive; seed 1's r is 0.034)
    @pytest.mark.parametrize(
        ("build", "seed", "factor"),
        [(_SoftmaxEps, 1, 1.2), (_SoftmaxEps, 0, 2.0), (_GeluByDtype, 0, 1.2)],
    )
    def test_a_half_only_backward_beside_it_fails(
        self, build: type[nn.Module], seed: int, factor: float
    ) -> None:
        report = _check(build, torch.bfloat16, seed, factor, wide=False)
        assert report.status == "failed", str(report)
        assert report.failed_parameters == ["l1.weight", "l1.bias"]

    def test_a_forward_float_other_than_the_models_is_counted(self) -> None:
        x = torch.tensor([0.75], dtype=torch.float64)
        model = [Op("aten::mul", (None,), (2.0,)), Op("aten::mul", (None,), (5.0,), True)]
        replay = Replay(model)
        with InDtype(torch.bfloat16, replay):
            x * 3.0
        assert replay.differ == 1
        same, taken, backward = Replay(model), Replay(model, floats=True), Replay(model[1:])
        with InDtype(torch.bfloat16, same):
            x * 2.0
        with InDtype(torch.bfloat16, taken):
            x * 3.0
        with InDtype(torch.bfloat16, backward):
            x * 3.0
        assert same.differ == taken.differ == 0
        assert backward.differ == 0 and backward.missed == 1  # no forward record to match


class TestSmallHalfOnlyBackwards:
    """attack30 G8 half: an MLP whose backward is off only in the half dtype by about
    one round-off passed under ``HALF_REPRODUCED`` = 2 though the reference is the
    model's gradient bit for bit: bfloat16 x1.01 4/4, float16 rounded to bfloat16
    1/4 (seed 3). Now within ``HALF_EXACT``, else inconclusive (or failed)."""

    @pytest.mark.parametrize(
        ("dtype", "seed", "factor"),
        [(torch.bfloat16, 0, 1.01), (torch.bfloat16, 2, 1.01), (torch.float16, 3, torch.bfloat16)],
    )
    def test_it_is_not_passed(self, dtype: torch.dtype, seed: int, factor: Any) -> None:
        report = _check(_Mlp, dtype, seed, factor)
        assert report.status == "inconclusive", str(report)
        unsure = [n for n, p in report.parameters.items() if p.status == "inconclusive"]
        assert unsure == ["l1.weight", "l1.bias"]
        assert "more than round-off reproduces" in str(report)

    @pytest.mark.parametrize("dtype", HALF)
    def test_the_right_model_passes(self, dtype: torch.dtype) -> None:
        assert _check(_Mlp, dtype, 3, 1.0).status == "passed"


class _Identity(torch.autograd.Function):
    """The identity whose backward is times ``1 + R`` only in ``dtype`` (attack33 H124)."""

    R, dtype = 0.0, torch.float32

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        return x.clone()

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        return g * (1 + _Identity.R) if g.dtype == _Identity.dtype else g


class TestStatedBound:
    """attack33 H124: a backward wrong by ``1 + R`` only in the model's dtype passed
    (bfloat16 R = 1 round-off, float32 R = 8 round-offs) while every parameter stated a
    detection bound of 3.9e-7: the bound now covers what passes as round-off."""

    @pytest.mark.parametrize(("dtype", "r"), [(torch.float32, 1e-6), (torch.bfloat16, 0.0)])
    def test_a_pass_states_a_bound_above_the_error(self, dtype: torch.dtype, r: float) -> None:
        torch.manual_seed(0)
        m = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3)).to(dtype)
        x, y = torch.randn(20, 6).to(dtype), torch.randn(20, 3).to(dtype)
        _Identity.R, _Identity.dtype = r, dtype
        try:
            report = gt.check_module(
                m, lambda mm: ((mm[2](_Identity.apply(mm[1](mm[0](x)))) - y) ** 2).mean()
            )
        finally:
            _Identity.R = 0.0
        assert report.status == "passed", str(report)
        unit = torch.finfo(dtype).eps
        bound = report.parameters["0.weight"].detection_bound
        assert bound >= max(r, 0.5 * unit), str(report)
        assert "the stated detection bound covers it" in str(report)
        if dtype == torch.bfloat16:  # one round-off of the largest entry, not 100
            assert "zero up to bfloat16 round-off" not in str(report)


class TestRecorder:
    def test_it_logs_the_dtypes_after_autocast_and_skips_casts(self) -> None:
        x = torch.randn(3, 4, dtype=torch.float16)
        w = torch.randn(2, 4, dtype=torch.float16)
        with Recorder() as rec, torch.autocast("cpu", dtype=torch.bfloat16):
            torch.nn.functional.linear(x, w).float().sum()
        names = [op.name for op in rec.ops]
        assert "aten::_to_copy" not in names
        mm = next(op for op in rec.ops if op.name in ("aten::mm", "aten::linear", "aten::matmul"))
        assert mm.dtypes == (torch.bfloat16, torch.bfloat16)
        assert rec.ops[-1] == Op("aten::sum", (torch.float32,))

    def test_recorded_is_none_where_the_loss_raises(self) -> None:
        def call(ts: dict[str, torch.Tensor]) -> torch.Tensor:
            raise RuntimeError("user code")

        ts = {"w": torch.ones(2)}
        assert recorded(call, ts, lambda: torch.random.fork_rng()) is None
        assert ts["w"].grad is None and not ts["w"].requires_grad


class TestReplay:
    def test_an_operation_runs_in_the_dtype_the_model_gave_it(self) -> None:
        # the model ran exp in float32 (an upcast), the copy's code runs it on float64
        x = torch.tensor([1 / 3, 2.0], dtype=torch.bfloat16).double()
        with InDtype(torch.bfloat16, Replay([Op("aten::exp", (torch.float32,))])):
            replayed = torch.exp(x)
        with InDtype(torch.bfloat16):
            plain = torch.exp(x)
        want = torch.exp(x.float())
        assert replayed.dtype == plain.dtype == torch.float64
        assert torch.equal(replayed, want.double())
        assert torch.equal(plain, want.bfloat16().double())

    def test_an_unmatched_operation_runs_in_the_model_dtype(self) -> None:
        x = torch.tensor([1 / 3], dtype=torch.float64)
        with InDtype(torch.bfloat16, Replay([Op("aten::log", (torch.float32,))])):
            out = torch.exp(x)
        assert torch.equal(out, torch.exp(x.bfloat16()).double())

    def test_a_cast_keeps_the_value_it_casts(self) -> None:
        x = torch.tensor([1 / 3], dtype=torch.float64)
        with InDtype(torch.bfloat16, Replay([])):
            cast, copied = x.float(), x.clone()
        assert cast.dtype == torch.float64 and torch.equal(cast, x.float().double())
        assert torch.equal(copied, x)


class _Scaled(torch.autograd.Function):
    """The identity whose backward is times ``factor`` (only in half dtypes: ``half``)."""

    factor, half = 1.0, False

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        return x.clone()

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        return g * (_Scaled.factor if not _Scaled.half or g.dtype in HALF else 1.0)


def _softmax_eps(t: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    p = torch.softmax((_Scaled.apply(t) @ w).float(), -1).to(t.dtype)
    return torch.log(p + torch.finfo(t.dtype).eps)


def _norm_eps(t: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    h = _Scaled.apply(t) @ w
    return h / (h.norm(dim=-1, keepdim=True) + torch.finfo(h.dtype).eps)


def _bf16(fn: Any, seed: int, factor: float = 1.0, half: bool = False) -> Any:
    torch.manual_seed(seed)
    t = torch.randn(6, 5).to(torch.bfloat16).requires_grad_()
    w = torch.randn(5, 4).to(torch.bfloat16)
    _Scaled.factor, _Scaled.half = factor, half
    try:
        return gt.check_function(lambda a: fn(a, w), t, modes=("rev",))
    finally:
        _Scaled.factor, _Scaled.half = 1.0, False


class TestConstantsByDtypeInBfloat16:
    """trust35 (attack36 3b residual): a right bfloat16 function whose forward takes a
    constant from the dtype (``finfo(t.dtype).eps``) raised GradcheckError where the float64
    copy's loss differed by more than 8 round-offs ("float64 inputs could not be used ...,
    and bfloat16 cannot be checked in its own dtype"), and passed where it did not: 3 seeds
    XPX (softmax), PXP (norm). The copy is taken where, replayed with the function's dtypes
    and constants, its loss is the user's bit for bit; a difference from it is never failed."""

    @pytest.mark.parametrize(("fn", "seed"), [(_softmax_eps, 0), (_softmax_eps, 2), (_norm_eps, 1)])
    def test_the_right_function_passes(self, fn: Any, seed: int) -> None:
        report = _bf16(fn, seed)
        assert report.status == "passed", str(report)
        assert "computes another loss" in str(report)

    @pytest.mark.parametrize(("fn", "seed"), [(_softmax_eps, 0), (_norm_eps, 1)])
    def test_a_wrong_backward_fails(self, fn: Any, seed: int) -> None:
        assert _bf16(fn, seed, 1.05).status == "failed"

    def test_a_backward_wrong_only_in_bfloat16_is_not_passed(self) -> None:
        report = _bf16(_softmax_eps, 0, 1.05, half=True)
        assert report.status == "inconclusive", str(report)
        assert "more than round-off reproduces" in str(report)
