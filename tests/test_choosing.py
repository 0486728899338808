"""Notebook 07's helpers: published backbone numbers, throughput timing and its profile values."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

from tlcourse.models import (BACKBONES, PUBLISHED, Throughput, build_backbone,
                             measure_throughput)
from tlcourse.settings import PROFILES


def tiny_model(size: int = 8) -> keras.Model:
    return keras.Sequential([keras.Input((size, size, 3)), layers.Conv2D(2, 3)], name="tiny")


# --- published numbers ------------------------------------------------------------------------

def test_every_backbone_has_published_numbers_with_a_source():
    assert set(PUBLISHED) == set(BACKBONES)
    for name, numbers in PUBLISHED.items():
        assert 0.5 < numbers.top1 < 0.9, f"{name}: top-1 is a fraction, e.g. 0.713"
        assert numbers.params_millions > 0
        assert numbers.source.startswith("https://keras.io/api/applications/")
        assert numbers.size_mb is None or numbers.size_mb > numbers.params_millions, (
            f"{name}: float32 weights take about 4 MB per million parameters")


def test_published_parameters_include_the_top():
    """The table counts the classifier top; the base without it must be smaller, not larger."""
    base_model = build_backbone("MobileNetV2", 32, weights=None)
    assert base_model.count_params() < PUBLISHED["MobileNetV2"].params_millions * 1e6


# --- measure_throughput -----------------------------------------------------------------------

def test_measure_throughput_times_the_requested_images():
    result = measure_throughput(tiny_model(), batch_size=4, batches=3)
    assert isinstance(result, Throughput)
    assert result.images == 12 and result.seconds > 0
    assert result.images_per_second == pytest.approx(12 / result.seconds)


def test_measure_throughput_applies_preprocess_input_before_the_model(monkeypatch):
    model = tiny_model(4)
    seen = []
    original = model.predict_on_batch
    monkeypatch.setattr(model, "predict_on_batch", lambda images: seen.append(np.asarray(images)) or original(images))
    measure_throughput(model, batch_size=2, batches=1)
    assert seen[0].min() >= 0 and seen[0].max() > 1, "without preprocess_input the model sees 0–255"
    seen.clear()
    measure_throughput(model, batch_size=2, batches=1,
                       preprocess_input=keras.applications.mobilenet_v2.preprocess_input)
    assert len(seen) == 2, "one warm-up pass, then the timed one"
    assert all(-1.0 <= batch.min() and batch.max() <= 1.0 for batch in seen)


@pytest.mark.parametrize("kwargs, error, words", [
    ({"batch_size": 0}, ValueError, "batch_size=0"),
    ({"batches": 0}, ValueError, "batches=0"),
    ({"batch_size": 2.5}, TypeError, "batch_size=2.5"),
    ({"preprocess_input": "caffe"}, TypeError, "is not a function"),
])
def test_measure_throughput_rejects_bad_arguments(kwargs, error, words):
    with pytest.raises(error, match=words):
        measure_throughput(tiny_model(), **kwargs)


def test_measure_throughput_needs_a_known_input_size():
    flexible = keras.applications.MobileNetV3Small(include_top=False, weights=None, input_shape=(None, None, 3))
    with pytest.raises(ValueError, match="input_shape=\\(size, size, 3\\)"):
        measure_throughput(flexible)


def test_measure_throughput_rejects_what_is_not_a_model():
    with pytest.raises(TypeError):
        measure_throughput("MobileNetV2")


# --- notebook 07's profile values -------------------------------------------------------------

@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_choosing_settings_name_usable_backbones(profile):
    settings = PROFILES[profile]
    choosing = settings.choosing
    assert choosing.backbones and set(choosing.probe_backbones) <= set(choosing.backbones)
    for name in choosing.backbones:
        backbone = BACKBONES[name]
        assert settings.image_size >= backbone.min_size, f"{profile}: {name} needs {backbone.min_size} px"
        if settings.weights == "imagenet" and backbone.imagenet_sizes:
            assert settings.image_size in backbone.imagenet_sizes, f"{profile}: no {name} weights at that size"
    assert choosing.probe_epochs >= 1 and choosing.throughput_batches >= 1


def test_full_compares_every_article_backbone_and_quick_skips_the_slowest_probe():
    article = {"VGG16", "ResNet50", "InceptionV3", "MobileNetV2", "MobileNetV3Small", "EfficientNetB0"}
    assert set(PROFILES["full"].choosing.probe_backbones) == article
    assert set(PROFILES["quick"].choosing.backbones) == article
    assert "VGG16" not in PROFILES["quick"].choosing.probe_backbones, "VGG16 probes take minutes on a CPU"
