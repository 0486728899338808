"""``tlcourse.models.build_scratch_cnn``: notebook 02's CNN from scratch, as a helper.

Built at small sizes, no training: a second or two.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

from tlcourse.models import build_scratch_cnn, count_params

NUM_CLASSES = 5
IMAGE_SIZE = 64


def written_out_like_notebook_02(num_classes: int, image_size: int, filters=(16, 32, 64, 128),
                                 dropout: float = 0.3, augmentation=None) -> keras.Model:
    """Notebook 02's cell, copied: the helper must build exactly this."""
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


def test_shape_names_and_parameters_match_notebook_02():
    model = build_scratch_cnn(NUM_CLASSES, IMAGE_SIZE)
    reference = written_out_like_notebook_02(NUM_CLASSES, IMAGE_SIZE)
    assert model.name == "scratch_cnn"
    assert model.output_shape == (None, NUM_CLASSES)
    assert count_params(model) == count_params(reference)
    assert count_params(model)["trainable"] == count_params(model)["total"], "everything trains from scratch"
    assert [layer.name for layer in model.layers if isinstance(layer, (layers.Conv2D, layers.MaxPooling2D))] == [
        "conv_1", "pool_1", "conv_2", "pool_2", "conv_3", "pool_3", "conv_4", "pool_4"]
    assert [layer.output.shape for layer in model.layers[1:]] == [layer.output.shape for layer in reference.layers[1:]]
    assert model.get_layer("conv_1").strides == (2, 2) and model.get_layer("conv_2").strides == (1, 1)
    assert model.get_layer("logits").dtype_policy.compute_dtype == "float32"
    assert isinstance(model.layers[1], layers.Rescaling) and model.layers[1].scale == pytest.approx(1 / 255)


def test_same_weights_give_the_same_logits_as_the_written_out_model():
    model = build_scratch_cnn(NUM_CLASSES, IMAGE_SIZE, filters=(8, 16), dropout=0.5)
    reference = written_out_like_notebook_02(NUM_CLASSES, IMAGE_SIZE, filters=(8, 16), dropout=0.5)
    reference.set_weights(model.get_weights())
    images = np.random.default_rng(0).uniform(0, 255, (2, IMAGE_SIZE, IMAGE_SIZE, 3)).astype("float32")
    np.testing.assert_allclose(model.predict_on_batch(images), reference.predict_on_batch(images), atol=1e-6)
    assert model.layers[-2].rate == pytest.approx(0.5)


def test_augmentation_is_applied_first():
    augmentation = keras.Sequential([layers.RandomFlip("horizontal")], name="data_augmentation")
    model = build_scratch_cnn(NUM_CLASSES, IMAGE_SIZE, augmentation=augmentation)
    assert model.layers[1] is augmentation
    assert count_params(model) == count_params(
        written_out_like_notebook_02(NUM_CLASSES, IMAGE_SIZE, augmentation=augmentation))


@pytest.mark.parametrize("kwargs, error, words", [
    ({"num_classes": 1}, ValueError, "num_classes=1"),
    ({"num_classes": 5.0}, TypeError, "num_classes=5.0"),
    ({"image_size": 16}, ValueError, "image_size >= 32"),
    ({"image_size": "96"}, TypeError, "image_size='96'"),
    ({"filters": 16}, TypeError, "filters=16"),
    ({"filters": ()}, ValueError, "is empty"),
    ({"filters": (16, 0)}, ValueError, "filters[1]=0"),
    ({"dropout": 1.0}, ValueError, "dropout=1.0"),
    ({"dropout": None}, TypeError, "dropout=None"),
])
def test_bad_arguments_are_refused_with_the_fix(kwargs, error, words):
    arguments = {"num_classes": NUM_CLASSES, "image_size": IMAGE_SIZE, **kwargs}
    num_classes, image_size = arguments.pop("num_classes"), arguments.pop("image_size")
    with pytest.raises(error) as caught:
        build_scratch_cnn(num_classes, image_size, **arguments)
    assert words in str(caught.value)


def test_fewer_blocks_allow_smaller_images():
    model = build_scratch_cnn(3, 8, filters=(4, 8))
    assert model.output_shape == (None, 3)
