"""prefetch's plan (tlcourse.needs) forgets nothing a notebook loads, read from the notebooks' code."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from tlcourse.course import COURSE_MAP
from tlcourse.models import BACKBONES
from tlcourse import prefetch
from tlcourse.needs import NEEDS, PRESETS, plan, presets
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
        choosing = get_settings(profile).choosing
        for field, count in re.findall(r"settings\.choosing\b(?:\.(\w+))?(?:\[:(\d+)\])?", code):
            if field in ("backbones", "probe_backbones"):  # a list of names, perhaps its first `count`
                named = getattr(choosing, field)
                backbones |= set(named[:int(count)] if count else named)
            elif not field:  # the group itself (e.g. CHOOSING = settings.choosing): every backbone it names
                backbones |= set(choosing.backbones)
    return datasets, backbones & set(BACKBONES)


def _preset_fields() -> dict[str, set[str]]:
    """``{field: {"group.field", ...}}`` for every ``*_preset`` field of the settings groups."""
    found: dict[str, set[str]] = {}
    settings = get_settings("quick")
    for group in dataclasses.fields(settings):
        value = getattr(settings, group.name)
        if dataclasses.is_dataclass(value):
            for field in dataclasses.fields(value):
                if field.name.endswith("_preset"):
                    found.setdefault(field.name, set()).add(f"{group.name}.{field.name}")
    return found


def presets_loaded_by(code: str) -> tuple[set[str], set[str]]:
    """Settings paths of the ``*_preset`` attributes a notebook's code reads, and the presets it names."""
    fields = _preset_fields()
    paths = set().union(*(fields[name] for name in re.findall(r"\.(\w+_preset)\b", code) if name in fields))
    names = set(re.findall(r"from_preset\(\s*[\"']([\w.-]+)[\"']", code))
    return paths, names


AVAILABLE = [lesson for lesson in COURSE_MAP if lesson.available]


@pytest.mark.parametrize("lesson", AVAILABLE, ids=lambda lesson: lesson.filename)
def test_plan_covers_what_each_notebook_loads(lesson):
    datasets, backbones = loaded_by(_code(lesson))
    needs = NEEDS.get(lesson.number)
    planned_datasets = set(plan([lesson.number], "quick")[0]) | set(plan([lesson.number], "full")[0])
    planned_backbones = set(needs.backbones) if needs else set()
    assert datasets <= planned_datasets, (
        f"{lesson.filename} loads {sorted(datasets - planned_datasets)}, which tlcourse.needs.NEEDS "
        f"[{lesson.number}] forgets: prefetch would leave them out")
    assert backbones <= planned_backbones, (
        f"{lesson.filename} builds {sorted(backbones - planned_backbones)}, which tlcourse.needs.NEEDS "
        f"[{lesson.number}] forgets: prefetch would leave them out")


@pytest.mark.parametrize("lesson", AVAILABLE, ids=lambda lesson: lesson.filename)
def test_presets_cover_what_each_notebook_loads(lesson):
    paths, names = presets_loaded_by(_code(lesson))
    planned = set(PRESETS.get(lesson.number, ()))
    assert paths <= planned, (
        f"{lesson.filename} reads {sorted(paths - planned)}, which tlcourse.needs.PRESETS[{lesson.number}] "
        "forgets: prefetch would leave those presets out")
    resolved = set(presets([lesson.number], "quick")) | set(presets([lesson.number], "full"))
    assert names <= resolved, (
        f"{lesson.filename} loads {sorted(names - resolved)} with from_preset, which no settings path in "
        f"tlcourse.needs.PRESETS[{lesson.number}] resolves to")


def test_the_scanner_sees_what_it_should():
    datasets, backbones = loaded_by('DATASET = "tf_flowers"\nbase = keras.applications.ResNet50(weights=w)')
    assert datasets == {"tf_flowers"} and backbones == {"ResNet50"}
    quick, full = get_settings("quick").choosing, get_settings("full").choosing
    assert loaded_by("CANDIDATES = settings.choosing.probe_backbones[:2]")[1] == {*quick.probe_backbones[:2],
                                                                             *full.probe_backbones[:2]}
    assert loaded_by("CHOOSING = settings.choosing")[1] == {*quick.backbones, *full.backbones}
    assert loaded_by("epochs = settings.choosing.probe_epochs")[1] == set()  # a number, not a backbone
    paths, names = presets_loaded_by('NLP = settings.nlp\nm = build(NLP.backbone_preset)\n'
                                     'd = keras_hub.models.DFineObjectDetector.from_preset("dfine_nano_coco")')
    assert paths == {"nlp.backbone_preset"} and names == {"dfine_nano_coco"}


