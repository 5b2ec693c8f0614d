"""A check's plan: its inputs and options, validated once into one typed record.

:func:`make_plan` validates everything :func:`gradcheck.check` is given (every error
names the option or parameter at fault) and returns a :class:`Plan`; the engine runs
the plan's strategy at a :class:`Point` and each strategy returns a :class:`Ran`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import numpy as np

from gradcheck._build import Outcome
from gradcheck._errors import GradcheckError
from gradcheck._execution import Execution
from gradcheck._float64_route import Float64Route
from gradcheck._inputs import (
    NonFiniteEntry,
    analytic_gradient,
    check_options,
    check_run_options,
    check_target,
    private_copy,
)
from gradcheck._modes import Directional, Mode, ModeKeywords, RunMode, Sample, resolve_mode
from gradcheck._numerics import SAFETY, Method
from gradcheck._pytree import TreeDef, flatten
from gradcheck._steps import check_method
from gradcheck._tolerances import default_rtol

__all__ = ["Plan", "Point", "Ran", "make_plan"]

Array = np.ndarray[Any, Any]
Cost = Callable[[Any], Any]
#: The step rule the report records when no ``eps`` is given (``gradcheck._numerics``).
STEP_RULE = "u^(1/(p+1)) * max(|θ|, rms(θ))"


@dataclass(frozen=True)
class Plan:
    """What one check runs: validated inputs, private copies and resolved options.

    Attributes:
        cost: the user's cost.
        grad: the user's gradient (an array pytree or a function of the parameters).
        treedef: the structure of ``params``.
        names: the parameters' names, in order.
        leaves: private contiguous copies of the parameters (complex for ``"complex"``).
        pristine: each user array as a read-only flat view where it equals its private
            copy bit for bit, else None (see :func:`_read_only_twin`).
        analytic: the gradient read at ``params``, float64, in parameter order.
        notes: what reading the gradient found worth saying.
        method: the finite-difference method.
        eps: the given step, or None for the automatic step.
        rtol: a fixed relative tolerance, or None.
        atol: a fixed absolute tolerance, or None.
        mode: the mode that runs, with its options (``auto`` resolved).
        seed: the private generator's seed.
        progress: ``progress(done, planned)``, or None.
        execution: how the perturbed evaluations run (``gradcheck._execution``).
        options: what the report records.
        pairs: the names of complex parameters, checked as real views
            (``gradcheck._complex``).
        non_finite: the gradient's NaN or infinite entries (read as 0 in
            ``analytic``): a wrong gradient where the cost is finite (attack23 D3).
    """

    cost: Cost
    grad: Any
    treedef: TreeDef
    names: list[str]
    leaves: list[Array]
    pristine: list[Array | None]
    analytic: list[Array]
    notes: tuple[str, ...]
    method: Method
    eps: float | None
    rtol: float | None
    atol: float | None
    mode: RunMode
    seed: int
    progress: Callable[[int, int], None] | None
    execution: Execution
    options: dict[str, Any]
    pairs: frozenset[str] = frozenset()
    non_finite: tuple[NonFiniteEntry, ...] = ()

    @property
    def fixed(self) -> bool:
        """Whether fixed tolerances replace the error-estimate rule."""
        return self.rtol is not None or self.atol is not None

    @property
    def complex_step(self) -> bool:
        """Whether the method is the complex step."""
        return self.method == "complex"


class Point(NamedTuple):
    """Where the strategy runs: the plan's point, or its float64 copy.

    Attributes:
        leaves: the parameters there.
        analytic: the gradient there, flattened in parameter order.
        j0: the cost there.
        roundoff: the unit round-off that bounds the cost's precision there.
        cost_roundoff: the unit round-off of the cost's own dtype (0: ``roundoff``).
        route: the float64 copy the check moved to (``gradcheck._float64_route``), or None.
        notes: why the check did not move to a float64 copy, when it could have.
    """

    leaves: list[Array]
    analytic: list[Array]
    j0: float
    roundoff: float
    route: Float64Route | None = None
    notes: tuple[str, ...] = ()
    cost_roundoff: float = 0.0


class Ran(NamedTuple):
    """What a strategy hands back to the engine.

    Attributes:
        outcome: what it found, for :func:`gradcheck._build.build_report`.
        work: the dtype the cost computes in when below what it returns, else None.
        route: the float64 copy the check ran on, or None (see :class:`Point`).
    """

    outcome: Outcome
    work: np.dtype[Any] | None = None
    route: Float64Route | None = None


def _read_only_twin(user: Any, leaf: Array) -> Array | None:
    """The user's array as a flat view when it equals ``leaf`` bit for bit, else None.

    The evaluator only reads it (to restore perturbed entries), which saves one copy
    of every parameter: at N = 10⁶ one pass over 8 MB less per check.
    """
    if isinstance(user, np.ndarray) and user.dtype == leaf.dtype and user.flags.c_contiguous:
        return user.reshape(-1)
    return None


def _plain(value: float | None) -> float | None:
    """A number as a Python float for the report's JSON (NumPy scalars are not)."""
    return None if value is None else float(value)


