"""Feature caching: the cached features are the frozen base's, a stale cache is never reused."""

from __future__ import annotations

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
    path = features.cache_path(key)
    path.parent.mkdir(parents=True)
    np.savez(path, features=np.zeros((10, 4), "float32"), labels=np.zeros(10, "int64"), key="{}")
    result = extract_features(base_model, ds, key=key, progress=False)
    assert not result.from_cache and np.abs(result.features).sum() > 0


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
    head.fit(features_dataset(cached, batch_size=4, shuffle=True, seed=0), epochs=2, verbose=0)

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
