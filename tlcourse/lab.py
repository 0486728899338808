"""The shapes lab of notebook 01: pretrain a small CNN, then transfer it to new shapes.

Introduced in notebook 01, the concept lesson: it calls these functions, so that a learner sees
transfer learning before notebook 02 teaches how a CNN is built and trained in Keras (notebook 03
writes a frozen base with a new head out in full). Each step is a short function, so that a
comparison over seeds, or a sweep over label budgets, fits in one call:

1. ``build_base`` / ``build_classifier``: a small CNN — convolution blocks ending in global
   average pooling (the *base*) and a ``Dense`` logits layer (the *head*). Seeded initializers:
   the same seed gives the same weights, and no global random state is touched.
2. ``train_source``: train it on ``shapes.SOURCE_SHAPES`` with plenty of labels.
3. ``train_target``: one recipe on ``shapes.TARGET_SHAPES`` with few labels: ``"scratch"``
   (the same network, freshly initialised), ``"frozen"`` (the source base, frozen, plus a new
   head) or ``"fine-tuned"`` (a preview of notebook 08: frozen for half the steps, then every
   layer with a ten times smaller learning rate).
4. ``run_sweep``: recipes × labels-per-class values × seeds, with a step budget that may grow
   with the number of labelled images (``step_budget``) but is the same for every recipe at a
   given budget, all scored on one set of target images no run trains on: the validation
   images (``make_validation_data``) for choices, the test images (``make_test_data``) once, for
   the final report. ``tlcourse.results.summarize_runs`` and
   ``tlcourse.plots.plot_accuracy_vs_labels`` report it.

Every public function checks its arguments (``tlcourse.checks``) before it builds, draws or
trains anything: a step budget of 0 would otherwise make Keras train on an endless stream
forever.

Example:
    >>> source_model = train_source(300, 3)  # doctest: +SKIP
    >>> rows = run_sweep(source_model.get_layer("base"), [3, 30], seeds=[0, 1], steps=100)  # doctest: +SKIP
    >>> print(results.format_summary(results.summarize_runs(rows)))  # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from tlcourse import little_data, shapes
from tlcourse.checks import (check_bool, check_choice, check_int, check_int_sequence, check_labels, check_model,
                             check_not_empty, check_number, check_pixels)

METHODS: tuple[str, ...] = ("scratch", "frozen", "fine-tuned")
"""The recipes ``train_target`` knows, in the order tables and plots show them.
``"fine-tuned"`` is a preview: notebook 08 teaches fine-tuning; notebook 01 sweeps the first two."""

FILTERS: tuple[int, ...] = (16, 32, 64, 64)
"""Channels of the base's convolution blocks (each block ends in a 2 × 2 max pooling)."""

SOURCE_LEARNING_RATE = 2e-3
"""Adam's learning rate for training the whole network from random weights (the source task)."""

LEARNING_RATES: dict[str, float] = {"scratch": SOURCE_LEARNING_RATE, "frozen": 5e-3, "fine-tuned": 5e-3}
"""Default learning rate per recipe. Scratch trains the whole network from random weights, like
the source model, so it gets the source's rate (a larger one made it diverge with many labels);
a new head alone learns faster with a larger one. Fine-tuning's second phase uses a tenth."""

SOURCE_TEST_SEED = 2_000
"""Seed of the source task's test images (training images use the seed you pass)."""

TARGET_TEST_SEED = 1_000
"""Seed of the target task's test set: never used for any training image."""

TARGET_TRAIN_SEED = 100
"""Offset added to a sweep seed to draw that seed's labelled target images."""

TARGET_VALIDATION_SEED = 3_000
"""Seed of the target task's validation images (the same images as ``tlcourse.limits.VALIDATION_SEED``)."""


class TargetRun(NamedTuple):
    """One ``train_target`` run in detail (``details=True``)."""

    accuracy: float
    """Accuracy on ``x_test`` (what ``train_target`` returns without ``details``)."""
    train_seconds: float
    """Wall-clock seconds of the training itself (``fit_recipe``), not of building or scoring."""
    train_accuracy: float | None
    """Accuracy on the run's own training images ``x_train`` (None with ``score_train=False``)."""


