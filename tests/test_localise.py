"""Tests for gradcheck._localise: naming wrong parameters and entries after a verdict."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import gradcheck
from _deltas import delta_evaluator
from gradcheck._diagnose import FIT
from gradcheck._directional import Prober
from gradcheck._directional_probe import Probe
from gradcheck._localise import (
    BUDGET,
    FANOUT,
    MAX_REGIONS,
    RETRIES,
    _children,
    _fits,
    localise,
)

Array = np.ndarray[Any, Any]
RNG = np.random.default_rng(3)
N = 10**6
X = RNG.standard_normal(N)


def _cost(p: Array) -> float:
    return float(np.sum(np.sin(p)))


PARAMS = {
    "A": RNG.standard_normal((40, 60)),
    "B": RNG.standard_normal((40, 60)),
    "c": RNG.standard_normal(3000),
}


def _tree_cost(p: dict[str, Array]) -> float:
    return float(np.sum(p["A"] ** 2 * p["B"]) + np.sum(np.cos(p["c"])))


def _tree_grad(p: dict[str, Array]) -> dict[str, Array]:
    return {"A": 2 * p["A"] * p["B"], "B": p["A"] ** 2, "c": -np.sin(p["c"])}


INF, NAN = math.inf, math.nan
_C = (0.5, 1.5, 2.5, 0.75, 1.25, 1.75, 2.25, 0.25, 3.0, 3.5)  # one rate per parameter


def _sines(n: int, shapes: list[tuple[int, ...]]) -> tuple[Any, list[Array], list[Array]]:
    """``Σ_i Σ sin(c_i · p_i)`` over ``n`` parameters of ``shapes``: its cost, leaves
    and right gradient."""
    rng = np.random.default_rng(5)
    leaves = [rng.uniform(-1.0, 1.0, shapes[i]) for i in range(n)]

    def cost(xs: list[Array]) -> float:
        return float(sum(np.sum(np.sin(_C[i] * x)) for i, x in enumerate(xs)))

    right = [_C[i] * np.cos(_C[i] * x) for i, x in enumerate(leaves)]
    return cost, leaves, right


def _claim(name: str) -> tuple[Any, list[Array], list[Array], dict[str, Any]]:
    """Case ``name``: cost, leaves, claimed gradient and ``localise``'s options."""
    two = [(8,), (3, 4)]
    cost, leaves, g = _sines(2, two)
    g = [x.copy() for x in g]
    options: dict[str, Any] = {}
    if name == "one_entry":
        g[0][5] += 0.5
    elif name == "two_entries":
        g[1][2, 1] += 0.25
        g[1][0, 3] -= 1.0
    elif name == "factor":
        g[1] *= 2.0
    elif name == "sign":
        g[0] *= -1.0
    elif name == "zero":
        g[1] = np.zeros((3, 4))
    elif name == "transpose":
        g[1] = g[1].T.reshape(3, 4)
    elif name == "square_transpose":
        cost, leaves, g = _sines(2, [(8,), (3, 3)])
        g = [g[0], g[1].T.copy()]
    elif name == "swapped":
        cost, leaves, g = _sines(2, [(6,), (6,)])
        g = [g[1], g[0]]
    elif name == "dense":
        cost, leaves, g = _sines(2, [(4,), (64,)])
        g = [g[0], g[1] + np.random.default_rng(1).uniform(0.5, 1.0, 64)]
    elif name == "budget":
        g[1][1, 1] += 1.0
        options["budget"] = 20
    elif name == "many":
        cost, leaves, g = _sines(10, [(3,)] * 10)
        g = [x.copy() for x in g]
        g[7][1] += 0.5
    elif name == "scalar":
        cost, leaves, g = _sines(2, [(), (5,)])
        g = [g[0] + 1.0, g[1]]
    elif name == "single_top":
        cost, leaves, g = _sines(1, [(16,)])
        g = [g[0].copy()]
        g[0][9] -= 0.75
        options["top"] = True
    elif name == "single_factor":
        cost, leaves, g = _sines(1, [(16,)])
        g = [3.0 * g[0]]
        options["top"] = True
    elif name == "right":
        pass
    return cost, leaves, g, options


