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
statistics never move; that copy is taken before the analytic pass, so buffers moved
in forward start from the user's values on both sides. Every evaluation starts from
the global torch RNG state (CPU and CUDA) that seeding with :data:`RNG_SEED` gives, so
dropout draws the same mask every time and a model in train mode has a well-defined
gradient; after each evaluation, and on exit, the RNG is as before. NumPy's and
``random``'s global states are saved on entry and put back before every call of the
user's code (analytic pass, probes, evaluations), so both sides draw the same numbers.
Precision and tolerance: see ``gradcheck._frameworks``.

>>> import torch, gradcheck.torch
>>> model = torch.nn.Linear(3, 2)
>>> x = torch.randn(4, 3)
>>> gradcheck.torch.check_module(model, lambda m: m(x).pow(2).sum()).status
'passed'
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

try:
    import torch
except ImportError as exc:  # pragma: no cover - the extra is always installed in CI
    raise ImportError("gradcheck.torch needs PyTorch: pip install 'gradcheck[torch]'") from exc

from gradcheck._errors import GradcheckError
from gradcheck._evaluate import GlobalRng, preserve_rng
from gradcheck._frameworks import agrees, check_precision, first_value, probe_batched, run_check
from gradcheck._report import Report

__all__ = ["RNG_SEED", "check_function", "check_module"]

#: The seed the torch RNG is set to (inside a fork) before every evaluation.
RNG_SEED = 20261124
_NUMPY = {torch.float64: np.float64, torch.float32: np.float32, torch.float16: np.float16}
Loss = Callable[[Any], Any]


def _cuda_devices() -> list[int]:
    return list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []


@contextmanager
def _forked(seed: int | None = RNG_SEED) -> Iterator[None]:
    """Fork the global torch RNGs (CPU and every CUDA device); seed inside if asked."""
    with torch.random.fork_rng(devices=_cuda_devices()):
        if seed is not None:
            torch.manual_seed(seed)
        yield


@contextmanager
def _preserved(model: torch.nn.Module) -> Iterator[None]:
    """Restore parameters, buffers, grads, flags and modes of ``model`` on exit."""
    params = list(model.named_parameters(remove_duplicate=False))
    saved = [(p, p.detach().clone(), p.requires_grad, p.grad) for _, p in params]
    grads = [None if g is None else g.detach().clone() for *_, g in saved]
    buffers = [(b, b.detach().clone()) for _, b in model.named_buffers(remove_duplicate=False)]
    modes = [(m, m.training) for m in model.modules()]
    try:
        yield
    finally:
        with torch.no_grad():
            for (p, value, flag, grad), gvalue in zip(saved, grads):
                p.copy_(value)
                p.requires_grad_(flag)
                if grad is not None and gvalue is not None:
                    grad.copy_(gvalue)
                p.grad = grad
            for b, value in buffers:
                b.copy_(value)
        for m, training in modes:
            m.training = training


class _Loss(torch.nn.Module):
    """``loss_fn(inner)`` as a module, so ``functional_call`` can swap its tensors."""

    def __init__(self, inner: torch.nn.Module, loss_fn: Loss) -> None:
        super().__init__()
        self.inner = inner
        self.loss_fn = loss_fn

    def forward(self) -> Any:
        return self.loss_fn(self.inner)


def _to_float64(args: Any) -> Any:
    if isinstance(args, torch.Tensor) and args.is_floating_point():
        return args.to(torch.float64)
    if isinstance(args, (list, tuple)):
        return type(args)(_to_float64(a) for a in args)
    if isinstance(args, dict):
        return {k: _to_float64(v) for k, v in args.items()}
    return args


def _cast_inputs(_: torch.nn.Module, args: Any, kwargs: Any) -> Any:
    return _to_float64(args), _to_float64(kwargs)


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _as_numpy(t: torch.Tensor, precision: str, name: str) -> np.ndarray[Any, Any]:
    t = t.detach().cpu()
    if precision == "float64":
        return np.array(t.to(torch.float64).numpy(), copy=True)
    if t.dtype not in _NUMPY:
        raise GradcheckError(
            f"{name!r} has dtype {t.dtype}, which NumPy cannot hold: use precision='float64'"
        )
    return np.array(t.numpy(), copy=True)


def _scalar(value: Any, where: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor) or value.numel() != 1:
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise GradcheckError(f"{where} must return a scalar tensor, got {shape}")
    return value.reshape(())


