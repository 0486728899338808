"""Profiles, ``setup()`` and where the caches and results live (``settings.py``, ``paths.py``)."""

from __future__ import annotations

import dataclasses
import os
import random

import numpy as np
import pytest

from tlcourse import paths, settings
from tlcourse.settings import PROFILES, get_settings, profile_name, setup

VALID = ["full", "quick", "smoke"]


# --- get_settings -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", VALID)
def test_get_settings_returns_the_named_profile(name):
    chosen = get_settings(name)
    assert chosen is PROFILES[name]
    assert chosen.name == name


def test_profiles_differ_in_values_as_the_conventions_say():
    smoke, quick, full = (get_settings(name) for name in ("smoke", "quick", "full"))
    assert smoke.weights is None and smoke.mock_data and smoke.mock_examples > 0
    assert quick.weights == full.weights == "imagenet"
    assert not quick.mock_data and not full.mock_data
    assert full.image_size == 224 and full.mixed_precision and not quick.mixed_precision
    assert smoke.epochs_head <= quick.epochs_head <= full.epochs_head


def test_settings_are_frozen_and_replaceable():
    smoke = get_settings("smoke")
    with pytest.raises(dataclasses.FrozenInstanceError):
        smoke.image_size = 1  # type: ignore[misc]
    changed = dataclasses.replace(smoke, train_examples_per_class=3)
    assert changed.train_examples_per_class == 3 and smoke.train_examples_per_class is None


def test_get_settings_default_follows_the_environment(monkeypatch):
    monkeypatch.setenv("TLCOURSE_PROFILE", "quick")
    assert get_settings().name == "quick"
    monkeypatch.setenv("TLCOURSE_PROFILE", "smoke")
    assert get_settings().name == "smoke"


# --- profile_name -----------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [("smoke", "smoke"), (" Quick ", "quick"), ("FULL", "full")])
def test_profile_name_honours_the_environment_variable(monkeypatch, value, expected):
    monkeypatch.setenv("TLCOURSE_PROFILE", value)
    assert profile_name() == expected


@pytest.mark.parametrize("value", ["fast", "smoke-test", "0"])
def test_profile_name_rejects_a_bad_value(monkeypatch, value):
    monkeypatch.setenv("TLCOURSE_PROFILE", value)
    with pytest.raises(ValueError) as caught:
        profile_name()
    message = str(caught.value)
    assert "TLCOURSE_PROFILE" in message and repr(value) in message
    for name in VALID:
        assert name in message


@pytest.mark.parametrize("gpus, expected", [([], "quick"), (["/physical_device:GPU:0"], "full")])
def test_profile_name_without_the_variable_depends_on_the_gpu(monkeypatch, gpus, expected):
    monkeypatch.delenv("TLCOURSE_PROFILE", raising=False)
    monkeypatch.setattr(settings, "_gpu_names", lambda: gpus)
    assert profile_name() == expected


def test_an_empty_variable_counts_as_unset(monkeypatch):
    monkeypatch.setenv("TLCOURSE_PROFILE", "  ")
    monkeypatch.setattr(settings, "_gpu_names", lambda: [])
    assert profile_name() == "quick"


# --- setup ------------------------------------------------------------------------------------

def test_setup_prints_versions_profile_and_seed(capsys, restore_determinism):
    import keras
    import tensorflow as tf
    import tensorflow_datasets as tfds

    import tlcourse

    returned = setup("smoke", verbose=True)
    printed = capsys.readouterr().out
    assert returned == get_settings("smoke")
    for text in (f"tlcourse {tlcourse.__version__}", f"TensorFlow {tf.__version__}",
                 f"Keras {keras.__version__}", f"tfds {tfds.__version__}", "backend tensorflow",
                 "Profile: smoke", "Seed: 42", "GPU:", "KERAS_HOME", "TFDS_DATA_DIR",
                 "Mixed precision: off (the profile trains in float32)"):
        assert text in printed, f"{text!r} missing from setup()'s report:\n{printed}"
    assert keras.mixed_precision.global_policy().name == "float32"


