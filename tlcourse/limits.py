"""Plumbing for notebook 14 (when transfer learning does not help): far sources, digits, runs, verdicts.

Notebook 14 asks *when* transfer does not pay and answers with measurements, not opinions. It
reuses notebook 01's shapes lab (``tlcourse.lab``) and the course's one verdict rule
(``tlcourse.stats``), and adds:

1. ``make_noise_textures``: a *far* source task for the lab's CNN — smoothed colour noise whose
   classes differ only in how coarse the grain is. No shapes, no outlines.
2. The digits task (scikit-learn's bundled ``load_digits``, 8 × 8 px, offline): ``load_digit_tasks``
   splits it into a source task (digits 0–4) and a target task (digits 5–9, relabelled 0–4) with
   a labelled pool, a validation split and a test split; ``build_digits_base`` is a tiny
   ``Dense`` network for it.
3. Runs that keep their models: ``run_shapes`` and ``run_digits`` train the three recipes of
   notebook 01's lab (``train_shapes_recipe`` / ``train_digits_recipe``), score each run on the
   *validation* split (every decision of the notebook reads those scores) and keep the trained
   model, so that ``score_on_test`` can score it on the test set once, in the final report.
4. One definition of negative transfer, applied to every comparison with scratch:
   ``versus_scratch`` compares a transfer recipe with scratch trained on the *same* labelled
   images for the *same* number of steps (it checks both, seed by seed) with
   ``tlcourse.stats.compare_seeds``, and ``transfer_outcome`` names the result. **Negative
   transfer** is a transfer recipe that scores clearly below scratch by that rule.

Example:
    >>> verdict = stats.compare_seeds([0.40, 0.42, 0.41], [0.70, 0.71, 0.69], ("frozen", "scratch"))
    >>> transfer_outcome(verdict)
    'negative transfer'
"""

from __future__ import annotations

import functools
import hashlib
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from tlcourse import shapes, stats
from tlcourse.checks import (check_choice, check_int, check_int_sequence, check_model, check_not_empty, check_number,
                             check_rows)
from tlcourse.lab import (LEARNING_RATES, build_base, build_classifier, compile_classifier, copy_base, fit_recipe,
                          make_target_data, repeat_dataset, take_per_class)

RECIPES: tuple[str, ...] = ("scratch", "frozen", "fine-tuned")
"""The recipes, as in ``tlcourse.lab.METHODS``."""

DIGITS_SOURCE_CLASSES: tuple[int, ...] = (0, 1, 2, 3, 4)
"""Digits of the source task (plenty of labels)."""

DIGITS_TARGET_CLASSES: tuple[int, ...] = (5, 6, 7, 8, 9)
"""Digits of the target task, relabelled 0–4 in that order."""

DIGITS_LEARNING_RATES: dict[str, float] = {"scratch": 3e-3, "frozen": 1e-2, "fine-tuned": 1e-2}
"""Adam's learning rate per digits recipe, fixed in advance (not chosen in notebook 14); the
fine-tuned recipe's second phase uses a tenth."""

VALIDATION_SEED = 3_000
"""Seed of the shapes validation images (the lab's test images use ``lab.TARGET_TEST_SEED``)."""

OUTCOMES: tuple[str, ...] = ("transfer ahead", "no clear difference", "negative transfer", "no verdict")
"""What ``transfer_outcome`` can say about a transfer recipe against scratch."""

NEGATIVE_TRANSFER = "negative transfer"
"""The outcome of a transfer recipe clearly below scratch (same images, same steps, ``stats.compare_seeds``)."""


# --- a far source: noise textures --------------------------------------------------------------

