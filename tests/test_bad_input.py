"""Every bad input tried, with the error it gives: one parametrised list, one row each.

``CASES`` is the single source of the table in ``docs/reliability.md``:
``python tools/make_reliability_doc.py`` writes it, and
``TestReliabilityDoc`` fails when the doc is out of date.
"""

from __future__ import annotations

import contextlib
import io
import sys
import warnings
import zipfile
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradcheck
from gradcheck.cli import main

__all__ = ["CASES", "Case", "CliExit"]

Array = np.ndarray[Any, Any]
ROOT = Path(__file__).resolve().parents[1]


class CliExit(Exception):
    """The command line returned a non-zero exit code; the message is its stderr."""

    def __init__(self, code: int, err: str) -> None:
        errors = [line for line in err.splitlines() if "error:" in line]
        first = (errors or err.splitlines() or [""])[-1 if errors else 0]
        super().__init__(f"exit {code}: {first.strip()}")
        self.code = code


@dataclass(frozen=True)
class Case:
    """A bad input: ``call(tmp_path)`` must raise ``error`` with ``message`` in its text."""

    description: str
    call: Callable[[Path], Any]
    error: type[BaseException]
    message: str


def _sq(p: Any) -> float:
    return float(np.sum(np.asarray(p) ** 2))


def _sq_abs(p: Any) -> float:
    return float(np.sum(np.abs(np.asarray(p)) ** 2))


def _dict_cost(p: dict[str, Array]) -> float:
    return float(np.sum(p["W"] ** 2) + np.sum(p["b"] ** 2))


X = np.array([1.0, -2.0, 0.5])
P = {"W": np.ones((2, 2)), "b": np.zeros(2)}
G = {"W": 2 * np.ones((2, 2)), "b": np.zeros(2)}


def _check(cost: Any, params: Any, grad: Any, **options: Any) -> Callable[[Path], Any]:
    return lambda _: gradcheck.check(cost, params, grad, **options)


_GOOD = (
    "import numpy as np\n\ndef problem():\n    x = np.array([1.0, 2.0])\n"
    "    return (lambda p: float(p @ p), x, lambda p: 2 * p)\n"
)


def _cli(*argv: str, source: str | None = _GOOD) -> Callable[[Path], Any]:
    """Run ``gradcheck ARGV`` with ``{tmp}`` replaced; a file ``{tmp}/t.py`` holds ``source``."""

    def run(tmp: Path) -> Any:
        if source is not None:
            (tmp / "t.py").write_text(source)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err):  # argparse writes to sys.stderr itself
            code = main([a.replace("{tmp}", str(tmp)) for a in argv], out=out, err=err)
        if code != 0:
            raise CliExit(code, err.getvalue())
        return code

    return run


def _npz_with_object(tmp: Path) -> None:
    np.savez(tmp / "bad.npz", x=np.array([{"a": 1}], dtype=object))


def _cli_npz(tmp: Path) -> Any:
    _npz_with_object(tmp)
    return _cli("run", "{tmp}/t.py:problem", "--params", "{tmp}/bad.npz")(tmp)


