"""``gradcheck._evaluate`` with torch: a cost drawing from torch's RNG, and the adapter's
domain edge.

Split from ``tests/test_evaluate.py`` so that the module's mirror file (the first stage
of its mutation run, ``tools/mutate_direct.py``) runs NumPy only, as was done for
``tests/test_user_rng.py``: importing torch makes each forked mutant 14 to 26 s instead
of a few.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import gradcheck
from gradcheck import GradcheckError

torch = pytest.importorskip("torch")


class TestDomainEdge:
    """A cost that is NaN past its domain's edge, through the torch adapter (issue 11 §6,
    JAX docs' x / (1 + √x) at 0)."""

    def test_torch_adapter(self) -> None:
        import torch

        import gradcheck.torch

        # torch's check runs in batches: the probe across 0 is NaN there, and the entry is
        # judged within its own side as in the core (attack20 t82)
        x = torch.tensor([1e-7, 1.0], dtype=torch.float64, requires_grad=True)
        report = gradcheck.torch.check_function(lambda t: t / (1 + torch.sqrt(t)), x)
        assert report.status == "passed"
        assert any("input0: 1 entries' steps reached across 0" in m for m in report.messages)


class TestTorchRngKept:
    """A cost may draw from torch's RNG (a torch loss through ``.item()``): the core
    check puts it back, after a pass, a failure, an error or an interrupt (t11-attack F4)."""

    @pytest.mark.parametrize("outcome", ["pass", "fail", "error", "interrupt"])
    def test_restored(self, outcome: str) -> None:
        calls = [0]

        def cost(p: Any) -> float:
            calls[0] += 1
            torch.rand(3)
            if outcome == "error" and calls[0] == 5:
                raise ValueError("boom")
            if outcome == "interrupt" and calls[0] == 5:
                raise KeyboardInterrupt
            return float(np.sum(np.sin(p)))

        sign = -1.0 if outcome == "fail" else 1.0
        torch.manual_seed(7)
        torch.rand(2)
        before = torch.get_rng_state().clone()
        x = np.linspace(-1.0, 1.0, 5)
        try:
            report = gradcheck.check(cost, x, lambda p: sign * np.cos(p))
            assert report.status == ("failed" if outcome == "fail" else "passed")
        except (GradcheckError, KeyboardInterrupt):
            assert outcome in ("error", "interrupt")
        assert torch.equal(torch.get_rng_state(), before)
        assert calls[0] >= 5
