"""Which entries a check examines: the ``mode`` option and the ``auto`` rule.

* ``"full"``: every entry, two cost evaluations each (central differences).
* ``"sample"``: ``sample`` entries per parameter (an int), or that fraction of each
  parameter (a float in (0, 1]), drawn without replacement by a private generator
  seeded with ``seed``: the same seed checks the same entries.
* ``"directional"``: random projections (see ``gradcheck._directional``); the cost
  does not grow with the parameter count.
* ``"auto"`` (default): ``"full"`` when the parameters have at most
  :data:`AUTO_FULL_MAX` entries in all, ``"directional"`` above.

>>> resolve_mode("auto", 10)
'full'
>>> resolve_mode("auto", 10**6)
'directional'
>>> sample_indices(10, 3, np.random.default_rng(0))
array([5, 6, 9])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradcheck._directional import Prober, directional
from gradcheck._errors import GradcheckError
from gradcheck._evaluate import Evaluator
from gradcheck._localise import Localisation
from gradcheck._localise import localise as run_localise
from gradcheck._report import ParameterResult, Status

__all__ = [
    "AUTO_FULL_MAX",
    "DEFAULT_SAMPLE",
    "DIRECTIONAL_UNCERTAIN",
    "MODES",
    "check_sample",
    "directional_check",
    "resolve_mode",
    "sample_indices",
    "sample_size",
]

Array = np.ndarray[Any, Any]
MODES = ("auto", "full", "sample", "directional")
#: ``auto`` checks every entry up to this many entries in all. A full check costs
#: ``2N`` evaluations: 8192 evaluations of a small model take a second or two,
#: while the directional check costs 10 whatever ``N``; above this size the full
#: check's cost outgrows its benefit (it is then the user's explicit choice).
AUTO_FULL_MAX = 4096
#: A directional verdict that could not see a relative error of this size in some
#: parameter (at the stated miss probability) is ``inconclusive`` there: half the
#: gradient's size still catches every factor, sign, zero or swap mistake, and is
#: what a float32 cost's noise allows (measured bound ≈ 0.16 on a small tanh model).
DIRECTIONAL_UNCERTAIN = 0.5
#: Entries per parameter in ``sample`` mode when ``sample`` is not given.
DEFAULT_SAMPLE = 100


def resolve_mode(mode: str, total: int) -> str:
    """The mode actually run for ``mode`` on ``total`` entries (``auto`` resolved)."""
    if mode not in MODES:
        raise GradcheckError(f"unknown mode {mode!r}: choose one of {', '.join(map(repr, MODES))}")
    if mode == "auto":
        return "full" if total <= AUTO_FULL_MAX else "directional"
    return mode


def check_sample(sample: Any, run_mode: str) -> None:
    """Raise unless ``sample`` is valid and applies: only ``mode="sample"`` uses it.

    An option that does not apply is refused rather than ignored (and recorded in
    the report as though it had been used).
    """
    if sample is None:
        return
    if run_mode != "sample":
        raise GradcheckError(
            f"option sample={sample!r} applies only to mode='sample', and this check runs "
            f"mode={run_mode!r}: pass mode='sample' (--mode sample) to check a sample of "
            "entries, or drop sample"
        )
    if isinstance(sample, bool) or not isinstance(sample, (int, float, np.integer, np.floating)):
        raise GradcheckError(f"option sample={sample!r} must be an int count or a float fraction")
    if isinstance(sample, (int, np.integer)) and sample < 1:
        raise GradcheckError(f"option sample={sample!r} must be at least 1 entry")
    if isinstance(sample, (float, np.floating)) and not 0 < sample <= 1:
        raise GradcheckError(
            f"option sample={sample!r}: a fraction must lie in (0, 1]; pass an int to ask "
            "for a number of entries"
        )


def sample_size(size: int, sample: float | int | None, name: str) -> int:
    """How many of a parameter's ``size`` entries ``sample`` asks for."""
    if sample is None:
        return min(size, DEFAULT_SAMPLE)
    if isinstance(sample, bool) or not isinstance(sample, (int, float, np.integer)):
        raise GradcheckError(f"option sample={sample!r} must be an int count or a float fraction")
    if isinstance(sample, (int, np.integer)):
        if sample < 1:
            raise GradcheckError(f"option sample={sample!r} must be at least 1 entry")
        return min(size, int(sample))
    if not 0 < sample <= 1:
        raise GradcheckError(
            f"option sample={sample!r}: a fraction must lie in (0, 1]; for {name!r} pass an "
            "int to ask for a number of entries"
        )
    return max(1, min(size, int(np.ceil(sample * size))))


