"""Kink entries re-checked at nearby points (``gradcheck._nearby``): a move that leaves a
kink within a step is followed by fresh ones, a wrong finding there is confirmed, and a
real bug at a kink still fails and is named (issue 11 §4)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import gradcheck
from gradcheck import _nearby
from gradcheck._steps import relative_step
from test_kinks import dead_units

Array = np.ndarray[Any, Any]
Params = dict[str, Array]
#: Draws of ``dead_units`` where one move leaves an entry unsettled (5, 8, 28: a dead
#: unit's moved pre-activation within a step of 0), and 748, where two samples' kinks
#: fall within one step of ``w[0, 0]`` and one move found the right value wrong.
AWKWARD = (5, 8, 28, 748)


def _scaled(p: Params, how: str) -> Params:
    if how == "float32":
        return {k: v.astype(np.float32) for k, v in p.items()}
    if how == "x × 1e3":
        return {**p, "x": p["x"] * 1e3}
    return {**p, "w": p["w"] * 1e-4, "b": p["b"] * 1e-4}


class TestFreshMoves:
    @pytest.mark.parametrize("seed", AWKWARD)
    def test_awkward_draws_pass(self, seed: int) -> None:
        cost, p, grad = dead_units(seed)
        report = gradcheck.check(cost, p, grad)
        assert report.status == "passed", str(report)
        assert any("fresh, larger move" in m for m in report.messages), report.messages

    @pytest.mark.parametrize("how", ["float32", "x × 1e3", "w, b × 1e-4"])
    @pytest.mark.parametrize("seed", AWKWARD)
    def test_other_dtypes_and_scales_pass(self, seed: int, how: str) -> None:
        cost, p, grad = dead_units(seed)
        report = gradcheck.check(cost, _scaled(p, how), grad)
        assert report.status == "passed", str(report)

    @pytest.mark.parametrize("seed", [*AWKWARD, 0, 1])
    def test_unmasked_db_fails_and_is_named(self, seed: int) -> None:
        cost, p, grad = dead_units(seed, unmasked_db=True)
        report = gradcheck.check(cost, p, grad)
        assert report.failed_parameters == ["b"], str(report)
        wrong = {e.index for e in report.worst if e.status == "wrong"}
        assert wrong & {(0,), (2,)}  # a dead unit's bias: its entries sit at kinks

    @pytest.mark.parametrize("seed", AWKWARD)
    def test_doubled_dead_column_fails_there(self, seed: int) -> None:
        cost, p, grad = dead_units(seed)

        def doubled(q: Params) -> Params:
            g = grad(q)
            return {**g, "w": g["w"] * np.array([2.0, 1.0, 1.0, 1.0])}  # dead column 0

        report = gradcheck.check(cost, p, doubled)
        assert report.failed_parameters == ["w"], str(report)
        wrong = [e.index for e in report.worst if e.status == "wrong"]
        assert wrong and all(i[1] == 0 for i in wrong)
        assert any("are wrong there (e.g. w[" in m for m in report.messages)

    def test_the_moves_follow_the_seed_and_leave_the_user_alone(self) -> None:
        cost, p, grad = dead_units(5)
        before = {k: v.copy() for k, v in p.items()}
        np.random.seed(1)
        state = np.random.get_state()[1].copy()
        a, b = (gradcheck.check(cost, p, grad, seed=3) for _ in range(2))
        assert a.evaluations == b.evaluations and a.messages == b.messages
        assert all(np.array_equal(p[k], before[k]) for k in p)
        assert np.array_equal(np.random.get_state()[1], state)


class TestMove:
    def test_first_move_is_the_one_before_fresh_moves(self) -> None:
        x = np.random.default_rng(0).standard_normal(50)
        (first,) = _nearby._move([x], 7, 0)
        rng = np.random.default_rng([7, _nearby.STREAM])
        size = (
            _nearby.MOVE
            * relative_step("central", np.float64)
            * np.maximum(np.abs(x), np.sqrt(np.mean(x**2)))
        )
        expected = size * rng.uniform(0.5, 1.0, 50) * rng.choice([-1.0, 1.0], 50)
        np.testing.assert_allclose(first, expected, rtol=1e-9)  # θ + δ rounded

    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    def test_fresh_moves_are_new_larger_and_representable(self, dtype: Any) -> None:
        x = np.random.default_rng(1).standard_normal(400).astype(dtype)
        moves = [_nearby._move([x], 0, k)[0] for k in range(_nearby.TRIES)]
        for k, m in enumerate(moves):
            assert np.array_equal((x + m.astype(dtype)) - x, m.astype(dtype))
            ratio = np.median(np.abs(m)) / np.median(np.abs(moves[0]))
            assert ratio == pytest.approx(_nearby.GROW**k, rel=0.15)
        signs = [np.sign(m) for m in moves]
        assert all(np.mean(signs[0] == s) < 0.7 for s in signs[1:])  # independent draws


class TestTally:
    @staticmethod
    def _found(*statuses: list[str]) -> list[Any]:
        class Found:
            def __init__(self, status: list[str]) -> None:
                self.status = np.array(status)
                self.reach = np.full(len(status), 0.5)
                self.numeric = np.arange(len(status), dtype=float)
                self.abs_error = np.full(len(status), 2.0)

        return [Found(s) for s in statuses]

    def test_one_wrong_move_is_not_enough(self) -> None:
        t = _nearby.Tally.start(np.zeros(3, dtype=bool))
        t = t.add(np.arange(3), self._found(["wrong", "ok", "nonsmooth"], ["ok", "ok", "ok"]))
        assert t.wrong().tolist() == [False, False, False]
        assert t.ok().tolist() == [False, True, False]
        assert t.open().tolist() == [0, 2]
        t = t.add(np.array([0, 2]), self._found(["wrong", "ok"], ["ok", "ok"]))
        assert t.wrong().tolist() == [True, False, False] and t.ok().tolist() == [False, True, True]
        assert t.numeric[0] == 0.0 and t.error[0] == 2.0

    def test_right_twice_outvotes_a_wrong_move(self) -> None:
        t = _nearby.Tally.start(np.zeros(1, dtype=bool))
        t = t.add(np.arange(1), self._found(["wrong"], ["ok"]))
        t = t.add(np.arange(1), self._found(["ok"], ["ok"]))
        assert t.open().tolist() == [0]  # one each: undecided
        t = t.add(np.arange(1), self._found(["ok"], ["ok"]))
        assert t.ok().tolist() == [True]

    def test_wrong_at_theta_counts_once(self) -> None:
        t = _nearby.Tally.start(np.array([True, True]))
        assert t.open().tolist() == [0, 1]
        t = t.add(np.arange(2), self._found(["wrong", "ok"], ["ok", "ok"]))
        assert t.wrong().tolist() == [True, False] and t.open().tolist() == [1]


class _Point:
    """One point's comparison of a move, as ``Tally.add`` and ``_several`` read it."""

    def __init__(self, status: list[str], numeric: list[float], **kw: Any) -> None:
        n = len(status)
        self.status = np.array(status, dtype=object)
        self.numeric = np.array(numeric, dtype=np.float64)
        self.reach = np.array(kw.get("reach", [0.0] * n), dtype=np.float64)
        self.abs_error = np.array(kw.get("abs_error", [0.0] * n), dtype=np.float64)
        self.tolerance = np.array(kw.get("tolerance", [0.0] * n), dtype=np.float64)
        self.fd_error = np.array(kw.get("fd_error", [0.0] * n), dtype=np.float64)


