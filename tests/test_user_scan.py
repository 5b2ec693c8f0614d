"""gradcheck._user_scan: many references read by type at C speed (attack34 H130)."""

from __future__ import annotations

import random

import numpy as np

from gradcheck._user_scan import (
    CONTAINER_ITEMS,
    LEVELS,
    SCANNED,
    generator_type,
    large,
    scan,
    sift,
)


def test_sift_passes_over_numbers_strings_and_plain_types() -> None:
    gen, box, a, objs = np.random.default_rng(0), object(), np.ones(2), np.array([None])
    items = [1, 2.0, "s", None, np.float64(3), gen, box, b"b", 1j, True, a, objs]
    assert sift(items, plain=set()) == ([gen, box, objs], [a])
    assert sift(items, plain={object}) == ([gen, objs], [a])
    assert sift([box, gen], plain=set()) == ([box, gen], [])


def test_scan_finds_the_generators_a_large_container_holds_directly() -> None:
    gen, other = np.random.default_rng(1), random.Random(2)
    entries = [0.0] * CONTAINER_ITEMS + [gen, [other]]
    assert large(entries) and not large(entries[:CONTAINER_ITEMS])
    assert scan([entries], budget=len(entries) + 1).generators == [gen, other]
    cut = f"{SCANNED} references read by type"
    assert scan([entries], budget=len(entries)) == ([gen], len(entries), cut)
    assert scan([entries], budget=len(entries) - 1) == ([], 0, cut)
    table = dict(enumerate(entries))
    assert scan([table], budget=2 * len(table) + 1).generators == [gen, other]
    objects = np.array([*entries[:-1], other], dtype=object)
    assert large(objects) and scan([objects], budget=objects.size).generators == [gen, other]
    assert scan([entries], budget=SCANNED) == ([gen, other], len(entries) + 1, "")


class _Node:
    def __init__(self, nxt: object = None) -> None:
        self.nxt, self.pay = nxt, [1, 2, 3]


class _Slotted:
    __slots__ = ("gen",)


def test_scan_finds_a_generator_on_the_last_of_many_objects() -> None:
    # state34: a generator on the last of 20,000 user objects in a list the cost named kept
    # moving (only the generators a large container held directly were found)
    nodes = [_Node() for _ in range(2000)]
    gen, torn, deep = np.random.default_rng(0), random.Random(1), np.random.RandomState(2)
    nodes[-1].rng = gen  # type: ignore[attr-defined]
    slotted = _Slotted()
    slotted.gen = torn
    nodes[5].pay.append({"a": (slotted,)})
    nodes[7].nxt = _Node(_Node(np.array([deep], dtype=object)))
    found = scan([nodes], budget=SCANNED)
    assert found.stopped == "" and {id(g) for g in found.generators} == {
        id(gen),
        id(torn),
        id(deep),
    }


def test_scan_reads_shared_and_cyclic_objects_once_and_follows_no_function() -> None:
    shared = _Node()
    shared.pay = [random.Random(0)] * 3
    nodes = [_Node(shared) for _ in range(2000)]
    shared.nxt = nodes  # a cycle back to the container
    found = scan([nodes], budget=SCANNED)
    assert found.stopped == "" and len(found.generators) == 1
    assert found.read < 7 * len(nodes) + 20  # each node's 3 references, its pay's 3, shared once
    held = random.Random(3)
    away = [lambda: held, type("K", (), {"gen": held}), random] + [0] * CONTAINER_ITEMS
    assert scan([away], budget=SCANNED) == ([], len(away), "")


def _chain(links: int, end: object) -> list[object]:
    for _ in range(links):
        end = _Node(end)
    return [end] + [0] * CONTAINER_ITEMS


def test_scan_names_what_it_left_unread() -> None:
    gen = random.Random(0)
    found = scan([_chain(LEVELS - 2, gen)], budget=SCANNED)
    assert found.generators == [gen] and found.stopped == ""
    assert (
        scan([_chain(LEVELS + 2, gen)], budget=SCANNED).stopped == f"{LEVELS} levels read by type"
    )


def test_generator_types() -> None:
    assert generator_type(np.random.Generator) and generator_type(np.random.PCG64)
    assert generator_type(np.random.RandomState) and generator_type(np.random.SeedSequence)
    assert generator_type(random.Random) and not generator_type(float)
