"""The speed benchmark's Jacobian rows (benchmarks/_jacobian.py): premises and wiring.

The timings mean something only if every checker is given the same, exact derivative
(NumPy, torch and jax versions of each function agree) and the planted bugs are what the
page says they are; the rows themselves are run at tiny sizes (no timing is asserted).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pytest
import torch

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture()
def jac(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The benchmark's ``_jacobian`` module (benchmarks/ on sys.path), jax in float64."""
    monkeypatch.syspath_prepend(str(BENCH))
    import _jacobian

    previous = jax.config.jax_enable_x64
    yield _jacobian
    jax.config.update("jax_enable_x64", previous)


def _fd_jacobian(f: Any, x: np.ndarray) -> np.ndarray:
    """Central differences, one column per input entry."""
    cols = []
    for j in range(x.size):
        h = 1e-6 * max(1.0, abs(float(x[j])))
        up, down = x.copy(), x.copy()
        up[j] += h
        down[j] -= h
        cols.append((f(up) - f(down)) / (2 * h))
    return np.stack(cols, axis=1)


def _ring_jacobian(prob: Any, x: np.ndarray, sign: float = 1.0) -> np.ndarray:
    """The ring's Jacobian built column by column from its JVP."""
    return np.stack([prob.Ring.jvp(x, e, sign) for e in np.eye(x.size)], axis=1)


def test_dense_jacobian_and_vjp_are_exact(jac: Any) -> None:
    import _jacproblems as prob

    d = prob.Dense(7)
    exact = d.jacobian(d.x)
    assert np.allclose(_fd_jacobian(d.f, d.x), exact, rtol=1e-7, atol=1e-8)
    u = np.random.default_rng(1).standard_normal(7)
    assert np.allclose(d.vjp(d.x, u), exact.T @ u, rtol=1e-12, atol=1e-14)
    bad = d.bad_jacobian((2, 5), 2.0)(d.x)
    assert np.count_nonzero(bad != exact) == 1 and bad[2, 5] == 2 * exact[2, 5]


@pytest.mark.parametrize("entry", [(2, 5), (3, 3)])
def test_dense_torch_function_has_the_same_jacobian_and_the_same_planted_entry(
    jac: Any, entry: tuple[int, int]
) -> None:
    import _jacproblems as prob

    d = prob.Dense(7)
    x = torch.tensor(d.x)
    exact = d.jacobian(d.x)
    got = torch.autograd.functional.jacobian(d.torch_fn(), x).numpy()
    assert np.allclose(got, exact, rtol=1e-12, atol=1e-14)
    bad = torch.autograd.functional.jacobian(d.torch_fn(entry, 1.5), x).numpy()
    want = exact.copy()
    want[entry] *= 1.5
    assert np.allclose(bad, want, rtol=1e-12, atol=1e-14)
    assert np.allclose(d.torch_fn(entry, 1.5)(x).numpy(), d.f(d.x))


@pytest.mark.parametrize("n", [5, 12])
def test_ring_vjp_and_jvp_are_exact_and_the_bug_flips_the_mixing_term(jac: Any, n: int) -> None:
    import _jacproblems as prob

    x = np.random.default_rng(n).standard_normal(n)
    exact = _ring_jacobian(prob, x)
    assert np.allclose(_fd_jacobian(prob.Ring.f, x), exact, rtol=1e-7, atol=1e-8)
    u = np.random.default_rng(2).standard_normal(n)
    assert np.allclose(prob.Ring.vjp(x, u), exact.T @ u, rtol=1e-12, atol=1e-14)
    neighbours = np.eye(n, dtype=bool) | np.roll(np.eye(n, dtype=bool), -1, axis=1)
    assert np.all(exact[~neighbours] == 0) and np.all(exact[neighbours] != 0)  # O(N), not N×N
    bad = _ring_jacobian(prob, x, -1.0)
    assert np.allclose(prob.Ring.vjp(x, u, -1.0), bad.T @ u)
    assert np.allclose(np.diag(bad), np.diag(exact))
    assert not np.allclose(bad, exact)


@pytest.mark.parametrize("bug", [False, True])
def test_ring_in_torch_and_jax_match_numpy_in_both_modes(jac: Any, bug: bool) -> None:
    import _jacproblems as prob
    import jax.numpy as jnp
    from torch.autograd import forward_ad

    jax.config.update("jax_enable_x64", True)
    sign = -1.0 if bug else 1.0
    x = np.random.default_rng(3).standard_normal(9)
    u, v = np.random.default_rng(4).standard_normal((2, 9))
    want_vjp, want_jvp = prob.Ring.vjp(x, u, sign), prob.Ring.jvp(x, v, sign)
    tx = torch.tensor(x, requires_grad=True)
    out = prob.Ring.torch_fn(bug)(tx)
    assert np.allclose(out.detach().numpy(), prob.Ring.f(x))
    (got,) = torch.autograd.grad(out, tx, torch.tensor(u))
    assert np.allclose(got.numpy(), want_vjp)
    with warnings.catch_warnings(), forward_ad.dual_level():
        # torch's first forward-AD call loads its JVP decompositions through the
        # deprecated torch.jit.script: torch's own warning, not this code's.
        warnings.simplefilter("ignore", DeprecationWarning)
        dual = forward_ad.make_dual(torch.tensor(x), torch.tensor(v))
        tangent = forward_ad.unpack_dual(prob.Ring.torch_fn(bug)(dual)).tangent
    assert np.allclose(tangent.numpy(), want_jvp)
    f = prob.Ring.jax_fn(bug)
    _, jt = jax.jvp(f, (jnp.asarray(x),), (jnp.asarray(v),))
    assert np.allclose(np.asarray(jt), want_jvp)
    _, back = jax.vjp(f, jnp.asarray(x))
    assert np.allclose(np.asarray(back(jnp.asarray(u))[0]), want_vjp)


