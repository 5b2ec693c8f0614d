"""Precision (issue 11 §2): a cost judged by the precision its values show.

A cost computing in float32 inside a float64 value, or with a low-precision stage
inside, is found from its values; a check that cannot see small errors says so. The
float64 route, the formula checked on a float64 copy, is tests/test_float64_route.py's.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import gradcheck
from _deltas import delta_evaluator
from gradcheck import _precision as prec

Array = np.ndarray[Any, Any]
INF, NAN = math.inf, math.nan
_PR = np.random.default_rng(7)
_PA = _PR.standard_normal((5, 12)) / math.sqrt(12)
_PX = _PR.standard_normal(12)
_PU = _PR.standard_normal(5)
_PB = _PR.uniform(-1, 1, 12)


def _noise_costs() -> dict[str, Any]:
    """Costs of one parameter ``_PX`` (as a list of leaves), by the precision they show."""
    a16 = _PA.astype(np.float16)

    def bumps(p: Array) -> float:  # narrow features under float64's probe (attack28)
        return float(np.sum(np.sin(p)) + 1e-9 * np.sum(np.exp(-(((p - _PB) / 1e-7) ** 2))))

    return {
        "float64": lambda p: float(np.sum(np.sin(p))),
        "float32_inside": lambda p: float(np.sum(np.sin(p.astype(np.float32)))),
        "float16_inside": lambda p: float(np.sum(np.tanh(a16 @ p.astype(np.float16)))),
        "float32_stage": lambda p: float(_PU @ np.tanh(_PA @ p).astype(np.float32)),
        "float16_stage": lambda p: float(_PU @ np.tanh(_PA @ p).astype(np.float16)),
        "scaled16": lambda p: float(
            np.mean((_PU * np.sin(p[:5].astype(np.float16))).astype(np.float16))
        ),
        "stage_added": lambda p: float(
            np.sum(np.sin(p)) + np.sum(np.tanh(_PA @ p).astype(np.float32))
        ),
        "bumps": bumps,
        "rounded": lambda p: float(np.sum(np.round(3 * p))),
        "zero": lambda p: 0.0 * float(np.sum(p)),
        "tiny": lambda p: 1e-310 * float(np.sum(np.sin(p))),
    }


def _noise_of(name: str, u: float = 2.0**-52, with_analytic: bool = True) -> dict[str, Any]:
    """``cost_noise`` of cost ``name`` at ``_PX`` read whole, with the evaluations it
    spent and ``directional_work``'s answer there."""
    cost = _noise_costs()[name]
    spent: list[int] = []
    ev0 = delta_evaluator(lambda xs: cost(xs[0]), [_PX])

    def ev(points: Any) -> Array:
        spent.append(len(points))
        return np.asarray(ev0(points))

    j0 = cost(_PX.copy())
    g = [np.cos(_PX)]
    noise = prec.cost_noise(ev, [_PX], j0, u, 3, analytic=g if with_analytic else None)
    work = prec.directional_work(ev0, [_PX], j0, u, 3, g)
    return {
        "sigma": noise.sigma,
        "work": None if noise.work is None else noise.work.name,
        "note": noise.note,
        "fine": noise.fine,
        "evaluations": sum(spent),
        "directional_work": None if work is None else work.name,
    }


def _same(got: Any, want: Any, where: str = "") -> None:
    """``got == want``, floats to 1e-9 relative (NaN equal to NaN), types kept."""
    if isinstance(want, float):
        assert isinstance(got, float | int) and not isinstance(got, bool), where
        assert got == pytest.approx(want, rel=1e-9, abs=0.0, nan_ok=True), where
    elif isinstance(want, dict):
        assert isinstance(got, dict) and list(got) == list(want), (where, got)
        for k in want:
            _same(got[k], want[k], f"{where}.{k}")
    elif isinstance(want, list | tuple):
        assert type(got) is type(want) and len(got) == len(want), (where, got)
        for i, (g, w) in enumerate(zip(got, want)):
            _same(g, w, f"{where}[{i}]")
    else:
        assert got == want and type(got) is type(want), (where, got, want)


