"""TFDS image datasets as train/val/test splits, and the input pipelines that feed them.

In ``quick``/``full`` the splits are real TFDS slices (``train[:70%]`` …). In ``smoke`` the
dataset is mocked by ``tfds.testing.mock_data`` (no download): every split and every slice then
yields the same random examples, so the mocked examples are loaded once and partitioned by
index instead — train, val and test stay disjoint in every profile.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

import tensorflow as tf
import tensorflow_datasets as tfds

from tlcourse.checks import (check_bool, check_dataset, check_int, check_num_classes, check_number,
                             check_text)
from tlcourse.downloads import download_guard, require_network
from tlcourse.paths import tfds_data_dir
from tlcourse.settings import Settings

AUTOTUNE = tf.data.AUTOTUNE
MAX_IMAGE_SIZE = 2048  # larger sides are typing mistakes (a 10**9 px side exhausts memory)


@dataclass(frozen=True)
class DatasetSpec:
    """A TFDS image-classification dataset the course knows how to split.

    Attributes:
        name: the TFDS name.
        splits: TFDS split strings for train, val and test.
        about: one line for learners.
    """

    name: str
    splits: tuple[str, str, str]
    about: str


_SEVENTY_FIFTEEN_FIFTEEN = ("train[:70%]", "train[70%:85%]", "train[85%:]")

DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec("tf_flowers", _SEVENTY_FIFTEEN_FIFTEEN,
                    "3,670 flower photos, 5 classes, one 'train' split (218 MiB)"),
        DatasetSpec("beans", ("train", "validation", "test"),
                    "1,295 bean-leaf photos, 3 classes (healthy and two diseases)"),
        DatasetSpec("colorectal_histology", _SEVENTY_FIFTEEN_FIFTEEN,
                    "5,000 tissue tiles of 150 px, 8 classes (246 MiB)"),
        DatasetSpec("oxford_flowers102", ("train", "validation", "test"),
                    "8,189 flower photos, 102 classes, only 10 training images per class"),
        DatasetSpec("pneumonia_mnist", ("train", "val", "test"),
                    "5,856 chest X-rays of 28 px, grayscale, 2 classes (normal, pneumonia) (4 MB)"),
    )
}


class DatasetSplits(NamedTuple):
    """Unbatched ``(image uint8 [H, W, 3], label int64)`` datasets and the class names."""

    train_ds: tf.data.Dataset
    val_ds: tf.data.Dataset
    test_ds: tf.data.Dataset
    label_names: list[str]

    @property
    def num_classes(self) -> int:
        """How many classes the dataset has."""
        return len(self.label_names)


def get_dataset_spec(name: str) -> DatasetSpec:
    """Return the course's entry for dataset ``name``; a ValueError lists the valid names."""
    check_text("name", name, fix=f"pass a dataset name, one of {', '.join(DATASETS)}")
    if name not in DATASETS:
        from tlcourse.checks import suggest

        raise ValueError(f"Unknown dataset {name!r}. {suggest(name, DATASETS)} Choose one of: "
                         f"{', '.join(DATASETS)}.".replace(".  ", ". "))
    return DATASETS[name]


