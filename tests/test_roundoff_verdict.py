"""gradcheck._roundoff_verdict: a float32 gradient's difference from float64, reproduced.

attack26 G8: a backward rounding its gradient to bfloat16 only in float32 passed as
"cancellation" (the nudges see rounding redraw, as round-off does); the reference
(the formula computed in float32) tells it apart from the formula's own round-off.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import numpy as np
import pytest

from gradcheck._evaluate import preserve_rng
from gradcheck._numerics import CANCELLATION
from gradcheck._roundoff_verdict import (
    HALF_REPRODUCED,
    REPRODUCED,
    SYSTEMATIC,
    Analytic,
    Replayed,
    Side,
    judge,
    verdicts,
)

Array = np.ndarray[Any, Any]
U32 = 2.0**-23
G64 = {"w": 1.7 * np.cos(np.linspace(-1.3, 1.1, 7))}  # off every short grid


def _bits(g: Array, k: int) -> Array:
    """``g`` rounded to ``k`` mantissa bits (bfloat16 is 8, float16 11)."""
    m, e = np.frexp(g)
    return np.ldexp(np.round(m * 2.0**k) / 2.0**k, e)


class TestJudge:
    def test_a_reproduced_difference_is_round_off(self) -> None:
        ref = {"w": G64["w"] * (1 + 300 * U32)}  # heavy float32 round-off of the formula
        assert judge(ref, G64, ref, U32, 0.0) == {"w": "reproduced"}

    def test_within_reproduced_round_offs_is_round_off(self) -> None:
        ref = {"w": G64["w"] * (1 + 2 * U32)}
        user = {"w": ref["w"] + 0.9 * REPRODUCED * U32 * np.max(np.abs(G64["w"]))}
        assert judge(user, G64, ref, U32, 0.0) == {"w": "reproduced"}

    @pytest.mark.parametrize("k", [6, 8, 10, 11])
    def test_a_gradient_rounded_to_few_bits_is_systematic(self, k: int) -> None:
        ref = {"w": G64["w"] * (1 + U32)}
        user = {"w": _bits(ref["w"], k)}
        assert judge(user, G64, ref, U32, 0.0) == {"w": "systematic"}

    @pytest.mark.parametrize("k", [14, 16])
    def test_a_small_rounding_is_never_passed(self, k: int) -> None:
        # below CANCELLATION round-offs: a differently computed reference could do it
        ref = {"w": G64["w"] * (1 + U32)}
        user = {"w": _bits(ref["w"], k)}
        assert judge(user, G64, ref, U32, 0.0) == {"w": "unresolved"}

    def test_a_difference_the_reference_shares_is_unresolved(self) -> None:
        # the reference itself far from float64: the user's gradient no farther from it
        ref = {"w": G64["w"] * (1 + 2e-3)}
        user = {"w": G64["w"] * (1 + 4e-3)}
        assert SYSTEMATIC * 4e-3 > 2e-3
        assert judge(user, G64, ref, U32, 0.0) == {"w": "unresolved"}

    def test_round_off_computed_in_another_order_is_round_off(self) -> None:
        # a fused float32 kernel: as far from the reference as the reference is from g64
        ref = {"w": G64["w"] * (1 + 40 * U32)}
        user = {"w": G64["w"] * (1 - 40 * U32)}
        assert judge(user, G64, ref, U32, 0.0) == {"w": "round-off"}

    def test_a_zero_gradient_within_the_floor_is_round_off(self) -> None:
        g64 = {"b": np.zeros(3)}
        user = {"b": np.array([1e-6, -2e-6, 0.0])}
        assert judge(user, g64, {"b": np.zeros(3)}, U32, 1e-5) == {"b": "round-off"}

    def test_reproduced_round_off_of_a_zero_gradient_is_reproduced_whatever_its_size(
        self,
    ) -> None:
        # attack26 G9: a bias before BatchNorm, inputs near 1000: float32 gives 1.4e-5
        g64 = {"b": np.array([1e-17, 0.0, -3e-18])}
        user = {"b": np.array([1.4e-5, -6e-6, 2e-6])}
        assert judge(user, g64, {"b": user["b"].copy()}, U32, 1e-6) == {"b": "reproduced"}
        other = {"b": np.array([-1.4e-5, 6e-6, 2e-6])}  # not reproduced: judged by size
        assert judge(user, g64, other, U32, 1e-6) == {"b": "round-off"}

    # Each bound exactly met (mutation testing: < for <=, >= for >). One entry of 1.0,
    # so that every difference below is exact in float64.

    def test_exactly_cancellation_round_offs_is_accumulation(self) -> None:
        one = np.array([1.0])
        user = {"w": one + CANCELLATION * U32}  # no farther from g64 than accumulation
        assert judge(user, {"w": one}, {"w": one.copy()}, U32, 0.0) == {"w": "unresolved"}

    def test_exactly_systematic_times_the_references_distance_is_another_order(self) -> None:
        one = np.array([1.0])
        ref = {"w": one + 100 * U32}
        user = {"w": one + 500 * U32}  # e = 400 u = SYSTEMATIC · r, within accumulation
        assert SYSTEMATIC == 4.0
        assert judge(user, {"w": one}, ref, U32, 0.0) == {"w": "round-off"}

    def test_exactly_systematic_times_the_references_distance_is_not_systematic(self) -> None:
        one = np.array([1.0])
        ref = {"w": one + 2.0**-8}
        user = {"w": one + 5 * 2.0**-8}  # e = 4 r, far above accumulation
        assert judge(user, {"w": one}, ref, U32, 0.0) == {"w": "unresolved"}

    def test_a_gradient_exactly_at_the_floor_is_round_off(self) -> None:
        half = np.array([0.5])
        assert judge({"w": 1.01 * half}, {"w": half}, {"w": half.copy()}, U32, 0.5) == {
            "w": "round-off"
        }

    def test_an_empty_parameter_is_reproduced(self) -> None:
        empty = {"e": np.zeros(0)}
        assert judge(empty, empty, empty, U32, 0.0) == {"e": "reproduced"}

    def test_the_systematic_bound_is_above_accumulation(self) -> None:
        ref = {"w": G64["w"]}
        user = {"w": G64["w"] * (1 + 0.9 * CANCELLATION * U32)}
        assert judge(user, G64, ref, U32, 0.0) == {"w": "unresolved"}


class TestJudgeHalf:
    """attack27 H47: in bfloat16 and float16 the size rules cover every gradient (the
    floor, 1e3 round-offs); a gradient rounded to float8 only there passed as
    reproduced (16 bfloat16 round-offs are 12.5%)."""

    @pytest.mark.parametrize(("unit", "k"), [(2.0**-7, 4), (2.0**-10, 3)])
    def test_a_float8_rounding_is_systematic(self, unit: float, k: int) -> None:
        ref = {"w": _bits(G64["w"], 8 if unit == 2.0**-7 else 11)}
        floor = 10 * unit * np.max(np.abs(G64["w"]))  # above the scale: ignored
        assert judge({"w": _bits(ref["w"], k)}, G64, ref, unit, floor) == {"w": "systematic"}

    def test_within_half_reproduced_round_offs_is_reproduced(self) -> None:
        ref = {"w": _bits(G64["w"], 8)}
        user = {"w": ref["w"] + 0.9 * HALF_REPRODUCED * 2.0**-7 * np.max(np.abs(G64["w"]))}
        assert judge(user, G64, ref, 2.0**-7, 1.0) == {"w": "reproduced"}

    def test_another_order_is_never_failed(self) -> None:
        # a fused kernel: the user's gradient no farther from the reference than
        # SYSTEMATIC times the reference from float64
        ref = {"w": G64["w"] * (1 + 4 * 2.0**-7)}
        user = {"w": G64["w"] * (1 - 4 * 2.0**-7)}
        assert judge(user, G64, ref, 2.0**-7, 0.0) == {"w": "unresolved"}

    # attack30 H80: a parameter whose gradient is zero (a key's bias before a softmax)
    # is noise in both; 4 times apart by chance it failed a right bfloat16 attention
    @pytest.mark.parametrize("unit", [2.0**-7, 2.0**-10])
    def test_a_zero_gradients_noise_is_round_off(self, unit: float) -> None:
        largest = float(np.max(np.abs(G64["w"])))
        g64 = {**G64, "b": np.array([3e-17, -1e-17])}
        user = {**G64, "b": np.array([0.2, -0.1]) * unit * largest}
        ref = {**G64, "b": np.array([0.01, 0.02]) * unit * largest}
        assert judge(user, g64, ref, unit, 0.0) == {"w": "reproduced", "b": "round-off"}

    @pytest.mark.parametrize("unit", [2.0**-7, 2.0**-10])
    def test_a_small_gradient_the_reference_resolves_is_no_noise(self, unit: float) -> None:
        # attack32 H111: a first layer on inputs in small units, its gradient 0.0006 of
        # the largest entry, its half-only backward x1.2 passed as "zero in that dtype"
        small = 0.5 * unit * float(np.max(np.abs(G64["w"]))) * np.array([1.0, -0.7])
        g64 = {**G64, "b": small}
        ref = {**G64, "b": small * (1 + unit / 2)}
        for factor, verdict in [(1.0, "reproduced"), (1.2, "systematic")]:
            user = {**G64, "b": factor * ref["b"]}
            assert judge(user, g64, ref, unit, 0.0)["b"] == verdict

    def test_a_zero_gradient_far_above_its_noise_is_systematic(self) -> None:
        largest = float(np.max(np.abs(G64["w"])))
        g64 = {**G64, "b": np.array([3e-17, -1e-17])}
        ref = {**G64, "b": np.array([0.01, 0.02]) * 2.0**-7 * largest}
        for size, verdict in [(3.9, "round-off"), (4.1, "systematic")]:
            user = {**G64, "b": np.array([size, 0.0]) * 2.0**-7 * largest}
            assert judge(user, g64, ref, 2.0**-7, 0.0)["b"] == verdict


def _never(kind: str) -> Side:
    raise AssertionError(f"the nudges were not needed (make({kind!r}))")


def _side(gradient: Any, reference: Any) -> Side:
    params = {"w": G64["w"].copy()}
    return Side(params, sum, sum, gradient, nullcontext, "none", "float64", reference)


class TestVerdicts:
    def _user(self, g: Array) -> Analytic:
        return Analytic(1.0, {"w": g}, "float32")

    def test_a_reference_with_another_loss_is_not_used(self) -> None:
        # a 5-round-off difference is not measured: the model side is never built
        ref = _side(lambda p: (1.0, {"w": G64["w"]}), lambda p: (1.5, {"w": G64["w"]}))
        user = self._user(G64["w"] * (1 + 5 * U32))
        with preserve_rng() as rng:
            found = verdicts(_never, ref, G64, user, 0.0, rng)
        assert found.systematic == {} and found.unresolved == {}
        assert found.reproduced == frozenset()

    def test_a_raising_reference_falls_back_to_the_nudges(self) -> None:
        def reference(_: Any) -> Any:
            raise RuntimeError("an operation the reference cannot run")

        made: list[str] = []

        def make(kind: str) -> Side:
            made.append(kind)
            return _side(lambda p: (1.0, {"w": 1.05 * np.cos(p["w"])}), None)

        side = Side(
            {"w": G64["w"].copy()},
            sum,
            sum,
            lambda p: (1.0, {"w": np.cos(p["w"])}),
            nullcontext,
            "none",
            "float64",
            reference,
        )
        g64 = {"w": np.cos(G64["w"])}
        with preserve_rng() as rng:
            found = verdicts(make, side, g64, self._user(1.05 * g64["w"]), 0.0, rng)
        assert made == ["model"]
        assert found[:5] == (
            {
                "w": "w: the float32 gradient differs from the same computation in float64 "
                "by 0.05 of its scale, and it does not change like round-off when the "
                "parameters are nudged (it stays, or scales with the gradient): a hook or "
                "backward acting only in float32 (or round-off that leaves it useless); the "
                "float32 gradient itself is checked"
            },
            {},
            "",
            (),
            frozenset(),
        )

    @pytest.mark.parametrize("loss", [1.0, 1.0 + 2.0**-20])
    def test_a_half_models_forward_unlike_the_reference_is_unresolved(self, loss: float) -> None:
        # attack30 H81: a bfloat16 forward choosing its eps by dtype (the float64 copy,
        # run in bfloat16, takes the other eps) failed; its loss is not the reference's
        ref = G64["w"] * (1 + 2.0**-8)
        side = _side(lambda p: (1.0, {"w": G64["w"]}), lambda p: (loss, {"w": ref}))
        user = Analytic(1.0, {"w": _bits(G64["w"], 3)}, "bfloat16")
        with preserve_rng() as rng:
            found = verdicts(_never, side, G64, user, 0.0, rng)
        if loss == 1.0:
            assert list(found.systematic) == ["w"] and found.unresolved == {}
            return
        assert found.systematic == {} and list(found.unresolved) == ["w"]
        assert (
            "but the float64 copy run in bfloat16 computes another loss than your bfloat16 "
            "model (code that tests the dtype, a stage in a wider dtype, a fused kernel): a "
            "backward acting only in bfloat16 cannot be told from the gradient of what your "
            "forward computes in bfloat16;" in found.unresolved["w"]
        )

    def _replayed_side(self, plain: float, floats_loss: float, ran: tuple[str, ...] = ()) -> Side:
        """A bfloat16 model's side whose reference's gradient is ``plain · G64``, and so
        is its dtypes-only replay's, whose loss rounds to the model's with other forward
        floats (attack34 H133); the floats' replay gives ``G64`` and ``floats_loss``."""
        runs: list[bool] = []

        def replayed(params: Any, floats: bool) -> Any:
            runs.append(floats)
            return (floats_loss, {"w": G64["w"]}) if floats else (1.0, {"w": plain * G64["w"]})

        def last() -> Replayed:
            return Replayed(True, not runs[-1], ran if runs[-1] else ())

        reference = _side(
            lambda p: (1.0, {"w": G64["w"]}), lambda p: (1.0, {"w": plain * G64["w"]})
        )
        return reference._replace(replayed=replayed, last_replay=last)

    @pytest.mark.parametrize("factor", [1.0, 1.2])
    def test_a_replay_with_other_forward_floats_is_not_the_models(self, factor: float) -> None:
        # H133: the dtypes' replay, taken for its loss, judged the right model (x1.0)
        # against another function; the floats' replay, the model's computation, judges
        # it (x1.2 fails, naming the dtypes the replay ran in)
        user = Analytic(1.0, {"w": factor * G64["w"]}, "bfloat16")
        side = self._replayed_side(1.3, 1.0, ("float32",))
        with preserve_rng() as rng:
            found = verdicts(_never, side, G64, user, 0.0, rng)
        if factor == 1.0:
            assert (found.systematic, found.unresolved, found.reproduced) == ({}, {}, {"w"})
            return
        assert list(found.systematic) == ["w"] and found.unresolved == {}
        assert found.systematic["w"].startswith(
            "w: the bfloat16 gradient differs from the same formula computed in bfloat16 "
            "and float32 (the float64 copy run operation by operation in the dtype your "
            "model ran each in) by 0.2 of its scale, where bfloat16 and float32 arithmetic "
            "moves that formula 0 from float64: "
        )

    def test_no_replay_giving_the_loss_leaves_it_unresolved(self) -> None:
        # the dtypes' replay gives the model's loss only by rounding: not its loss, and
        # a difference beyond 4 r is not failed (it failed with that replay taken)
        user = Analytic(1.0, {"w": 1.2 * G64["w"]}, "bfloat16")
        with preserve_rng() as rng:
            found = verdicts(_never, self._replayed_side(1.0, 1.5), G64, user, 0.0, rng)
        assert found.systematic == {} and list(found.unresolved) == ["w"]
        assert "computes another loss than your bfloat16 model" in found.unresolved["w"]

    def test_a_zero_gradients_figure_is_of_the_largest_entry(self) -> None:
        # attack30 H80's message: "by 2.2e+13 of its scale" (its scale was 1e-17)
        largest = float(np.max(np.abs(G64["w"])))
        g64 = {**G64, "b": np.array([3e-17, -1e-17])}
        ref = {**G64, "b": np.array([0.0, 0.02]) * 2.0**-7 * largest}
        side = _side(lambda p: (1.0, g64), lambda p: (1.0, ref))
        user = Analytic(1.0, {**G64, "b": np.array([8.0, 0.02]) * 2.0**-7 * largest}, "bfloat16")
        with preserve_rng() as rng:
            found = verdicts(_never, side, g64, user, 0.0, rng)
        assert list(found.systematic) == ["b"] and found.unresolved == {}
        assert found.systematic["b"].startswith(
            "b: the bfloat16 gradient differs from the same formula computed in bfloat16 "
            "(the float64 copy run operation by operation in bfloat16) by 0.062 of the "
            "largest gradient entry, where bfloat16 arithmetic moves that formula 0.00016 "
            "from float64: "
        )

    def test_a_bfloat16_rounding_is_named(self) -> None:
        ref = G64["w"] * (1 + U32)
        side = _side(lambda p: (1.0, {"w": G64["w"]}), lambda p: (1.0, {"w": ref}))
        with preserve_rng() as rng:
            found = verdicts(_never, side, G64, self._user(_bits(ref, 8)), 0.0, rng)
        assert list(found.systematic) == ["w"]
        assert "bfloat16" in found.systematic["w"] and "same formula" in found.systematic["w"]


