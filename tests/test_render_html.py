"""tools/render_html.py: argument checks, and one real render of two tiny notebooks (one fails)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import nbformat
import pytest

_spec = importlib.util.spec_from_file_location("render_html", Path(__file__).resolve().parents[1] / "tools" / "render_html.py")
render_html = sys.modules["render_html"] = importlib.util.module_from_spec(_spec)  # dataclasses need it there
_spec.loader.exec_module(render_html)


def _write(folder: Path, name: str, *sources: str) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / name)


def test_bad_profile_is_a_clear_error(capsys):
    with pytest.raises(SystemExit) as e:
        render_html.parse_args(["--profile", "fast"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'fast'" in err and "smoke" in err and "quick" in err


def test_bad_profile_from_the_environment_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setenv("TLCOURSE_PROFILE", "fast")
    with pytest.raises(SystemExit):
        render_html.parse_args([])
    assert "unknown profile 'fast' (from TLCOURSE_PROFILE)" in capsys.readouterr().err


def test_profile_defaults_to_the_environment_then_quick(monkeypatch):
    monkeypatch.delenv("TLCOURSE_PROFILE", raising=False)
    assert render_html.parse_args([]).profile == "quick"
    monkeypatch.setenv("TLCOURSE_PROFILE", "smoke")
    assert render_html.parse_args([]).profile == "smoke"


def test_unknown_notebook_number_names_those_that_exist(tmp_path, capsys):
    _write(tmp_path, "03_three.ipynb", "1")
    _write(tmp_path, "05_five.ipynb", "1")
    with pytest.raises(SystemExit):
        render_html.parse_args(["--notebook-dir", str(tmp_path), "--notebooks", "3,99"])
    err = capsys.readouterr().err
    assert "no notebook numbered 99" in err and "there are 03, 05" in err
    args = render_html.parse_args(["--notebook-dir", str(tmp_path), "--notebooks", "5,3"])
    assert [p.name for p in args.paths] == ["05_five.ipynb", "03_three.ipynb"]


def test_the_course_notebooks_are_all_found():
    from tlcourse.course import COURSE_MAP

    expected = [lesson.filename for lesson in COURSE_MAP if lesson.available]
    assert [p.name for p in render_html.parse_args(["--profile", "smoke"]).paths] == expected


def test_renders_html_and_summarises_a_failure(tmp_path, capsys):
    nbs, out = tmp_path / "nbs", tmp_path / "html"
    nbs.mkdir()
    _write(nbs, "01_prints.ipynb", "x = 6 * 7", "import os\nprint('answer', x, os.environ['TLCOURSE_PROFILE'])")
    _write(nbs, "02_raises.ipynb", "print('before')", "raise ValueError('broken on purpose')", "print(3 * 'after')")
    code = render_html.main(["--profile", "smoke", "--notebook-dir", str(nbs), "--out", str(out), "--timeout", "60"])
    assert code == 1
    printed = capsys.readouterr().out
    assert "[1/2] 01_prints … ok" in printed
    assert "[2/2] 02_raises … FAILED (cell 2: ValueError: broken on purpose)" in printed
    assert "1 ok, 1 failed" in printed
    assert "FAILED 02_raises: cell 2: ValueError: broken on purpose" in printed
    assert "answer 42 smoke" in (out / "01_prints.html").read_text()
    failed = (out / "02_raises.html").read_text()
    assert "broken on purpose" in failed and "afterafterafter" in failed  # ran past the error
    index = (out / "index.html").read_text()
    assert 'href="01_prints.html"' in index and 'href="02_raises.html"' in index and "FAILED" in index


def test_a_plot_reaches_the_html_as_an_image(tmp_path, monkeypatch):
    """`make test` runs with MPLBACKEND=Agg; the rendered course must still show its figures."""
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nbs, out = tmp_path / "nbs", tmp_path / "html"
    nbs.mkdir()
    _write(nbs, "01_plots.ipynb", "import matplotlib.pyplot as plt\nplt.plot([0, 1], [1, 0])\nplt.show()")
    assert render_html.main(["--profile", "smoke", "--notebook-dir", str(nbs), "--out", str(out), "--timeout", "60"]) == 0
    assert re.search(r'<img[^>]*src="data:image/png;base64,', (out / "01_plots.html").read_text()), "no figure in the HTML"


def test_core_seconds_stop_at_the_deep_dives_heading():
    def code(start, end):
        return {"cell_type": "code", "source": "x = 1", "metadata": {"execution": {
            "iopub.execute_input": f"2026-12-04T10:00:{start:02d}.000000Z",
            "shell.execute_reply": f"2026-12-04T10:00:{end:02d}.500000Z"}}}

    nb = {"cells": [code(0, 2), {"cell_type": "markdown", "source": "## Summary", "metadata": {}}, code(10, 11),
                    {"cell_type": "markdown", "source": ["## Deep dives (optional)\n", "\n", "More."], "metadata": {}},
                    code(20, 40)]}
    assert render_html.core_cell_seconds(nb) == 2.5 + 1.5
    assert render_html.core_cells(nb) == nb["cells"][:3]
    assert render_html.core_cell_seconds({"cells": nb["cells"][:3] + nb["cells"][4:]}) == 2.5 + 1.5 + 20.5
