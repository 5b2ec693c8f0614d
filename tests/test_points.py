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
