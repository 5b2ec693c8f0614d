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
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis.internal.conjecture import providers

pytest_plugins = ["pytester"]

#: The empty pool of local constants (the same type hypothesis builds).
NO_LOCAL_CONSTANTS = providers.Constants()


def _no_local_constants() -> providers.Constants:
    return NO_LOCAL_CONSTANTS


providers._get_local_constants = _no_local_constants

settings.register_profile("gradcheck", suppress_health_check=[HealthCheck.differing_executors])
settings.load_profile("gradcheck")
