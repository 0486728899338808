"""The offline timing switch of benchmarks/profile_times.py (TLCOURSE_OFFLINE_TIMING=1).

It must keep a profile's sizes, epochs and counts, load nothing, build KerasHub models at their
presets' real sizes, and stay off unless asked for: a learner never gets random weights in quick.
"""

import numpy as np
import pytest

import tlcourse
from tlcourse.settings import OFFLINE_TIMING_ENV, TIMING_MOCK_EXAMPLES, offline_timing


def test_off_by_default_quick_loads_real_weights_and_data(monkeypatch):
    monkeypatch.delenv(OFFLINE_TIMING_ENV, raising=False)
    assert not offline_timing()
    quick = tlcourse.get_settings("quick")
    assert quick.weights == "imagenet" and not quick.mock_data


@pytest.mark.parametrize("value", ["0", "", "yes", "true"])
def test_only_the_value_1_switches_it_on(monkeypatch, value):
    monkeypatch.setenv(OFFLINE_TIMING_ENV, value)
    assert not offline_timing()
    assert tlcourse.get_settings("quick").weights == "imagenet"


def test_timing_keeps_the_profile_sizes_but_loads_nothing(monkeypatch):
    monkeypatch.setenv(OFFLINE_TIMING_ENV, "1")
    real = tlcourse.settings.PROFILES["quick"]
    timed = tlcourse.get_settings("quick")
    assert (timed.weights, timed.mock_data, timed.mock_examples) == (None, True, TIMING_MOCK_EXAMPLES)
    assert timed.name == "quick"
    for field in ("image_size", "batch_size", "train_examples_per_class", "epochs_scratch", "epochs_head",
                  "lab", "little_data", "choosing", "nlp", "speech", "robotics", "healthcare"):
        assert getattr(timed, field) == getattr(real, field), field
    assert tlcourse.get_settings("smoke") == tlcourse.settings.PROFILES["smoke"]


def test_setup_warns_loudly_in_a_timing_run(monkeypatch, capsys, restore_determinism):
    monkeypatch.setenv(OFFLINE_TIMING_ENV, "1")
    tlcourse.setup("quick")
    assert "timing run" in capsys.readouterr().out


def test_bert_presets_are_built_at_their_real_size(monkeypatch):
    keras_hub = pytest.importorskip("keras_hub")
    from tlcourse.text import PRESET_SIZES

    counts = {"bert_tiny_en_uncased": 4_385_920, "bert_small_en_uncased": 28_763_648}  # KerasHub's preset list
    for preset, expected in counts.items():
        size = PRESET_SIZES[preset]
        assert keras_hub.models.BertBackbone(max_sequence_length=512, **size).count_params() == expected


def test_timing_builds_the_bert_classifier_offline(monkeypatch):
    pytest.importorskip("keras_hub")
    from tlcourse.text import stand_in_classifier

    monkeypatch.setenv(OFFLINE_TIMING_ENV, "1")
    texts = ["a good film", "a bad film"]
    model = stand_in_classifier(tlcourse.get_settings("quick"), "bert_tiny_en_uncased", sequence_length=16,
                                  vocabulary_texts=texts)
    assert model.backbone.hidden_dim == 128 and model.backbone.num_layers == 2
    assert model.predict(texts, verbose=0).shape == (2, 2)
    with pytest.raises(ValueError, match="PRESET_SIZES"):
        stand_in_classifier(tlcourse.get_settings("quick"), "bert_large_en", sequence_length=16,
                              vocabulary_texts=texts)


def test_whisper_tiny_is_built_at_its_real_size(monkeypatch):
    pytest.importorskip("keras_hub")
    import keras

    from tlcourse.audio import stand_in_backbone

    monkeypatch.setenv(OFFLINE_TIMING_ENV, "1")
    assert tlcourse.get_settings("quick").weights is None  # notebook 11 then builds the stand-in
    backbone = stand_in_backbone(tlcourse.get_settings("quick").speech.encoder_preset)
    encoder = keras.Model(backbone.input["encoder_features"], backbone.output["encoder_sequence_output"])
    assert encoder(np.zeros((1, 100, 80), "float32")).shape == (1, 50, 384)
    backbone_trainable = sum(int(np.prod(w.shape)) for w in backbone.trainable_weights)
    assert backbone_trainable == 37_184_256  # whisper_tiny_en in KerasHub's preset list
    encoder_trainable = sum(int(np.prod(w.shape)) for w in encoder.trainable_weights)
    assert encoder_trainable < 37_184_256  # the encoder half only
    with pytest.raises(ValueError, match="PRESET_SIZES"):
        stand_in_backbone("whisper_large_v3")


def test_gpt2_base_is_built_at_its_real_size(monkeypatch):
    pytest.importorskip("keras_hub")
    from tlcourse.text import stand_in_gpt2

    monkeypatch.setenv(OFFLINE_TIMING_ENV, "1")
    backbone, tokenizer = stand_in_gpt2(tlcourse.get_settings("quick"), "gpt2_base_en")
    assert backbone.count_params() == 124_439_808  # gpt2_base_en in KerasHub's preset list
    assert backbone.num_layers == 12 and len(tokenizer(" positive")) == 1
    with pytest.raises(ValueError, match="GPT2_PRESET_SIZES"):
        stand_in_gpt2(tlcourse.get_settings("quick"), "gpt2_extra_large_en")
