"""The ``gradcheck`` command line: run, sweep, exit codes, JSON, pictures, colour."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pytest

import gradcheck
from gradcheck import cli

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "src" / "gradcheck" / "report.schema.json").read_text())
LESSON = str(ROOT / "examples" / "lesson_problem.py")
PNG = b"\x89PNG\r\n\x1a\n"

TARGETS = """
import itertools
import numpy as np

X = np.array([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7]])
_calls = itertools.count()

def cost(p):
    return float(np.sum(np.tanh(p["W"])) + np.sum(p["b"] ** 2))

def grad(p):
    return {"W": 1 - np.tanh(p["W"]) ** 2, "b": 2 * p["b"]}

def good():
    return cost, {"W": X.copy(), "b": np.array([0.2, -0.4])}, grad

def bad():
    g = lambda p: {"W": 1 - np.tanh(p["W"]) ** 2, "b": -2 * p["b"]}
    return {"cost": cost, "params": {"W": X.copy(), "b": np.array([0.2, -0.4])}, "grad": g}

def noisy():
    return (lambda x: float(x @ x) + next(_calls) * 1e-3), np.ones(3), lambda x: 2 * x

def with_options():
    return {"cost": cost, "params": {"W": X.copy(), "b": np.ones(2)}, "grad": grad,
            "options": {"eps": 1e-4}}

def shapeless():
    return [1, 2]

def broken():
    raise RuntimeError("no data")

def torch_problem():
    import torch
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    x = torch.randn(4, 3)
    return {"model": model, "loss": lambda m: (m(x) ** 2).sum()}

def jax_problem():
    import jax.numpy as jnp
    return {"jax": lambda p: jnp.sum(jnp.sin(p["w"])), "params": {"w": np.array([0.1, 0.2])}}

def numpy_order2():
    return {"cost": cost, "params": {"W": X.copy(), "b": np.ones(2)}, "grad": grad,
            "options": {"order": 2}}

def torch_misspelt():
    problem = torch_problem()
    problem["options"] = {"mdoe": "full"}
    return problem

NOT_A_FUNCTION = 3
"""


@pytest.fixture(scope="module")
def targets(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("targets") / "problems.py"
    path.write_text(TARGETS)
    return str(path)


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gradcheck", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )


def main(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(args), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


class TestExitCodesAsSubprocess:
    def test_0_passed(self, targets: str) -> None:
        done = run("run", f"{targets}:good")
        assert done.returncode == 0, done.stderr
        assert "PASSED" in done.stdout

    def test_1_failed_names_the_parameter_and_diagnosis(self, targets: str) -> None:
        done = run("run", f"{targets}:bad")
        assert done.returncode == 1, done.stderr
        assert "FAILED: wrong gradient for b" in done.stdout
        assert "sign" in done.stdout

    def test_2_inconclusive(self, targets: str) -> None:
        done = run("run", f"{targets}:noisy")
        assert done.returncode == 2, done.stderr
        assert "not deterministic" in done.stdout

    def test_3_missing_file(self, tmp_path: Path) -> None:
        done = run("run", f"{tmp_path}/nope.py:f")
        assert done.returncode == 3
        assert "does not exist" in done.stderr

    def test_3_bad_option(self, targets: str) -> None:
        done = run("run", f"{targets}:good", "--method", "magic")
        assert done.returncode == 3
        assert "invalid choice" in done.stderr

    def test_version_and_help(self) -> None:
        done = run("--version")
        assert (done.returncode, done.stdout.strip()) == (0, f"gradcheck {gradcheck.__version__}")
        done = run("run", "--help")
        assert done.returncode == 0
        lines = (
            "0  passed",
            "1  failed",
            "2  inconclusive",
            "3  usage or input error",
            "4  internal",
        )
        for line in lines:
            assert line in done.stdout


def run_on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    """Run the CLI with stdout on a pseudo-terminal; return what it printed."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gradcheck", *args],
        stdout=follower,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(leader)
    return b"".join(chunks).decode()


