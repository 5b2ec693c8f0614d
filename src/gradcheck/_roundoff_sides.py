"""The records the adapters' float64 route passes between its stages: sides, passes.

``gradcheck._frameworks`` runs the user's loss on NumPy parameters along a
:class:`Side` (a float64 copy, or the model's own dtype), beside the user's own
analytic pass (:class:`Analytic`); each side's gradient comes as a :class:`Gradient`.
``gradcheck._roundoff_verdict`` judges the user's low-precision gradient against them.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, NamedTuple

import numpy as np

__all__ = ["Analytic", "Gradient", "Side"]

Array = np.ndarray[Any, Any]


class Analytic(NamedTuple):
    """The user's own analytic pass: its loss, its gradients (float64 arrays), dtype."""

    value: float
    grads: dict[str, Array]
    dtype: str


class Gradient(NamedTuple):
    """A side's loss and its gradient by the framework's autodiff, by parameter name
    (``None``: the loss does not use that parameter)."""

    value: float
    grads: dict[str, Array | None]


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
        complete: whether the last ``replayed`` call matched every operation it ran
            to one of the model's (its computation is the model's, but for the
            model's own extra operations).
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
    complete: Callable[[], bool] = lambda: False
