"""``gradcheck._flat_values``: what a form returns, read as one validated float64 vector."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from gradcheck import GradcheckError, check_jacobian
from gradcheck._flat_values import flat_like, match_leaves
from gradcheck._pytree import flatten


class TestNotRealValues:
    """Complex, object and None results of a form are refused by name (attack13 F7, F21):
    casting would drop the imaginary part (a ComplexWarning, then a pass)."""

    A = np.array([[1.0, 2.0], [3.0, 4.0], [0.5, -1.0]])
    X = np.array([0.3, -0.7])

    @pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
    @pytest.mark.parametrize("form", ["vjp", "jvp"])
    def test_complex_vjp_or_jvp_result(self, form: str, dtype: Any) -> None:
        A = self.A
        fns = {
            "vjp": lambda p, u: (A.T @ u + 5j).astype(dtype),
            "jvp": lambda p, v: (A @ v + 0j).astype(dtype),
        }
        match = rf"{form}\(params, .*\) returned complex values for '(x|out)', but fn's parameters"
        with pytest.raises(GradcheckError, match=match):
            check_jacobian(lambda p: A @ p, self.X, **{form: fns[form]})

    def test_complex_pytree_jacobian_block(self) -> None:
        with pytest.raises(GradcheckError, match=r"jacobian has complex values for 'y / x'"):
            check_jacobian(lambda p: {"y": self.A @ p}, self.X, {"y": self.A + 5j})

    def test_complex_jacobian_with_zero_imaginary_part_is_refused_too(self) -> None:
        with pytest.raises(GradcheckError, match="complex"):
            check_jacobian(lambda p: {"y": self.A @ p}, self.X, {"y": self.A + 0j})

    def test_object_results(self) -> None:
        with pytest.raises(GradcheckError, match=r"vjp.* returned object values for 'x'"):
            check_jacobian(
                lambda p: self.A @ p, self.X, vjp=lambda p, u: np.array([object(), object()])
            )
        bad = {"y": np.array([[object()] * 2] * 3)}
        with pytest.raises(GradcheckError, match=r"jacobian has object values for 'y / x'"):
            check_jacobian(lambda p: {"y": self.A @ p}, self.X, bad)

    @pytest.mark.parametrize("form", ["vjp", "jvp"])
    def test_none_result(self, form: str) -> None:
        with pytest.raises(GradcheckError, match=rf"{form}.* returned None for"):
            check_jacobian(lambda p: self.A @ p, self.X, **{form: lambda p, t: None})


class TestNonFiniteResults:
    """A form's result is screened by its sum (one pass): a NaN or an infinity is named
    with its index, finite entries whose sum overflows are no error."""

    A = np.array([[1.0, 2.0], [3.0, 4.0], [0.5, -1.0]])
    X = np.array([0.3, -0.7])

    @pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
    def test_a_non_finite_vjp_entry_is_named(self, bad: float) -> None:
        def vjp(p: Any, u: Any) -> Any:
            return np.array([1e308, bad])

        with pytest.raises(GradcheckError, match=rf"non-finite value {bad} in 'x' at index \(1,\)"):
            check_jacobian(lambda p: self.A @ p, self.X, vjp=vjp)

    def test_finite_entries_whose_sum_overflows_are_no_error(self) -> None:
        big = np.array([1.5e308, 1.5e308, -1.0])
        flat = flat_like(big, ["x"], [(3,)], "vjp(params, cotangent)", "params")
        assert flat.tolist() == big.tolist()


class TestMatchLeaves:
    """The one reading of a form's structure, shared by flat_like and the real views of
    a complex check (gradcheck._jac_realviews)."""

    TREE = flatten({"a": 0, "b": [0, 0]})[2]

    def test_dicts_by_key_lists_by_position(self) -> None:
        assert match_leaves({"b": [2, 3], "a": 1}, self.TREE, 3) == [1, 2, 3]
        assert match_leaves([1, [2, 3]], self.TREE, 3) == [1, 2, 3]  # flatten order

    @pytest.mark.parametrize(
        "value",
        [{"a": 1, "c": [2, 3]}, [1, 2], [{"a": 1}, 2, 3], {"a": 1, "b": [2]}],
        ids=["another-key", "too-few", "a-dict-out-of-place", "a-short-list"],
    )
    def test_another_structure_is_none_and_refused_by_flat_like(self, value: Any) -> None:
        assert match_leaves(value, self.TREE, 3) is None
        with pytest.raises(GradcheckError, match="return the same structure as params"):
            flat_like(value, ["a", "b[0]", "b[1]"], [(), (), ()], "vjp", "params", self.TREE)

    def test_a_lone_leaf_and_no_treedef(self) -> None:
        assert match_leaves(5.0, None, 1) == [5.0]
        assert match_leaves({"y": 1, "x": 2}, None, 2) == [1, 2]  # in flatten order
        assert match_leaves([1, 2], None, 3) is None
