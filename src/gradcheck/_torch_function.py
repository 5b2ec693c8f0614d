"""``gradcheck.torch.check_function``'s machinery: the function at the user's inputs.

:class:`Function` runs ``fn`` once on private copies of the inputs (the user's pass),
draws each output's cotangent, and makes each mode's check of each output through the
adapters' shared precision routes (``gradcheck._frameworks``); :func:`rules_agree` is the
JVP–VJP consistency of its rules (``gradcheck._adapters``). Autograd itself, shared
with ``check_module``, is ``gradcheck._torch_autograd``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from functools import partial
from typing import Any

import numpy as np
import torch

from gradcheck._adapter_complex import RealViews, cotangent
from gradcheck._adapters import (
    Consistency,
    Mode,
    Options,
    Retried,
    Run,
    consistency,
    fair_share,
    magnitudes,
    retry_failed,
    run_name,
)
from gradcheck._consistency import Magnitudes
from gradcheck._errors import GradcheckError
from gradcheck._evaluate import GlobalRng
from gradcheck._frameworks import Analytic, Side, check_adapted
from gradcheck._jacdir import random_steps
from gradcheck._torch_autograd import autograd_grads, backward_grads, least_precise, no_backward
from gradcheck._torch_cast import as_float64, dense, dtype_name
from gradcheck._torch_jvp import fold, jvp
from gradcheck._torch_reference import aside, with_reference
from gradcheck._torch_replay import recorded
from gradcheck._torch_rng import RNG_SEED, SeededRng, forked
from gradcheck._torch_stage import Stages
from gradcheck._torch_state import Forward, Numeric
from gradcheck._torch_widen import Widen, backwards, mask_dtype

__all__ = [
    "Function",
    "real_views",
    "rules_agree",
    "tensors_like",
]


def rules_agree(
    f: Function, ts: dict[str, torch.Tensor], seeded: SeededRng, rng: GlobalRng
) -> Retried:
    """The JVP–VJP consistency of ``fn``'s rules, in the dtypes they compute in
    (complex inputs and outputs as their real views).

    Where the rules compute in float32 (or lower) and disagree there, the comparison is
    made again on fn's float64 copy (every floating argument cast, as the float64
    route does), and that one decides: the allowance counts round-off of the sums
    ``uᵀJv`` only, not the cancellation each low-precision rule carries inside
    (cross-entropy of a confident classifier, ``x − sin x`` at small ``x``: a float32
    jvp of 0 beside a vjp of 4e-10, attack21 B5). A wrong rule is wrong in float64 too;
    a rule wrong in float32 alone is the entry check's to see. Rules computing in a half
    dtype are compared on the float64 copy whatever they give: that round-off's allowance
    passes anything (attack35 H143: a bfloat16 jvp x1.5 "agreed" with its backward,
    tolerance 24 beside values of 0.13). A stage computed below the inputs' dtype
    (:attr:`Function.stage`) computes the rules in its dtype, and its copy runs with the
    stage's casts kept in float64 (``gradcheck._torch_widen``, attack34 H131). Where the
    float64 copy cannot run, the low-precision comparison stands, and the note says why.
    """
    outs = [f.outs[k] for k in f.diff]
    low_t = max((t for t in [*ts.values(), *outs]), key=lambda t: torch.finfo(t.dtype).eps)
    low_d = low_t.dtype if f.stage is None else getattr(torch, f.stage.dtype)
    roundoff = max(float(torch.finfo(low_t.dtype).eps), float(torch.finfo(low_d).eps))
    low = _agree(f, ts, outs, None, roundoff, seeded, rng)
    half = roundoff > float(torch.finfo(torch.float32).eps)
    if (not low.wrong and not half) or roundoff <= float(torch.finfo(torch.float64).eps):
        return Retried(low)
    fixed = as_float64([x.detach() if isinstance(x, torch.Tensor) else x for x in f.xs])
    wide = {n: fixed[i] for n, i in zip(f.names, f.pos)}
    stage = Widen(mask_dtype(ts.values())) if f.stage is not None else nullcontext()
    try:
        eps = float(torch.finfo(torch.float64).eps)
        with stage:
            return Retried(_agree(f, wide, outs, fixed, eps, seeded, rng))
    except Exception as exc:  # fn has no float64 copy (float32 weights inside)
        return Retried(low, retry_failed(exc, dtype_name(low_d)))


def _agree(
    f: Function,
    ts: dict[str, torch.Tensor],
    outs: list[torch.Tensor],
    fixed: list[Any] | None,
    roundoff: float,
    seeded: SeededRng,
    rng: GlobalRng,
) -> Consistency:
    """:func:`gradcheck._adapters.consistency` of ``fn``'s rules at ``ts`` (``outs``:
    fn's differentiable outputs, for their shapes), the other arguments ``fixed``
    (``None``: the user's)."""
    views = real_views(list(ts.values()), outs)
    return consistency(
        views.jvp(lambda v: f.jvp(v, ts, seeded, rng, fixed)),
        views.vjp(f.vjps(seeded, rng, fixed)),
        views.shapes([tuple(t.shape) for t in ts.values()], views.inputs),
        views.shapes([tuple(o.shape) for o in outs], views.outputs),
        roundoff,
        f.seed,
        _magnitudes(list(ts.values()), outs),
    )


def _magnitudes(inputs: list[torch.Tensor], outs: list[torch.Tensor]) -> Magnitudes | None:
    """The consistency floor's values and scales (``gradcheck._adapters.magnitudes``),
    widened exactly first: NumPy has no bfloat16 (attack35 H143: every bfloat16 check
    in both modes raised "Got unsupported ScalarType BFloat16")."""
    wide = [t.detach().cpu().resolve_conj() for t in (*inputs, *outs)]
    arrays = [t.to(torch.complex128 if t.is_complex() else torch.float64).numpy() for t in wide]
    return magnitudes(arrays[: len(inputs)], arrays[len(inputs) :])


def real_views(inputs: Sequence[torch.Tensor], outputs: Sequence[torch.Tensor]) -> RealViews:
    """Which inputs and outputs are complex, in torch's (conjugate) convention."""
    return RealViews(
        "conjugate",
        tuple(t.is_complex() for t in inputs),
        tuple(o.is_complex() for o in outputs),
    )


def tensors_like(
    like: dict[str, torch.Tensor], arrays: list[np.ndarray[Any, Any]]
) -> dict[str, Any]:
    """NumPy arrays as tensors of ``like``'s dtypes and devices, by name."""
    return {
        n: torch.from_numpy(a).to(t.dtype).to(t.device) for (n, t), a in zip(like.items(), arrays)
    }


def _flat(t: torch.Tensor) -> np.ndarray[Any, Any]:
    """A real tensor's values as a flat float64 array."""
    return np.asarray(t.detach().cpu().to(torch.float64).numpy().reshape(-1))


class Function:
    """``fn`` at the user's inputs: its outputs, cotangents, and one check per run."""

    def __init__(
        self, fn: Callable[..., Any], xs: list[Any], pos: list[int], names: list[str], seed: int
    ) -> None:
        self.fn, self.xs, self.pos, self.names, self.seed = fn, xs, pos, names, seed
        with forked(), Stages() as stages:  # a stage below the inputs' dtype (H131)
            try:
                out = fn(*xs)
            except Exception as exc:
                raise GradcheckError(f"fn raised {type(exc).__name__}: {exc}") from exc
        no_backward([xs[i] for i in pos], "fn")
        #: The least precise dtype fn computes a result in, where below its inputs'.
        self.stage = stages.below([xs[i] for i in pos])
        self.outs = list(out) if isinstance(out, (tuple, list)) else [out]
        self.diff = [
            k for k, o in enumerate(self.outs) if isinstance(o, torch.Tensor) and o.requires_grad
        ]
        if not self.diff:
            raise GradcheckError("no output of fn requires grad: is it differentiable?")
        draw = np.random.default_rng([seed, 5])
        zs = {
            k: cotangent(draw, tuple(self.outs[k].shape), self.outs[k].is_complex())
            for k in self.diff
        }
        shares = self._shares(zs)
        self.ws = {
            k: torch.from_numpy(shares.get(k, z)).to(self.outs[k].dtype).to(self.outs[k].device)
            for k, z in zs.items()
        }

    def _shares(self, zs: dict[int, np.ndarray[Any, Any]]) -> dict[int, np.ndarray[Any, Any]]:
        """Each real output's cotangent with every entry's fair share
        (:func:`gradcheck._adapters.fair_share`: one more call of ``fn``, along a random
        step). Complex or sparse inputs and outputs, or a ``fn`` that raises at the
        step, keep the plain draws."""
        checked = [self.xs[i] for i in self.pos]
        tensors = [*checked, *(self.outs[k] for k in zs)]
        if any(t.is_complex() or t.layout != torch.strided for t in tensors):
            return {}
        leaves = [x.detach().cpu().to(torch.float64).numpy() for x in checked]
        rel = max(float(torch.finfo(x.dtype).eps) for x in checked) ** (1 / 3)
        steps = random_steps(leaves, np.random.default_rng([self.seed, 6]), rel)
        moved = {
            n: x.detach() + torch.from_numpy(w.reshape(x.shape)).to(x.dtype).to(x.device)
            for n, x, w in zip(self.names, checked, steps)
        }
        try:
            with forked(), torch.no_grad():
                at = self.outputs(moved)
        except Exception:  # the plain draws: the checks will name what fails
            return {}
        shares = {}
        for k, z in zs.items():
            if isinstance(at[k], torch.Tensor):
                eps = float(torch.finfo(self.outs[k].dtype).eps)
                u = fair_share(z, _flat(self.outs[k]), _flat(at[k]), eps)
                shares.update({} if u is None else {k: u})
        return shares

    def outputs(self, ts: dict[str, torch.Tensor], fixed: list[Any] | None = None) -> list[Any]:
        """``fn``'s outputs as a list, with the checked inputs ``ts`` by name."""
        args = list(self.xs if fixed is None else fixed)
        for n, i in zip(self.names, self.pos):
            args[i] = ts[n]
        res = backwards(self.fn(*args))  # a custom Function's backward widened too
        return list(res) if isinstance(res, (tuple, list)) else [res]

    def jvp(
        self,
        v: list[np.ndarray[Any, Any]],
        ts: dict[str, torch.Tensor],
        seeded: SeededRng,
        rng: GlobalRng,
        fixed: list[Any] | None = None,
    ) -> list[Any]:
        """``J v`` by forward AD, one array per output that requires grad (the other
        arguments ``fixed``; ``None``: the user's)."""
        rng.reset()
        return jvp(partial(self.outputs, fixed=fixed), ts, tensors_like(ts, v), self.diff, seeded)

    def vjp(
        self,
        u: list[np.ndarray[Any, Any]],
        seeded: SeededRng,
        rng: GlobalRng,
        fixed: list[Any] | None = None,
    ) -> list[Any]:
        """``uᵀJ`` by autograd on a fresh pass, one array per checked input (at the
        arguments ``fixed``; ``None``: the user's)."""
        return self.vjps(seeded, rng, fixed)(u)

    def vjps(
        self, seeded: SeededRng, rng: GlobalRng, fixed: list[Any] | None = None
    ) -> Callable[[list[np.ndarray[Any, Any]]], list[Any]]:
        """:meth:`vjp` for several cotangents on one pass of ``fn``, made at the first
        call and kept (``retain_graph``) for the next ones, as torch's own gradcheck
        takes each row's VJP: the consistency check's 3 VJPs cost 1 forward, not 3.
        A backward that raised may have freed the graph: the next call then makes a
        fresh pass. The pass is freed with the function returned."""
        kept: list[Any] = []

        def apply(u: list[np.ndarray[Any, Any]]) -> list[Any]:
            if not kept:
                kept.append(self._pass(seeded, rng, fixed))
            ts, outs = kept[0]
            cots = [
                torch.from_numpy(a).to(outs[k].dtype).to(outs[k].device)
                for k, a in zip(self.diff, u)
            ]
            try:
                gs = backward_grads(
                    "fn", [outs[k] for k in self.diff], list(ts.values()), cots, True
                )
            except BaseException:
                kept.clear()
                raise
            return [
                np.zeros(tuple(t.shape)) if g is None else dense(g) for t, g in zip(ts.values(), gs)
            ]

        return apply

    def _pass(
        self, seeded: SeededRng, rng: GlobalRng, fixed: list[Any] | None
    ) -> tuple[dict[str, torch.Tensor], list[Any]]:
        """A fresh pass of ``fn`` on copies of the checked inputs (at ``fixed``)."""
        xs = self.xs if fixed is None else fixed
        ts = {n: xs[i].detach().clone().requires_grad_() for n, i in zip(self.names, self.pos)}
        rng.reset()
        with torch.enable_grad(), seeded():
            outs = self.outputs(ts, fixed)
        return ts, outs

    def run(
        self,
        mode: Mode,
        k: int,
        fwd: dict[int, dict[str, Any]],
        precision: str,
        options: Options,
        rng: GlobalRng,
    ) -> Run:
        """The check of output ``k`` in ``mode`` through the shared precision routes."""
        start = time.perf_counter()
        several = len(self.diff) > 1
        label = {n: run_name(mode, k, several, n) for n in self.names}
        out, w = self.outs[k], self.ws[k]
        w64 = w.to(torch.complex128 if w.is_complex() else torch.float64)
        notes: tuple[str, ...] = ()
        checked = [self.xs[i] for i in self.pos]
        if mode == "rev":
            # every other output gets a zero cotangent, not an undefined one: a backward
            # that fails on None is named by the undefined-cotangent check instead
            outs = [self.outs[j] for j in self.diff]
            cots = [w if j == k else torch.zeros_like(self.outs[j]) for j in self.diff]
            grads, notes = autograd_grads(outs, checked, list(label.values()), cots, True)
        else:
            grads = {label[n]: g for n, g in fwd[k].items()}
        tensors = {label[n]: x.detach() for n, x in zip(self.names, checked)}
        value = float(fold(out.detach(), w64))
        user = Analytic(value, grads, least_precise(list(tensors.values())))
        if self.stage is not None and precision == "float64":  # a stage below it (H131)
            user = user._replace(dtype=self.stage.dtype, given=user.dtype)
        back = {v: n for n, v in label.items()}

        def caller(float64: bool) -> tuple[Callable[..., list[Any]], Callable[..., Any]]:
            fixed = [x.detach().clone() if isinstance(x, torch.Tensor) else x for x in self.xs]
            fixed = as_float64(fixed) if float64 else fixed

            def outputs(ts: dict[str, torch.Tensor]) -> list[Any]:
                wide = Widen(mask_dtype(tensors.values())) if float64 else None
                with wide or nullcontext():  # attack25 G1; the user's dropout masks
                    return [self.outputs({back[n]: t for n, t in ts.items()}, fixed)[k]]

            def call(ts: dict[str, torch.Tensor]) -> Any:
                out = outputs(ts)[0]
                with aside():  # in float64, as the user's value is (a reference's too)
                    return fold(out, w64)

            return outputs, call

        def make(precision: str) -> Side:
            float64 = precision == "float64"
            outputs, call = caller(float64)
            numeric = Numeric(call, tensors, float64)
            forward = Forward(outputs, w64, rng.reset) if mode == "fwd" else None
            side = numeric.side("float64 inputs", forward)
            # fn's own dtypes, recorded when first needed (a half fn's stages, 3b); a
            # stage below the inputs' is the reference's dtype, the rest replayed (H131)
            own = partial(recorded, caller(False)[1], tensors, SeededRng(RNG_SEED))
            low = [getattr(torch, user.dtype)] if self.stage is not None else []
            dtypes = low or [t.dtype for t in tensors.values()]
            return with_reference(side, dtypes, own) if float64 else side

        report = check_adapted(
            make,
            user,
            precision=precision,
            rng=rng,
            notes=notes,
            options=dict(options),
            start=start,
            unused=None,
        )
        return Run(mode, k, tuple(label.values()), report)
