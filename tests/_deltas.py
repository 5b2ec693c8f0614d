"""A cost evaluated at ``Delta`` points, as the engine's evaluator is: the tests' own
stand-in for ``gradcheck._evaluate.Evaluator`` where a test builds a ``Prober`` or
probes a cost directly (tests/test_directional.py, test_kinksearch.py, test_flatness.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

Array = np.ndarray[Any, Any]


def delta_evaluator(cost: Callable[[list[Array]], Any], leaves: Sequence[Array]) -> Any:
    """``ev(points)``: ``cost`` at each point, a tuple of ``Delta`` moves of ``leaves``.

    Each point starts from fresh copies of ``leaves``; each ``Delta`` adds its amount to
    its leaf's flat entries. ``cost`` gets the moved leaves as a list; the values come
    back as one array, in the points' order.
    """

    def ev(points: Any) -> Array:
        out = []
        for point in points:
            moved = [x.copy() for x in leaves]
            for d in point:
                moved[d.leaf].reshape(-1)[d.indices] += d.amount()
            out.append(cost(moved))
        return np.array(out)

    return ev
