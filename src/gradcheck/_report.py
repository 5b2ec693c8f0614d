"""The result of a check: a verdict, per-parameter results and the worst entries.

A report is plain data: frozen dataclasses that round-trip through
:meth:`Report.to_dict` / :meth:`Report.from_dict` and JSON, and print as a table. Its
records (:class:`Entry`, :class:`Diagnosis`, :class:`ParameterResult`) are in
``gradcheck._results``.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from gradcheck._numerics import RTOL, UNSEEN
from gradcheck._results import Diagnosis, Entry, ParameterResult, Status, entry_label

__all__ = [
    "Diagnosis",
    "Entry",
    "GradientMismatch",
    "ParameterResult",
    "Report",
    "Status",
    "entry_label",
]


@dataclass(frozen=True)
class Report:
    """The outcome of :func:`gradcheck.check`.

    Attributes:
        status: ``"passed"``, ``"failed"`` or ``"inconclusive"``.
        difference: the lesson's ‖g − g̃‖₂ / (‖g‖₂ + ‖g̃‖₂) over every checked entry,
            from the method's estimates at the chosen steps.
        parameters: name → :class:`ParameterResult`, in the parameters' order.
        worst: the worst entries overall, ranked as each parameter's.
        evaluations: how many times the cost was called.
        seconds: wall time of the check.
        options: the options used (method, eps, step rule, rtol, atol, mode, seed, ...).
        noise: the estimated noise (standard deviation) of the cost's value.
        messages: why a check is inconclusive, and other notes worth reading.
        mode: the mode that ran (``"full"``, ``"sample"`` or ``"directional"``).
        guarantee: for ``directional``: ``directions``, ``relative_error`` (the
            smallest relative error caught), ``miss_probability``, ``noise`` and
            ``text``; empty otherwise.
        localisation: after a failed directional verdict: ``evaluations``,
            ``exhausted``, ``pinned`` (entries named exactly) and ``regions`` (flat
            index ranges ``{parameter, start, stop}`` known to hold an error).
    """

    status: Status
    difference: float
    parameters: dict[str, ParameterResult]
    worst: tuple[Entry, ...]
    evaluations: int
    seconds: float
    options: dict[str, Any] = field(default_factory=dict)
    noise: float = 0.0
    messages: tuple[str, ...] = ()
    mode: str = "full"
    guarantee: dict[str, Any] = field(default_factory=dict)
    localisation: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """``status == "passed"``."""
        return self.status == "passed"

    @property
    def failed_parameters(self) -> list[str]:
        """Names of the parameters whose gradient is wrong."""
        return [n for n, p in self.parameters.items() if p.status == "failed"]

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready) that :meth:`from_dict` turns back into this report.

        The in-memory per-entry ``errors`` arrays are left out.
        """
        light = {n: replace(p, errors=None) for n, p in self.parameters.items()}
        data = asdict(replace(self, parameters=light))
        for p in data["parameters"].values():
            del p["errors"]
        return data

    def to_json(self, **kwargs: Any) -> str:
        """JSON text; non-finite numbers are written as ``NaN``/``Infinity``."""
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        """Rebuild a report from :meth:`to_dict`'s output."""

        def entry(d: dict[str, Any]) -> Entry:
            return Entry(**{**d, "index": tuple(d["index"])})

        params = {}
        for name, p in data["parameters"].items():
            diag = p.get("diagnosis")
            params[name] = ParameterResult(
                **{
                    **p,
                    "shape": tuple(p["shape"]),
                    "worst": tuple(entry(e) for e in p["worst"]),
                    "diagnosis": Diagnosis(**diag) if diag else None,
                }
            )
        return cls(
            **{
                **data,
                "parameters": params,
                "worst": tuple(entry(e) for e in data["worst"]),
                "messages": tuple(data.get("messages", ())),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Report:
        """Rebuild a report from :meth:`to_json`'s output."""
        return cls.from_dict(json.loads(text))

    def plot(self, path: str | None = None) -> Any:
        """The report as a picture (needs matplotlib); see :func:`gradcheck.plot.plot_report`.

        Args:
            path: if given, the picture is also written there (PNG).

        Returns:
            A matplotlib figure (a notebook displays it).
        """
        from gradcheck.plot import plot_report

        return plot_report(self, path)

    def to_html(self, path: str | os.PathLike[str] | None = None) -> str:
        """One self-contained HTML page (inline CSS, the picture as a data URI, no scripts).

        Args:
            path: if given, the page is also written there, atomically (complete or
                absent, never half-written; permissions as a plain write would give).

        Returns:
            The page's text.

        Raises:
            GradcheckError: ``path`` is a folder, or its folder is missing or not writable.
        """
        from gradcheck import _html

        return _html.document(self) if path is None else _html.write(self, path)

    def _repr_html_(self) -> str:
        """The notebook view: verdict, coloured table, diagnosis, worst entries, picture."""
        from gradcheck import _html

        return _html.fragment(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython's terminal shows the printed table, not the dataclass repr."""
        printer.text("Report(...)" if cycle else format_report(self))

    def __str__(self) -> str:
        return format_report(self)


class GradientMismatch(AssertionError):
    """A gradient check that did not pass; ``report`` holds the full result.

    Raised by :func:`gradcheck.assert_gradients`; its message is the report.
    """

    def __init__(self, report: Report) -> None:
        super().__init__(str(report))
        self.report = report


def _g(x: float) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3g}"


def _cut(items: list[str], max_rows: int) -> str:
    """``"a, b, … and 3 more"``: at most ``max_rows`` items, and how many were left out."""
    more = len(items) - max_rows
    return ", ".join(items[:max_rows]) + (f", … and {more} more" if more > 0 else "")


def _checked(p: ParameterResult, mode: str) -> str:
    """The table's "checked" cell; a directional check compares no entry by itself."""
    if mode != "directional":
        return f"{p.checked}/{p.size}"
    return "directional" + (f" + {p.checked} alone" if p.checked else "")


def unseen(report: Report) -> str:
    """What a passed check could not see, for its headline: the largest detection bound
    above ``UNSEEN`` times float64's screening tolerance (``docs/numerics.md``,
    "Precision"), or ``""``."""
    level = UNSEEN * RTOL["float64"].get(str(report.options.get("method")), math.inf)
    bounds = [p for p in report.parameters.values() if level < p.detection_bound < math.inf]
    if report.mode == "directional" or not bounds:
        return ""
    worst = max(bounds, key=lambda p: p.detection_bound)
    return (
        f", but errors below {worst.detection_bound:.2g} of {worst.name}'s largest entry "
        "could not be seen"
    )


def localised(report: Report, max_rows: int = 8) -> str:
    """What localisation found after a failed directional verdict, in one sentence.

    ``"localised in 168 evaluations: pinned exactly x[12345]"``, with the known wrong
    regions (flat index ranges) when some were not narrowed down to single entries;
    ``""`` when the report has no localisation.
    """
    loc = report.localisation
    if not loc:
        return ""
    pinned = loc.get("pinned", [])
    regions = [f"{r['parameter']}[{r['start']}:{r['stop']}]" for r in loc.get("regions", [])]
    text = (
        f"localised in {loc.get('evaluations', 0)} evaluations: pinned exactly "
        f"{_cut(pinned, max_rows) or 'none'}"
    )
    if regions:
        text += f"; known wrong regions (flat ranges) {_cut(regions, max_rows)}"
    return text + (" (budget exhausted)" if loc.get("exhausted") else "")


def format_report(report: Report, max_rows: int = 8) -> str:
    """The terminal rendering of a report (used by ``str(report)``)."""
    failed = report.failed_parameters
    jacobian = "forms" in report.options  # a check_jacobian report: derivatives of fn
    what = "derivative" if jacobian else "gradient"
    head = {
        "passed": f"PASSED: every checked {what} entry agrees",
        "failed": f"FAILED: wrong {what} for {', '.join(failed)}",
        "inconclusive": "INCONCLUSIVE: the check could not reach a verdict",
    }[report.status]
    if report.status == "passed":
        head += unseen(report)
    if report.status == "failed" and not failed:  # a directional verdict nobody was blamed for
        why = "localisation off" if not report.localisation else "not localised"
        head = f"FAILED: the directional check disagrees ({why}: parameters not named)"
    opts = report.options
    step = f"eps={opts['eps']:g}" if opts.get("eps") is not None else "automatic step"
    lines = [
        f"gradcheck {head}",
        f"  difference {_g(report.difference)} | method {opts.get('method', '?')}, {step}"
        f" | {report.evaluations} {'fn' if jacobian else 'cost'} evaluations in"
        f" {report.seconds:.3g} s",
    ]
    if report.mode != "full":
        lines.append(f"  mode {report.mode}")
    if report.guarantee:
        lines.append(f"  guarantee: {report.guarantee.get('text', '')}")
    if report.localisation:
        lines.append(f"  {localised(report, max_rows)}")
    lines += [f"  note: {m}" for m in report.messages]
    rows = [("parameter", "shape", "status", "difference", "max|err|", "checked", "diagnosis")]
    for p in report.parameters.values():
        extra = f" ({p.nonsmooth} at kinks)" if p.nonsmooth else ""
        rows.append(
            (
                p.name,
                str(p.shape),
                p.status.upper() if p.status == "failed" else p.status,
                _g(p.difference),
                _g(p.max_abs_error),
                _checked(p, report.mode) + extra,
                p.diagnosis.text if p.diagnosis else "",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines.append("")
    for r in rows:
        cells = [c.ljust(w) for c, w in zip(r, widths)] + [r[-1]]
        lines.append("  " + "  ".join(cells).rstrip())
    shown = [e for e in report.worst if e.status != "ok"] or list(report.worst[:3])
    if shown:
        lines += ["", "  worst entries:"]
        for e in shown[:max_rows]:
            lines.append(
                f"    {e.label():<14} analytic {e.analytic: .6g}  numeric {e.numeric: .6g}"
                f"  abs err {e.abs_error:.2g}  rel err {e.rel_error:.2g}  [{e.status}]"
            )
    return "\n".join(lines)
