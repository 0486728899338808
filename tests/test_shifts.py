"""Notebook 06's plumbing: shifted test images (``tlcourse.shifts``), its plots and its settings."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import tensorflow as tf

from tlcourse import plots
from tlcourse.settings import PROFILES
from tlcourse.shifts import MAX_SEVERITY, SHIFT_NAMES, SHIFTS, shift_dataset, shift_images


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    """A batch of 4 random 96 px RGB images (the smoke size: blur scales with the side) in 0–255, as float32 (what tlcourse.data.prepare yields)."""
    return np.random.default_rng(0).integers(0, 256, size=(4, 96, 96, 3)).astype("float32")


def batched(images: np.ndarray, batch_size: int = 2) -> tf.data.Dataset:
    labels = np.arange(len(images)) % 3
    return tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch_size)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# --- shift_images ------------------------------------------------------------------------------

@pytest.mark.parametrize("shift", SHIFT_NAMES)
@pytest.mark.parametrize("severity", range(1, MAX_SEVERITY + 1))
def test_shift_keeps_shape_dtype_and_range(images, shift, severity):
    shifted = shift_images(images, shift, severity, seed=1)
    assert shifted.shape == images.shape and shifted.dtype == tf.float32
    values = shifted.numpy()
    assert values.min() >= 0 and values.max() <= 255
    assert np.array_equal(values, np.round(values)), "shifted pixels are whole numbers, like a photo's"
    assert not np.array_equal(values, images), f"{shift} at severity {severity} changed nothing"


@pytest.mark.parametrize("shift", SHIFT_NAMES)
def test_uint8_stays_uint8(images, shift):
    shifted = shift_images(images.astype("uint8"), shift, 3)
    assert shifted.dtype == tf.uint8 and shifted.shape == images.shape


@pytest.mark.parametrize("shift", SHIFT_NAMES)
def test_severity_zero_is_the_identity(images, shift):
    assert np.array_equal(shift_images(images, shift, 0, seed=5).numpy(), images)
    ds = batched(images)
    assert shift_dataset(ds, shift, 0) is ds


@pytest.mark.parametrize("shift", SHIFT_NAMES)
def test_same_seed_same_images(images, shift):
    first, second = (shift_images(images, shift, 4, seed=7).numpy() for _ in range(2))
    assert np.array_equal(first, second)


def test_noise_depends_on_the_seed(images):
    assert not np.array_equal(shift_images(images, "noise", 2, seed=1).numpy(),
                              shift_images(images, "noise", 2, seed=2).numpy())


@pytest.mark.parametrize("shift", ["blur", "noise", "brightness"])  # zooming into noise is not monotone
def test_higher_severity_moves_pixels_further(images, shift):
    distances = [np.abs(shift_images(images, shift, severity, seed=3).numpy() - images).mean()
                 for severity in range(MAX_SEVERITY + 1)]
    assert distances == sorted(distances) and distances[0] == 0.0


def test_each_shift_does_what_it_says():
    flat = np.full((1, 96, 96, 3), 100.0, "float32")
    assert np.array_equal(shift_images(flat, "blur", 5).numpy(), flat), "blurring a flat image changes nothing"
    assert np.array_equal(shift_images(flat, "crop", 5).numpy(), flat), "zooming into a flat image changes nothing"
    assert shift_images(flat, "brightness", 1).numpy().min() == 100 + round(0.1 * 255)
    noisy = shift_images(flat, "noise", 1, seed=0).numpy()
    assert abs(noisy.std() - 0.08 * 255) < 2 and abs(noisy.mean() - 100) < 2
    stripes = np.zeros((1, 96, 96, 3), "float32")
    stripes[:, :, ::2] = 255.0  # one-pixel stripes: blur averages them towards grey
    assert shift_images(stripes, "blur", 3).numpy().std() < 0.5 * stripes.std()
    frame = np.zeros((1, 96, 96, 3), "float32")
    frame[:, :4] = 255.0  # a bright band at the top edge: a central crop cuts it away
    assert shift_images(frame, "crop", 5).numpy()[:, :2].max() < 255


def test_blur_works_on_tiny_images():
    tiny = np.random.default_rng(1).integers(0, 256, size=(2, 3, 3, 3)).astype("float32")
    assert shift_images(tiny, "blur", MAX_SEVERITY).shape == tiny.shape


def test_single_image_needs_a_batch_axis(images):
    with pytest.raises(ValueError, match=r"image\[None\]"):
        shift_images(images[0], "blur", 1)
    assert shift_images(images[0][None], "blur", 1).shape == (1, 96, 96, 3)


@pytest.mark.parametrize("kwargs, error, words", [
    ({"shift": "fog", "severity": 1}, ValueError, "shift='fog'"),
    ({"shift": "blur", "severity": 6}, ValueError, "severity=6"),
    ({"shift": "blur", "severity": -1}, ValueError, "severity=-1"),
    ({"shift": "blur", "severity": 1.5}, TypeError, "severity=1.5"),
    ({"shift": "blur", "severity": True}, TypeError, "severity=True"),
    ({"shift": "noise", "severity": 1, "seed": -3}, ValueError, "seed=-3"),
    ({"shift": "noise", "severity": 1, "seed": (1, 2, 3)}, ValueError, "seed=(1, 2, 3)"),
])
def test_bad_arguments_are_named(images, kwargs, error, words):
    with pytest.raises(error) as caught:
        shift_images(images, **kwargs)
    assert words in str(caught.value)


def test_bad_images_are_named():
    with pytest.raises(TypeError, match="dtype string: expected numbers in 0–255"):
        shift_images("photo.jpg", "blur", 1)
    with pytest.raises(TypeError, match="not an array of pixels"):
        shift_images([[1, 2], [3]], "blur", 1)
    with pytest.raises(TypeError, match="dtype bool"):
        shift_images(np.zeros((1, 4, 4, 3), bool), "blur", 1)


def test_shift_catalogue_is_complete():
    for name, shift in SHIFTS.items():
        assert shift.name == name and len(shift.strengths) == MAX_SEVERITY and shift.about
        assert shift.strength(0) == 0.0 and shift.strength(MAX_SEVERITY) == shift.strengths[-1]


# --- shift_dataset -----------------------------------------------------------------------------

@pytest.mark.parametrize("shift", SHIFT_NAMES)
def test_dataset_matches_batch_shapes_labels_and_is_deterministic(images, shift):
    ds = batched(images)
    shifted = shift_dataset(ds, shift, 3, seed=11)
    first = [(x.numpy(), y.numpy()) for x, y in shifted]
    second = [(x.numpy(), y.numpy()) for x, y in shift_dataset(ds, shift, 3, seed=11)]
    originals = [(x.numpy(), y.numpy()) for x, y in ds]
    assert len(first) == len(originals)
    for (x1, y1), (x2, y2), (x0, y0) in zip(first, second, originals):
        assert x1.shape == x0.shape and x1.dtype == x0.dtype
        assert np.array_equal(y1, y0), "labels pass through untouched"
        assert np.array_equal(x1, x2), "the same seed gives the same shifted images"
        assert 0 <= x1.min() and x1.max() <= 255
    assert np.array_equal(first[0][0], [x for x, _ in shifted][0]), "iterating twice gives the same images"


def test_dataset_noise_differs_between_batches_and_seeds():
    same = np.full((4, 8, 8, 3), 128.0, "float32")  # two identical batches
    batches = [x.numpy() for x, _ in shift_dataset(batched(same), "noise", 2, seed=0)]
    assert not np.array_equal(batches[0], batches[1]), "each batch gets its own noise"
    other = [x.numpy() for x, _ in shift_dataset(batched(same), "noise", 2, seed=1)]
    assert not np.array_equal(batches[0], other[0])


def test_dataset_checks_its_arguments(images):
    with pytest.raises(ValueError, match="not batched"):
        shift_dataset(tf.data.Dataset.from_tensor_slices((images, np.zeros(4))), "blur", 1)
    with pytest.raises(TypeError, match="is a ndarray"):
        shift_dataset(images, "blur", 1)
    with pytest.raises(ValueError, match="severity=9"):
        shift_dataset(batched(images), "blur", 9)
    with pytest.raises(TypeError, match="seed='1'"):
        shift_dataset(batched(images), "blur", 1, seed="1")
    unsized = tf.data.Dataset.from_generator(
        lambda: iter([(images[:2], np.zeros(2, "int64"))]),
        output_signature=(tf.TensorSpec([None, None, None, 3], tf.float32), tf.TensorSpec([None], tf.int64)))
    with pytest.raises(ValueError, match="tlcourse.data.prepare"):
        shift_dataset(unsized, "blur", 1)


# --- plots -------------------------------------------------------------------------------------

def test_plot_train_val_gap_draws_one_line_per_model():
    histories = {"scratch": {"accuracy": [0.4, 0.9], "val_accuracy": [0.4, 0.5]},
                 "transfer": {"accuracy": [0.7, 0.8], "val_accuracy": [0.7, 0.78]}}
    figure = plots.plot_train_val_gap(histories)
    lines = figure.axes[0].get_lines()
    assert np.allclose(lines[0].get_ydata(), [0.0, 0.4]) and np.allclose(lines[1].get_ydata(), [0.0, 0.02])


def test_plot_train_val_gap_names_what_is_missing():
    with pytest.raises(ValueError, match="validation_data"):
        plots.plot_train_val_gap({"cnn": {"accuracy": [0.5]}})
    with pytest.raises(ValueError, match="non-empty"):
        plots.plot_train_val_gap({})


def test_plot_accuracy_vs_severity_one_panel_per_shift():
    accuracies = {"scratch": {"blur": [0.8, 0.4], "noise": [0.8, 0.3]},
                  "transfer": {"blur": [0.9, 0.8], "noise": [0.9, 0.7]}}
    figure = plots.plot_accuracy_vs_severity(accuracies, severities=(0, 3), chance=0.2)
    assert [axis.get_title() for axis in figure.axes] == ["blur", "noise"]
    assert len(figure.axes[0].get_lines()) == 3  # two models and the chance line


def test_plot_accuracy_vs_severity_checks_its_arguments():
    with pytest.raises(ValueError, match="one accuracy per severity"):
        plots.plot_accuracy_vs_severity({"cnn": {"blur": [0.8]}}, severities=(0, 3))
    with pytest.raises(TypeError, match="severities=3"):
        plots.plot_accuracy_vs_severity({"cnn": {"blur": [0.8]}}, severities=3)
    with pytest.raises(ValueError, match="chance=5"):
        plots.plot_accuracy_vs_severity({"cnn": {"blur": [0.8]}}, severities=(0,), chance=5)


# --- settings ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(PROFILES))
def test_generalization_settings_are_usable(name):
    settings = PROFILES[name]
    values = settings.generalization
    assert values.epochs >= 2, "a learning curve needs at least two epochs"
    assert values.severities == tuple(sorted(set(values.severities)))
    assert all(1 <= severity <= MAX_SEVERITY for severity in values.severities)
    assert 1 <= values.exercise_epochs <= values.epochs, "exercise 1 compares its gap at epoch exercise_epochs"
