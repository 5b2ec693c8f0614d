"""The report of a complex Jacobian check, told in complex terms.

The check runs on real views (``gradcheck._jac_complex``): a complex leaf of shape
``S`` is a real ``(*S, 2)``. Its report is mapped back: each block gets the complex
shape ``out_shape + parameter_shape``, each entry its complex indices and parts
(``out[2] (imag) / z[0] (real)``), each text (diagnoses, notes, localisation) the same
labels, and ``errors`` one ``|Δ|`` per complex entry.

A failed block of complex views is diagnosed with the complex mistakes first (after
zero, sign and factor, which read the same on real views): the claimed block is the
**conjugate** of the right one (a missing ``conj``, or a vjp in the other
``complex_convention``; on real views ``S·J·S`` with ``S`` negating imaginary parts),
its complex **transpose** ``Jᵀ`` (square blocks), or its **conjugate transpose**
``Jᴴ`` (on real views the plain transpose, which the real diagnosis would call
"transposed"); one wrong complex entry is named once, with its complex factor.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from gradcheck._complex import PARTS
from gradcheck._diagnose import FIT
from gradcheck._jac_realviews import RealViews
from gradcheck._jacdiag import Block, diagnose_block
from gradcheck._jacreport import BlockDiagnosis
from gradcheck._norms import norm2
from gradcheck._report import Diagnosis, Entry, ParameterResult, Report, entry_label

__all__ = ["block_diagnosis", "relabel"]

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
        self.ndim = {
            n: len(shape)
            for n, shape, c in [
                *zip(views.out_names, views.out_shapes, views.out_mask),
                *zip(views.in_names, views.in_shapes, views.in_mask),
            ]
            if c
        }
        self.blocks = {
            f"{prefix}{o} / {p}": (oi, pi)
            for prefix in ("", "jacobian: ", "jvp: ", "vjp: ")
            for oi, o in enumerate(views.out_names)
            for pi, p in enumerate(views.in_names)
        }

    def text(self, text: str) -> str:
        """``text`` with ``z[3, 1]`` (a real view's entry) as ``z[3] (imag)``; in a
        diagnosis of one complex entry, as ``z[3]``."""
        if self.pattern is None:
            return text
        parts = not text.startswith(ONE_ENTRY)

        def one(m: re.Match[str]) -> str:
            index = [int(t) for t in m.group(2).split(", ")]
            if len(index) != self.ndim[m.group(1)] + 1 or index[-1] > 1:
                return m.group(0)  # no entry of a real view: leave it
            return entry_label(m.group(1), tuple(index[:-1]), PARTS[index[-1]] if parts else "")

        return self.pattern.sub(one, text)

    def entry(self, e: Entry) -> Entry:
        """An entry named by complex output and input indices and parts."""
        name = self.text(e.parameter)
        outs = (o for o, c in zip(self.views.out_names, self.views.out_mask) if c)
        if e.index and e.parameter in outs:  # an output entry, checked along v (jvp)
            return replace(e, index=e.index[:-1], part=PARTS[e.index[-1]])
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


#: The diagnosis of a block that is the complex conjugate of the right one.
CONJUGATED = (
    "conjugated? — the block is the complex conjugate of the right one: a missing conj() "
    "(a vjp is w·conj(J) in torch's convention, w·J in jax's), or a vjp in the other "
    "convention (option complex_convention: 'conjugate', the default, as torch.func.vjp; "
    "'plain' as jax.vjp)"
)
DAGGER = (
    "conjugated? — the block is the conjugate transpose (.H) of the right one: a "
    "transpose where .T was meant, with a missing or extra conj()"
)
ONE_ENTRY = "one complex entry is wrong: "
TRANSPOSED = "the complex block is transposed: it equals Jᵀ (J given where Jᵀ was meant?)"


def _fits(a: Array, b: Array) -> bool:
    scale = max(float(norm2(a)), float(norm2(b)))
    return scale > 0 and float(norm2(a - b)) <= FIT * scale


def _signs(size: int, pairs: bool) -> Array:
    """``+1`` for real parts, ``−1`` for imaginary parts (of a complex leaf's view)."""
    s = np.ones(size)
    if pairs:
        s[1::2] = -1.0
    return s


def _cells(x: Array) -> Array:
    """The complex transpose of a block of two complex leaves' views: cell ``(i, j)``
    (its 2 × 2 real view kept) moves to ``(j, i)``."""
    rows, cols = x.shape[0] // 2, x.shape[1] // 2
    out: Array = x.reshape(rows, 2, cols, 2).transpose(2, 1, 0, 3).reshape(cols * 2, rows * 2)
    return out


def _one_entry(
    block: Block, a: Array, n: Array, wrong: Array, pairs: tuple[bool, bool]
) -> Diagnosis | None:
    """Every wrong entry lies in one complex entry: named once, with its factor (a
    complex one for a complex output) where one fits."""
    rows, cols = np.nonzero(wrong)
    if not rows.size:
        return None
    r0, c0 = rows // (2 if pairs[0] else 1), cols // (2 if pairs[1] else 1)
    if np.any(r0 != r0[0]) or np.any(c0 != c0[0]):
        return None
    r, c = int(r0[0]) * (2 if pairs[0] else 1), int(c0[0]) * (2 if pairs[1] else 1)
    cell_a = a[r : r + (2 if pairs[0] else 1), c : c + (2 if pairs[1] else 1)]
    cell_n = n[r : r + (2 if pairs[0] else 1), c : c + (2 if pairs[1] else 1)]
    text = f"{ONE_ENTRY}{block.label(r, c)}"  # relabelled without the part
    if pairs[0]:
        zn = complex(cell_n[0, 0], cell_n[1, 0])
        factor = complex(cell_a[0, 0], cell_a[1, 0]) / zn if zn else None
    else:
        nn = float(np.vdot(cell_n, cell_n))
        factor = complex(float(np.vdot(cell_n, cell_a)) / nn) if nn else None
    if factor is not None and _fits(cell_a, _times(cell_n, factor, pairs)):
        text += f", {_factor(factor)} the right value"
    return Diagnosis("scattered", None, text)


def _times(cell: Array, c: complex, pairs: tuple[bool, bool]) -> Array:
    """A real-view cell of a C-linear entry, times the complex ``c``."""
    if not pairs[0]:
        return cell * c.real
    rot = np.array([[c.real, -c.imag], [c.imag, c.real]])
    out: Array = rot @ cell
    return out


def _factor(c: complex) -> str:
    """``×2``, ``×1i``, ``×(0.5-2i)``: a factor, its negligible parts left out."""
    re_ = c.real if abs(c.real) > FIT * abs(c) else 0.0
    im = c.imag if abs(c.imag) > FIT * abs(c) else 0.0
    if not im:
        return f"×{re_:.4g}"
    return f"×{im:.4g}i" if not re_ else f"×({re_:.4g}{im:+.4g}i)"


def _complex_patterns(
    block: Block, a: Array, n: Array, status: Array, pairs: tuple[bool, bool]
) -> Diagnosis | None:
    """The complex mistakes (module text), or ``None``."""
    judged = (status == "ok") | (status == "wrong")
    conj = _signs(a.shape[0], pairs[0])[:, None] * n * _signs(a.shape[1], pairs[1])[None, :]
    if not _fits(conj[judged], n[judged]) and _fits(a[judged], conj[judged]):
        return Diagnosis("conjugate", None, CONJUGATED)
    if all(pairs) and a.shape[0] == a.shape[1]:
        transposed, dagger = _cells(n), _cells(conj)
        if _fits(a[judged], transposed[judged]) and not _fits(transposed[judged], n[judged]):
            return Diagnosis("transpose", None, TRANSPOSED)
        if _fits(a[judged], dagger[judged]) and not _fits(dagger[judged], n[judged]):
            return Diagnosis("conjugate", None, DAGGER)
    return _one_entry(block, a, n, status == "wrong", pairs)


def block_diagnosis(views: RealViews) -> BlockDiagnosis:
    """``diagnose_block`` for the blocks of complex views (module text)."""
    outs = dict(zip(views.out_names, views.out_mask))
    ins = dict(zip(views.in_names, views.in_mask))

    def diagnose(
        block: Block, a: Array, n: Array, status: Array, others: Mapping[str, Array]
    ) -> Diagnosis:
        found = diagnose_block(block, a, n, status, others)
        pairs = (outs.get(block.out, False), ins.get(block.param, False))
        if found.kind in ("unused", "zero", "sign", "factor") or not any(pairs):
            return found
        return _complex_patterns(block, a, n, status, pairs) or found

    return diagnose
