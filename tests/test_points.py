"""``gradcheck._points``: a point of the parameter space put into words for an error."""

from __future__ import annotations

import numpy as np

from gradcheck._points import Delta, describe, edge_hint


class TestDescribe:
    def test_one_entry_is_named_by_its_index_and_step(self) -> None:
        point = (Delta(1, 4, 2e-5, factor=-0.5),)
        text = describe(point, ["x", "W"], [(3,), (2, 3)])
        assert text == "with W[1, 1] perturbed by -1e-05"

    def test_a_direction_is_named_by_its_parameter(self) -> None:
        point = (Delta(0, slice(None), np.ones(3)), Delta(1, 0, 1e-3))
        text = describe(point, ["x", "b"], [(3,), ()])
        assert text == "with x perturbed along a direction and b perturbed by +0.001"


class TestEdgeHint:
    NAMES, SHAPES = ["x"], [(2,)]

    def test_a_step_down_offers_forward_differences(self) -> None:
        base = [np.array([1e-7, 2.0])]
        hint = edge_hint((Delta(0, 0, -4e-6),), self.NAMES, self.SHAPES, base)
        assert hint == (
            ": x[0] is 1e-07, so the step to -3.9e-06 may leave the cost's domain; "
            'use method="forward" (its steps go up only) or move the point away from the edge'
        )

    def test_a_direction_names_the_entries_it_flips(self) -> None:
        base = [np.array([1e-12, 0.0])]
        point = (Delta(0, slice(None), np.array([-3e-9, 1e-9])),)
        hint = edge_hint(point, self.NAMES, self.SHAPES, base)
        assert hint == (
            ": the step turns x[0] from 1e-12 to -3e-09 and x[1] from 0 to 1e-09, which "
            "may leave the cost's domain; move the point away"
        )

    def test_no_flip_and_no_step(self) -> None:
        base = [np.array([1.0, 2.0])]
        point = (Delta(0, slice(None), np.array([1e-3, 1e-3])),)
        assert "edge of its domain" in edge_hint(point, self.NAMES, self.SHAPES, base)
        assert edge_hint((), self.NAMES, self.SHAPES, base) == (
            ": the cost is not defined at the parameters given"
        )


class TestDelta:
    def test_the_amount_is_the_values_times_the_factor(self) -> None:
        values = np.array([1.0, -2.0])
        assert Delta(0, 0, values).amount() is values
        assert Delta(0, 0, values, -0.5).amount().tolist() == [-0.5, 1.0]
        assert Delta(0, 0, values).factor == 1.0


class TestDescribeWhole:
    """Every part of the text (mutation testing, issue 16)."""

    def test_an_unperturbed_point(self) -> None:
        assert describe((), ["x"], [(2,)]) == "at the unperturbed parameters"

    def test_a_scalar_parameter_is_named_alone(self) -> None:
        assert describe((Delta(0, 0, 0.25),), ["s"], [()]) == "with s perturbed by +0.25"

    def test_a_numpy_integer_index(self) -> None:
        point = (Delta(0, np.int64(5), 1e-6, 2.0),)
        assert describe(point, ["W"], [(2, 3)]) == "with W[1, 2] perturbed by +2e-06"

    def test_a_complex_step_is_named_by_its_real_part_or_whole(self) -> None:
        assert describe((Delta(0, 1, 1e-3 + 2e-3j),), ["z"], [(2,)]) == (
            "with z[1] perturbed by +0.001"
        )
        assert describe((Delta(0, 1, 1e-3j),), ["z"], [(2,)]) == "with z[1] perturbed by +0+0.001j"

    def test_two_entries(self) -> None:
        point = (Delta(0, 0, 1e-3), Delta(0, 1, -1e-3))
        assert describe(point, ["x"], [(2,)]) == (
            "with x[0] perturbed by +0.001 and x[1] perturbed by -0.001"
        )