class TargetData(NamedTuple):
    """The target task's images: a labelled pool and a fixed test set (``make_target_data``)."""

    x_pool: np.ndarray
    """``labels_per_class`` labelled images per target shape; ``take_per_class`` draws fewer."""
    y_pool: np.ndarray
    """Their class indices."""
    x_test: np.ndarray
    """The test images, the same for every seed."""
    y_test: np.ndarray
    """Their class indices."""


def min_image_size(filters: Sequence[int] = FILTERS) -> int:
    """Return the smallest image side the base can pool: each block halves it, so ``2 ** len(filters)``.

    Example:
        >>> min_image_size((16, 32, 64, 64))
        16
    """
    return 2 ** len(check_int_sequence("filters", filters, minimum=1, fix="e.g. filters=(16, 32, 64, 64)"))


def _check_image_size(image_size: Any, filters: Sequence[int]) -> int:
    smallest = min_image_size(filters)
    return check_int("image_size", image_size, minimum=smallest,
                     fix=f"{len(filters)} max-poolings halve the image {len(filters)} times; use e.g. image_size=32")


def _check_seed(name: str, seed: Any) -> int:
    return check_int(name, seed, minimum=0, fix=f"use a whole number >= 0, e.g. {name}=0")


def _check_learning_rate(learning_rate: Any) -> float:
    return check_number("learning_rate", learning_rate, above=0, maximum=1, fix="Adam works with e.g. 1e-3")


def _check_batch_size(batch_size: Any) -> int:
    return check_int("batch_size", batch_size, minimum=1, maximum=4096, fix="e.g. batch_size=32")


def _check_base(name: str, base: Any) -> keras.Model:
    check_model(name, base, fix="pass a base from tlcourse.lab.build_base, or source_model.get_layer('base')")
    shape = tuple(base.input_shape)
    if len(shape) != 4 or shape[1] != shape[2] or shape[3] != 3 or len(base.output_shape) != 2:
        raise ValueError(f"{name} maps {shape} to {tuple(base.output_shape)}: expected a base mapping "
                         "square RGB images (None, size, size, 3) to feature vectors (None, features). "
                         "Fix: pass a base ending in global average pooling, e.g. "
                         "source_model.get_layer('base') or lab.build_base(32).")
    return base


def build_base(image_size: int = 32, *, seed: int = 0, filters: Sequence[int] = FILTERS) -> keras.Model:
    """Build the convolutional base: input scaling, conv blocks, global average pooling.

    The images (values 0–255) are scaled to 0–1 and standardised per image
    (``LayerNormalization`` over height, width and channels, nothing learned). Each block is a
    3 × 3 ReLU convolution and a 2 × 2 max pooling; the output is one feature vector per image
    (``filters[-1]`` numbers). There is no BatchNormalization or Dropout. The initial weights
    come from one ``keras.random.SeedGenerator(seed)`` shared by the layers' initializers: the
    same seed gives the same weights, and the global random state is left alone.

    Args:
        image_size: side of the square RGB input images, at least ``min_image_size(filters)``.
        seed: seed of the initial weights (a whole number >= 0).
        filters: channels of each block.

    Example:
        >>> build_base(32, seed=0).output_shape
        (None, 64)
    """
    filters = check_int_sequence("filters", filters, minimum=1, fix="e.g. filters=(16, 32, 64, 64)")
    image_size = _check_image_size(image_size, filters)
    seed_generator = keras.random.SeedGenerator(_check_seed("seed", seed))
    inputs = keras.Input(shape=(image_size, image_size, 3))
    x = layers.Rescaling(1 / 255)(inputs)
    x = layers.LayerNormalization(axis=(1, 2, 3), center=False, scale=False)(x)
    for block_filters in filters:
        x = layers.Conv2D(block_filters, 3, padding="same", activation="relu",
                          kernel_initializer=keras.initializers.GlorotUniform(seed=seed_generator))(x)
        x = layers.MaxPooling2D()(x)
    outputs = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, outputs, name="base")


