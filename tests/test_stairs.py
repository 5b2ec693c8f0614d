"""Staircases (``gradcheck._stairs``): a quantiser's right gradient is not failed
(attack27 H48), and wrong claims still fail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gradcheck
from gradcheck import _kinks, _sharp, _stairs
from gradcheck._compare import Comparison
from gradcheck._numerics import SAFETY
from gradcheck._steps import steps

Array = np.ndarray[Any, Any]


def _staircase(seed: int, k: float) -> tuple[Callable[[Array], float], Array, Array]:
    """attack27 H48: ``Σ a·round(x·K)/K + ½Σ sin x`` (the stairs' derivative is 0 between
    them), its point and ``a``."""
    rng = np.random.default_rng(seed)
    x, a = rng.standard_normal(20), rng.standard_normal(20)

    def cost(p: Array) -> float:
        return float(np.sum(a * np.round(p * k) / k) + 0.5 * np.sum(np.sin(p)))

    return cost, x, a


class TestStaircase:
    @pytest.mark.parametrize("seed", range(4))
    def test_the_right_gradient_passes(self, seed: int) -> None:
        # stairs of 1e-5 beside steps of 5e-6 to 2e-5: located "kinks" 1e5 steps off
        # (a jump's offset is ±c/noise) and steps spanning two stairs failed it 4/4
        cost, x, _ = _staircase(seed, 1e5)
        report = gradcheck.check(cost, x, lambda p: 0.5 * np.cos(p), seed=seed)
        assert report.status == "passed", str(report)

    @pytest.mark.parametrize("seed", range(2))
    @pytest.mark.parametrize("claim", ["x1.1", "straight-through", "flip"])
    def test_wrong_claims_fail(self, seed: int, claim: str) -> None:
        cost, x, a = _staircase(seed, 1e5)
        grads = {
            "x1.1": lambda p: 0.55 * np.cos(p),
            "straight-through": lambda p: a + 0.5 * np.cos(p),
            "flip": lambda p: -0.5 * np.cos(p),
        }
        report = gradcheck.check(cost, x, grads[claim], seed=seed)
        assert report.status == "failed", str(report)

    @pytest.mark.parametrize("seed", [1, 2, 3])
    def test_a_rounded_projection_read_as_a_float16_stage_is_not_failed(self, seed: int) -> None:
        # torch.round(x, decimals=3) in check_function: u·round(x, 3), claim 0; the
        # values repeat at float64's probe, float16's steps span ~100 stairs (was failed)
        rng = np.random.default_rng(seed)
        x, u = rng.standard_normal(20), rng.standard_normal(20)
        report = gradcheck.check(lambda p: float(u @ np.round(p, 3)), x, lambda p: 0 * p, seed=seed)
        assert report.status == "inconclusive", str(report)
        assert "a quantiser such as round or floor" in str(report)

    @pytest.mark.parametrize("seed", range(3))
    def test_stairs_narrower_than_float64s_steps_are_not_failed(self, seed: int) -> None:
        # stairs of 1e-7: read as a float32 stage by noise, and float64's steps (5e-6)
        # span 50 of them too; rule 3 measures at h/4096, between them (was failed 3/3)
        cost, x, _ = _staircase(seed, 1e7)
        report = gradcheck.check(cost, x, lambda p: 0.5 * np.cos(p), seed=seed)
        assert report.status == "inconclusive", str(report)
        assert "4096 times smaller than float64's" in str(report)

    @pytest.mark.parametrize("claim", ["x1.1", "flip", "zero"])
    def test_claims_wrong_between_narrow_stairs_fail(self, claim: str) -> None:
        cost, x, _ = _staircase(0, 1e7)
        grads = {
            "x1.1": lambda p: 0.55 * np.cos(p),
            "flip": lambda p: -0.5 * np.cos(p),
            "zero": lambda p: 0 * p,
        }
        report = gradcheck.check(cost, x, grads[claim], seed=0)
        assert report.status == "failed", str(report)

    def test_a_claim_wrong_between_the_stairs_too_fails(self) -> None:
        rng = np.random.default_rng(1)
        x, u = rng.standard_normal(20), rng.standard_normal(20)
        report = gradcheck.check(lambda p: float(u @ np.round(p, 3)), x, lambda p: 0.5 * u, seed=1)
        assert report.status == "failed", str(report)


def _comparison(numeric: list[float], status: list[str], fd_error: float = 1e-8) -> Comparison:
    n = len(numeric)
    return Comparison(
        numeric=np.array(numeric),
        abs_error=np.zeros(n),
        tolerance=np.full(n, 1e-3),
        fd_error=np.full(n, fd_error),
        status=np.array(status, dtype=object),
        reach=np.zeros(n),
        flat=np.zeros(n, dtype=bool),
        scale=1.0,
        step=np.full(n, 1e-3),
    )


def _confirm(first: Comparison, measure: Any) -> tuple[Comparison, int]:
    n = first.status.size
    theta, h, noise = np.full(n, 0.5), np.full(n, 1e-3), np.full(n, 1e-9)
    return _sharp.confirm(first, theta, h, np.float64, noise, measure)


def _float32_stage(seed: int, scale: float) -> tuple[Callable[[Array], float], Array, Array]:
    """attack32 H112: ``S·float32(Σ a·sin(float32(x)))``, a float32 stage scaled in float64,
    its point and ``a``."""
    rng = np.random.default_rng(seed)
    a, x = rng.standard_normal(20), rng.standard_normal(20)

    def cost(p: Array) -> float:
        terms = (a * np.sin(p.astype(np.float32))).astype(np.float32)
        return scale * float(np.sum(terms, dtype=np.float32))

    return cost, x, a


class TestFloat32Stage:
    @pytest.mark.parametrize("seed", range(4))
    @pytest.mark.parametrize("claim", ["x1.1", "sign1"])
    def test_a_stage_scaled_in_float64_is_judged_with_float32s_steps(
        self, seed: int, claim: str
    ) -> None:
        # its values repeat at √u64 as a float16 stage's do, but its noise at
        # HIDDEN_STEP is float32's: float16's steps left these inconclusive (4/4 each)
        cost, x, a = _float32_stage(seed, 0.1)
        right = 0.1 * a * np.cos(x)
        claimed = 1.1 * right if claim == "x1.1" else right * np.where(np.arange(20) == 7, -1, 1)
        report = gradcheck.check(cost, x, claimed, mode="full")
        assert report.status == "failed", str(report)
        assert "as noisy as float32 round-off" in str(report)

    @pytest.mark.parametrize("seed", range(4))
    def test_its_right_gradient_passes(self, seed: int) -> None:
        cost, x, a = _float32_stage(seed, 0.1)
        report = gradcheck.check(cost, x, 0.1 * a * np.cos(x), mode="full")
        assert report.status == "passed", str(report)


class TestConfirm:
    def test_an_estimate_within_both_allowances_confirms(self) -> None:
        allowed = 2 * (1e-3 + SAFETY * 1e-8)
        first = _comparison([1.0], ["wrong"])
        steps: list[float] = []

        def measure(k: Array, h: Array) -> Comparison:
            steps.append(float(h[0]))
            return _comparison([1.0 + allowed], ["wrong"])

        out, n = _confirm(first, measure)
        assert n == 0 and out is first and steps == [pytest.approx(1e-3 / _sharp.FINER)]

    def test_an_estimate_further_off_is_uncertain_unless_two_smaller_steps_agree(self) -> None:
        first = _comparison([1.0, 1.0], ["wrong", "wrong"])
        answers = iter([[0.5, 0.5], [0.5, 0.7], [0.9], [1.1], [1.3]])

        def measure(k: Array, h: Array) -> Comparison:
            return _comparison(next(answers), ["ok"] * k.size)

        out, n = _confirm(first, measure)
        assert n == 2 and out.status.tolist() == ["ok", "uncertain"]
        assert first.status.tolist() == ["wrong", "wrong"]  # not changed in place

    def test_truncation_at_the_smaller_step_contradicts(self) -> None:
        first = _comparison([1.0], ["wrong"])

        def measure(k: Array, h: Array) -> Comparison:
            # agrees, within a spread that is truncation; no smaller step judges it
            return _comparison([1.0], ["uncertain"], fd_error=1.0)

        out, n = _confirm(first, measure)
        assert n == 1 and out.status.tolist() == ["uncertain"]

    def test_only_the_first_few_are_checked_where_none_is_contradicted(self) -> None:
        first = _comparison([1.0] * 20, ["wrong"] * 20)
        sizes: list[int] = []

        def measure(k: Array, h: Array) -> Comparison:
            sizes.append(k.size)
            return _comparison([1.0] * k.size, ["wrong"] * k.size)

        _, n = _confirm(first, measure)
        assert n == 0 and sizes == [_sharp.CONFIRM]

    def test_every_one_is_checked_where_one_is_contradicted(self) -> None:
        first = _comparison([1.0] * 20, ["wrong"] * 20)
        sizes: list[int] = []

        def measure(k: Array, h: Array) -> Comparison:
            sizes.append(k.size)
            out = _comparison([1.0] * k.size, ["wrong"] * k.size)
            out.numeric[0] = 5.0
            return out

        _, n = _confirm(first, measure)
        assert sizes[0] == _sharp.CONFIRM and 20 - _sharp.CONFIRM in sizes and n == 2

    def test_no_known_step_kinks_and_ok_entries_are_not_checked(self) -> None:
        first = _comparison([1.0] * 3, ["wrong", "wrong", "ok"])
        first.step[0] = np.nan
        first.kink[1] = 0.0

        def measure(k: Array, h: Array) -> Comparison:
            raise AssertionError("nothing to check")

        assert _confirm(first, measure) == (first, 0)


class TestBetweenStairs:
    def test_entries_not_wrong_in_float64_are_uncertain_where_one_agrees(self) -> None:
        comp = _comparison([1.0] * 3, ["wrong", "ok", "wrong"])
        seen: list[list[int]] = []

        def check(i: int, idx: Array) -> Comparison:
            seen.append(idx.tolist())
            return _comparison([0.0, 0.0], ["ok", "uncertain"])

        records = [("x", np.zeros(7), comp, np.array([4, 5, 6]))]
        out, notes = _stairs.between_stairs(records, np.float16, check)
        assert seen == [[4, 6]] and out[0][2].status.tolist() == ["uncertain", "ok", "uncertain"]
        assert len(notes) == 1 and notes[0].startswith("x: 2 entries are wrong at float16's")
        assert comp.status.tolist() == ["wrong", "ok", "wrong"]

    def test_an_exact_zero_agrees(self) -> None:
        comp = _comparison([1.0], ["wrong"])
        fine = _comparison([0.0], ["uncertain"])  # 0 against differences of exactly 0
        records = [("x", np.zeros(1), comp, np.array([0]))]
        out, _ = _stairs.between_stairs(records, np.float16, lambda i, idx: fine)
        assert out[0][2].status.tolist() == ["uncertain"]

    @pytest.mark.parametrize(
        "fine", [["ok", "wrong"], ["uncertain", "uncertain"]], ids=["one-wrong", "none-agrees"]
    )
    def test_the_parameter_keeps_its_verdicts(self, fine: list[str]) -> None:
        comp = _comparison([1.0, 1.0], ["wrong", "wrong"])
        found = _comparison([0.5, 0.5], fine)
        found.abs_error[:] = 0.5
        records = [("x", np.zeros(2), comp, np.array([0, 1]))]
        out, notes = _stairs.between_stairs(records, np.float32, lambda i, idx: found)
        assert out[0][2] is comp and notes == ()

    def test_more_than_the_first_few_are_compared_where_the_evidence_holds(self) -> None:
        n = _sharp.CONFIRM + 3
        comp = _comparison([1.0] * n, ["wrong"] * n)
        sizes: list[int] = []

        def check(i: int, idx: Array) -> Comparison:
            sizes.append(idx.size)
            return _comparison([0.0] * idx.size, ["ok"] * idx.size)

        records = [("x", np.zeros(n), comp, np.arange(n))]
        out, _ = _stairs.between_stairs(records, np.float16, check)
        assert sizes == [_sharp.CONFIRM, 3] and set(out[0][2].status) == {"uncertain"}


class TestJumpOffsets:
    def test_a_jump_within_half_the_step_is_located_within_it(self) -> None:
        # a value jump c at d ∈ (0, h/2): T = −c and s₄ − s₁ ≈ 0, so T / (s₄ − s₁) was
        # ±c/noise, 1e5 steps off, and rule 3 stepped across thousands of stairs
        h, c = np.array([1e-5]), 1e-5
        jp, jp2, jm, jm2 = np.array([c]), np.array([c]), np.array([0.0]), np.array([0.0])
        site = _kinks.locate(
            jp + 1e-17,
            jm,
            jp2,
            jm2,
            j0=0.0,
            h=h,
            sigma=1e-16,
            tol=np.array([1e-9]),
            analytic=np.array([0.0]),
        )
        assert site.kink.tolist() == [True] and abs(site.offset[0]) == h[0] / 2


class TestBelowStairs:
    """Rule 3: wrong entries still wrong at float64's steps, measured between the stairs."""

    @staticmethod
    def _run(answers: list[list[tuple[float, str]]], seen: list[Array] | None = None) -> Any:
        comp = _comparison([1.0, 1.0], ["wrong", "wrong"])
        wrong_there = _comparison([1.0, 1.0], ["wrong", "wrong"])
        replies = iter(answers)

        def between(i: int, idx: Array, h: Array, floor: float) -> Comparison:
            if seen is not None:
                seen.append(h)
            pairs = next(replies)
            return _comparison([v for v, _ in pairs], [st for _, st in pairs])

        records = [("x", np.full(2, 0.5), comp, np.array([0, 1]))]
        out, notes = _stairs.between_stairs(
            records, np.float32, lambda i, idx: wrong_there, "central", between
        )
        return comp, out[0][2], notes

    def test_entries_that_agree_at_two_steps_between_them_are_uncertain(self) -> None:
        seen: list[Array] = []
        comp, out, notes = self._run([[(0.5, "ok"), (0.5, "uncertain")], [(0.5, "ok")]], seen)
        assert out.status.tolist() == ["uncertain", "uncertain"]
        assert len(notes) == 1 and "4096 times smaller than float64's" in notes[0]
        h = steps(np.full(2, 0.5), "central", None, np.float64)
        assert seen[0] == pytest.approx(h / 4096) and seen[1] == pytest.approx(h[:1] / 32768)
        assert comp.status.tolist() == ["wrong", "wrong"]

    @pytest.mark.parametrize(
        "answers",
        [
            [[(0.5, "ok"), (0.9, "wrong")]],
            [[(0.0, "ok"), (0.0, "ok")]],
            [[(0.5, "ok"), (0.5, "ok")], [(0.9, "ok"), (0.5, "wrong")]],
            [[(0.5, "uncertain"), (0.5, "uncertain")]],
        ],
        ids=["one-wrong", "flat-values", "wrong-at-the-second", "none-agrees"],
    )
    def test_the_parameter_keeps_its_verdicts(self, answers: Any) -> None:
        comp, out, notes = self._run(answers)
        assert out is comp and notes == ()


