"""Plumbing for notebook 14 (when transfer learning does not help): far sources, digits, verdicts.

Notebook 14 asks *when* transfer does not pay and answers with measurements, not opinions. It
reuses notebook 01's shapes lab (``tlcourse.lab``) and adds three small pieces:

1. ``make_noise_textures``: a *far* source task for the lab's CNN — smoothed colour noise whose
   classes differ only in how coarse the grain is. No shapes, no outlines: nothing the target
   shapes need was ever a reason to learn.
2. The digits task (scikit-learn's bundled ``load_digits``, 8 × 8 px, offline): ``load_digit_tasks``
   splits it into a source task (digits 0–4) and a target task (digits 5–9, relabelled 0–4);
   ``build_digits_base`` is a tiny ``Dense`` network for it, and ``train_digits_target`` runs one
   recipe (scratch, frozen or fine-tuned) the way ``tlcourse.lab.train_target`` does for shapes.
3. ``paired_verdict``: compares two recipes run with the same seeds and *says* which is ahead —
   or that the difference is within noise — so the notebook's prose can read the measurement
   instead of claiming a direction. ``seed_scores`` pulls one recipe's accuracies out of the rows
   of ``tlcourse.lab.run_sweep`` (or of ``train_digits_target`` runs).

Example:
    >>> print(paired_verdict([0.8, 0.7, 0.9], [0.5, 0.45, 0.55], "transfer", "scratch").text)
    transfer ahead by 30.0 points (noise band ±10.0)
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from tlcourse.checks import check_choice, check_int, check_int_sequence, check_model, check_number, check_rows, check_text
from tlcourse.lab import compile_classifier, copy_base, fit_recipe, repeat_dataset

RECIPES: tuple[str, ...] = ("scratch", "frozen", "fine-tuned")
"""The digits recipes, as in ``tlcourse.lab.METHODS``."""

DIGITS_SOURCE_CLASSES: tuple[int, ...] = (0, 1, 2, 3, 4)
"""Digits of the source task (plenty of labels)."""

DIGITS_TARGET_CLASSES: tuple[int, ...] = (5, 6, 7, 8, 9)
"""Digits of the target task, relabelled 0–4 in that order."""

DIGITS_LEARNING_RATES: dict[str, float] = {"scratch": 3e-3, "frozen": 1e-2, "fine-tuned": 1e-2}
"""Adam's learning rate per digits recipe; the fine-tuned recipe's second phase uses a tenth."""

NOISE_FACTOR = 2.0
"""``paired_verdict`` calls a difference noise when it is smaller than this many standard deviations."""


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
    x_test: np.ndarray
    """The target test set: ``test_per_class`` images per target digit, never trained on."""
    y_test: np.ndarray
    """Their labels 0–4."""


def load_digit_tasks(*, seed: int = 0, test_per_class: int = 80) -> DigitTasks:
    """Split scikit-learn's digits into a source task (0–4) and a target task (5–9, relabelled 0–4).

    The 1,797 images of 8 × 8 px ship with scikit-learn (no download). Pixels (0–16) are scaled
    to 0–1. Every source digit image goes to the source task. The target digits are shuffled
    with ``seed``; the first ``test_per_class`` of each digit form the test set and the rest the
    labelled pool (about 100 per digit with the default).

    Args:
        seed: seed of the shuffle that decides which target images are test images.
        test_per_class: test images per target digit (1 to 150).

    Example:
        >>> tasks = load_digit_tasks(seed=0, test_per_class=80)
        >>> tasks.x_source.shape[1], sorted(set(tasks.y_pool.tolist())), len(tasks.y_test)
        (64, [0, 1, 2, 3, 4], 400)
    """
    from sklearn.datasets import load_digits

    seed = check_int("seed", seed, minimum=0, fix="use a whole number >= 0, e.g. seed=0")
    test_per_class = check_int("test_per_class", test_per_class, minimum=1, maximum=150,
                               fix="each digit has about 180 images; keep some for training, e.g. test_per_class=80")
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
    return DigitTasks(x_source, y_source, x_target[~test], y_target[~test], x_target[test], y_target[test])


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


def train_digits_target(method: str, source_base: keras.Model, *, x_train: np.ndarray, y_train: np.ndarray,
                        x_test: np.ndarray, y_test: np.ndarray, steps: int, seed: int = 0,
                        batch_size: int = 32, input_scale: float = 1.0) -> float:
    """Train one recipe on the digits target task and return its test accuracy.

    The recipes are those of ``tlcourse.lab.train_target``: ``"scratch"`` (a fresh
    ``build_digits_base(seed=seed)`` with the same layer sizes, every layer trained),
    ``"frozen"`` (a copy of ``source_base``, ``trainable = False``, plus a new head) and
    ``"fine-tuned"`` (frozen for half the steps, then every layer with a learning rate ten times
    smaller, after recompiling). Every recipe gets ``steps`` batches from the same shuffled stream
    and a head initialised from ``seed``; ``source_base`` is never changed.

    Args:
        method: one of ``RECIPES``.
        source_base: the pretrained digits base.
        x_train, y_train: the labelled target images (pixels 0–1) and labels.
        x_test, y_test: the target test set.
        steps: gradient steps (at least 2 for ``"fine-tuned"``).
        seed: seed of the new weights and of the shuffling.
        batch_size: images per step.
        input_scale: multiply the training *and* test pixels by this before the model sees them
            (1: the source's preprocessing; 16: the raw 0–16 pixels, a preprocessing mismatch).

    Example:
        >>> tasks = load_digit_tasks()
        >>> from tlcourse.lab import take_per_class
        >>> x_train, y_train = take_per_class(tasks.x_pool, tasks.y_pool, 5)
        >>> accuracy = train_digits_target("scratch", build_digits_base(), x_train=x_train, y_train=y_train,
        ...                                x_test=tasks.x_test, y_test=tasks.y_test, steps=20)
        >>> 0 <= accuracy <= 1
        True
    """
    method = check_choice("method", method, RECIPES)
    check_model("source_base", source_base, fix="pass source_model.get_layer('digits_base')")
    steps = check_int("steps", steps, minimum=2 if method == "fine-tuned" else 1,
                      fix="give the recipe at least one step per phase, e.g. steps=200")
    seed = check_int("seed", seed, minimum=0, fix="use a whole number >= 0, e.g. seed=0")
    input_scale = check_number("input_scale", input_scale, above=0, maximum=1000, fix="e.g. input_scale=1.0")
    if len(x_train) != len(y_train) or len(x_test) != len(y_test) or len(x_train) == 0:
        raise ValueError(f"x_train/y_train have {len(x_train)}/{len(y_train)} items and x_test/y_test "
                         f"{len(x_test)}/{len(y_test)}: expected non-empty pairs of equal length. Fix: pass "
                         "take_per_class(tasks.x_pool, tasks.y_pool, n) and tasks.x_test, tasks.y_test.")
    learning_rate = DIGITS_LEARNING_RATES[method]
    x_train = (np.asarray(x_train, dtype=np.float32) * input_scale)
    x_test = (np.asarray(x_test, dtype=np.float32) * input_scale)
    units = [layer.units for layer in source_base.layers if isinstance(layer, layers.Dense)]
    if not units:
        raise ValueError(f"source_base {source_base.name!r} has no Dense layers: expected a digits base. "
                         "Fix: pass source_model.get_layer('digits_base') or build_digits_base(...).")
    if method == "scratch":
        base = build_digits_base(seed=seed, units=units)  # the same layer sizes, fresh weights
    else:
        base = copy_base(source_base)
        base.trainable = False
    model = compile_classifier(add_digits_head(base, len(DIGITS_TARGET_CLASSES), seed=seed), learning_rate)
    train_ds = repeat_dataset(x_train, np.asarray(y_train), batch_size=batch_size, seed=seed)
    fit_recipe(method, model, base, train_ds, steps=steps, learning_rate=learning_rate)  # as notebook 01's lab
    logits = model(tf.constant(x_test), training=False)  # one eager call: no evaluate() tracing for a tiny MLP
    return float(np.mean(np.argmax(logits, axis=-1) == np.asarray(y_test)))


# --- reading the measurements -------------------------------------------------------------------

def seed_scores(rows: Sequence[dict[str, Any]], method: str, labels_per_class: int,
                value: str = "test_accuracy") -> dict[int, float]:
    """Return ``{seed: value}`` of one recipe at one label budget, from per-run rows.

    Rows are those of ``tlcourse.lab.run_sweep`` (keys ``method``, ``labels_per_class``,
    ``seed``, ``test_accuracy``); the notebook's digits runs use the same keys.

    Example:
        >>> rows = [{"method": "frozen", "labels_per_class": 3, "seed": s, "test_accuracy": a}
        ...         for s, a in [(0, 0.5), (1, 0.7)]]
        >>> seed_scores(rows, "frozen", 3)
        {0: 0.5, 1: 0.7}
    """
    rows = check_rows("rows", rows, ["method", "labels_per_class", "seed", value],
                      fix="pass the rows of lab.run_sweep (or of the digits runs)")
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


class Verdict(NamedTuple):
    """What ``paired_verdict`` measured and concluded."""

    difference: float
    """Mean of ``first − second`` over the seeds, in points of accuracy (0–100 scale)."""
    noise: float
    """``NOISE_FACTOR`` × the standard deviation of the per-seed differences, in points."""
    winner: str | None
    """The name of the recipe ahead, or ``None`` when the difference is within noise (or unknown)."""
    text: str
    """One line for a learner, e.g. ``"transfer ahead by 12.0 points (noise band ±3.1)"``."""


def paired_verdict(first: Sequence[float] | dict[int, float], second: Sequence[float] | dict[int, float],
                   first_name: str = "transfer", second_name: str = "scratch") -> Verdict:
    """Compare two recipes run with the same seeds, and say which is ahead or that it is noise.

    The accuracies are paired by seed (same seed: same labelled images, same head weights), so
    the comparison uses the per-seed differences ``first − second``: their mean is the gap, and
    the gap counts as real only when ``|mean| >= NOISE_FACTOR × std`` of those differences
    (sample standard deviation). With one seed there is no noise estimate, and the verdict says
    so instead of naming a winner.

    Args:
        first, second: accuracies (0–1), as lists in seed order or as ``{seed: accuracy}`` from
            ``seed_scores`` (then the seeds must match).
        first_name, second_name: what to call the two recipes in the text.

    Example:
        >>> paired_verdict([0.50, 0.60, 0.55], [0.52, 0.57, 0.56]).text
        'within noise: |difference| 0.0 points < 2 std of the per-seed differences (5.3 points)'
        >>> paired_verdict([0.4, 0.42], [0.7, 0.71], "frozen", "scratch").winner
        'scratch'
    """
    first_name = check_text("first_name", first_name, fix="e.g. first_name='transfer'")
    second_name = check_text("second_name", second_name, fix="e.g. second_name='scratch'")
    if isinstance(first, dict) or isinstance(second, dict):
        if not (isinstance(first, dict) and isinstance(second, dict)) or set(first) != set(second):
            raise ValueError(f"first has seeds {sorted(first) if isinstance(first, dict) else '(a list)'} and second "
                             f"{sorted(second) if isinstance(second, dict) else '(a list)'}: expected the same seeds "
                             "on both sides. Fix: pass seed_scores(...) of two recipes run with the same seeds.")
        seeds = sorted(first)
        first, second = [first[seed] for seed in seeds], [second[seed] for seed in seeds]
    first = [check_number(f"first[{i}]", value, minimum=0, maximum=1, fix="pass accuracies between 0 and 1")
             for i, value in enumerate(first)]
    second = [check_number(f"second[{i}]", value, minimum=0, maximum=1, fix="pass accuracies between 0 and 1")
              for i, value in enumerate(second)]
    if len(first) != len(second) or not first:
        raise ValueError(f"first has {len(first)} accuracies and second {len(second)}: expected the same number, "
                         "at least one, one per seed. Fix: run both recipes with the same seeds.")
    differences = [100 * (a - b) for a, b in zip(first, second)]
    difference = statistics.fmean(differences)
    if len(differences) < 2:
        return Verdict(difference, float("nan"), None,
                       f"{first_name} − {second_name} = {difference:+.1f} points with one seed: no noise estimate, "
                       "no verdict (run more seeds)")
    noise = NOISE_FACTOR * statistics.stdev(differences)
    if abs(difference) < noise or difference == 0:
        return Verdict(difference, noise, None,
                       f"within noise: |difference| {abs(difference):.1f} points < {NOISE_FACTOR:g} std of the "
                       f"per-seed differences ({noise:.1f} points)")
    winner = first_name if difference > 0 else second_name
    return Verdict(difference, noise, winner, f"{winner} ahead by {abs(difference):.1f} points (noise band ±{noise:.1f})")


def mean_std(values: Sequence[float] | dict[int, float]) -> str:
    """Format accuracies (0–1) as ``"mean ± std %"`` over seeds (sample std; 0 for one value).

    Example:
        >>> mean_std([0.5, 0.7])
        '60.0 ± 14.1 %'
    """
    values = list(values.values()) if isinstance(values, dict) else list(values)
    if not values:
        raise ValueError("values=[] is empty: expected at least one accuracy. Fix: pass seed_scores(...).")
    values = [check_number(f"values[{i}]", value, minimum=0, maximum=1, fix="pass accuracies between 0 and 1")
              for i, value in enumerate(values)]
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * statistics.fmean(values):.1f} ± {100 * spread:.1f} %"


def plot_scores(scores: dict[str, Sequence[float] | dict[int, float]], *, chance: float | None = None,
                title: str = "") -> Any:
    """Horizontal bars of mean accuracy ± one std over seeds, one per recipe, with each seed as a dot.

    Args:
        scores: ``{name: accuracies}``, accuracies as a list or as ``seed_scores``'s dict; drawn
            top to bottom in the dict's order.
        chance: draw chance accuracy as a dotted line.
        title: figure title.

    Example:
        >>> figure = plot_scores({"scratch": [0.5, 0.6], "frozen": [0.7, 0.72]}, chance=1 / 6)
    """
    import matplotlib.pyplot as plt

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
        spread = float(np.std(points, ddof=1)) if len(points) > 1 else 0.0
        axis.barh(position, mean, xerr=spread, color="tab:blue", alpha=0.6, capsize=4)
        axis.plot(points, [position] * len(points), "k.", markersize=5)
        axis.text(min(mean + spread, 1.0) + 0.01, position, f"{100 * mean:.1f} %", va="center", fontsize=8)
    if chance is not None:
        axis.axvline(chance, color="gray", linestyle=":", label="chance")
        axis.legend(loc="lower right")
    axis.set_yticks(positions, names, fontsize=9)
    axis.set_xlim(0, 1.1)
    axis.set_xlabel("test accuracy (bar: mean ± std over seeds; dots: single seeds)")
    axis.set_title(title)
    figure.tight_layout()
    return figure
