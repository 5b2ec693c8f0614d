"""The arrays and dicts a cost writes into are put back after a check (attack31 H93)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import gradcheck
import gradcheck._user_arrays as ua
from gradcheck._user_arrays import Kept
from gradcheck._user_rng import reachable

# CS231n's batchnorm_forward (docs/public-cases.md) in train mode, reduced to what moves:
# bn_param's running statistics, a new array each call or updated in place.
X = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.25]])


def _batchnorm(x: np.ndarray, bn_param: dict[str, Any], inplace: bool) -> np.ndarray:
    mu, var = x.mean(axis=0), x.var(axis=0)
    if inplace:
        bn_param["running_mean"] *= 0.9
        bn_param["running_mean"] += 0.1 * mu
    else:
        bn_param["running_mean"] = 0.9 * bn_param["running_mean"] + 0.1 * mu
    bn_param["running_var"] = 0.9 * bn_param.get("running_var", np.zeros(2)) + 0.1 * var
    return (x - mu) / np.sqrt(var + 1e-5)


@pytest.mark.parametrize("inplace", [False, True])
def test_running_statistics_are_put_back(inplace: bool) -> None:
    bn_param = {"mode": "train", "running_mean": np.full(2, 0.5)}
    mean = bn_param["running_mean"]
    w = np.array([[1.0, -2.0], [0.5, 1.0], [2.0, 0.0]])

    def cost(x: np.ndarray) -> float:
        return float(np.sum(_batchnorm(x, bn_param, inplace) * w))

    def grad(x: np.ndarray) -> np.ndarray:
        xhat = _batchnorm(x, bn_param, inplace)
        n, d = x.shape[0], w * 1.0
        istd = 1 / np.sqrt(x.var(axis=0) + 1e-5)
        return (n * d - d.sum(0) - xhat * (d * xhat).sum(0)) * istd / n

    report = gradcheck.check(cost, X, grad)
    assert report.status == "passed", str(report)
    # before: running_mean about the batch mean, running_var added by the check
    assert list(bn_param) == ["mode", "running_mean"]
    assert bn_param["running_mean"] is mean and mean.tolist() == [0.5, 0.5]


def test_put_back_when_the_cost_raises() -> None:
    state: dict[str, Any] = {"calls": 0, "buffer": np.zeros(3)}

    def cost(x: np.ndarray) -> float:
        state["calls"] += 1
        state["buffer"] += x
        if state["calls"] > 3:
            raise KeyboardInterrupt
        return float(x @ x)

    with pytest.raises(KeyboardInterrupt):
        gradcheck.check(cost, np.ones(3), lambda x: 2 * x)
    assert state["calls"] == 4 and state["buffer"].tolist() == [0.0, 0.0, 0.0]


def test_lists_grow_arrays_come_back() -> None:
    history: list[float] = []
    small = np.zeros(2)
    frozen = np.zeros(2)
    frozen.flags.writeable = False

    def cost(x: np.ndarray) -> float:
        history.append(float(x @ x))
        small[0] += 1.0
        return float(x @ x) + 0.0 * (small[0] + frozen[0])

    kept = Kept(reachable(cost))
    cost(np.ones(2))
    kept.restore()
    assert history == [2.0]  # lists grow, as in the user's own loop
    assert small[0] == 0.0


def test_arrays_beyond_the_byte_budget_are_not_copied(monkeypatch: Any) -> None:
    first, second = np.zeros(4), np.zeros(4)
    monkeypatch.setattr(ua, "SAVED_BYTES", first.nbytes)

    def cost(x: np.ndarray) -> float:
        first[0] += 1.0
        second[0] += 1.0
        return float(x @ x)

    kept = Kept(reachable(cost))
    cost(np.ones(2))
    kept.restore()
    assert (first[0], second[0]) == (0.0, 1.0)  # the second did not fit: left written


def test_nan_values_are_no_change_and_dict_entries_come_back_by_identity() -> None:
    a = np.array([np.nan, 1.0])
    held = np.ones(1)
    d = {"a": a, "held": held}

    def cost(x: np.ndarray) -> float:
        d["held"] = held.copy()  # equal values, another object
        d["new"] = 1
        return float(x @ x)

    kept = Kept(reachable(cost))
    cost(np.ones(2))
    kept.restore()
    assert d["held"] is held and d["new"] == 1 and np.isnan(a[0])


def test_a_call_counter_counts_on() -> None:
    calls = {"n": 0}

    def cost(x: np.ndarray) -> float:
        calls["n"] += 1
        return float(x @ x)

    report = gradcheck.check(cost, np.ones(3), lambda x: 2 * x)
    assert calls["n"] == report.evaluations > 0


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
def test_a_negative_zero_or_another_nan_written_is_put_back(dtype: Any) -> None:
    """The saved arrays are compared bit for bit: ``-0.0`` over ``0.0`` and a NaN of
    another payload are changes (``np.array_equal`` took both for equal and left them)."""
    signs = np.zeros(3, dtype=dtype)
    nans = np.full(2, np.nan, dtype=dtype)
    other = np.array(-np.nan, dtype=dtype)  # the sign bit set: another NaN's bits

    def cost(x: np.ndarray) -> float:
        signs[1] = -0.0
        nans[0] = other
        return float(x @ x)

    kept = Kept(reachable(cost))
    cost(np.ones(2))
    kept.restore()
    assert not np.signbit(signs).any()
    assert nans.tobytes() == np.full(2, np.nan, dtype=dtype).tobytes()


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
def test_complex_parts_are_put_back_bit_for_bit(dtype: Any) -> None:
    """A ``-0.0`` part or another NaN payload written into a complex array is put back
    (complex64 went to ``np.array_equal``, which took ``-0.0`` for ``0.0``: mut36)."""
    z = np.zeros(3, dtype=dtype)
    z[2] = complex(np.nan, 1.0)
    before = z.tobytes()

    def cost(x: np.ndarray) -> float:
        z[0] = complex(-0.0, 0.0)
        z[1] = complex(0.0, -0.0)
        z[2] = complex(np.nan, 2.0)
        return float(x @ x)

    kept = Kept(reachable(cost))
    cost(np.ones(2))
    kept.restore()
    assert z.tobytes() == before


def test_other_dtypes_are_compared_by_value() -> None:
    """Complex and string arrays: a changed entry is put back, an equal one (NaN
    included) is left."""
    z = np.array([1 + 2j, complex(np.nan, 0)])
    words = np.array(["a", "b"])

    def cost(x: np.ndarray) -> float:
        z[0] = 3j
        words[1] = "c"
        return float(x @ x)

    kept = Kept(reachable(cost))
    cost(np.ones(2))
    kept.restore()
    assert z[0] == 1 + 2j and np.isnan(z[1].real) and words.tolist() == ["a", "b"]


def test_the_nearest_arrays_are_saved_up_to_the_bound() -> None:
    # attack34 H132: 7*10^4 small arrays of a dataset were all saved and compared
    from gradcheck._user_arrays import SAVED_ARRAYS, Kept

    state = {"mean": np.zeros(2)}
    data = [[np.ones(2) for _ in range(1000)] for _ in range(2 * SAVED_ARRAYS // 1000 + 1)]
    cost = lambda x: (state, data)  # noqa: E731
    kept = Kept(reachable(cost))
    assert len(kept._arrays) == SAVED_ARRAYS
    assert kept._arrays[0][0] is state["mean"]


class TestKeptReadWhole:
    """:class:`Kept` on objects given directly: what it saves and what it puts back."""

    def test_a_dict_of_exactly_container_items_is_kept_one_more_is_not(self) -> None:
        from gradcheck._user_walk import CONTAINER_ITEMS

        full = {i: np.zeros(1) for i in range(CONTAINER_ITEMS)}
        over = {i: np.zeros(1) for i in range(CONTAINER_ITEMS + 1)}
        kept = Kept([full, over])
        full[0], over[0] = np.ones(1), np.ones(1)
        kept.restore()
        assert full[0].tolist() == [0.0] and over[0].tolist() == [1.0]

    def test_only_plain_dicts_are_kept(self) -> None:
        from collections import OrderedDict

        plain: dict[str, Any] = {"a": np.zeros(1)}
        ordered: OrderedDict[str, Any] = OrderedDict(a=np.zeros(1))
        kept = Kept([plain, ordered])
        plain["a"], ordered["a"] = np.ones(1), np.ones(1)
        kept.restore()
        assert plain["a"].tolist() == [0.0] and ordered["a"].tolist() == [1.0]

    def test_each_kind_of_dict_entry(self) -> None:
        arr, other, ro = np.zeros(2), np.ones(2), np.zeros(1)
        ro.flags.writeable = False
        d: dict[str, Any] = {"arr": arr, "removed": other, "count": 0, "ro": ro, "obj": None}
        kept = Kept([d])
        d["arr"] = "replaced by a string"
        del d["removed"]
        d["count"] = 5  # not an array: the user's to keep
        d["ro"] = np.ones(1)  # held a read-only array: not saved, left
        d["obj"] = np.zeros(3)  # held no array: an array in it now stays
        d["new"] = np.zeros(1)  # added by the calls: removed
        d["new_text"] = "kept"
        d["new_ro"] = ro  # a read-only array added: not one Kept saves, left
        kept.restore()
        assert d["arr"] is arr and d["removed"] is other and d["count"] == 5
        assert d["ro"].tolist() == [1.0] and d["obj"].tolist() == [0.0, 0.0, 0.0]
        assert "new" not in d and d["new_text"] == "kept" and d["new_ro"] is ro
        assert list(d) == ["arr", "count", "ro", "obj", "new_text", "new_ro", "removed"]

    def test_the_array_bound_is_exact(self, monkeypatch: Any) -> None:
        monkeypatch.setattr(ua, "SAVED_ARRAYS", 2)
        a, b, c = np.zeros(1), np.zeros(1), np.zeros(1)
        kept = Kept([a, b, c])
        assert [x for x, _ in kept._arrays] == [a, b]
        a[0] = b[0] = c[0] = 1.0
        kept.restore()
        assert (a[0], b[0], c[0]) == (0.0, 0.0, 1.0)

    def test_the_byte_budget_is_spent_array_by_array(self, monkeypatch: Any) -> None:
        a, b, c, d = np.zeros(2), np.zeros(1), np.zeros(1), np.zeros(1)
        monkeypatch.setattr(ua, "SAVED_BYTES", a.nbytes + b.nbytes)
        kept = Kept([a, b, c, d])  # a and b fill it exactly: c and d are not saved
        saved = [x for x, _ in kept._arrays]
        assert len(saved) == 2 and saved[0] is a and saved[1] is b
        monkeypatch.setattr(ua, "SAVED_BYTES", a.nbytes)
        kept = Kept([a, b, c])  # a fills it: nothing else fits
        assert len(kept._arrays) == 1 and kept._arrays[0][0] is a

    def test_a_larger_array_is_passed_over_for_a_smaller_one_later(self, monkeypatch: Any) -> None:
        big, small = np.zeros(8), np.zeros(1)
        monkeypatch.setattr(ua, "SAVED_BYTES", small.nbytes)
        kept = Kept([big, small])
        assert len(kept._arrays) == 1 and kept._arrays[0][0] is small

    def test_what_is_not_saved(self) -> None:
        ro = np.zeros(1)
        ro.flags.writeable = False
        objects = np.array([None, 1], dtype=object)
        kept = Kept([ro, objects, [np.zeros(1)], 3.0, "text"])
        assert kept._arrays == [] and kept._dicts == []

    def test_the_saved_copy_is_a_copy(self) -> None:
        a = np.array([1.0, 2.0])
        kept = Kept([a])
        ((held, saved),) = kept._arrays
        assert held is a and saved is not a and not np.shares_memory(saved, a)
        a[:] = [5.0, 6.0]
        kept.restore()
        assert a.tolist() == [1.0, 2.0]

    def test_an_unchanged_array_is_not_written(self) -> None:
        """Only a changed array is written back: one the calls left as it was, then
        made read-only, raises nothing."""
        a = np.array([1.0, 2.0])
        kept = Kept([a])
        a.flags.writeable = False
        kept.restore()
        assert a.tolist() == [1.0, 2.0]


class TestSameBits:
    """``_same_bits``: bit for bit where the dtype has an unsigned twin, else by value."""

    def test_another_shape_is_a_change(self) -> None:
        assert ua._same_bits(np.zeros(4), np.zeros((2, 2))) is False
        assert ua._same_bits(np.zeros((2, 2)), np.zeros((2, 2))) is True

    @pytest.mark.parametrize(
        "dtype", [np.bool_, np.int8, np.int16, np.uint32, np.int64, np.float16, np.float64]
    )
    def test_numbers_by_their_bits(self, dtype: Any) -> None:
        a = np.array([0, 1, 1], dtype=dtype)
        assert ua._same_bits(a, a.copy()) is True
        b = a.copy()
        b[0] = 1
        assert ua._same_bits(b, a) is False

    def test_times_by_their_bits_not_found_equal_to_themselves_by_value(self) -> None:
        t = np.array(["NaT", "2026-11-28"], dtype="datetime64[s]")
        d = np.array(["NaT", 3], dtype="timedelta64[s]")
        assert ua._same_bits(t, t.copy()) is True and ua._same_bits(d, d.copy()) is True
        assert ua._same_bits(t, np.array(["NaT", "2026-11-29"], dtype="datetime64[s]")) is False

    def test_a_float_nan_payload_is_a_change_but_a_complex_nan_is_not(self) -> None:
        nan = np.array([np.nan])
        assert ua._same_bits(-nan, nan) is False
        z = np.array([complex(np.nan, 1.0)])
        assert ua._same_bits(z, z.copy()) is True
        assert ua._same_bits(z, np.array([complex(1.0, 1.0)])) is False

    def test_strings_and_wide_floats_by_value(self) -> None:
        words = np.array(["a", "b"])
        assert ua._same_bits(words, words.copy()) is True
        assert ua._same_bits(words, np.array(["a", "c"])) is False
        wide = np.array([np.nan, 1.0], dtype=np.longdouble)
        assert ua._same_bits(wide, wide.copy()) is True


def test_saved_is_writeable_non_object_arrays_only() -> None:
    ro = np.zeros(1)
    ro.flags.writeable = False
    assert [ua._saved(x) for x in (np.zeros(1), ro, np.array([None]), [1.0], 1.0)] == [
        True,
        False,
        False,
        False,
        False,
    ]