NOISES: dict[str, dict[str, Any]] = {
    "float64": {
        "sigma": 4.63515280846623e-16,
        "work": None,
        "note": "the cost returns float64 values but computes in float32 inside: its values "
        "move in float32-sized steps, so it is judged with float32's steps and "
        "tolerances (compute it in float64 to check the formula more tightly)",
        "fine": None,
        "evaluations": 28,
        "directional_work": None,
    },
    "float32_inside": {
        "sigma": 2.488478685336304e-07,
        "work": "float32",
        "note": "the cost returns float64 values but computes in float32 inside: its values "
        "move in float32-sized steps, so it is judged with float32's steps and "
        "tolerances (compute it in float64 to check the formula more tightly)",
        "fine": None,
        "evaluations": 18,
        "directional_work": "float32",
    },
    "float16_inside": {
        "sigma": 0.0012331008911132812,
        "work": "float16",
        "note": "the cost returns float64 values but computes in float16 inside: its values "
        "move in float16-sized steps, so it is judged with float16's steps and "
        "tolerances (compute it in float64 to check the formula more tightly)",
        "fine": None,
        "evaluations": 12,
        "directional_work": "float16",
    },
    "float32_stage": {
        "sigma": 1.5236338693231686e-08,
        "work": "float32",
        "note": "the cost returns float64 values, but they are as noisy as float32 round-off "
        "(noise 1.5e-08; a float32 stage inside?), so it is judged with float32's steps "
        "and tolerances (compute every stage in float64 to check the formula more "
        "tightly)",
        "fine": 1.5236338693231686e-08,
        "evaluations": 12,
        "directional_work": None,
    },
    "float16_stage": {
        "sigma": 0.00013547417922886692,
        "work": "float16",
        "note": "the cost returns float64 values, but they are as noisy as float16 round-off "
        "(noise 0.00014; a float16 stage inside?), so it is judged with float16's steps "
        "and tolerances (compute every stage in float64 to check the formula more "
        "tightly)",
        "fine": 5.548100130923721e-18,
        "evaluations": 18,
        "directional_work": None,
    },
    "scaled16": {
        "sigma": 6.842613220214844e-05,
        "work": "float16",
        "note": "the cost returns float64 values but computes in float16 inside: its values "
        "move in float16-sized steps, so it is judged with float16's steps and "
        "tolerances (compute it in float64 to check the formula more tightly)",
        "fine": None,
        "evaluations": 12,
        "directional_work": "float16",
    },
    # a float32 cast of an intermediate (tanh(A p)) jumps at no input's midpoint: a stage
    # since attack37 H181 (main 11e5eca: no stage, float64's noise, 105 evaluations)
    "stage_added": {
        "sigma": 1.0041383129011131e-07,
        "work": "float32",
        "note": "the cost returns float64 values that move smoothly at float64's steps but "
        "jump at wider ones like float32 round-off (noise 1e-07): part of it moves only in "
        "float32's steps (a float32 stage added to it?), whose slope across its stairs "
        "differences at float64's steps cannot see, so it is judged with float32's steps "
        "and tolerances (compute every stage in float64 to check the formula more tightly)",
        "fine": 1.8287997759191327e-16,
        "evaluations": 59,
        "directional_work": None,
    },
    "bumps": {
        "sigma": 4.63515280846623e-16,
        "work": None,
        "note": "the cost returns float64 values but computes in float32 inside: its values "
        "move in float32-sized steps, so it is judged with float32's steps and "
        "tolerances (compute it in float64 to check the formula more tightly)",
        "fine": None,
        "evaluations": 28,
        "directional_work": None,
    },
    "rounded": {
        "sigma": 0.0107421875,
        "work": "float16",
        "note": "the cost returns float64 values but computes in float16 inside: its values "
        "move in float16-sized steps, so it is judged with float16's steps and "
        "tolerances (compute it in float64 to check the formula more tightly)",
        "fine": None,
        "evaluations": 18,
        "directional_work": "float16",
    },
    "zero": {
        "sigma": 0.0,
        "work": None,
        "note": "the cost returns float64 values but computes in float32 inside: its values "
        "move in float32-sized steps, so it is judged with float32's steps and "
        "tolerances (compute it in float64 to check the formula more tightly)",
        "fine": None,
        "evaluations": 18,
        "directional_work": None,
    },
    "tiny": {
        "sigma": 0.0,
        "work": None,
        "note": "the cost returns float64 values but computes in float32 inside: its values "
        "move in float32-sized steps, so it is judged with float32's steps and "
        "tolerances (compute it in float64 to check the formula more tightly)",
        "fine": None,
        "evaluations": 18,
        "directional_work": None,
    },
}


