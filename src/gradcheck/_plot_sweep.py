"""The step-size sweep's picture: error against step, log–log (see ``gradcheck._sweep``)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np

from gradcheck._figure import agg_figure, matplotlib_parts, save

if TYPE_CHECKING:
    from gradcheck._sweep import SweepResult


def _distinct_steps(result: SweepResult) -> dict[float, list[int]]:
    """The chosen steps, each with the curves that chose it (equal to 3 digits)."""
    groups: dict[float, list[int]] = {}
    for k, curve in enumerate(result.curves):
        groups.setdefault(float(f"{curve.chosen:.3g}"), []).append(k)
    return groups


def _sweep_legend(entries: list[Any]) -> list[Any]:
    """Legend handles: one per entry (its colour), then the line styles in black."""
    line2d = matplotlib_parts().module.lines.Line2D
    styles = [
        line2d([], [], color="black", label="solid: |g − g̃(ε)|, your gradient"),
        line2d(
            [],
            [],
            color="black",
            linestyle="--",
            linewidth=1,
            label="dashed: |g̃* − g̃(ε)|, finite-difference error",
        ),
        line2d(
            [],
            [],
            color="black",
            linestyle="none",
            marker="o",
            markerfacecolor="none",
            label="circles, dash-dot line: the chosen ε",
        ),
    ]
    return entries + styles


def plot_sweep(result: SweepResult, path: str | os.PathLike[str] | None = None) -> Any:
    """Error against step, log–log, one colour per entry, each entry's chosen step marked.

    Solid lines: the error against the supplied gradient; dashed: the
    finite-difference error itself (against a Richardson reference), in the same
    colour. Circles mark each entry's chosen step on both, and a dash-dot vertical line
    each distinct chosen step (in the entry's colour, grey when several entries share
    it); the legend gives each entry's chosen ε. Reference lines of slope ``p``
    (truncation) and −1 (round-off) go through the first curve's ends.

    Args:
        result: from :func:`gradcheck._sweep.sweep`.
        path: if given, the picture is written there (PNG).

    Returns:
        The matplotlib figure.
    """
    fig = agg_figure(6.8, 4.8)
    ax = fig.add_subplot()
    entries, colours = [], []
    for curve in result.curves:
        errors = np.where(curve.errors > 0, curve.errors, np.nan)
        fd = np.where(curve.fd_errors > 0, curve.fd_errors, np.nan)
        (line,) = ax.loglog(
            curve.steps, errors, marker=".", label=f"{curve.label()}: chosen ε {curve.chosen:.2g}"
        )
        colour = line.get_color()
        ax.loglog(curve.steps, fd, linestyle="--", color=colour, linewidth=1)
        at = int(np.searchsorted(curve.steps, curve.chosen))
        ax.plot(
            [curve.chosen] * 2,
            [errors[min(at, errors.size - 1)], fd[min(at, fd.size - 1)]],
            linestyle="none",
            marker="o",
            markersize=9,
            markerfacecolor="none",
            color=colour,
        )
        entries.append(line)
        colours.append(colour)
    for step, members in _distinct_steps(result).items():
        colour = colours[members[0]] if len(members) == 1 else "grey"
        ax.axvline(step, color=colour, linestyle="-.", linewidth=0.8)
    if result.curves:
        c = result.curves[0]
        h = c.steps
        e = np.where(c.fd_errors > 0, c.fd_errors, np.nan)
        half = h.size // 2
        if np.isfinite(e[-1]):
            ref = e[-1] * (h / h[-1]) ** result.order
            entries += ax.loglog(
                h[half:],
                ref[half:],
                "k-",
                linewidth=0.8,
                alpha=0.6,
                label=f"slope {result.order} (truncation)",
            )
        if np.isfinite(e[0]):
            ref = e[0] * (h / h[0]) ** -1.0
            entries += ax.loglog(
                h[:half], ref[:half], "k:", linewidth=1, label="slope −1 (round-off)"
            )
    ax.set_xlabel("step ε")
    ax.set_ylabel("error")
    ax.set_title(
        f"step-size sweep ({result.method} differences)\nsolid: error against your "
        "gradient, dashed: finite-difference error, circles: chosen ε",
        fontsize=9,
    )
    ax.legend(handles=_sweep_legend(entries), fontsize=7, loc="best")
    if path is not None:
        save(fig, path)
    return fig
