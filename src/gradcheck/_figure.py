"""Figures on the Agg canvas and their atomic writing, shared by the picture modules.

Figures are built with :class:`matplotlib.figure.Figure` on the Agg canvas, never
through ``pyplot``: nothing here changes the user's backend or opens a window.
"""

from __future__ import annotations

import os
from typing import IO, Any

from gradcheck._errors import GradcheckError


def _matplotlib() -> Any:
    try:
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise GradcheckError("pictures need matplotlib: pip install 'gradcheck[plot]'") from exc
    return matplotlib, Figure, FigureCanvasAgg


def _figure(width: float, height: float) -> Any:
    _, figure_cls, canvas = _matplotlib()
    fig = figure_cls(figsize=(width, height), layout="constrained")
    canvas(fig)
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
    formats = _matplotlib()[2].get_supported_filetypes()
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