class TestBelowStairsReadWhole:
    """``_below_stairs`` on 12 wrong entries at 1: the first's step h/4096 is below θ's
    spacing (not measured), the next 7 of the first CONFIRM are measured at 2⁻²² and
    2⁻²⁵ (the 8th at 2⁻⁵², one spacing, has no step 8 times smaller), the 3 after them
    once, at 2⁻²², where the evidence holds; the last, like the first, is not measured."""

    FIRST_H = np.array([1e-20] + [2.0**-10] * 6 + [2.0**-40] + [2.0**-10] * 3 + [1e-20])

    def _below(self, replies: list[list[tuple[float, str]]]) -> tuple[Array, list[Any]]:
        calls: list[tuple[int, list[int], list[float], float]] = []
        answers = iter(replies)

        def between(i: int, idx: Array, h: Array, floor: float) -> Comparison:
            calls.append((i, idx.tolist(), h.tolist(), floor))
            pairs = next(answers)
            return _comparison([v for v, _ in pairs], [st for _, st in pairs])

        ids = np.arange(100, 112)
        fine = _stairs._below_stairs(3, ids, np.ones(12), self.FIRST_H, 2.5, between)
        return fine, calls

    def test_steps_floor_and_what_each_entry_gets(self) -> None:
        ok = [(0.5, "ok")]
        fine, calls = self._below(
            [ok * 7, ok * 6, [(0.5, "wrong"), (0.5, "ok"), (0.5, "uncertain")]]
        )
        assert fine.dtype == np.bool_
        assert fine.tolist() == [False] + [True] * 7 + [False, True, True, False]
        assert calls == [
            (3, list(range(101, 108)), [2.0**-22] * 6 + [2.0**-52], 2.5),
            (3, list(range(101, 107)), [2.0**-25] * 6, 2.5),
            (3, [108, 109, 110], [2.0**-22] * 3, 2.5),
        ]

    @pytest.mark.parametrize(
        "second",
        [
            [(0.5, "uncertain")] * 6,  # none agrees with the first step's ok
            [(0.0, "ok")] * 6,  # agrees, but with differences of exactly 0
            [(0.5, "wrong")] + [(0.5, "ok")] * 5,  # one wrong at the second step
        ],
        ids=["none-agrees", "zero", "one-wrong"],
    )
    def test_no_evidence_at_the_second_step(self, second: list[tuple[float, str]]) -> None:
        first = [(1e-4 if v == 0.0 else 0.5, "ok") for v, _ in second] + [(0.5, "ok")]
        fine, calls = self._below([first, second])
        assert fine.tolist() == [False] * 12 and len(calls) == 2


