"""A beginner's time for each lesson's core path, modelled from what the lesson shows.

    python tools/beginner_time.py          # a table of the core lessons and the core path's total

A proxy that keeps lessons short, not a measurement of learners: it counts what a beginner reads
and solves before a notebook's "## Deep dives (optional)" heading, at fixed rates —

- prose: the words of the markdown cells, without folded ``<details>`` boxes, at
  ``PROSE_WORDS_PER_MINUTE`` (careful reading of technical text, slower than the ~240 words a minute
  of adult non-fiction reading);
- code: the non-blank lines of the code cells a beginner sees, at ``CODE_LINES_PER_MINUTE``; an
  exercise's answer cell and self-check are part of the exercise;
- folded cells: a cell whose first line is a ``# @title …`` (setup, extra code, checks, the Colab
  install cell) hides its code, but the beginner still runs it and reads what it prints:
  ``FOLDED_CELL_MINUTES`` each;
- exercises: ``EXERCISE_MINUTES`` each, for reading the given code, solving and running the check.

Running time is not in it: the quick column of README's course table gives that. How far it is from
readers: on the notebooks of 2026-12-04 it gave 519 min for the core path where a reader playing a
beginner gave 545, running included; on the trimmed notebooks of 2026-12-05 it gave 336 min where
another reader gave 685 — that reader needed 15–45 min per exercise, because the exercises asked for
loops over code only folded cells showed (the next version handed that code over in ``# given – …``
cells), and read the main lines about 1.5× slower than the rates above; on the six-lesson core path of
2026-12-06 it gave 119 min where two readers gave 205 and 190 (about 1.6×). So the model is a floor and a
guard, not an estimate: ``tests/test_beginner_time.py`` holds every core lesson within
``tlcourse.course.CORE_LESSON_BUDGET_MINUTES`` by it, so that no lesson grows back unnoticed;
``COURSE_MAP.minutes`` keeps the readers' estimates, which decide whether the aim is met.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tlcourse.course: the core lessons and their budgets
sys.path.insert(0, str(ROOT / "tools"))

from nbtidy import notebook_problem, read_notebook  # noqa: E402
from render_html import core_cells  # noqa: E402

PROSE_WORDS_PER_MINUTE = 150
CODE_LINES_PER_MINUTE = 10
EXERCISE_MINUTES = 10
FOLDED_CELL_MINUTES = 1
FOLDED_TITLE = "# @title "
GIVEN_LABEL = "# given –"
DETAILS = re.compile(r"<details>.*?</details>", re.S)


@dataclass(frozen=True)
class Load:
    """What a beginner reads and solves in one lesson's core path, and the modelled minutes."""

    prose_words: int
    code_lines: int
    folded_cells: int
    exercises: int

    @property
    def minutes(self) -> float:
        return (self.prose_words / PROSE_WORDS_PER_MINUTE + self.code_lines / CODE_LINES_PER_MINUTE
                + self.folded_cells * FOLDED_CELL_MINUTES + self.exercises * EXERCISE_MINUTES)


def _source(cell: dict) -> str:
    source = cell.get("source") or ""
    return source if isinstance(source, str) else "".join(source)


def load(notebook: dict, where: str = "notebook") -> Load:
    """The core path's load of a parsed notebook (see the module docstring for what counts).

    Example:
        >>> cell = lambda kind, text: {"cell_type": kind, "source": text}
        >>> load({"cells": [cell("markdown", "one two three <details>folded words</details>"),
        ...                 cell("code", "x = 1\\n\\ny = 2"), cell("code", "# @title extra code – a table\\nz = 3"),
        ...                 cell("markdown", "### Exercise 1 — Choose\\n\\n*Pick.*"), cell("code", "MY_CHOICE = None"),
        ...                 cell("markdown", "## Deep dives (optional)"), cell("code", "w = 4")]})
        Load(prose_words=9, code_lines=2, folded_cells=1, exercises=1)
    """
    problem = notebook_problem(notebook)
    if problem:
        raise ValueError(f"{where} is not a Jupyter notebook: {problem}. Fix: restore the file from git, or "
                         "open it in Jupyter and save it again.")
    notebook = {"cells": [dict(cell, source=_source(cell)) for cell in notebook.get("cells", [])]}
    words = lines = folded = exercises = 0
    in_exercise = False
    for cell in core_cells(notebook):
        text = _source(cell)
        if cell["cell_type"] == "markdown":
            words += len(DETAILS.sub("", text).split())
            in_exercise = text.startswith("### Exercise")
            exercises += in_exercise
        elif cell["cell_type"] == "code":
            given = text.startswith(GIVEN_LABEL)  # code an exercise hands over: read like the main line
            if in_exercise and not given:
                continue  # the answer cell and the self-check: the exercise's minutes cover them
            if text.startswith(FOLDED_TITLE):
                folded += 1
            else:
                lines += sum(1 for line in text.splitlines() if line.strip())
    return Load(words, lines, folded, exercises)


def lesson_loads() -> dict:
    """``{lesson: Load}`` for every core lesson of ``tlcourse.course.COURSE_MAP``, in order."""
    from tlcourse.course import core_path

    return {lesson: read_load(ROOT / "notebooks" / lesson.filename) for lesson in core_path()}


def read_load(path: Path) -> Load:
    """The load of the notebook file ``path``; a broken file stops with a message naming it and the fix."""
    return load(read_notebook(path), str(path))


def main() -> int:
    from tlcourse.course import CORE_LESSON_BUDGET_MINUTES, CORE_PATH_BUDGET_MINUTES
    from tlcourse.results import format_table

    loads = lesson_loads()
    rows = [{"#": f"{lesson.number:02d}", "prose words": item.prose_words, "code lines": item.code_lines,
             "folded cells": item.folded_cells, "exercises": item.exercises, "modelled": f"{item.minutes:.0f} min", "reader": f"{lesson.minutes} min"}
            for lesson, item in loads.items()]
    print(format_table(rows, list(rows[0])))
    total = sum(item.minutes for item in loads.values())
    print(f"Core path: {total:.0f} min modelled (budget {CORE_PATH_BUDGET_MINUTES}; each lesson at most "
          f"{CORE_LESSON_BUDGET_MINUTES}); the reader's estimate: {sum(lesson.minutes for lesson in loads)} min.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
