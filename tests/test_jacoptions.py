"""``check_jacobian``'s options (``_jacoptions``): validated, fitted to the mode, recorded."""

from __future__ import annotations

import numpy as np
import pytest

from gradcheck import GradcheckError
from gradcheck._jacoptions import fits_mode, options, record
from gradcheck._layout import Layout
from gradcheck._pytree import flatten


def _layout(n: int, m: int) -> Layout:
    tree = flatten(np.zeros(1))[2]
    f64 = np.dtype(np.float64)
    return Layout(["x"], [(n,)], [f64], tree, ["out"], [(m,)], [f64], tree)


def test_defaults_are_recorded() -> None:
    opts = options({})
    got = record(opts, "full", ("jacobian",))
    assert got["method"] == "central" and got["mode"] == "auto"
    assert got["resolved_mode"] == "full" and got["forms"] == ["jacobian"]
    assert "budget" not in got  # a projections' option, recorded only where it runs


def test_complex_convention_is_validated_and_not_refused() -> None:
    options({"complex_convention": "plain"})
    with pytest.raises(GradcheckError, match="complex_convention='jax'"):
        options({"complex_convention": "jax"})


def test_the_complex_step_says_why_in_check_jacobian_only() -> None:
    with pytest.raises(GradcheckError, match="imaginary axis"):
        options({"method": "complex"})
    with pytest.raises(GradcheckError) as info:
        options({"method": "complex"}, "check_hessian")
    assert "imaginary" not in str(info.value)


def test_an_option_the_projections_do_not_use_is_refused_there() -> None:
    opts = options({"eps": 1e-6})
    fits_mode(opts, "full", _layout(3, 3))
    with pytest.raises(GradcheckError, match=r"option 'eps'.*\(n = 5000, m = 3\)"):
        fits_mode(opts, "directional", _layout(5000, 3))
