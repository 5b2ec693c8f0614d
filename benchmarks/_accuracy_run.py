"""Running the accuracy benchmark: the families, planting errors, counting verdicts.

Per case (a family and a seed): one check of the correct gradient, at gradcheck's
default options; then, in one parameter drawn with the seed, an error of 1.1× the bound
that check stated for it, planted at a random entry and (separately) at the
parameter's largest gradient entry, each checked again. Only ``failed`` counts as
caught; ``inconclusive`` is counted on its own.

The stated bound: in the full (and sample) mode a parameter's ``detection_bound`` is
relative to its largest gradient entry (to the model's, where the report notes that
the parameter's gradient is zero within round-off), so the planted error is ``1.1 ·
bound · max|g|``. In the directional mode it is the guarantee's ``ρ* = ‖s ⊙ ε‖ / ‖s ⊙ g‖``
(``s`` the entry scales of ``gradcheck._steps.entry_scale``), so the single planted
entry ``i`` gets ``1.1 · ρ* · ‖s ⊙ g‖ / sᵢ``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from _accuracy_frameworks import jax_case, torch_case
from _accuracy_problems import (
    Array,
    Case,
    maxpool_ties,
    mixed_scales,
    near_kinks,
    numpy_case,
    random_form,
    relu_kinks,
    sharp,
    sized,
)

import gradcheck
from gradcheck._steps import entry_scale

__all__ = [
    "FAMILIES",
    "PLANT_FACTOR",
    "Family",
    "Outcome",
    "Show",
    "family_named",
    "plant",
    "run_case",
    "run_chunk",
]

Show = Callable[[str, gradcheck.Report], None]
#: The planted error, as a multiple of the stated detection bound.
PLANT_FACTOR = 1.1
#: The weights of the small parameter in ``mixed scales``, cycled by seed.
WEIGHTS = (1.0, 1e-3, 1e-6, 1e-9)


@dataclass(frozen=True)
class Family:
    """A family of problems: ``make(seed)`` builds case ``seed``.

    ``seeds`` and ``quick`` are the numbers of cases in the full and ``--quick`` runs;
    ``float32_formula`` marks a correct float32 family whose formula can be checked in
    float64 (the inconclusive target applies to it).
    """

    name: str
    make: Callable[[int], Case]
    seeds: int
    quick: int
    float32_formula: bool = False
    about: str = ""


@dataclass(frozen=True)
class Outcome:
    """One check: ``kind`` is ``correct``, ``random`` or ``largest`` (where the error
    was planted); ``status`` the report's, or ``no bound`` / ``error: …``."""

    family: str
    seed: int
    kind: str
    status: str
    parameter: str = ""
    bound: float = float("nan")
    mode: str = ""


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _np(seed: int, build: Callable[[np.random.Generator], Any], **options: Any) -> Case:
    rng = _rng(seed)
    return numpy_case(build(rng), rng, **options)


FAMILIES: tuple[Family, ...] = (
    # the slowest first, so that a process pool ends together
    Family(
        "jax float32",
        lambda s: jax_case(_rng(s)),
        seeds=8,
        quick=1,
        float32_formula=True,
        about="tanh MLP, float32 jnp arrays, gradcheck.jax.check",
    ),
    Family(
        "N=1e6",
        lambda s: _np(s, lambda r: sized(r, s, 10**6)),
        seeds=3,
        quick=0,
        about="as N=1e2 at 1e6 entries (directional)",
    ),
    Family(
        "N=1e5",
        lambda s: _np(s, lambda r: sized(r, s, 10**5)),
        seeds=6,
        quick=0,
        about="as N=1e2 at 1e5 entries (directional)",
    ),
    Family(
        "torch float32",
        lambda s: torch_case(_rng(s)),
        seeds=100,
        quick=1,
        float32_formula=True,
        about="Linear-Tanh-Linear float32 model, MSE, gradcheck.torch.check_module",
    ),
    Family(
        "N=1e4",
        lambda s: _np(s, lambda r: sized(r, s, 10**4)),
        seeds=24,
        quick=0,
        about="as N=1e2 at 1e4 entries: auto resolves to directional",
    ),
    Family(
        "N=1e3",
        lambda s: _np(s, lambda r: sized(r, s, 1000)),
        seeds=30,
        quick=1,
        about="as N=1e2, about 1000 entries (full mode)",
    ),
    Family(
        "N=1e3 directional",
        lambda s: _np(s, lambda r: sized(r, s, 1000), mode="directional"),
        seeds=200,
        quick=2,
        about="as N=1e3 with mode='directional' (the only non-default option)",
    ),
    Family(
        "N=1e2",
        lambda s: _np(s, lambda r: sized(r, s, 100)),
        seeds=300,
        quick=2,
        about="sines (even seeds) or a tanh MLP (odd seeds), about 100 entries",
    ),
    Family(
        "float64",
        lambda s: _np(s, lambda r: random_form(r, s), precomputed=s % 8 >= 4),
        seeds=1500,
        quick=4,
        about="sines, tanh MLP, Rosenbrock, logsumexp + quadratic; 1-40 entries; "
        "gradient as a function or (half the seeds) precomputed arrays",
    ),
    Family(
        "float32 declared",
        lambda s: _np(s, lambda r: random_form(r, s), dtype=np.float32),
        seeds=800,
        quick=2,
        float32_formula=True,
        about="the float64 forms with float32 parameters and float32 arithmetic",
    ),
    Family(
        "float32 hidden",
        lambda s: _np(s, lambda r: random_form(r, s), hidden=True),
        seeds=800,
        quick=2,
        about="the float64 forms computed in float32 inside, a Python float out; "
        "float64 parameters, exact float64 gradient",
    ),
    Family(
        "mixed scales",
        lambda s: _np(s, lambda r: mixed_scales(r, WEIGHTS[s % 4]), targets=("b",)),
        seeds=600,
        quick=4,
        about="sin(a/sa) + w·log1p((b/sb)²), w = 1, 1e-3, 1e-6, 1e-9; errors planted in b",
    ),
    Family(
        "ReLU kinks",
        lambda s: _np(s, relu_kinks),
        seeds=300,
        quick=2,
        about="ReLU MLP, a third of its units zero-initialised (exact zeros), relu'(0) = 0",
    ),
    Family(
        "near kinks",
        lambda s: _np(s, near_kinks),
        seeds=300,
        quick=2,
        about="Σ a|x| + 0.1 Σ sin x, one or two x within 1e-9 … 1e-6 of the kink (inside a step)",
    ),
    Family(
        "max-pool ties",
        lambda s: _np(s, maxpool_ties),
        seeds=400,
        quick=2,
        about="Σ v·max over windows of a coarse grid (ties) + 0.1 Σ sin x; first argmax",
    ),
    Family(
        "sharp features",
        lambda s: _np(s, sharp),
        seeds=500,
        quick=2,
        about="Σ log1p((x/w)²), w ≈ 5e-7, one or two x within 4 w of 0",
    ),
)


