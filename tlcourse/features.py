"""Cached features: run a frozen base once, then train the new head on what it computed.

Introduced in notebook 03's exercise (a linear probe per candidate base, ``linear_probe``); optional
notebook 04 measures the time it saves. A frozen base computes the same features for the same image
every epoch, and on a CPU that forward pass is nearly all of an epoch's time. Extract the pooled
features once, keep them (in memory or on disk), and train the head on them: every epoch then
costs only the head. The price: no data augmentation (the base would have to see each new
augmented image), which is why notebook 03's main line keeps the base in the training loop.

The disk cache lives in ``data/features/`` of the course (git-ignored; ``$TLCOURSE_FEATURES_DIR``
overrides it). A cached file is reused only when *everything* that determines the features
matches — the backbone's name, input size and a fingerprint of its actual weight values, the
dataset, split and profile, the preprocessing function, and the data itself (the number of
examples and a hash of every image and label fed in, in order) — so a stale cache is never read
back, not even for another subset of the same split. Files are written atomically; a cache file
that is empty, truncated or foreign is recomputed, and a cache that cannot be written (read-only
folder, full disk) gives a warning, never the loss of the computed features.

Example:
    >>> key = feature_key(settings, "tf_flowers", "train", "MobileNetV2", base_model)  # doctest: +SKIP
    >>> train = extract_features(base_model, train_ds, key=key,  # doctest: +SKIP
    ...                          preprocess_input=keras.applications.mobilenet_v2.preprocess_input)
    >>> train.features.shape, train.from_cache  # doctest: +SKIP
    ((750, 1280), False)
"""

from __future__ import annotations

import errno
import functools
import hashlib
import json
import os
import time
import warnings
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from tlcourse import checks, paths
from tlcourse.files import write_atomically
from tlcourse.settings import Settings

CACHE_MODES = ("disk", "memory", "none")
"""Where ``extract_features`` keeps what it computed: a file, this Python process, or nowhere."""

_MEMORY: dict[str, tuple[np.ndarray, np.ndarray]] = {}
_READ_ONLY_SEEN: set[Path] = set()  # read-only feature cache folders already announced


class CachedFeatures(NamedTuple):
    """Pooled features of one split and their labels, as ``extract_features`` returns them.

    Attributes:
        features: ``float32 [N, feature_dim]``, one pooled feature vector per image.
        labels: ``int64 [N]`` class indices, in the same order.
        seconds: time spent running the base (0.0 when read from a cache).
        source: ``"computed"``, ``"memory"`` or the path of the file it was read from.
    """

    features: np.ndarray
    labels: np.ndarray
    seconds: float
    source: str

    @property
    def from_cache(self) -> bool:
        """True when nothing was computed: the features came from memory or a file."""
        return self.source != "computed"


def features_dir() -> Path:
    """Return the disk cache folder: ``$TLCOURSE_FEATURES_DIR``, else ``data/features`` in a clone.

    Outside a clone (e.g. Colab) it is ``./tlcourse_data/features``. Created on first write.
    """
    override = os.environ.get("TLCOURSE_FEATURES_DIR", "").strip()
    if override:
        return Path(override).expanduser()  # "~/features" as paths.data_dir reads "~/data"
    base = paths.data_dir()
    return (base if base is not None else Path.cwd() / "tlcourse_data") / "features"


