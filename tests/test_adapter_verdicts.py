"""gradcheck._adapter_verdicts: the float64 route's verdict on each low-precision gradient.

``judge_float64`` read whole (mutation testing, issue 16): the floor, which gradient is
checked for each parameter, every note's text, and the parameters left ``inconclusive``
by the user's loss's own slope (``gradcheck._own_slope``), on NumPy "sides" standing in
for an adapter's float32 model and float64 copy.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import numpy as np
import pytest

from gradcheck._adapter_verdicts import Judged, judge_float64
from gradcheck._evaluate import preserve_rng
from gradcheck._numerics import ATOL_ROUNDOFFS
from gradcheck._roundoff_verdict import Analytic, Side

Array = np.ndarray[Any, Any]
Cost = Callable[[dict[str, Array]], Any]
W = np.array([1.0, -2.0, 0.5])
G64 = {"w": 2 * W}  # the gradient of Σ w²
U32 = 2.0**-23


def _square(p: dict[str, Array]) -> float:
    return float(np.sum(p["w"].astype(np.float64) ** 2))


def _other(p: dict[str, Array]) -> float:
    """``_square`` plus ``0.6 · w[1]``: another function in float32 (a dtype test)."""
    return _square(p) + 0.6 * float(p["w"][1])


def _side(
    cost: Cost, dtype: Any, reference: Any = None, at: dict[str, Array] | None = None
) -> Side:
    params = {n: a.astype(dtype) for n, a in ({"w": W} if at is None else at).items()}

    def gradient(p: dict[str, Array]) -> tuple[float, dict[str, Array | None]]:
        raise AssertionError("no side's gradient is needed here")

    return Side(params, cost, cost, gradient, nullcontext, "none", str(dtype), reference)


def _maker(
    model: Cost, wide: Cost = _square, at: dict[str, Array] | None = None, low: Any = np.float32
) -> tuple[Callable[[str], Side], list[str]]:
    made: list[str] = []

    def make(kind: str) -> Side:
        made.append(kind)
        if kind == "model":
            return _side(model, low, at=at)
        return _side(wide, np.complex128 if low == np.complex64 else np.float64, at=at)

    return make, made


def _never(kind: str) -> Side:
    raise AssertionError(f"no side was needed (make({kind!r}))")


def _judge(
    user: dict[str, Array],
    make: Callable[[str], Side] = _never,
    side: Side | None = None,
    g64: dict[str, Array] | None = None,
    dtype: str = "float32",
    value: float = 5.25,
    convention: str = "conjugate",
) -> Judged:
    side = _side(_square, np.float64) if side is None else side
    with preserve_rng() as rng:
        return judge_float64(
            make, side, G64 if g64 is None else g64, Analytic(value, user, dtype), rng, convention
        )


def _plain(j: Judged) -> tuple[float, dict[str, list[Any]], list[str], dict[str, str]]:
    """``j`` with its arrays as lists, to compare whole."""
    return j.floor, {n: g.tolist() for n, g in j.grads.items()}, j.notes, j.unresolved


def _differs(size: str, dtype: str = "float32") -> str:
    return (
        f"w: the {dtype} gradient differs from the same computation in float64 by {size} of "
        f"its scale, more than {dtype} round-off explains: a hook or backward acting only in "
        f"{dtype} (or round-off that leaves it useless); the {dtype} gradient itself is checked"
    )


FLOOR = ATOL_ROUNDOFFS * U32 * 4.0  # the largest float64 entry is |2·(−2)| = 4


class TestWhichGradientIsChecked:
    def test_round_off_checks_the_copys_gradient(self) -> None:
        user = {"w": G64["w"] * (1 + U32)}
        got = _judge(user)
        assert _plain(got) == (FLOOR, {"w": G64["w"].tolist()}, [], {})
        assert got.grads["w"] is G64["w"]

    def test_a_float32_only_backward_checks_the_users_gradient(self) -> None:
        # 0.15 of the scale (implausible: nothing is nudged); the user's loss is the
        # formula's (its slope is g64's), so the user's gradient is checked, and fails
        wrong = G64["w"] * 1.15
        make, made = _maker(_square)
        got = _judge({"w": wrong}, make)
        assert made == ["model", "float64"]
        assert _plain(got) == (FLOOR, {"w": wrong.tolist()}, [_differs("0.15")], {})

    def test_a_dtype_dependent_loss_is_inconclusive_with_the_reason(self) -> None:
        own = G64["w"] + np.array([0.0, 0.6, 0.0])  # the gradient of _other
        make, _ = _maker(_other)
        got = _judge({"w": own}, make)
        assert got.grads == {"w": G64["w"]} and got.notes == [] and got.floor == FLOOR
        assert got.unresolved == {
            "w": "w: the float32 gradient differs from the float64 copy's by 0.15 of its "
            "scale, and your float32 loss's own slope along that difference is the float32 "
            "gradient's, not the float64 formula's: your loss computes another function in "
            "float32 (code that depends on the dtype, e.g. a clamp at finfo(x.dtype).eps), "
            "so the formula checked in float64 cannot judge the float32 gradient; make the "
            "loss the same in both dtypes, or use precision='model' to check the float32 "
            "gradient against float32 differences"
        }

    def test_a_slope_neither_way_is_inconclusive_with_the_reason(self) -> None:
        half = G64["w"] + np.array([0.0, 1.2, 0.0])  # the loss's slope is half of it
        make, _ = _maker(_other)
        got = _judge({"w": half}, make)
        assert got.grads == {"w": G64["w"]} and got.notes == []
        assert got.unresolved == {
            "w": "w: the float32 gradient differs from the float64 copy's by 0.3 of its "
            "scale, more than round-off explains, but your float32 loss's own slope along "
            "that difference shows neither the float32 gradient's nor the float64 formula's "
            "(too noisy, or a kink within every step): a backward acting only in float32 "
            "cannot be told from a loss that depends on the dtype; the formula is checked "
            "in float64; precision='model' checks the float32 gradient itself"
        }


class TestReference:
    """A side with a reference (the formula run in float32): its verdicts come first."""

    @staticmethod
    def _reference(ref: Array) -> Any:
        return lambda p: (5.25, {"w": ref})

    def test_a_reproduced_difference_checks_the_copy_whatever_its_size(self) -> None:
        # three times the copy's gradient, reproduced by the reference: round-off
        side = _side(_square, np.float64, self._reference(3 * G64["w"]))
        got = _judge({"w": 3 * G64["w"]}, side=side)
        assert _plain(got) == (FLOOR, {"w": G64["w"].tolist()}, [], {})

    def test_a_systematic_difference_keeps_its_own_note(self) -> None:
        side = _side(_square, np.float64, self._reference(G64["w"]))
        wrong = G64["w"] * (1 + 2.0**-9)
        make, made = _maker(_square)
        got = _judge({"w": wrong}, make, side)
        assert made == ["model", "float64"]
        assert got.grads == {"w": wrong} and got.unresolved == {}
        assert got.notes == [
            "w: the float32 gradient differs from the same formula computed in float32 (the "
            "float64 copy run operation by operation in float32) by 0.002 of its scale, "
            "where float32 arithmetic moves that formula 0 from float64: a hook or backward "
            "acting only in float32 (one that tests the dtype, or rounds the gradient to "
            "bfloat16 or float16); the float32 gradient itself is checked"
        ]

    def test_a_systematic_parameter_does_not_end_the_others(self) -> None:
        # "a" (first) is systematic, "w" reproduced: w's checked gradient is the copy's
        g64 = {"a": np.array([1.5]), "w": G64["w"]}
        ref = {"a": np.array([1.5]), "w": 3 * G64["w"]}
        side = _side(_square, np.float64, lambda p: (5.25, ref), {"a": np.ones(1), "w": W})
        make, _ = _maker(_square, at={"a": np.ones(1), "w": W})
        user = {"a": np.array([1.5 * (1 + 2.0**-9)]), "w": 3 * G64["w"]}
        got = _judge(user, make, side, g64=g64)
        assert got.grads["a"] is user["a"] and got.grads["w"] is G64["w"]
        assert len(got.notes) == 1 and got.notes[0].startswith("a: the float32 gradient")

    def test_a_systematic_difference_the_loss_has_as_its_slope_is_inconclusive(self) -> None:
        own = G64["w"] + np.array([0.0, 0.6, 0.0])
        side = _side(_square, np.float64, self._reference(G64["w"]))
        make, _ = _maker(_other)
        got = _judge({"w": own}, make, side)
        assert got.grads == {"w": G64["w"]} and got.notes == []
        assert list(got.unresolved) == ["w"]
        assert got.unresolved["w"].startswith(
            "w: the float32 gradient differs from the float64 copy's by 0.15 of its scale, "
            "and your float32 loss's own slope"
        )

    def test_an_unresolved_difference_stays_unresolved(self) -> None:
        # 40 round-offs beside a reference 1 round-off from float64: neither reproduced
        # nor systematic; the formula (the copy's gradient) is checked
        g = G64["w"]
        side = _side(_square, np.float64, self._reference(g * (1 + U32)))
        got = _judge({"w": g * (1 + 40 * U32)}, side=side)
        assert got.grads == {"w": g} and got.notes == []
        assert list(got.unresolved) == ["w"]
        assert "more than round-off reproduces" in got.unresolved["w"]


class TestFloor:
    def test_the_floor_is_round_offs_of_the_largest_entry_of_any_parameter(self) -> None:
        g64 = {"w": G64["w"], "b": np.array([1e-12, -7.5])}
        user = {"w": G64["w"], "b": g64["b"]}
        assert _judge(user, g64=g64).floor == ATOL_ROUNDOFFS * U32 * 7.5

    def test_a_gradient_within_the_floor_checks_the_copys(self) -> None:
        # b's float64 gradient is 1e-12, the user's 3e-5 (within 100 round-offs of 4)
        g64 = {"w": G64["w"], "b": np.array([1e-12])}
        user = {"w": G64["w"], "b": np.array([3e-5])}
        got = _judge(user, g64=g64)
        assert _plain(got) == (FLOOR, {n: g.tolist() for n, g in g64.items()}, [], {})

    def test_a_gradient_just_past_the_floor_is_the_users(self) -> None:
        g64 = {"w": G64["w"], "b": np.array([0.0])}
        user = {"w": G64["w"], "b": np.array([2 * FLOOR])}
        make, _ = _maker(_square, at={"w": W, "b": np.array([0.0])})
        got = _judge(user, make, g64=g64)
        assert got.grads["b"] is user["b"] and got.unresolved == {}
        assert got.notes == [
            "b: the float32 gradient differs from the same computation in float64 by inf of "
            "its scale, more than float32 round-off explains: a hook or backward acting only "
            "in float32 (or round-off that leaves it useless); the float32 gradient itself is "
            "checked"
        ]

    def test_a_dtype_without_a_unit_round_off_has_no_floor(self) -> None:
        user = {"w": G64["w"]}
        assert _judge(user, dtype="float8_e4m3fn").floor == 0.0

    def test_bfloat16_has_its_own_floor_and_no_slope_is_read(self) -> None:
        # NumPy has no bfloat16: the loss cannot be run in it, nothing is built
        wrong = G64["w"] * 3  # past the floor of 100 bfloat16 round-offs of 4
        got = _judge({"w": wrong}, dtype="bfloat16")
        floor = ATOL_ROUNDOFFS * 2.0**-7 * 4.0
        assert _plain(got) == (floor, {"w": wrong.tolist()}, [_differs("2", "bfloat16")], {})

    def test_an_empty_parameter(self) -> None:
        g64 = {"w": G64["w"], "e": np.zeros(0)}
        got = _judge({"w": G64["w"], "e": np.zeros(0)}, g64=g64)
        assert _plain(got) == (FLOOR, {"w": G64["w"].tolist(), "e": []}, [], {})

    def test_the_floor_of_gradients_below_one(self) -> None:
        g64 = {"w": 0.125 * G64["w"]}  # largest entry 0.5
        assert _judge(g64, g64=g64).floor == ATOL_ROUNDOFFS * U32 * 0.5

    def test_no_parameters(self) -> None:
        assert _judge({}, g64={})[:4] == (0.0, {}, [], {})


def _nudge_maker(gradient: Any) -> Callable[[str], Side]:
    def make(kind: str) -> Side:
        dtype = np.float32 if kind == "model" else np.float64
        params = {"w": W.astype(dtype)}
        return Side(params, _square, _square, gradient, nullcontext, "none", str(dtype))

    return make


class TestMeasuredByNudging:
    """Without a reference, a plausible difference is measured by nudging."""

    def test_a_raising_nudge_is_said_and_the_copy_is_checked(self) -> None:
        def gradient(p: dict[str, Array]) -> Any:
            raise FloatingPointError("log of a negative number")

        user = {"w": G64["w"] * 1.05}
        side = _nudge_maker(gradient)("float64")
        got = _judge(user, _nudge_maker(gradient), side)
        assert _plain(got) == (
            FLOOR,
            {"w": G64["w"].tolist()},
            [
                "the float32 gradient's difference from float64 was not measured for "
                "round-off (FloatingPointError: log of a negative number at parameters "
                "nudged to measure it): a hook or backward acting only in float32 by a few "
                "percent could pass unseen; precision='model' checks the float32 gradient "
                "itself"
            ],
            {},
        )

    def test_a_gradient_no_nudge_moves_is_said_and_the_copy_is_checked(self) -> None:
        def constant(p: dict[str, Array]) -> Any:
            return 5.25, {"w": G64["w"]}

        user = {"w": G64["w"] * 1.05}
        side = _nudge_maker(constant)("float64")
        got = _judge(user, _nudge_maker(constant), side)
        assert _plain(got) == (
            FLOOR,
            {"w": G64["w"].tolist()},
            [
                "w: the float32 gradient's difference from float64 was not measured for "
                "round-off: no nudge of the parameters (up to four times their scale) moved "
                "the gradient by as much as the difference; a hook or backward acting only "
                "in float32 by a few percent could pass unseen; precision='model' checks the "
                "float32 gradient itself"
            ],
            {},
        )


class TestTwoUnmoved:
    def test_every_unmoved_parameter_is_named(self) -> None:
        at = {"w": W, "b": np.array([0.5, -1.0])}
        g64 = {"w": G64["w"], "b": np.array([1.0, -2.0])}

        def constant(p: dict[str, Array]) -> Any:
            return 5.25, dict(g64)

        def make(kind: str) -> Side:
            dtype = np.float32 if kind == "model" else np.float64
            return _side(_square, dtype, at=at)._replace(gradient=constant)

        user = {n: 1.05 * g for n, g in g64.items()}
        got = _judge(user, make, make("float64"), g64=g64)
        assert got.notes == [
            "w, b: the float32 gradient's difference from float64 was not measured for "
            "round-off: no nudge of the parameters (up to four times their scale) moved "
            "the gradient by as much as the difference; a hook or backward acting only "
            "in float32 by a few percent could pass unseen; precision='model' checks the "
            "float32 gradient itself"
        ]


class TestTheLossesOwnSlope:
    """How the user's loss and the copy's are run to read the slope."""

    def test_each_loss_starts_from_the_users_saved_rng_states(self) -> None:
        # a loss drawing from NumPy's global generator (dropout) reads the formula's
        # slope only when every call draws the same numbers
        def drawn(p: dict[str, Array]) -> float:
            return _square(p) + 0.5 * float(np.random.standard_normal())

        make, _ = _maker(drawn, drawn)
        got = _judge({"w": G64["w"] * 1.15}, make)
        assert _plain(got) == (FLOOR, {"w": (G64["w"] * 1.15).tolist()}, [_differs("0.15")], {})

    def test_the_copys_loss_gets_float64_parameters(self) -> None:
        def wide(p: dict[str, Array]) -> float:
            if p["w"].dtype != np.float64:
                raise TypeError(f"the float64 copy was given {p['w'].dtype}")
            return _square(p)

        make, _ = _maker(_square, wide)
        got = _judge({"w": G64["w"] * 1.15}, make)
        assert got.notes == [_differs("0.15")] and got.unresolved == {}

    @pytest.mark.parametrize("convention", ["conjugate", "plain"])
    def test_a_complex_parameter_in_either_convention(self, convention: str) -> None:
        z = np.array([1 + 2j, -0.5j])

        def energy(p: dict[str, Array]) -> float:
            return float(np.sum(np.abs(p["z"].astype(np.complex128)) ** 2))

        def shifted(p: dict[str, Array]) -> float:  # + 0.6 · Im z[0]
            return energy(p) + 0.6 * float(p["z"][0].imag)

        make, _ = _maker(shifted, energy, {"z": z}, np.complex64)

        g = 2 * z if convention == "conjugate" else (2 * z).conj()
        bump = 0.6j if convention == "conjugate" else -0.6j
        own = g + np.array([bump, 0])
        side = _side(energy, np.complex128, at={"z": z})
        got = _judge({"z": own}, make, side, g64={"z": g}, convention=convention)
        assert got.grads == {"z": g} and got.notes == []
        assert list(got.unresolved) == ["z"] and "computes another function" in got.unresolved["z"]
