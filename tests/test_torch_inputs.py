"""gradcheck._torch_inputs: a clear error naming each tensor the adapter cannot check."""

from __future__ import annotations

import pytest
import torch

from gradcheck._errors import GradcheckError
from gradcheck._torch_inputs import not_inference, validate


@pytest.mark.parametrize(
    ("tensor", "message"),
    [
        (torch.ones(2, dtype=torch.int64), r"'w' has dtype torch.int64; floating or complex"),
        (torch.ones(2, device="meta"), r"'w' is on the meta device.*materialise"),
        (torch.ones(2).to_sparse(), r"'w' is a sparse tensor \(torch.sparse_coo\).*to_dense"),
    ],
)
def test_a_tensor_that_cannot_be_checked_is_named(tensor: torch.Tensor, message: str) -> None:
    with pytest.raises(GradcheckError, match=message):
        validate("w", tensor)


def test_an_inference_tensor_is_named_with_what_it_is() -> None:
    with torch.inference_mode():
        t = torch.ones(2)
    with pytest.raises(GradcheckError, match=r"^input 'x' is an inference tensor.*outside it"):
        validate("x", t, "input")
    with pytest.raises(GradcheckError, match=r"^buffer 'b' is an inference tensor"):
        not_inference("b", t, "buffer")


@pytest.mark.parametrize("dtype", [torch.float16, torch.float64, torch.complex64])
def test_a_floating_or_complex_tensor_passes(dtype: torch.dtype) -> None:
    validate("w", torch.ones(2, dtype=dtype))
    not_inference("w", torch.ones(2), "parameter")
