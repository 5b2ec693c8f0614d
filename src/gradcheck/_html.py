"""Reports as HTML: the notebook view (``Report._repr_html_``) and a standalone file.

:func:`fragment` is what Jupyter shows for a bare ``report``: the verdict, the
per-parameter table with coloured statuses, the diagnosis in words, the worst entries and,
when matplotlib is installed, the report picture inline as a PNG data URI (the table
alone otherwise). :func:`document` wraps it into one self-contained page: inline CSS,
pictures as data URIs, no network address, no JavaScript. :func:`write` writes that page
atomically (see :func:`gradcheck._io.write_atomic`).

Every string that comes from the user (parameter names, diagnosis and note texts) is
escaped. This module imports nothing but the standard library at import time;
matplotlib is imported only to draw the picture.

>>> import numpy as np, gradcheck
>>> report = gradcheck.check(lambda p: float(np.sum(p**2)), np.ones(2), 2 * np.ones(2))
>>> "PASSED" in fragment(report, picture=False)
True
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from gradcheck._report import Entry, ParameterResult, Report

__all__ = ["document", "fragment", "picture_uri", "write"]

#: Status colours: the same as the pictures' (``gradcheck.plot``), readable as text.
_STATUS_COLOURS = {
    "passed": "#2e7d32",
    "ok": "#2e7d32",
    "failed": "#c62828",
    "wrong": "#c62828",
    "inconclusive": "#a66b00",
    "uncertain": "#a66b00",
    "nonsmooth": "#5e5e5e",
}
#: Class names are prefixed so that the notebook's own styles are left alone.
_CSS = """\
.gradcheck-report {font-family: system-ui, -apple-system, "Segoe UI", sans-serif;
  font-size: 13px; line-height: 1.4; color: #1a1a1a; max-width: 1100px}
.gradcheck-report .gc-verdict {font-size: 15px; font-weight: 600; margin: 4px 0}
.gradcheck-report .gc-badge {color: #fff; padding: 1px 7px; border-radius: 3px}
.gradcheck-report .gc-meta, .gradcheck-report .gc-caption {color: #555}
.gradcheck-report table {border-collapse: collapse; margin: 6px 0}
.gradcheck-report th, .gradcheck-report td {border-bottom: 1px solid #ddd;
  padding: 2px 8px; text-align: left; vertical-align: top}
.gradcheck-report th {background: #f3f3f3}
.gradcheck-report td.gc-num {text-align: right; font-variant-numeric: tabular-nums}
.gradcheck-report .gc-status {font-weight: 600}
.gradcheck-report img {max-width: 100%; height: auto}
.gradcheck-report h4 {margin: 10px 0 2px 0; font-size: 13px}
"""
#: Resolution of the inline picture: sharp on a normal screen, a few tens of kB.
_DPI = 90


def _e(text: object) -> str:
    """``text`` escaped for HTML content and attribute values (quotes included)."""
    return html.escape(str(text), quote=True)


def _g(x: float | None) -> str:
    """A number in 3 significant digits; ``-`` for a missing one."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.3g}"


def _status(status: str, text: str | None = None) -> str:
    """A status word in its colour (never colour alone: the word is always there)."""
    colour = _STATUS_COLOURS.get(status, "#1a1a1a")
    word = _e(text if text is not None else status)
    return f'<span class="gc-status" style="color:{colour}">{word}</span>'


def _headline(report: Report) -> str:
    """The verdict sentence, as ``str(report)``'s first line says it."""
    from gradcheck._report import unseen

    failed = report.failed_parameters
    if report.status == "passed":
        return "every checked gradient entry agrees" + unseen(report)
    if report.status == "inconclusive":
        return "the check could not reach a verdict"
    if failed:
        return "wrong gradient for " + ", ".join(failed)
    why = "localisation off" if not report.localisation else "not localised"
    return f"the directional check disagrees ({why}: parameters not named)"


def _verdict(report: Report) -> str:
    from gradcheck._report import localised

    colour = _STATUS_COLOURS[report.status]
    opts = report.options
    step = f"eps={opts['eps']:g}" if opts.get("eps") is not None else "automatic step"
    meta = (
        f"difference {_g(report.difference)} · method {opts.get('method', '?')}, {step} · "
        f"mode {report.mode} · {report.evaluations} cost evaluations in {report.seconds:.3g} s"
    )
    lines = [
        f'<div class="gc-verdict">gradcheck <span class="gc-badge" style="background:{colour}">'
        f"{_e(report.status.upper())}</span> {_e(_headline(report))}</div>",
        f'<div class="gc-meta">{_e(meta)}</div>',
    ]
    if report.guarantee:
        text = report.guarantee.get("text", "")
        lines.append(f'<div class="gc-meta">guarantee: {_e(text)}</div>')
    if report.localisation:
        lines.append(f'<div class="gc-meta">{_e(localised(report))}</div>')
    lines += [f'<div class="gc-meta">note: {_e(m)}</div>' for m in report.messages]
    return "\n".join(lines)


def _checked(p: ParameterResult, mode: str) -> str:
    """The "checked" cell; a directional check compares combinations, not entries."""
    if mode != "directional":
        cell = f"{p.checked}/{p.size}"
    else:
        cell = "along random directions" + (f" + {p.checked} alone" if p.checked else "")
    return cell + (f" ({p.nonsmooth} at kinks)" if p.nonsmooth else "")


def _table(rows: list[list[str]], header: list[str], numeric: set[int]) -> str:
    """An HTML table; ``rows`` hold HTML already escaped, ``numeric`` columns align right."""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="gc-num">{c}</td>' if i in numeric else f"<td>{c}</td>"
            for i, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _parameters(report: Report) -> str:
    rows = [
        [
            _e(p.name),
            _e(p.shape),
            _e(p.dtype),
            _status(p.status),
            _g(p.difference),
            _g(p.max_abs_error),
            _e(_checked(p, report.mode)),
            _e(p.diagnosis.text) if p.diagnosis else "",
        ]
        for p in report.parameters.values()
    ]
    header = [
        "parameter",
        "shape",
        "dtype",
        "status",
        "difference",
        "max |err|",
        "checked",
        "diagnosis",
    ]
    return _table(rows, header, {4, 5})


def _diagnosis(report: Report) -> str:
    """The diagnosis in words: one sentence per parameter that did not pass."""
    items = []
    for p in report.parameters.values():
        if p.status == "passed":
            continue
        if p.diagnosis:
            why = p.diagnosis.text
        elif p.status == "failed":
            why = "wrong, with no simple pattern (see the worst entries)"
        else:
            why = "no verdict (see the notes)"
        items.append(f"<li><b>{_e(p.name)}</b> {_e(p.shape)} {_status(p.status)}: {_e(why)}</li>")
    if not items:
        if report.status == "passed":
            return "<p>Every checked gradient entry agrees with its finite-difference estimate.</p>"
        return "<p>No parameter is named; see the notes above.</p>"
    return f"<ul>{''.join(items)}</ul>"


def _worst(entries: tuple[Entry, ...], max_rows: int) -> str:
    shown = [e for e in entries if e.status != "ok"] or list(entries[:3])
    rows = [
        [
            _e(e.label()),
            f"{e.analytic:.6g}",
            f"{e.numeric:.6g}",
            f"{e.abs_error:.2g}",
            f"{e.rel_error:.2g}",
            f"{e.tolerance:.2g}",
            _status(e.status),
        ]
        for e in shown[:max_rows]
    ]
    header = ["entry", "analytic", "numeric", "abs err", "rel err", "tolerance", "status"]
    return _table(rows, header, {1, 2, 3, 4, 5})


def picture_uri(report: Report) -> str | None:
    """The report picture (:func:`gradcheck.plot.plot_report`) as a PNG data URI.

    Returns:
        ``"data:image/png;base64,..."``, or ``None`` when matplotlib is not installed.
    """
    from gradcheck._errors import GradcheckError
    from gradcheck._figure import matplotlib_parts
    from gradcheck.plot import plot_report

    try:
        matplotlib_parts()
    except GradcheckError:
        return None
    buffer = io.BytesIO()
    plot_report(report).savefig(buffer, format="png", dpi=_DPI)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _picture(report: Report) -> str:
    uri = picture_uri(report)
    if uri is None:
        return ""
    caption = (
        "Bars: each parameter's difference on a log scale against the dashed tolerance "
        "line; green agrees, red is wrong, amber inconclusive; hatched bars were checked "
        "along random directions only."
    )
    # the picture has heat maps only for wrong parameters with per-entry errors
    if any(report.parameters[n].errors is not None for n in report.failed_parameters):
        caption += (
            " Heat maps: each wrong parameter's per-entry |g − g̃|, bright is large, black "
            "exactly 0, grey not checked."
        )
    alt = f"gradcheck report picture: {report.status}"
    return (
        f'<figure style="margin:6px 0"><img alt="{_e(alt)}" src="{uri}">'
        f'<figcaption class="gc-caption">{_e(caption)}</figcaption></figure>'
    )


def fragment(report: Report, *, picture: bool = True, max_rows: int = 8) -> str:
    """The notebook view: an HTML ``<div>`` with its own (prefixed) styles.

    Args:
        report: the report to show.
        picture: draw the picture inline (when matplotlib is installed).
        max_rows: at most this many worst entries.
    """
    return f"<style>{_CSS}</style>\n{_body(report, picture=picture, max_rows=max_rows)}"


def _body(report: Report, *, picture: bool, max_rows: int) -> str:
    """The report's ``<div class="gradcheck-report">``, without the styles."""
    parts = [
        '<div class="gradcheck-report">',
        _verdict(report),
        "<h4>Parameters</h4>",
        _parameters(report),
        "<h4>Diagnosis</h4>",
        _diagnosis(report),
    ]
    if report.worst:
        parts += ["<h4>Worst entries</h4>", _worst(report.worst, max_rows)]
    if picture:
        parts.append(_picture(report))
    parts.append("</div>")
    return "\n".join(p for p in parts if p)


def document(report: Report) -> str:
    """One self-contained HTML page: inline CSS, the picture as a data URI, no scripts.

    The styles sit in ``<head>`` (a ``<style>`` in ``<body>`` is not valid HTML).
    """
    title = f"gradcheck report: {report.status.upper()}"
    body = _body(report, picture=True, max_rows=8)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def write(report: Report, path: str | os.PathLike[str]) -> str:
    """Write :func:`document` to ``path`` atomically; returns the page.

    The page is drawn once the temporary file beside ``path`` exists, so a bad path
    fails before the picture is drawn; an interruption while drawing or writing leaves
    no file behind.

    Raises:
        GradcheckError: ``path`` is a folder, or its folder is missing or not writable;
            no file (whole or partial) is left and an old file is unchanged.
    """
    from gradcheck._io import write_atomic

    pages: list[str] = []

    def fill(handle: IO[bytes]) -> None:
        pages.append(document(report))
        handle.write(pages[0].encode("utf-8"))

    write_atomic(path, fill, what="HTML report")
    return pages[0]
