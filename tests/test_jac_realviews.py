"""A complex problem's forms on real views (``_jac_realviews``)."""

from __future__ import annotations

import doctest
from typing import Any

import numpy as np
import pytest

from gradcheck import GradcheckError
from gradcheck import _jac_realviews as rv
from gradcheck._complex import pair
from gradcheck._pytree import flatten

Array = np.ndarray[Any, Any]
RNG = np.random.default_rng(11)
J = RNG.standard_normal((3, 2)) + 1j * RNG.standard_normal((3, 2))
Z = RNG.standard_normal(2) + 1j * RNG.standard_normal(2)


def _views(convention: str = "conjugate", complex_in: bool = True) -> rv.RealViews:
    tree = flatten(np.zeros(1))[2]
    return rv.RealViews(
        ["x"], [(2,)], (complex_in,), tree, ["out"], [(3,)], (True,), tree, convention
    )


def _real_jacobian() -> Array:
    """The real views' Jacobian of z ↦ J z, column by column of the real view."""
    cols = []
    for k in range(4):
        e = np.zeros(4)
        e[k] = 1.0
        cols.append(pair(J @ (e[0::2] + 1j * e[1::2])).reshape(-1))
    return np.stack(cols, axis=1)


def test_the_jacobian_matrix_is_the_real_linear_map() -> None:
    got = rv.Jacobian(None, _views()).matrix(J, "jacobian is")
    np.testing.assert_allclose(got, _real_jacobian())


def test_jvp_is_the_real_jacobian_on_real_views() -> None:
    jvp = rv.Jvp(lambda p, v: J @ v, _views())
    v = RNG.standard_normal((2, 2))
    np.testing.assert_allclose(jvp(pair(Z), v).reshape(-1), _real_jacobian() @ v.reshape(-1))


@pytest.mark.parametrize(
    ("convention", "rule"),
    [("conjugate", lambda w: np.conj(J).T @ w), ("plain", lambda w: J.T @ w)],
)
def test_vjp_is_the_transpose_in_either_convention(convention: str, rule: Any) -> None:
    vjp = rv.Vjp(lambda p, w: rule(w), _views(convention))
    u = RNG.standard_normal((3, 2))
    np.testing.assert_allclose(vjp(pair(Z), u).reshape(-1), _real_jacobian().T @ u.reshape(-1))


def test_a_real_parameter_gets_the_real_part_of_the_vjp() -> None:
    vjp = rv.Vjp(lambda p, w: np.conj(J).T @ w, _views(complex_in=False))
    u = RNG.standard_normal((3, 2))
    got = vjp(np.zeros(2), u)
    w = u[:, 0] + 1j * u[:, 1]
    np.testing.assert_allclose(got, np.real(np.conj(J).T @ w))


def test_a_result_of_the_wrong_shape_is_named() -> None:
    jvp = rv.Jvp(lambda p, v: np.zeros(2, complex), _views())
    with pytest.raises(GradcheckError, match=r"shape \(2,\) for 'out'.*shape \(3,\)"):
        jvp(pair(Z), np.zeros((2, 2)))


def test_module_examples() -> None:
    assert doctest.testmod(rv).failed == 0
