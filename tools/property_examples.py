"""Show that the property tests draw the same examples whatever pytest collects (issue 16).

A derandomised hypothesis property must see the same examples when it runs alone, with
its test file, or in the whole suite: hypothesis (since 6.131) mixes literal constants
from every loaded local module into its draws, so without ``tests/conftest.py``'s pin
the examples depended on which test files were imported. This runs every property test
(every collected test with a ``@given``) under three collections, each in a fresh
interpreter:

- *suite*: all of ``tests/`` is collected (every test module imported), and only the
  property tests run;
- *file*: each test file that has property tests, collected alone;
- *alone*: each property test, collected alone by its node id.

While a property runs, each example's choice sequence (hypothesis's record of
everything drawn, ``st.data()`` draws included) is hashed; a test's fingerprint is the
hash of all of them in order, with their count. The three fingerprints of every test
must agree; the tool prints each test's count and whether they do, and exits 1 when any
differs (or a test did not run under some collection).

Usage::

    python tools/property_examples.py                    # every property, full size
    python tools/property_examples.py --max-examples 5   # quicker: 5 examples each
    python tools/property_examples.py tests/test_pytree.py   # only this file's
    python tools/property_examples.py --without-pin      # what the pin prevents

``--max-examples`` caps every property's examples (the same cap in each collection, so
the comparison stays like for like; the full run is the one that vouches for the
suite's own examples). ``--without-pin`` runs pytest with ``--noconftest``, so
hypothesis's pool of local constants is back, for checking that the comparison sees
what the pin prevents (hypothesis draws a constant now and then: with 5 examples of
``tests/test_pytree.py`` and ``tests/test_torch.py`` no difference showed). The
property tests' assertions still run: a failing property is reported as failing, and
its examples still compared.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: The environment variables that pass the plugin its output file and example cap.
OUT_VAR = "GRADCHECK_EXAMPLES_OUT"
CAP_VAR = "GRADCHECK_EXAMPLES_CAP"
COLLECTIONS = ("suite", "file", "alone")


# --- the pytest plugin (loaded with ``-p property_examples`` in each collection) ---

_SEEN: dict[str, list[str]] = {}
#: The node id of the test running now (the parametrised tests of one function share
#: its body, so the body cannot know which of them it runs for).
_RUNNING = [""]


def _recording(inner: Any) -> Any:
    """``inner`` (a property's body) that also records each example's choices."""
    from hypothesis.control import current_build_context

    def body(*args: Any, **kwargs: Any) -> Any:
        try:
            return inner(*args, **kwargs)
        finally:
            choices = current_build_context().data.choices
            digest = hashlib.sha256(repr(choices).encode()).hexdigest()
            _SEEN.setdefault(_RUNNING[0], []).append(digest)

    body.recording = True  # type: ignore[attr-defined]
    return body


def pytest_runtest_setup(item: Any) -> None:
    """Note which test runs now."""
    _RUNNING[0] = item.nodeid


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Keep the property tests only (everything stays imported), each recording."""
    from hypothesis import settings

    cap = os.environ.get(CAP_VAR)
    kept = []
    for item in items:
        function: Any = getattr(item, "obj", None)
        handle = getattr(function, "hypothesis", None)
        if handle is None:
            continue
        kept.append(item)
        if getattr(handle.inner_test, "recording", False):
            continue  # another parametrisation of the same function
        handle.inner_test = _recording(handle.inner_test)
        if cap:  # on the function itself: a test method's obj is a bound method
            plain = getattr(function, "__func__", function)
            old = plain._hypothesis_internal_use_settings
            plain._hypothesis_internal_use_settings = settings(old, max_examples=int(cap))
    ids = {id(item) for item in kept}
    deselected = [item for item in items if id(item) not in ids]
    config.hook.pytest_deselected(items=deselected)
    items[:] = kept


def pytest_runtest_logreport(report: Any) -> None:
    """Note a failing property (its examples are still compared)."""
    if report.failed:
        _SEEN.setdefault(report.nodeid, []).append(f"FAILED in {report.when}")


def pytest_sessionfinish(session: Any) -> None:
    """Write each test's example fingerprints to the file the driver named."""
    path = os.environ.get(OUT_VAR)
    if path:
        Path(path).write_text(json.dumps(_SEEN))


# --- the driver ---


def _run(targets: list[str], cap: int | None, pin: bool) -> dict[str, list[str]]:
    """Run the property tests among ``targets`` in a fresh pytest: their examples."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "examples.json"
        env = {**os.environ, OUT_VAR: str(out)}
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT / "tools"), env.get("PYTHONPATH", "")) if p
        )
        if cap:
            env[CAP_VAR] = str(cap)
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        command += ["-p", "no:randomly", "-p", "property_examples", *targets]
        command += [] if pin else ["--noconftest"]
        subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=False)
        if not out.exists():
            raise SystemExit(f"pytest {' '.join(targets)} wrote no examples")
        seen: dict[str, list[str]] = json.loads(out.read_text())
        return seen


def _fingerprint(hashes: list[str]) -> str:
    return hashlib.sha256("".join(hashes).encode()).hexdigest()[:16]


def compare(files: list[str], cap: int | None, pin: bool = True) -> int:
    """Run the three collections and print how each property's examples compare."""
    suite = _run(["tests/"], cap, pin)
    tests = sorted(t for t in suite if not files or t.split("::")[0] in files)
    by_collection: dict[str, dict[str, list[str]]] = {"suite": suite, "file": {}, "alone": {}}
    for name in sorted({t.split("::")[0] for t in tests}):
        by_collection["file"].update(_run([name], cap, pin))
    for test in tests:
        by_collection["alone"].update(_run([test], cap, pin))
    differ = 0
    for test in tests:
        prints = {c: by_collection[c].get(test) for c in COLLECTIONS}
        same = len({_fingerprint(h) if h else None for h in prints.values()}) == 1
        failed = any(h and h[-1].startswith("FAILED") for h in prints.values())
        count = len(suite[test]) - failed
        word = "same" if same and all(prints.values()) else "DIFFER"
        differ += word == "DIFFER"
        print(f"{word:6s} {count:4d} examples  {test}" + ("  (failing)" if failed else ""))
    print(f"{len(tests)} property tests, {differ} whose examples differ between collections")
    return 1 if differ or not tests else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("files", nargs="*", help="only the property tests of these files")
    parser.add_argument("--max-examples", type=int, help="cap every property's examples")
    parser.add_argument(
        "--without-pin", action="store_true", help="without tests/conftest.py (--noconftest)"
    )
    args = parser.parse_args(argv)
    return compare(args.files, args.max_examples, pin=not args.without_pin)


if __name__ == "__main__":
    raise SystemExit(main())
