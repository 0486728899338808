"""A catalogue of Keras Applications backbones, plus freezing and head-building helpers.

Notebook 03 writes these steps out in full (``include_top=False``, ``trainable = False``, the
base's own ``preprocess_input``, the head); later notebooks and the tests call the helpers.

BatchNormalization, the one story the course tells: BN layers keep moving statistics (a mean
and a variance per channel) learned on the source data. In Keras 3 a BN layer whose
``trainable`` is False runs in inference mode: it uses those statistics and never updates them,
whatever ``training`` flag it is called with. So a frozen base (``freeze``) keeps them, and
``unfreeze_top`` keeps every BN layer frozen when it unfreezes layers for fine-tuning. Calling
``base_model(x, training=False)`` does NOT protect them on its own: during ``fit`` the outer
model's ``training=True`` reaches the nested base and overrides the flag
(keras-team/keras#20285). The flag is harmless and documents intent; the BN layers'
``trainable = False`` is what keeps the statistics put. ``tests/test_models.py`` measures all
four cases on the installed Keras; notebook 08 (fine-tuning) will show them.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import keras
import numpy as np
from keras import layers

from tlcourse.checks import (check_int, check_int_sequence, check_model, check_num_classes, check_number,
                             check_text)
from tlcourse.downloads import download_guard

MAX_IMAGE_SIZE = 2048  # larger sides are typing mistakes, not images


@dataclass(frozen=True)
class Backbone:
    """What you need to know to use one pretrained backbone.

    Attributes:
        name: the ``keras.applications`` class name, e.g. ``"MobileNetV2"``.
        module: the ``keras.applications`` submodule holding its ``preprocess_input``.
        min_size: smallest input side Keras accepts with ``include_top=False``.
        default_size: the input side its ImageNet weights were trained at.
        feature_dim: channels of its last feature map (the pooled feature size).
        preprocessing: what ``preprocess_input`` does, in words.
        imagenet_sizes: input sides that have ImageNet weights, when only some do.
    """

    name: str
    module: str
    min_size: int
    default_size: int
    feature_dim: int
    preprocessing: str
    imagenet_sizes: tuple[int, ...] | None = None

    @property
    def constructor(self) -> Callable[..., keras.Model]:
        """The ``keras.applications`` constructor, e.g. ``keras.applications.MobileNetV2``."""
        return getattr(keras.applications, self.name)

    @property
    def preprocess_input(self) -> Callable:
        """The matching ``keras.applications.<module>.preprocess_input`` (expects 0–255 input)."""
        return getattr(keras.applications, self.module).preprocess_input


_TF_STYLE = "scales 0–255 to [-1, 1]"
_CAFFE = "RGB→BGR, subtracts the ImageNet channel means (caffe style)"
_INSIDE = "pass-through: the model rescales inside, so feed 0–255"

BACKBONES: dict[str, Backbone] = {
    backbone.name: backbone
    for backbone in (
        Backbone("MobileNetV2", "mobilenet_v2", 32, 224, 1280, _TF_STYLE, (96, 128, 160, 192, 224)),
        Backbone("MobileNetV3Small", "mobilenet_v3", 32, 224, 576, _INSIDE),
        Backbone("EfficientNetB0", "efficientnet", 32, 224, 1280, _INSIDE),
        Backbone("ResNet50", "resnet50", 32, 224, 2048, _CAFFE),
        Backbone("VGG16", "vgg16", 32, 224, 512, _CAFFE),
        Backbone("InceptionV3", "inception_v3", 75, 299, 2048, _TF_STYLE),
        Backbone("Xception", "xception", 71, 299, 2048, _TF_STYLE),
    )
}


def get_backbone(name: str) -> Backbone:
    """Return the catalogue entry for ``name``.

    Raises:
        ValueError: unknown name; the message lists the valid ones.

    Example:
        >>> get_backbone("ResNet50").feature_dim
        2048
    """
    check_text("name", name, fix=f"pass a backbone name, one of {', '.join(BACKBONES)}")
    if name not in BACKBONES:
        from tlcourse.checks import suggest

        raise ValueError(f"Unknown backbone {name!r}. {suggest(name, BACKBONES)} Choose one of: "
                         f"{', '.join(BACKBONES)}.".replace(".  ", ". "))
    return BACKBONES[name]


def build_backbone(name: str, image_size: int, weights: str | None = "imagenet") -> keras.Model:
    """Build ``name`` with ``include_top=False`` for square RGB images of side ``image_size``.

    Checks the input size first (so you get a readable error instead of a deep one), and turns a
    failed weights download into a ``DownloadError`` that names the fix.

    Args:
        name: a key of ``BACKBONES``.
        image_size: input side in pixels, at least the backbone's ``min_size``.
        weights: ``"imagenet"``, ``None`` (random) or a path to a weights file.

    Example:
        >>> base_model = build_backbone("MobileNetV2", 96, weights=None)
        >>> base_model.output_shape
        (None, 3, 3, 1280)
    """
    backbone = get_backbone(name)
    image_size = check_int("image_size", image_size, maximum=MAX_IMAGE_SIZE,
                           fix=f"use a side in pixels such as {backbone.default_size}")
    if weights is not None and not isinstance(weights, (str, os.PathLike)):
        raise TypeError(f"weights={weights!r} is a {type(weights).__name__}: expected \"imagenet\", None "
                        "(random weights) or a path to a weights file. Fix: e.g. weights=settings.weights.")
    if image_size < backbone.min_size:
        raise ValueError(
            f"{name} needs input images of at least {backbone.min_size} px, got image_size="
            f"{image_size}. Use image_size >= {backbone.min_size} (it was trained at "
            f"{backbone.default_size} px)."
        )
    if weights == "imagenet" and backbone.imagenet_sizes and image_size not in backbone.imagenet_sizes:
        raise ValueError(
            f"{name} has ImageNet weights only for image_size in {backbone.imagenet_sizes}, got "
            f"{image_size}. Pick one of those sizes."
        )
    if weights == "imagenet":  # Keras' cache where tlcourse set it; a read-only share through its stand-in
        from tlcourse.paths import point_keras_cache

        point_keras_cache()
    with download_guard(f"{name} ImageNet weights"):
        return backbone.constructor(
            include_top=False, weights=weights, input_shape=(image_size, image_size, 3)
        )


def freeze(model: keras.Model) -> keras.Model:
    """Freeze every weight of ``model`` (``model.trainable = False``) and return it.

    Its BatchNormalization layers then run in inference mode and keep their moving statistics.
    ``compile`` again afterwards: ``trainable`` takes effect when the training function is
    built, at the first ``fit`` after ``compile``.
    """
    check_model("model", model)
    model.trainable = False
    return model


def unfreeze_top(model: keras.Model, num_layers: int) -> keras.Model:
    """Make only the top ``num_layers`` layers of ``model`` trainable, BatchNorm layers excepted.

    Every BatchNormalization layer stays frozen: with ``trainable = False`` a Keras 3 BN layer runs
    in inference mode, so neither its scale/offset nor its moving statistics change. Calling the
    base with ``training=False`` does not do that on its own: during ``fit`` the outer
    ``training=True`` reaches the nested base and overrides the flag (keras-team/keras#20285;
    ``tests/test_models.py`` measures it). Compile again afterwards: ``trainable`` takes effect
    when the training function is built, at the first ``fit`` after ``compile``.

    Args:
        model: the backbone (e.g. from ``build_backbone``).
        num_layers: how many layers, counted from the output, to unfreeze (0 … len(model.layers)).

    Example:
        >>> base_model = unfreeze_top(build_backbone("MobileNetV2", 96, weights=None), 20)
    """
    check_model("model", model)
    num_layers = check_int("num_layers", num_layers, minimum=0, maximum=len(model.layers),
                           fix=f"count layers from the output; {model.name} has {len(model.layers)}")
    model.trainable = True
    cut = len(model.layers) - num_layers
    for index, layer in enumerate(model.layers):
        layer.trainable = index >= cut and not isinstance(layer, layers.BatchNormalization)
    return model


def count_params(model: keras.Layer) -> dict[str, int]:
    """Return ``{"trainable": …, "non_trainable": …, "total": …}`` parameter counts.

    Works for a whole model and for a single layer (a ``keras.Model`` is a layer too).

    Example:
        >>> count_params(keras.Sequential([keras.Input((3,)), layers.Dense(2)]))
        {'trainable': 8, 'non_trainable': 0, 'total': 8}
    """
    if not isinstance(model, keras.Layer):
        raise TypeError(f"model={model!r:.80} is a {type(model).__name__}: expected a keras.Model or a layer. "
                        "Fix: pass the model (or one of model.layers).")
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    non_trainable = sum(math.prod(w.shape) for w in model.non_trainable_weights)
    return {"trainable": trainable, "non_trainable": non_trainable, "total": trainable + non_trainable}


def build_classifier(
    backbone_name: str,
    num_classes: int,
    image_size: int,
    *,
    weights: str | None = "imagenet",
    dropout: float = 0.2,
    augmentation: keras.Layer | None = None,
) -> tuple[keras.Model, keras.Model]:
    """Build input → [augmentation] → preprocess_input → frozen base → pooling → dropout → logits.

    Introduced step by step in notebook 03. The base is frozen (``trainable = False``), which is
    what keeps its BatchNormalization statistics put; it is also called with ``training=False``,
    which documents intent but protects nothing on its own during ``fit`` (see the module
    docstring). The last Dense layer outputs logits (use ``from_logits=True``) in float32, so it
    also works under mixed precision.

    Returns:
        ``(model, base_model)``; unfreeze layers of ``base_model`` later for fine-tuning.

    Example:
        >>> model, base_model = build_classifier("MobileNetV2", 5, 96, weights=None)
        >>> model.output_shape
        (None, 5)
    """
    num_classes = check_num_classes(num_classes, minimum=2)
    dropout = check_number("dropout", dropout, minimum=0, below=1,
                           fix="use a rate such as 0.2 (1.0 would drop every feature)")
    if augmentation is not None and not callable(augmentation):
        raise TypeError(f"augmentation={augmentation!r} is a {type(augmentation).__name__}: expected a "
                        "Keras layer (e.g. keras.Sequential([layers.RandomFlip()])) or None.")
    backbone = get_backbone(backbone_name)
    base_model = freeze(build_backbone(backbone_name, image_size, weights))
    inputs = keras.Input(shape=(image_size, image_size, 3))
    x = augmentation(inputs) if augmentation is not None else inputs
    x = backbone.preprocess_input(x)
    x = base_model(x, training=False)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(num_classes, dtype="float32")(x)
    return keras.Model(inputs, outputs, name=f"{backbone_name}_classifier"), base_model


def build_scratch_cnn(num_classes: int, image_size: int, *, filters: tuple[int, ...] = (16, 32, 64, 128),
                      dropout: float = 0.3, augmentation: keras.Layer | None = None) -> keras.Model:
    """Build notebook 02's small CNN, to be trained from scratch (every weight random, all trainable).

    Written out layer by layer in notebook 02; later notebooks use this copy as their
    "normal training" baseline. input → [augmentation] → Rescaling(1/255) → one block per entry
    of ``filters`` (3×3 ReLU convolution, ``strides=2`` in the first block, then 2×2 max pooling)
    → global average pooling → dropout → ``Dense`` logits in float32 (``from_logits=True``).

    Args:
        num_classes: number of classes, at least 2.
        image_size: side of the square RGB input images (0–255), at least ``2 ** (len(filters) + 1)``.
        filters: channels of each convolution block.
        dropout: dropout rate before the logits, in [0, 1).
        augmentation: a layer (e.g. ``keras.Sequential`` of ``RandomFlip``…) applied first; it
            runs only in training.

    Example:
        >>> build_scratch_cnn(5, 96).output_shape
        (None, 5)
    """
    check_int("num_classes", num_classes, minimum=2, fix="a classifier needs at least two classes")
    filters = check_int_sequence("filters", filters, minimum=1, fix="use e.g. filters=(16, 32, 64, 128)")
    smallest = 2 ** (len(filters) + 1)
    check_int("image_size", image_size, minimum=smallest,
                     fix=f"{len(filters)} blocks halve the image {len(filters) + 1} times: use image_size >= {smallest}")
    dropout = check_number("dropout", dropout, minimum=0, below=1, fix="use e.g. dropout=0.3")
    if augmentation is not None and not callable(augmentation):
        raise TypeError(f"augmentation={augmentation!r} is a {type(augmentation).__name__}: expected a Keras "
                        "layer such as keras.Sequential([layers.RandomFlip('horizontal')]), or None.")
    inputs = keras.Input(shape=(image_size, image_size, 3))
    x = augmentation(inputs) if augmentation is not None else inputs
    x = layers.Rescaling(1.0 / 255)(x)
    for block, block_filters in enumerate(filters, start=1):
        x = layers.Conv2D(block_filters, 3, strides=2 if block == 1 else 1, padding="same",
                          activation="relu", name=f"conv_{block}")(x)
        x = layers.MaxPooling2D(name=f"pool_{block}")(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(num_classes, dtype="float32", name="logits")(x)
    return keras.Model(inputs, outputs, name="scratch_cnn")


# --- Notebook 07: published numbers and measured speed -----------------------------------------

KERAS_APPLICATIONS_TABLE = "https://keras.io/api/applications/"
"""The "Available models" table of the Keras Applications documentation."""

MOBILENET_V3_TABLE = "https://keras.io/api/applications/mobilenet/"
"""The MobileNetV3 docstring's table (MobileNetV3 is not in the main table)."""


