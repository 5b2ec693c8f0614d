"""Evaluating the cost at perturbed parameters, without touching the user's data.

A :class:`Point` is the unperturbed parameters plus a sparse perturbation: values
added at some flat indices of some parameter arrays. An :class:`Evaluator` turns a
batch of points into cost values. :class:`SerialEvaluator` does it in this process,
on a private copy of the parameters that it perturbs in place and restores bit for
bit after every evaluation; other evaluators (batched, parallel, distributed) only
need to honour the same protocol.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple, Protocol

import numpy as np

from gradcheck._errors import GradcheckError
from gradcheck._pytree import TreeDef, unflatten

__all__ = [
    "Delta",
    "Evaluator",
    "Point",
    "SerialEvaluator",
    "preserve_rng",
    "to_scalar",
]

Array = np.ndarray[Any, Any]
Cost = Callable[[Any], Any]


class Delta(NamedTuple):
    """Add ``values`` at flat ``indices`` of parameter number ``leaf``.

    A named tuple rather than a dataclass: a full check builds two per entry, and a
    tuple is several times cheaper to build (and pickles for process executors).
    """

    leaf: int
    indices: Any  # int, slice or integer array
    values: Any  # scalar or array broadcastable to the indices


Point = tuple[Delta, ...]


class Evaluator(Protocol):
    """Evaluates the cost at a batch of points; returns one value per point."""

    def __call__(self, points: Sequence[Point]) -> Array: ...


def _result_dtype(value: Any) -> np.dtype[Any]:
    """The NumPy dtype of a cost's value (a framework tensor's too)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    dtype = getattr(value, "dtype", None)
    return np.dtype(dtype) if isinstance(dtype, np.dtype) else np.asarray(value).dtype


def to_scalar(value: Any, *, complex_ok: bool, where: str) -> complex | float:
    """The cost's return value as a Python number, or a clear error."""
    if hasattr(value, "detach"):  # a framework tensor
        value = value.detach().cpu().numpy()
    arr = np.asarray(value)
    if arr.size != 1:
        raise GradcheckError(
            f"cost must return a scalar, but returned shape {arr.shape}: reduce it (sum "
            f"or mean) to the quantity whose gradient you check {where}"
        )
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise GradcheckError(f"cost returned a non-numeric {arr.dtype} value {where}")
    item = arr.reshape(()).item()
    if isinstance(item, complex) and not complex_ok:
        item = item.real
    if not np.isfinite(item):
        raise GradcheckError(f"cost returned {item} {where}")
    return item  # type: ignore[no-any-return]


@contextmanager
def preserve_rng() -> Iterator[Callable[[], None]]:
    """Save NumPy's and Python's global RNG states; restore them on exit, always.

    Yields a function that resets both to the saved state, so that a cost drawing
    random numbers from them (dropout, sampling) sees the same draws at every
    evaluation.
    """
    np_state = np.random.get_state()
    py_state = random.getstate()

    def reset() -> None:
        np.random.set_state(np_state)
        random.setstate(py_state)

    try:
        yield reset
    finally:
        reset()


def describe(point: Point, names: Sequence[str], shapes: Sequence[tuple[int, ...]]) -> str:
    """Human text for a point: ``"with W1[2, 3] perturbed by +1e-05"``."""
    if not point:
        return "at the unperturbed parameters"
    parts = []
    for d in point:
        if isinstance(d.indices, (int, np.integer)):
            idx = np.unravel_index(int(d.indices), shapes[d.leaf]) if shapes[d.leaf] else ()
            label = names[d.leaf] + (f"[{', '.join(map(str, idx))}]" if idx else "")
            parts.append(f"{label} perturbed by {complex(d.values).real or d.values:+.3g}")
        else:
            parts.append(f"{names[d.leaf]} perturbed along a direction")
    return "with " + " and ".join(parts)


class SerialEvaluator:
    """Evaluate points one after another on a private, in-place-perturbed copy.

    Args:
        cost: the user's cost function of the whole pytree.
        treedef: the parameters' structure.
        leaves: private copies of the parameter arrays (C-contiguous); they are
            perturbed in place and restored exactly after each evaluation.
        names: parameter names, for error messages.
        reset_rng: called before every evaluation (see :func:`preserve_rng`).
        complex_ok: keep the imaginary part of the cost (complex-step method).
        progress: called as ``progress(done, planned)`` after every evaluation.
    """

    def __init__(
        self,
        cost: Cost,
        treedef: TreeDef,
        leaves: list[Array],
        names: Sequence[str],
        reset_rng: Callable[[], None] = lambda: None,
        complex_ok: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.cost = cost
        self.leaves = leaves
        self.flat = [leaf.reshape(-1) for leaf in leaves]
        self.tree = unflatten(treedef, leaves)
        self.names = list(names)
        self.shapes = [leaf.shape for leaf in leaves]
        self.reset_rng = reset_rng
        self.complex_ok = complex_ok
        self.count = 0
        self.planned = 0
        self.progress = progress
        self.result_dtype: Any = np.dtype(np.float64)

    def _where(self, point: Point) -> str:
        return f"evaluation {self.count}, {describe(point, self.names, self.shapes)}"

    def __call__(self, points: Sequence[Point]) -> Array:
        out = np.empty(len(points), dtype=np.complex128 if self.complex_ok else np.float64)
        self.planned += len(points)
        evaluate, progress = self.evaluate, self.progress
        for k, point in enumerate(points):
            out[k] = evaluate(point)
            if progress is not None:
                progress(self.count, self.planned)
        return out

    def evaluate(self, point: Point) -> complex | float:
        """The cost at one point; the private copy is restored even if it raises."""
        saved = []
        try:
            for d in point:
                flat = self.flat[d.leaf]
                old = flat[d.indices].copy()
                saved.append((flat, d.indices, old))
                flat[d.indices] = old + d.values
            self.count += 1
            self.reset_rng()
            try:
                value = self.cost(self.tree)
                self.result_dtype = _result_dtype(value)
                return to_scalar(value, complex_ok=self.complex_ok, where="")
            except GradcheckError as exc:
                raise GradcheckError(f"{exc}({self._where(point)})") from None
            except Exception as exc:
                raise GradcheckError(
                    f"cost raised {type(exc).__name__}: {exc} ({self._where(point)})"
                ) from exc
        finally:
            for flat, idx, old in reversed(saved):
                flat[idx] = old
