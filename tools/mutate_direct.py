"""Test one module's mutants: what ``make mutate`` runs for each module.

mutmut (pinned in ``constraints.txt``) generates the mutants in ``mutants/``
(``tools/mutate.py``); this driver tests them without ``mutmut run``, whose test listing
took 8 minutes on the shared 2-core machine and whose stats run then failed ("runner
returned 1") because it stops the whole run at the first failing test. It tests each
mutant the way mutmut's fork server does (one forked child per mutant with the
mutant active, ``pytest -x`` with ``[tool.mutmut] pytest_add_cli_args``) and stores each
result in the module's ``.meta`` file, where ``python tools/mutate.py --report-only``
reads it. The tests a mutant runs, in two stages (the second only when the first
passes):

1. ``tests/test_<module>.py``, the module's mirror test file;
2. every other test that calls the mutant's function (through at most
   ``dependency_tracking_depth`` mutated functions), from the *test map*; for a
   function the map does not know (new since it was made), every test the map gives
   any function of the module.

A mutant is *killed* when a test fails (or the tests no longer collect), a *timeout*
when its run takes more than ``TIMEOUT_FACTOR`` times the clean run of the same tests
plus ``TIMEOUT_SLACK`` seconds, and *survived* when both stages pass. Both stages are
first run without a mutant; if either fails, nothing is judged.

**The test map** (which tests call which function) is ``mutants/test-map.json``, made
by running the whole suite once with every mutated function recording its callers
(mutmut's "stats" mode), without ``-x``: a test that fails there is left out of the
map and named. Without it, mutmut's own ``mutants/mutmut-stats.json`` is used if
there is one, else the map is made (as long as the suite takes). A map made before
tests were added does not know them: a survivor could still be killed by a newer test,
so the score is then a lower bound (``--new-map`` remakes the map).

Usage::

    python tools/mutate_direct.py _diagnose [--only NAME ...] [--budget SECONDS]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
TEST_MAP = MUTANTS / "test-map.json"
#: A mutant's run may take this many times the clean run of its tests, plus the slack,
#: before it counts as a timeout: loose, because 8 helpers share the 2 cores.
TIMEOUT_FACTOR = 5.0
TIMEOUT_SLACK = 60.0
#: Added to ``[tool.mutmut] pytest_add_cli_args``: no test reordering, and let pass the
#: warning that gradcheck (a pytest plugin) was imported before pytest started.
PYTEST_ARGS = ("-p", "no:randomly", "-W", "ignore::pytest.PytestAssertRewriteWarning")
#: mutmut's exit codes (``mutmut.stats.status_by_exit_code``).
SURVIVED, KILLED, TIMEOUT = 0, 1, 36
#: pytest's exit code when a test module fails to collect (or the run was interrupted).
COLLECTION_ERROR = 2


def _config() -> dict[str, Any]:
    import tomllib

    config: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]
    return dict(config["mutmut"])


def _config_args() -> list[str]:
    return [str(a) for a in _config().get("pytest_add_cli_args", [])]


def _child(mutant: str) -> None:
    """Set up a forked child: its own process group, in ``mutants/``, ``mutant`` active
    (in the environment and in mutmut's process-local copy, which a test that clears
    ``os.environ`` falls back to), output discarded."""
    from mutmut.mutation.trampoline import set_mutant_under_test

    os.setpgid(0, 0)
    os.chdir(MUTANTS)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    set_mutant_under_test(mutant)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)


def _wait(pid: int, start: float, timeout: float | None) -> tuple[int, float]:
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        elapsed = time.monotonic() - start
        if done:
            return os.waitstatus_to_exitcode(status), elapsed
        if timeout is not None and elapsed > timeout:
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return TIMEOUT, elapsed
        time.sleep(0.05)


def _pytest(mutant: str, args: list[str], timeout: float | None) -> tuple[int, float]:
    """Run pytest in a forked child with ``mutant`` active: (exit code, seconds)."""
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        code = 3  # pytest's "internal error", if the child fails before pytest ends
        try:
            _child(mutant)
            import pytest

            code = int(pytest.main(["-x", "-q", *PYTEST_ARGS, *_config_args(), *args]))
        finally:
            os._exit(code)
    try:
        return _wait(pid, start, timeout)
    except KeyboardInterrupt:
        os.killpg(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise


def make_test_map(tests: list[str]) -> None:
    """Run ``tests`` once in mutmut's stats mode and write :data:`TEST_MAP`."""
    TEST_MAP.unlink(missing_ok=True)
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            _child("stats")
            os.environ["MUTMUT_DEPENDENCY_DEPTH"] = str(_config()["dependency_tracking_depth"])
            os.environ["PY_IGNORE_IMPORTMISMATCH"] = "1"
            import pytest
            from mutmut.state import state

            mapping: dict[str, set[str]] = {}
            failed: list[str] = []

            class Recorder:
                def pytest_runtest_teardown(self, item: Any) -> None:
                    for function in state()._stats:
                        mapping.setdefault(function, set()).add(item.nodeid)
                    state()._stats.clear()

                def pytest_runtest_logreport(self, report: Any) -> None:
                    if report.failed:
                        failed.append(report.nodeid)

            args = ["-q", *PYTEST_ARGS, *_config_args(), *tests]
            pytest.main(args, plugins=[Recorder()])
            bad = set(failed)
            out = {f: sorted(t - bad) for f, t in mapping.items()}
            TEST_MAP.write_text(json.dumps({"failed": sorted(bad), "tests": out}, indent=0))
            code = 0
        finally:
            os._exit(code)
    code, took = _wait(pid, start, None)
    if code != 0 or not TEST_MAP.exists():
        raise SystemExit(f"making the test map failed (exit code {code})")
    failed = json.loads(TEST_MAP.read_text())["failed"]
    print(f"test map made in {took:.0f} s; left out, failing: {failed or 'none'}", flush=True)


