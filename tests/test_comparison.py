"""``gradcheck._comparison``: a comparison's record, its detection bound, and the rules
that read it afterwards (round-off or truncation, the model's scale)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from gradcheck import _comparison as cmp


def _comparison(fd_error: list[float]) -> cmp.Comparison:
    n = len(fd_error)
    z = np.zeros(n)
    status = np.array(["uncertain"] * n, dtype=object)
    return cmp.Comparison(z, z, z, np.array(fd_error), status, z, np.zeros(n, bool), 1.0)


class TestRoundoffLimited:
    def test_never_examined_and_noise_sized_errors_are_roundoff(self) -> None:
        noise = np.array([1e-10, 1e-10, 1e-10])
        c = _comparison([0.0, 1e-10, (1 + cmp.NOISE_SPREAD) * 1e-10])
        assert cmp.roundoff_limited(c, noise).tolist() == [True, True, True]

    def test_a_spread_beyond_the_noise_is_truncation(self) -> None:
        c = _comparison([9e-10, 1e-3])
        assert cmp.roundoff_limited(c, np.array([1e-10, 1e-10])).tolist() == [False, False]

    def test_no_noise_means_any_spread_is_truncation(self) -> None:
        c = _comparison([0.0, 1e-300])
        assert cmp.roundoff_limited(c, np.zeros(2)).tolist() == [True, False]


class TestDetectionBoundReference:
    def test_relative_to_the_largest_analytic_entry(self) -> None:
        c = _comparison([0.0, 0.0])
        c = dataclasses.replace(c, reach=np.array([0.2, 0.1]), scale=4.0, peak=0.5)
        assert c.detection_bound == pytest.approx(0.4)  # 0.2 / 0.5, not 0.2 / 4

    def test_scale_when_the_analytic_gradient_is_zero(self) -> None:
        c = dataclasses.replace(_comparison([0.0]), reach=np.array([0.2]), scale=4.0)
        assert c.detection_bound == pytest.approx(0.05)

    def test_an_entry_left_at_a_kink_states_no_bound(self) -> None:
        c = _comparison([0.0, 0.0])
        c.status[:] = ["ok", "nonsmooth"]
        c = dataclasses.replace(c, reach=np.array([0.2, 0.1]), peak=1.0)
        assert c.detection_bound == np.inf

    def test_on_model_scale_takes_the_models_largest_entry(self) -> None:
        c = dataclasses.replace(_comparison([0.0]), reach=np.array([0.2]), scale=1e-9)
        moved = cmp.on_model_scale(c, 3.0, 2.0)
        assert (moved.scale, moved.peak) == (3.0, 2.0)
        assert moved.detection_bound == pytest.approx(0.1)


def _three(**fields: object) -> cmp.Comparison:
    """Three entries whose every per-entry field differs from entry to entry."""
    base: dict[str, object] = {
        "numeric": np.array([1.0, 2.0, 3.0]),
        "abs_error": np.array([0.1, 0.2, 0.3]),
        "tolerance": np.array([1e-3, 2e-3, 3e-3]),
        "fd_error": np.array([1e-5, 2e-5, 3e-5]),
        "status": np.array(["ok", "wrong", "uncertain"], dtype=object),
        "reach": np.array([0.01, 0.02, 0.03]),
        "flat": np.array([False, True, False]),
        "scale": 3.0,
        "kink": np.array([np.nan, 0.0, 1e-4]),
        "bracketed": np.array([False, True, True]),
        "notes": ("a note",),
        "peak": 2.5,
        "nearby": "ran",
        "exact": np.array([True, False, False]),
        "resolution": np.array([1e-9, np.nan, np.nan]),
    }
    return cmp.Comparison(**{**base, **fields})  # type: ignore[arg-type]


class TestRecord:
    def test_a_comparison_without_kink_fields_saw_no_kink_nor_exact_zero(self) -> None:
        z = np.zeros(2)
        c = cmp.Comparison(z, z, z, z, np.array(["ok", "ok"], dtype=object), z, z > 0, 1.0)
        assert np.isnan(c.kink).tolist() == [True, True]
        assert c.bracketed.tolist() == [False, False] and c.bracketed.dtype == bool
        assert c.exact.tolist() == [False, False] and c.exact.dtype == bool
        assert np.isnan(c.resolution).tolist() == [True, True]
        assert (c.notes, c.peak, c.nearby) == ((), 0.0, "")

    def test_given_kink_fields_are_kept(self) -> None:
        c = _three()
        assert c.kink[1:].tolist() == [0.0, 1e-4]
        assert c.bracketed.tolist() == [False, True, True]
        assert c.exact.tolist() == [True, False, False]
        assert c.resolution[0] == 1e-9

    def test_a_subset_takes_every_per_entry_field(self) -> None:
        c = _three()
        s = c.subset(np.array([False, True, True]))
        assert s.numeric.tolist() == [2.0, 3.0]
        assert s.abs_error.tolist() == [0.2, 0.3]
        assert s.tolerance.tolist() == [2e-3, 3e-3]
        assert s.fd_error.tolist() == [2e-5, 3e-5]
        assert s.status.tolist() == ["wrong", "uncertain"]
        assert s.reach.tolist() == [0.02, 0.03]
        assert s.flat.tolist() == [True, False]
        assert s.kink.tolist() == [0.0, 1e-4]
        assert s.bracketed.tolist() == [True, True]
        assert s.exact.tolist() == [False, False]
        assert np.isnan(s.resolution).all()
        assert (s.scale, s.peak, s.notes, s.nearby) == (3.0, 2.5, ("a note",), "ran")

    def test_replace_writes_every_per_entry_field(self) -> None:
        c, other = _three(), _three().subset(np.array([0]))
        c.replace(np.array([2]), other)
        for name in cmp.Comparison.PER_ENTRY:  # str: NaN reads as NaN
            assert str(getattr(c, name)[2:].tolist()) == str(getattr(other, name).tolist()), name
        assert c.status.tolist() == ["ok", "wrong", "ok"]
        assert c.numeric.tolist() == [1.0, 2.0, 1.0]
        assert c.kink[2] != c.kink[2]  # NaN, from entry 0

    def test_no_bound_without_entries_or_scale(self) -> None:
        assert _three(scale=0.0).detection_bound == 0.0
        assert _three(scale=-1.0).detection_bound == 0.0
        empty = _three().subset(np.zeros(3, dtype=bool))
        assert empty.detection_bound == 0.0

    def test_the_bound_is_the_largest_reach_over_the_peak(self) -> None:
        assert _three().detection_bound == 0.03 / 2.5
        assert _three(peak=0.0).detection_bound == 0.03 / 3.0


def _zeroish(analytic: list[float], numeric: list[float], tol: list[float]) -> cmp.Comparison:
    n = len(numeric)
    status = np.array(["ok"] * n, dtype=object)
    z = np.zeros(n)
    return cmp.Comparison(np.array(numeric), z, np.array(tol), z, status, z, z > 0, 1.0)


class TestZeroWithinNoise:
    def test_no_entries_is_not_zero(self) -> None:
        c = _zeroish([], [], [])
        assert cmp.zero_within_noise(c, np.zeros(0)) is False

    def test_both_sides_within_the_tolerance_exactly(self) -> None:
        c = _zeroish([], [0.5, -0.25], [0.5, 0.25])
        assert cmp.zero_within_noise(c, np.array([-0.5, 0.0])) is True

    def test_either_side_above_is_not_zero(self) -> None:
        c = _zeroish([], [0.0, 0.0], [0.5, 0.5])
        assert cmp.zero_within_noise(c, np.array([0.0, np.nextafter(0.5, 1.0)])) is False
        c = _zeroish([], [0.0, -0.75], [0.5, 0.5])
        assert cmp.zero_within_noise(c, np.zeros(2)) is False

    def test_the_first_comparisons_tolerance_when_given(self) -> None:
        c = _zeroish([], [0.0, 0.3], [0.5, 0.5])
        assert cmp.zero_within_noise(c, np.zeros(2), np.array([0.5, 0.25])) is False
        c = _zeroish([], [0.0, 0.3], [0.25, 0.25])
        assert cmp.zero_within_noise(c, np.zeros(2), np.array([0.5, 0.5])) is True

    def test_the_estimated_error_counts_only_with_error(self) -> None:
        c = dataclasses.replace(_zeroish([], [0.0, 10.0], [0.25, 0.25]), fd_error=np.full(2, 2.0))
        assert cmp.zero_within_noise(c, np.zeros(2)) is False
        assert cmp.zero_within_noise(c, np.zeros(2), with_error=False) is False
        assert cmp.zero_within_noise(c, np.zeros(2), with_error=True) is True  # 0.25 + 10·2


def _lost(status: list[str], flat: list[bool], abs_error: list[float], reach: list[float]) -> Any:
    n = len(status)
    z = np.zeros(n)
    s = np.array(status, dtype=object)
    return cmp.Comparison(z, np.array(abs_error), z, z, s, np.array(reach), np.array(flat), 1e-9)


class TestOnModelScale:
    def test_uncertain_within_a_tenth_of_the_model_scale_is_ok(self) -> None:
        c = _lost(["uncertain", "uncertain", "wrong"], [False] * 3, [0.0] * 3, [1.0, 1.5, 0.0])
        moved = cmp.on_model_scale(c, 10.0, 4.0)
        assert moved.status.tolist() == ["ok", "uncertain", "wrong"]
        assert (moved.scale, moved.peak) == (10.0, 4.0)
        assert c.status.tolist() == ["uncertain", "uncertain", "wrong"]  # not changed

    def test_a_flat_wrong_entry_within_the_screen_is_uncertain_first(self) -> None:
        c = _lost(
            ["wrong", "wrong", "wrong", "wrong", "wrong"],
            [True, True, False, True, True],
            [0.25, 0.5, 0.25, 0.75, 0.25],
            [0.0, 0.0, 0.0, 0.0, 4.0],
        )
        screen = np.full(5, 0.5)
        moved = cmp.on_model_scale(c, 1.0, 1.0, screen)
        assert moved.status.tolist() == ["uncertain", "uncertain", "wrong", "wrong", "uncertain"]
        assert moved.reach.tolist() == [0.75, 1.0, 0.0, 0.0, 4.0]
        assert c.reach.tolist() == [0.0] * 4 + [4.0] and c.status[0] == "wrong"
        assert cmp.on_model_scale(c, 10.0, 1.0, screen).status.tolist() == [
            "ok",
            "ok",
            "wrong",
            "wrong",
            "uncertain",
        ]

    def test_without_a_screen_a_wrong_entry_stays_wrong(self) -> None:
        c = _lost(["wrong"], [True], [0.0], [0.0])
        assert cmp.on_model_scale(c, 1.0, 1.0).status.tolist() == ["wrong"]
