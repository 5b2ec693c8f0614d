"""``order=2`` in ``gradcheck.torch``: the backward of a function or model, double-backward.

:class:`TorchBackward` is the backward ``G(x, w) = autograd.grad(outputs, x, w)`` as a
function of NumPy arrays, with its VJP by autograd through ``create_graph=True`` (the
double backward), for :func:`gradcheck._order2.second_order` to check against finite
differences of ``G``, as ``torch.autograd.gradgradcheck`` checks a custom ``Function``'s
double backward, and through the cotangent ``w`` too. A gradient that autograd cannot
differentiate at the point (it does not require grad with ``create_graph=True``, or
differentiating it raises, as ``@once_differentiable`` does) is *detached*: named, and
taken as constant by the double backward, so the blocks it spoils fail.

Every evaluation runs on private tensors, from the seeded torch RNG state
(``gradcheck._torch_rng.SeededRng``) and the user's NumPy and ``random`` states, as
the first-order check's evaluations do; with ``precision="float64"`` on float64 copies
(inputs, or the model).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Collection, Sequence
from contextlib import nullcontext
from typing import Any

import numpy as np
import torch

from gradcheck._errors import GradcheckError
from gradcheck._evaluate import GlobalRng, preserve_rng
from gradcheck._order2 import Backward, cotangent_name, disjoint, same_point, second_order
from gradcheck._report import Report
from gradcheck._torch_cast import as_float64, cast_inputs, scalar
from gradcheck._torch_module import LossModule
from gradcheck._torch_rng import RNG_SEED, SeededRng, forked
from gradcheck._torch_state import Loss, preserved
from gradcheck._torch_widen import Widen, backwards, mask_dtype
from gradcheck._user_rng import shared

__all__ = ["TorchBackward", "function_order2", "module_order2"]

Array = np.ndarray[Any, Any]
Outputs = Callable[[dict[str, torch.Tensor]], list[torch.Tensor]]
#: Why a gradient that does not require grad is detached (``{how}`` of ``DETACHED``).
NO_GRAPH = (
    "computed with create_graph=True it does not require grad: autograd cannot "
    "differentiate it (torch.autograd.gradgradcheck skips such an output silently)"
)
#: Why a gradient with no autograd path from the cotangents is detached.
NO_PATH = (
    "autograd finds no path from the cotangent to it: its graph is cut (as "
    "@once_differentiable or a tensor made outside autograd does)"
)


class TorchBackward:
    """The backward of ``outputs`` at ``point``, paired with ``cotangents``.

    Args:
        outputs: ``outputs(inputs) -> list of tensors``, one per cotangent.
        point: the checked inputs, by name (private tensors in the dtype checked).
        cotangents: one tensor per output, by name, shaped like it.
        rng: the user's global NumPy and ``random`` states, put back before each call.
        seeded: the seeded torch RNG state every call starts from (made here if not
            given; making one costs a ``manual_seed``).
    """

    def __init__(
        self,
        outputs: Outputs,
        point: dict[str, torch.Tensor],
        cotangents: dict[str, torch.Tensor],
        rng: GlobalRng,
        seeded: SeededRng | None = None,
    ) -> None:
        self.outputs, self.rng = outputs, rng
        self.seeded = SeededRng(RNG_SEED) if seeded is None else seeded
        disjoint(point, cotangents)
        self.inputs = tuple(point)
        self.broken: set[str] = set()  # gradients whose double backward raises
        self._point: tuple[dict[str, torch.Tensor], list[Any]] | None = None
        self._served = False  # whether grad has read G at the point from the kept graph
        self.devices = {n: t.device for n, t in {**point, **cotangents}.items()}
        self.point = {
            n: t.detach().cpu().numpy().copy() for n, t in {**point, **cotangents}.items()
        }

    def _graph(
        self, params: dict[str, Array], create: bool
    ) -> tuple[dict[str, torch.Tensor], list[Any]]:
        """The leaves (inputs, then cotangents, by name) and the gradients of the inputs."""
        leaves = {
            n: torch.from_numpy(np.array(a))
            .to(self.devices[n])
            .requires_grad_(create or n in self.inputs)
            for n, a in params.items()
        }
        xs = [leaves[n] for n in self.inputs]
        self.rng.reset()
        with torch.enable_grad(), self.seeded():
            outs = self._call(lambda: self.outputs(dict(zip(self.inputs, xs))))
            return leaves, self._gradients(leaves, outs, create)

    def _gradients(
        self, leaves: dict[str, torch.Tensor], outs: Sequence[torch.Tensor], create: bool
    ) -> list[Any]:
        """The gradients of the inputs among ``leaves`` from the outputs ``outs`` (in the
        RNG context of the call that made ``outs``)."""
        xs = [leaves[n] for n in self.inputs]
        ws = [t for n, t in leaves.items() if n not in self.inputs]
        return list(
            self._call(
                lambda: torch.autograd.grad(
                    outs,
                    xs,
                    [w.to(o.dtype) for w, o in zip(ws, outs)],
                    create_graph=create,
                    allow_unused=True,
                )
            )
        )

    @staticmethod
    def _call(run: Callable[[], Any]) -> Any:
        """``run()``, a user's exception as a :class:`GradcheckError` that says where."""
        try:
            return run()
        except GradcheckError:
            raise
        except Exception as exc:
            raise GradcheckError(
                f"the backward raised {type(exc).__name__}: {exc} (order=2 calls it at "
                "points near the inputs)"
            ) from exc

    def at_point(
        self, xs: dict[str, torch.Tensor] | None = None, outs: Sequence[torch.Tensor] = ()
    ) -> tuple[dict[str, torch.Tensor], list[Any]]:
        """The double-backward graph at the point, built once and kept: the detached
        test and every double backward at the point (the projections' VJP, the full
        mode's rows) run on it (``retain_graph``), each without a new call of the
        function. ``xs`` and ``outs``: the inputs (requiring grad, at the point) and
        the outputs of a call the caller has made already, to build it from (inside
        that call's seeded RNG context, where its backward runs as in every other)."""
        if self._point is None:
            if xs is None:
                self._point = self._graph(self.point, True)
            else:
                leaves = {
                    **xs,
                    **{
                        n: torch.from_numpy(np.array(a)).to(self.devices[n]).requires_grad_()
                        for n, a in self.point.items()
                        if n not in self.inputs
                    },
                }
                self._point = (leaves, self._gradients(leaves, outs, True))
        return self._point

    def grad(self, params: dict[str, Array]) -> dict[str, Array]:
        """``G(x, w)``: the gradient of every checked input (zeros where unused).

        The first evaluation at the point reads the kept graph's gradients
        (:meth:`at_point`), which that graph's call of the function computed already:
        ``check_jacobian`` asks for ``G`` there first (its output's layout), then again
        for its determinism test, which so compares two calls of the function still
        (the kept graph's and a fresh one), one call fewer than before. Later
        evaluations, at the point too, call the function afresh; at the point with
        ``create_graph=True`` like the kept graph's, because autograd may take another
        backward formula then (SiLU, Mish, GroupNorm: their last bits differ), and the
        determinism test compares bit for bit (attack29 H72: every such check was
        "not deterministic").
        """
        at = same_point(params, self.point)
        if not self._served and at:
            self._served = True
            _, gs = self.at_point()
        else:
            _, gs = self._graph(params, at)
        return {n: self._array(n, g) for n, g in zip(self.inputs, gs)}

    def _array(self, name: str, g: torch.Tensor | None) -> Array:
        like = self.point[name]
        if g is None:
            return np.zeros_like(like)
        if g.layout != torch.strided:
            g = g.to_dense()
        return np.asarray(g.detach().cpu().numpy(force=True), dtype=like.dtype)

    def _differentiable(self, gs: list[Any], skip: Collection[str]) -> list[tuple[str, Any]]:
        return [(n, g) for n, g in zip(self.inputs, gs) if g is not None and n not in skip]

    def detached(self) -> dict[str, str]:
        """``{input: why}`` for each gradient autograd cannot differentiate at the point:
        it does not require grad, differentiating it raises, or autograd finds no path
        from the cotangents to it (a correct backward's gradient is linear in them)."""
        leaves, gs = self.at_point()
        out = {
            n: NO_GRAPH for n, g in zip(self.inputs, gs) if g is not None and not g.requires_grad
        }
        ws = [t for n, t in leaves.items() if n not in self.inputs]
        for n, g in self._differentiable(gs, out):
            try:
                with torch.enable_grad(), self.seeded():
                    ds = torch.autograd.grad(
                        g, ws, torch.ones_like(g), retain_graph=True, allow_unused=True
                    )
            except RuntimeError as exc:
                out[n] = f"differentiating it raised RuntimeError: {str(exc).splitlines()[0]}"
                self.broken.add(n)
                continue
            if all(d is None for d in ds):
                out[n] = NO_PATH
        return out

    def double(self, params: dict[str, Array], u: dict[str, Array]) -> dict[str, Array]:
        """The VJP of ``G`` with ``u`` (like the gradients), by double backward (at the
        point on its kept graph, :meth:`at_point`); a gradient that does not require
        grad, or whose double backward raises, counts as constant."""
        kept = same_point(params, self.point)
        leaves, gs = self.at_point() if kept else self._graph(params, True)
        live = [(n, g) for n, g in self._differentiable(gs, self.broken) if g.requires_grad]
        names = list(params)
        if not live:
            return {n: np.zeros_like(self.point[n]) for n in names}
        cots = [torch.from_numpy(np.array(u[n])).to(g.dtype).to(g.device) for n, g in live]
        with torch.enable_grad(), self.seeded():
            ds = torch.autograd.grad(
                [g for _, g in live],
                [leaves[n] for n in names],
                cots,
                allow_unused=True,
                retain_graph=kept,
            )
        return {n: self._array(n, d) for n, d in zip(names, ds)}

    def backward(self) -> Backward:
        """This as the core's :class:`~gradcheck._order2.Backward`."""
        return Backward(self.inputs, self.point, self.grad, self.double, self.detached())


