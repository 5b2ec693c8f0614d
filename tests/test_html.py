"""gradcheck._html: the notebook view, the HTML report file and ``gradcheck run --html``.

The HTML is parsed (``html.parser``), not matched as text: its structure, the picture
and the absence of scripts and network addresses are asserted on the parsed tree.
"""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradcheck
from gradcheck import GradcheckError, Report, cli
from gradcheck._html import document, fragment

ROOT = Path(__file__).resolve().parents[1]
LESSON = str(ROOT / "examples" / "lesson_problem.py")
PNG = b"\x89PNG\r\n\x1a\n"
NASTY = "<W&\"1'>"  # a parameter name that is HTML if not escaped


class Page(HTMLParser):
    """Every start tag with its attributes, and the text, of an HTML document."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.chunks: list[str] = []
        self.declarations: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)

    def handle_decl(self, decl: str) -> None:
        self.declarations.append(decl)

    @property
    def text(self) -> str:
        return " ".join("".join(self.chunks).split())

    def named(self, tag: str) -> list[dict[str, str]]:
        return [attrs for t, attrs in self.tags if t == tag]


class _Rows(HTMLParser):
    """Table rows as lists of cell texts."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _lesson(**options: Any) -> Report:
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import lesson_problem
    finally:
        sys.path.remove(str(ROOT / "examples"))
    p = lesson_problem.buggy()
    return gradcheck.check(p["cost"], p["params"], p["grad"], **options)


@pytest.fixture(scope="module")
def lesson() -> Report:
    return _lesson()


@pytest.fixture(scope="module")
def nasty() -> Report:
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    # the lesson's d-prefixed names: extra d-keys are ignored, and named in a note
    grad = {"d" + NASTY: 2 * 3 * x**2, "db": 2 * x[0], "d<img src=x onerror=alert(1)>": x}
    cost = lambda p: float(np.sum(p[NASTY] ** 3) + np.sum(p["b"] ** 2))  # noqa: E731
    return gradcheck.check(cost, {NASTY: x, "b": x[0]}, grad)


@pytest.fixture(scope="module")
def small() -> Report:
    """A quick report (bars only in its picture) for the tests of file handling."""
    x = np.array([1.0, 2.0])
    return gradcheck.check(lambda p: float(np.sum(p**3)), x, 3 * x**2)


class _Nesting(HTMLParser):
    """Checks that every element is closed in order; records each element's parent."""

    VOID = frozenset({"meta", "img", "br", "hr", "link", "input"})

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.parents: list[tuple[str, str]] = []  # (tag, parent tag)
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.parents.append((tag, self.stack[-1] if self.stack else ""))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, (tag, self.stack)
        self.stack.pop()


def _png(uri: str) -> bytes:
    head, _, data = uri.partition(",")
    assert head == "data:image/png;base64"
    return base64.b64decode(data, validate=True)


def _no_network_no_script(page: Page) -> None:
    assert page.named("script") == [] and page.named("link") == []
    assert page.named("iframe") == [] and page.named("object") == []
    for _, attrs in page.tags:
        assert not any(k.startswith("on") for k in attrs)  # no inline event handlers
        for key in ("src", "href", "srcset", "action"):
            if key in attrs:
                assert attrs[key].startswith("data:"), attrs[key]
    for style in page.chunks:
        assert "url(" not in style and "@import" not in style


