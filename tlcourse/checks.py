"""Argument checks shared by every public ``tlcourse`` function.

Learners type wrong things: a step budget of 0, a size as a string, a list where a number
belongs, a dataset that was never batched. Each public function checks its arguments where
they enter ``tlcourse`` — before any training, download or allocation starts — with these
helpers, so a mistake stops at once with one readable message that says what was passed, what
was expected and how to fix it, instead of a hang or a traceback from deep inside TensorFlow.

Wrong *type* raises ``TypeError``; right type but wrong *value* raises ``ValueError``. Both
messages start with ``name=value`` as the caller typed it.

Example:
    >>> check_int("steps", 0, minimum=1, fix="give every recipe at least one gradient step")
    Traceback (most recent call last):
    ...
    ValueError: steps=0 is too small: expected a whole number >= 1. Fix: give every recipe at least one gradient step.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _message(name: str, value: Any, problem: str, expected: str, fix: str) -> str:
    text = f"{name}={_shown(value)} {problem}: expected {expected}."
    return f"{text} Fix: {fix}." if fix else text


def _is_whole(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_int(name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None,
              fix: str = "") -> int:
    """Return ``value`` as an ``int`` if it is a whole number in ``[minimum, maximum]``.

    Booleans and floats are rejected (``True`` is not a count, ``3.0`` hides a mistake);
    NumPy integers are accepted.

    Args:
        name: the argument's name, as the caller typed it.
        value: what was passed.
        minimum, maximum: inclusive bounds (``None``: unbounded).
        fix: how to fix it, one phrase, e.g. ``"use image_size=32"``.

    Raises:
        TypeError: not a whole number.
        ValueError: outside the bounds.

    Example:
        >>> check_int("epochs", 3, minimum=1)
        3
    """
    bounds = _bounds_text(minimum, maximum)
    if not _is_whole(value):
        raise TypeError(_message(name, value, f"is a {type(value).__name__}", f"a whole number{bounds}", fix))
    if minimum is not None and value < minimum:
        raise ValueError(_message(name, value, "is too small", f"a whole number{bounds}", fix))
    if maximum is not None and value > maximum:
        raise ValueError(_message(name, value, "is too large", f"a whole number{bounds}", fix))
    return int(value)


def check_number(name: str, value: Any, *, minimum: float | None = None, maximum: float | None = None,
                 above: float | None = None, below: float | None = None, fix: str = "") -> float:
    """Return ``value`` as a finite ``float`` within the bounds.

    ``minimum``/``maximum`` are inclusive, ``above``/``below`` exclusive (a dropout rate is
    ``minimum=0, below=1``; a learning rate ``above=0``). NaN and infinity are always rejected.

    Raises:
        TypeError: not a real number (booleans included).
        ValueError: NaN, infinite, or outside the bounds.

    Example:
        >>> check_number("dropout", 0.2, minimum=0, below=1)
        0.2
    """
    parts = [f">= {minimum}" if minimum is not None else "", f"> {above}" if above is not None else "",
             f"<= {maximum}" if maximum is not None else "", f"< {below}" if below is not None else ""]
    expected = "a finite number" + ("" if not any(parts) else " " + " and ".join(p for p in parts if p))
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(_message(name, value, f"is a {type(value).__name__}", expected, fix))
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(_message(name, value, "is not finite", expected, fix))
    if ((minimum is not None and number < minimum) or (above is not None and number <= above)
            or (maximum is not None and number > maximum) or (below is not None and number >= below)):
        raise ValueError(_message(name, value, "is out of range", expected, fix))
    return number


def check_choice(name: str, value: Any, choices: Iterable[str], *, fix: str = "") -> str:
    """Return ``value`` if it is one of ``choices``; the error lists them all.

    Example:
        >>> check_choice("method", "frozen", ("scratch", "frozen"))
        'frozen'
    """
    options = tuple(choices)
    if value not in options:
        expected = "one of " + ", ".join(repr(option) for option in options)
        raise ValueError(_message(name, value, "is not a valid choice", expected, fix))
    return value


#: Most classes a course function accepts; more is a typing mistake that would allocate a huge
#: count table or layer (ImageNet-21k has 21,843 classes).
MAX_CLASSES = 100_000


def check_num_classes(value: Any, *, minimum: int = 1) -> int:
    """Return ``value`` if it is a whole number of classes from ``minimum`` to ``MAX_CLASSES``.

    Example:
        >>> check_num_classes(5)
        5
    """
    return check_int("num_classes", value, minimum=minimum, maximum=MAX_CLASSES,
                     fix="pass the dataset's number of classes, e.g. splits.num_classes")


def check_bool(name: str, value: Any, *, fix: str = "") -> bool:
    """Return ``value`` if it is ``True`` or ``False`` (NumPy booleans too); ``"yes"`` and ``1`` are not.

    Example:
        >>> check_bool("shuffle", True)
        True
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(_message(name, value, f"is a {type(value).__name__}", "True or False",
                                 fix or f"pass {name}=True or {name}=False"))
    return bool(value)