def weights_fingerprint(model: keras.Model) -> str:
    """Return a short hash of ``model``'s architecture and every weight value (trainable or not).

    Two models with the same fingerprint compute the same features; ImageNet weights, random
    weights from another seed or a fine-tuned copy all give different fingerprints.

    Example:
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, kernel_initializer="ones")])
        >>> weights_fingerprint(model) == weights_fingerprint(model)
        True
    """
    checks.check_model("model", model)
    digest = hashlib.sha256(json.dumps([model.name, list(model.input_shape)]).encode())
    for weight in model.weights:
        value = np.ascontiguousarray(keras.ops.convert_to_numpy(weight))
        digest.update(f"{weight.path}:{value.dtype}:{value.shape}".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()[:16]


def feature_key(settings: Settings, dataset: str, split: str, backbone: str,
                base_model: keras.Model) -> dict[str, Any]:
    """Describe everything that determines a split's features, for ``extract_features(key=...)``.

    Args:
        settings: the active profile (its name, mock data and subset sizes change the images).
        dataset: the TFDS name, e.g. ``"tf_flowers"``.
        split: ``"train"``, ``"val"`` or ``"test"`` (any name; it tells the files apart).
        backbone: the backbone's name, e.g. ``"MobileNetV2"``.
        base_model: the frozen base itself: its input size and weight fingerprint go in the key.

    Example:
        >>> base_model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3)])
        >>> from tlcourse.settings import get_settings
        >>> key = feature_key(get_settings("smoke"), "tf_flowers", "train", "tiny", base_model)
        >>> key["image_size"], key["profile"]
        (8, 'smoke')
    """
    checks.check_settings(settings)
    checks.check_model("base_model", base_model)
    for name, value in (("dataset", dataset), ("split", split), ("backbone", backbone)):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{name}={value!r} must be a non-empty name, e.g. dataset='tf_flowers', "
                             "split='train', backbone='MobileNetV2'.")
    return {
        "profile": settings.name, "mock_data": settings.mock_data, "mock_examples": settings.mock_examples,
        "train_examples_per_class": settings.train_examples_per_class, "dataset": dataset,
        "split": split, "backbone": backbone, "image_size": int(base_model.input_shape[1]),
        "weights": weights_fingerprint(base_model),
    }