@dataclass(frozen=True)
class PublishedNumbers:
    """What the Keras documentation publishes about a backbone's ImageNet model (with its top).

    Attributes:
        size_mb: size of the weight file with the classifier top, in MB (``None``: not published).
        top1: ImageNet top-1 validation accuracy, as a fraction (0.713 for 71.3 %).
        params_millions: parameters of the full model, classifier top included, in millions.
        source: where the numbers were read.
    """

    size_mb: float | None
    top1: float
    params_millions: float
    source: str


PUBLISHED: dict[str, PublishedNumbers] = {
    # Read from the Keras Applications table (Size (MB), Top-1 Accuracy, Parameters) and, for
    # MobileNetV3Small, from the MobileNetV3 table (mobilenet_v3_small_1.0_224). Used by notebook 07.
    "MobileNetV2": PublishedNumbers(14, 0.713, 3.5, KERAS_APPLICATIONS_TABLE),
    "MobileNetV3Small": PublishedNumbers(None, 0.681, 2.9, MOBILENET_V3_TABLE),
    "EfficientNetB0": PublishedNumbers(29, 0.771, 5.3, KERAS_APPLICATIONS_TABLE),
    "ResNet50": PublishedNumbers(98, 0.749, 25.6, KERAS_APPLICATIONS_TABLE),
    "VGG16": PublishedNumbers(528, 0.713, 138.4, KERAS_APPLICATIONS_TABLE),
    "InceptionV3": PublishedNumbers(92, 0.779, 23.9, KERAS_APPLICATIONS_TABLE),
    "Xception": PublishedNumbers(88, 0.790, 22.9, KERAS_APPLICATIONS_TABLE),
}


