"""A beginner's time for each lesson's core path, modelled from what the lesson shows.

    python tools/beginner_time.py          # a table of the core lessons and the core path's total

A proxy that keeps lessons short, not a measurement of learners: it counts what a beginner reads
and solves before a notebook's "## Deep dives (optional)" heading, at fixed rates —

- prose: the words of the markdown cells, without folded ``<details>`` boxes, at
  ``PROSE_WORDS_PER_MINUTE`` (careful reading of technical text, slower than the ~240 words a minute
  of adult non-fiction reading);
- code: the non-blank lines of the code cells a beginner sees, at ``CODE_LINES_PER_MINUTE``; a cell
  whose first line is a ``# @title …`` (solutions, self-checks, extra code, checks, the Colab install
  cell) is folded and costs nothing to read, and an exercise's answer cell is part of the exercise;
- exercises: ``EXERCISE_MINUTES`` each, for reading the given code, solving and running the check.

Running time is not in it: the quick column of README's course table gives that. Calibrated on
the reader's estimates of 2026-12-04 (``tlcourse.course.COURSE_MAP`` then): the model gave 553 min
for the core path where the reader gave 545, running time included. ``COURSE_MAP.minutes`` stays
the reader's estimate; ``tests/test_beginner_time.py`` holds every core lesson within the budgets
of ``tlcourse.course`` by this model, so that a lesson cannot grow back unnoticed.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tlcourse.course: the core lessons and their budgets
sys.path.insert(0, str(ROOT / "tools"))

from render_html import core_cells  # noqa: E402

PROSE_WORDS_PER_MINUTE = 150
CODE_LINES_PER_MINUTE = 10
EXERCISE_MINUTES = 10
FOLDED_TITLE = "# @title "
DETAILS = re.compile(r"<details>.*?</details>", re.S)


@dataclass(frozen=True)
class Load:
    """What a beginner reads and solves in one lesson's core path, and the modelled minutes."""

    prose_words: int
    code_lines: int
    exercises: int

    @property
    def minutes(self) -> float:
        return (self.prose_words / PROSE_WORDS_PER_MINUTE + self.code_lines / CODE_LINES_PER_MINUTE
                + self.exercises * EXERCISE_MINUTES)


def _source(cell: dict) -> str:
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def load(notebook: dict) -> Load:
    """The core path's load of a parsed notebook (see the module docstring for what counts).

    Example:
        >>> cell = lambda kind, text: {"cell_type": kind, "source": text}
        >>> load({"cells": [cell("markdown", "one two three <details>folded words</details>"),
        ...                 cell("code", "x = 1\\n\\ny = 2"), cell("code", "# @title extra code – a table\\nz = 3"),
        ...                 cell("markdown", "### Exercise 1 — Choose\\n\\n*Pick.*"), cell("code", "MY_CHOICE = None"),
        ...                 cell("markdown", "## Deep dives (optional)"), cell("code", "w = 4")]})
        Load(prose_words=9, code_lines=2, exercises=1)
    """
    words = lines = exercises = 0
    after_heading = False
    for cell in core_cells(notebook):
        text = _source(cell)
        if cell["cell_type"] == "markdown":
            words += len(DETAILS.sub("", text).split())
            after_heading = text.startswith("### Exercise")
            exercises += after_heading
        elif cell["cell_type"] == "code":
            if not text.startswith(FOLDED_TITLE) and not after_heading:
                lines += sum(1 for line in text.splitlines() if line.strip())
            after_heading = False
    return Load(words, lines, exercises)


def lesson_loads() -> dict:
    """``{lesson: Load}`` for every core lesson of ``tlcourse.course.COURSE_MAP``, in order."""
    from tlcourse.course import core_path

    return {lesson: load(json.loads((ROOT / "notebooks" / lesson.filename).read_text(encoding="utf-8")))
            for lesson in core_path()}


def main() -> int:
    from tlcourse.course import CORE_LESSON_BUDGET_MINUTES, CORE_PATH_BUDGET_MINUTES
    from tlcourse.results import format_table

    loads = lesson_loads()
    rows = [{"#": f"{lesson.number:02d}", "prose words": item.prose_words, "code lines": item.code_lines,
             "exercises": item.exercises, "modelled": f"{item.minutes:.0f} min", "reader": f"{lesson.minutes} min"}
            for lesson, item in loads.items()]
    print(format_table(rows, list(rows[0])))
    total = sum(item.minutes for item in loads.values())
    print(f"Core path: {total:.0f} min modelled (budget {CORE_PATH_BUDGET_MINUTES}; each lesson at most "
          f"{CORE_LESSON_BUDGET_MINUTES}); the reader's estimate: {sum(lesson.minutes for lesson in loads)} min.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
