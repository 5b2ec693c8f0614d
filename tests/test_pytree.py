"""Pytrees: names, round trips and gradient matching."""

from __future__ import annotations

from collections import OrderedDict, defaultdict, namedtuple
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradcheck
from gradcheck import GradcheckError
from gradcheck._pytree import (
    GradientShapeError,
    _closure_builder,
    builder,
    flatten,
    match_gradient,
    unflatten,
)

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


#: keys that print alike or nest into one another's dotted names
_CLASHING_KEYS = st.sampled_from([1, "1", "a", "b", "a.b", "", "x", "[1]", 0, "0", "d", "da"])
clashing_trees = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=3),
        st.dictionaries(_CLASHING_KEYS, children, min_size=1, max_size=4),
    ),
    max_leaves=10,
)


class TestUniqueNames:
    """Issue 12 §4: every leaf has its own name, whatever the keys."""

    @pytest.mark.parametrize(
        ("tree", "names"),
        [
            ({1: 1.0, "1": 2.0}, ["[1]", "['1']"]),
            ({"a.b": 1.0, "a": {"b": 2.0}}, ["['a.b']", "a.b"]),
            ({"a": {"b": 2.0}, "a.b": 1.0}, ["a.b", "['a.b']"]),
            ({"": 1.0, "x": 2.0}, ["['']", "x"]),
            ({"0": 1.0, "l": [2.0]}, ["0", "l.0"]),
            ({"l": {0: 1.0}, "l.0": 2.0, "m": [3.0]}, ["l[0]", "['l.0']", "m.0"]),
            ({"a": {1: 1.0, "1": 2.0}, "a[1]": 3.0}, ["a[1]", "a['1']", "['a[1]']"]),
        ],
    )
    def test_collisions_are_told_apart_in_keystr_style(self, tree: Any, names: list[str]) -> None:
        assert flatten(tree)[0] == names

    def test_names_without_collisions_stay_dotted(self) -> None:
        tree = {"0.weight": 1.0, "0.bias": 2.0, 3: [4.0], "layer 1": {"W": 5.0}}
        assert flatten(tree)[0] == ["0.weight", "0.bias", "3.0", "layer 1.W"]

    def test_keys_that_print_alike_are_an_error(self) -> None:
        class Key:
            def __init__(self, n: int) -> None:
                self.n = n

            def __repr__(self) -> str:
                return "K"

        with pytest.raises(GradcheckError, match=r"both named '\[K\]'.*distinct string keys"):
            flatten({Key(1): 1.0, Key(2): 2.0})

    @settings(max_examples=150, deadline=None, derandomize=True)
    @given(clashing_trees)
    def test_names_are_unique_and_round_trip(self, tree: Any) -> None:
        names, values, treedef = flatten(tree)
        assert len(set(names)) == len(names) == len(values) == treedef.num_leaves
        assert flatten(unflatten(treedef, values))[0] == names

    def test_check_reports_every_parameter_of_colliding_keys(self) -> None:
        params = {1: np.array([1.0]), "1": np.array([2.0]), "a.b": np.ones(2), "a": {"b": 3.0}}
        grad = {1: np.array([2.0]), "1": np.array([4.0]), "a.b": 2 * np.ones(2), "a": {"b": 6.0}}

        def cost(p: Any) -> float:
            return float(p[1] @ p[1] + p["1"] @ p["1"] + p["a.b"] @ p["a.b"] + p["a"]["b"] ** 2)

        report = gradcheck.check(cost, params, grad)
        assert report.passed and list(report.parameters) == ["[1]", "['1']", "['a.b']", "a.b"]
        wrong = dict(grad, **{"1": np.array([5.0])})
        report = gradcheck.check(cost, params, wrong)
        assert report.failed_parameters == ["['1']"]
        assert report.worst[0].parameter == "['1']" and report.parameters["[1]"].status == "passed"