class Throughput(NamedTuple):
    """Forward-pass speed of a model, as ``measure_throughput`` returns it.

    Attributes:
        images_per_second: timed images divided by timed seconds.
        images: how many images were timed (the warm-up pass not included).
        seconds: wall time of the timed passes.
    """

    images_per_second: float
    images: int
    seconds: float


def measure_throughput(model: keras.Model, *, batch_size: int = 32, batches: int = 3,
                       preprocess_input: Callable | None = None, seed: int = 0) -> Throughput:
    """Time ``model``'s forward pass (inference mode) on random 0–255 images of its input size.

    Used by notebook 07 to compare backbones on the learner's own hardware. One untimed pass
    first builds and traces the predict function; then ``batches`` passes of ``batch_size``
    images are timed with ``predict_on_batch``. ``preprocess_input`` is applied before the
    timer starts (it is cheap next to the base). The weights do not change the cost of a
    forward pass, so ``weights=None`` gives the same speed as ImageNet weights.

    Args:
        model: a model with a fully known image input shape, e.g. a base built with
            ``include_top=False, input_shape=(160, 160, 3)``.
        batch_size: images per pass.
        batches: timed passes (at least 1).
        preprocess_input: the backbone's ``preprocess_input``, or ``None``.
        seed: seed of the random images.

    Returns:
        ``Throughput(images_per_second, images, seconds)``.

    Example:
        >>> base_model = build_backbone("MobileNetV3Small", 32, weights=None)
        >>> measure_throughput(base_model, batch_size=2, batches=1).images
        2
    """
    check_model("model", model)
    check_int("batch_size", batch_size, minimum=1, fix="use e.g. batch_size=32")
    check_int("batches", batches, minimum=1, fix="time at least one pass, e.g. batches=3")
    shape = tuple(model.input_shape[1:]) if not isinstance(model.input_shape, list) else None
    if not shape or any(side is None for side in shape):
        raise ValueError(f"model {model.name!r} has input shape {model.input_shape}: expected a fully "
                         "known image shape such as (None, 160, 160, 3). Fix: build it with "
                         "input_shape=(size, size, 3).")
    if preprocess_input is not None and not callable(preprocess_input):
        raise TypeError(f"preprocess_input={preprocess_input!r} is not a function: pass e.g. "
                        "keras.applications.resnet50.preprocess_input, or None.")
    images = np.random.default_rng(seed).uniform(0, 255, (batch_size, *shape)).astype("float32")
    if preprocess_input is not None:
        images = np.asarray(preprocess_input(images))
    model.predict_on_batch(images)  # warm-up: builds and traces the predict function
    started = time.perf_counter()
    for _ in range(batches):
        model.predict_on_batch(images)
    seconds = time.perf_counter() - started
    return Throughput(batch_size * batches / seconds, batch_size * batches, seconds)
