"""The in-process evaluator: perturb in place, restore exactly, reset the RNG lazily."""

from __future__ import annotations

import random
import re
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gradcheck
from gradcheck import GradcheckError
from gradcheck._evaluate import Delta, GlobalRng, SerialEvaluator, preserve_rng, to_scalar
from gradcheck._pytree import flatten, unflatten

Array = np.ndarray[Any, Any]


def _evaluator(cost: Any, tree: Any, rng: GlobalRng | None = None) -> SerialEvaluator:
    names, leaves, treedef = flatten(tree)
    private = [np.array(x, dtype=np.float64, copy=True) for x in leaves]
    return SerialEvaluator(cost, treedef, private, names, rng)


class TestPerturbation:
    def test_values_and_exact_restore(self) -> None:
        x = np.array([1.0, 2.0, 3.0])
        ev = _evaluator(lambda p: float(np.sum(p**2)), x)
        points = [(), (Delta(0, 1, 0.5),), (Delta(0, slice(0, 2), np.array([1.0, -1.0])),)]
        assert list(ev(points)) == [14.0, 1 + 6.25 + 9, 4 + 1 + 9]
        assert ev.leaves[0].tobytes() == x.tobytes()
        assert ev.count == 3

    def test_several_deltas_and_factors(self) -> None:
        ev = _evaluator(lambda p: float(p[0] + 10 * p[1] + 100 * p[2]), np.array([1.0, 2.0, 3.0]))
        v = np.array([0.5, 0.25])
        points = [
            (Delta(0, slice(0, 2), v, -1.0), Delta(0, 2, 1.0)),
            (Delta(0, slice(0, 2), v, 0.5),),  # the same range again: overwritten, not added
            (Delta(0, np.array([2]), np.array([1.0]), 2.0),),
        ]
        assert list(ev(points)) == [0.5 + 17.5 + 400, 1.25 + 21.25 + 300, 1 + 20 + 500]
        assert list(ev.leaves[0]) == [1.0, 2.0, 3.0] and ev.dirty == {}

    def test_restored_when_the_cost_raises(self) -> None:
        x = np.array([0.1, 0.2, 0.3])

        def cost(p: Array) -> float:
            if p[2] != 0.3:
                raise ValueError("no")
            return float(np.sum(p))

        ev = _evaluator(cost, x)
        with pytest.raises(GradcheckError, match=r"ValueError: no \(evaluation 2, with x\[2\]"):
            ev([(Delta(0, 0, 1e-3),), (Delta(0, 2, 1e-3),)])
        assert ev.leaves[0].tobytes() == x.tobytes()

    def test_a_cost_writing_to_its_input_is_refused_at_once(self) -> None:
        calls = []

        def vandal(p: Array) -> float:
            calls.append(1)
            p[-1] = 0.0
            return float(np.sum(p))

        ev = _evaluator(vandal, np.ones(4))
        with pytest.raises(GradcheckError, match=r"modified the parameters.*'x' changed"):
            ev([(Delta(0, 0, 1e-3),), (Delta(0, 1, 1e-3),)])
        assert len(calls) == 2

    @pytest.mark.parametrize("whole", [slice(None), slice(0, 4), slice(-4, None)])
    def test_a_write_to_a_leaf_not_moved_whole_by_the_batch_is_refused(self, whole: slice) -> None:
        # "a" is moved whole (its comparison is skipped: the final restore copies it
        # back), "b" is not: the write to "b" is seen, on a batch of one or two points
        def vandal(p: Any) -> float:
            p["b"][0] = 7.0
            return float(np.sum(p["a"]))

        tree = {"a": np.ones(4), "b": np.ones(3)}
        step = Delta(0, whole, np.full(4, 1e-3))
        for points in ([(step,)], [(step,), (step,)]):
            ev = _evaluator(vandal, tree)
            with pytest.raises(GradcheckError, match=r"modified the parameters.*'b' changed"):
                ev(points)
            assert ev.restored_whole == {0}

    def test_a_write_after_a_whole_leaf_was_put_back_mid_batch_is_refused(self) -> None:
        # "a" is moved whole at the first point and put back before the second, which
        # moves "b" only: the cost's write to "a" there is not undone by a restore
        def vandal(p: Any) -> float:
            if p["b"][0] != 1.0:
                p["a"][1] = 7.0
            return float(np.sum(p["a"]))

        ev = _evaluator(vandal, {"a": np.ones(4), "b": np.ones(3)})
        points = [(Delta(0, slice(None), np.full(4, 1e-3)),), (Delta(1, slice(None), np.ones(3)),)]
        with pytest.raises(GradcheckError, match=r"modified the parameters.*'a' changed"):
            ev(points)
        assert ev.restored_whole == {1}

    def test_a_part_of_a_leaf_is_not_restored_whole(self) -> None:
        ev = _evaluator(lambda p: float(np.sum(p)), np.ones(4))
        ev([(Delta(0, slice(1, 4), np.ones(3)),), (Delta(0, 2, 1e-3),)])
        assert ev.restored_whole == set()
        ev([(Delta(0, slice(0, 4), np.ones(4)),)])
        assert ev.restored_whole == {0} and ev.leaves[0].tolist() == [1.0] * 4


