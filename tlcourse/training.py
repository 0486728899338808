"""Timing callbacks, merging training phases, and evaluation."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf

from tlcourse.checks import check_dataset, check_int, check_model, check_number


class EpochTimer(keras.callbacks.Callback):
    """Record the wall time of every epoch of one ``fit`` call.

    Example:
        >>> timer = EpochTimer()
        >>> model.fit(train_ds, epochs=3, callbacks=[timer])  # doctest: +SKIP
        >>> timer.epoch_seconds, timer.total_seconds  # doctest: +SKIP
        ([4.1, 3.2, 3.2], 10.5)
    """

    def __init__(self) -> None:
        super().__init__()
        self.epoch_seconds: list[float] = []
        self._started = 0.0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.epoch_seconds = []

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch_seconds.append(time.perf_counter() - self._started)

    @property
    def total_seconds(self) -> float:
        """Seconds spent in all epochs of the last ``fit``."""
        return float(sum(self.epoch_seconds))


def merge_histories(*histories: keras.callbacks.History | Mapping[str, Sequence[float]],
                    ) -> tuple[dict[str, list[float]], list[int]]:
    """Join the histories of consecutive training phases (head training, then fine-tuning).

    Args:
        *histories: what each ``fit`` returned (or its ``.history`` dict), in order.

    Returns:
        ``(merged, phase_starts)``: each metric's values over all epochs, and the epoch index at
        which each phase after the first starts (for a marker in ``plots.plot_history``).

    Example:
        >>> merge_histories({"loss": [3, 2]}, {"loss": [1]})
        ({'loss': [3.0, 2.0, 1.0]}, [2])
    """
    if not histories:
        raise ValueError("merge_histories() got no history: expected what each fit returned. "
                         "Fix: merge_histories(history_head, history_finetune).")
    dicts = [getattr(history, "history", history) for history in histories]
    for index, history in enumerate(dicts, start=1):
        if not isinstance(history, Mapping):
            raise TypeError(f"History {index} is a {type(history).__name__} ({history!r:.60}): expected what "
                            "model.fit returned (a History) or its .history dict. Fix: pass history = "
                            "model.fit(...) itself.")
        if not history:
            raise ValueError(f"History {index} is empty (no metric recorded): expected what model.fit "
                             "returned. Fix: pass the History of a fit that ran at least one epoch.")
        lengths = set()
        for key, values in history.items():
            if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
                raise TypeError(f"History {index}: {key!r} is a {type(values).__name__}, expected a list "
                                "of per-epoch numbers. Fix: pass what model.fit returned.")
            lengths.add(len(values))
        if lengths != {len(next(iter(history.values())))} or 0 in lengths:
            raise ValueError(f"History {index} has metrics of different lengths or none recorded "
                             f"({ {key: len(values) for key, values in history.items()} }): expected one "
                             "value per epoch for every metric. Fix: pass what model.fit returned, unedited.")
    keys = set(dicts[0])
    for index, history in enumerate(dicts[1:], start=2):
        if set(history) != keys:
            raise ValueError(
                f"Phase {index} recorded metrics {sorted(history)}, phase 1 recorded "
                f"{sorted(keys)}. Compile every phase with the same metrics and validation data."
            )
    merged = {key: [float(v) for history in dicts for v in history[key]] for key in dicts[0]}
    starts, epochs = [], 0
    for history in dicts[:-1]:
        epochs += len(next(iter(history.values()), []))
        starts.append(epochs)
    return merged, starts


def predict_labels(model: keras.Model, ds: tf.data.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(y_true, y_pred)`` class indices for a batched ``(images, labels)`` dataset.

    The predicted class is the argmax of the model's outputs (logits or probabilities alike).

    Raises:
        ValueError: ``ds`` yields no batch (nothing to predict).
    """
    check_model("model", model)
    check_dataset("ds", ds, batched=True)
    y_true, y_pred = [], []
    for images, labels in ds:
        y_true.append(np.asarray(labels))
        y_pred.append(np.argmax(model.predict_on_batch(images), axis=-1))
    if not y_true:
        raise ValueError("ds yielded no batch: expected a dataset with at least one example. Fix: check "
                         "the split (e.g. count_examples(test_ds)) before predicting.")
    return np.concatenate(y_true), np.concatenate(y_pred)


def evaluate(model: keras.Model, test_ds: tf.data.Dataset) -> dict[str, float]:
    """Evaluate ``model`` on ``test_ds`` and return its compiled metrics as a dict of floats.

    Example:
        >>> evaluate(model, test_ds)  # doctest: +SKIP
        {'accuracy': 0.87, 'loss': 0.41}

    Raises:
        ValueError: ``test_ds`` is unbatched or yields no example (Keras would return NaN or 0).
    """
    check_model("model", model)
    check_dataset("test_ds", test_ds, batched=True)
    if int(test_ds.take(1).reduce(0, lambda count, _: count + 1)) == 0:
        raise ValueError("test_ds yielded no batch: expected at least one example. Fix: check the split "
                         "(e.g. count_examples(test_ds)) before evaluating.")
    return {key: float(value) for key, value in model.evaluate(test_ds, verbose=0, return_dict=True).items()}


