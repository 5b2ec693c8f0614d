"""Check PyTorch models and custom autograd ``Function``s (needs ``gradcheck[torch]``).

* :func:`check_module`: the gradient autograd gives every parameter of a model that
  requires grad (custom ``Function``s and hooks included), named by
  ``named_parameters()``.
* :func:`check_function`: the backward of a function of tensors with any output shape
  (``MyFunction.apply``), through vector–Jacobian products with random cotangents.

Nothing of the user's is changed: the analytic gradient comes from
``torch.autograd.grad`` (no ``.grad`` is written) and every parameter, buffer,
``requires_grad`` flag, ``.grad`` and train/eval flag is saved and restored bit for bit
afterwards, whatever happens; the numerical side runs on a private copy of the model
through ``torch.func.functional_call`` with fresh copies of the buffers, so BatchNorm
statistics never move; that copy and the buffers are taken before the analytic pass,
so buffers moved in forward start from the user's values on both sides. Every
evaluation starts from the global torch RNG state (CPU and CUDA) that seeding with
:data:`RNG_SEED` gives, so dropout draws the same mask every time and a model in train
mode has a well-defined gradient; after each evaluation, and on exit, the RNG is as
before. NumPy's and ``random``'s global states are saved on entry and put back before
every call of the user's code (analytic pass, probes, evaluations), so both sides draw
the same numbers. Precision (the formula checked in float64, the round-off of the
user's dtype reported beside it): see ``gradcheck._frameworks``.

>>> import torch, gradcheck.torch
>>> model = torch.nn.Linear(3, 2)
>>> x = torch.randn(4, 3)
>>> gradcheck.torch.check_module(model, lambda m: m(x).pow(2).sum()).status
'passed'
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from typing import Any

import numpy as np

try:
    import torch
except ImportError as exc:  # pragma: no cover - the extra is always installed in CI
    raise ImportError("gradcheck.torch needs PyTorch: pip install 'gradcheck[torch]'") from exc

from gradcheck._errors import GradcheckError
from gradcheck._evaluate import preserve_rng
from gradcheck._frameworks import Analytic, Side, check_adapted, check_precision
from gradcheck._report import Report
from gradcheck._torch_state import (
    RNG_SEED,
    Loss,
    Numeric,
    SeededRng,
    as_float64,
    cast_inputs,
    dense,
    dtype_name,
    forked,
    preserved,
    scalar,
)

__all__ = ["RNG_SEED", "check_function", "check_module"]

_SeededRng = SeededRng  # the name the tests and older code use
#: The usage error of a loss that computes with an outer model, not its argument.
UNUSED = (
    "loss_fn does not use the model it is given: the loss does not change with any "
    "parameter of the private copy gradcheck passes to it, though autograd gives your "
    "model a gradient. Does loss_fn compute with an outer variable (model(x)) instead of "
    "its argument? Write it as lambda m: loss(m(x), y)."
)


class _Loss(torch.nn.Module):
    """``loss_fn(inner)`` as a module, so ``functional_call`` can swap its tensors."""

    def __init__(self, inner: torch.nn.Module, loss_fn: Loss) -> None:
        super().__init__()
        self.inner = inner
        self.loss_fn = loss_fn

    def forward(self) -> Any:
        return self.loss_fn(self.inner)


def _least_precise(tensors: Sequence[torch.Tensor]) -> str:
    """The least precise dtype (largest eps) among ``tensors``: the one a check of a
    mixed float32/float64 model must be judged by."""
    return dtype_name(max({t.dtype for t in tensors}, key=lambda d: torch.finfo(d).eps))


def _validate(name: str, t: torch.Tensor) -> None:
    """A clear error for a tensor gradcheck cannot check (dtype, layout, device)."""
    if not t.is_floating_point():
        raise GradcheckError(f"{name!r} has dtype {t.dtype}; real floats only")
    if t.is_meta:
        raise GradcheckError(
            f"{name!r} is on the meta device, which holds no values: materialise the model "
            "first (model.to_empty(device='cpu') and initialise it, or load a state dict)"
        )
    if t.layout != torch.strided:
        raise GradcheckError(
            f"{name!r} is a sparse tensor ({t.layout}), which gradcheck does not support "
            "yet: check it as a dense tensor (.to_dense()); a sparse gradient (as "
            "nn.Embedding(sparse=True) gives) is supported"
        )


def _grads(out: Any, inputs: Sequence[torch.Tensor], names: Sequence[str], notes: list[str],
           grad_outputs: Any = None) -> dict[str, np.ndarray[Any, Any]]:  # fmt: skip
    gs = torch.autograd.grad(out, list(inputs), grad_outputs=grad_outputs, allow_unused=True)
    result = {}
    for name, t, g in zip(names, inputs, gs):
        if g is None:
            notes.append(f"{name}: autograd gave no gradient (unused); taken as zero")
            g = torch.zeros_like(t)
        result[name] = dense(g)
    return result


def _no_backward(tensors: Sequence[torch.Tensor], who: str) -> None:
    """Raise if ``who`` wrote a ``.grad`` (called ``backward()`` itself)."""
    for t in tensors:
        if t.grad is not None:
            raise GradcheckError(
                f"{who} called backward() itself (a .grad was written): return the loss "
                "without calling backward(); gradcheck computes the gradient it checks"
            )


def _private(model: torch.nn.Module, notes: list[str]) -> torch.nn.Module | None:
    """A deep copy of ``model``, or ``None`` (with a note) when it cannot be copied."""
    try:
        return copy.deepcopy(model)
    except Exception as exc:
        notes.append(
            f"the model cannot be deep-copied ({type(exc).__name__}: {exc}): the numerical "
            "side runs on the model itself through torch.func.functional_call, with its "
            "parameters and buffers swapped for private tensors (never written)"
        )
        return None


def _module_pass(model: torch.nn.Module, loss_fn: Loss, named: list[tuple[str, Any]],
                 notes: list[str]) -> Analytic:  # fmt: skip
    """The user's analytic pass on the model itself (inside :func:`preserved`)."""
    params = list(model.parameters())
    for p in params:
        p.grad = None  # preserved() puts the user's back
    with forked():
        try:
            loss = scalar(loss_fn(model), "loss_fn")
        except GradcheckError:
            raise
        except Exception as exc:
            raise GradcheckError(
                f"loss_fn raised {type(exc).__name__}: {exc} (computing the analytic gradient)"
            ) from exc
        _no_backward(params, "loss_fn")
        if not loss.requires_grad:
            raise GradcheckError(
                "loss_fn returned a tensor that does not require grad: does it use the "
                "model it is given, outside torch.no_grad()?"
            )
        grads = _grads(loss, [p for _, p in named], [n for n, _ in named], notes)
    return Analytic(float(loss.detach()), grads, _least_precise([p for _, p in named]))


