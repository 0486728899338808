"""A notebook that compares with another one teaches its comparison in a fresh runtime (Colab: one per notebook).

Notebook 03 compares transfer learning with notebook 02's CNN. Run here in smoke with an empty results
folder, as a fresh Colab runtime has, its final report must still show both models and a verdict
computed by ``tlcourse.stats``. Mechanics only (smoke: random weights, mock data).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "03_how_transfer_learning_works.ipynb"


def _text(cell) -> str:
    return "".join(output.get("text", "") for output in cell.get("outputs", []) if output.get("output_type") == "stream")


@pytest.mark.skipif(not NOTEBOOK.exists(), reason="needs the course's notebooks")
def test_notebook_03_compares_with_02_from_an_empty_results_folder(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    env = dict(os.environ, TLCOURSE_PROFILE="smoke", TLCOURSE_RESULTS_DIR=str(results), MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(NOTEBOOK.parents[1]), env.get("PYTHONPATH", "")) if p)
    NotebookClient(notebook, kernel_name="python3", timeout=600,
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute(env=env)
    report = next(cell for cell in notebook.cells if cell.cell_type == "code"
                  and cell.source.startswith('test_ds = test_set.read("final report")'))
    printed = _text(report)
    assert "CNN from scratch (02)" in printed and "frozen MobileNetV2 + head (03)" in printed, printed
    assert re.search(r"McNemar p = \S+, \d+ examples", printed), f"no verdict from tlcourse.stats:\n{printed}"
    everything = "\n".join(_text(cell) for cell in notebook.cells if cell.cell_type == "code")
    assert "No record of notebook 02" not in everything
    assert [path.name for path in results.rglob("*.json")] == ["03_frozen_mobilenetv2.json"]