class TestTallyReadWhole:
    """``Tally.start`` and ``Tally.add`` read field by field, and each bound of
    ``wrong``, ``agree`` and ``ok`` met exactly."""

    def test_start(self) -> None:
        t = _nearby.Tally.start(np.array([True, False, False]))
        assert t.wrongs.tolist() == [1, 0, 0] and t.wrongs.dtype.kind == "i"
        assert t.oks.tolist() == [0, 0, 0] and t.oks.dtype.kind == "i"
        assert t.reach.tolist() == [0.0, 0.0, 0.0]
        assert np.isnan(t.numeric).all() and np.isnan(t.error).all()
        assert t.several.tolist() == t.needs.tolist() == t.widened.tolist() == [False] * 3
        given = _nearby.Tally.start(
            np.zeros(2, dtype=bool), np.array([True, False]), np.array([False, True])
        )
        assert given.needs.tolist() == [True, False]
        assert given.widened.tolist() == [False, True]
        assert given.open().tolist() == [0, 1]

    def test_add(self) -> None:
        t = _nearby.Tally.start(np.array([False, True, False, False]))
        same = t.add(np.arange(2), [])
        assert same is t
        plus = _Point(
            ["wrong", "ok", "ok", "uncertain"],
            [1.0, 2.0, 3.0, 4.0],
            reach=[0.25, 0.5, 4.0, 8.0],
            abs_error=[0.125, 0.25, 0.5, 1.0],
        )
        minus = _Point(
            ["ok", "wrong", "ok", "ok"],
            [5.0, 6.0, 7.0, 8.0],
            reach=[2.0, 0.125, 1.0, 16.0],
            abs_error=[1.5, 2.5, 3.5, 4.5],
        )
        got = t.add(np.array([3, 2, 1, 0]), [plus, minus])
        # positions 3, 2, 1, 0 of the tally hold the comparisons' entries 0, 1, 2, 3
        assert got.wrongs.tolist() == [0, 1, 1, 1]
        assert got.oks.tolist() == [0, 1, 0, 0]
        assert got.reach.tolist() == [0.0, 4.0, 0.5, 2.0]  # entry 3 neither: unchanged
        assert np.isnan(got.numeric[[0, 1]]).all() and got.numeric[[2, 3]].tolist() == [6.0, 1.0]
        assert np.isnan(got.error[[0, 1]]).all() and got.error[[2, 3]].tolist() == [2.5, 0.125]
        assert got.several.tolist() == [False] * 4
        assert t.wrongs.tolist() == [0, 1, 0, 0] and np.isnan(t.numeric).all()  # a new one
        # one wrong move and one right one at position 1: neither wrong nor agreeing
        assert got.wrong().tolist() == got.agree().tolist() == [False] * 4
        assert got.open().tolist() == [0, 1, 2, 3]
        # a move wrong at both points counts once: CONFIRM = 2 at position 3
        last = got.add(
            np.array([3, 1]), [_Point(["wrong", "ok"], [9.0, 0.0], abs_error=[7.0, 0.0])] * 2
        )
        assert last.wrongs.tolist() == [0, 1, 1, 2] and last.numeric[3] == 9.0
        assert last.oks.tolist() == [0, 2, 0, 0]
        assert last.wrong().tolist() == [False, False, False, True]
        assert last.agree().tolist() == last.ok().tolist() == [False, True, False, False]
        assert last.open().tolist() == [0, 2]

    def test_several_counts_only_right_moves(self) -> None:
        t = _nearby.Tally.start(
            np.zeros(2, dtype=bool), np.ones(2, dtype=bool), np.ones(2, dtype=bool)
        )
        # θ ± δ on pieces of slopes 5 and −5, apart and neither θ's slopes (0 and 1)
        slopes = np.array([[0.0, 1.0], [0.0, 1.0]])
        found = [_Point(["ok", "wrong"], [5.0, 5.0]), _Point(["ok", "ok"], [-5.0, -5.0])]
        got = t.add(np.arange(2), found, slopes)
        assert got.several.tolist() == [True, False]
        assert got.ok().tolist() == [True, False]
        assert t.add(np.arange(2), found).several.tolist() == [False, False]


