"""Notebook 14 in a fresh runtime (issue 18): its comparisons appear with an empty results folder.

A new Colab runtime has no record of any other notebook. Notebook 14 computes every comparison it
teaches in place; notebook 10's record is an optional extra. These tests point
``TLCOURSE_RESULTS_DIR`` at an empty folder and check (mechanics, not accuracy):

* the notebook reads no record except in the optional text cell;
* that cell runs and says the section's comparison is the one computed in place;
* with a record of notebook 10, the same cell compares its seeds with the course's rule;
* the section-3 comparison (scratch vs a transfer recipe, ``limits.versus_scratch``) is built
  from runs made in place, with no record anywhere.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from tlcourse import lab, limits, shapes
from tlcourse.results import load_result, save_result

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "14_when_transfer_does_not_help.ipynb"


def _code_cells() -> list[str]:
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    return ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]


def _record_cell() -> str:
    reading = [source for source in _code_cells() if "load_result(" in source]
    assert len(reading) == 1, f"notebook 14 should read one record (notebook 10's, optional), found {len(reading)} cells"
    return reading[0]


def _run_cell(source: str) -> str:
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(source, {"limits": limits, "load_result": load_result, "settings": SimpleNamespace(name="smoke")})
    return output.getvalue()


@pytest.fixture
def empty_results(tmp_path, monkeypatch):
    folder = tmp_path / "results"
    folder.mkdir()
    monkeypatch.setenv("TLCOURSE_RESULTS_DIR", str(folder))
    return folder


def test_notebook_14_reads_only_the_optional_record_of_notebook_10():
    source = _record_cell()
    assert '"10_applications_nlp_bert"' in source and "limits.text_record_lines" in source


def test_the_text_extra_runs_in_a_fresh_runtime_and_points_at_the_comparison_made_here(empty_results):
    printed = _run_cell(_record_cell())
    assert "No record of notebook 10" in printed and "computed here" in printed
    assert "Google Drive" in printed, "say how to keep records between Colab runtimes"
    assert not any(empty_results.iterdir()), "reading must not write anything"


def test_the_text_extra_compares_notebook_10s_seeds_when_its_record_exists(empty_results):
    rows = [{"method": method, "budget": budget, "seed": seed, "steps": 10, "val_accuracy": accuracy}
            for budget, bonus in ((20, 0.2), (200, 0.0))
            for seed, noise in enumerate((0.00, 0.02, 0.01))
            for method, accuracy in (("fine-tuned", 0.6 + bonus + noise), ("scratch", 0.55 + noise))]
    save_result("10_applications_nlp_bert", "smoke", rows=rows)
    lines = _run_cell(_record_cell()).splitlines()
    assert len(lines) == 2 and lines[0].startswith("text (validation),     20 reviews")
    assert lines[1].startswith("text (validation),    200 reviews")
    assert all(any(outcome in line for outcome in limits.OUTCOMES) and "3 seeds" in line for line in lines)


def test_the_section_3_comparison_is_built_in_place_with_no_record(empty_results):
    assert load_result("10_applications_nlp_bert", "smoke") is None
    validation = shapes.make_shapes(shapes.TARGET_SHAPES, 1, 32, seed=limits.VALIDATION_SEED)
    rows = limits.run_shapes(lab.build_base(32, seed=0), [1], [0, 1], steps={1: 2}, validation=validation,
                             pool_per_class=1, methods=["scratch", "frozen"])
    verdict = limits.versus_scratch(rows, rows, "frozen", 1)
    assert verdict.runs == 2 and verdict.names == ("frozen", "scratch")
    assert limits.transfer_outcome(verdict) in limits.OUTCOMES and "2 seeds" in verdict.text
