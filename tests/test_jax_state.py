"""gradcheck._jax_state: no tracer left in the user's objects (attack27 H42)."""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradcheck.jax as gj
from gradcheck._jax_state import Kept, holders, spaces


class Box:
    def __init__(self) -> None:
        self.last: Any = "before"
        self.calls = 0

    def loss(self, x: Any) -> Any:
        value = jnp.sum(x**2)
        self.last = value
        self.calls += 1
        self.fresh = [value]
        self.table = {"v": value}
        return value


def test_holders_are_the_objects_the_function_keeps() -> None:
    box, other = Box(), Box()

    def closure(x: Any) -> Any:
        return other.loss(x)

    assert holders(box.loss) == [box]
    assert holders(closure) == [other]
    assert holders(functools.partial(lambda b, x: b.loss(x), box)) == [box]
    assert holders(jnp.sum) == []


def test_tracers_put_back_and_concrete_changes_kept() -> None:
    box = Box()
    kept = Kept(box.loss)
    jax.jit(kept)(jnp.ones(3))
    # the tracer in last is put back, the new attributes holding tracers are removed;
    # the count the call made (a concrete value) stays, as an eager call leaves it
    assert box.last == "before" and box.calls == 1
    assert not hasattr(box, "fresh") and not hasattr(box, "table")
    assert float(kept(jnp.ones(3))) == 3.0  # eagerly: the user's code's own values
    assert float(box.last) == 3.0 and float(box.fresh[0]) == 3.0 and box.calls == 2
    jax.grad(kept)(jnp.ones(3))
    assert float(box.last) == 3.0 and box.calls == 3


def test_put_back_when_the_function_raises() -> None:
    class Failing(Box):
        def loss(self, x: Any) -> Any:
            self.last = jnp.sum(x)
            raise ValueError("no")

    box = Failing()
    with pytest.raises(ValueError, match="no"):
        jax.jit(Kept(box.loss))(jnp.ones(3))
    assert box.last == "before"


class _Logs:
    """The logging idiom of attack28 H60: a container attribute filled in place."""

    def __init__(self) -> None:
        self.log: dict[str, Any] = {"keep": 1}
        self.history: list[Any] = []

    def loss(self, p: Any) -> Any:
        value = jnp.sum(jnp.sin(p["w"]) ** 2)
        self.log["last"] = value
        self.history.append(value)
        return value


@pytest.mark.parametrize("dtype", [jnp.float64, jnp.float32])
def test_a_container_filled_in_place_is_kept_with_no_tracer(dtype: Any) -> None:
    # Kept deleted the attribute (its shallow snapshot held the same, now traced,
    # container): the next evaluation raised, and the user's object lost it
    logs = _Logs()
    with jax.enable_x64(True):
        w = jnp.asarray(np.random.default_rng(0).standard_normal(5), dtype=dtype)
        report = gj.check(logs.loss, {"w": w})
    assert report.status == "passed", str(report)
    assert set(vars(logs)) == {"log", "history"} and logs.log["keep"] == 1
    left = [*logs.log.values(), *logs.history]
    assert not any(isinstance(v, jax.core.Tracer) for v in left)


class _Keyed:
    def __init__(self) -> None:
        self.key = jax.random.PRNGKey(0)

    def loss(self, p: Any) -> Any:
        self.key, sub = jax.random.split(self.key)
        return jnp.sum(p["w"] ** 2) + 0.0 * jax.random.normal(sub)


def test_a_key_the_loss_splits_is_put_back() -> None:
    # attack28 H64: every evaluation split the user's key, which had moved after the
    # check (and each evaluation drew other numbers)
    keyed = _Keyed()
    before = keyed.key
    with jax.enable_x64(True):
        w = jnp.asarray(np.linspace(0.5, 1.5, 4))
        report = gj.check(keyed.loss, {"w": w})
    assert report.status == "passed", str(report)
    assert bool(jnp.all(keyed.key == before))


# Module-level state a loss may keep (attack: tracers left in globals and closures).
HISTORY: list[Any] = []
LAST: Any = "before"
KEY = jax.random.PRNGKey(1)
BIG: list[Any] = list(range(5000))