class _Alike:
    """A dict key whose repr is shared with every other instance."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __repr__(self) -> str:
        return "K"


class _Frozen(Mapping[str, Any]):
    """A mapping whose class cannot be built from a dict."""

    def __init__(self) -> None:
        self._d = {"a": X}

    def __getitem__(self, key: str) -> Any:
        return self._d[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __len__(self) -> int:
        return 1


_POOL = ThreadPoolExecutor(1)  # never given work: refused before any evaluation
_POOL.shutdown()


def _shut_down_pool(_: Path) -> Any:
    pool = ThreadPoolExecutor(1)
    pool.shutdown()
    return gradcheck.check(_sq, X, 2 * X, executor=pool)


def _torch_params(_: Path) -> Any:
    import torch

    return gradcheck.check(_sq, {"W": torch.ones(3)}, {"W": 2 * X})


def _no_jvp() -> Any:
    """A torch ``Function`` with a backward and no ``jvp`` (no forward mode)."""
    import torch

    class NoJvp(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            return 2 * x

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            return 2 * g

    return NoJvp


def _torch_case(kind: str) -> Callable[[Path], Any]:
    """A torch adapter misuse (issue 12 §6), imported only when the row runs."""

    def run(_: Path) -> Any:
        import torch

        import gradcheck.torch as gt

        x = torch.ones(2, 3)
        if kind == "meta":
            return gt.check_module(torch.nn.Linear(3, 1, device="meta"), lambda m: m(x).sum())
        model = torch.nn.Linear(3, 1)
        if kind == "backward":

            def loss(m: Any) -> Any:
                out = m(x).pow(2).sum()
                out.backward()
                return out

            return gt.check_module(model, loss)
        if kind == "outer":
            return gt.check_module(model, lambda m: model(x).pow(2).sum())
        if kind == "bfloat16":
            m16 = model.to(torch.bfloat16)
            return gt.check_module(m16, lambda m: m(x.bfloat16()).sum(), precision="model")
        if kind == "modes":
            return gt.check_function(torch.sin, x.requires_grad_(), modes=("rev", "jvp"))
        if kind == "no jvp":
            return gt.check_function(_no_jvp().apply, x.requires_grad_(), modes=("fwd",))
        if kind == "uncoalesced":
            i = torch.tensor([[0, 0], [1, 1]])
            coo = torch.sparse_coo_tensor(i, torch.ones(2), (2, 2), check_invariants=True)
            return gt.check_function(lambda t: t.to_dense().sum(), coo.requires_grad_())
        with warnings.catch_warnings():  # torch's beta notice for compressed layouts
            warnings.filterwarnings("ignore", "Sparse .* tensor support is in beta")
            sparse = torch.ones(2, 2).to_sparse_csc().requires_grad_()
        return gt.check_function(lambda t: t.to_dense().sum(), sparse)

    return run


def _adapter_complex(kind: str) -> Callable[[Path], Any]:
    """A complex-number or pytree misuse of an adapter (issue 14), imported when it runs."""

    def run(_: Path) -> Any:
        if kind == "torch":
            import torch

            import gradcheck.torch as gt

            z = torch.ones(2, dtype=torch.complex128, requires_grad=True)
            return gt.check_function(torch.abs, z, complex_convention="plain")
        import jax.numpy as jnp

        import gradcheck.jax as gj

        return gj.check_function(lambda p: p[1] * p["1"], {1: jnp.ones(2), "1": jnp.ones(2)})

    return run


def _cli_params(write: Callable[[Path], None], source: str = _GOOD) -> Callable[[Path], Any]:
    """``gradcheck run {tmp}/t.py:problem --params {tmp}/p.npz``, ``write`` making the file."""

    def run(tmp: Path) -> Any:
        write(tmp / "p.npz")
        return _cli("run", "{tmp}/t.py:problem", "--params", "{tmp}/p.npz", source=source)(tmp)

    return run


def _truncated_npz(path: Path) -> None:
    np.savez(path, x=np.array([3.0, 4.0]))
    path.write_bytes(path.read_bytes()[:100])


def _huge_npz(path: Path) -> None:
    member = io.BytesIO()
    header = {"descr": "<f8", "fortran_order": False, "shape": (2**40,)}
    np.lib.format.write_array_header_1_0(member, header)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x.npy", member.getvalue() + bytes(16))


_PRECOMPUTED = (
    "import numpy as np\n\ndef problem():\n    x = np.array([1.0, 2.0])\n"
    "    return (lambda p: float(p @ p), x, 2 * x)\n"
)
_EXIT_AT_IMPORT = "import sys\nsys.exit(0)\n\ndef problem():\n    pass\n"
_ARGPARSE_AT_IMPORT = (
    "import argparse\nparser = argparse.ArgumentParser()\n"
    "parser.add_argument('--data', required=True)\nparser.parse_args()\n"
)
_EXIT_IN_COST = (
    "import sys\nimport numpy as np\n\ndef problem():\n"
    "    return (lambda p: sys.exit(0), np.ones(2), lambda p: 2 * p)\n"
)


GE = gradcheck.GradcheckError
CASES: list[Case] = [
    # --- shapes and structure
    Case("gradient of the wrong shape", _check(_sq, X, np.ones(4)), GE, "shape"),
    Case(
        "gradient dict missing a key",
        _check(_dict_cost, P, {"W": G["W"]}),
        GE,
        "gradient has no entry for parameter 'b'",
    ),
    Case(
        "gradient dict with an extra key", _check(_dict_cost, P, {**G, "c": np.ones(1)}), GE, "'c'"
    ),
    Case(
        "gradient a list where params are a dict",
        _check(_dict_cost, P, [G["W"], G["b"]]),
        GE,
        "gradient should be a dict like the parameters (keys 'W', 'b'), got a list",
    ),
    Case(
        "Jacobian as the gradient of a vector-valued cost",
        _check(lambda p: p**2, X, lambda p: np.diag(2 * p)),
        GE,
        "the cost must return a scalar, but it returned shape",
    ),
    Case(
        "gradient keys that read two ways (exactly and with the d prefix)",
        _check(_sq, {"da": X}, {"da": 2 * X, "dda": X}),
        GE,
        "read two ways",
    ),
    Case(
        "d-style gradient with an extra key that is not a d-key",
        _check(_sq, {"W1": X}, {"dW1": 2 * X, "dZ1": X, "W2": X}),
        GE,
        "extra key(s) 'W2'",
    ),
    Case(
        "gradient keys mixing exact and d-prefixed names",
        _check(_dict_cost, P, {"dW": G["W"], "b": G["b"]}),
        GE,
        "mix two namings",
    ),
    Case(
        "parameter keys that differ but print alike",
        _check(_sq, {_Alike(1): X, _Alike(2): X}, None),
        GE,
        "both named '[K]'",
    ),
    Case(
        "cost returns a vector (non-scalar)",
        _check(lambda p: p**2, X, 2 * X),
        GE,
        "cost must return a scalar",
    ),
    Case("cost returns a string", _check(lambda p: "one", X, 2 * X), GE, "non-numeric"),
    Case("cost returns None", _check(lambda p: None, X, 2 * X), GE, "non-numeric"),
    # --- non-finite values
    Case("NaN in the cost", _check(lambda p: float("nan"), X, 2 * X), GE, "cost returned nan"),
    Case("inf in the cost", _check(lambda p: float("inf"), X, 2 * X), GE, "cost returned inf"),
    # a NaN or inf in the gradient where the cost is finite is a wrong gradient, not bad
    # input: FAILED (tests/test_summary.py::TestNonFiniteGradient, attack23 D3)
    Case(
        "NaN in a parameter",
        _check(_sq, np.array([1.0, np.nan]), np.ones(2)),
        GE,
        "non-finite value at index (1,)",
    ),
    # --- dtypes
    Case(
        "integer parameters",
        _check(_sq, np.array([1, 2]), np.array([2.0, 4.0])),
        GE,
        "integer dtype int64",
    ),
    Case(
        "check_jacobian: a complex Jacobian of a real output of complex parameters",
        lambda _: gradcheck.check_jacobian(lambda p: np.abs(p), X + 1j, np.eye(3) + 0j),
        GE,
        "a real-valued function of a complex variable has no complex derivative",
    ),
    Case(
        "check_jacobian: a complex Jacobian of a real function",
        lambda _: gradcheck.check_jacobian(lambda p: 2 * p, X, 2 * np.eye(3) + 0j),
        GE,
        "fn's parameters and outputs are real, so its derivative is real",
    ),
    Case(
        "complex parameters: a cost with a complex value",
        _check(lambda p: np.sum(p**2), X + 1j, 2 * X),
        GE,
        "the cost returned a complex value (complex128)",
    ),
    Case(
        "complex parameters with method='complex'",
        _check(_sq_abs, X + 1j, 2 * X, method="complex"),
        GE,
        "method='complex' cannot check complex parameter 'x'",
    ),
    Case(
        "complex_convention not 'conjugate' or 'plain'",
        _check(_sq_abs, X + 1j, 2 * X, complex_convention="torch"),
        GE,
        "option complex_convention='torch' must be",
    ),
    Case(
        "NaN in a complex parameter",
        _check(_sq_abs, np.array([1j, complex(np.nan, 1)]), np.ones(2)),
        GE,
        "parameter 'x' has a non-finite value at index (1,)",
    ),
    Case(
        "parameters beyond half the float64 range, where θ ± h overflows",
        _check(_sq, np.array([1.0, 1e308]), np.ones(2)),
        GE,
        "θ ± h would overflow",
    ),
    Case(
        "torch tensor passed to gradcheck.check",
        _torch_params,
        GE,
        "is a torch tensor: check torch code with gradcheck.torch.check_module",
    ),
    Case(
        "torch: model on the meta device",
        _torch_case("meta"),
        GE,
        "is on the meta device, which holds no values: materialise the model first",
    ),
    Case(
        "torch: check_function with an unknown mode",
        _torch_case("modes"),
        GE,
        "modes=('rev', 'jvp') has unknown mode 'jvp': choose from 'rev'",
    ),
    Case(
        "torch: forward mode of a Function without jvp",
        _torch_case("no jvp"),
        GE,
        "modes=('fwd',) asks for forward mode, but fn's forward-mode derivative raised "
        "NotImplementedError",
    ),
    Case(
        "torch: loss_fn calls backward() itself",
        _torch_case("backward"),
        GE,
        "loss_fn called backward() itself",
    ),
    Case(
        "torch: loss uses the outer model, not its argument",
        _torch_case("outer"),
        GE,
        "loss_fn does not use the model it is given",
    ),
    Case(
        "torch: sparse CSC input tensor",
        _torch_case("sparse"),
        GE,
        "is a sparse tensor of layout sparse_csc, which gradcheck does not check",
    ),
    Case(
        "torch: uncoalesced sparse COO input",
        _torch_case("uncoalesced"),
        GE,
        "is an uncoalesced sparse COO tensor",
    ),
    Case(
        "torch: bfloat16 model with precision='model'",
        _torch_case("bfloat16"),
        GE,
        "Leave precision at its default, 'float64'",
    ),
    Case(
        "params mapping that cannot be rebuilt from a dict",
        _check(_sq, _Frozen(), None),
        GE,
        "pass a plain dict",
    ),
    Case("object parameters", _check(_sq, np.array([1.0, None]), 2 * X[:2]), GE, "dtype object"),
    Case("string parameters", _check(_sq, np.array(["a", "b"]), 2 * X[:2]), GE, "<U1"),
    Case("complex gradient", _check(_sq, X, 2 * X + 1j), GE, "unsupported dtype complex128"),
    Case(
        "object gradient",
        _check(_sq, X, np.array([2.0, None, 1.0])),
        GE,
        "unsupported dtype object",
    ),
    Case(
        "method='complex' with a real-only cost",
        _check(lambda p: float(np.sum(p.real**2)), X, 2 * X, method="complex"),
        GE,
        "complex",
    ),
    # --- callables
    Case(
        "cost is not callable",
        _check(3.0, X, 2 * X),
        GE,
        "cost must be a function of the parameters, got a float",
    ),
    Case(
        "cost raises",
        _check(lambda p: 1 / 0, X, 2 * X),
        GE,
        "cost raised ZeroDivisionError: division by zero (evaluation 1",
    ),
    Case(
        "grad function raises", _check(_sq, X, lambda p: p["missing"]), GE, "grad function raised"
    ),
    Case(
        "grad is a string",
        _check(_sq, X, "2*x"),
        GE,
        "gradient for 'x' should be an array, got a str",
    ),
    # --- empty
    Case("empty params dict", _check(lambda p: 0.0, {}, {}), GE, "params is empty"),
    Case(
        "params with only empty arrays",
        _check(lambda p: 0.0, np.zeros((0, 3)), np.zeros((0, 3))),
        GE,
        "params is empty",
    ),
    Case("params is None", _check(lambda p: 0.0, None, None), GE, "params is None"),
    # --- options
    Case(
        "unknown method", _check(_sq, X, 2 * X, method="backward"), GE, "unknown method 'backward'"
    ),
    Case("unknown mode", _check(_sq, X, 2 * X, mode="fast"), GE, "unknown mode 'fast'"),
    Case(
        "unknown option",
        _check(_sq, X, 2 * X, tolerance=1e-3),
        TypeError,
        "unexpected keyword argument 'tolerance'",
    ),
    Case("negative eps", _check(_sq, X, 2 * X, eps=-1e-6), GE, "eps=-1e-06 must be positive"),
    Case("zero eps", _check(_sq, X, 2 * X, eps=0.0), GE, "eps=0.0 must be positive"),
    Case(
        "subnormal eps",
        _check(_sq, X, 2 * X, eps=5e-324),
        GE,
        "eps=5e-324 is below the smallest normal float64",
    ),
    Case("NaN eps", _check(_sq, X, 2 * X, eps=float("nan")), GE, "must be a finite number"),
    Case("negative rtol", _check(_sq, X, 2 * X, rtol=-0.1), GE, "rtol=-0.1 must not be negative"),
    Case("negative atol", _check(_sq, X, 2 * X, atol=-1.0), GE, "atol=-1.0 must not be negative"),
    Case(
        "rtol given as a string", _check(_sq, X, 2 * X, rtol="1e-3"), GE, "must be a finite number"
    ),
    Case(
        "sample of wrong type",
        _check(_sq, X, 2 * X, mode="sample", sample="half"),
        GE,
        "option sample='half'",
    ),
    Case(
        "miss_probability outside (0, 1)",
        _check(_sq, X, 2 * X, miss_probability=1.5),
        GE,
        "miss_probability=1.5 must lie in (0, 1)",
    ),
    Case(
        "executor that is not an executor",
        _check(_sq, X, 2 * X, executor=object()),
        GE,
        "executor=",
    ),
    Case("executor already shut down", _shut_down_pool, GE, "has been shut down"),
    Case(
        "seed=None",
        _check(_sq, X, 2 * X, seed=None),
        GE,
        "option seed=None must be a non-negative integer",
    ),
    Case(
        "negative seed",
        _check(_sq, X, 2 * X, seed=-1),
        GE,
        "option seed=-1 must be a non-negative integer",
    ),
    Case(
        "memory_budget NaN",
        _check(_sq, X, 2 * X, memory_budget=float("nan")),
        GE,
        "option memory_budget=nan must be a positive number of bytes",
    ),
    Case(
        "negative memory_budget",
        _check(_sq, X, 2 * X, memory_budget=-1),
        GE,
        "option memory_budget=-1 must be a positive number of bytes",
    ),
    Case(
        "budget given as a string",
        _check(_sq, X, 2 * X, budget="10"),
        GE,
        "option budget='10' must be a non-negative integer",
    ),
    Case(
        "negative budget",
        _check(_sq, X, 2 * X, budget=-5),
        GE,
        "option budget=-5 must be a non-negative integer",
    ),
    Case(
        "progress not callable",
        _check(_sq, X, 2 * X, progress=1),
        GE,
        "option progress=1 must be a function progress(done, planned)",
    ),
    Case(
        "miss_probability given as a string",
        _check(_sq, X, 2 * X, miss_probability="0.1"),
        GE,
        "option miss_probability='0.1' must lie in (0, 1)",
    ),
    Case(
        "sample in full mode (an option that does not apply)",
        _check(_sq, X, 2 * X, sample=3),
        GE,
        "option sample=3 applies only to mode='sample'",
    ),
    Case(
        "localise in full mode (an option that does not apply)",
        _check(_sq, X, 2 * X, mode="full", localise=False),
        GE,
        "option localise=False applies only to mode='directional'",
    ),
    Case(
        "budget when the sample mode runs",
        _check(_sq, X, 2 * X, mode="sample", budget=60),
        GE,
        "option budget=60 applies only to mode='directional', and this check runs mode='sample'",
    ),
    Case(
        "a keyword beside a mode object",
        _check(_sq, X, 2 * X, mode=gradcheck.Directional(), budget=60),
        GE,
        "pass mode=Directional(miss_probability=0.001, budget=60",
    ),
    Case(
        "Sample of zero entries",
        lambda _: gradcheck.Sample(0),
        GE,
        "option mode=Sample(0) must be at least 1 entry",
    ),
    Case(
        "Directional with miss_probability 1",
        lambda _: gradcheck.Directional(1.0),
        GE,
        "option mode=Directional(miss_probability=1.0) must lie in (0, 1)",
    ),
    Case(
        "Directional with a negative budget",
        lambda _: gradcheck.Directional(budget=-1),
        GE,
        "option mode=Directional(budget=-1) must be a non-negative integer",
    ),
    Case(
        "memory_budget without a batched cost",
        _check(_sq, X, 2 * X, memory_budget=2**20),
        GE,
        "option memory_budget=1048576 applies only to a batched cost",
    ),
    Case(
        "execution combined with an older keyword",
        _check(_sq, X, 2 * X, executor=_POOL, execution=gradcheck.Batched(np.sum)),
        GE,
        "option executor= cannot be combined with",
    ),
    Case(
        "Batched of something not callable",
        lambda _: gradcheck.Batched(3),
        GE,  # type: ignore[arg-type]
        "option execution=Batched(3): fn must be a function",
    ),
    Case(
        "Batched with a zero memory budget",
        lambda _: gradcheck.Batched(np.sum, 0),
        GE,
        "option Batched(memory_budget=0) must be a positive number of bytes",
    ),
    Case(
        "mode given as a class, not an object",
        _check(_sq, X, 2 * X, mode=gradcheck.Full),
        GE,
        "unknown mode",
    ),
    # --- command line (exit code 3 = usage or input error)
    Case(
        "CLI: target file does not exist",
        _cli("run", "{tmp}/nope.py:problem", source=None),
        CliExit,
        "exit 3: gradcheck: error: target file",
    ),
    Case(
        "CLI: file does not define the function",
        _cli("run", "{tmp}/t.py:other"),
        CliExit,
        "has no function 'other'",
    ),
    Case(
        "CLI: target without ':function'",
        _cli("run", "{tmp}/t.py"),
        CliExit,
        "must be path/to/file.py:function",
    ),
    Case(
        "CLI: target module does not exist",
        _cli("run", "no_such_module_xyz:f"),
        CliExit,
        "cannot import 'no_such_module_xyz'",
    ),
    Case(
        "CLI: target function raises",
        _cli(
            "run",
            "{tmp}/t.py:problem",
            source="def problem():\n    raise RuntimeError('half-written')\n",
        ),
        CliExit,
        "raised RuntimeError: half-written",
    ),
    Case(
        "CLI: target returns the wrong thing",
        _cli("run", "{tmp}/t.py:problem", source="def problem():\n    return 42\n"),
        CliExit,
        "returned a int",
    ),
    Case(
        "CLI: unknown option", _cli("run", "{tmp}/t.py:problem", "--speed", "11"), CliExit, "exit 3"
    ),
    Case(
        "CLI: --eps not a number",
        _cli("run", "{tmp}/t.py:problem", "--eps", "tiny"),
        CliExit,
        "invalid float value: 'tiny'",
    ),
    Case(
        "CLI: --method not a method",
        _cli("run", "{tmp}/t.py:problem", "--method", "magic"),
        CliExit,
        "invalid choice: 'magic'",
    ),
    Case(
        "CLI: negative --eps",
        _cli("run", "{tmp}/t.py:problem", "--eps=-1"),
        CliExit,
        "must be positive",
    ),
    Case(
        "CLI: --workers 0",
        _cli("run", "{tmp}/t.py:problem", "--workers", "0"),
        CliExit,
        "need at least 1",
    ),
    Case(
        "CLI: --params file missing",
        _cli("run", "{tmp}/t.py:problem", "--params", "{tmp}/none.npz"),
        CliExit,
        "does not exist",
    ),
    Case(
        "CLI: --params .npz holding a pickled object",
        _cli_npz,
        CliExit,
        "holds Python objects (dtype object), which would need pickle",
    ),
    Case(
        "CLI: --params .npz holding strings",
        _cli_params(lambda p: np.savez(p, x=np.array(["1.0", "2.0"]))),
        CliExit,
        "member 'x' holds strings",
    ),
    Case(
        "CLI: --params .npz holding complex numbers",
        _cli_params(lambda p: np.savez(p, x=np.array([1.0, 2.0]) + 1j)),
        CliExit,
        "will not drop the imaginary part",
    ),
    Case(
        "CLI: --params .npz truncated",
        _cli_params(_truncated_npz),
        CliExit,
        "truncated, corrupt or not an .npz archive",
    ),
    Case(
        "CLI: --params .npz declaring 2**40 elements",
        _cli_params(_huge_npz),
        CliExit,
        "member 'x' declares shape (1099511627776,)",
    ),
    Case(
        "CLI: --params with a gradient precomputed at other values",
        _cli_params(lambda p: np.savez(p, x=np.array([3.0, 4.0])), _PRECOMPUTED),
        CliExit,
        "it would be stale",
    ),
    Case(
        "CLI: target calls sys.exit(0) at import",
        _cli("run", "{tmp}/t.py:problem", source=_EXIT_AT_IMPORT),
        CliExit,
        "the target exited during import",
    ),
    Case(
        "CLI: target runs argparse at import",
        _cli("run", "{tmp}/t.py:problem", source=_ARGPARSE_AT_IMPORT),
        CliExit,
        "the target exited during import",
    ),
    Case(
        "CLI: cost calls sys.exit() during the check",
        _cli("run", "{tmp}/t.py:problem", source=_EXIT_IN_COST),
        CliExit,
        "the target's code exited during the check",
    ),
    Case(
        "CLI: --processes with a lambda cost",
        _cli("run", "{tmp}/t.py:problem", "--workers", "2", "--processes"),
        CliExit,
        "the cost cannot be pickled",
    ),
    Case(
        "CLI: --seed -1",
        _cli("run", "{tmp}/t.py:problem", "--seed", "-1"),
        CliExit,
        "--seed -1: a seed is a non-negative integer",
    ),
    Case(
        "CLI: --plot is a folder",
        _cli("run", "{tmp}/t.py:problem", "--plot", "{tmp}"),
        CliExit,
        "that is a folder",
    ),
    Case(
        "CLI: --json is a folder",
        _cli("run", "{tmp}/t.py:problem", "--json", "{tmp}"),
        CliExit,
        "that is a folder",
    ),
    Case(
        "CLI: --json into a missing folder",
        _cli("run", "{tmp}/t.py:problem", "--json", "{tmp}/no/dir/r.json"),
        CliExit,
        "does not exist",
    ),
    Case("CLI: no command", _cli(), CliExit, "exit 3: usage: gradcheck"),
    Case(
        "torch: complex_convention other than torch's own",
        _adapter_complex("torch"),
        GE,
        "the torch adapter checks what torch computes, which is the 'conjugate' convention",
    ),
    Case(
        "jax: check_function argument JAX cannot flatten",
        _adapter_complex("jax"),
        GE,
        "JAX cannot flatten the arguments",
    ),
]


class TestBadInput:
    @pytest.mark.parametrize("case", CASES, ids=[c.description for c in CASES])
    def test_clear_error(self, case: Case, tmp_path: Path) -> None:
        with pytest.raises(case.error) as info:
            case.call(tmp_path)
        assert case.message in str(info.value)
        if isinstance(info.value, CliExit):
            assert info.value.code == 3

    def test_descriptions_unique(self) -> None:
        assert len({c.description for c in CASES}) == len(CASES)


class TestReliabilityDoc:
    def test_doc_is_up_to_date(self) -> None:
        sys.path.insert(0, str(ROOT / "tools"))
        try:
            import make_reliability_doc
        finally:
            sys.path.remove(str(ROOT / "tools"))
        expected = make_reliability_doc.render()
        actual = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
        assert actual == expected, "run: python tools/make_reliability_doc.py"