class TestBetweenStairsReadWhole:
    def test_the_note_and_a_parameter_without_wrong_entries(self) -> None:
        # exactly CONFIRM wrong entries, checked once; a claim ok in float64 with a
        # nonzero mismatch agrees; the parameter before them, all ok, is kept as it is
        kept = _comparison([1.0] * 3, ["ok"] * 3)
        comp = _comparison([1.0] * _sharp.CONFIRM, ["wrong"] * _sharp.CONFIRM)
        calls: list[tuple[int, list[int]]] = []

        def check(i: int, idx: Array) -> Comparison:
            calls.append((i, idx.tolist()))
            found = _comparison([0.75] * idx.size, ["ok"] * idx.size)
            found.abs_error[:] = 0.25
            return found

        records = [
            ("a", np.zeros(3), kept, np.arange(3)),
            ("x", np.zeros(8), comp, np.arange(8)),
        ]
        out, notes = _stairs.between_stairs(records, np.float16, check)
        assert out[0][2] is kept and len(out) == 2
        assert out[1][2].status.tolist() == ["uncertain"] * 8
        assert calls == [(1, list(range(8)))]
        assert notes == (
            "x: 8 entries are wrong at float16's steps, which span the cost's stairs (its "
            "values repeat or jump at float64's: a quantiser such as round or floor, or a "
            "float16 stage), but not at float64's steps between them: there the claim "
            "matches the cost's slope, a quantiser's derivative but not a low-precision "
            "stage's gradient (the slope across the stairs), which differences cannot tell "
            "apart, so they are left unresolved",
        )

    def test_float64_steps_of_a_float32_matrix(self) -> None:
        # rule 3's first steps are float64's for the flattened parameter, whatever its
        # dtype and shape
        leaf = np.array([[0.5, 3.0], [0.25, 8.0]], dtype=np.float32)
        comp = _comparison([1.0, 1.0], ["wrong", "wrong"])
        seen: list[list[float]] = []
        replies = iter([["ok", "ok"], ["ok", "ok"]])

        def between(i: int, idx: Array, h: Array, floor: float) -> Comparison:
            seen.append(h.tolist())
            status = next(replies)
            return _comparison([0.5] * len(status), status)

        records = [("w", leaf, comp, np.array([1, 3]))]
        wrong = _comparison([1.0, 1.0], ["wrong", "wrong"])
        out, notes = _stairs.between_stairs(
            records, np.float32, lambda i, idx: wrong, "central", between
        )
        assert out[0][2].status.tolist() == ["uncertain", "uncertain"]
        assert notes == (
            "w: 2 entries are wrong at float32's steps, which span the cost's stairs (its "
            "values repeat or jump at float64's: a quantiser such as round or floor, or a "
            "float32 stage), but not at steps 4096 times smaller than float64's, which the "
            "stairs are wider than: there the claim matches the cost's slope, a quantiser's "
            "derivative but not a low-precision stage's gradient (the slope across the "
            "stairs), which differences cannot tell apart, so they are left unresolved",
        )
        flat = np.array([0.5, 3.0, 0.25, 8.0])
        h = steps(flat, "central", None, np.float64)[[1, 3]]
        t1 = _kinks.exact_steps(flat[[1, 3]], h / 4096, np.float64)
        assert seen[0] == t1.tolist()

    def test_the_rest_keeps_its_wrong_entries(self) -> None:
        n = _sharp.CONFIRM + 3
        comp = _comparison([1.0] * n, ["wrong"] * n)
        replies = iter([["ok"] * _sharp.CONFIRM, ["ok", "wrong", "uncertain"]])

        def check(i: int, idx: Array) -> Comparison:
            status = next(replies)
            return _comparison([0.5] * len(status), status)

        records = [("x", np.zeros(n), comp, np.arange(n))]
        out, notes = _stairs.between_stairs(records, np.float16, check)
        assert out[0][2].status.tolist() == ["uncertain"] * (n - 2) + ["wrong", "uncertain"]
        assert notes[0].startswith(f"x: {n - 1} entries are wrong at float16's steps")


