"""The course's one method (issue 15), checked in the notebooks' source where code can check it.

* The test set is read once, at the end: a notebook that loads a test split wraps it in
  ``stats.TestSet`` on the line that loads it, uses no raw test data before the final report, and
  reads it only with ``test_set.read("final report")`` in a section whose heading says "final report".
* "Is A better than B?" has one rule: a notebook that compares recipes or models calls
  ``tlcourse.stats`` and uses none of the retired rules (a fixed noise margin, a ±2 SE tie band).
* An expectation for quick/full is marked as an estimate, not printed as "Expected in …".

These are source checks (mechanics), not results: they fail when a notebook reads the test set
early, for a second purpose, or judges a comparison by another rule.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tlcourse.course import is_lesson_filename

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"

# Every lesson reads its test set once and uses no retired rule; the lessons that compare recipes or
# models (issue 15's list, plus 03, 07 and 09) also call tlcourse.stats for their verdicts.
ALL_NOTEBOOKS = sorted(path.name for path in NOTEBOOKS.glob("*.ipynb") if is_lesson_filename(path))
METHOD_NOTEBOOKS = [name for name in ALL_NOTEBOOKS if name[:2] in
                    {"01", "03", "05", "06", "07", "08", "09", "10", "11", "12", "13", "14"}]

TEST_SPLIT = re.compile(r"\bsplits\.test_ds\b")
READ = re.compile(r"\btest_set\.read\(\s*(['\"])(.*?)\1\s*\)")
RAW_TEST = re.compile(r"(?<![.\w])test_ds\b")  # the variable, not splits.test_ds
RETIRED_RULES = [re.compile(pattern, re.I) for pattern in (
    r"noise margin", r"are a tie", r"from tlcourse\.evaluation import[^\n]*compare_predictions",
    r"evaluation\.compare_predictions", r"\bExpected in (quick|full|\{settings\.name\})")]
STATS_CALL = re.compile(r"\bstats\.(compare_seeds|compare_predictions|mean_interval)\(|\bcompare_recipes\(")


def _cells(name: str) -> list[tuple[str, str, str]]:
    """(cell type, source, the latest ## heading at or above the cell) for every cell."""
    heading, cells = "", []
    for cell in json.loads((NOTEBOOKS / name).read_text())["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            found = re.findall(r"^##\s+(.*)$", source, re.M)
            heading = found[-1] if found else heading
        cells.append((cell["cell_type"], source, heading))
    return cells


def check_test_read_once(cells: list[tuple[str, str, str]]) -> list[str]:
    """Return what breaks the test-once rule in these cells (empty: nothing)."""
    problems = []
    code = [(index, source, heading) for index, (kind, source, heading) in enumerate(cells) if kind == "code"]
    for index, source, _ in code:
        for line in source.splitlines():
            if TEST_SPLIT.search(line) and "stats.TestSet(" not in line:
                problems.append(f"cell {index}: splits.test_ds outside stats.TestSet(...): {line.strip()!r}")
    reads = [(index, match.group(2), heading) for index, source, heading in code for match in READ.finditer(source)]
    if any(TEST_SPLIT.search(source) for _, source, _ in code) and not reads:
        problems.append("loads a test split but never reads it with test_set.read(\"final report\")")
    for index, purpose, heading in reads:
        if purpose != "final report":
            problems.append(f"cell {index}: test_set.read({purpose!r}): the test set is read for the final report only")
        if "final report" not in heading.lower():
            problems.append(f"cell {index}: test_set.read under the heading {heading!r}: read it in the final report "
                            "section (a '## ' heading that says 'final report')")
    if reads:
        first_read = reads[0][0]
        for index, source, _ in code:
            if index < first_read and RAW_TEST.search(source):
                problems.append(f"cell {index}: uses test_ds before the final report reads it (cell {first_read})")
    return problems


def test_the_check_fails_on_a_notebook_that_chooses_on_test():
    """The check must be able to fail: a learning rate picked on the test set is caught."""
    early = [("code", "test_ds = prepare(splits.test_ds, 160, 32)", ""),
             ("markdown", "## Choose the learning rate", ""),
             ("code", "accuracy = model.evaluate(test_ds)", "Choose the learning rate")]
    assert len(check_test_read_once(early)) == 2
    wrong_purpose = [("code", "test_set = stats.TestSet(prepare(splits.test_ds, 160, 32))", ""),
                     ("markdown", "## Choose", ""),
                     ("code", 'test_ds = test_set.read("pick a learning rate")', "Choose")]
    assert len(check_test_read_once(wrong_purpose)) == 2  # wrong purpose, wrong section
    good = [("code", "test_set = stats.TestSet(prepare(splits.test_ds, 160, 32))", ""),
            ("markdown", "## The final report", "The final report"),
            ("code", 'test_ds = test_set.read("final report")\nmodel.evaluate(test_ds)', "The final report")]
    assert check_test_read_once(good) == []


@pytest.mark.parametrize("name", ALL_NOTEBOOKS)
def test_test_set_is_read_once_in_the_final_report(name):
    problems = check_test_read_once(_cells(name))
    assert not problems, f"{name}: " + "; ".join(problems)


@pytest.mark.parametrize("name", ALL_NOTEBOOKS)
def test_no_retired_rule_and_estimates_are_marked(name):
    text = "\n".join(source for _, source, _ in _cells(name))
    retired = [pattern.pattern for pattern in RETIRED_RULES if pattern.search(text)]
    assert not retired, f"{name} still uses a retired rule or an unmarked expectation: {retired}"


@pytest.mark.parametrize("name", METHOD_NOTEBOOKS)
def test_comparisons_use_the_one_rule(name):
    text = "\n".join(source for _, source, _ in _cells(name))
    assert STATS_CALL.search(text), f"{name} compares without tlcourse.stats (compare_seeds / compare_predictions)"


def test_check_threshold_accepts_every_threshold_that_meets_the_target_on_validation():
    """A threshold self-check (notebook 13): any threshold reaching the target passes, a higher one fails."""
    from tlcourse.exercises import DecisionNotSupported, check_threshold
    labels, scores = [1, 1, 1, 1, 0, 0, 0], [0.9, 0.8, 0.6, 0.3, 0.7, 0.2, 0.1]
    reason = "it flags every pneumonia in validation"
    for threshold in (0.3, 0.25, 0.0):  # all meet sensitivity 1.0; 0.3 is the highest that does
        assert "the highest threshold meeting the target, 0.3" in check_threshold(threshold, labels, scores, 1.0, reason)
    with pytest.raises(DecisionNotSupported, match="3/4 = 75.0 %"):
        check_threshold(0.5, labels, scores, 1.0, reason)
    with pytest.raises(ValueError, match="no example of the positive class"):
        check_threshold(0.5, [0, 0], [0.1, 0.2], 0.9, reason)
