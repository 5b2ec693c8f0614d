"""The search for wrong outputs after a failed projection (``gradcheck._jacproj``).

The wrong outputs are found by bisection over the flat outputs: ``u`` restricted to
each half is checked again by :func:`gradcheck.check` in ``directional`` mode, at most
``budget`` evaluations in all, and for the first :data:`PINNED_OUTPUTS` outputs found
alone, ``check``'s own localisation names the wrong inputs: an entry
``out[i] / W[j]``. A probe costs about 10 evaluations, so one wrong output among
``m`` takes about ``20 log₂ m``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, NamedTuple

import numpy as np

from gradcheck._engine import check
from gradcheck._evaluate import GlobalRng
from gradcheck._flat_values import as_array
from gradcheck._linear import Forms
from gradcheck._pytree import flatten, unflatten
from gradcheck._report import Entry, Report

__all__ = ["PINNED_OUTPUTS", "Search", "out_label", "search"]

Array = np.ndarray[Any, Any]
#: Outputs found alone whose inputs are then localised.
PINNED_OUTPUTS = 3


def _flat(value: Any) -> Array:
    """An output pytree as one float64 vector."""
    _, leaves, _ = flatten(value)
    parts = [np.asarray(as_array(x), dtype=np.float64).reshape(-1) for x in leaves]
    return np.concatenate(parts) if parts else np.zeros(0)


class _Scalar:
    """``check`` of ``uᵀ f`` for one ``vjp``/``jacobian`` form (the output search)."""

    def __init__(
        self,
        fn: Callable[[Any], Any],
        params: Any,
        forms: Forms,
        opts: Any,
        form: str,
        rng: GlobalRng,
    ) -> None:
        self.fn, self.params, self.forms, self.opts, self.form = fn, params, forms, opts, form
        self.rng = rng
        self.done = 0  # evaluations before this scalar's checks

    def _progress(self) -> Callable[[int, int], None] | None:
        """The user's ``progress``, counting every sub-check's evaluations as one run."""
        user = self.opts.progress
        if user is None:
            return None
        before = self.done

        def report(done: int, planned: int) -> None:
            user(before + done, before + planned)

        return report

    def run(self, u: Array, localise: bool) -> Report:
        """``check`` of ``uᵀ f``."""
        fn, o = self.fn, self.opts

        def cost(p: Any) -> float:
            return float(u @ _flat(fn(p)))

        g = self.forms.uj(self.form, u)
        lay = self.forms.layout
        self.rng.reset()  # check starts from the user's random states, as every form
        grad = unflatten(
            lay.in_treedef, [g[c].reshape(s) for c, s in zip(lay.in_slices(), lay.in_shapes)]
        )
        r = check(
            cost,
            self.params,
            grad,
            mode="directional",
            seed=o.seed,
            rtol=o.rtol,
            miss_probability=o.miss_probability,
            localise=localise,
            budget=o.budget,
            progress=self._progress(),
        )
        self.done += r.evaluations
        return r


class Bisection(NamedTuple):
    """The outcome of the search for wrong outputs."""

    found: list[int]  # flat outputs found wrong alone
    spent: int  # evaluations
    exhausted: bool  # the budget ran out
    open: list[tuple[int, int]]  # ranges of flat outputs still being narrowed


def _bisect(scalar: _Scalar, u: Array, budget: int) -> Bisection:
    """Halve the failing outputs until each wrong one is alone, within ``budget``."""
    queue, spent = [(0, u.size)], 0
    found: list[int] = []
    while queue:
        if spent >= budget:
            return Bisection(found, spent, True, queue)
        lo, hi = queue.pop(0)
        if hi - lo == 1:
            found.append(lo)
            continue
        mid = (lo + hi) // 2
        for a, b in ((lo, mid), (mid, hi)):
            part = np.zeros_like(u)
            part[a:b] = u[a:b]
            r = scalar.run(part, localise=False)
            spent += r.evaluations
            if r.status == "failed":
                queue.append((a, b))
    return Bisection(found, spent, False, [])


def _bisect_note(forms: Forms, b: Bisection, budget: int) -> str:
    """What the search found, and where it stopped when the budget ran out."""
    named = ", ".join(out_label(forms, i) for i in b.found[:8])
    if not b.exhausted:
        return f"wrong outputs found alone: {named or 'none'}"
    # a range of one output that failed is an output found alone, its inputs not
    # localised (c38: "found alone: none yet; still among out[777777]")
    singles = [
        f"{out_label(forms, lo)} (inputs not localised)" for lo, hi in b.open if hi - lo == 1
    ]
    left = [(lo, hi) for lo, hi in b.open if hi - lo > 1]
    alone = ", ".join([named] * bool(named) + singles[:8]) + (", …" if len(singles) > 8 else "")
    text = (
        f"the search for wrong outputs ran out of its budget ({budget} evaluations) after "
        f"{b.spent}: found alone: {alone or 'none yet'}"
    )
    if left:
        ranges = ", ".join(
            f"{out_label(forms, lo)} … {out_label(forms, hi - 1)}" for lo, hi in left[:4]
        )
        text += f"; wrong outputs are still among {ranges}{', …' if len(left) > 4 else ''}"
    return text + "; raise budget= to narrow them down"


def out_label(forms: Forms, flat: int) -> str:
    lay = forms.layout
    for name, shape, s in zip(lay.out_names, lay.out_shapes, lay.out_slices()):
        if s.start <= flat < s.stop:
            idx = np.unravel_index(flat - s.start, shape) if shape else ()
            return name + (f"[{', '.join(map(str, idx))}]" if idx else "")
    return "?"


class Search(NamedTuple):
    """What the search found: its notes, the wrong entries it pinned (``out[i] / W[j]``)
    and ranges, the wrong entries per parameter, its evaluations, and whether the
    budget ran out."""

    notes: list[str]
    pinned: list[str]
    regions: list[dict[str, Any]]
    found: dict[str, list[Entry]]
    evaluations: int
    exhausted: bool


def search(
    fn: Callable[[Any], Any],
    params: Any,
    forms: Forms,
    opts: Any,
    form: str,
    u: Array,
    rng: GlobalRng,
    prefix: str,
    done: int,
) -> Search:
    """Bisect the outputs of the failed fold ``uᵀf`` of ``form``, then localise the
    inputs of the first outputs found alone (module doc); ``done`` evaluations came
    before (``progress`` counts on from there)."""
    scalar = _Scalar(fn, params, forms, opts, form, rng)
    scalar.done = done
    b = _bisect(scalar, u, opts.budget)
    pinned: list[str] = []
    regions: list[dict[str, Any]] = []
    found: dict[str, list[Entry]] = {}
    for i in b.found[:PINNED_OUTPUTS]:
        e = np.zeros_like(u)
        e[i] = 1.0
        alone = scalar.run(e, localise=True)
        row = f"{prefix}{out_label(forms, i)}"
        pinned += [f"{row} / {x}" for x in alone.localisation.get("pinned", []) or []]
        regions += alone.localisation.get("regions", []) or []
        for w in alone.worst:
            if w.status == "wrong":
                found.setdefault(w.parameter, []).append(
                    replace(w, parameter=f"{row} / {w.parameter}")
                )
    note = prefix + _bisect_note(forms, b, opts.budget)
    return Search([note], pinned, regions, found, scalar.done - done, b.exhausted)
