"""gradcheck._adapter_consistency: the JVP–VJP consistency of an adapter's two rules."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from gradcheck._adapter_consistency import (
    Retried,
    consistency,
    linearity,
    magnitudes,
    retry_failed,
)
from gradcheck._consistency import PAIRS, Consistency
from gradcheck._steps import entry_scale


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


class TestRetried:
    def test_the_note_of_a_retry_that_raised(self) -> None:
        note = retry_failed(ValueError("no float64 kernel"), "float32")
        assert note == (
            "the forward and reverse rules disagree in float32; comparing them again in "
            "float64, to tell float32 round-off from a wrong rule, raised ValueError: no "
            "float64 kernel; the float32 comparison stands"
        )

    def test_a_retried_comparison_has_no_note_by_default(self) -> None:
        c = Consistency(("jvp", "vjp"), (), (), False)
        assert Retried(c) == (c, None)


class TestMagnitudes:
    def test_the_values_and_the_inputs_scales_flat(self) -> None:
        x = np.array([[0.0, 3.0], [-4.0, 0.0]], dtype=np.float32)
        y = np.float64(2.0)
        out = [np.array([-1.5, 2.0]), np.array(0.25, dtype=np.float32)]
        m = magnitudes([x, y], out)
        assert m is not None
        assert m.values.tolist() == [1.5, 2.0, 0.25] and m.values.dtype == np.float64
        want = [*entry_scale(np.array([0.0, 3.0, -4.0, 0.0])).tolist(), 2.0]
        assert m.scales.tolist() == want and m.scales.dtype == np.float64

    def test_no_outputs_or_no_inputs(self) -> None:
        m = magnitudes([np.array([1.0])], [])
        assert m is not None and m.values.tolist() == [] and m.scales.tolist() == [1.0]
        m = magnitudes([], [np.array([-1.0])])
        assert m is not None and m.values.tolist() == [1.0] and m.scales.tolist() == []

    def test_a_complex_input_or_output_keeps_no_floor(self) -> None:
        assert magnitudes([np.array([1j])], [np.array([1.0])]) is None
        assert magnitudes([np.array([1.0])], [np.array([1 + 0j])]) is None

    def test_the_floor_lets_round_off_of_an_exact_zero_agree(self) -> None:
        # cosine similarity of 0-d inputs (attack24 F2): jvp exactly 0, vjp 1.6e-17
        def jvp(v: Any) -> Any:
            return [np.zeros(())]

        def vjp(u: Any) -> Any:
            return [np.full((), 1.6e-17 * float(u[0])), np.full((), -1.6e-17 * float(u[0]))]

        x, y = np.array(0.7), np.array(-1.3)
        floor = magnitudes([x, y], [np.array(-1.0)])
        shapes: list[tuple[int, ...]] = [(), ()]
        assert not consistency(jvp, vjp, shapes, [()], 2.0**-52, 0, floor).wrong
        assert consistency(jvp, vjp, shapes, [()], 2.0**-52, 0).wrong


class TestLinearity:
    A = np.array([[1.0, -2.0, 0.5], [3.0, 0.25, -1.0]])

    def _gradients(self, jvp: Any, ws: list[Any]) -> list[list[Any]]:
        """Each ``w_kᵀJ`` (output ``k``) from jvps of basis tangents, as the forward
        check builds it."""
        basis = np.eye(3)
        return [[np.array([np.vdot(w, jvp([e])[k]) for e in basis])] for k, w in enumerate(ws)]

    WS = (np.array([0.5, -2.0]), np.array([3.0]))

    def test_a_linear_rule_agrees(self) -> None:
        def jvp(v: Any) -> Any:
            return [self.A @ v[0], np.array([v[0].sum()])]

        ws = list(self.WS)
        c = linearity(jvp, self._gradients(jvp, ws), ws, [(3,)], 2.0**-52, 0)
        assert not c.wrong and c.forms == ("jvp", "jvp of basis tangents")
        assert len(c.values) == PAIRS

    def test_a_rule_not_linear_in_its_tangent_disagrees(self) -> None:
        def jvp(v: Any) -> Any:
            return [self.A @ v[0], np.array([np.abs(v[0]).sum()])]

        ws = list(self.WS)
        assert linearity(jvp, self._gradients(jvp, ws), ws, [(3,)], 2.0**-52, 0).wrong

    def test_several_inputs_and_outputs(self) -> None:
        b = np.array([[2.0, -1.0], [0.0, 4.0]])

        def jvp(v: Any) -> Any:  # out0 = A x0 + b x1 (x1 is 2x1), out1 = sum x1
            return [self.A @ v[0] + b @ v[1].reshape(-1), np.array([v[1].sum()])]

        def gradients(rule: Any) -> list[list[Any]]:
            rows = []
            for w, k in ((np.array([1.0, -3.0]), 0), (np.array([2.0]), 1)):
                g = [np.vdot(w, rule([e[:3], e[3:].reshape(2, 1)])[k]) for e in np.eye(5)]
                rows.append([np.array(g[:3]), np.array(g[3:]).reshape(2, 1)])
            return rows

        ws = [np.array([1.0, -3.0]), np.array([2.0])]
        assert not linearity(jvp, gradients(jvp), ws, [(3,), (2, 1)], 2.0**-52, 1).wrong

        def half(v: Any) -> Any:  # the second output's rule is half of the one checked
            out = jvp(v)
            return [out[0], 0.5 * out[1]]

        assert linearity(half, gradients(jvp), ws, [(3,), (2, 1)], 2.0**-52, 1).wrong
