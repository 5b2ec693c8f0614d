"""gradcheck._torch_batched: the backward under vmap, and with undefined cotangents."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
import torch

import gradcheck.torch as gt
from gradcheck import GradcheckError


def _batched(g: Any) -> bool:
    return bool(torch._C._functorch.is_batchedtensor(g))


class _SinForward(torch.autograd.Function):
    """``sin``'s forward, saving ``x``; each subclass below gives its own backward."""

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return x.sin()


class _Sin(_SinForward):
    """A correct ``sin``."""

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return g * x.cos()


class _VmapWrong(_SinForward):
    """``sin`` whose backward is scaled by ``factor`` only when its cotangent is batched."""

    factor = 2.0

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        scale = _VmapWrong.factor if _batched(g) else 1.0
        return scale * g * x.cos()


class _NumpyBackward(_SinForward):
    """A correct ``sin`` whose backward computes through NumPy (no vmap support)."""

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return torch.from_numpy(g.detach().numpy() * np.cos(x.detach().numpy()))


def _x(seed: int = 0, dtype: torch.dtype = torch.float64, shape: tuple[int, ...] = (4, 3)) -> Any:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g, dtype=torch.float64).to(dtype).requires_grad_()


class TestBatched:
    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    @pytest.mark.parametrize("fn", [_Sin.apply, torch.tanh, lambda x: (x @ x.t()).exp()])
    def test_correct_functions_pass_the_batched_check(self, dtype: torch.dtype, fn: Any) -> None:
        report = gt.check_function(fn, _x(1, dtype))
        assert report.status == "passed", str(report)
        assert not any(n.startswith(("batched", "undefined")) for n in report.parameters)
        assert report.options["batched_grad"] == "passed"
        assert report.options["undefined_grad"] == "passed"
        assert any("agrees with the per-sample backward" in m for m in report.messages)

    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    @pytest.mark.parametrize("factor", [2.0, -1.0, 1.001])
    def test_a_backward_wrong_only_under_vmap_fails(
        self, dtype: torch.dtype, factor: float
    ) -> None:
        _VmapWrong.factor = factor
        try:
            report = gt.check_function(_VmapWrong.apply, _x(2, dtype))
        finally:
            _VmapWrong.factor = 2.0
        assert report.status == "failed"
        # finite differences see nothing wrong: the per-sample backward is right
        assert report.parameters["input0"].status == "passed"
        assert report.failed_parameters == ["batched backward"]
        assert report.parameters["batched backward"].diagnosis is not None
        assert report.options["batched_grad"] == "failed"
        assert any(
            "backward under vmap differs from the per-sample backward" in m for m in report.messages
        )

    def test_outputs_are_named_when_there_are_several(self) -> None:
        def fn(x: Any) -> Any:
            return _Sin.apply(x), _VmapWrong.apply(x)

        report = gt.check_function(fn, _x(4))
        assert report.failed_parameters == ["batched backward of out[1]"]
        assert "batched backward of out[0]" not in report.parameters

    def test_a_backward_without_vmap_support_is_skipped_with_a_note(self) -> None:
        report = gt.check_function(_NumpyBackward.apply, _x(5))
        assert report.status == "passed", str(report)
        assert "batched backward" not in report.parameters
        assert report.options["batched_grad"] == "skipped"
        assert any(m.startswith("batched backward not checked") for m in report.messages)

    def test_batched_grad_true_makes_missing_support_an_error(self) -> None:
        with pytest.raises(GradcheckError, match=r"batched_grad=True asks.*batched_grad=False"):
            gt.check_function(_NumpyBackward.apply, _x(5), batched_grad=True)

    def test_batched_grad_false_skips_it(self) -> None:
        report = gt.check_function(_VmapWrong.apply, _x(6), batched_grad=False)
        assert report.passed and "batched backward" not in report.parameters
        assert "batched_grad" not in report.options

    def test_bad_batched_grad_value(self) -> None:
        with pytest.raises(GradcheckError, match=r"batched_grad='yes'"):
            gt.check_function(torch.sin, _x(6), batched_grad="yes")  # type: ignore[arg-type]


class _Two(torch.autograd.Function):
    """``(sin x, 2x)``; without materialised grads its backward gets ``None`` for an
    output the loss does not use. ``careful`` says whether it handles that."""

    careful = True

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(x)
        return x.sin(), 2 * x

    @staticmethod
    def backward(ctx: Any, g1: Any, g2: Any) -> Any:
        (x,) = ctx.saved_tensors
        if _Two.careful:
            out = torch.zeros_like(x)
            if g1 is not None:
                out = out + g1 * x.cos()
            if g2 is not None:
                out = out + 2 * g2
            return out
        return g1 * x.cos() + g2 * 2


class _NonzeroOnNone(torch.autograd.Function):
    """``sin``, whose backward gives ``cos x`` when its cotangent is undefined."""

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(x)
        return x.sin()

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return x.cos() if g is None else g * x.cos()


