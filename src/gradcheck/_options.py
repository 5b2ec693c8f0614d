"""The options of every check, named once.

:class:`Options` are the keyword options of :func:`gradcheck.check` that the torch and
JAX adapters pass on to it (an adapter accepts ``complex_convention`` only as its
framework's own convention); :class:`CheckOptions` adds ``batched``, which the adapters
set themselves. ``check`` takes exactly :data:`NAMES` (a test holds its signature to
it), and ``check_jacobian`` /
``check_hessian`` take the same names, refusing by name each that does not apply there.

>>> NAMES[:4]
('method', 'eps', 'rtol', 'atol')
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict

from gradcheck._complex import ComplexConvention
from gradcheck._modes import Mode
from gradcheck._numerics import Method

__all__ = ["NAMES", "CheckOptions", "Options"]


class Options(TypedDict, total=False):
    """The engine options the adapters pass on to :func:`gradcheck.check` (see there)."""

    method: Method
    eps: float | None
    rtol: float | None
    atol: float | None
    mode: Mode
    seed: int
    progress: Callable[[int, int], None] | None
    execution: Any
    executor: Any
    memory_budget: int | None
    sample: float | None
    localise: bool | None
    budget: int | None
    miss_probability: float | None
    complex_convention: ComplexConvention


class CheckOptions(Options, total=False):
    """Every keyword option of :func:`gradcheck.check`."""

    batched: Callable[[Any], Any] | None


#: The name of every keyword option of :func:`gradcheck.check`.
NAMES: tuple[str, ...] = tuple(CheckOptions.__annotations__)