class TestDPrefix:
    """Issue 12 §4: exact names win; a key set that reads two ways is an error."""

    def test_params_x_and_dx_with_lesson_gradient(self) -> None:
        params = {"x": np.ones(2), "dx": np.ones(3)}
        flat = match_gradient(params, {"dx": np.zeros(2), "ddx": np.ones(3)})
        assert [g.shape for g in flat] == [(2,), (3,)]

    def test_exact_names_win(self) -> None:
        params = {"x": np.ones(2), "dx": np.ones(3)}
        grad = {"dx": np.ones(3), "x": np.zeros(2)}
        flat = match_gradient(params, grad)
        assert flat[0] is grad["x"] and flat[1] is grad["dx"]

    @pytest.mark.parametrize(
        ("params", "grad"),
        [
            ({"da": 1.0}, {"da": 2.0, "dda": 3.0}),
            ({"dW": 1.0, "db": 1.0}, {"dW": 2.0, "db": 3.0, "ddW": 4.0, "ddb": 5.0}),
        ],
    )
    def test_two_readings_are_an_error_showing_both(self, params: Any, grad: Any) -> None:
        with pytest.raises(GradcheckError) as info:
            match_gradient(params, grad)
        text = str(info.value)
        assert "read two ways" in text
        assert "'da' → 'da'; unused 'dda'" in text or "'dW' → 'dW'" in text
        assert "'da' → 'dda'; unused 'da'" in text or "'dW' → 'ddW'" in text

    def test_d_style_with_a_non_d_extra_key_is_refused(self) -> None:
        # an extra key that is not a d-key is a mistake even in the lesson's style
        grad = {"dW1": np.zeros(2), "dZ1": np.ones(4), "W2": np.ones(3)}
        with pytest.raises(GradcheckError, match="extra key\\(s\\) 'W2' that match no parameter"):
            match_gradient({"W1": np.ones(2)}, grad)

    def test_d_style_extras_are_only_ignored_when_all_are_d_keys(self) -> None:
        notes: list[str] = []
        match_gradient({"W1": np.ones(2)}, {"dW1": np.zeros(2), "dZ1": 1, "dA1": 2}, notes)
        assert notes == ["ignored gradient keys that match no parameter: dZ1, dA1"]

    def test_exact_reading_with_d_and_non_d_extras_is_refused_as_extras(self) -> None:
        # the d-reading's leftovers (W1) are not all d-keys: no second reading, so no
        # "read two ways"; the exact reading's extras are named
        grad = {"W1": np.zeros(2), "dW1": np.zeros(2), "dZ1": np.ones(4)}
        with pytest.raises(GradcheckError) as info:
            match_gradient({"W1": np.ones(2)}, grad)
        assert "extra key(s) 'dW1', 'dZ1' that match no parameter" in str(info.value)
        assert "read two ways" not in str(info.value)

    def test_exact_style_extras_are_refused(self) -> None:
        with pytest.raises(GradcheckError, match="extra key\\(s\\) 'dZ1'"):
            match_gradient({"W1": np.ones(2)}, {"W1": np.zeros(2), "dZ1": 1.0})

    def test_mixed_namings_are_an_error(self) -> None:
        with pytest.raises(GradcheckError, match="mix two namings"):
            match_gradient({"W": np.ones(2), "b": np.ones(1)}, {"dW": np.ones(2), "b": 1.0})

    def test_nested_dicts_read_each_level(self) -> None:
        params = {"layer": {"x": np.ones(1), "dx": np.ones(2)}, "out": np.ones(3)}
        grad = {"layer": {"dx": np.zeros(1), "ddx": np.zeros(2)}, "out": np.zeros(3)}
        assert [g.shape for g in match_gradient(params, grad)] == [(1,), (2,), (3,)]
        with pytest.raises(GradcheckError, match="under 'layer' read two ways"):
            match_gradient({"layer": {"da": 1.0}}, {"layer": {"da": 1.0, "dda": 2.0}})

    @settings(max_examples=150, deadline=None, derandomize=True)
    @given(
        st.sets(st.sampled_from(["x", "dx", "ddx", "W", "dW", "b", "Z"]), min_size=1),
        st.booleans(),
        st.sets(st.sampled_from(["dZ", "dA", "ddA", "dx"])),
    )
    def test_every_pairing_is_right_or_refused(
        self, keys: set[str], d_style: bool, extras: set[str]
    ) -> None:
        params = {k: np.full(1, float(i)) for i, k in enumerate(sorted(keys))}
        named = sorted(keys)
        grad = {("d" + k if d_style else k): np.full(1, float(named.index(k))) for k in named}
        unused = {e: np.full(1, -1.0) for e in extras if e not in grad}
        try:
            flat = match_gradient(params, {**grad, **unused})
        except GradcheckError as exc:
            assert unused, f"a clean key set is always read: {exc}"
            return
        assert [float(g[0]) for g in flat] == [float(params[k][0]) for k in params]
        if not unused:
            assert flat  # clean exact or clean d-style: always accepted