def sample_indices(size: int, k: int, rng: np.random.Generator) -> np.ndarray[Any, Any]:
    """``k`` distinct flat indices out of ``size``, sorted, drawn with ``rng``."""
    if k >= size:
        return np.arange(size)
    return np.sort(rng.choice(size, size=k, replace=False))


def directional_check(
    ev: Evaluator,
    leaves: list[Array],
    names: list[str],
    analytic: list[Array],
    j0: float,
    *,
    rtol: float | None,
    seed: int,
    miss: float,
    localise: bool,
    budget: int,
    roundoff: float | None = None,
) -> tuple[list[ParameterResult], Status, float, dict[str, Any], dict[str, Any], list[str]]:
    """The ``directional`` mode: verdict, then localisation and diagnosis on failure.

    Returns the parameter results, the overall status, the difference over the
    verdict's projections, the guarantee and localisation summaries, and messages.
    """
    rng = np.random.default_rng([seed, 1])
    prober = Prober(ev, leaves, analytic, j0, rtol, roundoff)
    verdict = directional(prober, names, rng, miss)
    loc = Localisation()
    if verdict.wrong and localise:
        loc = run_localise(prober, names, [x.shape for x in leaves], rng, budget, verdict.probes)
    messages = []
    results = []
    for i, (name, leaf) in enumerate(zip(names, leaves)):
        pinned = [e for e in loc.pinned if e.parameter == name]
        probes = loc.wrong.get(i, [])
        bound = verdict.bounds[i]
        status: Status = "passed"
        if i in loc.wrong:
            status = "failed"
        elif not verdict.wrong and bound > DIRECTIONAL_UNCERTAIN:
            status = "inconclusive"
            messages.append(
                f"{name}: the directional check could only see a relative error of "
                f"{bound:.2g} or more (its gradient is tiny next to the noise); use mode='full'"
            )
        diff = float("nan")
        if probes:
            a = np.array([p.analytic for p in probes])
            n = np.array([p.numeric for p in probes])
            diff = float(np.linalg.norm(a - n) / (np.linalg.norm(a) + np.linalg.norm(n) or 1.0))
        results.append(ParameterResult(
            name=name, shape=tuple(leaf.shape), dtype=str(leaf.real.dtype), status=status,
            difference=diff,
            max_abs_error=max((e.abs_error for e in pinned), default=float("nan")),
            checked=int(leaf.size), size=int(leaf.size), failed=len(pinned),
            worst=tuple(pinned[:5]), diagnosis=loc.diagnoses.get(i),
            detection_bound=bound if np.isfinite(bound) else 0.0,
        ))  # fmt: skip
    overall: Status = "failed" if verdict.wrong else "passed"
    if overall == "passed" and any(r.status == "inconclusive" for r in results):
        overall = "inconclusive"
    if verdict.wrong and localise and not loc.wrong:
        messages.append("the directional check failed but no single parameter could be blamed: "
                        "the error is spread thinly over several parameters")  # fmt: skip
    a = np.array([p.analytic for p in verdict.probes])
    n = np.array([p.numeric for p in verdict.probes])
    den = float(np.linalg.norm(a) + np.linalg.norm(n))
    difference = float(np.linalg.norm(a - n)) / den if den > 0 else 0.0
    guarantee = {
        "directions": len(verdict.probes), "relative_error": verdict.bound,
        "miss_probability": miss, "text": verdict.text,
        "noise": max(p.noise for p in verdict.probes),
    }  # fmt: skip
    localisation: dict[str, Any] = {}
    if verdict.wrong and localise:
        localisation = {
            "evaluations": loc.evaluations, "exhausted": loc.exhausted,
            "pinned": [e.label() for e in loc.pinned],
            "regions": [{"parameter": names[s[0]], "start": s[1], "stop": s[2]}
                        for s in loc.regions],
        }  # fmt: skip
    return results, overall, difference, guarantee, localisation, messages
