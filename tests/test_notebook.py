"""A real notebook, executed on a real IPython kernel (nbclient + ipykernel).

One notebook, one kernel start: it runs the lesson's check (NumPy) and a torch check,
each cell ending in a bare ``report``, as a user would write it. The test reads the
HTML that Jupyter would display (``text/html`` of each cell's result) and asserts what
a person sees there: the parameter names, the statuses, the diagnosis in words and the
picture, an ``<img>`` with PNG data.
"""

from __future__ import annotations

import base64
import os
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
PNG = b"\x89PNG\r\n\x1a\n"

LESSON_CELL = """\
import sys
sys.path.insert(0, {examples!r})
import gradcheck
import lesson_problem

problem = lesson_problem.buggy()
report = gradcheck.check(problem["cost"], problem["params"], problem["grad"])
report"""

TORCH_CELL = """\
import torch
import gradcheck.torch

torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
x = torch.randn(5, 3)
torch_report = gradcheck.torch.check_module(model, lambda m: (m(x) ** 2).sum())
torch_report"""

PRINT_CELL = (
    "import sys; print(report.status, torch_report.status, gradcheck.__file__, sys.executable)"
)


class _Visible(HTMLParser):
    """The text a person reads, the table rows and the ``<img>`` sources of an HTML output."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.images: list[str] = []
        self.rows: list[list[str]] = []
        self._in_style = False
        self._cell: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_style = tag == "style"
        if tag == "img":
            self.images.append(dict(attrs).get("src") or "")
        elif tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if not self._in_style:
            self.chunks.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def status(self, parameter: str) -> str:
        """The status cell of ``parameter``'s row in the parameter table."""
        (row,) = [r for r in self.rows if r and r[0] == parameter]
        return row[3]

    @property
    def text(self) -> str:
        return " ".join("".join(self.chunks).split())


def _html_result(cell: Any) -> _Visible:
    """The ``text/html`` of a cell's result (what Jupyter shows under it)."""
    (result,) = [o for o in cell.outputs if o.output_type == "execute_result"]
    assert "text/plain" in result.data  # IPython's terminal view is there too
    return _Visible(result.data["text/html"])


def _png(uri: str) -> bytes:
    head, _, data = uri.partition(",")
    assert head == "data:image/png;base64"
    return base64.b64decode(data, validate=True)


@pytest.fixture(scope="module")
def notebook(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The executed notebook (one kernel start for the whole module)."""
    folder = tmp_path_factory.mktemp("notebook")
    with pytest.MonkeyPatch.context() as patch:
        # jupyter_core warns (DeprecationWarning) unless told to use platformdirs' folders.
        patch.setenv("JUPYTER_PLATFORM_DIRS", "1")
        # Nothing of the user's Jupyter or IPython set-up is read: a "python3" kernel spec
        # of their own (another interpreter), their kernel config or IPython startup files
        # would decide what runs. The kernel spec is then ipykernel's own, in this venv.
        for name in ("JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
            patch.setenv(name, str(folder / name.lower()))
        for name in ("JUPYTER_PATH", "JUPYTER_CONFIG_PATH"):
            patch.delenv(name, raising=False)
        return _execute(folder)


def _execute(folder: Path) -> Any:
    import nbformat
    from nbclient import NotebookClient

    cells = [
        LESSON_CELL.format(examples=str(ROOT / "examples")),
        TORCH_CELL,
        PRINT_CELL,
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    # The kernel is this interpreter (jupyter_client runs sys.executable for the spec's
    # "python")
    # and inherits PYTHONPATH, so it imports the gradcheck under test.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    client = NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    client.execute(env=env)
    nbformat.validate(nb)
    nbformat.write(nb, str(folder / "executed.ipynb"))
    return nb


class TestNotebook:
    def test_the_lessons_check_shows_the_html_report(self, notebook: Any) -> None:
        view = _html_result(notebook.cells[0])
        statuses = {n: view.status(n) for n in ("W1", "b1", "W2", "b2", "W3", "b3")}
        assert statuses == {
            "W1": "passed",
            "b1": "failed",
            "W2": "failed",
            "b2": "passed",
            "W3": "passed",
            "b3": "passed",
        }
        assert "FAILED wrong gradient for b1, W2" in view.text
        assert "b1 (5, 1) failed: ×4 — the gradient is 4 times too large" in view.text
        assert "W2 (3, 5) failed: ×2 — the gradient is 2 times too large" in view.text
        (image,) = view.images
        assert _png(image).startswith(PNG)

    def test_the_torch_check_shows_the_html_report(self, notebook: Any) -> None:
        view = _html_result(notebook.cells[1])
        assert "PASSED every checked gradient entry agrees" in view.text
        for name in ("0.weight", "0.bias", "2.weight", "2.bias"):
            assert view.status(name) == "passed"
        assert "Every checked gradient entry agrees" in view.text  # the diagnosis
        (image,) = view.images
        assert _png(image).startswith(PNG)

    def test_the_kernel_ran_the_code_under_test(self, notebook: Any) -> None:
        (stream,) = notebook.cells[2].outputs
        status, torch_status, module, executable = stream.text.split()
        assert (status, torch_status) == ("failed", "passed")
        assert Path(module).resolve() == Path(__import__("gradcheck").__file__).resolve()
        assert Path(executable).resolve() == Path(sys.executable).resolve()
        errors = [o for c in notebook.cells for o in c.outputs if o.output_type == "error"]
        assert errors == []