class TestNoiseReadWhole:
    """``cost_noise`` and ``directional_work`` read whole on costs of each precision
    (the noise, the dtype, the note, the float64 probe's noise kept for rule 2 of
    ``gradcheck._stairs``, the evaluations; from the runs of 2026-11-28, seed 3), and
    the helpers at their bounds."""

    @pytest.mark.parametrize("name", sorted(NOISES))
    def test_the_noise(self, name: str) -> None:
        _same(_noise_of(name), NOISES[name], name)

    @pytest.mark.parametrize(
        ("name", "sigma", "evaluations"),
        [
            ("float32_inside", 2.488478685336304e-07, 12),
            ("float32_stage", 1.5236338693231686e-08, 6),
        ],
    )
    def test_without_the_analytic_gradient_no_dtype_is_read(
        self, name: str, sigma: float, evaluations: int
    ) -> None:
        got = _noise_of(name, with_analytic=False)
        assert got["work"] is None and got["fine"] is None
        assert got["sigma"] == pytest.approx(sigma, rel=1e-12)
        assert got["evaluations"] == evaluations

    @pytest.mark.parametrize("name", ["float32_inside", "float32_stage"])
    def test_a_float32_check_reads_no_dtype(self, name: str) -> None:
        got = _noise_of(name, u=2.0**-23)
        assert got["work"] is None and got["fine"] is None
        assert got["directional_work"] is None

    def test_the_notes(self) -> None:
        assert prec.hidden_note(np.float16) == (
            "the cost returns float64 values but computes in float16 inside: its values "
            "move in float16-sized steps, so it is judged with float16's steps and "
            "tolerances (compute it in float64 to check the formula more tightly)"
        )
        assert prec.hidden_note(np.float32) == prec.HIDDEN_NOTE
        f32 = np.dtype(np.float32)
        assert prec._noisy_note(f32, 1.5e-8) == (
            "the cost returns float64 values, but they are as noisy as float32 round-off "
            "(noise 1.5e-08; a float32 stage inside?), so it is judged with float32's "
            "steps and tolerances (compute every stage in float64 to check the formula "
            "more tightly)"
        )
        assert prec._jump_note(f32, 2.5e-7) == (
            "the cost returns float64 values that move smoothly at float64's steps but "
            "jump at wider ones like float32 round-off (noise 2.5e-07): part of it moves "
            "only in float32's steps (a float32 stage added to it?), whose slope across "
            "its stairs differences at float64's steps cannot see, so it is judged with "
            "float32's steps and tolerances (compute every stage in float64 to check the "
            "formula more tightly)"
        )

    def test_numbers_and_terms(self) -> None:
        assert prec._numbers(np.array([0.5, 3.0, -(2.0**-20)]), np.float32)
        assert not prec._numbers(np.array([0.5, 0.1]), np.float32)
        assert not prec._numbers(np.array([0.5, 1e39]), np.float32)  # no overflow warning
        assert prec._numbers(np.array([7.0, 7.0]), np.float16)
        g = [np.array([1.0, -2.0]), np.array([[3.0]])]
        x = [np.array([4.0, 5.0], dtype=np.float32), np.array([[1.0 - 2.0j]])]
        assert prec.terms_size(g, x) == 17.0
        assert prec.terms_size([], []) == 0

    def test_noise_like(self) -> None:
        rng = np.random.default_rng(0)
        assert prec._noise_like(rng.standard_normal(7))
        assert prec._noise_like(1e200 * rng.standard_normal(7))  # scaled: no overflow
        assert not prec._noise_like(np.zeros(7))
        assert not prec._noise_like(np.full(7, 3.0))
        assert not prec._noise_like(np.array([0.0, 1.0, np.inf, 0, 0, 0, 0]))
        assert not prec._noise_like(np.arange(7.0) ** 2)  # smooth: differences shrink
        # k = 2, 3, 4 estimates exactly NOISE_LIKE² apart, or just beyond
        table = np.array([0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0])
        est = [np.mean(np.diff(table, n=k) ** 2) / math.comb(2 * k, k) for k in (2, 3, 4)]
        assert max(est) / min(est) <= 4.0**2 and prec._noise_like(table)

    def test_values_work(self) -> None:
        size = 2.0  # max(|J0|, terms)
        half = np.array([1.0, 1.5, 1.25])  # float16 numbers
        single = np.array([1.0, 1.0 + 2.0**-20, 1.0])  # float32, not float16
        stage = 2e-3 * size  # STAGE_NOISE of the size
        assert prec._values_work(half, 0.0, 2.0, 1.0) == np.float16
        assert prec._values_work(single, stage, -2.0, 1.0) == np.float32
        assert prec._values_work(single, stage * 1.0000001, 2.0, 1.0) is None
        assert prec._values_work(np.full(3, 1.0), 0.0, 2.0, 1.0) is None  # no move
        assert prec._values_work(np.array([0.1, 0.2, 0.3]), 0.0, 2.0, 1.0) is None
        tiny = 2.0**-27 * size  # HIDDEN_MAGNITUDE of the size: not above it
        assert prec._values_work(np.array([tiny, 0.0, -tiny]), 0.0, 2.0, 1.0) is None
        # 2⁻²⁵ is below float16's least subnormal: a float32 number only
        assert prec._values_work(np.array([2 * tiny, 0.0]), 0.0, 2.0, 1.0) == np.float32
        assert prec._values_work(half, 0.0, 0.5, 2.0) == np.float16  # terms set the size