def make_noise_textures(per_class: int, image_size: int = 32, *, num_classes: int = 6,
                        seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Draw smoothed colour-noise images; class ``k`` is how coarse the grain is.

    Each image is white noise (three colour channels) blurred by a Gaussian in the Fourier
    domain; class 0 is the finest grain, class ``num_classes - 1`` the coarsest (blur widths
    spaced geometrically from 0.5 to 4 px). Each image is stretched to 0–255. There are no
    shapes, edges or outlines: a network that learns this task learns about texture scale only,
    which makes it a *far* source for the shapes lab.

    Args:
        per_class: images per class, at least 1.
        image_size: side of the square images (at least 16, like the shapes).
        num_classes: number of grain sizes, at least 2.
        seed: seed of the random generator.

    Returns:
        ``(images, labels)``: ``uint8`` ``(N, image_size, image_size, 3)`` and ``int32`` ``(N,)``,
        shuffled, ``N = num_classes * per_class``.

    Example:
        >>> images, labels = make_noise_textures(2, 32, seed=0)
        >>> images.shape, images.dtype, np.bincount(labels).tolist()
        ((12, 32, 32, 3), dtype('uint8'), [2, 2, 2, 2, 2, 2])
    """
    per_class = check_int("per_class", per_class, minimum=1, maximum=20_000, fix="e.g. per_class=1000")
    image_size = check_int("image_size", image_size, minimum=16, maximum=256, fix="e.g. image_size=32")
    num_classes = check_int("num_classes", num_classes, minimum=2, maximum=20, fix="e.g. num_classes=6")
    seed = check_int("seed", seed, minimum=0, fix="use a whole number >= 0, e.g. seed=0")
    if num_classes * per_class * image_size**2 > 100_000 * 32 * 32:
        raise ValueError(f"per_class={per_class} × num_classes={num_classes} images of {image_size} px is too many: "
                         "expected at most as many pixels as 100,000 images of 32 × 32 px. Fix: ask for fewer images.")
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.repeat(np.arange(num_classes, dtype=np.int32), per_class))
    widths = np.geomspace(0.5, 4.0, num_classes)[labels]  # blur width in pixels, per image
    frequency = np.fft.fftfreq(image_size)
    squared = frequency[:, None] ** 2 + np.fft.rfftfreq(image_size)[None, :] ** 2
    images = np.empty((len(labels), image_size, image_size, 3), dtype=np.uint8)
    for start in range(0, len(labels), 1000):  # in chunks: the FFT needs a few arrays of this size
        chunk = slice(start, start + 1000)
        noise = rng.standard_normal((len(labels[chunk]), 3, image_size, image_size)).astype(np.float32)
        gain = np.exp(-2 * (np.pi * widths[chunk, None, None, None]) ** 2 * squared[None, None])
        smooth = np.fft.irfft2(np.fft.rfft2(noise) * gain, s=(image_size, image_size)).transpose(0, 2, 3, 1)
        low = smooth.min(axis=(1, 2, 3), keepdims=True)
        high = smooth.max(axis=(1, 2, 3), keepdims=True)
        images[chunk] = np.rint(255 * (smooth - low) / (high - low + 1e-12)).astype(np.uint8)
    return images, labels


# --- the digits task ----------------------------------------------------------------------------

class DigitTasks(NamedTuple):
    """Source and target tasks from scikit-learn's digits (``load_digit_tasks``); pixels in 0–1."""

    x_source: np.ndarray
    """Every image of the source digits, ``(N, 64)`` float32."""
    y_source: np.ndarray
    """Their labels 0–4 (digit 0–4)."""
    x_pool: np.ndarray
    """The target digits' labelled pool, shuffled; ``take_per_class`` draws fewer."""
    y_pool: np.ndarray
    """Their labels 0–4 (digit 5–9)."""
    x_val: np.ndarray
    """The target validation split: ``val_per_class`` images per target digit, for every decision."""
    y_val: np.ndarray
    """Their labels 0–4."""
    x_test: np.ndarray
    """The target test split: ``test_per_class`` images per target digit, for the final report only."""
    y_test: np.ndarray
    """Their labels 0–4."""


def load_digit_tasks(*, seed: int = 0, val_per_class: int = 40, test_per_class: int = 40) -> DigitTasks:
    """Split scikit-learn's digits into a source task (0–4) and a target task (5–9, relabelled 0–4).

    The 1,797 images of 8 × 8 px ship with scikit-learn (no download). Pixels (0–16) are scaled
    to 0–1. Every source digit image goes to the source task. The target digits are shuffled
    with ``seed``; of each digit, the first ``test_per_class`` form the test split, the next
    ``val_per_class`` the validation split, and the rest (at least 94 per digit with the
    defaults) the labelled pool.

    Args:
        seed: seed of the shuffle that decides which target images go where.
        val_per_class: validation images per target digit (1 to 60).
        test_per_class: test images per target digit (1 to 60).

    Example:
        >>> tasks = load_digit_tasks(seed=0)
        >>> tasks.x_source.shape[1], sorted(set(tasks.y_pool.tolist())), len(tasks.y_val), len(tasks.y_test)
        (64, [0, 1, 2, 3, 4], 200, 200)
    """
    from sklearn.datasets import load_digits

    seed = check_int("seed", seed, minimum=0, fix="use a whole number >= 0, e.g. seed=0")
    val_per_class = check_int("val_per_class", val_per_class, minimum=1, maximum=60,
                              fix="each digit has about 180 images; keep most for training, e.g. val_per_class=40")
    test_per_class = check_int("test_per_class", test_per_class, minimum=1, maximum=60,
                               fix="each digit has about 180 images; keep most for training, e.g. test_per_class=40")
    digits = load_digits()
    images = (digits.data / 16.0).astype(np.float32)
    labels = digits.target.astype(np.int32)
    source = np.isin(labels, DIGITS_SOURCE_CLASSES)
    x_source, y_source = images[source], labels[source]
    target = np.flatnonzero(~source)
    target = target[np.random.default_rng(seed).permutation(len(target))]
    x_target = images[target]
    y_target = np.searchsorted(DIGITS_TARGET_CLASSES, labels[target]).astype(np.int32)
    rank = np.zeros(len(y_target), dtype=int)
    for label in range(len(DIGITS_TARGET_CLASSES)):
        where = y_target == label
        rank[where] = np.arange(where.sum())
    test = rank < test_per_class
    val = ~test & (rank < test_per_class + val_per_class)
    pool = ~test & ~val
    return DigitTasks(x_source, y_source, x_target[pool], y_target[pool], x_target[val], y_target[val],
                      x_target[test], y_target[test])


def build_digits_base(*, seed: int = 0, units: Sequence[int] = (64, 32)) -> keras.Model:
    """Build the tiny digits base: 64 pixels in, ``Dense`` ReLU layers, ``units[-1]`` features out.

    Initial weights come from one ``keras.random.SeedGenerator(seed)``: the same seed gives the
    same weights and the global random state is left alone.

    Example:
        >>> build_digits_base(seed=0).output_shape
        (None, 32)
    """
    seed = check_int("seed", seed, minimum=0, fix="use a whole number >= 0, e.g. seed=0")
    units = check_int_sequence("units", units, minimum=1, fix="e.g. units=(64, 32)")
    seed_generator = keras.random.SeedGenerator(seed)
    inputs = keras.Input(shape=(64,))
    x = inputs
    for width in units:
        x = layers.Dense(width, activation="relu",
                         kernel_initializer=keras.initializers.GlorotUniform(seed=seed_generator))(x)
    return keras.Model(inputs, x, name="digits_base")


def add_digits_head(base: keras.Model, num_classes: int = 5, *, seed: int = 0) -> keras.Model:
    """Put a new ``Dense`` logits head on a digits base; whether the base learns is ``base.trainable``.

    Example:
        >>> add_digits_head(build_digits_base(), 5).output_shape
        (None, 5)
    """
    check_model("base", base, fix="pass build_digits_base(...) or source_model.get_layer('digits_base')")
    if tuple(base.input_shape) != (None, 64):
        raise ValueError(f"base takes inputs of shape {tuple(base.input_shape)}: expected (None, 64), the 8 × 8 "
                         "digit pixels as a flat vector. Fix: pass a base from build_digits_base.")
    num_classes = check_int("num_classes", num_classes, minimum=2, fix="e.g. num_classes=5")
    seed = check_int("seed", seed, minimum=0, fix="use a whole number >= 0, e.g. seed=0")
    inputs = keras.Input(shape=(64,))
    outputs = layers.Dense(num_classes, kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
                           dtype="float32", name="head")(base(inputs))
    return keras.Model(inputs, outputs, name="digits_classifier")


# --- one recipe, one model ----------------------------------------------------------------------

def _check_recipe_arguments(method: str, source_base: Any, x_train: Any, y_train: Any, steps: Any, seed: Any,
                            input_scale: Any) -> tuple[str, int, int, float]:
    method = check_choice("method", method, RECIPES)
    check_model("source_base", source_base, fix="pass the pretrained base, e.g. source_model.get_layer('base')")
    steps = check_int("steps", steps, minimum=2 if method == "fine-tuned" else 1,
                      fix="give the recipe at least one step per phase, e.g. steps=200")
    seed = check_int("seed", seed, minimum=0, fix="use a whole number >= 0, e.g. seed=0")
    input_scale = check_number("input_scale", input_scale, above=0, maximum=1000, fix="e.g. input_scale=1.0")
    if len(x_train) != len(y_train) or len(x_train) == 0:
        raise ValueError(f"x_train/y_train have {len(x_train)}/{len(y_train)} items: expected a non-empty pair of "
                         "equal length. Fix: pass lab.take_per_class(x_pool, y_pool, n).")
    return method, steps, seed, input_scale


def _finish(method: str, base: keras.Model, classifier: keras.Model, x_train: np.ndarray, y_train: np.ndarray, *,
            steps: int, seed: int, batch_size: int, learning_rate: float, input_scale: float) -> keras.Model:
    model = classifier
    if input_scale != 1.0:  # preprocessing *before* the pretrained network, as a pipeline would do it
        inputs = keras.Input(shape=classifier.input_shape[1:])
        model = keras.Model(inputs, classifier(layers.Rescaling(input_scale, name="input_scale")(inputs)),
                            name=f"{classifier.name}_scaled")
    compile_classifier(model, learning_rate)
    train_ds = repeat_dataset(x_train, np.asarray(y_train), batch_size=batch_size, seed=seed)
    fit_recipe(method, model, base, train_ds, steps=steps, learning_rate=learning_rate)  # as notebook 01's lab
    return model


def train_shapes_recipe(method: str, source_base: keras.Model, *, x_train: np.ndarray, y_train: np.ndarray,
                        steps: int, seed: int = 0, batch_size: int = 32, input_scale: float = 1.0) -> keras.Model:
    """Train one recipe of notebook 01's lab on the target shapes and return the trained model.

    The recipes are ``tlcourse.lab.train_target``'s (``"scratch"``: a fresh ``lab.build_base``;
    ``"frozen"``: a copy of ``source_base``, ``trainable = False``, new head; ``"fine-tuned"``:
    frozen for half the steps, then everything at a tenth of the learning rate), with
    ``lab.LEARNING_RATES``. Unlike ``train_target`` it returns the model, not a score, so the
    notebook can score it on validation now and on the test set once, at the end.
    ``source_base`` is never changed.

    Args:
        method: one of ``RECIPES``.
        source_base: the pretrained base (or an untrained ``lab.build_base`` as a control).
        x_train, y_train: the labelled target images (0–255) and labels.
        steps: gradient steps (at least 2 for ``"fine-tuned"``).
        seed: seed of the new weights and of the shuffling.
        batch_size: images per step.
        input_scale: a ``Rescaling(input_scale)`` layer in front of the network (1: none;
            ``1 / 255``: preprocessing twice, section 3's pitfall). The model still takes 0–255.

    Example:
        >>> data = make_target_data(2, seed=0, test_per_class=1)
        >>> model = train_shapes_recipe("frozen", build_base(32), x_train=data.x_pool, y_train=data.y_pool, steps=2)
        >>> model.output_shape
        (None, 6)
    """
    method, steps, seed, input_scale = _check_recipe_arguments(method, source_base, x_train, y_train, steps, seed,
                                                               input_scale)
    if len(source_base.input_shape) != 4:
        raise ValueError(f"source_base {source_base.name!r} takes inputs of shape {source_base.input_shape}: "
                         "expected images (None, size, size, 3). Fix: pass a shapes base, e.g. "
                         "source_model.get_layer('base'); for digits use train_digits_recipe.")
    if method == "scratch":
        base = build_base(source_base.input_shape[1], seed=seed)  # the same network, fresh weights
    else:
        base = copy_base(source_base)
        base.trainable = False
    classifier = build_classifier(base, len(shapes.TARGET_SHAPES), seed=seed)
    return _finish(method, base, classifier, np.asarray(x_train), y_train, steps=steps, seed=seed,
                   batch_size=batch_size, learning_rate=LEARNING_RATES[method], input_scale=input_scale)


def train_digits_recipe(method: str, source_base: keras.Model, *, x_train: np.ndarray, y_train: np.ndarray,
                        steps: int, seed: int = 0, batch_size: int = 32, input_scale: float = 1.0) -> keras.Model:
    """Train one recipe on the digits target task (digits 5–9) and return the trained model.

    ``"scratch"`` is a fresh ``build_digits_base(seed=seed)`` with the source base's layer
    sizes; ``"frozen"`` and ``"fine-tuned"`` as in ``train_shapes_recipe``; learning rates from
    ``DIGITS_LEARNING_RATES``. ``input_scale`` puts a ``Rescaling`` layer in front (16: the raw
    0–16 pixels into a base trained on 0–1, a preprocessing mismatch). ``source_base`` is never
    changed.

    Example:
        >>> tasks = load_digit_tasks()
        >>> x_train, y_train = take_per_class(tasks.x_pool, tasks.y_pool, 5)
        >>> model = train_digits_recipe("scratch", build_digits_base(), x_train=x_train, y_train=y_train, steps=20)
        >>> 0 <= accuracy(model, tasks.x_val, tasks.y_val) <= 1
        True
    """
    method, steps, seed, input_scale = _check_recipe_arguments(method, source_base, x_train, y_train, steps, seed,
                                                               input_scale)
    units = [layer.units for layer in source_base.layers if isinstance(layer, layers.Dense)]
    if not units or tuple(source_base.input_shape) != (None, 64):
        raise ValueError(f"source_base {source_base.name!r} (inputs {source_base.input_shape}) is not a digits base: "
                         "expected Dense layers on 64 pixels. Fix: pass source_model.get_layer('digits_base') or "
                         "build_digits_base(...).")
    if method == "scratch":
        base = build_digits_base(seed=seed, units=units)  # the same layer sizes, fresh weights
    else:
        base = copy_base(source_base)
        base.trainable = False
    classifier = add_digits_head(base, len(DIGITS_TARGET_CLASSES), seed=seed)
    return _finish(method, base, classifier, np.asarray(x_train, dtype=np.float32), y_train, steps=steps, seed=seed,
                   batch_size=batch_size, learning_rate=DIGITS_LEARNING_RATES[method], input_scale=input_scale)


def accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray, *, batch_size: int = 1024) -> float:
    """Return the share of ``x`` that ``model`` (logits out) classifies as ``y``.

    Eager calls in chunks of ``batch_size``: for these small models this is faster than
    ``evaluate``, which traces a new function for every model.

    Example:
        >>> model = add_digits_head(build_digits_base(), 5)
        >>> 0 <= accuracy(model, np.zeros((3, 64), "float32"), np.array([0, 1, 2])) <= 1
        True
    """
    check_model("model", model, fix="pass a trained model, e.g. row['model']")
    check_not_empty("x", x, fix="pass the images to score, e.g. x_val")
    y = np.asarray(y).reshape(-1)
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} items but y has {len(y)}: expected one label per item. "
                         "Fix: pass matching arrays, e.g. x_val, y_val.")
    predictions = [np.argmax(model(tf.constant(np.asarray(x[start:start + batch_size], dtype=np.float32)),
                                   training=False), axis=-1) for start in range(0, len(x), batch_size)]
    return float(np.mean(np.concatenate(predictions) == y))


