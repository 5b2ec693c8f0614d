"""Forward-mode AD in torch through dual tensors (``torch.autograd.forward_ad``).

* :func:`forward_grads`: per output ``k``, the gradient of ``<out_k, w_k>`` in forward
  mode, one JVP per input entry (vectorised by
  :func:`gradcheck._torch_forward.batched_forward_grads` where functorch can);
* :func:`jvp`: ``J v`` for given tangents;
* :func:`forward_error`: why forward mode does not run on a function, from one cheap JVP.

Dual tensors run a custom ``Function``'s ``jvp`` staticmethod as
``torch.autograd.gradcheck(check_forward_ad=True)`` does. :func:`fold` is the real
scalar ``<out, w>`` in float64 that both modes fold an output with.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import numpy as np
import torch
import torch.autograd.forward_ad as fwad

from gradcheck._adapters import NoForward
from gradcheck._torch_cast import dense
from gradcheck._torch_forward import ForwardFold, Outputs, batched_forward_grads, dual
from gradcheck._torch_rng import SeededRng

__all__ = [
    "GRAD_REFUSED",
    "HOOK_REFUSED",
    "UNABLE",
    "fold",
    "forward_error",
    "forward_grads",
    "jvp",
]

Array = np.ndarray[Any, Any]
#: What torch says when a hook is registered on a tensor without grad (torch 2.x).
HOOK_REFUSED = "cannot register a hook on a tensor that doesn't require gradient"
#: What ``torch.autograd.grad`` says when the loss differentiates (a gradient penalty,
#: a physics-informed residual) and autograd records nothing (torch 2.x; attack24 F6).
GRAD_REFUSED = "does not require grad and does not have a grad_fn"


def forward_grads(fold: ForwardFold) -> dict[int, dict[str, Array]]:
    """Per output ``k`` of ``fold.call``, the gradient of ``<out_k, w_k>`` in forward mode.

    Entry ``j`` of input ``n`` is ``<J_k e_j, w_k>``: one JVP per input entry (dual
    tensors; vectorised by :func:`~gradcheck._torch_forward.batched_forward_grads` where
    functorch can), the columns of the Jacobian that ``check_forward_ad`` builds; a complex
    entry takes two, along ``1`` and ``i``, and gets torch's conjugate gradient
    ``∂/∂x + i ∂/∂y`` (``gradcheck._adapter_complex``). Every call
    starts from the seeded torch RNG state and, after ``reset()`` (which puts back the
    user's NumPy and ``random`` states), from the user's, as the evaluations do.
    """
    _forward_ad_loaded()
    batched = batched_forward_grads(fold)  # B6: vectorised JVPs
    if batched is not None:
        return batched
    call, ts, ws, seeded, reset = fold
    flat = {k: {n: np.zeros(t.numel(), _kind(t)) for n, t in ts.items()} for k in ws}
    with fwad.dual_level():
        for n, t in ts.items():
            for j in range(t.numel()):
                units: tuple[complex, ...] = (1, 1j) if t.is_complex() else (1,)
                for unit in units:
                    basis = torch.zeros(t.numel(), dtype=t.dtype, device=t.device)
                    basis[j] = torch.as_tensor(unit, dtype=t.dtype)
                    reset()
                    with seeded():
                        outs = call({**ts, n: dual(t, basis)})
                    for k, w in ws.items():
                        flat[k][n][j] += unit * _fold(_tangent(outs[k]), w)
    return {k: {n: g.reshape(tuple(ts[n].shape)) for n, g in d.items()} for k, d in flat.items()}


def _kind(t: torch.Tensor) -> type[np.generic]:
    """The NumPy type of ``t``'s gradient: complex128 for a complex tensor."""
    return np.complex128 if t.is_complex() else np.float64


@functools.cache
def _forward_ad_loaded() -> bool:
    """Load forward AD's decompositions once, quietly: the first ``make_dual`` of a
    process scripts them with ``torch.jit.script``, which warns that it is deprecated
    (torch's own warning, not the user's code; under ``-W error`` it would raise)."""
    with warnings.catch_warnings(), fwad.dual_level():
        warnings.simplefilter("ignore", DeprecationWarning)
        fwad.make_dual(torch.zeros(1), torch.zeros(1))  # type: ignore[no-untyped-call]
    return True


def _tangent(x: Any) -> torch.Tensor | None:
    """The tangent of a dual tensor (``None``: it does not depend on any dual input)."""
    if not isinstance(x, torch.Tensor):
        return None
    tangent: torch.Tensor | None = fwad.unpack_dual(x).tangent  # type: ignore[no-untyped-call]
    return tangent


def _fold(tangent: torch.Tensor | None, w: torch.Tensor) -> float:
    """``<tangent, w>`` in float64 (``Re Σ conj(w)·tangent`` for a complex output); no
    tangent (the output ignores the input): 0."""
    if tangent is None:
        return 0.0
    return float(fold(tangent.detach(), w))


def fold(out: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """The real scalar ``<out, w>`` in float64 whose gradient autograd computes with the
    cotangent ``w``: ``Σ out·w``, or ``Re Σ conj(w)·out`` for a complex output (F28)."""
    if out.is_complex() or w.is_complex():
        return (out.to(torch.complex128) * w.to(torch.complex128).conj()).real.sum()
    a, b = out.to(torch.float64), w.to(torch.float64)
    if a.layout == b.layout == torch.strided and a.shape == b.shape:
        # one pass, no product array: 1.0 ms per 10⁶ entries instead of 2.4 (a check
        # folds its outputs at every evaluation, 20-30 times)
        return torch.dot(a.reshape(-1), b.reshape(-1))
    return (a * b).sum()


def jvp(
    call: Outputs,
    ts: dict[str, torch.Tensor],
    tangents: dict[str, torch.Tensor],
    outputs: list[int],
    seeded: SeededRng,
) -> list[Array]:
    """``J v`` of ``call``'s ``outputs`` for the tangents ``v`` (zero where none)."""
    _forward_ad_loaded()
    with fwad.dual_level(), seeded():
        duals = {n: dual(t, tangents[n].to(t.dtype).to(t.device)) for n, t in ts.items()}
        outs = call(duals)
        result = []
        for k in outputs:
            tangent = _tangent(outs[k])
            result.append(np.zeros(tuple(outs[k].shape)) if tangent is None else dense(tangent))
    return result


#: What torch raises where fn itself cannot run under the check's forward AD (a part
#: of a message → why, for the note): no forward rule of fn is at fault (attack23 D4).
UNABLE = {
    "Nested forward mode AD is not supported": (
        "fn runs forward AD itself (torch.func.jacfwd, hessian or jvp) and torch cannot "
        "nest it inside another"
    ),
    HOOK_REFUSED: (
        "fn registers a tensor hook, which needs autograd and forward AD runs without it "
        "(register it only where the tensor requires grad)"
    ),
    GRAD_REFUSED: (
        "fn differentiates with torch.autograd.grad, which needs autograd and forward AD "
        "runs without it"
    ),
}


def forward_error(
    call: Outputs, ts: dict[str, torch.Tensor], seeded: SeededRng
) -> NoForward | None:
    """Why forward mode does not run on ``call`` (it raised), or ``None``: one cheap JVP.

    A custom ``Function`` without a ``jvp`` staticmethod raises ``NotImplementedError``
    under dual tensors, and so does an operation without a forward-mode formula: no
    forward mode (``missing``). Any other exception is the forward rule's own bug (a
    ``jvp`` reading ``ctx.saved_tensors`` that only ``save_for_backward`` filled, a
    tangent of the wrong shape, ``None``, a NumPy array), except what :data:`UNABLE`
    names: fn that torch cannot run under forward AD at all (``unable``).
    """
    _forward_ad_loaded()
    try:
        with fwad.dual_level(), seeded():
            call({n: dual(t, torch.ones_like(t)) for n, t in ts.items()})
    except Exception as exc:
        text = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        unable = next((why for part, why in UNABLE.items() if part in str(exc)), "")
        return NoForward(text, isinstance(exc, NotImplementedError), unable)
    return None
