"""gradcheck._figure: matplotlib's parts, figures on the Agg canvas, picture formats."""

from __future__ import annotations

import sys

import pytest

from gradcheck import GradcheckError
from gradcheck._figure import Matplotlib, agg_figure, matplotlib_parts, picture_format


class TestMatplotlibParts:
    def test_the_package_the_figure_class_and_the_agg_canvas(self) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        parts = matplotlib_parts()
        assert isinstance(parts, Matplotlib)
        assert parts.module is sys.modules["matplotlib"]
        assert (parts.figure, parts.canvas) == (Figure, FigureCanvasAgg)

    def test_without_matplotlib_the_error_names_the_extra(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setitem(sys.modules, "matplotlib", None)
        with pytest.raises(GradcheckError, match=r"pip install 'gradcheck\[plot\]'"):
            matplotlib_parts()


def test_agg_figure_is_sized_and_on_the_agg_canvas() -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = agg_figure(5.0, 4.0)
    assert tuple(fig.get_size_inches()) == (5.0, 4.0)
    assert isinstance(fig.canvas, FigureCanvasAgg)


def test_picture_format() -> None:
    assert picture_format("report") == "png"
    assert picture_format("report.SVG") == "svg"
    with pytest.raises(GradcheckError, match=r"matplotlib writes no '\.xyz' files"):
        picture_format("report.xyz")
