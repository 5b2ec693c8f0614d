"""Complex parameters: a real cost of complex parameters, checked on its real view.

A real cost ``J`` of a complex parameter ``z = x + iy`` is a real function of the real
pair ``(x, y)``, and that is what is checked: each complex leaf of shape ``S`` becomes
a private real leaf of shape ``(*S, 2)`` holding ``x`` in ``[..., 0]`` and ``y`` in
``[..., 1]``; the cost and a gradient function see the complex view of it (no copy),
and the claimed gradient ``g`` becomes ``(∂J/∂x, ∂J/∂y)``:

===============  ==============================  ===========================  ==========
convention       ``g``                           in Wirtinger terms           who
===============  ==============================  ===========================  ==========
``"conjugate"``  ``∂J/∂x + i ∂J/∂y``             ``2 ∂J/∂z̄``                  torch
``"plain"``      ``∂J/∂x − i ∂J/∂y``             ``2 ∂J/∂z``                  ``jax.grad``
===============  ==============================  ===========================  ==========

``"conjugate"`` (the default) is what PyTorch's ``.grad`` holds for a real loss and
the direction of steepest ascent; ``jax.grad`` of a real function of complex input
returns its conjugate (``docs/numerics.md``, "Complex numbers", cites both and
shows the experiment). The report names each complex entry by its index and part:
``z[3] (imag)``.

>>> import numpy as np, gradcheck
>>> z = np.array([1 + 2j, -0.5 + 1j])
>>> gradcheck.check(lambda p: float(np.sum(np.abs(p) ** 2)), z, 2 * z).status
'passed'
>>> r = gradcheck.check(lambda p: float(np.sum(np.abs(p) ** 2)), z, 2 * np.conj(z))
>>> r.parameters["x"].diagnosis.kind
'conjugate'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, Literal, NamedTuple

import numpy as np

from gradcheck._errors import GradcheckError
from gradcheck._pytree import TreeDef, builder, flatten, flatten_paths, match_gradient
from gradcheck._report import Entry, ParameterResult, Report, entry_label

__all__ = [
    "CONVENTIONS",
    "PARTS",
    "ComplexConvention",
    "Realified",
    "check_convention",
    "complex_view",
    "pair",
    "realify",
]

Array = np.ndarray[Any, Any]
Cost = Callable[[Any], Any]
ComplexConvention = Literal["conjugate", "plain"]
#: The gradient conventions for complex parameters (see the module's table).
CONVENTIONS: tuple[str, ...] = ("conjugate", "plain")
#: What the trailing axis of a complex leaf's real view holds, by position.
PARTS = ("real", "imag")


def check_convention(convention: Any) -> None:
    """Raise unless ``convention`` is one of :data:`CONVENTIONS`."""
    if not (isinstance(convention, str) and convention in CONVENTIONS):
        raise GradcheckError(
            f"option complex_convention={convention!r} must be 'conjugate' (the default: "
            "the gradient of a real cost is ∂J/∂x + i·∂J/∂y for z = x + iy, what torch's "
            ".grad holds) or 'plain' (∂J/∂x − i·∂J/∂y, what jax.grad returns)"
        )


def _is_complex(value: Any) -> bool:
    """Whether an array, tensor or number has a complex dtype."""
    if hasattr(value, "is_complex"):  # a torch tensor
        return bool(value.is_complex())
    return bool(np.iscomplexobj(value))


def complex_view(x: Array) -> Array:
    """The complex view of a real leaf whose trailing axis holds (real, imag).

    A C-contiguous leaf aligned for the complex type is viewed in place (the
    evaluator's private copies are); any other is combined into a new complex array
    of the matching precision (an unaligned complex view crashes torch's kernels).
    """
    cdtype = np.result_type(x.dtype, np.complex64)
    aligned = x.ctypes.data % cdtype.alignment == 0
    if x.flags.c_contiguous and aligned and cdtype.itemsize == 2 * x.dtype.itemsize:
        view: Array = x.view(cdtype).reshape(x.shape[:-1])
        return view
    out = np.empty(x.shape[:-1], dtype=cdtype)
    out.real, out.imag = x[..., 0], x[..., 1]
    return out


def pair(z: Array, sign: float = 1.0) -> Array:
    """The real view ``(Re z, sign · Im z)`` of a complex array, a new C array.

    ``sign = -1`` turns a gradient in the ``"plain"`` convention into the gradient of
    the real view (``∂J/∂x − i ∂J/∂y`` into ``(∂J/∂x, ∂J/∂y)``).
    """
    out = np.empty((*z.shape, 2), dtype=z.real.dtype)
    out[..., 0] = z.real
    out[..., 1] = sign * z.imag if sign != 1.0 else z.imag
    return out


class _Complexify:
    """Turns a tree of real leaves into the user's tree of complex ones, where needed.

    Picklable when the user's functions are (a process executor sends the cost); the
    compiled tree builder is made again in each process.
    """

    def __init__(self, mask: Sequence[bool]) -> None:
        self.mask = tuple(mask)
        self._build: Callable[[Sequence[Any]], Any] | None = None
        self._treedef: TreeDef | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"mask": self.mask, "_build": None, "_treedef": None}

    def __call__(self, tree: Any) -> Any:
        _, leaves, treedef = flatten_paths(tree)
        if self._build is None or treedef != self._treedef:
            self._build, self._treedef = builder(treedef), treedef
        out = [
            complex_view(np.asarray(x)) if c else x for x, c in zip(leaves, self.mask, strict=True)
        ]
        return self._build(out)


class _Cost:
    """The user's cost of the complex parameters, as a cost of their real views."""

    def __init__(self, cost: Cost, to_complex: _Complexify, batched: bool = False) -> None:
        self.cost, self.to_complex, self.batched = cost, to_complex, batched

    def __call__(self, tree: Any) -> Any:
        value = self.cost(self.to_complex(tree))
        if _is_complex(value):
            what = "batched cost" if self.batched else "cost"
            raise GradcheckError(
                f"the {what} returned a complex value ({getattr(value, 'dtype', 'complex')}): "
                "gradcheck.check checks a real cost of complex parameters. Return a real "
                "number: the real part (np.real) when the imaginary part is only round-off, "
                "or a magnitude (abs(...)**2); to check a complex-valued function, use "
                "gradcheck.check_jacobian, which takes complex outputs"
            )
        return value


class _Gradient:
    """The user's gradient at complex parameters, as a gradient of their real views."""

    def __init__(self, grad: Callable[[Any], Any], to_complex: _Complexify, real: _Real) -> None:
        self.grad, self.to_complex, self.real = grad, to_complex, real

    def __call__(self, tree: Any) -> Any:
        params = self.to_complex(tree)
        return self.real(self.grad(params), params)


class _Real:
    """Maps a gradient of the complex parameters to the gradient of their real views."""

    def __init__(self, mask: Sequence[bool], convention: str) -> None:
        self.mask = tuple(mask)
        self.sign = 1.0 if convention == "conjugate" else -1.0

    def __call__(self, grad: Any, params: Any) -> Any:
        names, _, treedef = flatten(params)
        values = match_gradient(params, grad)
        out = []
        for name, g, c in zip(names, values, self.mask, strict=True):
            if not c:
                out.append(g)
                continue
            if hasattr(g, "detach"):
                g = g.detach().cpu().numpy()
            g = np.asarray(g)
            if not np.issubdtype(g.dtype, np.number):
                raise GradcheckError(f"gradient for {name!r} has unsupported dtype {g.dtype}")
            out.append(pair(np.asarray(g, dtype=np.result_type(g.dtype, np.complex64)), self.sign))
        return builder(treedef)(out)


class Realified(NamedTuple):
    """A check of complex parameters, restated on their real views.

    Attributes:
        cost: the cost of the real views.
        params: the parameters with every complex leaf replaced by its real view (a
            private copy; real leaves are the user's own).
        grad: the gradient of the real views (an array tree, or a function).
        batched: the batched cost of the real views, or None.
        names: the complex parameters' names.
        dtypes: their complex dtypes, by name.
        convention: the gradient convention (:data:`CONVENTIONS`).
    """

    cost: Cost
    params: Any
    grad: Any
    batched: Cost | None
    names: frozenset[str]
    dtypes: dict[str, np.dtype[Any]]
    convention: str


def _leaf_is_complex(leaf: Any) -> bool:
    """A complex NumPy array or number (framework tensors are refused later, by name)."""
    return not hasattr(leaf, "detach") and _is_complex(leaf)


def realify(
    cost: Cost,
    params: Any,
    grad: Any,
    *,
    batched: Cost | None,
    method: Any,
    convention: str,
) -> Realified | None:
    """The check restated on real views, or None when no parameter is complex.

    Raises:
        GradcheckError: ``method="complex"`` with a complex parameter, or a complex
            parameter with a non-finite entry (both named).
    """
    check_convention(convention)
    if params is None or not callable(cost):
        return None  # the plan names these
    names, leaves, treedef = flatten(params)
    mask = [_leaf_is_complex(x) for x in leaves]
    if not any(mask):
        return None
    first = names[mask.index(True)]
    if method == "complex":
        raise GradcheckError(
            f"method='complex' cannot check complex parameter {first!r}: the complex step "
            "perturbs along the imaginary axis, which a complex parameter already uses for "
            "its imaginary part; use method='central' (the default) or 'richardson'"
        )
    real_leaves, dtypes = [], {}
    for name, leaf, c in zip(names, leaves, mask):
        if not c:
            real_leaves.append(leaf)
            continue
        z = np.asarray(leaf)
        bad = np.flatnonzero(~np.isfinite(z.reshape(-1)))
        if bad.size:
            at = tuple(int(t) for t in np.unravel_index(int(bad[0]), z.shape))
            raise GradcheckError(f"parameter {name!r} has a non-finite value at index {at}")
        dtypes[name] = z.dtype
        real_leaves.append(pair(z))
    to_complex = _Complexify(mask)
    real = _Real(mask, convention)
    user = builder(treedef)
    rgrad = _Gradient(grad, to_complex, real) if callable(grad) else None
    return Realified(
        cost=_Cost(cost, to_complex),
        params=user(real_leaves),
        grad=rgrad if rgrad is not None else _real_array_gradient(real, grad, params),
        batched=None if batched is None else _Cost(batched, to_complex, batched=True),
        names=frozenset(dtypes),
        dtypes=dtypes,
        convention=convention,
    )


def _real_array_gradient(real: _Real, grad: Any, params: Any) -> Any:
    """A given gradient tree as the gradient of the real views (errors name the leaf)."""
    return real(grad, params)


def _entry(e: Entry, names: frozenset[str]) -> Entry:
    """An entry of a real view, named by its complex index and part."""
    if e.parameter not in names or not e.index:
        return e
    return replace(e, index=e.index[:-1], part=PARTS[e.index[-1]])


def _errors(errors: Array | None) -> Array | None:
    """Per complex entry: ``|Δ|`` of its two parts (the one checked, where one was)."""
    if errors is None:
        return None
    re, im = errors[..., 0], errors[..., 1]
    both = np.hypot(np.nan_to_num(re), np.nan_to_num(im))
    return np.where(np.isnan(re) & np.isnan(im), np.nan, both)


def _parameter(p: ParameterResult, dtype: np.dtype[Any], names: frozenset[str]) -> ParameterResult:
    """A complex parameter's result: its own shape and dtype; entries with their part."""
    return replace(
        p,
        shape=p.shape[:-1],
        dtype=str(dtype),
        worst=tuple(_entry(e, names) for e in p.worst),
        errors=_errors(p.errors),
    )


def _pinned(label: str, names: frozenset[str]) -> str:
    """A pinned label ``z[3, 1]`` of a real view as ``z[3] (imag)``."""
    for name in names:
        if label.startswith(name + "[") and label.endswith("]"):
            index = [int(t) for t in label[len(name) + 1 : -1].split(",")]
            return entry_label(name, tuple(index[:-1]), PARTS[index[-1]])
    return label


def relabel(report: Report, problem: Realified) -> Report:
    """The report of the real views, told in terms of the complex parameters.

    Every complex parameter gets back its shape and dtype (its ``size`` counts real
    components: two per complex entry); its entries are named by complex index and
    part; the options record the convention. Localisation's flat regions keep
    counting real components (entry ``k``'s real part is ``2k``, its imaginary
    part ``2k + 1``).
    """
    names = problem.names
    params = {
        n: _parameter(p, problem.dtypes[n], names) if n in names else p
        for n, p in report.parameters.items()
    }
    loc = dict(report.localisation)
    if "pinned" in loc:
        loc["pinned"] = [_pinned(str(s), names) for s in loc["pinned"]]
    return replace(
        report,
        parameters=params,
        worst=tuple(_entry(e, names) for e in report.worst),
        options={**report.options, "complex_convention": problem.convention},
        localisation=loc,
    )
