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
from contextlib import AbstractContextManager, ExitStack, nullcontext
from functools import partial
from typing import TYPE_CHECKING, Any

try:
    import torch
except ImportError as exc:  # pragma: no cover - the extra is always installed in CI
    raise ImportError("gradcheck.torch needs PyTorch: pip install 'gradcheck[torch]'") from exc

# torch.func imports torch._dynamo on its first use, which sets
# os.environ["TORCHINDUCTOR_CACHE_DIR"] and adds a warnings filter: the first check of
# a process changed both (attack31 H92). Imported here, with gradcheck.torch, a check
# leaves them as it found them.
import torch._dynamo

from gradcheck._adapter_complex import explain, with_convention
from gradcheck._adapters import (
    Mode,
    Options,
    check_modes,
    choose_modes,
    combine,
    linearity,
    require_entries,
)
from gradcheck._errors import GradcheckError
from gradcheck._evaluate import preserve_rng
from gradcheck._frameworks import Side, check_adapted, check_precision
from gradcheck._order2 import check_order
from gradcheck._report import Report
from gradcheck._torch_cast import as_float64, cast_inputs, dense, to_float64
from gradcheck._torch_forward import ForwardFold
from gradcheck._torch_function import Function, real_views, rules_agree
from gradcheck._torch_inputs import not_inference, validate
from gradcheck._torch_jvp import forward_error, forward_grads
from gradcheck._torch_module import UNUSED, LossModule, module_pass, private_copy
from gradcheck._torch_order2 import function_order2, module_order2
from gradcheck._torch_reference import with_reference
from gradcheck._torch_replay import recorded
from gradcheck._torch_rng import RNG_SEED, SeededRng, forked
from gradcheck._torch_side import check_flags, side_checks, with_side_checks
from gradcheck._torch_sparse import no_forward, relabel, sparse_inputs
from gradcheck._torch_stage import Stages
from gradcheck._torch_stage import note as stage_note
from gradcheck._torch_state import (
    Loss,
    Numeric,
    initialised,
    noted,
    preserved,
    tensor_hooks,
    unrun_hooks,
    with_hooks,
)
from gradcheck._torch_widen import Widen, backwards, mask_dtype
from gradcheck._user_rng import search, shared

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["RNG_SEED", "check_function", "check_module"]

#: What each mode runs, for the report's messages.
RULES: dict[Mode, str] = {"rev": "the backward (autograd.grad)", "fwd": "the jvp (forward AD)"}
#: How to give a function forward mode, for the note or error when it has none.
REMEDY = (
    "give the autograd.Function a jvp staticmethod (its forward-mode rule; "
    "torch.autograd.gradcheck(check_forward_ad=True) needs the same)"
)
#: The error when fn's forward-mode rule exists and raises (``{error}``: what it raised).
BROKEN = (
    "the jvp (forward AD) of fn raised {error} (probing forward mode with tangents of "
    "ones): fn has a forward-mode rule and it fails, a bug; a custom Function's jvp reads "
    "what forward saved with ctx.save_for_forward (not save_for_backward) and returns one "
    "tensor per output, of its shape and dtype"
)


def _kept(fn: Callable[..., Any]) -> AbstractContextManager[None]:
    """:func:`preserved` for ``fn`` that is a module (its attributes, buffers, ...)."""
    return preserved(fn) if isinstance(fn, torch.nn.Module) else nullcontext()


