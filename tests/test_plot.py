"""gradcheck.plot: bar chart, heat map, sweep, report.plot()."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.figure import Figure

import gradcheck
from gradcheck import GradcheckError, Report
from gradcheck._sweep import sweep
from gradcheck.plot import plot_differences, plot_errors, plot_report, plot_sweep

PNG = b"\x89PNG\r\n\x1a\n"
W = np.array([[1.0, 2.0, -1.0], [0.5, -0.3, 0.8]])
B = np.array([0.1, -0.2])


def cost(p: dict[str, Any]) -> float:
    return float(np.sum((p["W"] ** 2) * 0.5) + np.sum(np.sin(p["b"])))


def transposed_wrong(p: dict[str, Any]) -> dict[str, Any]:
    return {"W": 3 * p["W"], "b": np.cos(p["b"])}


@pytest.fixture(scope="module")
def failed() -> Report:
    return gradcheck.check(cost, {"W": W, "b": B}, transposed_wrong, mode="full")


class TestPictures:
    def test_report_picture_has_bars_and_a_heat_map_per_failed_parameter(
        self, failed: Report, tmp_path: Path
    ) -> None:
        path = tmp_path / "report.png"
        figure = plot_report(failed, path)
        assert isinstance(figure, Figure)
        assert len(figure.axes) == 3  # bars, heat map of W, its colour bar
        data = path.read_bytes()
        assert data.startswith(PNG) and len(data) > 5000

    def test_bars_are_log_scale_with_the_tolerance_line(self, failed: Report) -> None:
        ax = plot_differences(failed)
        assert ax.get_yscale() == "log"
        assert [t.get_text() for t in ax.get_xticklabels()] == ["W", "b"]
        (line,) = ax.get_lines()
        assert line.get_ydata()[0] == pytest.approx(1e-7)

    def test_heat_map_shows_every_entry_of_the_matrix(self, failed: Report) -> None:
        ax = plot_errors(failed)
        (image,) = ax.get_images()
        assert image.get_array().shape == (2, 3)
        assert "W" in ax.get_title() and "×3" in ax.get_title()

    def test_heat_map_of_a_sampled_check_greys_unchecked_entries(self) -> None:
        x = np.arange(1.0, 31.0).reshape(5, 6)
        report = gradcheck.check(lambda p: float(np.sum(p**2)), x, 2 * x, mode="sample", sample=5)
        image = plot_errors(report, "x").get_images()[0]
        assert int(np.ma.count_masked(image.get_array())) == 25

    def test_report_plot_method_for_notebooks(self, failed: Report, tmp_path: Path) -> None:
        figure = failed.plot(str(tmp_path / "r.png"))
        assert isinstance(figure, Figure)
        assert (tmp_path / "r.png").stat().st_size > 0

    def test_sweep_picture(self, tmp_path: Path) -> None:
        result = sweep(cost, {"W": W, "b": B}, transposed_wrong, count=2, points=9)
        path = tmp_path / "sweep.png"
        figure = plot_sweep(result, path)
        ax = figure.axes[0]
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert "slope 2 (truncation)" in labels and "slope −1 (round-off)" in labels
        assert path.read_bytes().startswith(PNG)

    def test_a_report_read_back_from_json_has_no_heat_map(self, failed: Report) -> None:
        again = Report.from_json(failed.to_json())
        with pytest.raises(GradcheckError, match="no per-entry errors"):
            plot_errors(again, "W")
        assert len(plot_report(again).axes) == 1  # bars only

    def test_unknown_parameter_and_unwritable_path(self, failed: Report, tmp_path: Path) -> None:
        with pytest.raises(GradcheckError, match="no parameter 'V'"):
            plot_errors(failed, "V")
        with pytest.raises(GradcheckError, match="cannot write picture"):
            plot_report(failed, tmp_path / "missing" / "r.png")


class TestPicturePaths:
    """Where a picture goes: exactly the path given, never beside it (issue 12 §7)."""

    @pytest.mark.parametrize("name", ["out", "out.png", "out.svg"])
    def test_a_folder_is_refused(self, failed: Report, tmp_path: Path, name: str) -> None:
        (tmp_path / name).mkdir()
        with pytest.raises(GradcheckError, match="it is a folder"):
            plot_report(failed, tmp_path / name)
        assert sorted(p.name for p in tmp_path.iterdir()) == [name]
        assert list((tmp_path / name).iterdir()) == []

    @pytest.mark.parametrize(
        ("name", "fmt"), [("r", "png"), ("r.png", "png"), ("r.SVG", "svg"), ("a.b.pdf", "pdf")]
    )
    def test_the_suffix_names_the_format(self, tmp_path: Path, name: str, fmt: str) -> None:
        from gradcheck.plot import picture_format

        assert picture_format(tmp_path / name) == fmt

    @pytest.mark.parametrize("name", ["r.txt", "r.docx", "r.json"])
    def test_an_unknown_suffix_is_refused(self, failed: Report, tmp_path: Path, name: str) -> None:
        with pytest.raises(GradcheckError, match=f"writes no '{name[1:]}' files"):
            plot_report(failed, tmp_path / name)
        assert list(tmp_path.iterdir()) == []

    def test_a_failed_render_leaves_the_old_file(
        self, failed: Report, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = tmp_path / "r.png"
        path.write_bytes(b"old")
        path.chmod(0o640)

        def broken(self: Figure, *args: Any, **kwargs: Any) -> None:
            raise ValueError("no renderer")

        monkeypatch.setattr(Figure, "savefig", broken)
        with pytest.raises(GradcheckError, match="no renderer"):
            plot_report(failed, path)
        assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["r.png"]
        monkeypatch.undo()
        plot_report(failed, path)
        assert path.read_bytes().startswith(PNG) and path.stat().st_mode & 0o777 == 0o640
