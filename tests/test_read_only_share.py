"""A class share filled once by ``prefetch --data-dir`` and mounted read-only serves everything offline.

How "read-only" is made here, and why: the tests run as root, and root writes through ``chmod a-w``.
What a read-only mount (a share, a locked USB stick) really changes is that ``os.access(path,
os.W_OK)`` answers False (``EROFS``, for root too) and that writes fail. Keras decides on exactly
that call whether to use its cache folder (``keras/src/utils/file_utils.py``: not writable → it
switches to ``/tmp/.keras``, misses the weights and downloads). So the ``read_only`` fixture makes
the share ``chmod a-w`` (enough for a non-root user), answers ``os.access(..., W_OK)`` with False
under it as the mount would, and afterwards checks that no file or folder in the share was
created, changed or removed (the writes root could still make). The network is cut: any download
attempt fails at once. Mechanics, not accuracy: the weights are random, saved in the layout of
Keras' ImageNet files.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from tlcourse import doctor, paths

WEIGHTS_SIZE = 160  # MobileNetV2 @ 160 px: a weights file the quick profile uses (doctor lists it)


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    return {path.relative_to(folder).as_posix(): (path.stat().st_size, path.stat().st_mtime_ns)
            for path in sorted(folder.rglob("*"))}


@pytest.fixture
def offline(monkeypatch):
    """Every download fails at once: Keras' urlretrieve and every socket connection."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args[:1])
        raise urllib.error.URLError("offline (test)")

    def no_connection(self, address):
        attempts.append(address)
        raise OSError("offline (test)")

    import keras.src.utils.file_utils as file_utils

    monkeypatch.setattr(file_utils, "urlretrieve", refuse)
    monkeypatch.setattr(socket.socket, "connect", no_connection)
    return attempts


@pytest.fixture
def read_only(monkeypatch, tmp_path):
    """Return a function that makes a folder read-only as a mount would; checks it stayed untouched."""
    frozen: list[tuple[Path, dict]] = []
    real_access = os.access

    def access(path, mode, *args, **kwargs):
        inside = any(Path(os.path.abspath(os.fspath(path))).is_relative_to(folder) for folder, _ in frozen)
        if inside and mode & os.W_OK:
            return False
        return real_access(path, mode, *args, **kwargs)

    def make(folder: Path) -> Path:
        folder = Path(os.path.abspath(folder))
        for path in [folder, *folder.rglob("*")]:
            if not path.is_symlink():
                path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        frozen.append((folder, _tree(folder)))
        monkeypatch.setattr(os, "access", access)
        return folder

    yield make
    for folder, before in frozen:
        after = _tree(folder)
        for path in [folder, *folder.rglob("*")]:
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | stat.S_IWUSR)
        assert after == before, f"something wrote into the read-only share {folder}"


@pytest.fixture
def keras_config(monkeypatch):
    """Restore Keras' cache folder and the stand-in folders this test made."""
    import keras.src.backend.config as config

    monkeypatch.setattr(config, "_KERAS_DIR", config._KERAS_DIR)
    made = set(Path(paths.tempfile.gettempdir()).glob("tlcourse-keras-*"))
    yield
    for folder in set(Path(paths.tempfile.gettempdir()).glob("tlcourse-keras-*")) - made:
        shutil.rmtree(folder, ignore_errors=True)


