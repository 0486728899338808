"""Datasets, splits and input pipelines (``data.py``), offline: mock data and synthetic tensors."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import socket
from collections import Counter
from types import SimpleNamespace

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from tlcourse import data
from tlcourse.data import (DATASETS, DatasetSpec, DatasetSplits, count_examples, get_dataset_spec,
                           load_splits, prepare, split_by_index, take_per_class)
from tlcourse.downloads import DownloadError
from tlcourse.settings import get_settings

SMOKE = get_settings("smoke")
FLOWER_NAMES = ["dandelion", "daisy", "tulips", "sunflowers", "roses"]


def fingerprint(image: tf.Tensor, label: tf.Tensor) -> str:
    """A hash of one example's content (pixels, shape and label)."""
    array = np.asarray(image)
    return hashlib.sha1(array.tobytes() + repr((array.shape, int(label))).encode()).hexdigest()


def fingerprints(ds: tf.data.Dataset) -> list[str]:
    return [fingerprint(image, label) for image, label in ds]


@pytest.fixture(scope="module")
def flower_splits() -> DatasetSplits:
    return load_splits("tf_flowers", SMOKE)


@pytest.fixture(scope="module")
def flower_prints(flower_splits) -> dict[str, list[str]]:
    return {part: fingerprints(getattr(flower_splits, part)) for part in ("train_ds", "val_ds", "test_ds")}


# --- the catalogue ----------------------------------------------------------------------------

def test_get_dataset_spec_known_names():
    for name, spec in DATASETS.items():
        assert get_dataset_spec(name) is spec and spec.name == name
        assert len(spec.splits) == 3 and spec.about


def test_pneumonia_mnist_uses_its_own_splits_and_loads_as_rgb_under_mock_data():
    assert get_dataset_spec("pneumonia_mnist").splits == ("train", "val", "test")
    splits = load_splits("pneumonia_mnist", SMOKE)
    image, label = next(iter(splits.train_ds))
    assert image.shape[-1] == 3 and splits.num_classes == 2, (image.shape, splits.label_names)


def test_load_splits_unknown_name_raises_before_loading():
    with pytest.raises(ValueError, match="Choose one of"):
        load_splits("no_such_dataset", SMOKE)


def absolute_ranges(split_strings: tuple[str, ...], num_examples: int) -> list[range]:
    """Turn TFDS split strings such as ``train[70%:85%]`` into index ranges of a split of that size.

    ``to_absolute`` needs only ``.num_examples`` for percent slices; it reports a boundary at 0 or
    at the end of the split as ``None``.
    """
    split_infos = {"train": SimpleNamespace(num_examples=num_examples)}
    ranges = []
    for split in split_strings:
        (instruction,) = tfds.core.ReadInstruction.from_spec(split).to_absolute(split_infos)
        assert instruction.splitname == "train"
        start = 0 if instruction.from_ is None else instruction.from_
        stop = num_examples if instruction.to is None else instruction.to
        ranges.append(range(start, stop))
    return ranges


PERCENT_SLICED = [name for name, spec in DATASETS.items() if any("%" in split for split in spec.splits)]


def test_some_datasets_are_percent_sliced():
    assert "tf_flowers" in PERCENT_SLICED and "colorectal_histology" in PERCENT_SLICED


@pytest.mark.parametrize("name", PERCENT_SLICED)
@pytest.mark.parametrize("num_examples", [3670, 5000, 7, 101, 1, 2, 20, 999])
def test_percent_slices_are_disjoint_and_cover_the_split(name, num_examples):
    ranges = absolute_ranges(DATASETS[name].splits, num_examples)
    covered = list(itertools.chain.from_iterable(ranges))
    assert sorted(covered) == list(range(num_examples)), f"{DATASETS[name].splits} -> {ranges}"
    assert len(covered) == len(set(covered)), f"overlapping slices: {ranges}"
    if num_examples >= 100:
        train, val, test = (len(part) / num_examples for part in ranges)
        assert train == pytest.approx(0.70, abs=0.01)
        assert val == pytest.approx(0.15, abs=0.01) and test == pytest.approx(0.15, abs=0.01)


@pytest.mark.parametrize("name", [name for name in DATASETS if name not in PERCENT_SLICED])
def test_named_splits_are_three_different_splits(name):
    splits = DATASETS[name].splits
    assert len(set(splits)) == 3
    for split in splits:
        assert tfds.core.ReadInstruction.from_spec(split).split_name == split, "no slicing expected"