def _sin32(p: Any) -> float:
    return float(np.sum(np.sin(p.astype(np.float32))))


class TestHiddenPrecision:
    """A cost that computes in float32 inside but returns float64 is judged by how its
    values move, not by the dtype it returns."""

    @pytest.mark.parametrize(
        ("cost", "grad"),
        [
            (_sin32, np.cos),
            (
                lambda p: np.float32(np.sum(np.exp(p.astype(np.float32) / 2))).item(),
                lambda x: np.exp(x / 2) / 2,
            ),
            (
                lambda p: float(np.sum(np.tanh(3 * p.astype(np.float32)) ** 2)),
                lambda x: 6 * np.tanh(3 * x) * (1 - np.tanh(3 * x) ** 2),
            ),
        ],
        ids=["sin", "exp-item", "tanh2"],
    )
    def test_correct_gradients_never_fail(self, cost: Any, grad: Any) -> None:
        statuses = []
        for seed in range(200):
            x = np.random.default_rng(seed).standard_normal(5)
            report = gradcheck.check(cost, x, grad(x))
            assert report.status != "failed", f"seed {seed}\n{report}"
            statuses.append(report.status)
        assert statuses.count("passed") >= 190, statuses.count("passed")

    @pytest.mark.parametrize(("n", "scale"), [(1, 1.0), (40, 1e-3), (200, 1e3)])
    def test_other_shapes_and_scales(self, n: int, scale: float) -> None:
        for seed in range(20):
            x = scale * np.random.default_rng(seed).standard_normal(n)
            cost = lambda p: float(np.sum(np.sin(p.astype(np.float32) / scale)))  # noqa: E731
            report = gradcheck.check(cost, x, np.cos(x / scale) / scale)
            assert report.status == "passed", f"seed {seed}\n{report}"

    def test_the_report_says_why_and_what_it_cannot_see(self) -> None:
        x = np.random.default_rng(0).standard_normal(5)
        report = gradcheck.check(_sin32, x, np.cos(x))
        assert any("computes in float32 inside" in m for m in report.messages), str(report)
        bound = report.parameters["x"].detection_bound
        assert 1e-5 < bound < 1e-1
        assert any(f"smaller than {bound:.2g}" in m for m in report.messages), str(report)
        assert (
            str(report)
            .splitlines()[0]
            .endswith(f"but errors below {bound:.2g} of x's largest entry could not be seen")
        )

    @pytest.mark.parametrize("factor", [-1.0, 1.1, 0.0])
    def test_wrong_gradients_still_fail(self, factor: float) -> None:
        for seed in range(20):
            x = np.random.default_rng(seed).standard_normal(5)
            g = np.cos(x)
            g[seed % 5] *= factor
            report = gradcheck.check(_sin32, x, g)
            assert report.status == "failed", seed
            assert report.worst[0].index == (seed % 5,)

    @pytest.mark.parametrize(
        ("cost", "grad", "x"),
        [
            (
                lambda p: float(np.sum(np.sin(100 * p))),
                lambda x: 100 * np.cos(100 * x),
                np.linspace(0.1, 0.9, 5),
            ),
            (
                lambda p: float(p[0] * p[1] - p[1] * p[0] + np.sum(p**3)),
                lambda x: 3 * x**2,
                np.array([0.0, 0.0, 1e-3]),
            ),
            (
                lambda p: float(np.sum(np.exp(5 * p))),
                lambda x: 5 * np.exp(5 * x),
                np.linspace(-1, 1, 6),
            ),
            (lambda p: float(np.sum(p**2)), lambda x: 2 * x, np.arange(1.0, 6.0)),
        ],
        ids=["sin100", "zero-cost", "exp5", "integers"],
    )
    def test_float64_costs_keep_float64_tolerances(self, cost: Any, grad: Any, x: Any) -> None:
        report = gradcheck.check(cost, x, grad(x))
        assert report.passed, str(report)
        assert not any("float32 inside" in m for m in report.messages)
        assert "could not be seen" not in str(report)
        bad = grad(x)
        k = int(np.argmax(np.abs(bad)))
        bad[k] *= 1 + 1e-6  # a 1e-6 relative error in float64 central differences
        assert gradcheck.check(cost, x, bad).status == "failed"