def _cotangents(outs: Sequence[torch.Tensor], seed: int) -> list[torch.Tensor]:
    """The first-order check's cotangents (``gradcheck._torch_function.Function``)."""
    draw = np.random.default_rng([seed, 5])
    return [
        torch.from_numpy(draw.standard_normal(tuple(o.shape))).to(o.dtype).to(o.device)
        for o in outs
    ]


def function_order2(
    first: Callable[[], Report],
    fn: Callable[..., Any],
    inputs: Sequence[Any],
    precision: str,
    options: dict[str, Any],
) -> Report:
    """``check_function(order=2)``: the first-order report, then the backward's check.

    Args:
        first: runs the first-order check.
        fn: the user's function; ``inputs`` its arguments (never modified).
        precision: ``"float64"`` (floating inputs cast to float64) or ``"model"``.
        options: the user's options.
    """
    start = time.perf_counter()
    report = first()
    pos = [i for i, x in enumerate(inputs) if isinstance(x, torch.Tensor) and x.requires_grad]
    with preserve_rng(owners=(fn,)) as rng, forked(None):
        xs = [x.detach().clone() if isinstance(x, torch.Tensor) else x for x in inputs]
        if precision == "float64":
            xs = as_float64(xs)
        names = [f"input{i}" for i in pos]

        masks = mask_dtype(inputs[i] for i in pos)  # the user's dropout masks

        def all_outputs(ts: dict[str, torch.Tensor]) -> list[Any]:
            args = list(xs)
            for n, i in zip(names, pos):
                args[i] = ts[n]
            # as order 1's float64 copy: a float32 constant fn holds computes in float64
            with Widen(masks) if precision == "float64" else nullcontext():
                res = backwards(fn(*args))
            return list(res) if isinstance(res, (tuple, list)) else [res]

        point = {n: xs[i] for n, i in zip(names, pos)}
        seeded = SeededRng(RNG_SEED)
        ins = {n: t.clone().requires_grad_() for n, t in point.items()}
        with torch.enable_grad(), seeded():
            rng.reset()
            outs = all_outputs(ins)
            diff = [
                k for k, o in enumerate(outs) if isinstance(o, torch.Tensor) and o.requires_grad
            ]
            ws = _cotangents([outs[k] for k in diff], int(options.get("seed", 0)))
            cotangents = {f"cotangent{k}": w for k, w in zip(diff, ws)}

            def outputs(ts: dict[str, torch.Tensor]) -> list[torch.Tensor]:
                res = all_outputs(ts)
                return [res[k] for k in diff]

            torch_backward = TorchBackward(outputs, point, cotangents, rng, seeded)
            # this call's graph is the point's: no second call of fn to build it
            torch_backward.at_point(ins, [outs[k] for k in diff])
        backward = torch_backward.backward()
        return second_order(report, backward, options, start)


