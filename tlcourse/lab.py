"""The shapes lab of notebook 01: pretrain a small CNN, then transfer it to new shapes.

Introduced in notebook 01, which writes every step out in full once (and checks that
``train_target`` reproduces it exactly); this module holds the same steps as short functions
so that a sweep over label budgets and seeds fits in one call:

1. ``build_base`` / ``build_classifier``: a small CNN — convolution blocks ending in global
   average pooling (the *base*) and a ``Dense`` logits layer (the *head*). No
   BatchNormalization, so freezing and fine-tuning have no hidden moving statistics.
2. ``train_source``: train it on ``shapes.SOURCE_SHAPES`` with plenty of labels.
3. ``train_target``: one of three recipes on ``shapes.TARGET_SHAPES`` with a few labels:
   ``"scratch"`` (the same network, freshly initialised), ``"frozen"`` (the source base,
   frozen, plus a new head) and ``"fine-tuned"`` (the same, then every layer trained further
   with a ten times smaller learning rate). All three get the same number of steps.
4. ``run_sweep``: every recipe for every labels-per-class value and seed, scored on one
   untouched test set drawn with its own seed. ``tlcourse.results.summarize_runs`` and
   ``tlcourse.plots.plot_accuracy_vs_labels`` report it.

Example:
    >>> source_model = train_source(per_class=300, epochs=3)  # doctest: +SKIP
    >>> rows = run_sweep(source_model.get_layer("base"), [3, 30], seeds=[0, 1])  # doctest: +SKIP
    >>> print(results.format_summary(results.summarize_runs(rows)))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from tlcourse import shapes

METHODS: tuple[str, ...] = ("scratch", "frozen", "fine-tuned")
"""The three recipes ``train_target`` knows, in the order tables and plots show them."""

SOURCE_TEST_SEED = 2_000
"""Seed of the source task's test images (training images use the seed you pass)."""

TARGET_TEST_SEED = 1_000
"""Seed of the target task's test set: never used for any training image."""

TARGET_TRAIN_SEED = 100
"""Offset added to a sweep seed to draw that seed's labelled target images."""


def build_base(image_size: int = 32, seed: int = 0, filters: Sequence[int] = (16, 32, 64, 64)) -> keras.Model:
    """Build the convolutional base: input scaling, conv blocks, global average pooling.

    The images (values 0–255) are scaled to 0–1 and standardised per image
    (``LayerNormalization`` over height, width and channels, nothing learned: the random
    colours and contrasts stop mattering). Each block is a 3×3 ReLU convolution and a 2×2 max
    pooling; the output is one feature vector per image (``filters[-1]`` numbers). There is no
    BatchNormalization, so the base computes the same thing in training and inference. The
    weights are random, drawn from ``seed``.

    Args:
        image_size: side of the square RGB input images.
        seed: seed for ``keras.utils.set_random_seed`` before the layers are created.
        filters: channels of each block.

    Example:
        >>> build_base(32, seed=0).output_shape
        (None, 64)
    """
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(image_size, image_size, 3))
    x = layers.Rescaling(1 / 255)(inputs)
    x = layers.LayerNormalization(axis=(1, 2, 3), center=False, scale=False)(x)
    for block_filters in filters:
        x = layers.Conv2D(block_filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    outputs = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, outputs, name="base")


def build_classifier(base: keras.Model, num_classes: int, seed: int = 0) -> keras.Model:
    """Put a new ``Dense`` logits head on ``base``; the base is called with ``training=False``.

    ``training=False`` keeps any BatchNormalization or Dropout inside the base in inference
    mode even when the base is unfrozen (this course's small CNN has neither, but pretrained
    backbones do). Whether the base learns is set by ``base.trainable`` alone.

    Args:
        base: a model mapping images to feature vectors, e.g. from ``build_base``.
        num_classes: number of classes of the new task.
        seed: seed for the head's initial weights.

    Example:
        >>> build_classifier(build_base(32), num_classes=6).output_shape
        (None, 6)
    """
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=base.input_shape[1:])
    features = base(inputs, training=False)
    outputs = layers.Dense(num_classes, dtype="float32", name="head")(features)  # float32 logits under mixed precision
    return keras.Model(inputs, outputs, name="classifier")


def build_cnn(num_classes: int, image_size: int = 32, seed: int = 0) -> keras.Model:
    """Build the whole small CNN with random weights: ``build_base`` plus a logits head.

    Its base is ``model.get_layer("base")``.

    Args:
        num_classes: number of classes.
        image_size: side of the square input images.
        seed: seed for all initial weights.

    Example:
        >>> build_cnn(6, image_size=32).get_layer("base").name
        'base'
    """
    return build_classifier(build_base(image_size, seed), num_classes, seed)


