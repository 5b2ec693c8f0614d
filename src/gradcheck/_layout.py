"""The flat layout of a vector function's inputs and outputs.

:func:`gradcheck.check_jacobian` reads every derivative form as a linear map between
flat vectors: the inputs' leaves, and the outputs', concatenated in flatten order.
:class:`Layout` holds their names, shapes, dtypes and structures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from gradcheck._errors import GradcheckError
from gradcheck._flat_values import as_array
from gradcheck._pytree import TreeDef, flatten
from gradcheck._tolerances import unit_roundoff

__all__ = ["Layout", "Outputs", "output_layout"]

Array = np.ndarray[Any, Any]


class Layout(NamedTuple):
    """The flat layout of inputs and outputs: names, shapes, offsets, dtypes."""

    in_names: list[str]
    in_shapes: list[tuple[int, ...]]
    in_dtypes: list[np.dtype[Any]]
    in_treedef: TreeDef
    out_names: list[str]
    out_shapes: list[tuple[int, ...]]
    out_dtypes: list[np.dtype[Any]]
    out_treedef: TreeDef

    @property
    def n(self) -> int:
        """How many input entries."""
        return sum(math.prod(s) for s in self.in_shapes)

    @property
    def m(self) -> int:
        """How many output entries."""
        return sum(math.prod(s) for s in self.out_shapes)

    def in_slices(self) -> list[slice]:
        """Each input leaf's range of the flat input vector."""
        return _slices(self.in_shapes)

    def out_slices(self) -> list[slice]:
        """Each output leaf's range of the flat output vector."""
        return _slices(self.out_shapes)

    def roundoff(self) -> float:
        """The largest unit round-off of the inputs' and outputs' dtypes."""
        dtypes = [*self.in_dtypes, *self.out_dtypes]
        return max(
            unit_roundoff(d) if d.kind in "fc" else unit_roundoff(np.float64) for d in dtypes
        )


def _slices(shapes: Sequence[tuple[int, ...]]) -> list[slice]:
    out, start = [], 0
    for s in shapes:
        out.append(slice(start, start + math.prod(s)))
        start += math.prod(s)
    return out


class Outputs(NamedTuple):
    """A function's output as leaves: their names, the leaves (NumPy arrays), the structure."""

    names: list[str]
    arrays: list[Array]
    treedef: TreeDef


def output_layout(value: Any, what: str) -> Outputs:
    """The output's leaves (as NumPy arrays) and names; a bare array is ``out``."""
    names, leaves, treedef = flatten(value)
    arrays = [as_array(x) for x in leaves]
    if treedef.kind == "leaf":
        names = ["out"]
    for name, arr in zip(names, arrays):
        if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
            raise GradcheckError(
                f"{what} returned {arr.dtype} values for output {name!r}: it must return "
                "real floating-point arrays (or a dict/list/tuple of them)"
            )
    return Outputs(names, arrays, treedef)
