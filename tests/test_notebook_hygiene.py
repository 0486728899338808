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
from tlcourse.course import is_lesson_filename  # noqa: E402

NOTEBOOKS = [path for path in nbtidy.notebook_paths() if is_lesson_filename(path)]  # not a learner's -Copy1
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
    assert code[0] == nbtidy.install_cell_source(path), (
        f"{path.name}: the first code cell must be the Colab install cell. {FIX}")
    assert "tlcourse.setup(" in code[1], f"{path.name}: the second code cell must call tlcourse.setup()"
    assert re.search(r"^import tlcourse", code[1], re.M), (
        f"{path.name}: the setup cell must `import tlcourse` (any order: tlcourse sets the cache "
        "folders whatever was imported first, see tlcourse.paths)")
    markdown = "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown")
    for heading in ("## Summary", "## Exercises"):
        assert heading in markdown, f"{path.name}: needs a '{heading}' section"


PLACEHOLDER_HINT = "Write your answer in the cell above, then run this cell again."
EXERCISE_HEADING = re.compile(r"^### Exercise (\d+) — \S.*\n+\*\S", re.M)


SELF_CHECK_TITLE = "# @title Self-check"
SOLUTIONS_HEADING = "## Solutions"
GIVEN_LABEL = "# given –"


def _code_first_line(cell: dict) -> str:
    return "".join(cell["source"]).split("\n", 1)[0].strip() if cell["cell_type"] == "code" else ""


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_exercises_follow_the_course_pattern(path):
    """`### Exercise N — title` + italic prompt, up to two visible `# given – …` cells (code the exercise gives),
    answer cell, folded `# @title Self-check`; its solution waits in
    the notebook's last section, `## Solutions`, as `### Solution N — title` + a folded `# @title Solution` cell
    (right after the exercise, Shift-Enter or Run all would run it by accident and overwrite the answer)."""
    cells = json.loads(path.read_text())["cells"]
    sources = ["".join(cell["source"]) for cell in cells]
    headings = [i for i, (cell, text) in enumerate(zip(cells, sources))
                if cell["cell_type"] == "markdown" and text.startswith("### Exercise")]
    assert headings, f"{path.name}: the Exercises section needs at least one '### Exercise N — title'"
    section = [i for i, (cell, text) in enumerate(zip(cells, sources))
               if cell["cell_type"] == "markdown" and text.startswith(SOLUTIONS_HEADING)]
    assert len(section) == 1, f"{path.name}: expected one '{SOLUTIONS_HEADING}' section, found {len(section)}"
    for number, index in enumerate(headings, start=1):
        where = f"{path.name}, exercise {number} (cell {index})"
        assert EXERCISE_HEADING.match(sources[index]) and sources[index].startswith(
            f"### Exercise {number} —"), f"{where}: start with '### Exercise {number} — title', then an *italic* prompt"
        assert index < section[0], f"{where}: exercises come before the '{SOLUTIONS_HEADING}' section"
        start = index + 1
        while start < len(cells) and _code_first_line(cells[start]).startswith(GIVEN_LABEL):
            start += 1  # code the exercise gives (visible, run as is): e.g. measuring every option on validation
        assert start - index - 1 <= 2, f"{where}: at most two '{GIVEN_LABEL} …' cells before the answer cell"
        pair = cells[start:start + 2]
        assert len(pair) == 2 and all(cell["cell_type"] == "code" for cell in pair), (
            f"{where}: the heading (and its '{GIVEN_LABEL} …' cells) must be followed by two code cells: the answer and "
            "the self-check")
        answer, check = ("".join(cell["source"]) for cell in pair)
        assert "your" in answer.lower() and len(answer.splitlines()) <= 3, (
            f"{where}: the answer cell holds only a placeholder, e.g. `MY_ANSWER = None  # your answer`")
        assert check.startswith(SELF_CHECK_TITLE) and PLACEHOLDER_HINT in check, (
            f"{where}: the second cell starts '{SELF_CHECK_TITLE}' (folded: the learner runs it, never needs to read "
            f"it) and prints {PLACEHOLDER_HINT!r} for the placeholder")
        title = sources[index].split("\n", 1)[0].split(" — ", 1)[1]
        solution = [i for i in range(section[0], len(cells))
                    if cells[i]["cell_type"] == "markdown" and sources[i].startswith(f"### Solution {number} — ")]
        assert len(solution) == 1 and sources[solution[0]].startswith(f"### Solution {number} — {title}"), (
            f"{where}: the Solutions section needs one '### Solution {number} — {title}' heading")
        after = cells[solution[0] + 1] if solution[0] + 1 < len(cells) else {"cell_type": "markdown"}
        assert _code_first_line(after) == nbtidy.SOLUTION_TITLE, (
            f"{where}: its solution heading is followed by a code cell whose first line is '{nbtidy.SOLUTION_TITLE}'")
    for index, cell in enumerate(cells):
        first = _code_first_line(cell)
        if "solution" in first.lower():
            assert first == nbtidy.SOLUTION_TITLE, (
                f"{path.name}, cell {index}: a solution cell starts with '{nbtidy.SOLUTION_TITLE}' (Colab form title)")
        if first == nbtidy.SOLUTION_TITLE:
            assert cell["metadata"] == nbtidy.FOLDED, (
                f"{path.name}, cell {index}: the solution must be folded in JupyterLab and Colab. {FIX}")
            assert index > section[0], f"{path.name}, cell {index}: solutions wait in the '{SOLUTIONS_HEADING}' section"