def compile_classifier(model: keras.Model, learning_rate: float) -> keras.Model:
    """Compile ``model`` for integer labels and logits (Adam, ``from_logits=True``); return it.

    Call it again after every change of ``trainable``: Keras reads it at compile time.

    Example:
        >>> type(compile_classifier(build_cnn(6), learning_rate=1e-3).optimizer).__name__
        'Adam'
    """
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def train_source(per_class: int, epochs: int, image_size: int = 32, seed: int = 0,
                 batch_size: int = 32, learning_rate: float = 2e-3, verbose: int = 0) -> keras.Model:
    """Train the small CNN on ``shapes.SOURCE_SHAPES``; return it (its base: ``get_layer("base")``).

    Args:
        per_class: training images per source shape (the images use ``seed``).
        epochs: passes over the training images.
        image_size: side of the images.
        seed: seed for the images, the initial weights and the shuffling.
        batch_size: images per step.
        learning_rate: Adam's learning rate.
        verbose: passed to ``fit``.

    Example:
        >>> model = train_source(per_class=300, epochs=3)  # doctest: +SKIP
        >>> source_accuracy(model)  # doctest: +SKIP
        0.9...
    """
    x_train, y_train = shapes.make_shapes(shapes.SOURCE_SHAPES, per_class, image_size, seed=seed)
    model = compile_classifier(build_cnn(len(shapes.SOURCE_SHAPES), image_size, seed), learning_rate)
    model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=verbose)
    return model


def source_accuracy(model: keras.Model, per_class: int = 200) -> float:
    """Return ``model``'s accuracy on fresh source-task test images (seed ``SOURCE_TEST_SEED``)."""
    image_size = model.input_shape[1]
    x_test, y_test = shapes.make_shapes(shapes.SOURCE_SHAPES, per_class, image_size, seed=SOURCE_TEST_SEED)
    return float(model.evaluate(x_test, y_test, verbose=0)[1])


def copy_base(base: keras.Model) -> keras.Model:
    """Return an independent copy of ``base`` with the same weights (``clone_model`` + ``set_weights``).

    Each transfer run trains its own copy, so one run never starts from another's weights.

    Example:
        >>> base = build_base(32)
        >>> copy = copy_base(base)
        >>> copy is base, all((a == b).all() for a, b in zip(copy.get_weights(), base.get_weights()))
        (False, True)
    """
    copy = keras.models.clone_model(base)
    copy.set_weights(base.get_weights())
    return copy


