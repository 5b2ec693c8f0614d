"""``gradcheck._layout``: the flat layout of a vector function's inputs and outputs."""

from __future__ import annotations

import numpy as np
import pytest

from gradcheck import GradcheckError
from gradcheck._layout import output_layout
from gradcheck._tolerances import unit_roundoff
from test_linear import layout


class TestLayout:
    def test_sizes_and_slices_follow_flatten_order(self) -> None:
        params = {"W": np.zeros((2, 3)), "b": np.zeros(2)}
        out = [np.zeros(4), np.zeros(())]
        lay = layout(params, out)
        assert (lay.n, lay.m) == (8, 5)
        assert lay.in_slices() == [slice(0, 6), slice(6, 8)]
        assert lay.out_slices() == [slice(0, 4), slice(4, 5)]

    def test_no_entries(self) -> None:
        lay = layout(np.zeros((0, 3)), np.zeros(0))
        assert (lay.n, lay.m) == (0, 0)
        assert lay.in_slices() == [slice(0, 0)]

    @pytest.mark.parametrize(
        ("in_dtype", "out_dtype", "expected"),
        [
            (np.float64, np.float64, np.float64),
            (np.float32, np.float64, np.float32),
            (np.float64, np.float16, np.float16),
            (np.int64, np.float64, np.float64),  # integers count as float64
        ],
    )
    def test_roundoff_is_the_coarsest_dtype(
        self, in_dtype: type, out_dtype: type, expected: type
    ) -> None:
        lay = layout(np.zeros(3, dtype=in_dtype), np.zeros(2, dtype=out_dtype))
        assert lay.roundoff() == unit_roundoff(expected)


class TestOutputLayout:
    def test_a_bare_array_is_named_out(self) -> None:
        names, arrays, treedef = output_layout(np.arange(3.0), "fn(params)")
        assert names == ["out"] and treedef.kind == "leaf"
        assert arrays[0].tolist() == [0.0, 1.0, 2.0]

    def test_a_dict_keeps_its_keys(self) -> None:
        names, arrays, _ = output_layout({"h": np.zeros(2), "s": 1.5}, "fn(params)")
        assert names == ["h", "s"] and [a.shape for a in arrays] == [(2,), ()]

    @pytest.mark.parametrize("dtype", [np.complex128, np.bool_, object])
    def test_values_that_are_no_real_numbers_are_refused_by_name(self, dtype: type) -> None:
        value = {"y": np.zeros(2, dtype=dtype)}
        with pytest.raises(GradcheckError, match=r"fn\(params\) returned .* for output 'y'"):
            output_layout(value, "fn(params)")