class _CrashOnNone(torch.autograd.Function):
    """``sin``, whose backward raises (``None * cos x``) when its cotangent is undefined."""

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(x)
        return x.sin()

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return g * x.cos()


class TestUndefined:
    @pytest.fixture(autouse=True)
    def _restore(self) -> Any:
        yield
        _Two.careful = True

    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    def test_a_backward_that_handles_none_passes(self, dtype: torch.dtype) -> None:
        report = gt.check_function(_Two.apply, _x(7, dtype))
        assert report.status == "passed", str(report)
        assert report.options["undefined_grad"] == "passed"
        assert not any(n.startswith("undefined") for n in report.parameters)

    @pytest.mark.parametrize("seed", [7, 8])
    def test_a_backward_that_crashes_on_none_is_named(self, seed: int) -> None:
        _Two.careful = False
        x = _x(seed)
        report = gt.check_function(_Two.apply, x)
        assert report.status == "failed"
        failed = report.failed_parameters
        assert failed == [
            "undefined cotangent: every output",
            "undefined cotangent: out[0]",
            "undefined cotangent: out[1]",
        ]
        # the finite-difference checks of each output are unaffected
        assert report.parameters["out[0]/input0"].status == "passed"
        crash = [m for m in report.messages if "when the cotangent of out[0] is undefined" in m]
        assert crash and "raised TypeError" in crash[0]
        assert x.grad is None

    def test_a_nonzero_gradient_from_no_cotangent_fails(self) -> None:
        report = gt.check_function(_NonzeroOnNone.apply, _x(9))
        assert report.failed_parameters == ["undefined cotangent: every output"]
        assert any("nonzero gradient" in m for m in report.messages)

    def test_undefined_grad_false_skips_it(self) -> None:
        _Two.careful = False
        report = gt.check_function(_Two.apply, _x(7), undefined_grad=False)
        assert report.passed and not any("undefined" in n for n in report.parameters)
        assert "undefined_grad" not in report.options


class TestUserState:
    def test_state_is_untouched_when_the_backward_raises(self) -> None:
        _Two.careful = False
        try:
            x = _x(10)
            before = x.detach().clone()
            np.random.seed(1)
            random.seed(1)
            states = (torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate())
            gt.check_function(_Two.apply, x)
            assert torch.equal(x.detach(), before) and x.grad is None and x.requires_grad
            assert torch.equal(torch.get_rng_state(), states[0])
            assert np.array_equal(np.random.get_state()[1], states[1])
            assert random.getstate() == states[2]
        finally:
            _Two.careful = True


