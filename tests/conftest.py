"""Shared test configuration.

* ``pytester`` drives the pytest plugin's tests.
* Hypothesis examples must not depend on which modules happen to be imported. Since
  6.131 hypothesis mixes literal constants read from the source of every *local*
  module in ``sys.modules`` into its draws; which test files are collected (and every
  literal in gradcheck's own source, under mutation testing) then changes the
  examples a derandomised property sees. The pool of local constants is pinned empty
  here, so a property's examples are the same alone, per file or in the whole suite
  (``tests/test_hypothesis_setup.py`` checks it). Hypothesis's own global constants
  (0, ±inf, NaN, ...) are kept.
* Test classes here are stateless namespaces, so a property method called on two
  instances of its class (as mutation testing's repeated runs do) is still one test:
  hypothesis's ``differing_executors`` health check is off in the default profile and
  in the property tests' own settings.
* JAX's compiled code is kept between runs (:data:`JAX_CACHE`), in one directory
  shared by every checkout: JAX compiles each primitive anew for every shape and
  dtype it meets (eager dispatch), and that compiling is much of the JAX tests' time.
  One float32 check of a small model on the float64 route (tests/test_jax_widen.py,
  the log_softmax cast) compiles 184 times: 10.5 s, then 4.5 s and no compile from
  the cache. Whole classes, cold then warm (a loaded 2-core machine, 2026-11-28):
  test_jax_widen.py's TestCastsInTheFunction (27 tests) 71 s -> 28 s, the whole file
  with test_hypothesis_setup.py and test_layering.py (150) 376 s -> 66 s;
  test_jax.py's TestCheck and TestConsistencyInLowPrecision (28) 182 s -> 155 s (the
  lowering to MLIR still runs; the cache saves XLA's compiling). The compiled code is
  the same, so no verdict can change. Set ``JAX_COMPILATION_CACHE_DIR`` to use
  another directory.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis.internal.conjecture import providers

pytest_plugins = ["pytester"]

#: JAX's persistent compilation cache, set before JAX is imported (JAX reads these
#: environment variables at import); an entry is written for every compile, however
#: small or quick (JAX's defaults keep only those over 1 s).
JAX_CACHE = {
    "JAX_COMPILATION_CACHE_DIR": os.path.join(tempfile.gettempdir(), "gradcheck-tests-jax"),
    "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
    "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
}
for _name, _value in JAX_CACHE.items():
    os.environ.setdefault(_name, _value)


def pytest_configure(config: Any) -> None:
    """An entry read while another run writes it (JAX writes in place) is compiled
    again, with a warning that must not fail the test reading it."""
    config.addinivalue_line(
        "filterwarnings", "ignore:Error reading persistent compilation cache entry:UserWarning"
    )


#: The empty pool of local constants (the same type hypothesis builds).
NO_LOCAL_CONSTANTS = providers.Constants()


def _no_local_constants() -> providers.Constants:
    return NO_LOCAL_CONSTANTS


providers._get_local_constants = _no_local_constants

settings.register_profile("gradcheck", suppress_health_check=[HealthCheck.differing_executors])
settings.load_profile("gradcheck")