def _mode_options(mode: RunMode, keywords: ModeKeywords) -> dict[str, Any]:
    """What the report records of the mode's own options: those of the mode that runs,
    and the directional keywords given under ``auto`` when it resolved to another."""
    if isinstance(mode, Sample):
        return {"sample": mode.size}
    if isinstance(mode, Directional):
        return asdict(mode)
    given = keywords.given()
    return {k: asdict(Directional(**{k: v}))[k] for k, v in given.items() if k != "sample"}


def _screen_rtol(leaves: list[Array], method: Method, rtol: float | None) -> float | None:
    """The screening tolerance of the coarsest parameter (``gradcheck._numerics.RTOL``),
    which the report records for its pictures; None when ``rtol`` is given."""
    return None if rtol is not None else max(default_rtol(x.dtype, method) for x in leaves)


def make_plan(
    cost: Cost,
    params: Any,
    grad: Any,
    *,
    method: Any,
    eps: float | None,
    rtol: float | None,
    atol: float | None,
    mode: Mode,
    seed: int,
    progress: Callable[[int, int], None] | None,
    execution: Execution,
    keywords: ModeKeywords,
    pairs: frozenset[str] = frozenset(),
) -> Plan:
    """Validate :func:`gradcheck.check`'s arguments (see there) into a :class:`Plan`;
    ``execution`` is resolved already (:func:`gradcheck._execution.resolve_execution`).

    Raises:
        GradcheckError: naming the parameter or option at fault and what to do.
    """
    check_target(cost, params)
    method = check_method(method)
    check_options(eps, rtol, atol)
    names, user_leaves, treedef = flatten(params)
    leaves = [private_copy(n, x, method == "complex") for n, x in zip(names, user_leaves)]
    total = sum(x.size for x in leaves)
    if not names or total == 0:
        raise GradcheckError("params is empty: there is no entry to check")
    check_run_options(seed=seed, progress=progress, keywords=keywords)
    run_mode = resolve_mode(mode, total, keywords)
    gradient = analytic_gradient(grad, params, names, cost, non_finite_ok=True)
    options: dict[str, Any] = {
        "method": method,
        "eps": _plain(eps),
        "rtol": _plain(rtol),
        "atol": _plain(atol),
        "mode": mode if isinstance(mode, str) else mode.name,
        "seed": int(seed),
        "safety": SAFETY,
        "step_rule": "given" if eps is not None else STEP_RULE,
        "tolerance_rule": "fixed" if rtol is not None or atol is not None else "estimate",
        "screen_rtol": _screen_rtol(leaves, method, rtol),
        "resolved_mode": run_mode.name,
        **_mode_options(run_mode, keywords),
    }
    return Plan(
        cost=cost,
        grad=grad,
        treedef=treedef,
        names=names,
        leaves=leaves,
        pristine=[_read_only_twin(u, x) for u, x in zip(user_leaves, leaves)],
        analytic=gradient.values,
        notes=gradient.notes,
        method=method,
        eps=eps,
        rtol=rtol,
        atol=atol,
        mode=run_mode,
        seed=seed,
        progress=progress,
        execution=execution,
        options=options,
        pairs=pairs,
        non_finite=gradient.non_finite,
    )
