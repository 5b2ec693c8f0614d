"""Issue 16's twelve hand mutations, as data, and a runner that shows each is caught.

Each :class:`HandMutation` replaces one piece of text in one file of ``src/gradcheck``
(a temporary copy: the tree is never touched) and runs its tests with ``pytest -x``:
the module's mirror test file first, then the tests that name the behaviour. The
mutation is *caught* when they fail. A mutation whose text no longer occurs once in
the code (the code moved on) is reported as *gone*, not as caught. The tests are first
run on the unmutated copy: a failure there would make every "caught" meaningless, so
the run stops.

The issue named the mutations by the file and line they had then; where the code has
since moved (the overall verdict to ``_build.overall_status``, the kink rule to
``_summary.parameter_status``, ``fixed`` to ``Plan.fixed``, the dtype rule to
``_torch_autograd.least_precise``, the ranking to ``_build.rank``, the dtype key of the
tolerance table to ``_tolerances._dtype_key``) the same change is made where the code
now is.

Usage::

    python tools/hand_mutations.py           # all twelve; writes mutants/hand-mutations.json
    python tools/hand_mutations.py 3 7       # some of them (1-based)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "mutants" / "hand-mutations.json"


class HandMutation(NamedTuple):
    """One replacement in ``src/gradcheck/<file>`` and the tests that must then fail."""

    file: str
    old: str
    new: str
    tests: tuple[str, ...]
    what: str  # what a user would be told wrongly


class Result(NamedTuple):
    """What one hand mutation did to its tests."""

    number: int
    outcome: str  # "caught", "SURVIVED" or "gone"
    first_failure: str


MUTATIONS: tuple[HandMutation, ...] = (
    HandMutation(
        "_build.py",
        '    if "failed" in statuses:\n        return "failed"\n'
        '    if "inconclusive" in statuses:\n        return "inconclusive"\n',
        '    if "inconclusive" in statuses:\n        return "inconclusive"\n'
        '    if "failed" in statuses:\n        return "failed"\n',
        ("tests/test_build.py", "tests/test_summary.py"),
        "inconclusive checked before failed: one failed + one inconclusive parameter "
        "reports inconclusive (CLI exit 2, not 1)",
    ),
    HandMutation(
        "_summary.py",
        "    if uncertain or (checked and nonsmooth == checked):\n",
        "    if uncertain:\n",
        ("tests/test_summary.py", "tests/test_kinks.py"),
        "the every-entry-at-a-kink rule dropped: Σ|x| at x = 0 passes",
    ),
    HandMutation(
        "_compare.py",
        "np.imag(recheck[:, 0]) / (h[idx] / 2))",
        "np.imag(recheck[:, 0]) / h[idx])",
        ("tests/test_compare.py", "tests/test_sensitivity.py", "tests/test_complex.py"),
        "the complex-step recheck divides by h, not h/2: a ×2 gradient is inconclusive",
    ),
    HandMutation(
        "_tolerances.py",
        "        size //= 2\n",
        "        pass\n",
        ("tests/test_tolerances.py", "tests/test_sensitivity.py"),
        "a complex dtype keyed by its full itemsize: float32 + complex step fails a "
        "correct gradient",
    ),
    HandMutation(
        "_numerics.py",
        '    "complex": 1 / 2,\n',
        '    "complex": 1 / 3,\n',
        ("tests/test_numerics.py", "tests/test_sensitivity.py"),
        "complex step exponent 1/2 → 1/3: the detection bound worsens 6×",
    ),
    HandMutation(
        "_directional.py",
        "    tau = max(p.judged(sigma).tolerance for p in first)\n",
        "    tau = min(p.judged(sigma).tolerance for p in first)\n",
        ("tests/test_directional.py",),
        "the probes' tolerance is the smallest, not the largest: the stated guarantee "
        "is smaller than what the check can vouch for",
    ),
    HandMutation(
        "_plan.py",
        "        return self.rtol is not None or self.atol is not None\n",
        "        return self.rtol is not None\n",
        ("tests/test_engine.py", "tests/test_options.py", "tests/test_sensitivity.py"),
        "atol without rtol is ignored",
    ),
    HandMutation(
        "_diagnose.py",
        "            if abs(c + 1) <= FIT:\n",
        "            if abs(c - 1) <= FIT:\n",
        ("tests/test_diagnose.py",),
        "a negated gradient is described as 'wrong sign and off by a factor'",
    ),
    HandMutation(
        "_pytree.py",
        "        if d_ok and all(map(_is_d_key, d_unused)):\n",
        "        if d_ok and any(map(_is_d_key, d_unused)):\n",
        ("tests/test_pytree.py",),
        "a d-style gradient dict with a non-d extra key: the extra key is ignored",
    ),
    HandMutation(
        "_compare.py",
        "            err = np.abs(numeric[idx] - (4 * c2 - c1) / 3) + noise[idx]\n",
        "            err = np.abs(numeric[idx] - (2 * c2 - c1)) + noise[idx]\n",
        ("tests/test_compare.py", "tests/test_sensitivity.py"),
        "the Richardson estimate (4·c2 − c1)/3 → 2·c2 − c1: fd_error is off",
    ),
    HandMutation(
        "_torch_autograd.py",
        "    return dtype_name(max(real, key=lambda d: torch.finfo(d).eps))\n",
        "    return dtype_name(min(real, key=lambda d: torch.finfo(d).eps))\n",
        ("tests/test_torch_function.py", "tests/test_torch.py"),
        "a mixed float32/float64 torch model is judged as float64",
    ),
    HandMutation(
        "_build.py",
        "    return np.lexsort((-err, -ratio, group))\n",
        "    return np.lexsort((-err, group))\n",
        ("tests/test_build.py", "tests/test_summary.py"),
        "worst entries ranked by absolute error alone, not by error / tolerance",
    ),
)


def _pytest(src: Path, tests: tuple[str, ...]) -> tuple[int, str]:
    """Run ``tests`` with ``src`` first on the path: (exit code, first failure line)."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
        cwd=ROOT,
        env=env,
        text=True,
        capture_output=True,
        check=False,
    )
    failed = [ln for ln in done.stdout.splitlines() if ln.startswith(("FAILED", "ERROR"))]
    return done.returncode, failed[0] if failed else done.stdout.strip()[-200:]


