"""Inputs that used to give a plausible but wrong answer now give a clear error (issue 16).

Each test feeds one such input and checks the error names what was passed and the fix; where
the right answer exists (a report with upside-down predictions), it checks that answer.
"""

from __future__ import annotations

import numpy as np
import pytest

from boundary import assert_clear_error
from tlcourse import audio, boxes, checks, limits, plots, shifts, text
from tlcourse.settings import get_settings


def test_an_upside_down_box_is_refused_not_scored_0():
    error = assert_clear_error(lambda: boxes.iou([0.8, 0.1, 0.2, 0.3], [0.8, 0.1, 0.2, 0.3]))
    assert "ymin > ymax" in str(error) and "sanitise_boxes" in str(error)


def test_pixel_boxes_against_normalised_boxes_are_refused():
    error = assert_clear_error(lambda: boxes.iou([[10, 20, 100, 120]], [[0.1, 0.2, 0.5, 0.6]]))
    assert "pixels" in str(error) and "divide" in str(error)


def test_a_box_report_on_no_boxes_is_refused_not_nan():
    assert_clear_error(lambda: boxes.box_report("empty", np.zeros((0, 4)), np.zeros((0, 4))))


def test_upside_down_predictions_score_0_and_are_counted(capsys):
    true = [[0.1, 0.1, 0.5, 0.5], [0.2, 0.2, 0.6, 0.6]]
    report = boxes.box_report("model", true, [[0.5, 0.1, 0.1, 0.5], [0.2, 0.2, 0.6, 0.6]])
    assert report == {"mean_iou": 0.5, "hit_rate": 0.5}
    assert "1 upside-down prediction(s) scored 0" in capsys.readouterr().out


@pytest.mark.parametrize("images, phrase", [
    (np.full((1, 8, 8, 3), 0.5, "float32"), "images \\* 255"),  # 0–1 floats: would come out black
    (np.full((1, 8, 8, 3), -0.5, "float32"), "negative"),  # already preprocessed
    (np.full((1, 8, 8, 3), np.nan, "float32"), "NaN"),
])
def test_image_functions_refuse_pixels_outside_0_255(images, phrase):
    for call in (lambda: shifts.shift_images(images, "noise", 2),
                 lambda: boxes.plot_boxes(images, [[0.1, 0.1, 0.5, 0.5]]),
                 lambda: boxes.plot_detections(images, {"boxes": [[]], "labels": [[]], "confidence": [[]]}, [])):
        with pytest.raises(ValueError, match=phrase):
            call()
    zeros = np.zeros((1, 8, 8, 3), "float32")  # black images in 0–255 are fine
    assert shifts.shift_images(zeros, "brightness", 1).numpy().max() > 0


def test_a_nan_sample_is_refused_before_it_turns_a_clip_to_nan():
    waves = np.zeros((3, 16000), "float32")
    waves[1, 5] = np.nan
    error = assert_clear_error(lambda: audio.log_mels(waves, frames=100))
    assert "[1]" in str(error) and "nan_to_num" in str(error)


def test_a_duplicate_seed_is_refused_not_dropped():
    rows = [{"method": "frozen", "labels_per_class": 3, "seed": seed, "val_accuracy": accuracy}
            for seed, accuracy in [(0, 0.5), (1, 0.6), (1, 0.9)]]
    error = assert_clear_error(lambda: limits.seed_scores(rows, "frozen", 3))
    assert "[1]" in str(error)
    assert limits.seed_scores(rows[:2], "frozen", 3) == {0: 0.5, 1: 0.6}


@pytest.mark.parametrize("bad", [float("nan"), 72.0, -0.1])
def test_plots_refuse_a_nan_bar_or_a_percentage(bad):
    assert_clear_error(lambda: limits.plot_scores({"a": [0.5, bad]}))
    assert_clear_error(lambda: plots.plot_comparison([{"model": "cnn", "notebook": "02", "test_accuracy": bad}]))


def test_an_options_dict_with_an_unknown_key_is_refused_with_a_suggestion():
    error = assert_clear_error(lambda: audio.stand_in_backbone(None, tiny={"num_layer": 1, "num_heads": 2}))
    assert "Did you mean 'num_layers'?" in str(error)
    error = assert_clear_error(lambda: text.stand_in_classifier(
        get_settings("smoke"), "bert_tiny_en_uncased", sequence_length=16, vocabulary_texts=["a b"],
        tiny_size={"hiden_dim": 8}))
    assert "Did you mean 'hidden_dim'?" in str(error)
    with pytest.raises(TypeError):
        checks.check_options("tiny", [1, 2], ["a"])