def check_module(
    model: torch.nn.Module, loss_fn: Loss, *, precision: str = "float64", **options: Any
) -> Report:
    """Check the gradient autograd computes for every parameter that requires grad.

    Args:
        model: the model; it is never modified (see the module doc).
        loss_fn: ``loss_fn(model) -> scalar tensor``. It must compute the loss with the
            model it is given (the numerical side passes a private copy), and must not
            call ``backward()``.
        precision: ``"float64"`` (default): for a model below float64, the formula is
            checked on a float64 copy (autograd against finite differences, inputs cast
            to float64 on the way in) and the round-off of the model's own gradient is
            reported beside it (``gradcheck._frameworks``); falls back to the model's
            dtype (with a message) when the copy fails or computes a different loss.
            ``"model"``: everything in the model's dtype.
        **options: passed to :func:`gradcheck.check` (``mode``, ``sample``, ``method``,
            ``rtol``, ``seed``, ...).

    Returns:
        A :class:`~gradcheck.Report` whose parameters are ``named_parameters()`` names;
        its ``seconds`` count the adapter's own passes too.

    Raises:
        GradcheckError: no parameter requires grad, a parameter that cannot be checked
            (integer, meta device, sparse), or ``loss_fn`` fails or misuses the model
            (named).
    """
    start = time.perf_counter()
    precision = check_precision(precision)
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if not named:
        raise GradcheckError("the model has no parameter that requires grad: nothing to check")
    for n, p in named:
        _validate(n, p)
    notes: list[str] = []
    with preserve_rng() as rng, forked(None), preserved(model), ExitStack() as cleanup:
        # taken before the analytic pass: both sides start from the user's buffers
        base = _private(model, notes)
        buffers = {n: b.detach().clone() for n, b in model.named_buffers()}
        user = _module_pass(model, loss_fn, named, notes)
        tensors = {n: p.detach().clone() for n, p in named}

        def make(precision: str) -> Side:
            float64 = precision == "float64"
            inner = model if base is None else copy.deepcopy(base)
            for p in inner.parameters():
                p.grad = None
            if float64:
                if base is not None:
                    inner = inner.to(torch.float64)
                hook = inner.register_forward_pre_hook(cast_inputs, with_kwargs=True)
                cleanup.callback(hook.remove)
            wrapper = _Loss(inner, loss_fn)
            bufs = {f"inner.{n}": b.to(torch.float64) if float64 and b.is_floating_point()
                    else b for n, b in buffers.items()}  # fmt: skip

            def call(ts: dict[str, torch.Tensor]) -> Any:
                fresh = {n: b.clone() for n, b in bufs.items()}
                swapped = {f"inner.{n}": t for n, t in ts.items()}
                return torch.func.functional_call(wrapper, {**fresh, **swapped}, ())

            return Numeric(call, tensors, float64).side("a float64 copy")

        return check_adapted(make, user, precision=precision, rng=rng, notes=notes,
                             options=options, start=start, unused=UNUSED)  # fmt: skip


