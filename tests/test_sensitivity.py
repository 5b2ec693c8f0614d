"""Absolute sensitivity: what the check catches, pinned in numbers it does not choose.

The property tests plant errors at 1.1× the bound the check *states*; a change that
inflates every bound (a larger ``SAFETY``, a worse step) would inflate the stated bound
too and pass them. These tests pin fixed sizes instead (issue 16):

* a relative error of a fixed size (relative to the parameter's largest gradient
  entry) fails at every entry position, for every method and dtype, and the stated
  bound is below that size;
* wrong gradients fail under ``method="complex"`` too, and right ones pass in float32;
* the estimated finite-difference error (``fd_error``) is close to the true error of
  the estimate, which the test knows from the exact derivative;
* ``atol`` alone selects the fixed tolerance rule.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gradcheck

Array = np.ndarray[Any, Any]
N = 8

#: (dtype, method) → the relative error that must be caught at every entry. Each is a
#: few times the bound the check states today on the smooth cost below (the figures in
#: the comments), so a change that makes the check several times less sensitive fails.
CAUGHT = {
    ("float64", "central"): 1e-6,  # stated 2e-7
    ("float64", "forward"): 1e-4,  # stated 2.1e-5
    ("float64", "complex"): 1e-9,  # stated 2e-10
    ("float64", "richardson"): 1e-8,  # stated 2e-9
    ("float32", "central"): 3e-2,  # stated 8e-3
    ("float32", "complex"): 1e-4,  # stated 2.2e-5
    ("float32", "richardson"): 1e-2,  # stated 2.6e-3
}


def _problem(dtype: str, seed: int = 0) -> tuple[Array, Callable[[Array], Any], Array]:
    """A smooth cost of ``N`` entries in ``dtype`` and its exact float64 gradient."""
    rng = np.random.default_rng(seed)
    a, c = rng.uniform(0.5, 2.0, N), rng.uniform(0.5, 2.0, N)
    x = rng.uniform(-1.5, 1.5, N).astype(dtype)

    def cost(p: Array) -> Any:
        return np.sum(c.astype(p.dtype) * np.sin(a.astype(p.dtype) * p)) + 0.25 * np.sum(p**2)

    x64 = x.astype(np.float64)
    return x, cost, c * a * np.cos(a * x64) + 0.5 * x64


@pytest.mark.parametrize(("dtype", "method"), sorted(CAUGHT))
def test_fixed_relative_error_fails_at_every_entry(dtype: str, method: str) -> None:
    x, cost, g = _problem(dtype)
    size = CAUGHT[(dtype, method)]
    clean = gradcheck.check(cost, x, g, method=method)
    assert clean.status == "passed", str(clean)
    assert clean.parameters["x"].detection_bound < size
    for i in range(N):
        for sign in (1.0, -1.0):
            wrong = g.copy()
            wrong[i] += sign * size * np.max(np.abs(g))
            report = gradcheck.check(cost, x, wrong, method=method)
            assert report.status == "failed", f"entry {i}, sign {sign}:\n{report}"
            assert report.worst[0].index == (i,)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "mistake",
    [
        lambda g: 2.0 * g,
        lambda g: -g,
        lambda g: np.where(np.arange(N) == 3, 0.0, g),
        lambda g: g[::-1].copy(),
    ],
    ids=["factor", "sign", "one-zero", "reversed"],
)
def test_complex_step_fails_wrong_gradients(dtype: str, mistake: Callable[[Array], Array]) -> None:
    x, cost, g = _problem(dtype, seed=1)
    report = gradcheck.check(cost, x, mistake(g), method="complex")
    assert report.status == "failed", str(report)


@pytest.mark.parametrize("seed", range(5))
def test_complex_step_passes_right_float32_gradients(seed: int) -> None:
    x, cost, g = _problem("float32", seed=seed)
    report = gradcheck.check(cost, x, g, method="complex")
    assert report.status == "passed", str(report)


def test_fd_error_estimates_the_true_error() -> None:
    """At a large fixed step the central estimate's error is known from the exact
    derivative; the Richardson-based estimate must be within 25% of it."""
    x, cost, g = _problem("float64", seed=2)
    report = gradcheck.check(cost, x, g, eps=1e-2)
    for entry in report.worst:
        i = entry.index[0]
        true_error = abs(entry.numeric - g[i])
        assert true_error > 1e-7  # the step is large: the error is real, not round-off
        assert entry.fd_error == pytest.approx(true_error, rel=0.25), entry


def test_stated_bound_is_close_to_the_true_error() -> None:
    """At a large fixed step the stated bound must not exceed the true relative error
    of the finite differences by more than SAFETY-and-noise allowances (a factor 30)."""
    x, cost, g = _problem("float64", seed=3)
    report = gradcheck.check(cost, x, g, eps=1e-2)
    result = report.parameters["x"]
    true_rel = max(abs(e.numeric - g[e.index[0]]) for e in report.worst) / np.max(np.abs(g))
    assert result.detection_bound >= true_rel  # it cannot see below its own error
    assert result.detection_bound <= 30 * true_rel


def test_atol_alone_selects_the_fixed_rule() -> None:
    x, cost, g = _problem("float64", seed=4)
    report = gradcheck.check(cost, x, g, atol=1e-4)
    assert report.options["tolerance_rule"] == "fixed"
    wrong = g.copy()
    wrong[2] += 1e-3  # above atol: fails under the fixed rule
    assert gradcheck.check(cost, x, wrong, atol=1e-4).status == "failed"
    wrong[2] = g[2] + 1e-5  # below atol: passes, though the estimate rule catches it
    assert gradcheck.check(cost, x, wrong, atol=1e-4).status == "passed"
    assert gradcheck.check(cost, x, wrong).status == "failed"


class TestAtolAloneIsTheUsersRule:
    """``atol`` without ``rtol`` is a fixed tolerance the check applies as given, like
    ``rtol`` and ``atol`` together: a tolerance wider than a tenth of the gradient's
    scale is the user's choice, so a right gradient passes instead of being called
    inconclusive (the estimate rule's verdict on a tolerance that wide)."""

    @pytest.mark.parametrize("dtype", ["float64", "float32"])
    @pytest.mark.parametrize("scale", [1e-4, 1.0, 1e3])
    def test_a_wide_atol_passes_a_right_gradient(self, dtype: str, scale: float) -> None:
        x = np.random.default_rng(5).normal(size=6).astype(dtype)

        def cost(v: Array) -> Any:
            return 0.5 * scale * np.sum(v**2)

        g = (scale * x).astype(dtype)
        alone = gradcheck.check(cost, x, g, atol=scale)
        both = gradcheck.check(cost, x, g, rtol=1e-4, atol=scale)
        assert (alone.status, both.status) == ("passed", "passed")
        assert alone.options["tolerance_rule"] == "fixed"
