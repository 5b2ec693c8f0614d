"""``gradcheck._linear``: the derivative forms as flat maps, and their consistency."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from gradcheck import GradcheckError, check_jacobian
from gradcheck._linear import Forms, Layout, _flat_like
from gradcheck._pytree import flatten

Array = np.ndarray[Any, Any]


def layout(params: Any, out: Any) -> Layout:
    names, leaves, tree = flatten(params)
    onames, oleaves, otree = flatten(out)
    arrs = [np.asarray(x) for x in leaves]
    outs = [np.asarray(x) for x in oleaves]
    out_names = ["out"] if otree.kind == "leaf" else onames
    return Layout(
        names,
        [a.shape for a in arrs],
        [a.dtype for a in arrs],
        tree,
        out_names,
        [o.shape for o in outs],
        [o.dtype for o in outs],
        otree,
    )


def linear_forms(J: Array, dtype: Any = np.float64, **kw: Any) -> Forms:
    x = np.zeros(J.shape[1], dtype=dtype)
    lay = layout(x, np.zeros(J.shape[0], dtype=dtype))
    Jd = J.astype(dtype)
    vjp = kw.pop("vjp", lambda p, u: (u @ Jd).astype(dtype))
    jvp = kw.pop("jvp", lambda p, v: (Jd @ v).astype(dtype))
    return Forms(lay, [x], kw.pop("jacobian", None), vjp, jvp)


class TestLayouts:
    def test_flat_matrix_and_jacrev_pytree_agree(self) -> None:
        params = {"W": np.zeros((2, 3)), "b": np.zeros(2)}
        out = {"h": np.zeros(2), "s": np.zeros(())}
        lay = layout(params, out)
        rng = np.random.default_rng(0)
        flat = rng.standard_normal((lay.m, lay.n))
        tree = {
            "h": {"W": flat[:2, :6].reshape(2, 2, 3), "b": flat[:2, 6:]},
            "s": {"W": flat[2, :6].reshape(2, 3), "b": flat[2, 6:]},
        }
        for given in (flat, tree):
            forms = Forms(lay, [np.zeros((2, 3)), np.zeros(2)], given)
            assert np.array_equal(forms.matrix("jacobian"), flat)

    def test_jvp_and_vjp_matrices_are_the_jacobian(self) -> None:
        J = np.random.default_rng(1).standard_normal((3, 5))
        forms = linear_forms(J, jacobian=J)
        for form in ("jacobian", "jvp", "vjp"):
            assert np.allclose(forms.matrix(form), J, rtol=0, atol=1e-15)
        assert forms.calls["jvp"] == 5 and forms.calls["vjp"] == 3

    def test_transposed_array_named(self) -> None:
        forms = linear_forms(np.zeros((3, 5)), jacobian=np.zeros((5, 3)))
        with pytest.raises(GradcheckError, match=r"transposed\? rows are outputs"):
            forms.matrix("jacobian")

    def test_jvp_with_wrong_structure_named(self) -> None:
        forms = linear_forms(np.zeros((3, 5)), jvp=lambda p, v: [np.zeros(3), np.zeros(1)])
        with pytest.raises(GradcheckError, match="returned 2 arrays"):
            forms.jv("jvp", np.ones(5))

    def test_forms_called_on_copies_inside_saved_rngs(self) -> None:
        np.random.seed(7)
        state = np.random.get_state()
        x = np.zeros(5)

        def vjp(p: Array, u: Array) -> Array:
            np.random.standard_normal(3)
            p[:] = 1.0
            return np.zeros(5)

        forms = Forms(layout(x, np.zeros(3)), [x], None, vjp, None)
        forms.uj("vjp", np.ones(3))
        assert np.array_equal(x, np.zeros(5))
        assert np.array_equal(np.random.get_state()[1], state[1])


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
        flat = _flat_like(big, ["x"], [(3,)], "vjp(params, cotangent)", "params")
        assert flat.tolist() == big.tolist()


class TestJacobianContainers:
    """What users pass as a Jacobian gets a message about what it is (attack13 F21)."""

    X = np.array([1.0, 2.0, 3.0])

    def test_nested_list_is_the_matrix_it_spells(self) -> None:
        right = [[2.0, 0.0, 0.0], [0.0, 4.0, 0.0], [0.0, 0.0, 6.0]]
        assert check_jacobian(lambda p: p**2, self.X, right).status == "passed"
        wrong = [[2.0, 0.0, 0.0], [0.0, 5.0, 0.0], [0.0, 0.0, 6.0]]
        assert check_jacobian(lambda p: p**2, self.X, wrong).status == "failed"
        assert check_jacobian(lambda p: p**2, self.X, [[2, 0, 0], [0, 4, 0], [0, 0, 6]]).passed

    def test_list_pytree_of_arrays_still_reads_by_block(self) -> None:
        J = [np.diag(2 * self.X), np.array([[1.0, 0.0, 0.0]])]
        assert check_jacobian(lambda p: [p**2, p[:1]], self.X, J).status == "passed"

    @pytest.mark.parametrize("kind", ["diags", "csr_matrix", "csr_array"])
    def test_scipy_sparse_says_toarray(self, kind: str) -> None:
        sp = pytest.importorskip("scipy.sparse")
        dense = np.diag(2 * self.X)
        J = sp.diags(2 * self.X) if kind == "diags" else getattr(sp, kind)(dense)
        with pytest.raises(GradcheckError, match=r"jacobian is a scipy.sparse .*toarray\(\)"):
            check_jacobian(lambda p: p**2, self.X, J)
        with pytest.raises(GradcheckError, match=r"jacobian\(params\) returned a scipy.sparse"):
            check_jacobian(lambda p: p**2, self.X, lambda p: J)

    def test_none_and_strings(self) -> None:
        with pytest.raises(GradcheckError, match=r"jacobian\(params\) returned None"):
            check_jacobian(lambda p: p**2, self.X, lambda p: None)
        with pytest.raises(GradcheckError, match="jacobian is a str, not an array"):
            check_jacobian(lambda p: p**2, self.X, "A")