def cache_path(key: dict[str, Any]) -> Path:
    """Return the file that holds the features described by ``key`` (see ``feature_key``)."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    readable = "-".join(str(key.get(field, "")) for field in ("dataset", "split", "backbone", "image_size"))
    safe = "".join(char if char.isalnum() or char in "-_" else "_" for char in readable)
    return features_dir() / f"{safe}-{digest}.npz"


def extract_features(base_model: keras.Model, ds: tf.data.Dataset, *,
                     preprocess_input: Callable | None = None, key: dict[str, Any] | None = None,
                     cache: str = "disk", progress: bool = True) -> CachedFeatures:
    """Run the frozen ``base_model`` once over ``ds`` and return pooled features and labels.

    Each batch goes through ``preprocess_input`` (the backbone's own; ``None`` for models that
    rescale inside), then ``base_model`` in inference mode, then global average pooling when the
    base returns feature maps. With ``key`` (from ``feature_key``), the result is kept — in a
    file under ``features_dir()`` (``cache="disk"``) or in this Python process
    (``cache="memory"``) — and a later call with the same key reads it back instead of running
    the base. Without ``key`` nothing is cached. The key is completed with the preprocessing
    function's name and a fingerprint of the data (example count and a hash of the images and
    labels, read in one extra pass over ``ds`` — a fraction of the base's time), so another
    subset or order never reads these features back; ``result.source`` names the file used.
    Arrays from the memory cache are copies: editing them in place changes nothing cached.

    Args:
        base_model: the frozen base, e.g. ``keras.applications.MobileNetV2(include_top=False, ...)``.
        ds: batched ``(images, labels)`` in 0–255, e.g. from ``tlcourse.data.prepare``; not
            shuffled, so the features keep a fixed order.
        preprocess_input: the backbone's ``preprocess_input``, applied to every batch.
        key: what determines the features (``feature_key``); needed for caching.
        cache: one of ``CACHE_MODES``.
        progress: show a progress bar over the batches.

    Returns:
        ``CachedFeatures(features, labels, seconds, source)``.

    Raises:
        ValueError: an empty dataset, unbatched data, images of another size than the base's
            input, or a cache mode that does not exist.

    Warns:
        UserWarning: the cache file could not be written (the features are still returned), or
            ``ds`` gave other images on each pass (shuffled? then nothing is cached).
    """
    checks.check_model("base_model", base_model)
    checks.check_dataset("ds", ds, batched=True)
    checks.check_choice("cache", cache, CACHE_MODES)
    if preprocess_input is not None and not callable(preprocess_input):
        raise TypeError(f"preprocess_input={preprocess_input!r} is not a function: pass e.g. "
                        "keras.applications.mobilenet_v2.preprocess_input, or None.")
    if key is not None and not isinstance(key, dict):
        raise TypeError(f"key={key!r} is a {type(key).__name__}: pass feature_key(...)'s dict or None.")
    expected_size = _input_size(base_model)
    if expected_size is not None:  # an image base: refuse images of another size before any work
        _check_size(expected_size, tuple(ds.element_spec[0].shape)[1:3])
    _check_channels_and_labels(base_model, ds)
    use_cache = key is not None and cache != "none"
    path = None
    if use_cache:  # the same base with another preprocessing, or other images, computes other features
        examples, data = _fingerprint(ds, expected_size)
        key = {**key, "preprocess_input": _function_name(preprocess_input), "examples": examples, "data": data,
               "weights": weights_fingerprint(base_model)}  # now: the base may have changed since feature_key
        path = cache_path(key)
        # In memory: cache="memory", or features the disk cache could not keep (a read-only class share).
        if path.name in _MEMORY and cache in ("memory", "disk"):
            features, labels = _MEMORY[path.name]
            return CachedFeatures(features.copy(), labels.copy(), 0.0, "memory")  # copies: edits stay local
        if cache == "disk" and path.is_file():
            stored = _read(path, key)
            if stored is not None:
                return CachedFeatures(*stored, 0.0, str(path))

    started = time.perf_counter()
    features, labels = [], []
    digest = hashlib.blake2b(digest_size=16)
    total = int(ds.cardinality()) if int(ds.cardinality()) > 0 else None
    for images, batch_labels in tqdm(ds, total=total, desc="extracting features", unit="batch",
                                     disable=not progress, leave=False):
        _check_size(expected_size, tuple(images.shape)[1:3])
        if use_cache:
            _update(digest, images, batch_labels)
        _check_labels(batch_labels)
        if preprocess_input is not None:  # preprocess_input wants 0–255 floats: refuse 0–1 or preprocessed twice
            pixels = np.asarray(images)
            if pixels.ndim == 4 and pixels.dtype.kind == "f" and (  # images (not text); one flat colour is any range
                    pixels.size and np.ptp(pixels) > 0 or not np.all(np.isfinite(pixels))):
                checks.check_pixels("ds's images", pixels, fix="pass the images as loaded (0–255); "
                                    "extract_features applies preprocess_input itself")
            images = tf.cast(images, tf.float32) if images.dtype == tf.uint8 else images  # uint8 pixels → float
        inputs = preprocess_input(images) if preprocess_input is not None else images
        maps = np.asarray(base_model.predict_on_batch(inputs))  # compiled, in inference mode
        if len(maps) != len(images):  # a base built under a tf.distribute strategy: Keras 3's predict_on_batch
            maps = np.asarray(base_model(inputs, training=False))  # returns a row per image and replica
        features.append(maps.mean(axis=tuple(range(1, maps.ndim - 1))) if maps.ndim > 2 else maps)
        labels.append(np.asarray(batch_labels).reshape(-1))
    if not features:
        raise ValueError("ds yielded no batches: there is nothing to extract. Check the split is not "
                         "empty (tlcourse.data.count_examples(ds)).")
    result = (np.concatenate(features).astype(np.float32), np.concatenate(labels).astype(np.int64))
    seconds = time.perf_counter() - started
    if use_cache and digest.hexdigest() != key["data"]:
        warnings.warn("ds gave other images on its second pass than on its first (is it shuffled, or "
                      "augmented?), so these features are not cached: a later call could not tell which "
                      "images they belong to. Fix: pass the split unshuffled and unaugmented (e.g. "
                      "tlcourse.data.prepare(..., shuffle=False)), or cache='none'.", stacklevel=2)
    elif use_cache and cache == "memory":
        _MEMORY[path.name] = (result[0].copy(), result[1].copy())
    elif use_cache and cache == "disk":
        _write(path, key, *result)
    return CachedFeatures(*result, seconds, "computed")


def _input_size(base_model: keras.Model) -> tuple[int | None, int | None] | None:
    """The base's (height, width) for an image base (``None`` for a free size); ``None`` for other bases."""
    try:
        shape = base_model.input_shape
    except (AttributeError, ValueError):  # not built, or several inputs
        return None
    if not isinstance(shape, tuple) or len(shape) != 4:  # text, audio, several inputs: leave it to Keras
        return None
    return (shape[1], shape[2])