def check_text(name: str, value: Any, *, fix: str = "") -> str:
    """Return ``value`` if it is a non-empty string.

    Example:
        >>> check_text("name", "tf_flowers")
        'tf_flowers'
    """
    if not isinstance(value, str):
        raise TypeError(_message(name, value, f"is a {type(value).__name__}", "a non-empty string", fix))
    if not value.strip():
        raise ValueError(_message(name, value, "is empty", "a non-empty string", fix))
    return value


def check_rows(name: str, rows: Any, keys: Iterable[str] = (), *, allow_empty: bool = False,
               fix: str = "") -> list[Mapping[str, Any]]:
    """Return ``rows`` as a list of dicts, each holding every key in ``keys``.

    For tables and summaries (e.g. the rows of ``tlcourse.lab.run_sweep``). The error names the
    first row that is not a dict or lacks a key, and the keys it has.

    Example:
        >>> check_rows("rows", [{"method": "frozen"}], ["method", "mean"])
        Traceback (most recent call last):
        ...
        ValueError: rows[0]={'method': 'frozen'} lacks 'mean': expected a dict with keys 'method', 'mean'.
    """
    keys = tuple(keys)
    expected = "a list of dicts" + (" with keys " + ", ".join(map(repr, keys)) if keys else "")
    if isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, Iterable):
        raise TypeError(_message(name, rows, f"is a {type(rows).__name__}", expected,
                                 fix or f"pass a list of dicts, e.g. {name}=[{{...}}, {{...}}]"))
    items = list(rows)
    if not items and not allow_empty:
        raise ValueError(_message(name, rows, "is empty", expected, fix))
    for index, row in enumerate(items):
        if not isinstance(row, Mapping):
            raise TypeError(_message(f"{name}[{index}]", row, f"is a {type(row).__name__}",
                                     "a dict", fix))
        missing = [key for key in keys if key not in row]
        if missing:
            raise ValueError(_message(f"{name}[{index}]", row, f"lacks {missing[0]!r}",
                                      "a dict with keys " + ", ".join(map(repr, keys)), fix))
    return items


def check_labels(name: str, values: Any, num_classes: int, *, fix: str = "") -> Any:
    """Return ``values`` as a 1-D NumPy array of class indices in ``0 … num_classes - 1``.

    Catches labels that a confusion matrix or a per-class count would otherwise drop or
    miscount silently.

    Example:
        >>> check_labels("y_true", [0, 3], 3)
        Traceback (most recent call last):
        ...
        ValueError: y_true=[0, 3] has a label 3 outside 0…2: expected class indices from 0 to 2 (num_classes=3).
    """
    expected = f"class indices from 0 to {num_classes - 1} (num_classes={num_classes})"
    if isinstance(values, (str, bytes)):
        raise TypeError(_message(name, values, "is a str", "a list or array of " + expected, fix))
    try:
        array = np.asarray(values)
    except Exception:  # noqa: BLE001 - ragged lists and the like
        array = np.asarray(values, dtype=object)
    if array.ndim != 1:
        raise ValueError(_message(name, values, f"has shape {array.shape}",
                                  "a flat list (1-D) of " + expected, fix or "flatten it, e.g. np.ravel(labels)"))
    whole_floats = (np.issubdtype(array.dtype, np.floating) and bool(np.all(np.isfinite(array)))
                    and bool(np.all(array == np.round(array))))
    if array.size and not np.issubdtype(array.dtype, np.integer) and not whole_floats:
        raise TypeError(_message(name, values, f"holds {array.dtype} values", expected, fix))
    array = array.astype(np.int64)
    outside = array[(array < 0) | (array >= num_classes)]
    if outside.size:
        raise ValueError(_message(name, values, f"has a label {outside[0]} outside 0…{num_classes - 1}",
                                  expected, fix))
    return array


