"""Complex inputs and outputs in the torch and JAX adapters, each in its framework's convention.

A complex parameter ``z = x + iy`` of a real loss is checked by the core
(``gradcheck._complex``) on its real view ``(x, y)``; the adapters only say which
gradient their framework returns, by :data:`CONVENTIONS`: torch's autograd the
conjugate Wirtinger gradient ``∂L/∂x + i ∂L/∂y`` (``"conjugate"``), ``jax.grad`` and
``jax.vjp`` its conjugate ``∂L/∂x − i ∂L/∂y`` (``"plain"``); ``docs/numerics.md``,
"Complex numbers", cites both and the experiment.

A complex output ``y`` of ``check_function`` is folded with a complex cotangent ``w``
into the real scalar whose gradient the framework's VJP with cotangent ``w`` returns:
``Re Σ conj(w)·y`` in torch (:func:`torch_fold`), ``Re Σ w·y`` in JAX; so both the real
and the imaginary part of ``y`` are checked, never cast away (F28). The JVP–VJP
consistency and linearity checks compare real linear maps: :class:`RealViews` restates
a framework's rules on real views (a complex array of shape ``S`` as a real ``(*S, 2)``).

>>> import numpy as np
>>> views = RealViews("plain", (True,), (False,))
>>> views.shapes([(3,)], views.inputs)
[(3, 2)]
>>> real_dtype("complex64"), real_dtype("float16")
('float32', 'float16')
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, NamedTuple

import numpy as np

from gradcheck._adapters import Options
from gradcheck._complex import CONVENTIONS, ComplexConvention, complex_view, pair
from gradcheck._diagnose import CONJUGATED
from gradcheck._errors import GradcheckError
from gradcheck._report import Report

__all__ = [
    "CONVENTIONS",
    "RealViews",
    "cotangent",
    "explain",
    "real_dtype",
    "widen",
    "with_convention",
]

Array = np.ndarray[Any, Any]
Rule = Callable[[list[Array]], list[Array]]
#: The real dtype of each complex dtype's parts (a complex64 is two float32).
_PARTS = {"complex64": "float32", "complex128": "float64"}
#: The "conjugated?" diagnosis in an adapter, where ``complex_convention`` is not the
#: user's to choose: what the framework expects, and where the ``conj`` goes missing.
ADAPTER_CONJUGATED = {
    "torch": (
        "conjugated? — the gradient is the complex conjugate of the right one: a missing "
        "conj() in the backward (or jvp), or a gradient in JAX's convention; torch's "
        "autograd expects ∂L/∂x + i·∂L/∂y for z = x + iy (the conjugate Wirtinger gradient)"
    ),
    "jax": (
        "conjugated? — the gradient is the complex conjugate of the right one: a missing "
        "conj() in the custom rule, or a gradient in torch's convention; jax.vjp and "
        "jax.grad give ∂L/∂x − i·∂L/∂y for z = x + iy"
    ),
}


def real_dtype(name: str) -> str:
    """The dtype of the real parts of dtype ``name`` (itself for a real dtype)."""
    return _PARTS.get(name, name)


def widen(value: Any) -> Array:
    """A new float64 array, or complex128 for a complex one (a gradient, a tangent)."""
    arr = np.asarray(value)
    return np.array(arr, dtype=np.complex128 if np.iscomplexobj(arr) else np.float64)


def cotangent(draw: np.random.Generator, shape: tuple[int, ...], is_complex: bool) -> Array:
    """A random cotangent for an output of ``shape``: standard normal entries; for a
    complex output independent real and imaginary parts, so both parts are checked."""
    if not is_complex:
        return np.asarray(draw.standard_normal(shape))
    return np.asarray(draw.standard_normal(shape) + 1j * draw.standard_normal(shape))


def with_convention(options: Options, convention: ComplexConvention, framework: str) -> Options:
    """The engine options with the framework's ``complex_convention``.

    Raises:
        GradcheckError: the user asked for the other convention: the framework's
            gradient is what it is, so the option cannot apply.
    """
    given = options.get("complex_convention", convention)
    if given != convention:
        raise GradcheckError(
            f"option complex_convention={given!r}: the {framework} adapter checks what "
            f"{framework} computes, which is the {convention!r} convention for complex "
            "parameters (docs/numerics.md, 'Complex numbers'); leave the option out"
        )
    out: Options = {**options, "complex_convention": convention}
    return out


#: The core's "conjugate transpose" diagnosis (``gradcheck._diagnose``) begins so.
_DAGGER = "conjugated? — the gradient is the conjugate transpose (.H)"


def _adapter_text(text: str, framework: str) -> str | None:
    """A "conjugated?" diagnosis as ``framework``'s user can act on it, or ``None``."""
    if text == CONJUGATED:
        return ADAPTER_CONJUGATED[framework]
    if text.startswith(_DAGGER):  # not "the other complex_convention": not theirs to set
        expects = ADAPTER_CONJUGATED[framework].split("; ", 1)[1]
        return (
            f"{_DAGGER} of the right one: a transpose where .T was meant, with a missing "
            f"or extra conj(); {expects}"
        )
    return None