class TestNotebookView:
    def test_verdict_table_diagnosis_worst_entries_and_picture(self, lesson: Report) -> None:
        text = lesson._repr_html_()
        page = Page(text)
        assert "FAILED wrong gradient for b1, W2" in page.text
        rows = _Rows(text).rows
        params = {r[0]: r for r in rows if r and r[0] in lesson.parameters}
        assert list(params) == ["W1", "b1", "W2", "b2", "W3", "b3"]
        assert params["b1"][3] == "failed" and params["W1"][3] == "passed"
        assert params["W2"][7].startswith("×2")
        assert "b1 (5, 1) failed: ×4 — the gradient is 4 times too large" in page.text
        worst = [r for r in rows if r and r[-1] == "wrong"]
        assert worst and all(r[0].startswith(("b1[", "W2[")) for r in worst)
        (img,) = page.named("img")
        assert _png(img["src"]).startswith(PNG)
        assert "black exactly 0" in page.text  # the caption says what colours mean
        _no_network_no_script(page)

    def test_statuses_are_coloured_and_worded(self, lesson: Report) -> None:
        page = Page(lesson._repr_html_())
        spans = [a["style"] for a in page.named("span") if a.get("class") == "gc-status"]
        assert "color:#c62828" in spans and "color:#2e7d32" in spans
        # the styles are scoped to the report, not the notebook
        style = next(c for c in page.chunks if "{" in c)
        selectors = [line.split("{")[0] for line in style.splitlines() if "{" in line]
        assert selectors and all(s.startswith(".gradcheck-report") for s in selectors)

    def test_every_user_string_is_escaped(self, nasty: Report) -> None:
        text = nasty._repr_html_()
        assert NASTY not in text and "<img src=x" not in text
        page = Page(text)
        assert NASTY in page.text  # shown as text...
        assert "<img src=x onerror=alert(1)>" in page.text  # ...the ignored key's note too
        assert len(page.named("img")) == 1  # ...and only the picture is an image
        _no_network_no_script(page)

    def test_without_matplotlib_the_table_alone(
        self, lesson: Report, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setitem(sys.modules, "matplotlib", None)
        page = Page(lesson._repr_html_())
        assert page.named("img") == [] and page.named("figure") == []
        assert "b1" in page.text and "Worst entries" in page.text

    def test_a_passed_and_a_directional_report(self) -> None:
        x = np.linspace(0.5, 2.0, 6)
        passed = gradcheck.check(lambda p: float(np.sum(p**3)), x, 3 * x**2)
        page = Page(fragment(passed))
        assert "PASSED every checked gradient entry agrees" in page.text
        assert "Every checked gradient entry agrees with its finite-difference" in page.text
        directional = gradcheck.check(
            lambda p: float(np.sum(p**3)), x, -3 * x**2, mode="directional"
        )
        page = Page(fragment(directional, picture=False))
        assert "along random directions" in page.text and "mode directional" in page.text
        assert "guarantee:" in page.text and "0/6" not in page.text
        assert "Heat maps" not in Page(fragment(passed)).text  # a picture without any

    @pytest.mark.parametrize(("n", "wrong"), [(2_000, (1234,)), (300, (7, 299)), (64, (0,))])
    def test_a_localised_directional_failure_names_what_localisation_found(
        self, n: int, wrong: tuple[int, ...]
    ) -> None:
        # regression: the terminal report said "localised in N evaluations: pinned
        # exactly x[1234]", the notebook view and the HTML file left it out.
        x = np.linspace(0.5, 2.0, n)
        g = 3 * x**2
        g[list(wrong)] *= 2
        report = gradcheck.check(lambda p: float(np.sum(p**3)), x, g, mode="directional")
        assert report.localisation, str(report)
        text = Page(fragment(report, picture=False)).text
        line = next(s.strip() for s in str(report).splitlines() if "localised in" in s)
        assert line in text
        for i in wrong:
            assert f"x[{i}]" in line

    def test_localisation_regions_are_shown(self, small: Report) -> None:
        region = {"parameter": NASTY, "start": 3, "stop": 9}
        loc = {"evaluations": 40, "exhausted": True, "pinned": [], "regions": [region]}
        report = replace(small, status="failed", mode="directional", localisation=loc)
        text = Page(fragment(report, picture=False)).text
        assert (
            "localised in 40 evaluations: pinned exactly none; known wrong regions "
            f"(flat ranges) {NASTY}[3:9] (budget exhausted)"
        ) in text

    def test_a_pass_that_could_not_see_small_errors_says_so(self) -> None:
        # regression: str(report)'s "but errors below 0.0012 of x's largest entry could
        # not be seen" was missing from the notebook view's verdict.
        for seed in range(3):
            x = np.random.default_rng(seed).standard_normal(5)
            report = gradcheck.check(
                lambda p: float(np.sum(np.sin(p.astype(np.float32)))), x, np.cos(x)
            )
            assert report.passed, str(report)
            caveat = str(report).splitlines()[0].split("agrees", 1)[1]
            assert caveat.startswith(", but errors below")
            assert (
                f"PASSED every checked gradient entry agrees{caveat}"
                in Page(fragment(report, picture=False)).text
            )

    @pytest.mark.parametrize("mode", ["full", "directional"])
    def test_a_report_read_back_from_json(self, lesson: Report, mode: str) -> None:
        report = lesson if mode == "full" else _lesson(mode=mode)
        back = Report.from_json(report.to_json())
        text = back._repr_html_()
        page = Page(text)
        caption = page.text.index("Bars: each")  # the same words and numbers up to it
        assert page.text[:caption] == Page(report._repr_html_()).text[:caption]
        (img,) = page.named("img")  # the bars (no per-entry errors: no heat map)
        assert _png(img["src"]).startswith(PNG)
        assert "Heat maps" not in Page(text).text  # ...and the caption names none
        _no_network_no_script(page)

    def test_a_million_entry_parameter_stays_small(self, lesson: Report) -> None:
        # A notebook keeps every output in the .ipynb: the inline picture of a
        # 1000 x 1000 heat map of noise (the worst case for PNG) must stay well
        # under a megabyte, the table a few rows.
        errors = np.abs(np.random.default_rng(0).standard_normal((1000, 1000)))
        big = replace(lesson.parameters["W2"], shape=(1000, 1000), size=10**6, errors=errors)
        report = replace(lesson, parameters={**lesson.parameters, "W2": big})
        text = report._repr_html_()
        assert len(text) < 600_000, len(text)
        assert len(_Rows(text).rows) < 20

    def test_ipython_terminal_shows_the_table(self, lesson: Report) -> None:
        from IPython.lib.pretty import pretty

        assert pretty(lesson) == str(lesson)
        assert pretty([lesson]).startswith("[gradcheck FAILED")

    def test_importing_the_module_imports_no_matplotlib(self) -> None:
        code = "import sys, gradcheck, gradcheck._html; print('matplotlib' in sys.modules)"
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
        ).stdout
        assert out.strip() == "False"