def test_setup_quiet_prints_nothing(capsys, restore_determinism):
    setup("smoke", verbose=False)
    assert capsys.readouterr().out == ""


def test_setup_seed_overrides_the_profile_and_seeds_everything(restore_determinism):
    import keras

    first = setup("smoke", seed=7, verbose=False)
    draws = (random.random(), np.random.rand(), float(keras.random.uniform(())))
    second = setup("smoke", seed=7, verbose=False)
    assert first.seed == second.seed == 7
    assert get_settings("smoke").seed == 42, "setup(seed=...) must not change the shared profile"
    assert (random.random(), np.random.rand(), float(keras.random.uniform(()))) == draws


def test_setup_uses_the_environment_profile(monkeypatch, restore_determinism):
    monkeypatch.setenv("TLCOURSE_PROFILE", "smoke")
    assert setup(verbose=False).name == "smoke"


def test_setup_rejects_a_bad_profile(monkeypatch):
    with pytest.raises(ValueError, match="Choose one of"):
        setup("nope", verbose=False)
    monkeypatch.setenv("TLCOURSE_PROFILE", "nope")
    with pytest.raises(ValueError, match="TLCOURSE_PROFILE") as error:
        setup(verbose=False)
    assert "%env TLCOURSE_PROFILE=quick" in str(error.value), "a notebook user needs %env, not export"


def test_setup_on_a_colab_gpu_says_full_was_chosen_first(monkeypatch, capsys, restore_determinism):
    """Mechanics: a (pretended) GPU in a (stand-in) Colab picks full, and the first line says so and how to switch."""
    import sys
    import types

    import keras

    monkeypatch.delenv("TLCOURSE_PROFILE", raising=False)
    monkeypatch.setattr(settings, "_gpu_names", lambda: ["/physical_device:GPU:0"])
    monkeypatch.setattr(settings, "_gpu_compute_capabilities", lambda: [])
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    try:
        assert setup(verbose=True).name == "full"
    finally:
        keras.mixed_precision.set_global_policy("float32")
    first = capsys.readouterr().out.split("\n")[:2]
    assert first[0].startswith("Profile full, chosen because Colab's GPU is visible"), first
    assert "T4" in first[0] and "*Estimate*" in first[0] and "%env TLCOURSE_PROFILE=quick" in first[1], first


@pytest.mark.parametrize("installed, expected", [
    ({"tensorflow": "2.21.0", "keras": "3.15.1", "keras-hub": "0.32.0"}, []),
    ({"tensorflow": "2.20.0", "keras": "3.13.2", "keras-hub": None}, []),  # Colab today: older is fine
    ({"tensorflow": "2.22.0rc1", "keras": "3.15.9", "keras-hub": "1.0.0"},
     ["TensorFlow 2.22.0rc1 (tested: 2.21)", "KerasHub 1.0.0 (tested: 0.32)"]),
])
def test_newer_than_tested_names_only_newer_minor_versions(installed, expected):
    assert settings.newer_than_tested(installed) == expected


def test_setup_warns_about_untested_newer_versions(monkeypatch, restore_determinism):
    monkeypatch.setattr(settings, "newer_than_tested", lambda: ["Keras 3.99.0 (tested: 3.15)"])
    with pytest.warns(UserWarning, match=r"Keras 3\.99\.0 \(tested: 3\.15\): newer than the versions"):
        setup("smoke", verbose=False)


def test_setup_refuses_another_keras_backend(monkeypatch):
    import keras

    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(ValueError, match="KERAS_BACKEND"):
        setup("smoke", verbose=False)


# --- paths ------------------------------------------------------------------------------------

def test_configure_caches_keeps_variables_already_set(monkeypatch, tmp_path):
    monkeypatch.setattr(paths, "data_dir", lambda: tmp_path / "data")
    monkeypatch.setenv("TFDS_DATA_DIR", "/my/tfds")
    monkeypatch.setenv("KERAS_HOME", "/my/keras")
    monkeypatch.setenv("KAGGLEHUB_CACHE", "/my/kagglehub")
    assert paths.configure_caches() == {"TFDS_DATA_DIR": "/my/tfds", "KERAS_HOME": "/my/keras",
                                        "KAGGLEHUB_CACHE": "/my/kagglehub"}
    assert os.environ["TFDS_DATA_DIR"] == "/my/tfds" and os.environ["KERAS_HOME"] == "/my/keras"


