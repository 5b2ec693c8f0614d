"""How the perturbed evaluations run: the ``execution`` option.

* ``None`` (default): one after another, in this process;
* ``Batched(fn, memory_budget=...)``: stacks of points through a vectorised cost
  ``fn(stacked) -> B values`` (see ``gradcheck._parallel``), ``B`` chunked so that one
  stack takes at most ``memory_budget`` bytes;
* an executor (a ``concurrent.futures.Executor`` or a Dask ``distributed.Client``):
  chunks of points on its workers; ``Batched(fn, executor=pool)`` runs stacks there.

The older keywords ``batched=``, ``executor=`` and ``memory_budget=`` still work;
``memory_budget`` applies only to a batched cost, and none of them may be combined
with ``execution``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from gradcheck._errors import GradcheckError
from gradcheck._evaluate import Evaluator, SerialEvaluator
from gradcheck._executor import ExecutorEvaluator, is_executor
from gradcheck._parallel import MEMORY_BUDGET, BatchedEvaluator
from gradcheck._pytree import TreeDef

__all__ = ["Batched", "Execution", "evaluator", "refusal", "resolve_execution"]


def _budget_error(value: Any) -> str:
    """Why ``value`` is no memory budget, or ``""``."""
    real = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )
    if real and math.isfinite(value) and value > 0:
        return ""
    return (
        " must be a positive number of bytes (the most one stacked batch may take; "
        f"default {MEMORY_BUDGET}, 256 MiB)"
    )


@dataclass(frozen=True)
class Batched:
    """Evaluate perturbed points in stacks with a vectorised cost.

    Attributes:
        fn: ``fn(stacked) -> B values``: the cost of a pytree shaped like ``params``
            whose every leaf has a leading batch axis ``(B, *shape)``.
        memory_budget: bytes one stack may take (default 256 MiB).
        executor: an executor or Dask client to run the stacks on, or None.

    Raises:
        GradcheckError: ``fn`` is not callable or ``memory_budget`` is not positive.
    """

    fn: Callable[[Any], Any]
    memory_budget: int = MEMORY_BUDGET
    executor: Any = None

    def __post_init__(self) -> None:
        if not callable(self.fn):
            raise GradcheckError(
                f"option execution=Batched({self.fn!r}): fn must be a function "
                "batched(stacked) -> one value per point"
            )
        why = _budget_error(self.memory_budget)
        if why:
            raise GradcheckError(f"option Batched(memory_budget={self.memory_budget!r}){why}")


class Execution(NamedTuple):
    """How a check's perturbed evaluations run, resolved.

    Attributes:
        batched: the vectorised cost, or None.
        executor: the executor or Dask client, or None.
        memory_budget: bytes one stack may take.
    """

    batched: Callable[[Any], Any] | None = None
    executor: Any = None
    memory_budget: int = MEMORY_BUDGET


def _from_keywords(batched: Any, executor: Any, memory_budget: Any) -> Execution:
    """The older keywords, validated; ``memory_budget`` must apply (a batched cost)."""
    if batched is not None and not callable(batched):
        raise GradcheckError(
            f"option batched={batched!r} must be a function batched(stacked) -> one value "
            "per point, or None"
        )
    if memory_budget is None:
        return Execution(batched, executor)
    why = _budget_error(memory_budget)
    if why:
        raise GradcheckError(f"option memory_budget={memory_budget!r}{why}")
    if batched is None:
        raise GradcheckError(
            f"option memory_budget={memory_budget!r} applies only to a batched cost: pass "
            "execution=Batched(fn, memory_budget=...), or drop memory_budget"
        )
    return Execution(batched, executor, memory_budget)


def resolve_execution(
    execution: Any, *, batched: Any = None, executor: Any = None, memory_budget: Any = None
) -> Execution:
    """The ``execution`` option (or the older keywords) as one :class:`Execution`.

    Raises:
        GradcheckError: an older keyword is combined with ``execution``, or is invalid,
            or does not apply.
    """
    keywords = {"batched": batched, "executor": executor, "memory_budget": memory_budget}
    given = [name for name, value in keywords.items() if value is not None]
    if execution is None:
        return _from_keywords(batched, executor, memory_budget)
    if given:
        raise GradcheckError(
            f"option {given[0]}= cannot be combined with execution={execution!r}: give "
            "how the evaluations run once, in execution (Batched(fn, memory_budget=..., "
            "executor=...) or an executor)"
        )
    if isinstance(execution, Batched):
        return Execution(execution.fn, execution.executor, execution.memory_budget)
    if not is_executor(execution):
        raise GradcheckError(
            f"option execution={execution!r} is neither Batched(fn, ...) nor an executor: "
            "pass execution=Batched(fn) for a vectorised cost, a "
            "concurrent.futures.Executor (e.g. ThreadPoolExecutor()) or a dask "
            "distributed.Client, or leave execution out to run serially"
        )
    return Execution(None, execution)


def evaluator(
    execution: Execution, serial: SerialEvaluator, cost: Callable[[Any], Any], tree: TreeDef
) -> Evaluator:
    """The evaluator of the perturbed points: ``serial`` itself, or one that stacks
    them or sends them to an executor while keeping ``serial``'s counts."""
    if execution.executor is not None:
        return ExecutorEvaluator(
            execution.executor, cost, execution.batched, serial, tree, execution.memory_budget
        )
    if execution.batched is not None:
        return BatchedEvaluator(execution.batched, serial, tree, execution.memory_budget)
    return serial


def refusal(ev: Evaluator) -> str:
    """A note when ``ev`` stopped stacking points (a spot check found its batched values
    not the serial cost's) and ran the rest one by one; ``""`` otherwise."""
    why = ev.refused if isinstance(ev, BatchedEvaluator | ExecutorEvaluator) else ""
    if not why:
        return ""
    return (
        f"evaluations are not vectorised: {why}; from there on every point ran through the "
        "cost one by one (a batched cost must compute the same cost at every stack size)"
    )