class TestRebuild:
    def test_defaultdict_keeps_its_factory(self) -> None:
        tree: defaultdict[str, Any] = defaultdict(list, {"a": 1.0})
        rebuilt = unflatten(flatten(tree)[2], [2.0])
        assert type(rebuilt) is defaultdict and rebuilt.default_factory is list
        assert rebuilt == {"a": 2.0}

    def test_builder_makes_new_containers(self) -> None:
        tree = {"a": [1.0, (2.0,)], "b": 3.0}
        _, values, treedef = flatten(tree)
        build = builder(treedef)
        one, two = build(values), build(values)
        assert one == two == tree and one is not two and one["a"] is not two["a"]

    def test_trees_of_one_shape_share_code_but_not_keys_or_classes(self) -> None:
        """The compiled code is cached by its text: the keys and classes of each tree
        are its own (passed in, never part of the code)."""
        trees = [
            {"a": 1.0, "b": [2.0]},
            {"x": 1.0, "y": [2.0]},
            OrderedDict(b=1.0, a=[2.0]),
            {"a": 1.0, "b": (2.0,)},
        ]
        for tree in trees * 2:
            treedef = flatten(tree)[2]
            rebuilt = builder(treedef)([5.0, 6.0])
            first, second = list(tree)
            assert list(rebuilt) == [first, second] and type(rebuilt) is type(tree)
            assert type(rebuilt[second]) is type(tree[second]) and list(rebuilt[second]) == [6.0]
            assert rebuilt[first] == 5.0

    def test_builders_agree_on_every_kind_of_container(self) -> None:
        pair = Pair(1.0, [2.0])
        tree = OrderedDict(p=pair, d={"e": (), "l": [], "t": (3.0,)}, dd=defaultdict(int, a=4.0))
        _, values, treedef = flatten(tree)
        for build in (builder(treedef), _closure_builder(treedef)):
            rebuilt = build(values)
            assert rebuilt == tree and type(rebuilt) is OrderedDict
            assert type(rebuilt["p"]) is Pair and type(rebuilt["dd"]) is defaultdict
            assert rebuilt["d"]["t"] == (3.0,) and rebuilt["d"]["e"] == ()

    def test_a_tree_too_deep_to_compile_still_builds(self) -> None:
        tree: Any = 1.0
        for _ in range(300):
            tree = [tree]
        _, values, treedef = flatten(tree)
        rebuilt = builder(treedef)(values)
        for _ in range(300):
            rebuilt = rebuilt[0]
        assert rebuilt == 1.0


_EXTRA = (
    " that match no parameter; remove them (or name every gradient with the lesson's d "
    "prefix, whose extra d-keys, dZ1, dA1, ..., are ignored)"
)
_TWO_WAYS = (
    " read two ways: exactly as the parameters ('da' → 'da'; unused 'dda') or with the "
    "lesson's d prefix ('da' → 'dda'; unused 'da'); drop the keys that are not a "
    "parameter's gradient, so that one reading fits"
)


