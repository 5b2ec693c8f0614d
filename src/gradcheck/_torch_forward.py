"""Forward-mode gradients in torch in a few passes, not one call per input entry.

The forward-mode gradient of ``<out_k, w_k>`` has one entry per input entry, each a
JVP along a basis tangent (``gradcheck._torch_jvp.forward_grads``, through dual
tensors, one call of the function per entry: at 5000 entries ``torch.sin`` took 220 s,
attack21 B6). :func:`batched_forward_grads` computes the same gradient in three ways,
the first that runs and agrees:

* **transposed** (:func:`_transposed`): ``v ↦ <J v, w_k>`` is linear in the tangent
  ``v``, so its gradient is the whole row ``Jᵀw_k``: one ``torch.func.jvp`` of the
  function at ``v = 0`` (the rule's own tangent computation, a custom ``Function``'s
  ``jvp`` included) that autograd records, and one reverse pass through it per
  output. O(n) work: a scalar function of 10⁴ entries took 8 s by the basis JVPs
  below (n of them, each O(n): attack23 D6), and about 0.06 s this way;
* **transposed through dual tensors** (:func:`_dual_transposed`): the same, with
  ``torch.autograd.forward_ad`` dual tensors whose tangents autograd records, where
  ``torch.func.jvp`` refuses the function (an old-style ``autograd.Function`` with a
  ``jvp`` staticmethod: ``check_function``'s forward mode on one at N = 10⁵ took
  minutes by the JVPs one by one, and hours at 10⁶);
* **by entries** (:func:`_entries`): ``torch.func.jvp`` under ``torch.func.vmap``,
  :data:`BATCH_ENTRIES` basis tangent entries per call (O(n²) work), where the
  transpositions cannot run or disagree.

Each result is checked against one dual-tensor JVP along a random tangent ``r``
(``torch.autograd.forward_ad``, the path ``check_forward_ad`` takes): ``gᵀr = <J r,
w>`` (:data:`AGREE_ROUNDOFFS`). A rule that is not linear in its tangent (a constant
added) fails this every way (the transpositions linearise at ``v = 0``, the basis
JVPs count the constant once per entry). Then, and where none can run (complex or
sparse tensors; a rule whose tangent autograd cannot record, and that functorch does
not transform), it returns ``None`` and the caller computes the JVPs one by one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.autograd.forward_ad as fwad

__all__ = [
    "AGREE_ROUNDOFFS",
    "BATCH_ENTRIES",
    "ForwardFold",
    "batched_forward_grads",
    "dual",
]

Array = np.ndarray[Any, Any]
Outputs = Callable[[dict[str, torch.Tensor]], list[Any]]
#: The tangent entries one vectorised call holds (a batch of ``c`` tangents of ``n``
#: entries is ``c·n`` entries): 2²² float64 values, 32 MiB, times what the function
#: keeps per entry, so a batch stays in the tens of MiB whatever ``n``.
BATCH_ENTRIES = 2**22
#: The batched gradient must give ``gᵀr`` within this many unit round-offs (of the
#: inputs' dtype) of ``Σ_j |r_j g_j|`` of one dual-tensor JVP along ``r``: the same
#: products summed in another order differ by about ``√n`` round-offs of that sum
#: (Higham, *Accuracy and Stability of Numerical Algorithms*, §4.2); a wrong batching
#: rule is wrong by far more, and a disagreement only costs the JVPs one by one.
AGREE_ROUNDOFFS = 1000.0


class ForwardFold(NamedTuple):
    """The outputs ``<out_k, w_k>`` whose gradients forward mode computes, and how every
    call of the function starts.

    Attributes:
        call: the function's outputs from its checked inputs, by name.
        ts: the checked inputs (plain tensors).
        ws: the cotangent of each output folded, by output index.
        seeded: the context every call starts in (the seeded torch RNG state).
        reset: puts back the user's NumPy and ``random`` states (before every call).
    """

    call: Outputs
    ts: dict[str, torch.Tensor]
    ws: dict[int, torch.Tensor]
    seeded: Callable[[], AbstractContextManager[Any]]
    reset: Callable[[], None]


def batched_forward_grads(fold: ForwardFold) -> dict[int, dict[str, Array]] | None:
    """Per output ``k`` of ``fold.call``, the gradient of ``<out_k, w_k>`` by batched JVPs.

    Args:
        fold: the function, its inputs, the cotangents and how every call starts.

    Returns:
        What ``gradcheck._torch_jvp.forward_grads`` returns (float64 arrays shaped
        like the inputs), or ``None`` where the batched JVPs cannot run or do not
        agree with a dual-tensor JVP.
    """
    tensors = [*fold.ts.values(), *fold.ws.values()]
    if any(t.is_complex() or t.layout != torch.strided for t in tensors):
        return None
    grads = _transposed_or_entries(fold)
    if grads is None:
        return None
    return {
        i: {n: g[:, k].reshape(tuple(fold.ts[n].shape)) for n, g in grads.items()}
        for k, i in enumerate(fold.ws)
    }


def _transposed_or_entries(fold: ForwardFold) -> dict[str, Array] | None:
    """The first of :func:`_transposed` and the basis JVPs (:func:`_entries`) that runs
    and agrees with a dual-tensor JVP (:func:`_agrees`); ``None`` where neither does."""
    ways: list[Callable[[], dict[str, Array]]] = [
        lambda: _transposed(fold),
        lambda: _dual_transposed(fold),
        lambda: {n: _entries(fold, n) for n in fold.ts},
    ]
    for way in ways:
        try:
            grads = way()
            if _agrees(fold, grads):
                return grads
        except Exception:  # functorch cannot transform it: the next way
            continue
    return None


def _transposed(fold: ForwardFold) -> dict[str, Array]:
    """Per input, ``(numel, outputs)``: ``Jᵀw_k``, the gradient of the linear map
    ``v ↦ <J_k v, w_k>`` for each output ``k``: one ``torch.func.jvp`` at tangents
    ``v = 0`` that autograd records, and ``torch.autograd.grad`` through it (not
    ``torch.func.vjp``, whose first call in a process imports ``torch._dynamo``: 5 to
    9 s here). A fold that does not depend on ``v`` has the gradient 0."""
    names, xs = list(fold.ts), tuple(fold.ts.values())

    def outputs(*values: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outs = fold.call(dict(zip(names, values)))
        return tuple(outs[k] for k in fold.ws)

    vs = tuple(torch.zeros_like(x).requires_grad_() for x in xs)
    fold.reset()
    with torch.enable_grad(), fold.seeded():
        tangents = torch.func.jvp(outputs, xs, vs)[1]
        return _through(fold, vs, list(tangents))


def _dual_transposed(fold: ForwardFold) -> dict[str, Array]:
    """:func:`_transposed` through dual tensors (``torch.autograd.forward_ad``, the path
    ``check_forward_ad`` takes) whose tangents ``v = 0`` autograd records: it runs where
    functorch cannot (an old-style ``autograd.Function`` with a ``jvp`` staticmethod,
    which ``torch.func.jvp`` refuses), in one call and one reverse pass per output,
    where the JVPs one by one took N calls (hours at N = 10⁶: speed27). An output
    without a tangent (it ignores the inputs) has the gradient 0."""
    vs = tuple(torch.zeros_like(x).requires_grad_() for x in fold.ts.values())
    fold.reset()
    with torch.enable_grad(), fwad.dual_level(), fold.seeded():
        duals = {n: dual(x, v) for (n, x), v in zip(fold.ts.items(), vs)}
        outs = fold.call(duals)
        tangents = [
            fwad.unpack_dual(outs[k]).tangent  # type: ignore[no-untyped-call]
            if isinstance(outs[k], torch.Tensor)
            else None
            for k in fold.ws
        ]
        return _through(fold, vs, tangents)


def _through(
    fold: ForwardFold, vs: tuple[torch.Tensor, ...], tangents: list[torch.Tensor | None]
) -> dict[str, Array]:
    """Per input, ``(numel, outputs)``: the gradient of ``<tangent_k, w_k>`` with respect
    to the tangents ``vs`` it was computed from (0 where it does not depend on them)."""
    out = {n: np.zeros((x.numel(), len(fold.ws))) for n, x in fold.ts.items()}
    for k, (tangent, w) in enumerate(zip(tangents, fold.ws.values())):
        if tangent is None:
            continue
        total = _fold64(tangent, w)
        if not total.requires_grad:
            continue
        grads = torch.autograd.grad(total, vs, retain_graph=True, allow_unused=True)
        for n, g in zip(fold.ts, grads):
            if g is not None:
                out[n][:, k] = g.detach().reshape(-1).cpu().to(torch.float64).numpy()
    return out


def _fold64(t: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``<t, w>`` summed in float64."""
    return (t.to(torch.float64) * w.to(torch.float64)).sum()


