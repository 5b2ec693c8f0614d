"""Where the directional ``order=2`` check's time goes: the check against its parts.

Run from the repository root: ``.venv/bin/python benchmarks/order2_parts.py [N ...]``
(default N = 100 and 10000; about a minute on 2 shared cores). Prints, per N, the
median CPU time (``time.process_time``, one thread, interleaved rounds) of
``check_function(order=2, mode="directional")`` on ``Ring2``, of its first-order check
alone, of the 11 evaluations of the backward its second order makes (and one double
backward) with nothing around them, of ``gradgradcheck(fast_mode=True)``, and of one
``torch.manual_seed`` (the check makes 5). ``docs/second-order.md`` ("Where the time
goes") reads these numbers; nothing is written.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

import gradcheck.torch as gt  # noqa: E402

ROUNDS = 7


def ring2(x: Any) -> Any:
    """``tanh(x) · roll(x, 1)``, the second-order benchmark's function."""
    return torch.tanh(x) * torch.roll(x, 1)


def parts(n: int) -> dict[str, Callable[[], Any]]:
    """The timed jobs at size ``n``."""
    x = torch.tensor(np.random.default_rng(1).uniform(-1, 1, n), requires_grad=True)
    w = torch.tensor(np.random.default_rng(2).standard_normal(n))

    def bare() -> None:
        for _ in range(11):
            xx = x.detach().clone().requires_grad_()
            (g,) = torch.autograd.grad(ring2(xx), xx, w, create_graph=True)
            g.detach().numpy().copy()
        torch.autograd.grad(g, xx, torch.ones_like(g))

    return {
        "order=2 directional": lambda: gt.check_function(
            ring2, x, order=2, mode="directional", modes=("rev",)
        ),
        "its first order alone": lambda: gt.check_function(
            ring2, x, mode="directional", modes=("rev",)
        ),
        "11 bare backward evaluations + 1 double backward": bare,
        "gradgradcheck(fast_mode=True)": lambda: torch.autograd.gradgradcheck(
            ring2, (x,), fast_mode=True
        ),
        "one torch.manual_seed": lambda: torch.manual_seed(0),
    }


def main(argv: list[str]) -> int:
    """Print the medians per N."""
    torch.set_num_threads(1)
    for n in [int(a) for a in argv] or [100, 10_000]:
        jobs = parts(n)
        for job in jobs.values():
            job()
        times: dict[str, list[float]] = {k: [] for k in jobs}
        for _ in range(ROUNDS):
            for name, job in jobs.items():
                start = time.process_time()
                job()
                times[name].append(time.process_time() - start)
        cells = [f"{k} {statistics.median(v) * 1e3:.1f} ms" for k, v in times.items()]
        print(f"N = {n}: " + "; ".join(cells))
    print(f"load average: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
