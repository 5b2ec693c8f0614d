"""gradcheck.pytest_plugin, exercised with pytester."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import gradcheck
from gradcheck.pytest_plugin import GradcheckFixture, compact

TESTS = """
import numpy as np
import gradcheck as gc

W = np.array([[1.0, -2.0], [0.5, 3.0]])

def cost(p):
    return float(np.sum(np.sin(p["W"])))

def right(p):
    return {"W": np.cos(p["W"])}

def wrong(p):
    return {"W": 2 * np.cos(p["W"])}

def test_right(gradcheck):
    report = gradcheck.assert_gradients(cost, {"W": W}, right)
    print("MODE", report.mode, gradcheck.mode)

def test_wrong(gradcheck):
    gradcheck.assert_gradients(cost, {"W": W}, wrong)

def test_own_mode(gradcheck):
    report = gradcheck.check(cost, {"W": W}, right, mode="sample", sample=2)
    print("OWN", report.mode)

def test_module_level_assert():
    gc.assert_gradients(cost, {"W": W}, right)
"""

MODULE_LEVEL_WRONG = """
def test_module_level_wrong():
    gc.assert_gradients(cost, {"W": W}, wrong)
"""


class TestPlugin:
    def test_fixture_passes_and_fails_with_the_compact_report(
        self, pytester: pytest.Pytester
    ) -> None:
        pytester.makepyfile(TESTS)
        result = pytester.runpytest("-s")
        result.assert_outcomes(passed=3, failed=1)
        result.stdout.fnmatch_lines(
            [
                "*GradientMismatch: gradient check failed in full mode: difference 0.333",
                "*W (2, 2): failed, 4 of 4 entries wrong — ×2*",
                "*worst entries:",
                "*W[[]*]: analytic *, numeric * (abs err *, rel err *) [[]wrong[]]",
            ]
        )
        result.stdout.fnmatch_lines(["*MODE full None*", "*OWN sample*"])
        assert "parameter  shape" not in result.stdout.str()  # not the full table

    def test_quick_mode_runs_directional_checks(self, pytester: pytest.Pytester) -> None:
        pytester.makepyfile(TESTS)
        result = pytester.runpytest("-s", "--gradcheck-mode=quick")
        result.assert_outcomes(passed=3, failed=1)
        result.stdout.fnmatch_lines(
            [
                "gradcheck: --gradcheck-mode=quick",
                "*MODE directional directional*",
                "*OWN directional*",  # the command line overrides the test's own mode
            ]
        )

    def test_quick_mode_failure_says_a_directional_check_ran(
        self, pytester: pytest.Pytester
    ) -> None:
        pytester.makepyfile(TESTS)
        result = pytester.runpytest("--gradcheck-mode=quick", "-k", "test_wrong")
        result.assert_outcomes(failed=1, deselected=3)
        result.stdout.fnmatch_lines(
            [
                "*gradient check failed in directional mode (--gradcheck-mode=quick): *",
                "*guarantee: * random directions: a relative gradient error of *",
                "*W (2, 2): failed, wrong along random directions (no per-entry comparison*×2*",
            ]
        )
        assert "0 of 4 entries wrong" not in result.stdout.str()

    @pytest.mark.parametrize("which", ["test_wrong", "test_module_level_wrong"])
    def test_a_failure_shows_no_gradcheck_frame(
        self, pytester: pytest.Pytester, which: str
    ) -> None:
        pytester.makepyfile(TESTS + MODULE_LEVEL_WRONG)
        result = pytester.runpytest("--tb=long", "-k", which)
        result.assert_outcomes(failed=1)
        text = result.stdout.str()
        assert f"def {which}(" in text  # the user's own frame is shown...
        for frame in ("gradcheck/_engine.py", "gradcheck/pytest_plugin.py", "raise "):
            assert frame not in text  # ...and none of gradcheck's
        result.stdout.fnmatch_lines(["*GradientMismatch: *"])

    def test_full_mode(self, pytester: pytest.Pytester) -> None:
        pytester.makepyfile(TESTS)
        result = pytester.runpytest("-s", "--gradcheck-mode=full")
        result.assert_outcomes(passed=3, failed=1)
        result.stdout.fnmatch_lines(["*MODE full full*", "*OWN full*"])

    def test_bad_mode_is_a_usage_error(self, pytester: pytest.Pytester) -> None:
        pytester.makepyfile(TESTS)
        result = pytester.runpytest("--gradcheck-mode=slow")
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(["*invalid choice: 'slow'*"])

    def test_help_lists_the_option(self, pytester: pytest.Pytester) -> None:
        result = pytester.runpytest("--help")
        result.stdout.fnmatch_lines(["*--gradcheck-mode=*"])

    def test_importing_the_plugin_imports_no_framework(self) -> None:
        code = (
            "import sys, gradcheck.pytest_plugin; "
            "print(sorted(m for m in ('torch', 'jax', 'matplotlib') if m in sys.modules))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
        ).stdout
        assert out.strip() == "[]"


class TestFixtureObject:
    def test_torch_module_check_in_the_sessions_mode(self) -> None:
        import torch

        torch.manual_seed(0)
        model = torch.nn.Linear(2, 1)
        x = torch.randn(3, 2)
        report = GradcheckFixture("full").check_module(model, lambda m: (m(x) ** 2).sum())
        assert report.passed and report.mode == "full"

    def test_compact_lists_only_what_went_wrong(self) -> None:
        x = np.array([1.0, 2.0])
        report = gradcheck.check(
            lambda p: float(np.sum(p["a"] ** 3 + p["b"] ** 3)),
            {"a": x, "b": x},
            {"a": 3 * x**2, "b": -3 * x**2},
        )
        text = compact(report)
        assert "b (2,): failed, 2 of 2 entries wrong" in text
        assert "a (2,)" not in text
        with pytest.raises(gradcheck.GradientMismatch, match="gradient check failed") as info:
            GradcheckFixture(None).assert_report(report)
        assert info.value.report is report

    @pytest.mark.parametrize(("sample", "n"), [(3, 6), (0.25, 8), (1, 40)])
    def test_a_sampled_check_counts_only_the_entries_it_compared(
        self, sample: float, n: int
    ) -> None:
        # regression: "3 of 6 entries wrong" for a sample of 3 all-wrong entries read as
        # if the other 3 had been compared and found right.
        x = np.linspace(0.5, 2.0, n)
        report = gradcheck.check(
            lambda p: float(np.sum(p**3)), x, -3 * x**2, mode="sample", sample=sample
        )
        p = report.parameters["x"]
        assert 0 < p.checked < n and p.failed == p.checked
        text = compact(report)
        assert f"x ({n},): failed, {p.checked} of {p.checked} entries compared wrong " in text
        assert f"({n} in all)" in text and f"of {n} entries wrong" not in text

    def test_a_full_check_counts_every_entry(self) -> None:
        x = np.linspace(0.5, 2.0, 6)
        g = 3 * x**2
        g[2] = 0.0
        text = compact(gradcheck.check(lambda p: float(np.sum(p**3)), x, g, mode="full"))
        assert "x (6,): failed, 1 of 6 entries wrong" in text and "in all" not in text


class TestSessionModeOptions:
    @pytest.mark.parametrize("forced", ["full", "directional"])
    def test_keywords_of_another_mode_are_dropped(self, forced: str) -> None:
        given = {"mode": "sample", "sample": 3, "budget": 60, "localise": False, "seed": 2}
        options = GradcheckFixture(forced).options(given)
        assert options["mode"] == forced and options["seed"] == 2 and "sample" not in options
        if forced == "directional":
            assert (options["budget"], options["localise"]) == (60, False)
        else:
            assert "budget" not in options and "localise" not in options
        x = np.linspace(0.5, 1.5, 5)
        report = gradcheck.check(lambda p: float(np.sum(p**3)), x, 3 * x**2, **options)
        assert report.mode == forced and report.passed

    def test_a_mode_object_of_the_forced_mode_is_kept(self) -> None:
        own = gradcheck.Directional(budget=7)
        assert GradcheckFixture("directional").options({"mode": own})["mode"] is own
        assert GradcheckFixture("full").options({"mode": own})["mode"] == "full"

    def test_auto_leaves_the_call_alone(self) -> None:
        given = {"mode": gradcheck.Sample(3), "seed": 1}
        assert GradcheckFixture(None).options(given) == given
