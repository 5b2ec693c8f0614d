"""gradcheck._user_walk: the one bounded walk of the objects a cost keeps (attack31 H90)."""

from __future__ import annotations

import functools
import itertools
import types
from typing import Any

import numpy as np
import pytest

import gradcheck
from gradcheck import _user_walk
from gradcheck._user_walk import (
    CONTAINER_ITEMS,
    DEPTH,
    ITEMS,
    SCANNED,
    STOPPED,
    VISITS,
    reachable,
    walk,
)


def _has(objects: list[Any], target: Any) -> bool:
    return any(o is target for o in objects)


class TestReach:
    def test_containers_take_no_level_functions_do(self) -> None:
        gen = np.random.default_rng(0)
        nested: Any = [gen]
        for k in range(3 * DEPTH):
            nested = {str(k): nested}
        assert _has(reachable(lambda: nested), gen)

        def chain(n: int) -> Any:  # n functions, each calling the next
            f: Any = lambda: gen  # noqa: E731
            for _ in range(n):
                f = (lambda inner: lambda: inner())(f)
            return f

        assert _has(reachable(chain(DEPTH - 1)), gen)
        assert not _has(reachable(chain(DEPTH)), gen)

    @pytest.mark.parametrize(
        "make",
        [
            lambda g: functools.cache(lambda: g),
            lambda g: functools.lru_cache(maxsize=2)(lambda k: g),
            lambda g: itertools.cycle([g]),
            lambda g: iter([g]),
            lambda g: iter({"k": g}.values()),
            lambda g: map(lambda v: v, [g]),
            lambda g: itertools.chain([0], [g]),
        ],
        ids=[
            "lru_cache",
            "lru_cache(maxsize=2)",
            "cycle",
            "list iterator",
            "dict values",
            "map",
            "chain",
        ],
    )
    def test_what_a_cache_or_an_iterator_holds(self, make: Any) -> None:
        gen = np.random.default_rng(1)
        held = make(gen)
        if isinstance(held, functools._lru_cache_wrapper):
            held(0) if held.__wrapped__.__code__.co_argcount else held()
        assert _has(reachable(lambda: held), gen)

    def test_a_large_containers_generators_and_its_objects(self) -> None:
        # its objects' generators too, read by type (state34; main left ``inner`` moving)
        gen, inner = np.random.default_rng(2), np.random.default_rng(3)
        big = [types.SimpleNamespace(g=inner)] * CONTAINER_ITEMS + [gen]
        found = reachable(lambda: big)
        assert _has(found, gen) and _has(found, inner)
        table = dict(enumerate([0.0] * CONTAINER_ITEMS + [gen]))
        assert _has(reachable(lambda: table), gen)
        huge = [0.0] * SCANNED + [gen]
        assert not _has(reachable(lambda: huge), gen)

    def test_a_third_party_packages_modules_are_not_looked_into(self) -> None:
        gen = np.random.default_rng(4)
        installed = types.ModuleType("vendor")
        installed.__file__ = "/env/lib/python3.11/site-packages/vendor/__init__.py"
        installed.gen = gen  # type: ignore[attr-defined]
        own = types.ModuleType("mine")
        own.__file__ = "/home/me/project/mine.py"
        own.gen = gen  # type: ignore[attr-defined]
        assert not _has(reachable(lambda: installed), gen)
        assert _has(reachable(lambda: own), gen)

    def test_empty_containers_are_not_visited(self) -> None:
        empties = [[{} for _ in range(CONTAINER_ITEMS)] for _ in range(VISITS // CONTAINER_ITEMS)]
        gen = np.random.default_rng(5)
        done = walk(lambda: (empties, gen))  # the hooks' dicts of a large torch model
        assert done.stopped == "" and _has(done.objects, gen)


class TestBounds:
    def test_the_walk_says_it_stopped_at_the_visits(self) -> None:
        many = [types.SimpleNamespace(k=k) for k in range(CONTAINER_ITEMS)]
        pools = [[types.SimpleNamespace(k=k) for k in range(CONTAINER_ITEMS)] for _ in range(5)]
        done = walk(lambda: (many, pools))
        assert done.stopped == f"{VISITS} objects"
        assert walk(lambda: many).stopped == ""

    def test_the_walk_says_it_stopped_at_the_references(self, monkeypatch: Any) -> None:
        monkeypatch.setattr(_user_walk, "ITEMS", 100)
        obj = types.SimpleNamespace(**{f"a{k}": types.SimpleNamespace() for k in range(200)})
        done = walk(lambda: obj)
        assert done.stopped == "100 references"
        assert len(done.objects) <= 100 + 1
        assert ITEMS == 2**16

    def test_numbers_are_passed_over_by_type(self) -> None:
        # attack34 H130: 1000 lists of 1000 ints walked 10^6 items in Python (14.6 s)
        gen = np.random.default_rng(6)
        wide = [list(range(CONTAINER_ITEMS - 1)) for _ in range(ITEMS // CONTAINER_ITEMS + 8)]
        wide.append([gen])
        done = walk(lambda: wide)
        assert done.stopped == "" and _has(done.objects, gen)
        assert not any(type(o) is int for o in done.objects)


class TestTheReport:
    def test_a_walk_stopped_at_a_bound_is_named_once(self) -> None:
        pools = [[types.SimpleNamespace(k=k) for k in range(CONTAINER_ITEMS)] for _ in range(5)]
        x = np.linspace(0.5, 1.5, 4)
        report = gradcheck.check(lambda p: float(p @ p) + 0.0 * len(pools), x, 2 * x)
        assert report.status == "passed"
        said = [m for m in report.messages if "stopped at 4096 objects" in m]
        assert said == [STOPPED.format(bound=f"{VISITS} objects")]

    def test_a_complete_walk_says_nothing(self) -> None:
        x = np.linspace(0.5, 1.5, 4)
        report = gradcheck.check(lambda p: float(p @ p), x, 2 * x)
        assert not any("gradcheck._user_walk" in m for m in report.messages)


class Config:
    def __init__(self) -> None:
        self.rng = np.random.default_rng(8)


def test_a_dataset_does_not_starve_the_walk() -> None:
    # attack34 H132 (e66e015): 100 batches of 1000 floats, or 70 of 1000 small arrays,
    # used up the references read one by one before the walk reached the config one
    # level down, whose generator then kept moving, silently
    config = Config()
    floats = [[float(j) for j in range(1000)] for _ in range(100)]
    arrays = [[np.full(3, float(j)) for j in range(1000)] for _ in range(70)]
    for data in (floats, arrays):
        done = walk(lambda data=data: (data, config))
        assert done.stopped == "" and _has(done.objects, config.rng)


def test_containers_past_the_bound_are_named_and_the_objects_still_walked() -> None:
    config = Config()
    batch = 2 * SCANNED // CONTAINER_ITEMS  # CONTAINER_ITEMS // 2 + 2 batches: past SCANNED
    data = [[0.5] * batch for _ in range(CONTAINER_ITEMS // 2 + 2)]
    done = walk(lambda: (data, config))
    assert done.stopped == f"{SCANNED} references read by type"
    assert _has(done.objects, config.rng)
    huge = [0.0] * (SCANNED + 1)
    assert walk(lambda: huge).stopped == f"{SCANNED} references read by type"


class Sample:
    def __init__(self, k: int) -> None:
        self.features, self.label = [float(k)] * 3, k % 2


SAMPLES = [Sample(k) for k in range(4 * CONTAINER_ITEMS)]


def test_a_generator_on_the_last_of_many_objects_is_put_back() -> None:
    # state34 (attack34 walk_big objs): a generator on the last of 20,000 user objects in a
    # list the cost names kept moving, silently (main: only the generators a container of
    # more than CONTAINER_ITEMS held directly were found)
    rng = np.random.default_rng(4)
    SAMPLES[-1].rng = rng  # type: ignore[attr-defined]
    before = rng.bit_generator.state

    def cost(p: np.ndarray) -> float:
        return float(p @ p) + 0.0 * SAMPLES[-1].rng.normal()  # type: ignore[attr-defined]

    x = np.linspace(0.5, 1.5, 4)
    report = gradcheck.check(cost, x, 2 * x)
    assert report.status == "passed" and rng.bit_generator.state == before
    assert not any("gradcheck._user_walk" in m for m in report.messages)
    assert _has(walk(cost).objects, rng) and walk(cost).stopped == ""


def test_past_a_bound_the_rest_is_read_by_type() -> None:
    # state34: a generator on the last of 6000 objects (past VISITS, in lists of 1000)
    # kept moving, named; the objects the walk did not reach are now read by type
    rng = np.random.default_rng(5)
    many = [[types.SimpleNamespace(k=k) for k in range(1000)] for _ in range(VISITS // 1000 + 2)]
    many[-1][-1].rng = rng
    done = walk(lambda: many)
    assert done.stopped == f"{VISITS} objects" and _has(done.objects, rng)
    wide = [[types.SimpleNamespace(k=k) for k in range(1000)] for _ in range(ITEMS // 1000 + 2)]
    wide[-1][-1].rng = rng
    done = walk(lambda: wide)
    assert done.stopped == f"{ITEMS} references" and _has(done.objects, rng)


def test_a_mapping_proxys_values_are_looked_into() -> None:
    # state34: ``types.MappingProxyType({"rng": rng})`` (a read-only view of a dict, a
    # builtins type) was passed over: its generator kept moving, silently (core, torch, JAX)
    rng = np.random.default_rng(9)
    view = types.MappingProxyType({"cfg": {"rng": rng}})
    before = rng.bit_generator.state
    x = np.linspace(0.5, 1.5, 4)
    report = gradcheck.check(lambda p: float(p @ p) + 0.0 * view["cfg"]["rng"].normal(), x, 2 * x)
    assert report.status == "passed" and rng.bit_generator.state == before
    big = types.MappingProxyType({k: [k] for k in range(2 * CONTAINER_ITEMS)} | {"rng": rng})
    assert _has(reachable(lambda: big), rng)


class _Link:
    nxt: Any
    rng: Any


def _chain(links: int, end: Any) -> Any:
    top = cur = _Link()
    for _ in range(links - 1):
        cur.nxt = _Link()
        cur = cur.nxt
    cur.rng = end
    return top


def test_past_depth_the_users_objects_are_read_by_type() -> None:
    # state34: a generator five objects down (``trainer.model.cfg.sub.opts.rng``) kept
    # moving, silently; objects past DEPTH are now read by type, and a chain longer than
    # that reading is named
    from gradcheck._user_scan import LEVELS

    rng = np.random.default_rng(10)
    for links in (DEPTH, DEPTH + 3, DEPTH + LEVELS - 2):
        top = _chain(links, rng)
        done = walk(lambda top=top: top)
        assert _has(done.objects, rng) and done.stopped == ""
    far = _chain(DEPTH + LEVELS + 3, rng)
    assert walk(lambda: far).stopped == f"{LEVELS} levels read by type"
    x = np.linspace(0.5, 1.5, 4)
    top = _chain(DEPTH + 2, rng)
    before = rng.bit_generator.state
    cost = eval(
        "lambda p: float(p @ p) + 0.0 * top" + ".nxt" * (DEPTH + 1) + ".rng.normal()", {"top": top}
    )
    report = gradcheck.check(cost, x, 2 * x)
    assert report.status == "passed" and rng.bit_generator.state == before
