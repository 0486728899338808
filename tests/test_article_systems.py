"""Every system the article names has its place: the table in tlcourse.course, README and the notebooks agree."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tlcourse.course import ARTICLE_SYSTEMS, COURSE_MAP, STATUSES

ROOT = Path(__file__).resolve().parents[1]


def _notebook_text(number: int) -> str:
    lesson = COURSE_MAP[number]
    notebook = json.loads((ROOT / "notebooks" / lesson.filename).read_text(encoding="utf-8"))
    return "\n".join("".join(cell["source"]) for cell in notebook["cells"])


@pytest.mark.parametrize("system", ARTICLE_SYSTEMS, ids=lambda system: system.name)
def test_each_system_appears_in_the_notebooks_the_table_names(system):
    assert system.status in STATUSES, f"{system.name}: status {system.status!r} is not one of {STATUSES}"
    assert system.notebooks, f"{system.name}: name at least one notebook"
    for number in system.notebooks:
        assert re.search(rf"\b{re.escape(system.name)}", _notebook_text(number)), (
            f"the table says notebook {number:02d} runs or discusses {system.name}, but its text never names it")


def test_readme_table_matches_the_course_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = {cells[0]: cells for cells in (
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in readme.splitlines() if line.startswith("| ") and line.count("|") == 5)}
    for system in ARTICLE_SYSTEMS:
        assert system.name in rows, f"README's table of the article's systems has no row for {system.name}"
        _, what, where, status = rows[system.name]
        assert (what, where, status) == (system.what, ", ".join(f"{n:02d}" for n in system.notebooks), system.status), (
            f"README's row for {system.name} differs from tlcourse.course.ARTICLE_SYSTEMS: update both")
