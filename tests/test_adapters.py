"""gradcheck._adapters: the modes option, run names, one report (the JVP–VJP consistency
itself: test_adapter_consistency.py)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import gradcheck
from gradcheck import GradcheckError
from gradcheck._adapters import (
    Chosen,
    NoForward,
    Run,
    check_modes,
    choose_modes,
    combine,
    consistency,
    fair_share,
    run_name,
)
from gradcheck._consistency import PAIRS
from gradcheck._jacdir import SHARE_RULE
from test_adapter_consistency import linear_rules

RULES: Any = {"rev": "the backward", "fwd": "the jvp"}


class TestModes:
    @pytest.mark.parametrize(
        ("given", "expected"),
        [(None, None), ("fwd", ("fwd",)), (["rev"], ("rev",)), (("fwd", "rev"), ("fwd", "rev"))],
    )
    def test_valid_modes(self, given: Any, expected: Any) -> None:
        assert check_modes(given) == expected

    @pytest.mark.parametrize("bad", ["forward", ("rev", "jvp"), ("rev", "rev"), (), 3, {"rev"}])
    def test_bad_modes_name_the_option(self, bad: Any) -> None:
        with pytest.raises(GradcheckError, match=r"modes=.*'rev'.*'fwd'"):
            check_modes(bad)

    def test_default_is_both_when_forward_runs(self) -> None:
        assert choose_modes(None, None, "remedy", "broken") == (("rev", "fwd"), [])

    def test_default_without_forward_mode_is_reverse_with_a_note(self) -> None:
        modes, notes = choose_modes(
            None, NoForward("NotImplementedError: no jvp.", True), "add a jvp", "broken"
        )
        assert modes == ("rev",)
        assert len(notes) == 1 and "NotImplementedError: no jvp" in notes[0]
        assert "add a jvp" in notes[0] and "('rev',)" in notes[0]

    def test_the_choice_is_a_record_of_modes_and_notes(self) -> None:
        chosen = choose_modes(None, NoForward("TypeError: no jvp", True), "add a jvp", "b")
        assert isinstance(chosen, Chosen) and chosen.modes == ("rev",)
        assert len(chosen.notes) == 1 and "TypeError: no jvp" in chosen.notes[0]

    @pytest.mark.parametrize("wanted", [("fwd",), ("rev", "fwd")])
    def test_asking_for_forward_without_it_is_an_error(self, wanted: Any) -> None:
        with pytest.raises(GradcheckError, match=r"modes=.*add a jvp, or check modes=\('rev',\)"):
            choose_modes(wanted, NoForward("NotImplementedError: no jvp", True), "add a jvp", "")

    def test_reverse_only_needs_no_forward_mode(self) -> None:
        assert choose_modes(("rev",), NoForward("TypeError: x", True), "r", "b") == (("rev",), [])

    @pytest.mark.parametrize("wanted", [None, ("fwd",), ("rev", "fwd"), ("rev",)])
    def test_a_forward_rule_that_raises_is_an_error_never_a_note(self, wanted: Any) -> None:
        # F31: only "no forward mode" downgrades the default; a rule that crashes is a bug.
        probe = NoForward("ValueError: not enough values to unpack.", False)
        with pytest.raises(GradcheckError) as info:
            choose_modes(wanted, probe, "add a jvp", "the jvp raised {error}: look at it")
        text = str(info.value)
        assert "the jvp raised ValueError: not enough values to unpack: look at it" in text
        assert "modes=('rev',)" in text and "add a jvp" not in text

    def test_run_names(self) -> None:
        assert run_name("rev", 0, False, "input0") == "input0"
        assert run_name("rev", 2, True, "input1") == "out[2]/input1"
        assert run_name("fwd", 0, False, "input0") == "fwd/input0"
        assert run_name("fwd", 1, True, "input0") == "fwd/out[1]/input0"


def _report(scale: float, names: tuple[str, ...] = ("input0",)) -> gradcheck.Report:
    x = {n: np.linspace(-1.0, 1.0, 4) for n in names}
    grad = {n: scale * 2 * v for n, v in x.items()}
    return gradcheck.check(lambda p: sum(float(np.sum(v**2)) for v in p.values()), x, grad)


class TestCombine:
    def test_one_run_is_its_report(self) -> None:
        report = _report(1.0)
        one = combine([Run("rev", 0, ("input0",), report)], [], None, RULES, 1.5)
        assert one.parameters == report.parameters and one.status == "passed"
        assert one.seconds == 1.5 and one.options["modes"] == ["rev"]

    def test_a_failing_mode_is_named_with_the_one_that_agrees(self) -> None:
        runs = [
            Run("rev", 0, ("input0",), _report(1.0)),
            Run("fwd", 0, ("input0",), _report(1.5, ("fwd/input0",))),
        ]
        report = combine(runs, ["a note"], None, RULES, 2.0)
        assert report.status == "failed" and report.failed_parameters == ["fwd/input0"]
        assert report.worst[0].parameter == "fwd/input0"
        assert report.evaluations == sum(r.report.evaluations for r in runs)
        assert "a note" in report.messages
        assert (
            "the jvp is wrong: the derivative of out[0] with respect to input0; the backward "
            "agrees with finite differences" in report.messages
        )

    def test_a_wrong_output_is_said_in_one_line(self) -> None:
        names = [("out[0]/input0", "out[0]/input1"), ("out[1]/input0", "out[1]/input1")]
        runs = [
            Run("rev", 0, names[0], _report(1.0, names[0])),
            Run("rev", 1, names[1], _report(-1.0, names[1])),
        ]
        report = combine(runs, [], None, RULES, 1.0)
        assert report.failed_parameters == list(names[1])
        lines = [m for m in report.messages if "is wrong" in m]
        assert lines == [
            "the backward is wrong: the derivative of out[1] with respect to every input"
        ]

    def test_disagreeing_rules_fail_a_passing_report(self) -> None:
        runs = [
            Run("rev", 0, ("input0",), _report(1.0)),
            Run("fwd", 0, ("fwd/input0",), _report(1.0, ("fwd/input0",))),
        ]
        bad = consistency(*linear_rules(np.eye(2), fwd=1.25), [(2,)], [(2,)], 2.0**-52, 0)
        report = combine(runs, [], bad, RULES, 1.0)
        assert report.status == "failed"
        assert report.failed_parameters == ["consistency: jvp vs vjp"]
        assert report.parameters["consistency: jvp vs vjp"].diagnosis.kind == "inconsistent"  # type: ignore[union-attr]
        assert report.options["consistency"] is False
        assert any("the jvp and the backward disagree" in m for m in report.messages)
        good = consistency(*linear_rules(np.eye(2)), [(2,)], [(2,)], 2.0**-52, 0)
        assert combine(runs, [], good, RULES, 1.0).status == "passed"


SCALES = [1e-300, 1e-200, 1e-100, 1.0, 1e100, 1e200, 1e300]


class TestExtremeScales:
    """attack20 A16: the rules' consistency and its line in the report at every float
    scale (its allowance underflowed to 0 at 1e-200: a raw ZeroDivisionError)."""

    @pytest.mark.parametrize("scale", SCALES)
    @pytest.mark.parametrize(("fwd", "rev"), [(1.0, 1.0), (1.5, 1.0), (1.0, -1.0)])
    def test_rules_at_any_scale(self, scale: float, fwd: float, rev: float) -> None:
        j = scale * np.random.default_rng(7).standard_normal((6, 4))
        c = consistency(*linear_rules(j, fwd, rev), [(4,)], [(6,)], 2.0**-52, 0)
        assert c.wrong == (fwd != rev) and min(c.tolerance) > 0
        runs = [Run("rev", 0, ("input0",), _report(1.0))]
        line = next(m for m in combine(runs, [], c, RULES, 1.0).messages if "the jvp and" in m)
        assert ("disagree" in line) == c.wrong, line

    def test_an_exact_zero_jacobian_agrees(self) -> None:
        c = consistency(*linear_rules(np.zeros((3, 2))), [(2,)], [(3,)], 2.0**-52, 0)
        assert not c.wrong and c.tolerance == (0.0,) * PAIRS
        report = combine([Run("rev", 0, ("input0",), _report(1.0))], [], c, RULES, 1.0)
        assert report.status == "passed"

    @pytest.mark.parametrize("scale", SCALES)
    @pytest.mark.parametrize(
        ("bwd", "fwd", "status"), [(1, 1, "passed"), (1.5, 1, "failed"), (1, -1, "failed")]
    )
    def test_torch_rules_at_any_scale(
        self, scale: float, bwd: float, fwd: float, status: str
    ) -> None:
        torch = pytest.importorskip("torch")
        import gradcheck.torch as gt

        class Sin(torch.autograd.Function):  # scale·sin with planted factors
            @staticmethod
            def forward(ctx: Any, t: Any) -> Any:
                ctx.save_for_backward(t)
                ctx.t = t
                return scale * t.sin()

            @staticmethod
            def backward(ctx: Any, g: Any) -> Any:
                (t,) = ctx.saved_tensors
                return bwd * scale * g * t.cos()

            @staticmethod
            def jvp(ctx: Any, v: Any) -> Any:
                return fwd * scale * v * ctx.t.cos()

        x = torch.tensor(np.random.default_rng(0).standard_normal(10), requires_grad=True)
        report = gt.check_function(Sin.apply, x)
        assert report.status == status, str(report)
        if status == "failed":
            assert "consistency: jvp vs vjp" in report.failed_parameters


class TestFairShare:
    """Attack 20 A7: each output entry's weight is set by its own derivative scale."""

    def test_a_huge_entry_gets_a_small_weight(self) -> None:
        z = np.array([1.0, -0.5, 2.0])
        f0 = np.array([0.1, 0.2, 1e9])
        moved = f0 + np.array([1e-3, -2e-3, 1e3])  # the last one moves 1e6 times more
        u = fair_share(z, f0, moved, 2.0**-52)
        assert u is not None and np.max(np.abs(u)) == 1.0
        assert abs(u[2]) < 1e-5 * abs(u[0])
        assert np.allclose(u[:2] * np.array([1e-3, 2e-3]) / z[:2], u[0] * 1e-3 / z[0])

    @pytest.mark.parametrize("eps", [2.0**-52, 2.0**-23])
    def test_a_structurally_zero_entry_takes_no_larger_weight(self, eps: float) -> None:
        # attack24 F1: R[1, 0] of a wide QR (0, and 0 at the step) took the weight 1 and
        # every other entry 1e-12; the backward's round-off there then failed torch's QR
        f0 = np.array([0.0, 1e-3, 2e-3, 1e-20])
        moved = f0 + np.array([0.0, 1e-3, -2e-3, 1e-40])  # entries 0 and 3 do not move
        u = fair_share(np.ones(4), f0, moved, eps)
        assert u is not None and np.max(np.abs(u)) == 1.0
        # at most 1/(SHARE_RULE·√eps) of the weight of the entry that moves most
        for zero in (0, 3):
            assert abs(u[zero]) == pytest.approx(abs(u[2]) / (SHARE_RULE * np.sqrt(eps)))

    def test_a_constant_entry_is_weighted_by_its_round_off(self) -> None:
        z, f0 = np.ones(2), np.array([1.0, 1e10])
        u = fair_share(z, f0, f0 + np.array([1e-3, 0.0]), 2.0**-52)
        assert u is not None and 0 < u[1] < 1e-6 and u[0] == 1.0

    @pytest.mark.parametrize("shape", [(2, 5), (3, 7), (2, 3)])
    @pytest.mark.parametrize("seed", range(3))
    @pytest.mark.parametrize("dtype", ["float64", "float32"])
    def test_torch_qr_of_a_wide_matrix_passes(
        self, shape: tuple[int, int], seed: int, dtype: str
    ) -> None:
        # attack24 F1: FAILED at every seed (peer torch.autograd.gradcheck: True)
        torch = pytest.importorskip("torch")
        import gradcheck.torch as gt

        a = np.random.default_rng(seed).standard_normal(shape)
        x = torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=True)
        report = gt.check_function(torch.linalg.qr, x)
        assert report.status == "passed", report

    @pytest.mark.parametrize("seed", range(3))
    @pytest.mark.parametrize("where", [(0, -1), (1, 1)])
    def test_a_wrong_entry_of_qrs_backward_still_fails(
        self, seed: int, where: tuple[int, int]
    ) -> None:
        torch = pytest.importorskip("torch")
        import gradcheck.torch as gt

        class OffR(torch.autograd.Function):  # R's backward 1% off on one output entry
            @staticmethod
            def forward(ctx: Any, a: Any) -> Any:
                ctx.save_for_backward(a)
                return torch.linalg.qr(a)[1].clone()

            @staticmethod
            def backward(ctx: Any, g: Any) -> Any:
                (a,) = ctx.saved_tensors
                with torch.enable_grad():
                    b = a.detach().requires_grad_()
                    g = g.clone()
                    g[where] = g[where] * 1.01
                    return torch.autograd.grad(torch.linalg.qr(b)[1], b, g)[0]

        x = torch.tensor(np.random.default_rng(seed).standard_normal((2, 5)), requires_grad=True)
        assert gt.check_function(OffR.apply, x).status == "failed"

    @pytest.mark.parametrize("scale", [1e-8, 1e-13, 1e-14, 1e-16])
    @pytest.mark.parametrize("seed", range(6))
    def test_a_wrong_tiny_part_of_one_output_still_fails(self, scale: float, seed: int) -> None:
        # attack25 G6: cat(S·sin x, cos x), the S part's backward x2: passed at S = 1e-14
        # while every output below the structural zeros' floor was weighted at it
        torch = pytest.importorskip("torch")
        import gradcheck.torch as gt

        class Tiny(torch.autograd.Function):
            k = 2.0

            @staticmethod
            def forward(ctx: Any, x: Any) -> Any:
                ctx.save_for_backward(x)
                return torch.cat([scale * torch.sin(x), torch.cos(x)])

            @staticmethod
            def backward(ctx: Any, g: Any) -> Any:
                (x,) = ctx.saved_tensors
                n = x.shape[0]
                return g[:n] * scale * torch.cos(x) * Tiny.k - g[n:] * torch.sin(x)

        x = torch.tensor(np.random.default_rng(seed).standard_normal(6), requires_grad=True)
        statuses = []
        for k in (2.0, 1.0):
            Tiny.k = k
            statuses.append(gt.check_function(Tiny.apply, x, modes=("rev",)).status)
        assert statuses == ["failed", "passed"]

    @pytest.mark.parametrize("moved", [np.array([1.0, np.nan]), np.ones(3)])
    def test_an_unusable_step_gives_no_shares(self, moved: Any) -> None:
        assert fair_share(np.ones(2), np.zeros(2), moved, 2.0**-52) is None
