"""Inputs that used to end in a raw Python or TensorFlow error now get a clear one (issue 16)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import tlcourse
from boundary import assert_clear_error
from tlcourse import audio, boxes, data, doctor, evaluation, features, models, prefetch


@pytest.mark.parametrize("call", [
    lambda: features.feature_key("smoke", "tf_flowers", "train", "b", keras.Sequential([keras.Input((8, 8, 3))])),
    lambda: boxes.load_pet_boxes("smoke", 64, 4),
    lambda: audio.load_clips("spoken_digit", "smoke", count=2, source_rate=8000),
], ids=["feature_key", "load_pet_boxes", "load_clips"])
def test_a_profile_name_where_settings_belong(call):
    error = assert_clear_error(call)
    assert "tlcourse.get_settings('smoke')" in str(error)


@pytest.mark.parametrize("seed", [1.5, "42", 2**40, -1, True])
def test_setup_refuses_a_seed_numpy_cannot_take(seed, restore_determinism):
    error = assert_clear_error(lambda: tlcourse.setup("smoke", seed=seed, verbose=False))
    assert "seed=" in str(error) and "e.g. seed=42" in str(error)


def test_setup_takes_a_numpy_integer_seed(restore_determinism):
    assert tlcourse.setup("smoke", seed=np.int64(3), verbose=False).seed == 3


@pytest.mark.parametrize("call, hint", [
    (lambda: data.get_dataset_spec("tf_flower"), "Did you mean 'tf_flowers'"),
    (lambda: models.get_backbone("MobilenetV2"), "Did you mean 'MobileNetV2'"),
    (lambda: prefetch.prefetch_dataset("imdb_review"), "Did you mean 'imdb_reviews'"),
    (lambda: prefetch.preset_handle("bert_tiny_en_uncase"), "Did you mean 'bert_tiny_en_uncased'"),
    (lambda: audio.load_clips("spoken_digits", tlcourse.get_settings("smoke"), count=2, source_rate=8000),
     "Did you mean 'spoken_digit'"),
], ids=["dataset", "backbone", "prefetch_dataset", "preset", "audio_dataset"])
def test_a_mistyped_name_gets_a_short_did_you_mean(call, hint):
    error = assert_clear_error(call)
    assert hint in str(error) and len(str(error)) < 600, "a suggestion, not tfds' list of every dataset"


def test_a_misspelt_dataset_in_prefetch_does_not_blame_the_network(capsys):
    assert prefetch.main(["prefetch", "--datasets", "tf_flower", "--backbones", "--presets"]) == 1
    err = capsys.readouterr().err
    assert "Did you mean 'tf_flowers'" in err and prefetch.PREFETCH_FIX not in err


def test_prefetch_data_dir_on_a_file(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    with pytest.raises(SystemExit) as exit_:
        prefetch.main(["prefetch", "--data-dir", str(tmp_path / "file" / "sub"), "--datasets", "tf_flowers"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "is a file, not a folder" in err and "check the connection" not in err


def test_prefetch_data_dir_read_only(tmp_path, capsys, monkeypatch):
    import tempfile

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)  # root ignores chmod: simulate it
    with pytest.raises(SystemExit):
        prefetch.main(["prefetch", "--data-dir", str(tmp_path), "--datasets", "tf_flowers"])
    err = capsys.readouterr().err
    assert "cannot be written (Permission denied)" in err and "check the connection" not in err


def test_doctor_with_a_bad_profile_prints_the_fix_not_a_traceback(monkeypatch, capsys):
    monkeypatch.setenv("TLCOURSE_PROFILE", "smok")
    assert doctor.main() == 2
    err = capsys.readouterr().err
    assert "TLCOURSE_PROFILE='smok' is not a profile" in err and "Traceback" not in err


def _classifier(base):
    inputs = keras.Input((32, 32, 3))
    features_ = base(inputs, training=False)
    if len(features_.shape) == 4:
        features_ = keras.layers.GlobalAveragePooling2D()(features_)
    return keras.Model(inputs, keras.layers.Dense(3)(features_))


def test_grad_cam_on_a_pooled_base_or_wrong_size_names_the_fix():
    pooled = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(4, 3, name="conv"),
                               keras.layers.GlobalAveragePooling2D()], name="pooled_base")
    error = assert_clear_error(lambda: evaluation.grad_cam(_classifier(pooled), pooled, np.zeros((1, 32, 32, 3))))
    assert "pooling" in str(error) and "layer_name" in str(error)
    cam = evaluation.grad_cam(_classifier(pooled), pooled, np.ones((1, 32, 32, 3)), layer_name="conv")
    assert cam.heatmaps.shape == (1, 30, 30)
    plain = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(4, 3)], name="plain_base")
    error = assert_clear_error(lambda: evaluation.grad_cam(_classifier(plain), plain, np.zeros((1, 64, 64, 3))))
    assert "tf.image.resize" in str(error)