class TestUserStateIsLeftAlone:
    """Drawing a report never changes what the user set up (matplotlib, NumPy, RNGs)."""

    def test_matplotlib_numpy_and_the_random_states(self, lesson: Report, tmp_path: Path) -> None:
        import random

        import matplotlib
        import matplotlib.pyplot as plt

        figure = plt.figure()  # the user's current figure, on the user's backend
        backend, rc = matplotlib.get_backend(), dict(matplotlib.rcParams)
        np.set_printoptions(precision=3)
        try:
            options = np.get_printoptions()
            np.random.seed(5)
            random.seed(5)
            np_state, py_state = np.random.get_state(), random.getstate()
            lesson._repr_html_()
            lesson.to_html(tmp_path / "r.html")
            lesson.plot()
            assert plt.gcf() is figure and plt.get_fignums() == [figure.number]
            assert matplotlib.get_backend() == backend
            changed = [k for k in rc if str(rc[k]) != str(matplotlib.rcParams[k])]
            assert changed == []
            assert np.get_printoptions() == options
            assert random.getstate() == py_state
            after = np.random.get_state()
            assert all(np.array_equal(a, b) for a, b in zip(after, np_state))
        finally:
            np.set_printoptions(precision=8)
            plt.close(figure)


class TestReportFile:
    def test_one_self_contained_page(self, lesson: Report, tmp_path: Path) -> None:
        path = tmp_path / "report.html"
        text = lesson.to_html(path)
        assert path.read_text(encoding="utf-8") == text
        page = Page(text)
        assert page.declarations == ["DOCTYPE html"]
        assert [t for t, _ in page.tags[:4]] == ["html", "head", "meta", "title"]
        assert page.named("meta") == [{"charset": "utf-8"}]
        assert "gradcheck report: FAILED" in page.text
        assert len(page.named("style")) == 1 and len(page.named("table")) == 2
        (img,) = page.named("img")
        assert _png(img["src"]).startswith(PNG)
        _no_network_no_script(page)

    @pytest.mark.parametrize("which", ["lesson", "nasty", "small"])
    def test_the_page_is_well_formed_with_its_styles_in_the_head(
        self, which: str, request: pytest.FixtureRequest
    ) -> None:
        # regression: the page's <style> sat in <body>, which HTML does not allow.
        report: Report = request.getfixturevalue(which)
        page = _Nesting(document(report))
        assert page.stack == []  # every element closed, in order
        assert [p for t, p in page.parents if t == "style"] == ["head"]
        assert [t for t, p in page.parents if p == "html"] == ["head", "body"]
        assert [t for t, p in page.parents if p == "body"] == ["div"]
        fragment_ = _Nesting(report._repr_html_())  # the notebook's view keeps its styles
        assert fragment_.stack == [] and ("style", "") in fragment_.parents

    def test_without_a_path_nothing_is_written(
        self, small: Report, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)
        assert small.to_html() == document(small)
        assert os.listdir(tmp_path) == []

    def test_new_file_follows_the_umask_replaced_file_keeps_its_mode(
        self, small: Report, tmp_path: Path
    ) -> None:
        new, old = tmp_path / "new.html", tmp_path / "old.html"
        old.write_text("old")
        old.chmod(0o600)
        mask = os.umask(0o027)
        try:
            small.to_html(new)
            small.to_html(old)
        finally:
            os.umask(mask)
        assert (new.stat().st_mode & 0o777, old.stat().st_mode & 0o777) == (0o640, 0o600)
        assert old.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")

    @pytest.mark.parametrize("existing", [False, True])
    def test_ctrl_c_while_writing_leaves_no_half_written_file(
        self, small: Report, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, existing: bool
    ) -> None:
        path = tmp_path / "r.html"
        if existing:
            path.write_text("old")

        def interrupted(fd: int) -> None:
            raise KeyboardInterrupt

        monkeypatch.setattr("gradcheck._io.os.fsync", interrupted)
        with pytest.raises(KeyboardInterrupt):
            small.to_html(path)
        assert sorted(os.listdir(tmp_path)) == (["r.html"] if existing else [])
        if existing:
            assert path.read_text() == "old"

    def test_bad_paths(self, small: Report, tmp_path: Path) -> None:
        with pytest.raises(GradcheckError, match="it is a folder"):
            small.to_html(tmp_path)
        with pytest.raises(GradcheckError, match=r"HTML report .*does the folder exist"):
            small.to_html(tmp_path / "missing" / "r.html")
        assert os.listdir(tmp_path) == []


