"""The shared plots (``plots.py``): each returns a Figure and rejects bad input clearly."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from tlcourse.plots import (plot_accuracy_vs_labels, plot_confusion_matrix, plot_history,  # noqa: E402
                            show_images)
from tlcourse.results import summarize_runs  # noqa: E402
from tlcourse.stats import mean_interval  # noqa: E402

NAMES = ["daisy", "roses", "tulips"]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def image_axes(figure: Figure) -> list:
    return [axis for axis in figure.axes if axis.images]


# --- show_images ------------------------------------------------------------------------------

def test_show_images_grid_titles_and_mistakes_in_red():
    images = np.random.default_rng(0).integers(0, 256, (5, 8, 8, 3), dtype=np.uint8)
    figure = show_images(images, [0, 1, 2, 0, 1], NAMES, columns=3, predictions=[0, 2, 2, 0, 1])
    assert isinstance(figure, Figure)
    assert len(figure.axes) == 6  # 2 rows × 3 columns, the last one empty
    shown = image_axes(figure)
    assert len(shown) == 5
    assert shown[0].get_title() == "daisy\n→ daisy"
    assert shown[1].get_title() == "roses\n→ tulips"
    assert matplotlib.colors.same_color(shown[1].title.get_color(), "red")
    assert matplotlib.colors.same_color(shown[0].title.get_color(), "black")
    np.testing.assert_array_equal(shown[2].images[0].get_array(), images[2])


def test_show_images_limits_the_count_and_defaults_to_indices():
    images = np.zeros((20, 4, 4, 3), np.uint8)
    figure = show_images(images, list(range(20)), max_images=4, columns=2)
    shown = image_axes(figure)
    assert len(shown) == 4 and [axis.get_title() for axis in shown] == ["0", "1", "2", "3"]


@pytest.mark.parametrize("scale", [1.0, 255.0])
def test_show_images_accepts_float_images_in_either_range(scale):
    images = np.full((2, 4, 4, 3), 0.5, np.float32) * scale
    shown = image_axes(show_images(images, [0, 1]))
    pixels = np.asarray(shown[0].images[0].get_array())
    assert pixels.dtype == np.uint8 and np.all(np.abs(pixels.astype(int) - 127) <= 1)


def test_show_images_grayscale():
    figure = show_images(np.zeros((2, 6, 6, 1), np.uint8), [0, 1])
    image = image_axes(figure)[0].images[0]
    assert image.get_array().shape == (6, 6) and image.get_cmap().name == "gray"


@pytest.mark.parametrize("bad", [np.zeros((0, 4, 4, 3)), np.zeros((4, 4, 3)), np.zeros((96, 96, 3))])
def test_show_images_rejects_a_bad_shape(bad):
    with pytest.raises(ValueError) as caught:
        show_images(bad, [])
    assert "[N, H, W, C]" in str(caught.value) and str(bad.shape) in str(caught.value)


# --- plot_history -----------------------------------------------------------------------------

HISTORY = {"loss": [2.0, 1.5, 1.2, 0.9], "val_loss": [2.1, 1.7, 1.4, 1.3],
           "accuracy": [0.3, 0.5, 0.6, 0.7], "val_accuracy": [0.3, 0.4, 0.55, 0.6]}


def test_plot_history_panels_curves_and_phase_marker():
    figure = plot_history(HISTORY, phase_starts=[2], title="MobileNetV2")
    assert isinstance(figure, Figure) and len(figure.axes) == 2
    accuracy_axis, loss_axis = figure.axes
    assert accuracy_axis.get_title() == "accuracy" and loss_axis.get_title() == "loss"
    labels = [line.get_label() for line in accuracy_axis.get_lines()]
    assert labels == ["train accuracy", "val accuracy", "fine-tuning starts"]
    train_line = accuracy_axis.get_lines()[0]
    assert list(train_line.get_xdata()) == [1, 2, 3, 4] and list(train_line.get_ydata()) == HISTORY["accuracy"]
    assert list(accuracy_axis.get_lines()[2].get_xdata()) == [2.5, 2.5], "between epoch 2 and 3"
    assert figure._suptitle.get_text() == "MobileNetV2"


def test_plot_history_without_validation_or_phases():
    figure = plot_history({"loss": [1.0, 0.5]}, metrics=["loss"])
    assert len(figure.axes) == 1
    assert [line.get_label() for line in figure.axes[0].get_lines()] == ["train loss"]


def test_plot_history_accepts_a_keras_history_object():
    class History:
        history = {"accuracy": [0.1], "loss": [1.0]}

    assert len(plot_history(History()).axes) == 2


def test_plot_history_missing_metric_names_the_available_ones():
    with pytest.raises(ValueError) as caught:
        plot_history({"loss": [1.0], "val_loss": [1.1]})
    message = str(caught.value)
    assert "['accuracy']" in message and "['loss', 'val_loss']" in message and "metrics=" in message


# --- summarize_runs and plot_accuracy_vs_labels -----------------------------------------------

ROWS = [
    {"method": "scratch", "labels_per_class": 10, "test_accuracy": 0.2},
    {"method": "scratch", "labels_per_class": 10, "test_accuracy": 0.4},
    {"method": "scratch", "labels_per_class": 1, "test_accuracy": 0.1},
    {"method": "frozen", "labels_per_class": 1, "test_accuracy": np.float32(0.5)},
    {"method": "frozen", "labels_per_class": 10, "test_accuracy": 0.9},
]


def test_summarize_runs_means_stds_counts_sorted_by_x():
    summary = summarize_runs(ROWS)
    assert [(row["method"], row["labels_per_class"]) for row in summary] == [
        ("scratch", 1), ("scratch", 10), ("frozen", 1), ("frozen", 10)]
    assert summary[1]["mean"] == pytest.approx(0.3) and summary[1]["runs"] == 2
    assert summary[1]["std"] == pytest.approx(np.std([0.2, 0.4], ddof=1))
    assert summary[2] == {"method": "frozen", "labels_per_class": 1, "mean": pytest.approx(0.5), "low": pytest.approx(0.5),
                          "high": pytest.approx(0.5), "std": 0.0, "runs": 1}  # one seed: no interval
    mean, low, high = summary[1]["mean"], summary[1]["low"], summary[1]["high"]
    assert 0 <= low < mean < high <= 1 and mean_interval([0.2, 0.4]) == (
        f"{100 * mean:.1f} % (95 % CI {100 * low:.1f} to {100 * high:.1f}, 2 seeds)")  # the same interval everywhere


def test_plot_accuracy_vs_labels_draws_the_95_percent_interval_not_the_std():
    rows = [{"method": "frozen", "labels_per_class": 3, "test_accuracy": a} for a in (0.60, 0.64, 0.68)]
    summary = summarize_runs(rows)
    axis = plot_accuracy_vs_labels(summary).axes[0]
    bar = next(c for c in axis.collections if len(c.get_segments()))  # the vertical error bar
    (_, bottom), (_, top) = bar.get_segments()[0]
    assert (bottom, top) == (pytest.approx(summary[0]["low"]), pytest.approx(summary[0]["high"]))
    assert top - bottom > 2 * summary[0]["std"]  # 3 seeds: the t interval is wider than ± one std
    assert "95 % interval" in axis.get_title()


def test_summarize_runs_other_x_key():
    rows = [{"method": "m", "shots": 3, "test_accuracy": 0.5}, {"method": "m", "shots": 3, "test_accuracy": 0.7}]
    assert summarize_runs(rows, x="shots")[0]["mean"] == pytest.approx(0.6)


def test_plot_accuracy_vs_labels_draws_each_method_and_chance():
    figure = plot_accuracy_vs_labels(summarize_runs(ROWS), chance=1 / 3, title="flowers")
    assert isinstance(figure, Figure)
    axis = figure.axes[0]
    assert axis.get_xscale() == "log" and axis.get_ylim() == (0, 1)
    assert axis.get_title() == "flowers"
    legend = [text.get_text() for text in axis.get_legend().get_texts()]
    assert set(legend) == {"scratch", "frozen", "chance"}
    assert list(axis.get_xticks()) == [1, 10]


def test_plot_accuracy_vs_labels_rejects_no_rows():
    with pytest.raises(ValueError, match=r"summary=\[\] is empty"):
        plot_accuracy_vs_labels([])


@pytest.mark.parametrize("every", [None, "all"])
def test_plot_accuracy_vs_labels_names_the_fix_for_every_example_on_its_log_axis(every):
    summary = summarize_runs(ROWS + [{"method": "frozen", "labels_per_class": every, "test_accuracy": 0.9}])
    with pytest.raises(TypeError, match=r"summary\[4\]\['labels_per_class'\].*Fix: .*number of examples per class"):
        plot_accuracy_vs_labels(summary)


# --- plot_confusion_matrix --------------------------------------------------------------------

def test_plot_confusion_matrix_normalised_per_true_class():
    figure = plot_confusion_matrix([0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 0], NAMES)
    assert isinstance(figure, Figure)
    matrix = np.asarray(figure.axes[0].images[0].get_array())
    np.testing.assert_allclose(matrix, [[0.5, 0.5, 0], [0, 1, 0], [0.5, 0, 0.5]])
    assert [label.get_text() for label in figure.axes[0].get_yticklabels()] == NAMES


def test_plot_confusion_matrix_counts_and_absent_classes():
    figure = plot_confusion_matrix([0, 0, 1], [0, 1, 1], NAMES, normalize=None)
    matrix = np.asarray(figure.axes[0].images[0].get_array())
    assert matrix.shape == (3, 3), "every named class gets a row, even one with no examples"
    np.testing.assert_array_equal(matrix, [[1, 1, 0], [0, 1, 0], [0, 0, 0]])


# --- plot_paired_differences: the picture of the verdict rule (notebook 05) ---------------------

def test_plot_paired_differences_draws_dots_and_bars_only_where_there_is_an_interval():
    from tlcourse.plots import plot_paired_differences
    from tlcourse.stats import compare_seeds
    verdicts = {5: compare_seeds([0.7, 0.74, 0.72], [0.6, 0.61, 0.66]), 10: compare_seeds([0.7], [0.6])}
    figure = plot_paired_differences({5: [10, 13, 6], 10: [10]}, verdicts)
    axis = figure.axes[0]
    assert sum(len(points.get_offsets()) for points in axis.collections) == 4, "one dot per seed"
    bars = [line for line in axis.lines if line.get_linewidth() == 6]
    assert len(bars) == 1, "a bar for the 3-seed comparison, none for the single seed"
    assert np.allclose(bars[0].get_xdata(), [verdicts[5].low, verdicts[5].high])
    plt.close(figure)
    with pytest.raises(ValueError, match="a Verdict for every row"):
        plot_paired_differences({5: [1.0]}, {})


# --- plot_history's accuracy_range; first-layer filters and activation maps (notebook 03) -------

def test_plot_history_accuracy_range_sets_only_the_accuracy_panels():
    history = {"accuracy": [0.4, 0.6], "val_accuracy": [0.3, 0.5], "loss": [1.2, 0.9], "val_loss": [1.3, 1.0]}
    accuracy_axis, loss_axis = plot_history(history, accuracy_range=(0, 1)).axes
    assert accuracy_axis.get_ylim() == (0, 1) and loss_axis.get_ylim() != (0, 1)
    assert (accuracy_axis.get_xlabel(), accuracy_axis.get_ylabel()) == ("epoch", "accuracy")
    assert list(accuracy_axis.get_xticks()) == [1, 2], "whole-number epoch ticks"
    assert plot_history(history).axes[0].get_ylim() != (0, 1), "default: the range fits the data"
    with pytest.raises(ValueError, match="low < high"):
        plot_history(history, accuracy_range=(1, 0))


@pytest.fixture(scope="module")
def tiny_cnn():
    import keras
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(6, 3, activation="relu", name="early")(inputs)
    outputs = keras.layers.Conv2D(5, 3, activation="relu", name="late")(x)
    return keras.Model(inputs, outputs, name="tiny")


def test_plot_first_layer_filters_one_tile_per_filter_per_model(tiny_cnn):
    from tlcourse.plots import plot_first_layer_filters
    figure = plot_first_layer_filters({"a": tiny_cnn, "b": tiny_cnn}, columns=3)
    tiles = image_axes(figure)
    assert len(figure.axes) == 2 * 2 * 3 and len(tiles) == 2 * 6, "6 filters of the first Conv2D, per model"
    assert tiles[0].images[0].get_array().shape == (3, 3, 3), "an RGB tile of the 3×3 kernel"


def test_plot_first_layer_filters_rejects_a_model_without_rgb_convolution():
    import keras
    from tlcourse.plots import plot_first_layer_filters
    dense = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="no Conv2D layer"):
        plot_first_layer_filters(dense)
    with pytest.raises(TypeError, match="expected a Keras model"):
        plot_first_layer_filters({"not a model": "base_model"})


def test_plot_activation_maps_rows_per_layer_and_channels(tiny_cnn):
    from tlcourse.plots import plot_activation_maps
    figure = plot_activation_maps({"a": tiny_cnn, "b": tiny_cnn}, np.ones((8, 8, 3)), ["early", "late"], channels=2)
    maps = image_axes(figure)
    assert len(maps) == 2 * 2 * 2, "2 models × 2 layers × 2 channels"
    assert len(figure.axes) == len(maps) + 2, "plus one colour bar per model"
    assert maps[0].images[0].get_array().shape == (6, 6) and maps[2].images[0].get_array().shape == (4, 4)


def test_plot_activation_maps_rejects_unknown_layers_and_batches(tiny_cnn):
    from tlcourse.plots import plot_activation_maps
    with pytest.raises(ValueError, match=r"has no layer \['block_1'\]"):
        plot_activation_maps(tiny_cnn, np.ones((8, 8, 3)), ["block_1"])
    with pytest.raises(ValueError, match=r"expected one image"):
        plot_activation_maps(tiny_cnn, np.ones((2, 8, 8, 3)), ["early"])
    with pytest.raises(TypeError, match=r"not an array of numbers"):
        plot_activation_maps(tiny_cnn, "flower.jpg", ["early"])


# --- colorbars on heat maps (issue 17: plots read at a glance) ----------------------------------

def test_plot_confusion_matrix_has_a_labelled_colorbar():
    figure = plot_confusion_matrix([0, 1, 2], [0, 1, 1], NAMES)
    assert len(figure.axes) == 2, "the matrix and its colorbar"
    assert figure.axes[1].get_ylabel() == "share of the true class"
    assert plot_confusion_matrix([0, 1], [0, 0], NAMES, normalize=None).axes[1].get_ylabel() == "examples"
    plt.close("all")


def test_plot_grad_cam_colorbar_spans_zero_to_one():
    from tlcourse.plots import plot_grad_cam
    images = np.zeros((2, 8, 8, 3), dtype=np.uint8)
    figure = plot_grad_cam(images, np.full((2, 2, 2), 0.5, dtype="float32"))
    colorbar_axis = figure.axes[-1]
    assert "evidence" in colorbar_axis.get_ylabel()
    assert colorbar_axis.get_ylim() == (0.0, 1.0), "the colours read on the fixed 0–1 scale of the heatmaps"
    plt.close(figure)

# --- plot_speed_vs_accuracy (notebook 07) and whole-epoch ticks ----------------------------------

def test_plot_speed_vs_accuracy_labels_each_model_and_rings_the_front():
    from tlcourse.plots import plot_speed_vs_accuracy
    figure = plot_speed_vs_accuracy({"fast": 100.0, "slow": 5.0, "unprobed": 50.0}, {"fast": 0.6, "slow": 0.8},
                                    size_mb={"fast": 9.0, "slow": 95.0}, front=["fast"])
    axis = figure.axes[0]
    assert sorted(text.get_text() for text in axis.texts) == ["fast", "slow"], "only models with both numbers"
    dots, ring = axis.collections
    assert dots.get_offsets().tolist() == [[100.0, 0.6], [5.0, 0.8]] and ring.get_offsets().tolist() == [[100.0, 0.6]]
    assert axis.get_xscale() == "log" and "images per second" in axis.get_xlabel()
    with pytest.raises(ValueError, match="share no model"):
        plot_speed_vs_accuracy({"a": 1.0}, {"b": 0.5})


def test_plot_history_ticks_are_whole_epochs():
    figure = plot_history({"loss": [1.0, 0.8, 0.5], "val_loss": [1.1, 0.9, 0.7]}, metrics=["loss"], phase_starts=[1])
    ticks = [tick for tick in figure.axes[0].get_xticks() if 1 <= tick <= 3]
    assert ticks and all(float(tick).is_integer() for tick in ticks), ticks

def test_plot_accuracy_vs_labels_has_no_minor_ticks_on_its_log_axis():
    """Only the measured label counts are ticked: no log-scale minor ticks between them (notebook 05)."""
    figure = plot_accuracy_vs_labels(summarize_runs(ROWS + [{"method": "frozen", "labels_per_class": 50,
                                                             "test_accuracy": 0.95}]))
    axis = figure.axes[0]
    assert list(axis.get_xticks()) == [1, 10, 50]
    assert len(axis.get_xaxis().get_minorticklocs()) == 0
    assert axis.get_xlabel() and axis.get_ylabel()


def test_plot_train_val_gap_ticks_whole_epochs_only():
    """Two epochs must not be ticked 1.0, 1.2, 1.4 …: the epoch axis shows whole numbers (notebook 06)."""
    from tlcourse.plots import plot_train_val_gap
    figure = plot_train_val_gap({"cnn": {"accuracy": [0.5, 0.9], "val_accuracy": [0.5, 0.6]}})
    axis = figure.axes[0]
    figure.canvas.draw()
    ticks = [tick for tick in axis.get_xticks() if axis.get_xlim()[0] <= tick <= axis.get_xlim()[1]]
    assert ticks and all(float(tick).is_integer() for tick in ticks), ticks
    assert axis.get_xlabel() == "epoch" and axis.get_ylabel()


def test_plot_accuracy_vs_labels_names_the_split_it_plots():
    summary = [{"method": "frozen", "labels_per_class": 1, "mean": 0.5, "low": 0.4, "high": 0.6},
               {"method": "frozen", "labels_per_class": 10, "mean": 0.7, "low": 0.6, "high": 0.8}]
    axis = plot_accuracy_vs_labels(summary, ylabel="validation accuracy").axes[0]
    assert axis.get_ylabel() == "validation accuracy" and axis.get_title().startswith("Validation accuracy")
    assert plot_accuracy_vs_labels(summary).axes[0].get_ylabel() == "test accuracy"
