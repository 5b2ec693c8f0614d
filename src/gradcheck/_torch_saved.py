"""A tensor saved before a check, and the one rule for whether it has moved since.

The torch adapter saves the user's parameters, buffers, ``.grad`` tensors
(``gradcheck._torch_state.preserved``) and a module's own tensor attributes
(``gradcheck._torch_attributes``) before it runs their code, and puts back only what
moved: an in-place copy into a tensor nothing wrote to would move its autograd version
counter, and a loss the user computed before the check could then no longer
``.backward()`` ("modified by an inplace operation", attack22 C3).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

__all__ = ["Saved"]


class Saved(NamedTuple):
    """A tensor's value and autograd version counter, as they were when saved."""

    value: torch.Tensor
    version: int

    @classmethod
    def of(cls, t: torch.Tensor) -> Saved:
        """``t``'s value (a detached copy) and version counter now."""
        return cls(t.detach().clone(), t._version)

    def moved(self, t: torch.Tensor) -> bool:
        """Whether something wrote to ``t`` since it was saved.

        Untouched means the same version and the same bits: a write through ``.data``
        does not move the version counter, so the values are compared too (NaN is
        never equal to itself, so a tensor with a NaN entry counts as moved).
        """
        return not (t._version == self.version and _same_bits(t, self.value))

    def restore(self, t: torch.Tensor) -> None:
        """Copy the saved value back into ``t`` (call under ``torch.no_grad()``), unless
        it has not :meth:`moved`: a NaN entry is copied back, which keeps its value."""
        if self.moved(t):
            t.copy_(self.value)


def _same_bits(t: torch.Tensor, value: torch.Tensor) -> bool:
    """``t`` equals ``value`` entry for entry, signed zeros included."""
    if t.shape != value.shape or t.dtype != value.dtype or not torch.equal(t, value):
        return False
    if t.is_complex():
        t, value = torch.view_as_real(t), torch.view_as_real(value)
    return not t.is_floating_point() or torch.equal(torch.signbit(t), torch.signbit(value))