def explain(report: Report, framework: str) -> Report:
    """``report`` with each "conjugated?" diagnosis told for ``framework``
    (:data:`ADAPTER_CONJUGATED`) instead of naming the core's ``complex_convention``,
    which an adapter user cannot set (it is the framework's own)."""
    params = dict(report.parameters)
    for name, p in report.parameters.items():
        d = p.diagnosis
        text = None if d is None or d.kind != "conjugate" else _adapter_text(d.text, framework)
        if d is not None and text is not None:
            params[name] = replace(p, diagnosis=replace(d, text=text))
    return replace(report, parameters=params)


class RealViews(NamedTuple):
    """A function's complex inputs and outputs as real views, for real linear maps.

    Attributes:
        convention: the framework's gradient convention (:data:`CONVENTIONS`).
        inputs: per checked input, whether it is complex.
        outputs: per compared output, whether it is complex.
    """

    convention: str
    inputs: tuple[bool, ...]
    outputs: tuple[bool, ...]

    @property
    def sign(self) -> float:
        """The imaginary part's sign of a gradient's real view (``-1``: ``"plain"``)."""
        return 1.0 if self.convention == CONVENTIONS[0] else -1.0

    @staticmethod
    def shapes(shapes: Sequence[tuple[int, ...]], mask: Sequence[bool]) -> list[tuple[int, ...]]:
        """The shapes of the real views: ``(*S, 2)`` for a complex array."""
        return [(*s, 2) if c else tuple(s) for s, c in zip(shapes, mask, strict=True)]

    def dual(self, arrays: Sequence[Array], mask: Sequence[bool]) -> list[Array]:
        """Gradients or cotangents as real views: ``(Re g, ±Im g)``, so that the real
        pairing ``<view(w), view(y)>`` is the framework's fold of ``y`` with ``w``."""
        return [
            pair(np.asarray(a, np.complex128), self.sign) if c else np.asarray(a)
            for a, c in zip(arrays, mask, strict=True)
        ]

    def jvp(self, rule: Rule) -> Rule:
        """``rule`` (tangents → output tangents) on real views."""

        def real(v: list[Array]) -> list[Array]:
            out = rule(_complex(v, self.inputs, 1.0))
            return [
                pair(np.asarray(t, np.complex128)) if c else t
                for t, c in zip(out, self.outputs, strict=True)
            ]

        return real

    def vjp(self, rule: Rule) -> Rule:
        """``rule`` (cotangents → gradients) on real views: the transpose of :meth:`jvp`."""

        def real(u: list[Array]) -> list[Array]:
            return self.dual(rule(_complex(u, self.outputs, self.sign)), self.inputs)

        return real


def _complex(arrays: Sequence[Array], mask: Sequence[bool], sign: float) -> list[Array]:
    """Real views ``(a, b)`` of the complex entries as ``a + i·sign·b``."""
    out = []
    for a, c in zip(arrays, mask, strict=True):
        if not c:
            out.append(a)
            continue
        z = np.array(complex_view(np.asarray(a, dtype=np.float64)), dtype=np.complex128)
        out.append(np.conj(z) if sign < 0 else z)
    return out
