"""Tests for gradcheck._options: one vocabulary of options for every check."""

from __future__ import annotations

import inspect
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any, get_type_hints

import numpy as np
import pytest

import gradcheck
from gradcheck import Auto, Batched, Directional, Full, GradcheckError, Sample
from gradcheck._adapters import Options as AdapterOptions
from gradcheck._options import NAMES, CheckOptions, Options

Array = np.ndarray[Any, Any]
C = np.random.default_rng(3).standard_normal((6, 5))
X = np.linspace(-0.5, 0.5, 5)
BIG = np.linspace(-1, 1, 10_000)
H = np.array([0.3, 0.7, -1.1, 1.4, 0.9])  # no zero curvature: the Hessian checks resolve


def _f(p: Array) -> Array:
    return np.sin(C @ p)


def _jac(p: Array) -> Array:
    return np.cos(C @ p)[:, None] * C


def _wave(p: Array) -> Array:
    return 2 * np.sin(p) + np.roll(p, 1)  # type: ignore[no-any-return]


def _wave_vjp(p: Array, u: Array) -> Array:
    return 2 * np.cos(p) * u + np.roll(u, -1)  # type: ignore[no-any-return]


def _quartic(p: Array) -> float:
    return float(np.sum(p**4))


def _quartic_grad(p: Array) -> Array:
    return 4 * p**3


def _quartic_hvp(p: Array, v: Array) -> Array:
    return 12 * p**2 * v


def _keyword_only(fn: Any) -> set[str]:
    params = inspect.signature(fn).parameters.values()
    return {p.name for p in params if p.kind == p.KEYWORD_ONLY}


class TestOneList:
    def test_check_takes_exactly_the_names(self) -> None:
        assert _keyword_only(gradcheck.check) == set(NAMES)
        assert len(NAMES) == len(set(NAMES))

    def test_adapters_type_their_options_with_the_same_list(self) -> None:
        assert AdapterOptions is Options
        adapter = set(get_type_hints(Options))
        assert adapter | {"batched", "complex_convention"} == set(NAMES)
        assert set(get_type_hints(CheckOptions)) == set(NAMES)

    def test_check_jacobian_names_the_valid_options(self) -> None:
        with pytest.raises(GradcheckError, match="unknown option 'wobble'") as info:
            gradcheck.check_jacobian(_f, X, _jac, wobble=1)
        assert "execution" not in str(info.value) and "miss_probability" in str(info.value)


class TestModeObjectsInCheckJacobian:
    @pytest.mark.parametrize(
        ("mode", "resolved"),
        [
            (Full(), "full"),
            (Auto(), "full"),
            ("auto", "full"),
            (Directional(), "directional"),
            (Directional(miss_probability=1e-4), "directional"),
        ],
    )
    @pytest.mark.parametrize("check", ["jacobian", "hessian"])
    def test_mode_objects_run(self, check: str, mode: Any, resolved: str) -> None:
        if check == "jacobian":
            report = gradcheck.check_jacobian(_f, X, _jac, mode=mode)
        else:
            report = gradcheck.check_hessian(
                _quartic, H, _quartic_grad, hvp=_quartic_hvp, mode=mode
            )
        assert report.status == "passed", report.messages
        assert report.options["resolved_mode"] == resolved
        assert report.options["mode"] == (mode if isinstance(mode, str) else mode.name)

    def test_directional_object_carries_its_options(self) -> None:
        def bad(p: Array, u: Array) -> Array:
            g = _wave_vjp(p, u)
            g[4321] += 0.5 * u[4321]
            return g

        quiet = gradcheck.check_jacobian(_wave, BIG, vjp=bad, mode=Directional(localise=False))
        loud = gradcheck.check_jacobian(_wave, BIG, vjp=bad, mode=Directional())
        poor = gradcheck.check_jacobian(_wave, BIG, vjp=bad, mode=Directional(budget=5))
        keyword = gradcheck.check_jacobian(_wave, BIG, vjp=bad, mode="directional", budget=5)
        assert quiet.status == loud.status == poor.status == "failed"
        assert quiet.localisation == {} and quiet.options["localise"] is False
        assert loud.localisation["pinned"] == ["out[4321] / x[4321]"]
        assert poor.localisation["exhausted"] and poor.localisation["pinned"] == []
        assert poor.options["budget"] == 5 and poor.options == keyword.options

    @pytest.mark.parametrize(
        ("mode", "message"),
        [
            (Sample(10), "mode=Sample(size=10) does not apply to check_jacobian"),
            ("sample", "mode='sample' does not apply to check_jacobian"),
            ("wobble", "unknown mode 'wobble' for check_jacobian"),
            (3, "unknown mode 3 for check_jacobian"),
        ],
    )
    def test_sample_and_unknown_modes_refused(self, mode: Any, message: str) -> None:
        with pytest.raises(GradcheckError, match=re.escape(message)):
            gradcheck.check_jacobian(_f, X, _jac, mode=mode)


