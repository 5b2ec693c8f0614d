"""Telling a real-view Jacobian report in complex terms (``_jac_complex_report``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from gradcheck._jac_complex_report import ONE_ENTRY, _factor, _fold, _Labels
from gradcheck._jac_realviews import RealViews
from gradcheck._pytree import flatten
from gradcheck._report import Entry

Array = np.ndarray[Any, Any]


def _views() -> RealViews:
    params = {"z": np.zeros(2, complex), "w": np.zeros(3)}
    outs = {"c": np.zeros((2, 2), complex), "r": np.zeros(())}
    names, leaves, tree = flatten(params)
    onames, oleaves, otree = flatten(outs)
    return RealViews(
        names,
        [x.shape for x in leaves],
        tuple(np.iscomplexobj(x) for x in leaves),
        tree,
        onames,
        [x.shape for x in oleaves],
        tuple(np.iscomplexobj(x) for x in oleaves),
        otree,
        "conjugate",
    )


class TestText:
    def test_complex_leaves_get_their_part(self) -> None:
        labels = _Labels(_views())
        got = labels.text("c[1, 0, 1] / z[0, 0] and w[2] and r, zc[1, 1]")
        assert got == "c[1, 0] (imag) / z[0] (real) and w[2] and r, zc[1, 1]"

    def test_no_entry_of_a_real_view_is_left_alone(self) -> None:
        labels = _Labels(_views())
        once = labels.text("c[1, 0, 1] / z[0, 0]")
        assert labels.text(once) == once == "c[1, 0] (imag) / z[0] (real)"
        assert labels.text("c[7] and z[3, 5]") == "c[7] and z[3, 5]"  # flat, or no part

    def test_a_scalar_complex_entry_is_its_name(self) -> None:
        views = _views()._replace(in_names=["s", "w"], in_shapes=[(), (3,)])
        assert _Labels(views).text("s[1]") == "s (imag)"

    def test_one_complex_entry_drops_the_part(self) -> None:
        text = f"{ONE_ENTRY}c[1, 0, 0] / z[1, 0], ×2 the right value"
        got = _Labels(_views()).text(text)
        assert got == f"{ONE_ENTRY}c[1, 0] / z[1], ×2 the right value"


def test_entries_get_index_and_part() -> None:
    e = Entry("c[0, 1, 1] / z", (1, 0), 1.0, 2.0, 1.0, 0.5, 0.1, 0.0, "wrong")
    got = _Labels(_views()).entry(e)
    assert (got.parameter, got.index, got.part) == ("c[0, 1] (imag) / z", (1,), "real")
    assert got.label() == "c[0, 1] (imag) / z[1] (real)"
    real = Entry("c[0, 1, 1] / w", (2,), 1.0, 2.0, 1.0, 0.5, 0.1, 0.0, "wrong")
    assert _Labels(_views()).entry(real).label() == "c[0, 1] (imag) / w[2]"


def test_fold_combines_parts_and_keeps_unjudged_nan() -> None:
    e = np.array([[[3.0, np.nan], [4.0, np.nan]], [[np.nan, np.nan], [np.nan, np.nan]]])
    got = _fold(e, (1, 2))
    assert got[0] == pytest.approx(5.0) and np.isnan(got[1])
    assert _fold(e, ()) is e


@pytest.mark.parametrize(
    ("c", "text"),
    [(2.0, "×2"), (1j, "×1i"), (-0.5 + 2j, "×(-0.5+2i)"), (3 + 1e-9j, "×3")],
)
def test_factor_text(c: complex, text: str) -> None:
    assert _factor(complex(c)) == text
