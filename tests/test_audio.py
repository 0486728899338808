"""Unit tests for tlcourse.audio (notebook 11's speech plumbing)."""

import keras
import numpy as np
import pytest

from tlcourse import audio
from tlcourse.settings import get_settings

pytest.importorskip("keras_hub")


def encoder_of(backbone):
    """The notebook's encoder extraction, as the lesson writes it."""
    return keras.Model(backbone.input["encoder_features"], backbone.output["encoder_sequence_output"])


def test_fit_length_pads_and_cuts():
    assert audio.fit_length(np.ones(3), 5).tolist() == [1, 1, 1, 0, 0]
    assert audio.fit_length(np.arange(10.0), 4).tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("wave, length", [(np.ones((2, 3)), 4), (np.ones(3), 0)])
def test_fit_length_rejects_bad_input(wave, length):
    with pytest.raises(ValueError):
        audio.fit_length(wave, length)


def test_load_clips_mock_resamples_to_one_second():
    clips = audio.load_clips("spoken_digit", get_settings("smoke"), count=4, source_rate=8_000)
    assert clips.waves.shape == (4, audio.SAMPLE_RATE) and clips.waves.dtype == np.float32
    assert clips.labels.shape == (4,) and np.abs(clips.waves).max() <= 1.0 + 1e-5
    assert clips.speakers.shape == (4,) and len(clips.class_names) == 10


def test_load_clips_speech_commands_names_its_twelve_classes():
    clips = audio.load_clips("speech_commands", get_settings("smoke"), count=3, split="validation",
                             source_rate=16_000)
    assert clips.class_names[-2:] == ["_silence_", "_unknown_"] and len(clips.class_names) == 12


def test_load_clips_rejects_bad_count():
    with pytest.raises(ValueError, match="count"):
        audio.load_clips("spoken_digit", get_settings("smoke"), count=0)


def test_speaker_of_reads_spoken_digit_file_names():
    assert audio.speaker_of("7_jackson_32.wav") == "jackson"
    assert audio.speaker_of(b"3_yweweler_0.wav") == "yweweler"
    assert audio.speaker_of("random text") == ""


def test_split_by_speaker_keeps_every_speaker_on_one_side():
    speakers = np.repeat(["george", "jackson", "lucas", "nicolas", "theo"], 50)
    train_idx, val_idx = audio.split_by_speaker(speakers, val_fraction=0.2, seed=42)
    assert not set(speakers[train_idx]) & set(speakers[val_idx])
    assert len(train_idx) + len(val_idx) == len(speakers) and len(val_idx) == 50
    assert len(np.unique(np.concatenate([train_idx, val_idx]))) == len(speakers)


def test_split_by_speaker_treats_unnamed_clips_as_their_own_speakers():
    train_idx, val_idx = audio.split_by_speaker(np.array([""] * 10), val_fraction=0.2)
    assert len(train_idx) == 8 and len(val_idx) == 2


def test_split_by_speaker_rejects_a_single_speaker():
    with pytest.raises(ValueError, match="one speaker"):
        audio.split_by_speaker(np.array(["theo"] * 5))


def test_load_splits_mock_spoken_digit():
    train, val, test, how = audio.load_splits("spoken_digit", get_settings("smoke"), count=20, source_rate=8_000)
    assert (len(train.waves), len(val.waves), len(test.waves)) == (14, 3, 3)
    assert "validation" in how and "test" in how


def test_load_splits_holds_out_whole_speakers_for_validation_and_test(monkeypatch):
    speakers = np.repeat(["george", "jackson", "lucas", "nicolas", "theo", "yweweler"], 5)
    clips = audio.Clips(np.zeros((30, 4), "float32"), np.arange(30) % 10, speakers, [str(i) for i in range(10)])
    monkeypatch.setattr(audio, "load_clips", lambda *args, **kwargs: clips)
    train, val, test, how = audio.load_splits("spoken_digit", get_settings("smoke"), count=30, source_rate=8_000)
    heard = [set(part.speakers) for part in (train, val, test)]
    assert (len(heard[0]), len(heard[1]), len(heard[2])) == (4, 1, 1)  # one voice each for validation and test
    assert not (heard[0] & heard[1] or heard[0] & heard[2] or heard[1] & heard[2])
    assert sum(len(part.waves) for part in (train, val, test)) == 30
    assert f"validation: speaker {next(iter(heard[1]))}; test: speaker {next(iter(heard[2]))}" in how