def _formatted_code_cells(tmp_path, cells: tuple) -> list[dict]:
    """Append code cells ``(id, source, metadata)`` to a copy of notebook 00, run ``format``, return them."""
    notebook = json.loads(NOTEBOOKS[0].read_text())
    for cell_id, source, metadata in cells:
        notebook["cells"].append({"cell_type": "code", "id": cell_id, "metadata": metadata, "source": source,
                                  "outputs": [], "execution_count": None})
    copy = tmp_path / NOTEBOOKS[0].name
    copy.write_text(json.dumps(notebook))
    assert nbtidy.main(["format"], folder=tmp_path) == 0
    return json.loads(copy.read_text())["cells"][-len(cells):]


def test_format_folds_every_titled_cell_and_unfolds_one_that_lost_its_title(tmp_path):
    solution, extra, plain = _formatted_code_cells(tmp_path, (
        ("solution", "# @title Solution\nx = 1", {"tags": ["x"]}),
        ("extra", "# @title extra code – a table\nx = 2", {}),
        ("plain", "x = 3", json.loads(json.dumps(nbtidy.FOLDED)))))
    assert solution["metadata"] == extra["metadata"] == nbtidy.FOLDED
    assert plain["metadata"] == {}


def test_plumbing_code_is_folded_and_lesson_code_is_not():
    """Self-checks, extra code, checks and the Colab install cell carry a `# @title` (folded); a cell that
    still starts with the old unfolded labels would make a beginner read plumbing."""
    for path in NOTEBOOKS:
        for index, cell in enumerate(json.loads(path.read_text())["cells"]):
            first = _code_first_line(cell)
            assert not first.startswith(("# Self-check", "# extra code", "# check –", "# Colab only")), (
                f"{path.name}, cell {index}: start the cell with '# @title {first[2:]}' so that it is folded")


def test_check_flags_and_format_fixes(tmp_path):
    source = NOTEBOOKS[0]
    notebook = json.loads(source.read_text())
    code_index = next(i for i, cell in enumerate(notebook["cells"]) if cell["cell_type"] == "code")
    notebook["cells"][code_index]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["x\n"]}]
    notebook["cells"][code_index]["execution_count"] = 3
    notebook["cells"][code_index]["source"] = nbtidy.INSTALL_MARKER + ", old URL"
    notebook["metadata"]["widgets"] = {"state": {}}
    copy = tmp_path / source.name
    copy.write_text(json.dumps(notebook, indent=4))
    assert nbtidy.main(["check"], folder=tmp_path) == 1
    assert nbtidy.main(["format"], folder=tmp_path) == 0
    assert nbtidy.main(["check"], folder=tmp_path) == 0
    assert copy.read_text() == source.read_text(), "format did not restore the committed notebook"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_quick_time_is_the_measured_one(path):
    """Each overview lists the time per profile; its `quick` line is generated from the benchmark."""
    overview = next((cell for cell in json.loads(path.read_text())["cells"]
                     if nbtidy.TIME_HEADING in "".join(cell["source"])), None)
    assert overview is not None, f"{path.name}: the overview needs a '{nbtidy.TIME_HEADING}' list"
    assert nbtidy.quick_bullet(path) in "".join(overview["source"]).split("\n"), (
        f"{path.name}: its `quick` time is not the one benchmarks/quick_times.json holds. {FIX}")


