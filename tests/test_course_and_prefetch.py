"""The course map matches the notebooks; `python -m tlcourse prefetch` reports failures clearly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tlcourse import prefetch
from tlcourse.course import COURSE_MAP, is_lesson_filename
from tlcourse.downloads import DownloadError
from tlcourse.needs import presets

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def test_course_map_matches_notebooks_folder():
    on_disk = sorted(path.name for path in NOTEBOOKS.glob("*.ipynb") if is_lesson_filename(path))
    ready = sorted(lesson.filename for lesson in COURSE_MAP if lesson.available)
    assert ready == on_disk, "mark a lesson available in tlcourse/course.py exactly when its notebook exists"
    numbers = [lesson.number for lesson in COURSE_MAP]
    assert numbers == list(range(len(COURSE_MAP))), f"lesson numbers must run 0, 1, 2, …: {numbers}"


def test_prefetch_reports_each_failure_and_exits_nonzero(monkeypatch, capsys):
    def offline(*args):
        raise DownloadError("Could not download X: no network.\nFix: python -m tlcourse prefetch")

    monkeypatch.setattr(prefetch, "prefetch_dataset", offline)
    monkeypatch.setattr(prefetch, "prefetch_weights", offline)
    monkeypatch.setattr(prefetch, "prefetch_preset", offline)
    assert prefetch.main(["prefetch", "--datasets", "tf_flowers", "--backbones", "MobileNetV2@160",
                          "--presets", "bert_tiny_en_uncased"]) == 1
    captured = capsys.readouterr()
    assert captured.err.count("✗") == 3 and "no network" in captured.err
    assert "0 of 3 ready." in captured.out


def test_prefetch_succeeds_when_every_job_does(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(prefetch, "prefetch_dataset", lambda name: calls.append(name))
    monkeypatch.setattr(prefetch, "prefetch_weights", lambda name, size: calls.append((name, size)))
    monkeypatch.setattr(prefetch, "prefetch_preset", lambda name: calls.append(f"preset {name}"))
    assert prefetch.main(["prefetch"]) == 0
    hub = {f"preset {name}" for profile in ("quick", "full") for name in presets(profile=profile)}
    assert sorted(map(str, calls)) == sorted(map(str, list(prefetch.DATASETS) + list(prefetch.WEIGHTS) + sorted(hub)))
    assert f"{len(calls)} of {len(calls)} ready." in capsys.readouterr().out


def test_prefetch_core_fetches_exactly_the_core_path_s_plan(monkeypatch, capsys):
    from tlcourse.course import core_path
    from tlcourse.needs import plan

    calls = []
    monkeypatch.setattr(prefetch, "prefetch_dataset", lambda name: calls.append(name))
    monkeypatch.setattr(prefetch, "prefetch_weights", lambda name, size: calls.append((name, size)))
    monkeypatch.setattr(prefetch, "prefetch_preset", lambda name: calls.append(f"preset {name}"))
    assert prefetch.main(["prefetch", "--notebooks", "core", "--profile", "quick"]) == 0
    datasets, weights = plan([lesson.number for lesson in core_path()], "quick")
    assert calls == [*datasets, *weights] and datasets == ["tf_flowers"], calls
    assert ("EfficientNetB0", 224) in calls, "03's exercise probes the first of 07's candidates"
    assert ("VGG16", 224) not in calls and ("MobileNetV2", 128) not in calls  # 07 and 04 are optional


def test_prefetch_rejects_malformed_backbone_items():
    with pytest.raises(SystemExit):
        prefetch.main(["prefetch", "--datasets", "--backbones", "MobileNetV2"])


def test_prefetch_names_unknown_items_without_downloading(capsys):
    assert prefetch.main(["prefetch", "--datasets", "no_such_set", "--backbones", "ResNet9@224"]) == 1
    err = capsys.readouterr().err
    assert "Choose one of: tf_flowers" in err and "Choose one of: MobileNetV2" in err


def test_real_weights_download_offline_fails_with_the_fix(monkeypatch):
    import keras

    def no_network(*args, **kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/x.h5: None -- [Errno -2]")

    monkeypatch.setattr(keras.utils, "get_file", no_network)
    monkeypatch.setattr("keras.src.utils.file_utils.get_file", no_network, raising=False)
    with pytest.raises(DownloadError, match="TLCOURSE_PROFILE=smoke"):
        prefetch.prefetch_weights("MobileNetV2", 96)


def test_readme_lists_every_available_lesson_and_no_planned_one():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    linked = set(re.findall(r"\]\(notebooks/(\d\d_\w+\.ipynb)\)", readme))
    available = {lesson.filename for lesson in COURSE_MAP if lesson.available}
    assert linked == available, (
        f"README.md's course table links {sorted(linked - available)} that the course map does not mark "
        f"available, and misses {sorted(available - linked)}. Keep README, notebook 00 and "
        "tlcourse.course.COURSE_MAP in step.")


def test_every_lesson_extra_is_an_optional_dependency_group():
    import tomllib
    from pathlib import Path

    from tlcourse.course import COURSE_MAP

    groups = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())[
        "project"]["optional-dependencies"]
    for lesson in COURSE_MAP:
        for extra in lesson.extras:
            assert extra in groups, f"{lesson.filename} needs tlcourse[{extra}], which pyproject.toml does not define"


def test_lesson_for_names_the_fix_for_an_unknown_file():
    import pytest

    from tlcourse.course import lesson_for

    assert lesson_for("03_how_transfer_learning_works.ipynb").number == 3
    with pytest.raises(ValueError, match="COURSE_MAP"):
        lesson_for("99_nothing.ipynb")


def test_lesson_for_takes_a_path_and_suggests_the_closest_name():
    from pathlib import Path

    import pytest

    from tlcourse.course import lesson_for

    assert lesson_for("notebooks/03_how_transfer_learning_works.ipynb").number == 3
    assert lesson_for(Path("notebooks") / "03_how_transfer_learning_works.ipynb").number == 3
    with pytest.raises(ValueError, match=r"Did you mean '03_how_transfer_learning_works.ipynb'\?"):
        lesson_for("notebooks/03_how_transfer_learning_works-Copy1.ipynb")
    with pytest.raises(TypeError, match="Fix: "):
        lesson_for(3)


def test_each_notebook_quotes_its_german_article_section():
    import json

    from tlcourse.course import COURSE_MAP

    folder = Path(__file__).resolve().parents[1] / "notebooks"
    for lesson in COURSE_MAP:
        path = folder / lesson.filename
        if not lesson.article_de or not path.exists():
            continue
        first_cell = "".join(json.loads(path.read_text())["cells"][0]["source"])
        assert f"„{lesson.article_de}“" in first_cell, (
            f"{lesson.filename}: the first cell should quote the article section „{lesson.article_de}“ "
            "(tlcourse.course.COURSE_MAP's article_de), in the article's own German words")


def test_readme_has_the_english_german_glossary():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "## The article's words (English ↔ German)" in readme
    for english, german in (("pretrained model", "vortrainiertes Modell"), ("fine-tuning", "Feinabstimmung"),
                            ("feature extraction", "Merkmalsextraktion"), ("frozen", "eingefroren")):
        assert f"| {english}" in readme and german in readme, f"README's glossary lacks {english} ↔ {german}"


def test_prefetch_for_some_notebooks_in_one_profile_into_a_chosen_folder(monkeypatch, tmp_path, capsys):
    for key in ("TLCOURSE_DATA_DIR", "TFDS_DATA_DIR", "KERAS_HOME", "KAGGLEHUB_CACHE"):
        monkeypatch.setenv(key, "unchanged")  # restored after the test
    calls = []
    monkeypatch.setattr(prefetch, "prefetch_dataset", lambda name: calls.append(name))
    monkeypatch.setattr(prefetch, "prefetch_weights", lambda name, size: calls.append((name, size)))
    (tmp_path / "usb" / "keras" / "models").mkdir(parents=True)
    (tmp_path / "usb" / "keras" / "models" / "w.h5").write_bytes(b"x" * 2_000_000)
    assert prefetch.main(["prefetch", "--notebooks", "03", "--profile", "quick",
                          "--data-dir", str(tmp_path / "usb")]) == 0
    assert calls == ["tf_flowers", ("MobileNetV2", 160), ("MobileNetV3Small", 224), ("EfficientNetB0", 224),
                     ("ResNet50", 224)]
    import os
    assert os.environ["TFDS_DATA_DIR"] == str(tmp_path / "usb" / "tfds")
    assert os.environ["KAGGLEHUB_CACHE"] == str(tmp_path / "usb" / "kagglehub")
    out = capsys.readouterr().out
    assert "[5/5]" in out and "KERAS_HOME 2.0 MB" in out and "5 of 5 ready." in out


def test_prefetch_refuses_unknown_notebooks_and_bad_lists(capsys):
    with pytest.raises(SystemExit):
        prefetch.main(["prefetch", "--notebooks", "3,99"])
    assert "no notebook 99" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        prefetch.main(["prefetch", "--notebooks", "three"])
    assert "lesson numbers" in capsys.readouterr().err


def test_the_core_path_teaches_every_article_step():
    from tlcourse.course import core_path

    core = core_path()
    assert all(lesson.minutes > 0 for lesson in COURSE_MAP), "every lesson states a beginner's time (minutes=)"
    steps = {lesson.article_de for lesson in COURSE_MAP if lesson.article_de}
    taught = {lesson.article_de for lesson in core} | {step for lesson in core for step in lesson.at_a_glance}
    missing = steps - taught
    assert not missing, f"the core path skips the article's step(s) {sorted(missing)}"
    assert not [lesson for lesson in COURSE_MAP if lesson.at_a_glance and not lesson.core], "at_a_glance is for core lessons"
    # Choose, fine-tune and evaluate: each a core lesson of its own, or taught at a glance by a core lesson.
    applying = [lesson for lesson in COURSE_MAP if lesson.article_step.startswith("Applying it")]
    glanced = {step for lesson in core for step in lesson.at_a_glance}
    assert len(applying) == 3, applying
    assert all(lesson.core or lesson.article_step in glanced for lesson in applying), applying
    assert sum(lesson.core for lesson in applying) >= 2, "fine-tune and evaluate stay core lessons"


def test_a_lesson_that_teaches_a_step_at_a_glance_names_its_in_depth_lessons():
    """01 shows the three advantages at a glance, 03 the choice of a pretrained model and 09 the image-recognition
    application: each names the
    optional lessons that treat its step in depth, so that a beginner knows where the rest is."""
    import json

    for lesson in (lesson for lesson in COURSE_MAP if lesson.at_a_glance):
        notebook = json.loads((Path(__file__).resolve().parents[1] / "notebooks" / lesson.filename).read_text())
        prose = "\n".join("".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "markdown")
        main_line = prose.split("## Deep dives (optional)")[0]
        for step in lesson.at_a_glance:
            treats = [other for other in COURSE_MAP if step in (other.article_de, other.article_step)]
            in_depth = [other.number for other in treats]
            assert in_depth and not any(other.core for other in treats), step
            unnamed = [number for number in in_depth if f"{number:02d}" not in main_line]
            assert not unnamed, f"{lesson.filename} teaches {step!r} at a glance but does not name lesson(s) {unnamed}"


def test_the_core_path_fits_four_hours_and_each_lesson_45_minutes():
    from tlcourse.course import (CORE_LESSON_BUDGET_MINUTES, CORE_PATH_BUDGET_MINUTES, core_path,
                                 core_path_minutes)

    assert core_path_minutes() <= CORE_PATH_BUDGET_MINUTES, (
        f"the core path takes {core_path_minutes()} min, over {CORE_PATH_BUDGET_MINUTES}: move a lesson (or a "
        "section) into a deep dive, or slim it.")
    too_long = [lesson.filename for lesson in core_path() if lesson.minutes > CORE_LESSON_BUDGET_MINUTES]
    assert not too_long, f"core lessons over {CORE_LESSON_BUDGET_MINUTES} min: {too_long}"


def test_readme_and_notebook_00_show_the_core_path_from_the_course_map():
    import json

    sys_path = str(Path(__file__).resolve().parents[1] / "tools")
    import sys
    sys.path.insert(0, sys_path)
    try:
        import nbtidy
    finally:
        sys.path.remove(sys_path)
    readme = nbtidy.README.read_text(encoding="utf-8")
    assert nbtidy.core_path_line() in readme, "README lacks the core-path line. Fix: python tools/nbtidy.py format"
    assert nbtidy.readme_text(readme) == readme, "README's course table differs from COURSE_MAP. Fix: python tools/nbtidy.py format"
    first = json.loads((Path(__file__).resolve().parents[1] / "notebooks" / COURSE_MAP[0].filename).read_text())
    code = "\n".join("".join(cell["source"]) for cell in first["cells"] if cell["cell_type"] == "code")
    assert "course_map_table(" in code, "notebook 00 must print the course map (with the core path) from COURSE_MAP"


def test_prefetch_and_plan_refuse_an_empty_or_unlisted_notebooks_argument(capsys):
    from tlcourse.course import is_lesson_filename, lesson_for
    from tlcourse.needs import plan

    for empty in ("", ","):
        with pytest.raises(SystemExit):
            prefetch.main(["prefetch", "--notebooks", empty, "--profile", "quick"])
        assert "names no lesson" in capsys.readouterr().err
    for wrong in ("03", 3):
        with pytest.raises(TypeError, match=r"expected a list of lesson numbers.*notebooks=\[3\]"):
            plan(wrong)
    with pytest.raises(TypeError, match="expected a file name or path"):
        is_lesson_filename(None)
    with pytest.raises(ValueError, match="Did you mean '03_how_transfer_learning_works.ipynb'"):
        lesson_for("03_HOW_TRANSFER_LEARNING_WORKS.ipynb")