def _imports_from(src: Path) -> str:
    code = "import gradcheck; print(gradcheck.__file__)"
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run([sys.executable, "-c", code], env=env, text=True, capture_output=True)
    return done.stdout.strip()


def apply(m: HandMutation, src: Path) -> bool:
    """Make the replacement in the copy ``src``; False when ``m.old`` is not there once."""
    path = src / "gradcheck" / m.file
    text = path.read_text()
    if text.count(m.old) != 1:
        return False
    path.write_text(text.replace(m.old, m.new))
    return True


def run(numbers: list[int]) -> list[Result]:
    """Apply each chosen mutation to a fresh copy of ``src`` and run its tests."""
    chosen = [(n, MUTATIONS[n - 1]) for n in numbers]
    with tempfile.TemporaryDirectory(prefix="gradcheck-hand-") as tmp:
        clean = Path(tmp) / "clean"
        shutil.copytree(ROOT / "src", clean, ignore=shutil.ignore_patterns("__pycache__"))
        if not _imports_from(clean).startswith(str(clean)):
            raise SystemExit(f"gradcheck does not import from the copy {clean}")
        tests = tuple(dict.fromkeys(t for _, m in chosen for t in m.tests))
        code, failure = _pytest(clean, tests)
        if code != 0:
            raise SystemExit(f"the tests fail without a mutation ({failure}): fix that first")
        results = []
        for n, m in chosen:
            src = Path(tmp) / f"m{n}"
            shutil.copytree(clean, src)
            if not apply(m, src):
                results.append(Result(n, "gone", f"{m.file} no longer has this text"))
                continue
            code, failure = _pytest(src, m.tests)
            results.append(Result(n, "caught" if code != 0 else "SURVIVED", failure))
            print(f"{n:2d} {results[-1].outcome:8s} {m.file}: {failure}", flush=True)
    return results


def save(results: list[Result]) -> None:
    """Merge ``results`` into :data:`RESULTS` (read by ``tools/mutate.py``)."""
    old = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    old.update({str(r.number): r._asdict() for r in results})
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(old, indent=1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("numbers", nargs="*", type=int, help="1-based; default all")
    args = parser.parse_args(argv)
    numbers = args.numbers or list(range(1, len(MUTATIONS) + 1))
    results = run(numbers)
    save(results)
    return 0 if all(r.outcome != "SURVIVED" for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
