"""Large Jacobian checks by random projections ``uᵀ J v``, through ``check`` itself.

For a random ``u`` over the outputs (standard normal), ``c_u(θ) = uᵀ f(θ)`` is a scalar
whose gradient is ``uᵀ J``: the VJP ``vjp(θ, u)``, or ``uᵀ J`` of a given Jacobian. So
the check of a ``vjp`` or ``jacobian`` form *is* a scalar check, run by
:func:`gradcheck.check` in ``directional`` mode: the same directions, tolerance and
stated guarantee (``gradcheck._directional``: a relative error of ``uᵀJ`` of the stated
size is caught with probability ``1 − miss_probability``), and the same localisation
over inputs (``gradcheck._localise``).

A ``jvp`` form gives ``J v`` only, so it is checked along :data:`JVP_DIRECTIONS` random
directions ``v_k`` (Gaussian, scaled by the entry scales as ``check``'s): the scalar
``φ(t) = uᵀ f(θ + Σ_k t_k v_k)`` has ``∂φ/∂t_k = uᵀ jvp(θ, v_k)`` at ``t = 0``, and
:func:`gradcheck.check` compares those :data:`JVP_DIRECTIONS` entries entry by entry
(reported as ``random tangent[k]``; a jvp-only report states no guarantee, and says so).

After a failed verdict the wrong outputs are found by bisection over the flat outputs:
``u`` restricted to each half is checked again (``budget`` evaluations at most), and
for the first outputs found alone (``vjp``/``jacobian`` forms), ``check``'s own
localisation names the wrong inputs: an entry ``out[i] / W[j]``. A probe costs about 10
evaluations for a ``vjp``/``jacobian`` form and about 20 for a ``jvp`` form (an
entrywise check of the ``t_k``), so one wrong output among ``m`` needs about
``20 log₂ m`` or ``40 log₂ m`` evaluations: raise ``budget`` for a ``jvp``-only check
of more than about 1000 outputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any, NamedTuple

import numpy as np

from gradcheck._build import (
    Outcome,
    ParameterOutcome,
    build_report,
    outcome_of,
    overall_status,
)
from gradcheck._consistency import consistency
from gradcheck._engine import check
from gradcheck._jacreport import consistency_result
from gradcheck._linear import Forms, as_array
from gradcheck._numerics import entry_scale
from gradcheck._pytree import flatten, unflatten
from gradcheck._report import Entry, ParameterResult, Report, Status

__all__ = ["JVP_DIRECTIONS", "projected"]

Array = np.ndarray[Any, Any]
#: Random directions of a ``jvp`` form's check (2 evaluations each, central).
JVP_DIRECTIONS = 4
#: The name of the jvp check's entries: ``random tangent[k]`` is ``uᵀ J v_k``.
TANGENTS = "random tangent"
#: What a jvp-only report says in place of a guarantee.
NO_JVP_GUARANTEE = (
    "jvp: no detection guarantee is stated: the jvp is checked entry by entry along "
    f"{JVP_DIRECTIONS} random tangents v_k (entries 'random tangent[k]' = uᵀ J v_k), not by "
    "the directional check whose bound a vjp or jacobian form gets"
)
#: Outputs found alone whose inputs are then localised.
PINNED_OUTPUTS = 3


def _flat(value: Any) -> Array:
    """An output pytree as one float64 vector."""
    _, leaves, _ = flatten(value)
    parts = [np.asarray(as_array(x), dtype=np.float64).reshape(-1) for x in leaves]
    return np.concatenate(parts) if parts else np.zeros(0)


class _Scalar:
    """One projection's scalar check, for one form and one cotangent ``u``."""

    def __init__(
        self, fn: Callable[[Any], Any], params: Any, forms: Forms, opts: Any, form: str
    ) -> None:
        self.fn, self.params, self.forms, self.opts, self.form = fn, params, forms, opts, form
        self.done = 1  # evaluations before this scalar's checks (fn at the parameters)
        lay = forms.layout
        if form == "jvp":
            rng = np.random.default_rng([opts.seed, 19])
            scales = np.concatenate([entry_scale(x.reshape(-1)) for x in forms.leaves])
            self.vs = [scales * rng.standard_normal(lay.n) for _ in range(JVP_DIRECTIONS)]
            self.ws = [forms.jv("jvp", v) for v in self.vs]

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
        """``check`` of ``uᵀ f`` (module doc)."""
        r = self._run(u, localise)
        self.done += r.evaluations
        return r

    def _run(self, u: Array, localise: bool) -> Report:
        o = self.opts
        fn = self.fn
        if self.form == "jvp":
            lay, leaves, vs = self.forms.layout, self.forms.leaves, self.vs
            cols = lay.in_slices()

            def along(p: dict[str, Array]) -> float:
                move = sum(t * v for t, v in zip(p[TANGENTS], vs))
                moved = [
                    (x.reshape(-1) + move[c]).astype(x.dtype).reshape(x.shape)
                    for x, c in zip(leaves, cols)
                ]
                return float(u @ _flat(fn(unflatten(lay.in_treedef, moved))))

            claimed = {TANGENTS: np.array([u @ w for w in self.ws])}
            return check(
                along,
                {TANGENTS: np.zeros(JVP_DIRECTIONS, dtype=_coarsest(leaves))},
                claimed,
                method=o.method,
                rtol=o.rtol,
                atol=o.atol,
                seed=o.seed,
                mode="full",
                progress=self._progress(),
            )

        def cost(p: Any) -> float:
            return float(u @ _flat(fn(p)))

        g = self.forms.uj(self.form, u)
        lay = self.forms.layout
        grad = unflatten(
            lay.in_treedef, [g[c].reshape(s) for c, s in zip(lay.in_slices(), lay.in_shapes)]
        )
        return check(
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


def _coarsest(leaves: list[Array]) -> np.dtype[Any]:
    """The parameters' floating dtype of largest round-off (float64 if none): the
    ``t_k`` of a ``jvp`` check take its steps and tolerances, since the moved point is
    cast to each parameter's dtype (a float64-sized step in ``t`` vanishes in float16)."""
    floats = [x.dtype for x in leaves if x.dtype.kind == "f"]
    return max(floats, key=lambda d: float(np.finfo(d).eps), default=np.dtype(np.float64))


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
    named = ", ".join(_out_label(forms, i) for i in b.found[:8])
    if not b.exhausted:
        return f"wrong outputs found alone: {named or 'none'}"
    ranges = ", ".join(
        _out_label(forms, lo) + (f" … {_out_label(forms, hi - 1)}" if hi - lo > 1 else "")
        for lo, hi in b.open[:4]
    )
    return (
        f"the search for wrong outputs ran out of its budget ({budget} evaluations) after "
        f"{b.spent}: found alone: {named or 'none yet'}; wrong outputs are still among "
        f"{ranges}{', …' if len(b.open) > 4 else ''}; raise budget= to narrow them down"
    )


def _relevant(message: str, localise: bool) -> bool:
    """Whether a message of the first projection's ``check`` describes the user's call."""
    if "could not be seen" in message:
        return False
    return not (localise and "(localise=False)" in message)


def _out_label(forms: Forms, flat: int) -> str:
    lay = forms.layout
    for name, shape, s in zip(lay.out_names, lay.out_shapes, lay.out_slices()):
        if s.start <= flat < s.stop:
            idx = np.unravel_index(flat - s.start, shape) if shape else ()
            return name + (f"[{', '.join(map(str, idx))}]" if idx else "")
    return "?"


def _renamed(p: ParameterResult, name: str, extra: tuple[Entry, ...] = ()) -> ParameterOutcome:
    """A sub-check's parameter result as an outcome of this check, named ``name``."""
    return outcome_of(p)._replace(name=name, worst=(*extra, *p.worst))


def projected(
    fn: Callable[[Any], Any],
    params: Any,
    forms: Forms,
    opts: Any,
    options: dict[str, Any],
    start: float,
    outputs: Array,
) -> Report:
    """The projections check of every given form, and the consistency of the forms;
    ``outputs`` is ``fn``'s flat value at the parameters."""
    lay = forms.layout
    u = np.random.default_rng([opts.seed, 17]).standard_normal(lay.m)
    outs = "out" if len(lay.out_names) == 1 else "outputs"
    several = len(forms.given) > 1
    results: list[ParameterOutcome] = []
    statuses: list[Status] = []
    messages: list[str] = []
    guarantee: dict[str, Any] = {}
    evaluations, exhausted, searched = 1, False, False  # 1: fn at the parameters
    pinned: list[str] = []
    regions: list[dict[str, Any]] = []
    for form in forms.given:
        prefix = f"{form}: " if several else ""
        scalar = _Scalar(fn, params, forms, opts, form)
        scalar.done = evaluations
        r = scalar.run(u, localise=False)
        evaluations += r.evaluations
        statuses.append(r.status)
        guarantee = guarantee or dict(r.guarantee)
        # the t-check's advice on how to see smaller errors is about a gradient function
        # of t, which the user does not have: its detection bound is in its result
        # ... and its "localisation is off" is the first projection's, not the user's call
        messages += [f"{prefix}{m}" for m in r.messages if _relevant(m, opts.localise)]
        found: dict[str, list[Entry]] = {}
        if r.status == "failed" and opts.localise:
            search = _bisect(scalar, u, opts.budget)
            searched = True
            evaluations += search.spent
            exhausted = exhausted or search.exhausted
            messages.append(prefix + _bisect_note(forms, search, opts.budget))
            for i in search.found[:PINNED_OUTPUTS]:
                if form == "jvp":
                    pinned.append(f"{prefix}{_out_label(forms, i)}")
                    continue
                e = np.zeros_like(u)
                e[i] = 1.0
                alone = scalar.run(e, localise=True)
                evaluations += alone.evaluations
                row = f"{prefix}{_out_label(forms, i)}"
                pinned += [f"{row} / {x}" for x in alone.localisation.get("pinned", []) or []]
                regions += alone.localisation.get("regions", []) or []
                for w in alone.worst:
                    if w.status == "wrong":
                        named_w = replace(w, parameter=f"{row} / {w.parameter}")
                        found.setdefault(w.parameter, []).append(named_w)
            if form == "jvp":
                messages.append(
                    "jvp: the wrong inputs are not localised (give vjp= or jacobian= for that)"
                )
        for name, p in r.parameters.items():
            label = f"{prefix}uᵀ{outs} / {name}" if form != "jvp" else f"{prefix}uᵀ{outs} along v"
            results.append(_renamed(p, label, tuple(found.get(name, ()))))
    for c in consistency(forms, opts.seed, outputs=outputs):
        results.append(consistency_result(c))
        statuses.append("failed" if c.wrong else "passed")
        messages.append(c.text())
    loc = (
        {"evaluations": evaluations, "exhausted": exhausted, "pinned": pinned, "regions": regions}
        if pinned or exhausted or searched
        else {}
    )
    if "jvp" in forms.given and not guarantee:
        messages.append(NO_JVP_GUARANTEE)
    if guarantee:
        guarantee["text"] = "uᵀJ with random u, " + str(guarantee.get("text", ""))
    diff = max((p.difference for p in results if not math.isnan(p.difference)), default=0.0)
    outcome = Outcome(
        tuple(results), diff, 0.0, tuple(messages), overall_status(statuses), guarantee, loc
    )
    return build_report(outcome, evaluations=evaluations, start=start, options=options)
