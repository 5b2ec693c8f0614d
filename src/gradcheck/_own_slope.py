"""Whose slope does the user's own loss have: its low-precision gradient's, or the formula's?

The adapters check the formula on a float64 copy (``gradcheck._frameworks``) and judge
the user's float32 gradient ``g32`` against the copy's ``g64``: where the difference is
no round-off, ``g32`` itself is checked against float64 finite differences, and fails.
That blames a backward or hook acting only in float32 (attack26 G8). But a right model
can compute another *function* in float32: ``x.clamp(min=torch.finfo(x.dtype).eps)``,
``jnp.maximum(v, jnp.finfo(v.dtype).eps)`` clamps an entry below float32's epsilon
that float64 leaves alone, and ``g32`` is then autograd's exact gradient of the user's
float32 loss, unlike the copy's (attack26 H19, H30: failed 2/2 and 3/3, "a hook or
backward acting only in float32").

The two are told apart by the user's own loss ``L`` in its own dtype beside the
copy's ``L64``: along the difference ``d = g32 − g64`` the slope of ``L − L64`` is
``|d|`` where the float32 code computes another function (``∇L = g32``), and 0 where
a float32-only backward or hook acts on a function that is the formula's (``L − L64``
is round-off). With the parameter moved by ``h·d/|d|`` to either side (rounded to its
dtype: ``Δ`` is the move made), each one-sided ``t = Δ(L − L64) / (Δ·d)`` is 0 for
the formula's slope and 1 for the gradient's; the two losses' common curvature
cancels, so a step can be large beside the loss's round-off. :func:`own_slope` reads
``t`` at the steps :data:`STEPS` (each parameter's scale times ``2⁻¹⁸ … 2²``, a factor
of four apart), smallest first: a step whose two sides differ by more than
:data:`AGREE` (noise, or a kink inside it) gives no reading, and the first two adjacent
steps whose readings agree to :data:`AGREE` decide: within :data:`NEAR` of 0, the
formula's slope; of 1, the gradient's; else unresolved, as where no two agree. The
smallest steps decide because a slope is a limit: a large step can straddle the whole
region where the two functions differ and read 0 (H19: ``2⁻⁸`` and up).
A float64 loss with a stage in a coarser dtype (``gradcheck._torch_stage``: a float16
term of a float64 function, its parameters float64) is a staircase in that term at
steps finer than the stage's round-off: there every entry stays on its stair, the
stage's part of ``L`` is flat, and both sides read the same ``t = −1/β`` (``β`` the
bug's share of the stage's gradient: −20 for a float16-only backward ×1.05), which
agrees with itself and made the parameter unresolved where the larger steps read the
formula's 0 (trust35). So where the loss has such ``stairs`` (the stage's unit
round-off ``u``), steps below :data:`STAIRS` ``· u · √n`` (``n`` entries: a step along
``d/|d|`` moves an entry by about ``h/√n``) give no reading.
Only ``"formula"`` lets the adapter call ``g32`` wrong; ``"own"`` and
``"unresolved"`` make the parameter ``inconclusive`` (a float32-only bug beside a
dtype-dependent function can hide in ``t ≈ 1``: a bug up to 0.58 of the function's own
difference, orthogonal to it, gives ``t ≥ 3/4``), its formula still checked in float64.

>>> import numpy as np
>>> theta = {"w": np.array([1.0, 2.0], dtype=np.float32)}
>>> square = lambda p: float(np.sum(p["w"].astype(np.float64) ** 2))
>>> g64 = {"w": np.array([2.0, 4.0])}
>>> own_slope(square, square, theta, {"w": np.array([2.0, 4.5])}, g64, ["w"])
{'w': 'formula'}
>>> other = lambda p: square(p) + float(p["w"][1]) / 2
>>> own_slope(other, square, theta, {"w": np.array([2.0, 4.5])}, g64, ["w"])
{'w': 'own'}
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import pairwise
from typing import Any, Literal, NamedTuple

import numpy as np

__all__ = ["AGREE", "NEAR", "STAIRS", "STEPS", "Slope", "own_slope"]

Array = np.ndarray[Any, Any]
Grads = dict[str, Array]
Slope = Literal["formula", "own", "unresolved"]
#: Steps along ``d/|d|``, relative to the parameter's scale (its largest entry, or 1
#: where all are 0): ``2²`` down to ``2⁻¹⁸``, a factor of four apart. attack26 H19's
#: clamp sits ``2.4e-3`` from an entry of a parameter of scale 3: the steps from
#: ``2⁻¹²`` on stay on its side. A float16 rounding of a small MLP's gradient
#: (``2⁻¹¹`` of its scale) reads clearly only from ``2⁻⁴`` up: ``L − L64`` is round-off
#: there whatever the step, so large steps cost nothing but a kink's bias.
STEPS = tuple(2.0**-k for k in range(-2, 19, 2))
#: A step moves a typical entry across at least this many of a stage's stairs to be read
#: (module text): at 4, the float16-stage readings of trust35's ×1.05 backward start at
#: ``2⁻⁴`` (``n = 20``), where they read 0 (−0.001, 0.011); below, −20 or noise.
STAIRS = 4.0
#: ``t`` within this of 0 (of 1) reads as the formula's slope (the gradient's): a
#: float32-only rounding moves ``t`` by its own share, never by a quarter.
NEAR = 0.25
#: Two adjacent steps whose ``t`` differ by more than this are noise or a kink between
#: them, not a slope.
AGREE = 0.125


def _real(a: Array, sign: float) -> Array:
    """A complex array as its real view, the imaginary parts times ``sign``."""
    if not np.iscomplexobj(a):
        return np.asarray(a, dtype=np.float64)
    return np.stack([a.real, sign * a.imag]).astype(np.float64)


class _Gap(NamedTuple):
    """``L − L64`` (the user's loss less the copy's) as a function of the parameters."""

    loss: Callable[[dict[str, Array]], float]
    wide: Callable[[dict[str, Array]], float]
    params: dict[str, Array]

    def at(self, name: str, value: Array) -> float:
        """The gap with parameter ``name`` set to ``value``."""
        moved = {**self.params, name: value}
        return self.loss(moved) - self.wide(moved)


def _reading(gap: _Gap, name: str, d: Array, h: float, at0: float) -> float:
    """``t`` for ``name`` at step ``h`` (module text), ``d = g32 − g64`` a real view,
    ``at0`` the gap at the parameters: the mean of the two one-sided slopes, NaN where
    they differ by more than :data:`AGREE` (noise, or a kink within the step) or
    cannot be read."""
    theta = gap.params[name]
    base = _real(theta, 1.0)
    unit = d / float(np.linalg.norm(d))
    ts = []
    for sign in (1.0, -1.0):
        x = base + sign * h * unit
        point = (x[0] + 1j * x[1] if np.iscomplexobj(theta) else x).astype(theta.dtype)
        sep = float(np.sum((_real(point, 1.0) - base) * d))
        if sep == 0.0:
            return float("nan")
        try:
            ts.append((gap.at(name, point) - at0) / sep)
        except Exception:  # user code off its domain at this step: no reading
            return float("nan")
    return (ts[0] + ts[1]) / 2 if abs(ts[0] - ts[1]) <= AGREE else float("nan")


def _read(ts: list[float]) -> Slope:
    """The slope the ladder of readings shows, smallest step first (module text)."""
    for a, b in pairwise(ts):
        if not (np.isfinite(a) and np.isfinite(b)) or abs(a - b) > AGREE:
            continue
        if max(abs(a), abs(b)) <= NEAR:
            return "formula"
        if max(abs(a - 1), abs(b - 1)) <= NEAR:
            return "own"
        return "unresolved"
    return "unresolved"


def own_slope(
    loss: Callable[[dict[str, Array]], float],
    wide: Callable[[dict[str, Array]], float],
    params: dict[str, Array],
    user: Grads,
    g64: Grads,
    names: Iterable[str],
    convention: str = "conjugate",
    stairs: float = 0.0,
) -> dict[str, Slope]:
    """Whose slope the loss has along each named parameter's ``user − g64``.

    Args:
        loss: the user's loss in its own dtype, ``loss(params) -> float`` (each call
            from the user's saved RNG states).
        wide: the float64 copy's loss at the same parameters (widened by it).
        params: the parameters in the user's dtype.
        user: the user's-dtype gradients, as float64 arrays.
        g64: the float64 copy's gradients.
        names: the parameters to read.
        convention: what a complex parameter's gradient holds (``"conjugate"``,
            ``∂J/∂x + i ∂J/∂y``, or ``"plain"``, ``∂J/∂x − i ∂J/∂y``: ``gradcheck._complex``).
        stairs: the unit round-off of a stage the loss computes in below its
            parameters' dtype (module text); 0 where it has none.

    Returns:
        ``"formula"`` (the loss's slope is ``g64``'s), ``"own"`` (it is ``user``'s) or
        ``"unresolved"``, by name (module text).
    """
    out: dict[str, Slope] = {}
    names = list(names)
    sign = -1.0 if convention == "plain" else 1.0
    gap = _Gap(loss, wide, params)
    at0: float | None = None
    for n in names:
        d = _real(user[n], sign) - _real(g64[n], sign)
        if not np.any(d):
            out[n] = "formula"
            continue
        try:
            at0 = gap.loss(params) - gap.wide(params) if at0 is None else at0
        except Exception:  # user code raised at the parameters: no reading anywhere
            return {n: "unresolved" for n in names}
        scale = float(np.max(np.abs(params[n]), initial=0.0)) or 1.0
        least = STAIRS * stairs * np.sqrt(d.size)  # below it, a step stays on its stairs
        out[n] = _read(
            [
                _reading(gap, n, d, h * scale, at0) if h >= least else float("nan")
                for h in reversed(STEPS)
            ]
        )
    return out
