"""Evaluating a trained classifier: one pass of predictions, its worst mistakes, and Grad-CAM.

Introduced in notebook 09 ("evaluate, test and compare"). ``predict_dataset`` runs the model
over a dataset *once* and keeps labels, logits (and, if asked, the images), so every later
report — confusion matrix, per-class precision/recall/F1, the gallery of mistakes — reads the
same predictions instead of touching the test set again. ``most_confident_mistakes`` picks the
wrong predictions the model was surest of. ``grad_cam`` computes Grad-CAM heatmaps (Selvaraju
et al., 2017) for a model built around a nested pretrained base, as every model of this course
is: where in the image the base's features made the model vote for a class.

Example:
    >>> import keras
    >>> from keras import layers
    >>> base_model = keras.Sequential([keras.Input((8, 8, 3)), layers.Conv2D(4, 3)], name="base")
    >>> inputs = keras.Input((8, 8, 3))
    >>> x = layers.GlobalAveragePooling2D()(base_model(inputs))
    >>> model = keras.Model(inputs, layers.Dense(2)(x))
    >>> grad_cam(model, base_model, np.ones((1, 8, 8, 3), "float32")).heatmaps.shape
    (1, 6, 6)
"""

from __future__ import annotations

from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from tlcourse import checks


class Predictions(NamedTuple):
    """A model's outputs on every example of a dataset, from one pass (``predict_dataset``).

    Attributes:
        labels: the true class indices, int ``[N]``.
        logits: the model's outputs, float32 ``[N, num_classes]`` (logits, as the course's heads
            give them; probabilities work too for ``predicted``).
        images: the images, uint8 ``[N, H, W, 3]`` (0–255), or ``None`` if not kept.
    """

    labels: np.ndarray
    logits: np.ndarray
    images: np.ndarray | None

    @property
    def predicted(self) -> np.ndarray:
        """The predicted class indices (argmax of the outputs), int ``[N]``."""
        return np.argmax(self.logits, axis=-1)

    @property
    def probabilities(self) -> np.ndarray:
        """Softmax of the logits, float32 ``[N, num_classes]`` (each row sums to 1)."""
        shifted = self.logits - self.logits.max(axis=-1, keepdims=True)
        exponentials = np.exp(shifted)
        return (exponentials / exponentials.sum(axis=-1, keepdims=True)).astype(np.float32)

    @property
    def confidence(self) -> np.ndarray:
        """The probability of the predicted class, float32 ``[N]``."""
        return self.probabilities.max(axis=-1)

    @property
    def accuracy(self) -> float:
        """The fraction of examples predicted right."""
        return float(np.mean(self.predicted == self.labels)) if len(self.labels) else float("nan")


def predict_dataset(model: keras.Model, ds: tf.data.Dataset, *, keep_images: bool = False) -> Predictions:
    """Run ``model`` over a batched ``(images, labels)`` dataset once; keep everything reports need.

    Iterate the dataset a single time and keep the labels next to the outputs, so they are
    guaranteed to line up (a dataset that reshuffles would give a different order on a second
    pass). The model runs in inference mode (``predict_on_batch``: augmentation and dropout off).

    Args:
        model: a trained classifier.
        ds: batched ``(images, labels)`` pairs, e.g. ``test_ds`` from ``tlcourse.data.prepare``.
        keep_images: also keep the images (as uint8, 0–255) for a gallery; costs
            ``N × H × W × 3`` bytes (550 images of 160 px: 42 MB).

    Returns:
        ``Predictions(labels, logits, images)``.

    Example:
        >>> predictions = predict_dataset(model, test_ds, keep_images=True)  # doctest: +SKIP
        >>> predictions.accuracy, predictions.predicted[:5]  # doctest: +SKIP
    """
    checks.check_model("model", model)
    checks.check_dataset("ds", ds, batched=True)
    labels, logits, images = [], [], []
    for batch_images, batch_labels in ds:
        labels.append(np.asarray(batch_labels).reshape(-1))
        logits.append(np.asarray(model.predict_on_batch(batch_images), dtype=np.float32))
        if keep_images:
            images.append(np.clip(np.round(np.asarray(batch_images)), 0, 255).astype(np.uint8))
    if not labels:
        raise ValueError("ds yielded no batches: expected at least one (images, labels) batch. Fix: "
                         "check that the split is not empty (tlcourse.data.count_examples(ds)).")
    return Predictions(np.concatenate(labels).astype(np.int64), np.concatenate(logits),
                       np.concatenate(images) if keep_images else None)