# --- split_by_index ---------------------------------------------------------------------------

def test_split_by_index_docstring_example():
    parts = split_by_index(tf.data.Dataset.range(40))
    assert [len(list(part)) for part in parts] == [28, 6, 6]


@pytest.mark.parametrize("size", [1, 7, 57])
@pytest.mark.parametrize("fractions", [(0.7, 0.15, 0.15), (0.8, 0.1, 0.1), (0.5, 0.25, 0.25)])
def test_split_by_index_is_disjoint_and_complete(size, fractions):
    parts = [[int(value) for value in part] for part in split_by_index(tf.data.Dataset.range(size), fractions)]
    everything = [value for part in parts for value in part]
    assert sorted(everything) == list(range(size))
    assert len(everything) == len(set(everything))
    for part in parts:
        assert part == sorted(part), "each part keeps dataset order"
    if size >= 20:
        assert all(parts), "every part gets examples"
        assert len(parts[0]) / size == pytest.approx(fractions[0], abs=0.1)


def test_split_by_index_small_fractions_still_reach_every_part():
    parts = split_by_index(tf.data.Dataset.range(40), (0.9, 0.05, 0.05))
    assert [len(list(part)) for part in parts] == [36, 2, 2]


def test_split_by_index_keeps_the_example_structure():
    ds = tf.data.Dataset.from_tensor_slices((tf.zeros([20, 4, 4, 3], tf.uint8), tf.range(20, dtype=tf.int64)))
    train_ds, val_ds, test_ds = split_by_index(ds)
    assert train_ds.element_spec == ds.element_spec
    assert [int(label) for _, label in val_ds] == [14, 15, 16]


@pytest.mark.parametrize("fractions", [(0.5, 0.5), (0.7, 0.2, 0.2), (0.8, 0.3, -0.1), (1.0, 0.0, 0.0),
                                       (0.98, 0.01, 0.01)])
def test_split_by_index_rejects_bad_fractions(fractions):
    with pytest.raises(ValueError, match="fractions"):
        split_by_index(tf.data.Dataset.range(40), fractions)


# --- take_per_class ---------------------------------------------------------------------------

LABELS = [0, 0, 1, 0, 2, 1, 1, 0, 2, 1]


def labelled_range() -> tf.data.Dataset:
    return tf.data.Dataset.from_tensor_slices((tf.range(len(LABELS)), tf.constant(LABELS, tf.int64)))


def test_take_per_class_keeps_the_first_examples_of_each_class_in_order():
    kept = [(int(index), int(label)) for index, label in take_per_class(labelled_range(), 2, 3)]
    assert kept == [(0, 0), (1, 0), (2, 1), (4, 2), (5, 1), (8, 2)]


@pytest.mark.parametrize("per_class", [1, 2, 3, 100])
def test_take_per_class_counts(per_class):
    counts = Counter(int(label) for _, label in take_per_class(labelled_range(), per_class, 3))
    available = Counter(LABELS)
    assert counts == {label: min(per_class, n) for label, n in available.items()}


def test_take_per_class_docstring_example():
    ds = tf.data.Dataset.from_tensor_slices(([0.0, 1.0, 2.0, 3.0], [0, 0, 1, 0]))
    assert [int(label) for _, label in take_per_class(ds, 2, 2)] == [0, 0, 1]


@pytest.mark.parametrize("per_class", [0, -3])
def test_take_per_class_rejects_a_count_below_one(per_class):
    with pytest.raises(ValueError, match=r"examples_per_class=.* too small.*>= 1"):
        take_per_class(labelled_range(), per_class, 3)


# --- load_splits (smoke: mock data) ------------------------------------------------------------

def test_mock_splits_have_the_real_label_names(flower_splits):
    assert flower_splits.label_names == FLOWER_NAMES
    assert flower_splits.num_classes == 5


def test_mock_splits_element_spec(flower_splits):
    for ds in flower_splits[:3]:
        image_spec, label_spec = ds.element_spec
        assert image_spec.dtype == tf.uint8 and image_spec.shape.rank == 3 and image_spec.shape[-1] == 3
        assert label_spec.dtype == tf.int64 and label_spec.shape.rank == 0