def test_interleaved_calls_each_checker_in_turn_and_keeps_the_last_result(jac: Any) -> None:
    calls: list[str] = []

    def make(name: str) -> Any:
        def fn() -> int:
            calls.append(name)
            return len(calls)

        return fn

    secs, last = jac.interleaved({"a": make("a"), "b": make("b")}, repeats=3)
    assert calls == ["a", "b"] * 4  # one warm-up round, then 3 timed rounds
    assert last == {"a": 7, "b": 8}
    assert set(secs) == {"a", "b"} and all(s >= 0 for s in secs.values())
    calls.clear()
    jac.interleaved({"a": make("a")}, repeats=2, warmup=False)
    assert calls == ["a", "a"]


def test_full_jacobian_row_at_a_tiny_size(jac: Any) -> None:
    row = jac.full_jacobian_row(12, 1)
    assert row["gc_jacobian_status"] == row["gc_vjp_status"] == "passed"
    assert row["torch_slow_passes"] is True
    assert 2 * 12 <= row["gc_jacobian_evals"] <= 4 * 12 + 8
    assert row["gc_x2_status"] == "failed" and row["gc_x2_named"] is True
    assert row["torch_slow_x2_catches"] is True
    assert row["gc_1e-3_status"] in ("failed", "inconclusive", "passed")  # reported as found


def test_directional_jacobian_row_at_a_tiny_size(jac: Any) -> None:
    row = jac.directional_jacobian_row(300, 1)
    assert row["gc_vjp_status"] == row["gc_both_status"] == "passed"
    assert row["torch_fast_passes"] is True and row["jax_passes"] is True
    assert row["gc_bug_status"] == "failed"
    assert row["torch_bug_catches"] is True and row["jax_bug_catches"] is True
    assert row["gc_vjp_evals"] <= 12 and row["gc_both_evals"] <= 30
    assert row["t_vjp_ms"] > 0 and row["torch_eval_ms"] > 0
    floor = (row["gc_vjp_evals"] * row["t_eval_ms"] + row["t_vjp_ms"]) / 1e3 / row["torch_fast_s"]
    assert row["gc_vjp_floor_vs_torch_fast"] == pytest.approx(floor)
    # the same torch and jax functions through gradcheck's adapters, in the same rounds
    for name in ("gct_rev", "gct_both", "gcj_both"):
        assert row[f"{name}_status"] == "passed" and row[f"{name}_s"] > 0
        assert 0 < row[f"{name}_evals"] <= 30
    assert row["gct_rev_vs_torch_fast"] == pytest.approx(row["gct_rev_s"] / row["torch_fast_s"])
    assert row["gct_both_vs_torch_fast_fwd"] == pytest.approx(
        row["gct_both_s"] / row["torch_fast_fwd_s"]
    )
    assert row["gcj_both_vs_jax"] == pytest.approx(row["gcj_both_s"] / row["jax_s"])
    assert row["gct_bug_status"] == row["gcj_bug_status"] == "failed"


def _directional(n: int, ratio: float, evals: int = 11, bug: str = "failed") -> dict[str, Any]:
    return {
        "N": n,
        "gc_vjp_vs_torch_fast": ratio,
        "gc_both_vs_torch_fast_fwd": 1.0,
        "gc_both_vs_jax": 1.0,
        "gc_vjp_evals": evals,
        "gc_both_evals": 27,
        "gc_bug_status": bug,
    }