def most_confident_mistakes(predictions: Predictions, count: int) -> np.ndarray:
    """Return the indices of the (at most ``count``) wrong predictions with the highest confidence.

    The most confident mistakes are the ones worth looking at first: a mislabelled image, two
    classes that look alike, or something in the background the model relies on.

    Args:
        predictions: from ``predict_dataset``.
        count: how many to return at most.

    Returns:
        int array of indices into the predictions, surest mistake first (empty if none is wrong).

    Example:
        >>> p = Predictions(np.array([0, 1, 1]), np.array([[3., 0.], [2., 1.], [0., 1.]]), None)
        >>> most_confident_mistakes(p, 5).tolist()
        [1]
    """
    if not isinstance(predictions, Predictions):
        raise TypeError(f"predictions={type(predictions).__name__}: expected the Predictions that "
                        "predict_dataset returns. Fix: predictions = predict_dataset(model, test_ds).")
    count = checks.check_int("count", count, minimum=1, fix="e.g. count=12")
    wrong = np.flatnonzero(predictions.predicted != predictions.labels)
    order = np.argsort(-predictions.confidence[wrong], kind="stable")
    return wrong[order][:count]


class GradCam(NamedTuple):
    """Grad-CAM heatmaps, as ``grad_cam`` returns them.

    Attributes:
        heatmaps: float32 ``[N, h, w]`` in 0–1 (1: where the evidence for the class is
            strongest), at the feature map's resolution (e.g. 5 × 5 for MobileNetV2 at 160 px).
        class_indices: the class each heatmap explains, int ``[N]``.
        layer_name: the layer whose feature map was used.
    """

    heatmaps: np.ndarray
    class_indices: np.ndarray
    layer_name: str


def _outer_call(model: keras.Model, base_model: keras.Model) -> tuple:
    """The symbolic input and output of ``base_model``'s call inside ``model``'s graph.

    Keras 3 has no public handle on them: ``base_model.output`` is the nested model's *own*
    output (a model built from it is "not connected" to ``model.inputs``). Each call of a layer
    is recorded as a node in ``layer._inbound_nodes``; the node of the call inside ``model`` is
    the one whose input is connected to ``model``'s input.
    """
    for node in base_model._inbound_nodes:
        if len(node.input_tensors) != 1 or len(node.output_tensors) != 1:
            continue
        try:
            prefix = keras.Model(model.inputs, node.input_tensors[0])
            # Keras 3.15 refuses a model across graphs when it is built; Keras 3.13 (Colab)
            # builds it and fails only when it runs: run it once on one blank input.
            prefix(np.zeros((1, *(size or 32 for size in model.input_shape[1:])), dtype="float32"))
        except (ValueError, KeyError):  # a call in another graph (e.g. another classifier on the same base)
            continue
        return prefix, node.output_tensors[0]
    raise ValueError(f"base_model {base_model.name!r} is a layer of model {model.name!r} but is not "
                     "called on one tensor from its input. Fix: build the model functionally as in "
                     "notebook 03: x = base_model(x, training=False).")