class TestHiddenPrecisionDirectional:
    """The same at 2·10⁴ entries, where the default mode is directional."""

    @staticmethod
    def _planted(x: Any, g: Any, rho: float, seed: int) -> Any:
        s = np.maximum(np.abs(x), np.sqrt(np.mean(x**2)))
        v = np.random.default_rng(seed).standard_normal(x.size)
        return g + v / np.linalg.norm(s * v) * np.linalg.norm(s * g) * 1.1 * rho

    @pytest.mark.parametrize("seed", range(4))
    def test_correct_passes_and_the_bound_holds(self, seed: int) -> None:
        x = np.random.default_rng(seed).standard_normal(20000)
        report = gradcheck.check(_sin32, x, np.cos(x))
        assert report.status == "passed" and report.mode == "directional", str(report)
        assert any("computes in float32 inside" in m for m in report.messages)
        rho = report.guarantee["relative_error"]
        assert rho < 0.5
        bad = self._planted(x, np.cos(x), rho, 100 + seed)
        assert gradcheck.check(_sin32, x, bad).status == "failed"

    def test_a_float64_cost_pays_no_probe(self) -> None:
        x = np.random.default_rng(0).standard_normal(20000)
        report = gradcheck.check(lambda p: float(np.sum(np.sin(p))), x, np.cos(x))
        assert report.passed and report.evaluations == 10, str(report)
        assert not any("float32 inside" in m for m in report.messages)


class TestUnseenNotes:
    """The note on a large detection bound gives the remedy that fits the check's dtype."""

    def test_a_float32_check_is_told_to_compute_in_float64(self) -> None:
        (note,) = prec.unseen_notes([("x", 0.004, np.dtype(np.float32))], "central")
        assert note.startswith("x: errors smaller than 0.004 of its largest gradient entry")
        assert "compute it in float64" in note

    def test_a_float64_check_is_not(self) -> None:
        (note,) = prec.unseen_notes([("x", 0.04, np.dtype(np.float64))], "richardson")
        assert note.startswith("x: errors smaller than 0.04 of its largest gradient entry")
        assert "float64" not in note and "noise or its curvature" in note

    @pytest.mark.parametrize("bound", [1e-7, math.inf])
    def test_no_note_below_the_level_or_without_a_bound(self, bound: float) -> None:
        assert prec.unseen_notes([("x", bound, np.dtype(np.float32))], "central") == []