def module_order2(
    first: Callable[[], Report],
    model: torch.nn.Module,
    loss_fn: Loss,
    precision: str,
    options: dict[str, Any],
) -> Report:
    """``check_module(order=2)``: the first-order report, then the backward's check.

    The loss is a scalar: its cotangent ``"cotangent"`` is 1, so the backward checked
    is ``w · ∇loss`` and its blocks are the Hessian (``"W / b"``) and the gradient
    itself (``"W / cotangent"``, through the double backward); a parameter named
    ``cotangent`` makes it ``"cotangent (of the loss)"`` (:func:`cotangent_name`).
    """
    start = time.perf_counter()
    report = first()
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    with preserve_rng(owners=(model, loss_fn)) as rng, forked(None), preserved(model):
        try:
            inner = copy.deepcopy(model, shared(model))
        except Exception as exc:
            raise GradcheckError(
                f"order=2 needs a private copy of the model, and it cannot be deep-copied "
                f"({type(exc).__name__}: {exc}); check order=1, or make the model copyable"
            ) from exc
        float64 = precision == "float64"
        if float64:
            inner = inner.to(torch.float64)
            inner.register_forward_pre_hook(cast_inputs, with_kwargs=True)
        wrapper = LossModule(inner, loss_fn)
        buffers = {
            f"inner.{n}": b.detach().to(torch.float64)
            if float64 and b.is_floating_point()
            else b.detach()
            for n, b in model.named_buffers()
        }
        point = {n: p.detach().clone().to(torch.float64 if float64 else p.dtype) for n, p in named}

        masks = mask_dtype(p for _, p in named)

        def outputs(ts: dict[str, torch.Tensor]) -> list[torch.Tensor]:
            fresh = {n: b.clone() for n, b in buffers.items()}
            swapped = {f"inner.{n}": t for n, t in ts.items()}
            with Widen(masks) if float64 else nullcontext():  # as order 1 (attack35 H144)
                loss = backwards(torch.func.functional_call(wrapper, {**fresh, **swapped}, ()))
            return [scalar(loss, "loss_fn")]

        one = torch.ones((), dtype=point[named[0][0]].dtype)
        cotangent = {cotangent_name(point): one}
        backward = TorchBackward(outputs, point, cotangent, rng).backward()._replace(who="loss_fn")
        return second_order(report, backward, options, start)
