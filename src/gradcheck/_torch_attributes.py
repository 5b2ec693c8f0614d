"""A module's own attributes, saved and put back around a check.

A forward may change more than parameters and buffers: a step counter
(``self.calls += 1``), a tensor moved in place, a reassigned cache (``self.last =
x``), a list it appends to. The check runs the user's model, so these are saved
before and restored after (``gradcheck._torch_state.preserved``), as the parameters
are: the model is exactly as it was. A tensor attribute nothing wrote to is left alone,
by the parameters' rule (``gradcheck._torch_saved``): its version counter stays.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch

from gradcheck._torch_saved import Saved

__all__ = ["restore_attributes", "saved_attributes"]

#: ``nn.Module``'s own ``__dict__`` entries (parameter, buffer, submodule and hook
#: tables): the rest of a module's ``__dict__`` is the user's attributes.
_MODULE_OWN = frozenset(vars(torch.nn.Module())) | {"training"}


class _Attribute(NamedTuple):
    """One user attribute of a module: its object, and a copy of its contents (a
    tensor's as :class:`~gradcheck._torch_saved.Saved`)."""

    module: torch.nn.Module
    name: str
    value: Any
    copy: Any


def saved_attributes(model: torch.nn.Module) -> list[_Attribute]:
    """Every module's own attributes (a step counter, a cache, ``self.last = x``):
    tensors saved with their version counters, lists and dicts copied shallowly, other
    objects kept as they are."""
    out = []
    for m in model.modules():
        for name, value in vars(m).items():
            if name in _MODULE_OWN:
                continue
            if isinstance(value, torch.Tensor):
                copy: Any = Saved.of(value)
            else:
                copy = list(value) if isinstance(value, list) else value
                copy = dict(value) if isinstance(value, dict) else copy
            out.append(_Attribute(m, name, value, copy))
    return out


def restore_attributes(model: torch.nn.Module, saved: list[_Attribute]) -> None:
    """Put back every attribute :func:`saved_attributes` saved, by object and contents, and
    remove the attributes added since; a tensor nothing wrote to is left alone."""
    kept = {(id(a.module), a.name) for a in saved}
    for m in model.modules():
        for name in [n for n in vars(m) if n not in _MODULE_OWN]:
            if (id(m), name) not in kept:
                delattr(m, name)
    with torch.no_grad():
        for a in saved:
            if isinstance(a.value, torch.Tensor):
                a.copy.restore(a.value)
            elif isinstance(a.value, list):
                a.value[:] = a.copy
            elif isinstance(a.value, dict):
                a.value.clear()
                a.value.update(a.copy)
            a.module.__dict__[a.name] = a.value