class _SeededRng:
    """Start each evaluation from the torch RNG state ``manual_seed(seed)`` gives.

    What ``fork_rng`` + ``manual_seed`` does before every evaluation, at a fraction of
    the cost: ``manual_seed`` takes about 70 µs (more than a small model's forward
    pass), getting and setting a state under 1 µs. The seeded states (CPU and every
    CUDA device) are taken once; each evaluation saves the caller's states, sets the
    seeded ones and puts the caller's back afterwards, whatever happens.
    """

    def __init__(self, seed: int) -> None:
        self.cuda = _cuda_devices()
        with _forked(seed):
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


class _Numeric:
    """The numerical side: evaluate on tensors, with the seeded RNG and no autograd."""

    def __init__(self, call: Callable[[dict[str, torch.Tensor]], Any],
                 devices: dict[str, torch.device], seed: int) -> None:  # fmt: skip
        self.call, self.devices, self.seeded = call, devices, _SeededRng(seed)

    def _tensors(self, tree: dict[str, Any]) -> dict[str, torch.Tensor]:
        return {n: torch.from_numpy(np.asarray(a)).to(self.devices[n]) for n, a in tree.items()}

    def cost(self, tree: dict[str, Any]) -> Any:
        with torch.no_grad(), self.seeded():
            return _scalar(self.call(self._tensors(tree)), "the loss").detach().cpu().numpy()

    def batched(self, stacked: dict[str, Any]) -> Any:
        ts = self._tensors({n: np.ascontiguousarray(a) for n, a in stacked.items()})
        with torch.no_grad(), self.seeded():
            out = torch.func.vmap(self.call, randomness="same")(ts)
        return out.detach().reshape(-1).cpu().to(torch.float64).numpy()


def _run(
    make: Callable[[str], _Numeric],
    tensors: dict[str, torch.Tensor],
    grads: dict[str, np.ndarray[Any, Any]],
    value: float,
    precision: str,
    notes: list[str],
    options: dict[str, Any],
    rng: GlobalRng,
) -> Report:
    """Pick the precision (falling back if float64 fails), batching, and run the engine.

    Every call of the user's code starts from the user's global NumPy and ``random``
    states (``rng``), as the analytic pass did.
    """
    dtypes = {t.dtype for t in tensors.values()}
    user = max(dtypes, key=lambda d: torch.finfo(d).eps)  # the least precise dtype
    user_dtype = _dtype_name(user)
    if precision == "float64" and user != torch.float64:
        numeric = make("float64")
        params = {n: _as_numpy(t, "float64", n) for n, t in tensors.items()}
        rng.reset()
        try:
            j = float(numeric.cost(params))
            reason = None if agrees(value, j) else f"its loss {j!r} differs from {value!r}"
        except Exception as exc:
            reason = f"it raised {type(exc).__name__}: {exc}"
        if reason is not None:
            notes.append(f"a float64 copy could not be used ({reason}); checked in {user_dtype}")
            precision = "model"
    elif user == torch.float64:
        precision = "float64"
    if precision == "model" or user == torch.float64:
        numeric = make("model")
        params = {n: _as_numpy(t, "model", n) for n, t in tensors.items()}
    u = float(np.finfo(np.float64 if precision == "float64" else _NUMPY[user]).eps)
    batched = None
    if options.get("executor") is None:
        j0 = first_value(numeric.cost, params, rng)
        stacked = {n: np.stack([a, a]) for n, a in params.items()}
        why = probe_batched(numeric.batched, stacked, j0, u, rng)
        if why is None:
            batched = numeric.batched
        else:
            notes.append(f"evaluations are not vectorised (torch.func.vmap: {why})")
    return run_check(
        numeric.cost, params, grads, precision=precision, user_dtype=user_dtype,
        batched=batched, notes=notes, options=options, rng=rng,
    )  # fmt: skip


def _grads(out: Any, inputs: Sequence[torch.Tensor], names: Sequence[str], notes: list[str],
           grad_outputs: Any = None) -> dict[str, np.ndarray[Any, Any]]:  # fmt: skip
    gs = torch.autograd.grad(out, list(inputs), grad_outputs=grad_outputs, allow_unused=True)
    result = {}
    for name, t, g in zip(names, inputs, gs):
        if g is None:
            notes.append(f"{name}: autograd gave no gradient (unused); taken as zero")
            g = torch.zeros_like(t)
        result[name] = g.detach().cpu().to(torch.float64).numpy().copy()
    return result


