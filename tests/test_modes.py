"""Tests for gradcheck._modes: the mode option, the auto rule and sample mode."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

import gradcheck
from gradcheck._modes import (
    AUTO_FULL_MAX,
    Auto,
    Directional,
    Full,
    ModeKeywords,
    Sample,
    resolve_mode,
    sample_size,
)
from gradcheck._report import format_report
from gradcheck._steps import entry_scale

Array = np.ndarray[Any, Any]


def _cost(p: dict[str, Array]) -> float:
    return float(np.sum(p["W"] ** 3) + np.sum(np.sin(p["b"])))


def _grad(p: dict[str, Array]) -> dict[str, Array]:
    return {"W": 3 * p["W"] ** 2, "b": np.cos(p["b"])}


PARAMS = {"W": np.random.default_rng(0).standard_normal((20, 30)), "b": np.linspace(-1, 1, 30)}


class TestAuto:
    def test_threshold(self) -> None:
        assert resolve_mode("auto", AUTO_FULL_MAX) == Full()
        assert resolve_mode("auto", AUTO_FULL_MAX + 1) == Directional()

    def test_default_small_is_full(self) -> None:
        report = gradcheck.check(_cost, PARAMS, _grad)
        assert report.mode == "full" and report.options["resolved_mode"] == "full"
        assert report.evaluations >= 2 * 630

    def test_default_large_is_directional(self) -> None:
        x = np.linspace(-1, 1, AUTO_FULL_MAX + 1)
        report = gradcheck.check(lambda p: float(np.sum(p**3)), x, 3 * x**2)
        assert report.mode == "directional" and report.passed
        assert report.evaluations <= 10

    def test_unknown_mode(self) -> None:
        with pytest.raises(gradcheck.GradcheckError, match="unknown mode 'x'"):
            gradcheck.check(_cost, PARAMS, _grad, mode="x")


class TestSample:
    def test_same_seed_same_entries(self) -> None:
        r1 = gradcheck.check(_cost, PARAMS, _grad, mode="sample", sample=10, seed=3)
        r2 = gradcheck.check(_cost, PARAMS, _grad, mode="sample", sample=10, seed=3)
        r3 = gradcheck.check(_cost, PARAMS, _grad, mode="sample", sample=10, seed=4)
        e1 = r1.parameters["W"].errors
        assert e1 is not None and r1.passed and r1.parameters["W"].checked == 10
        assert np.array_equal(np.isnan(e1), np.isnan(r2.parameters["W"].errors))
        assert not np.array_equal(np.isnan(e1), np.isnan(r3.parameters["W"].errors))

    def test_fraction(self) -> None:
        report = gradcheck.check(_cost, PARAMS, _grad, mode="sample", sample=0.1)
        assert report.parameters["W"].checked == 60 and report.parameters["b"].checked == 3

    def test_finds_factor(self) -> None:
        def bad(p: dict[str, Array]) -> dict[str, Array]:
            return {"W": 6 * p["W"] ** 2, "b": np.cos(p["b"])}

        report = gradcheck.check(_cost, PARAMS, bad, mode="sample", sample=5)
        assert report.failed_parameters == ["W"]

    def test_bad_sample(self) -> None:
        with pytest.raises(gradcheck.GradcheckError, match="fraction must lie in"):
            Sample(1.5)
        assert sample_size(10, 0.15) == 2 and sample_size(10, 30) == 10


def _sin(p: Array) -> float:
    return float(np.sum(np.sin(p)))


X = np.random.default_rng(5).standard_normal(5000)


def _tree() -> tuple[Any, dict[str, Array], dict[str, Array]]:
    rng = np.random.default_rng(3)
    p = {
        "A": rng.standard_normal((40, 60)),
        "B": rng.standard_normal((40, 60)),
        "c": rng.standard_normal(3000),
    }

    def cost(q: dict[str, Array]) -> float:
        return float(np.sum(q["A"] ** 2 * q["B"]) + np.sum(np.cos(q["c"])))

    return cost, p, {"A": 2 * p["A"] * p["B"], "B": p["A"] ** 2, "c": -np.sin(p["c"])}


class TestDirectionalReport:
    """Issue 11 §6: directional reports that disagreed with themselves."""

    def test_single_parameter_difference_is_the_headline(self) -> None:
        for planted in (0.0, 1.0, 1e-3):
            g = np.cos(X)
            g[7] += planted
            for localise in (True, False):
                r = gradcheck.check(_sin, X, g, localise=localise)
                assert r.mode == "directional" and r.difference == r.parameters["x"].difference
                assert r.passed == (planted == 0.0)

    def test_checked_counts_no_entry_it_did_not_check(self) -> None:
        cost, p, g = _tree()
        r = gradcheck.check(cost, p, g, mode="directional")
        assert r.passed and all(q.checked == 0 for q in r.parameters.values())
        rows = [line for line in str(r).splitlines() if line.strip().startswith(("A ", "c "))]
        assert rows and all("directional" in line and "/" not in line for line in rows)
        again = gradcheck.Report.from_json(r.to_json())
        assert again.parameters["c"].checked == 0

    def test_pinned_entries_are_the_checked_ones(self) -> None:
        g = np.cos(X)
        g[7] += 1.0
        r = gradcheck.check(_sin, X, g)
        x = r.parameters["x"]
        assert r.localisation["pinned"] == ["x[7]"] and 1 <= x.checked < 100
        assert f"directional + {x.checked} alone" in str(r)

    def test_localisation_off_names_what_failed(self) -> None:
        cost, p, g = _tree()
        g["c"] = g["c"].copy()
        g["c"][[10, 2000]] += 0.5
        r = gradcheck.check(cost, p, g, mode="directional", localise=False)
        text = str(r)
        assert r.status == "failed" and r.failed_parameters == []
        assert (
            "FAILED: the directional check disagrees (localisation off: parameters "
            "not named)" in text
        )
        assert "wrong gradient for \n" not in text + "\n"
        assert all(q.status == "inconclusive" for q in r.parameters.values())
        assert any("localisation is off" in m for m in r.messages)

    def test_localisation_off_single_parameter_is_named(self) -> None:
        g = np.cos(X)
        g[7] += 1.0
        r = gradcheck.check(_sin, X, g, localise=False)
        assert r.failed_parameters == ["x"] and "FAILED: wrong gradient for x" in str(r)

    def test_cut_region_list_says_how_many_more(self) -> None:
        cost, p, g = _tree()
        g["c"] = g["c"] + np.random.default_rng(0).standard_normal(3000) * 0.3
        r = gradcheck.check(cost, p, g, mode="directional", budget=60)
        regions = r.localisation["regions"]
        assert len(regions) > 2
        text = format_report(r, max_rows=2)
        assert f", … and {len(regions) - 2} more" in text
        assert f"and {len(regions) - 2} more" not in format_report(r, max_rows=len(regions))

    def test_no_pattern_without_entries_says_what_is_known(self) -> None:
        cost, p, g = _tree()
        g["c"] = g["c"] + np.random.default_rng(0).standard_normal(3000) * 0.3
        r = gradcheck.check(cost, p, g, mode="directional", budget=60)
        diag = r.parameters["c"].diagnosis
        assert r.parameters["c"].worst == () and diag is not None and diag.kind == "scattered"
        assert "see the entries" not in diag.text and "known to hold it" in diag.text

    def test_unconfirmed_failure_headline(self) -> None:
        cost, p, g = _tree()
        g["c"] = g["c"].copy()
        g["c"][10] += 0.5
        r = gradcheck.check(cost, p, g, mode="directional", localise=False)
        loc = {
            "evaluations": 52,
            "exhausted": False,
            "pinned": [],
            "regions": [],
            "unconfirmed": [{"parameter": "A", "start": 0, "stop": 2400}],
        }
        text = str(replace(r, localisation=loc))
        assert (
            "FAILED: the directional check disagrees (not localised: parameters not named)" in text
        )


class TestNoSharedBlindEntry:
    """Directions drawn from the seed alone gave every check of one size the same blind
    entry; they are salted with the cost's value (``_modes.direction_salt``)."""

    @staticmethod
    def _seed_only_blind_entry(size: int) -> int:
        rng = np.random.default_rng([0, 1])
        z = [rng.standard_normal(size, dtype=np.float32) for _ in range(2)]
        return int(np.argmin(np.maximum(np.abs(z[0]), np.abs(z[1]))))

    def test_an_error_at_the_seed_only_blind_entry_is_caught(self) -> None:
        blind = self._seed_only_blind_entry(1000)
        for k in range(20):
            rng = np.random.default_rng(k)
            x, a = rng.uniform(0.5, 1.5, 1000), rng.uniform(0.5, 2.0, 1000)

            def cost(p: Array, a: Array = a) -> float:
                return float(np.sum(np.sin(a * p)))

            g = a * np.cos(a * x)
            clean = gradcheck.check(cost, x, g, mode="directional")
            assert clean.status == "passed", str(clean)
            s = entry_scale(x)
            rho = clean.parameters["x"].detection_bound
            wrong = g.copy()
            wrong[blind] += 1.1 * rho * float(np.linalg.norm(s * g)) / s[blind]
            report = gradcheck.check(cost, x, wrong, mode="directional")
            assert report.status == "failed", f"problem {k}\n{report}"

    def test_one_problem_gets_the_same_directions_every_run(self) -> None:
        x = np.linspace(0.5, 1.5, 5000)
        first = gradcheck.check(_sin, x, np.cos(x), mode="directional")
        again = gradcheck.check(_sin, x, np.cos(x), mode="directional")
        assert first.difference == again.difference
        assert first.guarantee == again.guarantee


