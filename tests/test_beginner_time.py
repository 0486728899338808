"""The beginner's core path stays short: tools/beginner_time.py's model of what each core lesson shows.

A floor and a guard, not a measurement of learners (see the tool's docstring): it counts visible prose,
visible code, folded cells and exercises before each notebook's deep dives, so that no core lesson grows
back past tlcourse.course's per-lesson budget unnoticed. Whether the core path meets its four-hour aim is
judged by readers' estimates (COURSE_MAP.minutes, checked in test_course_and_prefetch.py).
"""

import json
import sys
from pathlib import Path

from tlcourse.course import CORE_LESSON_BUDGET_MINUTES

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import beginner_time  # noqa: E402


def test_each_core_lesson_fits_its_budget_by_the_model_and_keeps_one_exercise():
    loads = beginner_time.lesson_loads()
    too_long = {lesson.filename: round(item.minutes) for lesson, item in loads.items()
                if item.minutes > CORE_LESSON_BUDGET_MINUTES}
    assert not too_long, (
        f"these core lessons show a beginner more than {CORE_LESSON_BUDGET_MINUTES} min of reading and solving "
        f"(tools/beginner_time.py): {too_long}. Move secondary sections to the notebook's deep dives, fold "
        "plumbing code with a '# @title extra code – …' first line, or shorten the prose")
    assert all(item.exercises == 1 for item in loads.values()), (
        "each core lesson keeps one exercise before its deep dives; more practice goes after the "
        "'## Deep dives (optional)' heading: "
        f"{ {lesson.filename: item.exercises for lesson, item in loads.items()} }")


def test_the_model_counts_what_a_beginner_reads_runs_and_solves():
    """Mechanics: folded boxes and deep dives cost nothing; a folded cell costs its run and output, not its
    code; a given cell is read like the main line; an exercise's answer and self-check are the exercise."""
    def notebook(*cells):
        return {"cells": [{"cell_type": kind, "source": text} for kind, text in cells]}

    shown = notebook(("markdown", "word " * 300), ("code", "x = 1\n" * 20))
    hidden = notebook(("markdown", "word " * 300 + "<details><summary>more</summary>\n\n" + "word " * 600
                       + "</details>"),
                      ("code", "x = 1\n" * 20), ("code", "# @title extra code – a table\n" + "y = 2\n" * 40),
                      ("markdown", "## Deep dives (optional)"), ("code", "z = 3\n" * 100))
    assert beginner_time.load(shown).minutes == (300 / beginner_time.PROSE_WORDS_PER_MINUTE
                                                 + 20 / beginner_time.CODE_LINES_PER_MINUTE)
    assert beginner_time.load(hidden) == beginner_time.Load(prose_words=300, code_lines=20, folded_cells=1,
                                                            exercises=0)
    unfolded = json.loads(json.dumps(hidden))
    unfolded["cells"][2]["source"] = unfolded["cells"][2]["source"].replace("# @title ", "# ")
    assert beginner_time.load(unfolded).code_lines == 20 + 41
    exercise = notebook(("markdown", "### Exercise 1 — Choose\n\n*Pick one.*"),
                        ("code", "# given – measure every option\n" + "m = 1\n" * 5),
                        ("code", "MY_CHOICE = MY_REASON = None  # your answer"),
                        ("code", "# @title Self-check\n" + "c = 1\n" * 30))
    assert beginner_time.load(exercise) == beginner_time.Load(prose_words=7, code_lines=6, folded_cells=0,
                                                              exercises=1)


def test_a_broken_notebook_names_the_file_and_the_fix(tmp_path):
    import pytest

    assert beginner_time.load({"cells": [{"cell_type": "code", "source": None}]}).code_lines == 0  # an empty cell
    for broken, problem in (([1], "its JSON is a list"), ({"cells": None}, 'its "cells" is null'),
                            ({"cells": [{"source": "x"}]}, 'cell 0 has no "cell_type"')):
        with pytest.raises(ValueError, match=f"lesson.ipynb is not a Jupyter notebook: {problem}.*Fix: "):
            beginner_time.load(broken, "lesson.ipynb")
    path = tmp_path / "lesson.ipynb"
    path.write_bytes(b"")
    with pytest.raises(SystemExit, match=f"{path}: the file is empty.*Fix: "):
        beginner_time.read_load(path)
