"""Figures on the Agg canvas and their atomic writing, shared by the picture modules.

Figures are built with :class:`matplotlib.figure.Figure` on the Agg canvas, never
through ``pyplot``: nothing here changes the user's backend or opens a window.
"""

from __future__ import annotations

import os
from typing import IO, Any, NamedTuple

from gradcheck._errors import GradcheckError


class Matplotlib(NamedTuple):
    """What the picture modules take from matplotlib: the package, its ``Figure`` class
    and the Agg canvas class."""

    module: Any
    figure: Any
    canvas: Any


def matplotlib_parts() -> Matplotlib:
    """matplotlib's package, ``Figure`` and Agg canvas (imported here, on first use).

    Raises:
        GradcheckError: matplotlib is not installed (the ``plot`` extra).
    """
    try:
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise GradcheckError("pictures need matplotlib: pip install 'gradcheck[plot]'") from exc
    return Matplotlib(matplotlib, Figure, FigureCanvasAgg)


def agg_figure(width: float, height: float) -> Any:
    """A new constrained-layout figure of ``width`` × ``height`` inches on the Agg
    canvas (never through ``pyplot``)."""
    mpl = matplotlib_parts()
    fig = mpl.figure(figsize=(width, height), layout="constrained")
    mpl.canvas(fig)
    return fig


def picture_format(path: str | os.PathLike[str]) -> str:
    """The picture format ``path`` names by its suffix (``png`` when it has none).

    Raises:
        GradcheckError: the suffix is no format matplotlib writes, or ``path`` is a folder.
    """
    if os.path.isdir(path):
        raise GradcheckError(
            f"cannot write picture {os.fspath(path)!r}: it is a folder; give a file name "
            "in it, e.g. report.png"
        )
    suffix = os.path.splitext(os.fspath(path))[1].lower().lstrip(".")
    if not suffix:
        return "png"
    formats = matplotlib_parts().canvas.get_supported_filetypes()
    if suffix not in formats:
        raise GradcheckError(
            f"cannot write picture {os.fspath(path)!r}: matplotlib writes no '.{suffix}' "
            f"files; use one of {', '.join('.' + f for f in sorted(formats))}"
        )
    return suffix


def save(figure: Any, path: str | os.PathLike[str]) -> None:
    """Write ``figure`` to exactly ``path``, atomically, with the Agg canvas.

    The format follows the suffix (PNG when there is none); the file is complete or
    absent, never half-written, with the permissions a plain write would give (see
    :func:`gradcheck._io.write_atomic`).

    Raises:
        GradcheckError: ``path`` is a folder, its folder is missing, its suffix is no
            picture format, or the file cannot be written.
    """
    from gradcheck._io import write_atomic

    fmt = picture_format(path)

    def write(handle: IO[bytes]) -> None:
        figure.savefig(handle, format=fmt, dpi=120)

    try:
        write_atomic(path, write, what="picture")
    except GradcheckError:
        raise
    except ValueError as exc:
        raise GradcheckError(f"cannot write picture {os.fspath(path)!r}: {exc}") from exc