SMALL = {"w": 0.3 * np.cos(np.linspace(-1.3, 1.1, 7))}  # a scale below 1
SMALL_REF = SMALL["w"] * (1 + 3 * U32)
SAME = (
    "w: the float32 gradient differs from the same formula computed in float32 (the "
    "float64 copy run operation by operation in float32) by {e} of its scale, where "
    "float32 arithmetic moves that formula 3.6e-07 from float64: "
)


def _small_side(reference: Any) -> Side:
    def gradient(_: Any) -> Any:
        return 1.0, {"w": SMALL["w"]}

    return Side({"w": SMALL["w"].copy()}, sum, sum, gradient, nullcontext, "none", "f64", reference)


def _reproduce(user: Array, value: float = 1.0, loss: float = 1.0, dtype: str = "float32") -> Any:
    side = _small_side(lambda p: (loss, {"w": SMALL_REF}))
    with preserve_rng() as rng:
        return verdicts(_never, side, SMALL, Analytic(value, {"w": user}, dtype), 0.0, rng)


class TestReproducedNotes:
    """The reference's verdicts and notes, whole (mutation testing: each number, each
    branch, the set of reproduced parameters)."""

    def test_a_rounded_gradient_is_systematic_with_its_sizes(self) -> None:
        found = _reproduce(_bits(SMALL_REF, 8))
        assert found.systematic == {
            "w": SAME.format(e="0.0017")
            + "a hook or backward acting only in float32 (one that tests the dtype, or "
            "rounds the gradient to bfloat16 or float16); the float32 gradient itself is "
            "checked"
        }
        assert found.unresolved == {} and found.reproduced == frozenset()
        assert found.failure == "" and found.unmoved == ()

    def test_a_slightly_rounded_gradient_is_unresolved_with_its_sizes(self) -> None:
        found = _reproduce(_bits(SMALL_REF, 15))
        assert found.unresolved == {
            "w": SAME.format(e="2.1e-05")
            + "more than round-off reproduces, too little to tell a backward acting only "
            "in float32 (a gradient rounded to fewer bits) from round-off computed another "
            "way; the formula is checked in float64; precision='model' checks the float32 "
            "gradient itself"
        }
        assert found.systematic == {} and found.reproduced == frozenset()

    def test_a_reproduced_gradient_is_named_and_has_no_note(self) -> None:
        found = _reproduce(SMALL_REF.copy())
        assert found[:5] == (({}, {}, "", (), frozenset({"w"})))

    def test_a_loss_exactly_reproduced_round_offs_away_still_uses_the_reference(self) -> None:
        # |value − user.value| = REPRODUCED·u·|user.value| exactly: the bound is inclusive
        loss = 1.0 + REPRODUCED * U32
        assert loss - 1.0 == REPRODUCED * U32 * 1.0
        assert _reproduce(SMALL_REF.copy(), loss=loss).reproduced == frozenset({"w"})

    def test_the_loss_bound_is_relative_to_the_users_loss(self) -> None:
        # 10 round-offs of a loss of 4: within 16 relative round-offs, not absolute ones
        found = _reproduce(SMALL_REF.copy(), value=4.0, loss=4.0 * (1 + 10 * U32))
        assert found.reproduced == frozenset({"w"})

    def test_the_reference_runs_at_the_sides_parameters(self) -> None:
        seen: list[Any] = []

        def reference(p: Any) -> Any:
            seen.append(p)
            return 1.0, {"w": SMALL_REF * np.sign(p["w"]) ** 2}

        side = _small_side(reference)
        with preserve_rng() as rng:
            user = Analytic(1.0, {"w": SMALL_REF.copy()}, "float32")
            found = verdicts(_never, side, SMALL, user, 0.0, rng)
        assert found.reproduced == frozenset({"w"})
        assert len(seen) == 1 and seen[0] is side.params

    def test_a_parameter_the_reference_does_not_use_is_zero(self) -> None:
        g64 = {"w": SMALL["w"], "b": np.zeros(3)}
        side = Side(
            {"w": SMALL["w"].copy(), "b": np.zeros(3)},
            sum,
            sum,
            lambda p: (1.0, g64),
            nullcontext,
            "none",
            "f64",
            lambda p: (1.0, {"w": SMALL_REF, "b": None}),
        )
        user = Analytic(1.0, {"w": SMALL_REF.copy(), "b": np.zeros(3)}, "float32")
        with preserve_rng() as rng:
            found = verdicts(_never, side, g64, user, 0.0, rng)
        assert found.reproduced == frozenset({"w", "b"})

    def test_a_dtype_without_a_unit_round_off_never_runs_the_reference(self) -> None:
        ran: list[Any] = []

        def reference(p: Any) -> Any:  # not raising: verdicts catches what a reference raises
            ran.append(p)
            return 1.0, {"w": SMALL_REF}

        side = _small_side(reference)
        user = Analytic(1.0, {"w": SMALL["w"].copy()}, "float64")
        with preserve_rng() as rng:
            found = verdicts(_never, side, SMALL, user, 0.0, rng)
        assert found[:5] == (({}, {}, "", (), frozenset()))
        assert ran == []

    def test_a_dtype_numpy_lacks_is_not_nudged(self) -> None:
        # no reference, a plausible difference far above round-off: the nudges would
        # need NumPy arrays of the dtype, which NumPy has not (torch's qint8; not a float8
        # or complex32, which ml_dtypes adds to NumPy once JAX is imported)
        side = _small_side(None)
        user = Analytic(1.0, {"w": SMALL["w"] * (1 + 0.05)}, "qint8")
        with preserve_rng() as rng:
            found = verdicts(_never, side, SMALL, user, 0.0, rng)
        assert found[:5] == (({}, {}, "", (), frozenset()))


