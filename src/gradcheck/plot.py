"""Pictures of a check (needs matplotlib: ``pip install gradcheck[plot]``).

* :func:`plot_differences`: one bar per parameter, its difference on a log scale, with
  the tolerance as a line: the wrong parameters stand out by orders of magnitude.
* :func:`plot_errors`: a heat map of one matrix parameter's per-entry error; a scaled
  gradient colours every entry, a wrong row or a transposed gradient draws its pattern.
* :func:`plot_sweep`: error against step on log–log axes (see ``gradcheck._sweep``).
* :func:`plot_report`: the bars plus the heat maps of the failed parameters; what
  ``report.plot()`` and ``gradcheck run --plot`` draw.

Figures are built with :class:`matplotlib.figure.Figure` on the Agg canvas, never
through ``pyplot``: nothing here changes the user's backend or opens a window, and a
notebook displays the returned figure.

>>> import numpy as np, gradcheck
>>> x = np.array([[1.0, 2.0], [3.0, 4.0]])
>>> figure = plot_report(gradcheck.check(lambda p: float(np.sum(p**3)), x, 2 * x**2))
>>> len(figure.axes) >= 2
True
"""

from __future__ import annotations

import math
import os
import textwrap
from typing import Any

import numpy as np

from gradcheck._errors import GradcheckError
from gradcheck._figure import agg_figure, matplotlib_parts, picture_format, save
from gradcheck._plot_sweep import plot_sweep
from gradcheck._report import Report

__all__ = [
    "picture_format",
    "plot_differences",
    "plot_errors",
    "plot_report",
    "plot_sweep",
    "save",
]

_COLOURS = {"passed": "#2e7d32", "failed": "#c62828", "inconclusive": "#f9a825"}
#: What a heat map's colours mean, in its title or below the report picture's maps.
_HEAT_MAP_CAPTION = (
    "heat maps: |g − g̃| per entry; bright: large, black: exactly 0, grey: not checked"
)
#: A heat map keeps square cells unless one side is more than this many times the other.
_SQUARE_RATIO = 20
#: Parameter names longer than this are shortened in the pictures (the middle elided):
#: a label wider than its axes collapses the layout (the tables keep the full name).
_NAME_CHARS = 24
#: With more bars than ``_SLANTED``, or more than ``_ROW_CHARS`` characters of names in
#: all, the names are slanted; with more than ``_UPRIGHT`` bars they stand upright in a
#: font of 280 / named bars points (7 up to 40, never below 4), so that neighbouring
#: labels do not overlap in the 6.4-inch bar chart (tested with 50 names).
_SLANTED, _ROW_CHARS, _UPRIGHT = 6, 60, 16
#: At most this many names under the bars: beyond it every k-th bar and every bar that
#: did not pass are named. Each label costs matplotlib's layout time (400 names took
#: seconds in a notebook) and more would not be readable anyway.
_MAX_LABELS = 60


def _short(name: str) -> str:
    """``name``, its middle elided to ``…`` when longer than :data:`_NAME_CHARS`."""
    if len(name) <= _NAME_CHARS:
        return name
    half = (_NAME_CHARS - 1) // 2
    return name[:half] + "…" + name[len(name) - (_NAME_CHARS - 1 - half) :]


