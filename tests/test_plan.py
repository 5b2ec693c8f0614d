"""A check's plan: what ``make_plan`` makes of ``check``'s arguments, read whole."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
import pytest

from gradcheck import Directional, Full, GradcheckError, Sample
from gradcheck._execution import Execution, resolve_execution
from gradcheck._modes import ModeKeywords
from gradcheck._numerics import SAFETY
from gradcheck._plan import STEP_RULE, Plan, make_plan


def sq(p: Any) -> float:
    return float(sum(np.sum(v**2) for v in p.values())) if isinstance(p, dict) else 0.0


def plan(params: Any, grad: Any, **options: Any) -> Plan:
    """``make_plan`` with ``check``'s defaults, ``options`` replacing them."""
    given: dict[str, Any] = {
        "method": "central",
        "eps": None,
        "rtol": None,
        "atol": None,
        "mode": "auto",
        "seed": 0,
        "progress": None,
        "execution": resolve_execution(None),
        "keywords": ModeKeywords(),
    }
    given.update(options)
    cost = given.pop("cost", sq)
    return make_plan(cost, params, grad, **given)


class TestOptions:
    """What the report records: every key, for each way of giving it."""

    def test_the_defaults(self) -> None:
        x = np.array([1.0, 2.0])
        got = plan({"x": x}, {"x": 2 * x}).options
        assert got == {
            "method": "central",
            "eps": None,
            "rtol": None,
            "atol": None,
            "mode": "auto",
            "seed": 0,
            "safety": SAFETY,
            "step_rule": STEP_RULE,
            "tolerance_rule": "estimate",
            "screen_rtol": 1e-7,
            "resolved_mode": "full",
        }
        assert STEP_RULE == "u^(1/(p+1)) * max(|θ|, rms(θ))"

    def test_numpy_numbers_become_python_floats(self) -> None:
        x = np.array([1.0, 2.0])
        got = plan(
            {"x": x},
            {"x": 2 * x},
            eps=np.float32(0.5),
            rtol=np.float64(1e-3),
            atol=np.float32(0.25),
            seed=np.int64(7),
            method="forward",
        ).options
        for key, value in (("eps", 0.5), ("rtol", 1e-3), ("atol", 0.25), ("seed", 7)):
            assert got[key] == value and type(got[key]) is type(value), key
        assert (got["method"], got["step_rule"], got["tolerance_rule"]) == (
            "forward",
            "given",
            "fixed",
        )
        assert got["screen_rtol"] is None  # rtol given: no screen

    @pytest.mark.parametrize(
        ("rtol", "atol", "rule"),
        [
            (None, None, "estimate"),
            (1e-3, None, "fixed"),
            (None, 1e-9, "fixed"),
            (1e-3, 1e-9, "fixed"),
        ],
    )
    def test_either_tolerance_makes_the_rule_fixed(
        self, rtol: float | None, atol: float | None, rule: str
    ) -> None:
        x = np.array([1.0, 2.0])
        p = plan({"x": x}, {"x": 2 * x}, rtol=rtol, atol=atol)
        assert p.options["tolerance_rule"] == rule
        assert (p.rtol, p.atol, p.fixed) == (rtol, atol, rule == "fixed")
        # the screen is recorded unless rtol replaces it: atol alone keeps it
        assert p.options["screen_rtol"] == (None if rtol is not None else 1e-7)

    @pytest.mark.parametrize(
        ("method", "expected"),
        [("central", 1e-3), ("forward", 1e-2), ("richardson", 1e-4), ("complex", 1e-5)],
    )
    def test_the_screen_is_the_coarsest_parameters(self, method: str, expected: float) -> None:
        p = {"a": np.array([1.0, 2.0]), "b": np.array([1.0, 2.0], dtype=np.float32)}
        got = plan(p, {k: 2 * v for k, v in p.items()}, method=method).options
        assert got["screen_rtol"] == expected
        assert got["method"] == method

    def test_a_float64_screen_for_float64_alone(self) -> None:
        x = np.array([1.0, 2.0])
        assert plan({"x": x}, {"x": 2 * x}, method="richardson").options["screen_rtol"] == 1e-9

    def test_a_sample_records_its_size(self) -> None:
        x = np.arange(1.0, 6.0)
        got = plan({"x": x}, {"x": 2 * x}, mode=Sample(3)).options
        assert (got["mode"], got["resolved_mode"], got["sample"]) == ("sample", "sample", 3)
        assert "miss_probability" not in got

    def test_a_sample_by_keyword(self) -> None:
        x = np.arange(1.0, 6.0)
        got = plan({"x": x}, {"x": 2 * x}, mode="sample", keywords=ModeKeywords(sample=0.5))
        assert (got.options["mode"], got.options["sample"]) == ("sample", 0.5)
        assert got.mode == Sample(0.5)

    def test_a_directional_mode_records_all_its_options(self) -> None:
        x = np.arange(1.0, 6.0)
        mode = Directional(miss_probability=0.01, budget=7, localise=False)
        got = plan({"x": x}, {"x": 2 * x}, mode=mode).options
        assert (got["mode"], got["resolved_mode"]) == ("directional", "directional")
        assert {k: got[k] for k in ("miss_probability", "budget", "localise")} == asdict(mode)
        assert "sample" not in got

    def test_auto_records_the_directional_keywords_it_was_given(self) -> None:
        x = np.arange(1.0, 6.0)
        keywords = ModeKeywords(miss_probability=np.float32(0.5), budget=np.int64(3))
        got = plan({"x": x}, {"x": 2 * x}, keywords=keywords).options
        assert (got["mode"], got["resolved_mode"]) == ("auto", "full")
        assert got["miss_probability"] == 0.5 and type(got["miss_probability"]) is float
        assert got["budget"] == 3 and type(got["budget"]) is int
        assert "localise" not in got and "sample" not in got

    def test_a_full_mode_object_records_its_name(self) -> None:
        x = np.arange(1.0, 6.0)
        got = plan({"x": x}, {"x": 2 * x}, mode=Full()).options
        assert (got["mode"], got["resolved_mode"]) == ("full", "full")
        assert set(got) == {
            "method",
            "eps",
            "rtol",
            "atol",
            "mode",
            "seed",
            "safety",
            "step_rule",
            "tolerance_rule",
            "screen_rtol",
            "resolved_mode",
        }


