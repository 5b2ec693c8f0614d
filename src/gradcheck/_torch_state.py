"""The torch adapter's machinery: the user's state kept intact, private sides.

* :func:`preserved` saves a model's parameters, buffers, ``requires_grad`` flags,
  ``.grad`` tensors and train/eval flags and restores them bit for bit on exit.
* :class:`Numeric` evaluates the loss on NumPy parameters (one call, vectorised calls
  through ``torch.func.vmap``, and autograd on the same tensors for the float64 formula
  check), as the :class:`gradcheck._frameworks.Side` the shared code drives, each call
  from the seeded torch RNG state (``gradcheck._torch_rng``).
* :func:`tensor_hooks` and :func:`with_hooks`: the user's gradient hooks, carried over
  to the private tensors; :func:`unrun_hooks`: the report's note on the
  post-accumulate-grad hooks, which the check does not run.

Forward mode is ``gradcheck._torch_jvp``'s; casts and conversions ``gradcheck._torch_cast``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from typing import Any, NamedTuple

import numpy as np
import torch

from gradcheck._errors import GradcheckError
from gradcheck._frameworks import Gradient, Side
from gradcheck._interrupts import put_back
from gradcheck._report import Report
from gradcheck._torch_attributes import restore_attributes, saved_attributes
from gradcheck._torch_cast import dense, scalar, wide
from gradcheck._torch_forward import ForwardFold, Outputs
from gradcheck._torch_jvp import GRAD_REFUSED, HOOK_REFUSED, forward_grads
from gradcheck._torch_rng import RNG_SEED, SeededRng
from gradcheck._torch_saved import Saved
from gradcheck._user_rng import added

__all__ = [
    "Forward",
    "Loss",
    "Numeric",
    "initialised",
    "noted",
    "preserved",
    "tensor_hooks",
    "unrun_hooks",
    "with_hooks",
]

Loss = Callable[[Any], Any]
Array = np.ndarray[Any, Any]


def noted(report: Report, notes: Sequence[str]) -> Report:
    """``report`` with ``notes`` (a stopped walk's: ``gradcheck._user_rng.search``) among
    its messages, each once."""
    return replace(report, messages=added(report.messages, notes))


@contextmanager
def preserved(model: torch.nn.Module) -> Iterator[None]:
    """Restore parameters, buffers, grads, flags, modes and the modules' own attributes
    (tensors and plain values a forward may change) of ``model`` on exit.

    A tensor nothing wrote to is left alone rather than copied back: an in-place copy
    would move its autograd version counter, and a loss the user computed before the
    check could then no longer ``.backward()`` ("modified by an inplace operation").
    Whether it moved is :meth:`gradcheck._torch_saved.Saved.moved`'s rule, which the
    modules' tensor attributes share.
    """
    params = list(model.named_parameters(remove_duplicate=False))
    saved = [(p, Saved.of(p), p.requires_grad, p.grad) for _, p in params]
    grads = [None if g is None else Saved.of(g) for *_, g in saved]
    buffers = [(b, Saved.of(b)) for _, b in model.named_buffers(remove_duplicate=False)]
    modes = [(m, m.training) for m in model.modules()]
    attributes = saved_attributes(model)

    def tensors() -> None:
        with torch.no_grad():
            for (p, value, flag, grad), gvalue in zip(saved, grads):
                value.restore(p)
                p.requires_grad_(flag)
                if grad is not None and gvalue is not None:
                    gvalue.restore(grad)
                p.grad = grad
            for b, value in buffers:
                value.restore(b)

    def training() -> None:
        for m, mode in modes:
            m.training = mode

    try:
        yield
    finally:  # every step to its end, also when Ctrl-C lands in one
        put_back(lambda: restore_attributes(model, attributes), tensors, training)


class Forward(NamedTuple):
    """A loss ``<call(ts)[0], w>`` whose gradient is computed in forward mode.

    Attributes:
        call: the one output the loss folds, as a one-element list.
        w: the cotangent it is folded with.
        reset: puts back the user's NumPy and ``random`` states (before every call).
    """

    call: Outputs
    w: torch.Tensor
    reset: Callable[[], None]


#: What the loss raises where it needs autograd that a no-grad evaluation turns off.
NEEDS_AUTOGRAD = (HOOK_REFUSED, GRAD_REFUSED)


class Numeric:
    """Evaluate the loss on NumPy parameters as tensors, from the seeded RNG state.

    Args:
        call: the loss of a dict of tensors (a private model or function).
        tensors: the unperturbed parameters, for their devices and dtype.
        float64: whether this side runs in float64 (else in the tensors' dtypes).
    """

    def __init__(
        self,
        call: Callable[[dict[str, torch.Tensor]], Any],
        tensors: dict[str, torch.Tensor],
        float64: bool,
    ) -> None:
        self.call, self.seeded = call, SeededRng(RNG_SEED)
        self.hooked = False  # the loss needs autograd (a hook, autograd.grad): runs with it
        self.devices = {n: t.device for n, t in tensors.items()}
        self.params = {
            n: np.array(
                t.detach().cpu().to(wide(t.dtype) if float64 else t.dtype).resolve_conj().numpy(),
                copy=True,
            )
            for n, t in tensors.items()
        }

    def _tensors(self, tree: dict[str, Any]) -> dict[str, torch.Tensor]:
        return {n: torch.from_numpy(np.asarray(a)).to(self.devices[n]) for n, a in tree.items()}

    def cost(self, tree: dict[str, Any]) -> Any:
        """The loss at ``tree``, without autograd; with it from then on where the loss
        needs autograd: it registers a tensor hook, which torch refuses on a tensor that
        does not require grad (attack23 D4), or differentiates with
        ``torch.autograd.grad`` (a gradient penalty; attack24 F6). The autograd is the
        user's, the no-grad evaluation gradcheck's; the value is the same either way."""
        ts = self._tensors(tree)
        if not self.hooked:
            try:
                with torch.no_grad(), self.seeded():
                    return scalar(self.call(ts), "the loss").detach().cpu().numpy()
            except RuntimeError as exc:
                if not any(part in str(exc) for part in NEEDS_AUTOGRAD):
                    raise
                self.hooked = True
        ts = {n: t.requires_grad_() for n, t in ts.items()}
        with torch.enable_grad(), self.seeded():
            return scalar(self.call(ts), "the loss").detach().cpu().numpy()

    def batched(self, stacked: dict[str, Any]) -> Any:
        """The losses of a stack of points, through ``torch.func.vmap``."""
        ts = self._tensors({n: np.ascontiguousarray(a) for n, a in stacked.items()})
        with torch.no_grad(), self.seeded():
            out = torch.func.vmap(self.call, randomness="same")(ts)
        return out.detach().reshape(-1).cpu().to(torch.float64).numpy()

    def gradient(self, tree: dict[str, Any]) -> Gradient:
        """The loss and its autograd gradient at ``tree`` (``None``: not used)."""
        ts = {n: t.clone().requires_grad_() for n, t in self._tensors(tree).items()}
        with torch.enable_grad(), self.seeded():
            out = scalar(self.call(ts), "the loss")
            if not out.requires_grad:
                return Gradient(float(out.detach()), dict.fromkeys(ts))
            gs = torch.autograd.grad(out, list(ts.values()), allow_unused=True)
        grads: dict[str, Array | None] = {
            n: None if g is None else dense(g) for n, g in zip(ts, gs)
        }
        return Gradient(float(out.detach()), grads)

    def side(self, what: str, forward: Forward | None = None) -> Side:
        """This as the shared code's :class:`~gradcheck._frameworks.Side`.

        Args:
            what: what this side is, for messages.
            forward: how to compute the gradient in forward mode instead of by
                autograd (:func:`forward_grads`).
        """
        gradient = self.gradient
        if forward is not None:
            fold = forward

            def gradient(tree: dict[str, Any]) -> Gradient:
                value = float(self.cost(tree))
                ts = self._tensors(tree)
                folded = ForwardFold(fold.call, ts, {0: fold.w}, self.seeded, fold.reset)
                grads = forward_grads(folded)
                return Gradient(value, dict(grads[0]))

        return Side(
            self.params, self.cost, self.batched, gradient, nullcontext, "torch.func.vmap", what
        )


def tensor_hooks(
    named: Sequence[tuple[str, torch.Tensor]],
) -> dict[str, list[Callable[..., Any]]]:
    """The gradient hooks (``Tensor.register_hook``) on each named parameter.

    ``functional_call`` swaps the parameters for private tensors, which carry no hooks:
    the numerical side registers these on them, so both sides compute the gradient the
    user's own ``autograd.grad`` gives (a hook that scales it included).
    """
    hooks = {n: list((getattr(p, "_backward_hooks", None) or {}).values()) for n, p in named}
    return {n: h for n, h in hooks.items() if h}


#: The note on post-accumulate-grad hooks (attack27 H46: one doubling ``p.grad`` passed
#: unseen); ``{names}``: the tensors that have one.
UNRUN_HOOKS = (
    "{names}: post-accumulate-grad hooks (register_post_accumulate_grad_hook) are not run "
    "by the check: it differentiates with torch.autograd.grad, which writes no .grad, so "
    "it checks autograd's gradient; the .grad that backward() leaves for your optimizer "
    "is what the hooks make of it, and may differ"
)


def unrun_hooks(named: Sequence[tuple[str, torch.Tensor]]) -> str | None:
    """The report's note naming the tensors of ``named`` with post-accumulate-grad
    hooks (:data:`UNRUN_HOOKS`), or ``None`` where none has one.

    Such a hook runs only when ``backward()`` accumulates into ``.grad`` (it may change
    ``.grad``, or step an optimizer); ``torch.autograd.grad``, which both sides of the
    check use, never runs it, and the check leaves the hook and ``.grad`` as they were.
    """
    hooked = [n for n, t in named if getattr(t, "_post_accumulate_grad_hooks", None)]
    return UNRUN_HOOKS.format(names=", ".join(hooked)) if hooked else None


def with_hooks(ts: dict[str, torch.Tensor], hooks: dict[str, list[Callable[..., Any]]]) -> None:
    """Register ``hooks`` (:func:`tensor_hooks`) on the tensors of ``ts`` that require
    grad (a tensor without autograd, as in ``cost`` and ``vmap``, has no gradient)."""
    for n, t in ts.items():
        for hook in hooks.get(n, ()) if t.requires_grad else ():
            t.register_hook(hook)  # type: ignore[no-untyped-call]


def initialised(model: torch.nn.Module) -> None:
    """Refuse a lazy module whose parameters have no shape yet (attack33 H125: torch's
    own ``ValueError`` came out of the check)."""
    lazy = (torch.nn.parameter.UninitializedParameter, torch.nn.parameter.UninitializedBuffer)
    tensors = [*model.named_parameters(), *model.named_buffers()]
    for name, t in tensors:
        if isinstance(t, lazy):
            raise GradcheckError(
                f"model's {name!r} is not initialised yet ({type(t).__name__}: a lazy "
                "module such as nn.LazyLinear): run one forward pass on an input first, "
                "then check the model"
            )