#: parameters, and a rebinding of their container's entries that a cost may do
REBINDS: list[tuple[Any, Callable[[Any], Any]]] = [
    ({"W": np.array([0.3, -0.2])}, lambda p: p.__setitem__("W", p["W"] * 1.0)),
    (
        {"W": np.array([0.3, -0.2], dtype=np.float32)},
        lambda p: p.__setitem__("W", p["W"].astype(np.float64)),
    ),
    (
        {"layer": {"W": np.array([0.3, -0.2])}},
        lambda p: p["layer"].__setitem__("W", np.array(p["layer"]["W"])),
    ),
    ([np.array([0.3, -0.2])], lambda p: p.__setitem__(0, p[0].copy())),
    (
        {"pair": (np.array([0.3, -0.2]), np.array([1.5]))},
        lambda p: p.__setitem__("pair", (p["pair"][1] * 1.0, p["pair"][0] * 1.0)),
    ),
    ({"W": np.array([0.3, -0.2]), "b": np.array([1.0])}, lambda p: p.pop("b")),
]


class TestFreshContainer:
    """Issue 12 §3: a cost that rebinds entries of its container still sees perturbations."""

    def test_rebound_entry_sees_every_perturbation(self) -> None:
        def cost(p: dict[str, Array]) -> float:
            p["W"] = p["W"].astype(np.float64)
            return float(np.sum(p["W"]))

        ev = _evaluator(cost, {"W": np.array([1.0, 2.0])})
        assert list(ev([(), (Delta(0, 0, 0.5),), (Delta(0, 1, -1.0),), ()])) == [3, 3.5, 2, 3]

    def test_each_evaluation_gets_a_new_shell_around_views_of_the_same_arrays(self) -> None:
        seen: list[Any] = []
        tree = {"a": [np.ones(2), (np.zeros(1),)], "b": np.ones(3)}
        ev = _evaluator(lambda p: seen.append(p) or 0.0, tree)
        ev([(), ()])
        first, second = seen
        assert first is not second and first["a"] is not second["a"]
        assert first["a"][1] is not second["a"][1] and type(first["a"][1]) is tuple
        # fresh array objects (a cost caching on identity), the same memory (no copy)
        assert first["a"][0] is not second["a"][0] and first["b"] is not second["b"]
        assert first["a"][0].base is second["a"][0].base is ev.leaves[0]

    @pytest.mark.parametrize(("params", "rebind"), REBINDS)
    def test_check_of_a_rebinding_cost_passes(self, params: Any, rebind: Any) -> None:
        _, leaves, treedef = flatten(params)

        def cost(p: Any) -> float:
            values = [np.asarray(x, dtype=np.float64) for x in flatten(p)[1]]
            rebind(p)  # after reading: a rebind must not leak into the next evaluation
            return float(sum(np.sum(np.sin(v)) for v in values))

        grad = unflatten(treedef, [np.cos(np.asarray(x, dtype=np.float64)) for x in leaves])
        before = [x.tobytes() for x in leaves]
        report = gradcheck.check(cost, params, grad)
        assert report.passed, str(report)
        assert [x.tobytes() for x in flatten(params)[1]] == before

    @pytest.mark.parametrize("dtype", ["float64", "float32"])
    def test_issue_reproducer(self, dtype: str) -> None:
        def cost(p: dict[str, Array]) -> float:
            p["W"] = p["W"].astype(np.float64)
            return float(np.sin(p["W"]).sum())

        w = np.array([[0.5, -1.0], [2.0, 0.1]], dtype=dtype)
        report = gradcheck.check(cost, {"W": w}, {"W": np.cos(w.astype(np.float64))})
        assert report.passed, str(report)


