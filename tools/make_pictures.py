"""Regenerate the pictures in docs/images from the lesson's buggy backprop.

    python tools/make_pictures.py            # writes docs/images/*.png

* ``lesson_report.png``: ``gradcheck run examples/lesson_problem.py:buggy --plot``;
* ``lesson_sweep.png``: ``gradcheck sweep examples/lesson_problem.py:buggy --plot``;
* ``notebook.png``: the notebook view of the same report. There is no browser here, so
  the HTML that ``report._repr_html_()`` gives Jupyter is parsed and its content (the
  verdict, the parameter table with its status colours, the diagnosis and the inline
  picture, decoded from its data URI) is laid out with matplotlib as a notebook cell.
  It is kept under 150 kB (a 96-colour palette PNG).

Run it from the repository root with the package importable (``make`` installs it, or
``PYTHONPATH=src``).
"""

from __future__ import annotations

import base64
import io
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from gradcheck import cli

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
LESSON = str(ROOT / "examples" / "lesson_problem.py")
_CELL = 50  # longest table cell drawn, in characters
COLOURS = {"passed": "#2e7d32", "failed": "#c62828", "inconclusive": "#a66b00"}


class View(HTMLParser):
    """What the notebook shows: verdict, meta lines, table rows, diagnoses, picture."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, str]] = []  # (class or tag, text)
        self.rows: list[list[str]] = []
        self.picture = b""
        self._where: list[str] = []
        self._text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "img":
            self.picture = base64.b64decode((names.get("src") or "").partition(",")[2])
        elif tag == "tr":
            self.rows.append([])
        if tag in ("div", "li", "h4", "td", "th", "figcaption"):
            self._where.append(names.get("class") or tag)
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("div", "li", "h4", "td", "th", "figcaption") and self._where:
            where, text = self._where.pop(), " ".join("".join(self._text).split())
            if tag in ("td", "th"):
                self.rows[-1].append(text)
            elif text and where != "gradcheck-report":
                self.blocks.append((where, text))
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._where:
            self._text.append(data)


def notebook_picture(path: Path) -> None:
    """Lay out the notebook view of the lesson's report as a PNG at ``path``."""
    sys.path.insert(0, str(ROOT / "examples"))
    import lesson_problem

    import gradcheck

    problem = lesson_problem.buggy()
    report = gradcheck.check(problem["cost"], problem["params"], problem["grad"])
    view = View(report._repr_html_())
    width, height = 10.0, 10.0
    fig = Figure(figsize=(width, height), dpi=100)
    canvas = FigureCanvasAgg(fig)
    renderer = canvas.get_renderer()
    y = 0.98

    def run(parts: list[tuple[str, dict[str, Any]]], size: float) -> None:
        """Draw text pieces side by side on one line, then move down."""
        nonlocal y
        x = 0.03
        for text, style in parts:
            artist = fig.text(x, y, text, fontsize=size, va="top", **style)
            x += artist.get_window_extent(renderer).width / (width * fig.dpi) + 0.008
        y -= 0.012 + size / 480

    run(
        [
            ("In [3]:", {"family": "monospace", "color": "#303f9f"}),
            ("report", {"family": "monospace"}),
        ],
        10,
    )
    y -= 0.006
    n = len(report.parameters)
    tables = iter([(0, 1 + n), (1 + n, 2 + n + 4)])  # header and rows; at most 4 entries
    for where, text in view.blocks:
        if where == "gc-verdict":
            word, _, rest = text.partition(" ")[2].partition(" ")
            badge = {
                "color": "white",
                "weight": "bold",
                "bbox": {"facecolor": COLOURS[word.lower()], "pad": 2, "edgecolor": "none"},
            }
            run([("gradcheck", {"weight": "bold"}), (word, badge), (rest, {"weight": "bold"})], 12)
            y -= 0.006
        elif where == "gc-meta":
            run([(text, {"color": "#555555"})], 9)
        elif where == "h4":
            y -= 0.004
            run([(text, {"weight": "bold"})], 10)
            if text in ("Parameters", "Worst entries"):
                first, last = next(tables)
                y = _table(fig, view.rows[first:last], y)
        elif where == "li":
            name, _, why = text.partition(": ")
            run([(f"•  {name}:", {"weight": "bold"}), (why, {})], 9)
    picture = np.asarray(Image.open(io.BytesIO(view.picture)).convert("RGB"))
    shown = 0.96 * picture.shape[0] / picture.shape[1] * width / height
    ax = fig.add_axes((0.02, y - 0.01 - shown, 0.96, shown))
    ax.imshow(picture, interpolation="lanczos")
    ax.set_axis_off()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", facecolor="white")
    image = Image.open(buffer).convert("RGB")
    bottom = int((1 - (y - 0.02 - shown)) * height * fig.dpi)
    image = image.crop((0, 0, image.width, min(image.height, bottom)))
    image = image.quantize(colors=96, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    image.save(path, optimize=True)


def _table(fig: Figure, rows: list[list[str]], y: float) -> float:
    """A table, its status words coloured as in the HTML; returns the new y."""
    widths = [
        max(min(len(r[i]), _CELL) if i < len(r) else 0 for r in rows) for i in range(len(rows[0]))
    ]
    x = 0.03
    for i, w in enumerate(widths):
        for k, row in enumerate(rows):
            cell = row[i] if i < len(row) else ""
            if len(cell) > _CELL:  # the diagnosis column; it is written in full below
                cell = cell[: _CELL - 1] + "…"
            colour = COLOURS.get(cell, "#c62828" if cell == "wrong" else "black")
            bold = k == 0 or cell in COLOURS or cell == "wrong"
            fig.text(
                x,
                y - 0.024 * k,
                cell,
                fontsize=8.5,
                va="top",
                color=colour,
                weight="bold" if bold else "normal",
            )
        x += 0.0085 * max(w, 6) + 0.018
    return y - 0.024 * len(rows) - 0.004


def main() -> None:
    """Write every picture into docs/images."""
    IMAGES.mkdir(parents=True, exist_ok=True)
    cli.main(["run", f"{LESSON}:buggy", "--plot", str(IMAGES / "lesson_report.png"), "-q"])
    cli.main(["sweep", f"{LESSON}:buggy", "--plot", str(IMAGES / "lesson_sweep.png"), "-q"])
    notebook_picture(IMAGES / "notebook.png")
    for name in ("lesson_report.png", "lesson_sweep.png", "notebook.png"):
        print(f"{name}: {(IMAGES / name).stat().st_size // 1000} kB")


if __name__ == "__main__":
    main()
