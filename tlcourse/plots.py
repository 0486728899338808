"""Plots the notebooks share: image grids, learning curves, accuracy vs labels, confusion matrix.

Every function returns its matplotlib ``Figure``; in a notebook, assign it
(``figure = plot_history(...)``) and Jupyter shows it once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from sklearn.metrics import ConfusionMatrixDisplay

from tlcourse.checks import check_choice, check_int, check_labels, check_number, check_rows, check_text


def _check_names(label_names: object) -> list[str]:
    if isinstance(label_names, (str, bytes)) or not isinstance(label_names, Sequence):
        raise TypeError(f"label_names={label_names!r} is a {type(label_names).__name__}: expected a list "
                        "of class names. Fix: pass splits.label_names (or a list such as ['cat', 'dog']).")
    if len(label_names) == 0:
        raise ValueError("label_names=[] is empty: expected one name per class. Fix: pass splits.label_names.")
    return [str(name) for name in label_names]


def show_images(images: np.ndarray, labels: Sequence[int], label_names: Sequence[str] | None = None,
                *, max_images: int = 12, columns: int = 6, predictions: Sequence[int] | None = None,
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
    max_images = check_int("max_images", max_images, minimum=1, fix="e.g. max_images=12")
    columns = check_int("columns", columns, minimum=1, fix="e.g. columns=6")
    if isinstance(images, (str, bytes)):
        raise TypeError(f"images={images!r:.40} is a str: expected an array [N, H, W, C]. Fix: pass a "
                        "batch of images, e.g. images, labels = next(iter(train_ds)).")
    images = np.asarray(images)
    if images.ndim != 4 or len(images) == 0:  # before slicing, so the message shows what was passed
        raise ValueError(f"images must have shape [N, H, W, C] with N >= 1, got {images.shape}.")
    if not (np.issubdtype(images.dtype, np.number) or images.dtype == np.bool_):
        raise TypeError(f"images hold {images.dtype} values: expected numbers in 0–255 or 0–1.")
    images = images[:max_images]
    names = None if label_names is None else _check_names(label_names)
    num_classes = len(names) if names else np.iinfo(np.int64).max
    labels = check_labels("labels", labels, num_classes, fix="pass one class index per image")
    if len(labels) < len(images):
        raise ValueError(f"labels has {len(labels)} entries for {len(images)} images shown: expected one "
                         "label per image. Fix: pass the labels of the same batch.")
    labels = labels[: len(images)]
    if predictions is not None:
        predictions = check_labels("predictions", predictions, num_classes, fix="pass one class per image")
        if len(predictions) < len(images):
            raise ValueError(f"predictions has {len(predictions)} entries for {len(images)} images shown: "
                             "expected one per image. Fix: predict the same batch.")
    if images.dtype != np.uint8:
        images = images * 255 if images.max() <= 1.0 else images
        images = np.clip(images, 0, 255).astype(np.uint8)
    name = (lambda index: names[index]) if names is not None else str
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
                 metrics: Sequence[str] = ("accuracy", "loss"), title: str = "",
                 accuracy_range: tuple[float, float] | None = None) -> Figure:
    """Plot training and validation curves, with a dashed line where each later phase starts.

    Args:
        history: ``fit(...).history`` or the merged dict from ``training.merge_histories``.
        phase_starts: epochs where a new phase starts (e.g. fine-tuning), from ``merge_histories``.
        metrics: which metrics to plot, one panel each (``val_<metric>`` is added when present).
        title: figure title.
        accuracy_range: the y range of every panel whose metric name holds "accuracy", e.g.
            ``(0, 1)`` so that two notebooks' curves compare at a glance (default: fit the data).

    Raises:
        ValueError: no metric, a metric with no epochs, validation curves of another length, a
            phase start outside the epochs, or an ``accuracy_range`` that is not (low, high) in 0–1.

    Example:
        >>> figure = plot_history({"accuracy": [0.4, 0.6], "loss": [1.2, 0.9]}, accuracy_range=(0, 1))
        >>> [float(limit) for limit in figure.axes[0].get_ylim()], figure.axes[0].get_ylabel()
        ([0.0, 1.0], 'accuracy')
    """
    history = getattr(history, "history", history)
    if not isinstance(history, Mapping):
        raise TypeError(f"history={history!r:.60} is a {type(history).__name__}: expected what model.fit "
                        "returned or its .history dict. Fix: history = model.fit(...), then plot_history(history).")
    if isinstance(metrics, (str, bytes)) or not isinstance(metrics, Sequence):
        raise TypeError(f"metrics={metrics!r} is a {type(metrics).__name__}: expected a list of metric names. "
                        f"Fix: e.g. metrics=[{metrics!r}].")
    if not metrics:
        raise ValueError(f"metrics={metrics!r} is empty: expected at least one metric. Fix: e.g. "
                         "metrics=['accuracy', 'loss'].")
    for index, metric in enumerate(metrics):
        check_text(f"metrics[{index}]", metric)
    missing = [metric for metric in metrics if metric not in history]
    if missing:
        raise ValueError(f"history has no {missing}; it has {sorted(history)}. Pass metrics= from those.")
    epochs_run = len(history[metrics[0]])
    for metric in [*metrics, *(f"val_{m}" for m in metrics if f"val_{m}" in history)]:
        values = history[metric]
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
            raise ValueError(f"history[{metric!r}]={values!r:.60} is not a non-empty list: expected one "
                             "value per epoch. Fix: pass the History of a fit that ran at least one epoch.")
        if len(values) != epochs_run:
            raise ValueError(f"history[{metric!r}] has {len(values)} values, history[{metrics[0]!r}] "
                             f"{epochs_run}: expected one per epoch for every metric. Fix: pass what "
                             "model.fit (or merge_histories) returned, unedited.")
    if isinstance(phase_starts, (str, bytes)) or not isinstance(phase_starts, Sequence):
        raise TypeError(f"phase_starts={phase_starts!r} is a {type(phase_starts).__name__}: expected a list of "
                        "epochs. Fix: use the second result of merge_histories, e.g. [5].")
    for index, start in enumerate(phase_starts):
        check_int(f"phase_starts[{index}]", start, minimum=1, maximum=epochs_run - 1,
                  fix="use the second result of merge_histories")
    if accuracy_range is not None:
        if isinstance(accuracy_range, (str, bytes)) or not isinstance(accuracy_range, Sequence) or len(
                accuracy_range) != 2:
            raise TypeError(f"accuracy_range={accuracy_range!r}: expected two numbers (low, high). Fix: e.g. "
                            "accuracy_range=(0, 1).")
        low = check_number("accuracy_range[0]", accuracy_range[0], minimum=0, maximum=1, fix="e.g. (0, 1)")
        high = check_number("accuracy_range[1]", accuracy_range[1], minimum=0, maximum=1, fix="e.g. (0, 1)")
        if low >= high:
            raise ValueError(f"accuracy_range={accuracy_range!r}: expected low < high. Fix: e.g. accuracy_range=(0, 1).")
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
        axis.set_ylabel(metric)
        if len(epochs) <= 12:  # whole-number epoch ticks
            axis.set_xticks(epochs)
        else:
            axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        if accuracy_range is not None and "accuracy" in metric:
            axis.set_ylim(low, high)
        axis.set_title(metric)
        axis.legend(fontsize=8)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def plot_accuracy_vs_labels(summary: Sequence[Mapping], x: str = "labels_per_class",
                            chance: float | None = None, title: str = "", ylabel: str = "test accuracy") -> Figure:
    """Plot mean accuracy over seeds, with its 95 % interval as the error bar, against labels per class.

    The bar is the course's one error bar, ``stats.interval_of_mean`` (the t interval of the mean
    over seeds, as ``stats.mean_interval`` prints it); a point from one seed has no bar.

    Args:
        summary: rows from ``tlcourse.results.summarize_runs`` (``method``, ``x``, ``mean``, ``low``, ``high``).
        x: the key holding the number of labelled examples per class.
        chance: draw chance accuracy (``1 / num_classes``) as a dotted line.
        title: figure title.
        ylabel: what the means are, e.g. ``"validation accuracy"`` for a sweep that makes choices.
    """
    ylabel = check_text("ylabel", ylabel)
    summary = check_rows("summary", summary, ["method", x, "mean", "low", "high"],
                         fix="pass tlcourse.results.summarize_runs(rows) of at least one run")
    if chance is not None:
        chance = check_number("chance", chance, minimum=0, maximum=1, fix="use 1 / num_classes")
    for index, row in enumerate(summary):  # a log axis of counts has no place for None ("every example") or "all"
        check_number(f"summary[{index}][{x!r}]", row[x], above=0,
                     fix="the x axis is a count on a log scale: replace None ('every example') with the number "
                         "of examples per class it stands for, or leave those rows out")
    figure, axis = plt.subplots(figsize=(6, 4))
    for method in dict.fromkeys(row["method"] for row in summary):
        points = [row for row in summary if row["method"] == method]
        axis.errorbar([row[x] for row in points], [row["mean"] for row in points],
                      yerr=[[row["mean"] - row["low"] for row in points], [row["high"] - row["mean"] for row in points]],
                      marker="o", capsize=4, label=method)
    if chance is not None:
        axis.axhline(chance, color="gray", linestyle=":", label="chance")
    axis.set_xscale("log")
    axis.set_xticks(sorted({row[x] for row in summary}))
    axis.get_xaxis().set_major_formatter(plt.ScalarFormatter())
    axis.get_xaxis().set_minor_locator(plt.NullLocator())  # ticks only at the measured label counts
    axis.set_xlabel("labelled examples per class (log scale)")
    axis.set_ylabel(ylabel)
    axis.set_ylim(0, 1)
    axis.legend()
    axis.set_title(title or f"{ylabel.capitalize()} vs labels per class (mean and 95 % interval over seeds)")
    figure.tight_layout()
    return figure


def plot_paired_differences(differences: Mapping[Any, Sequence[float]], verdicts: Mapping[Any, Any], *,
                            xlabel: str = "", title: str = "") -> Figure:
    """Draw the course's verdict rule: each seed's difference as a dot, the 95 % interval as a bar.

    One row per comparison (e.g. per label budget). The dots are the paired differences
    ``first − second`` of each seed, in points; the bar is the verdict's 95 % confidence interval
    (``tlcourse.stats.compare_seeds``). A bar that does not cross the dashed line at 0 names a
    winner; one that crosses it is "no clear difference". With one seed there is no bar. Introduced
    in notebook 05.

    Args:
        differences: ``{row label: [difference in points per seed]}``.
        verdicts: ``{row label: Verdict}`` for the same labels.
        xlabel: what the differences are, e.g. ``"frozen − scratch (points)"``.
        title: figure title.

    Example:
        >>> from tlcourse.stats import compare_seeds
        >>> verdict = compare_seeds([0.7, 0.74, 0.72], [0.6, 0.61, 0.66])
        >>> figure = plot_paired_differences({5: [10, 13, 6]}, {5: verdict})
        >>> len(figure.axes[0].collections) >= 1
        True
    """
    if not isinstance(differences, Mapping) or not differences:
        raise TypeError(f"differences={differences!r:.60}: expected a non-empty dict {{row label: [difference per "
                        "seed]}}. Fix: build it from the paired scores, e.g. {5: [10.2, 6.1, 8.0]}.")
    if not isinstance(verdicts, Mapping) or set(verdicts) != set(differences):
        raise ValueError(f"verdicts has labels {sorted(map(str, verdicts)) if isinstance(verdicts, Mapping) else verdicts!r}"
                         f" and differences {sorted(map(str, differences))}: expected a Verdict for every row. "
                         "Fix: pass the verdicts of the same comparisons.")
    labels = list(differences)
    figure, axis = plt.subplots(figsize=(6, 0.6 + 0.55 * len(labels)))
    for row, label in enumerate(labels):
        points = np.asarray(differences[label], dtype=float)
        verdict = verdicts[label]
        axis.scatter(points, np.full(len(points), row), color="tab:blue", zorder=3,
                     label="one seed's difference" if row == 0 else None)
        if np.isfinite(verdict.low):
            color = "tab:green" if verdict.decided else "tab:gray"
            axis.plot([verdict.low, verdict.high], [row, row], color=color, linewidth=6, alpha=0.5,
                      solid_capstyle="butt", label="95 % interval" if row == 0 else None)
        axis.plot(verdict.difference, row, marker="|", color="black", markersize=14)
    axis.axvline(0, color="black", linestyle="--", linewidth=1)
    axis.set_yticks(range(len(labels)))
    axis.set_yticklabels([str(label) for label in labels])
    axis.set_ylim(-0.7, len(labels) - 0.3)
    axis.set_xlabel(xlabel or "difference (points)")
    axis.set_title(title or "Paired differences per seed and their 95 % interval")
    axis.legend(loc="best", fontsize=8)
    figure.tight_layout()
    return figure


def plot_confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], label_names: Sequence[str],
                          normalize: str | None = "true") -> Figure:
    """Plot scikit-learn's confusion matrix (rows: true class; normalised per row by default).

    Every label in ``y_true`` and ``y_pred`` must be an index into ``label_names``: scikit-learn
    would silently drop the others (rows would no longer add up to the examples).

    Args:
        y_true, y_pred: class indices, one per example, the same number of each (at least one).
        label_names: one name per class.
        normalize: ``"true"`` (rows sum to 1), ``"pred"``, ``"all"`` or ``None`` (counts).

    Example:
        >>> figure = plot_confusion_matrix([0, 1, 1], [0, 1, 0], ["cat", "dog"])
    """
    names = _check_names(label_names)
    check_choice("normalize", normalize, (None, "true", "pred", "all"), fix='use "true" or None')
    y_true = check_labels("y_true", y_true, len(names), fix="pass the true class indices of the examples")
    y_pred = check_labels("y_pred", y_pred, len(names), fix="pass the predicted class indices (argmax)")
    if len(y_true) != len(y_pred) or len(y_true) == 0:
        raise ValueError(f"y_true has {len(y_true)} labels and y_pred {len(y_pred)}: expected the same "
                         "number, at least one. Fix: use training.predict_labels(model, test_ds).")
    label_names = names
    figure, axis = plt.subplots(figsize=(1.2 * len(label_names) + 2, 1.2 * len(label_names) + 1))
    ConfusionMatrixDisplay.from_predictions(
        y_true, y_pred, labels=list(range(len(label_names))), display_labels=list(label_names),
        normalize=normalize, ax=axis, colorbar=False, xticks_rotation=45,
        values_format=".2f" if normalize else "d")
    colorbar_label = {"true": "share of the true class", "pred": "share of the predicted class",
                      "all": "share of all examples", None: "examples"}[normalize]
    figure.colorbar(axis.images[0], ax=axis, label=colorbar_label)
    figure.tight_layout()
    return figure


def plot_grad_cam(images: np.ndarray, heatmaps: np.ndarray, *, labels: Sequence[int] | None = None,
                  predictions: Sequence[int] | None = None, label_names: Sequence[str] | None = None,
                  alpha: float = 0.4) -> Figure:
    """Show each image next to its Grad-CAM heatmap laid over it (red: strongest evidence).

    A colorbar beside the heatmap row reads the colours: 0 (no evidence) to 1 (the strongest).

    The heatmap (a few cells per side) is stretched over the whole image with bilinear
    interpolation, as Grad-CAM figures usually are.

    Args:
        images: ``[N, H, W, 3]`` in 0–255 (or 0–1).
        heatmaps: ``[N, h, w]`` in 0–1, e.g. ``tlcourse.evaluation.grad_cam(...).heatmaps``.
        labels: true class indices, for the titles.
        predictions: predicted class indices, for the titles (red when wrong).
        label_names: names for the indices.
        alpha: opacity of the heatmap over the image, in [0, 1].

    Example:
        >>> cam = grad_cam(model, base_model, images[:4])  # doctest: +SKIP
        >>> figure = plot_grad_cam(images[:4], cam.heatmaps, labels=labels[:4])  # doctest: +SKIP
    """
    from tlcourse import checks

    images, heatmaps = np.asarray(images), np.asarray(heatmaps, dtype=np.float32)
    if images.ndim != 4 or len(images) == 0:
        raise ValueError(f"images must have shape [N, H, W, C] with N >= 1, got {images.shape}.")
    if heatmaps.ndim != 3 or len(heatmaps) != len(images):
        raise ValueError(f"heatmaps must have shape [N, h, w] with N = {len(images)} (one per image), "
                         f"got {heatmaps.shape}. Fix: pass grad_cam(model, base_model, images).heatmaps.")
    alpha = checks.check_number("alpha", alpha, minimum=0, maximum=1, fix="e.g. alpha=0.4")
    if images.dtype != np.uint8:
        images = images * 255 if images.max() <= 1.0 else images
        images = np.clip(images, 0, 255).astype(np.uint8)
    name = (lambda index: str(label_names[index])) if label_names is not None else str
    figure, axes = plt.subplots(2, len(images), figsize=(2.2 * len(images) + 0.8, 4.6), squeeze=False,
                                layout="constrained")
    for index, (image, heatmap) in enumerate(zip(images, heatmaps)):
        height, width = image.shape[:2]
        extent = (0, width, height, 0)
        title, color = "", "black"
        if labels is not None:
            title = name(int(labels[index]))
        if predictions is not None:
            title += f"\n→ {name(int(predictions[index]))}"
            if labels is not None and int(predictions[index]) != int(labels[index]):
                color = "red"
        axes[0, index].imshow(image, extent=extent)
        axes[0, index].set_title(title, fontsize=9, color=color)
        axes[1, index].imshow(image, extent=extent)
        overlay = axes[1, index].imshow(heatmap, cmap="jet", alpha=alpha, vmin=0, vmax=1, extent=extent,
                                        interpolation="bilinear")
        for axis in axes[:, index]:
            axis.axis("off")
    axes[1, 0].set_title("Grad-CAM", fontsize=9, loc="left")
    colorbar = figure.colorbar(plt.cm.ScalarMappable(norm=overlay.norm, cmap=overlay.cmap), ax=axes[1, :].tolist(),
                               shrink=0.9, label="evidence for the\npredicted class")
    colorbar.set_ticks([0, 0.5, 1])
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
    axis.xaxis.set_major_locator(plt.MaxNLocator(integer=True))  # whole epochs only
    axis.set_xlabel("epoch")
    axis.set_ylabel(f"train {metric} − val {metric}")
    axis.set_title(title or f"Train–validation gap ({metric})")
    axis.legend()
    figure.tight_layout()
    return figure


def plot_comparison(rows: Sequence[Mapping], *, value: str = "test_accuracy",
                    fallback: str = "val_accuracy") -> Figure:
    """Bar chart of the models in a comparison table: accuracy and trainable parameters.

    Each row is a dict like ``tlcourse.results.comparison_rows`` makes (``model``, ``notebook``,
    accuracies, ``trainable_params``). A row without ``value`` shows its ``fallback`` instead,
    hatched and marked "(val)", so a validation accuracy is never mistaken for a test one; a row
    with neither is left out of the accuracy panel.

    Args:
        rows: the table's rows, in the order to draw them (top to bottom).
        value: the accuracy to plot.
        fallback: the accuracy to plot where ``value`` is missing.

    Example:
        >>> figure = plot_comparison([{"model": "cnn", "notebook": "02", "test_accuracy": 0.5}])
    """
    from tlcourse import checks

    checks.check_not_empty("rows", rows, fix="pass the rows of the comparison table "
                           "(tlcourse.results.comparison_rows of each record)")
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise TypeError(f"rows[{index}] is a {type(row).__name__}: expected a dict like "
                            "tlcourse.results.comparison_rows makes.")
        for field in (value, fallback):
            if row.get(field) is not None:  # a NaN bar would vanish, a percentage would leave the axis
                checks.check_number(f"rows[{index}][{field!r}]", row[field], minimum=0, maximum=1,
                                    fix="accuracies go from 0 to 1; store None for a missing one")
    labels = [f"{row.get('notebook', '')} · {row.get('model', '?')}" for row in rows]
    positions = np.arange(len(rows))[::-1]
    figure, (accuracy_axis, params_axis) = plt.subplots(
        1, 2, figsize=(11, 0.45 * len(rows) + 1.5), sharey=True, gridspec_kw={"width_ratios": [3, 2]})
    for position, row in zip(positions, rows):
        main, other = row.get(value), row.get(fallback)
        if main is not None:
            accuracy_axis.barh(position, main, color="tab:blue")
            accuracy_axis.text(main, position, f" {main:.2f}", va="center", fontsize=8)
        elif other is not None:
            accuracy_axis.barh(position, other, color="white", edgecolor="tab:blue", hatch="//")
            accuracy_axis.text(other, position, f" {other:.2f} (val)", va="center", fontsize=8)
        params = row.get("trainable_params")
        if params:
            params_axis.barh(position, params, color="tab:orange")
    accuracy_axis.set_yticks(positions, labels, fontsize=8)
    accuracy_axis.set_xlim(0, 1.15)
    accuracy_axis.set_xlabel(f"{value.replace('_', ' ')} (hatched: {fallback.replace('_', ' ')})")
    params_axis.set_xscale("log")
    params_axis.set_xlabel("trainable parameters (log scale)")
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


def _conv_layers(model: Any) -> list:
    """Every ``Conv2D`` inside ``model``, nested models included, in order."""
    import keras

    found = []
    for layer in getattr(model, "layers", []):
        if isinstance(layer, keras.layers.Conv2D):
            found.append(layer)
        elif hasattr(layer, "layers"):
            found.extend(_conv_layers(layer))
    return found


def _check_models(models: object, what: str) -> dict:
    import keras

    if isinstance(models, keras.Model):
        models = {models.name: models}
    if not isinstance(models, Mapping) or not models:
        raise TypeError(f"models={models!r:.60} is a {type(models).__name__}: expected a Keras model or a non-empty "
                        f"dict {{name: model}}. Fix: e.g. {what}({{'pretrained': base_model, 'random': random_base}}).")
    for name, model in models.items():
        if not isinstance(model, keras.Model):
            raise TypeError(f"models[{name!r}] is a {type(model).__name__}: expected a Keras model, e.g. "
                            "keras.applications.MobileNetV2(include_top=False, ...).")
    return dict(models)


def plot_first_layer_filters(models: Any, *, max_filters: int = 32, columns: int = 8, title: str = "") -> Figure:
    """Show the filters of each model's first convolution as small RGB tiles, one block per model.

    Each tile is one filter's kernel (e.g. 3×3 pixels × RGB for MobileNetV2), stretched to 0–1
    on its own, so its colours and stripes show which colour or edge it responds to. Pretrained
    filters show smooth colour blobs and oriented edges; random ones show noise. Introduced in
    notebook 03.

    Args:
        models: a Keras model or ``{name: model}``; the first ``Conv2D`` found (nested models
            included) must take 3 input channels (RGB).
        max_filters: show at most this many filters per model.
        columns: tiles per row.
        title: figure title.

    Example:
        >>> import keras
        >>> tiny = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3)])
        >>> len(plot_first_layer_filters({"tiny": tiny}, columns=4).axes)
        4
    """
    max_filters = check_int("max_filters", max_filters, minimum=1, fix="e.g. max_filters=32")
    columns = check_int("columns", columns, minimum=1, fix="e.g. columns=8")
    models = _check_models(models, "plot_first_layer_filters")
    kernels = {}
    for name, model in models.items():
        convs = _conv_layers(model)
        if not convs:
            raise ValueError(f"models[{name!r}] has no Conv2D layer: expected a convolutional network. Fix: pass a "
                             "base such as keras.applications.MobileNetV2(include_top=False, ...).")
        kernel = np.asarray(convs[0].kernel)
        if kernel.ndim != 4 or kernel.shape[2] != 3:
            raise ValueError(f"the first Conv2D of models[{name!r}], {convs[0].name!r}, has a kernel of shape "
                             f"{kernel.shape}: expected [height, width, 3, filters] (RGB input). Fix: pass a model "
                             "whose first convolution sees the RGB image.")
        kernels[name] = kernel[..., :max_filters]
    shown = max(kernel.shape[-1] for kernel in kernels.values())
    rows = int(np.ceil(shown / columns))
    figure = plt.figure(figsize=(1.1 * columns, (1.1 * rows + 0.4) * len(kernels)), layout="constrained")
    for subfigure, (name, kernel) in zip(np.atleast_1d(figure.subfigures(len(kernels), 1)), kernels.items()):
        axes = subfigure.subplots(rows, columns, squeeze=False)
        for index, axis in enumerate(axes.flat):
            axis.axis("off")
            if index < kernel.shape[-1]:
                tile = kernel[..., index]
                span = float(tile.max() - tile.min()) or 1.0
                axis.imshow((tile - tile.min()) / span, interpolation="nearest")
        subfigure.suptitle(f"{name}: {kernel.shape[-1]} filters of {kernel.shape[0]}×{kernel.shape[1]} px × RGB")
    if title:
        figure.suptitle(title, fontweight="bold")
    return figure


def plot_activation_maps(models: Any, image: np.ndarray, layer_names: Sequence[str], *, channels: int = 4,
                         title: str = "") -> Figure:
    """Show what a few layers of each model compute for one image: the most active channels' maps.

    One block per model (side by side), one row per layer (e.g. an early, a middle and a late
    layer), ``channels`` maps per row: the channels with the highest mean activation for this
    image, each scaled to its own maximum (colour bar: 0 = silent, 1 = that map's peak). Early
    maps keep the image's outline (edges, colours); late ones are coarse (parts, textures).
    Introduced in notebook 03.

    Args:
        models: a functional Keras model or ``{name: model}`` (e.g. a pretrained and a random base
            of the same architecture); every one must have every layer of ``layer_names``.
        image: one image ``[H, W, C]`` (or ``[1, H, W, C]``), already preprocessed the way the
            models expect (e.g. ``mobilenet_v2.preprocess_input``).
        layer_names: the layers to show, e.g. ``["block_1_expand_relu", "block_6_expand_relu",
            "block_13_expand_relu"]``.
        channels: maps per layer.
        title: figure title.

    Example:
        >>> import keras
        >>> inputs = keras.Input((8, 8, 3))
        >>> tiny = keras.Model(inputs, keras.layers.Conv2D(4, 3, name="conv")(inputs))
        >>> len(plot_activation_maps(tiny, np.zeros((8, 8, 3)), ["conv"], channels=2).axes)  # 2 maps + colour bar
        3
    """
    import keras

    channels = check_int("channels", channels, minimum=1, fix="e.g. channels=4")
    models = _check_models(models, "plot_activation_maps")
    if isinstance(layer_names, (str, bytes)) or not isinstance(layer_names, Sequence) or not layer_names:
        raise TypeError(f"layer_names={layer_names!r} is not a non-empty list of layer names. Fix: e.g. "
                        "layer_names=['block_1_expand_relu', 'block_6_expand_relu', 'block_13_expand_relu'].")
    try:
        image = np.asarray(image, dtype="float32")
    except (TypeError, ValueError):
        raise TypeError(f"image={image!r:.40} is not an array of numbers: expected one preprocessed image "
                        "[H, W, C]. Fix: pass e.g. preprocess_input(images[:1]).") from None
    if image.ndim == 4 and len(image) == 1:
        image = image[0]
    if image.ndim != 3:
        raise ValueError(f"image has shape {image.shape}: expected one image [H, W, C] (or [1, H, W, C]). "
                         "Fix: pass e.g. preprocess_input(images[:1]).")
    maps = {}
    for name, model in models.items():
        names = [layer.name for layer in model.layers]
        missing = [layer for layer in layer_names if layer not in names]
        if missing:
            raise ValueError(f"models[{name!r}] has no layer {missing}: expected names from its summary(), e.g. "
                             f"{names[1:4]}. Fix: pass layer_names that every model has.")
        inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
        probe = keras.Model(inputs, [model.get_layer(layer).output for layer in layer_names])
        outputs = probe(image[None], training=False)
        maps[name] = [np.asarray(output)[0] for output in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]
    figure = plt.figure(figsize=(1.7 * channels * len(maps) + 0.8, 1.8 * len(layer_names) + 0.5),
                        layout="constrained")
    for subfigure, (name, per_layer) in zip(np.atleast_1d(figure.subfigures(1, len(maps))), maps.items()):
        axes = subfigure.subplots(len(layer_names), channels, squeeze=False)
        for row, (layer, activation) in enumerate(zip(layer_names, per_layer)):
            strongest = np.argsort(activation.mean(axis=(0, 1)))[::-1][:channels]
            for column, axis in enumerate(axes[row]):
                axis.set_xticks([])
                axis.set_yticks([])
                if column >= len(strongest):
                    axis.axis("off")
                    continue
                feature_map = activation[..., strongest[column]]
                peak = float(np.max(np.abs(feature_map))) or 1.0
                shown = axis.imshow(np.abs(feature_map) / peak, cmap="viridis", vmin=0, vmax=1)
            height, width, depth = activation.shape
            axes[row, 0].set_ylabel(f"{layer}\n{height}×{width}×{depth}", fontsize=7)
        subfigure.colorbar(shown, ax=axes, shrink=0.6, label="|activation| / map's peak")
        subfigure.suptitle(name)
    if title:
        figure.suptitle(title, fontweight="bold")
    return figure


def plot_speed_vs_accuracy(speed: Mapping[str, float], accuracy: Mapping[str, float], *,
                           size_mb: Mapping[str, float] | None = None, front: Sequence[str] = (),
                           title: str = "") -> Figure:
    """Scatter each model's speed (images per second, log scale) against its accuracy, one labelled dot each.

    The dot's area grows with ``size_mb`` (the weights' size) when given; the models in ``front``
    (e.g. those no other model beats on both speed and accuracy) are ringed. Introduced in notebook 07.

    Args:
        speed: ``{model name: images per second}``, each > 0.
        accuracy: ``{model name: accuracy 0–1}`` for the same names (only names in both are drawn).
        size_mb: ``{model name: megabytes}`` for the dot sizes.
        front: names to ring (and name in the legend).
        title: figure title.

    Example:
        >>> figure = plot_speed_vs_accuracy({"a": 100.0, "b": 10.0}, {"a": 0.6, "b": 0.7}, front=["a", "b"])
        >>> sorted(text.get_text() for text in figure.axes[0].texts)
        ['a', 'b']
    """
    from tlcourse import checks  # here, not at the top: keeps this addition at the end of the file

    names = [name for name in speed if name in accuracy]
    if not names:
        raise ValueError(f"speed names {list(speed)} and accuracy names {list(accuracy)} share no model: "
                         "expected the same model names in both dicts. Fix: key both by model name.")
    for name in names:
        checks.check_number(f"speed[{name!r}]", speed[name], minimum=1e-12, fix="images per second are > 0")
        checks.check_number(f"accuracy[{name!r}]", accuracy[name], minimum=0, maximum=1,
                            fix="accuracies go from 0 to 1")
    areas = [40 + 4 * float(size_mb[name]) if size_mb and name in size_mb else 60 for name in names]
    figure, axis = plt.subplots(figsize=(6.5, 4))
    axis.scatter([speed[name] for name in names], [accuracy[name] for name in names], s=areas, alpha=0.6,
                 label="dot area: weights (MB)" if size_mb else None)
    ringed = [name for name in names if name in front]
    if ringed:
        axis.scatter([speed[name] for name in ringed], [accuracy[name] for name in ringed], s=260,
                     facecolors="none", edgecolors="tab:red", label="not beaten on both")
    for name in names:
        axis.annotate(name, (speed[name], accuracy[name]), textcoords="offset points", xytext=(6, 4), fontsize=8)
    axis.set_xscale("log")
    axis.set_xlabel("speed on this machine (images per second, log scale)")
    axis.set_ylabel("validation accuracy")
    axis.set_ylim(0, 1)
    axis.set_title(title or "Speed vs accuracy")
    if size_mb or ringed:
        axis.legend(fontsize=8, loc="lower left")
    figure.tight_layout()
    return figure
