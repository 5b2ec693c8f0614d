"""Directional checks of large torch models (issue 11 §1). Apart from ``test_directional.py``
so that its mutation run (one forked child per mutant) does not import torch in every
child."""

from __future__ import annotations


class TestLargeModel:
    """Issue 11 §1: correct float64 gradients of a 10⁶-parameter MLP failed."""

    def test_torch_module_directional(self) -> None:
        import torch
        from torch import nn

        import gradcheck.torch as gt

        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(64, 100), nn.Tanh(), nn.Linear(100, 10)).double()
        x, y = torch.randn(32, 64).double(), torch.randn(32, 10).double()
        assert sum(q.numel() for q in model.parameters()) > 4096
        for seed in range(12):
            report = gt.check_module(model, lambda m: ((m(x) - y) ** 2).mean(), seed=seed)
            assert report.mode == "directional" and report.passed, str(report)

    def test_torch_issue_reproducer(self) -> None:
        """The issue's own model: seeds 0 and 3 failed with ``noise == 0.0``."""
        import torch
        from torch import nn

        import gradcheck.torch as gt

        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(784, 1000), nn.Tanh(), nn.Linear(1000, 200)).double()
        x, y = torch.randn(32, 784).double(), torch.randn(32, 200).double()
        for seed in range(4):
            report = gt.check_module(model, lambda m: ((m(x) - y) ** 2).mean(), seed=seed)
            assert report.passed and report.noise > 0, str(report)
