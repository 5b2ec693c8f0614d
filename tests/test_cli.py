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

TARGETS = '''
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

NOT_A_FUNCTION = 3
'''


@pytest.fixture(scope="module")
def targets(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("targets") / "problems.py"
    path.write_text(TARGETS)
    return str(path)


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gradcheck", *args], capture_output=True, text=True,
        timeout=120, check=False, env={**os.environ, **(env or {})},
    )  # fmt: skip


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
        for line in ("0  passed", "1  failed", "2  inconclusive", "3  usage or input error"):
            assert line in done.stdout


def run_on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    """Run the CLI with stdout on a pseudo-terminal; return what it printed."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gradcheck", *args], stdout=follower, stderr=subprocess.DEVNULL,
        env=env,
    )  # fmt: skip
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
        code, _, _ = main("run", f"{targets}:good", "--method", "forward", "--mode", "sample",
                          "--sample", "2", "--seed", "7", "--json", str(path))  # fmt: skip
        opts = json.loads(path.read_text())["options"]
        assert code == 0
        assert (opts["method"], opts["mode"], opts["seed"], opts["sample"]) == (
            "forward", "sample", 7, 2)

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
        code, out, _ = main("sweep", f"{LESSON}:buggy", "--entries", "2", "--points", "9",
                            "--plot", str(png), "--json", str(js))  # fmt: skip
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
