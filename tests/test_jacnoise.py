"""``gradcheck._jacnoise``: each output's noise."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from gradcheck._evaluate import GlobalRng
from gradcheck._jacgrid import VectorEvaluator
from gradcheck._jacnoise import block_noise, noise_floor, output_noise
from gradcheck._norms import noise_from_table
from gradcheck._pytree import flatten
from gradcheck._tolerances import unit_roundoff
from test_jacevaluator import evaluator

Array = np.ndarray[Any, Any]


class TestOutputNoise:
    def test_is_ecnoise_per_output_with_the_roundoff_floor(self) -> None:
        rng = np.random.default_rng(0)
        x = rng.standard_normal(5)
        noise = rng.standard_normal((100, 3)) * np.array([1e-3, 1e-9, 0.0])
        calls = iter(range(100))

        def f(p: Array) -> Array:
            return np.array([p.sum(), p.sum() ** 2, 3.0]) + noise[next(calls)]

        ev = evaluator(f, x, 3)
        f0 = ev([()])[0]
        u = unit_roundoff(np.float64)
        sigma = output_noise(ev, [x.copy()], f0, u, seed=1)
        assert ev.count == 7
        assert 1e-4 < sigma[0] < 1e-2 and 1e-10 < sigma[1] < 1e-8
        assert sigma[2] == u * 3.0  # a constant output: its rounding, u·|f|

    def test_matches_noise_from_table_column_by_column(self) -> None:
        rng = np.random.default_rng(2)
        values = iter(rng.standard_normal((6, 4)))
        ev = evaluator(lambda p: next(values), np.ones(3), 4)
        f0 = np.zeros(4)
        sigma = output_noise(ev, [np.ones(3)], f0, 1e-300, seed=0)
        rng = np.random.default_rng(2)
        vals = rng.standard_normal((6, 4))
        table = np.concatenate([vals[:3], f0[None], vals[3:]])
        expected = [noise_from_table(table[:, k]) for k in range(4)]
        assert np.allclose(sigma, expected, rtol=1e-12)

    @pytest.mark.parametrize("scale", [1e150, 1e170, 1e250, 1e300, 1e-300])
    def test_huge_and_tiny_outputs_keep_their_roundoff_noise(self, scale: float) -> None:
        # attack13 F9: diffs**2 overflowed above ~1e154 and the noise became |f_i|
        x = np.array([1.0, 2.0])
        ev = evaluator(lambda p: scale * p, x, 2)
        f0 = ev([()])[0]
        u = unit_roundoff(np.float64)
        sigma = output_noise(ev, [x.copy()], f0, u, seed=0)
        assert np.all(sigma < 1e-10 * np.abs(f0)) and np.all(sigma >= u * np.abs(f0))


class TestNoiseFloor:
    """``noise_floor``: block_noise's floor with no evaluation (the entrywise grid
    screens with it before it knows whether it needs the table, order24)."""

    @pytest.mark.parametrize("seed", [0, 1, 2])
    @pytest.mark.parametrize("out_dtype", [np.float64, np.float32, np.float16])
    def test_block_noise_is_never_below_it_and_equals_it_for_a_constant_output(
        self, seed: int, out_dtype: Any
    ) -> None:
        x = {"w": np.array([0.5, -1.0, 2.0]), "h": np.array([0.3, 0.7], dtype=np.float32)}
        names, leaves, tree = flatten(x)

        def fn(p: Any) -> Array:
            value = [np.sin(p["w"]).sum(), float(np.float32(p["h"].sum()) * 3), 7.0]
            return np.array(value, dtype=out_dtype).astype(np.float64)

        ev = VectorEvaluator(fn, tree, [np.array(v) for v in leaves], names, GlobalRng(), size=3)
        f0 = ev([()])[0]
        roundoff = np.full(3, unit_roundoff(out_dtype))
        floor = noise_floor(ev.leaves, f0, roundoff)
        assert ev.count == 1  # no evaluation
        sigma = block_noise(ev, ev.leaves, f0, roundoff, seed)
        assert floor.shape == sigma.shape == (3, 2)
        assert np.all(sigma >= floor)
        assert np.array_equal(sigma[2], floor[2])  # a constant output: its rounding only
        w, h = names.index("w"), names.index("h")
        coarse = max(unit_roundoff(out_dtype), unit_roundoff(np.float32))
        assert floor[2, h] == coarse * 7.0
        assert floor[2, w] == unit_roundoff(out_dtype) * 7.0