class TestModeObjects:
    @pytest.mark.parametrize(
        ("name", "obj"),
        [("full", Full()), ("sample", Sample()), ("directional", Directional())],
    )
    def test_a_name_means_the_defaults(self, name: str, obj: Any) -> None:
        assert resolve_mode(name, 10) == obj
        by_name = gradcheck.check(_cost, PARAMS, _grad, mode=name)
        by_object = gradcheck.check(_cost, PARAMS, _grad, mode=obj)
        assert by_name.options == by_object.options and by_name.mode == name
        assert by_name.evaluations == by_object.evaluations

    @pytest.mark.parametrize("size", [7, 0.05])
    def test_sample_carries_its_size(self, size: float) -> None:
        report = gradcheck.check(_cost, PARAMS, _grad, mode=Sample(size), seed=3)
        keyword = gradcheck.check(_cost, PARAMS, _grad, mode="sample", sample=size, seed=3)
        assert report.options["sample"] == size and report.options["mode"] == "sample"
        assert report.parameters["W"].checked == (7 if size == 7 else 30)
        e, k = report.parameters["W"].errors, keyword.parameters["W"].errors
        assert e is not None and k is not None and np.array_equal(np.isnan(e), np.isnan(k))

    def test_directional_carries_its_options(self) -> None:
        g = np.cos(X) * np.where(np.arange(X.size) == 7, 2.0, 1.0)
        quiet = gradcheck.check(_sin, X, g, mode=Directional(localise=False))
        loud = gradcheck.check(_sin, X, g, mode=Directional(budget=60, miss_probability=1e-4))
        assert quiet.status == loud.status == "failed"
        assert quiet.localisation == {} and loud.localisation["evaluations"] <= 60
        assert loud.guarantee["miss_probability"] == 1e-4
        assert (loud.options["budget"], loud.options["localise"]) == (60, True)

    def test_auto_object_resolves_like_the_name(self) -> None:
        assert resolve_mode(Auto(), AUTO_FULL_MAX + 1) == resolve_mode("auto", AUTO_FULL_MAX + 1)
        assert resolve_mode(Auto(), 3, ModeKeywords(budget=5)) == Full()
        big = resolve_mode(Auto(), AUTO_FULL_MAX + 1, ModeKeywords(budget=5))
        assert big == Directional(budget=5)

    @pytest.mark.parametrize(
        ("mode", "keywords", "message"),
        [
            ("full", ModeKeywords(localise=False), "localise=False applies only to"),
            ("directional", ModeKeywords(sample=3), "sample=3 applies only to mode='sample'"),
            (Sample(5), ModeKeywords(sample=3), "pass mode=Sample(size=3) and drop sample"),
            (Directional(), ModeKeywords(budget=9), "pass mode=Directional(miss_probability"),
            ("auto", ModeKeywords(sample=3), "this check runs mode='auto', which never samples"),
            (Auto(), ModeKeywords(sample=0.5), "sample=0.5 applies only to mode='sample'"),
            ("sample", ModeKeywords(budget=9), "budget=9 applies only to mode='directional'"),
        ],
    )
    def test_keywords_must_apply(self, mode: Any, keywords: ModeKeywords, message: str) -> None:
        with pytest.raises(gradcheck.GradcheckError, match=re.escape(message)):
            resolve_mode(mode, 10, keywords)

    def test_keywords_that_apply_are_used(self) -> None:
        run = resolve_mode("directional", 10, ModeKeywords(budget=9, localise=False))
        assert run == Directional(budget=9, localise=False)
        assert resolve_mode("sample", 10, ModeKeywords(sample=0.5)) == Sample(0.5)
        assert resolve_mode("auto", AUTO_FULL_MAX + 1, ModeKeywords(budget=9)).budget == 9