class TestSeveralBounds:
    """``_several``'s two bounds met exactly: allowances of ⅛ + SAFETY/64 at each point
    (9/32 each, 9/16 both) and SINGLE of the slopes' jump (0.02 · 25 = ½), 17/16 in all."""

    @staticmethod
    def _several(plus: float, minus: float) -> bool:
        kw = {"tolerance": [0.125], "fd_error": [1 / 64]}
        found = [_Point(["ok"], [plus], **kw), _Point(["ok"], [minus], **kw)]
        return bool(_nearby._several(found, np.array([[0.0, 25.0]]))[0])

    def test_apart_by_exactly_the_allowance_is_one_piece(self) -> None:
        assert not self._several(10.0, 10.0 - 17 / 16)
        assert self._several(10.0, 10.0 - 18 / 16)

    def test_within_the_allowance_of_the_slopes_is_one_kink(self) -> None:
        # |plus − right| + |minus − left| = 17/16, either way round
        assert not self._several(25.0 - 0.5, 17 / 16 - 0.5)
        assert not self._several(17 / 16 - 0.5, 25.0 - 0.5)
        assert self._several(25.0 - 0.5, 18 / 16 - 0.5)
        assert self._several(18 / 16 - 0.5, 25.0 - 0.5)

    def test_one_point_shows_nothing(self) -> None:
        found = [_Point(["ok"], [10.0])]
        assert _nearby._several(found, np.array([[0.0, 25.0]])).tolist() == [False]