def test_presets_follow_the_profile():
    assert presets([10, 11], "quick") == ["bert_tiny_en_uncased", "bert_tiny_en_uncased_sst2", "gpt2_base_en",
                                      "whisper_tiny_en"]
    assert presets([11, 10], "full") == ["bert_small_en_uncased", "bert_tiny_en_uncased_sst2", "gpt2_base_en",
                                     "whisper_base_en"]
    assert presets([3, 3], "quick") == [] and presets([], "full") == []
    every = presets(profile="quick")
    assert len(every) == len(set(every)) and get_settings("quick").robotics.detector_preset in every
    with pytest.raises(ValueError, match="no notebook 42"):
        presets([42])
    with pytest.raises(ValueError, match="smoke downloads nothing"):
        presets([10], "smoke")


def test_default_prefetch_covers_every_notebooks_plan(tmp_path, monkeypatch):
    done: dict[str, list] = {"dataset": [], "weights": [], "preset": []}
    monkeypatch.setattr(prefetch, "prefetch_dataset", lambda name: done["dataset"].append(name))
    monkeypatch.setattr(prefetch, "prefetch_weights", lambda name, size: done["weights"].append((name, size)))
    monkeypatch.setattr(prefetch, "prefetch_preset", lambda name: done["preset"].append(name))
    for variable in ("TFDS_DATA_DIR", "KERAS_HOME", "KAGGLEHUB_CACHE", "TLCOURSE_DATA_DIR"):
        monkeypatch.setenv(variable, "unchanged")  # restored after the test (--data-dir sets them)
    assert prefetch.main(["prefetch", "--data-dir", str(tmp_path)]) == 0
    for profile in PROFILES:
        datasets, weights = plan(profile=profile)
        assert set(datasets) <= set(done["dataset"]) and set(weights) <= set(done["weights"])
        for lesson in AVAILABLE:
            assert set(presets([lesson.number], profile)) <= set(done["preset"]), (lesson.filename, profile)
    assert len(done["preset"]) == len(set(done["preset"]))

    done["preset"].clear()
    assert prefetch.main(["prefetch", "--data-dir", str(tmp_path), "--notebooks", "11", "--profile", "full",
                          "--presets", "bert_tiny_en_uncased"]) == 0
    assert done["preset"] == ["bert_tiny_en_uncased"]  # --presets replaces the plan's list


def test_default_prefetch_lists_are_the_union_of_the_plans():
    for profile in PROFILES:
        datasets, weights = plan(profile=profile)
        assert set(datasets) <= set(DATASETS)
        assert set(weights) <= set(WEIGHTS), f"prefetch.WEIGHTS misses {set(weights) - set(WEIGHTS)} for {profile}"


def test_plan_for_one_notebook_and_its_errors():
    assert plan([3], "full") == (["tf_flowers"], [("MobileNetV2", 224), ("MobileNetV3Small", 224),
                                                  ("EfficientNetB0", 224), ("ResNet50", 224)])
    assert plan([0, 1], "quick") == ([], [])
    # 13 builds its bases at its own (smaller) side in quick: MobileNetV2's file follows it
    assert ("MobileNetV2", get_settings("quick").healthcare.image_size) in plan([13], "quick")[1]
    with pytest.raises(ValueError, match="no notebook 42"):
        plan([42])
    with pytest.raises(ValueError, match="smoke downloads nothing"):
        plan([3], "smoke")


def test_quick_prefetch_fetches_the_profile_s_own_speech_dataset_only():
    """Notebook 11 loads spoken_digit in quick and speech_commands (2.4 GiB) in full: each plan names its own."""
    assert plan([11], "quick")[0] == [get_settings("quick").speech.dataset] == ["spoken_digit"]
    assert plan([11], "full")[0] == [get_settings("full").speech.dataset] == ["speech_commands"]
    assert "speech_commands" not in plan(None, "quick")[0]
