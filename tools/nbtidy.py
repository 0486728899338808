"""Keep the course notebooks clean: stripped, normalised, with generated badge and install cell.

    python tools/nbtidy.py format   # rewrite every notebook in place (what `make format` runs)
    python tools/nbtidy.py check    # list what `format` would change; exit 1 if anything

Rules:
- no outputs, no execution counts; cell metadata only keeps ``jupyter`` (hidden source) and
  ``cellView`` (Colab forms);
- every code cell whose first line is a ``# @title …`` (a solution, a self-check, extra code, a check,
  the Colab install cell) is folded away in JupyterLab (``"jupyter": {"source_hidden": true}``) and in
  Colab (``"cellView": "form"``): its output shows, its code opens with a click, so a beginner reads
  only the code the lesson is about;
- notebook metadata is just the Python 3 kernelspec;
- nbformat 4.5 with unique cell ids (existing ids are kept);
- JSON with sorted keys, indent 1, a final newline;
- the "Open in Colab" badge in the first cell and the Colab install cell are generated from
  ``[tool.tlcourse]`` in pyproject.toml (repository and branch), so they can't drift;
- the `quick` bullet under "**Time per profile**" and the quick column of README's course table are
  generated from ``benchmarks/quick_times.json`` (written by ``benchmarks/profile_times.py --write``),
  so no notebook states a time that was not measured.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tlcourse.course (the course map) names each notebook's extras
NOTEBOOKS = ROOT / "notebooks"
BADGE_SVG = "https://colab.research.google.com/assets/colab-badge.svg"
INSTALL_MARKER = "# @title Colab only: install the course helpers"
COLAB_PINS_PATTERN = "^(tensorflow|keras|tensorflow-datasets|tf-keras|protobuf|numpy)=="  # as tools/colab_check.sh
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
SOLUTION_TITLE = "# @title Solution"
FOLDED_TITLE = "# @title "
KEPT_CELL_METADATA = ("jupyter", "cellView")
FOLDED = {"cellView": "form", "jupyter": {"source_hidden": True}}
TIME_HEADING = "**Time per profile**"
QUICK_BULLET = "- `quick` (CPU laptop):"
TIMES_FILE = ROOT / "benchmarks" / "quick_times.json"
README = ROOT / "README.md"


def quick_minutes(path: Path) -> float | None:
    """The measured quick time of notebook ``path`` in minutes, or None (not measured yet)."""
    if not TIMES_FILE.exists():
        return None
    return json.loads(TIMES_FILE.read_text(encoding="utf-8"))["notebooks"].get(path.stem)


def quick_bullet(path: Path) -> str:
    """The generated `quick` line of a notebook's "Time per profile" list."""
    from tlcourse.course import lesson_for
    from tlcourse.needs import NEEDS

    minutes = quick_minutes(path)
    if minutes is None:
        return f"{QUICK_BULLET} not measured yet (`python benchmarks/profile_times.py --notebooks {path.name[:2]}`)."
    downloads = "after the one-off downloads" if lesson_for(path.name).number in NEEDS else "(it downloads nothing)"
    return (f"{QUICK_BULLET} **{minutes:.1f} min** on 2 CPU cores {downloads}, measured by "
            "`benchmarks/profile_times.py` (offline: the profile's sizes, epochs and counts, random weights).")


def with_quick_time(source: str, path: Path) -> str:
    """``source`` (a markdown cell) with its `quick` time bullet regenerated; other cells unchanged."""
    if TIME_HEADING not in source:
        return source
    lines, out, skipping = source.split("\n"), [], False
    for line in lines:
        if skipping and line.startswith("  "):
            continue  # the old bullet's continuation lines
        skipping = line.startswith(QUICK_BULLET)
        out.append(quick_bullet(path) if skipping else line)
    return "\n".join(out)


CORE_PATH_LINE = "**The core path**"