def split_by_index(ds: tf.data.Dataset, fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
                   ) -> tuple[tf.data.Dataset, tf.data.Dataset, tf.data.Dataset]:
    """Partition ``ds`` into three disjoint datasets by example index, in cycles of 20.

    Used for mocked data, where TFDS slices all return the same examples. Each block of 20
    consecutive examples goes ``round(20 * fraction)`` to each part, so small datasets still get
    examples in every part.

    Example:
        >>> train_ds, val_ds, test_ds = split_by_index(tf.data.Dataset.range(40))
        >>> [len(list(part)) for part in (train_ds, val_ds, test_ds)]
        [28, 6, 6]
    """
    if not isinstance(ds, tf.data.Dataset) or isinstance(ds.element_spec, tuple):  # (image, label) pairs
        check_dataset("ds", ds, batched=False, fix="split the examples before batching them")
    fix = "pass three positive numbers that sum to 1, e.g. fractions=(0.7, 0.15, 0.15)"
    if isinstance(fractions, (str, bytes)) or not isinstance(fractions, (tuple, list)):
        raise TypeError(f"fractions={fractions!r} is a {type(fractions).__name__}: expected a tuple of "
                        f"(train, val, test) fractions. Fix: {fix}.")
    if len(fractions) != 3:
        raise ValueError(f"fractions={fractions!r} has {len(fractions)} numbers: expected 3, "
                         f"(train, val, test). Fix: {fix}.")
    fractions = tuple(check_number(f"fractions[{index}]", value, above=0, below=1, fix=fix)
                      for index, value in enumerate(fractions))
    if abs(sum(fractions) - 1) > 1e-6:
        raise ValueError(f"fractions={fractions!r} sum to {sum(fractions):g}: expected a sum of 1. Fix: {fix}.")
    cycle = 20
    first = round(cycle * fractions[0])
    second = first + round(cycle * fractions[1])
    bounds = [(0, first), (first, second), (second, cycle)]
    if any(low >= high for low, high in bounds):
        raise ValueError(f"fractions {fractions} leave a part empty (each gets round(20 * fraction) "
                         "of every 20 examples): make every fraction at least 0.05.")
    indexed = ds.enumerate()

    def drop_index(index: tf.Tensor, example: tuple) -> tuple:
        return example

    def part(low: int, high: int) -> tf.data.Dataset:
        def in_part(index: tf.Tensor, example: tuple) -> tf.Tensor:
            return (index % cycle >= low) & (index % cycle < high)

        return indexed.filter(in_part).map(drop_index)

    return tuple(part(low, high) for low, high in bounds)


