"""Notebook 09's helpers: one-pass predictions, confident mistakes, Grad-CAM, comparison rows and plots."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import keras  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402

from tlcourse.evaluation import GradCam, Predictions, grad_cam, most_confident_mistakes, predict_dataset  # noqa: E402
from tlcourse.plots import plot_comparison, plot_grad_cam  # noqa: E402
from tlcourse.results import comparison_rows, format_table  # noqa: E402
from tlcourse.settings import PROFILES  # noqa: E402

SIZE = 16


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def tiny_classifier(num_classes: int = 3, trainable: bool = False) -> tuple[keras.Model, keras.Model]:
    """A nested base (three convolutions) inside input → augmentation → rescaling → base → head."""
    keras.utils.set_random_seed(0)
    base_inputs = keras.Input((SIZE, SIZE, 3))
    x = layers.Conv2D(4, 3, padding="same", activation="relu", name="conv_a")(base_inputs)
    x = layers.Conv2D(6, 3, strides=2, padding="same", activation="relu", name="conv_b")(x)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_c")(x)
    base_model = keras.Model(base_inputs, x, name="tiny_base")
    base_model.trainable = trainable
    inputs = keras.Input((SIZE, SIZE, 3))
    x = layers.RandomFlip("horizontal")(inputs)
    x = layers.Rescaling(1 / 127.5, offset=-1)(x)
    x = base_model(x, training=False)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="tiny_classifier"), base_model


def random_images(count: int = 5, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 255, (count, SIZE, SIZE, 3)).astype("float32")


# --- grad_cam -----------------------------------------------------------------------------------

@pytest.mark.parametrize("trainable", [False, True])
def test_grad_cam_shape_range_and_finite(trainable):
    model, base_model = tiny_classifier(trainable=trainable)
    images = random_images()
    cam = grad_cam(model, base_model, images)
    assert isinstance(cam, GradCam)
    assert cam.heatmaps.shape == (5, SIZE // 2, SIZE // 2)
    assert cam.heatmaps.dtype == np.float32
    assert np.all(np.isfinite(cam.heatmaps))
    assert cam.heatmaps.min() >= 0.0 and cam.heatmaps.max() <= 1.0
    peaks = cam.heatmaps.max(axis=(1, 2))
    assert np.all((peaks == 0) | np.isclose(peaks, 1.0)), "each heatmap is scaled to a maximum of 1"
    assert peaks.max() == pytest.approx(1.0)
    assert cam.layer_name == "conv_c"
    predicted = np.argmax(model.predict_on_batch(images), axis=-1)
    assert cam.class_indices.tolist() == predicted.tolist(), "default: explain the predicted class"


def test_grad_cam_matches_a_hand_computation_on_an_inner_layer():
    model, base_model = tiny_classifier()
    images = random_images(3)
    cam = grad_cam(model, base_model, images, class_indices=[2, 0, 1], layer_name="conv_b")
    assert cam.heatmaps.shape == (3, SIZE // 2, SIZE // 2) and cam.layer_name == "conv_b"
    # by hand: the same network written as plain function calls, gradient of each chosen logit
    rescaling, dense = model.layers[2], model.get_layer("logits")
    with tf.GradientTape() as tape:
        feature_maps = keras.Model(base_model.inputs, base_model.get_layer("conv_b").output)(
            rescaling(images), training=False)
        tape.watch(feature_maps)
        top = base_model.get_layer("conv_c")(base_model.get_layer("bn")(feature_maps, training=False))
        logits = dense(tf.reduce_mean(top, axis=(1, 2)))
        scores = tf.stack([logits[0, 2], logits[1, 0], logits[2, 1]])
    gradients = tape.gradient(scores, feature_maps)
    expected = tf.nn.relu(tf.reduce_sum(feature_maps * tf.reduce_mean(gradients, axis=(1, 2), keepdims=True),
                                        axis=-1)).numpy()
    expected = expected / np.maximum(expected.max(axis=(1, 2), keepdims=True), 1e-30)
    np.testing.assert_allclose(cam.heatmaps, expected, atol=1e-5)


def test_grad_cam_leaves_the_model_unchanged():
    model, base_model = tiny_classifier()
    images = random_images(2)
    before = [weight.numpy().copy() for weight in model.weights]
    grad_cam(model, base_model, images)
    assert all(np.array_equal(old, weight.numpy()) for old, weight in zip(before, model.weights))


def test_grad_cam_on_mobilenetv2_finer_layer():
    base_model = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(64, 64, 3))
    base_model.trainable = False
    inputs = keras.Input((64, 64, 3))
    x = keras.applications.mobilenet_v2.preprocess_input(inputs)
    x = base_model(x, training=False)
    outputs = layers.Dense(5)(layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, outputs)
    images = np.random.default_rng(1).uniform(0, 255, (2, 64, 64, 3)).astype("float32")
    last = grad_cam(model, base_model, images)
    finer = grad_cam(model, base_model, images, layer_name="block_13_expand_relu")
    assert last.heatmaps.shape == (2, 2, 2) and finer.heatmaps.shape == (2, 4, 4)
    for cam in (last, finer):
        assert np.all(np.isfinite(cam.heatmaps)) and 0 <= cam.heatmaps.min() and cam.heatmaps.max() <= 1


@pytest.mark.parametrize("kwargs, error, words", [
    ({"layer_name": "nope"}, ValueError, "is not a layer of 'tiny_base'"),
    ({"layer_name": 3}, TypeError, "expected the name of a layer"),
    ({"class_indices": [0, 7]}, ValueError, "class indices from 0 to 2"),
    ({"class_indices": [0]}, ValueError, "one per image"),
])
def test_grad_cam_rejects_bad_arguments(kwargs, error, words):
    model, base_model = tiny_classifier()
    with pytest.raises(error, match=words):
        grad_cam(model, base_model, random_images(2), **kwargs)


def test_grad_cam_rejects_a_base_that_is_not_inside_and_bad_images():
    model, base_model = tiny_classifier()
    other, _ = tiny_classifier()
    with pytest.raises(ValueError, match="is not a layer of model"):
        grad_cam(model, other, random_images(1))
    with pytest.raises(ValueError, match=r"expected \[N, H, W, C\]"):
        grad_cam(model, base_model, random_images(1)[0])
    with pytest.raises(TypeError, match="expected a keras.Model"):
        grad_cam("model", base_model, random_images(1))


def test_grad_cam_on_a_layer_inside_a_residual_block_follows_every_path():
    inputs = keras.Input((SIZE, SIZE, 3))
    a = layers.Conv2D(3, 3, padding="same", name="inside")(inputs)
    base_model = keras.Model(inputs, layers.Add(name="skip_add")([inputs, a]), name="residual_base")
    outer = keras.Input((SIZE, SIZE, 3))
    model = keras.Model(outer, layers.Dense(2)(layers.GlobalAveragePooling2D()(base_model(outer))))
    images = random_images(1)
    cam = grad_cam(model, base_model, images, layer_name="inside")
    # The same Grad-CAM by hand: the inner map and the logits in one taped forward pass.
    probe = keras.Model(base_model.inputs, [base_model.get_layer("inside").output, base_model.outputs[0]])
    with tf.GradientTape() as tape:
        inner, base_out = probe(tf.constant(images))
        logits = model.layers[-1](model.layers[-2](base_out))
        score = tf.gather(logits[0], int(cam.class_indices[0]))
    weights = tf.reduce_mean(tape.gradient(score, inner), axis=(1, 2), keepdims=True)
    expected = tf.nn.relu(tf.reduce_sum(inner * weights, axis=-1)).numpy()[0]
    expected = expected / expected.max() if expected.max() > 0 else expected
    assert cam.heatmaps.shape == (1, SIZE, SIZE)
    np.testing.assert_allclose(cam.heatmaps[0], expected, atol=1e-5)
    assert grad_cam(model, base_model, images).heatmaps.shape == (1, SIZE, SIZE)


# --- predict_dataset, most_confident_mistakes ---------------------------------------------------

def test_predict_dataset_keeps_labels_logits_and_images_in_one_pass():
    model, _ = tiny_classifier()
    images = random_images(7)
    labels = np.array([0, 1, 2, 0, 1, 2, 0])
    ds = tf.data.Dataset.from_tensor_slices((images, labels)).batch(3)
    predictions = predict_dataset(model, ds, keep_images=True)
    assert predictions.labels.tolist() == labels.tolist()
    np.testing.assert_allclose(predictions.logits, model.predict(images, verbose=0), atol=1e-5)
    assert predictions.images.dtype == np.uint8 and predictions.images.shape == (7, SIZE, SIZE, 3)
    np.testing.assert_allclose(predictions.probabilities.sum(axis=1), 1.0, rtol=1e-6)
    assert predictions.accuracy == pytest.approx(np.mean(predictions.predicted == labels))
    assert predict_dataset(model, ds).images is None


def test_predict_dataset_rejects_unbatched_and_empty_data():
    model, _ = tiny_classifier()
    unbatched = tf.data.Dataset.from_tensor_slices((random_images(2), [0, 1]))
    with pytest.raises(ValueError, match="is not batched"):
        predict_dataset(model, unbatched)
    with pytest.raises(ValueError, match="no batches"):
        predict_dataset(model, unbatched.batch(2).take(0))


def test_most_confident_mistakes_orders_wrong_predictions_by_confidence():
    logits = np.array([[5.0, 0, 0], [0, 1.0, 0], [0, 0, 9.0], [3.0, 0, 0], [0, 2.0, 0]], "float32")
    predictions = Predictions(np.array([0, 0, 1, 1, 1]), logits, None)
    assert most_confident_mistakes(predictions, 10).tolist() == [2, 3, 1]
    assert most_confident_mistakes(predictions, 2).tolist() == [2, 3]
    right = Predictions(np.array([0]), np.array([[1.0, 0.0]]), None)
    assert most_confident_mistakes(right, 3).size == 0
    with pytest.raises(ValueError, match="count=0"):
        most_confident_mistakes(predictions, 0)
    with pytest.raises(TypeError, match="predict_dataset"):
        most_confident_mistakes(logits, 3)


# --- comparison_rows --------------------------------------------------------------------------

RECORDS = {
    "02_scratch_cnn": {"name": "02_scratch_cnn", "test_accuracy": 0.4, "val_accuracy": 0.5,
                       "trainable_params": 98085, "train_seconds": 5.0, "epochs": 1},
    "04_time_and_cost": {"name": "04_time_and_cost", "contenders": [
        {"contender": "1 CNN from scratch", "val_accuracy": [0.1, 0.3], "trainable_params": 98085, "total_s": 6.0},
        {"contender": "3 head on cached features", "val_accuracy": 0.7, "trainable_params": 6405, "total_s": 2.0}]},
    "05_little_data": {"name": "05_little_data", "summary": [
        {"method": "scratch", "labels_per_class": 1, "mean": 0.2, "runs": 2},
        {"method": "scratch", "labels_per_class": 10, "mean": 0.3, "runs": 2},
        {"method": "frozen", "labels_per_class": 10, "mean": 0.6, "runs": 2}]},
    "06_generalization": {"name": "06_generalization", "clean_test_accuracy": {"scratch": 0.3, "transfer": 0.8}},
    "07_backbones": {"name": "07_backbones", "probes": [{"backbone": "ResNet50", "val_accuracy": 0.6}]},
    "08_fine_tuning": {"name": "08_fine_tuning", "test_accuracy": 0.9, "trainable_params": 400000,
                       "train_seconds": 50.0, "epochs_head": 5, "epochs_fine_tune": 3},
}


def test_comparison_rows_reads_every_record_shape():
    rows = {name: comparison_rows(record) for name, record in RECORDS.items()}
    assert [len(rows[name]) for name in RECORDS] == [1, 2, 2, 2, 1, 1]
    assert rows["02_scratch_cnn"][0] == {"model": "CNN from scratch", "notebook": "02", "test_accuracy": 0.4,
                                         "val_accuracy": 0.5, "trainable_params": 98085,
                                         "train_seconds": 5.0, "note": "1 epoch(s)"}
    scratch_04 = rows["04_time_and_cost"][0]
    assert scratch_04["val_accuracy"] == 0.3 and scratch_04["test_accuracy"] is None  # last epoch
    assert scratch_04["train_seconds"] == 6.0
    scratch_05, frozen_05 = rows["05_little_data"]
    assert scratch_05["test_accuracy"] == 0.3 and "10 labelled image(s) per class" in scratch_05["note"]  # largest budget
    assert frozen_05["model"] == "frozen"
    assert [row["test_accuracy"] for row in rows["06_generalization"]] == [0.3, 0.8]
    assert rows["07_backbones"][0]["model"] == "ResNet50 probe" and rows["07_backbones"][0]["test_accuracy"] is None
    assert rows["08_fine_tuning"][0]["note"] == "5 head + 3 fine-tuning epoch(s)"
    assert rows["08_fine_tuning"][0]["model"] == "fine-tuned MobileNetV2"
    table = format_table([row for group in rows.values() for row in group],
                         ["notebook", "model", "test_accuracy", "val_accuracy", "trainable_params"])
    assert "—" in table and "ResNet50 probe" in table


def test_comparison_rows_tolerates_unknown_and_partial_records():
    assert comparison_rows({"name": "99_other", "something": [1, 2]}) == []
    partial = comparison_rows({"name": "04_time_and_cost", "contenders": [{"contender": "x"}, "junk"]})
    assert partial[0]["val_accuracy"] is None and partial[0]["trainable_params"] is None
    with pytest.raises(TypeError, match="load_result"):
        comparison_rows(None)


# --- plots --------------------------------------------------------------------------------------

def test_plot_grad_cam_two_rows_titles_and_checks():
    images = random_images(3)
    heatmaps = np.random.default_rng(0).uniform(0, 1, (3, 2, 2)).astype("float32")
    figure = plot_grad_cam(images, heatmaps, labels=[0, 1, 2], predictions=[0, 2, 2],
                           label_names=["a", "b", "c"])
    assert len(figure.axes) == 7  # 3 images, 3 overlays, 1 colorbar
    assert figure.axes[1].get_title() == "b\n→ c" and figure.axes[1].title.get_color() == "red"
    assert len(figure.axes[3].images) == 2  # image + heatmap overlay
    with pytest.raises(ValueError, match="one per image"):
        plot_grad_cam(images, heatmaps[:2])
    with pytest.raises(ValueError, match="alpha=2"):
        plot_grad_cam(images, heatmaps, alpha=2)


def test_plot_comparison_marks_validation_only_rows():
    rows = [row for record in RECORDS.values() for row in comparison_rows(record)]
    figure = plot_comparison(rows)
    accuracy_axis = figure.axes[0]
    texts = [text.get_text() for text in accuracy_axis.texts]
    assert sum("(val)" in text for text in texts) == 3  # two 04 contenders and the 07 probe
    assert len(texts) == len(rows)
    with pytest.raises(ValueError, match="is empty"):
        plot_comparison([])


def test_every_profile_has_evaluation_settings():
    for settings in PROFILES.values():
        evaluation = settings.evaluation
        assert evaluation.gallery_size >= 1 and evaluation.grad_cam_images >= 1
        assert evaluation.demo_image_size >= 16 and evaluation.own_epochs >= 1
    assert PROFILES["smoke"].evaluation.own_epochs <= PROFILES["quick"].evaluation.own_epochs