def core_path_line() -> str:
    """README's generated line naming the beginner's core path and its total time (from COURSE_MAP)."""
    from tlcourse.course import COURSE_MAP, core_path, core_path_minutes

    total = core_path_minutes()
    numbers = ", ".join(f"{lesson.number:02d}" for lesson in core_path())
    others = ", ".join(f"{lesson.number:02d}" for lesson in COURSE_MAP if lesson.available and not lesson.core)
    core_cells = json.loads(TIMES_FILE.read_text(encoding="utf-8")).get("core_cells", {}) if TIMES_FILE.exists() else {}
    measured = [core_cells.get(Path(lesson.filename).stem) for lesson in core_path()]
    compute = ("" if None in measured else f" Its cells before the deep dives take {sum(measured):.1f} min of `quick` "
               "compute on 2 CPU cores in all (the table's column times whole notebooks, deep dives included).")
    return (f"{CORE_PATH_LINE} — lessons {numbers} — teaches every step of the article in about "
            f"{total // 60} h {total % 60:02d} min for a beginner in `quick` (reading, running, solving each "
            "lesson's exercise; deep dives left closed): 01 measures the three advantages at a glance, 03's "
            "exercise chooses a pretrained model, and 09's flower classifier is the article's first application, "
            f"image recognition.{compute} The other lessons ({others}) are optional deep dives: normal training, "
            "each advantage, the choice of a model and more applications in depth, and scaling out.")


def readme_text(text: str) -> str:
    """README ``text`` with the course table's generated columns and the core-path line regenerated.

    The path and beginner columns come from ``tlcourse.course.COURSE_MAP``, the quick column from
    the measurements (``benchmarks/quick_times.json``).
    """
    from tlcourse.course import lesson_for

    out = []
    for line in text.split("\n"):
        cells = line.split(" | ")
        link = cells[1] if len(cells) >= 6 and line.startswith("| ") else ""
        if "](notebooks/" in link:
            path = Path(link.split("](", 1)[1].rstrip(")"))
            lesson = lesson_for(path.name)
            minutes = quick_minutes(path)
            cells[-3] = "**core**" if lesson.core else "deep dive"
            cells[-2] = f"{lesson.minutes} min"
            cells[-1] = (f"{minutes:.1f} min |" if minutes is not None else "not measured |")
            line = " | ".join(cells)
        elif line.startswith(CORE_PATH_LINE):
            line = core_path_line()
        out.append(line)
    return "\n".join(out)


def is_solution(cell: dict) -> bool:
    """True for a code cell whose first line is ``# @title Solution``."""
    first_line = _source(cell).split("\n", 1)[0].strip()
    return cell["cell_type"] == "code" and first_line == SOLUTION_TITLE


def is_folded(cell: dict) -> bool:
    """True for a code cell whose first line is a ``# @title …``: its code is folded away."""
    return cell["cell_type"] == "code" and _source(cell).startswith(FOLDED_TITLE)