def test_quick_time_bullet_replaces_an_old_estimate():
    path = ROOT / "notebooks" / "03_how_transfer_learning_works.ipynb"
    old = (f"{nbtidy.TIME_HEADING}\n- `smoke` (offline test run): under a minute.\n"
           f"{nbtidy.QUICK_BULLET} about 4 minutes — an\n  *estimate* typed by hand.\n- `full` (GPU): minutes.")
    new = nbtidy.with_quick_time(old, path).split("\n")
    assert new == [nbtidy.TIME_HEADING, "- `smoke` (offline test run): under a minute.", nbtidy.quick_bullet(path),
                   "- `full` (GPU): minutes."]
    assert nbtidy.with_quick_time("no time list here", path) == "no time list here"


def test_readme_course_table_shows_the_measured_quick_times():
    readme = nbtidy.README.read_text(encoding="utf-8")
    assert nbtidy.readme_text(readme) == readme, f"README's quick column differs from the measurements. {FIX}"
    rows = [line for line in readme.split("\n") if line.startswith("| ") and "](notebooks/" in line]
    for row in rows:
        path = ROOT / row.split("](", 1)[1].split(")", 1)[0]
        minutes = nbtidy.quick_minutes(path)
        assert row.endswith(f" | {minutes:.1f} min |" if minutes is not None else " | not measured |"), row


def test_install_cell_holds_colabs_versions_as_colab_check_does():
    """The install cell pins what tools/colab_check.sh pins when it proves nothing is replaced."""
    script = (ROOT / "tools" / "colab_check.sh").read_text()
    assert f"grep -iE '{nbtidy.COLAB_PINS_PATTERN}'" in script
    cell = nbtidy.install_cell_source(ROOT / "notebooks" / "10_applications_nlp_bert.ipynb")
    assert "-c /tmp/colab-pins.txt" in cell and '"tlcourse[hub] @ ' in cell


def test_published_install_cell_installs_from_github(monkeypatch):
    monkeypatch.setattr(nbtidy, "repository", lambda: ("someone/tl-course", "v1"))
    cell = nbtidy.install_cell_source(ROOT / "notebooks" / "10_applications_nlp_bert.ipynb")
    assert '%pip install -q -c /tmp/colab-pins.txt "tlcourse[hub] @ git+https://github.com/someone/tl-course.git@v1"' in cell
    assert "OWNER/REPO" not in cell and "RuntimeError" not in cell


_FIND_SPEC = __import__("importlib.util").util.find_spec


def _run_install_cell(source: str, monkeypatch, *, installed: bool) -> None:
    """Run an install cell's Python in a stand-in Colab (``google.colab`` in sys.modules)."""
    import importlib.util
    import types

    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: (_FIND_SPEC(name, *args) if installed or name != "tlcourse" else None))
    exec(compile(source, "install-cell", "exec"), {})


def test_placeholder_repository_stops_with_a_clear_message(monkeypatch):
    """While pyproject names OWNER/REPO, the Colab cell stops with what to do instead of a pip error."""
    monkeypatch.setattr(nbtidy, "repository", lambda: (nbtidy.PLACEHOLDER_REPOSITORY, "main"))
    cell = nbtidy.install_cell_source(ROOT / "notebooks" / "03_how_transfer_learning_works.ipynb")
    assert "%pip" not in cell.split("raise RuntimeError", 1)[0], "no pip call while there is nothing to install"
    with pytest.raises(RuntimeError) as stopped:
        _run_install_cell(cell, monkeypatch, installed=False)
    message = str(stopped.value)
    assert "names no repository yet (still the placeholder OWNER/REPO)" in message
    assert "git archive -o course.zip HEAD" in message and '"tlcourse @ file:///content/course.zip"' in message
    _run_install_cell(cell, monkeypatch, installed=True)  # helpers already there (uploaded): the cell passes


