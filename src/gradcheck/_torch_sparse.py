"""Sparse inputs of ``gradcheck.torch.check_function``: checked on their stored values.

A sparse tensor holds a few stored values at given indices; its other entries are not
there at all. As ``torch.autograd.gradcheck(..., masked=True)`` does, the gradient is
checked with respect to the stored values only: the finite differences perturb one
stored value at a time (an unstored entry is never made nonzero), and the analytic
gradient of a stored value is the backward's gradient at that value's index (what
the backward puts at an unstored index is not part of the masked derivative).

So each sparse input that requires grad becomes its values tensor for the check, a
dense leaf, and ``fn`` is called with the sparse tensor rebuilt from it, with the
same indices, shape and layout (``torch.sparse_coo_tensor`` /
``torch.sparse_csr_tensor``, whose backward gathers the gradient at the stored
indices: the masked gradient). The report is then told in terms of the sparse
tensor (:func:`relabel`): entries named by their index in the dense tensor
(``input0[2, 5]``), the parameter's shape the dense shape.

Layouts: COO (coalesced; hybrid COO with dense dimensions too) and two-dimensional
CSR; any other (CSC, BSR, BSC, batched or hybrid CSR) is refused with what to do.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, NamedTuple

import numpy as np
import torch

from gradcheck._errors import GradcheckError
from gradcheck._report import Entry, ParameterResult, Report

__all__ = ["Sparse", "SparseInput", "no_forward", "relabel", "sparse_inputs"]

Array = np.ndarray[Any, Any]
#: The layouts checked, by the name the messages give them.
LAYOUTS = {torch.sparse_coo: "COO", torch.sparse_csr: "CSR"}
#: torch's one-time notice on building a CSR tensor (its own, not the user's code).
_CSR_BETA = "Sparse CSR tensor support is in beta"


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence torch's beta notice for CSR tensors (under ``-W error`` it raises)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_CSR_BETA)
        yield


def _batched(t: torch.Tensor) -> bool:
    """Whether ``t`` is a tensor being batched by ``torch.func.vmap``."""
    test = getattr(torch._C._functorch, "is_batchedtensor", None)
    return bool(test(t)) if test is not None else False


class SparseInput(NamedTuple):
    """One sparse input that requires grad, and how to rebuild it from its values.

    Attributes:
        position: its position among ``fn``'s arguments.
        name: its name in the report (``"input0"``).
        layout: ``torch.sparse_coo`` or ``torch.sparse_csr``.
        shape: the dense shape.
        structure: what the layout needs beside the values: the COO indices, or the
            CSR ``crow_indices`` and ``col_indices``.
        where: ``(sparse_dims, nnz)``: each stored value's index in the sparse
            dimensions of the dense tensor, in the values' order.
    """

    position: int
    name: str
    layout: torch.layout
    shape: tuple[int, ...]
    structure: tuple[torch.Tensor, ...]
    where: Array

    def build(self, values: torch.Tensor) -> torch.Tensor:
        """The sparse tensor with ``values`` as its stored values (autograd flows).

        Raises:
            NotImplementedError: under ``torch.func.vmap``, which cannot batch the
                sparse constructors (the check then evaluates one point at a time).
        """
        if _batched(values):
            raise NotImplementedError(
                f"{self.name} is a sparse tensor rebuilt from its stored values at each "
                "evaluation, which torch.func.vmap cannot batch"
            )
        if self.layout == torch.sparse_coo:
            (indices,) = self.structure
            return torch.sparse_coo_tensor(
                indices.to(values.device),
                values,
                self.shape,
                is_coalesced=True,
                check_invariants=False,
            )
        crow, col = (t.to(values.device) for t in self.structure)
        with _quiet():
            return torch.sparse_csr_tensor(crow, col, values, self.shape, check_invariants=False)

    def dense_index(self, index: tuple[int, ...]) -> tuple[int, ...]:
        """The index in the dense tensor of entry ``index`` of the values tensor."""
        if not index:
            return index
        return (*(int(i) for i in self.where[:, index[0]]), *index[1:])

    def label(self) -> str:
        """``"sparse COO tensor of shape (3, 4) with 5 stored values"``."""
        shape = ", ".join(map(str, self.shape))
        return (
            f"a sparse {LAYOUTS[self.layout]} tensor of shape ({shape}) with "
            f"{self.where.shape[1]} stored values"
        )


class Sparse(NamedTuple):
    """``fn`` and its inputs with every sparse input replaced by its values.

    Attributes:
        fn: ``fn`` of the values tensors: it rebuilds each sparse input and calls the
            user's ``fn``.
        inputs: the inputs, each sparse one replaced by a private copy of its values
            (a dense leaf that requires grad).
        found: the sparse inputs replaced (empty: nothing to do).
    """

    fn: Callable[..., Any]
    inputs: tuple[Any, ...]
    found: tuple[SparseInput, ...]


def _refuse(name: str, x: torch.Tensor) -> None:
    """Raise for a sparse tensor this module does not check, saying what to do."""
    layout = str(x.layout).removeprefix("torch.")
    if x.layout == torch.sparse_coo and not x.is_coalesced():
        raise GradcheckError(
            f"{name!r} is an uncoalesced sparse COO tensor (an index may be stored more "
            "than once, so its stored values are not entries of the dense tensor one to "
            f"one): pass {name}.coalesce() (detached, with requires_grad_()), which "
            "stores each index once"
        )
    if x.layout == torch.sparse_csr and (x.dim() != 2 or x.values().dim() != 1):
        why = f"of {x.dim()} dimensions" if x.dim() != 2 else "with dense dimensions"
        raise GradcheckError(
            f"{name!r} is a sparse CSR tensor {why}, which gradcheck does not check: "
            "pass it as COO (x.detach().to_sparse_coo().requires_grad_()), whose stored "
            "values are checked the same way, or dense (.to_dense())"
        )
    if x.layout not in LAYOUTS:
        raise GradcheckError(
            f"{name!r} is a sparse tensor of layout {layout}, which gradcheck does not "
            "check (sparse COO and CSR inputs are checked on their stored values): pass "
            "it as COO (x.detach().to_sparse_coo().requires_grad_()) or CSR "
            "(.to_sparse_csr()), or dense (.to_dense())"
        )


def _describe(position: int, name: str, x: torch.Tensor) -> SparseInput:
    """The rebuild recipe of the sparse input ``x`` (checked by :func:`_refuse`)."""
    _refuse(name, x)
    x = x.detach()
    shape = tuple(x.shape)
    if x.layout == torch.sparse_coo:
        indices = x._indices().clone()
        return SparseInput(position, name, x.layout, shape, (indices,), indices.cpu().numpy())
    crow, col = x.crow_indices().clone(), x.col_indices().clone()
    rows = np.repeat(np.arange(shape[0]), np.diff(crow.cpu().numpy()))
    where = np.stack([rows, col.cpu().numpy()])
    return SparseInput(position, name, x.layout, shape, (crow, col), where)


def _values(x: torch.Tensor) -> torch.Tensor:
    """A private copy of the stored values of ``x``, a leaf that requires grad."""
    values = x._values() if x.layout == torch.sparse_coo else x.values()
    return values.detach().clone().requires_grad_()


def sparse_inputs(fn: Callable[..., Any], inputs: Sequence[Any]) -> Sparse:
    """``fn`` and ``inputs`` with each sparse input that requires grad as its values.

    Args:
        fn: the user's function.
        inputs: its arguments (never modified: the values are copied).

    Raises:
        GradcheckError: a sparse input that requires grad is of a layout not checked
            (CSC, BSR, BSC, batched or hybrid CSR) or an uncoalesced COO tensor; the
            message names it and says what to pass instead.
    """
    found = tuple(
        _describe(i, f"input{i}", x)
        for i, x in enumerate(inputs)
        if isinstance(x, torch.Tensor) and x.layout != torch.strided and x.requires_grad
    )
    if not found:
        return Sparse(fn, tuple(inputs), ())
    by_position = {s.position: s for s in found}
    replaced = tuple(_values(x) if i in by_position else x for i, x in enumerate(inputs))

    def rebuilt(*args: Any) -> Any:
        built = (by_position[i].build(a) if i in by_position else a for i, a in enumerate(args))
        return fn(*built)

    return Sparse(rebuilt, replaced, found)


def _owner(name: str, found: Sequence[SparseInput]) -> SparseInput | None:
    """The sparse input a result is named after (``"out[1]/input0"``: ``input0``)."""
    return next((s for s in found if name.rsplit("/", 1)[-1] == s.name), None)


def _entry(e: Entry, found: Sequence[SparseInput]) -> Entry:
    """An entry of a values tensor, named by its index in the dense tensor."""
    s = _owner(e.parameter, found)
    return e if s is None else replace(e, index=s.dense_index(e.index))


def _errors(errors: Array | None, s: SparseInput) -> Array | None:
    """Per-entry errors of the values, placed in the dense shape (NaN: not stored)."""
    if errors is None:
        return None
    dense = np.full(s.shape, np.nan)
    dense[tuple(s.where)] = errors
    return dense


def _parameter(p: ParameterResult, s: SparseInput, found: Sequence[SparseInput]) -> ParameterResult:
    """A sparse input's result: its dense shape, entries named by dense index."""
    return replace(
        p,
        shape=s.shape,
        worst=tuple(_entry(e, found) for e in p.worst),
        errors=_errors(p.errors, s),
    )