# --- runs that keep their models ----------------------------------------------------------------

def _digest(images: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(images).tobytes()).hexdigest()[:12]


def _runs(train: Callable[..., keras.Model], source_base: keras.Model, labels_per_class: Sequence[int],
          seeds: Sequence[int], steps: Mapping[int, int], methods: Sequence[str],
          data_for: Callable[[int], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]], batch_size: int,
          input_scale: float) -> list[dict[str, Any]]:
    budgets = check_int_sequence("labels_per_class", labels_per_class, minimum=1,
                                 fix="pass a list of whole numbers, e.g. labels_per_class=[1, 3, 10]")
    seeds = check_int_sequence("seeds", seeds, minimum=0, fix="pass a list of seeds, e.g. seeds=[0, 1, 2]")
    if isinstance(methods, str):
        raise TypeError(f"methods={methods!r} is a str: expected a list of recipes. Fix: e.g. methods=[{methods!r}].")
    methods = [check_choice(f"methods[{i}]", method, RECIPES) for i, method in enumerate(methods)]
    check_not_empty("methods", methods, fix=f"pick from {RECIPES}")
    if not isinstance(steps, Mapping) or any(count not in steps for count in budgets):
        raise ValueError(f"steps={steps!r}: expected a dict with the step budget of every labels-per-class value "
                         f"{budgets}. Fix: e.g. {{n: STEPS[n] for n in labels_per_class}}.")
    rows = []
    for seed in seeds:
        x_pool, y_pool, x_val, y_val = data_for(seed)
        for count in budgets:
            x_train, y_train = take_per_class(x_pool, y_pool, count)
            if min(np.bincount(y_train)) < count:
                raise ValueError(f"labels_per_class={count} but the pool of seed {seed} has only "
                                 f"{min(np.bincount(y_train))} images of some class. Fix: use a larger pool or fewer labels.")
            for method in methods:
                model = train(method, source_base, x_train=x_train, y_train=y_train, steps=steps[count], seed=seed,
                              batch_size=batch_size, input_scale=input_scale)
                rows.append({"method": method, "labels_per_class": count, "seed": seed, "steps": steps[count],
                             "train_digest": _digest(x_train), "val_accuracy": accuracy(model, x_val, y_val),
                             "model": model})
    return rows


