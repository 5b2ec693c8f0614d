"""The torch adapter's machinery: the user's state kept intact, seeded RNG, private sides.

* :func:`preserved` saves a model's parameters, buffers, ``requires_grad`` flags,
  ``.grad`` tensors and train/eval flags and restores them bit for bit on exit.
* :class:`SeededRng` starts every evaluation from the torch RNG state that seeding
  with :data:`RNG_SEED` gives (CPU and every CUDA device).
* :class:`Numeric` evaluates the loss on NumPy parameters (one call, vectorised calls
  through ``torch.func.vmap``, and autograd on the same tensors for the float64 formula
  check), as the :class:`gradcheck._frameworks.Side` the shared code drives.
* :func:`forward_grads`, :func:`jvp` and :func:`forward_error`: forward-mode AD through
  dual tensors (``torch.autograd.forward_ad``), which runs a custom ``Function``'s
  ``jvp`` staticmethod as ``torch.autograd.gradcheck(check_forward_ad=True)`` does.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.autograd.forward_ad as fwad

from gradcheck._adapters import NoForward
from gradcheck._errors import GradcheckError
from gradcheck._frameworks import Side
from gradcheck._torch_attributes import restore_attributes, saved_attributes
from gradcheck._torch_forward import ForwardFold, batched_forward_grads
from gradcheck._torch_saved import Saved

__all__ = [
    "RNG_SEED",
    "Forward",
    "Loss",
    "Numeric",
    "SeededRng",
    "as_float64",
    "cast_inputs",
    "dense",
    "dtype_name",
    "fold",
    "forked",
    "forward_error",
    "forward_grads",
    "jvp",
    "preserved",
    "scalar",
    "tensor_hooks",
    "to_float64",
    "wide",
    "with_hooks",
]

#: The seed the torch RNG is set to (inside a fork) before every evaluation.
RNG_SEED = 20261124
Loss = Callable[[Any], Any]
Array = np.ndarray[Any, Any]
#: A function's outputs as a list, from its checked inputs by name.
Outputs = Callable[[dict[str, torch.Tensor]], list[Any]]


def _cuda_devices() -> list[int]:
    return list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []


@contextmanager
def forked(seed: int | None = RNG_SEED) -> Iterator[None]:
    """Fork the global torch RNGs (CPU and every CUDA device); seed inside if asked."""
    with torch.random.fork_rng(devices=_cuda_devices()):
        if seed is not None:
            torch.manual_seed(seed)
        yield


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
    try:
        yield
    finally:
        restore_attributes(model, attributes)
        with torch.no_grad():
            for (p, value, flag, grad), gvalue in zip(saved, grads):
                value.restore(p)
                p.requires_grad_(flag)
                if grad is not None and gvalue is not None:
                    gvalue.restore(grad)
                p.grad = grad
            for b, value in buffers:
                value.restore(b)
        for m, training in modes:
            m.training = training


def as_float64(args: Any) -> Any:
    """``args`` with every floating tensor (in lists, tuples, dicts) cast to float64."""
    if isinstance(args, torch.Tensor) and (args.is_floating_point() or args.is_complex()):
        return args.to(wide(args.dtype))
    if isinstance(args, (list, tuple)):
        return type(args)(as_float64(a) for a in args)
    if isinstance(args, dict):
        return {k: as_float64(v) for k, v in args.items()}
    return args


def to_float64(module: torch.nn.Module) -> torch.nn.Module:
    """``module.to(torch.float64)``, but complex parameters and buffers to complex128
    (``Module.to`` would cast them to float64, dropping their imaginary parts)."""
    tensors = [*module.parameters(), *module.buffers()]
    if not any(t.is_complex() for t in tensors):
        return module.to(torch.float64)
    wide_module: torch.nn.Module = module._apply(_widened)  # type: ignore[no-untyped-call]
    return wide_module


def _widened(t: torch.Tensor) -> torch.Tensor:
    """A floating tensor as float64, a complex one as complex128, others as they are."""
    return t.to(wide(t.dtype)) if t.is_floating_point() or t.is_complex() else t


def cast_inputs(_: torch.nn.Module, args: Any, kwargs: Any) -> Any:
    """A forward pre-hook casting a float64 model's floating inputs to float64."""
    return as_float64(args), as_float64(kwargs)


def wide(dtype: torch.dtype) -> torch.dtype:
    """float64 for a real dtype, complex128 for a complex one (``gradcheck._adapter_complex``)."""
    return torch.complex128 if dtype.is_complex else torch.float64


def dtype_name(dtype: torch.dtype) -> str:
    """``"float32"`` for ``torch.float32``."""
    return str(dtype).removeprefix("torch.")


