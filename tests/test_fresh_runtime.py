"""Every notebook runs under nbval as in a fresh Colab runtime: with an empty results folder of its own.

``tests/conftest.py`` (its ``FreshRuntimePerNotebook`` plugin) points ``TLCOURSE_RESULTS_DIR`` at a new empty folder before each notebook's
kernel starts, so a lesson that leans on another notebook's saved record (in Colab it never exists)
fails its own cells in ``make test``. This test proves the mechanism on two tiny notebooks: each
kernel sees an empty folder of its own, the first one's record is invisible to the second, and the
variable is restored afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

CONFTEST = Path(__file__).resolve().parent / "conftest.py"

CELL = """
import os, pathlib
folder = pathlib.Path(os.environ["TLCOURSE_RESULTS_DIR"])
assert folder.is_dir() and not any(folder.iterdir()), f"results folder not fresh: {list(folder.iterdir())}"
assert folder != pathlib.Path(os.environ["OUTER_RESULTS"]), "the outer results folder leaked into the kernel"
(folder / "record.json").write_text("{}")
"""


def test_each_notebook_gets_an_empty_results_folder(tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    shutil.copy(CONFTEST, notebooks / "conftest.py")
    for name in ("90_first.ipynb", "91_second.ipynb"):  # named like lessons: the plugin collects only those
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL)])
        nbformat.write(notebook, notebooks / name)
    outer = tmp_path / "outer"
    outer.mkdir()
    env = dict(os.environ, TLCOURSE_RESULTS_DIR=str(outer), OUTER_RESULTS=str(outer))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(CONFTEST.parents[1]), env.get("PYTHONPATH"))))
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "--nbval-lax",
                          "--nbval-current-env", str(notebooks)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "2 passed" in run.stdout, run.stdout[-2000:]
    assert not any(outer.iterdir()), "a notebook wrote into the outer results folder"
