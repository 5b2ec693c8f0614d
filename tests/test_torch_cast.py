"""``gradcheck._torch_cast``: float64 copies, NumPy gradients and scalar losses."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gradcheck import GradcheckError
from gradcheck._torch_cast import as_float64, dense, dtype_name, scalar, to_float64, wide
from gradcheck._torch_reference import InDtype, exits


class TestWiden:
    @pytest.mark.parametrize(
        ("dtype", "expected"),
        [
            (torch.float32, torch.float64),
            (torch.float16, torch.float64),
            (torch.complex64, torch.complex128),
            (torch.complex128, torch.complex128),
        ],
    )
    def test_wide(self, dtype: torch.dtype, expected: torch.dtype) -> None:
        assert wide(dtype) == expected

    def test_as_float64_reaches_into_containers_and_leaves_the_rest(self) -> None:
        args = (
            torch.ones(2, dtype=torch.float32),
            [torch.ones(1, dtype=torch.complex64), torch.arange(3)],
            {"x": torch.ones(1, dtype=torch.bfloat16), "n": 5},
        )
        out = as_float64(args)
        assert isinstance(out, tuple) and isinstance(out[1], list)
        assert out[0].dtype == torch.float64 and out[1][0].dtype == torch.complex128
        assert out[1][1].dtype == torch.int64 and out[2]["x"].dtype == torch.float64
        assert out[2]["n"] == 5

    def test_to_float64_keeps_complex_parameters_complex(self) -> None:
        module = torch.nn.Linear(2, 2)
        module.register_buffer("phase", torch.ones(2, dtype=torch.complex64) * (1 + 2j))
        wide_module = to_float64(module)
        assert wide_module.weight.dtype == torch.float64
        phase = wide_module.get_buffer("phase")
        assert phase.dtype == torch.complex128 and torch.all(phase.imag == 2)

    def test_to_float64_of_a_real_module(self) -> None:
        assert to_float64(torch.nn.Linear(2, 1)).weight.dtype == torch.float64

    def test_dtype_name(self) -> None:
        assert dtype_name(torch.float32) == "float32"
        assert dtype_name(torch.complex128) == "complex128"


class TestDense:
    def test_a_sparse_gradient_becomes_a_dense_float64_copy(self) -> None:
        g = torch.tensor([[0.0, 2.0], [3.0, 0.0]], dtype=torch.float32).to_sparse()
        out = dense(g)
        assert out.dtype == np.float64 and out.tolist() == [[0.0, 2.0], [3.0, 0.0]]

    def test_a_copy_not_a_view(self) -> None:
        g = torch.ones(3, dtype=torch.float64)
        out = dense(g)
        out[0] = 5.0
        assert g[0] == 1.0

    def test_complex_stays_complex(self) -> None:
        out = dense(torch.tensor([1 + 2j], dtype=torch.complex64))
        assert out.dtype == np.complex128 and out[0] == 1 + 2j

    def test_it_is_no_value_leaving_for_numpy_code(self) -> None:
        # a float64 function's gradient beside a float16 stage, which float16 cannot
        # hold: the reference took gradcheck's own conversion for the user's NumPy code
        # and left a float16-only backward bug unresolved (trust35)
        g = torch.tensor([0.1], dtype=torch.float64)
        mode = InDtype(torch.float16)
        with mode, exits():
            out = dense(g)
        assert not mode.outside and out.tolist() == [0.1]
        with mode, exits():
            g.numpy()  # the user's code's: it is
        assert mode.outside


class TestScalar:
    @pytest.mark.parametrize("value", [torch.tensor(2.5), torch.tensor([2.5])])
    def test_one_entry_is_a_0d_tensor(self, value: torch.Tensor) -> None:
        out = scalar(value, "the loss")
        assert out.shape == () and float(out) == 2.5

    @pytest.mark.parametrize(
        ("value", "said"), [(torch.ones(2, 3), r"\(2, 3\)"), (2.5, "float"), (None, "NoneType")]
    )
    def test_anything_else_is_named(self, value: object, said: str) -> None:
        with pytest.raises(
            GradcheckError, match=rf"the loss must return a scalar tensor, got {said}"
        ):
            scalar(value, "the loss")