def test_format_folds_colab_s_own_title_spellings_and_survives_odd_metadata(tmp_path):
    colab, indented, empty = _formatted_code_cells(tmp_path, (
        ("colab", "#@title Solution\nx = 1", {"jupyter": True}),
        ("indented", "  # @title extra code – a table\ny = 2", None),
        ("empty", None, {})))
    assert "".join(colab["source"]).startswith(nbtidy.SOLUTION_TITLE) and colab["metadata"] == nbtidy.FOLDED
    assert "".join(indented["source"]).startswith("# @title extra code") and indented["metadata"] == nbtidy.FOLDED
    assert empty["source"] == [] and empty["metadata"] == {}


def test_format_keeps_pasted_images_and_names_a_broken_file(tmp_path):
    notebook = json.loads(NOTEBOOKS[0].read_text(encoding="utf-8"))
    image = {"image.png": {"image/png": "iVBORw0KGgo="}}
    notebook["cells"].append({"cell_type": "markdown", "id": "pasted", "metadata": {}, "attachments": image,
                              "source": "![image](attachment:image.png)"})
    copy = tmp_path / NOTEBOOKS[0].name
    copy.write_text(json.dumps(notebook), encoding="utf-8")
    assert nbtidy.main(["format"], folder=tmp_path) == 0
    assert json.loads(copy.read_text(encoding="utf-8"))["cells"][-1]["attachments"] == image
    copy.write_text("<<<<<<< HEAD\n{", encoding="utf-8")
    with pytest.raises(SystemExit, match="not valid notebook JSON"):
        nbtidy.main(["check"], folder=tmp_path)


def test_format_leaves_a_learners_copy_untouched_and_says_so(tmp_path, capsys):
    copy = tmp_path / NOTEBOOKS[0].name.replace(".ipynb", "-Copy1.ipynb")  # Jupyter's "Make a copy"
    copy.write_text('{"cells": [], "metadata": {"widgets": {}}}', encoding="utf-8")
    assert nbtidy.main(["format"], folder=tmp_path) == 0
    assert nbtidy.main(["check"], folder=tmp_path) == 0
    assert copy.read_text(encoding="utf-8") == '{"cells": [], "metadata": {"widgets": {}}}'
    assert f"not a course notebook: {copy} (left untouched; move it out of" in capsys.readouterr().out


def test_format_writes_atomically(tmp_path, monkeypatch):
    import tlcourse.files

    written = []
    monkeypatch.setattr(tlcourse.files, "write_atomically", lambda path, content: written.append(path))
    copy = tmp_path / NOTEBOOKS[0].name
    copy.write_text(json.dumps(json.loads(NOTEBOOKS[0].read_text(encoding="utf-8")), indent=4), encoding="utf-8")
    assert nbtidy.main(["format"], folder=tmp_path) == 0
    assert written == [copy]


@pytest.mark.parametrize("content, problem", [
    (b"", "the file is empty"), (b"[1]", "its JSON is a list"), (b'{"cells": null}', 'its "cells" is null'),
    (b'{"cells": [{"source": "x"}]}', 'cell 0 has no "cell_type"'), (b'{"cells": [], "x": "\x96"}', "not UTF-8"),
    (b'{"cells": [', "not valid notebook JSON")])
def test_a_broken_notebook_names_the_file_and_the_fix(tmp_path, content, problem):
    broken = tmp_path / NOTEBOOKS[0].name
    broken.write_bytes(content)
    with pytest.raises(SystemExit) as caught:
        nbtidy.main(["check"], folder=tmp_path)
    message = str(caught.value)
    assert str(broken) in message and problem in message and "Fix: " in message and "restore the file from git" in message
    assert "merge conflict" not in message  # there is none


def test_a_learners_own_notebook_is_not_collected_as_a_test():
    from conftest import LessonNotebooksOnly

    ignore = LessonNotebooksOnly.pytest_ignore_collect
    assert ignore(ROOT / "notebooks" / NOTEBOOKS[0].name.replace(".ipynb", "-Copy1.ipynb"), None) is True
    assert ignore(ROOT / "notebooks" / "Untitled.ipynb", None) is True
    assert ignore(NOTEBOOKS[0], None) is None  # a lesson: collected
    assert ignore(ROOT / "notebooks" / "16_a_lesson_not_in_the_map_yet.ipynb", None) is None  # fails the map test
    assert ignore(ROOT / "notebooks" / "mywork" / NOTEBOOKS[0].name, None) is True  # a learner's own folder
    assert ignore(ROOT / "tests" / "test_lab.py", None) is None