def check_int_sequence(name: str, values: Any, *, minimum: int | None = None,
                       maximum: int | None = None, fix: str = "") -> tuple[int, ...]:
    """Return ``values`` as a non-empty tuple of whole numbers within the bounds.

    A string is rejected as a whole (``"1, 3"`` is not a list of numbers), and so is a single
    number where a list is expected.

    Example:
        >>> check_int_sequence("labels_per_class", [1, 3, 10], minimum=1)
        (1, 3, 10)
    """
    expected = f"a non-empty list of whole numbers{_bounds_text(minimum, maximum)}"
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(_message(name, values, f"is a {type(values).__name__}", expected,
                                 fix or f"pass a list, e.g. {name}=[1, 3, 10]"))
    items = tuple(values)
    if not items:
        raise ValueError(_message(name, values, "is empty", expected, fix))
    for index, item in enumerate(items):
        check_int(f"{name}[{index}]", item, minimum=minimum, maximum=maximum, fix=fix)
    return tuple(int(item) for item in items)


def check_not_empty(name: str, values: Sequence[Any] | Any, *, fix: str = "") -> None:
    """Raise ``ValueError`` if ``values`` has no items (a list, an array, a dict...).

    Example:
        >>> check_not_empty("rows", [], fix="run the sweep first")
        Traceback (most recent call last):
        ...
        ValueError: rows=[] is empty: expected at least one item. Fix: run the sweep first.
    """
    if len(values) == 0:
        raise ValueError(_message(name, values, "is empty", "at least one item", fix))


def check_model(name: str, value: Any, *, fix: str = "") -> Any:
    """Return ``value`` if it is a Keras model (``keras.Model``), else raise ``TypeError``.

    Example:
        >>> check_model("base_model", "MobileNetV2")
        Traceback (most recent call last):
        ...
        TypeError: base_model='MobileNetV2' is a str: expected a keras.Model (e.g. from keras.applications or tlcourse.models.build_backbone).
    """
    import keras

    if not isinstance(value, keras.Model):
        raise TypeError(_message(name, value, f"is a {type(value).__name__}",
                                 "a keras.Model (e.g. from keras.applications or "
                                 "tlcourse.models.build_backbone)", fix))
    return value


def check_dataset(name: str, value: Any, *, batched: bool, fix: str = "") -> Any:
    """Return ``value`` if it is a ``tf.data.Dataset`` of ``(images, labels)`` pairs.

    With ``batched=True`` the labels must have a batch dimension (rank ≥ 1), i.e. the dataset
    went through ``.batch(...)`` (``tlcourse.data.prepare`` does it); with ``batched=False``
    they must be single labels (rank 0), as ``load_splits`` returns them.

    Example:
        >>> import tensorflow as tf
        >>> ds = tf.data.Dataset.from_tensor_slices(([[0.0]], [1]))
        >>> check_dataset("test_ds", ds, batched=True)
        Traceback (most recent call last):
        ...
        ValueError: test_ds=<_TensorSliceDataset element_spec=(TensorSpec(shape=(1,), dtype=tf.float32, ... is not batched: expected a dataset of (images, labels) batches. Fix: batch it first, e.g. tlcourse.data.prepare(ds, image_size, batch_size) or ds.batch(32).
    """
    import tensorflow as tf

    kind = "batches" if batched else "single examples"
    expected = f"a dataset of (images, labels) {kind}"
    if not isinstance(value, tf.data.Dataset):
        raise TypeError(_message(name, value, f"is a {type(value).__name__}", expected,
                                 fix or "pass a tf.data.Dataset"))
    spec = value.element_spec
    if not isinstance(spec, tuple) or len(spec) != 2:
        raise ValueError(_message(name, value, "does not yield (images, labels) pairs", expected,
                                  fix or "load it with tlcourse.data.load_splits or as_supervised=True"))
    label_rank = spec[1].shape.rank
    if batched and label_rank == 0:
        raise ValueError(_message(name, value, "is not batched", expected,
                                  fix or "batch it first, e.g. tlcourse.data.prepare(ds, image_size, "
                                  "batch_size) or ds.batch(32)"))
    if not batched and label_rank not in (0, None):
        raise ValueError(_message(name, value, "is already batched", expected,
                                  fix or "pass the unbatched split (e.g. splits.train_ds), or ds.unbatch()"))
    return value


