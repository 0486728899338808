"""The backbone catalogue, freezing, fine-tuning and the classifier builder (``models.py``).

Everything is built with ``weights=None`` at small input sizes: no download, a few seconds each.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
from keras import layers

from tlcourse.downloads import DownloadError
from tlcourse.models import (BACKBONES, build_backbone, build_classifier, count_params, freeze,
                             get_backbone, unfreeze_top)

SMALL_SIZE = {"MobileNetV2": 32, "MobileNetV3Small": 32, "EfficientNetB0": 32, "ResNet50": 32,
              "VGG16": 32, "InceptionV3": 75, "Xception": 71}
TF_STYLE = ["MobileNetV2", "InceptionV3", "Xception"]
CAFFE_STYLE = ["ResNet50", "VGG16"]
PASS_THROUGH = ["EfficientNetB0", "MobileNetV3Small"]
IMAGENET_BGR_MEANS = np.array([103.939, 116.779, 123.68])
CLASSIFIER_SIZE = 40  # not a MobileNetV2 ImageNet size: fine with weights=None
NUM_CLASSES = 3


def is_batch_norm(layer: keras.Layer) -> bool:
    return isinstance(layer, layers.BatchNormalization)


def images(count: int, size: int, seed: int = 0) -> np.ndarray:
    pixels = np.random.default_rng(seed).uniform(0, 255, (count, size, size, 3)).astype("float32")
    pixels[0, 0, 0] = [0, 0, 0]
    pixels[0, 0, 1] = [255, 255, 255]
    return pixels


@pytest.fixture(scope="module")
def classifier() -> tuple[keras.Model, keras.Model]:
    return build_classifier("MobileNetV2", NUM_CLASSES, CLASSIFIER_SIZE, weights=None)


@pytest.fixture(scope="module")
def mobilenet() -> keras.Model:
    return build_backbone("MobileNetV2", 32, weights=None)


# --- the catalogue ----------------------------------------------------------------------------

def test_catalogue_covers_every_family():
    assert set(BACKBONES) == set(TF_STYLE + CAFFE_STYLE + PASS_THROUGH)
    for name, backbone in BACKBONES.items():
        assert get_backbone(name) is backbone and backbone.name == name
        assert backbone.constructor is getattr(keras.applications, name)
        assert backbone.preprocess_input is getattr(keras.applications, backbone.module).preprocess_input
        assert backbone.min_size <= backbone.default_size


def test_build_backbone_unknown_name_is_refused_before_building():
    with pytest.raises(ValueError, match="Choose one of"):
        build_backbone("mobilenetv2", 96, weights=None)


@pytest.mark.parametrize("name", list(BACKBONES))
def test_feature_dim_matches_the_built_model(name):
    size = SMALL_SIZE[name]
    assert size == BACKBONES[name].min_size, "build at the smallest size the catalogue allows"
    base_model = build_backbone(name, size, weights=None)
    assert base_model.input_shape == (None, size, size, 3)
    assert base_model.output_shape[-1] == BACKBONES[name].feature_dim
    assert len(base_model.output_shape) == 4


# --- preprocessing per family -----------------------------------------------------------------

@pytest.mark.parametrize("name", TF_STYLE)
def test_tf_style_preprocessing_scales_to_minus_one_one(name):
    x = images(2, 8)
    out = np.asarray(get_backbone(name).preprocess_input(x.copy()))
    assert out.min() == pytest.approx(-1.0) and out.max() == pytest.approx(1.0)
    np.testing.assert_allclose(out, x / 127.5 - 1.0, rtol=1e-5, atol=1e-5)
    assert "[-1, 1]" in get_backbone(name).preprocessing


@pytest.mark.parametrize("name", CAFFE_STYLE)
def test_caffe_style_preprocessing_flips_to_bgr_and_subtracts_means(name):
    x = images(2, 8)
    out = np.asarray(get_backbone(name).preprocess_input(x.copy()))
    np.testing.assert_allclose(out, x[..., ::-1] - IMAGENET_BGR_MEANS, rtol=1e-5, atol=1e-3)
    assert out.min() < -100 and out.max() > 100, "not scaled: still about ±128"
    assert "BGR" in get_backbone(name).preprocessing


@pytest.mark.parametrize("name", PASS_THROUGH)
def test_pass_through_preprocessing_keeps_0_255(name):
    x = images(2, 8)
    out = np.asarray(get_backbone(name).preprocess_input(x.copy()))
    np.testing.assert_array_equal(out, x)
    assert "0–255" in get_backbone(name).preprocessing


# --- build_backbone: bad input and downloads ------------------------------------------------------

@pytest.mark.parametrize("name", list(BACKBONES))
def test_an_input_below_the_minimum_names_the_minimum(name):
    minimum = BACKBONES[name].min_size
    with pytest.raises(ValueError) as caught:
        build_backbone(name, minimum - 1, weights=None)
    message = str(caught.value)
    assert f"at least {minimum} px" in message and f"image_size={minimum - 1}" in message


def test_min_sizes_of_the_catalogue():
    assert {name: backbone.min_size for name, backbone in BACKBONES.items()} == {
        "MobileNetV2": 32, "MobileNetV3Small": 32, "EfficientNetB0": 32, "ResNet50": 32,
        "VGG16": 32, "InceptionV3": 75, "Xception": 71}


@pytest.fixture
def no_download(monkeypatch):
    """Make every weights download fail as it does offline, without touching the network."""
    calls = []

    def offline(*args, **kwargs):
        calls.append(args or kwargs)
        raise Exception("URL fetch failure on https://storage.googleapis.com/tensorflow/"
                        "keras-applications/mobilenet_v2/weights.h5: None -- [Errno -3] "
                        "Temporary failure in name resolution")

    monkeypatch.setattr("keras.src.utils.file_utils.get_file", offline)
    monkeypatch.setattr(keras.utils, "get_file", offline)
    return calls


@pytest.mark.parametrize("size", [100, 112, 299])
def test_mobilenet_v2_imagenet_weights_exist_only_for_some_sizes(no_download, size):
    with pytest.raises(ValueError) as caught:
        build_backbone("MobileNetV2", size, weights="imagenet")
    message = str(caught.value)
    assert f"got {size}" in message and "(96, 128, 160, 192, 224)" in message
    assert no_download == [], "the size is checked before any download"


def test_only_mobilenet_v2_restricts_imagenet_sizes():
    assert BACKBONES["MobileNetV2"].imagenet_sizes == (96, 128, 160, 192, 224)
    assert all(backbone.imagenet_sizes is None for name, backbone in BACKBONES.items() if name != "MobileNetV2")


def test_imagenet_weights_offline_raise_download_error_naming_the_fix(no_download):
    with pytest.raises(DownloadError) as caught:
        build_backbone("MobileNetV2", 96, weights="imagenet")
    message = str(caught.value)
    assert "MobileNetV2 ImageNet weights" in message
    assert "python -m tlcourse prefetch" in message and "TLCOURSE_PROFILE=smoke" in message
    assert "URL fetch failure" in str(caught.value.__cause__)
    assert len(no_download) == 1, "exactly one download was attempted"


def test_other_constructor_errors_pass_through(monkeypatch):
    def broken(**kwargs):
        raise ValueError("The `weights` argument should be either `None`, 'imagenet' or a path")

    monkeypatch.setattr(keras.applications, "VGG16", broken)
    with pytest.raises(ValueError, match="The `weights` argument"):
        build_backbone("VGG16", 32, weights="/no/such/file.h5")


# --- freeze -----------------------------------------------------------------------------------

def test_freeze_leaves_no_trainable_weights():
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3), layers.BatchNormalization(), layers.Dense(2)])
    assert model.trainable_weights
    assert freeze(model) is model
    assert model.trainable is False and model.trainable_weights == []
    assert count_params(model)["trainable"] == 0 and count_params(model)["non_trainable"] > 0


def test_classifier_base_is_frozen_and_only_the_head_trains(classifier):
    model, base_model = classifier
    assert base_model.trainable is False and base_model.trainable_weights == []
    counts = count_params(base_model)
    assert counts["trainable"] == 0 and counts["non_trainable"] == counts["total"] > 100_000
    feature_dim = BACKBONES["MobileNetV2"].feature_dim
    assert count_params(model)["trainable"] == feature_dim * NUM_CLASSES + NUM_CLASSES


def test_a_fit_step_leaves_the_frozen_base_unchanged(classifier):
    model, base_model = classifier
    before = [weight.copy() for weight in base_model.get_weights()]
    head = model.layers[-1]
    head_before = [weight.copy() for weight in head.get_weights()]
    model.compile(optimizer=keras.optimizers.Adam(0.05),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), run_eagerly=True)
    x, y = images(8, CLASSIFIER_SIZE, seed=1), np.arange(8) % NUM_CLASSES
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    after = base_model.get_weights()
    assert len(after) == len(before)
    for old, new in zip(before, after):
        np.testing.assert_array_equal(old, new)  # kernels and BatchNorm moving statistics alike
    assert any(not np.array_equal(old, new) for old, new in zip(head_before, head.get_weights())), \
        "the head must train, or this test proves nothing"


# --- unfreeze_top -----------------------------------------------------------------------------

@pytest.mark.parametrize("num_layers", [0, 1, 10, 40, "all"])
def test_unfreeze_top_trains_exactly_the_top_non_batchnorm_layers(mobilenet, num_layers):
    model = freeze(mobilenet)
    count = len(model.layers) if num_layers == "all" else num_layers
    assert unfreeze_top(model, count) is model
    top = model.layers[len(model.layers) - count:] if count else []
    expected = [layer.name for layer in top if not is_batch_norm(layer)]
    assert [layer.name for layer in model.layers if layer.trainable] == expected
    assert not any(layer.trainable for layer in model.layers if is_batch_norm(layer))
    trainable_ids = {id(weight) for weight in model.trainable_weights}
    expected_ids = {id(weight) for layer in top if not is_batch_norm(layer) for weight in layer.weights}
    assert trainable_ids == expected_ids
    expected_params = sum(math.prod(weight.shape) for layer in top if not is_batch_norm(layer)
                          for weight in layer.weights)
    assert count_params(model)["trainable"] == expected_params
    if count >= 10:
        assert expected_params > 0, "the top layers hold weights"


def test_unfreeze_top_keeps_batchnorm_frozen_even_when_on_top(mobilenet):
    bn_positions = [i for i, layer in enumerate(mobilenet.layers) if is_batch_norm(layer)]
    assert bn_positions, "MobileNetV2 has BatchNorm layers"
    unfreeze_top(mobilenet, len(mobilenet.layers) - bn_positions[-1])  # the last BN is inside the top
    assert mobilenet.layers[bn_positions[-1]].trainable is False
    assert all(weight.path for weight in mobilenet.trainable_weights)
    assert not any("gamma" in weight.path or "beta" in weight.path for weight in mobilenet.trainable_weights)


@pytest.mark.parametrize("num_layers", [-1, "too_many"])
def test_unfreeze_top_rejects_a_bad_count(mobilenet, num_layers):
    count = len(mobilenet.layers) + 1 if num_layers == "too_many" else num_layers
    with pytest.raises(ValueError) as caught:
        unfreeze_top(mobilenet, count)
    assert f"from 0 to {len(mobilenet.layers)}" in str(caught.value) and f"num_layers={count}" in str(caught.value)


def test_fine_tuning_changes_only_the_unfrozen_layers_and_keeps_bn_statistics(classifier):
    model, base_model = classifier
    try:
        unfreeze_top(base_model, 10)
        cut = len(base_model.layers) - 10
        before = {layer.name: [w.copy() for w in layer.get_weights()] for layer in base_model.layers}
        # Adam, not SGD: at 40 px this random-weight base passes on tiny gradients (~1e-11)
        model.compile(optimizer=keras.optimizers.Adam(0.01),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), run_eagerly=True)
        model.fit(images(8, CLASSIFIER_SIZE, seed=2), np.arange(8) % NUM_CLASSES, batch_size=8,
                  epochs=1, verbose=0)
        changed = {layer.name for layer in base_model.layers
                   if any(not np.array_equal(old, new) for old, new in zip(before[layer.name], layer.get_weights()))}
        allowed = {layer.name for layer in base_model.layers[cut:] if not is_batch_norm(layer)}
        assert changed and changed <= allowed, f"unexpected changes: {sorted(changed - allowed)}"
    finally:
        freeze(base_model)


# --- count_params and build_classifier --------------------------------------------------------

def test_count_params_docstring_example():
    assert count_params(keras.Sequential([keras.Input((3,)), layers.Dense(2)])) == {
        "trainable": 8, "non_trainable": 0, "total": 8}


def test_count_params_counts_batchnorm_statistics_as_non_trainable():
    counts = count_params(keras.Sequential([keras.Input((3,)), layers.Dense(2), layers.BatchNormalization()]))
    assert counts == {"trainable": 8 + 4, "non_trainable": 4, "total": 16}
    assert all(type(value) is int for value in counts.values())


def test_build_classifier_shape_and_logits(classifier):
    model, base_model = classifier
    assert model.name == "MobileNetV2_classifier"
    assert model.input_shape == (None, CLASSIFIER_SIZE, CLASSIFIER_SIZE, 3)
    assert model.output_shape == (None, NUM_CLASSES)
    assert base_model in model.layers
    head = model.layers[-1]
    assert isinstance(head, layers.Dense) and head.activation is keras.activations.linear
    assert head.dtype_policy.name == "float32"


def test_build_classifier_applies_preprocess_input_inside(classifier):
    model, base_model = classifier
    x = images(2, CLASSIFIER_SIZE, seed=3)
    features = base_model(x / 127.5 - 1.0, training=False)
    expected = model.layers[-1](keras.ops.mean(features, axis=(1, 2)))
    np.testing.assert_allclose(model(x, training=False), expected, rtol=1e-4, atol=1e-4)


def test_build_classifier_with_augmentation_and_caffe_preprocessing():
    flip = layers.RandomFlip("horizontal", seed=0)
    model, base_model = build_classifier("VGG16", 2, 32, weights=None, augmentation=flip)
    assert flip in model.layers and base_model.trainable is False
    x = images(2, 32, seed=4)
    expected = model.layers[-1](keras.ops.mean(base_model(x[..., ::-1] - IMAGENET_BGR_MEANS), axis=(1, 2)))
    np.testing.assert_allclose(model(x, training=False), expected, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("num_classes", [0, 1])
def test_build_classifier_needs_two_classes(num_classes):
    with pytest.raises(ValueError, match=r"num_classes=.* too small.*from 2"):
        build_classifier("MobileNetV2", num_classes, 96, weights=None)


def test_build_classifier_checks_the_backbone_and_size_first():
    with pytest.raises(ValueError, match="Choose one of"):
        build_classifier("ResNet9", 3, 96, weights=None)
    with pytest.raises(ValueError, match="at least 75 px"):
        build_classifier("InceptionV3", 3, 64, weights=None)



# --- the BatchNorm story, measured --------------------------------------------------------------
# The course tells one story about BatchNormalization (models.py's docstrings, notebook 03, and
# notebook 08 when it is written). This test measures it on Keras as installed: if Keras changes
# the behaviour, it fails, and the story must be revisited everywhere it is told.

BN_STORY = "revisit the BatchNorm story in models.py and the notebooks (keras-team/keras#20285)"


def small_bn_base() -> keras.Model:
    """A tiny 'pretrained base' with two BatchNormalization layers."""
    inputs = keras.Input((8, 8, 3))
    x = layers.Conv2D(4, 3, padding="same", name="conv_a")(inputs)
    x = layers.BatchNormalization(name="bn_a")(x)
    x = layers.ReLU()(x)
    x = layers.Conv2D(4, 3, padding="same", name="conv_b")(x)
    x = layers.BatchNormalization(name="bn_b")(x)
    return keras.Model(inputs, layers.ReLU()(x), name="small_base")


def bn_statistics_after_fit(case: str) -> tuple[bool, bool]:
    """Fit two batches in one of the four cases; return (BN statistics moved, conv kernel moved)."""
    keras.utils.set_random_seed(0)
    base_model = small_bn_base()
    if case == "frozen":
        base_model.trainable = False
    elif case == "bn_frozen":
        unfreeze_top(base_model, len(base_model.layers))  # every layer trainable except BatchNorm
    inputs = keras.Input((8, 8, 3))
    features = base_model(inputs) if case == "plain" else base_model(inputs, training=False)
    outputs = layers.Dense(2)(layers.GlobalAveragePooling2D()(features))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.SGD(0.1),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    bn_layers = [layer for layer in base_model.layers if is_batch_norm(layer)]
    statistics_before = [w.numpy().copy() for layer in bn_layers
                         for w in (layer.moving_mean, layer.moving_variance)]
    kernel_before = base_model.get_layer("conv_a").kernel.numpy().copy()
    x = np.random.default_rng(0).normal(3.0, 2.0, (16, 8, 8, 3)).astype("float32")  # far from mean 0, var 1
    y = np.arange(16) % 2
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)  # two batches
    statistics_after = [w.numpy() for layer in bn_layers for w in (layer.moving_mean, layer.moving_variance)]
    statistics_moved = any(not np.array_equal(a, b) for a, b in zip(statistics_before, statistics_after))
    kernel_moved = not np.array_equal(kernel_before, base_model.get_layer("conv_a").kernel.numpy())
    return statistics_moved, kernel_moved


def test_bn_story_frozen_base_keeps_its_statistics():
    moved, kernel_moved = bn_statistics_after_fit("frozen")
    assert not moved and not kernel_moved, f"a frozen base must keep everything: {BN_STORY}"


def test_bn_story_unfrozen_base_called_plainly_updates_its_statistics():
    moved, kernel_moved = bn_statistics_after_fit("plain")
    assert moved and kernel_moved, f"an unfrozen base in fit should update its BN statistics: {BN_STORY}"


def test_bn_story_training_false_alone_does_not_keep_the_statistics_during_fit():
    moved, kernel_moved = bn_statistics_after_fit("training_false")
    assert kernel_moved
    assert moved, (f"Keras {keras.__version__}: base_model(x, training=False) now keeps BN statistics "
                   f"during fit (in Keras 3.15 the outer training=True overrode it): {BN_STORY}")


def test_bn_story_bn_layers_frozen_by_unfreeze_top_keep_their_statistics():
    moved, kernel_moved = bn_statistics_after_fit("bn_frozen")
    assert kernel_moved, "unfreeze_top should let the convolutions train"
    assert not moved, f"BN layers with trainable=False must keep their statistics during fit: {BN_STORY}"
