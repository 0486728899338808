"""Timing callbacks, merging training phases, and evaluation."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf


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
        raise ValueError("merge_histories needs at least one history.")
    dicts = [getattr(history, "history", history) for history in histories]
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
    """
    y_true, y_pred = [], []
    for images, labels in ds:
        y_true.append(np.asarray(labels))
        y_pred.append(np.argmax(model.predict_on_batch(images), axis=-1))
    return np.concatenate(y_true), np.concatenate(y_pred)


def evaluate(model: keras.Model, test_ds: tf.data.Dataset) -> dict[str, float]:
    """Evaluate ``model`` on ``test_ds`` and return its compiled metrics as a dict of floats.

    Example:
        >>> evaluate(model, test_ds)  # doctest: +SKIP
        {'accuracy': 0.87, 'loss': 0.41}
    """
    return {key: float(value) for key, value in model.evaluate(test_ds, verbose=0, return_dict=True).items()}


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
