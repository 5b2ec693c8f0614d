"""Is a low-precision gradient's difference from its float64 self round-off? Reproduced.

The adapters check the formula on a float64 copy (``gradcheck._frameworks``) and report
the user's float32 gradient ``g32`` against the copy's ``g64`` as precision when the
difference is round-off. Its size cannot say so (a backward that rounds its gradient
to bfloat16 only in float32 differs by 0.2%, a saturated ``tanh`` by 1%), and nudging
the parameters (``gradcheck._adapter_roundoff``) cannot either: rounding to bfloat16
redraws under a nudge as round-off does (attack26 G8, a wrong gradient that passed).

So where the adapter can run its float64 side in the user's dtype's arithmetic
(:attr:`Side.reference`: torch's ``gradcheck._torch_reference``), the difference is
*reproduced*: ``g_ref`` is the formula the float64 finite differences verify, computed
operation by operation in float32, so ``g32`` is ``g_ref`` (bit for bit in the project's
measurements) unless the float32 code does something else. Per parameter, with ``s``
its float64 gradient scale, ``e = max |g32 − g_ref|`` and ``r = max |g_ref − g64|``
(what float32 arithmetic does to the formula):

* ``e ≤`` :data:`REPRODUCED` ``· u · max(s, max |g32|)``: reproduced, the difference
  is this formula's float32 round-off, whatever its size (a bias just before BatchNorm,
  zero in exact arithmetic, is 1e-5 of round-off beside inputs near 1000, more than
  the size rule allows: attack26 G9 failed it as "a hook or backward acting only in
  float32");
* round-off too, judged by size as before (``gradcheck._tolerances.plausible``): a
  parameter whose float64 gradient is within the model's round-off floor, or an ``e``
  within ``CANCELLATION · u · s`` (accumulation) and within :data:`SYSTEMATIC` ``· r``:
  round-off of the same formula computed in another order (a fused float32 kernel, a
  GPU's atomic sums);
* ``e >`` :data:`SYSTEMATIC` ``· r`` and ``e >`` ``CANCELLATION · u · s``: the float32
  code computes something the formula does not (a dtype-testing backward or hook, a
  low-precision cast): systematic, the float32 gradient itself is checked (and fails);
* otherwise unresolved: the parameter is ``inconclusive`` with the reason, never
  passed and never failed (a gradient rounded to 14–16 bits; a bfloat16 rounding
  beside the formula's own heavy cancellation; a reference less faithful than
  measured).

A reference whose values left the framework where the user's dtype cannot hold them
(:attr:`Side.outside`: NumPy code in a custom Function given a float64 buffer, which
may then compute otherwise than the model's) is no float32 arithmetic there: a
difference it does not reproduce is unresolved, never systematic (attack27 H41: a right
NumPy batchnorm failed when NumPy ran in float64 on the copy). Where the reference
raises, or its loss is not the user's to :data:`REPRODUCED` round-offs (code the copy
runs in float64 outside torch), it is not used, and the difference is measured by
nudging as before.

>>> import numpy as np
>>> g64 = {"w": np.array([1.0, -2.0])}
>>> judge({"w": g64["w"] * (1 + 2**-9)}, g64, {"w": g64["w"] * (1 + 2**-24)}, 2**-23, 0.0)
{'w': 'systematic'}
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, Literal, NamedTuple

import numpy as np

from gradcheck._adapter_roundoff import Probe, measure
from gradcheck._evaluate import GlobalRng
from gradcheck._numerics import CANCELLATION
from gradcheck._roundoff_sides import (
    HALF_EXACT,
    HALF_FORWARD,
    HALF_REPRODUCED,
    REPRODUCED,
    SYSTEMATIC,
    UNIT,
    Analytic,
    Gradient,
    Replayed,
    Side,
)
from gradcheck._tolerances import plausible

__all__ = [
    "HALF_EXACT",
    "HALF_REPRODUCED",
    "REPRODUCED",
    "SYSTEMATIC",
    "UNIT",
    "Analytic",
    "Gradient",
    "Judgement",
    "Replayed",
    "Side",
    "Verdicts",
    "judge",
    "verdicts",
]

Array = np.ndarray[Any, Any]
Grads = dict[str, Array]
Judgement = Literal["reproduced", "round-off", "systematic", "unresolved"]


def _top(a: Array) -> float:
    return float(np.max(np.abs(a), initial=0.0))


def judge(
    user: Grads, g64: Grads, ref: Grads, unit: float, floor: float, exact: bool = False
) -> dict[str, Judgement]:
    """Each parameter's difference ``user − g64`` judged against the reference ``ref``
    (module text); a parameter whose float64 gradient is within ``floor`` (zero up to
    round-off of the model's largest entry) is all round-off. A half dtype's
    (:data:`HALF_REPRODUCED`; :data:`HALF_EXACT` where the reference's loss is the
    user's bit for bit, ``exact``) is judged by the reference alone."""
    if unit >= UNIT["float16"]:
        return _judge_half(user, g64, ref, unit, HALF_EXACT if exact else HALF_REPRODUCED)
    out: dict[str, Judgement] = {}
    for n, g in g64.items():
        scale = _top(g)
        e, r = _top(user[n] - ref[n]), _top(ref[n] - g)
        accumulation = e <= CANCELLATION * unit * scale
        another_order = e <= SYSTEMATIC * r and accumulation  # a fused kernel, atomic sums
        if e <= REPRODUCED * unit * max(scale, _top(user[n])):
            out[n] = "reproduced"
        elif scale <= floor or another_order:
            out[n] = "round-off"
        elif e > SYSTEMATIC * r and not accumulation:
            out[n] = "systematic"
        else:
            out[n] = "unresolved"
    return out


def _judge_half(
    user: Grads, g64: Grads, ref: Grads, unit: float, allowed: float
) -> dict[str, Judgement]:
    """:func:`judge` for bfloat16 and float16: reproduced within ``allowed`` round-offs
    of the scale (:data:`HALF_REPRODUCED` or :data:`HALF_EXACT`); a parameter
    whose float64 gradient is within one round-off of the model's largest entry and
    which the reference cannot resolve (``r`` at least that gradient) is zero in that
    dtype, its two values noise: only ``e`` beyond :data:`SYSTEMATIC` times that
    round-off (or ``r``) is systematic, anything less is round-off."""
    zero = unit * max((_top(g) for g in g64.values()), default=0.0)
    out: dict[str, Judgement] = {}
    for n, g in g64.items():
        e, r = _top(user[n] - ref[n]), _top(ref[n] - g)
        if e <= allowed * unit * max(_top(g), _top(user[n])):
            out[n] = "reproduced"
        elif _top(g) <= min(zero, r):
            out[n] = "systematic" if e > SYSTEMATIC * max(r, zero) else "round-off"
        elif e > SYSTEMATIC * r:
            out[n] = "systematic"
        else:
            out[n] = "unresolved"
    return out


class Verdicts(NamedTuple):
    """What :func:`verdicts` found.

    Attributes:
        systematic: the parameters whose difference from float64 is no round-off, each
            with the note saying why.
        unresolved: the parameters whose difference cannot be told from round-off,
            each with the note saying why (they are reported ``inconclusive``).
        failure: why nothing was measured (a nudged evaluation raised), or ``""``.
        unmoved: the parameters no nudge moved enough to measure.
        reproduced: the parameters whose difference the reference reproduced: round-off
            whatever its size.
        reach: for the parameters judged round-off, the largest difference from the
            reference the rule lets pass, relative to the scale the notes use (attack33
            H124: the report's stated bound must cover it).
    """

    systematic: dict[str, str]
    unresolved: dict[str, str]
    failure: str = ""
    unmoved: tuple[str, ...] = ()
    reproduced: frozenset[str] = frozenset()
    reach: dict[str, float] | None = None


class _Reference(NamedTuple):
    """The reference's gradient; whether its loss is the user's bit for bit; whether
    its computation is the user's (:data:`HALF_EXACT`: the user's gradient bit for bit,
    or a complete replay of the model's dtypes); the other dtypes a replay ran in."""

    grads: Grads
    same_loss: bool
    exact: bool = False
    ran: tuple[str, ...] = ()


def _reference(side: Side, user: Analytic, rng: GlobalRng) -> _Reference | None:
    """The reference gradient at the side's parameters, or ``None`` where it raises or
    its loss is not the user's to :data:`REPRODUCED` round-offs (module text). A half
    dtype's reference that is not the user's loss and gradient bit for bit is run again
    replaying the model's dtypes (:attr:`Side.replayed`; then its floats too), and that
    one is taken where its loss is the user's bit for bit (the dtypes alone only where
    the forward's floats were the model's, :attr:`Side.differ`: else the reference is not
    the user's loss, whatever its value)."""
    if side.reference is None or user.dtype not in UNIT:
        return None
    got = _run(side, side.reference, rng)
    exact = _same(got, user)
    half = UNIT[user.dtype] >= UNIT["float16"]
    other = False  # the copy's forward floats are known to differ from the model's
    ran: tuple[str, ...] = ()
    if half and side.replayed is not None and not exact:
        for floats in (False, True):  # the dtypes; and only where they do not, the floats
            again = _run(side, partial(_with_floats, side.replayed, floats), rng)
            last = side.last_replay()
            other = other or last.differ
            # a loss that rounds to the model's with other floats (an eps of float64's
            # beside the model's bfloat16 one) is not the model's computation (H133)
            if again is not None and again[0] == user.value and not last.differ:
                got, exact, other, ran = again, last.complete, False, last.dtypes
                break
    if got is None:
        return None
    value, g = got
    if abs(value - user.value) > REPRODUCED * UNIT[user.dtype] * abs(user.value):
        return None
    grads = {n: np.zeros(user.grads[n].shape) if x is None else np.asarray(x) for n, x in g.items()}
    return _Reference(grads, value == user.value and not other, exact, ran)


def _with_floats(
    replayed: Callable[[dict[str, Array], bool], Gradient], floats: bool, params: dict[str, Array]
) -> Gradient:
    return replayed(params, floats)


def _same(got: Gradient | None, user: Analytic) -> bool:
    """Whether the reference ``got`` is the user's loss and gradient bit for bit."""
    if got is None:
        return False
    value, grads = got  # a plain pair where the side returns one
    return value == user.value and all(
        np.array_equal(np.zeros(user.grads[n].shape) if g is None else g, user.grads[n])
        for n, g in grads.items()
    )


def _run(
    side: Side, reference: Callable[[dict[str, Array]], Gradient], rng: GlobalRng
) -> Gradient | None:
    """``reference`` at the side's parameters, ``None`` where it raises."""
    with side.scope():
        rng.reset()
        try:
            return reference(side.params)
        except Exception:  # an operation the reference cannot run: measured instead
            return None


def _reproduced(
    user: Analytic,
    g64: Grads,
    ref: Grads,
    floor: float,
    outside: bool = False,
    forward: str = "",
    exact: bool = False,
    ran: tuple[str, ...] = (),
) -> Verdicts:
    """The reference's verdicts: systematic and unresolved parameters with their notes,
    and the reproduced ones; where values left the framework ``outside`` the user's
    dtype (module text), or a half dtype's ``forward`` is not the reference's (the
    reason, else ``""``), a systematic one is unresolved; an ``exact`` reference (the
    user's computation: :data:`HALF_EXACT`) reproduces a half dtype's within half a
    round-off. The notes name the other dtypes a replayed reference ``ran`` in."""
    dtype, unit = user.dtype, UNIT[user.dtype]
    computed = f"{', '.join([dtype, *ran[:-1]])} and {ran[-1]}" if ran else dtype
    how = "in the dtype your model ran each in" if ran else f"in {dtype}"
    judged = judge({n: user.grads[n] for n in g64}, g64, ref, unit, floor, exact)
    largest = max((_top(g) for g in g64.values()), default=0.0)
    systematic, unresolved = {}, {}
    reach: dict[str, float] = {}
    for n, verdict in judged.items():
        # a gradient zero up to round-off has no scale of its own (attack30 H80: "2e+13")
        own = _top(g64[n]) > unit * largest
        scale = max(_top(g64[n]) if own else largest, 1e-300)
        e, r = _top(user.grads[n] - ref[n]) / scale, _top(ref[n] - g64[n]) / scale
        reach[n] = _reach(verdict, unit, exact, r, unit * largest / scale, floor / scale)
        same = (
            f"{n}: the {dtype} gradient differs from the same formula computed in "
            f"{computed} (the float64 copy run operation by operation {how}) by {e:.2g} "
            f"of {'its scale' if own else 'the largest gradient entry'}, where {computed} "
            f"arithmetic moves that formula {r:.2g} from float64"
        )
        if verdict == "systematic" and outside:
            unresolved[n] = (
                f"{same}, but values {dtype} cannot hold left the framework (for NumPy in "
                f"a custom Function, say), and that code may compute otherwise than in "
                f"your model: a backward acting only in {dtype} cannot be told from "
                f"that code's round-off; the formula is checked in float64; "
                f"precision='model' checks the {dtype} gradient itself"
            )
        elif verdict == "systematic" and forward:
            unresolved[n] = (
                f"{same}, but {forward}: a backward acting only in {dtype} cannot be "
                f"told from the gradient of what your forward computes in {dtype}; the "
                f"formula is checked in float64; precision='model' checks the {dtype} "
                "gradient itself"
            )
        elif verdict == "systematic":
            systematic[n] = (
                f"{same}: a hook or backward acting only in {dtype} (one that tests the "
                "dtype, or rounds the gradient to bfloat16 or float16); the "
                f"{dtype} gradient itself is checked"
            )
        elif verdict == "unresolved":
            unresolved[n] = (
                f"{same}: more than round-off reproduces, too little to tell a backward "
                f"acting only in {dtype} (a gradient rounded to fewer bits) from round-off "
                f"computed another way; the formula is checked in float64; "
                f"precision='model' checks the {dtype} gradient itself"
            )
    reproduced = frozenset(n for n, v in judged.items() if v == "reproduced")
    return Verdicts(systematic, unresolved, reproduced=reproduced, reach=reach)


def _reach(verdict: str, unit: float, exact: bool, r: float, zero: float, floor: float) -> float:
    """The largest difference from the reference the rules pass as round-off, relative
    to the scale (``r``, the model's ``zero`` and ``floor`` relative to it too)."""
    if unit >= UNIT["float16"]:
        allowed = (HALF_EXACT if exact else HALF_REPRODUCED) * unit
        return max(allowed, SYSTEMATIC * max(r, zero)) if verdict == "round-off" else allowed
    if verdict == "reproduced":
        return REPRODUCED * unit
    return max(floor, min(SYSTEMATIC * r, CANCELLATION * unit), REPRODUCED * unit)


def verdicts(
    make: Callable[[str], Side],
    side: Side,
    g64: Grads,
    user: Analytic,
    floor: float,
    rng: GlobalRng,
) -> Verdicts:
    """Which parameters' plausible-sized differences from float64 are no round-off.

    Reproduced where ``side`` has a reference (module text); else measured by nudging
    (``gradcheck._adapter_roundoff``), for a difference above
    :data:`~gradcheck._numerics.CANCELLATION` round-offs of the parameter's scale
    (below it, accumulation explains it and nothing is evaluated again). A nudged
    evaluation that raises (a nudge of up to the entries' scale can leave the cost's
    domain) ends the measurement: nothing is systematic, and ``failure`` says why.
    """
    ref = _reference(side, user, rng)
    if ref is not None:
        forward = "" if ref.same_loss or UNIT[user.dtype] < UNIT["float16"] else HALF_FORWARD
        why = side.differs or forward.format(user.dtype)
        return _reproduced(user, g64, ref.grads, floor, side.outside(), why, ref.exact, ref.ran)
    unit = UNIT.get(user.dtype, 0.0)
    d0 = {
        n: user.grads[n] - g
        for n, g in g64.items()
        if plausible(user.grads[n], g, floor)
        and _top(user.grads[n] - g) > CANCELLATION * unit * _top(g)
        and _top(g) > floor
    }
    if not d0 or _no_numpy(user.dtype):
        return Verdicts({}, {})
    model = make("model")

    def gradient(side: Side, params: Grads) -> Grads:
        cast = {n: np.asarray(a, dtype=side.params[n].dtype) for n, a in params.items()}
        with side.scope():
            rng.reset()
            _, g = side.gradient(cast)
        return {n: np.zeros(params[n].shape) if x is None else np.asarray(x) for n, x in g.items()}

    probe = Probe(partial(gradient, model), partial(gradient, side), model.params)
    try:
        measured = measure(probe, d0)
    except Exception as exc:  # user code at a nudged point: said in the report
        return Verdicts({}, {}, f"{type(exc).__name__}: {exc}")
    unmoved = tuple(n for n, v in measured.items() if v == "unmeasured")
    systematic = {
        n: (
            f"{n}: the {user.dtype} gradient differs from the same computation in float64 "
            f"by {_top(d0[n]) / _top(g64[n]):.2g} of its scale, and it does not change like "
            "round-off when the parameters are nudged (it stays, or scales with the "
            f"gradient): a hook or backward acting only in {user.dtype} (or round-off that "
            f"leaves it useless); the {user.dtype} gradient itself is checked"
        )
        for n, v in measured.items()
        if v == "systematic"
    }
    return Verdicts(systematic, {}, "", unmoved)


def _no_numpy(dtype: str) -> bool:
    try:
        return not np.issubdtype(np.dtype(dtype), np.floating)
    except TypeError:
        return True
