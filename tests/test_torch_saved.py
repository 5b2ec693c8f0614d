"""gradcheck._torch_saved: whether a saved tensor has moved, and putting it back."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from gradcheck._torch_saved import Saved

DTYPES = [torch.float32, torch.float64, torch.complex64, torch.int64]


def _tensor(dtype: torch.dtype) -> torch.Tensor:
    return torch.tensor([1, -2, 3], dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_tensor_nothing_wrote_to_is_left_alone(dtype: torch.dtype) -> None:
    t = _tensor(dtype)
    saved = Saved.of(t)
    assert not saved.moved(t)
    with torch.no_grad():
        saved.restore(t)
    assert t._version == saved.version
    assert torch.equal(t, _tensor(dtype))


def _in_place(t: torch.Tensor) -> None:
    t.add_(1)


def _through_data(t: torch.Tensor) -> None:
    t.data[1] = 7  # moves no version counter


def _moved_and_back(t: torch.Tensor) -> None:
    t.add_(1)
    t.sub_(1)  # the same bits, a later version


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("write", [_in_place, _through_data, _moved_and_back])
def test_a_written_tensor_is_put_back(
    dtype: torch.dtype, write: Callable[[torch.Tensor], None]
) -> None:
    t = _tensor(dtype)
    saved = Saved.of(t)
    write(t)
    assert saved.moved(t)
    with torch.no_grad():
        saved.restore(t)
    assert torch.equal(t, _tensor(dtype)) and t.dtype == dtype


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.complex128])
def test_a_signed_zero_written_through_data_is_put_back(dtype: torch.dtype) -> None:
    t = torch.tensor([-0.0, 1.0], dtype=dtype)
    saved = Saved.of(t)
    t.data[0] = 0.0  # equal to -0.0, other bits
    assert saved.moved(t)
    with torch.no_grad():
        saved.restore(t)
    first = torch.view_as_real(t)[0, 0] if t.is_complex() else t[0]  # its real part
    assert torch.signbit(first)


def test_a_nan_entry_counts_as_moved_and_keeps_its_value() -> None:
    t = torch.tensor([float("nan"), 1.0])
    saved = Saved.of(t)
    assert saved.moved(t)  # NaN is never equal to itself
    with torch.no_grad():
        saved.restore(t)
    assert torch.isnan(t[0]) and t[1] == 1.0


def test_the_saved_value_is_a_copy() -> None:
    t = torch.ones(3, requires_grad=True)
    saved = Saved.of(t)
    assert not saved.value.requires_grad and saved.value.data_ptr() != t.data_ptr()
    with torch.no_grad():
        t.mul_(3)
    assert torch.equal(saved.value, torch.ones(3))
