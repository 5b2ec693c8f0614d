"""Tests for gradcheck._entries: one comparison of a parameter's entries at given steps."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gradcheck
from gradcheck import GradcheckError
from gradcheck._entries import Entries, Setting, compare_entries, domain_error
from gradcheck._evaluate import CostRaised, NonFinite, SerialEvaluator
from gradcheck._numerics import Method
from gradcheck._pytree import flatten
from gradcheck._steps import steps
from gradcheck._tolerances import default_rtol, unit_roundoff

Array = np.ndarray[Any, Any]


def _compared(
    cost: Callable[[Array], float], x: Array, a: Array, method: Method
) -> tuple[SerialEvaluator, Setting, Entries]:
    """An evaluator of ``cost`` at ``x``, the check's setting, and every entry of ``x``."""
    names, _, treedef = flatten(x)
    ev = SerialEvaluator(cost, treedef, [np.array(x, dtype=np.float64, copy=True)], names)
    j0 = cost(x)
    sigma = unit_roundoff(np.float64) * abs(j0)
    s = Setting(method, j0, sigma, None, None, False, False)
    h = steps(x.reshape(-1), method, None, x.dtype)
    return ev, s, Entries(0, x, np.arange(x.size), h, a, default_rtol(x.dtype, method))


def _cubic(x: Array) -> float:
    return float(np.sum(np.sin(x) * x**2))


def _cubic_grad(x: Array) -> Array:
    return np.cos(x) * x**2 + 2 * x * np.sin(x)


@pytest.mark.parametrize("method", ["central", "forward", "richardson"])
@pytest.mark.parametrize("seed", [0, 1, 2])
class TestCompareEntries:
    def test_a_correct_gradient_is_ok_at_every_entry(self, method: Method, seed: int) -> None:
        x = np.random.default_rng(seed).standard_normal(6)
        ev, s, e = _compared(_cubic, x, _cubic_grad(x), method)
        comp = compare_entries(ev, s, e, 0.0)
        assert comp.status.tolist() == ["ok"] * 6
        assert np.allclose(comp.numeric, _cubic_grad(x), rtol=1e-4, atol=1e-6)

    def test_a_planted_error_is_wrong_at_its_entry_only(self, method: Method, seed: int) -> None:
        x = np.random.default_rng(seed).standard_normal(6) + 3.0  # no near-zero entry
        a = _cubic_grad(x)
        a[seed + 2] *= 1.01
        ev, s, e = _compared(_cubic, x, a, method)
        comp = compare_entries(ev, s, e, 0.0)
        assert np.flatnonzero(comp.status != "ok").tolist() == [seed + 2]
        assert comp.status[seed + 2] == "wrong"

    def test_entries_taken_keep_their_verdicts(self, method: Method, seed: int) -> None:
        x = np.random.default_rng(seed).standard_normal(8) + 3.0
        a = _cubic_grad(x)
        a[[1, 6]] *= [1.01, 0.99]
        ev, s, e = _compared(_cubic, x, a, method)
        whole = compare_entries(ev, s, e, 0.0)
        k = np.array([6, 1, 3])
        part = compare_entries(ev, s, e.take(k, e.h[k]), whole.scale)
        assert part.status.tolist() == ["wrong", "wrong", "ok"]
        assert part.numeric.tolist() == whole.numeric[k].tolist()


class TestEntries:
    def test_take_keeps_the_parameter_and_moves_the_rest_together(self) -> None:
        leaf = np.arange(6.0).reshape(2, 3)
        e = Entries(1, leaf, np.array([5, 0, 2]), np.full(3, 1e-6), np.array([7.0, 8.0, 9.0]), 0.1)
        t = e.take(np.array([2, 0]), np.array([1e-3, 2e-3]))
        assert (t.i, t.leaf is leaf, t.rtol) == (1, True, 0.1)
        assert t.idx.tolist() == [2, 5] and t.a.tolist() == [9.0, 7.0]
        assert t.h.tolist() == [1e-3, 2e-3] and t.theta.tolist() == [2.0, 5.0]

    def test_the_values_of_complex_entries_are_their_real_parts(self) -> None:
        leaf = np.array([1 + 2j, -3 + 4j, 5 - 6j])
        e = Entries(0, leaf, np.array([2, 1]), np.ones(2), np.zeros(2), 0.1)
        assert e.theta.tolist() == [5.0, -3.0]


