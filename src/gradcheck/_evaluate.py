"""Evaluating the cost at perturbed parameters, without touching the user's data.

A :class:`Point` is the unperturbed parameters plus a sparse perturbation: values
added at some flat indices of some parameter arrays (``gradcheck._points``). An
:class:`Evaluator` turns a batch of points into cost values. :class:`SerialEvaluator`
does it in this process, on a private copy of the parameters that it perturbs in
place and restores bit for bit after every evaluation, with the global random
generators kept as ``gradcheck._rng`` saved them; other evaluators (batched,
parallel, distributed) only need to honour the same protocol.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Hashable, Sequence
from typing import Any, Protocol

import numpy as np

from gradcheck._errors import GradcheckError
from gradcheck._errstate import user_errors
from gradcheck._points import Delta, Point, describe, edge_hint
from gradcheck._pytree import TreeDef, builder
from gradcheck._rng import GlobalRng, preserve_rng

__all__ = [
    "IMAG_ROUNDOFF",
    "CostRaised",
    "Delta",
    "Evaluator",
    "GlobalRng",
    "NonFinite",
    "Point",
    "SerialEvaluator",
    "describe",
    "edge_hint",
    "preserve_rng",
    "to_scalar",
]

Array = np.ndarray[Any, Any]
Cost = Callable[[Any], Any]
_FLOAT64 = np.dtype(np.float64)


def _key(d: Delta) -> Hashable:
    """Identifies the range a delta perturbs; index arrays are never reused."""
    idx = d.indices
    if isinstance(idx, slice):
        return (d.leaf, idx.start, idx.stop, idx.step)
    if isinstance(idx, (int, np.integer)):
        return (d.leaf, int(idx))
    return (d.leaf, id(d))


class Evaluator(Protocol):
    """Evaluates the cost at a batch of points; returns one value per point."""

    def __call__(self, points: Sequence[Point]) -> Array: ...


def _result_dtype(value: Any) -> np.dtype[Any]:
    """The NumPy dtype of a cost's value (a framework tensor's too)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    dtype = getattr(value, "dtype", None)
    return np.dtype(dtype) if isinstance(dtype, np.dtype) else np.asarray(value).dtype


#: A complex value whose imaginary part is at most this fraction of its real part is a
#: real cost computed in complex arithmetic (``np.fft`` round-off leaves ``u·|terms|``,
#: 1e-16 to 1e-7 of the value in float64 and float32), and counts as its real part; a
#: larger imaginary part is a complex-valued cost, refused rather than cut to its real
#: part (which passed whatever gradient the imaginary part has).
IMAG_ROUNDOFF = 1e-6


class NonFinite(GradcheckError):
    """The cost returned NaN or ±inf (:func:`to_scalar`); callers add where and why."""


class CostRaised(GradcheckError):
    """The cost raised at a point (the message names the exception and the point)."""


def to_scalar(value: Any, *, complex_ok: bool, where: str) -> complex | float:
    """The cost's return value as a Python number, or a clear error."""
    if isinstance(value, float):  # Python and NumPy float64 scalars: the common case
        if not math.isfinite(value):
            raise NonFinite(f"cost returned {float(value)} {where}")
        return float(value)
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
        if abs(item.imag) > IMAG_ROUNDOFF * abs(item.real):
            raise GradcheckError(
                f"cost returned a complex value {item}{where}: gradcheck checks the "
                "gradient of a real-valued cost, and cutting it to its real part would "
                "leave the imaginary part unchecked; check the real and imaginary parts as "
                "two costs (lambda p: cost(p).real, lambda p: cost(p).imag), or both at "
                "once with gradcheck.check_jacobian on lambda p: [cost(p).real, "
                "cost(p).imag]"
            )
        item = item.real  # a real cost computed in complex arithmetic (an FFT's round-off)
    if not np.isfinite(item):
        raise NonFinite(f"cost returned {item} {where}")
    return item  # type: ignore[no-any-return]


def _the(target: str, article: str = "the") -> str:
    """``"the cost"``, but ``"fn"`` (a name) for check_jacobian's function."""
    return f"{article} {target}" if target == "cost" else target


