"""Switching profile inside a running notebook works exactly as notebook 00 tells the learner.

A real Jupyter kernel (the same interpreter as the tests) starts in ``smoke``; we run the setup
cell, then ``%env TLCOURSE_PROFILE=quick``, then the setup cell again: the profile is ``quick``.
(``quick`` needs no network at setup: downloads start only when data or weights are loaded.)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_00 = ROOT / "notebooks" / "00_setup_and_course_map.ipynb"
SETUP_LINE = "settings = tlcourse.setup()"
SWITCH_LINE = "%env TLCOURSE_PROFILE=quick"


def test_notebook_00_gives_this_instruction_and_warns_against_a_restart():
    markdown = "\n".join("".join(cell["source"]) for cell in json.loads(NOTEBOOK_00.read_text())["cells"]
                         if cell["cell_type"] == "markdown")
    assert SWITCH_LINE in markdown and SETUP_LINE in markdown
    assert "do not restart the kernel" in markdown.lower()


def test_env_then_rerunning_the_setup_cell_switches_the_profile(monkeypatch, tmp_path):
    kernel_dir = tmp_path / "kernels" / "tlcourse-tests"  # a kernel on this very interpreter
    kernel_dir.mkdir(parents=True)
    (kernel_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "tlcourse tests", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    monkeypatch.setenv("TLCOURSE_PROFILE", "smoke")  # the kernel starts in smoke
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    cells = [
        f"import tlcourse\n{SETUP_LINE}\nassert settings.name == 'smoke', settings.name",
        SWITCH_LINE,
        SETUP_LINE,
        "print('PROFILE', settings.name)",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code) for code in cells])
    client = NotebookClient(notebook, timeout=150, kernel_name="tlcourse-tests",
                            resources={"metadata": {"path": str(ROOT / "notebooks")}})
    client.execute()
    printed = "".join(output.get("text", "") for output in notebook.cells[-1].outputs)
    assert printed.strip() == "PROFILE quick", printed