COS = {"w": np.cos(G64["w"])}


def _nudged(
    model: Any, wide: Any, user: Array, dtype: str = "float32", floor: float = 0.0
) -> tuple[Any, list[str]]:
    """``verdicts`` without a reference: the model side's gradient ``model`` (params in
    float32) and the float64 side's ``wide``; what it found and the sides it built."""
    made: list[str] = []

    def make(kind: str) -> Side:
        made.append(kind)
        params = {"w": G64["w"].astype(np.float32)}
        return Side(params, sum, sum, model, nullcontext, "none", "float32")

    side = Side({"w": G64["w"].copy()}, sum, sum, wide, nullcontext, "none", "float64")
    with preserve_rng() as rng:
        found = verdicts(make, side, COS, Analytic(1.0, {"w": user}, dtype), floor, rng)
    return found, made


class TestNudged:
    """Without a reference: which differences are measured, and what comes back."""

    def test_each_side_is_evaluated_in_its_own_dtype(self) -> None:
        seen: list[tuple[str, Any]] = []

        def model(p: Any) -> Any:
            seen.append(("model", p["w"].dtype))
            return 1.0, {"w": 1.05 * np.cos(p["w"].astype(np.float64))}

        def wide(p: Any) -> Any:
            seen.append(("wide", p["w"].dtype))
            return 1.0, {"w": np.cos(p["w"])}

        found, made = _nudged(model, wide, 1.05 * COS["w"])
        assert made == ["model"] and list(found.systematic) == ["w"]
        assert {s for s, _ in seen} == {"model", "wide"}
        assert all(d == (np.float32 if s == "model" else np.float64) for s, d in seen), seen

    def test_a_raising_nudge_ends_the_measurement_with_the_reason(self) -> None:
        def model(p: Any) -> Any:
            raise FloatingPointError("log of a negative number")

        found, _ = _nudged(model, lambda p: (1.0, {"w": np.cos(p["w"])}), 1.05 * COS["w"])
        assert found[:5] == (
            {},
            {},
            "FloatingPointError: log of a negative number",
            (),
            frozenset(),
        )

    def test_a_gradient_no_nudge_moves_is_unmeasured(self) -> None:
        constant = lambda p: (1.0, {"w": COS["w"]})  # noqa: E731 - a linear loss
        found, made = _nudged(constant, constant, 1.05 * COS["w"])
        assert made == ["model"]
        assert found[:5] == ({}, {}, "", ("w",), frozenset())

    def test_a_gradient_the_loss_does_not_use_is_read_as_zeros(self) -> None:
        # both sides' gradients None: zeros, equal at every nudge (not an object array)
        unused = lambda p: (1.0, {"w": None})  # noqa: E731
        found, _ = _nudged(unused, unused, 1.05 * COS["w"])
        assert found[:5] == ({}, {}, "", (), frozenset())

    def test_a_dtype_without_a_unit_round_off_is_nudged(self) -> None:
        def model(p: Any) -> Any:
            return 1.0, {"w": 1.05 * np.cos(p["w"].astype(np.float64))}

        def wide(p: Any) -> Any:
            return 1.0, {"w": np.cos(p["w"])}

        found, made = _nudged(model, wide, 1.05 * COS["w"], dtype="float64")
        assert made == ["model"] and list(found.systematic) == ["w"]
        assert "the float64 gradient differs" in found.systematic["w"]

    def test_a_difference_within_accumulation_is_not_measured(self) -> None:
        # 1e-4 off a gradient of scale 4: within CANCELLATION·u·4 = 4.8e-4, not 4/…
        g64 = {"w": 4.0 * np.cos(np.linspace(-0.2, 0.1, 5))}
        side = Side({"w": g64["w"].copy()}, sum, sum, sum, nullcontext, "none", "float64")
        user = Analytic(1.0, {"w": g64["w"] + 1e-4}, "float32")
        with preserve_rng() as rng:
            found = verdicts(_never, side, g64, user, 0.0, rng)
        assert found[:5] == ({}, {}, "", (), frozenset())

    def test_a_gradient_exactly_at_the_floor_is_not_measured(self) -> None:
        g64 = {"w": np.array([0.5, -0.25])}
        side = Side({"w": g64["w"].copy()}, sum, sum, sum, nullcontext, "none", "float64")
        user = Analytic(1.0, {"w": 1.05 * g64["w"]}, "float32")
        with preserve_rng() as rng:
            found = verdicts(_never, side, g64, user, 0.5, rng)
        assert found[:5] == ({}, {}, "", (), frozenset())
