"""Tests for gradcheck._directional_probe: one probe's kink test."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gradcheck._directional_probe import _kinked

H = 1e-5


def _values(j: Callable[[float], float]) -> tuple[float, ...]:
    return (j(H), j(-H), j(H / 2), j(-H / 2), j(0.0))


class TestKinked:
    def test_a_smooth_cost_is_not_kinked(self) -> None:
        assert not _kinked(_values(lambda t: 3.0 * t + 40.0 * t * t), H, 1e-16, 1e-9, 3.0)

    def test_a_kink_at_theta_is(self) -> None:
        assert _kinked(_values(lambda t: 3.0 * t + abs(t)), H, 1e-16, 1e-9, 3.0)

    def test_kinks_at_and_off_theta_together_are(self) -> None:
        # the jump neither stays nor vanishes (attack26 H22): rules 1 and 2 call it smooth
        def j(t: float) -> float:
            return 3.0 * t + 0.3 * abs(t) + 4.0 * max(t - 0.7 * H, 0.0)

        assert _kinked(_values(j), H, 1e-16, 1e-9, 3.0)

    @pytest.mark.parametrize("noise", [0.0, 1e-16])
    def test_the_tolerance_it_is_given_is_what_hides_a_kink(self, noise: float) -> None:
        # a tolerance grown by the kink's own Richardson error would hide it; the probe
        # passes the screen and 6σ/h only
        def j(t: float) -> float:
            return 3.0 * t + 0.3 * abs(t) + 4.0 * max(t - 0.7 * H, 0.0)

        assert not _kinked(_values(j), H, noise, 1.0, 3.0)
