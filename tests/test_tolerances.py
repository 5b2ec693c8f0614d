"""``gradcheck._tolerances``: the default screening tolerance per dtype and method."""

from __future__ import annotations

import numpy as np
import pytest

from gradcheck._numerics import RTOL
from gradcheck._tolerances import default_rtol


class TestToleranceTablePerDtype:
    """Each floating dtype reads its own row of RTOL; complex reads its real part's
    row; wider-than-float64 precision gets float64's row (the tightest there is)."""

    @pytest.mark.parametrize("method", ["central", "forward", "richardson", "complex"])
    @pytest.mark.parametrize(
        ("dtype", "row"),
        [
            (np.float16, "float16"),
            (np.float32, "float32"),
            (np.float64, "float64"),
            (np.complex64, "float32"),
            (np.complex128, "float64"),
            (np.longdouble, "float64"),
            (np.clongdouble, "float64"),
        ],
    )
    def test_row(self, dtype: type, row: str, method: str) -> None:
        assert default_rtol(dtype, method) == RTOL[row][method]  # type: ignore[arg-type]
