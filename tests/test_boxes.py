import numpy as np
import pytest
import tensorflow as tf

from tlcourse.boxes import iou, sanitise_boxes


def test_iou_of_known_boxes():
    assert float(iou([0, 0, 1, 1], [0, 0, 0.5, 1])) == pytest.approx(0.5)
    assert float(iou([0, 0, 0.5, 0.5], [0.5, 0.5, 1, 1])) == 0.0
    assert float(iou([0.1, 0.2, 0.6, 0.9], [0.1, 0.2, 0.6, 0.9])) == pytest.approx(1.0)
    np.testing.assert_allclose(iou([[0, 0, 1, 1], [0, 0, 0.5, 0.5]], [[0, 0, 1, 1], [0.25, 0.25, 0.75, 0.75]]),
                               [1.0, 1 / 7])


def test_iou_of_empty_boxes_is_zero():
    assert float(iou([0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5])) == 0.0


def test_sanitise_sorts_and_clips():
    out = sanitise_boxes(tf.constant([[0.8, 0.1, 0.2, 0.3], [-0.1, 0.9, 1.2, 0.4]])).numpy()
    np.testing.assert_allclose(out, [[0.2, 0.1, 0.8, 0.3], [0.0, 0.4, 1.0, 0.9]], atol=1e-6)


@pytest.mark.parametrize("a, b", [([0, 0, 1], [0, 0, 1]), ([[0, 0, 1, 1]], [[0, 0, 1, 1]] * 2),
                                  ([0, 0, np.nan, 1], [0, 0, 1, 1])])
def test_iou_bad_input(a, b):
    with pytest.raises(ValueError):
        iou(a, b)


def test_sanitise_bad_input():
    with pytest.raises(ValueError, match="expected"):
        sanitise_boxes(tf.constant([0.1, 0.2, 0.3]))


def test_float32_policy_restores_the_previous_policy():
    import keras

    from tlcourse.boxes import float32_policy

    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        with float32_policy():
            assert keras.mixed_precision.global_policy().name == "float32"
        assert keras.mixed_precision.global_policy().name == "mixed_float16"
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_float32_copy_of_a_mixed_float16_localizer_exports_to_litert(tmp_path):
    import keras
    from keras import layers

    from tlcourse.boxes import float32_policy

    def build():
        inputs = keras.Input(shape=(16, 16, 3), name="image")
        x = layers.GlobalAveragePooling2D()(layers.Conv2D(4, 3, activation="relu")(inputs))
        return keras.Model(inputs, {"class": layers.Dense(3, dtype="float32", name="class")(x),
                                    "box": layers.Dense(4, activation="sigmoid", dtype="float32", name="box")(x)})

    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = build()
        assert model.layers[1].compute_dtype == "float16"
        with float32_policy():
            export_model = build()
    finally:
        keras.mixed_precision.set_global_policy("float32")
    export_model.set_weights(model.get_weights())
    assert export_model.layers[1].compute_dtype == "float32"
    path = tmp_path / "localizer.tflite"
    export_model.export(str(path), format="litert")
    interpreter = tf.lite.Interpreter(model_path=str(path))
    runner = interpreter.get_signature_runner()
    input_name = interpreter.get_signature_list()["serving_default"]["inputs"][0]
    image = np.random.default_rng(0).uniform(0, 255, (1, 16, 16, 3)).astype("float32")
    outputs = runner(**{input_name: image})
    assert set(outputs) == {"box", "class"}
    np.testing.assert_allclose(outputs["box"], export_model.predict_on_batch(image)["box"], atol=1e-4)


def test_coco_class_names_are_the_80_detection_classes():
    from tlcourse.boxes import coco_class_names

    names = coco_class_names()
    assert len(names) == 80 and len(set(names)) == 80
    assert (names[0], names[15], names[16], names[79]) == ("person", "cat", "dog", "toothbrush")


def test_plot_detections_draws_only_boxes_above_the_threshold():
    from tlcourse.boxes import plot_detections

    images = np.zeros((1, 64, 64, 3), "float32")
    predictions = {"boxes": np.array([[[4, 4, 40, 40], [0, 0, 10, 10], [-1, -1, -1, -1]]], "float32"),
                   "labels": np.array([[16, 0, -1]]), "confidence": np.array([[0.9, 0.2, -1.0]])}
    figure = plot_detections(images, predictions, ["person"] + ["x"] * 15 + ["dog"], threshold=0.5, columns=1)
    axis = figure.axes[0]
    assert len(axis.patches) == 1 and [text.get_text() for text in axis.texts] == ["dog 0.90"]
    with pytest.raises(ValueError, match="expected"):
        plot_detections(images, {"boxes": predictions["boxes"]}, ["dog"])


def test_tiny_detector_with_new_classes_keeps_the_rest():
    from tlcourse.boxes import build_dfine_detector, detector_with_new_classes

    detector = build_dfine_detector("tiny")
    assert detector.backbone.image_shape == (64, 64, 3) and detector.num_classes == 80
    tuned, kept, new = detector_with_new_classes(detector, 2)
    assert tuned.num_classes == 2 and tuned.backbone.num_labels == 2
    assert kept > 0 and new > 0
    first = detector.backbone.weights[0]
    np.testing.assert_array_equal(tuned.backbone.weights[0].numpy(), first.numpy())


@pytest.mark.parametrize("call", [lambda: __import__("tlcourse.boxes").boxes.build_dfine_detector("huge"),
                                  lambda: __import__("tlcourse.boxes").boxes.build_dfine_detector("tiny", 0)])
def test_detector_bad_input(call):
    with pytest.raises(ValueError, match="expected"):
        call()


def test_plot_anchors_draws_the_examples_the_matches_and_the_true_box():
    from tlcourse.boxes import plot_anchors

    image = np.zeros((32, 32, 3), "float32")
    anchors = np.array([[0.1, 0.1, 0.5, 0.5], [0.2, 0.2, 0.6, 0.6], [-0.2, -0.2, 1.2, 1.2]])
    figure = plot_anchors(image, [0.1, 0.1, 0.5, 0.5], anchors[:2], anchors)
    left, right = figure.axes
    assert len(left.patches) == 3 + 1 and len(right.patches) == 2 + 1  # the boxes, and the true box in each
    assert right.get_title() == "matched as positives (2)"
    with pytest.raises(ValueError, match="one image"):
        plot_anchors(np.zeros((1, 32, 32, 3)), [0, 0, 1, 1], anchors)