class TestThePlan:
    """The plan's fields: private copies, the gradient read, the options passed on."""

    def test_every_field(self) -> None:
        w = np.array([[1.0, 2.0], [3.0, 4.0]])
        b = np.array([0.5], dtype=np.float32)
        params = {"W": w, "b": b}
        grad = {"dW": 2 * w, "db": 2 * b, "dZ": np.zeros(3)}

        def progress(done: int, planned: int) -> None:
            pass

        run = Execution(memory_budget=123)
        p = plan(
            params,
            grad,
            seed=5,
            progress=progress,
            execution=run,
            pairs=frozenset({"W"}),
            eps=1e-4,
        )
        assert (p.cost, p.grad, p.method, p.eps, p.seed) == (sq, grad, "central", 1e-4, 5)
        assert p.progress is progress and p.execution is run
        assert p.pairs == frozenset({"W"})
        assert p.names == ["W", "b"]
        assert p.treedef.kind == "dict" and p.treedef.keys == ("W", "b")
        assert p.mode == Full()
        for leaf, user in zip(p.leaves, (w, b)):
            assert leaf.dtype == user.dtype and np.array_equal(leaf, user)
            assert not np.shares_memory(leaf, user) and leaf.flags.c_contiguous
        for got, want in zip(p.analytic, (2 * w, 2 * b)):
            assert got.dtype == np.float64 and np.array_equal(got, want)
        assert p.notes == ("ignored gradient keys that match no parameter: dZ",)
        assert p.non_finite == ()
        assert not p.fixed and not p.complex_step

    def test_the_user_arrays_are_read_where_they_equal_the_copies(self) -> None:
        w = np.array([[1.0, 2.0], [3.0, 4.0]])
        f = np.asfortranarray(w)
        t = w.T  # a view, not C-contiguous
        params = {"w": w, "f": f, "t": t, "l": [1.0, 2.0]}
        grad = {"w": w, "f": w, "t": w, "l": [0.0, 0.0]}
        p = plan(params, grad)
        assert p.names == ["w", "f", "t", "l.0", "l.1"]
        twin = p.pristine[0]
        assert twin is not None and twin.shape == (4,) and np.shares_memory(twin, w)
        assert np.array_equal(twin, w.reshape(-1))
        assert p.pristine[1:] == [None, None, None, None]

    def test_no_twin_of_another_dtype(self) -> None:
        x = np.array([1.0, 2.0])
        p = plan({"x": x}, {"x": 2 * x}, method="complex")
        assert p.leaves[0].dtype == np.complex128 and p.complex_step
        assert p.pristine == [None]
        x32 = np.array([1.0, 2.0], dtype=np.float32)
        q = plan({"x": x32}, {"x": 2 * x32}, method="complex")
        assert q.leaves[0].dtype == np.complex64 and q.pristine == [None]

    def test_a_non_finite_gradient_entry_is_read_as_zero_and_kept(self) -> None:
        x = np.array([1.0, 2.0, 3.0])
        p = plan({"x": x}, {"x": np.array([2.0, np.nan, np.inf])})
        assert np.array_equal(p.analytic[0], [2.0, 0.0, 0.0])
        assert [(e.parameter, e.flat) for e in p.non_finite] == [("x", 1), ("x", 2)]

    @pytest.mark.parametrize(
        "params", [{}, [], {"x": np.zeros(0)}, {"a": np.zeros((0, 3)), "b": np.zeros(0)}]
    )
    def test_nothing_to_check_is_refused(self, params: Any) -> None:
        with pytest.raises(GradcheckError) as err:
            plan(params, params)
        assert str(err.value) == "params is empty: there is no entry to check"

    def test_one_empty_parameter_beside_another_is_planned(self) -> None:
        params = {"a": np.zeros(0), "b": np.array([1.0])}
        p = plan(params, {"a": np.zeros(0), "b": np.array([2.0])})
        assert p.names == ["a", "b"] and [x.size for x in p.leaves] == [0, 1]

    def test_more_than_auto_full_max_entries_run_directional(self) -> None:
        from gradcheck._modes import AUTO_FULL_MAX

        x = np.ones(AUTO_FULL_MAX + 1)
        p = plan({"x": x}, {"x": 2 * x})
        assert p.mode == Directional() and p.options["resolved_mode"] == "directional"
        y = np.ones(AUTO_FULL_MAX)
        assert plan({"x": y}, {"x": 2 * y}).mode == Full()