def check_settings(value: Any, *, name: str = "settings") -> Any:
    """Return ``value`` if it is a ``tlcourse.settings.Settings``; a profile name gets the fix.

    Example:
        >>> check_settings("smoke")
        Traceback (most recent call last):
        ...
        TypeError: settings='smoke' is a str: expected the Settings that tlcourse.setup() returns. Fix: settings = tlcourse.setup() (or tlcourse.get_settings('smoke')), and pass settings, not the profile's name.
    """
    from tlcourse.settings import Settings

    if not isinstance(value, Settings):
        fix = "settings = tlcourse.setup()"
        if isinstance(value, str):
            fix += f" (or tlcourse.get_settings({value!r})), and pass settings, not the profile's name"
        raise TypeError(_message(name, value, f"is a {type(value).__name__}",
                                 "the Settings that tlcourse.setup() returns", fix))
    return value


def suggest(value: Any, choices: Iterable[str], *, count: int = 3) -> str:
    """A short "Did you mean …?" sentence for a mistyped name (empty when nothing is close).

    Example:
        >>> suggest("tf_flower", ["tf_flowers", "beans", "cifar10"])
        "Did you mean 'tf_flowers'?"
    """
    by_lower = {str(choice).lower(): str(choice) for choice in choices}  # "TF_Flowers" is close to "tf_flowers"
    close = difflib.get_close_matches(str(value).lower(), list(by_lower), n=count, cutoff=0.6)
    return f"Did you mean {' or '.join(repr(by_lower[name]) for name in close)}?" if close else ""


def check_options(name: str, value: Any, allowed: Iterable[str], *, fix: str = "") -> dict[str, Any]:
    """Return ``value`` as a dict if it is a dict whose keys are all in ``allowed``.

    An unknown key is never ignored (a typo would silently leave the default in place): it
    raises, with a "did you mean" for near misses.

    Example:
        >>> check_options("tiny", {"num_layer": 1}, ["num_layers", "hidden_dim"])
        Traceback (most recent call last):
        ...
        ValueError: tiny={'num_layer': 1} has unknown key(s) 'num_layer': expected keys among 'hidden_dim', 'num_layers'. Did you mean 'num_layers'?
    """
    if not isinstance(value, Mapping):
        raise TypeError(_message(name, value, f"is a {type(value).__name__}", "a dict of options", fix))
    known = sorted(allowed)
    unknown = [key for key in value if key not in known]
    if unknown:
        hints = " ".join(hint for hint in (suggest(key, known) for key in unknown) if hint)
        text = _message(name, value, f"has unknown key(s) {', '.join(repr(key) for key in unknown)}",
                        "keys among " + ", ".join(repr(key) for key in known), fix)
        raise ValueError(f"{text} {hints}".rstrip())
    return dict(value)


def check_pixels(name: str, images: Any, *, fix: str = "") -> None:
    """Refuse an array of images that is not in 0–255: 0–1 floats, preprocessed values, NaN.

    Only concrete arrays are looked at (NumPy, eager tensors); symbolic tensors inside a
    ``tf.data`` map pass unchecked. An all-zero batch passes (black images are valid).

    Example:
        >>> check_pixels("images", np.full((1, 2, 2, 3), 0.5, "float32"))
        Traceback (most recent call last):
        ...
        ValueError: images holds floats from 0.5 to 0.5: expected pixels in 0–255. Fix: multiply 0–1 images by 255 (images * 255).
    """
    try:
        array = np.asarray(images)
    except Exception:  # noqa: BLE001 - symbolic tensors: nothing to look at yet
        return
    if array.size == 0 or not np.issubdtype(array.dtype, np.floating):
        return
    low, high = float(np.min(array)), float(np.max(array))
    if not (math.isfinite(low) and math.isfinite(high)):
        problem = "holds NaN or infinite values"
    elif low < 0:
        problem = f"holds negative values (from {low:.3g} to {high:.3g}: already preprocessed?)"
    elif high > 255:
        problem = f"holds values up to {high:.4g}"
    elif 0 < high <= 1:
        problem = f"holds floats from {low:.3g} to {high:.3g}"
        fix = fix or "multiply 0–1 images by 255 (images * 255)"
    else:
        return
    raise ValueError(f"{name} {problem}: expected pixels in 0–255."
                     + f" Fix: {fix or 'pass the images before preprocess_input, as loaded (0–255)'}.")


def _bounds_text(minimum: int | float | None, maximum: int | float | None) -> str:
    if minimum is not None and maximum is not None:
        return f" from {minimum} to {maximum}"
    if minimum is not None:
        return f" >= {minimum}"
    if maximum is not None:
        return f" <= {maximum}"
    return ""