def build_classifier(base: keras.Model, num_classes: int, *, seed: int = 0) -> keras.Model:
    """Put a new ``Dense`` logits head on ``base``; whether the base learns is ``base.trainable``.

    The head's initial weights come from ``GlorotUniform(seed=seed)``. The lab CNN has no
    BatchNormalization (nor Dropout), so the base is called plainly. Pretrained backbones do
    have BatchNormalization: in Keras 3 its moving statistics stay put only while the BN layers'
    ``trainable`` is False (a frozen base, or ``tlcourse.models.unfreeze_top``); calling the base
    with ``training=False`` does not protect them during ``fit`` on its own (notebooks 03 and 08).

    Args:
        base: a model mapping images to feature vectors, e.g. from ``build_base``.
        num_classes: number of classes of the new task, at least 2.
        seed: seed of the head's initial weights.

    Example:
        >>> build_classifier(build_base(32), num_classes=6).output_shape
        (None, 6)
    """
    _check_base("base", base)
    num_classes = check_int("num_classes", num_classes, minimum=2,
                            fix="a classifier needs at least two classes, e.g. len(shapes.TARGET_SHAPES)")
    initializer = keras.initializers.GlorotUniform(seed=_check_seed("seed", seed))
    inputs = keras.Input(shape=base.input_shape[1:])
    features = base(inputs)
    outputs = layers.Dense(num_classes, kernel_initializer=initializer, dtype="float32",  # float32 logits
                           name="head")(features)
    return keras.Model(inputs, outputs, name="classifier")


def build_cnn(num_classes: int, image_size: int = 32, *, seed: int = 0) -> keras.Model:
    """Build the whole small CNN with random weights: ``build_base`` plus a logits head.

    Its base is ``model.get_layer("base")``.

    Example:
        >>> build_cnn(6, image_size=32).get_layer("base").name
        'base'
    """
    return build_classifier(build_base(image_size, seed=seed), num_classes, seed=seed)