def take_per_class(images: np.ndarray, labels: np.ndarray, per_class: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep the first ``per_class`` images of every class, in their original order.

    With shuffled images (as ``shapes.make_shapes`` returns them) this is a random sample, and
    a smaller ``per_class`` always gives a subset of a larger one.

    Example:
        >>> take_per_class(np.arange(6), np.array([0, 1, 0, 1, 0, 1]), 2)
        (array([0, 1, 2, 3]), array([0, 1, 0, 1]))
    """
    rank = np.zeros(len(labels), dtype=int)
    for label in np.unique(labels):
        where = labels == label
        rank[where] = np.arange(where.sum())
    keep = rank < per_class
    return images[keep], labels[keep]


def make_target_data(labels_per_class: int, seed: int, test_per_class: int = 200,
                     image_size: int = 32) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(x_train, y_train, x_test, y_test)`` for the target task (``shapes.TARGET_SHAPES``).

    The training images depend on ``seed`` (drawn with ``seed + TARGET_TRAIN_SEED``); the test
    set is always the same, drawn with ``TARGET_TEST_SEED``.

    Example:
        >>> x_train, y_train, x_test, y_test = make_target_data(3, seed=0, test_per_class=10)
        >>> x_train.shape, x_test.shape
        ((18, 32, 32, 3), (60, 32, 32, 3))
    """
    x_train, y_train = shapes.make_shapes(shapes.TARGET_SHAPES, labels_per_class, image_size,
                                          seed=seed + TARGET_TRAIN_SEED)
    x_test, y_test = shapes.make_shapes(shapes.TARGET_SHAPES, test_per_class, image_size,
                                        seed=TARGET_TEST_SEED)
    return x_train, y_train, x_test, y_test


def repeat_dataset(images: np.ndarray, labels: np.ndarray, batch_size: int = 32,
                   seed: int = 0) -> tf.data.Dataset:
    """Return an endless, shuffled ``tf.data`` stream of ``(images, labels)`` batches.

    With a handful of labelled images one epoch is a single step, so the target recipes are
    given a number of *steps* instead: ``model.fit(dataset, steps_per_epoch=steps, epochs=1)``.
    The order depends only on ``seed``.

    Example:
        >>> dataset = repeat_dataset(np.zeros((6, 32, 32, 3), "uint8"), np.arange(6), batch_size=4)
        >>> [tuple(part.shape) for part in next(iter(dataset))]
        [(4, 32, 32, 3), (4,)]
    """
    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    return dataset.shuffle(len(images), seed=seed).repeat().batch(batch_size)


def train_target(method: str, source_base: keras.Model, x_train: np.ndarray, y_train: np.ndarray,
                 x_test: np.ndarray, y_test: np.ndarray, steps: int = 200, seed: int = 0,
                 batch_size: int = 32, learning_rate: float = 5e-3) -> float:
    """Train one recipe on the target task and return its test accuracy.

    * ``"scratch"``: the same network as the others, with fresh random weights, all trained.
    * ``"frozen"``: a copy of ``source_base`` with ``trainable = False`` and a new head.
    * ``"fine-tuned"``: like ``"frozen"`` for the first half of the steps, then the base is
      unfrozen, the model recompiled with ``learning_rate / 10``, and trained for the rest.

    Every recipe gets the same budget — ``steps`` batches of ``batch_size`` from the same
    stream (``repeat_dataset``) — and its head starts from the same random weights (``seed``).
    ``source_base`` itself is never changed.

    Args:
        method: one of ``METHODS``.
        source_base: the pretrained base (or, as a control, an untrained ``build_base``).
        x_train, y_train: the labelled target images.
        x_test, y_test: the target test set.
        steps: the training budget in gradient steps, the same for every recipe.
        seed: seed for the new weights and the shuffling.
        batch_size: images per step.
        learning_rate: Adam's learning rate (fine-tuning uses a tenth of it).

    Example:
        >>> train_target("frozen", base, *make_target_data(10, seed=0), steps=200)  # doctest: +SKIP
        0.7...
    """
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not a recipe; expected one of {METHODS}, e.g. 'frozen'.")
    num_classes = len(shapes.TARGET_SHAPES)
    image_size = source_base.input_shape[1]
    if method == "scratch":
        base = build_base(image_size, seed=seed)
    else:
        base = copy_base(source_base)
        base.trainable = False
    model = compile_classifier(build_classifier(base, num_classes, seed), learning_rate)
    train_ds = repeat_dataset(x_train, y_train, batch_size, seed)
    head_steps = steps // 2 if method == "fine-tuned" else steps
    model.fit(train_ds, steps_per_epoch=head_steps, epochs=1, verbose=0)
    if method == "fine-tuned":
        base.trainable = True
        compile_classifier(model, learning_rate / 10)  # recompile: trainable changed
        model.fit(train_ds, steps_per_epoch=steps - head_steps, epochs=1, verbose=0)
    return float(model.evaluate(x_test, y_test, batch_size=256, verbose=0)[1])


def run_sweep(source_base: keras.Model, labels_per_class: Sequence[int], seeds: Sequence[int],
              steps: int = 200, test_per_class: int = 200, methods: Sequence[str] = METHODS,
              done: Sequence[dict] = (), verbose: bool = True) -> list[dict]:
    """Train every recipe for every labels-per-class value and seed; return one row per run.

    For each seed, the labelled target images are drawn once for the largest value and the
    smaller values take subsets of them; the test set is the same for every run. Runs listed
    in ``done`` (rows from an earlier sweep, or from the same recipe run by hand) are kept as
    they are instead of being trained again.

    Args:
        source_base: the pretrained base, or an untrained ``build_base`` as a control.
        labels_per_class: label budgets, e.g. ``(1, 3, 10, 30)``.
        seeds: e.g. ``range(3)``.
        steps: training budget of every run, in gradient steps.
        test_per_class: test images per target shape.
        methods: recipes to run, from ``METHODS``.
        done: rows already computed with the same settings, to reuse.
        verbose: print one line per run.

    Returns:
        Dicts with keys ``method``, ``labels_per_class``, ``seed``, ``test_accuracy``.

    Example:
        >>> rows = run_sweep(base, [3, 30], seeds=range(2), steps=200)  # doctest: +SKIP
        >>> rows[0]  # doctest: +SKIP
        {'method': 'scratch', 'labels_per_class': 3, 'seed': 0, 'test_accuracy': 0.3}
    """
    image_size = source_base.input_shape[1]
    known = {(row["method"], row["labels_per_class"], row["seed"]): row for row in done}
    rows = []
    for seed in seeds:
        pool = None
        for count in labels_per_class:
            for method in methods:
                if (method, count, seed) in known:
                    rows.append(dict(known[(method, count, seed)]))
                    continue
                if pool is None:
                    pool = make_target_data(max(labels_per_class), seed, test_per_class, image_size)
                x_train, y_train = take_per_class(pool[0], pool[1], count)
                accuracy = train_target(method, source_base, x_train, y_train, pool[2], pool[3],
                                        steps, seed=seed)
                rows.append({"method": method, "labels_per_class": int(count), "seed": int(seed),
                             "test_accuracy": accuracy})
                if verbose:
                    print(f"seed {seed} · {count:>3} labels/class · {method:<10} · test accuracy {accuracy:.3f}")
    return rows
