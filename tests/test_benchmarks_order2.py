"""The second-order benchmark (benchmarks/_order2.py, benchmarks/order2.py): premises and wiring."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def bench() -> Iterator[Any]:
    """The benchmark's ``_order2`` module (benchmarks/ on sys.path)."""
    sys.path.insert(0, str(BENCH))
    import _order2

    yield _order2
    sys.path.remove(str(BENCH))


def test_every_planted_case_has_the_right_first_derivative(bench: Any) -> None:
    import torch

    x = torch.linspace(-1, 1, 5, dtype=torch.float64, requires_grad=True)
    w = torch.linspace(0.5, 2, 5, dtype=torch.float64)
    for bug, fn in bench._torch_fns().items():
        (g,) = torch.autograd.grad(fn(x), x, w)
        assert torch.allclose(g, w * torch.cos(x)), bug


def test_every_jax_case_has_the_right_first_derivative(bench: Any) -> None:
    import jax
    import jax.numpy as jnp

    x = jnp.linspace(-1.0, 1.0, 5)
    w = jnp.linspace(0.5, 2.0, 5)
    for bug, fn in bench._jax_fns().items():
        _, pull = jax.vjp(fn, x)
        assert np.allclose(pull(w)[0], w * jnp.cos(x), rtol=1e-6), bug


def test_timing_rows_at_a_tiny_size(bench: Any) -> None:
    (row,) = bench.timing_rows([6], [6], 1)
    assert row["gc_directional_status"] == "passed" and row["gc_full_status"] == "passed"
    assert row["gc_directional_calls"] > 0 and row["ggc_fast_calls"] > 0
    # full mode: 2 evaluations per entry of the 6 inputs, 1 per entry of the 6
    # cotangents (the backward is linear in them) and 2 at the point: at most 2 per
    # parameter of the backward, those at the point included
    assert row["gc_full_backward_evals_per_param"] * 12 == pytest.approx(2 * 6 + 6 + 2)
    # a module's scalar loss: its cotangent's column costs nothing, 2 per parameter
    assert row["gc_module_full_backward_evals_per_param"] == pytest.approx(2.0)


def _row(n: int, ratio: float, evals: int) -> dict[str, Any]:
    return {
        "N": n,
        "ratio_vs_ggc_fast": ratio,
        "ratio_vs_both_fast": ratio / 2,
        "gc_directional_calls": 20,
        "gc_directional_backward_evals": evals,
    }


def test_targets_are_marked_from_the_numbers(bench: Any) -> None:
    full = {"gc_full_backward_evals_per_param": 2.0}
    out = {"timing": [{**_row(100, 1.2, 12), **full}, _row(1000, 1.4, 12)]}
    lines = bench.order2_targets(out)
    assert all("**met**" in line for line in lines)
    out = {"timing": [{**_row(100, 2.0, 12), **full}, _row(1000, 1.4, 30)]}
    lines = bench.order2_targets(out)
    assert "**not met**" in lines[0] and "**not met**" in lines[1] and "**met**" in lines[2]
    # full mode: no allowance above 2 per parameter, for a function or a module
    for per in (
        {"gc_full_backward_evals_per_param": 2.01},
        {
            "gc_full_backward_evals_per_param": 1.5,
            "gc_module_full_backward_evals_per_param": 2.01,
        },
    ):
        lines = bench.order2_targets({"timing": [{**_row(100, 1.2, 12), **per}]})
        assert "**not met**" in lines[2]


def test_the_docs_section_is_replaced_between_its_markers(bench: Any, tmp_path: Path) -> None:
    order2 = bench
    page = tmp_path / "page.md"
    page.write_text(f"head\n{order2.BEGIN}\nold\n{order2.END}\ntail\n")
    order2.write_section(page, f"{order2.BEGIN}\nnew\n{order2.END}")
    assert page.read_text() == f"head\n{order2.BEGIN}\nnew\n{order2.END}\ntail\n"
    bare = tmp_path / "bare.md"
    bare.write_text("head\n")
    order2.write_section(bare, "section")
    assert bare.read_text() == "head\n\nsection\n"


def test_the_docs_page_holds_a_generated_section() -> None:
    page = (BENCH.parent / "docs" / "second-order.md").read_text(encoding="utf-8")
    begin, end = "<!-- order2-benchmark: begin -->", "<!-- order2-benchmark: end -->"
    assert begin in page and end in page
    section = page.split(begin, 1)[1].split(end, 1)[0]
    assert "gradgradcheck" in section and "Targets:" in section