def _to_rgb(image: tf.Tensor, label: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    if image.shape[-1] == 1:
        image = tf.image.grayscale_to_rgb(image)
    return image, label


def load_splits(name: str, settings: Settings, data_dir: str | None = None, *,
                per_class_cap: bool = True) -> DatasetSplits:
    """Load TFDS dataset ``name`` as disjoint train/val/test splits of ``(image, label)`` pairs.

    Real data (quick/full) is downloaded on first use into ``data_dir`` (default
    ``tlcourse.paths.tfds_data_dir()``: ``$TFDS_DATA_DIR``, else ``data/tfds`` in the course; passed
    to tfds explicitly, so it holds even when tfds was imported before ``tlcourse``). With ``settings.mock_data`` (smoke) nothing is downloaded: ``mock_examples`` random
    examples with the real label names are partitioned 70/15/15. The training split is cut to
    ``settings.train_examples_per_class`` examples per class when that is set, which also
    balances the classes; ``per_class_cap=False`` keeps every training example (and the
    dataset's own class imbalance, as notebook 13's X-rays need).

    Args:
        name: a key of ``DATASETS``.
        settings: the active profile (``tlcourse.setup()``).
        data_dir: where TFDS keeps the dataset; default ``tlcourse.paths.tfds_data_dir()``.
        per_class_cap: apply ``settings.train_examples_per_class`` to the training split
            (default); ``False`` leaves it whole.

    Raises:
        ValueError: unknown dataset name.
        DownloadError: the download failed; the message names the fix.

    Example:
        >>> train_ds, val_ds, test_ds, label_names = load_splits("tf_flowers", settings)  # doctest: +SKIP
        >>> xray = load_splits("pneumonia_mnist", settings, per_class_cap=False)  # doctest: +SKIP
    """
    spec = get_dataset_spec(name)
    if not isinstance(settings, Settings):
        raise TypeError(f"settings={settings!r} is a {type(settings).__name__}: expected the Settings "
                        "that tlcourse.setup() returns. Fix: settings = tlcourse.setup(), then "
                        "load_splits(name, settings) (or tlcourse.get_settings('smoke')).")
    if data_dir is not None and not isinstance(data_dir, (str, os.PathLike)):
        raise TypeError(f"data_dir={data_dir!r} is a {type(data_dir).__name__}: expected a folder path "
                        "(str or pathlib.Path) or None. Fix: leave it out to use TFDS_DATA_DIR.")
    if data_dir is not None and os.path.exists(data_dir) and not os.path.isdir(data_dir):
        raise ValueError(f"data_dir={str(data_dir)!r} is a file: expected a folder for TFDS downloads. "
                         "Fix: pass a folder path, or leave it out to use TFDS_DATA_DIR.")
    per_class_cap = check_bool("per_class_cap", per_class_cap)
    if data_dir is None:
        data_dir = tfds_data_dir()
    if settings.mock_data:
        with tfds.testing.mock_data(num_examples=settings.mock_examples):
            everything, info = tfds.load(name, split=spec.splits[0].split("[")[0],
                                         as_supervised=True, with_info=True, data_dir=data_dir)
        parts = split_by_index(everything)
    else:
        if not tfds.builder(name, data_dir=data_dir).is_prepared():
            require_network(f"the {name} dataset")
        with download_guard(f"the {name} dataset"):
            parts, info = tfds.load(name, split=list(spec.splits), as_supervised=True,
                                    with_info=True, data_dir=data_dir)
    label_names = list(info.features["label"].names)
    train_ds, val_ds, test_ds = (part.map(_to_rgb) for part in parts)
    if per_class_cap and settings.train_examples_per_class:
        train_ds = take_per_class(train_ds, settings.train_examples_per_class, len(label_names))
    return DatasetSplits(train_ds, val_ds, test_ds, label_names)


def take_per_class(ds: tf.data.Dataset, examples_per_class: int, num_classes: int) -> tf.data.Dataset:
    """Keep the first ``examples_per_class`` examples of each class, in dataset order.

    Streams through ``ds`` once (no shuffling, so the subset is the same every run). Every label
    must lie in ``0 … num_classes - 1``: a larger one stops the pass with an
    ``InvalidArgumentError`` naming the fix (TensorFlow would otherwise ignore it on a GPU).
    An empty ``ds`` gives an empty dataset.

    Example:
        >>> ds = tf.data.Dataset.from_tensor_slices(([0., 1., 2., 3.], [0, 0, 1, 0]))
        >>> [int(y) for _, y in take_per_class(ds, 2, 2)]
        [0, 0, 1]
    """
    check_dataset("ds", ds, batched=False, fix="pass unbatched (image, label) pairs, e.g. splits.train_ds")
    examples_per_class = check_int("examples_per_class", examples_per_class, minimum=1,
                                   fix="keep at least one example of each class, e.g. 10")
    num_classes = check_num_classes(num_classes)

    def count(counts: tf.Tensor, example: tuple) -> tuple:
        label = tf.cast(example[1], tf.int32)
        checked = [tf.debugging.assert_less(label, num_classes, message=(
            f"take_per_class: a label is >= num_classes={num_classes}. Fix: pass the dataset's "
            "number of classes, e.g. splits.num_classes")),
            tf.debugging.assert_non_negative(label, message="take_per_class: a label is negative")]
        with tf.control_dependencies(checked):  # the checks first: else counts[label] may fail with a raw error
            label = tf.identity(label)
        keep = counts[label] < examples_per_class
        counts = tf.tensor_scatter_nd_add(counts, [[label]], [1])
        return counts, (example, keep)

    def is_kept(example: tuple, keep: tf.Tensor) -> tf.Tensor:
        return keep

    def drop_flag(example: tuple, keep: tf.Tensor) -> tuple:
        return example

    return ds.scan(tf.zeros([num_classes], tf.int32), count).filter(is_kept).map(drop_flag)


def prepare(ds: tf.data.Dataset, image_size: int, batch_size: int, *, shuffle: bool = False,
            seed: int | None = None, cache: bool = True) -> tf.data.Dataset:
    """Resize, cache, (shuffle,) batch, cast and prefetch ``(image, label)`` pairs.

    Notebook 02 writes this pipeline out in full, a sentence per step, and checks that it gives
    the same batches as this helper; later notebooks call the helper.

    Images are resized to ``image_size`` × ``image_size`` and cached as uint8 (4× less memory
    than float32), then batched and cast to float32 *still in 0–255*: each model applies its own
    ``preprocess_input`` (or rescaling) inside, so the same pipeline feeds every backbone.

    The result always knows its length (``cardinality()``: the number of batches), so Keras
    shows a progress bar with a total and ``fit`` never warns that the input "ran out of data".
    When ``ds`` hides its length (after ``filter``, as in ``load_splits``' mock partitioning and
    ``take_per_class``), the examples are counted once, after the cache, so that pass fills the
    cache and nothing is decoded twice; ``assert_cardinality`` then records the count.

    Args:
        ds: unbatched ``(image, label)`` pairs, e.g. from ``load_splits``.
        image_size: output side in pixels.
        batch_size: examples per batch.
        shuffle: shuffle every epoch (training data only).
        seed: shuffle seed, for runs that repeat exactly.
        cache: keep the resized images in memory after the first pass.

    Example:
        >>> ds = tf.data.Dataset.from_tensor_slices((tf.zeros([10, 8, 8, 3], tf.uint8), tf.range(10)))
        >>> prepared = prepare(ds.filter(lambda image, label: label < 7), 4, 3)
        >>> int(prepared.cardinality())  # 7 examples in batches of 3
        3
    """
    check_dataset("ds", ds, batched=False, fix="pass unbatched (image, label) pairs, e.g. splits.train_ds "
                  "(prepare batches them)")
    image_size = check_int("image_size", image_size, minimum=1, maximum=MAX_IMAGE_SIZE,
                           fix="use the side in pixels, e.g. image_size=settings.image_size")
    batch_size = check_int("batch_size", batch_size, minimum=1, fix="e.g. batch_size=settings.batch_size")
    shuffle, cache = check_bool("shuffle", shuffle), check_bool("cache", cache)
    if seed is not None:
        seed = check_int("seed", seed, minimum=0, maximum=2**32 - 1, fix="pass a whole number such as settings.seed, or None")

    def resize(image: tf.Tensor, label: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        image = tf.image.resize(image, [image_size, image_size], antialias=True)
        return tf.saturate_cast(tf.round(image), tf.uint8), label

    ds = ds.map(resize, num_parallel_calls=AUTOTUNE)
    if cache:
        ds = ds.cache()
    if ds.cardinality() == tf.data.UNKNOWN_CARDINALITY:
        num_examples = ds.reduce(tf.constant(0, tf.int64), lambda count, example: count + 1)
        ds = ds.apply(tf.data.experimental.assert_cardinality(num_examples))
    if shuffle:
        ds = ds.shuffle(1000, seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size).map(lambda images, labels: (tf.cast(images, tf.float32), labels),
                                  num_parallel_calls=AUTOTUNE)
    return ds.prefetch(AUTOTUNE)


def class_counts(ds: tf.data.Dataset, num_classes: int) -> np.ndarray:
    """Count the examples of each class in a batched ``(images, labels)`` dataset (one pass).

    Like ``count_examples``, the pass also fills the dataset's cache.

    Example:
        >>> ds = tf.data.Dataset.from_tensor_slices(([0., 1., 2.], [0, 2, 2])).batch(2)
        >>> class_counts(ds, 3).tolist()
        [1, 0, 2]

    An empty dataset gives all zeros.
    """
    check_dataset("ds", ds, batched=True)
    num_classes = check_num_classes(num_classes)
    labels = [np.asarray(batch_labels).reshape(-1) for _, batch_labels in ds]
    all_labels = np.concatenate(labels) if labels else np.zeros(0, dtype=int)
    if len(all_labels) and (all_labels.min() < 0 or all_labels.max() >= num_classes):
        raise ValueError(f"Labels must lie in 0…{num_classes - 1} (num_classes={num_classes}); found "
                         f"{all_labels.min()}…{all_labels.max()}. Pass the dataset's num_classes.")
    return np.bincount(all_labels.astype(int), minlength=num_classes)


def count_examples(ds: tf.data.Dataset) -> int:
    """Count the examples in a batched dataset by iterating it once (this also fills its cache).

    An empty dataset counts 0.
    """
    check_dataset("ds", ds, batched=True)
    return sum(int(tf.shape(labels)[0]) for _, labels in ds)