def _test_map() -> dict[str, list[str]]:
    """Which tests call each mutated function: :data:`TEST_MAP`, else mutmut's stats."""
    if not TEST_MAP.exists() and (MUTANTS / "mutmut-stats.json").exists():
        stats = json.loads((MUTANTS / "mutmut-stats.json").read_text())
        return dict(stats["tests_by_mangled_function_name"])
    if not TEST_MAP.exists():
        make_test_map(_config().get("pytest_add_cli_args_test_selection", ["tests/"]))
    return dict(json.loads(TEST_MAP.read_text())["tests"])


def _existing(tests: set[str]) -> set[str]:
    """The node ids of ``tests`` that pytest still collects."""
    files = sorted({t.split("::")[0] for t in tests if (MUTANTS / t.split("::")[0]).exists()})
    if not files:
        return set()
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", *PYTEST_ARGS]
    done = subprocess.run(
        [*command, *_config_args(), *files],
        cwd=MUTANTS,
        env={**os.environ, "MUTANT_UNDER_TEST": "none"},
        text=True,
        capture_output=True,
        check=False,
    )
    collected = {line.strip() for line in done.stdout.splitlines() if "::" in line}
    return tests & collected


def _stage_tests(module: str) -> tuple[dict[str, list[str]], list[str]]:
    """Per function of ``module``, its mapped tests outside the mirror file; and the
    union of them (for functions the map does not know)."""
    prefix = f"gradcheck.{module}."
    mirror = f"tests/test_{module.lstrip('_')}.py"
    mapped = {k: set(v) for k, v in _test_map().items() if k.startswith(prefix)}
    everything = set().union(*mapped.values()) if mapped else set()
    alive = {t for t in _existing(everything) if not t.startswith(mirror + "::")}
    per_function = {k: sorted(v & alive) for k, v in mapped.items()}
    return per_function, sorted(alive)


def _function_of(mutant: str) -> str:
    return mutant.rsplit("__mutmut_", 1)[0]


def _verdict(code: int) -> int:
    # Both clean runs passed, so a test module that no longer collects is the mutant's
    # doing: the suite noticed it.
    return KILLED if code == COLLECTION_ERROR else code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("module")
    parser.add_argument("--only", nargs="*", help="these mutants only (rerun them)")
    parser.add_argument("--budget", type=float, default=1e9, help="stop after this many s")
    parser.add_argument("--new-map", action="store_true", help="remake the test map first")
    args = parser.parse_args(argv)
    os.chdir(ROOT)  # mutmut's .meta paths are relative to the project root
    os.environ["PYTHONPATH"] = str(MUTANTS / "src")
    sys.path.insert(0, str(MUTANTS / "src"))
    sys.path.insert(0, str(MUTANTS))
    # Imported once, before the forks (not torch or JAX: their threads deadlock a
    # fork). pytest then warns that it cannot rewrite the gradcheck plugin's asserts;
    # -W lets that one warning pass (the plugin's asserts decide no verdict).
    import hypothesis  # noqa: F401
    import numpy  # noqa: F401
    import pytest  # noqa: F401
    from mutmut.mutation.data import SourceFileMutationData

    import gradcheck
    import gradcheck._engine
    import gradcheck._hessian
    import gradcheck._jacobian

    if not str(gradcheck.__file__).startswith(str(MUTANTS)):
        raise SystemExit(f"gradcheck imports from {gradcheck.__file__}, not mutants/")
    if args.new_map:
        make_test_map(_config().get("pytest_add_cli_args_test_selection", ["tests/"]))

    data = SourceFileMutationData(path=Path("src") / "gradcheck" / f"{args.module}.py")
    data.load()
    if not data.exit_code_by_key:
        raise SystemExit(f"{data.meta_path} has no mutants: run tools/mutate.py first")
    names = args.only or sorted(k for k, c in data.exit_code_by_key.items() if c is None)
    if not names:
        print(f"{args.module}: every mutant already has a result", flush=True)
        return 0
    mirror = [f"tests/test_{args.module.lstrip('_')}.py"]
    per_function, union = _stage_tests(args.module)
    clean1, t1 = _pytest("none", mirror, None)
    clean2, t2 = _pytest("none", union, None) if union else (0, 0.0)
    print(
        f"clean runs: mirror {clean1} in {t1:.0f} s, mapped {clean2} ({len(union)} tests) "
        f"in {t2:.0f} s",
        flush=True,
    )
    if clean1 != 0 or clean2 != 0:
        raise SystemExit("the selected tests fail without a mutant: fix that first")
    start = time.monotonic()
    for i, name in enumerate(names):
        if time.monotonic() - start > args.budget:
            print("budget spent", flush=True)
            break
        code, took = _pytest(name, mirror, TIMEOUT_FACTOR * t1 + TIMEOUT_SLACK)
        if code == SURVIVED:
            tests = per_function.get(_function_of(name), union)
            if tests:
                code, more = _pytest(name, tests, TIMEOUT_FACTOR * t2 + TIMEOUT_SLACK)
                took += more
        data.exit_code_by_key[name] = _verdict(code)
        data.durations_by_key[name] = took
        data.save()
        print(f"{i + 1}/{len(names)} {name} -> {_verdict(code)} ({took:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