def compile_classifier(model: keras.Model, learning_rate: float) -> keras.Model:
    """Compile ``model`` for integer labels and logits (Adam, ``from_logits=True``); return it.

    Call it again after every change of ``trainable``: Keras reads it at compile time.

    Example:
        >>> type(compile_classifier(build_cnn(6), learning_rate=1e-3).optimizer).__name__
        'Adam'
    """
    check_model("model", model)
    model.compile(
        optimizer=keras.optimizers.Adam(_check_learning_rate(learning_rate)),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def train_source(per_class: int, epochs: int, *, image_size: int = 32, seed: int = 0, batch_size: int = 32,
                 learning_rate: float = SOURCE_LEARNING_RATE, verbose: int = 0) -> keras.Model:
    """Train the small CNN on ``shapes.SOURCE_SHAPES``; return it (its base: ``get_layer("base")``).

    Args:
        per_class: training images per source shape (drawn with ``seed``).
        epochs: passes over the training images.
        image_size: side of the images.
        seed: seed for the images, the initial weights and the shuffling.
        batch_size: images per step.
        learning_rate: Adam's learning rate.
        verbose: passed to ``fit`` (0, 1 or 2).

    Example:
        >>> model = train_source(300, 3)  # doctest: +SKIP
        >>> source_accuracy(model)  # doctest: +SKIP
        0.8...
    """
    per_class = check_int("per_class", per_class, minimum=1, fix="e.g. per_class=1000")
    epochs = check_int("epochs", epochs, minimum=1, fix="train for at least one epoch, e.g. epochs=6")
    image_size = _check_image_size(image_size, FILTERS)
    seed = _check_seed("seed", seed)
    batch_size = _check_batch_size(batch_size)
    learning_rate = _check_learning_rate(learning_rate)
    verbose = check_int("verbose", verbose, minimum=0, maximum=2)
    shapes.check_request(len(shapes.SOURCE_SHAPES) * per_class, image_size)

    x_train, y_train = shapes.make_shapes(shapes.SOURCE_SHAPES, per_class, image_size, seed=seed)
    model = compile_classifier(build_cnn(len(shapes.SOURCE_SHAPES), image_size, seed=seed), learning_rate)
    train_ds = (tf.data.Dataset.from_tensor_slices((x_train, y_train))
                .shuffle(len(x_train), seed=seed).batch(batch_size))
    model.fit(train_ds, epochs=epochs, verbose=verbose, shuffle=False)
    return model


def source_accuracy(model: keras.Model, *, per_class: int = 200) -> float:
    """Return ``model``'s accuracy on fresh source-task test images (seed ``SOURCE_TEST_SEED``)."""
    check_model("model", model)
    per_class = check_int("per_class", per_class, minimum=1, fix="e.g. per_class=200")
    image_size = model.input_shape[1]
    x_test, y_test = shapes.make_shapes(shapes.SOURCE_SHAPES, per_class, image_size, seed=SOURCE_TEST_SEED)
    return float(model.evaluate(x_test, y_test, batch_size=256, verbose=0)[1])


def copy_base(base: keras.Model) -> keras.Model:
    """Return an independent copy of ``base`` with the same weights.

    Each transfer run trains (or freezes) its own copy, so no run changes the original.

    Example:
        >>> base = build_base(32)
        >>> copy = copy_base(base)
        >>> copy is base, all((a == b).all() for a, b in zip(copy.get_weights(), base.get_weights()))
        (False, True)
    """
    check_model("base", base)
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
    per_class = check_int("per_class", per_class, minimum=1, fix="e.g. per_class=10")
    labels = np.asarray(labels)
    if len(images) != len(labels):
        raise ValueError(f"images has {len(images)} items but labels has {len(labels)}: expected one "
                         "label per image. Fix: pass matching arrays, e.g. data.x_pool and data.y_pool.")
    rank = np.zeros(len(labels), dtype=int)
    for label in np.unique(labels):
        where = labels == label
        rank[where] = np.arange(where.sum())
    keep = rank < per_class
    return images[keep], labels[keep]


def make_target_data(labels_per_class: int, *, seed: int, test_per_class: int = 200,
                     image_size: int = 32) -> TargetData:
    """Draw the target task (``shapes.TARGET_SHAPES``): a labelled pool and the fixed test set.

    The pool depends on ``seed`` (drawn with ``seed + TARGET_TRAIN_SEED``); the test set is
    always the same, drawn with ``TARGET_TEST_SEED``.

    Example:
        >>> data = make_target_data(3, seed=0, test_per_class=10)
        >>> data.x_pool.shape, data.x_test.shape
        ((18, 32, 32, 3), (60, 32, 32, 3))
    """
    labels_per_class = check_int("labels_per_class", labels_per_class, minimum=1, fix="e.g. labels_per_class=10")
    seed = _check_seed("seed", seed)
    test_per_class = check_int("test_per_class", test_per_class, minimum=1, fix="e.g. test_per_class=200")
    x_pool, y_pool = shapes.make_shapes(shapes.TARGET_SHAPES, labels_per_class, image_size,
                                        seed=seed + TARGET_TRAIN_SEED)
    x_test, y_test = shapes.make_shapes(shapes.TARGET_SHAPES, test_per_class, image_size, seed=TARGET_TEST_SEED)
    return TargetData(x_pool, y_pool, x_test, y_test)


def make_validation_data(per_class: int, *, image_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Draw the target task's validation images: ``per_class`` per target shape, never trained on.

    Every choice is made on these. They are drawn with their own seed, ``TARGET_VALIDATION_SEED``,
    apart from the test images (``make_test_data``) and from every sweep seed's labelled pool (a
    pool is drawn with ``seed + TARGET_TRAIN_SEED``; ``run_sweep`` refuses the two seeds that would
    draw the validation or the test images).

    Example:
        >>> x_val, y_val = make_validation_data(2)
        >>> x_val.shape, y_val.tolist().count(0)
        ((12, 32, 32, 3), 2)
    """
    per_class = check_int("per_class", per_class, minimum=1, fix="e.g. per_class=100")
    return shapes.make_shapes(shapes.TARGET_SHAPES, per_class, image_size, seed=TARGET_VALIDATION_SEED)


def make_test_data(per_class: int, *, image_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Draw the target task's test images (seed ``TARGET_TEST_SEED``): read them once, for the final report.

    The same images as ``make_target_data(...).x_test`` for the same ``per_class``; wrap them
    right away, ``test_set = stats.TestSet(make_test_data(100))``.

    Example:
        >>> x_test, _ = make_test_data(3)
        >>> np.array_equal(x_test, make_target_data(1, seed=0, test_per_class=3).x_test)
        True
    """
    per_class = check_int("per_class", per_class, minimum=1, fix="e.g. per_class=100")
    return shapes.make_shapes(shapes.TARGET_SHAPES, per_class, image_size, seed=TARGET_TEST_SEED)


def step_budget(labels_per_class: int, *, epochs: int, min_steps: int, batch_size: int = 32,
                num_classes: int = len(shapes.TARGET_SHAPES)) -> int:
    """Return the training budget, in steps, for ``labels_per_class`` labelled images per class.

    The course's one rule, ``tlcourse.little_data.step_budget``, counted in labels per class:
    ``epochs`` passes over the ``labels_per_class × num_classes`` labelled images, but at least
    ``min_steps`` (one pass over a handful of images is a single step). Every recipe gets the
    same budget for the same labels.

    Example:
        >>> step_budget(1, epochs=10, min_steps=100), step_budget(1000, epochs=10, min_steps=100)
        (100, 1875)
    """
    labels_per_class = check_int("labels_per_class", labels_per_class, minimum=1, fix="e.g. labels_per_class=10")
    num_classes = check_int("num_classes", num_classes, minimum=2)
    return little_data.step_budget(labels_per_class * num_classes, _check_batch_size(batch_size),
                                   epochs=epochs, min_steps=min_steps)


def repeat_dataset(images: np.ndarray, labels: np.ndarray, *, batch_size: int = 32,
                   seed: int = 0) -> tf.data.Dataset:
    """Return an endless, shuffled ``tf.data`` stream of ``(images, labels)`` batches.

    With a handful of labelled images one epoch is a single step, so the target recipes are
    given a number of *steps* instead: ``model.fit(dataset, steps_per_epoch=steps, epochs=1)``
    (``steps`` must be at least 1: Keras reads ``steps_per_epoch <= 0`` as "until the data
    ends", and this stream never ends). The order depends only on ``seed``.

    Example:
        >>> dataset = repeat_dataset(np.zeros((6, 32, 32, 3), "uint8"), np.arange(6), batch_size=4)
        >>> [tuple(part.shape) for part in next(iter(dataset))]
        [(4, 32, 32, 3), (4,)]
    """
    check_not_empty("images", images, fix="pass at least one labelled image")
    if len(images) != len(labels):
        raise ValueError(f"images has {len(images)} items but labels has {len(labels)}: expected one "
                         "label per image. Fix: pass matching arrays.")
    batch_size = _check_batch_size(batch_size)
    seed = _check_seed("seed", seed)
    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    return dataset.shuffle(len(images), seed=seed).repeat().batch(batch_size)


def _min_steps(methods: Sequence[str]) -> int:
    return 2 if "fine-tuned" in methods else 1


def _check_steps(steps: Any, methods: Sequence[str]) -> int:
    smallest = _min_steps(methods)
    why = ("the fine-tuned recipe trains in two phases, so it needs at least 2 steps"
           if smallest == 2 else "give every recipe at least one gradient step")
    return check_int("steps", steps, minimum=smallest, fix=why)


def train_target(method: str, source_base: keras.Model, *, x_train: np.ndarray, y_train: np.ndarray,
                 x_test: np.ndarray, y_test: np.ndarray, steps: int, seed: int = 0, batch_size: int = 32,
                 learning_rate: float | None = None, details: bool = False,
                 score_train: bool = True) -> float | TargetRun:
    """Train one recipe on the target task and return its test accuracy.

    * ``"scratch"``: the same network as the others, with fresh random weights, all trained.
    * ``"frozen"``: a copy of ``source_base`` with ``trainable = False`` and a new head.
    * ``"fine-tuned"`` (preview; notebook 08 teaches it): like ``"frozen"`` for the first half of
      the steps, then the base is unfrozen, the model recompiled with ``learning_rate / 10``,
      and trained for the rest.

    Every recipe gets the same budget — ``steps`` batches of ``batch_size`` from the same
    stream (``repeat_dataset``) — and its head starts from the same random weights (``seed``).
    ``source_base`` itself is never changed.

    Args:
        method: one of ``METHODS``.
        source_base: the pretrained base (or, as a control, an untrained ``build_base``).
        x_train, y_train: the labelled target images.
        x_test, y_test: the target test set.
        steps: the training budget in gradient steps (at least 1; 2 for ``"fine-tuned"``).
        seed: seed for the new weights and the shuffling.
        batch_size: images per step.
        learning_rate: Adam's learning rate; default ``LEARNING_RATES[method]``.
        details: return a ``TargetRun`` (test accuracy, training seconds, accuracy on ``x_train``)
            instead of the test accuracy alone. The seconds include Keras' one-off tracing of the
            training step (about a second here), so on the lab's tiny networks they compare recipes
            only roughly.
        score_train: with ``details``, also score the run on ``x_train`` (one more pass over them);
            False leaves ``TargetRun.train_accuracy`` None.

    Example:
        >>> data = make_target_data(10, seed=0)  # doctest: +SKIP
        >>> train_target("frozen", base, x_train=data.x_pool, y_train=data.y_pool,  # doctest: +SKIP
        ...              x_test=data.x_test, y_test=data.y_test, steps=200)
        0.5...
    """
    method = check_choice("method", method, METHODS)
    _check_base("source_base", source_base)
    steps = _check_steps(steps, [method])
    seed = _check_seed("seed", seed)
    batch_size = _check_batch_size(batch_size)
    learning_rate = _check_learning_rate(LEARNING_RATES[method] if learning_rate is None else learning_rate)
    details = check_bool("details", details, fix="details=True returns a TargetRun, False the test accuracy")
    score_train = check_bool("score_train", score_train, fix="True scores the run on x_train too (with details)")
    image_size = source_base.input_shape[1]
    x_test, y_test = _check_target_arrays("test", x_test, y_test, image_size, "data.x_test, data.y_test")
    x_train, y_train = _check_target_arrays("train", x_train, y_train, image_size, "data.x_pool, data.y_pool")
    train_ds = repeat_dataset(x_train, y_train, batch_size=batch_size, seed=seed)

    num_classes = len(shapes.TARGET_SHAPES)
    if method == "scratch":
        base = build_base(image_size, seed=seed)
    else:
        base = copy_base(source_base)
        base.trainable = False
    model = compile_classifier(build_classifier(base, num_classes, seed=seed), learning_rate)
    start = time.perf_counter()
    fit_recipe(method, model, base, train_ds, steps=steps, learning_rate=learning_rate)
    train_seconds = time.perf_counter() - start
    accuracy = float(model.evaluate(x_test, y_test, batch_size=256, verbose=0)[1])
    if not details:
        return accuracy
    train_accuracy = float(model.evaluate(x_train, y_train, batch_size=256, verbose=0)[1]) if score_train else None
    return TargetRun(accuracy, train_seconds, train_accuracy)


def fit_recipe(method: str, model: keras.Model, base: keras.Model, train_ds: tf.data.Dataset, *, steps: int,
               learning_rate: float) -> None:
    """Run ``steps`` optimizer steps of recipe ``method`` on a compiled ``model`` whose base is ``base``.

    ``"scratch"`` and ``"frozen"`` train all steps as compiled; ``"fine-tuned"`` trains the head
    for the first half, then unfreezes ``base``, recompiles with ``learning_rate / 10`` and trains the
    rest. Shared by ``train_target`` and ``tlcourse.limits`` (its shapes and digits recipes).

    Example:
        >>> fit_recipe("frozen", model, base, train_ds, steps=100, learning_rate=1e-3)  # doctest: +SKIP
    """
    check_choice("method", method, METHODS, fix=f"use one of {list(METHODS)}")
    head_steps = steps // 2 if method == "fine-tuned" else steps
    model.fit(train_ds, steps_per_epoch=head_steps, epochs=1, verbose=0, shuffle=False)
    if method == "fine-tuned":
        base.trainable = True
        compile_classifier(model, learning_rate / 10)  # recompile: trainable changed
        model.fit(train_ds, steps_per_epoch=steps - head_steps, epochs=1, verbose=0, shuffle=False)


def run_sweep(source_base: keras.Model, labels_per_class: Sequence[int], seeds: Sequence[int], *,
              steps: int | Mapping[int, int], test_per_class: int = 200, methods: Sequence[str] = METHODS,
              batch_size: int = 32, verbose: bool = True,
              validation: tuple[np.ndarray, np.ndarray] | None = None,
              test: tuple[np.ndarray, np.ndarray] | None = None, score_train: bool = False) -> list[dict]:
    """Train every recipe for every labels-per-class value and seed; return one row per run.

    For each seed, the labelled target images are drawn once for the largest value and the
    smaller values take subsets of them; every run is scored on the same images: ``validation``
    (rows get ``val_accuracy``) when you make a choice, ``test`` (rows get ``test_accuracy``)
    in the final report, or — passing neither — the lab's fixed test set of ``test_per_class``
    images per shape. Every argument is checked first, so a bad one stops the sweep before
    anything trains.

    Args:
        source_base: the pretrained base, or an untrained ``build_base`` as a control.
        labels_per_class: label budgets, e.g. ``[1, 3, 10, 30]`` (a list, not a string).
        seeds: e.g. ``range(3)``.
        steps: training budget of every run in gradient steps, or one per labels-per-class
            value, e.g. ``{n: step_budget(n, epochs=10, min_steps=100) for n in budgets}``.
        test_per_class: test images per target shape, when neither ``validation`` nor ``test``
            is given.
        methods: recipes to run, from ``METHODS``.
        batch_size: images per step.
        verbose: print one line per run.
        validation: ``(x_val, y_val)`` to score every run on, e.g. ``make_validation_data(100)``.
        test: ``(x_test, y_test)`` to score every run on, e.g. what ``TestSet.read("final report")``
            hands out. Pass one of ``validation`` and ``test``, not both.
        score_train: also score each run on its own labelled images (rows get ``train_accuracy``;
            one more pass over them per run).

    Returns:
        Dicts with keys ``method``, ``labels_per_class``, ``seed``, ``steps``,
        ``val_accuracy`` (with ``validation``) or ``test_accuracy`` (otherwise),
        ``train_seconds`` (wall-clock seconds of the run's training steps, without building
        or scoring) and, with ``score_train``, ``train_accuracy`` (accuracy on the run's own
        labelled images: its difference to the scored accuracy is the train − test gap).

    Example:
        >>> rows = run_sweep(base, [3, 30], seeds=range(2), steps=200)  # doctest: +SKIP
        >>> rows[0]  # doctest: +SKIP
        {'method': 'scratch', 'labels_per_class': 3, 'seed': 0, 'steps': 200, 'test_accuracy': 0.3,
         'train_seconds': 2.1}
    """
    _check_base("source_base", source_base)
    budgets = check_int_sequence("labels_per_class", labels_per_class, minimum=1,
                                 fix="pass a list of whole numbers, e.g. labels_per_class=[1, 3, 10]")
    seeds = check_int_sequence("seeds", seeds, minimum=0, fix="pass a list of seeds, e.g. seeds=[0, 1, 2]")
    for name, values in (("labels_per_class", budgets), ("seeds", seeds)):
        repeated = sorted({value for value in values if values.count(value) > 1})
        if repeated:  # the same run twice: a mean or a verdict would count it twice
            raise ValueError(f"{name}={list(values)} repeats {repeated}: expected each value once. Fix: drop the "
                             f"repeats, e.g. {name}={sorted(set(values))}.")
    held_out = {TARGET_TEST_SEED - TARGET_TRAIN_SEED: "test", TARGET_VALIDATION_SEED - TARGET_TRAIN_SEED: "validation"}
    clashing = [seed for seed in seeds if seed in held_out]
    if clashing:  # that seed's labelled images would be the held-out images themselves
        raise ValueError(f"seeds={list(seeds)} holds {clashing[0]}, whose labelled images are the {held_out[clashing[0]]} "
                         f"images (drawn with seed {clashing[0] + TARGET_TRAIN_SEED}): expected seeds that train on "
                         "images no run is scored on. Fix: use other seeds, e.g. range(3).")
    if isinstance(methods, str):
        raise TypeError(f"methods={methods!r} is a str: expected a list of recipes. "
                        f"Fix: wrap it in a list, e.g. methods=[{methods!r}].")
    methods = tuple(methods)
    check_not_empty("methods", methods, fix=f"pick from {METHODS}")
    for index, method in enumerate(methods):
        check_choice(f"methods[{index}]", method, METHODS)
    if isinstance(steps, Mapping):
        missing = [count for count in budgets if count not in steps]
        if missing:
            raise ValueError(f"steps={dict(steps)!r} has no budget for labels_per_class {missing}: expected "
                             "one entry per value. Fix: build it from the same list, e.g. "
                             "{n: step_budget(n, ...) for n in labels_per_class}.")
        steps_for = {count: _check_steps(steps[count], methods) for count in budgets}
    else:
        steps_for = dict.fromkeys(budgets, _check_steps(steps, methods))
    test_per_class = check_int("test_per_class", test_per_class, minimum=1, fix="e.g. test_per_class=200")
    batch_size = _check_batch_size(batch_size)
    score_train = check_bool("score_train", score_train, fix="True adds each run's train_accuracy to its row")
    image_size = source_base.input_shape[1]
    if validation is not None and test is not None:
        raise ValueError("both validation and test were passed: expected one set to score the runs on. Fix: pass "
                         "validation=(x_val, y_val) to make a choice, or test=(x_test, y_test) in the final report.")
    scored_on = None
    if validation is not None:
        scored_on = ("val_accuracy", "validation accuracy", *_check_scoring_set("validation", validation, image_size))
    elif test is not None:
        scored_on = ("test_accuracy", "test accuracy", *_check_scoring_set("test", test, image_size))
    shapes.check_request(len(shapes.TARGET_SHAPES) * max(budgets), image_size)
    if scored_on is None:
        shapes.check_request(len(shapes.TARGET_SHAPES) * test_per_class, image_size)

    rows = []
    for seed in seeds:
        if scored_on is None:
            data = make_target_data(max(budgets), seed=seed, test_per_class=test_per_class, image_size=image_size)
            x_pool, y_pool = data.x_pool, data.y_pool
            key, what, x_scored, y_scored = "test_accuracy", "test accuracy", data.x_test, data.y_test
        else:  # the same labelled pool as make_target_data draws for this seed
            x_pool, y_pool = shapes.make_shapes(shapes.TARGET_SHAPES, max(budgets), image_size,
                                                seed=seed + TARGET_TRAIN_SEED)
            key, what, x_scored, y_scored = scored_on
        for count in budgets:
            x_train, y_train = take_per_class(x_pool, y_pool, count)
            for method in methods:
                run = train_target(method, source_base, x_train=x_train, y_train=y_train,
                                   x_test=x_scored, y_test=y_scored, steps=steps_for[count],
                                   seed=seed, batch_size=batch_size, details=True, score_train=score_train)
                accuracy = run.accuracy
                rows.append({"method": method, "labels_per_class": count, "seed": seed,
                             "steps": steps_for[count], key: accuracy, "train_seconds": run.train_seconds,
                             **({"train_accuracy": run.train_accuracy} if score_train else {})})
                if verbose:
                    print(f"seed {seed} · {count:>4} labels/class · {steps_for[count]:>4} steps · "
                          f"{method:<10} · {what} {accuracy:.3f}")
    return rows


def _check_target_arrays(split: str, images: Any, labels: Any, image_size: int,
                         example: str) -> tuple[np.ndarray, np.ndarray]:
    """``train_target``'s images and labels of one split: uint8 0–255 at the base's size, labels 0–5."""
    check_not_empty(f"x_{split}", images, fix=f"pass {example}")
    fix = (f"pass x_{split}, y_{split} as make_target_data draws them ({example}): uint8 images of {image_size} × "
           f"{image_size} px like the base's input, labels 0–{len(shapes.TARGET_SHAPES) - 1}")
    return _check_scoring_set(f"(x_{split}, y_{split})", (images, labels), image_size, fix)


def _check_scoring_set(name: str, pair: Any, image_size: int, fix: str = "") -> tuple[np.ndarray, np.ndarray]:
    fix = fix or (f"pass {name}=(images, labels), e.g. {name}=lab.make_{name}_data(100), with images of "
                  f"{image_size} × {image_size} px like the base's input")
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        hint = " (a TestSet: pass what its .read(\"final report\") returns)" if hasattr(pair, "read") else ""
        raise TypeError(f"{name}={pair!r:.80} is not a pair{hint}: expected (images, labels). Fix: {fix}.")
    images, labels = np.asarray(pair[0]), np.asarray(pair[1])
    check_not_empty(f"{name}[0]", images, fix=fix)
    if images.ndim != 4 or images.shape[1:] != (image_size, image_size, 3):
        raise ValueError(f"{name} images have shape {images.shape}: expected (N, {image_size}, {image_size}, 3), "
                         f"the base's input. Fix: {fix}.")
    if labels.shape != (len(images),):
        raise ValueError(f"{name} has {len(images)} images but labels of shape {labels.shape}: expected one label "
                         f"per image. Fix: {fix}.")
    labels = check_labels(f"{name}[1]", labels, len(shapes.TARGET_SHAPES), fix=fix)  # else a raw TF error, or 0 %
    check_pixels(f"{name}[0]", images, fix=fix + " (uint8 pixels 0–255, as the lab draws them)")
    return images, labels
