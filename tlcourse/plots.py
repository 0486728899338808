"""Plots the notebooks share: image grids, learning curves, accuracy vs labels, confusion matrix.

Every function returns its matplotlib ``Figure``; in a notebook, assign it
(``figure = plot_history(...)``) and Jupyter shows it once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from sklearn.metrics import ConfusionMatrixDisplay


def show_images(images: np.ndarray, labels: Sequence[int], label_names: Sequence[str] | None = None,
                max_images: int = 12, columns: int = 6, predictions: Sequence[int] | None = None,
                ) -> Figure:
    """Show a grid of images titled with their labels (and predictions, red when wrong).

    Args:
        images: ``[N, H, W, 3]`` in 0–255 (uint8 or float) or 0–1 floats.
        labels: class indices.
        label_names: names for the indices; default the indices themselves.
        max_images: show at most this many.
        columns: images per row.
        predictions: predicted class indices, shown after the label.

    Example:
        >>> images, labels = next(iter(train_ds))  # doctest: +SKIP
        >>> figure = show_images(images, labels, label_names)  # doctest: +SKIP
    """
    images = np.asarray(images)
    if images.ndim != 4 or len(images) == 0:  # before slicing, so the message shows what was passed
        raise ValueError(f"images must have shape [N, H, W, C] with N >= 1, got {images.shape}.")
    images = images[:max_images]
    labels = np.asarray(labels)[: len(images)]
    if images.dtype != np.uint8:
        images = images * 255 if images.max() <= 1.0 else images
        images = np.clip(images, 0, 255).astype(np.uint8)
    name = (lambda index: str(label_names[index])) if label_names is not None else str
    rows = int(np.ceil(len(images) / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(2 * columns, 2.2 * rows), squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index >= len(images):
            continue
        axis.imshow(images[index].squeeze(), cmap="gray" if images.shape[-1] == 1 else None)
        title, color = name(int(labels[index])), "black"
        if predictions is not None:
            predicted = int(predictions[index])
            title += f"\n→ {name(predicted)}"
            color = "black" if predicted == int(labels[index]) else "red"
        axis.set_title(title, fontsize=9, color=color)
    figure.tight_layout()
    return figure


def plot_history(history: Mapping[str, Sequence[float]], phase_starts: Sequence[int] = (),
                 metrics: Sequence[str] = ("accuracy", "loss"), title: str = "") -> Figure:
    """Plot training and validation curves, with a dashed line where each later phase starts.

    Args:
        history: ``fit(...).history`` or the merged dict from ``training.merge_histories``.
        phase_starts: epochs where a new phase starts (e.g. fine-tuning), from ``merge_histories``.
        metrics: which metrics to plot, one panel each (``val_<metric>`` is added when present).
        title: figure title.
    """
    history = getattr(history, "history", history)
    missing = [metric for metric in metrics if metric not in history]
    if missing:
        raise ValueError(f"history has no {missing}; it has {sorted(history)}. Pass metrics= from those.")
    figure, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.5), squeeze=False)
    for axis, metric in zip(axes.flat, metrics):
        epochs = np.arange(1, len(history[metric]) + 1)
        axis.plot(epochs, history[metric], "o-", label=f"train {metric}")
        if f"val_{metric}" in history:
            axis.plot(epochs, history[f"val_{metric}"], "s--", label=f"val {metric}")
        for number, start in enumerate(phase_starts):
            axis.axvline(start + 0.5, color="gray", linestyle=":",
                         label="fine-tuning starts" if number == 0 else None)
        axis.set_xlabel("epoch")
        axis.set_title(metric)
        axis.legend(fontsize=8)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def plot_accuracy_vs_labels(summary: Sequence[Mapping], x: str = "labels_per_class",
                            chance: float | None = None, title: str = "") -> Figure:
    """Plot mean accuracy (± one standard deviation over seeds) against labels per class.

    Args:
        summary: rows from ``tlcourse.results.summarize_runs`` (``method``, ``x``, ``mean``, ``std``).
        x: the key holding the number of labelled examples per class.
        chance: draw chance accuracy (``1 / num_classes``) as a dotted line.
        title: figure title.
    """
    if not summary:
        raise ValueError("summary is empty: pass tlcourse.results.summarize_runs(rows) of at least one run.")
    figure, axis = plt.subplots(figsize=(6, 4))
    for method in dict.fromkeys(row["method"] for row in summary):
        points = [row for row in summary if row["method"] == method]
        axis.errorbar([row[x] for row in points], [row["mean"] for row in points],
                      yerr=[row["std"] for row in points], marker="o", capsize=4, label=method)
    if chance is not None:
        axis.axhline(chance, color="gray", linestyle=":", label="chance")
    axis.set_xscale("log")
    axis.set_xticks(sorted({row[x] for row in summary}))
    axis.get_xaxis().set_major_formatter(plt.ScalarFormatter())
    axis.set_xlabel("labelled examples per class (log scale)")
    axis.set_ylabel("test accuracy")
    axis.set_ylim(0, 1)
    axis.legend()
    axis.set_title(title or "Test accuracy vs labels per class (mean ± std over seeds)")
    figure.tight_layout()
    return figure


def plot_confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], label_names: Sequence[str],
                          normalize: str | None = "true") -> Figure:
    """Plot scikit-learn's confusion matrix (rows: true class; normalised per row by default)."""
    figure, axis = plt.subplots(figsize=(1.2 * len(label_names) + 2, 1.2 * len(label_names) + 1))
    ConfusionMatrixDisplay.from_predictions(
        y_true, y_pred, labels=list(range(len(label_names))), display_labels=list(label_names),
        normalize=normalize, ax=axis, colorbar=False, xticks_rotation=45,
        values_format=".2f" if normalize else "d")
    figure.tight_layout()
    return figure