def test_mock_splits_are_disjoint_by_content_and_use_every_example(flower_prints):
    train, val, test = flower_prints["train_ds"], flower_prints["val_ds"], flower_prints["test_ds"]
    assert (len(train), len(val), len(test)) == (42, 9, 9)
    assert len(train) + len(val) + len(test) == SMOKE.mock_examples
    assert len(set(train + val + test)) == SMOKE.mock_examples, "an example appears in two splits"


def test_mock_splits_are_the_same_on_every_pass(flower_splits, flower_prints):
    assert fingerprints(flower_splits.val_ds) == flower_prints["val_ds"]


def test_train_examples_per_class_caps_the_training_split(flower_prints):
    capped = load_splits("tf_flowers", dataclasses.replace(SMOKE, train_examples_per_class=2))
    labels = [int(label) for _, label in capped.train_ds]
    counts = Counter(labels)
    assert counts and max(counts.values()) <= 2
    assert len(labels) == sum(min(2, n) for n in Counter(
        int(label) for _, label in load_splits("tf_flowers", SMOKE).train_ds).values())
    capped_prints = fingerprints(capped.train_ds)
    assert set(capped_prints) <= set(flower_prints["train_ds"])
    assert fingerprints(capped.val_ds) == flower_prints["val_ds"], "only the training split is capped"


def test_per_class_cap_false_keeps_the_whole_training_split(flower_prints):
    capped_settings = dataclasses.replace(SMOKE, train_examples_per_class=2)
    whole = load_splits("tf_flowers", capped_settings, per_class_cap=False)
    assert fingerprints(whole.train_ds) == flower_prints["train_ds"], "nothing may be dropped or balanced"
    assert fingerprints(whole.val_ds) == flower_prints["val_ds"]
    with pytest.raises(TypeError, match="per_class_cap"):
        load_splits("tf_flowers", capped_settings, per_class_cap="no")


@pytest.mark.parametrize("name, num_classes", [("beans", 3), ("colorectal_histology", 8)])
def test_other_catalogue_datasets_load_under_mock_data(name, num_classes):
    small = dataclasses.replace(SMOKE, mock_examples=20)
    splits = load_splits(name, small)
    assert splits.num_classes == num_classes
    assert [len(fingerprints(ds)) for ds in splits[:3]] == [14, 3, 3]


def test_grayscale_images_become_rgb(monkeypatch):
    monkeypatch.setitem(DATASETS, "pneumonia_mnist", DatasetSpec(
        "pneumonia_mnist", ("train", "val", "test"), "28 px grayscale chest X-rays"))
    splits = load_splits("pneumonia_mnist", dataclasses.replace(SMOKE, mock_examples=20))
    assert splits.label_names == ["Normal", "Pneumonia"]
    assert splits.train_ds.element_spec[0].shape == (28, 28, 3)
    image, _ = next(iter(splits.train_ds))
    assert np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(image[..., 0], image[..., 2])


# --- load_splits (quick/full), with tfds.load replaced: no network ------------------------------

class FakeBuilder:
    def __init__(self, prepared: bool) -> None:
        self.prepared = prepared

    def is_prepared(self) -> bool:
        return self.prepared


def fake_part(labels: list[int], channels: int = 3) -> tf.data.Dataset:
    images = tf.zeros([len(labels), 6, 6, channels], tf.uint8)
    return tf.data.Dataset.from_tensor_slices((images, tf.constant(labels, tf.int64)))


def test_real_profile_loads_the_catalogue_slices_and_caps_train(monkeypatch):
    calls = []
    info = SimpleNamespace(features={"label": SimpleNamespace(names=["a", "b"])})

    def fake_load(name, split, **kwargs):
        calls.append((name, split, kwargs))
        return [fake_part([0, 1, 0, 0, 1, 1, 0]), fake_part([1, 0], 1), fake_part([0])], info

    monkeypatch.setattr(data.tfds, "builder", lambda name, data_dir=None: FakeBuilder(True))
    monkeypatch.setattr(data.tfds, "load", fake_load)
    settings = dataclasses.replace(get_settings("quick"), train_examples_per_class=2)
    splits = load_splits("tf_flowers", settings, data_dir="/some/dir")
    (name, split, kwargs), = calls
    assert name == "tf_flowers" and split == list(DATASETS["tf_flowers"].splits)
    assert kwargs["as_supervised"] and kwargs["with_info"] and kwargs["data_dir"] == "/some/dir"
    assert splits.label_names == ["a", "b"]
    assert Counter(int(label) for _, label in splits.train_ds) == {0: 2, 1: 2}
    assert [image.shape[-1] for image, _ in splits.val_ds] == [3, 3], "grayscale becomes RGB"
    assert len(list(splits.test_ds)) == 1


