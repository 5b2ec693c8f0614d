"""The backward of ``gradcheck.torch.check_function`` batched and with undefined cotangents.

Two checks of the backward that need no finite differences, as torch's own gradcheck
makes them (``check_batched_grad``, ``check_undefined_grad``); each compares two exact
computations of one vector–Jacobian product:

* :func:`batched_backward`: the backward under ``torch.func.vmap`` over a stack of
  cotangents against the per-sample backward, one cotangent at a time. A backward that
  is right alone but wrong when batched (it reads batch-dependent state, or a custom
  batching rule is wrong) fails, named. A backward that cannot run under ``vmap`` (it
  leaves torch through NumPy, calls ``.item()``, an operation with no batching rule) is
  not a wrong gradient: it is skipped with a note unless ``batched_grad=True`` asked.
* :func:`undefined_backward`: the backward when an output's cotangent is undefined
  (``None``: the output was not used by the loss), for every output at once and, with
  several outputs, for each on its own. It must not raise; with every cotangent
  undefined the gradients must be undefined or zero; with one undefined they must
  equal the backward with a zero cotangent for that output.

Agreement is judged by the adapters' consistency rule on a random projection of the
gradients (:func:`gradcheck._tolerances.consistency_tolerance`: round-off of sums of
``n + m`` products plus a relative floor), so a batched kernel that sums in another
order passes and a factor, sign or dropped term fails. Which checks run, on which pass
of the function, and how they enter the report: ``gradcheck._torch_side``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch

from gradcheck._build import Outcome, ParameterOutcome, build_report
from gradcheck._consistency import Consistency
from gradcheck._errors import GradcheckError
from gradcheck._jacreport import consistency_result
from gradcheck._norms import norm2
from gradcheck._report import Diagnosis, ParameterResult
from gradcheck._tolerances import consistency_tolerance
from gradcheck._torch_autograd import fresh
from gradcheck._torch_cast import dense

__all__ = ["SAMPLES", "Graph", "SideCheck", "batched_backward", "undefined_backward"]

Array = np.ndarray[Any, Any]
#: Cotangents stacked for the batched check: torch's ``check_batched_grad`` stacks 2;
#: 3 make a batch whose samples differ from the first and the last.
SAMPLES = 3
#: torch's notice that an operation falls back to a slow loop under ``vmap``.
_SLOW = "There is a performance drop"
#: What fixes a backward that does not run under vmap (the note and error say it).
_VMAP_REMEDY = (
    "a backward that stays in torch operations (no NumPy, .item() or in-place writes "
    "to saved tensors) runs under vmap"
)


class Graph(NamedTuple):
    """A fresh forward pass of ``fn`` to take backward passes of.

    Attributes:
        inputs: the checked inputs (leaves that require grad), by name.
        outputs: the outputs that require grad, by output position.
        run: a fresh pass again (``run()`` gives a new :class:`Graph`): a backward
            that raises may leave a graph half-freed.
        seed: seeds the private generator of cotangents and projections.
    """

    inputs: dict[str, torch.Tensor]
    outputs: dict[int, torch.Tensor]
    run: Callable[[], Graph]
    seed: int


class SideCheck(NamedTuple):
    """A side check's results and messages.

    Attributes:
        option: the option that asks for it (``"batched_grad"``, ``"undefined_grad"``):
            ``report.options[option]`` says ``"passed"``, ``"failed"`` or ``"skipped"``.
        results: what it compared, by name (only a failed one becomes a report
            parameter, so that ``failed_parameters`` names it).
        messages: its lines for the report.
    """

    option: str

    results: dict[str, ParameterResult]
    messages: tuple[str, ...]


def _grads(
    outs: Sequence[torch.Tensor],
    ins: Sequence[torch.Tensor],
    cots: Sequence[torch.Tensor],
) -> tuple[torch.Tensor, ...]:
    """``uᵀJ`` by autograd, a zero tensor for an input the outputs do not use."""
    gs = torch.autograd.grad(
        list(outs), list(ins), fresh(list(cots)), retain_graph=True, allow_unused=True
    )
    return tuple(torch.zeros_like(x) if g is None else g for x, g in zip(ins, gs))


def _normal(seed: Sequence[int], shape: tuple[int, ...]) -> torch.Tensor:
    """Standard normal draws of ``shape`` (float32, on the CPU) from a private torch
    generator seeded by ``seed`` (the user's generators are not read or moved).

    Drawn in float32, as a directional probe's directions (Gaussian to about 1e-7: the
    side checks compare two exact computations of one product, whatever the vector):
    torch's vectorised float32 sampler takes about 5 ms per 10⁶ draws, NumPy's float64
    ziggurat 12-15 ms, and the batched check draws ``SAMPLES + 1`` vectors of that size
    (a third of its time at 10⁶ inputs).
    """
    state = np.random.SeedSequence(list(seed)).generate_state(1, np.uint64)[0]
    gen = torch.Generator(device="cpu").manual_seed(int(state))
    return torch.randn(shape, generator=gen, dtype=torch.float32, device="cpu")


def _cotangents(out: torch.Tensor, seed: int, k: int, n: int) -> torch.Tensor:
    """``n`` standard normal cotangents for output ``k``, stacked, in its dtype."""
    return _normal([seed, 17, k], (n, *out.shape)).to(out.dtype).to(out.device)


def _compare(
    forms: tuple[str, str],
    got: list[Array],
    want: list[Array],
    roundoff: float,
    seed: int,
    size: int,
) -> Consistency:
    """``got[b]`` against ``want[b]`` (flat float64, one size) projected on a random vector.

    One vector ``v`` serves every ``b``: a difference ``d_b ≠ 0`` passes only where
    ``|vᵀd_b|`` is within the round-off tolerance, as unlikely for a shared ``v`` as for
    one drawn per ``b`` (``v`` is drawn apart from the cotangents that make the ``d_b``);
    the draws were a third of the batched check's time at 10⁵ inputs (one per sample).
    """
    v = _normal([seed, 19], (got[0].size if got else 0,)).numpy().astype(np.float64)
    v_norm = norm2(v)
    values, tolerance = [], []
    for a, s in zip(got, want):
        values.append((float(a @ v), float(s @ v)))
        scale = (norm2(a) + norm2(s)) * v_norm
        tolerance.append(consistency_tolerance(roundoff, size, scale))
    wrong = any(
        not abs(x - y) <= t and not (math.isnan(x) and math.isnan(y))
        for (x, y), t in zip(values, tolerance)
    )
    return Consistency(forms, tuple(values), tuple(tolerance), wrong)


def _flat(gs: Sequence[torch.Tensor]) -> Array:
    """The gradients as one flat float64 array (one gradient: its own copy, not copied
    again by a concatenation)."""
    flat = [dense(g).reshape(-1) for g in gs]
    return flat[0] if len(flat) == 1 else np.concatenate(flat)


def _result(c: Consistency, name: str) -> dict[str, ParameterResult]:
    """The comparison ``c`` as a report parameter ``name``."""
    outcome = Outcome((consistency_result(c)._replace(name=name),), math.nan)
    return build_report(outcome, evaluations=0, start=0.0, options={}).parameters


def _single(name: str, failed: bool, text: str = "") -> dict[str, ParameterResult]:
    """A check with one verdict and no numbers, as a report parameter ``name``: a
    backward that raised or gave a nonzero gradient (``failed``, ``text`` why)."""
    outcome = ParameterOutcome(
        name,
        (),
        "float64",
        "failed" if failed else "passed",
        math.nan,
        1,
        failed=int(failed),
        diagnosis=Diagnosis("crash", None, text) if failed else None,
        detection_bound=0.0,
    )
    report = build_report(Outcome((outcome,), math.nan), evaluations=0, start=0.0, options={})
    return report.parameters


def _roundoff(graph: Graph) -> float:
    used = [*graph.inputs.values(), *graph.outputs.values()]
    return max(float(torch.finfo(t.dtype).eps) for t in used)


def _why(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}".rstrip(": ")


def batched_backward(graph: Graph, several: bool, asked: bool) -> SideCheck:
    """The backward under ``torch.func.vmap`` against the per-sample backward.

    Args:
        graph: a fresh pass of ``fn``.
        several: whether ``fn`` has several outputs that require grad (names).
        asked: ``batched_grad=True``: a backward that cannot run under vmap is an error.

    Raises:
        GradcheckError: ``asked`` and the backward does not run under vmap.
    """
    ins = list(graph.inputs.values())
    size_in = sum(x.numel() for x in ins)
    results: dict[str, ParameterResult] = {}
    messages = []
    outs = list(graph.outputs.values())
    for k, out in graph.outputs.items():
        us = _cotangents(out, graph.seed, k, SAMPLES)

        def vjp(u: torch.Tensor, k: int = k) -> tuple[torch.Tensor, ...]:
            # the other outputs get zero cotangents (undefined ones are checked apart)
            cots = [u if j == k else torch.zeros_like(o) for j, o in graph.outputs.items()]
            return _grads(outs, ins, cots)

        want = [_flat(vjp(u)) for u in us]
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=_SLOW)
                stacked = torch.func.vmap(vjp)(us)
        except Exception as exc:
            why = _why(exc)
            if asked:
                raise GradcheckError(
                    f"batched_grad=True asks for the backward under torch.func.vmap, but "
                    f"it raised {why}: {_VMAP_REMEDY}; or pass batched_grad=False"
                ) from exc
            return SideCheck(
                "batched_grad",
                {},
                (
                    f"batched backward not checked: the backward of fn does not run under "
                    f"torch.func.vmap ({why}); {_VMAP_REMEDY}",
                ),
            )
        got = [_flat([g[b] for g in stacked]) for b in range(SAMPLES)]
        forms = ("the backward under vmap", "the per-sample backward")
        c = _compare(forms, got, want, _roundoff(graph), graph.seed + k, size_in + out.numel())
        of = f" of out[{k}]" if several else ""
        results.update(_result(c, f"batched backward{of}"))
        if c.wrong:
            messages.append(
                f"backward under vmap differs from the per-sample backward{of}: the "
                f"gradient of a stack of {SAMPLES} cotangents under torch.func.vmap is not "
                "the stack of their gradients one at a time (a backward that depends on "
                f"the batch, or a wrong batching rule); {c.text()}"
            )
    if not messages:
        messages.append(
            f"the backward under torch.func.vmap agrees with the per-sample backward "
            f"({SAMPLES} stacked cotangents per output)"
        )
    return SideCheck("batched_grad", results, tuple(messages))


def _zero_text(g: Array) -> str:
    return (
        "the backward of fn gives a nonzero gradient (largest entry "
        f"{float(np.max(np.abs(g))):.3g}) when every cotangent is undefined (None: no "
        "output is used by the loss): the gradient must then be zero or None"
    )


def _undefined_case(graph: Graph, make: Any, j: int | None, size: int) -> SideCheck:
    """The backward with output ``j``'s cotangent undefined (``None``: every output's)."""
    ins = list(graph.inputs.values())
    what = "every output" if j is None else f"out[{j}]"
    name = f"undefined cotangent: {what}"
    zero = {k: torch.zeros_like(o) for k, o in graph.outputs.items()}
    cots = {
        k: zero[k] if j in (None, k) else _cotangents(o, graph.seed, k, 1)[0]
        for k, o in graph.outputs.items()
    }
    wrapped = [make()(o) if j in (None, k) else o for k, o in graph.outputs.items()]
    try:
        got = _flat(_grads(wrapped, ins, list(cots.values())))
    except Exception as exc:
        text = (
            f"the backward of fn raised {_why(exc)} when the cotangent of {what} is "
            "undefined (None: the output is not used by the loss): a backward must take "
            "a None gradient as zero (a custom Function gets None where "
            "ctx.set_materialize_grads(False))"
        )
        return SideCheck("undefined_grad", _single(name, True, text), (text,))
    if j is None:
        if np.any(got != 0):
            return SideCheck(
                "undefined_grad", _single(name, True, _zero_text(got)), (_zero_text(got),)
            )
        return SideCheck("undefined_grad", _single(name, False), ())
    want = _flat(_grads(list(graph.outputs.values()), ins, list(cots.values())))
    forms = (f"the backward with out[{j}] undefined", f"a zero cotangent for out[{j}]")
    c = _compare(forms, [got], [want], _roundoff(graph), graph.seed + j, size)
    note = (
        f"the backward with the cotangent of out[{j}] undefined (None) differs from "
        f"the backward with a zero cotangent for it: {c.text()}"
    )
    return SideCheck("undefined_grad", _result(c, name), (note,) if c.wrong else ())


def undefined_backward(graph: Graph, intact: bool = False) -> SideCheck:
    """The backward with undefined cotangents: every output's, then each output's alone.

    Each case runs on a fresh pass (a backward that raises may leave its graph freed),
    the first on ``graph`` itself where it is ``intact``: no backward taken of it has
    raised (the batched check's backward passes all keep their graph). At N = 10⁶ a pass
    is one forward of ``fn`` with its graph, one of the 12 calls of a reverse-mode check.
    """
    make = getattr(torch._C._functions, "UndefinedGrad", None)
    if make is None:
        return SideCheck(
            "undefined_grad",
            {},
            (
                "undefined cotangents not checked: this torch has no "
                "torch._C._functions.UndefinedGrad",
            ),
        )
    outs = list(graph.outputs)
    size = sum(x.numel() for x in graph.inputs.values())
    size += sum(o.numel() for o in graph.outputs.values())
    cases: list[int | None] = [None, *(outs if len(outs) > 1 else [])]
    found = [
        _undefined_case(graph if intact and k == 0 else graph.run(), make, j, size)
        for k, j in enumerate(cases)
    ]
    results = {n: r for s in found for n, r in s.results.items()}
    messages = [m for s in found for m in s.messages]
    if not messages:
        messages.append("the backward takes undefined (None) cotangents as zero")
    return SideCheck("undefined_grad", results, tuple(messages))
