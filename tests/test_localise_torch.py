"""Localisation in a torch model (issue 11 §1). Apart from ``test_localise.py``
so that its mutation run (one forked child per mutant) does not import torch in every
child."""

from __future__ import annotations


class TestNoFalseBlame:
    """Issue 11 §1: correct index ranges were named as known wrong regions."""

    def test_torch_planted_entry(self) -> None:
        """The issue's model with one entry of autograd's gradient off by 5e-6."""
        import torch
        from torch import nn

        import gradcheck.torch as gt

        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(784, 1000), nn.Tanh(), nn.Linear(1000, 200)).double()
        x, y = torch.randn(32, 784).double(), torch.randn(32, 200).double()

        def plant(grad: torch.Tensor) -> torch.Tensor:
            grad = grad.clone()
            grad.view(-1)[123456] += 5e-6
            return grad

        model[0].weight.register_hook(plant)
        for seed in (0, 3):  # before: 0.weight[196000:392000], [123552:123648] named too
            report = gt.check_module(model, lambda m: ((m(x) - y) ** 2).mean(), seed=seed)
            loc = report.localisation
            assert loc["pinned"] == ["0.weight[157, 368]"] and loc["regions"] == [], str(report)
            assert report.failed_parameters == ["0.weight"]