def _global_loss(p: Any) -> Any:
    global LAST, KEY
    value = jnp.sum(jnp.tanh(p["w"]) ** 2)
    HISTORY.append(value)
    BIG.append(value)
    LAST = value
    KEY, sub = jax.random.split(KEY)
    return value + 0.0 * jax.random.normal(sub)


def _w() -> dict[str, Any]:
    return {"w": jnp.asarray(np.linspace(-1.0, 1.0, 5))}


def test_module_globals_the_loss_uses_hold_no_tracer_after_the_check() -> None:
    # before: 2 tracers stayed in HISTORY and LAST was a tracer after a passed check;
    # the key moved with every call
    key = KEY
    with jax.enable_x64(True):
        report = gj.check(_global_loss, _w())
    assert report.status == "passed", str(report)
    assert not isinstance(LAST, jax.core.Tracer) and bool(jnp.all(key == KEY))
    assert not any(isinstance(v, jax.core.Tracer) for v in [*HISTORY, *BIG])
    assert BIG[:5000] == list(range(5000))  # too long to copy: only its tracers go


NESTED_HISTORY: list[Any] = []
NESTED_KEY = jax.random.PRNGKey(2)


def _nested_loss(p: Any) -> Any:
    def noise() -> Any:  # code of its own: NESTED_KEY is named only there
        global NESTED_KEY
        NESTED_KEY, sub = jax.random.split(NESTED_KEY)
        return jax.random.normal(sub)

    value = jnp.sum(jnp.tanh(p["w"]) ** 2)
    [NESTED_HISTORY.append(value) for _ in range(1)]  # a comprehension's code
    return value + 0.0 * noise()


def test_globals_named_only_by_nested_code_are_put_back() -> None:
    # attack31 H90: a tracer stayed in NESTED_HISTORY, found only through the
    # comprehension's code; the key split in an inner function is put back too
    key = NESTED_KEY
    with jax.enable_x64(True):
        report = gj.check(_nested_loss, _w())
    assert report.status == "passed", str(report)
    assert bool(jnp.all(key == NESTED_KEY))
    assert not any(isinstance(v, jax.core.Tracer) for v in NESTED_HISTORY)


def test_closure_cells_the_loss_uses_hold_no_tracer_after_the_check() -> None:
    def make() -> tuple[Any, list[Any], Any]:
        hist: list[Any] = []
        total: Any = None

        def loss(p: Any) -> Any:
            nonlocal total
            value = jnp.sum(jnp.tanh(p["w"]) ** 2)
            hist.append(value)
            total = value
            return value

        return loss, hist, lambda: total

    loss, hist, total = make()
    with jax.enable_x64(True):
        report = gj.check(loss, _w())
    assert report.status == "passed", str(report)
    assert total() is None or not isinstance(total(), jax.core.Tracer)
    assert not any(isinstance(v, jax.core.Tracer) for v in hist)


def test_library_functions_are_no_space_of_the_users() -> None:
    assert spaces(jnp.sum) == [] and spaces(np.linalg.norm) == []
    assert len(spaces(_global_loss)) == 1  # its globals (no closure, no object)


STATE: dict[str, Any] = {"key": jax.random.PRNGKey(3)}


def _dict_key_loss(p: Any) -> Any:
    STATE["key"], sub = jax.random.split(STATE["key"])
    return jnp.sum(p["w"] ** 2) + 0.0 * jax.random.normal(sub)


def test_a_key_in_a_global_dict_is_put_back() -> None:
    # attack29 H74 (attack27's h46 global-dict form): the key moved, inconclusive
    before = STATE["key"]
    with jax.enable_x64(True):
        report = gj.check(_dict_key_loss, _w())
    assert report.status == "passed", str(report)
    assert STATE["key"] is before


NESTED: dict[str, Any] = {"a": {"b": {"c": {"d": {"e": {"key": jax.random.PRNGKey(4)}}}}}}


@functools.cache
def _cached_state() -> dict[str, Any]:
    return {"key": jax.random.PRNGKey(5)}


def _nested_key_loss(p: Any) -> Any:
    table = NESTED["a"]["b"]["c"]["d"]["e"]
    table["key"], sub = jax.random.split(table["key"])
    return jnp.sum(p["w"] ** 2) + 0.0 * jax.random.normal(sub)


