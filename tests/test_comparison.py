"""``gradcheck._comparison``: a comparison's record, its detection bound, and the rules
that read it afterwards (round-off or truncation, the model's scale)."""

from __future__ import annotations

import dataclasses

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
