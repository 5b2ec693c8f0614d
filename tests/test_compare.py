"""The per-entry comparison: which estimated errors are round-off, which truncation."""

from __future__ import annotations

import numpy as np

from gradcheck import _compare as cmp


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