def _check_labels(labels: Any) -> None:
    """Refuse labels that are not whole class indices (they would be truncated to an index silently)."""
    array = np.asarray(labels)
    if array.dtype.kind == "f" and not np.all(np.isfinite(array) & (array == np.round(array))):
        raise ValueError(f"ds's labels hold non-whole numbers (e.g. {array.reshape(-1)[:3].tolist()}): expected one class "
                         "index per image. Fix: pass the class indices, e.g. ds.map(lambda x, y: (x, tf.argmax(y, -1))) "
                         "for one-hot labels.")


def _check_channels_and_labels(base_model: keras.Model, ds: tf.data.Dataset) -> None:
    """Refuse grayscale images for a colour base (or the reverse) and one-hot labels, before any work."""
    spec = ds.element_spec
    if not isinstance(spec, tuple) or len(spec) != 2:
        raise ValueError(f"ds yields {spec}: expected (images, labels) batches. Fix: batch (image, label) pairs, "
                         "e.g. with tlcourse.data.prepare.")
    try:
        input_shape = base_model.input_shape
    except (AttributeError, ValueError):
        raise ValueError(f"base_model {base_model.name!r} is not built (it has no input shape yet): expected a base "
                         "that knows its input size. Fix: give it one, e.g. keras.Sequential([keras.Input((224, 224, 3)), "
                         "...]) or keras.applications.MobileNetV2(include_top=False, input_shape=(224, 224, 3)).") from None
    wanted, found = input_shape[-1] if len(input_shape) == 4 else None, spec[0].shape[-1]
    if wanted is not None and found is not None and int(wanted) != int(found):
        raise ValueError(f"ds holds images with {found} channel(s) but base_model expects {wanted}: "
                         + ("grayscale images into a colour base. Fix: ds.map(lambda x, y: (tf.image.grayscale_to_rgb(x), y))."
                            if int(found) == 1 and int(wanted) == 3 else
                            "Fix: convert the images to the base's number of channels."))
    if len(spec[1].shape) > 1 and spec[1].shape[-1] not in (None, 1):
        raise ValueError(f"ds's labels have shape {tuple(spec[1].shape)}: one-hot vectors, expected one class index "
                         "per image (shape [batch]). Fix: ds.map(lambda x, y: (x, tf.argmax(y, axis=-1))).")


def _check_size(expected: tuple[int | None, int | None] | None, found: tuple) -> None:
    """Refuse images whose height/width differ from an image base's fixed input size."""
    if expected is None:
        return
    if len(found) != 2:
        raise ValueError(f"ds yields images of shape {found} after the batch axis: expected batches of "
                         "[height, width, channels] images. Fix: batch (images, labels) pairs, e.g. with "
                         "tlcourse.data.prepare.")
    for want, got in zip(expected, found):
        if want is not None and got is not None and int(want) != int(got):
            raise ValueError(
                f"ds holds {found[0]}x{found[1]} images but base_model expects {expected[0]}x{expected[1]}: "
                "its features would describe other pixels than the model will see (and be cached under "
                f"the wrong size). Fix: resize the images to the base's size (tlcourse.data.prepare(ds, "
                f"image_size={expected[0]}, ...)), or build the base for this size.")