def main(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(args), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


class TestCommandLine:
    def test_run_writes_the_html_report_beside_json_and_picture(self, tmp_path: Path) -> None:
        html, js, png = tmp_path / "r.html", tmp_path / "r.json", tmp_path / "r.png"
        code, _, err = main(
            "run",
            f"{LESSON}:buggy",
            "--html",
            str(html),
            "--json",
            str(js),
            "--plot",
            str(png),
            "--quiet",
        )
        assert code == cli.EXIT_FAILED and err == ""
        assert sorted(os.listdir(tmp_path)) == ["r.html", "r.json", "r.png"]
        page = Page(html.read_text(encoding="utf-8"))
        assert "wrong gradient for b1, W2" in page.text
        assert _png(page.named("img")[0]["src"]).startswith(PNG)
        _no_network_no_script(page)

    def test_a_passing_run(self, tmp_path: Path) -> None:
        html = tmp_path / "r.html"
        assert main("run", f"{LESSON}:fixed", "--html", str(html))[0] == cli.EXIT_PASSED
        assert "PASSED" in Page(html.read_text(encoding="utf-8")).text

    @pytest.mark.parametrize(
        ("where", "says"),
        [("missing/r.html", "does not exist"), ("folder", "that is a folder")],
    )
    def test_a_bad_path_fails_before_the_check_naming_the_option(
        self, tmp_path: Path, where: str, says: str
    ) -> None:
        (tmp_path / "folder").mkdir()
        code, out, err = main("run", f"{LESSON}:buggy", "--html", str(tmp_path / where))
        assert code == cli.EXIT_USAGE and out == ""  # before the check, like --json
        assert "--html " in err and says in err
        assert sorted(os.listdir(tmp_path)) == ["folder"] and os.listdir(tmp_path / "folder") == []

    def test_a_write_failure_after_the_check_names_the_option(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def refused(*args: Any, **kwargs: Any) -> Any:
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr("gradcheck._io.os.replace", refused)
        code, _, err = main("run", f"{LESSON}:buggy", "--html", str(tmp_path / "r.html"))
        assert code == cli.EXIT_USAGE
        assert "--html " in err and "Permission denied" in err
        assert os.listdir(tmp_path) == []

    def test_ctrl_c_while_writing(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        def interrupted(fd: int) -> None:
            raise KeyboardInterrupt

        monkeypatch.setattr("gradcheck._io.os.fsync", interrupted)
        code, _, err = main("run", f"{LESSON}:buggy", "--html", str(tmp_path / "r.html"))
        assert code == cli.EXIT_INTERRUPTED and "interrupted" in err
        assert os.listdir(tmp_path) == []

    def test_help_lists_the_option(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main("run", "--help")[0] == 0
        assert "--html FILE.html" in capsys.readouterr().out


class TestReadmePicture:
    def test_the_readme_shows_the_committed_notebook_view(self) -> None:
        readme = (ROOT / "README.md").read_text(encoding="utf-8")
        assert "](docs/images/notebook.png)" in readme
        picture = ROOT / "docs" / "images" / "notebook.png"
        assert picture.read_bytes().startswith(PNG)
        assert picture.stat().st_size < 150_000  # small enough for every README view
