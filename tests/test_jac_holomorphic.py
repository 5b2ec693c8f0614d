"""The Cauchy–Riemann residual that tells a non-holomorphic ``fn`` (``_jac_holomorphic``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from gradcheck._complex import pair
from gradcheck._jac_holomorphic import RESIDUAL_MARGIN, cauchy_riemann
from gradcheck._jac_realviews import Fn, RealViews
from gradcheck._pytree import flatten

Array = np.ndarray[Any, Any]


def _residual(f: Callable[[Array], Array], z: Array, seed: int = 0) -> Any:
    tree = flatten(z)[2]
    views = RealViews(
        ["x"], [z.shape], (True,), tree, ["out"], [z.shape], (True,), tree, "conjugate"
    )
    return cauchy_riemann(Fn(f, views), pair(z), views, seed)


def _z(n: int, scale: float, seed: int, dtype: Any = np.complex128) -> Array:
    rng = np.random.default_rng(seed)
    return (scale * (rng.standard_normal(n) + 1j * rng.standard_normal(n))).astype(dtype)


HOLOMORPHIC = {
    "exp": np.exp,
    "sin": np.sin,
    "z³": lambda p: p**3,
    "1/(1+z²)": lambda p: 1 / (1 + p**2),
    "mixing": lambda p: np.cumsum(p) * p[::-1],
}


@pytest.mark.parametrize("name", sorted(HOLOMORPHIC))
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("scale", [1e-3, 1.0, 3.0])
def test_holomorphic_functions_are(name: str, seed: int, scale: float) -> None:
    r = _residual(HOLOMORPHIC[name], _z(5, scale, seed), seed)
    assert r.holomorphic, r


@pytest.mark.parametrize("seed", [0, 1])
def test_complex64_holomorphic(seed: int) -> None:
    r = _residual(np.sin, _z(5, 1.0, seed, np.complex64), seed)
    assert r.holomorphic, r


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
def test_shares_of_non_holomorphic_functions(dtype: Any) -> None:
    z = _z(4, 1.0, 3, dtype)
    conj = _residual(np.conj, z)
    assert not conj.holomorphic and conj.share == pytest.approx(1.0, abs=1e-3)
    real = _residual(lambda p: 2 * p.real + 0j, z)  # z + z̄: A = B = 1
    assert not real.holomorphic and real.share == pytest.approx(0.5, abs=1e-3)


def test_a_small_antiholomorphic_part_is_seen_above_its_error() -> None:
    r = _residual(lambda p: p**2 + 1e-6 * np.conj(p), _z(4, 1.0, 5))
    assert r.anti > RESIDUAL_MARGIN * r.error
    assert r.share == pytest.approx(1e-6 / 2, rel=0.9)  # |B v̄| against |A v| ≈ |2z·v|


def test_the_rng_and_params_are_left_alone() -> None:
    z = _z(3, 1.0, 0)
    x = pair(z)
    before = (x.tobytes(), np.random.get_state()[1].tobytes())

    def f(p: Array) -> Array:
        p *= 2  # writes into its private copy
        return np.sin(p) + 0 * np.random.standard_normal()

    _residual(f, z)
    assert np.array_equal(pair(z), x)
    assert (x.tobytes(), np.random.get_state()[1].tobytes()) == before