class TestDirectionalKeywordsUnderAuto:
    """Under ``auto`` the directional keywords apply if it resolves to directional, so
    they are accepted on a small problem too, and recorded either way."""

    @pytest.mark.parametrize(
        "keywords",
        [{"localise": False}, {"budget": 7}, {"miss_probability": 1e-4}, {"budget": np.int64(3)}],
    )
    @pytest.mark.parametrize("mode", ["auto", Auto()])
    def test_small_problem_accepts_and_records(self, mode: Any, keywords: dict[str, Any]) -> None:
        report = gradcheck.check(_cost, PARAMS, _grad, mode=mode, **keywords)
        plain = gradcheck.check(_cost, PARAMS, _grad, mode=mode)
        assert report.options["resolved_mode"] == "full" and report.status == plain.status
        assert report.evaluations == plain.evaluations
        for key, value in keywords.items():
            assert report.options[key] == value and type(report.options[key]) is not np.int64
        json.loads(report.to_json())

    def test_large_problem_applies_them(self) -> None:
        g = np.cos(X) * np.where(np.arange(X.size) == 7, 2.0, 1.0)
        quiet = gradcheck.check(_sin, X, g, localise=False, miss_probability=1e-4)
        assert quiet.options["resolved_mode"] == "directional" and quiet.status == "failed"
        assert quiet.localisation == {} and quiet.guarantee["miss_probability"] == 1e-4

    @pytest.mark.parametrize("keyword", ["localise", "budget", "miss_probability"])
    @pytest.mark.parametrize("mode", ["full", Full(), "sample"])
    def test_an_explicit_other_mode_refuses_them(self, mode: Any, keyword: str) -> None:
        value = {"localise": False, "budget": 7, "miss_probability": 1e-4}[keyword]
        with pytest.raises(gradcheck.GradcheckError, match=f"option {keyword}="):
            gradcheck.check(_cost, PARAMS, _grad, mode=mode, **{keyword: value})

    def test_a_bad_value_is_refused_under_auto(self) -> None:
        with pytest.raises(gradcheck.GradcheckError, match="option budget=-1 must be"):
            gradcheck.check(_cost, PARAMS, _grad, budget=-1)