class TestTargets:
    def test_unsettled_kinks_and_wrong_entries_beside_a_kink_at_theta(self) -> None:
        c = _Point(["nonsmooth", "uncertain", "uncertain", "ok", "wrong", "nonsmooth"], [0.0] * 6)
        c.kink = np.array([0.0, 0.5, np.nan, 0.0, np.nan, np.inf])  # type: ignore[attr-defined]
        assert _nearby._targets(c).tolist() == [0, 1, 4]  # type: ignore[arg-type]
        c.kink = np.array([0.5, 0.5, np.nan, 0.25, np.nan, np.nan])  # type: ignore[attr-defined]
        assert _nearby._targets(c).tolist() == [0, 1]  # type: ignore[arg-type]


def test_an_empty_leaf_beside_a_kink_is_moved_without_warning() -> None:
    # the nearby move of an empty leaf took the mean of an empty slice (a RuntimeWarning,
    # an error under filterwarnings = error)
    params = [np.array(0.0), np.array([], dtype=float)]
    cost = lambda p: float(abs(p[0]) + np.sum(p[1]))  # noqa: E731
    right = gradcheck.check(cost, params, lambda p: [np.sign(p[0]), np.zeros(0)])
    assert right.status in ("passed", "inconclusive"), str(right)
    wrong = gradcheck.check(
        cost, [np.array(0.5), params[1]], lambda p: [-np.sign(p[0]), np.zeros(0)]
    )
    assert wrong.status == "failed", str(wrong)


def _relu_garbage(seed: int) -> tuple[Any, Params, Any]:
    """relu(x − 1)·c + Σx² with three entries at the kink x = 1, and a gradient function
    right everywhere but exactly there, where it is 50 above (one-sided slopes 2, 2 + c)."""
    rng = np.random.default_rng(seed)
    c, x = rng.uniform(1, 2, 6), rng.standard_normal(6)
    x[:3] = 1.0

    def cost(p: Params) -> float:
        return float(np.sum(np.maximum(p["x"] - 1.0, 0.0) * c) + np.sum(p["x"] ** 2))

    def grad(p: Params) -> Params:
        g = (p["x"] > 1.0) * c + 2 * p["x"]
        return {"x": np.where(p["x"] == 1.0, g + 50.0, g)}

    return cost, {"x": x}, grad


def _double_kink(p: Params) -> float:
    """scipy's test_absolute_step_sign: −|x0 + 1| + |x1 + 1|, both kinks at [−1, −1]."""
    return float(-np.abs(p["x"][0] + 1) + np.abs(p["x"][1] + 1))


class TestClaimAtTheKinkItself:
    """attack26 H07, attack27 H43: agreement at nearby points is no evidence for θ."""

    @pytest.mark.parametrize("seed", range(5))
    def test_garbage_exactly_at_relu_kinks_is_not_passed(self, seed: int) -> None:
        cost, p, grad = _relu_garbage(seed)
        report = gradcheck.check(cost, p, grad)
        assert report.status == "inconclusive", str(report)
        assert report.parameters["x"].nonsmooth == 3
        assert any(
            "3 claim a value at θ outside the one-sided slopes" in m for m in report.messages
        )

    def test_double_kink_callable_outside_its_slopes_is_not_passed(self) -> None:
        def grad(p: Params) -> Params:
            x = p["x"]
            g = np.array([-np.sign(x[0] + 1), np.sign(x[1] + 1)])
            return {"x": np.where(x == -1.0, 3.0, g)}

        report = gradcheck.check(_double_kink, {"x": np.array([-1.0, -1.0])}, grad)
        assert report.status == "inconclusive", str(report)
        assert report.parameters["x"].nonsmooth == 2


