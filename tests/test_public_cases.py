"""gradcheck's verdicts on public cases that none of us wrote (issue 11, trust).

The cases, their provenance and their runners are in ``public_cases.py``; every
variant is run once per session (``public_cases.run_all``) and the tests below read the
results. A published right derivative must pass at the default options; a planted bug
(or a published rule that is not the derivative) must fail with the wrong parameters
named; the peers' verdicts are recorded for ``docs/public-cases.md``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

import public_cases
from public_cases import CASES, Outcome

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "tools") not in sys.path:
    sys.path.insert(0, str(ROOT / "tools"))

import make_public_cases_doc  # noqa: E402


def _outcomes() -> dict[tuple[str, str], Outcome]:
    return {(o.case.name, o.variant.name): o for o in public_cases.run_all()}


def _outcome(key: tuple[str, str]) -> Outcome:
    return _outcomes()[key]


def _ids(kind: str) -> list[tuple[str, str]]:
    return [(c.name, v.name) for c in CASES for v in c.variants if v.expect == kind]


def _wrong_entries(o: Outcome) -> set[tuple[str, tuple[int, ...]]]:
    assert o.run.report is not None
    return {(e.parameter, e.index) for e in o.run.report.worst if e.status == "wrong"}


class TestVerdicts:
    @pytest.mark.parametrize("key", _ids("passed"), ids=" / ".join)
    def test_right_derivative_passes(self, key: tuple[str, str]) -> None:
        o = _outcome(key)
        assert o.run.report is not None, o.run.error
        assert o.run.report.status == "passed", str(o.run.report)
        assert o.run.report.failed_parameters == []

    @pytest.mark.parametrize("key", _ids("failed"), ids=" / ".join)
    def test_wrong_derivative_fails_and_is_named(self, key: tuple[str, str]) -> None:
        o = _outcome(key)
        assert o.run.report is not None, o.run.error
        assert o.run.report.status == "failed", str(o.run.report)
        assert sorted(o.run.report.failed_parameters) == sorted(o.variant.wrong)
        assert set(o.variant.entries) <= _wrong_entries(o)
        for name, p in o.run.report.parameters.items():
            assert (p.failed > 0) == (name in o.variant.wrong)

    @pytest.mark.parametrize("key", _ids("error"), ids=" / ".join)
    def test_incomparable_gradient_is_a_clear_error(self, key: tuple[str, str]) -> None:
        o = _outcome(key)
        assert o.run.report is None
        # the published CS231n db keeps an axis: the error names b and both shapes
        assert re.search(r"'b' has shape \(1, 6\).*shape \(6,\)", o.run.error), o.run.error

    def test_pinned_entries_are_the_wrong_ones_only(self) -> None:
        # himmelblau's planted bug touches entry 0 only, rosen's "last term" entry 5 only
        for key, wrong in [
            (("scipy himmelblau", "bug: factor 2 lost in one term"), {("x", (0,))}),
            (("scipy rosen", "bug: last entry's term missing"), {("x", (5,))}),
            (
                ("jax docs clip_gradient", "published where |cos x| > 0.75"),
                {("x", (0,)), ("x", (2,))},
            ),
        ]:
            assert _wrong_entries(_outcome(key)) == wrong, key

    def test_diagnoses_of_classic_mistakes(self) -> None:
        def kind(key: tuple[str, str], param: str) -> str | None:
            report = _outcome(key).run.report
            assert report is not None
            d = report.parameters[param].diagnosis
            return None if d is None else d.kind

        assert (
            kind(("torch docs LinearFunction", "bug: missing transpose in grad_weight"), "input1")
            == "transpose"
        )
        assert kind(("jax docs sin(x)·y custom_jvp", "bug: wrong sign"), "input0") == "sign"
        assert kind(("torch tutorial LegendrePolynomial3", "bug: factor 2"), "input0") == "factor"
        assert (
            kind(("jax docs newton_sqrt", "bug: x_star_bar dropped in rev_iter"), "input0")
            == "zero"
        )
        scale = _outcome(("torch db ScaleGradGenVmap", "published")).run.report
        assert scale is not None
        diagnosis = scale.parameters["input0"].diagnosis
        assert diagnosis is not None and diagnosis.factor == pytest.approx(3.14, rel=1e-6)

    def test_tied_maxima_are_kinks_not_errors(self) -> None:
        # every tied maximum gets dout (CS231n's convention): between the one-sided
        # slopes, so not wrong; both peers call it a mismatch
        o = _outcome(("cs231n max-pool", "published at tied maxima"))
        assert o.run.report is not None and o.run.report.passed
        assert o.run.torch is False

    def test_dead_units_at_another_draw_are_settled_by_fresh_moves(self) -> None:
        # issue 11 §4: at default_rng(5) one move left a dead unit's kink within a step
        case = "cs231n affine + relu, dead units"
        report = _outcome((case, "published, another draw (default_rng(5))")).run.report
        assert report is not None and report.status == "passed", str(report)
        assert any("fresh, larger move" in m for m in report.messages), report.messages
        assert not any("pass grad as a function" in m for m in report.messages)
        bug = _outcome((case, "bug: db skips the ReLU's mask, another draw (default_rng(5))"))
        assert bug.run.report is not None and bug.run.report.failed_parameters == ["b"]


class TestPeers:
    def test_peers_ran_where_they_apply(self) -> None:
        for o in _outcomes().values():
            if o.variant.expect == "error":
                continue
            assert (o.run.torch is not None) == (o.case.framework in ("numpy", "torch"))
            assert (o.run.jax is not None) == (o.case.framework == "jax")

    def test_peers_catch_every_planted_bug(self) -> None:
        for o in _outcomes().values():
            if o.variant.expect == "failed":
                assert o.run.torch is not True and o.run.jax is not True, o.variant.name


class TestProvenance:
    def test_enough_cases_from_several_sources(self) -> None:
        assert 15 <= len(CASES) <= 30
        assert {c.framework for c in CASES} == {"numpy", "torch", "jax"}
        assert len({c.source.repo for c in CASES}) >= 5

    @pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
    def test_every_case_says_where_it_comes_from(self, case: public_cases.Case) -> None:
        s = case.source
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", s.repo)
        assert re.fullmatch(r"[0-9a-f]{40}", s.commit)
        assert s.path and s.licence and s.transcribed
        assert s.url == f"https://github.com/{s.repo}/blob/{s.commit}/{s.path}"

    @pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
    def test_every_case_has_a_failing_variant(self, case: public_cases.Case) -> None:
        expects = [v.expect for v in case.variants]
        assert "failed" in expects
        assert len({v.name for v in case.variants}) == len(case.variants)
        assert all(v.wrong for v in case.variants if v.expect == "failed")


class TestDoc:
    def test_doc_is_up_to_date(self) -> None:
        expected = make_public_cases_doc.render(public_cases.run_all())
        actual = (ROOT / "docs" / "public-cases.md").read_text(encoding="utf-8")
        assert actual == expected, "run: python tools/make_public_cases_doc.py"

    def test_doc_marks_every_wrong_verdict(self) -> None:
        right = make_public_cases_doc.right
        assert right("passed", "passed") and not right("failed", "passed")
        assert not right("passed", "inconclusive")
