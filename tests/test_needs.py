"""prefetch's plan (tlcourse.needs) forgets nothing a notebook loads, read from the notebooks' code."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tlcourse.course import COURSE_MAP
from tlcourse.models import BACKBONES
from tlcourse.needs import NEEDS, plan
from tlcourse.prefetch import DATASETS, WEIGHTS
from tlcourse.settings import get_settings

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PROFILES = ("quick", "full")


def _code(lesson) -> str:
    cells = json.loads((NOTEBOOKS / lesson.filename).read_text())["cells"]
    return "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")


def loaded_by(code: str) -> tuple[set[str], set[str]]:
    """Datasets and backbones a notebook's code names, in any profile."""
    datasets = set(re.findall(r"DATASET\w* = \"(\w+(?:/\w+)?)\"", code))
    datasets |= set(re.findall(r"load_splits\(\s*\"(\w+)\"", code))
    backbones = set(re.findall(r"keras\.applications\.(\w+)\(", code))
    backbones |= {name for name in BACKBONES if f'"{name}"' in code}
    for profile in PROFILES:  # backbones the notebook takes from its settings group
        settings = get_settings(profile)
        if "settings.choosing" in code:
            backbones |= set(settings.choosing.backbones)
        if "other_backbone" in code:
            backbones.add(settings.evaluation.other_backbone)
    return datasets, backbones & set(BACKBONES)


AVAILABLE = [lesson for lesson in COURSE_MAP if lesson.available]


@pytest.mark.parametrize("lesson", AVAILABLE, ids=lambda lesson: lesson.filename)
def test_plan_covers_what_each_notebook_loads(lesson):
    datasets, backbones = loaded_by(_code(lesson))
    needs = NEEDS.get(lesson.number)
    planned_datasets = set(needs.datasets) if needs else set()
    planned_backbones = set(needs.backbones) if needs else set()
    assert datasets <= planned_datasets, (
        f"{lesson.filename} loads {sorted(datasets - planned_datasets)}, which tlcourse.needs.NEEDS "
        f"[{lesson.number}] forgets: prefetch would leave them out")
    assert backbones <= planned_backbones, (
        f"{lesson.filename} builds {sorted(backbones - planned_backbones)}, which tlcourse.needs.NEEDS "
        f"[{lesson.number}] forgets: prefetch would leave them out")


def test_the_scanner_sees_what_it_should():
    datasets, backbones = loaded_by('DATASET = "tf_flowers"\nbase = keras.applications.ResNet50(weights=w)')
    assert datasets == {"tf_flowers"} and backbones == {"ResNet50"}


def test_default_prefetch_lists_are_the_union_of_the_plans():
    for profile in PROFILES:
        datasets, weights = plan(profile=profile)
        assert set(datasets) <= set(DATASETS)
        assert set(weights) <= set(WEIGHTS), f"prefetch.WEIGHTS misses {set(weights) - set(WEIGHTS)} for {profile}"


def test_plan_for_one_notebook_and_its_errors():
    assert plan([3], "full") == (["tf_flowers"], [("MobileNetV2", 224), ("ResNet50", 224)])
    assert plan([0, 1], "quick") == ([], [])
    with pytest.raises(ValueError, match="no notebook 42"):
        plan([42])
    with pytest.raises(ValueError, match="smoke downloads nothing"):
        plan([3], "smoke")