def test_converter_seconds():
    assert audio.converter_seconds(16_000, 100) == 2
    assert audio.converter_seconds(16_000, 3000) == 30


def speechlike_clips():
    rng = np.random.default_rng(0)
    waves = rng.normal(size=(4, audio.SAMPLE_RATE)).astype("float32") * np.hanning(audio.SAMPLE_RATE)
    waves[1, 12_000:] = rng.normal(size=4_000)  # loud up to the clip's last sample
    waves[2, :] = 0.0
    waves[2, 4_000:6_000] = np.sin(np.arange(2_000) / 5.0)
    return (waves / np.maximum(np.abs(waves).max(axis=1, keepdims=True), 1e-9)).astype("float32")


def test_log_mels_equal_the_first_frames_of_whispers_30_s_window():
    waves = speechlike_clips()
    whisper = audio.log_mels(waves, frames=100, seconds=30)
    ours = audio.log_mels(waves, frames=100)  # the default: a 2 s window
    assert ours.shape == whisper.shape == (4, 100, 80)
    np.testing.assert_allclose(ours, whisper, atol=1e-5)


def test_a_one_second_window_differs_at_its_last_frame():
    waves = speechlike_clips()
    whisper = audio.log_mels(waves, frames=100, seconds=30)
    one_second = audio.log_mels(waves, frames=100, seconds=1)
    np.testing.assert_allclose(one_second[:, :98], whisper[:, :98], atol=1e-5)
    assert np.abs(one_second[1, 99] - whisper[1, 99]).max() > 1e-3  # reflection padding at the window's end


def test_log_mels_and_tiny_encoder_features():
    waves = np.random.default_rng(0).normal(size=(3, audio.SAMPLE_RATE)).astype("float32")
    mels = audio.log_mels(waves, frames=100)
    assert mels.shape == (3, 100, 80)
    encoder = encoder_of(audio.stand_in_backbone(None))
    assert encoder(mels).shape == (3, 50, audio.TINY_ENCODER["hidden_dim"])
    assert audio.pooled_features(encoder, mels).shape == (3, audio.TINY_ENCODER["hidden_dim"])


def test_whisper_tiny_stand_in_has_the_presets_parameter_count():
    backbone = audio.stand_in_backbone("whisper_tiny_en")
    trainable = sum(int(np.prod(w.shape)) for w in backbone.trainable_weights)
    assert trainable == 37_184_256  # KerasHub's preset list


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="waves"):
        audio.log_mels(np.zeros(16000, "float32"), frames=100)
    with pytest.raises(ValueError, match="frames"):
        audio.log_mels(np.zeros((1, 16000), "float32"), frames=5000)
    with pytest.raises(ValueError, match="seconds"):
        audio.log_mels(np.zeros((1, 16000), "float32"), frames=300, seconds=1)
    with pytest.raises(ValueError, match="tiny"):
        audio.stand_in_backbone(None, tiny={})
    with pytest.raises(ValueError, match="PRESET_SIZES"):
        audio.stand_in_backbone("whisper_large_v3")
    with pytest.raises(ValueError, match="mels"):
        audio.pooled_features(encoder_of(audio.stand_in_backbone(None)), np.zeros((2, 80)))


def test_log_mels_stay_float32_under_mixed_precision():
    waves = speechlike_clips()
    reference = audio.log_mels(waves, frames=100)
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        mixed = audio.log_mels(waves, frames=100)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    np.testing.assert_allclose(mixed, reference, atol=1e-5)
