"""The records the adapters' float64 route passes between its stages, and its rules' bounds.

``gradcheck._frameworks`` runs the user's loss on NumPy parameters along a
:class:`Side` (a float64 copy, or the model's own dtype), beside the user's own
analytic pass (:class:`Analytic`); each side's gradient comes as a :class:`Gradient`.
``gradcheck._roundoff_verdict`` judges the user's low-precision gradient against them,
with the bounds defined here (the module text there says what each means).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "HALF_EXACT",
    "HALF_FORWARD",
    "HALF_REPRODUCED",
    "REPRODUCED",
    "SYSTEMATIC",
    "UNIT",
    "Analytic",
    "Gradient",
    "Replayed",
    "Side",
]

Array = np.ndarray[Any, Any]
#: The unit round-off of the low-precision dtypes, NumPy's or not.
UNIT = {"float32": 2.0**-23, "float16": 2.0**-10, "bfloat16": 2.0**-7}
#: ``g32`` within this many round-offs of its parameter's scale from ``g_ref`` is the
#: formula in float32. Measured: 0 for an MLP, saturated tanh with cross-entropy,
#: BatchNorm with dropout, LayerNorm, conv, attention, transformer, GRU, RNN, embedding,
#: in-place clamps; 1–3.4 for LSTMs (float32's fused kernel beside the float64 copy's
#: decomposition) and a backward computing in numpy. A backward rounding its gradient
#: to ``k`` mantissa bits differs by about ``2^(23−k)`` round-offs (40 at ``k = 16``).
REPRODUCED = 16.0
#: ``e`` above this many times ``r``: the float32 code is farther from the formula in
#: float32 than float32 arithmetic is from float64, which round-off of another order of
#: the same operations does not do (measured: ``e ≤ 1.6 r`` for the LSTMs above).
SYSTEMATIC = 4.0
#: :data:`REPRODUCED` for bfloat16 and float16, whose round-off is so coarse that the
#: size rules (``CANCELLATION`` round-offs, the model's round-off floor) cover every
#: gradient (1e3 round-offs are 7.8 times the scale in bfloat16, 0.98 in float16): a
#: bfloat16 model whose backward rounded its gradient to float8 only in bfloat16, 4–7
#: round-offs, passed as reproduced under 16 (attack27 H47). Measured: the reference is
#: the model's gradient bit for bit (0) for bfloat16 and float16 MLPs, a CNN with
#: BatchNorm and dropout, an LSTM, attention and a saturated tanh with cross-entropy
#: (CPU). Beyond it, ``e`` above :data:`SYSTEMATIC` times ``r`` is systematic, anything
#: else unresolved: a fused kernel's other order (float32 LSTMs: ``e ≤ 1.6 r``) is
#: never failed.
HALF_REPRODUCED = 2.0
#: :data:`HALF_REPRODUCED` where the reference's loss is the user's bit for bit (its
#: forward is the model's, dtypes and stages included: ``gradcheck._torch_replay``).
#: Measured: ``e = 0`` for every parameter of 45 right bfloat16 and float16 model runs
#: (the MLPs, attention, SDPA, LSTM, CNN with BatchNorm, embedding, upcast softmax, eps
#: by dtype, float32 and float64 stages, autocast regions above). Under 2, a backward
#: acting only in the half dtype by 1% (bfloat16, 1.3 round-offs; ``e`` 1.5) or
#: rounding float16 gradients to bfloat16 (``e`` 0.8–1.6) passed 4/4 and 1/4 (attack30
#: G8 half); half a round-off of the scale is below any entry's last bit there.
HALF_EXACT = 0.5
#: Why a half dtype's systematic difference is unresolved where the reference's loss is
#: not the user's bit for bit (module text; ``{}``: the dtype).
HALF_FORWARD = (
    "the float64 copy run in {0} computes another loss than your {0} model (code that "
    "tests the dtype, a stage in a wider dtype, a fused kernel)"
)


class Analytic(NamedTuple):
    """The user's own analytic pass: its loss, its gradients (float64 arrays), dtype;
    ``given``: the checked tensors' dtype where ``dtype`` is a stage's below it (a float64
    function computing a term in bfloat16: ``gradcheck._torch_stage``), which a check
    without the float64 copy is made in."""

    value: float
    grads: dict[str, Array]
    dtype: str
    given: str = ""


class Gradient(NamedTuple):
    """A side's loss and its gradient by the framework's autodiff, by parameter name
    (``None``: the loss does not use that parameter)."""

    value: float
    grads: dict[str, Array | None]


class Replayed(NamedTuple):
    """What a replayed reference run (:attr:`Side.replayed`) did.

    Attributes:
        complete: every operation it ran matched one of the model's (its computation
            is the model's, but for the model's own extra operations).
        differ: without ``floats``, a forward operation ran with other float or string
            arguments than the model's (an eps of ``finfo(x.dtype)``): its computation
            is not the model's, even where its loss rounds to the model's (attack34
            H133).
        dtypes: the dtypes other than the model's that its operations ran in (a
            float32 stage, an autocast region), for the messages.
    """

    complete: bool
    differ: bool
    dtypes: tuple[str, ...]


class Side(NamedTuple):
    """One way to run the user's loss on NumPy parameters, in one dtype.

    Attributes:
        params: the unperturbed parameters, in this side's dtype.
        cost: ``cost(params) -> scalar``: one evaluation, no gradient.
        batched: ``batched(stacked) -> values``: vectorised evaluations.
        gradient: ``gradient(params) ->`` :class:`Gradient` by the framework's autodiff
            in this side's dtype.
        scope: a context to run all of the above in (JAX's x64 switch).
        vmap: the name of the vectorising transform, for messages.
        what: what this side is, for messages (``"a float64 copy"``, ``"x64 mode"``).
        reference: a float64 side's ``gradient`` computed operation by operation in
            the user's dtype (module text); ``None`` where the adapter has none.
        outside: whether values the user's dtype cannot hold left the framework in the
            last ``reference`` call (for NumPy code in a custom Function): the
            reference is then no ``reference`` of the user's arithmetic there.
        replayed: ``replayed(params, floats)``: ``reference`` with each operation run
            in the dtype the model runs it in (``gradcheck._torch_replay``: a stage in
            float32, an autocast region), and with ``floats`` the forward's float
            arguments the model's (an eps by dtype), for a half dtype whose
            ``reference`` is not the model's bit for bit; ``None`` where the adapter
            has none.
        last_replay: what the last ``replayed`` call did (:class:`Replayed`).
        differs: why a float64 side whose loss is not the user's is used all the same
            (a bfloat16 forward whose constants depend on the dtype, which NumPy cannot
            check in bfloat16: ``gradcheck._frameworks``), else ``""``: a difference of
            the user's gradient from it is then never systematic.
    """

    params: dict[str, Array]
    cost: Callable[[dict[str, Array]], Any]
    batched: Callable[[dict[str, Array]], Any]
    gradient: Callable[[dict[str, Array]], Gradient]
    scope: Callable[[], AbstractContextManager[Any]]
    vmap: str
    what: str
    reference: Callable[[dict[str, Array]], Gradient] | None = None
    outside: Callable[[], bool] = lambda: False
    replayed: Callable[[dict[str, Array], bool], Gradient] | None = None
    last_replay: Callable[[], Replayed] = lambda: Replayed(False, False, ())
    differs: str = ""