class TestMismatchMessages:
    """A gradient that does not fit its parameters is refused with the whole reason:
    which parameter or key, where in the tree, what was expected and what was found."""

    @pytest.mark.parametrize(
        ("params", "grad", "message"),
        [
            (
                {"V": np.ones(2)},
                {"W": np.ones(2)},
                "gradient has no entry for parameter 'V' (looked for key 'V' or 'dV')",
            ),
            (
                {0: np.ones(2)},
                {1: np.ones(2)},
                "gradient has no entry for parameter '0' (looked for key 0)",
            ),
            (
                {1: np.ones(2), "1": np.ones(2)},
                {1: np.ones(2)},
                "gradient has no entry for parameter \"['1']\" (looked for key '1' or 'd1')",
            ),
            (
                {"V": np.ones(2)},
                {"V": np.ones(2), "Z": 1.0, "Y": 2.0},
                "gradient has extra key(s) 'Z', 'Y'" + _EXTRA,
            ),
            (
                {"L": {"V": np.ones(2)}},
                {"L": {"V": np.ones(2), "Z": 1.0}},
                "gradient has extra key(s) 'Z' under 'L'" + _EXTRA,
            ),
            ({"da": 1.0}, {"da": 2.0, "dda": 3.0}, "the gradient's keys" + _TWO_WAYS),
            (
                {"L": {"da": 1.0}},
                {"L": {"da": 2.0, "dda": 3.0}},
                "the gradient's keys under 'L'" + _TWO_WAYS,
            ),
            (
                {"W": np.ones(2), "b": np.ones(1)},
                {"dW": np.ones(2), "b": 1.0},
                "the gradient's keys mix two namings: some parameters are named exactly, "
                "others with the lesson's d prefix ('dW', 'b'); name every gradient alike, "
                "exactly as its parameter or with the d prefix",
            ),
            (
                {"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0, "e": 1.0},
                [1.0],
                "gradient should be a dict like the parameters (keys 'a', 'b', 'c', 'd', "
                "...), got a list",
            ),
            (
                {"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0},
                (1.0,),
                "gradient should be a dict like the parameters (keys 'a', 'b', 'c', 'd'), "
                "got a tuple",
            ),
            (
                {"L": {"a": 1.0}},
                {"L": [1.0]},
                "gradient for 'L' should be a dict like the parameters (keys 'a'), got a list",
            ),
            (
                [1.0, 2.0],
                [1.0],
                "gradient should be a sequence of length 2 like the parameters, got length 1",
            ),
            (
                [1.0, 2.0],
                {"a": 1.0},
                "gradient should be a sequence of length 2 like the parameters, got dict",
            ),
            (
                {"L": [1.0, 2.0]},
                {"L": np.ones(2)},
                "gradient for 'L' should be a sequence of length 2 like the parameters, got "
                "ndarray",
            ),
            (
                {"V": np.ones(2)},
                {"V": [np.ones(2)]},
                "gradient for 'V' should be an array, got a list",
            ),
            ({"V": np.ones(2)}, {"V": "ab"}, "gradient for 'V' should be an array, got a str"),
            (
                {"L": [np.ones(2)]},
                {"L": [np.ones((2, 1))]},
                "gradient for 'L.0' has shape (2, 1), but the parameter has shape (2,); "
                "shapes must match exactly",
            ),
        ],
    )
    def test_the_whole_message(self, params: Any, grad: Any, message: str) -> None:
        with pytest.raises(GradcheckError) as info:
            match_gradient(params, grad)
        assert str(info.value) == message

    @pytest.mark.parametrize(
        ("gshape", "jacobian"),
        [((3, 2), True), ((2, 3), True), ((2, 2, 3), True), ((3, 4), False), ((4,), False)],
    )
    def test_a_shape_that_extends_the_parameters_is_a_jacobian(
        self, gshape: tuple[int, ...], jacobian: bool
    ) -> None:
        with pytest.raises(GradientShapeError) as info:
            match_gradient({"W": np.ones(2)}, {"W": np.ones(gshape)})
        assert info.value.jacobian is jacobian
        assert (info.value.name, info.value.shape) == ("W", gshape)

    def test_without_a_notes_list_ignored_keys_are_still_ignored(self) -> None:
        flat = match_gradient({"W1": np.ones(2)}, {"dW1": np.zeros(2), "dZ1": 1.0})
        assert len(flat) == 1 and np.array_equal(flat[0], np.zeros(2))


def test_two_readings_show_every_pair_and_every_unused_key() -> None:
    params = {"dW": 1.0, "db": 1.0}
    grad = {"dW": 2.0, "db": 3.0, "ddW": 4.0, "ddb": 5.0}
    with pytest.raises(GradcheckError) as info:
        match_gradient(params, grad)
    assert str(info.value) == (
        "the gradient's keys read two ways: exactly as the parameters ('dW' → 'dW', "
        "'db' → 'db'; unused 'ddW', 'ddb') or with the lesson's d prefix ('dW' → 'ddW', "
        "'db' → 'ddb'; unused 'dW', 'db'); drop the keys that are not a parameter's "
        "gradient, so that one reading fits"
    )


class TestTreeDefReadWhole:
    """``flatten``'s structure and paths, every field (the Jacobian checks read a
    tree's kinds and keys: ``gradcheck._flat_values``)."""

    def test_every_node(self) -> None:
        from gradcheck._pytree import PathEntry, flatten_paths

        x, y, z = np.zeros(1), np.ones(2), np.full(3, 2.0)
        paths, got, tree = flatten_paths({"a": x, "b": [y, (z,)]})
        assert got == [x, y, z]
        assert paths == [
            (PathEntry("a"),),
            (PathEntry("b"), PathEntry(0, True)),
            (PathEntry("b"), PathEntry(1, True), PathEntry(0, True)),
        ]
        assert [p[-1].position for p in paths] == [False, True, True]
        assert (tree.kind, tree.keys, tree.cls) == ("dict", ("a", "b"), dict)
        lst = tree.children[1]
        assert (lst.kind, lst.keys, lst.cls) == ("list", (0, 1), list)
        tup = lst.children[1]
        assert (tup.kind, tup.keys, tup.cls) == ("tuple", (0,), tuple)
        leaf = tree.children[0]
        assert (leaf.kind, leaf.keys, leaf.children, leaf.cls) == ("leaf", (), (), None)
        assert tree.num_leaves == 3

    def test_other_classes_are_kept(self) -> None:
        tree = flatten(OrderedDict(a=np.zeros(1), b=Pair(np.zeros(1), np.zeros(1)))).treedef
        assert (tree.kind, tree.cls) == ("dict", OrderedDict)
        assert (tree.children[1].kind, tree.children[1].cls) == ("tuple", Pair)

    def test_a_mapping_that_cannot_be_rebuilt_is_refused_with_why(self) -> None:
        from collections.abc import Mapping

        class Frozen(Mapping[str, Any]):
            def __init__(self, items: dict[str, Any], *, token: int) -> None:
                self._items = items

            def __getitem__(self, key: str) -> Any:
                return self._items[key]

            def __iter__(self) -> Any:
                return iter(self._items)

            def __len__(self) -> int:
                return len(self._items)

        with pytest.raises(GradcheckError) as err:
            flatten(Frozen({"a": np.zeros(1)}, token=1))
        text = str(err.value)
        assert text.startswith(
            "params holds a Frozen, which cannot be rebuilt from a dict of its entries (TypeError: "
        )
        assert text.endswith(
            "missing 1 required keyword-only argument: 'token'); pass a plain dict"
        )

    @pytest.mark.parametrize(
        "tree",
        [
            {"a": np.zeros(1), "b": np.zeros(1)},
            [np.zeros(1), np.zeros(1)],
            (np.zeros(1), np.zeros(1)),
            {"a": [np.zeros(1), (np.zeros(1), np.zeros(1))], "b": {"c": np.zeros(1)}},
            (np.zeros(1),),
        ],
    )
    def test_plain_containers_are_built_by_one_compiled_expression(self, tree: Any) -> None:
        """Not by the closures of the fallback (a code string that fails to compile
        falls back to them silently: the same trees, 4× slower)."""
        _, got, treedef = flatten(tree)
        built = builder(treedef)
        assert built.__code__.co_filename == "<gradcheck builder>"  # type: ignore[attr-defined]
        again = built(got)
        assert type(again) is type(tree) and flatten(again)[1] == got