def check_function(fn: Callable[..., Any], *inputs: Any, precision: str = "float64",
                   **options: Any) -> Report:  # fmt: skip
    """Check the backward of ``fn`` for every input tensor that requires grad.

    The check is on ``<fn(inputs), v>`` for random cotangents ``v`` (one per floating
    output that requires grad, drawn from a private generator seeded by ``seed``):
    its gradient is the vector–Jacobian product autograd computes with ``v``.

    Args:
        fn: a function of tensors returning a tensor or a tuple/list of tensors.
        *inputs: its arguments; tensors with ``requires_grad`` are checked, named
            ``input0``, ``input1``, ... by position. They are never modified.
        precision: as for :func:`check_module` (every floating input is cast).
        **options: passed to :func:`gradcheck.check`.

    >>> import torch, gradcheck.torch
    >>> x = torch.randn(3, dtype=torch.float64, requires_grad=True)
    >>> gradcheck.torch.check_function(torch.sin, x).passed
    True
    """
    start = time.perf_counter()
    precision = check_precision(precision)
    pos = [i for i, x in enumerate(inputs) if isinstance(x, torch.Tensor) and x.requires_grad]
    if not pos:
        raise GradcheckError("no input tensor requires grad: nothing to check")
    names = [f"input{i}" for i in pos]
    for n, i in zip(names, pos):
        _validate(n, inputs[i])
    notes: list[str] = []
    seed = int(options.get("seed", 0))
    with preserve_rng() as rng, forked(None):
        xs = [x.detach().clone().requires_grad_(i in pos) if isinstance(x, torch.Tensor)
              else x for i, x in enumerate(inputs)]  # fmt: skip
        with forked():
            try:
                out = fn(*xs)
            except Exception as exc:
                raise GradcheckError(f"fn raised {type(exc).__name__}: {exc}") from exc
        _no_backward([xs[i] for i in pos], "fn")
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        diff = [k for k, o in enumerate(outs) if isinstance(o, torch.Tensor) and o.requires_grad]
        if not diff:
            raise GradcheckError("no output of fn requires grad: is it differentiable?")
        draw = np.random.default_rng([seed, 5])
        vs = {k: torch.from_numpy(draw.standard_normal(tuple(outs[k].shape))).to(
            outs[k].dtype).to(outs[k].device) for k in diff}  # fmt: skip
        v64 = {k: v.to(torch.float64) for k, v in vs.items()}
        grads = _grads([outs[k] for k in diff], [xs[i] for i in pos], names, notes,
                       [vs[k] for k in diff])  # fmt: skip
        value = float(sum(float((outs[k].detach().double() * v64[k]).sum()) for k in diff))
        tensors = {n: xs[i].detach() for n, i in zip(names, pos)}
        user = Analytic(value, grads, _least_precise(list(tensors.values())))

        def make(precision: str) -> Side:
            fixed = [x.detach().clone() if isinstance(x, torch.Tensor) else x for x in xs]
            if precision == "float64":
                fixed = as_float64(fixed)

            def call(ts: dict[str, torch.Tensor]) -> Any:
                args = list(fixed)
                for n, i in zip(names, pos):
                    args[i] = ts[n]
                res = fn(*args)
                res = list(res) if isinstance(res, (tuple, list)) else [res]
                return sum((res[k].to(torch.float64) * v64[k]).sum() for k in diff)

            return Numeric(call, tensors, precision == "float64").side("float64 inputs")

        return check_adapted(make, user, precision=precision, rng=rng, notes=notes,
                             options=options, start=start, unused=None)  # fmt: skip
