"""``gradcheck._linear``: the derivative forms as flat maps."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from gradcheck import GradcheckError
from gradcheck._layout import Layout
from gradcheck._linear import Forms
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
    def test_jvp_and_vjp_matrices_are_the_jacobian(self) -> None:
        J = np.random.default_rng(1).standard_normal((3, 5))
        forms = linear_forms(J, jacobian=J)
        for form in ("jacobian", "jvp", "vjp"):
            assert np.allclose(forms.matrix(form), J, rtol=0, atol=1e-15)
        assert forms.calls["jvp"] == 5 and forms.calls["vjp"] == 3

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