def dense(g: torch.Tensor) -> Array:
    """A gradient as a float64 (complex128) NumPy array (a sparse gradient made dense).

    ``force=True`` also materialises the efficient zero tensors autograd returns for a
    derivative it knows is zero (``torch.sgn``'s, ``abs``'s second), which plain
    ``.numpy()`` refuses.
    """
    if g.layout != torch.strided:
        g = g.to_dense()
    return np.array(g.detach().cpu().to(wide(g.dtype)).numpy(force=True), copy=True)


def scalar(value: Any, where: str) -> torch.Tensor:
    """``value`` as a 0-d tensor, or an error saying what was returned instead."""
    if not isinstance(value, torch.Tensor) or value.numel() != 1:
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise GradcheckError(f"{where} must return a scalar tensor, got {shape}")
    return value.reshape(())


class SeededRng:
    """Start each evaluation from the torch RNG state ``manual_seed(seed)`` gives.

    What ``fork_rng`` + ``manual_seed`` does before every evaluation, at a fraction of
    the cost: ``manual_seed`` takes 0.9-1.0 ms on the project's 2-core machine (torch
    2.13 CPU, min of 5×200 calls, load 8), getting and setting a state 0.4-2.3 µs. The
    seeded states (CPU and every CUDA device) are taken once; each evaluation saves
    the caller's states, sets the seeded ones and puts the caller's back afterwards,
    whatever happens.
    """

    def __init__(self, seed: int) -> None:
        self.cuda = _cuda_devices()
        with forked(seed):
            self.cpu_state = torch.get_rng_state()
            self.cuda_states = [torch.cuda.get_rng_state(d) for d in self.cuda]

    @contextmanager
    def __call__(self) -> Iterator[None]:
        cpu, cuda = torch.get_rng_state(), [torch.cuda.get_rng_state(d) for d in self.cuda]
        torch.set_rng_state(self.cpu_state)
        for d, state in zip(self.cuda, self.cuda_states):
            torch.cuda.set_rng_state(state, d)
        try:
            yield
        finally:
            torch.set_rng_state(cpu)
            for d, state in zip(self.cuda, cuda):
                torch.cuda.set_rng_state(state, d)


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


#: What torch says when a hook is registered on a tensor without grad (torch 2.x).
HOOK_REFUSED = "cannot register a hook on a tensor that doesn't require gradient"
#: What ``torch.autograd.grad`` says when the loss differentiates (a gradient penalty,
#: a physics-informed residual) and autograd records nothing (torch 2.x; attack24 F6).
GRAD_REFUSED = "does not require grad and does not have a grad_fn"
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

    def gradient(self, tree: dict[str, Any]) -> tuple[float, dict[str, Array | None]]:
        """The loss and its autograd gradient at ``tree`` (``None``: not used)."""
        ts = {n: t.clone().requires_grad_() for n, t in self._tensors(tree).items()}
        with torch.enable_grad(), self.seeded():
            out = scalar(self.call(ts), "the loss")
            if not out.requires_grad:
                return float(out.detach()), dict.fromkeys(ts)
            gs = torch.autograd.grad(out, list(ts.values()), allow_unused=True)
        return float(out.detach()), {n: None if g is None else dense(g) for n, g in zip(ts, gs)}

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

            def gradient(tree: dict[str, Any]) -> tuple[float, dict[str, Array | None]]:
                value = float(self.cost(tree))
                ts = self._tensors(tree)
                folded = ForwardFold(fold.call, ts, {0: fold.w}, self.seeded, fold.reset)
                grads = forward_grads(folded)
                return value, dict(grads[0])

        return Side(
            self.params, self.cost, self.batched, gradient, nullcontext, "torch.func.vmap", what
        )


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
                        outs = call({**ts, n: _dual(t, basis.view_as(t))})
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


def _dual(t: torch.Tensor, tangent: torch.Tensor) -> torch.Tensor:
    """``t`` as a dual tensor with ``tangent`` (inside ``fwad.dual_level()``)."""
    dual: torch.Tensor = fwad.make_dual(t, tangent)  # type: ignore[no-untyped-call]
    return dual


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
    return (out.to(torch.float64) * w.to(torch.float64)).sum()


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
        duals = {n: _dual(t, tangents[n].to(t.dtype).to(t.device)) for n, t in ts.items()}
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
    "cannot register a hook on a tensor that doesn't require gradient": (
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
            call({n: _dual(t, torch.ones_like(t)) for n, t in ts.items()})
    except Exception as exc:
        text = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        unable = next((why for part, why in UNABLE.items() if part in str(exc)), "")
        return NoForward(text, isinstance(exc, NotImplementedError), unable)
    return None


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


def with_hooks(ts: dict[str, torch.Tensor], hooks: dict[str, list[Callable[..., Any]]]) -> None:
    """Register ``hooks`` (:func:`tensor_hooks`) on the tensors of ``ts`` that require
    grad (a tensor without autograd, as in ``cost`` and ``vmap``, has no gradient)."""
    for n, t in ts.items():
        for hook in hooks.get(n, ()) if t.requires_grad else ():
            t.register_hook(hook)  # type: ignore[no-untyped-call]
