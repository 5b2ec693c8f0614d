"""gradcheck.plot: bar chart, heat map, sweep, report.plot()."""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise
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

    def test_pictures_say_what_their_colours_mean(self, failed: Report) -> None:
        bars = plot_differences(failed)
        assert "green: agrees, red: wrong" in bars.get_title()
        legend = [t.get_text() for t in bars.get_legend().get_texts()]
        assert legend == ["agrees", "wrong", "tolerance 1e-07"]
        alone = plot_errors(failed, "W")
        assert "black: exactly 0, grey: not checked" in alone.get_title()
        figure = plot_report(failed)
        assert "black: exactly 0" in figure.get_supxlabel()
        assert "black" not in figure.axes[1].get_title()  # said once, below the maps

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


def _rectangle(ax: Any) -> Any:
    """The drawn box of an image's axes (after layout), as (width, height)."""
    ax.figure.canvas.draw()
    box = ax.get_window_extent()
    return box.width, box.height


class TestHeatMapShapes:
    """An (n, 1) bias is a column of square cells, not a wide strip (issue 15)."""

    @pytest.mark.parametrize("shape", [(5, 1), (3, 1), (12, 1), (5,)])
    def test_a_column_is_drawn_tall_and_narrow(self, shape: tuple[int, ...]) -> None:
        b = np.linspace(0.5, 1.5, int(np.prod(shape))).reshape(shape)
        report = gradcheck.check(lambda p: float(np.sum(p**3)), b, 12 * b**2)
        ax = plot_errors(report)
        assert ax.get_aspect() == 1.0
        width, height = _rectangle(ax)
        rows = shape[0]
        assert height / width == pytest.approx(rows, rel=0.05)

    def test_the_report_picture_keeps_the_bias_column_narrow(self) -> None:
        x = np.linspace(0.1, 1.0, 12)
        params = {"W": x.reshape(3, 4), "b": x[:5].reshape(5, 1)}
        cost = lambda p: float(np.sum(p["W"] ** 2) + np.sum(p["b"] ** 2))  # noqa: E731
        report = gradcheck.check(cost, params, {"W": 2 * params["W"], "b": 8 * params["b"]})
        figure = plot_report(report)
        bias = next(ax for ax in figure.axes if ax.get_title().startswith("b (5, 1)"))
        width, height = _rectangle(bias)
        assert height > 4 * width

    def test_a_long_vector_is_stretched_to_stay_visible(self) -> None:
        x = np.linspace(0.1, 1.0, 200)
        report = gradcheck.check(lambda p: float(np.sum(p**2)), x, 3 * x)
        assert plot_errors(report).get_aspect() == "auto"


@pytest.fixture(scope="module")
def directional() -> Report:
    W = np.arange(1.0, 7.0).reshape(3, 2)
    b = np.ones((3, 1))
    cost = lambda p: float(np.sum(p["W"] ** 3) + np.sum(p["b"] ** 2))  # noqa: E731
    grad = {"W": 3 * W**2, "b": -2 * b}
    return gradcheck.check(cost, {"W": W, "b": b}, grad, mode="directional")


@pytest.fixture(scope="module")
def result() -> Any:
    return sweep(cost, {"W": W, "b": B}, transposed_wrong, count=3, points=9)


class TestDirectionalBars:
    """Parameters checked only along directions are drawn as what they are (issue 15)."""

    def test_a_passed_parameter_is_a_hatched_outline_at_its_detection_bound(
        self, directional: Report
    ) -> None:
        ax = plot_differences(directional)
        w, b = ax.patches
        bound = directional.parameters["W"].detection_bound
        assert w.get_height() == pytest.approx(bound) and bound > 1e-12
        assert w.get_hatch() == "///" and w.get_facecolor()[3] == 0  # outline, not a fill
        assert "caught" in " ".join(t.get_text() for t in ax.texts)
        assert b.get_hatch() == "///"
        assert b.get_height() == pytest.approx(directional.parameters["b"].difference)
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        assert "checked along random directions only" in legend

    def test_no_bar_is_drawn_at_a_made_up_floor(self, directional: Report) -> None:
        for rectangle in plot_differences(directional).patches:
            assert rectangle.get_height() > 1e-12

    def test_an_exact_zero_is_written_not_drawn(self, failed: Report) -> None:
        exact = replace(failed.parameters["b"], difference=0.0)
        report = replace(failed, parameters={**failed.parameters, "b": exact})
        ax = plot_differences(report)
        (bar,) = ax.patches  # W's; b has none
        assert bar.get_height() == pytest.approx(failed.parameters["W"].difference)
        assert [t.get_text() for t in ax.texts] == ["exactly 0"]


