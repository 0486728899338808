"""Notebook 08's helpers and values: ``training.StepTimer`` and ``settings.fine_tune``."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

from tlcourse.models import build_backbone, unfreeze_top
from tlcourse.settings import PROFILES, FineTuneSettings
from tlcourse.training import StepTimer


def tiny_model() -> keras.Model:
    model = keras.Sequential([keras.Input((4,)), layers.Dense(2)])
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def test_step_timer_records_one_time_per_step_and_resets_each_fit():
    model, step_timer = tiny_model(), StepTimer()
    x, y = np.zeros((10, 4), "float32"), np.zeros(10, "int64")
    model.fit(x, y, batch_size=4, epochs=2, callbacks=[step_timer], verbose=0)
    assert len(step_timer.step_seconds) == 6  # 3 steps per epoch (4 + 4 + 2 examples), 2 epochs
    assert all(seconds >= 0 for seconds in step_timer.step_seconds)
    assert step_timer.median_step_seconds == pytest.approx(float(np.median(step_timer.step_seconds)))
    model.fit(x, y, batch_size=5, epochs=1, callbacks=[step_timer], verbose=0)
    assert len(step_timer.step_seconds) == 2


def test_step_timer_median_leaves_out_a_slow_first_step():
    step_timer = StepTimer()
    step_timer.step_seconds = [9.0, 0.1, 0.2, 0.1]  # the first step built the training function
    assert step_timer.median_step_seconds == pytest.approx(0.1 + 0.05)


def test_step_timer_without_steps_says_how_to_use_it():
    with pytest.raises(ValueError, match="callbacks=\\[step_timer\\]"):
        StepTimer().median_step_seconds


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_fine_tune_values_fit_mobilenet_v2(name):
    values = PROFILES[name].fine_tune
    assert isinstance(values, FineTuneSettings)
    assert values.ablation_layers, "the ablation needs at least one layer count"
    assert len(set(values.ablation_layers)) == len(values.ablation_layers)
    assert all(count is None or 0 <= count <= 154 for count in values.ablation_layers)  # MobileNetV2: 154
    assert values.ablation_steps is None or values.ablation_steps >= 3  # a median needs a few steps
    assert values.patience >= 1
    assert values.choice_layers and all(0 <= count <= 154 for count in values.choice_layers)


def test_quick_and_full_ablations_cover_none_a_few_many_and_all():
    for name in ("quick", "full"):
        layer_counts = PROFILES[name].fine_tune.ablation_layers
        assert 0 in layer_counts and None in layer_counts and len(layer_counts) >= 4, name


def test_ablation_layer_counts_land_on_mobilenet_v2_block_boundaries():
    """Each count cuts between blocks: the first unfrozen layer starts a block (or the final conv)."""
    base_model = build_backbone("MobileNetV2", 32, weights=None)
    counts = {count for profile in PROFILES.values()
              for count in (*profile.fine_tune.ablation_layers, *profile.fine_tune.choice_layers)}
    for count in sorted(count for count in counts if count):
        first = base_model.layers[len(base_model.layers) - count].name
        assert first.endswith("_expand") or first == "Conv_1", f"{count} layers start at {first}"
        unfreeze_top(base_model, count)
        assert base_model.layers[len(base_model.layers) - count].trainable