class TestEdgeHintWhole:
    NAMES, SHAPES = ["x", "W"], [(3,), (2, 2)]
    BASE = (np.array([1e-7, 2.0, -0.5]), np.array([0.5, -1e-9, 0.0, 3.0]))

    def test_a_step_up_offers_moving_the_point(self) -> None:
        hint = edge_hint((Delta(1, np.int64(1), 4e-6),), self.NAMES, self.SHAPES, self.BASE)
        assert hint == (
            ": W[0, 1] is -1e-09, so the step to 4e-06 may leave the cost's domain; move the "
            "point away from the edge"
        )

    def test_a_scaled_step_down(self) -> None:
        hint = edge_hint((Delta(0, 0, 4e-6, -0.5),), self.NAMES, self.SHAPES, self.BASE)
        assert hint == (
            ": x[0] is 1e-07, so the step to -1.9e-06 may leave the cost's domain; "
            'use method="forward" (its steps go up only) or move the point away from the edge'
        )

    def test_a_complex_entry_is_named_by_its_real_part(self) -> None:
        base = [np.array([1e-7 + 5j])]
        hint = edge_hint((Delta(0, 0, -4e-6 + 1j),), ["z"], [(1,)], base)
        assert hint.startswith(": z[0] is 1e-07, so the step to -3.9e-06 may leave")

    def test_two_entries_stepped_at_once_are_a_direction(self) -> None:
        point = (Delta(0, 0, -1e-6), Delta(1, 1, 2e-9))
        assert edge_hint(point, self.NAMES, self.SHAPES, self.BASE) == (
            ": the step turns x[0] from 1e-07 to -9e-07 and W[0, 1] from -1e-09 to 1e-09, "
            "which may leave the cost's domain; move the point away"
        )

    def test_at_most_two_flips_are_named(self) -> None:
        point = (
            Delta(0, slice(None), np.array([-1e-6, -3.0, 1.0])),
            Delta(1, slice(None), np.array([-1.0, 1.0, 1.0, 0.0])),
        )
        assert edge_hint(point, self.NAMES, self.SHAPES, self.BASE) == (
            ": the step turns x[0] from 1e-07 to -9e-07 and x[1] from 2 to -1, which may "
            "leave the cost's domain; move the point away"
        )

    def test_one_flip_in_each_of_two_directions(self) -> None:
        point = (
            Delta(0, np.array([1, 2]), np.array([1.0, 1.0]), 2.0),
            Delta(1, slice(2, 4), np.array([-1e-3, 1.0])),
        )
        assert edge_hint(point, self.NAMES, self.SHAPES, self.BASE) == (
            ": the step turns x[2] from -0.5 to 1.5 and W[1, 0] from 0 to -0.001, which "
            "may leave the cost's domain; move the point away"
        )

    def test_two_flips_in_the_second_direction_after_one(self) -> None:
        point = (
            Delta(0, slice(None), np.array([-1e-6, 0.0, 0.0])),
            Delta(1, slice(None), np.array([-1.0, 1.0, 1.0, 0.0])),
        )
        assert edge_hint(point, self.NAMES, self.SHAPES, self.BASE) == (
            ": the step turns x[0] from 1e-07 to -9e-07 and W[0, 0] from 0.5 to -0.5, which "
            "may leave the cost's domain; move the point away"
        )

    def test_a_step_of_zero_offers_moving_the_point(self) -> None:
        hint = edge_hint((Delta(0, 2, 0.0),), self.NAMES, self.SHAPES, self.BASE)
        assert hint == (
            ": x[2] is -0.5, so the step to -0.5 may leave the cost's domain; move the "
            "point away from the edge"
        )

    def test_an_entry_left_at_zero_or_reaching_it_is_no_flip(self) -> None:
        point = (Delta(1, slice(None), np.array([-0.5, 0.0, 0.0, 1.0])),)
        assert edge_hint(point, self.NAMES, self.SHAPES, self.BASE) == (
            ": the cost is not defined this near the parameters (the edge of its domain?)"
        )
