"""What a check limited by precision or noise could not see: the notes for parameters
whose detection bound is above the float64 level (``docs/numerics.md``, "What a report
says when it cannot see")."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from gradcheck._numerics import RTOL, UNSEEN

__all__ = ["unseen_notes"]

_FLOAT64 = np.dtype(np.float64)


def unseen_notes(bounds: Sequence[tuple[str, float, Any]], method: str) -> list[str]:
    """Notes for the parameters whose detection bound is above the float64 level
    (:data:`~gradcheck._numerics.UNSEEN`): what the check could not see.

    ``bounds`` holds each parameter's name, detection bound and the dtype its check
    ran in. Only a check below float64 is told to compute in float64; a float64 check
    with such a bound was limited by the cost's own noise or curvature.
    """
    level = RTOL["float64"][method]
    notes = []
    for name, bound, dtype in bounds:
        if not UNSEEN * level < bound < math.inf:
            continue
        head = (
            f"{name}: errors smaller than {bound:.2g} of its largest gradient entry could "
            "not be seen"
        )
        if np.dtype(dtype).itemsize >= _FLOAT64.itemsize:
            notes.append(
                f"{head} (its detection bound): the cost's noise or its curvature on the "
                "scale of the step hides smaller ones"
            )
            continue
        notes.append(
            f"{head} (its detection bound; a float64 check sees about {2 * level:.0e}): "
            "pass grad as a function and let the cost follow its input's dtype, or compute "
            "it in float64, to see smaller ones"
        )
    return notes
