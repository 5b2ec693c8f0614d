"""Tests for gradcheck._retry: the scale a retry judges on (core22, attack21 A9)."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradcheck import _compare as cmp
from gradcheck._retry import _kept_scale, _rescale

Array = np.ndarray[Any, Any]


def _comparison(numeric: Array, reach: Array, status: list[str], scale: float) -> cmp.Comparison:
    n = numeric.size
    return cmp.Comparison(
        numeric.copy(),
        np.zeros(n),
        np.zeros(n),
        np.zeros(n),
        np.array(status, dtype=object),
        reach.copy(),
        np.zeros(n, dtype=bool),
        scale,
    )


class TestTheRetrysScale:
    """At ``1e12 + Σ sin θ`` the first step's estimates are noise (3.9 for a gradient of
    0.9); a retry judged on that scale passed a reach of 23% of the true one."""

    def test_the_entries_retried_do_not_set_it(self) -> None:
        a = np.array([0.5, -0.9, 0.3])
        c = _comparison(np.array([0.49, -3.9, 2.0]), np.zeros(3), ["ok"] * 3, 3.9)
        assert _kept_scale(c, a, np.array([1, 2])) == 0.9  # the claim's largest entry
        assert _kept_scale(c, a, np.array([1])) == 2.0  # entry 2 is kept: its estimate counts

    def test_a_non_finite_estimate_is_no_scale(self) -> None:
        a = np.array([0.5, 0.2])
        c = _comparison(np.array([np.inf, 0.2]), np.zeros(2), ["uncertain", "ok"], 1.0)
        assert _kept_scale(c, a, np.array([1])) == 0.5

    def test_after_the_retry_the_scale_shrinks_and_the_rule_applies_again(self) -> None:
        a = np.array([0.9, 0.5])
        c = _comparison(np.array([0.9, 0.5]), np.array([0.2, 0.05]), ["ok", "ok"], 3.9)
        _rescale(c, a, fixed=False)
        assert c.scale == 0.9
        assert c.status.tolist() == ["uncertain", "ok"]  # 0.2 > 10% of 0.9

    def test_a_fixed_tolerance_keeps_its_verdicts(self) -> None:
        a = np.array([0.9, 0.5])
        c = _comparison(np.array([0.9, 0.5]), np.array([0.2, 0.05]), ["ok", "ok"], 3.9)
        _rescale(c, a, fixed=True)
        assert c.scale == 0.9 and c.status.tolist() == ["ok", "ok"]

    def test_a_larger_scale_is_kept_and_the_rule_applies_on_it(self) -> None:
        # estimates merged from a retry never raise the scale, and the 10% reach rule is
        # applied again whatever the scale did: an ok entry with a reach of 40% of the
        # scale passed a zero float32 backward with a bound of 8.8e7 (attack22 C6)
        a = np.array([0.9, 0.5])
        c = _comparison(np.array([0.9, 0.5]), np.array([0.2, 0.05]), ["ok", "ok"], 0.5)
        _rescale(c, a, fixed=False)
        assert c.scale == 0.5 and c.status.tolist() == ["uncertain", "ok"]
