"""``gradcheck._jacmatrix``: a Jacobian the user gives, read as the flat matrix."""

from __future__ import annotations

import numpy as np
import pytest

from gradcheck import GradcheckError, check_jacobian
from gradcheck._linear import Forms
from test_linear import layout, linear_forms


class TestJacobianLayouts:
    """The flat (m, n) matrix and jax.jacrev's pytree layout read as the same matrix."""

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

    def test_transposed_array_named(self) -> None:
        forms = linear_forms(np.zeros((3, 5)), jacobian=np.zeros((5, 3)))
        with pytest.raises(GradcheckError, match=r"transposed\? rows are outputs"):
            forms.matrix("jacobian")


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
