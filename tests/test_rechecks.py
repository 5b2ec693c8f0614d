"""``gradcheck._rechecks``: the entrywise strategy's second looks at other steps, each
judging only the entries its rule is for, and saying so in a note."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from gradcheck import _rechecks as rc
from gradcheck._entries import Entries, Setting, compare_entries
from gradcheck._evaluate import CostRaised, SerialEvaluator
from test_entries import _compared, _cost_leaving_at_zero

Array = np.ndarray[Any, Any]


def _first(
    cost: Callable[[Array], float], x: Array, a: Array
) -> tuple[SerialEvaluator, Setting, Entries, Any]:
    """``cost``'s entries at ``x`` and their first comparison, claimed ``a``."""
    ev, s, e = _compared(cost, x, a, "central")
    return ev, s, e, compare_entries(ev, s, e, 0.0)


class TestNoted:
    def test_the_note_goes_after_the_others_and_nothing_else_moves(self) -> None:
        _, _, _, comp = _first(lambda p: float(np.sum(p**2)), np.array([1.0, 2.0]), np.ones(2))
        once = rc.noted(replace(comp, notes=("first",)), "second")
        assert once.notes == ("first", "second")
        np.testing.assert_array_equal(once.status, comp.status)
        np.testing.assert_array_equal(once.numeric, comp.numeric)


class TestMeasurer:
    def test_it_compares_the_chosen_entries_afresh_at_the_given_steps(self) -> None:
        x = np.array([0.3, 1.2, -0.7])
        ev, s, e, _ = _first(lambda p: float(np.sum(np.sin(p))), x, np.cos(x))
        k, hk = np.array([2, 0]), np.array([1e-4, 2e-4])
        got = rc.measurer(ev, s, e, 5.0)(k, hk)
        want = compare_entries(ev, s, e.take(k, hk), 5.0)
        np.testing.assert_array_equal(got.numeric, want.numeric)
        np.testing.assert_array_equal(got.status, want.status)
        assert got.scale == want.scale


class TestFirstCompare:
    def test_a_smooth_cost_keeps_its_steps_and_says_nothing(self) -> None:
        x = np.array([0.3, 1.2])
        ev, s, e, _ = _first(lambda p: float(np.sum(np.sin(p))), x, np.cos(x))
        first = rc.first_compare(ev, s, e, "x")
        assert first.entries is e and first.comparison.notes == ()
        assert first.comparison.status.tolist() == ["ok", "ok"]

    @pytest.mark.parametrize(("error", "status"), [(0.0, "ok"), (0.01, "wrong")])
    def test_a_step_out_of_the_domain_is_taken_on_its_own_side(
        self, error: float, status: str
    ) -> None:
        x = np.array([1e-8, 0.5, 2.0])
        ev, s, e = _compared(
            _cost_leaving_at_zero("nan"), x, (1 + error) * (np.log(x) + 1), "central"
        )
        first = rc.first_compare(ev, s, e, "x")
        assert first.entries.h[0] < 1e-8 < e.h[0]  # only the entry that left moved
        np.testing.assert_array_equal(first.entries.h[1:], e.h[1:])
        assert first.comparison.status.tolist() == [status] * 3
        assert first.comparison.notes == (
            "x: 1 entries' steps reached across 0 and left the cost's domain: they are "
            "judged at steps within their own side, relative to |θ|",
        )

    def test_the_users_own_exception_is_not_stepped_around(self) -> None:
        x = np.array([1e-8, 0.5, 2.0])
        ev, s, e = _compared(_cost_leaving_at_zero("key"), x, np.log(x) + 1, "central")
        with pytest.raises(CostRaised):
            rc.first_compare(ev, s, e, "x")


