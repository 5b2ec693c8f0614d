"""``gradcheck._directional_check``: the directional mode's outcome read whole, its
helpers on hand-made probes, and its notes (attack22 C7)."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest

import gradcheck
from gradcheck import _directional_check as dc
from gradcheck._build import ParameterOutcome
from gradcheck._directional import Directional
from gradcheck._directional_check import distinct
from gradcheck._directional_probe import Probe
from gradcheck._localise import Localisation
from gradcheck._results import Diagnosis, Entry
from gradcheck._steps import entry_scale

Array = np.ndarray[Any, Any]
INF, NAN = math.inf, math.nan

R = np.random.default_rng(0)
A = R.standard_normal((3, 8))
P0 = {"w": R.standard_normal(8), "b": R.standard_normal(3)}


def _cost(p: dict[str, Array]) -> float:
    return float(np.sum(np.sin(A @ p["w"] + p["b"])))


def _grad(p: dict[str, Array]) -> dict[str, Array]:
    c = np.cos(A @ p["w"] + p["b"])
    return {"w": A.T @ c, "b": c}


def _wrong_b(p: dict[str, Array]) -> dict[str, Array]:
    g = _grad(p)
    return {"w": g["w"], "b": 2 * g["b"]}


def _wrong_w5(p: dict[str, Array]) -> dict[str, Array]:
    g = _grad(p)
    w = g["w"].copy()
    w[5] += 0.5
    return {"w": w, "b": g["b"]}


X = np.array([0.0, 1.0, -2.0, 0.5, 0.0, 3.0])
Y = np.array([1e-12, 1.0, -2.0, 0.5, -1e-12, 3.0])
T = {"big": np.linspace(1, 2, 5), "tiny": np.linspace(1, 2, 5)}
L = np.linspace(0, 1, 7)
K = np.concatenate([np.zeros(600), np.linspace(1, 2, 10)])  # more zeros than KINK_ENTRIES
Z = np.array([0.0, 0.0, 1.0, -0.5])
S = np.linspace(0.5, 2.5, 50)


def _abs(p: Array) -> float:
    return float(np.sum(np.abs(p)))


def _zcost(p: Array) -> float:
    return float(abs(p[0]) + np.sum(np.sin(p)))


def _zgrad(p: Array) -> Array:
    g = np.cos(p)
    g[0] += np.sign(p[0])
    g[1] = 3.0  # entry 1 sits at 0 where the cost is smooth: cos(0) = 1 is right
    return g


def _s7(p: Array) -> Array:
    g = np.cos(p)
    g[7] *= 1.01
    return g


def _sin(p: Array) -> float:
    return float(np.sum(np.sin(p)))


T2 = {"big": np.linspace(1, 2, 5), "tiny": np.linspace(1, 2, 5), "tinier": np.linspace(1, 2, 3)}


def _tinies(p: dict[str, Array]) -> float:
    small = 1e-14 * np.sum(p["tiny"]) + 1e-15 * np.sum(p["tinier"])
    return float(np.sum(p["big"] ** 2) + small)


def _tinies_grad(p: dict[str, Array]) -> dict[str, Array]:
    return {"big": 2 * p["big"], "tiny": np.full(5, 1e-14), "tinier": np.full(3, 1e-15)}


def _sin_f32_value(p: Array) -> Any:
    return np.float32(np.sum(np.sin(p)))


def _sin32(p: Array) -> float:
    return float(np.sum(np.sin(p.astype(np.float32))))


def _nan_far(p: Array) -> float:
    return 1.0 if np.all(np.abs(p) < 5) else float("nan")


def _tiny(p: dict[str, Array]) -> float:
    return float(np.sum(p["big"] ** 2) + 1e-14 * np.sum(p["tiny"]))


def _tiny_grad(p: dict[str, Array]) -> dict[str, Array]:
    return {"big": 2 * p["big"], "tiny": np.full(5, 1e-14)}


def _case(name: str) -> Any:
    """The directional report of case ``name`` (seed 0)."""
    cases: dict[str, Any] = {
        "right": (_cost, P0, _grad),
        "wrong_b": (_cost, P0, _wrong_b),
        "wrong_b_unlocalised": (_cost, P0, _wrong_b, {"localise": False}),
        "wrong_w5": (_cost, P0, _wrong_w5),
        "budget": (_cost, P0, _wrong_w5, {"budget": 20}),  # a region named, no entry
        "single_wrong_unlocalised": (_sin, L, 2 * np.cos(L), {"localise": False}),
        "two_tiny": (_tinies, T2, _tinies_grad),  # a note for each
        # float32 values of float64 parameters: the cost's round-off reaches the prober
        "float32_value": (_sin_f32_value, np.linspace(-0.7, 1.3, 9), np.cos),
        "abs_zeros": (_abs, X, np.sign(X)),
        "abs_zeros_claim2": (_abs, X, np.where(X == 0, 2.0, np.sign(X))),
        "relu_near": (lambda p: float(np.sum(np.maximum(p, 0))), Y, (Y > 0).astype(float)),
        "tiny": (_tiny, T, _tiny_grad),
        "single_wrong": (_sin, L, 2 * np.cos(L)),
        "unresolved": (_nan_far, np.array([0.5, -1.0]), np.zeros_like),
        "kinked_many": (_abs, K, np.sign(K)),
        "zeros_wrong": (_zcost, Z, _zgrad),
        "rtol": (_sin, S, _s7, {"rtol": 0.1}),
        # float32 inside: directional_work's dtype and round-off reach the prober
        "float32_inside": (_sin32, np.linspace(-0.7, 1.3, 9), np.cos),
    }
    cost, x, grad, *options = cases[name]
    return gradcheck.check(cost, x, grad, mode="directional", seed=0, **(options or [{}])[0])


def _read(report: Any) -> dict[str, Any]:
    """Everything a directional report says, as plain data."""

    def diagnosis(d: Diagnosis | None) -> Any:
        return None if d is None else (d.kind, d.factor, d.text)

    return {
        "status": report.status,
        "messages": list(report.messages),
        "guarantee": dict(report.guarantee),
        "localisation": dict(report.localisation),
        "difference": report.difference,
        "noise": report.noise,
        "parameters": {
            n: {
                "status": q.status,
                "difference": q.difference,
                "checked": q.checked,
                "max_abs_error": q.max_abs_error,
                "failed": q.failed,
                "nonsmooth": q.nonsmooth,
                "uncertain": q.uncertain,
                "bound": q.detection_bound,
                "dtype": q.dtype,
                "shape": q.shape,
                "diagnosis": diagnosis(q.diagnosis),
                "worst": [(e.label(), e.status, e.analytic, e.numeric) for e in q.worst],
            }
            for n, q in report.parameters.items()
        },
    }


def _same(got: Any, want: Any, where: str = "") -> None:
    """``got == want``, floats to 1e-9 relative (NaN equal to NaN), types kept."""
    if isinstance(want, float):
        assert isinstance(got, float | int) and not isinstance(got, bool), where
        assert got == pytest.approx(want, rel=1e-9, abs=0.0, nan_ok=True), where
    elif isinstance(want, dict):
        assert isinstance(got, dict) and list(got) == list(want), (where, got)
        for k in want:
            _same(got[k], want[k], f"{where}.{k}")
    elif isinstance(want, list | tuple):
        assert type(got) is type(want) and len(got) == len(want), (where, got)
        for i, (g, w) in enumerate(zip(got, want)):
            _same(g, w, f"{where}[{i}]")
    else:
        assert got == want and type(got) is type(want), (where, got, want)


WHOLE: dict[str, dict[str, Any]] = {
    "single_wrong_unlocalised": {
        "status": "failed",
        "messages": [
            "the directional check disagrees: along a random direction the gradient "
            "gives -3.73349, the cost's slope is -1.86675 (they differ by 1.9; "
            "tolerance 7.3e-09)"
        ],
        "guarantee": {
            "directions": 2,
            "relative_error": 6.245210373644383e-08,
            "miss_probability": 0.001,
            "text": "2 random directions: a relative gradient error of 6.2e-08 or "
            "more in any one parameter (‖s⊙(g−∇J)‖/‖s⊙g‖, s the entry scale) "
            "is caught with probability ≥ 0.999",
            "noise": 7.044496764583628e-16,
        },
        "localisation": {},
        "difference": 0.3333333333330479,
        "noise": 7.044496764583628e-16,
        "parameters": {
            "x": {
                "status": "failed",
                "difference": 0.3333333333330479,
                "checked": 0,
                "max_abs_error": NAN,
                "failed": 0,
                "nonsmooth": 0,
                "uncertain": 0,
                "bound": 6.245210373644383e-08,
                "dtype": "float64",
                "shape": (7,),
                "diagnosis": None,
                "worst": [],
            }
        },
    },
    "two_tiny": {
        "status": "inconclusive",
        "messages": [
            "tiny: the directional check could only see a relative error of 1.8e+06 or "
            "more (its gradient is tiny next to the noise); use mode='full'",
            "tinier: the directional check could only see a relative error of 2.3e+07 "
            "or more (its gradient is tiny next to the noise); use mode='full'",
        ],
        "guarantee": {
            "directions": 2,
            "relative_error": 23152634.570239283,
            "miss_probability": 0.001,
            "text": "2 random directions: a relative gradient error of 2.3e+07 or "
            "more in any one parameter (‖s⊙(g−∇J)‖/‖s⊙g‖, s the entry scale) "
            "is caught with probability ≥ 0.999",
            "noise": 2.6367796955710378e-15,
        },
        "localisation": {},
        "difference": 3.1232534057674304e-08,
        "noise": 2.6367796955710378e-15,
        "parameters": {
            "big": {
                "status": "passed",
                "difference": NAN,
                "checked": 0,
                "max_abs_error": NAN,
                "failed": 0,
                "nonsmooth": 0,
                "uncertain": 0,
                "bound": 5.670980032975028e-06,
                "dtype": "float64",
                "shape": (5,),
                "diagnosis": None,
                "worst": [],
            },
            "tiny": {
                "status": "inconclusive",
                "difference": NAN,
                "checked": 0,
                "max_abs_error": NAN,
                "failed": 0,
                "nonsmooth": 0,
                "uncertain": 0,
                "bound": 1826879.0247028929,
                "dtype": "float64",
                "shape": (5,),
                "diagnosis": None,
                "worst": [],
            },
            "tinier": {
                "status": "inconclusive",
                "difference": NAN,
                "checked": 0,
                "max_abs_error": NAN,
                "failed": 0,
                "nonsmooth": 0,
                "uncertain": 0,
                "bound": 23152634.570239283,
                "dtype": "float64",
                "shape": (3,),
                "diagnosis": None,
                "worst": [],
            },
        },
    },
    "float32_value": {
        "status": "inconclusive",
        "messages": [
            "x: the directional check could only see a relative error of 3.1 or more "
            "(its gradient is tiny next to the noise); use mode='full'"
        ],
        "guarantee": {
            "directions": 2,
            "relative_error": 3.1129456011902357,
            "miss_probability": 0.001,
            "text": "2 random directions: a relative gradient error of 3.1 or more in "
            "any one parameter (‖s⊙(g−∇J)‖/‖s⊙g‖, s the entry scale) is "
            "caught with probability ≥ 0.999",
            "noise": 2.549539317442395e-07,
        },
        "localisation": {},
        "difference": 0.003131735449972403,
        "noise": 2.549539317442395e-07,
        "parameters": {
            "x": {
                "status": "inconclusive",
                "difference": 0.003131735449972403,
                "checked": 0,
                "max_abs_error": NAN,
                "failed": 0,
                "nonsmooth": 0,
                "uncertain": 0,
                "bound": 3.1129456011902357,
                "dtype": "float64",
                "shape": (9,),
                "diagnosis": None,
                "worst": [],
            }
        },
    },
    "budget": {
        "status": "failed",
        "messages": [
            "the directional check disagrees: along a random direction the gradient "
            "gives -0.646237, the cost's slope is -0.851076 (they differ by 0.2; "
            "tolerance 2.1e-09)"
        ],
        "guarantee": {
            "directions": 2,
            "relative_error": 9.656005846776557e-08,
            "miss_probability": 0.001,
            "text": "2 random directions: a relative gradient error of 9.7e-08 or "
            "more in any one parameter (‖s⊙(g−∇J)‖/‖s⊙g‖, s the entry scale) "
            "is caught with probability ≥ 0.999",
            "noise": 2.3638182374554774e-16,
        },
        "localisation": {
            "evaluations": 16,
            "exhausted": True,
            "pinned": [],
            "regions": [{"parameter": "w", "start": 0, "stop": 8}],
            "unconfirmed": [],
        },
        "difference": 0.13193277962512523,
        "noise": 2.3638182374554774e-16,
        "parameters": {
            "w": {
                "status": "failed",
                "difference": 0.038853923634879134,
                "checked": 0,
                "max_abs_error": NAN,
                "failed": 0,
                "nonsmooth": 0,
                "uncertain": 0,
                "bound": 9.656005846776554e-08,
                "dtype": "float64",
                "shape": (8,),
                "diagnosis": (
                    "scattered",
                    None,
                    "the error has no simple pattern (1 flat index range "
                    "known to hold it, listed above)",
                ),
                "worst": [],
            },
            "b": {
                "status": "passed",
                "difference": NAN,
                "checked": 0,
                "max_abs_error": NAN,
                "failed": 0,
                "nonsmooth": 0,
                "uncertain": 0,
                "bound": 9.656005846776557e-08,
                "dtype": "float64",
                "shape": (3,),
                "diagnosis": None,
                "worst": [],
            },
        },
    },
    "float32_inside": {
        "status": "passed",
        "messages": [
            "the cost returns float64 values but computes in float32 inside: its "
            "values move in float32-sized steps, so it is judged with float32's steps "
            "and tolerances (compute it in float64 to check the formula more tightly)"
        ],
        "guarantee": {
            "directions": 2,
            "relative_error": 0.10570131197036226,
            "miss_probability": 0.001,
            "text": "2 random directions: a relative gradient error of 0.11 or more "
            "in any one parameter (‖s⊙(g−∇J)‖/‖s⊙g‖, s the entry scale) is "
            "caught with probability ≥ 0.999",
            "noise": 1.9947529471732987e-06,
        },
        "localisation": {},
        "difference": 6.016887573388126e-07,
        "noise": 1.9947529471732987e-06,
        "parameters": {
            "x": {
                "status": "passed",
                "difference": 6.016887573388126e-07,
                "checked": 0,
                "max_abs_error": NAN,
                "failed": 0,
                "nonsmooth": 0,
                "uncertain": 0,
                "bound": 0.10570131197036226,
                "dtype": "float64",
                "shape": (9,),
                "diagnosis": None,
                "worst": [],
            }
        },
    },
    "right": {
        "status": "passed",
        "messages": [],
        "guarantee": {
            "directions": 2,
            "relative_error": 1.0584104285587609e-07,
            "miss_probability": 0.001,
            "text": "2 random directions: a relative gradient error of 1.1e-07 or "
            "more in any one parameter (‖s⊙(g−∇J)‖/‖s⊙g‖, s the entry scale) "
            "is caught with probability ≥ 0.999",
            "noise": 5.307881287095e-16,
        },
        "localisation": {},
        "difference": 1.3173088605042841e-11,
        "noise": 5.307881287095e-16,
        "parameters": {
            "w": {
                "status": "passed",
                "difference": NAN,
                "checked": 0,
                "max_abs_error": NAN,
                "failed": 0,
                "nonsmooth": 0,
                "uncertain": 0,
                "bound": 1.0584104285587609e-07,
                "dtype": "float64",
                "shape": (8,),
                "diagnosis": None,
                "worst": [],
            },
            "b": {
                "status": "passed",
                "difference": NAN,
                "checked": 0,
                "max_abs_error": NAN,
                "failed": 0,
                "nonsmooth": 0,
                "uncertain": 0,
                "bound": 1.0584104285587609e-07,
                "dtype": "float64",
                "shape": (3,),
                "diagnosis": None,
                "worst": [],
            },
        },
    },
    "wrong_b": {
        "status": "failed",
        "messages": [
            "the directional check disagrees: along a random direction the gradient "
            "gives -1.75805, the cost's slope is -1.26341 (they differ by 0.49; "
            "tolerance 4.1e-09)"
        ],
        "guarantee": {
            "directions": 2,
            "relative_error": 9.350466396949126e-08,
            "miss_probability": 0.001,
            "text": "2 random directions: a relative gradient error of 9.4e-08 or "
            "more in any one parameter (‖s⊙(g−∇J)‖/‖s⊙g‖, s the entry scale) "
            "is caught with probability ≥ 0.999",
            "noise": 2.363824289974599e-16,
        },
        "localisation": {
            "evaluations": 16,
            "exhausted": False,
            "pinned": [],
            "regions": [],
            "unconfirmed": [],
        },
        "difference": 0.17976955493809715,
        "noise": 2.363824289974599e-16,
        "parameters": {
            "w": {
                "status": "passed",
                "difference": NAN,
                "checked": 0,
                "max_abs_error": NAN,
                "failed": 0,
                "nonsmooth": 0,
                "uncertain": 0,
                "bound": 9.350466396949126e-08,
                "dtype": "float64",
                "shape": (8,),
                "diagnosis": None,
                "worst": [],
            },
            "b": {
                "status": "failed",
                "difference": 0.333333333337325,
                "checked": 0,
                "max_abs_error": NAN,
                "failed": 0,
                "nonsmooth": 0,
                "uncertain": 0,
                "bound": 9.350466396949126e-08,
                "dtype": "float64",
                "shape": (3,),
                "diagnosis": (
                    "factor",
                    2.000000000065518,
                    "×2 — the gradient is 2 times too large (a doubled term?)",
                ),
                "worst": [],
            },
        },
    },
    "wrong_b_unlocalised": {
        "status": "failed",
        "messages": [
            "the directional check disagrees: along a random direction the gradient "
            "gives -1.75805, the cost's slope is -1.26341 (they differ by 0.49; "
            "tolerance 4.1e-09); localisation is off (localise=False), so no parameter "
            "is named"
        ],
        "guarantee": {
            "directions": 2,
            "relative_error": 9.350466396949126e-08,
            "miss_probability": 0.001,
            "text": "2 random directions: a relative gradient error of 9.4e-08 or "
            "more in any one parameter (‖s⊙(g−∇J)‖/‖s⊙g‖, s the entry scale) "
            "is caught with probability ≥ 0.999",
            "noise": 2.363824289974599e-16,
        },
        "localisation": {},
        "difference": 0.17976955493809715,
        "noise": 2.363824289974599e-16,
        "parameters": {
            "w": {
                "status": "inconclusive",
                "difference": NAN,
                "checked": 0,
                "max_abs_error": NAN,
                "failed": 0,
                "nonsmooth": 0,
                "uncertain": 0,
                "bound": 9.350466396949126e-08,
                "dtype": "float64",
                "shape": (8,),
                "diagnosis": None,
                "worst": [],
            },
            "b": {
                "status": "inconclusive",
                "difference": NAN,
                "checked": 0,
                "max_abs_error": NAN,
                "failed": 0,
                "nonsmooth": 0,
                "uncertain": 0,
                "bound": 9.350466396949126e-08,
                "dtype": "float64",
                "shape": (3,),
                "diagnosis": None,
                "worst": [],
            },
        },
    },
    "wrong_w5": {
        "status": "failed",
        "messages": [
            "the directional check disagrees: along a random direction the gradient "
            "gives -0.646237, the cost's slope is -0.851076 (they differ by 0.2; "
            "tolerance 2.1e-09)"
        ],
        "guarantee": {
            "directions": 2,
            "relative_error": 9.656005846776557e-08,
            "miss_probability": 0.001,
            "text": "2 random directions: a relative gradient error of 9.7e-08 or "
            "more in any one parameter (‖s⊙(g−∇J)‖/‖s⊙g‖, s the entry scale) "
            "is caught with probability ≥ 0.999",
            "noise": 2.3638182374554774e-16,
        },
        "localisation": {
            "evaluations": 40,
            "exhausted": False,
            "pinned": ["w[5]"],
            "regions": [],
            "unconfirmed": [],
        },
        "difference": 0.13193277962512523,
        "noise": 2.3638182374554774e-16,
        "parameters": {
            "w": {
                "status": "failed",
                "difference": 0.038853923634879134,
                "checked": 2,
                "max_abs_error": 0.5000000000126941,
                "failed": 1,
                "nonsmooth": 0,
                "uncertain": 0,
                "bound": 9.656005846776554e-08,
                "dtype": "float64",
                "shape": (8,),
                "diagnosis": (
                    "scattered",
                    None,
                    "the error has no simple pattern (see the entries)",
                ),
                "worst": [("w[5]", "wrong", 1.7175723233720457, 1.2175723233593516)],
            },
            "b": {
                "status": "passed",
                "difference": NAN,
                "checked": 0,
                "max_abs_error": NAN,
                "failed": 0,
                "nonsmooth": 0,
                "uncertain": 0,
                "bound": 9.656005846776557e-08,
                "dtype": "float64",
                "shape": (3,),
                "diagnosis": None,
                "worst": [],
            },
        },
    },
    "abs_zeros": {
        "status": "passed",
        "messages": [
            "2 entries (2 exactly at 0) put every random direction across a kink: they "
            "were left out of the directions, and the rest of the gradient was checked "
            "at full strength; those entries, checked one by one (4 evaluations each, "
            "more near a kink): 2 at a kink, the claim between the one-sided slopes "
            "(not judged further: there is no derivative there; x[0], x[4])"
        ],
        "guarantee": {
            "directions": 2,
            "relative_error": 1.1271373321845886e-07,
            "miss_probability": 0.001,
            "text": "2 random directions, 2 entries at a kink left out and checked "
            "one by one: a relative gradient error of 1.1e-07 or more in any "
            "one parameter (‖s⊙(g−∇J)‖/‖s⊙g‖, s the entry scale) is caught "
            "with probability ≥ 0.999",
            "noise": 1.443313940482864e-15,
        },
        "localisation": {},
        "difference": 1.393071245960745e-11,
        "noise": 1.443313940482864e-15,
        "parameters": {
            "x": {
                "status": "passed",
                "difference": 1.393071245960745e-11,
                "checked": 2,
                "max_abs_error": NAN,
                "failed": 0,
                "nonsmooth": 2,
                "uncertain": 0,
                "bound": 1.1271373321845886e-07,
                "dtype": "float64",
                "shape": (6,),
                "diagnosis": None,
                "worst": [("x[0]", "nonsmooth", 0.0, 0.0), ("x[4]", "nonsmooth", 0.0, 0.0)],
            }
        },
    },
    "abs_zeros_claim2": {
        "status": "inconclusive",
        "messages": [
            "2 entries (2 exactly at 0) put every random direction across a kink: they "
            "were left out of the directions, and the rest of the gradient was checked "
            "at full strength; those entries, checked one by one (4 evaluations each, "
            "more near a kink): 2 at a kink with the claim outside the one-sided "
            "slopes or a kink near but not at the point, inconclusive (x[0], x[4]): "
            "several kinks meeting there can put a correct claim outside them, which "
            "differences at the point cannot judge; use mode='full', which re-checks "
            "such entries at nearby smooth points when the gradient is a function"
        ],
        "guarantee": {
            "directions": 2,
            "relative_error": 8.602758175563511e-08,
            "miss_probability": 0.001,
            "text": "2 random directions, 2 entries at a kink left out and checked "
            "one by one: a relative gradient error of 8.6e-08 or more in any "
            "one parameter (‖s⊙(g−∇J)‖/‖s⊙g‖, s the entry scale) is caught "
            "with probability ≥ 0.999",
            "noise": 1.443313940482864e-15,
        },
        "localisation": {},
        "difference": 1.393071245960745e-11,
        "noise": 1.443313940482864e-15,
        "parameters": {
            "x": {
                "status": "inconclusive",
                "difference": 1.393071245960745e-11,
                "checked": 2,
                "max_abs_error": NAN,
                "failed": 0,
                "nonsmooth": 0,
                "uncertain": 2,
                "bound": 8.602758175563511e-08,
                "dtype": "float64",
                "shape": (6,),
                "diagnosis": None,
                "worst": [("x[0]", "uncertain", 2.0, 0.0), ("x[4]", "uncertain", 2.0, 0.0)],
            }
        },
    },
    "relu_near": {
        "status": "passed",
        "messages": [
            "2 entries (2 found at a kink by splitting the directions' support (36 "
            "evaluations)) put every random direction across a kink: they were left "
            "out of the directions, and the rest of the gradient was checked at full "
            "strength; those entries, checked one by one (4 evaluations each, more "
            "near a kink): 2 at a kink, the claim between the one-sided slopes (not "
            "judged further: there is no derivative there; x[0], x[4])"
        ],
        "guarantee": {
            "directions": 2,
            "relative_error": 1.710130686931653e-05,
            "miss_probability": 0.001,
            "text": "2 random directions, 2 entries at a kink left out and checked "
            "one by one: a relative gradient error of 1.7e-05 or more in any "
            "one parameter (‖s⊙(g−∇J)‖/‖s⊙g‖, s the entry scale) is caught "
            "with probability ≥ 0.999",
            "noise": 6.963203463093656e-12,
        },
        "localisation": {},
        "difference": 1.9575373390341713e-11,
        "noise": 6.963203463093656e-12,
        "parameters": {
            "x": {
                "status": "passed",
                "difference": 1.9575373390341713e-11,
                "checked": 2,
                "max_abs_error": NAN,
                "failed": 0,
                "nonsmooth": 2,
                "uncertain": 0,
                "bound": 1.710130686931653e-05,
                "dtype": "float64",
                "shape": (6,),
                "diagnosis": None,
                "worst": [
                    ("x[0]", "nonsmooth", 1.0, 0.5000001071400038),
                    ("x[4]", "nonsmooth", 0.0, 0.4999998928065046),
                ],
            }
        },
    },
    "tiny": {
        "status": "inconclusive",
        "messages": [
            "tiny: the directional check could only see a relative error of 2.4e+06 or "
            "more (its gradient is tiny next to the noise); use mode='full'"
        ],
        "guarantee": {
            "directions": 2,
            "relative_error": 2399317.1946230065,
            "miss_probability": 0.001,
            "text": "2 random directions: a relative gradient error of 2.4e+06 or "
            "more in any one parameter (‖s⊙(g−∇J)‖/‖s⊙g‖, s the entry scale) "
            "is caught with probability ≥ 0.999",
            "noise": 2.636779708318122e-15,
        },
        "localisation": {},
        "difference": 6.972393056534058e-09,
        "noise": 2.636779708318122e-15,
        "parameters": {
            "big": {
                "status": "passed",
                "difference": NAN,
                "checked": 0,
                "max_abs_error": NAN,
                "failed": 0,
                "nonsmooth": 0,
                "uncertain": 0,
                "bound": 7.447937011425027e-06,
                "dtype": "float64",
                "shape": (5,),
                "diagnosis": None,
                "worst": [],
            },
            "tiny": {
                "status": "inconclusive",
                "difference": NAN,
                "checked": 0,
                "max_abs_error": NAN,
                "failed": 0,
                "nonsmooth": 0,
                "uncertain": 0,
                "bound": 2399317.1946230065,
                "dtype": "float64",
                "shape": (5,),
                "diagnosis": None,
                "worst": [],
            },
        },
    },
    "single_wrong": {
        "status": "failed",
        "messages": [
            "the directional check disagrees: along a random direction the gradient "
            "gives -3.73349, the cost's slope is -1.86675 (they differ by 1.9; "
            "tolerance 7.3e-09)"
        ],
        "guarantee": {
            "directions": 2,
            "relative_error": 6.245210373644383e-08,
            "miss_probability": 0.001,
            "text": "2 random directions: a relative gradient error of 6.2e-08 or "
            "more in any one parameter (‖s⊙(g−∇J)‖/‖s⊙g‖, s the entry scale) "
            "is caught with probability ≥ 0.999",
            "noise": 7.044496764583628e-16,
        },
        "localisation": {
            "evaluations": 8,
            "exhausted": False,
            "pinned": [],
            "regions": [],
            "unconfirmed": [],
        },
        "difference": 0.33333333333276094,
        "noise": 7.044496764583628e-16,
        "parameters": {
            "x": {
                "status": "failed",
                "difference": 0.33333333333276094,
                "checked": 0,
                "max_abs_error": NAN,
                "failed": 0,
                "nonsmooth": 0,
                "uncertain": 0,
                "bound": 6.245210373644383e-08,
                "dtype": "float64",
                "shape": (7,),
                "diagnosis": (
                    "factor",
                    1.999999999998759,
                    "×2 — the gradient is 2 times too large (a doubled term?)",
                ),
                "worst": [],
            }
        },
    },
    "unresolved": {
        "status": "inconclusive",
        "messages": [
            "2 random directions: the gradient is exactly 0 and so is every finite "
            "difference (|g| ≤ 5.1e-11) at the check's steps, but the cost raises or "
            "is not finite at a move of ±10·s along a random direction: a gradient "
            "below that bound cannot be excluded"
        ],
        "guarantee": {
            "directions": 2,
            "relative_error": INF,
            "miss_probability": 0.001,
            "text": "2 random directions: the gradient is exactly 0 and so is every "
            "finite difference (|g| ≤ 5.1e-11) at the check's steps, but the "
            "cost raises or is not finite at a move of ±10·s along a random "
            "direction: a gradient below that bound cannot be excluded",
            "noise": 2.220446049250313e-16,
        },
        "localisation": {},
        "difference": 0.0,
        "noise": 2.220446049250313e-16,
        "parameters": {
            "x": {
                "status": "inconclusive",
                "difference": 0.0,
                "checked": 0,
                "max_abs_error": NAN,
                "failed": 0,
                "nonsmooth": 0,
                "uncertain": 0,
                "bound": INF,
                "dtype": "float64",
                "shape": (2,),
                "diagnosis": None,
                "worst": [],
            }
        },
    },
    "kinked_many": {
        "status": "inconclusive",
        "messages": [
            "along a random direction the cost has a kink at or near the point (its "
            "one-sided slopes differ as much at half the step: a ReLU at 0, tied "
            "maxima), where the gradient gives -1.338586923 and the cost's slope is "
            "-1.338586924: a derivative at a kink is one of its one-sided or chosen "
            "slopes, which a direction cannot judge; use mode='full', which judges "
            "kinks entry by entry"
        ],
        "guarantee": {
            "directions": 2,
            "relative_error": 6.47484869486694e-08,
            "miss_probability": 0.001,
            "text": "2 random directions: a relative gradient error of 6.5e-08 or "
            "more in any one parameter (‖s⊙(g−∇J)‖/‖s⊙g‖, s the entry scale) "
            "is caught with probability ≥ 0.999",
            "noise": 3.3307794274284706e-15,
        },
        "localisation": {},
        "difference": 3.556287395963708e-11,
        "noise": 3.3307794274284706e-15,
        "parameters": {
            "x": {
                "status": "inconclusive",
                "difference": 3.556287395963708e-11,
                "checked": 0,
                "max_abs_error": NAN,
                "failed": 0,
                "nonsmooth": 0,
                "uncertain": 0,
                "bound": 6.47484869486694e-08,
                "dtype": "float64",
                "shape": (610,),
                "diagnosis": None,
                "worst": [],
            }
        },
    },
    "zeros_wrong": {
        "status": "failed",
        "messages": [
            "2 entries (2 exactly at 0) put every random direction across a kink: they "
            "were left out of the directions, and the rest of the gradient was checked "
            "at full strength; those entries, checked one by one (4 evaluations each, "
            "more near a kink): 1 at a kink, the claim between the one-sided slopes "
            "(not judged further: there is no derivative there; x[0]); 1 wrong (x[1])"
        ],
        "guarantee": {
            "directions": 2,
            "relative_error": 4.480285645317447e-08,
            "miss_probability": 0.001,
            "text": "2 random directions, 2 entries at a kink left out and checked "
            "one by one: a relative gradient error of 4.5e-08 or more in any "
            "one parameter (‖s⊙(g−∇J)‖/‖s⊙g‖, s the entry scale) is caught "
            "with probability ≥ 0.999",
            "noise": 8.688869536365455e-17,
        },
        "localisation": {},
        "difference": 3.974542517765944e-12,
        "noise": 8.688869536365455e-17,
        "parameters": {
            "x": {
                "status": "failed",
                "difference": 3.974542517765944e-12,
                "checked": 2,
                "max_abs_error": 1.9999999999630436,
                "failed": 1,
                "nonsmooth": 1,
                "uncertain": 0,
                "bound": 4.480285645317447e-08,
                "dtype": "float64",
                "shape": (4,),
                "diagnosis": None,
                "worst": [
                    ("x[1]", "wrong", 3.0, 1.0000000000369564),
                    ("x[1]", "wrong", 3.0, 1.0000000000369564),
                    ("x[0]", "nonsmooth", 1.0, 1.0000000000260238),
                ],
            }
        },
    },
    "rtol": {
        "status": "passed",
        "messages": [],
        "guarantee": {
            "directions": 2,
            "relative_error": 4.241996376939798,
            "miss_probability": 0.001,
            "text": "2 random directions: a relative gradient error of 4.2 or more in "
            "any one parameter (‖s⊙(g−∇J)‖/‖s⊙g‖, s the entry scale) is "
            "caught with probability ≥ 0.999",
            "noise": 9.250837640552494e-15,
        },
        "localisation": {},
        "difference": 0.0016479712614159256,
        "noise": 9.250837640552494e-15,
        "parameters": {
            "x": {
                "status": "passed",
                "difference": 0.0016479712614159256,
                "checked": 0,
                "max_abs_error": NAN,
                "failed": 0,
                "nonsmooth": 0,
                "uncertain": 0,
                "bound": 4.241996376939798,
                "dtype": "float64",
                "shape": (50,),
                "diagnosis": None,
                "worst": [],
            }
        },
    },
}


class TestOutcomeReadWhole:
    """``directional_check``'s outcome on each of its branches, read whole: the
    statuses, every note, the guarantee, localisation's summary, every difference
    and bound (from the runs of 2026-11-28; seed 0, so the directions are fixed)."""

    @pytest.mark.parametrize("name", sorted(WHOLE))
    def test_the_report(self, name: str) -> None:
        _same(_read(_case(name)), WHOLE[name], name)


def _probe(
    analytic: float,
    numeric: float,
    tolerance: float = 1.0,
    *,
    wrong: bool = False,
    kink: bool = False,
    segments: tuple[tuple[int, int, int], ...] = ((0, 0, 3),),
) -> Probe:
    return Probe(segments, analytic, numeric, 0.0, tolerance, 0.0, wrong, (), 1e-3, 0.0, kink=kink)


def _verdict(*probes: Probe, **fields: Any) -> Directional:
    given: dict[str, Any] = {"bounds": [0.25, 0.25], "bound": 0.25, **fields}
    return Directional(probes, {}, miss=1e-3, text="the verdict's text", **given)


def _entry(name: str, index: int, error: float) -> Entry:
    return Entry(name, (index,), 1.0 + error, 1.0, error, error, 1e-8, 0.0, "wrong")


class TestHelpers:
    """The helpers read whole on hand-made probes, verdicts and localisations."""

    def test_direction_salt_is_the_bits_of_the_value(self) -> None:
        assert dc.direction_salt(0.0) == 0
        assert dc.direction_salt(1.0) == 0x3FF0000000000000
        assert dc.direction_salt(-2.0) == 0xC000000000000000
        assert type(dc.direction_salt(1.5)) is int

    def test_difference(self) -> None:
        assert math.isnan(dc._difference([]))
        assert dc._difference([_probe(3.0, 0.0), _probe(0.0, 4.0)]) == 5.0 / 7.0
        assert dc._difference([_probe(0.0, 0.0), _probe(0.0, 0.0)]) == 0.0
        huge = dc._difference([_probe(3e200, 0.0), _probe(0.0, 4e200)])
        assert huge == pytest.approx(5.0 / 7.0, rel=1e-15)
        tiny = dc._difference([_probe(3e-200, 0.0), _probe(0.0, 4e-200)])
        assert tiny == pytest.approx(5.0 / 7.0, rel=1e-15)
        assert dc._difference([_probe(2.0, 1.0)]) == 1.0 / 3.0
        # a − R overflows: no warning escapes (filterwarnings = error), whatever it reads
        over = dc._difference([_probe(1e308, -1e308)])
        assert math.isnan(over) or over == 1.0

    def test_worst_is_the_most_tolerances_off(self) -> None:
        one, half, none = _probe(1.0, 0.0, 1.0), _probe(3.0, 0.0, 2.0), _probe(5.0, 5.0, 0.0)
        assert dc._worst([one, half, none]) is half
        assert dc._worst([none, one]) is one  # a gap of 0 with a tolerance of 0: 0
        zero_tol = _probe(1e-300, 0.0, 0.0)
        assert dc._worst([half, zero_tol, one]) is zero_tol
        same = _probe(2.0, 0.0, 2.0)
        assert dc._worst([one, same]) is one  # ties: the first

    def test_status_after_a_failed_verdict(self) -> None:
        bad = _verdict(_probe(2.0, 1.0, wrong=True))
        loc = Localisation(wrong={1: []}, ok={0})
        assert dc._status(1, "b", bad, loc, 2) == ("failed", "")
        assert dc._status(0, "w", bad, loc, 2) == ("passed", "")
        assert dc._status(0, "w", bad, Localisation(), 2) == ("inconclusive", "")
        assert dc._status(0, "w", bad, Localisation(), 1) == ("failed", "")
        alone = _verdict(_probe(1.0, 1.0), alone=(_probe(2.0, 1.0, wrong=True),))
        assert dc._status(0, "w", alone, Localisation(), 1) == ("failed", "")
        kink = _verdict(_probe(2.0, 1.0, wrong=True, kink=True))
        assert dc._status(0, "w", kink, Localisation(wrong={1: []}), 1) == ("inconclusive", "")

    def test_status_of_an_agreeing_verdict(self) -> None:
        loc = Localisation()
        good = _probe(1.0, 1.0)
        assert dc._status(0, "w", _verdict(good), loc, 2) == ("passed", "")
        assert dc._status(0, "w", _verdict(good, unresolved=True), loc, 2) == (
            "inconclusive",
            "",
        )
        kinked = _verdict(_probe(1.0, 1.0, kink=True))
        assert dc._status(0, "w", kinked, loc, 2) == ("inconclusive", "")
        note = (
            "w: the directional check could only see a relative error of 0.75 or more "
            "(its gradient is tiny next to the noise); use mode='full'"
        )
        at = dc.DIRECTIONAL_UNCERTAIN
        assert dc._status(1, "w", _verdict(good, bounds=[0.1, 0.75]), loc, 2) == (
            "inconclusive",
            note,
        )
        assert dc._status(1, "w", _verdict(good, bounds=[0.1, at]), loc, 2) == ("passed", "")
        exact = _verdict(good, bounds=[0.1, 0.75], exact=frozenset({1}))
        assert dc._status(1, "w", exact, loc, 2) == ("passed", "")
        # with an explicit rtol, what the noise alone leaves unseen decides
        seen = _verdict(good, bounds=[4.0, 0.75], seen=(at, 0.6))
        assert dc._status(0, "w", seen, loc, 2) == ("passed", "")
        assert dc._status(1, "w", seen, loc, 2) == ("inconclusive", note)
        assert dc.DIRECTIONAL_UNCERTAIN == 0.5

    def test_the_failure_note_of_each_branch(self) -> None:
        smooth = _probe(2.0, 1.5, 0.25, wrong=True)
        kinked = _probe(9.0, 1.0, 0.25, wrong=True, kink=True)
        verdict = _verdict(_probe(1.0, 1.0), kinked, alone=(smooth,))
        words = ("the vjp", "uᵀout's slope")
        what = (
            "the directional check disagrees: along a random direction the vjp gives 2, "
            "uᵀout's slope is 1.5 (they differ by 0.5; tolerance 0.25)"
        )
        loc = Localisation(wrong={0: []})
        assert dc._failure_note(verdict, loc, True, ["a"], words) == what
        assert dc._failure_note(verdict, Localisation(), False, ["a"], words) == what
        assert dc._failure_note(verdict, Localisation(), False, ["a", "b"], words) == (
            what + "; localisation is off (localise=False), so no parameter is named"
        )
        unconfirmed = Localisation(unconfirmed=[(0, 0, 3)])
        assert dc._failure_note(verdict, unconfirmed, True, ["a", "b"], words) == what + (
            "; localisation could not confirm it: a second probe of the same parameters "
            "agreed and none of their parts disagreed, so no parameter is named (an error "
            "near the stated bound, or a false alarm)"
        )
        assert dc._failure_note(verdict, Localisation(), True, ["a", "b"], words) == what + (
            "; no single parameter could be blamed: the error is spread thinly over "
            "several parameters"
        )
        both = Localisation(wrong={1: []}, unconfirmed=[(0, 0, 3)])
        assert dc._failure_note(verdict, both, True, ["a", "b"], words) == what
        close = _verdict(_probe(1.0000001, 1.0000002, 0.25, wrong=True))
        assert "gives 1.0000001, uᵀout's slope is 1.0000002 (they differ by 1e-07;" in (
            dc._failure_note(close, loc, True, ["a"], words)
        )

    def test_the_kink_note(self) -> None:
        verdict = _verdict(
            _probe(5.0, 1.0, 0.25, wrong=True),  # not across a kink: not the one named
            _probe(2.0, 1.5, 1.0, kink=True),
            _probe(3.0, 1.0, 1.0, kink=True),
        )
        assert dc._kink_note(verdict, ("the vjp", "uᵀout's slope")) == (
            "along a random direction the cost has a kink at or near the point (its "
            "one-sided slopes differ as much at half the step: a ReLU at 0, tied maxima), "
            "where the vjp gives 3 and uᵀout's slope is 1: a derivative at a kink is one "
            "of its one-sided or chosen slopes, which a direction cannot judge; use "
            "mode='full', which judges kinks entry by entry"
        )

    def test_diagnosis(self) -> None:
        scattered = Diagnosis("scattered", None, "the error has no simple pattern (see …)")
        factor = Diagnosis("factor", 2.0, "×2")
        pinned = [_entry("w", 1, 0.5)]
        assert dc._diagnosis(0, Localisation(), []) is None
        assert dc._diagnosis(0, Localisation(diagnoses={0: factor}), []) is factor
        assert dc._diagnosis(0, Localisation(diagnoses={0: scattered}), pinned) is scattered
        regions = [(0, 0, 4), (1, 0, 4), (0, 8, 12)]

        def text(ranges: list[tuple[int, int, int]]) -> str:
            loc = Localisation(diagnoses={0: scattered}, regions=ranges)
            diagnosis = dc._diagnosis(0, loc, [])
            assert diagnosis is not None and diagnosis.kind == "scattered"
            assert diagnosis.factor is None
            return diagnosis.text

        assert text([]) == "the error has no simple pattern (not narrowed down further)"
        assert text(regions[:2]) == (
            "the error has no simple pattern (1 flat index range known to hold it, listed above)"
        )
        assert text(regions) == (
            "the error has no simple pattern (2 flat index ranges known to hold it, listed above)"
        )
        assert text(regions[1:2]) == "the error has no simple pattern (not narrowed down further)"

    def test_summary(self) -> None:
        loc = Localisation(
            pinned=[_entry("b", 2, 0.5)],
            regions=[(0, 4, 8)],
            unconfirmed=[(1, 0, 2), (0, 1, 3)],
            evaluations=17,
            exhausted=True,
        )
        assert dc._summary(loc, ["w", "b"]) == {
            "evaluations": 17,
            "exhausted": True,
            "pinned": ["b[2]"],
            "regions": [{"parameter": "w", "start": 4, "stop": 8}],
            "unconfirmed": [
                {"parameter": "b", "start": 0, "stop": 2},
                {"parameter": "w", "start": 1, "stop": 3},
            ],
        }

    def test_result(self) -> None:
        entries = [_entry("w", i, e) for i, e in enumerate((0.5, 2.0, 0.25, 1.0, 3.0, 0.125))]
        loc = Localisation(
            pinned=[_entry("b", 0, 9.0), *entries],
            compared={(0, 1), (1, 0), (0, 4), (0, 5)},
            diagnoses={0: Diagnosis("factor", 2.0, "×2")},
        )
        verdict = _verdict(_probe(2.0, 1.0, wrong=True), bounds=[0.125, 0.5])
        leaf = np.zeros((2, 3), dtype=np.complex64)
        probes = [_probe(3.0, 0.0), _probe(0.0, 4.0)]
        got = dc._result(0, "w", leaf, "failed", verdict, loc, probes)
        assert got == ParameterOutcome(
            name="w",
            shape=(2, 3),
            dtype="float32",
            status="failed",
            difference=5.0 / 7.0,
            checked=3,
            max_abs_error=3.0,
            failed=6,
            worst=tuple(entries[:5]),
            diagnosis=Diagnosis("factor", 2.0, "×2"),
            detection_bound=0.125,
        )
        alone = dc._result(1, "b", np.zeros(0), "passed", verdict, Localisation(), [])
        assert alone.failed == 0 and alone.worst == () and alone.checked == 0
        assert math.isnan(alone.max_abs_error) and math.isnan(alone.difference)
        assert alone.detection_bound == 0.5 and alone.diagnosis is None
        assert alone.dtype == "float64" and alone.shape == (0,)


class TestDistinct:
    @pytest.mark.parametrize(
        ("a", "b"),
        [
            (5171.4912, 5171.4893),
            (1.0, 1.0 + 2**-52),
            (-3e-200, -3.0000001e-200),
            (1e300, 1.0000000001e300),
            (0.1 + 0.2, 0.3),
        ],
    )
    def test_different_numbers_read_differently(self, a: float, b: float) -> None:
        x, y = distinct(a, b)
        assert x != y and float(x) == pytest.approx(a, rel=1e-5)
        assert len(x.lstrip("-").replace(".", "")) <= 22

    @pytest.mark.parametrize("a", [0.0, 1.5, -7.25e-12])
    def test_equal_numbers_keep_the_least_digits(self, a: float) -> None:
        assert distinct(a, a) == (f"{a:.6g}", f"{a:.6g}")

    def test_far_apart_numbers_keep_six_digits(self) -> None:
        assert distinct(1.23456789, 2.5) == ("1.23457", "2.5")


class TestFailureNote:
    @pytest.mark.parametrize("seed", [0, 1])
    @pytest.mark.parametrize("error", [1e-6, 1e-4])
    def test_the_claim_and_the_slope_are_told_apart(self, seed: int, error: float) -> None:
        x = np.random.default_rng(seed).standard_normal(20_000)
        g = np.cos(x)
        g[123] *= 1 + error * 1e3
        report = gradcheck.check(lambda p: float(np.sum(np.sin(p))), x, g)
        assert report.mode == "directional" and report.status == "failed", str(report)
        (note,) = [m for m in report.messages if "directional check disagrees" in m]
        found = re.search(r"the gradient gives (\S+), the cost's slope is (\S+) \(they", note)
        assert found is not None and found[1] != found[2], note


class TestExplicitRtol:
    def test_a_bound_grown_by_the_users_rtol_is_no_unresolved_gradient(self) -> None:
        # mut26: rtol=0.1 states a detectable error of 4.2, which the noise rule read as
        # a gradient drowned in noise: inconclusive for a 1% error the rtol allows
        x = np.linspace(0.5, 2.5, 50)
        g = np.cos(x)
        g[7] *= 1.01
        report = gradcheck.check(lambda p: np.sum(np.sin(p)), x, g, mode="directional", rtol=0.1)
        assert report.status == "passed", str(report)
        assert report.guarantee["relative_error"] > 0.5
        wrong = gradcheck.check(
            lambda p: np.sum(np.sin(p)), x, 2.0 * np.cos(x), mode="directional", rtol=0.1
        )
        assert wrong.status == "failed"


class TestEmptyLeaf:
    """A 0-size leaf beside a used one (an empty bias, an unused Parameter(0)) has
    nothing to check: passed, as in full mode (it was inconclusive, "could only see a
    relative error of inf", so such a model never passed in directional mode:
    attack35 H145)."""

    @staticmethod
    def _case() -> tuple[Any, dict[str, Any], Any, Any]:
        r = np.random.default_rng(0)
        a = r.standard_normal((3, 50)) / np.sqrt(50)
        p0 = {"w": r.standard_normal(50), "e": np.zeros((0, 3))}

        def cost(p: dict[str, Any]) -> float:
            return float(np.sum(np.sin(a @ p["w"])))

        def grad(p: dict[str, Any]) -> dict[str, Any]:
            return {"w": a.T @ np.cos(a @ p["w"]), "e": np.zeros((0, 3))}

        def wrong(p: dict[str, Any]) -> dict[str, Any]:
            return {"w": 1.1 * a.T @ np.cos(a @ p["w"]), "e": np.zeros((0, 3))}

        return cost, p0, grad, wrong

    def test_right(self) -> None:
        cost, p0, grad, _ = self._case()
        report = gradcheck.check(cost, p0, grad, mode="directional", seed=0)
        assert report.status == "passed"
        assert report.parameters["e"].status == "passed"
        assert report.parameters["e"].detection_bound == np.inf

    def test_wrong_beside_it(self) -> None:
        cost, p0, _, wrong = self._case()
        report = gradcheck.check(cost, p0, wrong, mode="directional", seed=0)
        assert report.status == "failed"
        assert report.failed_parameters == ["w"]
        assert report.parameters["e"].status == "passed"


class TestJacobianFold:
    """``check_jacobian``'s fold (``gradcheck._jacproj``) reads the outcome's status:
    an input whose part is tiny next to the noise leaves the report inconclusive."""

    def test_a_tiny_input_is_inconclusive(self) -> None:
        r = np.random.default_rng(0)
        a, b = r.standard_normal((3, 5)), r.standard_normal((3, 4))
        p = {"big": np.linspace(1, 2, 5), "tiny": np.linspace(1, 2, 4)}

        def fn(q: dict[str, Array]) -> Array:
            return np.asarray(np.sin(a @ q["big"]) + 1e-14 * (b @ q["tiny"]))

        def vjp(q: dict[str, Array], u: Array) -> dict[str, Array]:
            return {"big": a.T @ (np.cos(a @ q["big"]) * u), "tiny": 1e-14 * (b.T @ u)}

        report = gradcheck.check_jacobian(fn, p, vjp=vjp, mode="directional", seed=0)
        assert report.status == "inconclusive", str(report)
        assert [q.status for q in report.parameters.values()] == ["passed", "inconclusive"]
        assert report.messages == (
            "tiny: the directional check could only see a relative error of 9.4e+04 or "
            "more (its gradient is tiny next to the noise); use mode='full'",
        )


class TestSmallerSteps:
    """A smooth verdict whose bound is its steps' truncation is taken again at steps a
    quarter as large (attack33 H127)."""

    @staticmethod
    def mixed(seed: int, n1: int = 5000) -> tuple[Any, dict[str, Array], Any]:
        # float32 parameters of magnitudes 0.1 to 10: the small ones move by steps sized
        # for the others, where tanh bends
        r = np.random.default_rng(seed)
        W = (r.standard_normal(n1) * 10 ** r.uniform(-1, 1, n1)).astype(np.float32)
        b = r.standard_normal(3).astype(np.float32)
        a = r.standard_normal(n1) / np.sqrt(n1)

        def cost(p: dict[str, Array]) -> Any:
            W, b = p["W"], p["b"]
            return np.float32(
                np.sin(a @ W) * np.sum(np.cos(b)) + np.sum(b**3) / 3 + 0.1 * np.sum(np.tanh(W))
            )

        def grad(p: dict[str, Array]) -> dict[str, Array]:
            W, b = p["W"], p["b"]
            gW = a * np.cos(a @ W) * np.sum(np.cos(b)) + 0.1 * (1 - np.tanh(W) ** 2)
            gb = -np.sin(a @ W) * np.sin(b) + b**2
            return {"W": gW.astype(np.float32), "b": gb.astype(np.float32)}

        return cost, {"W": W, "b": b}, grad

    @pytest.mark.parametrize("seed", [2, 4])  # main: inconclusive
    def test_mixed_scale_float32_parameters(self, seed: int) -> None:
        cost, params, grad = self.mixed(seed)
        right = gradcheck.check(cost, params, grad, mode="directional", seed=seed)
        assert right.status == "passed", right.messages
        assert right.parameters["W"].detection_bound < 0.5

        def wrong(p: dict[str, Array]) -> dict[str, Array]:
            return {k: (1.1 * v).astype(np.float32) for k, v in grad(p).items()}

        assert (
            gradcheck.check(cost, params, wrong, mode="directional", seed=seed).status == "failed"
        )

    def test_the_retried_verdicts_bound_holds(self) -> None:
        """An error of ``W``'s gradient at 1.5 times the retried verdict's stated bound
        (a random direction, relative in the entry scales' norm) fails."""
        cost, params, grad = self.mixed(4)
        right = gradcheck.check(cost, params, grad, mode="directional", seed=4)
        bound = right.parameters["W"].detection_bound
        s = entry_scale(params["W"].astype(np.float64))
        g = grad(params)["W"].astype(np.float64)
        d = np.random.default_rng(9).standard_normal(s.size) / s
        d *= 1.5 * bound * np.linalg.norm(s * g) / np.linalg.norm(s * d)

        def off(p: dict[str, Array]) -> dict[str, Array]:
            out = grad(p)
            return {"W": (out["W"] + d).astype(np.float32), "b": out["b"]}

        assert gradcheck.check(cost, params, off, mode="directional", seed=4).status == "failed"

    def test_a_kinked_verdict_is_not_taken_again(self) -> None:
        # seed 3 reads tanh's bend as a kink: inconclusive, as on main (a retry that
        # sees no kink can still have crossed one)
        cost, params, grad = self.mixed(3)
        report = gradcheck.check(cost, params, grad, mode="directional", seed=3)
        assert report.status == "inconclusive"
        assert any("kink" in m for m in report.messages)