class TestSweepPicture:
    """One chosen-ε marker per entry, no label over the markers, legend colours right."""

    def test_every_entry_has_its_own_chosen_step(self, result: Any) -> None:
        ax = plot_sweep(result).axes[0]
        circles = [line for line in ax.get_lines() if line.get_marker() == "o"]
        assert len(circles) == len(result.curves)
        for circle, curve in zip(circles, result.curves):
            assert list(circle.get_xdata()) == [curve.chosen, curve.chosen]
        steps = {float(f"{c.chosen:.3g}") for c in result.curves}
        vertical = [line for line in ax.get_lines() if line.get_linestyle() == "-."]
        assert sorted(line.get_xdata()[0] for line in vertical) == sorted(steps)

    def test_the_legend_gives_each_entrys_step_and_no_label_covers_the_plot(
        self, result: Any
    ) -> None:
        ax = plot_sweep(result).axes[0]
        assert len(ax.texts) == 0  # the old "chosen ε" label sat on the markers
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        for curve in result.curves:
            assert f"{curve.label()}: chosen ε {curve.chosen:.2g}" in labels

    def test_style_entries_of_the_legend_are_black(self, result: Any) -> None:
        legend = plot_sweep(result).axes[0].get_legend()
        styles = {t.get_text(): h for t, h in zip(legend.get_texts(), legend.legend_handles)}
        dashed = styles["dashed: |g̃* − g̃(ε)|, finite-difference error"]
        assert dashed.get_color() == "black" and dashed.get_linestyle() == "--"
        assert styles["solid: |g − g̃(ε)|, your gradient"].get_color() == "black"
        entry = styles[f"{result.curves[0].label()}: chosen ε {result.curves[0].chosen:.2g}"]
        assert entry.get_color() != "black"

    def test_entries_sharing_a_step_share_one_grey_line(self) -> None:
        x = np.ones(3)
        result = sweep(lambda p: float(np.sum(np.sin(p))), x, np.cos(x), count=3, points=7)
        assert len({c.chosen for c in result.curves}) == 1
        ax = plot_sweep(result).axes[0]
        (vertical,) = [line for line in ax.get_lines() if line.get_linestyle() == "-."]
        assert vertical.get_color() == "grey"

    def test_the_title_says_what_lines_and_circles_mean(self, result: Any) -> None:
        title = plot_sweep(result).axes[0].get_title()
        assert "solid: error against your gradient" in title and "circles: chosen ε" in title


def _named(names: list[str], wrong: str) -> Report:
    """A full check of one 3-entry parameter per name, ``wrong``'s gradient negated."""
    params = {n: np.arange(1.0, 4.0) * (i + 1) for i, n in enumerate(names)}
    grad = {n: (-3 if n == wrong else 3) * v**2 for n, v in params.items()}
    cost = lambda p: float(sum(np.sum(v**3) for v in p.values()))  # noqa: E731
    return gradcheck.check(cost, params, grad, mode="full")