def test_real_profile_offline_fails_fast_with_download_error(monkeypatch):
    def no_dns(*args, **kwargs):
        raise socket.gaierror(-3, "Temporary failure in name resolution")

    def must_not_load(*args, **kwargs):
        raise AssertionError("tfds.load must not be tried without a network")

    monkeypatch.setattr(data.tfds, "builder", lambda name, data_dir=None: FakeBuilder(False))
    monkeypatch.setattr(data.tfds, "load", must_not_load)
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    with pytest.raises(DownloadError) as caught:
        load_splits("tf_flowers", get_settings("quick"))
    assert "tf_flowers" in str(caught.value) and "TLCOURSE_PROFILE=smoke" in str(caught.value)


def test_real_profile_download_failure_becomes_download_error(monkeypatch):
    def failing_load(*args, **kwargs):
        raise ConnectionError("Max retries exceeded with url: /tf_flowers.tgz")

    monkeypatch.setattr(data.tfds, "builder", lambda name, data_dir=None: FakeBuilder(True))
    monkeypatch.setattr(data.tfds, "load", failing_load)
    with pytest.raises(DownloadError, match="python -m tlcourse prefetch"):
        load_splits("beans", get_settings("full"))


# --- prepare and count_examples ---------------------------------------------------------------

def test_prepare_batches_resized_float32_images_still_in_0_255(flower_splits):
    prepared = prepare(flower_splits.train_ds, 32, 8)
    image_spec, label_spec = prepared.element_spec
    assert image_spec.shape.as_list() == [None, 32, 32, 3] and image_spec.dtype == tf.float32
    assert label_spec.dtype.is_integer
    batches = list(prepared)
    assert [int(images.shape[0]) for images, _ in batches] == [8] * 5 + [2]
    pixels = np.concatenate([images.numpy() for images, _ in batches])
    assert pixels.min() >= 0 and pixels.max() <= 255
    assert pixels.max() > 200, "images must stay in 0–255: each model preprocesses inside"
    assert np.array_equal(pixels, np.round(pixels)), "pixels are whole numbers (cached as uint8)"
    labels = np.concatenate([labels.numpy() for _, labels in batches])
    assert labels.tolist() == [int(label) for _, label in flower_splits.train_ds]


def test_prepare_shuffle_is_a_seeded_permutation(flower_splits):
    def labels(ds):
        return [int(label) for _, batch in ds for label in batch]

    plain = labels(prepare(flower_splits.val_ds, 16, 4, cache=False))
    first = labels(prepare(flower_splits.val_ds, 16, 4, shuffle=True, seed=1))
    again = labels(prepare(flower_splits.val_ds, 16, 4, shuffle=True, seed=1))
    assert sorted(first) == sorted(plain) and first == again


def test_prepare_keeps_a_constant_image_constant():
    ds = tf.data.Dataset.from_tensors((tf.fill([10, 14, 3], tf.constant(200, tf.uint8)), tf.constant(1, tf.int64)))
    (images, labels), = list(prepare(ds, 5, 4))
    assert images.shape == (1, 5, 5, 3) and np.all(images.numpy() == 200.0)
    assert labels.numpy().tolist() == [1]


@pytest.mark.parametrize("image_size, batch_size", [(0, 8), (32, 0), (-1, -1)])
def test_prepare_rejects_bad_sizes(image_size, batch_size):
    with pytest.raises(ValueError, match="too small"):
        prepare(labelled_range(), image_size, batch_size)


def test_count_examples_counts_a_batched_dataset(flower_splits):
    assert count_examples(prepare(flower_splits.test_ds, 16, 4)) == 9
    assert count_examples(tf.data.Dataset.from_tensor_slices(([1.0] * 10, [0] * 10)).batch(3)) == 10


def test_class_counts_counts_every_class_and_rejects_out_of_range_labels():
    ds = tf.data.Dataset.from_tensor_slices((np.zeros((5, 2), "float32"), [0, 2, 2, 1, 2])).batch(2)
    assert data.class_counts(ds, 4).tolist() == [1, 1, 3, 0]
    with pytest.raises(ValueError, match="num_classes=2"):
        data.class_counts(ds, 2)
