"""Notebook 05's experiment: accuracy against the number of labelled examples per class.

Each seed draws its own labelled training images from a fixed pool, *nested*: the 5 images
per class of a seed are among its 10, which are among its 25, and so on, so a larger budget
only ever adds images. Every recipe (from scratch, frozen base + head, the fine-tuning
preview) then trains for ``step_budget`` optimizer steps (the course's one rule) on those images and is scored on the
same untouched test set.

Example:
    >>> labels = np.array([0, 1, 0, 1, 0, 1])
    >>> subsets = nested_subsets(labels, (1, 2, None), seed=0)
    >>> [len(subsets[budget]) for budget in (1, 2, None)]
    [2, 4, 6]
    >>> set(subsets[1]) <= set(subsets[2])
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from tlcourse import checks


def nested_subsets(labels: Sequence[int] | np.ndarray, examples_per_class: Sequence[int | None], *,
                   seed: int) -> dict[int | None, np.ndarray]:
    """Draw, for one seed, the training indices of each budget; smaller budgets are subsets of larger.

    Per class, the indices of that class are shuffled once with ``seed``; budget ``k`` takes the
    first ``k`` of them. So every budget has exactly ``k`` examples of every class, and a budget
    only adds examples to the smaller ones. ``None`` stands for every index.

    Args:
        labels: the class index of every example in the pool (1-D).
        examples_per_class: the budgets, e.g. ``(5, 10, 25, None)``.
        seed: which draw; another seed gives other images.

    Returns:
        ``{budget: sorted indices into labels}``, in the order of ``examples_per_class``.

    Raises:
        ValueError: empty labels or budgets, or a budget larger than the smallest class.

    Example:
        >>> nested_subsets([0, 0, 1, 1, 1], (1,), seed=3)[1].shape
        (2,)
    """
    labels = np.asarray(labels)
    checks.check_not_empty("labels", labels, fix="pass the pool's labels, e.g. pool_labels")
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0:
        raise ValueError(f"labels must be a 1-D array of class indices (whole numbers >= 0), got "
                         f"shape {labels.shape} and dtype {labels.dtype}. Pass e.g. pool_labels.")
    checks.check_int("seed", seed, minimum=0, fix="use e.g. seed=0")
    budgets = tuple(examples_per_class)
    checks.check_not_empty("examples_per_class", budgets, fix="use e.g. examples_per_class=(5, 10, 25)")
    whole = [budget for budget in budgets if budget is not None]
    if whole:
        checks.check_int_sequence("examples_per_class", whole, minimum=1,
                                  fix="use counts like (5, 10, 25), and None for every example")
    classes, counts = np.unique(labels, return_counts=True)
    smallest = int(counts.min())
    if whole and max(whole) > smallest:
        rare = int(classes[np.argmin(counts)])
        raise ValueError(f"examples_per_class={budgets!r} asks for {max(whole)} examples of every class, "
                         f"but class {rare} has only {smallest} in the pool. Fix: use budgets <= "
                         f"{smallest}, or None for every example.")
    rng = np.random.default_rng(seed)
    shuffled = {label: rng.permutation(np.flatnonzero(labels == label)) for label in classes}
    return {budget: np.arange(len(labels)) if budget is None
            else np.sort(np.concatenate([order[:budget] for order in shuffled.values()]))
            for budget in budgets}


def step_budget(num_examples: int, batch_size: int, *, epochs: int, min_steps: int) -> int:
    """Return the optimizer steps of one run: the course's one step-budget rule.

    **The rule:** enough steps to show each labelled example ``epochs`` times —
    ``ceil(epochs × num_examples / batch_size)`` — but never fewer than ``min_steps``. Every
    recipe compared at the same number of labels gets this same budget, so none wins by training
    longer; the minimum keeps the smallest budgets (one batch per epoch) from stopping after a
    handful of steps. Notebooks 01 (through ``tlcourse.lab.step_budget``), 05, 10, 11 and 14 all
    use it; what changes between them is only ``epochs`` and ``min_steps`` (their profile's
    settings). Stated in notebook 05.

    A budget that is the same for every recipe is fair, not optimal: a model trained from
    scratch may need many more steps than a new head on a frozen base (a deep dive of notebook 01
    measures how much of scratch's low score is under-training).

    Example:
        >>> step_budget(25, 32, epochs=10, min_steps=40), step_budget(250, 32, epochs=10, min_steps=40)
        (40, 79)
    """
    checks.check_int("num_examples", num_examples, minimum=1, fix="pass the number of labelled images")
    checks.check_int("batch_size", batch_size, minimum=1, fix="use e.g. batch_size=32")
    checks.check_int("epochs", epochs, minimum=1, fix="use e.g. epochs=10")
    checks.check_int("min_steps", min_steps, minimum=1, fix="use e.g. min_steps=40")
    return max(min_steps, math.ceil(epochs * num_examples / batch_size))


class ImageArrays(NamedTuple):
    """Every image and label of a dataset, in dataset order, as ``to_arrays`` returns them.

    Attributes:
        images: ``uint8 [N, H, W, 3]`` pixels (0–255).
        labels: ``int64 [N]`` class indices.
    """

    images: np.ndarray
    labels: np.ndarray


def to_arrays(ds: tf.data.Dataset) -> ImageArrays:
    """Collect a batched ``(images, labels)`` dataset (pixels 0–255) into two NumPy arrays.

    The images are stored as ``uint8`` (4× less memory than float32), so a pool of a few
    thousand small images fits comfortably; index them to draw subsets.

    Example:
        >>> ds = tf.data.Dataset.from_tensor_slices((np.full((3, 2, 2, 3), 7.0), [0, 1, 0])).batch(2)
        >>> arrays = to_arrays(ds)
        >>> arrays.images.shape, arrays.images.dtype.name, arrays.labels.tolist()
        ((3, 2, 2, 3), 'uint8', [0, 1, 0])
    """
    checks.check_dataset("ds", ds, batched=True)
    images, labels = [], []
    for batch_images, batch_labels in ds:
        images.append(np.clip(np.round(np.asarray(batch_images)), 0, 255).astype(np.uint8))
        labels.append(np.asarray(batch_labels).reshape(-1).astype(np.int64))
    if not images:
        raise ValueError("ds yielded no batches: nothing to collect. Check that the split is not empty.")
    return ImageArrays(np.concatenate(images), np.concatenate(labels))


def training_batches(inputs: np.ndarray, labels: np.ndarray, batch_size: int, *, seed: int) -> tf.data.Dataset:
    """Shuffle ``(inputs, labels)`` with ``seed`` and repeat them as float32 batches, endlessly.

    For ``fit(..., steps_per_epoch=steps, epochs=1)``: the run makes exactly ``steps`` optimizer
    steps, however few the examples. ``inputs`` may be images (uint8 0–255) or features (both
    become float32), or strings such as reviews (kept as strings).

    Example:
        >>> batches = training_batches(np.zeros((5, 3)), np.zeros(5, "int64"), 4, seed=0)
        >>> [tuple(x.shape) for x, _ in batches.take(3)]
        [(4, 3), (4, 3), (4, 3)]
        >>> next(iter(training_batches(np.array(["good", "bad"]), np.array([1, 0]), 2, seed=0)))[0].dtype
        tf.string
    """
    inputs, labels = np.asarray(inputs), np.asarray(labels)
    checks.check_not_empty("inputs", inputs, fix="draw at least one example per class")
    if len(inputs) != len(labels):
        raise ValueError(f"inputs has {len(inputs)} examples but labels has {len(labels)}: index both "
                         "with the same indices, e.g. pool.images[indices], pool.labels[indices].")
    checks.check_int("batch_size", batch_size, minimum=1, fix="use e.g. batch_size=32")
    checks.check_int("seed", seed, minimum=0, fix="use e.g. seed=0")
    ds = tf.data.Dataset.from_tensor_slices((inputs, labels))
    ds = ds.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True).repeat()
    ds = ds.batch(batch_size)
    if inputs.dtype.kind not in "USO":  # texts (notebook 10) stay strings
        ds = ds.map(lambda x, y: (tf.cast(x, tf.float32), y))
    return ds.prefetch(tf.data.AUTOTUNE)