def _save_imagenet_style_weights(model, file: Path) -> None:
    """Write ``model``'s weights as Keras' ImageNet files are: a legacy HDF5 weights file."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    file.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(file, "w") as stored:
        legacy_h5_format.save_weights_to_hdf5_group(stored, model)


def test_weights_load_offline_from_a_read_only_share(tmp_path, monkeypatch, offline, read_only, keras_config):
    import keras

    from tlcourse.models import build_backbone

    share = tmp_path / "share"
    made = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(WEIGHTS_SIZE,) * 2 + (3,))
    _save_imagenet_style_weights(made, share / "keras" / "models" / doctor.weight_file("MobileNetV2", WEIGHTS_SIZE))
    read_only(share)
    monkeypatch.setenv("KERAS_HOME", str(share / "keras"))

    cached = {check.name: check for check in doctor.report(
        "quick", network=lambda: None, tfds_dir=str(tmp_path / "tfds"), is_prepared=lambda name, folder: False,
        kagglehub_cache=str(tmp_path / "kagglehub"))}
    assert cached[f"weights MobileNetV2 @ {WEIGHTS_SIZE} px"].ok, "doctor: the share's weights are cached"
    assert not cached["weights ResNet50 @ 224 px"].ok, "doctor: weights the share lacks are not"

    base_model = build_backbone("MobileNetV2", WEIGHTS_SIZE, weights="imagenet")  # the course's loader
    direct = keras.applications.MobileNetV2(  # what a notebook writes out, after the loader pointed Keras
        include_top=False, weights="imagenet", input_shape=(WEIGHTS_SIZE, WEIGHTS_SIZE, 3))
    for model in (base_model, direct):
        assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), made.get_weights()))
    assert not offline, f"a download was attempted: {offline}"
    assert "is read-only: its weights are read through links in" in paths.keras_cache_note()


def test_plain_keras_would_miss_the_share(tmp_path, monkeypatch, offline, read_only, keras_config):
    """The bug this fixes, shown on Keras alone: pointed straight at a read-only folder, it downloads."""
    import keras.src.backend.config as config
    from keras.utils import get_file

    share = tmp_path / "share"
    (share / "models").mkdir(parents=True)
    (share / "models" / "w.h5").write_bytes(b"weights")
    read_only(share)
    monkeypatch.setattr(config, "_KERAS_DIR", str(share))
    with pytest.raises(Exception, match="URL fetch failure"):
        get_file("w.h5", "https://example.invalid/w.h5", cache_subdir="models")
    monkeypatch.setattr(config, "_KERAS_DIR", paths.keras_home_for(share))  # what point_keras_cache sets
    assert Path(get_file("w.h5", "https://example.invalid/w.h5", cache_subdir="models")).read_bytes() == b"weights"


def test_a_prepared_dataset_loads_from_a_read_only_share(tmp_path, offline, read_only):
    import tensorflow_datasets as tfds

    share = tmp_path / "share" / "tfds"
    tfds.testing.DummyMnist(data_dir=str(share)).download_and_prepare()
    read_only(tmp_path / "share")
    builder = tfds.testing.DummyMnist(data_dir=str(share))
    assert builder.is_prepared()  # what doctor asks (tfds.builder(...).is_prepared())
    builder.download_and_prepare()  # what tfds.load does first: a prepared dataset is reused as it is
    images = [example["image"].shape for example in builder.as_dataset(split="train").take(2)]
    assert len(images) == 2 and not offline


def test_a_cached_preset_loads_from_a_read_only_share(tmp_path, monkeypatch, offline, read_only):
    pytest.importorskip("keras_hub")
    from kagglehub import model_download
    from kagglehub.cache import Cache
    from kagglehub.handle import parse_model_handle

    cache = tmp_path / "share" / "kagglehub"
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(cache))
    handle = "keras/bert/keras/bert_tiny_en_uncased/3"  # as prefetch_preset leaves it: files, then markers
    folder = doctor.preset_folder(handle, str(cache))
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    for name in (None, "config.json"):
        Cache().mark_as_complete(parse_model_handle(handle), name)
    read_only(tmp_path / "share")
    assert Path(model_download(handle, path="config.json")) == folder / "config.json"  # what from_preset asks
    assert not offline


def test_cached_features_are_read_and_new_ones_kept_in_memory(tmp_path, monkeypatch, read_only, capsys):
    import keras
    import tensorflow as tf

    from tlcourse import features

    monkeypatch.setenv("TLCOURSE_FEATURES_DIR", str(tmp_path / "share" / "features"))
    base_model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3)])
    ds = tf.data.Dataset.from_tensor_slices((np.ones((4, 8, 8, 3), "float32"), np.arange(4))).batch(2)
    key = {"dataset": "toy", "split": "train"}
    stored = features.extract_features(base_model, ds, key=key, progress=False)  # filled while writable
    read_only(tmp_path / "share")
    again = features.extract_features(base_model, ds, key=key, progress=False)
    assert again.from_cache and again.source.endswith(".npz") and np.array_equal(again.features, stored.features)
    with pytest.warns(UserWarning, match=r"Could not write the feature cache .*\(read-only\): its features are read, "
                      "new ones are kept in memory"):
        new = features.extract_features(base_model, ds, key={**key, "split": "val"}, progress=False)
    assert new.source == "computed"
    assert features.extract_features(base_model, ds, key={**key, "split": "val"}, progress=False).source == "memory"
    features.clear_memory_cache()


def test_data_dir_set_after_import_moves_every_cache(tmp_path, monkeypatch):
    """TLCOURSE_DATA_DIR set after ``import tlcourse``: the next configure_caches (setup) moves all four."""
    from tlcourse import features

    for key, _ in paths.CACHE_FOLDERS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.delenv("TLCOURSE_FEATURES_DIR", raising=False)
    monkeypatch.setattr(paths, "_SET_BY_COURSE", {})
    monkeypatch.setenv(paths.DATA_ENV, str(tmp_path / "first"))
    paths.configure_caches()
    monkeypatch.setenv(paths.DATA_ENV, str(tmp_path / "second"))
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path / "mine"))  # the learner's own value stays
    assert paths.configure_caches() == {"TFDS_DATA_DIR": str(tmp_path / "second" / "tfds"),
                                        "KERAS_HOME": str(tmp_path / "second" / "keras"),
                                        "KAGGLEHUB_CACHE": str(tmp_path / "mine")}
    assert features.features_dir() == tmp_path / "second" / "features"