_MISS = (
    " must lie in (0, 1): the chance that the directional check misses an error of the "
    "stated size (default 0.001)"
)
_BUDGET = (
    " must be a non-negative integer: the most cost evaluations a localisation may spend "
    "(default 400)"
)


class TestOptionErrors:
    """Each refused mode option gets its whole message, naming the option and what it
    takes; each edge value of a range is on the side the docs give it."""

    @pytest.mark.parametrize(
        ("options", "why"),
        [
            ({"miss_probability": 0.0}, _MISS),
            ({"miss_probability": 1.0}, _MISS),
            ({"miss_probability": 1.5}, _MISS),
            ({"miss_probability": "0.5"}, _MISS),
            ({"miss_probability": True}, _MISS),
            ({"budget": -1}, _BUDGET),
            ({"budget": 2.0}, _BUDGET),
            ({"budget": True}, _BUDGET),
            ({"localise": 1}, " must be True or False"),
            ({"localise": "yes"}, " must be True or False"),
        ],
    )
    def test_directional_refuses_with_the_whole_reason(
        self, options: dict[str, Any], why: str
    ) -> None:
        ((option, value),) = options.items()
        with pytest.raises(gradcheck.GradcheckError) as info:
            Directional(**options)
        assert str(info.value) == f"option mode=Directional({option}={value!r}){why}"

    @pytest.mark.parametrize(
        "options",
        [
            {"budget": 0},
            {"budget": np.int64(1)},
            {"miss_probability": 1e-300},
            {"miss_probability": 0.999},
            {"miss_probability": np.float32(0.5)},
            {"localise": np.bool_(False)},
        ],
    )
    def test_directional_takes_every_value_in_range(self, options: dict[str, Any]) -> None:
        made = Directional(**options)
        ((option, value),) = options.items()
        assert getattr(made, option) == value
        assert type(getattr(made, option)) in (int, float, bool)

    @pytest.mark.parametrize(
        ("mode", "keywords", "message"),
        [
            (
                "full",
                ModeKeywords(sample=3),
                "option sample=3 applies only to mode='sample', and this check runs "
                "mode='full': pass mode='sample' (--mode sample) to check a sample of "
                "entries, or drop sample",
            ),
            (
                "auto",
                ModeKeywords(sample=3),
                "option sample=3 applies only to mode='sample', and this check runs "
                "mode='auto', which never samples: pass mode='sample' (--mode sample) to "
                "check a sample of entries, or drop sample",
            ),
            (
                "sample",
                ModeKeywords(budget=9),
                "option budget=9 applies only to mode='directional', and this check runs "
                "mode='sample': pass mode=Directional(budget=9) to run the directional "
                "check, or drop budget",
            ),
            (
                Directional(),
                ModeKeywords(budget=9),
                "option budget=9 goes into the mode object when one is given: pass "
                "mode=Directional(miss_probability=0.001, budget=9, localise=True) and "
                "drop budget",
            ),
            (
                Sample(5),
                ModeKeywords(sample=3),
                "option sample=3 goes into the mode object when one is given: pass "
                "mode=Sample(size=3) and drop sample",
            ),
            (
                "x",
                None,
                "unknown mode 'x': choose one of 'auto', 'full', 'sample', 'directional', "
                "or a mode object: Full(), Sample(100), Directional(miss_probability=1e-3), "
                "Auto()",
            ),
        ],
    )
    def test_a_refused_mode_or_keyword_says_what_to_pass(
        self, mode: Any, keywords: ModeKeywords | None, message: str
    ) -> None:
        with pytest.raises(gradcheck.GradcheckError) as info:
            resolve_mode(mode, 10, keywords)
        assert str(info.value) == message

    @pytest.mark.parametrize(
        ("size", "why"),
        [
            (0, " must be at least 1 entry"),
            (-3, " must be at least 1 entry"),
            (0.0, ": a fraction must lie in (0, 1]; pass an int to ask for a number of entries"),
            (1.5, ": a fraction must lie in (0, 1]; pass an int to ask for a number of entries"),
            ("3", " must be an int count or a float fraction"),
            (None, " must be an int count or a float fraction"),
        ],
    )
    def test_sample_refuses_with_the_whole_reason(self, size: Any, why: str) -> None:
        with pytest.raises(gradcheck.GradcheckError) as info:
            Sample(size)
        assert str(info.value) == f"option mode=Sample({size!r}){why}"

    @pytest.mark.parametrize("size", [1, np.int64(2), 1.0, 1e-9])
    def test_sample_takes_the_edges_of_its_range(self, size: Any) -> None:
        made = Sample(size)
        assert made.size == size and type(made.size) in (int, float)
        x = np.linspace(-1, 1, 3)
        report = gradcheck.check(_sin, x, np.cos(x), mode=made)
        assert json.loads(report.to_json())["options"]["sample"] == size