def grad_cam(model: keras.Model, base_model: keras.Model, images: np.ndarray, *,
             class_indices: np.ndarray | None = None, layer_name: str | None = None) -> GradCam:
    """Compute Grad-CAM heatmaps for a functional model built around a nested base.

    For each image: run the model in inference mode, take the logit of the class to explain
    (default: the predicted class), compute its gradients with respect to a feature map of the
    base with ``tf.GradientTape`` (default: the base's last feature map, the one the head pools),
    average them over height and width to get one weight per channel, and sum the channels
    weighted that way. Keep the positive part (``ReLU``: evidence *for* the class) and divide by
    the image's maximum, so each heatmap lies in 0–1 (all zeros where nothing speaks for the
    class). Works whatever the base's ``trainable`` is: the tape watches the feature map itself.

    Args:
        model: a functional classifier that calls ``base_model`` once, as in notebook 03
            (input → [augmentation] → preprocess_input → base → pooling → … → logits).
        base_model: the nested pretrained base (a layer of ``model``).
        images: ``[N, H, W, 3]`` pixels as the model takes them (0–255 in this course).
        class_indices: the class to explain for each image, ``[N]``; default the predicted one.
        layer_name: a layer of ``base_model`` with a 4-D output (e.g. ``"block_13_expand_relu"``
            in MobileNetV2: a finer, earlier map); default the base's output. The gradient flows
            along every path from that layer to the logits, skip connections included.

    Returns:
        ``GradCam(heatmaps, class_indices, layer_name)``.

    Raises:
        TypeError, ValueError: bad arguments; the message says what was expected.

    Example:
        >>> cam = grad_cam(model, base_model, images[:4])  # doctest: +SKIP
        >>> cam.heatmaps.shape  # doctest: +SKIP
        (4, 5, 5)
    """
    checks.check_model("model", model)
    checks.check_model("base_model", base_model)
    if not any(layer is base_model for layer in model.layers):
        raise ValueError(f"base_model {base_model.name!r} is not a layer of model {model.name!r} "
                         f"(its layers: {', '.join(layer.name for layer in model.layers)}). Fix: pass "
                         "the base you built the model around, e.g. grad_cam(model, base_model, images).")
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or len(images) == 0:
        raise ValueError(f"images has shape {images.shape}: expected [N, H, W, C] with N >= 1. Fix: "
                         "pass a batch, e.g. images[:4] (one image: image[None]).")
    expected = tuple(model.input_shape[1:]) if isinstance(model.input_shape, tuple) else ()
    if len(expected) == 3 and any(want is not None and want != got for want, got in zip(expected, images.shape[1:])):
        raise ValueError(f"images have shape {images.shape[1:]} but model takes {expected}: expected images of "
                         f"the model's input size. Fix: resize them first, e.g. tf.image.resize(images, "
                         f"{tuple(expected[:2])}).")
    if layer_name is None and len(base_model.outputs[0].shape) != 4:
        raise ValueError(f"base_model {base_model.name!r} outputs shape {tuple(base_model.outputs[0].shape)}, "
                         "not a feature map [batch, height, width, channels] (built with pooling='avg' or "
                         "'max'?): Grad-CAM needs the map before pooling. Fix: pass layer_name= a convolutional "
                         "layer of the base (e.g. base_model.layers[-2].name), or build the base with "
                         "pooling=None and pool in the head, as notebook 03 does.")
    prefix, base_output = _outer_call(model, base_model)
    try:
        suffix = keras.Model(base_output, model.outputs[0])
    except ValueError as error:
        raise ValueError(f"model {model.name!r} uses its input again after {base_model.name!r} (a skip "
                         "around the base), so the head cannot be split off for Grad-CAM. Fix: build "
                         "input → base → head, as in notebook 03.") from error
    if layer_name is None:
        layer_name = base_model.layers[-1].name
    else:
        if not isinstance(layer_name, str):
            raise TypeError(f"layer_name={layer_name!r} is a {type(layer_name).__name__}: expected the "
                            "name of a layer of base_model. Fix: e.g. layer_name=base_model.layers[-10].name.")
        names = [layer.name for layer in base_model.layers]
        if layer_name not in names:
            raise ValueError(f"layer_name={layer_name!r} is not a layer of {base_model.name!r}: expected "
                             f"one of its {len(names)} layers, e.g. {names[-1]!r} or {names[len(names) // 2]!r}. "
                             "Fix: list them with [layer.name for layer in base_model.layers].")
        layer_output = base_model.get_layer(layer_name).output
        if len(layer_output.shape) != 4:
            raise ValueError(f"layer {layer_name!r} outputs shape {layer_output.shape}: expected a 4-D "
                             "feature map [batch, height, width, channels]. Fix: pick a convolutional "
                             "block's output (e.g. a name ending in '_relu' or '_add').")
        # One model with two outputs, the feature map and the base's output: the gradient then
        # flows along every path from the layer to the logits (skip connections included), and
        # no model starts from an inner tensor (Keras 3.13 fails on those when they run).
        base_model = keras.Model(base_model.inputs, [layer_output, base_model.outputs[0]])
    if class_indices is not None:
        class_indices = np.asarray(class_indices).reshape(-1)
        num_classes = model.outputs[0].shape[-1]
        if len(class_indices) != len(images) or not np.issubdtype(class_indices.dtype, np.integer) or (
                class_indices.min() < 0 or class_indices.max() >= num_classes):
            raise ValueError(f"class_indices={class_indices.tolist()!r}: expected {len(images)} class "
                             f"indices from 0 to {num_classes - 1}, one per image. Fix: leave it out "
                             "(explain the predicted class) or pass e.g. labels[:len(images)].")

    inputs = tf.convert_to_tensor(images)
    with tf.GradientTape() as tape:
        outputs = base_model(prefix(inputs, training=False), training=False)
        feature_maps, features = outputs if isinstance(outputs, (list, tuple)) else (outputs, outputs)
        logits = tf.cast(suffix(features, training=False), tf.float32)
        if class_indices is None:
            class_indices = np.argmax(logits.numpy(), axis=-1)
        scores = tf.gather(logits, tf.constant(class_indices, tf.int32), axis=1, batch_dims=1)
    gradients = tf.cast(tape.gradient(scores, feature_maps), tf.float32)
    feature_maps = tf.cast(feature_maps, tf.float32)
    channel_weights = tf.reduce_mean(gradients, axis=(1, 2), keepdims=True)
    heatmaps = tf.nn.relu(tf.reduce_sum(feature_maps * channel_weights, axis=-1)).numpy()
    heatmaps = np.nan_to_num(heatmaps, nan=0.0, posinf=0.0, neginf=0.0)
    peaks = heatmaps.max(axis=(1, 2), keepdims=True)
    heatmaps = np.divide(heatmaps, peaks, out=np.zeros_like(heatmaps), where=peaks > 0)
    return GradCam(heatmaps.astype(np.float32), np.asarray(class_indices, dtype=np.int64), layer_name)
