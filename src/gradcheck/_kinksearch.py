"""The entries whose axes cross a kink at the point, found by splitting the directions.

A parameter can sit at a kink without being 0: ``relu(x − 1)`` at ``x = 1``, ``|x − c|``
at ``c``, ``np.clip`` at its bounds, tied maxima (attack26 G5). Every random direction
meets such kinks, and ``gradcheck._kinkfree`` cannot find them by their value. They are
found by their effect instead, with group testing: a probe along a random direction on
a range of one parameter's entries (the entries already left out drawn as 0) straddles
a kink (``gradcheck._kinks`` rules 1 and 2) exactly when some entry in the range moves
the cost across one (a kink surface with normal ``n`` is crossed by ``v`` where
``nᵀv ≠ 0``, which a Gaussian draw on a range makes certain wherever ``n`` is nonzero
there). A range whose probe straddles a kink is split in two and each half probed; a
single entry whose probe straddles one is found. ``K`` such entries among ``N`` cost
about ``2K·log₂(N/K)`` probes of 4 evaluations.

What is found is only a candidate list: each entry is then judged on its own by
``gradcheck._kinkfree.one_entry`` (a smooth entry there is ``ok`` or ``wrong``, a kink
at the point ``nonsmooth`` or ``uncertain``), and the rest of the gradient by new
probes that leave them out, which must not straddle a kink themselves (else the
verdict stays inconclusive).

The search spends at most :data:`SEARCH_EVALUATIONS` evaluations and finds at most
``limit`` entries; past either it gives up (``None``) and the verdict stays
inconclusive. Where the probes that leave the found entries out still disagree, a
second search (``disagree``) splits on disagreement too, within
:data:`DISAGREE_EVALUATIONS`: a kink too small for a range's probe to see can carry a
convention far outside its slopes; what it finds is judged one by one like the rest.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from gradcheck._directional_probe import Prober

__all__ = ["DISAGREE_EVALUATIONS", "SEARCH_EVALUATIONS", "Found", "search"]

Array = np.ndarray[Any, Any]
#: The most evaluations the search spends (4 per probe): 512 probes find about 16 kink
#: entries among 10⁶ (``2·16·log₂(10⁶/16) ≈ 510``), or a 100-entry weight row; as many
#: evaluations as :data:`gradcheck._kinkfree.KINK_ENTRIES` entries checked one by one.
SEARCH_EVALUATIONS = 2048
#: The most evaluations spent on finding the entries behind a disagreement that is
#: left once the kink entries are out (64 probes: a few entries among 10⁴). A kink
#: whose jump along a range's direction is below that probe's tolerance is not found
#: as a kink, yet a convention outside its one-sided slopes there disagrees by far
#: more (relu(x − 1)·a + 0.1·|x − 1| at a = −0.19995: a jump of 5e-5, a claim 0.1
#: outside, attack26 h06 seed 5). Such entries are few; an error spread over many
#: entries (a factor everywhere) runs out of this budget and fails as before.
DISAGREE_EVALUATIONS = 256


class Found(NamedTuple):
    """The search's result.

    Attributes:
        entries: per parameter (by position), the flat indices found (sorted).
        evaluations: the cost evaluations the search spent.
    """

    entries: list[Array]
    evaluations: int


def search(
    prober: Prober,
    left_out: list[Array],
    rng: Any,
    limit: int,
    *,
    disagree: bool = False,
    budget: int | None = None,
) -> Found | None:
    """The entries (not in ``left_out``, flat indices per parameter) whose probes
    straddle a kink (module doc), or with ``disagree`` also those whose probes disagree
    (:data:`DISAGREE_EVALUATIONS`); ``None`` past ``budget`` evaluations (default
    :data:`SEARCH_EVALUATIONS`) or ``limit`` entries."""
    if budget is None:
        budget = SEARCH_EVALUATIONS
    sizes = [g.size for g in prober.g]
    free = []
    for n, idx in zip(sizes, left_out):
        mask = np.ones(n, dtype=bool)
        mask[idx] = False
        free.append(mask)
    buffers = [np.zeros(n, dtype=np.float32) for n in sizes]
    found: list[list[int]] = [[] for _ in sizes]
    spent, count = 0, 0
    stack = [(i, 0, n) for i, n in reversed(list(enumerate(sizes))) if n]
    while stack:
        leaf, lo, hi = stack.pop()
        mine = np.flatnonzero(free[leaf][lo:hi]) + lo
        if not mine.size:
            continue
        if spent + 4 > budget:
            return None
        buf = buffers[leaf]
        buf[mine] = rng.standard_normal(mine.size, dtype=np.float32)
        p = prober.probe(((leaf, lo, hi),), None, along={leaf: buf})
        buf[mine] = 0.0
        spent += 4
        if not (p.kink or (disagree and p.wrong)):
            continue
        if mine.size == 1:
            found[leaf].append(int(mine[0]))
            count += 1
            if count > limit:
                return None
            continue
        mid = int(mine[mine.size // 2])  # half the free entries on each side
        stack += [(leaf, mid, hi), (leaf, lo, mid)]
    return Found([np.array(sorted(f), dtype=np.intp) for f in found], spent)
