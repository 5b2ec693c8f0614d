"""``gradcheck._jacproj``: large Jacobians through random projections ``uᵀJv``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from gradcheck import GradcheckError, check_jacobian

Array = np.ndarray[Any, Any]


def f(p: Array) -> Array:
    """A sparse map R^n → R^n: out[i] = 2 sin(x[i]) + x[i − 1]."""
    return 2 * np.sin(p) + np.roll(p, 1)  # type: ignore[no-any-return]


def vjp(p: Array, u: Array) -> Array:
    return (2 * np.cos(p) * u + np.roll(u, -1)).astype(p.dtype)  # type: ignore[no-any-return]


def jvp(p: Array, v: Array) -> Array:
    return (2 * np.cos(p) * v + np.roll(v, 1)).astype(p.dtype)  # type: ignore[no-any-return]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", [10_000, 100_000])
def test_right_forms_pass(dtype: Any, n: int) -> None:
    x = np.linspace(-1, 1, n).astype(dtype)
    report = check_jacobian(f, x, vjp=vjp, jvp=jvp)
    assert report.status == "passed", report
    assert report.mode == "directional" and report.evaluations < 60


@pytest.mark.parametrize("where", [7, 54_321, 99_999])
def test_planted_entry_found_and_localised_among_1e5(where: int) -> None:
    def bad(p: Array, u: Array) -> Array:
        g = vjp(p, u)
        g[where] += 0.01 * u[where]  # ∂out[where]/∂x[where] off by 0.01
        return g

    report = check_jacobian(f, np.linspace(-1, 1, 100_000), vjp=bad)
    assert report.status == "failed"
    assert report.localisation["pinned"] == [f"out[{where}] / x[{where}]"]
    assert report.worst[0].label() == f"out[{where}] / x[{where}]"


def test_float32_factor_error_found() -> None:
    x = np.linspace(-1, 1, 20_000).astype(np.float32)
    report = check_jacobian(f, x, vjp=lambda p, u: 1.5 * vjp(p, u), localise=False)
    assert report.status == "failed"


def test_off_diagonal_entry_names_its_output_and_input() -> None:
    def bad(p: Array, u: Array) -> Array:
        g = vjp(p, u)
        g[500] += 0.5 * u[9000]  # ∂out[9000]/∂x[500] is 0, claimed 0.5
        return g

    report = check_jacobian(f, np.linspace(-1, 1, 10_000), vjp=bad, mode="directional")
    assert report.localisation["pinned"] == ["out[9000] / x[500]"]


def test_jvp_only_localises_outputs() -> None:
    def bad(p: Array, v: Array) -> Array:
        w = jvp(p, v)
        w[4321] *= 1.1
        return w

    x = np.linspace(-1, 1, 10_000)
    report = check_jacobian(f, x, jvp=bad, mode="directional", budget=1000)
    assert report.status == "failed"
    assert report.localisation["pinned"] == ["out[4321]"]  # ~40 log₂ m evaluations
    assert any("not localised" in m for m in report.messages)


def test_budget_bounds_the_search() -> None:
    def bad(p: Array, u: Array) -> Array:
        return vjp(p, u) * 1.1  # every output wrong: bisection cannot finish

    report = check_jacobian(f, np.linspace(-1, 1, 10_000), vjp=bad, budget=100)
    assert report.status == "failed" and report.localisation["exhausted"]
    assert report.evaluations < 100 + 200


@pytest.mark.parametrize(
    ("option", "value"), [("eps", 1e-6), ("atol", 1e-8), ("method", "forward")]
)
def test_options_projections_do_not_use_raise(option: str, value: Any) -> None:
    with pytest.raises(GradcheckError, match=f"option '{option}' does not apply.*mode='full'"):
        check_jacobian(f, np.linspace(-1, 1, 10_000), vjp=vjp, **{option: value})