class TestTheEvaluatorAndTheGlobalRng:
    def test_a_cost_that_draws_nothing_is_never_reset(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        resets, restores = [], []
        with preserve_rng() as saved:
            monkeypatch.setattr(saved, "reset", lambda: resets.append(1))
            monkeypatch.setattr(saved, "restore", lambda: restores.append(1))
            ev = _evaluator(lambda p: float(np.sum(p)), np.ones(3), saved)
            ev([(Delta(0, i, 1e-3),) for i in range(3)])
            assert resets == [] and not ev.draws
        assert resets == [] and restores == [1]  # preserve_rng's own restore on exit

    def test_draws_repeat_as_if_reset_every_time(self) -> None:
        np.random.seed(5)
        random.seed(5)
        before = GlobalRng()

        def cost(p: Array) -> float:  # draws only once p[0] has moved: a late draw
            extra = np.random.rand() + random.random() if p[0] != 1.0 else 0.0
            return float(np.sum(p)) + extra

        points = [(), (Delta(0, 1, 0.5),), (Delta(0, 0, 0.5),), (Delta(0, 0, 0.25),)]
        with preserve_rng() as saved:
            expected = []
            for point in points:  # the reference: reset before every evaluation
                saved.reset()
                expected.append(_evaluator(cost, np.ones(2))([point])[0])
            saved.reset()
            ev = _evaluator(cost, np.ones(2), saved)
            first = ev(points[:2])  # draws nothing yet: no reset, no redo
            assert not ev.draws and ev.count == 2
            rest = ev(points[2:])  # draws: the batch is evaluated again with resets
            assert ev.draws and ev.count == 2 + 2 + 2
            assert list(first) + list(rest) == expected
        assert not before.moved()  # both generators are as they were

    def test_numpy_state_is_read_once_per_check(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The evaluator's and the forms' checks of the NumPy state read its raw bytes,
        not ``get_state`` (50 to 250 µs each; a check made up to 15 of them)."""
        reads = []
        real = np.random.get_state

        class Counted:
            __self__ = real.__self__  # type: ignore[attr-defined]

            def __call__(self, *args: Any) -> Any:
                reads.append(1)
                return real(*args)

        monkeypatch.setattr(np.random, "get_state", Counted())
        x = np.linspace(0.5, 1.5, 50)
        report = gradcheck.check_jacobian(
            np.sin,
            x,
            vjp=lambda p, u: np.cos(p) * u,
            jvp=lambda p, v: np.cos(p) * v,
            mode="directional",
        )
        assert report.passed, str(report)
        assert len(reads) == 1  # check_jacobian's own save, restored on exit


class TestToScalar:
    @pytest.mark.parametrize("value", [2.5, np.float64(2.5), np.float32(2.5), np.array([2.5])])
    def test_numbers(self, value: Any) -> None:
        assert to_scalar(value, complex_ok=False, where="") == 2.5

    @pytest.mark.parametrize("value", [float("nan"), np.float64("inf"), np.float32("nan")])
    def test_non_finite(self, value: Any) -> None:
        with pytest.raises(GradcheckError, match=r"cost returned (nan|inf) at k"):
            to_scalar(value, complex_ok=False, where="at k")

    def test_complex_kept_only_when_asked(self) -> None:
        assert to_scalar(1 + 2j, complex_ok=True, where="") == 1 + 2j
        assert to_scalar(np.complex128(1 + 1e-12j), complex_ok=False, where="") == 1.0
        with pytest.raises(GradcheckError, match="complex value"):
            to_scalar(np.complex128(1 + 2j), complex_ok=False, where="")


class TestComplexValuedCost:
    """A complex-valued cost with real parameters was cut to its real part, and a
    gradient of the real part passed (the imaginary part unchecked)."""

    @pytest.mark.parametrize("mode", ["full", "sample", "directional"])
    @pytest.mark.parametrize("shape", [(3,), (2, 4)])
    def test_refused_with_what_to_do(self, mode: str, shape: tuple[int, ...]) -> None:
        x = np.random.default_rng(0).standard_normal(shape)
        with pytest.raises(GradcheckError, match="complex value") as err:
            gradcheck.check(lambda p: np.sum(np.exp(1j * p)), x, -np.sin(x), mode=mode)
        assert "real and imaginary parts" in str(err.value)
        assert "check_jacobian" in str(err.value)

    @pytest.mark.parametrize("dtype", [np.complex128])
    def test_a_real_cost_in_complex_arithmetic_is_checked(self, dtype: Any) -> None:
        x = np.random.default_rng(1).standard_normal(8)

        def cost(p: Any) -> Any:
            spectrum = np.fft.fft(p.astype(dtype))
            return np.sum(np.abs(spectrum) ** 2).astype(dtype) / 8  # = Σ p², complex dtype

        assert gradcheck.check(cost, x, 2 * x).status == "passed"
        assert gradcheck.check(cost, x, 3 * x).status == "failed"

    def test_the_parts_checked_as_the_message_says(self) -> None:
        x = np.array([0.3, -0.7, 1.2])
        real = gradcheck.check(lambda p: np.sum(np.exp(1j * p)).real, x, -np.sin(x))
        imag = gradcheck.check(lambda p: np.sum(np.exp(1j * p)).imag, x, -np.sin(x))
        assert (real.status, imag.status) == ("passed", "failed")


class TestRebase:
    """``rebase``: other parameter arrays (a float64 copy), the same count and RNG."""

    def test_evaluates_the_new_arrays_and_keeps_counting(self) -> None:
        x = np.array([1.5, -2.0], dtype=np.float32)
        names, _, treedef = flatten(x)
        seen: list[Any] = []
        ev = SerialEvaluator(
            lambda p: seen.append(p.dtype) or float(np.sum(p)), treedef, [x.copy()], names
        )
        ev([(), (Delta(0, 0, 0.25),)])
        copy = x.astype(np.float64)
        ev.rebase([copy], on="on a copy")
        assert ev([(), (Delta(0, 1, 2.0**-30),)]).tolist() == [-0.5, -0.5 + 2.0**-30]
        assert seen == [np.float32] * 2 + [np.float64] * 2 and ev.count == 4
        assert copy.tolist() == [1.5, -2.0]  # restored bit for bit

    def test_errors_name_the_copy_and_the_running_number(self) -> None:
        def cost(p: Any) -> float:
            if p.dtype == np.float64:
                raise ValueError("no float64 here")
            return float(np.sum(p))

        x = np.ones(2, dtype=np.float32)
        names, _, treedef = flatten(x)
        ev = SerialEvaluator(cost, treedef, [x.copy()], names)
        ev([(), ()])
        ev.rebase([x.astype(np.float64)], on="on a float64 copy")
        where = r"evaluation 3, at the unperturbed parameters, on a float64 copy\)"
        with pytest.raises(GradcheckError, match=where):
            ev([()])

    def test_back_to_the_original_pristine_arrays(self) -> None:
        x = np.array([0.5, 0.25])
        names, _, treedef = flatten(x)
        private = [x.copy()]
        ev = SerialEvaluator(lambda p: float(p[0]), treedef, private, names, pristine=[x])
        pristine = ev.pristine
        ev.rebase([x.astype(np.float32)])
        ev.rebase(private, pristine)
        assert ev.pristine[0] is x and ev([(Delta(0, 0, 0.5),)]).tolist() == [1.0]
        assert x.tolist() == [0.5, 0.25]


def _edge_cost(p: Any) -> float:
    return float(np.sum(p / (1 + np.sqrt(p))))  # JAX docs' f: defined for x ≥ 0 only


def _edge_grad(p: Any) -> Any:
    return (np.sqrt(p) + 2) / (2 * (np.sqrt(p) + 1) ** 2)


class TestDomainEdge:
    """A cost that is NaN past its domain's edge: the error names the entry, its value,
    the step and the way out (issue 11 §6, JAX docs' x / (1 + √x) at 0)."""

    @pytest.mark.parametrize("x0", [1e-7, 2e-7, 1e-6, 1e-12])
    def test_one_entry_stepped_below_zero_is_checked_on_its_own_side(self, x0: float) -> None:
        # attack20 P7: the step relative to |θ| stays in the domain (it was refused)
        x = np.array([x0, 1.0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # sqrt of a negative
            report = gradcheck.check(_edge_cost, x, _edge_grad(x))
            assert any("left the cost's domain" in m for m in report.messages), str(report)
            bad = gradcheck.check(_edge_cost, x, _edge_grad(x) * np.array([2.0, 1.0]))
        if x0 >= 1e-7:
            assert report.status == "passed", str(report)
            assert bad.failed_parameters == ["x"], str(bad)
        else:  # 1e-12: its own step, 6e-18, is below the cost's round-off
            assert report.status == "inconclusive", str(report)
            assert bad.status != "passed", str(bad)

    @pytest.mark.parametrize("x0", [1e-310, 5e-320])
    def test_one_entry_stepped_below_zero(self, x0: float) -> None:
        # a subnormal entry has no own-side step that resolves anything: refused, named
        x = np.array([x0, 1.0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # sqrt of a negative
            with pytest.raises(GradcheckError) as err:
                gradcheck.check(_edge_cost, x, _edge_grad(x))
        text = str(err.value)
        assert re.match(r"cost returned nan \(evaluation \d+, with x\[0\] perturbed by -", text)
        assert f"x[0] is {x0:.3g}, so the step to -" in text
        assert "may leave the cost's domain" in text and 'use method="forward"' in text

    @pytest.mark.parametrize("x0", [1e-7, 1e-6])
    def test_forward_then_works(self, x0: float) -> None:
        x = np.array([x0, 1.0])
        for grad in (_edge_grad(x), _edge_grad):
            assert gradcheck.check(_edge_cost, x, grad, method="forward").status == "passed"

    def test_a_matrix_entry_is_named_by_its_index(self) -> None:
        w = np.array([[1.0, 2.0], [1e-310, 3.0]])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            with pytest.raises(GradcheckError, match=r"w\[1, 0\] is 1e-310, so the step"):
                gradcheck.check(lambda p: _edge_cost(p["w"]), {"w": w}, {"w": _edge_grad(w)})

    # the noise probe moves a non-zero entry by 3/1024 of itself at most (it never flips
    # 1e-12: the entry's own step then does, test above); an entry at 0 it moves fully
    @pytest.mark.parametrize("x0", [0.0])
    def test_a_step_along_a_direction_names_the_entry_it_flips(self, x0: float) -> None:
        x = np.array([x0, 1.0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            with pytest.raises(GradcheckError) as err:
                gradcheck.check(_edge_cost, x, _edge_grad(x))
        text = str(err.value)
        assert "with x perturbed along a direction" in text
        assert re.search(rf"the step turns x\[0\] from {x0:.3g} to -[\d.e-]+, which may", text)

    @pytest.mark.parametrize("factor", [1.0, 2.0])
    def test_batched_keeps_the_step_on_its_side_as_serial_does(self, factor: float) -> None:
        # a batch whose probe steps x[0] = 1e-7 across 0 is NaN there: the batched path
        # judges that entry at steps within its own side, as the serial one does (attack20
        # t82), instead of refusing the cost
        x = np.array([1e-7, 1.0])

        def batched(stack: Any) -> Any:
            return np.sum(stack / (1 + np.sqrt(stack)), axis=1)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            serial = gradcheck.check(_edge_cost, x, factor * _edge_grad(x))
            report = gradcheck.check(_edge_cost, x, factor * _edge_grad(x), batched=batched)
        assert report.status == serial.status == ("passed" if factor == 1.0 else "failed")
        assert any(
            "steps reached across 0 and left the cost's domain" in m for m in report.messages
        )

    def test_the_base_point_says_so(self) -> None:
        x = np.array([-1.0, 1.0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            with pytest.raises(GradcheckError) as err:
                gradcheck.check(_edge_cost, x, np.ones(2))
        assert str(err.value) == (
            "cost returned nan (evaluation 1, at the unperturbed parameters): the cost is "
            "not defined at the parameters given"
        )