def _staged(stage: Any, seed: int, shape: tuple[int, ...], size: float = 1.0) -> Any:
    """``float(u @ tanh(A @ W)…)`` with the layer's output rounded to ``stage`` (a
    low-precision kernel) inside a float64 cost, its parameters ``W`` of ``shape``, and
    the exact gradient (F27)."""
    rng = np.random.default_rng(seed)
    k = shape[0]
    cols = int(np.prod(shape[1:], dtype=int))
    A = rng.standard_normal((40, k)) / 20
    w = rng.standard_normal(shape)
    u = size * rng.standard_normal((40, cols))

    def cost(p: Any) -> float:
        out = np.tanh(A @ p.reshape(k, cols)).astype(stage).astype(np.float64)
        return float(np.sum(u * out))

    z = A @ w.reshape(k, cols)
    grad = (A.T @ (u * (1 - np.tanh(z) ** 2))).reshape(shape)
    return cost, w, grad


class TestLowPrecisionStageInAFloat64Cost:
    """F27: a float16 or float32 stage inside a float64 cost returns float64 numbers
    (no float32 ones); float64's steps do not move the stage, and a correct gradient
    failed ("the cost does not change with this parameter"). The noise it measures
    decides the steps and tolerances."""

    @pytest.mark.parametrize("stage", [np.float16, np.float32])
    @pytest.mark.parametrize("shape", [(300,), (60,), (20, 3)])
    @pytest.mark.parametrize("seed", [0, 1, 2])
    def test_a_correct_gradient_never_fails(
        self, stage: Any, shape: tuple[int, ...], seed: int
    ) -> None:
        cost, w, grad = _staged(stage, seed, shape)
        report = gradcheck.check(cost, w, grad, seed=seed)
        assert report.status == ("passed" if stage is np.float32 else "inconclusive"), str(report)
        name = np.dtype(stage).name
        assert any(f"as noisy as {name} round-off" in m for m in report.messages), str(report)

    @pytest.mark.parametrize("size", [1e-6, 1e6])
    def test_other_scales(self, size: float) -> None:
        cost, w, grad = _staged(np.float32, 3, (50,), size)
        assert gradcheck.check(cost, w, grad).status == "passed"

    @pytest.mark.parametrize("stage", [np.float16, np.float32])
    @pytest.mark.parametrize("factor", [2.0, -1.0, 0.5])
    @pytest.mark.parametrize("seed", [0, 1])
    def test_wrong_gradients_fail(self, stage: Any, factor: float, seed: int) -> None:
        cost, w, grad = _staged(stage, seed, (60,))
        report = gradcheck.check(cost, w, factor * grad, seed=seed)
        if stage is np.float16 and factor == 0.5:  # the stage's noise can hide a half
            assert report.status != "passed", str(report)
        else:
            assert report.status == "failed", str(report)

    @pytest.mark.parametrize("seed", [0, 1, 2])
    def test_an_error_of_float32_size_fails_behind_a_float32_stage(self, seed: int) -> None:
        # 5% at every entry: above the 3e-2 that tests/test_sensitivity.py pins for a
        # float32 check (float32's central differences state a bound of about 8e-3)
        cost, w, grad = _staged(np.float32, seed, (60,))
        report = gradcheck.check(cost, w, 1.05 * grad, seed=seed)
        assert report.status == "failed", str(report)

    @pytest.mark.parametrize("seed", [0, 1, 2])
    def test_a_clean_float64_cost_keeps_float64_sensitivity(self, seed: int) -> None:
        cost, w, grad = _staged(np.float64, seed, (60,))
        report = gradcheck.check(cost, w, grad, seed=seed)
        assert report.status == "passed", str(report)
        assert not any("as noisy as" in m for m in report.messages), str(report)
        wrong = grad.copy()
        at = int(np.argmax(np.abs(grad)))
        wrong[at] *= 1 + 1e-6
        assert gradcheck.check(cost, w, wrong, seed=seed).status == "failed"

    def test_a_cost_that_never_moves_is_still_wrong(self) -> None:
        # no step moves it, not even the noise probe's larger one: the cost does not
        # use the parameter, and a non-zero gradient for it is wrong
        x = np.random.default_rng(0).standard_normal(6)
        report = gradcheck.check(lambda p: 3.0 + 0.0 * float(np.sum(p)), x, np.ones(6))
        assert report.status == "failed", str(report)
        assert report.parameters["x"].diagnosis is not None
        assert report.parameters["x"].diagnosis.kind == "unused"