class TestStraddledKinks:
    @pytest.mark.parametrize(("wrong", "status"), [(False, "ok"), (True, "wrong")])
    def test_an_entry_next_to_a_kink_is_judged_clear_of_it(self, wrong: bool, status: str) -> None:
        x = np.array([1 + 1e-7, 0.3, 2.0])  # the first one's steps straddle relu's kink at 1

        def cost(p: Array) -> float:
            return float(np.sum(np.maximum(p - 1, 0) + 0.5 * p**2))

        a = (x > 1) + x
        if wrong:
            a[0] = 5.0
        ev, s, e, comp = _first(cost, x, a)
        assert comp.status.tolist() == ["uncertain", "ok", "ok"]
        assert rc.straddled_kinks(ev, s, e, comp).status.tolist() == [status, "ok", "ok"]


class TestAcrossZero:
    def test_an_entry_whose_steps_jump_a_pole_is_judged_on_its_own_side(self) -> None:
        x = np.array([1.1e-8, 2.0, -1.5])  # log|θ|: a pole at 0, within the first steps

        def cost(p: Array) -> float:
            return float(np.sum(np.log(np.abs(p))))

        ev, s, e, comp = _first(cost, x, 1 / x)
        assert comp.status.tolist() == ["uncertain", "ok", "ok"]
        out = rc.across_zero(ev, s, e, comp, "x")
        assert out.status.tolist() == ["ok", "ok", "ok"]
        assert out.notes[-1].startswith("x: 1 entries' steps reached across 0, where the cost")
        wrong = 2 / x
        ev, s, e, comp = _first(cost, x, wrong)
        assert rc.across_zero(ev, s, e, comp, "x").status[0] == "wrong"

    def test_nothing_across_zero_says_nothing(self) -> None:
        x = np.array([0.3, 1.2])
        ev, s, e, comp = _first(lambda p: float(np.sum(np.sin(p))), x, np.cos(x))
        assert rc.across_zero(ev, s, e, comp, "x") is comp


_W = 5e-7


def _bump(p: Array) -> float:
    """``Σ log(1 + (θ/w)²)``: a feature of width ``w`` = 5e-7, narrower than the steps."""
    return float(np.sum(np.log1p((p / _W) ** 2)))


class TestSharpFeatures:
    X = np.array([2e-7, 0.3, 1e-6, 3e-7])

    def test_entries_in_a_narrow_feature_are_judged_at_smaller_steps(self) -> None:
        ev, s, e, comp = _first(_bump, self.X, 2 * self.X / (_W**2 + self.X**2))
        assert comp.status.tolist() == ["uncertain", "ok", "uncertain", "uncertain"]
        out = rc.sharp_features(ev, s, e, comp, "x")
        assert out.status.tolist() == ["ok", "ok", "uncertain", "ok"]
        assert out.notes[-1] == (
            "x: 2 entries vary faster than their step (their differences' truncation error "
            "was large): they are judged at smaller steps, where two steps agree"
        )

    def test_only_central_differences_are_sharpened(self) -> None:
        ev, s, e, comp = _first(_bump, self.X, 2 * self.X / (_W**2 + self.X**2))
        forward = replace(s, method="forward")
        assert rc.sharp_features(ev, forward, e, comp, "x") is comp


class TestNotKinks:
    X = TestSharpFeatures.X

    def test_a_kink_at_theta_smooth_at_a_smaller_step_is_judged_there(self) -> None:
        ev, s, e, comp = _first(_bump, self.X, 2 * self.X / (_W**2 + self.X**2))
        out = rc.not_kinks(ev, s, e, comp, "x")
        assert out.status.tolist() == ["uncertain", "ok", "ok", "uncertain"]
        assert out.notes[-1].startswith("x: 1 entries looked like kinks at θ")
        assert out.notes[-1].endswith("(2 could not be, and are left unresolved)")

    def test_only_central_differences_are_looked_at_again(self) -> None:
        ev, s, e, comp = _first(_bump, self.X, 2 * self.X / (_W**2 + self.X**2))
        assert rc.not_kinks(ev, replace(s, method="forward"), e, comp, "x") is comp