def check_module(
    model: torch.nn.Module, loss_fn: Loss, *, precision: str = "float64", **options: Any
) -> Report:
    """Check the gradient autograd computes for every parameter that requires grad.

    Args:
        model: the model; it is never modified (see the module doc).
        loss_fn: ``loss_fn(model) -> scalar tensor``. It must compute the loss with the
            model it is given (the numerical side passes a private copy).
        precision: ``"float64"`` (default): finite differences on a float64 copy of the
            model, inputs cast to float64 on the way in, against autograd's gradient in
            the model's dtype with the tolerance of ``gradcheck._frameworks``; falls
            back to the model's dtype (with a message) when the copy fails or computes
            a different loss. ``"model"``: everything in the model's dtype.
        **options: passed to :func:`gradcheck.check` (``mode``, ``sample``, ``method``,
            ``rtol``, ``seed``, ...).

    Returns:
        A :class:`~gradcheck.Report` whose parameters are ``named_parameters()`` names.

    Raises:
        GradcheckError: no parameter requires grad, or ``loss_fn`` fails (named).
    """
    precision = check_precision(precision)
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if not named:
        raise GradcheckError("the model has no parameter that requires grad: nothing to check")
    for n, p in named:
        if not p.is_floating_point():
            raise GradcheckError(f"parameter {n!r} has dtype {p.dtype}; real floats only")
    names = [n for n, _ in named]
    notes: list[str] = []
    with preserve_rng() as rng, _forked(None), _preserved(model):
        # the private copy is taken before the analytic pass, so both sides start from
        # the buffers the user had (EMA statistics, counters that move in forward)
        snapshot = copy.deepcopy(model)
        with _forked():
            try:
                loss = _scalar(loss_fn(model), "loss_fn")
            except GradcheckError:
                raise
            except Exception as exc:
                raise GradcheckError(
                    f"loss_fn raised {type(exc).__name__}: {exc} (computing the analytic "
                    "gradient)"
                ) from exc
            if not loss.requires_grad:
                raise GradcheckError(
                    "loss_fn returned a tensor that does not require grad: does it use the "
                    "model it is given, outside torch.no_grad()?"
                )
            grads = _grads(loss, [p for _, p in named], names, notes)
            value = float(loss.detach())
        tensors = {n: p.detach().clone() for n, p in named}
        devices = {n: p.device for n, p in named}

        def make(precision: str) -> _Numeric:
            inner = copy.deepcopy(snapshot)
            for p in inner.parameters():
                p.grad = None
            if precision == "float64":
                inner = inner.to(torch.float64)
                inner.register_forward_pre_hook(_cast_inputs, with_kwargs=True)
            wrapper = _Loss(inner, loss_fn)
            buffers = {f"inner.{n}": b for n, b in inner.named_buffers()}

            def call(ts: dict[str, torch.Tensor]) -> Any:
                fresh = {n: b.clone() for n, b in buffers.items()}
                swapped = {f"inner.{n}": t for n, t in ts.items()}
                return torch.func.functional_call(wrapper, {**fresh, **swapped}, ())

            return _Numeric(call, devices, RNG_SEED)

        return _run(make, tensors, grads, value, precision, notes, options, rng)


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
    precision = check_precision(precision)
    pos = [i for i, x in enumerate(inputs) if isinstance(x, torch.Tensor) and x.requires_grad]
    if not pos:
        raise GradcheckError("no input tensor requires grad: nothing to check")
    for i in pos:
        if not inputs[i].is_floating_point():
            raise GradcheckError(f"input{i} has dtype {inputs[i].dtype}; real floats only")
    names = [f"input{i}" for i in pos]
    notes: list[str] = []
    seed = int(options.get("seed", 0))
    with preserve_rng() as rng, _forked(None):
        xs = [x.detach().clone().requires_grad_(i in pos) if isinstance(x, torch.Tensor)
              else x for i, x in enumerate(inputs)]  # fmt: skip
        with _forked():
            try:
                out = fn(*xs)
            except Exception as exc:
                raise GradcheckError(f"fn raised {type(exc).__name__}: {exc}") from exc
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
        devices = {n: xs[i].device for n, i in zip(names, pos)}

        def make(precision: str) -> _Numeric:
            fixed = [x.detach().clone() if isinstance(x, torch.Tensor) else x for x in xs]
            if precision == "float64":
                fixed = _to_float64(fixed)
            cot = {k: v.to(torch.float64) for k, v in v64.items()}

            def call(ts: dict[str, torch.Tensor]) -> Any:
                args = list(fixed)
                for n, i in zip(names, pos):
                    args[i] = ts[n]
                res = fn(*args)
                res = list(res) if isinstance(res, (tuple, list)) else [res]
                return sum((res[k].to(torch.float64) * cot[k]).sum() for k in diff)

            return _Numeric(call, devices, RNG_SEED)

        return _run(make, tensors, grads, value, precision, notes, options, rng)