class TestSetting:
    @staticmethod
    def _setting(work: Any = None, sigmas: tuple[float, ...] = ()) -> Setting:
        return Setting("central", 1.0, 1e-16, None, None, False, False, work, sigmas)

    @pytest.mark.parametrize(
        ("leaf", "work", "expected"),
        [
            (np.float64, None, np.float64),
            (np.complex64, None, np.float32),  # a complex leaf's parts
            (np.float64, np.float32, np.float32),  # a cost in float32 inside
            (np.float16, np.float32, np.float16),  # the leaf's own is coarser
            (np.float32, np.float32, np.float32),
        ],
    )
    def test_the_coarser_of_the_leafs_and_the_costs_dtype(
        self, leaf: Any, work: Any, expected: Any
    ) -> None:
        s = self._setting(None if work is None else np.dtype(work))
        assert s.dtype(np.zeros(2, dtype=leaf)) == np.dtype(expected)

    def test_each_parameter_has_its_own_noise_floor(self) -> None:
        s = self._setting(sigmas=(1e-16, 3e-8))
        assert (s.at(0).sigma, s.at(1).sigma) == (1e-16, 3e-8)
        assert s.at(1).sigmas == s.sigmas  # the others' floors are kept
        assert self._setting().at(3).sigma == 1e-16  # no floors of their own: the cost's


def _cost_leaving_at_zero(kind: str) -> Callable[[Array], float]:
    """``Σ x·log x``, and at a point with an entry ≤ 0 what ``kind`` says."""

    class Mine(Exception):
        pass

    def cost(x: Array) -> float:
        if np.any(x <= 0):
            if kind == "nan":
                return float("nan")
            if kind == "math":
                return math.log(-1.0)  # ValueError: math domain error
            if kind == "key":
                raise KeyError("k")
            raise Mine("my bug")
        return float(np.sum(x * np.log(x)))

    return cost


class TestDomainError:
    @pytest.mark.parametrize("kind", ["nan", "math"])
    @pytest.mark.parametrize("error", [0.0, 0.01])
    def test_a_domain_edge_is_stepped_around(self, kind: str, error: float) -> None:
        x = np.array([1e-8, 0.5, 2.0])
        report = gradcheck.check(_cost_leaving_at_zero(kind), x, (1 + error) * (np.log(x) + 1))
        assert report.status == ("passed" if error == 0 else "failed")
        assert any("left the cost's domain" in m for m in report.messages)

    @pytest.mark.parametrize(("kind", "name"), [("key", "KeyError"), ("mine", "Mine")])
    def test_the_users_own_exception_reaches_them(self, kind: str, name: str) -> None:
        x = np.array([1e-8, 0.5, 2.0])
        with pytest.raises(CostRaised, match=f"cost raised {name}") as info:
            gradcheck.check(_cost_leaving_at_zero(kind), x, np.log(x) + 1)
        assert type(info.value.__cause__).__name__ == name

    @pytest.mark.parametrize(
        "cause", [ValueError("math domain error"), ZeroDivisionError(), RuntimeWarning("x")]
    )
    def test_numeric_errors_are_the_domains(self, cause: BaseException) -> None:
        err = CostRaised("cost raised")
        err.__cause__ = cause
        assert domain_error(err)
        assert domain_error(NonFinite("cost returned nan"))

    @pytest.mark.parametrize("cause", [KeyError("k"), TypeError("t"), None])
    def test_other_errors_are_the_users(self, cause: BaseException | None) -> None:
        err = CostRaised("cost raised")
        err.__cause__ = cause
        assert not domain_error(err)
        assert not domain_error(GradcheckError("a bad option"))