def _half_cost(seed: int, n: int) -> tuple[Any, Any, Any]:
    """A cost computed in float16 throughout and returned as a Python float."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((5, n)) / math.sqrt(n)
    x = rng.standard_normal(n)

    def cost(p: Any) -> float:
        return float(np.sum(np.tanh(a.astype(np.float16) @ p.astype(np.float16))))

    def grad(p: Any) -> Any:
        return a.T @ (1 - np.tanh(a @ p) ** 2)

    return cost, x, grad


class TestCostInFloat16:
    """A cost computed in float16 inside returns float16 numbers, which are float32 ones:
    the float32 probe at u32^(2/3) does not move it, and float64's steps gave finite
    differences of exactly 0. A right gradient failed, in full mode and (at 2·10⁴
    entries, where float16 rounding of a long sum swallows every move) directional."""

    @pytest.mark.parametrize("n", [7, 3000, 20000])
    @pytest.mark.parametrize("seed", [0, 1, 2])
    def test_a_right_gradient_is_not_failed(self, n: int, seed: int) -> None:
        cost, x, grad = _half_cost(seed, n)
        report = gradcheck.check(cost, x, grad)
        assert report.status == "inconclusive", str(report)
        assert prec.hidden_note(np.float16) in report.messages, str(report)

    def test_a_wrong_gradient_still_fails(self) -> None:
        x = np.random.default_rng(0).standard_normal(7)
        quadratic = lambda p: float(np.sum(np.float16(3.0) * p.astype(np.float16) ** 2))  # noqa: E731
        assert gradcheck.check(quadratic, x, lambda p: 6 * p).status == "inconclusive"
        assert gradcheck.check(quadratic, x, lambda p: -6 * p).status == "failed"

    @pytest.mark.parametrize("n", [7, 20000])
    def test_a_reversed_gradient_is_not_passed(self, n: int) -> None:
        cost, x, grad = _half_cost(0, n)
        assert gradcheck.check(cost, x, lambda p: -grad(p)).status == "failed"

    def test_float32_parameters_too(self) -> None:
        cost, x, grad = _half_cost(1, 7)
        report = gradcheck.check(cost, x.astype(np.float32), lambda p: grad(p).astype(p.dtype))
        assert report.status == "inconclusive", str(report)

    @pytest.mark.parametrize("n", [100, 20000])
    def test_a_cost_that_ignores_its_parameters_is_still_wrong(self, n: int) -> None:
        x = np.random.default_rng(0).standard_normal(n)
        report = gradcheck.check(lambda p: 3.0 + 0.0 * float(np.sum(p)), x, np.ones(n))
        assert report.status == "failed", str(report)

    def test_a_quantised_cost_is_not_called_a_float32_computation(self) -> None:
        # values that jump by whole units are float16 numbers but no stage's rounding
        # (mut26): x = 1.5 sits on a jump of np.round, so inconclusive, with no note
        # blaming a dtype
        x = np.linspace(0.3, 2.7, 7)
        cost = lambda p: np.sum(np.round(p)).astype(np.int64)  # noqa: E731
        report = gradcheck.check(cost, x, np.zeros(7))
        assert report.status == "inconclusive", str(report)
        assert not any("computes in" in m for m in report.messages), str(report)

    def test_a_quantised_cost_with_a_zero_gradient_passes(self) -> None:
        x = np.random.default_rng(0).standard_normal(7)
        report = gradcheck.check(lambda p: float(np.sum(np.round(8 * np.sin(p)))), x, np.zeros(7))
        assert report.status == "passed", str(report)

    def test_a_straight_through_gradient_of_a_quantised_cost_fails(self) -> None:
        x = np.random.default_rng(0).standard_normal(7)
        cost = lambda p: float(np.sum(np.round(8 * np.sin(p)))) / 8  # noqa: E731
        assert gradcheck.check(cost, x, np.cos).status == "failed"


def _scaled_f16(seed: int, scale: float) -> tuple[Any, Any, Any]:
    """attack32 H110: a float16 total scaled in float64 (a mean, a loss weight): no
    float16 number, and it moves at neither √u64 nor HIDDEN_STEP."""
    rng = np.random.default_rng(seed)
    a, x = rng.standard_normal(20), rng.standard_normal(20)

    def cost(v: Any) -> float:
        terms = (a * np.sin(v.astype(np.float16))).astype(np.float16)
        return scale * float(np.sum(terms, dtype=np.float16))

    return cost, x, a


class TestScaledFloat16Stage:
    @pytest.mark.parametrize("seed", range(3))
    @pytest.mark.parametrize("scale", [0.1, 1 / 20])
    def test_the_formula_s_gradient_is_not_failed(self, seed: int, scale: float) -> None:
        # was failed 6/6: float64's steps read differences of exactly 0
        cost, x, a = _scaled_f16(seed, scale)
        report = gradcheck.check(cost, x, lambda v: scale * a * np.cos(v), mode="full")
        assert report.status == "inconclusive", str(report)
        assert "float16" in str(report)

    @pytest.mark.parametrize("seed", range(3))
    def test_a_zero_gradient_is_not_passed(self, seed: int) -> None:
        # was passed 5/6; a quantiser's 0 between its stairs reads the same, so not failed
        cost, x, _ = _scaled_f16(seed, 0.1)
        report = gradcheck.check(cost, x, lambda v: 0 * v, mode="full")
        assert report.status == "inconclusive", str(report)


def _lattice_f32(seed: int) -> tuple[Any, Any, Any]:
    """attack32 kzoo f32stage_many: a float32 dot of ``tanh(x₃₂)``, divided by 20 in
    float64: no float32 number, it repeats at √u64, and at HIDDEN_STEP its values move on
    an exact lattice (float32 inputs moved by equal steps), measuring no noise."""
    rng = np.random.default_rng(seed)
    a, x = rng.standard_normal(20).astype(np.float32), rng.standard_normal(20)

    def cost(v: Any) -> float:
        return float(np.dot(a, np.tanh(v.astype(np.float32)))) / 20

    return cost, x, a.astype(np.float64)


class TestFloat32StageOnALattice:
    def test_the_formula_s_gradient_passes(self) -> None:
        # was failed: judged as float64, whose steps left the stage still (differences 0)
        cost, x, a = _lattice_f32(1)
        report = gradcheck.check(cost, x, a / np.cosh(x) ** 2 / 20, mode="full", seed=1)
        assert report.status == "passed", str(report)
        assert "as noisy as float32 round-off" in str(report)

    def test_a_wrong_gradient_fails(self) -> None:
        cost, x, a = _lattice_f32(1)
        report = gradcheck.check(cost, x, 1.1 * a / np.cosh(x) ** 2 / 20, mode="full", seed=1)
        assert report.status == "failed", str(report)

    def test_a_float64_cost_far_above_its_terms_keeps_float64s_steps(self) -> None:
        # repeats at √u64 because |J| is 1e9 times its terms: float64 could not move it
        x = np.random.default_rng(0).standard_normal(5)
        cost = lambda p: 1e9 + float(np.sum(np.sin(p)))  # noqa: E731
        report = gradcheck.check(cost, x, np.cos, mode="full")
        assert "noisy as" not in str(report), str(report)
