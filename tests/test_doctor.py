"""`python -m tlcourse doctor` says what is ready and what is not, offline and fast."""

from __future__ import annotations

import pytest

from tlcourse import doctor, prefetch
from tlcourse.needs import presets


def offline() -> None:
    raise OSError("no route to host")


def online() -> None:
    return None


def by_name(checks):
    return {check.name: check for check in checks}


@pytest.fixture
def caches(tmp_path, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path / "kagglehub"))
    return tmp_path


def fill(tmp_path):
    models = tmp_path / "keras" / "models"
    models.mkdir(parents=True)
    for backbone, size in prefetch.WEIGHTS:
        (models / doctor.weight_file(backbone, size)).touch()
    for name in set(presets(profile="quick")) | set(presets(profile="full")):  # kagglehub's layout
        folder = doctor.preset_folder(prefetch.preset_handle(name), str(tmp_path / "kagglehub"))
        folder.mkdir(parents=True)
        (folder / "config.json").write_text("{}")


def test_every_prefetched_backbone_has_a_weight_file_name():
    for backbone, size in prefetch.WEIGHTS:
        assert doctor.weight_file(backbone, size).endswith(".h5")
    assert doctor.weight_file("MobileNetV2", 160) == "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_160_no_top.h5"
    with pytest.raises(ValueError, match="WEIGHT_FILES"):
        doctor.weight_file("NoSuchNet", 224)


def test_empty_cache_says_not_cached_and_names_prefetch(caches):
    checks = by_name(doctor.report("quick", network=online, tfds_dir=str(caches / "tfds"),
                                   keras_home=str(caches / "keras")))
    assert not checks["dataset tf_flowers"].ok  # the real tfds check, on an empty folder
    for backbone, size in prefetch.WEIGHTS:
        check = checks[f"weights {backbone} @ {size} px"]
        assert not check.ok and check.needed and "not cached" in check.detail
        assert check.fix == "python -m tlcourse prefetch"
    assert "✗ weights MobileNetV2 @ 160 px" in doctor.format_report(list(checks.values()))
    bert = checks["preset bert_tiny_en_uncased"]
    assert not bert.ok and bert.needed and "not cached" in bert.detail
    assert bert.fix == "python -m tlcourse prefetch --notebooks 10 --profile quick"
    assert checks["preset whisper_tiny_en"].fix == "python -m tlcourse prefetch --notebooks 11 --profile quick"
    assert "preset whisper_base_en" not in checks  # full's
    ten = checks["notebook 10"]
    assert not ten.ok and "bert_tiny_en_uncased_sst2" in ten.detail
    assert ten.fix == "python -m tlcourse prefetch --notebooks 10 --profile quick"


def test_smoke_profile_does_not_need_downloads(caches):
    checks = doctor.report("smoke", network=offline, tfds_dir=str(caches / "tfds"),
                           keras_home=str(caches / "keras"), is_prepared=lambda name, folder: False)
    downloads = [check for check in checks if check.name.startswith(("dataset", "weights", "preset"))]
    assert any(check.name.startswith("preset") for check in downloads)
    assert downloads and all(not check.ok and not check.needed for check in downloads)
    assert all("not needed in smoke" in check.detail for check in downloads)
    assert by_name(checks)["network"].mark == "!"


def test_filled_cache_shows_ready(caches):
    fill(caches)
    seen = []

    def prepared(name, folder):
        seen.append((name, folder))
        return True

    checks = doctor.report("quick", network=online, tfds_dir=str(caches / "tfds"),
                           keras_home=str(caches / "keras"), is_prepared=prepared)
    named = by_name(checks)
    assert seen == [(name, str(caches / "tfds")) for name in prefetch.DATASETS]
    for name in prefetch.DATASETS:
        assert named[f"dataset {name}"].ok
    for backbone, size in prefetch.WEIGHTS:
        assert named[f"weights {backbone} @ {size} px"].ok
    for name in presets(profile="quick"):
        assert named[f"preset {name}"].ok and named[f"preset {name}"].detail == "cached"
    assert named["notebook 10"].ok and named["notebook 11"].ok, named["notebook 11"]
    assert named["network"].ok
    assert named["profile"].detail == "quick"


def test_network_unreachable_gives_the_fix(caches):
    checks = doctor.report("quick", network=offline, tfds_dir=str(caches / "tfds"),
                           keras_home=str(caches / "keras"), is_prepared=lambda name, folder: False)
    network = by_name(checks)["network"]
    assert not network.ok and network.needed  # downloads are missing, so the network is needed
    assert "no route to host" in network.detail
    text = doctor.format_report(checks)
    assert "✗ network" in text and "fix: check the connection" in text and "python -m tlcourse prefetch" in text


