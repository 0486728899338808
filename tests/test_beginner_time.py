"""The beginner's core path stays short: tools/beginner_time.py's model of what each core lesson shows.

A proxy, not a measurement of learners (see the tool's docstring): it counts visible prose, visible code
and exercises before each notebook's deep dives, so a lesson cannot grow back past the budgets of
tlcourse.course unnoticed. The reader's estimates in COURSE_MAP are checked in test_course_and_prefetch.py.
"""

import json
import sys
from pathlib import Path

from tlcourse.course import CORE_LESSON_BUDGET_MINUTES, CORE_PATH_BUDGET_MINUTES

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import beginner_time  # noqa: E402


def test_each_core_lesson_and_the_whole_core_path_fit_their_budgets_by_the_model():
    loads = beginner_time.lesson_loads()
    too_long = {lesson.filename: round(item.minutes) for lesson, item in loads.items()
                if item.minutes > CORE_LESSON_BUDGET_MINUTES}
    assert not too_long, (
        f"these core lessons show a beginner more than {CORE_LESSON_BUDGET_MINUTES} min of reading and solving "
        f"(tools/beginner_time.py): {too_long}. Move secondary sections to the notebook's deep dives, fold "
        "plumbing code with a '# @title extra code – …' first line, or shorten the prose")
    total = sum(item.minutes for item in loads.values())
    assert total <= CORE_PATH_BUDGET_MINUTES, (
        f"the core path shows a beginner {total:.0f} min of reading and solving, over the "
        f"{CORE_PATH_BUDGET_MINUTES}-min budget: run tools/beginner_time.py to see which lessons grew")
    assert all(item.exercises == 1 for item in loads.values()), (
        "each core lesson keeps one exercise before its deep dives; more practice goes after the "
        "'## Deep dives (optional)' heading: "
        f"{ {lesson.filename: item.exercises for lesson, item in loads.items()} }")


def test_the_model_skips_folded_code_details_boxes_and_deep_dives(tmp_path):
    """Mechanics: what a beginner does not see costs nothing; what they see counts."""
    def notebook(*cells):
        return {"cells": [{"cell_type": kind, "source": text} for kind, text in cells]}

    shown = notebook(("markdown", "word " * 300), ("code", "x = 1\n" * 20))
    hidden = notebook(("markdown", "word " * 300 + "<details><summary>more</summary>\n\n" + "word " * 600
                       + "</details>"),
                      ("code", "x = 1\n" * 20), ("code", "# @title extra code – a table\n" + "y = 2\n" * 40),
                      ("markdown", "## Deep dives (optional)"), ("code", "z = 3\n" * 100))
    assert beginner_time.load(shown) == beginner_time.load(hidden)
    assert beginner_time.load(shown).minutes == 300 / beginner_time.PROSE_WORDS_PER_MINUTE + 20 / beginner_time.CODE_LINES_PER_MINUTE
    unfolded = json.loads(json.dumps(hidden))
    unfolded["cells"][2]["source"] = unfolded["cells"][2]["source"].replace("# @title ", "# ")
    assert beginner_time.load(unfolded).code_lines == 20 + 41
