"""gradcheck._user_scan: many references read by type at C speed (attack34 H130)."""

from __future__ import annotations

import random

import numpy as np

from gradcheck._user_scan import CONTAINER_ITEMS, generator_type, large, scan, sift


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
    assert scan(entries, budget=len(entries)).generators == [gen]
    assert scan(entries, budget=len(entries) - 1).generators == []
    table = dict(enumerate(entries))
    assert scan(table, budget=len(table)).generators == [gen]
    objects = np.array([*entries[:-1], other], dtype=object)
    assert large(objects) and scan(objects, budget=objects.size).generators == [gen, other]
    assert scan(entries, budget=len(entries)).read == len(entries)


def test_generator_types() -> None:
    assert generator_type(np.random.Generator) and generator_type(np.random.PCG64)
    assert generator_type(np.random.RandomState) and generator_type(np.random.SeedSequence)
    assert generator_type(random.Random) and not generator_type(float)