def _localised(name: str) -> tuple[Any, Prober]:
    cost, leaves, g, options = _claim(name)
    prober = Prober(delta_evaluator(cost, leaves), leaves, g, cost(leaves), None, 2.0**-52)
    rng = np.random.default_rng(3)
    names = [f"p{i}" for i in range(len(leaves))]
    top = ()
    if options.get("top"):
        top = tuple(prober.probe(((0, 0, leaves[0].size),), rng) for _ in range(2))
    shapes = [x.shape for x in leaves]
    loc = localise(prober, names, shapes, rng, options.get("budget", BUDGET), top)
    return loc, prober


def _probe_fields(p: Probe) -> tuple[Any, ...]:
    return (p.segments, p.analytic, p.numeric, p.tolerance, p.wrong, p.kink)


def _read_localisation(name: str) -> dict[str, Any]:
    """Everything ``localise`` returns for case ``name``, as plain data."""
    loc, prober = _localised(name)
    return {
        "wrong": {k: [_probe_fields(p) for p in v] for k, v in sorted(loc.wrong.items())},
        "ok": sorted(loc.ok),
        "pinned": [
            (e.label(), e.analytic, e.numeric, e.abs_error, e.rel_error, e.tolerance, e.fd_error)
            for e in loc.pinned
        ],
        "pinned_status": sorted({e.status for e in loc.pinned}),
        "regions": list(loc.regions),
        "unconfirmed": list(loc.unconfirmed),
        "compared": sorted(loc.compared),
        "diagnoses": {k: (d.kind, d.factor, d.text) for k, d in sorted(loc.diagnoses.items())},
        "evaluations": loc.evaluations,
        "spent": prober.evaluations,
        "exhausted": loc.exhausted,
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


LOCALISED: dict[str, dict[str, Any]] = {
    "right": {
        "wrong": {},
        "ok": [0, 1],
        "pinned": [],
        "pinned_status": [],
        "regions": [],
        "unconfirmed": [(0, 0, 8), (1, 0, 12)],
        "compared": [],
        "diagnoses": {},
        "evaluations": 28,
        "spent": 28,
        "exhausted": False,
    },
    "one_entry": {
        "wrong": {
            0: [
                (
                    ((0, 0, 8),),
                    1.6394055576736952,
                    1.156996178814298,
                    2.851371722347808e-09,
                    True,
                    False,
                ),
                (
                    ((0, 0, 8),),
                    1.8698543888426693,
                    1.582255998125678,
                    2.9782538188535527e-09,
                    True,
                    False,
                ),
                (
                    ((0, 0, 8),),
                    -1.2462377617132256,
                    -1.0962389183462877,
                    2.476211324455106e-09,
                    True,
                    False,
                ),
            ]
        },
        "ok": [1],
        "pinned": [
            (
                "p0[5]",
                0.9966031486905363,
                0.49660314869553374,
                0.4999999999950026,
                0.5017042146133754,
                4.630982010477862e-07,
                3.5416296564661213e-12,
            )
        ],
        "pinned_status": ["wrong"],
        "regions": [],
        "unconfirmed": [],
        "compared": [(0, 4), (0, 5)],
        "diagnoses": {0: ("scattered", None, "the error has no simple pattern (see the entries)")},
        "evaluations": 40,
        "spent": 40,
        "exhausted": False,
    },
    "two_entries": {
        "wrong": {
            1: [
                (
                    ((1, 0, 12),),
                    -3.5032847776129272,
                    -3.010795063222185,
                    5.938459548163575e-09,
                    True,
                    False,
                ),
                (
                    ((1, 0, 12),),
                    4.653110068265697,
                    4.507598144966857,
                    7.481045906456705e-09,
                    True,
                    False,
                ),
                (
                    ((1, 0, 12),),
                    -4.652010835276509,
                    -4.948021792428092,
                    7.966514743236077e-09,
                    True,
                    False,
                ),
            ]
        },
        "ok": [0],
        "pinned": [
            (
                "p1[0, 3]",
                0.048852594220453405,
                1.0488525941728608,
                0.9999999999524074,
                0.9534228217655512,
                1.2585008720265204e-09,
                0.0,
            ),
            (
                "p1[2, 1]",
                1.7496714336893728,
                1.4996714337245012,
                0.24999999996487166,
                0.14288396961349448,
                5.367353443090461e-09,
                3.1090577202531654e-11,
            ),
        ],
        "pinned_status": ["wrong"],
        "regions": [],
        "unconfirmed": [],
        "compared": [(1, 3), (1, 9)],
        "diagnoses": {1: ("scattered", None, "the error has no simple pattern (see the entries)")},
        "evaluations": 56,
        "spent": 56,
        "exhausted": False,
    },
    "factor": {
        "wrong": {
            1: [
                (
                    ((1, 0, 12),),
                    -6.02159012663818,
                    -3.010795063222185,
                    1.081915500462502e-08,
                    True,
                    False,
                ),
                (
                    ((1, 0, 12),),
                    11.10695992264058,
                    5.553479961330736,
                    1.6536311799179417e-08,
                    True,
                    False,
                ),
                (
                    ((1, 0, 12),),
                    -9.896043584906389,
                    -4.948021792428092,
                    1.527692664315057e-08,
                    True,
                    False,
                ),
            ]
        },
        "ok": [0],
        "pinned": [],
        "pinned_status": [],
        "regions": [],
        "unconfirmed": [],
        "compared": [],
        "diagnoses": {
            1: (
                "factor",
                1.9999999999962381,
                "×2 — the gradient is 2 times too large (a doubled term?)",
            )
        },
        "evaluations": 16,
        "spent": 16,
        "exhausted": False,
    },
    "sign": {
        "wrong": {
            0: [
                (
                    ((0, 0, 8),),
                    -1.1569961788092342,
                    1.156996178814298,
                    2.2418670012382787e-09,
                    True,
                    False,
                ),
                (
                    ((0, 0, 8),),
                    2.0191743686239025,
                    -2.019174368624902,
                    3.020851630980599e-09,
                    True,
                    False,
                ),
                (
                    ((0, 0, 8),),
                    1.0962389183351788,
                    -1.0962389183462877,
                    2.1991171388380352e-09,
                    True,
                    False,
                ),
            ]
        },
        "ok": [1],
        "pinned": [],
        "pinned_status": [],
        "regions": [],
        "unconfirmed": [],
        "compared": [],
        "diagnoses": {0: ("sign", -1.0, "×−1 — the gradient has the wrong sign")},
        "evaluations": 16,
        "spent": 16,
        "exhausted": False,
    },
    "zero": {
        "wrong": {
            1: [
                (((1, 0, 12),), 0.0, -3.010795063222185, 3.136323583538008e-09, True, False),
                (((1, 0, 12),), 0.0, -4.948021792428092, 5.656868493001253e-09, True, False),
            ]
        },
        "ok": [0],
        "pinned": [],
        "pinned_status": [],
        "regions": [],
        "unconfirmed": [],
        "compared": [],
        "diagnoses": {1: ("zero", 0.0, "the gradient is zero where it should not be (missing?)")},
        "evaluations": 12,
        "spent": 12,
        "exhausted": False,
    },
    "transpose": {
        "wrong": {
            1: [
                (
                    ((1, 0, 12),),
                    -2.100443191738461,
                    -3.010795063222185,
                    5.965853025887398e-09,
                    True,
                    False,
                ),
                (
                    ((1, 0, 12),),
                    5.4497524433590785,
                    2.879811762666191,
                    8.792382244435287e-09,
                    True,
                    False,
                ),
                (
                    ((1, 0, 12),),
                    -5.9039717439943145,
                    -4.948021792428092,
                    9.442347886916866e-09,
                    True,
                    False,
                ),
            ]
        },
        "ok": [0],
        "pinned": [],
        "pinned_status": [],
        "regions": [],
        "unconfirmed": [],
        "compared": [],
        "diagnoses": {1: ("transpose", None, "the gradient is transposed (reshaped from its .T)")},
        "evaluations": 16,
        "spent": 16,
        "exhausted": False,
    },
    "square_transpose": {
        "wrong": {
            1: [
                (
                    ((1, 0, 9),),
                    -2.5359375271223388,
                    -2.072133068365527,
                    4.984674724563501e-09,
                    True,
                    False,
                ),
                (
                    ((1, 0, 9),),
                    4.6829631806159036,
                    3.0749510204324437,
                    7.586231253930444e-09,
                    True,
                    False,
                ),
                (
                    ((1, 0, 9),),
                    -4.319792045523237,
                    -2.186899575915258,
                    7.264993297340182e-09,
                    True,
                    False,
                ),
            ]
        },
        "ok": [0],
        "pinned": [],
        "pinned_status": [],
        "regions": [],
        "unconfirmed": [],
        "compared": [],
        "diagnoses": {1: ("transpose", None, "the gradient is transposed (reshaped from its .T)")},
        "evaluations": 16,
        "spent": 16,
        "exhausted": False,
    },
    "swapped": {
        "wrong": {
            0: [
                (
                    ((0, 0, 6),),
                    3.241654514471489,
                    1.1083613240466041,
                    5.199690979144897e-09,
                    True,
                    False,
                ),
                (
                    ((0, 0, 6),),
                    2.1782891576271037,
                    0.8445851435028012,
                    3.936568621370555e-09,
                    True,
                    False,
                ),
                (
                    ((0, 0, 6),),
                    -2.915559383747427,
                    -1.1496703269616573,
                    4.745377668458764e-09,
                    True,
                    False,
                ),
            ],
            1: [
                (
                    ((1, 0, 6),),
                    0.18547980340858652,
                    -0.397637371168538,
                    1.5359204838910775e-09,
                    True,
                    False,
                ),
                (
                    ((1, 0, 6),),
                    1.9954138503543757,
                    2.5190167798402663,
                    4.0132199693802155e-09,
                    True,
                    False,
                ),
                (
                    ((1, 0, 6),),
                    -1.108827924617398,
                    -2.6780837023164423,
                    3.994169003275248e-09,
                    True,
                    False,
                ),
            ],
        },
        "ok": [],
        "pinned": [],
        "pinned_status": [],
        "regions": [],
        "unconfirmed": [],
        "compared": [],
        "diagnoses": {
            0: ("swapped", None, "this is the gradient of 'p1': swapped?"),
            1: ("swapped", None, "this is the gradient of 'p0': swapped?"),
        },
        "evaluations": 24,
        "spent": 24,
        "exhausted": False,
    },
    "dense": {
        "wrong": {
            1: [
                (
                    ((1, 0, 64),),
                    -1.1490505872509795,
                    0.7238355960172188,
                    1.1396609573938461e-08,
                    True,
                    False,
                ),
                (
                    ((1, 0, 64),),
                    57.72269484724508,
                    31.771802233916645,
                    6.946375943542681e-08,
                    True,
                    False,
                ),
                (
                    ((1, 0, 64),),
                    0.5666817781950053,
                    0.4189584184343024,
                    1.0177021469408263e-08,
                    True,
                    False,
                ),
            ]
        },
        "ok": [0],
        "pinned": [],
        "pinned_status": [],
        "regions": [
            (1, 0, 4),
            (1, 4, 8),
            (1, 8, 12),
            (1, 12, 16),
            (1, 16, 20),
            (1, 20, 24),
            (1, 24, 28),
            (1, 28, 32),
            (1, 32, 36),
            (1, 36, 40),
            (1, 40, 44),
            (1, 44, 48),
            (1, 48, 52),
            (1, 52, 56),
            (1, 56, 60),
            (1, 60, 64),
        ],
        "unconfirmed": [],
        "compared": [],
        "diagnoses": {1: ("scattered", None, "the error has no simple pattern (see the entries)")},
        "evaluations": 136,
        "spent": 136,
        "exhausted": False,
    },
    "budget": {
        "wrong": {
            1: [
                (
                    ((1, 0, 12),),
                    -3.356292562296694,
                    -3.010795063222185,
                    6.080841562415989e-09,
                    True,
                    False,
                ),
                (
                    ((1, 0, 12),),
                    5.830847576064759,
                    4.882475189544469,
                    9.03582107455823e-09,
                    True,
                    False,
                ),
                (
                    ((1, 0, 12),),
                    -5.4426516849119055,
                    -4.948021792428092,
                    8.750518865288539e-09,
                    True,
                    False,
                ),
            ]
        },
        "ok": [0],
        "pinned": [],
        "pinned_status": [],
        "regions": [(1, 0, 12)],
        "unconfirmed": [],
        "compared": [],
        "diagnoses": {1: ("scattered", None, "the error has no simple pattern (see the entries)")},
        "evaluations": 16,
        "spent": 16,
        "exhausted": True,
    },
    "many": {
        "wrong": {
            7: [
                (
                    ((7, 0, 3),),
                    0.441845283100986,
                    0.2037002080997177,
                    1.1581191915355916e-09,
                    True,
                    False,
                ),
                (
                    ((7, 0, 3),),
                    0.702146197699966,
                    0.32249502436351996,
                    1.4110950348938745e-09,
                    True,
                    False,
                ),
                (
                    ((7, 0, 3),),
                    0.017875554845928926,
                    0.07006036034724854,
                    7.765112087326844e-10,
                    True,
                    False,
                ),
            ]
        },
        "ok": [5, 6, 8, 9],
        "pinned": [
            (
                "p7[1]",
                0.7455092899225165,
                0.245509289914168,
                0.5000000000083485,
                0.6706824539507956,
                3.3766333684042297e-09,
                2.682917874824992e-12,
            )
        ],
        "pinned_status": ["wrong"],
        "regions": [],
        "unconfirmed": [],
        "compared": [(7, 0), (7, 1), (7, 2)],
        "diagnoses": {7: ("scattered", None, "the error has no simple pattern (see the entries)")},
        "evaluations": 52,
        "spent": 52,
        "exhausted": False,
    },
    "scalar": {
        "wrong": {
            0: [
                (
                    ((0, 0, 1),),
                    2.177687050725497,
                    0.7032114038858657,
                    3.2645290421218903e-09,
                    True,
                    False,
                ),
                (
                    ((0, 0, 1),),
                    0.9009316890415886,
                    0.2909258415460265,
                    1.8787765270363753e-09,
                    True,
                    False,
                ),
                (
                    ((0, 0, 1),),
                    -0.6764548050446326,
                    -0.2184385185016824,
                    1.6351360125429319e-09,
                    True,
                    False,
                ),
            ]
        },
        "ok": [1],
        "pinned": [],
        "pinned_status": [],
        "regions": [],
        "unconfirmed": [],
        "compared": [(0, 0)],
        "diagnoses": {
            0: ("factor", 3.0967743678385298, "×3.097 — the gradient is off by a constant factor")
        },
        "evaluations": 16,
        "spent": 16,
        "exhausted": False,
    },
    "single_top": {
        "wrong": {
            0: [
                (
                    ((0, 0, 16),),
                    0.5925504683041412,
                    0.7085346519279647,
                    2.203044025523724e-09,
                    True,
                    False,
                ),
                (
                    ((0, 0, 16),),
                    4.585838365525615,
                    4.0347390179278335,
                    6.070535945889667e-09,
                    True,
                    False,
                ),
                (
                    ((0, 0, 16),),
                    2.003203417236267,
                    2.001588069965545,
                    3.6024784823389967e-09,
                    True,
                    False,
                ),
            ]
        },
        "ok": [],
        "pinned": [
            (
                "p0[9]",
                -0.311011372260584,
                0.43898862773789116,
                0.7499999999984752,
                1.708472503862403,
                6.19056569871799e-10,
                1.0202583341830599e-12,
            )
        ],
        "pinned_status": ["wrong"],
        "regions": [],
        "unconfirmed": [],
        "compared": [(0, 8), (0, 9)],
        "diagnoses": {0: ("scattered", None, "the error has no simple pattern (see the entries)")},
        "evaluations": 40,
        "spent": 48,
        "exhausted": False,
    },
    "single_factor": {
        "wrong": {
            0: [
                (
                    ((0, 0, 16),),
                    2.1256039557740394,
                    0.7085346519279647,
                    6.503845948471777e-09,
                    True,
                    False,
                ),
                (
                    ((0, 0, 16),),
                    13.897605310161605,
                    4.632535103383206,
                    1.8271125568396164e-08,
                    True,
                    False,
                ),
                (
                    ((0, 0, 16),),
                    6.004764209771532,
                    2.001588069965545,
                    1.0487771893976239e-08,
                    True,
                    False,
                ),
            ]
        },
        "ok": [],
        "pinned": [],
        "pinned_status": [],
        "regions": [],
        "unconfirmed": [],
        "compared": [],
        "diagnoses": {
            0: (
                "factor",
                3.0000000000025877,
                "×3 — the gradient is 3 times too large (3/m where 1/m was meant?)",
            )
        },
        "evaluations": 8,
        "spent": 16,
        "exhausted": False,
    },
}


class TestLocaliseReadWhole:
    """``localise`` read whole on each of its branches (every probe that found a
    parameter wrong, the parameters found right, each pinned entry's numbers, the
    regions known wrong or unconfirmed, the entries compared alone, each diagnosis, the
    evaluations; from the runs of 2026-11-28, the directions' seed fixed): a right
    gradient (unconfirmed), one and two wrong entries, a factor, a sign, a zero, a
    transpose (reshaped and square), swapped parameters, a dense error (more than
    ``MAX_REGIONS`` regions), a spent budget, more than ``FANOUT`` parameters, a
    scalar, one parameter with the verdict's probes (an entry, a factor)."""

    @pytest.mark.parametrize("name", sorted(LOCALISED))
    def test_the_localisation(self, name: str) -> None:
        _same(_read_localisation(name), LOCALISED[name], name)

    def test_children(self) -> None:
        nine = tuple((i, 0, 3) for i in range(FANOUT + 1))
        assert _children(nine) == [nine[:4], nine[4:]]
        assert _children(nine[:FANOUT]) == [(s,) for s in nine[:FANOUT]]
        assert _children(nine[:2]) == [(nine[0],), (nine[1],)]
        assert _children(((2, 4, 5),)) == []
        assert _children(((2, 3, 5),)) == [((2, 3, 4),), ((2, 4, 5),)]
        assert _children(((1, 0, 7),)) == [((1, 0, 3),), ((1, 3, 7),)]

    def test_fits_within_fit_and_the_tolerance(self) -> None:
        def probe(numeric: float, tolerance: float) -> Probe:
            return Probe(((0, 0, 1),), 0.0, numeric, 0.0, tolerance, 0.0, False, (), 1.0, 0.0)

        assert FIT == 1e-3
        assert _fits(1000.0, probe(999.0, 0.0))  # FIT·1000 met exactly
        assert not _fits(1000.0, probe(998.0, 0.5))
        assert _fits(1000.0, probe(998.0, 1.0))
        assert _fits(998.0, probe(1000.0, 1.0))  # the larger of the two scales FIT
        assert not _fits(-1000.0, probe(999.0, 0.0))

    def test_constants(self) -> None:
        assert (BUDGET, FANOUT, MAX_REGIONS, RETRIES) == (400, 8, 8, 2)


class TestSparse:
    def test_one_wrong_entry_among_a_million(self) -> None:
        g = np.cos(X)
        g[654321] *= 1 + 1e-3
        report = gradcheck.check(_cost, X, g, mode="directional")
        assert report.localisation["pinned"] == ["x[654321]"]
        assert report.evaluations <= 400
        entry = report.parameters["x"].worst[0]
        assert abs(entry.numeric - np.cos(X[654321])) < 1e-6

    def test_two_wrong_entries_in_one_parameter(self) -> None:
        g = _tree_grad(PARAMS)
        g["c"] = g["c"].copy()
        g["c"][[10, 2000]] += 0.5
        report = gradcheck.check(_tree_cost, PARAMS, g, mode="directional")
        assert report.failed_parameters == ["c"]
        assert sorted(report.localisation["pinned"]) == ["c[10]", "c[2000]"]


class TestDense:
    def test_swapped(self) -> None:
        g = _tree_grad(PARAMS)
        g["A"], g["B"] = g["B"], g["A"]
        report = gradcheck.check(_tree_cost, PARAMS, g, mode="directional")
        assert report.failed_parameters == ["A", "B"]
        diag = report.parameters["A"].diagnosis
        assert diag is not None and diag.kind == "swapped"

    def test_transpose(self) -> None:
        p = {"W": RNG.standard_normal((30, 30)), "v": RNG.standard_normal(30)}
        m = RNG.standard_normal((30, 30))

        def cost(q: dict[str, Array]) -> float:
            return float(np.sum(m * q["W"] ** 2) + np.sum(q["v"] ** 2))

        g = {"W": (2 * m * p["W"]).T, "v": 2 * p["v"]}
        report = gradcheck.check(cost, p, g, mode="directional")
        diag = report.parameters["W"].diagnosis
        assert report.failed_parameters == ["W"] and diag is not None
        assert diag.kind == "transpose"

    def test_zero_and_report_text(self) -> None:
        g = _tree_grad(PARAMS)
        g["c"] = np.zeros(3000)
        report = gradcheck.check(_tree_cost, PARAMS, g, mode="directional")
        diag = report.parameters["c"].diagnosis
        assert report.failed_parameters == ["c"] and diag is not None and diag.kind == "zero"
        assert "guarantee:" in str(report) and "localised in" in str(report)
        again = gradcheck.Report.from_json(report.to_json())
        assert again.localisation == report.localisation and again.mode == "directional"

    def test_budget_reports_regions(self) -> None:
        g = np.cos(X[: 4096 * 4])
        g[[5, 9000]] += 1.0
        report = gradcheck.check(_cost, X[: 4096 * 4], g, mode="directional", budget=20)
        loc = report.localisation
        assert report.status == "failed" and loc["exhausted"] and loc["regions"]

    def test_a_budget_too_small_for_a_diagnosis_spends_none(self) -> None:
        # budget=0 still diagnosed the single parameter with two probes: 8 evaluations
        x = np.linspace(0.5, 2.5, 50)
        report = gradcheck.check(
            lambda p: np.sum(np.sin(p)), x, 1.5 * np.cos(x), mode="directional", budget=0
        )
        loc = report.localisation
        assert report.status == "failed"
        assert loc["evaluations"] == 0 and loc["exhausted"]


def _mlp(seed: int, sizes: tuple[int, int, int]) -> tuple[Any, Any, dict[str, Array]]:
    """``mean((tanh(X W1ᵀ + b1) W2ᵀ + b2 − Y)²)`` and its exact backprop (issue 11 §1)."""
    rng = np.random.default_rng(seed)
    d0, d1, d2 = sizes
    p = {
        "W1": rng.uniform(-1, 1, (d1, d0)) / np.sqrt(d0),
        "b1": rng.uniform(-1, 1, d1) / 10,
        "W2": rng.uniform(-1, 1, (d2, d1)) / np.sqrt(d1),
        "b2": rng.uniform(-1, 1, d2) / 10,
    }
    xs, ys = rng.standard_normal((16, d0)), rng.standard_normal((16, d2))

    def cost(q: dict[str, Array]) -> float:
        out = np.tanh(xs @ q["W1"].T + q["b1"]) @ q["W2"].T + q["b2"]
        return float(np.mean((out - ys) ** 2))

    def grad(q: dict[str, Array]) -> dict[str, Array]:
        h = np.tanh(xs @ q["W1"].T + q["b1"])
        d_out = 2 * (h @ q["W2"].T + q["b2"] - ys) / ys.size
        d_h = (d_out @ q["W2"]) * (1 - h**2)
        return {"W1": d_h.T @ xs, "b1": d_h.sum(0), "W2": d_out.T @ h, "b2": d_out.sum(0)}

    return cost, grad, p


class _Eval:
    """A plain evaluator of a dict-of-arrays cost (what the engine builds, minus care)."""

    def __init__(self, cost: Any, params: dict[str, Array]) -> None:
        self.cost, self.names = cost, list(params)
        self.leaves = [np.array(v, dtype=np.float64) for v in params.values()]

    def __call__(self, points: Any) -> Array:
        out = []
        for point in points:
            q = {n: x.copy() for n, x in zip(self.names, self.leaves)}
            for d in point:
                q[self.names[d.leaf]].reshape(-1)[d.indices] += d.amount()
            out.append(self.cost(q))
        return np.array(out)


class TestNoFalseBlame:
    """Issue 11 §1: correct index ranges were named as known wrong regions."""

    def test_a_false_alarm_names_nothing(self) -> None:
        """Localisation started on a correct gradient (as after a false verdict)."""
        cost, grad, p = _mlp(0, (100, 60, 10))
        ev = _Eval(cost, p)
        g = [v.reshape(-1) for v in grad(p).values()]
        for seed in range(4):
            prober = Prober(ev, ev.leaves, g, cost(p), None, 2.0**-52)
            loc = localise(
                prober, ev.names, [x.shape for x in ev.leaves], np.random.default_rng(seed)
            )
            assert loc.regions == [] and loc.pinned == [] and loc.wrong == {}
            assert loc.unconfirmed == [(i, 0, x.size) for i, x in enumerate(ev.leaves)]

    def test_one_planted_entry_names_only_it(self) -> None:
        cost, grad, p = _mlp(1, (300, 200, 20))
        g = grad(p)
        g["W1"] = g["W1"].copy()
        g["W1"][123, 45] += 1e-5
        for seed in range(4):
            report = gradcheck.check(cost, p, g, seed=seed)
            assert report.localisation["pinned"] == ["W1[123, 45]"], str(report)
            assert report.localisation["regions"] == [] and report.failed_parameters == ["W1"]


def test_a_zero_claim_along_the_largest_probe_is_no_factor() -> None:
    """A claim of 0 where the cost moves: the factor fit ``c = analytic / numeric`` is 0
    and fits nothing; it divided by it (attack37 H213: a raw ZeroDivisionError out of
    ``check``, a float16 cost with a zero gradient, directional, seed 1)."""
    n = 20
    r = np.random.default_rng(1)
    a, x = r.standard_normal(n), r.standard_normal(n)

    def cost(v: np.ndarray) -> float:
        return float(
            np.sum((a * np.sin(v.astype(np.float16))).astype(np.float16), dtype=np.float16)
        )

    rep = gradcheck.check(cost, x, lambda v: 0.0 * np.cos(v), mode="directional")
    assert rep.status == "failed"