class TestConfirmedReadWhole:
    """Rule 1's wrapper, ``confirmed``: what it gives ``sharp.confirm`` (the entries'
    values and steps, the dtype that sets their steps, the round-off floored at that
    dtype's ``u·|J0|``) and the note it adds for the entries contradicted."""

    NOTE = (
        "x: 6 entries' slope at a step 8 times smaller contradicts the one at their step (a "
        "staircase, or a feature narrower than the step): they are judged where two "
        "smaller steps agree, else left unresolved"
    )

    @staticmethod
    def _spied(
        monkeypatch: pytest.MonkeyPatch,
        contradicted: int,
        *,
        dtype: Any = np.float64,
        work: Any = None,
        sigma: float = 1e-30,
        method: Any = "central",
        name: str = "x",
    ) -> tuple[Comparison, Comparison, list[tuple[Any, ...]]]:
        from gradcheck._entries import Entries, Setting
        from gradcheck._quotients import roundoff

        calls: list[tuple[Any, ...]] = []
        first = _comparison([1.0, 2.0], ["wrong", "wrong"])
        changed = _comparison([1.0, 2.0], ["ok", "uncertain"])

        def confirm(comp: Any, theta: Any, h: Any, dt: Any, noise: Any, measure: Any) -> Any:
            calls.append((comp, theta, h, dt, noise, roundoff))
            return _sharp.Rejudged(changed, contradicted)

        monkeypatch.setattr(_sharp, "confirm", confirm)
        leaf = np.array([0.5, -4.0, 3.0], dtype=dtype)
        work = None if work is None else np.dtype(work)
        s = Setting(method, -8.0, sigma, None, None, False, False, work)
        e = Entries(0, leaf, np.array([2, 1]), np.array([2.0**-10, 2.0**-12]), np.ones(2), 1e-6)
        out = _stairs.confirmed(lambda points: np.zeros(len(points)), s, e, first, name)
        return first, out, calls

    def test_the_note_names_the_parameter_and_the_count(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        first, out, calls = self._spied(monkeypatch, 6)
        assert out.notes == (*first.notes, self.NOTE)
        assert out.status.tolist() == ["ok", "uncertain"]
        ((comp, theta, h, dt, noise, roundoff),) = calls
        assert comp is first and theta.tolist() == [3.0, -4.0]
        assert h.tolist() == [2.0**-10, 2.0**-12] and dt == np.float64
        # σ = 1e-30 is below float64's round-off of J0 = −8: the floor u·|J0| holds
        u = float(np.finfo(np.float64).eps)  # unit_roundoff(float64)
        assert noise.tolist() == roundoff("central", u * 8.0, h).tolist()

    def test_no_note_without_a_contradiction_or_a_name(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        first, out, _ = self._spied(monkeypatch, 0)
        assert out.notes == first.notes and out.status.tolist() == ["ok", "uncertain"]
        first, out, _ = self._spied(monkeypatch, 3, name="")
        assert out.notes == first.notes and out.status.tolist() == ["ok", "uncertain"]

    def test_a_float32_parameter_or_stage_sets_the_dtype_and_the_floor(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        u32 = float(np.finfo(np.float32).eps)
        for given in ({"dtype": np.float32}, {"work": np.float32}):
            _, out, calls = self._spied(monkeypatch, 1, **given)
            ((_, _, h, dt, noise, roundoff),) = calls
            assert dt == np.float32, given
            assert noise.tolist() == roundoff("central", u32 * 8.0, h).tolist(), given
            assert out.notes[-1].startswith("x: 1 entries' slope at a step 8 times smaller")

    def test_a_larger_sigma_is_kept(self, monkeypatch: pytest.MonkeyPatch) -> None:
        _, _, calls = self._spied(monkeypatch, 1, sigma=1e-3)
        ((_, _, h, _, noise, roundoff),) = calls
        assert noise.tolist() == roundoff("central", 1e-3, h).tolist()

    @pytest.mark.parametrize("method", ["forward", "richardson", "complex"])
    def test_other_methods_are_not_confirmed(
        self, monkeypatch: pytest.MonkeyPatch, method: str
    ) -> None:
        first, out, calls = self._spied(monkeypatch, 6, method=method)
        assert out is first and calls == []

    def test_a_staircase_s_right_gradient_passes_with_the_note(self) -> None:
        # stairs of 3.3e-6 (K = 3e5) beside float64's steps of ~5e-6: 6 entries' slope
        # at h/8 contradicts the one at h
        cost, x, _ = _staircase(0, 3e5)
        report = gradcheck.check(cost, x, lambda p: 0.5 * np.cos(p), seed=0)
        assert report.status == "passed", str(report)
        assert report.messages[-1] == self.NOTE, report.messages
