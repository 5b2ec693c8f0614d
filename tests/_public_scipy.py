"""Public NumPy cases from SciPy's tests of ``scipy.optimize.check_grad``.

The functions and gradients are transcribed (restyled) from SciPy; SciPy itself is not
imported (it is no dependency of gradcheck). Checked as in ``_public_numpy.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from _public_base import Case, Run, Source, Variant
from _public_numpy import Array, numpy_run

__all__ = ["CASES"]


def _scipy_case(
    name: str,
    f: Callable[[Array], float],
    g: Callable[[Array], Array],
    x: Array,
    bugs: dict[str, Any],
    wrong_entries: dict[str, tuple[tuple[int, ...], ...]],
) -> Case:
    def runner(der: Callable[[Array], Array]) -> Callable[[], Run]:
        return numpy_run(lambda p: float(f(p["x"])), {"x": x}, lambda p: {"x": der(p["x"])})

    variants = [Variant("published", "passed", runner(g))]
    for bug, der in bugs.items():
        pinned = tuple(("x", i) for i in wrong_entries.get(bug, ()))
        variants.append(Variant(f"bug: {bug}", "failed", runner(der), ("x",), pinned))
    return Case(
        name, "numpy", _SCIPY_TESTS if name != "scipy rosen" else _SCIPY_ROSEN, tuple(variants)
    )


_SCIPY_TESTS = Source(
    "scipy/scipy",
    "scipy/optimize/tests/test_optimize.py",
    "f5d81be2325f147cf55e9771a8f5828a502815a0",
    "BSD-3-Clause",
    "test_check_grad's expit/der_expit (x0 = [1.5]) and x_sinx/der_x_sinx "
    "(x0 = arange(0, 2, 0.2)); himmelblau/himmelblau_grad at himmelblau_x0",
)
_SCIPY_ROSEN = Source(
    "scipy/scipy",
    "scipy/optimize/_optimize.py",
    "e9bbd4ce00734f9adbcad867bbae6cf24f3ea8af",
    "BSD-3-Clause",
    "rosen and rosen_der (NumPy path), at a 6-entry point of ours",
)


def _expit(x: Array) -> Array:
    return 1 / (1 + np.exp(-x))  # type: ignore[no-any-return]


def _der_expit(x: Array) -> Array:
    return np.exp(-x) / (1 + np.exp(-x)) ** 2  # type: ignore[no-any-return]


def _himmelblau(p: Array) -> float:
    x, y = p
    return float((x * x + y - 11) ** 2 + (x + y * y - 7) ** 2)


def _himmelblau_grad(p: Array, c: float = 2.0) -> Array:
    x, y = p
    return np.array(
        [
            4 * x**3 + 4 * x * y - 42 * x + c * y**2 - 14,
            2 * x**2 + 4 * x * y + 4 * y**3 - 26 * y - 22,
        ]
    )


def _rosen(x: Array) -> float:
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2.0) ** 2.0 + (1 - x[:-1]) ** 2.0))


def _rosen_der(x: Array, lag: int = 0, last: bool = True) -> Array:
    xm, xm_m1, xm_p1 = x[1:-1], x[lag : len(x) - 2 + lag], x[2:]
    der = np.zeros_like(x)
    der[1:-1] = 200 * (xm - xm_m1**2) - 400 * (xm_p1 - xm**2) * xm - 2 * (1 - xm)
    der[0] = -400 * x[0] * (x[1] - x[0] ** 2) - 2 * (1 - x[0])
    if last:
        der[-1] = 200 * (x[-1] - x[-2] ** 2)
    return der


_ROSEN_X = np.array([-1.2, 1.0, 0.7, 1.3, 0.9, 1.1])


CASES: tuple[Case, ...] = (
    _scipy_case(
        "scipy expit",
        lambda x: float(np.sum(_expit(x))),
        _der_expit,
        np.array([1.5]),
        {"missing square": lambda x: np.exp(-x) / (1 + np.exp(-x))},
        {},
    ),
    _scipy_case(
        "scipy x sin x",
        lambda x: float(np.sum(x * np.sin(x))),
        lambda x: np.sin(x) + x * np.cos(x),
        np.arange(0, 2, 0.2),
        {"wrong sign": lambda x: np.sin(x) - x * np.cos(x)},
        {"wrong sign": ((5,),)},
    ),
    _scipy_case(
        "scipy himmelblau",
        _himmelblau,
        _himmelblau_grad,
        np.array([-0.27, -0.9]),
        {"factor 2 lost in one term": lambda p: _himmelblau_grad(p, 1.0)},
        {"factor 2 lost in one term": ((0,),)},
    ),
    _scipy_case(
        "scipy rosen",
        _rosen,
        _rosen_der,
        _ROSEN_X,
        {
            "off-by-one slice": lambda x: _rosen_der(x, lag=1),
            "last entry's term missing": lambda x: _rosen_der(x, last=False),
        },
        {"off-by-one slice": ((2,),), "last entry's term missing": ((5,),)},
    ),
)