def plot_train_val_gap(histories: Mapping[str, Mapping[str, Sequence[float]]], metric: str = "accuracy",
                       title: str = "") -> Figure:
    """Plot the train–validation gap (``metric`` minus ``val_<metric>``) per epoch, one line per model.

    A gap that grows while training goes on is the picture of overfitting: the model gets better
    on the images it trains on, not on new ones. Introduced in notebook 06.

    Args:
        histories: ``{model name: fit(...).history}`` (or the ``History`` objects themselves);
            each must hold ``metric`` and ``val_<metric>``, i.e. ``fit`` ran with validation data.
        metric: the metric to compare, e.g. ``"accuracy"`` (for ``"loss"`` the gap is negative
            when overfitting: validation loss above training loss).
        title: figure title.

    Example:
        >>> figure = plot_train_val_gap({"cnn": {"accuracy": [0.5, 0.9], "val_accuracy": [0.5, 0.6]}})
        >>> figure.axes[0].get_lines()[0].get_ydata().round(2).tolist()
        [0.0, 0.3]
    """
    if not isinstance(histories, Mapping) or not histories:
        raise ValueError(f"histories={histories!r} must be a non-empty dict {{model name: fit(...).history}}, "
                         "e.g. {'scratch': scratch_history, 'transfer': transfer_history}.")
    figure, axis = plt.subplots(figsize=(6, 3.5))
    for name, history in histories.items():
        history = getattr(history, "history", history)
        missing = [key for key in (metric, f"val_{metric}") if key not in history]
        if missing:
            raise ValueError(f"the history of {name!r} has no {missing}; it has {sorted(history)}. Run fit "
                             "with validation_data=..., or pass metric= one of those.")
        gap = np.subtract(history[metric], history[f"val_{metric}"])
        axis.plot(np.arange(1, len(gap) + 1), gap, "o-", label=str(name))
    axis.axhline(0, color="gray", linestyle=":")
    axis.set_xlabel("epoch")
    axis.set_ylabel(f"train {metric} − val {metric}")
    axis.set_title(title or f"Train–validation gap ({metric})")
    axis.legend()
    figure.tight_layout()
    return figure


def plot_accuracy_vs_severity(accuracies: Mapping[str, Mapping[str, Sequence[float]]], severities: Sequence[int],
                              *, chance: float | None = None, title: str = "") -> Figure:
    """Plot accuracy against shift severity: one panel per shift, one line per model.

    Introduced in notebook 06 (``tlcourse.shifts``).

    Args:
        accuracies: ``{model name: {shift name: [accuracy at each severity]}}``.
        severities: the severities the accuracies were measured at, e.g. ``(0, 1, 3, 5)``
            (0 = the clean test set).
        chance: draw chance accuracy (``1 / num_classes``) as a dotted line.
        title: figure title.

    Example:
        >>> figure = plot_accuracy_vs_severity({"cnn": {"blur": [0.8, 0.5]}}, severities=(0, 3))
        >>> [axis.get_title() for axis in figure.axes]
        ['blur']
    """
    from tlcourse import checks  # here, not at the top: keeps this addition at the end of the file

    if not isinstance(accuracies, Mapping) or not accuracies:
        raise ValueError(f"accuracies={accuracies!r} must be a non-empty dict "
                         "{model name: {shift name: [accuracy per severity]}}.")
    severities = checks.check_int_sequence("severities", severities, minimum=0, fix="e.g. severities=(0, 1, 3, 5)")
    if chance is not None:
        checks.check_number("chance", chance, minimum=0, maximum=1, fix="pass 1 / num_classes")
    shifts = list(dict.fromkeys(shift for per_shift in accuracies.values() for shift in per_shift))
    for name, per_shift in accuracies.items():
        for shift, values in per_shift.items():
            if len(values) != len(severities):
                raise ValueError(f"{name!r} has {len(values)} accuracies for {shift!r} but severities="
                                 f"{tuple(severities)} has {len(severities)}: give one accuracy per severity.")
    figure, axes = plt.subplots(1, len(shifts), figsize=(3.2 * len(shifts), 3.2), squeeze=False, sharey=True)
    for axis, shift in zip(axes.flat, shifts):
        for name, per_shift in accuracies.items():
            if shift in per_shift:
                axis.plot(list(severities), per_shift[shift], "o-", label=str(name))
        if chance is not None:
            axis.axhline(chance, color="gray", linestyle=":", label="chance")
        axis.set_title(shift)
        axis.set_xlabel("severity (0 = clean)")
        axis.set_xticks(list(severities))
        axis.set_ylim(0, 1)
    axes.flat[0].set_ylabel("test accuracy")
    axes.flat[0].legend(fontsize=8)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure
