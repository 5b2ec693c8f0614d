"""The verdicts the float64 route's cast tests ask for (tests/test_jax_widen.py and
tests/test_torch_widen.py): a rule off by ``factor`` in every dtype fails, the right
rule (``factor == 1.0``) passes, each on the float64 side."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pytest

T = TypeVar("T", bound=Callable[..., Any])

#: The right rule and one off by ×1.002 (attack26 G1: a float32 side hid it).
RIGHT_AND_WRONG = pytest.mark.parametrize("factor", [1.0, 1.002])


def smaller_error_over_seeds(test: T) -> T:
    """``test`` for the right rule and one off by ×1.0005, at seeds 1 and 2."""
    return pytest.mark.parametrize("factor", [1.0, 1.0005])(
        pytest.mark.parametrize("seed", [1, 2])(test)
    )


def expect(report: Any, factor: float, *float64: str) -> None:
    """``report`` passed for the right rule (``factor == 1.0``), failed for a wrong one;
    each of ``report.options`` named in ``float64`` says ``"float64"``."""
    assert report.status == ("passed" if factor == 1.0 else "failed"), str(report)
    for option in float64:
        assert report.options[option] == "float64", option