def repository() -> tuple[str, str]:
    """Return ``(owner/name, branch)`` from pyproject.toml's ``[tool.tlcourse]``."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["tlcourse"]
    return config["repository"], config["branch"]


def badge_line(path: Path) -> str:
    repo, branch = repository()
    url = f"https://colab.research.google.com/github/{repo}/blob/{branch}/notebooks/{path.name}"
    return f"[![Open In Colab]({BADGE_SVG})]({url})"


PLACEHOLDER_REPOSITORY = "OWNER/REPO"


def install_cell_source(path: Path) -> str:
    """The Colab install cell of notebook ``path``: ``tlcourse`` with the extras its lesson needs.

    While ``[tool.tlcourse] repository`` is still the placeholder ``OWNER/REPO`` there is nothing to
    install from GitHub: the cell then stops in Colab (unless the helpers are already importable,
    e.g. uploaded) with a message that says so and how to install them otherwise.
    """
    from tlcourse.course import lesson_for

    repo, branch = repository()
    extras = lesson_for(path.name).extras
    package = f"tlcourse[{','.join(extras)}]" if extras else "tlcourse"
    if repo == PLACEHOLDER_REPOSITORY:
        fix = (f"!pip freeze | grep -iE '{COLAB_PINS_PATTERN}' > /tmp/colab-pins.txt\n"
               f"%pip install -q -c /tmp/colab-pins.txt \"{package} @ file:///content/course.zip\"")
        return (
            f"{INSTALL_MARKER}. Not published yet: pyproject.toml's [tool.tlcourse] repository is\n"
            f"# still the placeholder {PLACEHOLDER_REPOSITORY} (README: \"Publishing the course\"), so there is nothing to install.\n"
            "import importlib.util\n"
            "import sys\n"
            'if "google.colab" in sys.modules and importlib.util.find_spec("tlcourse") is None:\n'
            "    raise RuntimeError(\n"
            '        "The course helpers (tlcourse) cannot be installed from GitHub: this copy of the course names no "\n'
            f'        "repository yet (still the placeholder {PLACEHOLDER_REPOSITORY}). Install them from a zip instead: in a "\n'
            '        "clone run `git archive -o course.zip HEAD`, upload course.zip in Colab\'s Files panel (left), "\n'
            '        "then run these two lines in a new cell:\\n"\n'
            f"        {fix!r})"
        )
    return (
        f"{INSTALL_MARKER}, holding Colab's TensorFlow, Keras, tfds, NumPy and protobuf\n"
        "# fixed as constraints: pip may add packages but never replaces these (tools/colab_check.sh checks it).\n"
        "import sys\n"
        'if "google.colab" in sys.modules:\n'
        f"    !pip freeze | grep -iE '{COLAB_PINS_PATTERN}' > /tmp/colab-pins.txt\n"
        f'    %pip install -q -c /tmp/colab-pins.txt "{package} @ git+https://github.com/{repo}.git@{branch}"'
    )


def _source(cell: dict) -> str:
    source = cell.get("source") or ""
    return "".join(source) if isinstance(source, list) else str(source)


TITLE_SPELLINGS = re.compile(r"\A[ \t]*#[ \t]*@title[ \t]+")


def canonical_title(source: str) -> str:
    """``source`` with a first-line Colab title spelled ``# @title …`` (Colab also writes ``#@title``)."""
    return TITLE_SPELLINGS.sub(FOLDED_TITLE, source, count=1)


