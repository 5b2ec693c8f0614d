"""Public NumPy cases: CS231n layers (see public_cases), and the NumPy runner.

A CS231n layer ``forward(*params) -> (out, cache)`` with ``backward(dout, cache)`` is
checked, as the assignments' own ``eval_numerical_gradient_array`` does, through the
scalar ``sum(forward(params) * dout)`` for a fixed random ``dout``; its gradient is
``backward(dout, cache)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

import _public_cs231n as cs
import gradcheck
from _public_base import Case, Run, Source, Variant, guarded

__all__ = ["CASES", "Array", "numpy_run"]

Array = np.ndarray[Any, Any]
Params = dict[str, Array]
Cost = Callable[[Params], float]
Grad = Callable[[Params], Params]


def _torch_peer(cost: Cost, params: Params, grad: Grad) -> bool:
    """``torch.autograd.gradcheck`` (defaults) on the cost with ``grad`` as backward."""
    names = list(params)

    class Fn(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, *ts: torch.Tensor) -> torch.Tensor:
            ctx.save_for_backward(*ts)
            p = {n: t.detach().numpy().copy() for n, t in zip(names, ts)}
            return torch.tensor(cost(p), dtype=torch.float64)

        @staticmethod
        def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor, ...]:
            p = {n: t.detach().numpy().copy() for n, t in zip(names, ctx.saved_tensors)}
            gs = grad(p)
            return tuple(g * torch.from_numpy(np.asarray(gs[n], np.float64)) for n in names)

    ts = tuple(torch.tensor(params[n], dtype=torch.float64, requires_grad=True) for n in names)
    return bool(torch.autograd.gradcheck(Fn.apply, ts, raise_exception=False))


def numpy_run(cost: Cost, params: Params, grad: Grad, *, peers: bool = True) -> Callable[[], Run]:
    """A runner: ``gradcheck.check`` at its defaults, then torch's gradcheck.

    Torch's gradcheck sees the same cost with ``grad`` as its backward. JAX's
    check_grads is left out here: compiling it for every shape doubled this file's time.
    """

    def run() -> Run:
        report, error = guarded(lambda: gradcheck.check(cost, params, grad))
        if not peers:
            return Run(report, None, None, error)
        return Run(report, _torch_peer(cost, params, grad), None, error)

    return run


def _layer(
    forward: Callable[..., Any],
    backward: Callable[..., Any],
    params: Params,
    seed: int,
    *,
    peers: bool = True,
    dout: Array | None = None,
) -> Callable[[], Run]:
    """The runner of a CS231n layer, through ``sum(forward(params) * dout)`` (``dout``
    drawn from ``default_rng(seed)`` unless given)."""
    names = list(params)
    if dout is None:
        dout = np.random.default_rng(seed).standard_normal(forward(*params.values())[0].shape)

    def cost(p: Params) -> float:
        return float(np.sum(forward(*(p[n] for n in names))[0] * dout))

    def grad(p: Params) -> Params:
        _, cache = forward(*(p[n] for n in names))
        gs = backward(dout, cache)
        return dict(zip(names, gs if isinstance(gs, tuple) else (gs,)))

    return numpy_run(cost, params, grad, peers=peers)


def _loss(
    loss: Callable[[Array, Array], tuple[float, Array]], x: Array, y: Array
) -> Callable[[], Run]:
    """The runner of a CS231n loss ``loss(x, y) -> (value, dx)``."""
    return numpy_run(
        lambda p: float(loss(p["x"], y)[0]), {"x": x}, lambda p: {"x": loss(p["x"], y)[1]}
    )


_CS231N = (
    "KamijouToumaKun/cs231n",
    "spring1718_assignment2_v2/cs231n/layers.py",
    "6a47549468abbac37a2b298a59fd34642e48326a",
    "no licence file in the repository (a student's solution to Stanford CS231n's "
    "assignment 2); only formula lines are transcribed, restyled, for testing",
)


def _cs(what: str) -> Source:
    return Source(*_CS231N, what)


_RNG = np.random.default_rng(11)


def _draw(*shape: int) -> Array:
    return _RNG.standard_normal(shape)


_X_AFFINE, _W_AFFINE, _B_AFFINE = _draw(3, 2, 3), _draw(6, 6), _draw(6)
_X_BN, _G_BN, _B_BN = _draw(4, 3), _draw(3), _draw(3)
_X_POOL = _draw(1, 2, 4, 4)
_X_TIED = np.round(_draw(1, 1, 4, 4), 0)  # integers: several windows with tied maxima
_X_CONV, _W_CONV, _B_CONV = _draw(1, 2, 4, 4), _draw(2, 2, 3, 3), _draw(2)
_SCORES, _LABELS = _draw(4, 5), np.array([0, 3, 1, 3])


def _dead_units() -> Params:
    """Units 0 and 2 dead: their weight columns and biases are exactly 0 (issue 11 §4)."""
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((4, 3)), rng.standard_normal((3, 4)), rng.standard_normal(4)
    w[:, [0, 2]], b[[0, 2]] = 0.0, 0.0
    return {"x": x, "w": w, "b": b}


def _dead_units_drawn(seed: int) -> tuple[Params, Array]:
    """The same construction with ``dout`` from the same generator, as the finding drew it:
    at ``default_rng(5)`` one move of the re-check left a dead unit's kink within a step."""
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal((4, 3)), rng.standard_normal((3, 4)), rng.standard_normal(4)
    w[:, [0, 2]], b[[0, 2]] = 0.0, 0.0
    return {"x": x, "w": w, "b": b}, rng.standard_normal((4, 4))


