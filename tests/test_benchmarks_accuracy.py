"""The accuracy benchmark (benchmarks/accuracy.py): its premises and its output.

The benchmark's counts are only meaningful if its "exact" gradients are exact and its
planted errors have the size it says; both are checked here, then a quick run's JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"


@pytest.fixture()
def bench(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The benchmark's ``_accuracy_run`` module (benchmarks/ on sys.path)."""
    monkeypatch.syspath_prepend(str(BENCH))
    import _accuracy_run

    return _accuracy_run


def _central(cost: Any, params: dict[str, np.ndarray], name: str) -> np.ndarray:
    """A plain float64 central difference of ``cost`` in ``params[name]``."""
    x = params[name]
    out = np.zeros(x.size)
    rms = float(np.sqrt(np.mean(x**2)))
    for i in range(x.size):
        h = 1e-6 * max(rms, abs(float(x.flat[i])))
        up, down = x.copy(), x.copy()
        up.flat[i] += h
        down.flat[i] -= h
        out[i] = (float(cost({**params, name: up})) - float(cost({**params, name: down}))) / (2 * h)
    return out.reshape(x.shape)


@pytest.mark.parametrize("seed", range(8))
def test_smooth_forms_have_exact_gradients(bench: Any, seed: int) -> None:
    import _accuracy_problems as prob

    rng = np.random.default_rng(seed)
    form = prob.random_form(rng, seed)
    exact = form.grad(form.params)
    for name in form.params:
        fd = _central(form.cost, form.params, name)
        scale = max(1.0, float(np.max(np.abs(exact[name]))))
        assert np.max(np.abs(fd - exact[name])) <= 1e-5 * scale, (seed, name)


def test_mixed_scale_and_maxpool_gradients_are_exact_away_from_ties(bench: Any) -> None:
    import _accuracy_problems as prob

    form = prob.mixed_scales(np.random.default_rng(3), 1.0)
    exact = form.grad(form.params)
    for name in ("a", "b"):
        fd = _central(form.cost, form.params, name)
        assert np.allclose(fd, exact[name], rtol=1e-5, atol=0), name
    tiny = prob.mixed_scales(np.random.default_rng(3), 1e-9)  # same draws, b weighted 1e-9
    np.testing.assert_allclose(tiny.grad(tiny.params)["b"], 1e-9 * exact["b"], rtol=1e-15)
    pool = prob.maxpool_ties(np.random.default_rng(0))
    x = pool.params["x"] + np.random.default_rng(1).uniform(-0.1, 0.1, pool.params["x"].shape)
    params = {**pool.params, "x": x}  # no ties left: smooth, the gradient must match
    np.testing.assert_allclose(
        _central(pool.cost, params, "x"), pool.grad(params)["x"], rtol=1e-5, atol=1e-8
    )


def test_planted_error_is_the_stated_multiple_of_the_bound(bench: Any) -> None:
    from gradcheck._steps import entry_scale

    case = bench.family_named("float64").make(1)
    name = case.targets[0]
    rep = case.run({})
    g = case.grad[name]
    err = bench.plant(rep, case, name, "largest", np.random.default_rng(0))
    assert np.count_nonzero(err) == 1
    assert np.argmax(np.abs(err)) == np.argmax(np.abs(g))
    bound = rep.parameters[name].detection_bound
    assert np.max(np.abs(err)) == pytest.approx(1.1 * bound * np.max(np.abs(g)), rel=1e-12)

    case = bench.family_named("N=1e3 directional").make(0)
    rep = case.run({})
    assert rep.mode == "directional"
    err = bench.plant(rep, case, "x", "random", np.random.default_rng(0))
    s = entry_scale(case.params["x"].reshape(-1))
    rho = np.linalg.norm(s * err.reshape(-1)) / np.linalg.norm(s * case.grad["x"].reshape(-1))
    assert rho == pytest.approx(1.1 * rep.parameters["x"].detection_bound, rel=1e-12)


def test_planted_errors_reach_the_checked_gradient(bench: Any) -> None:
    """A planted error far above the bound must fail the check (the mechanism works)."""
    case = bench.family_named("float64").make(0)
    name = case.targets[0]
    big = {name: 0.5 * np.max(np.abs(case.grad[name])) * np.ones_like(case.grad[name])}
    assert case.run(big).status == "failed"
    assert case.run({}).parameters[name].dtype == "float64"


def test_quick_run_writes_consistent_counts(tmp_path: Path) -> None:
    families = ["float64", "mixed scales", "sharp features"]
    cmd = [
        sys.executable,
        str(BENCH / "accuracy.py"),
        "--quick",
        "--jobs",
        "1",
        "--out",
        str(tmp_path),
        *(a for f in families for a in ("--family", f)),
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), *sys.path])}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    data = json.loads((tmp_path / "accuracy.json").read_text())
    rows = {r["family"]: r for r in data["families"]}
    assert list(rows) == families
    for name, quick in zip(families, (4, 4, 2)):
        r = rows[name]
        assert r["cases"] == r["correct"] == quick
        assert r["planted"] + r["no_bound"] == 2 * quick
        assert r["caught"] + r["missed"] + r["planted_inconclusive"] <= r["planted"]
        assert r["false_failures"] == len(r["reproducers"]["false_failure"])
        assert set(r["modes"]) == {"full"}
    assert [t["target"] for t in data["targets"]] == ["false failures", "caught", "inconclusive"]
    assert data["targets"][0]["met"] is False  # 12 correct checks are far below 5,000
    page = (tmp_path / "accuracy.md").read_text()
    assert "## Targets (issue 11)" in page and "| sharp features | 2 |" in page
    assert "Targets:" in done.stdout