class TestSeveralKinks:
    """A claim outside θ's slopes is settled by the moves only where one shows several
    kinks meeting at θ (LEAD 03:12, core28)."""

    @staticmethod
    def _found(plus: list[float], minus: list[float]) -> list[Any]:
        class Found:
            def __init__(self, numeric: list[float]) -> None:
                self.numeric = np.array(numeric)
                self.tolerance = np.full(len(numeric), 1e-7)
                self.fd_error = np.zeros(len(numeric))

        return [Found(plus), Found(minus)]

    def test_one_kink_two_pieces_or_one_piece_are_not_several(self) -> None:
        slopes = np.array([[2.0, 3.5], [2.0, 3.5], [2.0, 3.5], [0.0, -0.94]])
        # θ ± δ on the kink's two sides (either way round); both on one smooth piece
        # (a bump narrower than the move); a dead unit's moved pieces, 8% off θ's
        found = self._found([3.5001, 2.0001, 2.75, -0.038], [2.0001, 3.5001, 2.7501, -0.902])
        several = _nearby._several(found, slopes)
        assert several.tolist() == [False, False, False, True]

    def test_unknown_slopes_show_nothing(self) -> None:
        found = self._found([1.0], [2.0])
        assert _nearby._several(found, np.full((1, 2), np.nan)).tolist() == [False]

    def test_an_outside_claim_waits_for_several_kinks(self) -> None:
        t = _nearby.Tally.start(
            np.zeros(2, dtype=bool), np.array([True, True]), np.array([True, False])
        )
        slopes = np.array([[0.0, -0.94], [0.0, -0.94]])
        found = self._found([-0.038, -0.038], [-0.902, -0.902])
        for f in found:
            f.status = np.array(["ok", "ok"], dtype=object)
            f.reach = np.zeros(2)
            f.abs_error = np.zeros(2)
        t = t.add(np.arange(2), found, slopes)
        assert t.agree().tolist() == [True, True]
        assert t.ok().tolist() == [True, False]  # the second lies outside even widened
        assert t.open().tolist() == [1]

    @pytest.mark.parametrize(
        ("claim", "status"), [(-1.0, "inconclusive"), (5.0, "inconclusive"), (2.0, "passed")]
    )
    def test_one_kink_claims_outside_its_slopes_stay_unjudged(
        self, claim: float, status: str
    ) -> None:
        # attack29 H75: 4·relu(x − 1) (slopes 0 and 4) at 5 of 200 entries; claims 1
        # outside passed on the widened slopes alone, with no move showing several kinks
        rng = np.random.default_rng(0)
        x = rng.uniform(-2, 3, 200)
        x[rng.choice(200, 5, replace=False)] = 1.0

        def cost(p: Array) -> float:
            return float(np.sum(4 * np.maximum(p - 1, 0)) + 0.5 * np.sum(np.sin(p)))

        def grad(p: Array) -> Array:
            out = 4.0 * (p > 1) + 0.5 * np.cos(p)
            out[p == 1.0] = claim + 0.5 * np.cos(1.0)
            return out

        assert gradcheck.check(cost, x, grad).status == status


def _kink_entries(slopes: list[list[float]], numeric: list[float], err: list[float]) -> Any:
    from gradcheck._compare import Comparison

    n = len(numeric)
    c = Comparison(
        numeric=np.array(numeric),
        abs_error=np.array(err),
        tolerance=np.full(n, 1e-6),
        fd_error=np.zeros(n),
        status=np.array(["nonsmooth"] * (n - 1) + ["ok"], dtype=object),
        reach=np.zeros(n),
        flat=np.zeros(n, dtype=bool),
        scale=1.0,
        slopes=np.array(slopes),
    )
    c.kink[: n - 1] = 0.0
    c.bracketed[: n - 1] = True
    return c


class TestUnsettledKinks:
    """attack33 H122 (2): kink entries that no move settled were kept out of the verdict,
    and a parameter with 26 of 30 such entries passed on its 4 others ("0 agree there,
    26 could not be resolved there either"), one entry ×1.5 among them."""

    def test_a_claim_matching_neither_side_leaves_the_parameter_inconclusive(self) -> None:
        from gradcheck._summary import parameter_status

        # slopes (left, right) at h/2; the claims 1.5 and 0.4 (numeric ± abs_error)
        c = _kink_entries(
            [[1.0, 1.2], [0.0, 1.0], [np.nan, np.nan]], [1.1, 0.5, 1.0], [0.4, 0.1, 0]
        )
        tally = _nearby.Tally.start(np.zeros(2, dtype=bool))
        _, _, out, _ = _nearby._settle(
            ("w", np.zeros(3), c, np.arange(3)), np.arange(2), tally, 4, ""
        )
        assert out.status.tolist() == ["uncertain", "uncertain", "ok"]
        assert out.notes[-1].endswith("2 could not be resolved there either")
        assert parameter_status(0, 2, 0, 3) == "inconclusive"
        assert c.status.tolist() == ["nonsmooth", "nonsmooth", "ok"]  # the input untouched

    def test_a_claim_matching_one_side_stays_kept_out(self) -> None:
        # clip at its bound: slopes (0, 1), claim 1 (or its mirror 0) matches a side
        c = _kink_entries([[0.0, 1.0], [-2.0, 0.0]], [0.5, -1.0], [0.5, 1.0])
        tally = _nearby.Tally.start(np.zeros(1, dtype=bool))
        _, _, out, _ = _nearby._settle(
            ("w", np.zeros(2), c, np.arange(2)), np.arange(1), tally, 4, ""
        )
        assert out.status.tolist() == ["nonsmooth", "ok"]