def fine_tune(model: keras.Model, base_model: keras.Model, train_ds: tf.data.Dataset, *,
              num_layers: int, head_learning_rate: float, epochs: int = 1,
              steps_per_epoch: int | None = None, learning_rate_factor: float = 0.1,
              verbose: int = 0) -> keras.callbacks.History:
    """Fine-tune the top ``num_layers`` layers of ``base_model`` inside ``model``, BatchNorm kept frozen.

    Taught step by step in notebook 08; earlier notebooks call this helper for a preview. The
    head of ``model`` must be trained already (on the frozen base): fine-tuning then continues
    from it. The three steps:

    1. ``tlcourse.models.unfreeze_top(base_model, num_layers)``: the top layers become trainable,
       every BatchNormalization layer stays frozen (``trainable = False``, so in Keras 3 it runs in
       inference mode and keeps its ImageNet statistics, whatever ``training`` flag reaches it);
    2. ``model.compile`` again — ``trainable`` takes effect at compile time — with Adam at
       ``head_learning_rate * learning_rate_factor`` (10× lower by default: large steps would
       wreck the pretrained weights), sparse categorical cross-entropy on logits, accuracy;
    3. ``model.fit(train_ds, ...)``.

    Args:
        model: the classifier: ``base_model`` plus a trained head, ending in logits.
        base_model: the pretrained base, a layer of ``model``.
        train_ds: batched ``(images, labels)``, e.g. ``tlcourse.little_data.training_batches``.
        num_layers: how many layers of the base, counted from its output, to unfreeze.
        head_learning_rate: the learning rate the head was trained with.
        epochs: passed to ``fit``.
        steps_per_epoch: passed to ``fit`` (needed for a dataset that repeats forever).
        learning_rate_factor: fine-tuning learning rate ÷ head learning rate, in (0, 1].
        verbose: passed to ``fit``.

    Returns:
        What ``fit`` returned (its ``History``).

    Example:
        >>> history = fine_tune(model, base_model, train_ds, num_layers=20,  # doctest: +SKIP
        ...                     head_learning_rate=1e-3, epochs=3)
    """
    from tlcourse.models import unfreeze_top

    check_model("model", model)
    check_model("base_model", base_model)
    if not any(layer is base_model for layer in model.layers):
        raise ValueError(f"base_model ({base_model.name!r}) is not a layer of model ({model.name!r}): pass "
                         "the base the classifier was built on, e.g. x = base_model(x, training=False).")
    check_dataset("train_ds", train_ds, batched=True)
    check_int("num_layers", num_layers, minimum=1, maximum=len(base_model.layers),
                     fix=f"unfreeze between 1 and {len(base_model.layers)} layers, e.g. num_layers=20")
    head_learning_rate = check_number("head_learning_rate", head_learning_rate, above=0,
                                             fix="pass the learning rate the head was trained with, e.g. 1e-3")
    check_int("epochs", epochs, minimum=1, fix="use e.g. epochs=3")
    if steps_per_epoch is not None:
        check_int("steps_per_epoch", steps_per_epoch, minimum=1, fix="use e.g. steps_per_epoch=20, or None")
    learning_rate_factor = check_number("learning_rate_factor", learning_rate_factor, above=0, maximum=1,
                                               fix="fine-tune with a smaller rate than the head, e.g. 0.1")
    unfreeze_top(base_model, num_layers)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=head_learning_rate * learning_rate_factor),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model.fit(train_ds, epochs=epochs, steps_per_epoch=steps_per_epoch, verbose=verbose, shuffle=False)


class StepTimer(keras.callbacks.Callback):
    """Record the wall time of every training step of one ``fit`` call; report the median.

    The first step of a ``fit`` after ``compile`` also builds the training function (seconds
    for a big base on a CPU), and an epoch's time includes validation. The median step time
    leaves both out, so ``median_step_seconds * steps_per_epoch`` compares the training cost of
    configurations fairly even from a single short epoch. Introduced in notebook 08's ablation.

    Example:
        >>> step_timer = StepTimer()
        >>> model.fit(train_ds, epochs=1, callbacks=[step_timer])  # doctest: +SKIP
        >>> step_timer.median_step_seconds * steps_per_epoch  # seconds per epoch  # doctest: +SKIP
        12.3
    """

    def __init__(self) -> None:
        super().__init__()
        self.step_seconds: list[float] = []
        self._started = 0.0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.step_seconds = []

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._started = time.perf_counter()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.step_seconds.append(time.perf_counter() - self._started)

    @property
    def median_step_seconds(self) -> float:
        """The median seconds per training step of the last ``fit``.

        Raises:
            ValueError: no step was recorded (``fit`` has not run with this callback).
        """
        if not self.step_seconds:
            raise ValueError("StepTimer recorded no training step: pass it to fit(callbacks=[step_timer]) "
                             "and run fit first.")
        return float(np.median(self.step_seconds))