class TestNames:
    """Long, many, unicode and HTML-like parameter names (pytest turns warnings into errors)."""

    @pytest.mark.parametrize(
        "long",
        [
            "ünïcödé_λ" * 30,
            "model.encoder.layers.11.self_attention.query_projection.weight",
            "a'\"<script>alert(1)</script>" * 5,
        ],
    )
    def test_a_long_name_is_shortened_and_the_layout_holds(self, long: str) -> None:
        # regression: a 270-character name made the tick label wider than the figure;
        # constrained_layout gave up with a UserWarning and the labels overlapped.
        report = _named([long, "b"], wrong=long)
        figure = plot_report(report)
        figure.canvas.draw()  # the layout runs here (a warning would fail the test)
        bars = figure.axes[0]
        labels = [t.get_text() for t in bars.get_xticklabels()]
        assert labels[1] == "b" and len(labels[0]) == 24 and "…" in labels[0]
        assert labels[0][:11] == long[:11] and labels[0][-12:] == long[-12:]
        assert labels[0] in figure.axes[1].get_title()
        assert long not in figure.axes[1].get_title()

    @pytest.mark.parametrize(("count", "rotation"), [(3, 0), (8, 45), (50, 90)])
    def test_many_names_are_slanted_then_upright(self, count: int, rotation: int) -> None:
        names = [f"layer{i}.weight" for i in range(count)]
        figure = plot_report(_named(names, wrong=names[-1]))
        figure.canvas.draw()
        ticks = figure.axes[0].get_xticklabels()
        assert [t.get_text() for t in ticks] == names  # short names are kept whole
        assert {round(t.get_rotation()) for t in ticks} == {rotation}
        if rotation:
            boxes = [t.get_window_extent() for t in ticks]
            # neighbours do not overlap: each label ends left of where the next begins
            assert all(a.x0 < b.x0 for a, b in pairwise(boxes))
            if rotation == 90:
                assert all(a.x1 <= b.x0 + 0.5 for a, b in pairwise(boxes))

    @pytest.mark.parametrize(("count", "wrong"), [(61, (60,)), (400, (3, 4, 399)), (1000, ())])
    def test_hundreds_of_names_name_every_kth_bar_and_every_wrong_one(
        self, count: int, wrong: tuple[int, ...]
    ) -> None:
        # regression: 400 names made the notebook view take seconds (each tick label is
        # laid out) and could not be read anyway.
        base = _named(["x"], wrong="")
        x = base.parameters["x"]
        names = [f"p{i}" for i in range(count)]
        params = {
            n: replace(x, name=n, status="failed" if i in wrong else "passed")
            for i, n in enumerate(names)
        }
        ax = plot_differences(replace(base, parameters=params))
        ticks = {
            round(t): label.get_text() for t, label in zip(ax.get_xticks(), ax.get_xticklabels())
        }
        assert len(ax.patches) == count  # every bar is drawn
        assert all(ticks[i] == names[i] for i in wrong)  # every wrong one is named
        assert ticks[0] == names[0] and all(ticks[i] == names[i] for i in ticks)
        assert 30 < len(ticks) <= 60 + len(wrong)


@pytest.mark.parametrize("rtol", [1e300, 1e-300, 1e250])
def test_a_tolerance_near_float64s_limits_draws_without_overflow(rtol: float) -> None:
    # regression: rtol=1e300 put the axis top at 1e301; the log ticks overflowed with
    # a RuntimeWarning (an error in a warnings-as-errors test, noise in a notebook).
    x = np.linspace(0.5, 2.0, 4)
    report = gradcheck.check(lambda p: float(np.sum(p**3)), x, -3 * x**2, rtol=rtol)
    if rtol == 1e250:  # no bar at all: only the tolerance sets the axis
        none = replace(report.parameters["x"], difference=float("nan"))
        report = replace(report, parameters={"x": none})
    figure = plot_report(report)
    figure.canvas.draw()
    low, high = figure.axes[0].get_ylim()
    assert 1e-200 <= low < high <= 1e200


@pytest.mark.parametrize(
    ("dtypes", "method", "line"),
    [
        ((np.float64, np.float64), "central", 1e-7),
        ((np.float64, np.float32), "central", 1e-3),
        ((np.float32, np.float32), "forward", 1e-2),
        ((np.float64, np.float64), "richardson", 1e-9),
    ],
)
def test_the_tolerance_line_is_what_the_report_records(
    dtypes: tuple[Any, Any], method: str, line: float
) -> None:
    params = {"W": np.linspace(0.5, 2.0, 4).astype(dtypes[0]), "b": np.ones(3, dtypes[1])}
    report = gradcheck.check(
        lambda p: float(np.sum(p["W"] ** 3) + np.sum(p["b"])),
        params,
        {"W": 3 * params["W"] ** 2, "b": np.ones(3)},
        method=method,
    )
    assert report.options["screen_rtol"] == line
    (drawn,) = plot_differences(report).get_lines()
    assert drawn.get_ydata()[0] == pytest.approx(line)


def test_a_report_without_a_tolerance_draws_no_line() -> None:
    x = np.linspace(0.5, 2.0, 4)
    report = gradcheck.check(lambda p: float(np.sum(p**3)), x, -3 * x**2)
    options = {k: v for k, v in report.options.items() if k != "screen_rtol"}
    ax = plot_differences(replace(report, options=options))
    assert ax.get_lines() == []
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["wrong"]