def _text(text: str, found: Sequence[SparseInput]) -> str:
    """``text`` with every label ``input0[k]`` of a stored value as its dense index."""
    for s in found:

        def dense(m: re.Match[str], s: SparseInput = s) -> str:
            index = tuple(int(i) for i in m.group(1).split(","))
            return f"{s.name}[{', '.join(map(str, s.dense_index(index)))}]"

        text = re.sub(rf"(?<![\w.]){re.escape(s.name)}\[(\d+(?:, ?\d+)*)\]", dense, text)
    return text


def relabel(report: Report, found: Sequence[SparseInput]) -> Report:
    """The report of the values tensors, told in terms of the sparse inputs.

    Each sparse input's results get its dense shape; every entry (worst lists,
    pinned entries, messages) is named by its index in the dense tensor; ``size``
    and ``checked`` count stored values, and localisation's flat ``regions`` count
    stored values in their stored order. A message says what was checked.
    """
    if not found:
        return report
    params = {}
    for n, p in report.parameters.items():
        s = _owner(n, found)
        params[n] = p if s is None else _parameter(p, s, found)
    loc = dict(report.localisation)
    if "pinned" in loc:
        loc["pinned"] = [_text(str(label), found) for label in loc["pinned"]]
    notes = [
        f"{s.name}: {s.label()}: its gradient is checked with respect to the stored "
        "values only (masked semantics, as torch.autograd.gradcheck(masked=True)); "
        "entries are named by their index in the dense tensor"
        for s in found
    ]
    return replace(
        report,
        parameters=params,
        worst=tuple(_entry(e, found) for e in report.worst),
        messages=(*(_text(m, found) for m in report.messages), *notes),
        localisation=loc,
    )


def no_forward(found: Sequence[SparseInput], wanted: tuple[str, ...] | None) -> str | None:
    """Why forward mode is not checked with sparse inputs (``None``: none is sparse, or
    only reverse mode is asked for).

    gradcheck rebuilds each sparse input from its values with ``torch.sparse_coo_tensor``
    (``sparse_csr_tensor``), and torch has no forward AD through those constructors: the
    jvp probe would fail in gradcheck's own code, not in ``fn``, and no ``jvp`` the user
    writes could change that.

    Raises:
        GradcheckError: ``wanted`` asks for forward mode.
    """
    if not found or wanted == ("rev",):
        return None
    names = ", ".join(s.name for s in found)
    why = (
        f"forward mode is not checked for sparse inputs ({names}): torch has no forward AD "
        "through the sparse constructors gradcheck rebuilds them with"
    )
    dense = "pass a dense copy (.to_dense().requires_grad_()) to check the jvp"
    if wanted is not None and "fwd" in wanted:
        raise GradcheckError(f"modes={wanted!r}: {why}; check modes=('rev',), or {dense}")
    return f"{why}; {dense}"
