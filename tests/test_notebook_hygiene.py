"""Every notebook is committed clean and follows the course skeleton."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import nbtidy  # noqa: E402

NOTEBOOKS = nbtidy.notebook_paths()
FIX = "Run `make format` to fix it."


def test_course_has_notebooks():
    names = [path.stem for path in NOTEBOOKS]
    for expected in ("00_setup_and_course_map", "01_what_is_transfer_learning",
                     "02_normal_training_from_scratch", "03_how_transfer_learning_works"):
        assert expected in names, f"notebooks/{expected}.ipynb is missing; found {names}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stripped_and_normalised(path):
    notebook = json.loads(path.read_text())
    dirty = [i for i, cell in enumerate(notebook["cells"])
             if cell.get("outputs") or cell.get("execution_count") is not None]
    assert not dirty, f"{path.name}: cells {dirty} have outputs or execution counts. {FIX}"
    assert nbtidy.tidied_text(path) == path.read_text(), f"{path.name} is not normalised. {FIX}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_skeleton(path):
    cells = json.loads(path.read_text())["cells"]
    first = "".join(cells[0]["source"])
    assert cells[0]["cell_type"] == "markdown" and first.startswith("# "), (
        f"{path.name}: the first cell must be markdown starting with an H1 title")
    assert nbtidy.badge_line(path) in first, f"{path.name}: the first cell needs the Colab badge. {FIX}"
    code = ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]
    assert code[0] == nbtidy.install_cell_source(), (
        f"{path.name}: the first code cell must be the Colab install cell. {FIX}")
    assert "tlcourse.setup(" in code[1], f"{path.name}: the second code cell must call tlcourse.setup()"
    assert re.search(r"^import tlcourse", code[1], re.M), (
        f"{path.name}: the setup cell must `import tlcourse` (before keras) ")
    assert code[1].index("import tlcourse") < code[1].find("import keras") or "import keras" not in code[1], (
        f"{path.name}: import tlcourse before keras: it sets the cache folders Keras reads at import")
    markdown = "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown")
    for heading in ("## Summary", "## Exercises"):
        assert heading in markdown, f"{path.name}: needs a '{heading}' section"


def test_check_flags_and_format_fixes(tmp_path):
    source = NOTEBOOKS[0]
    notebook = json.loads(source.read_text())
    code_index = next(i for i, cell in enumerate(notebook["cells"]) if cell["cell_type"] == "code")
    notebook["cells"][code_index]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["x\n"]}]
    notebook["cells"][code_index]["execution_count"] = 3
    notebook["cells"][code_index]["source"] = "# Colab only: install the course helpers, old URL"
    notebook["metadata"]["widgets"] = {"state": {}}
    copy = tmp_path / source.name
    copy.write_text(json.dumps(notebook, indent=4))
    assert nbtidy.main(["check"], folder=tmp_path) == 1
    assert nbtidy.main(["format"], folder=tmp_path) == 0
    assert nbtidy.main(["check"], folder=tmp_path) == 0
    assert copy.read_text() == source.read_text(), "format did not restore the committed notebook"