class TestDirectionalKeywordsInCheckJacobian:
    @pytest.mark.parametrize(
        "keywords", [{"localise": False}, {"budget": 7}, {"miss_probability": 1e-4}]
    )
    def test_accepted_and_recorded_under_auto_on_a_small_problem(
        self, keywords: dict[str, Any]
    ) -> None:
        report = gradcheck.check_jacobian(_f, X, _jac, **keywords)
        assert report.status == "passed" and report.options["resolved_mode"] == "full"
        assert {k: report.options[k] for k in keywords} == keywords
        hessian = gradcheck.check_hessian(_quartic, H, _quartic_grad, hvp=_quartic_hvp, **keywords)
        assert hessian.status == "passed"

    @pytest.mark.parametrize("mode", ["full", Full()])
    @pytest.mark.parametrize(
        "keywords", [{"localise": False}, {"budget": 7}, {"miss_probability": 1e-4}]
    )
    def test_refused_where_the_mode_chosen_never_uses_them(
        self, mode: Any, keywords: dict[str, Any]
    ) -> None:
        (option,) = keywords
        with pytest.raises(GradcheckError, match=f"option {option}=.* applies only to"):
            gradcheck.check_jacobian(_f, X, _jac, mode=mode, **keywords)
        with pytest.raises(GradcheckError, match=f"option {option}=.* applies only to"):
            gradcheck.check_hessian(
                _quartic, H, _quartic_grad, hvp=_quartic_hvp, mode=mode, **keywords
            )

    def test_refused_beside_a_mode_object(self) -> None:
        with pytest.raises(GradcheckError, match=re.escape("pass mode=Directional(")):
            gradcheck.check_jacobian(_f, X, _jac, mode=Directional(), budget=9)


class TestExecutionInCheckJacobian:
    @pytest.mark.parametrize("check", ["jacobian", "hessian"])
    def test_default_execution_accepted(self, check: str) -> None:
        if check == "jacobian":
            report = gradcheck.check_jacobian(_f, X, _jac, execution=None)
        else:
            report = gradcheck.check_hessian(
                _quartic, H, _quartic_grad, hvp=_quartic_hvp, execution=None
            )
        assert report.status == "passed"

    @pytest.mark.parametrize("check", ["jacobian", "hessian"])
    def test_other_execution_refused_by_name(self, check: str) -> None:
        with ThreadPoolExecutor(1) as pool:
            for execution in (pool, Batched(np.sum)):
                with pytest.raises(GradcheckError, match="option 'execution' does not apply"):
                    if check == "jacobian":
                        gradcheck.check_jacobian(_f, X, _jac, execution=execution)
                    else:
                        gradcheck.check_hessian(
                            _quartic, H, _quartic_grad, hvp=_quartic_hvp, execution=execution
                        )