def tidy(notebook: dict, path: Path) -> dict:
    """Return the normalised form of ``notebook`` (a parsed .ipynb) stored at ``path``."""
    cells, seen = [], set()
    for index, cell in enumerate(notebook.get("cells", [])):
        source = _source(cell)
        if index == 0 and cell["cell_type"] == "markdown":
            source = "\n".join(badge_line(path) if BADGE_SVG in line else line
                               for line in source.split("\n"))
        if cell["cell_type"] == "markdown":
            source = with_quick_time(source, path)
        if cell["cell_type"] == "code":
            source = canonical_title(source)
        if cell["cell_type"] == "code" and source.startswith(INSTALL_MARKER):
            source = install_cell_source(path)
        cell_id = cell.get("id")
        if not cell_id or cell_id in seen:
            cell_id = hashlib.sha1(f"{path.name}:{index}:{source}".encode()).hexdigest()[:8]
        seen.add(cell_id)
        metadata = {k: v for k, v in (cell.get("metadata") or {}).items()
                    if k in KEPT_CELL_METADATA and (k != "jupyter" or isinstance(v, dict))}
        if is_folded({"cell_type": cell["cell_type"], "source": source}):
            metadata.update(json.loads(json.dumps(FOLDED)))
        else:  # a cell whose title went shows its code again
            metadata.pop("cellView", None)
            metadata.get("jupyter", {}).pop("source_hidden", None)
            if metadata.get("jupyter") == {}:
                del metadata["jupyter"]
        clean = {"cell_type": cell["cell_type"], "id": cell_id, "source": source, "metadata": metadata}
        if cell.get("attachments"):  # images pasted into a markdown cell
            clean["attachments"] = cell["attachments"]
        if cell["cell_type"] == "code":
            clean.update(outputs=[], execution_count=None)
        cells.append(clean)
    return {"cells": cells, "metadata": {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def render(notebook: dict) -> str:
    """Serialise like the committed notebooks: sorted keys, indent 1, source as a list of lines."""
    notebook = json.loads(json.dumps(notebook))
    for cell in notebook["cells"]:
        cell["source"] = cell["source"].splitlines(keepends=True)
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def notebook_problem(notebook: object) -> str | None:
    """What keeps parsed JSON from being a notebook that ``tidy`` can read; ``None`` if nothing."""
    if not isinstance(notebook, dict):
        return f"its JSON is a {type(notebook).__name__}, not a notebook object ({{\"cells\": [...], ...}})"
    cells = notebook.get("cells", [])
    if not isinstance(cells, list):
        return f'its "cells" is {json.dumps(cells)[:40]}, not a list of cells'
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
            return f'cell {index} has no "cell_type" ("markdown", "code" or "raw")'
        source = cell.get("source")
        if not (source is None or isinstance(source, str)
                or isinstance(source, list) and all(isinstance(line, str) for line in source)):
            return f'cell {index} has a "source" that is neither text nor a list of lines'
    return None


def read_notebook(path: Path) -> dict:
    """Return the parsed notebook at ``path``; a file that is none stops with a message naming the fix."""
    restore = f"restore the file from git (`git checkout -- {path}`), then run format again"
    data = path.read_bytes()
    if not data.strip():
        raise SystemExit(f"{path}: the file is empty ({len(data)} bytes), not a notebook. Fix: {restore}.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SystemExit(f"{path}: not UTF-8 text (byte {data[error.start]:#04x} at offset {error.start}); notebooks "
                         f"are UTF-8. Fix: open it in Jupyter and save it again, or {restore}.") from None
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError as error:
        conflict = "resolve the merge conflict (the <<<<<<< lines) or " if "<<<<<<<" in text else ""
        raise SystemExit(f"{path}: not valid notebook JSON ({error}). Fix: {conflict}{restore}.") from None
    problem = notebook_problem(notebook)
    if problem:
        raise SystemExit(f"{path}: not a Jupyter notebook: {problem}. Fix: {restore}.")
    return notebook


def tidied_text(path: Path) -> str:
    """Return what ``format`` would write for ``path``."""
    return render(tidy(read_notebook(path), path))


def notebook_paths(folder: Path = NOTEBOOKS) -> list[Path]:
    return sorted(folder.glob("*.ipynb"))


def is_course_notebook(path: Path) -> bool:
    """True for a notebook of ``tlcourse.course.COURSE_MAP`` (not, e.g., Jupyter's "…-Copy1.ipynb")."""
    from tlcourse.course import COURSE_MAP

    return path.name in {lesson.filename for lesson in COURSE_MAP}


def main(argv: list[str], folder: Path = NOTEBOOKS) -> int:
    from tlcourse.files import write_atomically

    if len(argv) != 1 or argv[0] not in ("format", "check"):
        print(__doc__)
        return 2
    changed = []
    for path in notebook_paths(folder):
        if not is_course_notebook(path):  # a learner's copy: never rewritten
            print(f"not a course notebook: {path} (left untouched; move it out of {folder.name}/ to silence this)")
            continue
        text = tidied_text(path)
        if text != path.read_text(encoding="utf-8"):
            changed.append(path)
            if argv[0] == "format":
                write_atomically(path, text.encode("utf-8"))  # an interrupted format never leaves half a notebook
    if folder == NOTEBOOKS:
        readme = README.read_text(encoding="utf-8")
        if readme_text(readme) != readme:
            changed.append(README)
            if argv[0] == "format":
                write_atomically(README, readme_text(readme).encode("utf-8"))
    verb = "reformatted" if argv[0] == "format" else "needs `make format`"
    for path in changed:
        print(f"{path}: {verb}")
    return 1 if changed and argv[0] == "check" else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