def test_versions_are_checked_against_the_supported_ranges():
    ranges = doctor.supported_ranges()
    assert set(ranges) == {"tensorflow", "keras", "tensorflow-datasets"}
    too_old = doctor._version_check("keras", ">=99")
    assert not too_old.ok and too_old.fix == 'pip install "keras>=99"'


def test_fallback_ranges_are_pyprojects_and_have_no_upper_bound():
    """An upper bound would make the install impossible the day Colab moves on (issue 18)."""
    import tomllib
    from pathlib import Path

    from packaging.requirements import Requirement

    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
    declared = {(req := Requirement(line)).name: str(req.specifier) for line in project["dependencies"]}
    declared.update({(req := Requirement(line)).name: str(req.specifier)
                     for line in project["optional-dependencies"]["hub"]})
    assert {name: declared[name] for name in doctor.SUPPORTED} == doctor.SUPPORTED
    for name in ("tensorflow", "keras", "tensorflow-datasets", "keras-hub", "tensorflow-text"):
        assert "<" not in declared[name] and "==" not in declared[name], f"{name}{declared[name]} has a cap"


def test_bad_arguments_are_refused(caches):
    with pytest.raises(ValueError, match="profile"):
        doctor.report("fast", network=online)


def test_cli_exit_code(caches, monkeypatch, capsys):
    monkeypatch.setattr(doctor, "check_network", offline)
    monkeypatch.setattr(doctor, "_tfds_prepared", lambda name, folder: False)
    monkeypatch.setenv("TLCOURSE_PROFILE", "quick")
    assert prefetch.main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "fix: python -m tlcourse prefetch" in out and "problem(s)" in out

    fill(caches)
    # An imported Keras keeps the cache folder it chose at import: point the lookup at tmp_path.
    monkeypatch.setattr("tlcourse.paths.keras_cache_dir", lambda: str(caches / "keras"))
    monkeypatch.setattr(doctor, "check_network", online)
    monkeypatch.setattr(doctor, "_tfds_prepared", lambda name, folder: True)
    monkeypatch.setattr(doctor, "MIN_FREE_GB", 0.0)
    assert prefetch.main(["doctor"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("Ready.")

    monkeypatch.setenv("TLCOURSE_PROFILE", "smoke")
    monkeypatch.setattr(doctor, "check_network", offline)
    monkeypatch.setattr(doctor, "_tfds_prepared", lambda name, folder: False)
    assert prefetch.main(["doctor"]) == 0


def test_report_says_per_notebook_what_is_missing_and_the_command_for_it(tmp_path):
    from tlcourse.doctor import report, weight_file

    models = tmp_path / "keras" / "models"
    models.mkdir(parents=True)
    (models / weight_file("MobileNetV2", 160)).write_bytes(b"x")
    checks = {check.name: check for check in report(
        "quick", network=lambda: None, tfds_dir=str(tmp_path / "tfds"), keras_home=str(tmp_path / "keras"),
        is_prepared=lambda name, data_dir: True)}
    assert checks["notebook 01"].ok and checks["notebook 01"].detail == "downloads nothing"
    assert checks["notebook 05"].ok, checks["notebook 05"]
    three = checks["notebook 03"]
    assert not three.ok and "ResNet50@224" in three.detail and "MobileNetV2" not in three.detail
    assert three.fix == "python -m tlcourse prefetch --notebooks 03 --profile quick"


def test_a_preset_folder_without_config_json_is_not_cached(caches):
    folder = doctor.preset_folder(prefetch.preset_handle("whisper_tiny_en"), str(caches / "kagglehub"))
    folder.mkdir(parents=True)  # an interrupted download
    checks = by_name(doctor.report("quick", network=online, is_prepared=lambda name, folder: True))
    assert not checks["preset whisper_tiny_en"].ok
    (folder / "config.json").write_text("{}")
    checks = by_name(doctor.report("quick", network=online, is_prepared=lambda name, folder: True))
    assert checks["preset whisper_tiny_en"].ok
    assert doctor.preset_folder("kaggle://keras/bert/keras/bert_tiny_en_uncased/3", "c").parts[-3:] == (
        "keras", "bert_tiny_en_uncased", "3")
    with pytest.raises(ValueError, match="versioned"):
        doctor.preset_folder("keras/bert/keras/bert_tiny_en_uncased", "c")


def test_without_keras_hub_presets_say_so_and_do_not_crash(caches, monkeypatch):
    def no_hub(name):
        raise ModuleNotFoundError("no keras_hub", name="keras_hub")

    monkeypatch.setattr(prefetch, "preset_handle", no_hub)
    checks = doctor.report("quick", network=online, is_prepared=lambda name, folder: True)
    named = by_name(checks)
    bert = named["preset bert_tiny_en_uncased"]
    assert bert.mark == "!" and bert.detail == "needs keras-hub" and bert.fix == doctor.HUB_FIX
    ten = named["notebook 10"]
    assert ten.mark == "!" and "keras-hub" in ten.detail and ten.fix.startswith(doctor.HUB_FIX)
    assert "! preset bert_tiny_en_uncased: needs keras-hub" in doctor.format_report(checks)


def test_prefetch_preset_downloads_the_registry_handle_and_marks_each_file(caches, monkeypatch):
    import kagglehub
    import keras_hub
    from kagglehub.cache import Cache
    from kagglehub.handle import parse_model_handle

    handle = keras_hub.models.Backbone.presets["bert_tiny_en_uncased"]["kaggle_handle"].removeprefix("kaggle://")
    assert handle.startswith("keras/bert/keras/bert_tiny_en_uncased/")
    hosts, asked = [], []
    folder = doctor.preset_folder(handle, str(caches / "kagglehub"))

    def fake_download(wanted, path=None):
        asked.append((wanted, path))
        (folder / "assets").mkdir(parents=True)
        (folder / "config.json").write_text("{}")
        (folder / "assets" / "vocabulary.txt").write_text("[PAD]")
        return str(folder)

    monkeypatch.setattr(kagglehub, "model_download", fake_download)
    monkeypatch.setattr(prefetch, "require_network", lambda what, host: hosts.append(host))
    prefetch.prefetch_preset("bert_tiny_en_uncased")
    assert asked == [(handle, None)] and hosts == [prefetch.PRESET_HOST]
    cache = Cache()  # from_preset asks kagglehub for one file at a time: each must count as cached
    for path in ("config.json", "assets/vocabulary.txt"):
        assert cache.load_from_cache(parse_model_handle(handle), path) == str(folder / path)
    assert by_name(doctor.report("quick", network=online, is_prepared=lambda name, folder: True))[
        "preset bert_tiny_en_uncased"].ok


def test_prefetch_preset_refuses_unknown_names_and_names_the_hub_fix(caches, monkeypatch, capsys):
    with pytest.raises(ValueError, match="bert_tiny_en_uncasd.*not a KerasHub preset"):
        prefetch.prefetch_preset("bert_tiny_en_uncasd")
    with pytest.raises(ValueError, match="e.g. bert_tiny_en_uncased"):
        prefetch.preset_handle("no_such_preset")
    monkeypatch.setitem(__import__("sys").modules, "keras_hub", None)  # as if not installed
    with pytest.raises(ImportError, match=r'pip install "tlcourse\[hub\]"'):
        prefetch.preset_handle("bert_tiny_en_uncased")
    monkeypatch.setenv("TLCOURSE_DATA_DIR", "unchanged")  # restored after the test (--data-dir sets it)
    assert prefetch.main(["prefetch", "--data-dir", str(caches), "--notebooks", "03", "--datasets",
                          "--backbones", "--presets", "bert_tiny_en_uncased"]) == 1  # a failure, not a crash
    assert 'pip install "tlcourse[hub]"' in capsys.readouterr().err


def test_the_short_report_lists_only_the_problems_and_counts_the_rest(caches):
    checks = doctor.report("quick", network=offline, tfds_dir=str(caches / "tfds"),
                           keras_home=str(caches / "keras"), is_prepared=lambda name, folder: False)
    short, full = doctor.format_report(checks, short=True), doctor.format_report(checks)
    passed = [check for check in checks if check.ok]
    assert passed and len(short.splitlines()) < len(full.splitlines())
    assert not any(f"✓ {check.name}:" in short for check in passed)
    assert f"✓ {len(passed)} of {len(checks)} checks passed" in short
    assert "✗ network" in short and "fix: check the connection" in short and "problem(s)" in short


def test_format_report_counts_a_generator_of_checks_and_refuses_other_things():
    """A generator was used up by the first pass: the count then failed with a raw TypeError."""
    checks = [doctor.Check("a", True, "fine"), doctor.Check("b", False, "bad", "do x")]
    assert doctor.format_report(iter(checks), short=True) == doctor.format_report(checks, short=True)
    assert doctor.format_report(iter(checks)).endswith("1 problem(s) for this profile.")
    for wrong in (checks[0], None, ["x"]):
        with pytest.raises(TypeError, match="expected"):
            doctor.format_report(wrong)
