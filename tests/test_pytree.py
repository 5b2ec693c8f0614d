"""Pytrees: names, round trips and gradient matching."""

from __future__ import annotations

from collections import OrderedDict, namedtuple
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcheck import GradcheckError
from gradcheck._pytree import flatten, match_gradient, unflatten

Pair = namedtuple("Pair", ["a", "b"])

leaves = st.integers(0, 3).map(lambda n: np.arange(float(n)))
trees = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=3),
        st.lists(children, min_size=1, max_size=3).map(tuple),
        st.dictionaries(
            st.text("abcxyz", min_size=1, max_size=3), children, min_size=1, max_size=3
        ),
    ),
    max_leaves=8,
)


class TestFlatten:
    def test_names_join_keys_and_positions(self) -> None:
        names, _, _ = flatten({"layers": [{"W": 1.0}, {"W": 2.0}], "b": 3.0})
        assert names == ["layers.0.W", "layers.1.W", "b"]

    def test_bare_leaf_is_x(self) -> None:
        assert flatten(np.ones(2))[0] == ["x"]

    def test_container_types_survive(self) -> None:
        tree = OrderedDict(p=Pair(1.0, [2.0, (3.0,)]))
        names, values, treedef = flatten(tree)
        rebuilt = unflatten(treedef, values)
        assert type(rebuilt) is OrderedDict and type(rebuilt["p"]) is Pair
        assert rebuilt == tree
        assert names == ["p.0", "p.1.0", "p.1.1.0"]

    @settings(max_examples=60, deadline=None, derandomize=True)
    @given(trees)
    def test_round_trip(self, tree: Any) -> None:
        names, values, treedef = flatten(tree)
        assert len(names) == len(values) == treedef.num_leaves
        rebuilt = unflatten(treedef, values)
        assert flatten(rebuilt)[0] == names
        assert all(a is b for a, b in zip(flatten(rebuilt)[1], values))


class TestMatchGradient:
    def test_lesson_d_prefix_and_ignored_intermediates(self) -> None:
        params = {"W1": np.ones((2, 2)), "b1": np.ones((2, 1))}
        grads = {"dW1": np.zeros((2, 2)), "db1": np.zeros((2, 1)), "dZ1": 1.0, "dA1": 2.0}
        notes: list[str] = []
        flat = match_gradient(params, grads, notes)
        assert [g.shape for g in flat] == [(2, 2), (2, 1)]
        assert notes == ["ignored gradient keys that match no parameter: dZ1, dA1"]

    @pytest.mark.parametrize(
        ("grad", "message"),
        [
            ({"W": np.ones(2)}, "no entry for parameter 'V'"),
            ({"V": np.ones(2), "Z": 1.0}, "extra key"),
            ({"V": np.ones((2, 1))}, r"'V' has shape \(2, 1\).*shape \(2,\)"),
            ([np.ones(2)], "should be a dict"),
            ({"V": [np.ones(2)]}, "should be an array"),
        ],
    )
    def test_mismatches_name_the_parameter(self, grad: Any, message: str) -> None:
        with pytest.raises(GradcheckError, match=message):
            match_gradient({"V": np.ones(2)}, grad)

    @settings(max_examples=40, deadline=None, derandomize=True)
    @given(trees)
    def test_same_structure_always_matches(self, tree: Any) -> None:
        flat = match_gradient(tree, tree)
        assert [g.shape for g in flat] == [np.shape(v) for v in flatten(tree)[1]]