def _cached_key_loss(p: Any) -> Any:
    table = _cached_state()
    table["key"], sub = jax.random.split(table["key"])
    return jnp.sum(p["w"] ** 2) + 0.0 * jax.random.normal(sub)


@pytest.mark.parametrize(
    "loss, table",
    [(_nested_key_loss, NESTED["a"]["b"]["c"]["d"]["e"]), (_cached_key_loss, _cached_state())],
    ids=["dict 5 deep", "lru_cache"],
)
def test_a_key_in_a_nested_or_cached_dict_is_put_back(loss: Any, table: dict[str, Any]) -> None:
    # attack31 H90 residual: the key was left split (a tracer or a new key), silently
    before = table["key"]
    with jax.enable_x64(True):
        report = gj.check(loss, _w())
    assert report.status == "passed", str(report)
    assert table["key"] is before


def test_put_back_when_a_ctrl_c_lands_in_the_put_back(monkeypatch: Any) -> None:
    # the first name's put-back interrupted: the others stayed traced (state33)
    import gradcheck._jax_state as jax_state

    box = Box()
    hits = [0]
    original = jax_state._put_back

    def interrupted(*args: Any) -> None:
        hits[0] += 1
        if hits[0] == 1:
            raise KeyboardInterrupt
        original(*args)

    monkeypatch.setattr(jax_state, "_put_back", interrupted)
    with pytest.raises(KeyboardInterrupt):
        jax.jit(Kept(box.loss))(jnp.ones(3))
    assert hits[0] > 1
    assert box.last == "before" and not hasattr(box, "fresh") and not hasattr(box, "table")


NP_GEN = np.random.default_rng(40)
PY_GEN = __import__("random").Random(41)


class Holder:
    def __init__(self) -> None:
        self.gen = np.random.RandomState(42)


HOLDER = Holder()


def _drawing(p: Any) -> Any:
    noise = NP_GEN.normal() + PY_GEN.random() + HOLDER.gen.uniform()
    return jnp.sum(p["w"] ** 2) + 0.0 * noise


def _states() -> tuple[Any, ...]:
    return (repr(NP_GEN.bit_generator.state), PY_GEN.getstate(), repr(HOLDER.gen.get_state()))


def test_the_users_generators_are_put_back_by_every_jax_check() -> None:
    # state34: gradcheck.jax.check reached f only through Kept (gradcheck's own object,
    # not walked): a NumPy Generator, a random.Random and a RandomState f keeps all moved
    before = _states()
    report = gj.check(_drawing, {"w": jnp.ones(3)})
    assert report.status == "passed" and _states() == before
    report = gj.check_function(lambda w: _drawing({"w": w}), jnp.ones(3))
    assert report.status == "passed" and _states() == before
    kept = Kept(_drawing)
    first = [float(kept({"w": jnp.ones(3)})) for _ in range(2)]
    assert first[0] == first[1] and _states() == before and kept.notes == ()


def test_a_stopped_walk_is_named_by_the_jax_state() -> None:
    from types import SimpleNamespace

    from gradcheck._user_walk import VISITS

    many = [[SimpleNamespace(k=k) for k in range(VISITS // 4)] for _ in range(5)]
    kept = Kept(lambda p: jnp.sum(p) + 0.0 * len(many))
    assert len(kept.notes) == 1 and f"{VISITS} objects" in kept.notes[0]


def test_the_jax_checks_name_a_walk_stopped_at_a_bound() -> None:
    from types import SimpleNamespace

    from gradcheck._user_walk import STOPPED, VISITS

    many = [[SimpleNamespace(k=k) for k in range(1000)] for _ in range(VISITS // 1000 + 2)]
    rng = np.random.default_rng(7)
    many[-1][-1].rng = rng
    before = repr(rng.bit_generator.state)
    note = STOPPED.format(bound=f"{VISITS} objects")

    def f(w: Any) -> Any:
        return jnp.sum(w**2) + 0.0 * many[-1][-1].rng.normal()

    for report in (
        gj.check(lambda p: f(p["w"]), {"w": jnp.ones(3)}),
        gj.check_function(f, jnp.ones(3)),
    ):
        assert report.status == "passed" and report.messages.count(note) == 1
        assert repr(rng.bit_generator.state) == before