def _folded(fold: ForwardFold, name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """``v -> [<J_k v, w_k> for k]`` for a tangent ``v`` of input ``name``."""
    x = fold.ts[name]

    def outputs(value: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outs = fold.call({**fold.ts, name: value})
        return tuple(outs[k] for k in fold.ws)

    def folded(v: torch.Tensor) -> torch.Tensor:
        tangents = torch.func.jvp(outputs, (x,), (v.view_as(x),))[1]
        return torch.stack([_fold64(t, w) for t, w in zip(tangents, fold.ws.values())])

    return folded


def dual(t: torch.Tensor, tangent: torch.Tensor) -> torch.Tensor:
    """``t`` as a dual tensor with ``tangent`` (its entries in ``t``'s shape), inside
    ``fwad.dual_level()``: the one place both forward-mode paths make dual tensors
    (here and ``gradcheck._torch_jvp``)."""
    dual: torch.Tensor = fwad.make_dual(t, tangent.view_as(t))  # type: ignore[no-untyped-call]
    return dual


def _chunks(size: int, per: int) -> Iterator[tuple[int, int]]:
    for start in range(0, size, per):
        yield start, min(size, start + per)


def _entries(fold: ForwardFold, name: str) -> Array:
    """``(numel, outputs)``: entry ``j`` of input ``name``'s gradient for each output."""
    x = fold.ts[name]
    n = x.numel()
    width = n + sum(w.numel() for w in fold.ws.values())
    per = max(1, min(n, BATCH_ENTRIES // max(width, 1)))
    batched = torch.func.vmap(_folded(fold, name), randomness="error")
    out = np.zeros((n, len(fold.ws)))
    for lo, hi in _chunks(n, per):
        basis = torch.zeros(hi - lo, n, dtype=x.dtype, device=x.device)
        basis[torch.arange(hi - lo), torch.arange(lo, hi)] = 1
        fold.reset()
        with fold.seeded():
            out[lo:hi] = batched(basis).detach().cpu().numpy()
    return out


def _agrees(fold: ForwardFold, grads: dict[str, Array]) -> bool:
    """Whether ``gᵀr`` of the batched gradients is ``<J r, w>`` of one dual-tensor JVP
    along a random tangent ``r`` (every input at once), up to round-off."""
    call, ts, ws, seeded, reset = fold
    draw = np.random.default_rng(len(ts))
    rs = {n: draw.standard_normal(t.numel()) for n, t in ts.items()}
    with fwad.dual_level():
        duals = {
            n: dual(t, torch.from_numpy(rs[n]).to(t.dtype).to(t.device)) for n, t in ts.items()
        }
        reset()
        with seeded():
            outs = call(duals)
        tangents = [fwad.unpack_dual(outs[k]).tangent for k in ws]  # type: ignore[no-untyped-call]
    eps = max(float(torch.finfo(x.dtype).eps) for x in ts.values())
    for k, (tangent, w) in enumerate(zip(tangents, ws.values())):
        direct = 0.0
        if tangent is not None:
            direct = float((tangent.to(torch.float64) * w.to(torch.float64)).sum())
        terms = [rs[n] * grads[n][:, k] for n in ts]
        batched = float(sum(np.sum(a) for a in terms))
        size = float(sum(np.sum(np.abs(a)) for a in terms)) + abs(direct)
        if not math.isfinite(batched) or abs(batched - direct) > AGREE_ROUNDOFFS * eps * size:
            return False
    return True