class SerialEvaluator:
    """Evaluate points one after another on a private, in-place-perturbed copy.

    Each evaluation writes pristine + delta into the perturbed ranges of the private
    copy, and the ranges are copied back from the pristine copy before an evaluation
    that does not perturb them and after the batch (:meth:`evaluate`): the private
    parameters are bit-identical after every batch, also one that raises. For a
    directional probe at N = 10⁶ this is 3 passes over the parameters per evaluation
    instead of 5. After each batch the whole copy is compared with the pristine one:
    a cost that writes to its input is an error.

    The cost gets a fresh container (dicts, lists, tuples around fresh views of the
    private arrays) at every evaluation: a cost that rebinds an entry of its input
    (``p["W"] = p["W"].astype(np.float64)``) changes only its own copy, and the next
    evaluation still sees the perturbed arrays; a cost that caches its value on its
    input's identity (``if p is self.last: return self.value``) sees a new array each
    time, not one array perturbed in place (every perturbed value was the cached one,
    and a correct gradient "failed").

    Global random numbers: a batch first runs without touching the global RNGs. If
    the cost moved them (it draws random numbers: dropout, sampling), the batch is
    evaluated again with the generators reset to the saved state before every
    evaluation, and so is every later batch; each evaluation then sees the same
    draws. The values are those of resetting always, at no cost for the usual cost
    that draws nothing.

    Args:
        cost: the user's cost function of the whole pytree.
        treedef: the parameters' structure.
        leaves: private copies of the parameter arrays (C-contiguous); they are
            perturbed in place and restored exactly after each evaluation.
        names: parameter names, for error messages.
        rng: the saved global RNG states (see :func:`preserve_rng`); ``None`` leaves
            the generators alone (threads sharing them must not draw).
        complex_ok: keep the imaginary part of the cost (complex-step method).
        progress: called as ``progress(done, planned)`` after every evaluation.
        pristine: per parameter, a flat array bit-identical to the unperturbed leaf
            that is only ever read (the user's own array), or ``None`` for a copy.
    """

    def __init__(
        self,
        cost: Cost,
        treedef: TreeDef,
        leaves: list[Array],
        names: Sequence[str],
        rng: GlobalRng | None = None,
        complex_ok: bool = False,
        progress: Callable[[int, int], None] | None = None,
        pristine: Sequence[Array | None] = (),
    ) -> None:
        self.cost = cost
        self.leaves = leaves
        self.flat = [leaf.reshape(-1) for leaf in leaves]
        given = list(pristine) + [None] * (len(leaves) - len(pristine))
        self.pristine = [f.copy() if p is None else p for f, p in zip(self.flat, given)]
        self.scratch: Array = np.empty(0)
        self.dirty: dict[Hashable, tuple[int, Any]] = {}  # perturbed ranges, by _key
        self.restored_whole: set[int] = set()  # by the last batch's final restore
        self.build = builder(treedef)
        self.names = list(names)
        self.shapes = [leaf.shape for leaf in leaves]
        self.rng = rng
        self.draws = False  # the cost has been seen to draw global random numbers
        self.complex_ok = complex_ok
        self.count = 0
        self.planned = 0
        self.progress = progress
        self.result_dtype: Any = np.dtype(np.float64)
        self.on = ""  # what the parameters are, for errors: set by :meth:`rebase`

    def rebase(
        self, leaves: list[Array], pristine: Sequence[Array | None] = (), on: str = ""
    ) -> None:
        """Evaluate at other parameter arrays from now on (a float64 copy of them).

        The count, the global-RNG handling and the progress callback go on: an
        evaluation's number is still its number among all calls of the cost.

        Args:
            leaves: the new private parameter arrays (C-contiguous, same shapes).
            pristine: as for the constructor.
            on: what these parameters are, added to error messages.
        """
        self._restore()
        self.restored_whole = set()
        self.leaves = leaves
        self.flat = [leaf.reshape(-1) for leaf in leaves]
        given = list(pristine) + [None] * (len(leaves) - len(pristine))
        self.pristine = [f.copy() if p is None else p for f, p in zip(self.flat, given)]
        self.on = on

    #: What the evaluated function is called in messages (``fn`` for check_jacobian).
    target = "cost"

    def reset_rng(self) -> None:
        """Put the global generators back to the saved states (if any were saved)."""
        if self.rng is not None:
            self.rng.reset()

    def _where(self, point: Point) -> str:
        where = describe(point, self.names, self.shapes)
        return f"evaluation {self.count}, {where}{self.on and ', ' + self.on}"

    def __call__(self, points: Sequence[Point]) -> Array:
        out = self._run(points, reset=self.draws)
        if self.rng is not None and not self.draws and self.rng.moved():
            self.draws = True
            out = self._run(points, reset=True)
        self._check_untouched()
        return out

    def _check_untouched(self) -> None:
        """Raise if the cost wrote to the parameters it was given.

        A leaf the batch's last restore copied back whole from its pristine copy
        (every directional probe's leaves) equals it by that copy, whatever the cost
        wrote there: its comparison could not fail, and is skipped (at N = 10⁶, a
        pass over two 8 MB arrays per leaf and batch).
        """
        for leaf, (name, now, before) in enumerate(zip(self.names, self.flat, self.pristine)):
            if leaf not in self.restored_whole and not np.array_equal(now, before):
                raise GradcheckError(
                    f"{_the(self.target)} modified the parameters it was given ({name!r} "
                    f"changed); {_the(self.target, 'a')} must not write to its input"
                )

    def _buffer(self, count: int) -> Array:
        """The array the values of ``count`` points are written to, one row each."""
        return np.empty(count, dtype=np.complex128 if self.complex_ok else np.float64)

    def _read(self, value: Any) -> Any:
        """The cost's return value as what :meth:`_buffer`'s rows hold (a number)."""
        self.result_dtype = _FLOAT64 if isinstance(value, float) else _result_dtype(value)
        return to_scalar(value, complex_ok=self.complex_ok, where="")

    def _run(self, points: Sequence[Point], reset: bool) -> Array:
        out = self._buffer(len(points))
        self.planned += len(points)
        evaluate, progress = self.evaluate, self.progress
        rng = self.rng if reset else None
        try:
            for k, point in enumerate(points):
                if rng is not None:
                    rng.reset()
                out[k] = evaluate(point)
                if progress is not None:
                    progress(self.count, self.planned)
        finally:
            self.restored_whole = self._restore()
        return out

    def _restore(self, keep: Collection[Hashable] = ()) -> set[int]:
        """Copy back every perturbed range except those in ``keep``; returns the leaves
        copied back whole."""
        whole: set[int] = set()
        for key in [k for k in self.dirty if k not in keep]:
            leaf, idx = self.dirty.pop(key)
            self.flat[leaf][idx] = self.pristine[leaf][idx]
            size = self.flat[leaf].size
            if isinstance(idx, slice) and idx.indices(size) == (0, size, 1):
                whole.add(leaf)
        return whole

    def evaluate(self, point: Point) -> Any:
        """The cost at one point (its deltas must not overlap one another).

        Each delta is applied from the pristine copy, so a range the previous point
        perturbed and this one perturbs again needs no restore in between; every other
        range is restored first, and :meth:`_run` restores the rest after the batch,
        also when an evaluation raises. A single entry (full mode) is simply put back
        after the evaluation.
        """
        if len(point) == 1 and type(point[0].indices) is int:  # full mode: one entry
            d = point[0]
            if self.dirty:
                self._restore()
            flat, i = self.flat[d.leaf], d.indices
            before = self.pristine[d.leaf][i]
            flat[i] = before + d.amount()
            try:
                return self._value(point)
            finally:
                flat[i] = before
        keys = [_key(d) for d in point]
        self._restore(keep=keys)
        for d, key in zip(point, keys):
            self._apply(d)
            self.dirty[key] = (d.leaf, d.indices)
        return self._value(point)

    def _value(self, point: Point) -> Any:
        """Call the cost on the (perturbed) private parameters; errors name the point."""
        self.count += 1
        # fresh array objects (views, no copy): a cost that caches on its input's
        # identity (``if p is self.last``) would return its cached value at every
        # perturbed point, the arrays being perturbed in place
        fresh = [leaf.view() for leaf in self.leaves]
        try:
            with user_errors():
                value = self.cost(self.build(fresh))
            return self._read(value)
        except NonFinite as exc:
            hint = edge_hint(point, self.names, self.shapes, self.pristine)
            raise NonFinite(f"{exc}({self._where(point)}){hint}") from None
        except GradcheckError as exc:
            raise GradcheckError(f"{exc}({self._where(point)})") from None
        except Exception as exc:
            raise CostRaised(
                f"{self.target} raised {type(exc).__name__}: {exc} ({self._where(point)})"
            ) from exc

    def _apply(self, d: Delta) -> None:
        """Set the delta's range to pristine + factor · values (one pass for ±1)."""
        base = self.pristine[d.leaf][d.indices]
        if not isinstance(d.indices, slice):
            self.flat[d.leaf][d.indices] = base + d.amount()
            return
        view = self.flat[d.leaf][d.indices]
        if d.factor == 1.0:
            np.add(base, d.values, out=view)
        elif d.factor == -1.0:
            np.subtract(base, d.values, out=view)  # θ − v is θ + (−1)·v exactly
        else:
            scratch = self._scratch(view.size)
            np.multiply(d.values, d.factor, out=scratch)
            np.add(base, scratch, out=view)

    def _scratch(self, size: int) -> Array:
        """A reusable float64 buffer for ``factor · values`` (no allocation per point)."""
        if self.scratch.size < size:
            self.scratch = np.empty(size)
        return self.scratch[:size]