class TestSideChecksShareOnePass:
    """The batched and undefined checks read one fresh pass of fn, not one each."""

    @pytest.mark.parametrize("outputs", [1, 2])
    @pytest.mark.parametrize("n", [3, 50])
    def test_calls_of_fn(self, outputs: int, n: int) -> None:
        from gradcheck._evaluate import GlobalRng
        from gradcheck._torch_function import Function
        from gradcheck._torch_rng import RNG_SEED, SeededRng
        from gradcheck._torch_side import side_checks

        calls = [0]

        def fn(x: torch.Tensor) -> Any:
            calls[0] += 1
            out = torch.sin(x) * torch.roll(x, 1)
            return (out, torch.tanh(x)) if outputs == 2 else out

        x = torch.linspace(-1, 1, n, dtype=torch.float64, requires_grad=True)
        f = Function(fn, [x], [0], ["input0"], 0)
        calls[0] = 0
        checks = side_checks(f, SeededRng(RNG_SEED), GlobalRng(), None, True)
        assert [c.option for c in checks] == ["batched_grad", "undefined_grad"]
        assert {r.status for c in checks for r in c.results.values()} <= {"passed"}
        assert any("takes undefined (None) cotangents as zero" in m for m in checks[1].messages)
        # one shared pass, which also serves the first undefined case (every output's);
        # then one pass per output's own undefined case
        assert calls[0] == 1 + (0 if outputs == 1 else outputs)

    @pytest.mark.parametrize(
        ("batched", "backward", "calls"),
        [(None, "sin", 1), (False, "sin", 1), (None, "numpy", 2)],
    )
    def test_the_undefined_case_takes_a_fresh_pass_only_after_a_raise(
        self, batched: bool | None, backward: str, calls: int
    ) -> None:
        """The first undefined case runs on the shared pass where no backward of it raised
        (the batched check ran, or was not asked); after a backward that raised under
        vmap (NumPy inside: the batched check is a note) it takes a fresh pass."""
        from gradcheck._evaluate import GlobalRng
        from gradcheck._torch_function import Function
        from gradcheck._torch_rng import RNG_SEED, SeededRng
        from gradcheck._torch_side import side_checks

        op = {"sin": _Sin, "numpy": _NumpyBackward}[backward]
        count = [0]

        def fn(x: torch.Tensor) -> Any:
            count[0] += 1
            return op.apply(x)

        x = torch.linspace(-1, 1, 5, dtype=torch.float64, requires_grad=True)
        f = Function(fn, [x], [0], ["input0"], 0)
        count[0] = 0
        checks = side_checks(f, SeededRng(RNG_SEED), GlobalRng(), batched, True)
        assert count[0] == calls
        undefined = checks[-1]
        assert undefined.option == "undefined_grad"
        assert [r.status for r in undefined.results.values()] == ["passed"]
        assert undefined.messages == ("the backward takes undefined (None) cotangents as zero",)
        if backward == "numpy":
            assert checks[0].results == {}
            assert "batched backward not checked" in checks[0].messages[0]

    @pytest.mark.parametrize("batched", [None, False])
    def test_a_backward_crashing_on_none_is_named_on_the_shared_pass(
        self, batched: bool | None
    ) -> None:
        """The shared pass gives the undefined case the same verdict as a fresh one: a
        backward that raises on a None cotangent is named, a nonzero one fails."""
        from gradcheck._evaluate import GlobalRng
        from gradcheck._torch_function import Function
        from gradcheck._torch_rng import RNG_SEED, SeededRng
        from gradcheck._torch_side import side_checks

        x = torch.linspace(-1, 1, 5, dtype=torch.float64, requires_grad=True)
        for op, words in ((_CrashOnNone, "raised"), (_NonzeroOnNone, "nonzero gradient")):
            f = Function(op.apply, [x], [0], ["input0"], 0)
            checks = side_checks(f, SeededRng(RNG_SEED), GlobalRng(), batched, True)
            undefined = checks[-1]
            assert [r.status for r in undefined.results.values()] == ["failed"]
            assert words in undefined.messages[0]

    @pytest.mark.parametrize(("batched", "undefined"), [(False, True), (None, False)])
    def test_one_check_alone_still_runs(self, batched: bool | None, undefined: bool) -> None:
        from gradcheck._evaluate import GlobalRng
        from gradcheck._torch_function import Function
        from gradcheck._torch_rng import RNG_SEED, SeededRng
        from gradcheck._torch_side import side_checks

        x = torch.linspace(-1, 1, 4, dtype=torch.float64, requires_grad=True)
        f = Function(torch.sin, [x], [0], ["input0"], 0)
        checks = side_checks(f, SeededRng(RNG_SEED), GlobalRng(), batched, undefined)
        assert [c.option for c in checks] == (["undefined_grad"] if undefined else ["batched_grad"])
        assert side_checks(f, SeededRng(RNG_SEED), GlobalRng(), False, False) == []


class TestOneProjectionForEverySample:
    """The batched check projects every sample on one random vector (one draw of the
    inputs' size, not one per sample), and still tells each sample's difference."""

    def test_equal_samples_project_alike(self) -> None:
        from gradcheck._torch_batched import _compare

        a = np.linspace(-1.0, 1.0, 7)
        c = _compare(("x", "y"), [a, a, a], [a, a, a], 2.0**-52, 0, 14)
        assert len(set(c.values)) == 1 and not c.wrong

    def test_a_wrong_sample_fails_alone(self) -> None:
        from gradcheck._torch_batched import _compare

        a = np.linspace(-1.0, 1.0, 7)
        bad = a.copy()
        bad[3] += 1e-3
        c = _compare(("x", "y"), [a, bad, a], [a, a, a], 2.0**-52, 0, 14)
        assert c.wrong
        assert [abs(x - y) > t for (x, y), t in zip(c.values, c.tolerance)] == [False, True, False]


class TestFloat32Draws:
    """The side checks' cotangents and projection are float32 standard normal draws from
    a private torch generator (a third of the batched check's time was NumPy's float64
    draws at 10⁶ inputs), widened: seeded, and no user generator read or moved."""

    def test_cotangents_are_seeded_float32_draws_widened(self) -> None:
        from gradcheck._torch_batched import _cotangents

        out = torch.zeros(5, 4, dtype=torch.float64)
        us = _cotangents(out, 3, 0, 3)
        assert us.shape == (3, 5, 4) and us.dtype == torch.float64
        assert torch.equal(us.to(torch.float32).to(torch.float64), us)  # float32 values
        assert torch.equal(us, _cotangents(out, 3, 0, 3))  # the seed decides them
        assert not torch.equal(us, _cotangents(out, 3, 1, 3))  # one stream per output
        assert 0.5 < float(us.std()) < 1.5

    def test_the_user_generators_do_not_move(self) -> None:
        torch.manual_seed(5)
        np.random.seed(5)
        before = (torch.get_rng_state(), np.random.get_state()[1].copy())
        report = gt.check_function(_Sin.apply, _x(), mode="directional")
        assert report.status == "passed" and report.options["batched_grad"] == "passed"
        assert torch.equal(torch.get_rng_state(), before[0])
        assert np.array_equal(np.random.get_state()[1], before[1])