def _named_bars(report: Report) -> list[int]:
    """Which bars get their name: all up to :data:`_MAX_LABELS`, else every k-th bar
    and every parameter that did not pass."""
    statuses = [p.status for p in report.parameters.values()]
    if len(statuses) <= _MAX_LABELS:
        return list(range(len(statuses)))
    every = -(-len(statuses) // _MAX_LABELS)
    return [i for i, s in enumerate(statuses) if i % every == 0 or s != "passed"]


def _name_ticks(ax: Any, report: Report) -> None:
    """The bars' names as x tick labels: shortened, slanted or upright when many."""
    names = list(report.parameters)
    where = _named_bars(report)
    labels = [_short(names[i]) for i in where]
    crowded = len(where) > _SLANTED or sum(map(len, labels)) > _ROW_CHARS
    if len(where) > _UPRIGHT:
        size = max(4.0, min(7.0, 280 / len(where)))
        ax.set_xticks(where, labels, rotation=90, fontsize=size)
    elif crowded:
        ax.set_xticks(where, labels, rotation=45, ha="right", rotation_mode="anchor")
    else:
        ax.set_xticks(where, labels)


def _tolerance(report: Report) -> float | None:
    """The tolerance line: the ``rtol`` given, else the screening tolerance the check
    recorded (``options["screen_rtol"]``); None when the report has neither."""
    for key in ("rtol", "screen_rtol"):
        value = report.options.get(key)
        if value is not None:
            return float(value)
    return None


def _directional_only(report: Report, name: str) -> bool:
    """Whether ``name`` was checked only along directions (no entry compared alone)."""
    return report.mode == "directional" and report.parameters[name].checked == 0


def _positive(x: float | None) -> bool:
    return x is not None and math.isfinite(x) and x > 0


def _status_legend(report: Report, ax: Any) -> list[Any]:
    """Legend handles: the colours of the statuses present, the hatching, the tolerance."""
    patches = matplotlib_parts().module.patches
    words = {"passed": "agrees", "failed": "wrong", "inconclusive": "inconclusive"}
    present = {p.status for p in report.parameters.values()}
    handles = [patches.Patch(color=_COLOURS[s], label=words[s]) for s in words if s in present]
    if any(_directional_only(report, n) for n in report.parameters):
        handles.append(
            patches.Patch(
                facecolor="none",
                edgecolor="#555555",
                hatch="///",
                label="checked along random directions only",
            )
        )
    return handles + [line for line in ax.get_lines() if line.get_label().startswith("tol")]


def plot_differences(report: Report, ax: Any = None) -> Any:
    """Bar chart of each parameter's difference, log scale, with the tolerance line.

    A parameter checked only along random directions has no difference of its own: it
    is drawn as a hatched outline up to the smallest relative error the check catches
    (its ``detection_bound``), or to the directional difference when that disagreed.
    A difference of exactly 0 or a parameter not compared is written, not drawn.

    Args:
        report: a report from :func:`gradcheck.check`.
        ax: matplotlib axes to draw on; default a new figure.

    Returns:
        The axes.
    """
    if ax is None:
        ax = agg_figure(6.4, 3.6).add_subplot()
    names = list(report.parameters)
    tol = _tolerance(report)
    heights = []
    for x, name in enumerate(names):
        p = report.parameters[name]
        colour = _COLOURS[p.status]
        if _directional_only(report, name):
            height = p.difference if _positive(p.difference) else p.detection_bound
            if _positive(height):
                ax.bar(x, height, color="none", edgecolor=colour, hatch="///", linewidth=1.2)
                if not _positive(p.difference):
                    ax.annotate(
                        f"errors ≥ {height:.1e} caught",
                        (x, height),
                        ha="center",
                        va="bottom",
                        fontsize=7,
                        color=colour,
                    )
                heights.append(height)
                continue
        elif _positive(p.difference):
            ax.bar(x, p.difference, color=colour)
            heights.append(p.difference)
            continue
        word = "exactly 0" if p.difference == 0 and p.checked else "not compared"
        ax.annotate(
            word,
            (x, 0.02),
            xycoords=("data", "axes fraction"),
            ha="center",
            va="bottom",
            rotation=90,
            fontsize=8,
            color=colour,
        )
    ax.set_yscale("log")
    values = [*heights, *([] if tol is None else [tol])] or [1.0]
    # within 1e±200: near float64's limits (rtol=1e300) the log ticks overflow
    top = min(max(values) * 10, 1e200)
    ax.set_ylim(min(max(min(values) / 30, 1e-200), top / 1e3), top)
    if tol is not None:
        ax.axhline(tol, color="black", linestyle="--", linewidth=1, label=f"tolerance {tol:.0e}")
    _name_ticks(ax, report)
    ax.set_ylabel("difference ‖g − g̃‖ / (‖g‖ + ‖g̃‖)")
    ax.set_title(
        f"gradcheck: {report.status}\ngreen: agrees, red: wrong, amber: inconclusive", fontsize=9
    )
    ax.legend(handles=_status_legend(report, ax), loc="best", fontsize=7)
    return ax


def _matrix(errors: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    if errors.ndim == 0:
        return errors.reshape(1, 1)
    if errors.ndim == 1:
        return errors.reshape(-1, 1)
    return errors.reshape(errors.shape[0], -1)


def plot_errors(
    report: Report, parameter: str | None = None, ax: Any = None, *, caption: bool = True
) -> Any:
    """Heat map of one parameter's per-entry ``|g − g̃|`` (log colour scale).

    Cells are square (an ``(n, 1)`` bias is a column of ``n`` cells) unless one side is
    more than :data:`_SQUARE_RATIO` times the other.

    Args:
        report: a report made in this process (per-entry errors are not serialised).
        parameter: which parameter; default the first failed one, else the largest.
        ax: axes to draw on; default a new figure.
        caption: say in the title what the colours mean (:func:`plot_report` says it
            once for all its heat maps, below them).

    Returns:
        The axes.

    Raises:
        GradcheckError: an unknown parameter, or no per-entry errors to draw.
    """
    matplotlib = matplotlib_parts().module
    if parameter is None:
        failed = report.failed_parameters
        sizes = {n: p.size for n, p in report.parameters.items()}
        parameter = failed[0] if failed else max(sizes, key=sizes.__getitem__)
    if parameter not in report.parameters:
        raise GradcheckError(
            f"no parameter {parameter!r} in the report ({list(report.parameters)})"
        )
    p = report.parameters[parameter]
    if p.errors is None:
        raise GradcheckError(
            f"{parameter!r} has no per-entry errors (a report read back from JSON, or a "
            "directional check): re-run the check in this process with mode='full'"
        )
    data = _matrix(np.asarray(p.errors, dtype=np.float64))
    if ax is None:
        ax = agg_figure(5.0, 4.0).add_subplot()
    positive = data[np.isfinite(data) & (data > 0)]
    hi = float(positive.max()) if positive.size else 1.0
    # At least six decades below the largest error, so that agreeing entries look dark
    # next to wrong ones; at most twelve, so that one tiny error does not wash out the rest.
    lo = min(float(positive.min()), hi * 1e-6) if positive.size else hi * 1e-6
    lo = max(lo, hi * 1e-12)
    # Exact agreement (0, e.g. a dead ReLU unit) is drawn black ("under" the scale);
    # unchecked entries (NaN) grey.
    under = np.where(data > 0, np.clip(data, lo, None), lo / 10)
    shown = np.ma.masked_invalid(np.where(np.isnan(data), np.nan, under))
    cmap = matplotlib.colormaps["magma"].with_extremes(bad="#cccccc", under="black")
    norm = matplotlib.colors.LogNorm(vmin=lo, vmax=hi)
    # Square cells, so that an (n, 1) bias is a column of n cells, not a wide strip;
    # only a very long, thin array is stretched to stay visible.
    rows, cols = data.shape
    aspect = "equal" if max(rows, cols) <= _SQUARE_RATIO * min(rows, cols) else "auto"
    image = ax.imshow(shown, cmap=cmap, norm=norm, aspect=aspect, interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, label="|g − g̃| per entry", extend="min")
    if data.shape[1] > 1:
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    else:
        ax.set_xticks([])
    ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    width = 24 if aspect == "equal" and cols * 3 < rows else 48
    why = "\n" + textwrap.fill(p.diagnosis.text, width) if p.diagnosis else ""
    meaning = "\n" + textwrap.fill(_HEAT_MAP_CAPTION, width) if caption else ""
    ax.set_title(f"{_short(parameter)} {p.shape}: {p.status}{why}{meaning}", fontsize=8)
    ax.set_xlabel("column" if data.shape[1] > 1 else "")
    ax.set_ylabel("row")
    return ax


def _map_width(shape: tuple[int, ...]) -> float:
    """Inches for a heat map and its colour bar: narrow for a column, wider for a matrix."""
    rows, cols = _matrix(np.zeros(shape)).shape
    return float(np.clip(1.6 + 3.0 * cols / rows, 2.6, 4.4))


def plot_report(report: Report, path: str | os.PathLike[str] | None = None) -> Any:
    """The bar chart and the heat maps of up to two failed parameters.

    Args:
        report: a report made in this process.
        path: if given, the picture is written there (PNG).

    Returns:
        The matplotlib figure.
    """
    maps = [n for n in report.failed_parameters if report.parameters[n].errors is not None][:2]
    widths = [6.4] + [_map_width(report.parameters[n].shape) for n in maps]
    fig = agg_figure(sum(widths), 4.4 if maps else 4.0)
    axes = fig.subplots(1, 1 + len(maps), squeeze=False, width_ratios=widths)[0]
    plot_differences(report, axes[0])
    for ax, name in zip(axes[1:], maps):
        plot_errors(report, name, ax, caption=False)
    if maps:
        fig.supxlabel(_HEAT_MAP_CAPTION, fontsize=8)
    if path is not None:
        save(fig, path)
    return fig
