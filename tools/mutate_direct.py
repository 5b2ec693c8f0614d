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
   ``dependency_tracking_depth`` mutated functions), from the *test map*, fastest
   first; for a function the map does not know (new since it was made), every test
   the map gives any function of the module.

A mutant is *killed* when a test fails (or the tests no longer collect), a *timeout*
when its first stage uses more than ``TIMEOUT_FACTOR`` times the clean run plus
``TIMEOUT_SLACK`` seconds of CPU (or sits ``WALL_FACTOR`` times that on the clock: a
deadlock uses none), *survived* when both stages pass, and *skipped* when its
second stage neither fails nor ends within ``STAGE2_LIMIT`` seconds (a function that
every ``check()`` calls has hundreds of tests: a survivor there would cost the whole
suite), or when ``--first-stage-only`` leaves the second stage out (where the CPU for
a map of the whole suite is lacking). Skipped counts as not caught, so a module with a
skipped mutant has a score that is a lower bound. The mirror file is first run without
a mutant; if it fails, nothing is judged.

**The test map** (``mutants/test-map.json``: which tests call which function, and how
long each took) is made by running the whole suite once with every mutated function
recording its callers (mutmut's "stats" mode), without ``-x``: a test that fails there
is left out of the map and named. It is made when there is none, when the module to
test was not mutated when it was made (``tools/mutate.py`` mutates only the modules a
run asks for, and those mutated before), or with ``--new-map``. It stores a hash of
every source and test file; the mapped tests in a test file changed since then are
collected again and run without a mutant first (all of them when a source file
changed). A test added since the map was made is not in it:
a survivor could still be killed by a newer test, so the score is then a lower bound.

Usage::

    python tools/mutate_direct.py _diagnose [--only NAME ...] [--budget SECONDS]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
TEST_MAP = MUTANTS / "test-map.json"
#: A mutant's run may take this many times the clean run of its tests, plus the slack,
#: before it counts as a timeout: loose, because 8 helpers share the 2 cores.
TIMEOUT_FACTOR = 5.0
TIMEOUT_SLACK = 60.0
#: The limit is on the child's CPU time, not the clock's: under a load of 9 on the 2
#: cores a mutant at ``nice -n 15`` got a tenth of a core, and every mutant of a run
#: (2026-11-28, 05:55) ran past a wall-clock limit of 90 s and was counted caught. A
#: mutant that waits forever uses no CPU: it is stopped at this many times the limit
#: on the clock.
WALL_FACTOR = 6.0
#: Added to ``[tool.mutmut] pytest_add_cli_args``: no test reordering, let pass the
#: warning that gradcheck (a pytest plugin) was imported before pytest started, and no
#: traceback (the child's output is discarded): pytest parses the whole source file of
#: each frame of a failure to show it, and a mutated file holds every mutant of its
#: module, so a killed ``compare`` mutant spent 40 s of its 42 (7.8 s of CPU) showing a
#: traceback no one reads, 3.5 s (0.7 s) without (2026-11-28, load 7).
PYTEST_ARGS = (
    "-p",
    "no:randomly",
    "-W",
    "ignore::pytest.PytestAssertRewriteWarning",
    "--tb=no",
)
#: mutmut's exit codes (``mutmut.stats.status_by_exit_code``).
SURVIVED, KILLED, TIMEOUT, SKIPPED = 0, 1, 36, 34
#: The most a mutant's second stage may take. A mutant its mirror file did not catch
#: whose other tests neither fail nor finish within this is recorded as "skipped",
#: which counts as not caught: its module's score is then a lower bound.
STAGE2_LIMIT = 150.0
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


def _cpu_seconds(pid: int) -> float | None:
    """CPU seconds the process ``pid`` and its waited-for children used (Linux's
    ``/proc``); None where that cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # utime, stime, cutime, cstime: fields 14 to 17 of proc(5), after pid and comm
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _wait(pid: int, start: float, timeout: float | None) -> tuple[int, float]:
    """Wait for the child ``pid``: (exit code, seconds); :data:`TIMEOUT` when it used
    more than ``timeout`` seconds of CPU, or sat :data:`WALL_FACTOR` times that on the
    clock. Stopping this process (Ctrl-C, SIGTERM) stops the child too."""
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            elapsed = time.monotonic() - start
            if done:
                return os.waitstatus_to_exitcode(status), elapsed
            cpu = _cpu_seconds(pid) if timeout is not None else None
            used = elapsed if cpu is None else cpu
            if timeout is not None and (used > timeout or elapsed > WALL_FACTOR * timeout):
                os.killpg(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return TIMEOUT, elapsed
            time.sleep(0.05)
    except BaseException:
        os.killpg(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise


class _Durations:
    """A pytest plugin that writes each test's time (setup, call and teardown) to
    ``path`` as JSON when the session ends."""

    def __init__(self, path: Path) -> None:
        self.path, self.seconds = path, dict[str, float]()

    def pytest_runtest_logreport(self, report: Any) -> None:
        self.seconds[report.nodeid] = self.seconds.get(report.nodeid, 0.0) + report.duration

    def pytest_sessionfinish(self) -> None:
        self.path.write_text(json.dumps(self.seconds))


class _FastestFirst:
    """A pytest plugin that runs the tests that killed most of the module's mutants so
    far first, then the rest fastest first (by their clean run's times; one without a
    time last, in file order): a mutant stops at its first failing test (``-x``), and a
    mirror file's first tests are often its slowest, end-to-end ones
    (``tests/test_compare.py``: 25 s to the first failure under load, 2026-11-28).
    Fastest first alone still ran 10 to 20 s of passing tests before the one that
    failed (``compare``'s mutants under a load of 6, 2026-11-28); a few tests that read
    a function whole kill most of its mutants, so they go first once they have.

    ``kills`` (test → mutants it was the first to fail for) is the parent's, read at
    each fork: :func:`_judge` adds each killed mutant's first failing test to it."""

    def __init__(self, seconds: dict[str, float], kills: dict[str, int]) -> None:
        self.seconds, self.kills = seconds, kills

    def pytest_collection_modifyitems(self, items: list[Any]) -> None:
        def key(item: Any) -> tuple[int, float]:
            return -self.kills.get(item.nodeid, 0), self.seconds.get(item.nodeid, float("inf"))

        items.sort(key=key)


class _FirstFailure:
    """A pytest plugin that writes the node id of the first test to fail to ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.failed and not self.path.exists():
            self.path.write_text(report.nodeid)


def _pytest(
    mutant: str, args: list[str], timeout: float | None, plugins: tuple[object, ...] = ()
) -> tuple[int, float]:
    """Run pytest in a forked child with ``mutant`` active: (exit code, seconds)."""
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        code = 3  # pytest's "internal error", if the child fails before pytest ends
        try:
            _child(mutant)
            import pytest

            command = ["-x", "-q", *PYTEST_ARGS, *_config_args(), *args]
            code = int(pytest.main(command, plugins=list(plugins)))
        finally:
            os._exit(code)
    return _wait(pid, start, timeout)


def _hashes() -> dict[str, str]:
    """A hash of each source and test file, to tell which changed since the test map."""
    out = {}
    for top in ("src", "tests"):
        for path in sorted((ROOT / top).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                out[str(path.relative_to(ROOT))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


class TestMap(NamedTuple):
    """Which tests call each mutated function, what a test took, and the files that
    changed since the map was made (its run of those files' tests says nothing now)."""

    tests: dict[str, list[str]]
    seconds: dict[str, float]
    changed: frozenset[str]


def make_test_map(tests: list[str]) -> None:
    """Run ``tests`` once in mutmut's stats mode and write :data:`TEST_MAP`."""
    TEST_MAP.unlink(missing_ok=True)
    hashes = _hashes()
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
            seconds: dict[str, float] = {}
            failed: set[str] = set()

            class Recorder:
                def pytest_runtest_teardown(self, item: Any) -> None:
                    for function in state()._stats:
                        mapping.setdefault(function, set()).add(item.nodeid)
                    state()._stats.clear()

                def pytest_runtest_logreport(self, report: Any) -> None:
                    seconds[report.nodeid] = seconds.get(report.nodeid, 0.0) + report.duration
                    if report.failed:
                        failed.add(report.nodeid)

            pytest.main(["-q", *PYTEST_ARGS, *_config_args(), *tests], plugins=[Recorder()])
            out = {f: sorted(t - failed) for f, t in mapping.items()}
            record = {"hashes": hashes, "failed": sorted(failed), "modules": sorted(_mutated())}
            TEST_MAP.write_text(json.dumps({**record, "seconds": seconds, "tests": out}))
            code = 0
        finally:
            os._exit(code)
    code, took = _wait(pid, start, None)
    if code != 0 or not TEST_MAP.exists():
        raise SystemExit(f"making the test map failed (exit code {code})")
    failed = json.loads(TEST_MAP.read_text())["failed"]
    print(f"test map made in {took:.0f} s; left out, failing: {failed or 'none'}", flush=True)


def _mutated() -> list[str]:
    """The modules whose mutants ``mutants/`` holds (each has a ``.meta``)."""
    metas = (MUTANTS / "src" / "gradcheck").glob("*.py.meta")
    return sorted(p.name.removesuffix(".py.meta") for p in metas)


def _test_map(module: str) -> TestMap:
    """:data:`TEST_MAP`, made first when there is none or when ``module`` was not
    mutated when it was made (its functions recorded no callers then)."""
    saved = json.loads(TEST_MAP.read_text()) if TEST_MAP.exists() else {}
    if module not in saved.get("modules", []):
        make_test_map(_config().get("pytest_add_cli_args_test_selection", ["tests/"]))
        saved = json.loads(TEST_MAP.read_text())
    now, then = _hashes(), saved["hashes"]
    changed = frozenset(f for f in now.keys() | then.keys() if now.get(f) != then.get(f))
    return TestMap(saved["tests"], saved["seconds"], changed)


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


class Stages(NamedTuple):
    """The second stage's tests: per function of the module, and for any other; and
    those of them in files changed since the map was made."""

    per_function: dict[str, list[str]]
    union: list[str]
    changed: list[str]


def _stages(module: str, tmap: TestMap) -> Stages:
    """Per function of ``module``, its mapped tests outside the mirror file, fastest
    first (a killed mutant stops at the first failure); and the union of them. When a
    source file changed since the map was made, every mapped test counts as changed."""
    prefix = f"gradcheck.{module}."
    mirror = f"tests/test_{module.lstrip('_')}.py"
    mapped = {k: set(v) for k, v in tmap.tests.items() if k.startswith(prefix)}
    everything = {t for t in set().union(*mapped.values()) if not t.startswith(mirror + "::")}
    src_changed = any(f.startswith("src/") for f in tmap.changed)
    changed = {t for t in everything if src_changed or t.split("::")[0] in tmap.changed}
    alive = (everything - changed) | _existing(changed)

    def fastest_first(tests: set[str]) -> list[str]:
        return sorted(tests, key=lambda t: (tmap.seconds.get(t, 0.0), t))

    per_function = {k: fastest_first(v & alive) for k, v in mapped.items()}
    return Stages(per_function, fastest_first(alive), fastest_first(changed & alive))


def _function_of(mutant: str) -> str:
    return mutant.rsplit("__mutmut_", 1)[0]


def _verdict(code: int) -> int:
    # The tests passed without the mutant, so a test module that no longer collects is
    # the mutant's doing: the suite noticed it.
    return KILLED if code == COLLECTION_ERROR else code


def _term(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # so that _wait stops the child it waits for


def _judge(
    name: str, mirror: list[str], stages: Stages | None, t1: float, order: _FastestFirst | None
) -> tuple[int, float]:
    """Run one mutant's stages (the first only when ``stages`` is None; ``order``: the
    first stage's test order, whose kill counts it adds to): (mutmut exit code, seconds)."""
    failure = MUTANTS / "first-failure.txt"
    failure.unlink(missing_ok=True)
    plugins = (_FirstFailure(failure),) if order is None else (order, _FirstFailure(failure))
    code, took = _pytest(name, mirror, TIMEOUT_FACTOR * t1 + TIMEOUT_SLACK, plugins)
    if code != SURVIVED:
        if failure.exists() and order is not None:
            test = failure.read_text()
            order.kills[test] = order.kills.get(test, 0) + 1
        return _verdict(code), took
    if stages is None:
        return SKIPPED, took
    tests = stages.per_function.get(_function_of(name), stages.union)
    if not tests:
        return SURVIVED, took
    code, more = _pytest(name, tests, STAGE2_LIMIT)
    return (SKIPPED if code == TIMEOUT else _verdict(code)), took + more


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("module")
    parser.add_argument("--only", nargs="*", help="these mutants only (rerun them)")
    parser.add_argument("--budget", type=float, default=1e9, help="stop after this many s")
    parser.add_argument("--new-map", action="store_true", help="remake the test map first")
    parser.add_argument(
        "--first-stage-only",
        action="store_true",
        help="run the mirror file only; a mutant it does not catch is recorded as skipped",
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _term)
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
    stages = None if args.first_stage_only else _stages(args.module, _test_map(args.module))
    durations = MUTANTS / f"mirror-times-{args.module}.json"
    durations.unlink(missing_ok=True)
    clean1, t1 = _pytest("none", mirror, None, (_Durations(durations),))
    order: _FastestFirst | None = None
    killers = MUTANTS / f"killers-{args.module}.json"
    if clean1 == 0 and durations.exists():
        # the mirror file fastest first must pass too, or it keeps its own order
        kills: dict[str, int] = json.loads(killers.read_text()) if killers.exists() else {}
        fastest = _FastestFirst(json.loads(durations.read_text()), kills)
        if _pytest("none", mirror, None, (fastest,))[0] == 0:
            order = fastest
    # The map's run left out the tests that failed; those in changed files run again.
    changed = stages.changed if stages else []
    clean2, t2 = _pytest("none", changed, None) if changed else (0, 0.0)
    print(
        f"clean runs: mirror {clean1} in {t1:.0f} s"
        + (" (fastest first: passes); " if order is not None else "; ")
        + (
            f"of {len(stages.union)} mapped tests, {len(changed)} in files changed "
            f"since the map: {clean2} in {t2:.0f} s"
            if stages
            else "first stage only"
        ),
        flush=True,
    )
    if clean1 != 0 or clean2 != 0:
        raise SystemExit("the selected tests fail without a mutant: fix that first")
    start = time.monotonic()
    for i, name in enumerate(names):
        if time.monotonic() - start > args.budget:
            print("budget spent", flush=True)
            break
        code, took = _judge(name, mirror, stages, t1, order)
        data.exit_code_by_key[name] = code
        data.durations_by_key[name] = took
        data.save()
        if order is not None:
            killers.write_text(json.dumps(order.kills, indent=1))
        print(f"{i + 1}/{len(names)} {name} -> {code} ({took:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