_DEAD_5, _DOUT_5 = _dead_units_drawn(5)

CASES: tuple[Case, ...] = (
    Case(
        "cs231n affine",
        "numpy",
        _cs("affine_forward/affine_backward"),
        (
            Variant(
                "published",
                "error",
                _layer(
                    cs.affine_forward,
                    cs.affine_backward_published,
                    {"x": _X_AFFINE, "w": _W_AFFINE, "b": _B_AFFINE},
                    1,
                    peers=False,
                ),
                note="db keeps a (1, M) axis; b has shape (M,): no checker can compare them",
            ),
            Variant(
                "published, db reshaped to b's shape",
                "passed",
                _layer(
                    cs.affine_forward,
                    cs.affine_backward,
                    {"x": _X_AFFINE, "w": _W_AFFINE, "b": _B_AFFINE},
                    1,
                ),
            ),
            Variant(
                "bug: missing transpose in dx",
                "failed",
                _layer(
                    cs.affine_forward,
                    cs.affine_backward_no_transpose,
                    {"x": _X_AFFINE, "w": _W_AFFINE, "b": _B_AFFINE},
                    1,
                ),
                ("x",),
            ),
        ),
    ),
    Case(
        "cs231n relu",
        "numpy",
        _cs("relu_forward/relu_backward"),
        (
            Variant(
                "published",
                "passed",
                _layer(cs.relu_forward, cs.relu_backward, {"x": _draw(3, 4)}, 2),
            ),
            Variant(
                "bug: upstream dout dropped",
                "failed",
                _layer(cs.relu_forward, cs.relu_backward_no_dout, {"x": _draw(3, 4)}, 2),
                ("x",),
            ),
        ),
    ),
    Case(
        "cs231n affine + relu, dead units",
        "numpy",
        _cs("affine and relu forward/backward composed as layer_utils.affine_relu_*"),
        (
            Variant(
                "published, pre-activations exactly 0 for every sample",
                "passed",
                _layer(cs.affine_relu_forward, cs.affine_relu_backward, _dead_units(), 6),
                note="relu'(0) = 0 (the frameworks' convention); samples switch on either side",
            ),
            Variant(
                "bug: db skips the ReLU's mask",
                "failed",
                _layer(
                    cs.affine_relu_forward, cs.affine_relu_backward_unmasked_db, _dead_units(), 6
                ),
                ("b",),
                (("b", (0,)),),
            ),
            Variant(
                "published, another draw (default_rng(5))",
                "passed",
                _layer(cs.affine_relu_forward, cs.affine_relu_backward, _DEAD_5, 0, dout=_DOUT_5),
                note="a nearby point can leave a kink within a step: fresh moves settle it",
            ),
            Variant(
                "bug: db skips the ReLU's mask, another draw (default_rng(5))",
                "failed",
                _layer(
                    cs.affine_relu_forward,
                    cs.affine_relu_backward_unmasked_db,
                    _DEAD_5,
                    0,
                    dout=_DOUT_5,
                ),
                ("b",),
            ),
        ),
    ),
    Case(
        "cs231n batchnorm",
        "numpy",
        _cs("batchnorm_forward (train)/batchnorm_backward"),
        (
            Variant(
                "published",
                "passed",
                _layer(
                    cs.batchnorm_forward,
                    cs.batchnorm_backward,
                    {"x": _X_BN, "gamma": _G_BN, "beta": _B_BN},
                    3,
                ),
            ),
            Variant(
                "bug: mean's 1/N forgotten",
                "failed",
                _layer(
                    cs.batchnorm_forward,
                    cs.batchnorm_backward_no_mean_n,
                    {"x": _X_BN, "gamma": _G_BN, "beta": _B_BN},
                    3,
                ),
                ("x",),
            ),
        ),
    ),
    Case(
        "cs231n max-pool",
        "numpy",
        _cs(
            "max_pool_forward_naive/max_pool_backward_naive; the "
            "forward's output shape is fixed to (H', W') (published: (pool_H, pool_W))"
        ),
        (
            Variant(
                "published (2x2, stride 2)",
                "passed",
                _layer(cs.pool_forward(2), cs.pool_backward(2), {"x": _X_POOL}, 4),
            ),
            Variant(
                "published at tied maxima",
                "passed",
                _layer(cs.pool_forward(2), cs.pool_backward(2), {"x": _X_TIED}, 4),
                note="dout goes to every tied maximum: inside the one-sided slopes, a kink",
            ),
            Variant(
                "published, overlapping windows (stride 1)",
                "failed",
                _layer(cs.pool_forward(1), cs.pool_backward(1), {"x": _X_POOL}, 4),
                ("x",),
                note="the backward assigns (=) where overlapping windows must add (+=)",
            ),
        ),
    ),
    Case(
        "cs231n conv",
        "numpy",
        _cs("conv_forward_naive/conv_backward_naive (pad 1, stride 1)"),
        (
            Variant(
                "published",
                "passed",
                _layer(
                    cs.conv_forward, cs.conv_backward, {"x": _X_CONV, "w": _W_CONV, "b": _B_CONV}, 5
                ),
            ),
            Variant(
                "bug: kernel flipped in dx",
                "failed",
                _layer(
                    cs.conv_forward,
                    cs.conv_backward_flipped,
                    {"x": _X_CONV, "w": _W_CONV, "b": _B_CONV},
                    5,
                ),
                ("x",),
            ),
        ),
    ),
    Case(
        "cs231n softmax loss",
        "numpy",
        _cs("softmax_loss"),
        (
            Variant("published", "passed", _loss(cs.softmax_loss, _SCORES, _LABELS)),
            Variant(
                "bug: 1/N forgotten",
                "failed",
                _loss(cs.softmax_loss_no_n, _SCORES, _LABELS),
                ("x",),
            ),
        ),
    ),
    Case(
        "cs231n svm loss",
        "numpy",
        _cs("svm_loss"),
        (
            Variant("published", "passed", _loss(cs.svm_loss, _SCORES, _LABELS)),
            Variant(
                "bug: correct class gets -1, not -(margins > 0)",
                "failed",
                _loss(cs.svm_loss_minus_one, _SCORES, _LABELS),
                ("x",),
            ),
        ),
    ),
)
