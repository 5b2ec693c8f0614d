"""The tensors the torch adapter can check: a clear error for one it cannot.

A parameter or input must be a floating or complex tensor with values (not on the meta
device), strided (not sparse) and not an inference tensor; a buffer must not be an
inference tensor either (its state is saved and restored). Each error names the tensor
and says what to do.
"""

from __future__ import annotations

import torch

from gradcheck._errors import GradcheckError

__all__ = ["not_inference", "validate"]


def validate(name: str, t: torch.Tensor, what: str = "parameter") -> None:
    """A clear error for a tensor gradcheck cannot check (dtype, layout, device,
    inference mode); ``what`` it is, for the message."""
    if not (t.is_floating_point() or t.is_complex()):
        raise GradcheckError(f"{name!r} has dtype {t.dtype}; floating or complex tensors only")
    if t.is_meta:
        raise GradcheckError(
            f"{name!r} is on the meta device, which holds no values: materialise the model "
            "first (model.to_empty(device='cpu') and initialise it, or load a state dict)"
        )
    not_inference(name, t, what)
    if t.layout != torch.strided:
        raise GradcheckError(
            f"{name!r} is a sparse tensor ({t.layout}), which gradcheck does not support "
            "yet: check it as a dense tensor (.to_dense()); a sparse gradient (as "
            "nn.Embedding(sparse=True) gives) is supported"
        )


def not_inference(name: str, t: torch.Tensor, what: str) -> None:
    """A clear error for an inference tensor, which autograd and version counters refuse
    (torch raised "Inference tensors do not track version counter")."""
    if t.is_inference():
        raise GradcheckError(
            f"{what} {name!r} is an inference tensor (created under torch.inference_mode()): "
            "autograd cannot differentiate through it and its state cannot be saved; "
            "create the model (or tensor) outside torch.inference_mode(), or replace it "
            "with a normal copy outside it (nn.Parameter(p.clone()) for a parameter, "
            "t.clone() for a buffer or input)"
        )