@functools.lru_cache(maxsize=8)
def _target_pool(pool_per_class: int, seed: int, image_size: int) -> tuple[np.ndarray, np.ndarray]:
    # Drawn once per notebook and seed (each section asks for the same pool); read-only, as it is shared.
    data = make_target_data(pool_per_class, seed=seed, test_per_class=1, image_size=image_size)  # test unused
    for array in (data.x_pool, data.y_pool):
        array.flags.writeable = False
    return data.x_pool, data.y_pool


def run_shapes(source_base: keras.Model, labels_per_class: Sequence[int], seeds: Sequence[int], *,
               steps: Mapping[int, int], validation: tuple[np.ndarray, np.ndarray], pool_per_class: int,
               methods: Sequence[str] = RECIPES, batch_size: int = 32, input_scale: float = 1.0) -> list[dict[str, Any]]:
    """Train recipes × label budgets × seeds on the target shapes; score each on validation; keep the models.

    Each seed draws one labelled pool of ``pool_per_class`` images per shape
    (``lab.make_target_data``); a budget of ``n`` takes its first ``n`` per shape, so every call
    with the same ``pool_per_class`` trains on the same images for the same seed and budget — the
    pairing ``versus_scratch`` checks. The test images are not touched here.

    Args:
        source_base: the pretrained base (or an untrained ``lab.build_base``).
        labels_per_class: label budgets, each at most ``pool_per_class``.
        seeds: e.g. ``[0, 1, 2]``.
        steps: ``{budget: gradient steps}``, the same for every recipe at a budget.
        validation: ``(x_val, y_val)``, target shapes never trained on.
        pool_per_class: size of each seed's labelled pool, per shape (use one value per notebook).
        methods: recipes from ``RECIPES``.
        batch_size: images per step.
        input_scale: see ``train_shapes_recipe``.

    Returns:
        One dict per run: ``method``, ``labels_per_class``, ``seed``, ``steps``, ``train_digest``
        (identifies the labelled images), ``val_accuracy`` and the trained ``model``.

    Example:
        >>> validation = shapes.make_shapes(shapes.TARGET_SHAPES, 2, 32, seed=VALIDATION_SEED)
        >>> rows = run_shapes(build_base(32), [1], [0], steps={1: 2}, validation=validation, pool_per_class=1,
        ...                   methods=["frozen"])
        >>> sorted(rows[0])
        ['labels_per_class', 'method', 'model', 'seed', 'steps', 'train_digest', 'val_accuracy']
    """
    check_model("source_base", source_base, fix="pass source_model.get_layer('base')")
    pool_per_class = check_int("pool_per_class", pool_per_class, minimum=1, fix="e.g. pool_per_class=max(budgets)")
    x_val, y_val = validation

    def data_for(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return (*_target_pool(pool_per_class, seed, source_base.input_shape[1]), x_val, y_val)

    return _runs(train_shapes_recipe, source_base, labels_per_class, seeds, steps, methods, data_for, batch_size,
                 input_scale)


def run_digits(source_base: keras.Model, labels_per_class: Sequence[int], tasks: Mapping[int, DigitTasks], *,
               steps: Mapping[int, int], methods: Sequence[str] = RECIPES, batch_size: int = 32,
               input_scale: float = 1.0) -> list[dict[str, Any]]:
    """Train recipes × label budgets × seeds on digits 5–9; score each on its seed's validation split.

    ``tasks`` maps each seed to its ``load_digit_tasks(seed=seed)``: the seed draws the split
    and the weights. Rows as in ``run_shapes``; the test splits are not touched here.

    Example:
        >>> rows = run_digits(build_digits_base(), [1], {0: load_digit_tasks(seed=0)}, steps={1: 2},
        ...                   methods=["frozen"])
        >>> rows[0]["method"], 0 <= rows[0]["val_accuracy"] <= 1
        ('frozen', True)
    """
    if not isinstance(tasks, Mapping) or not tasks or not all(isinstance(t, DigitTasks) for t in tasks.values()):
        raise ValueError(f"tasks={tasks!r:.80}: expected {{seed: load_digit_tasks(seed=seed)}} for at least one seed. "
                         "Fix: e.g. {seed: limits.load_digit_tasks(seed=seed) for seed in DIGITS_SEEDS}.")

    def data_for(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        split = tasks[seed]
        return split.x_pool, split.y_pool, split.x_val, split.y_val

    return _runs(train_digits_recipe, source_base, labels_per_class, list(tasks), steps, methods, data_for,
                 batch_size, input_scale)


def score_on_test(rows: Sequence[dict[str, Any]], test: tuple[np.ndarray, np.ndarray] | Mapping[int, Any]) -> int:
    """Add ``test_accuracy`` to every run that has none yet; return how many runs were scored.

    For the final report only: pass the test split that ``stats.TestSet.read("final report")``
    handed out — ``(x_test, y_test)``, or ``{seed: (x_test, y_test)}`` when each seed has its own.

    Example:
        >>> tasks = load_digit_tasks(seed=0)
        >>> rows = run_digits(build_digits_base(), [1], {0: tasks}, steps={1: 2}, methods=["frozen"])
        >>> score_on_test(rows, {0: (tasks.x_test, tasks.y_test)}), 0 <= rows[0]["test_accuracy"] <= 1
        (1, True)
    """
    rows = check_rows("rows", rows, ["seed", "model"], fix="pass the rows of run_shapes or run_digits")
    scored = 0
    for row in rows:
        if "test_accuracy" in row:
            continue
        if isinstance(test, Mapping):
            if row["seed"] not in test:
                raise ValueError(f"test has seeds {sorted(test)} but a run used seed {row['seed']}: expected the test "
                                 "split of every seed. Fix: pass {seed: (x_test, y_test)} for the runs' seeds.")
            x_test, y_test = test[row["seed"]]
        else:
            x_test, y_test = test
        row["test_accuracy"] = accuracy(row["model"], x_test, y_test)
        scored += 1
    return scored


# --- reading the measurements -------------------------------------------------------------------

def seed_scores(rows: Sequence[dict[str, Any]], method: str, labels_per_class: int,
                value: str = "val_accuracy") -> dict[int, float]:
    """Return ``{seed: value}`` of one recipe at one label budget, from per-run rows.

    Rows are those of ``run_shapes`` / ``run_digits`` (keys ``method``, ``labels_per_class``,
    ``seed`` and ``value``): ``"val_accuracy"`` for decisions, ``"test_accuracy"`` in the final
    report.

    Example:
        >>> rows = [{"method": "frozen", "labels_per_class": 3, "seed": s, "val_accuracy": a}
        ...         for s, a in [(0, 0.5), (1, 0.7)]]
        >>> seed_scores(rows, "frozen", 3)
        {0: 0.5, 1: 0.7}
    """
    rows = check_rows("rows", rows, ["method", "labels_per_class", "seed", value],
                      fix="pass the rows of run_shapes or run_digits (test_accuracy exists after score_on_test)")
    seeds = [row["seed"] for row in rows if row["method"] == method and row["labels_per_class"] == labels_per_class]
    repeated = sorted({seed for seed in seeds if seeds.count(seed) > 1}, key=str)
    if repeated:  # a dict keeps one score per seed: the others would vanish without a word
        raise ValueError(f"seed(s) {repeated} appear more than once for method={method!r}, labels_per_class="
                         f"{labels_per_class!r}: expected one run per seed. Fix: drop the duplicated rows (a "
                         "rerun appended twice?), or give each run its own seed.")
    scores = {int(row["seed"]): float(row[value]) for row in rows
              if row["method"] == method and row["labels_per_class"] == labels_per_class}
    if not scores:
        pairs = sorted({(row["method"], row["labels_per_class"]) for row in rows})
        raise ValueError(f"No rows for method={method!r}, labels_per_class={labels_per_class!r}: expected one of "
                         f"{pairs}. Fix: pass a method and budget that the runs covered.")
    return scores


def versus_scratch(transfer_rows: Sequence[dict[str, Any]], scratch_rows: Sequence[dict[str, Any]], method: str,
                   labels_per_class: int, *, name: str | None = None, value: str = "val_accuracy") -> stats.Verdict:
    """Compare a transfer recipe with scratch, the one way notebook 14 does it in every section.

    It first checks that, seed by seed, both recipes trained on the same labelled images
    (``train_digest``) for the same number of steps — otherwise a gap could come from the data
    or the budget, not from transfer — then returns
    ``stats.compare_seeds(transfer, scratch, (name, "scratch"))``. ``transfer_outcome`` reads it.

    Args:
        transfer_rows: rows holding the transfer recipe's runs (``run_shapes`` / ``run_digits``).
        scratch_rows: rows holding the scratch runs (may be the same list).
        method: the transfer recipe, ``"frozen"`` or ``"fine-tuned"``.
        labels_per_class: the label budget compared.
        name: what to call the transfer recipe (default ``method``).
        value: ``"val_accuracy"`` (decisions) or ``"test_accuracy"`` (final report).

    Example:
        >>> rows = [{"method": m, "labels_per_class": 5, "seed": s, "steps": 40, "train_digest": f"d{s}",
        ...          "val_accuracy": a} for m, s, a in [("frozen", 0, 0.6), ("frozen", 1, 0.62),
        ...                                              ("scratch", 0, 0.8), ("scratch", 1, 0.83)]]
        >>> print(versus_scratch(rows, rows, "frozen", 5))
        scratch ahead by 20.5 points (95 % CI -26.9 to -14.1 points, 2 seeds)
    """
    method = check_choice("method", method, ("frozen", "fine-tuned"),
                          fix="compare a transfer recipe with scratch: 'frozen' or 'fine-tuned'")
    name = method if name is None else name
    keys = ["method", "labels_per_class", "seed", "steps", "train_digest", value]
    sides = {}
    for side, rows, recipe in (("transfer_rows", transfer_rows, method), ("scratch_rows", scratch_rows, "scratch")):
        rows = check_rows(side, rows, keys, fix="pass the rows of run_shapes or run_digits")
        sides[side] = {row["seed"]: row for row in rows
                       if row["method"] == recipe and row["labels_per_class"] == labels_per_class}
        if not sides[side]:
            raise ValueError(f"{side} has no {recipe!r} run at labels_per_class={labels_per_class}. Fix: pass the rows "
                             "that hold it (run that recipe at that budget first).")
    transfer, scratch = sides["transfer_rows"], sides["scratch_rows"]
    if set(transfer) != set(scratch):
        raise ValueError(f"{method!r} ran with seeds {sorted(transfer)} and scratch with {sorted(scratch)}: expected "
                         "the same seeds. Fix: run both with the same seeds.")
    for seed in transfer:
        for key, what in (("train_digest", "labelled images"), ("steps", "number of steps")):
            if transfer[seed][key] != scratch[seed][key]:
                raise ValueError(f"seed {seed}: {method!r} and scratch differ in their {what} ({transfer[seed][key]!r} "
                                 f"vs {scratch[seed][key]!r}) at labels_per_class={labels_per_class}: a gap would not "
                                 "be transfer's doing. Fix: run both with the same pool_per_class and the same steps.")
    return stats.compare_seeds({seed: row[value] for seed, row in transfer.items()},
                               {seed: row[value] for seed, row in scratch.items()}, (name, "scratch"))


def transfer_outcome(verdict: stats.Verdict) -> str:
    """Name what a transfer-vs-scratch verdict says: one of ``OUTCOMES``.

    ``"negative transfer"`` when scratch is clearly ahead (``stats.compare_seeds`` names it),
    ``"transfer ahead"`` when the transfer recipe is, ``"no clear difference"`` when neither is,
    and ``"no verdict"`` from a single seed. The verdict must compare something with
    ``"scratch"`` as its second name (``versus_scratch`` does).

    Example:
        >>> transfer_outcome(stats.compare_seeds([0.9, 0.8], [0.5, 0.45], ("frozen", "scratch")))
        'transfer ahead'
        >>> transfer_outcome(stats.compare_seeds([0.5], [0.9], ("frozen", "scratch")))
        'no verdict'
    """
    if not isinstance(verdict, stats.Verdict) or verdict.names[1] != "scratch":
        raise ValueError(f"verdict={verdict!r:.100}: expected a stats.Verdict of a transfer recipe against "
                         "'scratch' (second name). Fix: pass versus_scratch(...).")
    if verdict.winner == "scratch":
        return NEGATIVE_TRANSFER
    if verdict.winner is not None:
        return "transfer ahead"
    return "no verdict" if verdict.runs < 2 else "no clear difference"


def text_record_lines(record: Mapping[str, Any] | None, profile: str) -> list[str]:
    """Read notebook 10's record (text: fine-tuned BERT vs scratch) with the same rule, if it exists.

    An optional deep dive of notebook 14 (plenty of labels): in a fresh runtime (a new Colab session) the
    record does not exist, and the lines say so and how to get it — the section's own comparison
    is the shapes one, computed in place. With a record, every budget's fine-tuned and scratch
    validation accuracies per seed (notebook 10 chooses on validation and keeps its test set for one
    final report) are compared with ``stats.compare_seeds`` and named with ``transfer_outcome``, as
    notebook 14 does.

    Args:
        record: ``results.load_result("10_applications_nlp_bert", profile)`` (``None`` if missing).
        profile: the profile in use, for the message.

    Example:
        >>> text_record_lines(None, "quick")[0]
        "No record of notebook 10 in this runtime's 'quick' results: this section's comparison is the shapes one above, computed here."
    """
    if record is None:
        return [f"No record of notebook 10 in this runtime's {profile!r} results: this section's comparison is the "
                "shapes one above, computed here.",
                "Optional: run notebooks/10_applications_nlp_bert.ipynb in this profile and in the same runtime (or "
                "keep records on Google Drive, as the course's Colab notes explain) and rerun this cell."]
    rows = record.get("rows") if isinstance(record, Mapping) else None
    keys = ("method", "budget", "seed", "val_accuracy")
    if not isinstance(rows, list) or not rows or not all(isinstance(row, Mapping) and all(k in row for k in keys)
                                                         for row in rows):
        return ["Notebook 10's record holds no per-seed rows with keys "
                f"{keys}: rerun notebook 10 in this profile to refresh it."]
    lines = []
    for budget in sorted({row["budget"] for row in rows}):
        scores = {method: {row["seed"]: row["val_accuracy"] for row in rows
                           if row["method"] == method and row["budget"] == budget}
                  for method in ("fine-tuned", "scratch")}
        if not scores["fine-tuned"] or set(scores["fine-tuned"]) != set(scores["scratch"]):
            continue
        verdict = stats.compare_seeds(scores["fine-tuned"], scores["scratch"], ("fine-tuned", "scratch"))
        lines.append(f"text (validation), {budget:>6} reviews: fine-tuned {stats.mean_interval(scores['fine-tuned'])} · scratch "
                     f"{stats.mean_interval(scores['scratch'])} · {transfer_outcome(verdict)}: {verdict}")
    return lines or ["Notebook 10's record pairs no fine-tuned and scratch runs by seed: rerun notebook 10."]


def plot_scores(scores: dict[str, Sequence[float] | dict[int, float]], *, chance: float | None = None,
                title: str = "", label: str = "validation accuracy") -> Any:
    """Horizontal bars of mean accuracy with its 95 % t interval over seeds, one per recipe; dots: single seeds.

    Args:
        scores: ``{name: accuracies}``, accuracies as a list or as ``seed_scores``'s dict; drawn
            top to bottom in the dict's order.
        chance: draw chance accuracy as a dotted line.
        title: figure title.
        label: what the scores are (x-axis label).

    Example:
        >>> figure = plot_scores({"scratch": [0.5, 0.6], "frozen": [0.7, 0.72]}, chance=1 / 6)
    """
    import matplotlib.pyplot as plt
    from scipy import stats as scipy_stats

    if not isinstance(scores, dict) or not scores:
        raise ValueError(f"scores={scores!r} is not a non-empty dict: expected {{name: accuracies}}. Fix: e.g. "
                         "{'scratch': seed_scores(rows, 'scratch', 10), 'frozen': seed_scores(rows, 'frozen', 10)}.")
    if chance is not None:
        chance = check_number("chance", chance, minimum=0, maximum=1, fix="use 1 / num_classes")
    names = list(scores)
    values = [list(scores[name].values()) if isinstance(scores[name], dict) else list(scores[name]) for name in names]
    for name, points in zip(names, values):
        if not points:
            raise ValueError(f"scores[{name!r}] is empty: expected at least one accuracy. Fix: pass the runs' accuracies.")
        for index, point in enumerate(points):  # a NaN bar would vanish, a percentage would leave the axis
            check_number(f"scores[{name!r}][{index}]", point, minimum=0, maximum=1,
                         fix="pass accuracies between 0 and 1 (a NaN means a run failed)")
    positions = np.arange(len(names))[::-1]
    figure, axis = plt.subplots(figsize=(7, 0.5 * len(names) + 1.4))
    for position, points in zip(positions, values):
        mean = float(np.mean(points))
        half = (float(scipy_stats.t.ppf(0.5 + stats.CONFIDENCE / 2, len(points) - 1)) * statistics.stdev(points)
                / math.sqrt(len(points))) if len(points) > 1 else 0.0
        axis.barh(position, mean, xerr=half, color="tab:blue", alpha=0.6, capsize=4)
        axis.plot(points, [position] * len(points), "k.", markersize=5)
        axis.text(min(mean + half, 1.0) + 0.01, position, f"{100 * mean:.1f} %", va="center", fontsize=8)
    if chance is not None:
        axis.axvline(chance, color="gray", linestyle=":", label="chance")
        axis.legend(loc="lower right")
    axis.set_yticks(positions, names, fontsize=9)
    axis.set_xlim(0, 1.1)
    axis.set_xlabel(f"{label} (bar: mean with its 95 % interval over seeds; dots: single seeds)")
    axis.set_title(title)
    figure.tight_layout()
    return figure
