"""gradcheck._adapter_consistency: the JVP–VJP consistency of an adapter's two rules."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from gradcheck._adapter_consistency import consistency
from gradcheck._consistency import PAIRS


def linear_rules(j: np.ndarray[Any, Any], fwd: float = 1.0, rev: float = 1.0) -> Any:
    """jvp and vjp of ``x -> J x`` (one input, one output), scaled to plant a bug."""
    return (lambda v: [fwd * (j @ v[0])]), (lambda u: [rev * (j.T @ u[0])])


class TestConsistency:
    @pytest.mark.parametrize("seed", [0, 1, 2])
    @pytest.mark.parametrize("shape", [(1, 1), (3, 5), (40, 7), (200, 300)])
    def test_right_rules_agree(self, seed: int, shape: tuple[int, int]) -> None:
        j = np.random.default_rng(seed).standard_normal(shape) * 10.0 ** (seed - 1)
        jvp, vjp = linear_rules(j)
        c = consistency(jvp, vjp, [(shape[1],)], [(shape[0],)], 2.0**-52, seed)
        assert not c.wrong and len(c.values) == PAIRS and min(c.tolerance) > 0

    @pytest.mark.parametrize("factor", [1.5, 1.001, -1.0, 0.0])
    def test_a_wrong_rule_disagrees(self, factor: float) -> None:
        j = np.random.default_rng(3).standard_normal((6, 4))
        for jvp, vjp in [linear_rules(j, fwd=factor), linear_rules(j, rev=factor)]:
            c = consistency(jvp, vjp, [(4,)], [(6,)], 2.0**-52, 0)
            assert c.wrong and c.forms == ("jvp", "vjp")
            assert any(abs(x - y) > t for (x, y), t in zip(c.values, c.tolerance))

    def test_one_wrong_entry_of_a_transposed_rule_disagrees(self) -> None:
        j = np.random.default_rng(4).standard_normal((5, 5))
        jvp, _ = linear_rules(j)
        c = consistency(jvp, lambda u: [j @ u[0]], [(5,)], [(5,)], 2.0**-52, 1)
        assert c.wrong

    def test_float32_round_off_agrees(self) -> None:
        j = np.random.default_rng(5).standard_normal((50, 30)).astype(np.float32)

        def jvp(v: Any) -> Any:
            return [j @ v[0].astype(np.float32)]

        def vjp(u: Any) -> Any:
            return [j.T @ u[0].astype(np.float32)]

        assert not consistency(jvp, vjp, [(30,)], [(50,)], float(np.finfo(np.float32).eps), 0).wrong
        # float32 internals of a float64 check agree too: the relative floor
        # (_numerics.CONSISTENCY_RTOL) accepts forms accurate to float32 round-off
        assert not consistency(jvp, vjp, [(30,)], [(50,)], 2.0**-52, 0).wrong
        doubled = consistency(lambda v: [2 * jvp(v)[0]], vjp, [(30,)], [(50,)], 2.0**-52, 0)
        assert doubled.wrong

    def test_nan_disagrees(self) -> None:
        jvp, vjp = linear_rules(np.full((2, 2), np.nan))
        assert consistency(jvp, vjp, [(2,)], [(2,)], 2.0**-52, 0).wrong

    def test_several_inputs_and_outputs(self) -> None:
        rng = np.random.default_rng(6)
        a, b = rng.standard_normal((3, 2, 2)), rng.standard_normal((4, 5))

        def jvp(v: Any) -> Any:  # out0 = a·x0 (x0 2x2), out1 = b @ x1
            return [np.einsum("ijk,jk->i", a, v[0]), b @ v[1]]

        def vjp(u: Any) -> Any:
            return [np.einsum("ijk,i->jk", a, u[0]), b.T @ u[1]]

        assert not consistency(jvp, vjp, [(2, 2), (5,)], [(3,), (4,)], 2.0**-52, 0).wrong

        def wrong(u: Any) -> Any:
            return [np.einsum("ijk,i->jk", a, u[0]), 0.5 * (b.T @ u[1])]

        assert consistency(jvp, wrong, [(2, 2), (5,)], [(3,), (4,)], 2.0**-52, 0).wrong