def _update(digest: Any, images: Any, labels: Any) -> None:
    for part in (images, labels):
        array = np.ascontiguousarray(np.asarray(part))
        digest.update(f"{array.dtype}:{array.shape}".encode())
        if array.dtype.kind in "OSU":  # text: hash the characters themselves, never object pointers
            for item in array.reshape(-1):
                data = item if isinstance(item, bytes) else str(item).encode()
                digest.update(len(data).to_bytes(8, "little") + data)
        else:
            digest.update(array.tobytes())


def _fingerprint(ds: tf.data.Dataset, expected_size: tuple[int | None, int | None]) -> tuple[int, str]:
    """Return (number of examples, content hash of every image and label) of ``ds``, in order."""
    digest = hashlib.blake2b(digest_size=16)
    examples = 0
    for images, labels in ds:
        _check_size(expected_size, tuple(images.shape)[1:3])
        _update(digest, images, labels)
        examples += int(images.shape[0])
    return examples, digest.hexdigest()


def features_dataset(cached: CachedFeatures, batch_size: int, *, shuffle: bool = False,
                     seed: int | None = None) -> tf.data.Dataset:
    """Turn cached features into a batched ``(features, labels)`` dataset for ``fit``/``evaluate``.

    Example:
        >>> cached = CachedFeatures(np.zeros((10, 4), "float32"), np.zeros(10, "int64"), 0.0, "computed")
        >>> [tuple(x.shape) for x, _ in features_dataset(cached, batch_size=4)]
        [(4, 4), (4, 4), (2, 4)]
    """
    if not isinstance(cached, CachedFeatures):
        raise TypeError(f"cached is a {type(cached).__name__}: pass what extract_features returned.")
    checks.check_int("batch_size", batch_size, minimum=1, fix="use e.g. batch_size=32")
    ds = tf.data.Dataset.from_tensor_slices((cached.features, cached.labels))
    if shuffle:
        ds = ds.shuffle(len(cached.labels), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def linear_probe(train_features: CachedFeatures, val_features: CachedFeatures, num_classes: int, *, epochs: int,
                 learning_rate: float, batch_size: int, seed: int) -> np.ndarray:
    """Train a *linear probe* on cached training features; return its predicted classes on validation.

    A linear probe is a frozen base's new head cut down to its last layer: one ``Dense(num_classes)``
    layer that outputs logits, trained with Adam and ``SparseCategoricalCrossentropy(from_logits=True)``
    on the features ``extract_features`` computed once (shuffled each epoch, with ``seed``). How well it
    does on validation says how well the base's features fit the data, so probes of several bases,
    trained alike and scored on the same validation images, compare the bases cheaply (compare their
    predictions with ``stats.compare_predictions``). Introduced in notebook 03's exercise (choose a
    pretrained base); optional notebook 07 probes more bases.

    Args:
        train_features: ``extract_features(base_model, train_ds, ...)`` of the training images.
        val_features: the same base's ``extract_features`` of the validation images.
        num_classes: the dataset's number of classes (the probe's outputs).
        epochs: passes over the training features, at least 1.
        learning_rate: Adam's step size, above 0 (e.g. ``1e-3``).
        batch_size: features per training step, at least 1.
        seed: seeds the layer's initial weights and the shuffling, so a rerun gives the same probe. Through
            ``keras.utils.set_random_seed``, which also reseeds Python's ``random`` and NumPy's global generator.

    Returns:
        ``int64 [len(val_features.labels)]``: the predicted class of each validation image, in order.

    Raises:
        TypeError: features that are not what ``extract_features`` returned, or arguments of the wrong type.
        ValueError: features of different widths (two different bases) or none per image, NaN or infinite
            features, labels outside ``num_classes``, a class with no training example, an empty split, or a
            count or rate out of range.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> labels = np.arange(40) % 2
        >>> points = (rng.normal(size=(40, 3)) + 4 * labels[:, None]).astype("float32")  # two clusters
        >>> train = val = CachedFeatures(points, labels, 0.0, "computed")
        >>> predicted = linear_probe(train, val, 2, epochs=20, learning_rate=0.05, batch_size=8, seed=0)
        >>> float(np.mean(predicted == val.labels))
        1.0
    """
    for name, value in (("train_features", train_features), ("val_features", val_features)):
        if not isinstance(value, CachedFeatures):
            raise TypeError(f"{name} is a {type(value).__name__}: expected what extract_features returns "
                            f"(CachedFeatures). Fix: {name} = extract_features(base_model, ds, preprocess_input=...).")
        if value.features.ndim != 2 or value.labels.shape != (value.features.shape[0],):
            raise ValueError(f"{name} holds features of shape {value.features.shape} and labels of shape "
                             f"{value.labels.shape}: expected [N, feature_dim] and [N]. Fix: pass what "
                             "extract_features returned, unchanged.")
        if len(value.labels) == 0:
            raise ValueError(f"{name} holds no example: expected at least one image. Fix: check the dataset passed "
                             "to extract_features.")
        if value.features.shape[1] == 0:
            raise ValueError(f"{name} has 0 numbers per image: expected a base's pooled features. Fix: extract them "
                             "with a base that ends in a pooling layer (or pool its output), then probe.")
        if not np.issubdtype(value.features.dtype, np.number) or np.issubdtype(value.features.dtype, np.complexfloating):
            raise TypeError(f"{name}.features has dtype {value.features.dtype}: expected real numbers (float32). "
                            "Fix: pass what extract_features returned, unchanged.")
        bad = int(np.size(value.features) - np.count_nonzero(np.isfinite(value.features)))
        if bad:
            raise ValueError(f"{name}.features holds {bad} NaN or infinite value(s) (of {np.size(value.features)}): "
                             "the base or its preprocessing produced them, and a probe on them predicts one class "
                             "for every image. Fix: check the base and its preprocess_input, then extract again.")
    if train_features.features.shape[1] != val_features.features.shape[1]:
        raise ValueError(f"train_features has {train_features.features.shape[1]} numbers per image but val_features "
                         f"{val_features.features.shape[1]}: features of two different bases. Fix: extract both "
                         "splits with the same base_model.")
    num_classes = checks.check_num_classes(num_classes, minimum=2)
    for name, value in (("train_features.labels", train_features.labels), ("val_features.labels", val_features.labels)):
        checks.check_labels(name, value, num_classes, fix="pass the dataset's num_classes (splits.num_classes)")
    epochs = checks.check_int("epochs", epochs, minimum=1, fix="use e.g. epochs=settings.choosing.probe_epochs")
    learning_rate = checks.check_number("learning_rate", learning_rate, above=0, below=1, fix="use e.g. 1e-3")
    batch_size = checks.check_int("batch_size", batch_size, minimum=1, fix="use e.g. batch_size=settings.batch_size")
    seed = checks.check_int("seed", seed, minimum=0, fix="use e.g. seed=settings.seed")

    missing = sorted(set(range(num_classes)) - set(np.unique(train_features.labels).tolist()))
    if missing:
        raise ValueError(f"train_features has no example of class(es) {missing} (num_classes={num_classes}): the probe "
                         "could still predict them, from its random start alone. Fix: pass the whole training split, "
                         "or the dataset's own num_classes.")

    keras.utils.set_random_seed(seed)  # also reseeds Python's random and NumPy's global generator, as Keras does
    probe = keras.Sequential([keras.Input((train_features.features.shape[1],)),
                              keras.layers.Dense(num_classes, dtype="float32", name="logits")])
    probe.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    probe.fit(features_dataset(train_features, batch_size, shuffle=True, seed=seed),
              epochs=epochs, shuffle=False, verbose=0)  # features_dataset shuffles already
    logits = probe.predict(val_features.features, batch_size=batch_size, verbose=0)
    return np.argmax(logits, axis=-1).astype(np.int64)


def _function_name(function: Callable | None) -> str:
    """Identify a preprocessing function for the cache key: its name plus what it does.

    The name (e.g. 'keras.src....mobilenet_v2.preprocess_input') alone is not enough: a learner who edits
    a notebook's ``def`` and reruns it keeps the name, and two ``Rescaling`` layers or ``functools.partial``
    objects share one. So a function's own code (bytecode and constants) and a layer's config go in too.
    """
    if function is None:
        return "none"
    name = f"{getattr(function, '__module__', '')}.{getattr(function, '__qualname__', type(function).__name__)}"
    if "<lambda>" in name or "<locals>" in name:
        raise ValueError(f"preprocess_input={function!r} has no stable name, so its cached features could be "
                         "mistaken for another function's. Fix: pass the backbone's own function (e.g. "
                         "keras.applications.resnet50.preprocess_input) or a module-level def, or cache='none'.")
    digest = hashlib.blake2b(digest_size=8)
    parts: list[Any] = [function]
    while parts:
        part = parts.pop()
        if isinstance(part, functools.partial):
            digest.update(repr((part.args, sorted(part.keywords.items()))).encode())
            parts.append(part.func)
        elif isinstance(part, keras.layers.Layer):
            digest.update(json.dumps(part.get_config(), sort_keys=True, default=repr).encode())
        elif hasattr(part, "__code__"):
            code = part.__code__
            digest.update(code.co_code + repr(part.__defaults__).encode())
            for constant in code.co_consts:  # nested code objects by their bytecode (their repr holds an address)
                digest.update(constant.co_code if hasattr(constant, "co_code") else repr(constant).encode())
        else:
            digest.update(repr(part).encode())
    return f"{name}#{digest.hexdigest()}"


def clear_memory_cache() -> None:
    """Forget every feature set kept with ``cache="memory"`` in this Python process."""
    _MEMORY.clear()


def _write(path: Path, key: dict[str, Any], features: np.ndarray, labels: np.ndarray) -> None:
    """Store the features atomically; where that fails (a read-only class share, a full disk), keep them
    in memory for this session and say so once per folder."""
    if paths.writable(path.parent):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(path, lambda file: np.savez(file, features=features, labels=labels,
                                                         key=json.dumps(key, sort_keys=True)))
            return
        except OSError as error:
            problem = error.strerror or str(error)
            space = " Free some disk space, or set" if error.errno == errno.ENOSPC else " Set"
    else:
        problem, space = "read-only", " Set"
    _MEMORY[path.name] = (features.copy(), labels.copy())
    if path.parent not in _READ_ONLY_SEEN:
        _READ_ONLY_SEEN.add(path.parent)
        warnings.warn(f"Could not write the feature cache {path.parent} ({problem}): its features are read, new "
                      f"ones are kept in memory for this session only, not cached on disk.{space} "
                      "TLCOURSE_FEATURES_DIR to a writable folder with free space to keep them.", stacklevel=3)


def _read(path: Path, key: dict[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
    """Return the stored arrays if the file holds exactly ``key``'s features, else None.

    A file that is empty, truncated, not an ``.npz`` or written for another key gives None:
    the caller computes the features again and replaces it.
    """
    try:
        with np.load(path, allow_pickle=False) as stored:
            if json.loads(str(stored["key"])) != json.loads(json.dumps(key, sort_keys=True)):
                return None
            features, labels = stored["features"], stored["labels"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error):
        return None  # unreadable or foreign file: compute again and overwrite it
    if features.ndim != 2 or labels.shape != (features.shape[0],) or features.shape[0] != key.get("examples"):
        return None
    return features, labels
