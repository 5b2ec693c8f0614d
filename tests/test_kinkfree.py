"""``gradcheck._kinkfree``: a directional verdict past entries exactly at a kink."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradcheck
from gradcheck import _kinkfree

Array = np.ndarray[Any, Any]


def _problem(n: int, zeros: int, seed: int, dtype: Any = np.float64) -> tuple[Any, Any, Array]:
    """attack24 g05/f15: ``Σ relu(x)·c + 5e-4·Σx²`` with ``zeros`` entries exactly at 0."""
    rng = np.random.default_rng(seed)
    c = rng.standard_normal(n)
    x = rng.standard_normal(n).astype(dtype)
    x[rng.choice(n, zeros, replace=False)] = 0.0

    def cost(p: Array) -> Any:
        return (np.maximum(p, 0) * c).sum() + 5e-4 * (p * p).sum()

    def right(p: Array) -> Array:
        return np.asarray((p > 0) * c + 1e-3 * p)

    return cost, right, x


def _claims(right: Any, x: Array, seed: int) -> dict[str, Any]:
    c = np.random.default_rng(seed).standard_normal(x.size)  # _problem's c
    off = int(np.flatnonzero(x > 0)[0])  # an entry away from every kink
    return {
        "x1.1": lambda p: 1.1 * right(p),
        "leaky 0.01": lambda p: np.where(p > 0, 1.0, 0.01) * c + 1e-3 * p,
        "one entry x2": lambda p: right(p) * np.where(np.arange(p.size) == off, 2.0, 1.0),
        "one-sided": lambda p: (p >= 0) * c + 1e-3 * p,  # right: a one-sided slope at 0
    }


class TestExactZerosUnderKinks:
    """attack24 F7: entries exactly at a kink made every probe straddle it, and the
    directional verdict inconclusive for right and wrong gradients alike."""

    @pytest.mark.parametrize("zeros", [1, 5, 100])
    @pytest.mark.parametrize("seed", range(3))
    def test_right_gradients_pass_and_name_the_kinks(self, zeros: int, seed: int) -> None:
        cost, right, x = _problem(6000, zeros, seed)
        report = gradcheck.check(cost, x, right, mode="directional", seed=seed)
        assert report.status == "passed", report
        assert report.parameters["x"].nonsmooth == zeros
        assert any(f"{zeros} entr" in m and "at a kink" in m for m in report.messages)
        assert report.guarantee["relative_error"] < 1e-6  # at full strength, not 0.36 (f15)

    @pytest.mark.parametrize("zeros", [1, 5, 100])
    @pytest.mark.parametrize("seed", range(3))
    @pytest.mark.parametrize("claim", ["x1.1", "leaky 0.01", "one entry x2"])
    def test_gradients_wrong_off_the_kinks_fail(self, zeros: int, seed: int, claim: str) -> None:
        cost, right, x = _problem(6000, zeros, seed)
        wrong = _claims(right, x, seed)[claim]
        report = gradcheck.check(cost, x, wrong, mode="directional", seed=seed)
        assert report.status == "failed", report

    @pytest.mark.parametrize("seed", range(3))
    def test_a_one_sided_derivative_at_the_kinks_passes(self, seed: int) -> None:
        cost, right, x = _problem(6000, 5, seed)
        one_sided = _claims(right, x, seed)["one-sided"]
        report = gradcheck.check(cost, x, one_sided, mode="directional", seed=seed)
        assert report.status == "passed", report

    def test_a_claim_outside_the_one_sided_slopes_is_inconclusive_and_named(self) -> None:
        cost, right, x = _problem(6000, 5, 0)
        at = int(np.flatnonzero(x == 0)[0])
        claim = lambda p: right(p) + np.where(np.arange(p.size) == at, 50.0, 0.0)  # noqa: E731
        report = gradcheck.check(cost, x, claim, mode="directional")
        assert report.status == "inconclusive", report
        assert report.parameters["x"].uncertain == 1
        assert any(f"x[{at}]" in m for m in report.messages), report.messages

    def test_a_wrong_smooth_zero_entry_fails_and_is_named(self) -> None:
        # b is zero-initialised and smooth: left out with the kinks, checked on its own
        cost0, right0, x = _problem(6000, 5, 1)
        d = np.linspace(1.0, 2.0, 8)

        def cost(p: dict[str, Array]) -> Any:
            return cost0(p["x"]) + (np.sin(p["b"]) * d).sum()

        def grad(p: dict[str, Array], wrong: bool) -> dict[str, Array]:
            gb = np.cos(p["b"]) * d
            return {
                "x": right0(p["x"]),
                "b": gb * np.where(np.arange(8) == 3, 1.5 if wrong else 1.0, 1.0),
            }

        params = {"x": x, "b": np.zeros(8)}
        ok = gradcheck.check(cost, params, lambda p: grad(p, False), mode="directional")
        assert ok.status == "passed", ok
        bad = gradcheck.check(cost, params, lambda p: grad(p, True), mode="directional")
        assert bad.status == "failed", bad
        assert bad.parameters["b"].status == "failed" and bad.parameters["x"].status == "passed"
        assert [e.label() for e in bad.worst if e.status == "wrong"] == ["b[3]"]

    def test_float32(self) -> None:
        cost, right, x = _problem(6000, 5, 2, np.float32)
        report = gradcheck.check(cost, x, right, mode="directional")
        assert report.status == "passed", report
        wrong = gradcheck.check(cost, x, lambda p: 1.1 * right(p), mode="directional")
        assert wrong.status == "failed", wrong

    @pytest.mark.parametrize("seed", range(2))
    def test_kinks_not_at_zero_are_found_by_splitting(self, seed: int) -> None:
        # attack25 G5, attack26 G5: clip at +1 with entries exactly at 1. Their kinks
        # are not at 0: before, they stayed in the directions and the verdict was
        # inconclusive for the right gradient and for one 10% off alike
        rng = np.random.default_rng(seed)
        c, x = rng.standard_normal(6000), rng.standard_normal(6000)
        at = np.sort(rng.choice(6000, 5, replace=False))
        x[at] = 1.0

        def cost(p: Array) -> Any:
            return (np.clip(p, -1, 1) * c).sum() + 5e-4 * (p * p).sum()

        def right(p: Array) -> Array:
            return np.asarray(((p > -1) & (p < 1)) * c + 1e-3 * p)

        report = gradcheck.check(cost, x, right, mode="directional", seed=seed)
        assert report.status == "passed", report
        assert report.parameters["x"].nonsmooth == 5
        assert any("5 found at a kink by splitting" in m for m in report.messages)
        wrong = gradcheck.check(cost, x, lambda p: 1.1 * right(p), mode="directional", seed=seed)
        assert wrong.status == "failed", wrong

    def test_more_zeros_than_it_checks_stay_inconclusive(self, monkeypatch: Any) -> None:
        monkeypatch.setattr(_kinkfree, "KINK_ENTRIES", 4)
        cost, right, x = _problem(6000, 5, 0)
        report = gradcheck.check(cost, x, right, mode="directional")
        assert report.status == "inconclusive", report
        assert report.evaluations < 6 * 4 + 40  # no entry was checked one by one

    def test_the_evaluations_are_counted(self) -> None:
        cost, right, x = _problem(6000, 5, 0)
        calls = []

        def counted(p: Array) -> Any:
            calls.append(1)
            return cost(p)

        report = gradcheck.check(counted, x, right, mode="directional")
        assert report.status == "passed" and report.evaluations == len(calls)


class TestTorch:
    """The same through ``gradcheck.torch`` (autograd's relu'(0) = 0)."""

    @pytest.mark.parametrize("seed", range(2))
    def test_right_passes_and_a_scaled_backward_fails(self, seed: int) -> None:
        torch = pytest.importorskip("torch")
        import gradcheck.torch as gt

        class Scaled(torch.autograd.Function):  # identity whose backward is k times off
            k = 1.0

            @staticmethod
            def forward(ctx: Any, x: Any) -> Any:
                return x.clone()

            @staticmethod
            def backward(ctx: Any, g: Any) -> Any:
                return g * Scaled.k

        gen = torch.Generator().manual_seed(seed)
        x = torch.randn(6000, dtype=torch.float64, generator=gen)
        c = torch.randn(6000, dtype=torch.float64, generator=gen)
        x[torch.randperm(6000, generator=gen)[:5]] = 0.0

        def fn(t: Any) -> Any:
            return (torch.relu(Scaled.apply(t)) * c).sum()

        statuses = []
        for k in (1.0, 1.1):
            Scaled.k = k
            report = gt.check_function(fn, x.clone().requires_grad_(), mode="directional")
            statuses.append(report.status)
        assert statuses == ["passed", "failed"]


class TestOneEntryStandard:
    """An entry judged on its own meets the directional standard (accuracy 'near kinks'
    forced into mode='directional', seeds 11 and 19)."""

    @staticmethod
    def _outcomes(monkeypatch: pytest.MonkeyPatch, seed: int) -> dict[str, str]:
        monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent / "benchmarks"))
        import _accuracy_problems as prob
        import _accuracy_run as run

        family = run.Family(
            "near kinks", lambda s: run._np(s, prob.near_kinks, mode="directional"), 1, 1
        )
        return {o.kind: o.status for o in run.run_case(family, seed)}

    def test_an_allowance_past_a_tenth_of_the_scale_is_uncertain(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # x[1]'s steps still crossed a kink 1e-9 off θ: "ok" with the claim 30% off
        assert self._outcomes(monkeypatch, 11)["correct"] == "inconclusive"

    def test_an_entry_the_disagreement_search_finds_is_judged_as_strictly(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # an error of 1.1x the stated bound, planted in x[0], made the search find it,
        # and the central-difference rtol (1e-7, 100x the Richardson one) passed it
        assert self._outcomes(monkeypatch, 19)["random"] == "failed"
