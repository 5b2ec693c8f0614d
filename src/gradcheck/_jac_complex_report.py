"""The report of a complex Jacobian check, told in complex terms.

The check runs on real views (``gradcheck._jac_complex``): a complex leaf of shape
``S`` is a real ``(*S, 2)``. Its report is mapped back: each block gets the complex
shape ``out_shape + parameter_shape``, each entry its complex indices and parts
(``out[2] (imag) / z[0] (real)``), each text (diagnoses, notes, localisation) the same
labels, and ``errors`` one ``|Δ|`` per complex entry.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import numpy as np

from gradcheck._complex import PARTS
from gradcheck._jac_realviews import RealViews
from gradcheck._report import Entry, ParameterResult, Report, entry_label

__all__ = ["relabel"]

Array = np.ndarray[Any, Any]


def _label_pattern(names: list[str]) -> re.Pattern[str] | None:
    """Entries ``name[i, j]`` of the complex leaves' real views, in any text."""
    if not names:
        return None
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![\w.])({alternatives})\[(\d+(?:, \d+)*)\]")


class _Labels:
    """Names of the real views' entries, told as complex entries and parts."""

    def __init__(self, views: RealViews) -> None:
        self.views = views
        complex_names = [n for n, c in zip(views.out_names, views.out_mask) if c] + [
            n for n, c in zip(views.in_names, views.in_mask) if c
        ]
        self.pattern = _label_pattern(complex_names)
        self.blocks = {
            f"{prefix}{o} / {p}": (oi, pi)
            for prefix in ("", "jacobian: ", "jvp: ", "vjp: ")
            for oi, o in enumerate(views.out_names)
            for pi, p in enumerate(views.in_names)
        }

    def text(self, text: str) -> str:
        """``text`` with ``z[3, 1]`` (a real view's entry) as ``z[3] (imag)``."""
        if self.pattern is None:
            return text

        def one(m: re.Match[str]) -> str:
            index = [int(t) for t in m.group(2).split(", ")]
            return entry_label(m.group(1), tuple(index[:-1]), PARTS[index[-1]])

        return self.pattern.sub(one, text)

    def entry(self, e: Entry) -> Entry:
        """An entry named by complex output and input indices and parts."""
        name = self.text(e.parameter)
        for p, c in zip(self.views.in_names, self.views.in_mask):
            if c and e.parameter.endswith(f" / {p}") and e.index:
                return replace(e, parameter=name, index=e.index[:-1], part=PARTS[e.index[-1]])
        return replace(e, parameter=name)

    def result(self, p: ParameterResult) -> ParameterResult:
        """A block's result: complex shapes, entries by part, errors per complex entry."""
        block = self.blocks.get(p.name)
        worst = tuple(self.entry(e) for e in p.worst)
        diagnosis = p.diagnosis
        if diagnosis is not None:
            diagnosis = replace(diagnosis, text=self.text(diagnosis.text))
        if block is None:
            return self._fold_result(replace(p, worst=worst, diagnosis=diagnosis))
        v = self.views
        o, i = block
        errors = p.errors
        if errors is not None:
            axes = [len(v.out_shapes[o])] if v.out_mask[o] else []
            if v.in_mask[i]:
                axes.append(errors.ndim - 1)
            errors = _fold(errors, tuple(axes))
        shape = v.out_shapes[o] + v.in_shapes[i]
        return replace(p, shape=shape, worst=worst, diagnosis=diagnosis, errors=errors)

    def _fold_result(self, p: ParameterResult) -> ParameterResult:
        """A projections' result ``"uᵀout / z"`` (shaped like parameter ``z``): its
        complex shape."""
        v = self.views
        for name, shape, c in zip(v.in_names, v.in_shapes, v.in_mask):
            if c and p.name.endswith(f" / {name}") and p.shape == (*shape, 2):
                errors = None if p.errors is None else _fold(p.errors, (p.errors.ndim - 1,))
                return replace(p, shape=shape, errors=errors)
        return p


def _fold(errors: Array, axes: tuple[int, ...]) -> Array:
    """``|Δ|`` per complex entry from its parts' errors (``NaN`` where none was judged)."""
    if not axes:
        return errors
    squared = np.nansum(np.square(errors), axis=axes)
    judged = np.any(~np.isnan(errors), axis=axes)
    return np.where(judged, np.sqrt(squared), np.nan)


def relabel(report: Report, views: RealViews) -> Report:
    """The real views' report, told in terms of the complex parameters and outputs.

    Block results get back complex shapes, entries their parts, texts their complex
    labels; ``evaluations`` counts the evaluation that found the outputs' dtypes, and
    the options record ``complex_convention``.
    """
    labels = _Labels(views)
    loc = dict(report.localisation)
    if "pinned" in loc:
        loc["pinned"] = [labels.text(str(s)) for s in loc["pinned"]]
    return replace(
        report,
        parameters={k: labels.result(p) for k, p in report.parameters.items()},
        worst=tuple(labels.entry(e) for e in report.worst),
        messages=tuple(labels.text(m) for m in report.messages),
        evaluations=report.evaluations + 1,
        options={**report.options, "complex_convention": views.convention},
        localisation=loc,
    )
