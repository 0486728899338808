"""Unit tests for tlcourse.audio (notebook 11's speech plumbing)."""

import numpy as np
import pytest

from tlcourse import audio
from tlcourse.settings import get_settings

pytest.importorskip("keras_hub")


def test_fit_length_pads_and_cuts():
    assert audio.fit_length(np.ones(3), 5).tolist() == [1, 1, 1, 0, 0]
    assert audio.fit_length(np.arange(10.0), 4).tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("wave, length", [(np.ones((2, 3)), 4), (np.ones(3), 0)])
def test_fit_length_rejects_bad_input(wave, length):
    with pytest.raises(ValueError):
        audio.fit_length(wave, length)


def test_load_clips_mock_resamples_to_one_second():
    waves, labels = audio.load_clips("spoken_digit", get_settings("smoke"), count=4, source_rate=8_000)
    assert waves.shape == (4, audio.SAMPLE_RATE) and waves.dtype == np.float32
    assert labels.shape == (4,) and np.abs(waves).max() <= 1.0 + 1e-5


def test_load_clips_rejects_bad_count():
    with pytest.raises(ValueError, match="count"):
        audio.load_clips("spoken_digit", get_settings("smoke"), count=0)


def test_log_mels_and_tiny_encoder_features():
    waves = np.random.default_rng(0).normal(size=(3, audio.SAMPLE_RATE)).astype("float32")
    mels = audio.log_mels(waves, frames=100)
    assert mels.shape == (3, 100, 80)
    encoder = audio.whisper_encoder(None)
    assert encoder(mels).shape == (3, 50, audio.TINY_ENCODER["hidden_dim"])
    assert audio.pooled_features(encoder, mels).shape == (3, audio.TINY_ENCODER["hidden_dim"])


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="waves"):
        audio.log_mels(np.zeros(16000, "float32"), frames=100)
    with pytest.raises(ValueError, match="frames"):
        audio.log_mels(np.zeros((1, 16000), "float32"), frames=5000)
    with pytest.raises(ValueError, match="tiny"):
        audio.whisper_encoder(None, tiny={})
    with pytest.raises(ValueError, match="mels"):
        audio.pooled_features(audio.whisper_encoder(None), np.zeros((2, 80)))
