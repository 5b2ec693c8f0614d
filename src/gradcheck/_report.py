"""The result of a check: a verdict, per-parameter results and the worst entries.

A report is plain data: frozen dataclasses that round-trip through
:meth:`Report.to_dict` / :meth:`Report.from_dict` and JSON, and print as a table.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import numpy as np

from gradcheck._numerics import RTOL, UNSEEN

__all__ = [
    "Diagnosis",
    "Entry",
    "GradientMismatch",
    "ParameterResult",
    "Report",
    "Status",
    "entry_label",
]

Status = Literal["passed", "failed", "inconclusive"]
#: Per-entry outcome: ``ok`` (agrees), ``wrong`` (disagrees beyond the tolerance and
#: the estimated finite-difference error), ``nonsmooth`` (at a kink: one-sided
#: derivatives differ and the analytic value lies between them; kept out of the
#: verdict) or ``uncertain`` (the finite-difference error is too large to tell).
EntryStatus = Literal["ok", "wrong", "nonsmooth", "uncertain"]


def entry_label(parameter: str, index: tuple[int, ...], part: str = "") -> str:
    """``"W1[2, 3]"`` for entry ``(2, 3)`` of ``W1``, or the bare name for a scalar;
    a complex entry's part follows: ``"z[3] (imag)"``."""
    label = f"{parameter}[{', '.join(map(str, index))}]" if index else parameter
    return f"{label} ({part})" if part else label


@dataclass(frozen=True)
class Entry:
    """One compared gradient entry.

    Attributes:
        parameter: the parameter's name, e.g. ``"W1"``.
        index: the entry's index in the parameter array (``()`` for a scalar).
        analytic: the gradient you supplied.
        numeric: the finite-difference estimate.
        abs_error: ``|analytic - numeric|``.
        rel_error: ``abs_error / max(|analytic|, |numeric|)`` (0 when both are 0).
        tolerance: the largest ``abs_error`` that counts as agreement.
        fd_error: the estimated error of ``numeric`` itself (0 when not estimated).
        status: see :data:`EntryStatus`.
        part: for a complex parameter, which part of entry ``index`` this is,
            ``"real"`` or ``"imag"`` (``gradcheck._complex``); ``""`` otherwise.
    """

    parameter: str
    index: tuple[int, ...]
    analytic: float
    numeric: float
    abs_error: float
    rel_error: float
    tolerance: float
    fd_error: float
    status: EntryStatus
    part: str = ""

    def label(self) -> str:
        """``"W1[2, 3]"``, the bare name for a scalar, ``"z[3] (imag)"`` for a part."""
        return entry_label(self.parameter, self.index, self.part)


@dataclass(frozen=True)
class Diagnosis:
    """Which common mistake explains a wrong parameter gradient.

    Attributes:
        kind: ``"unused"`` (the cost does not change with the parameter),
            ``"factor"``, ``"sign"``, ``"transpose"``, ``"conjugate"`` (a complex
            parameter's gradient is the conjugate of the right one), ``"zero"``,
            ``"swapped"`` or ``"scattered"`` (no simple pattern); Jacobian reports add
            ``"row"`` (one wrong output row), ``"column"`` (one wrong input column),
            ``"inconsistent"`` (two forms of one Jacobian disagree) and
            ``"not_holomorphic"`` (a complex ``jacobian=`` of a function that has no
            complex derivative).
        factor: for ``factor`` and ``sign``, the ``c`` with ``analytic ≈ c · numeric``.
        text: one sentence for a person.
    """

    kind: str
    factor: float | None
    text: str


@dataclass(frozen=True)
class ParameterResult:
    """The check of one parameter array.

    Attributes:
        name: the parameter's name.
        shape: its shape.
        dtype: its dtype, as a string.
        status: ``passed``, ``failed`` or ``inconclusive``.
        difference: the lesson's ‖g − g̃‖₂ / (‖g‖₂ + ‖g̃‖₂) over its checked entries.
        max_abs_error: the largest ``|analytic - numeric|`` among them.
        checked: how many entries were compared one by one (in ``directional`` mode,
            only the entries localisation probed alone, usually 0: directions compare
            combinations of entries).
        size: how many entries it has. A complex parameter counts real components
            (two per entry, ``size = 2·prod(shape)``), and so do ``checked``,
            ``failed``, ``nonsmooth`` and ``uncertain``.
        failed: how many entries are ``wrong``.
        nonsmooth: how many entries sit at a kink (excluded from the verdict).
        uncertain: how many entries could not be resolved.
        worst: its worst entries: ``wrong`` first, then ``uncertain``, ``nonsmooth``
            and ``ok``; within each, largest error relative to tolerance first.
        diagnosis: for a failed parameter, the mistake that fits, if any.
        detection_bound: the size of error this check vouches to catch, as a ratio.
            In the ``full`` and ``sample`` modes: an error ``|ε_i|`` at any one checked
            entry of at least ``detection_bound × max_j |g_j|`` (``g`` this parameter's
            analytic gradient over its checked entries; the model's largest entry where
            a message says the parameter's gradient is zero within round-off) makes the
            parameter ``failed``; it includes the finite differences' own error at each
            entry (truncation and round-off), not only the tolerance. In the
            ``directional`` mode it is the guarantee's ``ρ* = ‖s ⊙ ε‖ / ‖s ⊙ g‖`` (``s``
            the entry scales of the step rule, ``ε`` the error over the whole parameter):
            an error with a norm ratio of at least ρ* is caught with probability at
            least ``1 − miss_probability``. ``inf`` when it compared no entry, when the
            gradient is zero (directional), or when an entry is left at a kink
            (``nonsmooth``): no error there is known to be caught.
        precision: when the gradient could also be computed by the same formula in
            float64, the round-off of the gradient in the user's dtype:
            ``max |g_user − g_float64| / max |g_float64|``; ``None`` otherwise. It is a
            figure for the reader and does not enter the verdict.
        errors: per-entry ``|analytic − numeric|`` in the parameter's shape, NaN where
            not checked; kept in memory for pictures, left out of :meth:`Report.to_dict`.
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    status: Status
    difference: float
    max_abs_error: float
    checked: int
    size: int
    failed: int = 0
    nonsmooth: int = 0
    uncertain: int = 0
    worst: tuple[Entry, ...] = ()
    diagnosis: Diagnosis | None = None
    detection_bound: float = 0.0
    precision: float | None = None
    errors: np.ndarray[Any, Any] | None = field(default=None, repr=False, compare=False)


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