def test_configure_caches_fills_unset_variables_from_the_course_folder(monkeypatch, tmp_path):
    monkeypatch.setattr(paths, "data_dir", lambda: tmp_path / "data")
    monkeypatch.delenv("TFDS_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", "/my/keras")
    monkeypatch.delenv("KAGGLEHUB_CACHE", raising=False)
    values = paths.configure_caches()
    assert values == {"TFDS_DATA_DIR": str(tmp_path / "data" / "tfds"), "KERAS_HOME": "/my/keras",
                      "KAGGLEHUB_CACHE": str(tmp_path / "data" / "kagglehub")}
    assert os.environ["TFDS_DATA_DIR"] == str(tmp_path / "data" / "tfds")


def test_configure_caches_outside_a_clone_leaves_library_defaults(monkeypatch):
    monkeypatch.setattr(paths, "data_dir", lambda: None)
    monkeypatch.delenv("TFDS_DATA_DIR", raising=False)
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.delenv("KAGGLEHUB_CACHE", raising=False)
    assert paths.configure_caches() == {"TFDS_DATA_DIR": "(library default)",
                                        "KERAS_HOME": "(library default)", "KAGGLEHUB_CACHE": "(library default)"}
    assert "TFDS_DATA_DIR" not in os.environ and "KERAS_HOME" not in os.environ


def test_repo_root_and_data_dir_agree():
    root = paths.repo_root()
    if root is None:
        assert paths.data_dir() is None
    else:
        assert (root / "pyproject.toml").is_file() and (root / "notebooks").is_dir()
        assert paths.data_dir() == root / "data"


def test_results_dir_prefers_the_environment_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("TLCOURSE_RESULTS_DIR", str(tmp_path / "mine"))
    assert paths.results_dir() == tmp_path / "mine"
    assert not (tmp_path / "mine").exists(), "results_dir() must not create the folder"


def test_results_dir_defaults(monkeypatch, tmp_path):
    monkeypatch.delenv("TLCOURSE_RESULTS_DIR", raising=False)
    monkeypatch.setattr(paths, "repo_root", lambda: tmp_path / "repo")
    assert paths.results_dir() == tmp_path / "repo" / "results"
    monkeypatch.setattr(paths, "repo_root", lambda: None)
    monkeypatch.chdir(tmp_path)
    assert paths.results_dir() == tmp_path / "tlcourse_results"


@pytest.mark.parametrize("capabilities, expected, phrase", [
    ([], False, "no GPU"),
    ([(7, 5)], True, "7.5 ≥ 7.0"),
    ([(8, 0), (9, 0)], True, "8.0, 9.0"),
    ([(6, 0)], False, "below 7.0"),
    ([(8, 0), None], False, "below 7.0"),
])
def test_mixed_precision_only_where_a_gpu_has_tensor_cores(monkeypatch, capabilities, expected, phrase):
    monkeypatch.setattr(settings, "_gpu_compute_capabilities", lambda: capabilities)
    use, reason = settings.mixed_precision_decision(True)
    assert use is expected and phrase in reason, reason
    assert settings.mixed_precision_decision(False) == (False, "off (the profile trains in float32)")


def test_every_folder_variable_expands_the_home_folder(monkeypatch, tmp_path):
    from tlcourse.features import features_dir

    monkeypatch.setenv("HOME", str(tmp_path))
    for variable, folder in (("TLCOURSE_DATA_DIR", paths.data_dir), ("TLCOURSE_RESULTS_DIR", paths.results_dir),
                             ("TLCOURSE_FEATURES_DIR", features_dir)):
        monkeypatch.setenv(variable, "~/x")
        assert folder() == tmp_path / "x", variable