def test_targets_say_not_met_with_the_ratio_when_one_size_misses(jac: Any) -> None:
    full = {
        "n": 1000,
        "gc_jacobian_vs_torch_slow": 0.9,
        "gc_vjp_vs_torch_slow": 1.2,
        "gc_jacobian_evals": 2008,
        "gc_evals_per_n": 2.008,
    }
    lines = jac.jacobian_targets(full, [_directional(10**3, 1.2), _directional(10**6, 1.7)])
    assert "**met** given the Jacobian (0.90×)" in lines[0]
    assert "**not met** given the VJP (1.20×)" in lines[0]
    assert "**not met** (1.20× at N = 1000, 1.70× at N = 1000000)" in lines[1]
    assert lines[2].count("**met**") == 1 and lines[3].count("**met**") == 1
    ok = jac.jacobian_targets(full, [_directional(10**3, 1.2)])
    assert "**met** (1.20× at N = 1000)" in ok[1]
    grown = jac.jacobian_targets(full, [_directional(10**3, 1.0, 11), _directional(10, 1, 40)])
    assert "O(1) evaluations at every N: **not met**" in grown[4]
    missed = jac.jacobian_targets(full, [_directional(10**3, 1.0, bug="passed")])
    assert missed[4].endswith("caught at every N: **not met**.")
    assert "alone take" not in lines[1]  # rows without the floor columns
    floored = _directional(10**5, 2.0) | {
        "gc_vjp_floor_vs_torch_fast": 1.6,
        "t_eval_ms": 2.4,
        "torch_eval_ms": 1.1,
    }
    line = jac.jacobian_targets(full, [floored])[1]
    assert line.startswith("- Directional Jacobian check within 1.5× of torch fast mode")
    assert "**not met** (2.00× at N = 100000); its 11 evaluations of f and one VJP alone " in line
    assert "take 1.60× at N = 100000 of torch fast" in line
    assert line.endswith("(one evaluation of f, NumPy's vs torch's: 2.4 vs 1.1 ms).")


def test_adapter_targets_need_every_size_within_the_bound(jac: Any) -> None:
    full = {
        "n": 1000,
        "gc_jacobian_vs_torch_slow": 0.9,
        "gc_vjp_vs_torch_slow": 0.9,
        "gc_jacobian_evals": 2002,
        "gc_evals_per_n": 2.002,
    }
    old = [_directional(10**3, 1.2)]
    assert len(jac.jacobian_targets(full, old)) == 5  # rows measured before row 8
    adapted = {
        "gct_rev_vs_torch_fast": 1.4,
        "gct_both_vs_torch_fast_fwd": 1.2,
        "gcj_both_vs_jax": 1.1,
        "gct_bug_status": "failed",
        "gcj_bug_status": "failed",
    }
    rows = [_directional(10**3, 1.2) | adapted, _directional(10**6, 1.2) | adapted]
    rows[1] = rows[1] | {"gct_both_vs_torch_fast_fwd": 1.6, "gcj_bug_status": "passed"}
    lines = jac.jacobian_targets(full, rows)
    assert len(lines) == 7
    assert "reverse mode: **met** (1.40× at N = 1000, 1.40× at N = 1000000)" in lines[5]
    assert (
        "`check_forward_ad=True`: **not met** (1.20× at N = 1000, 1.60× at N = 1000000)"
        in (lines[5])
    )
    assert '`check_grads(modes=("fwd", "rev"))`: **met** (1.10× at N = 1000' in lines[6]
    assert lines[6].endswith("caught by both adapters at every N: **not met**.")


def test_the_adapter_table_is_on_the_page_only_for_rows_that_have_it(jac: Any) -> None:
    import _jacpage

    heads = [h for h, _, _ in _jacpage.jacobian_sections(_page_input([{"N": 10}]))]
    assert len(heads) == 2
    rows = [{"N": 10, "gct_rev_s": 0.1}, {"N": 100}]
    sections = _jacpage.jacobian_sections(_page_input(rows))
    assert sections[2][0] == "8. The same functions through gradcheck's adapters"
    assert sections[2][1] == rows[:1]


def _page_input(directional: list[dict[str, Any]]) -> dict[str, Any]:
    return {"jacobian_full": {"n": 10}, "jacobian_directional": directional}


def test_torch_slow_extrapolation_uses_the_largest_measured_size(jac: Any) -> None:
    import _verdict

    rows = [
        {"N": 100, "torch_slow_s": 1.0, "torch_slow_passes_per_param": 3.0, "torch_eval_ms": 1},
        {"N": 1000, "torch_slow_s": 9.0, "torch_slow_passes_per_param": 4.0, "torch_eval_ms": 2},
        {"N": 10**5, "torch_eval_ms": 5.0},
    ]
    out = _verdict.extrapolate_torch_slow(rows)
    assert "torch_slow_extrapolated_s" not in rows[2]  # the input is left alone
    assert out[:2] == rows[:2]
    assert out[2]["torch_slow_extrapolated_s"] == pytest.approx(4.0 * 10**5 * 5e-3)
    assert out[2]["torch_slow_extrapolated_from_N"] == 1000
    assert _verdict.extrapolate_torch_slow(rows[2:]) == rows[2:]


def test_the_committed_results_render_with_the_jacobian_sections(jac: Any) -> None:
    """benchmarks/results.json (written by the last full run) renders into the page, with
    both Jacobian tables and issue 13's targets, each marked met or not met."""
    import json

    import _page

    out = json.loads((BENCH / "results.json").read_text(encoding="utf-8"))
    page = _page.markdown(out, out["targets"], out["jacobian_targets"])
    assert "## 6. Full Jacobian check vs torch slow mode" in page
    assert "## 7. Directional Jacobian check" in page
    assert len(out["jacobian_directional"]) == 4  # N = 10³..10⁶
    for line in out["jacobian_targets"]:
        assert "**met**" in line or "**not met**" in line
        assert line in page
    assert f"load average was {_page._load(out)}" in page
