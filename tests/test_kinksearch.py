"""``gradcheck._kinksearch``: entries at a kink that is not at 0, found by splitting."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gradcheck
from _deltas import delta_evaluator
from gradcheck import _kinkfree, _kinksearch
from gradcheck._directional import Prober

Array = np.ndarray[Any, Any]
N = 4000
Claim = Callable[[Array], Array]


def _problem(kind: str, seed: int, at: int = 6) -> tuple[Callable[[Array], Any], Claim, Array]:
    """A cost with ``at`` entries exactly at a kink away from 0 (attack26 G5), its
    right gradient (the framework's convention at the kink) and the point."""
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.5, 2.0, N)
    x = rng.standard_normal(N)
    k = rng.choice(N // 2, at, replace=False)
    if kind == "relu(x - 1)":
        x[k] = 1.0

        def cost(p: Array) -> Any:
            return (np.maximum(p - 1.0, 0.0) * w).sum() + 0.5 * (p * p).sum()

        def right(p: Array) -> Array:
            return np.asarray((p > 1.0) * w + p)

    elif kind == "|x - c|":
        x[k] = 0.3

        def cost(p: Array) -> Any:
            return (np.abs(p - 0.3) * w).sum() + np.sin(p).sum()

        def right(p: Array) -> Array:  # the right-hand slope at the kink
            return np.asarray(np.where(p >= 0.3, 1.0, -1.0) * w + np.cos(p))

    elif kind == "clip":
        x[k] = np.where(np.arange(at) % 2 == 0, -0.5, 0.5)

        def cost(p: Array) -> Any:
            return (np.clip(p, -0.5, 0.5) * w).sum() + np.cos(p).sum()

        def right(p: Array) -> Array:
            return np.asarray(((p > -0.5) & (p < 0.5)) * w - np.sin(p))

    else:  # max of pairs, tied: the first of the tied maxima
        x[2 * k + 1] = x[2 * k]
        m = N // 2

        def cost(p: Array) -> Any:
            return (np.maximum(p[0::2], p[1::2]) * w[:m]).sum() + 0.1 * (p * p).sum()

        def right(p: Array) -> Array:
            g = 0.2 * p
            first = p[0::2] >= p[1::2]
            g[0::2] += first * w[:m]
            g[1::2] += ~first * w[:m]
            return np.asarray(g)

    return cost, right, x


KINDS = ["relu(x - 1)", "|x - c|", "clip", "max ties"]


def _wrong(kind: str, right: Claim, x: Array) -> dict[str, Claim]:
    """Wrong claims at those points: everywhere, and at one entry away from the kinks."""
    far = int(N - 1)  # in the half no kink was put in

    def at(f: float) -> Claim:
        return lambda p: right(p) * np.where(np.arange(p.size) == far, f, 1.0)

    claims: dict[str, Claim] = {"x1.1": lambda p: 1.1 * right(p), "one x2": at(2.0)}
    claims["sign flip"] = at(-1.0)
    if kind == "relu(x - 1)":
        w = right(x) - x  # the relu term's slope where it is on, 0 where off
        live = w.max()
        claims["leaky 0.01"] = lambda p: np.where(p > 1.0, right(p) - p, 0.01 * live) + p
    return claims


class TestSearchEdges:
    """The search's edges, each met exactly (mutation testing, issue 16)."""

    @staticmethod
    def _relu_at(kinks: list[int], n: int = 64) -> tuple[Prober, Array]:
        rng = np.random.default_rng(3)
        x = rng.standard_normal(n)
        x[kinks] = 1.0
        w = rng.uniform(0.5, 2.0, n)

        def cost(p: Array) -> Any:
            return (np.maximum(p - 1.0, 0.0) * w).sum() + 0.5 * (p * p).sum()

        g = (x > 1.0) * w + x
        return TestSearch._prober(x, cost, g), x

    def test_the_first_entry_is_searched(self) -> None:
        prober, _ = self._relu_at([0])
        found = _kinksearch.search(
            prober, [np.array([], dtype=np.intp)], np.random.default_rng(1), 5
        )
        assert found is not None and found.entries[0].tolist() == [0]

    def test_exactly_limit_entries_are_found(self) -> None:
        prober, _ = self._relu_at([3, 17, 40])
        none = [np.array([], dtype=np.intp)]
        found = _kinksearch.search(prober, none, np.random.default_rng(1), 3)
        assert found is not None and found.entries[0].tolist() == [3, 17, 40]
        assert _kinksearch.search(prober, none, np.random.default_rng(1), 2) is None

    def test_exactly_the_budget_is_enough(self) -> None:
        prober, _ = self._relu_at([3, 17, 40])
        none = [np.array([], dtype=np.intp)]
        spent = _kinksearch.search(prober, none, np.random.default_rng(1), 5)
        assert spent is not None
        again = _kinksearch.search(
            prober, none, np.random.default_rng(1), 5, budget=spent.evaluations
        )
        assert again is not None and again.evaluations == spent.evaluations
        assert again.entries[0].tolist() == [3, 17, 40]
        short = spent.evaluations - 4
        assert _kinksearch.search(prober, none, np.random.default_rng(1), 5, budget=short) is None

    def test_a_parameter_left_out_whole_does_not_end_the_search(self) -> None:
        # two parameters; the first is all left out, the second has a kink entry
        rng = np.random.default_rng(4)
        a, b = rng.standard_normal(8), rng.standard_normal(16)
        b[5] = 1.0

        def cost(q: list[Array]) -> Any:
            return np.sin(q[0]).sum() + np.maximum(q[1] - 1.0, 0.0).sum() + q[1] @ q[1]

        ev = delta_evaluator(cost, [a, b])
        g = [np.cos(a), (b > 1.0) + 2 * b]
        prober = Prober(ev, [a.copy(), b.copy()], g, float(ev([()])[0]), None, 2.0**-52)
        left_out = [np.arange(8), np.array([], dtype=np.intp)]
        found = _kinksearch.search(prober, left_out, np.random.default_rng(1), 5)
        assert found is not None
        assert [e.tolist() for e in found.entries] == [[], [5]]

    def test_each_range_is_probed_along_the_generators_float32_draws(self) -> None:
        # the directions are the seeded generator's float32 Gaussians (as the probes'
        # own: gradcheck._directional_probe), on the range only, zero elsewhere
        seen: list[tuple[tuple[Any, ...], Array]] = []

        class Recording:
            g = (np.zeros(6), np.zeros(3))

            def probe(self, segments: Any, rng: Any, along: dict[int, Array]) -> Any:
                ((leaf, _, _),) = segments
                seen.append((segments, along[leaf].copy()))
                return type("P", (), {"kink": False, "wrong": False})()

        left_out = [np.array([1]), np.array([], dtype=np.intp)]
        found = _kinksearch.search(Recording(), left_out, np.random.default_rng(7), 5)  # type: ignore[arg-type]
        assert found is not None and found.evaluations == 8
        draws = np.random.default_rng(7)
        first = draws.standard_normal(5, dtype=np.float32)
        second = draws.standard_normal(3, dtype=np.float32)
        assert [s for s, _ in seen] == [((0, 0, 6),), ((1, 0, 3),)]
        assert seen[0][1].dtype == np.float32
        assert seen[0][1].tolist() == [first[0], 0.0, *first[1:]]
        assert seen[1][1].tolist() == second.tolist()


class TestKinksAwayFromZero:
    """attack26 G5: parameters exactly at a kink that is not at 0 made every direction
    straddle it, and the directional verdict inconclusive for right and wrong alike."""

    @pytest.mark.parametrize("kind", KINDS)
    @pytest.mark.parametrize("seed", range(3))
    def test_right_gradients_pass(self, kind: str, seed: int) -> None:
        cost, right, x = _problem(kind, seed)
        report = gradcheck.check(cost, x, right, mode="directional", seed=seed)
        assert report.status == "passed", report
        assert report.parameters["x"].nonsmooth >= 6
        assert any("found at a kink by splitting" in m for m in report.messages)
        assert report.guarantee["relative_error"] < 1e-5

    @pytest.mark.parametrize("kind", KINDS)
    @pytest.mark.parametrize("seed", range(2))
    def test_wrong_gradients_fail(self, kind: str, seed: int) -> None:
        cost, right, x = _problem(kind, seed)
        for name, claim in _wrong(kind, right, x).items():
            report = gradcheck.check(cost, x, claim, mode="directional", seed=seed)
            assert report.status == "failed", (name, report)

    def test_a_dead_unit_with_one_sample_at_zero(self) -> None:
        # the kink is in an intermediate: unit 3's pre-activation is exactly 0 for
        # sample 3, with no parameter at 0 or at a constant; its weight row and bias
        # are found, and one-sided slopes of different curvature still place it at θ
        rng = np.random.default_rng(0)
        x_in = np.round(rng.standard_normal((8, 60)) * 16) / 16  # exact products
        y = rng.standard_normal(8)
        w = np.round(rng.standard_normal((40, 60)) * 8) / 64 + 1 / 128  # no zeros
        b = np.round(rng.standard_normal(40) * 16) / 64
        b[3] = -(x_in[3] @ w[3])
        assert (x_in @ w.T + b)[3, 3] == 0.0
        params = {"W": w, "b": b, "v": rng.standard_normal(40)}

        def cost(p: dict[str, Array]) -> Any:
            r = np.maximum(x_in @ p["W"].T + p["b"], 0) @ p["v"] - y
            return 0.5 * float(r @ r)

        def grad(p: dict[str, Array], scale: float = 1.0) -> dict[str, Array]:
            z = x_in @ p["W"].T + p["b"]
            r = np.maximum(z, 0) @ p["v"] - y
            dz = np.outer(r, p["v"]) * (z > 0)
            out = {"W": dz.T @ x_in, "b": dz.sum(0), "v": np.maximum(z, 0).T @ r}
            return {k: scale * v for k, v in out.items()}

        report = gradcheck.check(cost, params, grad, mode="directional")
        assert report.status == "passed", report
        assert report.parameters["W"].nonsmooth == int(np.count_nonzero(x_in[3]))
        assert report.parameters["b"].nonsmooth == 1
        wrong = gradcheck.check(cost, params, lambda p: grad(p, 1.1), mode="directional")
        assert wrong.status == "failed", wrong


class TestSearch:
    """The search itself: what it finds, and its budget."""

    @staticmethod
    def _prober(x: Array, cost: Callable[[Array], Any], g: Array) -> Prober:
        ev = delta_evaluator(lambda moved: cost(moved[0]), [x])
        return Prober(ev, [x.copy()], [g], float(cost(x)), None, 2.0**-52)

    @pytest.mark.parametrize("seed", range(3))
    def test_it_finds_exactly_the_kink_entries(self, seed: int) -> None:
        cost, right, x = _problem("relu(x - 1)", seed)
        prober = self._prober(x, cost, right(x))
        found = _kinksearch.search(
            prober, [np.array([], dtype=np.intp)], np.random.default_rng(1), 50
        )
        assert found is not None
        assert found.entries[0].tolist() == np.flatnonzero(x == 1.0).tolist()
        assert found.evaluations == prober.evaluations <= _kinksearch.SEARCH_EVALUATIONS

    def test_entries_left_out_are_not_searched(self) -> None:
        cost, right, x = _problem("|x - c|", 0)
        at = np.flatnonzero(x == 0.3)
        prober = self._prober(x, cost, right(x))
        found = _kinksearch.search(prober, [at[:2]], np.random.default_rng(1), 50)
        assert found is not None and found.entries[0].tolist() == at[2:].tolist()

    def test_past_the_limit_or_the_budget_it_gives_up(self, monkeypatch: Any) -> None:
        cost, right, x = _problem("clip", 0)
        prober = self._prober(x, cost, right(x))
        none = [np.array([], dtype=np.intp)]
        assert _kinksearch.search(prober, none, np.random.default_rng(1), 5) is None
        monkeypatch.setattr(_kinksearch, "SEARCH_EVALUATIONS", 40)
        assert _kinksearch.search(prober, none, np.random.default_rng(1), 50) is None

    def test_a_search_past_its_budget_leaves_the_verdict_inconclusive(
        self, monkeypatch: Any
    ) -> None:
        monkeypatch.setattr(_kinksearch, "SEARCH_EVALUATIONS", 40)
        cost, right, x = _problem("clip", 0)
        for claim in (right, lambda p: 1.1 * right(p)):
            report = gradcheck.check(cost, x, claim, mode="directional")
            assert report.status == "inconclusive", report
            assert any("kink" in m and "mode='full'" in m for m in report.messages)

    def test_more_kink_entries_than_it_checks_stay_inconclusive(self, monkeypatch: Any) -> None:
        monkeypatch.setattr(_kinkfree, "KINK_ENTRIES", 4)
        cost, right, x = _problem("relu(x - 1)", 0)
        report = gradcheck.check(cost, x, right, mode="directional")
        assert report.status == "inconclusive", report

    def test_the_evaluations_are_counted(self) -> None:
        cost, right, x = _problem("max ties", 0)
        calls = []

        def counted(p: Array) -> Any:
            calls.append(1)
            return cost(p)

        report = gradcheck.check(counted, x, right, mode="directional")
        assert report.status == "passed" and report.evaluations == len(calls)