class TestSampledEntries:
    """Which entries ``sample`` mode checks: as many as asked, distinct, the same for
    the same seed whatever other parameters are checked whole."""

    @staticmethod
    def _checked(report: Any, name: str) -> Array:
        errors = report.parameters[name].errors
        assert errors is not None
        return np.flatnonzero(~np.isnan(errors))

    @pytest.mark.parametrize("seed", range(5))
    def test_asked_count_of_distinct_entries(self, seed: int) -> None:
        x = np.linspace(-1, 1, 30)
        report = gradcheck.check(_sin, x, np.cos(x), mode=Sample(29), seed=seed)
        assert report.status == "passed" and report.parameters["x"].checked == 29
        assert self._checked(report, "x").size == 29

    def test_a_tiny_fraction_is_one_entry(self) -> None:
        x = np.linspace(-1, 1, 30)
        report = gradcheck.check(_sin, x, np.cos(x), mode=Sample(0.01))
        assert report.parameters["x"].checked == 1 and self._checked(report, "x").size == 1

    def test_a_parameter_checked_whole_draws_nothing(self) -> None:
        w = np.linspace(-1, 1, 600)
        alone = gradcheck.check(_sin, w, np.cos(w), mode=Sample(5), seed=1)
        params = {"a": np.linspace(0, 1, 5), "x": w}

        def cost(p: dict[str, Array]) -> float:
            return _sin(p["a"]) + _sin(p["x"])

        both = gradcheck.check(
            cost, params, {"a": np.cos(params["a"]), "x": np.cos(w)}, mode=Sample(5), seed=1
        )
        assert both.parameters["a"].checked == 5
        assert np.array_equal(self._checked(both, "x"), self._checked(alone, "x"))
