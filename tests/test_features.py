"""Feature caching: the cached features are the frozen base's, a stale cache is never reused."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

import keras
from keras import layers

from tlcourse import features
from tlcourse.features import CachedFeatures, extract_features, feature_key, features_dataset
from tlcourse.settings import get_settings

SMOKE = get_settings("smoke")


def tiny_base(seed: int = 0) -> keras.Model:
    initializer = keras.initializers.GlorotUniform(seed=seed)
    inputs = keras.Input((8, 8, 3))
    outputs = layers.Conv2D(4, 3, kernel_initializer=initializer, name="conv")(inputs)
    base_model = keras.Model(inputs, outputs, name="tiny_base")
    base_model.trainable = False
    return base_model


def image_batches(count: int = 10, batch_size: int = 4) -> tf.data.Dataset:
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (count, 8, 8, 3)).astype("float32")
    labels = np.arange(count) % 3
    return tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch_size)


@pytest.fixture(autouse=True)
def cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("TLCOURSE_FEATURES_DIR", str(tmp_path / "features"))
    features.clear_memory_cache()
    return tmp_path / "features"


def test_features_are_the_pooled_outputs_of_the_preprocessed_base():
    base_model, ds = tiny_base(), image_batches()
    result = extract_features(base_model, ds, preprocess_input=lambda x: x / 127.5 - 1, progress=False)
    images = np.concatenate([x for x, _ in ds.as_numpy_iterator()])
    expected = np.asarray(base_model(images / 127.5 - 1)).mean(axis=(1, 2))
    np.testing.assert_allclose(result.features, expected, rtol=1e-5, atol=1e-6)
    assert result.features.shape == (10, 4) and result.features.dtype == np.float32
    assert result.labels.tolist() == (np.arange(10) % 3).tolist()
    assert result.source == "computed" and not result.from_cache


def test_disk_cache_is_reused_only_for_the_same_key(cache_folder):
    base_model, ds = tiny_base(), image_batches()
    key = feature_key(SMOKE, "tf_flowers", "train", "tiny", base_model)
    first = extract_features(base_model, ds, key=key, progress=False)
    second = extract_features(base_model, ds, key=key, progress=False)
    assert not first.from_cache and second.from_cache and second.seconds == 0.0
    assert second.source.startswith(str(cache_folder))
    np.testing.assert_array_equal(first.features, second.features)
    np.testing.assert_array_equal(first.labels, second.labels)

    other_weights = tiny_base(seed=1)
    other_key = feature_key(SMOKE, "tf_flowers", "train", "tiny", other_weights)
    assert other_key["weights"] != key["weights"], "other weights must give another fingerprint"
    third = extract_features(other_weights, ds, key=other_key, progress=False)
    assert not third.from_cache, "features of other weights must be computed, not read from the cache"
    assert not np.allclose(third.features, first.features)


@pytest.mark.parametrize("field, value", [("split", "val"), ("dataset", "beans"), ("backbone", "other")])
def test_every_key_field_separates_cache_files(field, value):
    base_model = tiny_base()
    key = feature_key(SMOKE, "tf_flowers", "train", "tiny", base_model)
    assert features.cache_path(key) != features.cache_path({**key, field: value})


def test_profile_and_image_size_are_part_of_the_key():
    key = feature_key(SMOKE, "tf_flowers", "train", "tiny", tiny_base())
    quick_key = feature_key(get_settings("quick"), "tf_flowers", "train", "tiny", tiny_base())
    assert key["image_size"] == 8 and key["profile"] == "smoke"
    assert features.cache_path(key) != features.cache_path(quick_key)


def test_a_file_holding_another_key_is_not_trusted():
    base_model, ds = tiny_base(), image_batches()
    key = feature_key(SMOKE, "tf_flowers", "train", "tiny", base_model)
    path = _cached_path(base_model, ds, key)
    with path.open("wb") as file:
        np.savez(file, features=np.zeros((10, 4), "float32"), labels=np.zeros(10, "int64"), key="{}")
    result = extract_features(base_model, ds, key=key, progress=False)
    assert not result.from_cache and np.abs(result.features).sum() > 0


def _cached_path(base_model, ds, key) -> Path:
    """Compute once (written to the disk cache) and return the file it went to."""
    extract_features(base_model, ds, key=key, progress=False)
    second = extract_features(base_model, ds, key=key, progress=False)
    assert second.from_cache
    return Path(second.source)


def test_the_key_identifies_the_data_not_just_the_split():
    base_model = tiny_base()
    key = feature_key(SMOKE, "tf_flowers", "train", "tiny", base_model)
    first = extract_features(base_model, image_batches(10), key=key, progress=False)
    subset = extract_features(base_model, image_batches(6), key=key, progress=False)
    assert not subset.from_cache and subset.features.shape == (6, 4), "another subset must be computed"
    other_order = extract_features(base_model, image_batches(10).unbatch().skip(1).batch(4), key=key,
                                   progress=False)
    assert not other_order.from_cache
    again = extract_features(base_model, image_batches(10), key=key, progress=False)
    assert again.from_cache
    np.testing.assert_array_equal(again.features, first.features)


def test_images_of_another_size_than_the_base_are_refused():
    images = np.zeros((4, 16, 16, 3), "float32")
    ds = tf.data.Dataset.from_tensor_slices((images, np.zeros(4, "int64"))).batch(2)
    with pytest.raises(ValueError, match="16x16 images but base_model expects 8x8"):
        extract_features(tiny_base(), ds, progress=False)
    unknown = ds.map(lambda x, y: (tf.image.resize(x, tf.shape(x)[1:3]), y))  # height/width unknown in the spec
    key = feature_key(SMOKE, "tf_flowers", "train", "tiny", tiny_base())
    with pytest.raises(ValueError, match="expects 8x8"):
        extract_features(tiny_base(), unknown, key=key, progress=False)


@pytest.mark.parametrize("damage", [b"", b"PK\x03\x04 truncated", "truncate"])
def test_an_empty_or_truncated_cache_file_is_recomputed(damage):
    base_model, ds = tiny_base(), image_batches()
    key = feature_key(SMOKE, "tf_flowers", "train", "tiny", base_model)
    path = _cached_path(base_model, ds, key)
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2] if damage == "truncate" else damage)
    result = extract_features(base_model, ds, key=key, progress=False)
    assert not result.from_cache and result.features.shape == (10, 4)
    assert extract_features(base_model, ds, key=key, progress=False).from_cache, "the file must be rewritten"


def test_a_cache_that_cannot_be_written_keeps_the_features(monkeypatch, cache_folder):
    base_model, ds = tiny_base(), image_batches()
    key = feature_key(SMOKE, "tf_flowers", "train", "tiny", base_model)

    def full_disk(path, content):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(features, "write_atomically", full_disk)
    with pytest.warns(UserWarning, match="No space left on device.*Free some disk space"):
        result = extract_features(base_model, ds, key=key, progress=False)
    assert result.features.shape == (10, 4) and not result.from_cache
    assert not [p for p in cache_folder.rglob("*") if p.is_file()], "no partial file may be left behind"


def test_a_read_only_cache_folder_warns_and_returns_the_features(cache_folder):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    cache_folder.mkdir()
    cache_folder.chmod(0o555)
    try:
        base_model, ds = tiny_base(), image_batches()
        key = feature_key(SMOKE, "tf_flowers", "train", "tiny", base_model)
        with pytest.warns(UserWarning, match="Could not write the feature cache"):
            result = extract_features(base_model, ds, key=key, progress=False)
        assert result.features.shape == (10, 4)
    finally:
        cache_folder.chmod(0o755)


def test_the_memory_cache_hands_out_copies():
    base_model, ds = tiny_base(), image_batches()
    key = feature_key(SMOKE, "tf_flowers", "train", "tiny", base_model)
    first = extract_features(base_model, ds, key=key, cache="memory", progress=False)
    expected = first.features.copy()
    first.features[:] = 0  # a learner's in-place edit
    second = extract_features(base_model, ds, key=key, cache="memory", progress=False)
    second.labels[:] = -1
    third = extract_features(base_model, ds, key=key, cache="memory", progress=False)
    np.testing.assert_array_equal(third.features, expected)
    assert third.labels.tolist() == (np.arange(10) % 3).tolist()


def test_a_shuffled_dataset_is_not_cached(cache_folder):
    base_model = tiny_base()
    ds = image_batches().unbatch().shuffle(10, reshuffle_each_iteration=True).batch(4)
    key = feature_key(SMOKE, "tf_flowers", "train", "tiny", base_model)
    with pytest.warns(UserWarning, match="not cached"):  # two passes in another order (odds 1 in 10!)
        extract_features(base_model, ds, key=key, progress=False)
    assert not [p for p in cache_folder.rglob("*") if p.is_file()]


def test_memory_cache_and_no_cache(cache_folder):
    base_model, ds = tiny_base(), image_batches()
    key = feature_key(SMOKE, "tf_flowers", "train", "tiny", base_model)
    assert not extract_features(base_model, ds, key=key, cache="memory", progress=False).from_cache
    assert extract_features(base_model, ds, key=key, cache="memory", progress=False).source == "memory"
    assert not extract_features(base_model, ds, key=key, cache="none", progress=False).from_cache
    assert not cache_folder.exists(), "memory and none must not write files"


def test_head_trained_on_cached_features_works_in_the_full_model():
    base_model, ds = tiny_base(), image_batches()
    cached = extract_features(base_model, ds, progress=False)
    head = keras.Sequential([keras.Input((4,)), layers.Dense(3, name="logits")])
    head.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    head.fit(features_dataset(cached, batch_size=4, shuffle=True, seed=0), epochs=2, verbose=0, shuffle=False)

    inputs = keras.Input((8, 8, 3))
    pooled = layers.GlobalAveragePooling2D()(base_model(inputs, training=False))
    full_model = keras.Model(inputs, head(pooled))
    images = np.concatenate([x for x, _ in ds.as_numpy_iterator()])
    np.testing.assert_allclose(full_model.predict(images, verbose=0), head.predict(cached.features, verbose=0),
                               rtol=1e-5, atol=1e-5)


def test_features_dataset_batches_and_keeps_pairs_together():
    cached = CachedFeatures(np.arange(12, dtype="float32").reshape(6, 2), np.arange(6), 0.0, "computed")
    pairs = [(x.numpy(), y.numpy()) for x, y in features_dataset(cached, 4, shuffle=True, seed=1).unbatch()]
    assert sorted(int(y) for _, y in pairs) == list(range(6))
    assert all(x[0] == 2 * y for x, y in pairs)


@pytest.mark.parametrize("call, error", [
    (lambda: extract_features("MobileNetV2", image_batches()), TypeError),
    (lambda: extract_features(tiny_base(), image_batches().unbatch()), ValueError),
    (lambda: extract_features(tiny_base(), image_batches(), cache="ram"), ValueError),
    (lambda: extract_features(tiny_base(), image_batches(), preprocess_input="mobilenet"), TypeError),
    (lambda: extract_features(tiny_base(), image_batches().take(0), progress=False), ValueError),
    (lambda: features_dataset(("x", "y"), 4), TypeError),
    (lambda: features_dataset(CachedFeatures(np.zeros((2, 2)), np.zeros(2), 0.0, "computed"), 0), ValueError),
    (lambda: feature_key(SMOKE, "", "train", "tiny", tiny_base()), ValueError),
])
def test_bad_input_gets_a_clear_error(call, error):
    with pytest.raises(error) as raised:
        call()
    assert "tlcourse" in raised.traceback[-1].path.as_posix() or "features" in str(raised.traceback[-1].path)


def test_another_preprocessing_is_not_read_from_the_cache():
    base_model, ds = tiny_base(), image_batches()
    key = feature_key(SMOKE, "tf_flowers", "train", "tiny", base_model)
    mobilenet = keras.applications.mobilenet_v2.preprocess_input
    first = extract_features(base_model, ds, key=key, preprocess_input=mobilenet, progress=False)
    same = extract_features(base_model, ds, key=key, preprocess_input=mobilenet, progress=False)
    resnet = extract_features(base_model, ds, key=key, preprocess_input=keras.applications.resnet50.preprocess_input,
                              progress=False)
    assert not first.from_cache and same.from_cache
    assert not resnet.from_cache, "features computed with other preprocessing must not come from the cache"
    assert not np.allclose(resnet.features, first.features)


def test_an_anonymous_preprocessing_function_cannot_be_cached():
    key = feature_key(SMOKE, "tf_flowers", "train", "tiny", tiny_base())
    with pytest.raises(ValueError, match="no stable name"):
        extract_features(tiny_base(), image_batches(), key=key, preprocess_input=lambda x: x / 255, progress=False)
    result = extract_features(tiny_base(), image_batches(), key=key, preprocess_input=lambda x: x / 255,
                              cache="none", progress=False)
    assert not result.from_cache


def test_text_inputs_are_keyed_on_their_characters():
    """A text base (strings in, a preprocessor inside): the key hashes the texts themselves, not pointers."""
    from tlcourse.features import _fingerprint

    def texts(*items):
        return tf.data.Dataset.from_tensor_slices((list(items), list(range(len(items))))).batch(2)

    first = _fingerprint(texts("a good film", "a bad film"), None)
    assert first == _fingerprint(texts("a good film", "a bad film"), None)
    assert first != _fingerprint(texts("a good film", "a sad film"), None)
    assert first[0] == 2


def test_the_key_follows_an_edited_preprocessing_function_and_changed_weights(tmp_path, monkeypatch):
    """Rerunning an edited ``def`` (same name) or changing the base after feature_key never reads stale features."""
    from tlcourse import features

    monkeypatch.setenv("TLCOURSE_FEATURES_DIR", str(tmp_path))
    base = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Conv2D(2, 3, kernel_initializer="ones")])
    ds = tf.data.Dataset.from_tensor_slices((np.ones((2, 4, 4, 3), "float32"), np.arange(2))).batch(2)
    key = {"dataset": "toy", "split": "train"}
    namespace: dict = {}
    exec("def scale(x):\n    return x / 255", namespace)
    first = features.extract_features(base, ds, preprocess_input=namespace["scale"], key=key, progress=False)
    exec("def scale(x):\n    return x / 127.5 - 1", namespace)
    edited = features.extract_features(base, ds, preprocess_input=namespace["scale"], key=key, progress=False)
    assert edited.source == "computed" and not np.allclose(edited.features, first.features)
    base.layers[0].kernel.assign(2 * base.layers[0].kernel)
    changed = features.extract_features(base, ds, preprocess_input=namespace["scale"], key=key, progress=False)
    assert changed.source == "computed" and np.allclose(changed.features, 2 * edited.features)
    again = features.extract_features(base, ds, preprocess_input=namespace["scale"], key=key, progress=False)
    assert again.from_cache and np.allclose(again.features, changed.features)
    features.clear_memory_cache()


def test_tqdm_can_draw_its_notebook_progress_bar():
    # tqdm.auto (used by extract_features) draws a widget in Jupyter; without ipywidgets it prints
    # "IProgress not found" instead. requirements.txt installs it.
    from tqdm.notebook import IProgress

    assert IProgress is not None, "ipywidgets is missing: pip install -r requirements.txt"


def test_grayscale_images_or_one_hot_labels_are_refused_with_the_fix():
    import keras
    import numpy as np
    import tensorflow as tf

    from tlcourse.features import extract_features

    base = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3), keras.layers.GlobalAveragePooling2D()])
    gray = tf.data.Dataset.from_tensor_slices((np.zeros((4, 8, 8, 1), "float32"), np.zeros(4, "int64"))).batch(2)
    with pytest.raises(ValueError, match="grayscale_to_rgb"):
        extract_features(base, gray)
    one_hot = tf.data.Dataset.from_tensor_slices((np.zeros((4, 8, 8, 3), "float32"), np.eye(4, dtype="float32"))).batch(2)
    with pytest.raises(ValueError, match="one-hot.*argmax"):
        extract_features(base, one_hot)


def test_extract_features_refuses_wrong_pixels_and_labels_and_casts_uint8():
    """0–1 images, images preprocessed twice and 1.5 labels gave features silently; uint8 a raw TF error."""
    base = tiny_base()
    images = np.random.default_rng(0).uniform(0, 255, (4, 8, 8, 3)).astype("float32")
    preprocess = keras.applications.mobilenet_v2.preprocess_input
    for pixels, fragment in [(images / 255, "0–255"), (preprocess(images.copy()), "negative")]:
        ds = tf.data.Dataset.from_tensor_slices((pixels, [0, 1, 0, 1])).batch(2)
        with pytest.raises(ValueError, match=fragment):
            extract_features(base, ds, preprocess_input=preprocess, progress=False)
    ds = tf.data.Dataset.from_tensor_slices((images, [0.0, 1.5, 0.0, 1.0])).batch(2)
    with pytest.raises(ValueError, match="non-whole"):
        extract_features(base, ds, progress=False)
    as_uint8 = tf.data.Dataset.from_tensor_slices((images.astype("uint8"), [0, 1, 0, 1])).batch(2)
    as_float = tf.data.Dataset.from_tensor_slices((images.astype("uint8").astype("float32"), [0, 1, 0, 1])).batch(2)
    np.testing.assert_allclose(extract_features(base, as_uint8, preprocess_input=preprocess, progress=False).features,
                               extract_features(base, as_float, preprocess_input=preprocess, progress=False).features)
    unbuilt = keras.Sequential([layers.Conv2D(2, 3)])
    with pytest.raises(ValueError, match="not built"):
        extract_features(unbuilt, as_float, progress=False)


def _clusters(count: int = 40, seed: int = 0) -> CachedFeatures:
    """Two well-separated clusters of 3-number features, one per class."""
    labels = np.arange(count) % 2
    points = np.random.default_rng(seed).normal(size=(count, 3)) + 4 * labels[:, None]
    return CachedFeatures(points.astype("float32"), labels.astype("int64"), 0.0, "computed")


PROBE = {"epochs": 20, "learning_rate": 0.05, "batch_size": 8, "seed": 0}


def test_linear_probe_learns_separable_features_and_reruns_alike():
    train, val = _clusters(seed=0), _clusters(seed=1)
    predicted = features.linear_probe(train, val, 2, **PROBE)
    assert predicted.shape == (40,) and predicted.dtype == np.int64
    assert np.mean(predicted == val.labels) > 0.95
    np.testing.assert_array_equal(predicted, features.linear_probe(train, val, 2, **PROBE))  # the seed fixes it


@pytest.mark.parametrize("change, error, message", [
    ({"train_features": np.zeros((4, 3))}, TypeError, "expected what extract_features returns"),
    ({"val_features": CachedFeatures(np.zeros((4, 5), "float32"), np.zeros(4, "int64"), 0.0, "computed")},
     ValueError, "two different bases"),
    ({"train_features": CachedFeatures(np.zeros((0, 3), "float32"), np.zeros(0, "int64"), 0.0, "computed")},
     ValueError, "holds no example"),
    ({"val_features": CachedFeatures(np.zeros((0, 3), "float32"), np.zeros(0, "int64"), 0.0, "computed")},
     ValueError, "val_features holds no example"),
    ({"train_features": CachedFeatures(np.zeros((40, 0), "float32"), np.arange(40) % 2, 0.0, "computed"),
      "val_features": CachedFeatures(np.zeros((40, 0), "float32"), np.arange(40) % 2, 0.0, "computed")},
     ValueError, "0 numbers per image"),
    ({"train_features": CachedFeatures(np.full((40, 3), np.nan, "float32"), np.arange(40) % 2, 0.0, "computed")},
     ValueError, "120 NaN or infinite"),
    ({"val_features": CachedFeatures(np.full((40, 3), "x", object), np.arange(40) % 2, 0.0, "computed")},
     TypeError, "expected real numbers"),
    ({"num_classes": 3}, ValueError, r"no example of class\(es\) \[2\]"),
    ({"num_classes": 1}, ValueError, "num_classes"),
    ({"epochs": 0}, ValueError, "epochs=0"),
    ({"learning_rate": 0}, ValueError, "learning_rate"),
    ({"batch_size": 2.5}, TypeError, "batch_size"),
])
def test_linear_probe_names_the_fix_for_bad_input(change, error, message):
    arguments = {"train_features": _clusters(), "val_features": _clusters(), "num_classes": 2, **PROBE, **change}
    with pytest.raises(error, match=message):
        features.linear_probe(**arguments)


def test_linear_probe_refuses_labels_outside_num_classes():
    labels = np.arange(40) % 3  # class 2 exists, but num_classes says 2
    train = CachedFeatures(np.zeros((40, 3), "float32"), labels, 0.0, "computed")
    with pytest.raises(ValueError, match="outside 0…1.*splits.num_classes"):
        features.linear_probe(train, train, 2, **PROBE)