def plant(
    report: gradcheck.Report, case: Case, name: str, where: str, rng: np.random.Generator
) -> Array | None:
    """The error of :data:`PLANT_FACTOR` × ``name``'s stated bound at one entry
    (``where``: ``random`` or ``largest``), or ``None`` when no bound was stated.

    The bound is relative to the parameter's largest gradient entry, or to the model's
    when the report notes that the parameter's gradient is zero within round-off and was
    judged on the model's scale.
    """
    bound = report.parameters[name].detection_bound
    g = case.grad[name].reshape(-1)
    scale = float(np.max(np.abs(g)))
    if any(m.startswith(f"{name}: the gradient is zero") for m in report.messages):
        scale = max(float(np.max(np.abs(v))) for v in case.grad.values())  # the model's
    if not (np.isfinite(bound) and bound > 0) or scale == 0:
        return None
    i = int(rng.integers(g.size)) if where == "random" else int(np.argmax(np.abs(g)))
    if report.mode == "directional":
        s = entry_scale(case.params[name].reshape(-1))
        size = PLANT_FACTOR * bound * float(np.linalg.norm(s * g)) / float(s[i])
    else:
        size = PLANT_FACTOR * bound * scale
    err = np.zeros(g.size)
    err[i] = size * float(rng.choice([-1.0, 1.0]))
    return err.reshape(case.grad[name].shape)


def _checked(
    family: str, seed: int, kind: str, name: str, fn: Callable[[], gradcheck.Report]
) -> tuple[Outcome, gradcheck.Report | None]:
    try:
        rep = fn()
    except Exception as exc:  # a crash is an outcome to report, not the end of the run
        return Outcome(family, seed, kind, f"error: {type(exc).__name__}: {exc}"[:200], name), None
    bound = rep.parameters[name].detection_bound if name in rep.parameters else float("nan")
    return Outcome(family, seed, kind, rep.status, name, bound, rep.mode), rep


def run_case(family: Family, seed: int, show: Show | None = None) -> list[Outcome]:
    """The correct check and the two planted ones of case ``seed``; ``show(title,
    report)`` is called with every report (``--case``)."""
    case = family.make(seed)
    rng = np.random.default_rng([seed, 7])
    name = case.targets[int(rng.integers(len(case.targets)))]
    first, rep = _checked(family.name, seed, "correct", name, lambda: case.run({}))
    if show and rep:
        show(f"{family.name}:{seed}, correct gradient", rep)
    out = [first]
    for where in ("random", "largest"):
        err = None if rep is None else plant(rep, case, name, where, rng)
        if err is None:
            out.append(Outcome(family.name, seed, where, "no bound", name, first.bound))
            continue
        planted, prep = _checked(family.name, seed, where, name, partial(case.run, {name: err}))
        out.append(planted)
        if show and prep:
            at = [int(k) for k in np.unravel_index(int(np.flatnonzero(err)[0]), err.shape)]
            show(
                f"{family.name}:{seed}, error {err[tuple(at)]:.3g} planted in {name}{at} "
                f"({where} entry; {PLANT_FACTOR}× the stated bound {first.bound:.3g})",
                prep,
            )
    return out


def family_named(name: str) -> Family:
    """The family called ``name``."""
    for f in FAMILIES:
        if f.name == name:
            return f
    raise KeyError(f"no family {name!r}: choose one of {', '.join(f.name for f in FAMILIES)}")


def run_chunk(name: str, seeds: range) -> tuple[str, list[Outcome], float]:
    """The cases ``seeds`` of the family ``name`` (a process-pool task); with seconds."""
    start = time.perf_counter()
    out = [o for seed in seeds for o in run_case(family_named(name), seed)]
    return name, out, time.perf_counter() - start