class TestRefusals:
    """What ``make_plan`` passes its validators: the parameter's name, the progress
    callback, the cost (to name a Jacobian)."""

    def test_a_bad_parameter_is_named(self) -> None:
        with pytest.raises(GradcheckError) as err:
            plan({"W": np.array([1, 2])}, {"W": np.zeros(2)})
        assert str(err.value) == (
            "parameter 'W' has integer dtype int64; gradients need real floating-point "
            "parameters (convert with .astype(float))"
        )

    def test_a_progress_that_is_no_function_is_refused(self) -> None:
        x = np.array([1.0, 2.0])
        with pytest.raises(GradcheckError) as err:
            plan({"x": x}, {"x": 2 * x}, progress=5)
        assert str(err.value) == (
            "option progress=5 must be a function progress(done, planned), or None"
        )

    def test_a_jacobian_for_a_vector_cost_is_named(self) -> None:
        x = np.array([1.0, 2.0])
        with pytest.raises(GradcheckError) as err:
            plan(x, np.zeros((3, 2)), cost=lambda p: np.array([p[0], p[1], p[0] * p[1]]))
        assert str(err.value).startswith(
            "the cost must return a scalar, but it returned shape (3,), and the gradient "
            "for 'x' has shape (3, 2): a Jacobian."
        )

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            ({"eps": -1.0}, "option eps=-1.0 must be positive"),
            ({"rtol": -1.0}, "option rtol=-1.0 must not be negative"),
            ({"atol": np.inf}, "option atol=inf must be a finite number or None"),
        ],
    )
    def test_each_option_is_checked(self, options: dict[str, Any], message: str) -> None:
        x = np.array([1.0, 2.0])
        with pytest.raises(GradcheckError) as err:
            plan({"x": x}, {"x": 2 * x}, **options)
        assert str(err.value) == message
