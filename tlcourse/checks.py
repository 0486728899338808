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

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any


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


def _bounds_text(minimum: int | float | None, maximum: int | float | None) -> str:
    if minimum is not None and maximum is not None:
        return f" from {minimum} to {maximum}"
    if minimum is not None:
        return f" >= {minimum}"
    if maximum is not None:
        return f" <= {maximum}"
    return ""