def check_module(
    model: torch.nn.Module,
    loss_fn: Loss,
    *,
    precision: str = "float64",
    order: int = 1,
    **options: Unpack[Options],
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
        order: ``2`` also checks the backward's own derivative, the double backward
            (``gradcheck._torch_order2``; docs/second-order.md).
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
    initialised(model)
    precision = check_precision(precision)
    if check_order(order) == 2:
        first = partial(check_module, model, loss_fn, precision=precision, **options)
        with torch.enable_grad():  # as below: a caller's torch.no_grad() (attack22 C7b)
            return module_order2(first, model, loss_fn, precision, dict(options))
    options = with_convention(options, "conjugate", "torch")
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if not named:
        raise GradcheckError("the model has no parameter that requires grad: nothing to check")
    require_entries({n: p.numel() for n, p in named})
    for n, p in named:
        validate(n, p)
    for n, b in model.named_buffers():
        not_inference(n, b, "buffer")
    # torch.enable_grad: a check called under torch.no_grad() (attack22 C7b) still
    # differentiates; the caller's grad mode is back on exit
    searched = search(model, loss_fn)  # a walk stopped short is named (state34)
    with (
        torch.enable_grad(),
        preserve_rng(found=searched.generators) as rng,
        forked(None),
        preserved(model),
        ExitStack() as cleanup,
    ):
        # taken before the analytic pass: both sides start from the user's buffers
        base, copy_notes = private_copy(model)
        buffers = {n: b.detach().clone() for n, b in model.named_buffers()}
        wide = {p.dtype.to_real() for _, p in named} == {torch.float64}
        float64_route = precision == "float64" and wide  # where a stage can be below
        # the analytic pass's forward records the dtypes the loss computes in (H131)
        stages = Stages() if float64_route else None
        user, pass_notes = module_pass(model, loss_fn, named, stages)
        unrun = unrun_hooks(named)
        notes = (*copy_notes, *pass_notes, *([] if unrun is None else [unrun]))
        tensors = {n: p.detach().clone() for n, p in named}
        hooks = tensor_hooks(named)
        masks = mask_dtype(tensors.values())  # the model's dropout masks (CUDA: by dtype)

        def make(precision: str) -> Side:
            float64 = precision == "float64"
            side = Numeric(caller(float64), tensors, float64).side("a float64 copy")
            if not float64:
                return side
            # the model's own dtypes, recorded on a private copy when first needed
            own = partial(recorded, lambda ts: caller(False)(ts), tensors, SeededRng(RNG_SEED))
            low = [getattr(torch, user.dtype)] if stage is not None else []
            return with_reference(side, low or [t.dtype for t in tensors.values()], own)

        def caller(float64: bool) -> Callable[[dict[str, torch.Tensor]], Any]:
            inner = model if base is None else copy.deepcopy(base, shared(base))
            for p in inner.parameters():
                p.grad = None
            if float64:
                if base is not None:
                    inner = to_float64(inner)
                hook = inner.register_forward_pre_hook(cast_inputs, with_kwargs=True)
                cleanup.callback(hook.remove)
            wrapper = LossModule(inner, loss_fn)
            bufs = {f"inner.{n}": as_float64(b) if float64 else b for n, b in buffers.items()}

            def call(ts: dict[str, torch.Tensor]) -> Any:
                with_hooks(ts, hooks)
                fresh = {n: b.clone() for n, b in bufs.items()}
                swapped = {f"inner.{n}": t for n, t in ts.items()}
                with Widen(masks) if float64 else nullcontext():  # a float32 target (G1)
                    return backwards(torch.func.functional_call(wrapper, {**fresh, **swapped}, ()))

            return call

        rng.reset()
        # a stage below float64 parameters: a model of its dtype (H131)
        stage = None if stages is None else stages.below([*tensors.values()])
        if stage is not None:
            user = user._replace(dtype=stage.dtype, given=user.dtype)
            notes = (*notes, stage_note(stage, "the loss"))
        report = check_adapted(
            make,
            user,
            precision=precision,
            rng=rng,
            notes=notes,
            options=dict(options),
            start=start,
            unused=UNUSED,
        )
        return explain(noted(report, searched.notes), "torch")


#: The note of a ``Function`` with a ``jvp`` and no backward, checked in forward mode.
NO_BACKWARD = (
    "reverse mode not checked: fn's autograd.Function defines no backward (or vjp), so "
    "modes defaults to what it supports: ('fwd',)"
)


def _has_backward(fn: Callable[..., Any]) -> bool:
    """False only for ``Fn.apply`` of a custom ``Function`` that defines neither a
    ``backward`` nor a ``vjp`` (PyTorch's forward-AD tutorial's ``Fn``: attack29 H73,
    whose default check raised "You must implement either the backward or vjp")."""
    owner = getattr(fn, "__self__", None)
    if not (isinstance(owner, type) and issubclass(owner, torch.autograd.Function)):
        return True
    base = torch.autograd.Function
    return owner.backward is not base.backward or owner.vjp is not base.vjp


def check_function(
    fn: Callable[..., Any],
    *inputs: Any,
    precision: str = "float64",
    modes: Sequence[str] | None = None,
    batched_grad: bool | None = None,
    undefined_grad: bool = True,
    order: int = 1,
    **options: Unpack[Options],
) -> Report:
    """Check the derivatives of ``fn`` for every input tensor that requires grad.

    Each floating output ``out_k`` that requires grad is checked on its own, in each
    mode, through ``<out_k, w_k>`` with a random cotangent ``w_k`` (drawn from a private
    generator seeded by ``seed``, each entry weighted by its fair share, as in
    ``check_jacobian``: ``gradcheck._torch_function``): in reverse mode its gradient is
    the VJP autograd computes with ``w_k`` (the backward); in forward mode it is built
    from JVPs through dual tensors (``torch.autograd.forward_ad``, which runs a custom
    ``Function``'s ``jvp``), one per input entry. With both modes the two rules are also compared
    with each other (``uᵀ(J v) = (uᵀJ) v``, no finite differences; ``_adapters``).

    Args:
        fn: a function of tensors returning a tensor or a tuple/list of tensors.
        *inputs: its arguments; tensors with ``requires_grad`` are checked, named
            ``input0``, ``input1``, ... by position. They are never modified.
        precision: as for :func:`check_module` (every floating input is cast).
        modes: ``("rev",)``, ``("fwd",)`` or ``("rev", "fwd")``; by default both when
            ``fn`` runs under forward AD, else ``("rev",)`` with a note saying why.
            Results are named ``input0`` (reverse, one output), ``out[1]/input0`` (an
            output of several) and ``fwd/...`` (forward mode).
        batched_grad: check the backward under ``torch.func.vmap`` against the
            per-sample backward, as torch's ``check_batched_grad``: ``None`` (default)
            where the backward runs under vmap (else a note), ``True`` (an error where
            it cannot), ``False`` (skip).
        undefined_grad: check the backward with undefined (``None``) cotangents, as
            torch's ``check_undefined_grad`` (default ``True``). Both need reverse
            mode (``gradcheck._torch_batched``); ``report.options["batched_grad"]``
            and ``["undefined_grad"]`` say ``"passed"``, ``"failed"`` or ``"skipped"``,
            and a failure is a result of its own (``batched backward``,
            ``undefined cotangent: out[1]``), so the report fails, naming it.
        order: ``2`` also checks the backward's own derivative against finite
            differences of the backward, through the inputs and the cotangents (the
            double backward, as ``gradgradcheck``; docs/second-order.md).
        **options: passed to :func:`gradcheck.check`.

    Raises:
        GradcheckError: no input requires grad, no output does, ``fn`` raises,
            an unknown ``modes``, or ``"fwd"`` asked of a function without forward mode.

    >>> import torch, gradcheck.torch
    >>> x = torch.randn(3, dtype=torch.float64, requires_grad=True)
    >>> gradcheck.torch.check_function(torch.sin, x).passed
    True
    """
    start = time.perf_counter()
    precision = check_precision(precision)
    options = with_convention(options, "conjugate", "torch")
    wanted = check_modes(modes)
    batched, undefined = check_flags(batched_grad, undefined_grad)
    sparse = sparse_inputs(fn, inputs)
    require_entries(
        {
            f"input{i}": x.numel()
            for i, x in enumerate(sparse.inputs)
            if isinstance(x, torch.Tensor) and x.requires_grad
        }
    )
    if check_order(order) == 2:
        if sparse.found:
            raise GradcheckError(
                "order=2 does not check sparse inputs yet: pass a dense copy "
                "(.to_dense().requires_grad_()) for the second order"
            )
        first = partial(check_function, fn, *inputs, precision=precision, modes=modes, **options)
        with torch.enable_grad(), _kept(fn):  # a caller's torch.no_grad() (attack22 C7b)
            return function_order2(first, fn, inputs, precision, dict(options))
    kept = _kept(fn)
    fn, inputs = sparse.fn, sparse.inputs
    pos = [i for i, x in enumerate(inputs) if isinstance(x, torch.Tensor) and x.requires_grad]
    if not pos:
        raise GradcheckError("no input tensor requires grad: nothing to check")
    names = [f"input{i}" for i in pos]
    for n, i in zip(names, pos):
        validate(n, inputs[i], "input")
    searched = search(fn)  # a walk stopped short is named (state34)
    with torch.enable_grad(), preserve_rng(found=searched.generators) as rng, forked(None), kept:
        xs = [
            x.detach().clone().requires_grad_(i in pos) if isinstance(x, torch.Tensor) else x
            for i, x in enumerate(inputs)
        ]
        f = Function(fn, xs, pos, names, int(options.get("seed", 0)))
        seeded = SeededRng(RNG_SEED)
        ts = {n: xs[i].detach() for n, i in zip(names, pos)}
        rng.reset()
        sparse_note = no_forward(sparse.found, wanted)
        only_rev = wanted == ("rev",) or sparse_note is not None
        only_fwd = wanted is None and not only_rev and not _has_backward(fn)
        error = None if only_rev else forward_error(f.outputs, ts, seeded)
        asked = ("rev",) if only_rev else ("fwd",) if only_fwd else wanted
        chosen, notes = choose_modes(asked, error, REMEDY, BROKEN)
        notes += [NO_BACKWARD] if only_fwd else []
        notes += [] if sparse_note is None else [sparse_note]
        unrun = unrun_hooks([(n, inputs[i]) for n, i in zip(names, pos)])
        notes += [] if unrun is None else [unrun]
        notes += [] if f.stage is None or precision != "float64" else [stage_note(f.stage)]
        fwd = {}
        if "fwd" in chosen:
            rng.reset()
            fwd = forward_grads(ForwardFold(f.outputs, ts, f.ws, seeded, rng.reset))
        runs = [f.run(mode, k, fwd, precision, options, rng) for mode in chosen for k in f.diff]
        agreement = None
        if len(chosen) == 2:
            agreement, retry = rules_agree(f, ts, seeded, rng)
            notes += [] if retry is None else [retry]
        linear = None
        if chosen == ("fwd",):  # with both modes the consistency check sees it too
            outs = [f.outs[k] for k in f.diff]
            used = [*ts.values(), *outs]
            views = real_views(list(ts.values()), outs)
            linear = linearity(
                views.jvp(lambda v: f.jvp(v, ts, seeded, rng)),
                [views.dual(list(fwd[k].values()), views.inputs) for k in f.diff],
                views.dual([dense(f.ws[k]) for k in f.diff], views.outputs),
                views.shapes([tuple(t.shape) for t in ts.values()], views.inputs),
                max(float(torch.finfo(t.dtype).eps) for t in used),
                f.seed,
            )
        side = side_checks(f, seeded, rng, batched, undefined) if "rev" in chosen else []
        seconds = time.perf_counter() - start
        report = combine(runs, notes, agreement, RULES, seconds, linear)
        report = noted(with_side_checks(report, side), searched.notes)
        return explain(relabel(report, sparse.found), "torch")