class TestColour:
    def test_colour_on_a_terminal_and_off_with_no_color(self, targets: str) -> None:
        env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
        assert "\033[31m" in run_on_a_terminal(["run", f"{targets}:bad"], env)
        plain = run_on_a_terminal(["run", f"{targets}:bad"], {**env, "NO_COLOR": "1"})
        assert "FAILED" in plain and "\033[" not in plain

    def test_no_colour_when_not_a_terminal_or_with_the_flag(
        self, targets: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("NO_COLOR", raising=False)
        assert "\033[" not in main("run", f"{targets}:bad")[1]

        class Tty(io.StringIO):
            def isatty(self) -> bool:
                return True

        out = Tty()
        cli.main(["run", f"{targets}:bad"], out=out, err=io.StringIO())
        assert "\033[31m" in out.getvalue()
        out = Tty()
        cli.main(["run", f"{targets}:bad", "--no-color"], out=out, err=io.StringIO())
        assert "\033[" not in out.getvalue()


class TestRun:
    def test_json_validates_against_the_schema(self, targets: str, tmp_path: Path) -> None:
        path = tmp_path / "report.json"
        code, _, _ = main("run", f"{targets}:bad", "--json", str(path))
        assert code == 1
        data = json.loads(path.read_text())
        jsonschema.validate(data, SCHEMA, cls=jsonschema.Draft202012Validator)
        assert data["status"] == "failed"
        assert data["parameters"]["b"]["diagnosis"]["kind"] == "sign"
        assert gradcheck.Report.from_dict(data).failed_parameters == ["b"]

    def test_schema_rejects_a_broken_report(self) -> None:
        jsonschema.Draft202012Validator.check_schema(SCHEMA)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({"status": "maybe"}, SCHEMA)

    def test_plot_writes_a_png(self, targets: str, tmp_path: Path) -> None:
        path = tmp_path / "report.png"
        assert main("run", f"{targets}:bad", "--plot", str(path))[0] == 1
        assert path.read_bytes().startswith(PNG) and path.stat().st_size > 5000

    def test_options_reach_the_engine(self, targets: str, tmp_path: Path) -> None:
        path = tmp_path / "r.json"
        code, _, _ = main(
            "run",
            f"{targets}:good",
            "--method",
            "forward",
            "--mode",
            "sample",
            "--sample",
            "2",
            "--seed",
            "7",
            "--json",
            str(path),
        )
        opts = json.loads(path.read_text())["options"]
        assert code == 0
        assert (opts["method"], opts["mode"], opts["seed"], opts["sample"]) == (
            "forward",
            "sample",
            7,
            2,
        )

    def test_problem_options_apply_and_the_command_line_wins(
        self, targets: str, tmp_path: Path
    ) -> None:
        path = tmp_path / "r.json"
        main("run", f"{targets}:with_options", "--json", str(path))
        assert json.loads(path.read_text())["options"]["eps"] == 1e-4
        main("run", f"{targets}:with_options", "--eps", "1e-5", "--json", str(path))
        assert json.loads(path.read_text())["options"]["eps"] == 1e-5

    def test_rtol_atol(self, targets: str, tmp_path: Path) -> None:
        path = tmp_path / "r.json"
        main("run", f"{targets}:good", "--rtol", "1e-3", "--atol", "1e-9", "--json", str(path))
        opts = json.loads(path.read_text())["options"]
        assert (opts["rtol"], opts["atol"], opts["tolerance_rule"]) == (1e-3, 1e-9, "fixed")

    def test_workers(self, targets: str) -> None:
        code, out, _ = main("run", f"{targets}:bad", "--workers", "2")
        assert code == 1 and "wrong gradient for b" in out
        assert main("run", f"{targets}:good", "--workers", "0")[0] == 3

    def test_unwritable_outputs_fail_before_the_check(self, targets: str, tmp_path: Path) -> None:
        for flag in ("--json", "--plot"):
            code, out, err = main("run", f"{targets}:bad", flag, str(tmp_path / "no" / "f"))
            assert code == 3 and out == ""
            assert f"{flag} " in err and "does not exist" in err

    def test_quiet_prints_only_the_verdict(self, targets: str) -> None:
        code, out, err = main("run", f"{targets}:bad", "--quiet")
        assert code == 1
        assert out.strip() == "gradcheck FAILED: wrong gradient for b"
        assert err == ""

    def test_params_file_overrides_by_name(self, targets: str, tmp_path: Path) -> None:
        path = tmp_path / "p.npz"
        np.savez(path, b=np.array([1.0, 2.0]))
        out = tmp_path / "r.json"
        assert main("run", f"{targets}:bad", "--params", str(path), "--json", str(out))[0] == 1
        worst = json.loads(out.read_text())["parameters"]["b"]["worst"]
        assert sorted(e["analytic"] for e in worst) == [-4.0, -2.0]  # -2 b at the new b
        np.savez(path, c=np.zeros(2))
        code, _, err = main("run", f"{targets}:bad", "--params", str(path))
        assert code == 3 and "does not have" in err
        np.savez(path, b=np.zeros(3))
        code, _, err = main("run", f"{targets}:bad", "--params", str(path))
        assert code == 3 and "shape (3,)" in err

    def test_module_target(self, targets: str, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.syspath_prepend(str(Path(targets).parent))
        monkeypatch.delitem(sys.modules, "problems", raising=False)
        assert main("run", "problems:good")[0] == 0
        sys.modules.pop("problems", None)
        code, out, err = main("run", "gradcheck._load:as_problem")
        assert code == 3  # a function that needs arguments: its error is reported
        assert "as_problem raised TypeError" in err
        assert out == ""

    @pytest.mark.parametrize(
        ("target", "message"),
        [
            ("{t}:missing", "has no function 'missing'"),
            ("{t}:NOT_A_FUNCTION", "not a function"),
            ("{t}:shapeless", "returned a list; it must return (cost, params, grad)"),
            ("{t}:broken", "broken raised RuntimeError: no data"),
            ("{t}", "must be path/to/file.py:function"),
            ("no_such_module_xyz:f", "cannot import 'no_such_module_xyz'"),
        ],
    )
    def test_input_errors_exit_3_with_a_message(
        self, targets: str, target: str, message: str
    ) -> None:
        code, _, err = main("run", target.format(t=targets))
        assert code == 3
        assert message in err

    def test_torch_problem(self, targets: str) -> None:
        code, out, _ = main("run", f"{targets}:torch_problem")
        assert code == 0, out
        assert "weight" in out and "bias" in out

    def test_jax_problem(self, targets: str) -> None:
        code, out, _ = main("run", f"{targets}:jax_problem")
        assert code == 0, out
        assert "w " in out or "w  " in out

    def test_no_command_prints_help(self) -> None:
        code, _, err = main()
        assert code == 3 and "run" in err and "sweep" in err


class TestSweepCommand:
    def test_table_json_and_png(self, tmp_path: Path) -> None:
        png, js = tmp_path / "sweep.png", tmp_path / "sweep.json"
        code, out, _ = main(
            "sweep",
            f"{LESSON}:buggy",
            "--entries",
            "2",
            "--points",
            "9",
            "--plot",
            str(png),
            "--json",
            str(js),
        )
        assert code == 0
        assert "truncation slope" in out and "b1[0, 0]" in out
        data = json.loads(js.read_text())
        assert [c["parameter"] for c in data["curves"]] == ["b1", "W2"]
        assert data["status"] == "failed"
        assert png.read_bytes().startswith(PNG)

    def test_sweep_as_subprocess(self) -> None:
        done = run("sweep", f"{LESSON}:fixed", "--points", "7", "--quiet")
        assert done.returncode == 0, done.stderr
        assert "step-size sweep" in done.stdout

    def test_sweep_refuses_framework_problems(self, targets: str) -> None:
        code, _, err = main("sweep", f"{targets}:torch_problem")
        assert code == 3 and "use `gradcheck run`" in err


class TestDemo:
    def test_demo_still_dispatches(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert cli.main(["demo"]) == 0
        assert "gradcheck: passed" in capsys.readouterr().out


class TestProblemShapes:
    def test_missing_framework_adapter_is_an_input_error(
        self, targets: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setitem(sys.modules, "gradcheck.jax", None)  # as if jax were missing
        code, _, err = main("run", f"{targets}:jax_problem")
        assert code == 3
        assert "pip install 'gradcheck[jax]'" in err

    def test_tuple_needs_a_callable_cost(self) -> None:
        from gradcheck._load import as_problem

        with pytest.raises(gradcheck.GradcheckError, match="not callable"):
            as_problem((1, 2, 3), "t")
        with pytest.raises(gradcheck.GradcheckError, match=r"keys \['x'\]"):
            as_problem({"x": 1}, "t")


ISSUE_12 = """
import itertools
import sys
import threading
import numpy as np

X = np.array([0.5, -1.0, 2.0])
_calls = itertools.count()


def cost(p):
    return float(np.sum(np.sin(p["x"])) + np.sum(p["y"] ** 2))


def precomputed():
    params = {"x": X.copy(), "y": np.array([0.3, -0.2])}
    return cost, params, {"x": np.cos(params["x"]), "y": 2 * params["y"]}


def precomputed_dict():
    cost_, params, grad = precomputed()
    return {"cost": cost_, "params": params, "grad": grad, "options": {"mode": "full"}}


def grad_function():
    grad = lambda p: {"x": np.cos(p["x"]), "y": 2 * p["y"]}
    return cost, precomputed()[1], grad


def recomputes(params=None):
    params = params or {"x": X.copy(), "y": np.array([0.3, -0.2])}
    return cost, params, {"x": np.cos(params["x"]), "y": 2 * params["y"]}


def recomputes_keyword_only(*, params=None):
    return recomputes(params)


def ignores_params(params=None):
    return precomputed()


def exits_in_target():
    sys.exit("no data here")


def exits_in_cost():
    def exiting(p):
        if next(_calls) >= 2:
            sys.exit(0)
        return cost(p)
    _, params, grad = precomputed()
    return exiting, params, grad


def exits_in_grad():
    return cost, precomputed()[1], lambda p: sys.exit(5)


def nan_cost():
    return (lambda p: float("nan")), X.copy(), np.ones(3)


def interrupted():
    def cost(p):
        raise KeyboardInterrupt
    return cost, X.copy(), np.cos(X)


def lam():
    return (lambda p: float(np.sum(np.sin(p)))), X.copy(), np.cos(X)


def closure():
    scale = 2.0
    def cost(p):
        return scale * float(np.sum(np.sin(p)))
    return cost, X.copy(), 2.0 * np.cos(X)


class _Locked:
    def __init__(self):
        self.lock = threading.Lock()

    def __call__(self, p):
        return float(np.sum(np.sin(p)))


def with_lock():
    return _Locked(), X.copy(), np.cos(X)


def module_level():
    return cost, precomputed()[1], precomputed()[2]
"""


@pytest.fixture(scope="module")
def t12(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("t12") / "issue12.py"
    path.write_text(ISSUE_12)
    return str(path)


def _lesson_params() -> dict[str, np.ndarray]:
    from gradcheck import lesson

    return dict(lesson.lesson_problem()[2])


class TestParamsRecomputeTheGradient:
    """``--params`` never checks a gradient computed at other parameters (issue 12 §5)."""

    @pytest.mark.parametrize(
        "change",
        [{"W1": 1.5}, {"b2": -3.0}, {"W1": 0.5, "W2": 1.5, "W3": 2.0}, {"b1": 1.0}],
        ids=["W1x1.5", "b2x-3", "three", "unchanged"],
    )
    def test_lesson_fixed_passes_and_buggy_fails_at_new_params(
        self, tmp_path: Path, change: dict[str, float]
    ) -> None:
        params = _lesson_params()
        path = tmp_path / "w.npz"
        np.savez(path, **{name: params[name] * f for name, f in change.items()})
        report = tmp_path / "r.json"
        assert main("run", f"{LESSON}:fixed", "--params", str(path))[0] == 0
        code, out, _ = main("run", f"{LESSON}:buggy", "--params", str(path), "--json", str(report))
        assert code == 1, out
        assert sorted(json.loads(report.read_text())["parameters"]) == sorted(params)
        failed = gradcheck.Report.from_dict(json.loads(report.read_text())).failed_parameters
        assert failed == ["b1", "W2"]

    def test_the_gradient_is_taken_at_the_file_s_values(self, t12: str, tmp_path: Path) -> None:
        path, report = tmp_path / "p.npz", tmp_path / "r.json"
        np.savez(path, y=np.array([1.0, 3.0]))
        for target in ("recomputes", "recomputes_keyword_only", "grad_function"):
            argv = ["--params", str(path), "--json", str(report), "--mode", "full"]
            code, out, err = main("run", f"{t12}:{target}", *argv)
            assert code == 0, (target, out, err)
            worst = json.loads(report.read_text())["parameters"]["y"]["worst"]
            assert sorted(e["analytic"] for e in worst) == [2.0, 6.0]  # 2 y at the new y

    @pytest.mark.parametrize("target", ["precomputed", "precomputed_dict"])
    def test_precomputed_arrays_without_params_argument_are_refused(
        self, t12: str, tmp_path: Path, target: str
    ) -> None:
        path = tmp_path / "p.npz"
        np.savez(path, x=np.array([0.1, 0.2, 0.3]))
        code, out, err = main("run", f"{t12}:{target}", "--params", str(path))
        assert code == 3 and out == ""
        assert "would be stale" in err and "at the new values of x" in err
        assert "grad(params)" in err and "params=None" in err

    def test_unchanged_values_are_not_stale(self, t12: str, tmp_path: Path) -> None:
        path = tmp_path / "p.npz"
        np.savez(path, x=np.array([0.5, -1.0, 2.0]), y=np.array([0.3, -0.2]))
        assert main("run", f"{t12}:precomputed", "--params", str(path))[0] == 0

    def test_a_target_that_ignores_its_params_is_refused(self, t12: str, tmp_path: Path) -> None:
        path = tmp_path / "p.npz"
        np.savez(path, x=np.zeros(3))
        code, _, err = main("run", f"{t12}:ignores_params", "--params", str(path))
        assert code == 3 and "returned other values of x than it was given" in err

    def test_sweep_recomputes_too(self, tmp_path: Path) -> None:
        path = tmp_path / "w.npz"
        np.savez(path, W1=_lesson_params()["W1"] * 1.5)
        js = tmp_path / "s.json"
        argv = ["--params", str(path), "--points", "5", "--json", str(js), "--quiet"]
        code, _, err = main("sweep", f"{LESSON}:fixed", *argv)
        assert code == 0, err
        assert json.loads(js.read_text())["status"] == "passed"


class TestTargetExits:
    """User code that calls ``sys.exit()`` never sets gradcheck's exit code (§5)."""

    @pytest.mark.parametrize(
        "source",
        [
            "import sys\nsys.exit(0)\ndef f(): pass\n",
            "import sys\nsys.exit()\ndef f(): pass\n",
            "raise SystemExit(1)\ndef f(): pass\n",
            "import argparse\np = argparse.ArgumentParser()\np.add_argument('--lr')\n"
            "p.parse_args()\ndef f(): pass\n",
        ],
        ids=["exit0", "exit-none", "exit1", "argparse"],
    )
    def test_exit_at_import_is_exit_3(self, tmp_path: Path, source: str) -> None:
        (tmp_path / "script.py").write_text(source)
        done = run("run", f"{tmp_path}/script.py:f")
        assert done.returncode == 3, (done.stdout, done.stderr)
        assert "the target exited during import" in done.stderr
        assert "__name__" in done.stderr and done.stdout == ""

    def test_exit_at_import_of_a_module_target(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        (tmp_path / "exiting_mod_t12.py").write_text("import sys\nsys.exit(0)\n")
        monkeypatch.syspath_prepend(str(tmp_path))
        code, out, err = main("run", "exiting_mod_t12:f")
        assert code == 3 and out == ""
        assert "the target exited during import of 'exiting_mod_t12'" in err
        assert "exiting_mod_t12" not in sys.modules

    @pytest.mark.parametrize(
        ("target", "message"),
        [
            ("exits_in_target", "the target exited while"),
            ("exits_in_cost", "exited during the check (SystemExit(0))"),
            ("exits_in_grad", "exited during the check (SystemExit(5))"),
        ],
    )
    @pytest.mark.parametrize("workers", [[], ["--workers", "2"]], ids=["serial", "threads"])
    def test_exit_while_calling_user_code(
        self, t12: str, target: str, message: str, workers: list[str]
    ) -> None:
        code, out, err = main("run", f"{t12}:{target}", *workers)
        assert code == 3 and out == ""
        assert message in err

    def test_exit_in_the_cost_as_subprocess(self, t12: str) -> None:
        done = run("run", f"{t12}:exits_in_cost")
        assert done.returncode == 3 and "exited during the check" in done.stderr

    def test_exit_in_the_cost_of_a_sweep(self, t12: str) -> None:
        code, _, err = main("sweep", f"{t12}:exits_in_cost")
        assert code == 3 and "exited during the check" in err


class TestProcesses:
    """``--processes`` refuses what cannot be pickled before starting a worker (§5)."""

    @pytest.mark.parametrize(
        ("target", "why"),
        [
            ("lam", "Can't pickle local object"),
            ("closure", "Can't pickle local object"),
            ("with_lock", "cannot pickle '_thread.lock' object"),
        ],
    )
    def test_unpicklable_cost(
        self, t12: str, target: str, why: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def no_pool(*args: object, **kwargs: object) -> None:
            raise AssertionError("a process pool was started")

        monkeypatch.setattr(cli, "ProcessPoolExecutor", no_pool)
        code, out, err = main("run", f"{t12}:{target}", "--workers", "2", "--processes")
        assert code == 3 and out == ""
        assert "the cost cannot be pickled" in err and why in err
        assert "drop --processes" in err and "top level" in err
        assert "worker may have died" not in err

    @pytest.mark.parametrize("target", ["torch_problem", "jax_problem"])
    def test_framework_problems(self, targets: str, target: str) -> None:
        code, _, err = main("run", f"{targets}:{target}", "--workers", "2", "--processes")
        assert code == 3 and "cannot be sent to worker processes" in err

    def test_a_module_level_cost_runs_on_processes(self, t12: str) -> None:
        code, out, err = main("run", f"{t12}:module_level", "--workers", "2", "--processes")
        assert code == 0, (out, err)

    def test_spawned_workers_import_the_target_file(self, t12: str) -> None:
        import multiprocessing
        import pickle
        from concurrent.futures import ProcessPoolExecutor

        from gradcheck._load import import_target_module, load_problem

        target = f"{t12}:module_level"
        problem = load_problem(target)
        cost, params = problem.cost, problem.params
        assert cost is not None
        assert cost.__module__.startswith("_gradcheck_target_") and cost.__module__ in sys.modules
        pickle.dumps(cost)
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            1, mp_context=context, initializer=import_target_module, initargs=(target,)
        ) as pool:
            value = pool.submit(cost, params).result(timeout=120)
        assert value == cost(params)


class TestOptionsAndErrors:
    @pytest.mark.parametrize("seed", ["-1", "-7", "-100000000000000000000"])
    @pytest.mark.parametrize("command", ["run", "sweep"])
    def test_negative_seed(self, targets: str, seed: str, command: str) -> None:
        code, out, err = main(command, f"{targets}:good", "--seed", seed)
        assert code == 3 and out == ""
        assert f"--seed {seed}: a seed is a non-negative integer" in err

    def test_a_core_error_is_a_sentence_without_traceback(self, t12: str) -> None:
        done = run("run", f"{t12}:nan_cost")
        assert done.returncode == 3
        assert "gradcheck: error:" in done.stderr and "Traceback" not in done.stderr


class TestOutputPaths:
    @pytest.mark.parametrize("flag", ["--plot", "--json"])
    @pytest.mark.parametrize("name", ["out", "out.png", "out.json"])
    def test_a_folder_is_a_usage_error(
        self, targets: str, tmp_path: Path, flag: str, name: str
    ) -> None:
        folder = tmp_path / name
        folder.mkdir()
        code, out, err = main("run", f"{targets}:bad", flag, str(folder))
        assert code == 3 and out == ""  # before the check
        assert "that is a folder" in err
        assert sorted(os.listdir(tmp_path)) == [name] and os.listdir(folder) == []

    def test_a_missing_folder(self, targets: str, tmp_path: Path) -> None:
        code, out, err = main("run", f"{targets}:bad", "--plot", str(tmp_path / "a" / "b.png"))
        assert code == 3 and out == "" and "does not exist" in err

    def test_an_unknown_picture_suffix_fails_before_the_check(
        self, targets: str, tmp_path: Path
    ) -> None:
        code, out, err = main("run", f"{targets}:bad", "--plot", str(tmp_path / "r.docx"))
        assert code == 3 and out == ""
        assert "writes no '.docx' files" in err and ".png" in err
        assert os.listdir(tmp_path) == []

    @pytest.mark.parametrize(
        ("name", "magic"), [("report", PNG), ("r.svg", b"<?xml"), ("r.PDF", b"%PDF")]
    )
    def test_the_picture_goes_to_exactly_that_path(
        self, targets: str, tmp_path: Path, name: str, magic: bytes
    ) -> None:
        assert main("run", f"{targets}:bad", "--plot", str(tmp_path / name))[0] == 1
        assert os.listdir(tmp_path) == [name]
        assert (tmp_path / name).read_bytes().startswith(magic)

    def test_replaced_outputs_keep_their_mode_new_ones_follow_the_umask(
        self, targets: str, tmp_path: Path
    ) -> None:
        js, png = tmp_path / "r.json", tmp_path / "r.png"
        js.write_text("{}")
        js.chmod(0o644)
        old = os.umask(0o027)
        try:
            assert main("run", f"{targets}:bad", "--json", str(js), "--plot", str(png))[0] == 1
        finally:
            os.umask(old)
        assert (js.stat().st_mode & 0o777, png.stat().st_mode & 0o777) == (0o644, 0o640)
        assert json.loads(js.read_text())["status"] == "failed"


def _no_temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


class TestInterrupt:
    """Ctrl-C: a line on stderr, exit 130, and no half-written file (§6)."""

    def test_interrupt_in_the_cost(self, t12: str, tmp_path: Path) -> None:
        js = tmp_path / "r.json"
        code, out, err = main("run", f"{t12}:interrupted", "--json", str(js))
        assert code == cli.EXIT_INTERRUPTED == 130
        assert out == "" and "gradcheck: interrupted" in err and "Traceback" not in err
        assert _no_temporaries(tmp_path) == []

    @pytest.mark.parametrize("existing", [False, True])
    def test_interrupt_while_writing_the_json(
        self, targets: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, existing: bool
    ) -> None:
        js = tmp_path / "r.json"
        if existing:
            js.write_text('{"old": true}')

        def interrupted(fd: int) -> None:
            raise KeyboardInterrupt

        monkeypatch.setattr("gradcheck._io.os.fsync", interrupted)
        code, _, err = main("run", f"{targets}:bad", "--json", str(js))
        assert code == 130 and "interrupted" in err
        assert _no_temporaries(tmp_path) == (["r.json"] if existing else [])
        if existing:
            assert js.read_text() == '{"old": true}'

    @pytest.mark.parametrize(
        "workers",
        [[], ["--workers", "2"], ["--workers", "2", "--processes"]],
        ids=["serial", "threads", "processes"],
    )
    def test_sigint_as_subprocess(self, tmp_path: Path, workers: list[str]) -> None:
        import signal
        import time

        marker = tmp_path / "started"
        (tmp_path / "slow.py").write_text(
            "import time\nimport numpy as np\n\ndef cost(p):\n"
            f"    open({str(marker)!r}, 'w').close()\n    time.sleep(0.2)\n"
            "    return float(p @ p)\n\ndef slow():\n"
            "    return cost, np.ones(40), lambda p: 2 * p\n"
        )
        js = tmp_path / "r.json"
        argv = ["run", f"{tmp_path}/slow.py:slow", "--json", str(js), *workers]
        # A shell's background job (`make test &`) ignores SIGINT, and a child started
        # then would inherit that and never see the Ctrl-C; a caught signal is reset to
        # its default on exec, so the child gets Python's own KeyboardInterrupt handler.
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "gradcheck", *argv],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
        finally:
            signal.signal(signal.SIGINT, previous)
        try:
            deadline = time.monotonic() + 60
            while not marker.exists() and time.monotonic() < deadline:
                time.sleep(0.02)
            os.killpg(proc.pid, signal.SIGINT)  # as Ctrl-C does: the whole process group
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 130, (out, err)
        assert "gradcheck: interrupted" in err and "Traceback" not in err
        # no report, no temporary; __pycache__ is Python's (unless PYTHONDONTWRITEBYTECODE)
        left = sorted(p.name for p in tmp_path.iterdir() if p.name != "__pycache__")
        assert left == ["slow.py", "started"]


class TestInternalErrors:
    def test_an_unexpected_exception_exits_4_not_1(
        self, targets: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # attack33 H126: a FloatingPointError from the checker's own arithmetic left the
        # command with Python's exit code 1, which says "failed: some gradient is wrong"
        def broken(*args: object, **kwargs: object) -> None:
            raise FloatingPointError("underflow encountered in cast")

        monkeypatch.setattr("gradcheck._engine.check", broken)
        code, out, err = main("run", f"{targets}:good")
        assert code == cli.EXIT_INTERNAL == 4
        assert out == "" and "Traceback" in err
        last = err.rstrip().splitlines()[-1]
        assert last.startswith("gradcheck: internal error: FloatingPointError: underflow")

    def test_a_target_under_the_users_raise_passes(self, tmp_path: Path) -> None:
        # the same target as a file that sets np.seterr(all="raise") at import, as
        # scientific scripts do: a right gradient of a cost of 1e-6 passes, exit 0
        target = tmp_path / "tgt.py"
        target.write_text(
            "import numpy as np\n"
            "np.seterr(all='raise')\n"
            "x = np.random.default_rng(0).standard_normal(20)\n"
            "def small():\n"
            "    cost = lambda p: 1e-6 * float(np.sum(np.sin(p)))\n"
            "    return cost, x, lambda p: 1e-6 * np.cos(p)\n"
        )
        done = run("run", f"{target}:small")
        assert done.returncode == 0, done.stderr


class TestUnknownTargetOptions:
    """A target's option its check does not take is a usage error naming it (exit 3),
    not Python's TypeError reported as an internal error (exit 4, "a bug in
    gradcheck": attack36 H166)."""

    def test_order_on_a_numpy_problem(self, targets: str) -> None:
        code, _, err = main("run", f"{targets}:numpy_order2")
        assert code == cli.EXIT_USAGE
        assert "option 'order' is not an option of gradcheck.check (a NumPy problem)" in err
        assert "gradcheck.check_hessian" in err

    def test_a_misspelt_option_on_a_torch_problem(self, targets: str) -> None:
        code, _, err = main("run", f"{targets}:torch_misspelt")
        assert code == cli.EXIT_USAGE
        assert "option 'mdoe' is not an option of gradcheck.torch.check_module" in err
        assert "check_hessian" not in err
