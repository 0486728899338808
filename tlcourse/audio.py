"""Audio plumbing for notebook 11 (speech): load clips, resample, log-mels, a Whisper encoder.

``keras_hub`` is imported inside the functions (it is the optional ``hub`` extra).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from tlcourse.checks import check_int, check_text
from tlcourse.settings import OFFLINE_TIMING_ENV, Settings, offline_timing

SAMPLE_RATE = 16_000
# Whisper's log-mel frames are 10 ms apart: 1 s of audio is 100 frames.
FRAMES_PER_SECOND = 100


def load_clips(name: str, settings: Settings, *, count: int, seconds: float = 1.0,
               source_rate: int = 8_000) -> tuple[np.ndarray, np.ndarray]:
    """Load ``count`` clips of TFDS dataset ``name`` as 16 kHz float waveforms of fixed length.

    Clips are resampled from ``source_rate`` to 16 kHz (scipy), scaled to [-1, 1], and cut or
    zero-padded to ``seconds``. Under ``settings.mock_data`` nothing is downloaded.

    Args:
        name: TFDS name, e.g. ``"spoken_digit"``.
        settings: the active profile's settings.
        count: how many clips (the first ``count`` of the train split).
        seconds: fixed clip length.
        source_rate: the dataset's sample rate in Hz.

    Returns:
        ``(waves, labels)``: float32 ``(count, seconds*16000)`` and int ``(count,)``.

    Example:
        >>> waves, labels = load_clips("spoken_digit", settings, count=8)  # doctest: +SKIP
    """
    import tensorflow_datasets as tfds
    from scipy.signal import resample_poly

    from tlcourse.downloads import download_guard

    check_text("name", name, fix='pass a TFDS audio dataset name, e.g. "spoken_digit"')
    check_int("count", count, minimum=1, fix="pass how many clips to load, e.g. count=100")
    check_int("source_rate", source_rate, minimum=1, fix="pass the dataset's sample rate, e.g. 8000")
    length = int(round(seconds * SAMPLE_RATE))
    check_int("seconds * 16000", length, minimum=1, fix="pass seconds > 0, e.g. seconds=1.0")
    split = f"train[:{count}]"
    if settings.mock_data:
        with tfds.testing.mock_data(num_examples=count):
            ds = tfds.load(name, split=split, as_supervised=True)
    else:
        from tlcourse.paths import tfds_data_dir

        with download_guard(f"TFDS dataset {name}"):  # explicit data_dir: whatever was imported first
            ds = tfds.load(name, split=split, as_supervised=True, data_dir=tfds_data_dir())
    waves, labels = [], []
    for audio, label in tfds.as_numpy(ds):
        wave = np.asarray(audio, dtype="float32").reshape(-1)
        if source_rate != SAMPLE_RATE:  # resample first: resampling can overshoot the peak
            wave = resample_poly(wave, SAMPLE_RATE, source_rate).astype("float32")
        peak = float(np.max(np.abs(wave))) if wave.size else 0.0
        wave = wave / peak if peak > 0 else wave
        waves.append(fit_length(wave, length))
        labels.append(int(label))
    return np.stack(waves), np.asarray(labels)


def fit_length(wave: np.ndarray, length: int) -> np.ndarray:
    """Cut or zero-pad a 1-D waveform to ``length`` samples.

    Example:
        >>> fit_length(np.ones(3), 5).tolist()
        [1.0, 1.0, 1.0, 0.0, 0.0]
    """
    check_int("length", length, minimum=1, fix="pass the number of samples, e.g. 16000")
    wave = np.asarray(wave, dtype="float32")
    if wave.ndim != 1:
        raise ValueError(f"wave has shape {wave.shape}; expected a 1-D waveform. Fix: pass one clip.")
    out = np.zeros(length, dtype="float32")
    out[:min(length, wave.size)] = wave[:length]
    return out


def log_mels(waves: np.ndarray, *, frames: int, batch_size: int = 64) -> np.ndarray:
    """Whisper log-mel spectrograms of ``waves`` (16 kHz), cropped to the first ``frames`` frames.

    ``WhisperAudioConverter`` pads every clip to 30 s (3000 frames); a 1 s clip fills only the
    first 100, so cropping keeps all the speech and drops the padding.

    Returns:
        float32 ``(len(waves), frames, 80)``.

    Example:
        >>> log_mels(np.zeros((2, 16000), "float32"), frames=100).shape  # doctest: +SKIP
        (2, 100, 80)
    """
    import keras_hub

    check_int("frames", frames, minimum=2, maximum=3000, fix="pass e.g. frames=100 (1 s of audio)")
    check_int("batch_size", batch_size, minimum=1, fix="pass e.g. batch_size=64")
    waves = np.asarray(waves, dtype="float32")
    if waves.ndim != 2:
        raise ValueError(f"waves has shape {waves.shape}; expected (clips, samples). Fix: stack the clips.")
    converter = keras_hub.layers.WhisperAudioConverter()
    parts = [keras.ops.convert_to_numpy(converter(waves[i:i + batch_size]))[:, :frames]
             for i in range(0, len(waves), batch_size)]
    return np.concatenate(parts).astype("float32")


TINY_ENCODER = dict(num_layers=1, num_heads=2, hidden_dim=16, intermediate_dim=32)
PRESET_SIZES: dict[str, dict[str, int]] = {
    "whisper_tiny_en": dict(vocabulary_size=51_864, num_layers=4, num_heads=6, hidden_dim=384,
                            intermediate_dim=1_536),
}
"""``WhisperBackbone`` arguments of the presets the quick profile uses, for offline timing runs only
(see ``tlcourse.settings.offline_timing``): 37,184,256 trainable parameters, as KerasHub's preset list
states for whisper_tiny_en (``tests/test_audio.py`` checks)."""


def whisper_encoder(preset: str | None, *, tiny: dict[str, Any] | None = None) -> keras.Model:
    """The encoder half of a Whisper backbone: log-mels ``(batch, frames, 80)`` → ``(batch, frames/2, dim)``.

    With ``preset`` (e.g. ``"whisper_tiny_en"``) the pretrained weights are downloaded inside
    ``download_guard``; with ``preset=None`` a backbone of the same class is built from the
    arguments in ``tiny`` (default ``TINY_ENCODER``) with random weights (smoke, offline).

    Example:
        >>> enc = whisper_encoder(None, tiny=dict(num_layers=1, num_heads=2, hidden_dim=16,
        ...                                        intermediate_dim=32))  # doctest: +SKIP
    """
    import keras_hub

    from tlcourse.downloads import download_guard

    if preset is not None and offline_timing():  # benchmarks/profile_times.py: real size, random weights
        if preset not in PRESET_SIZES:
            raise ValueError(f"{OFFLINE_TIMING_ENV}=1 times presets built from arguments, and {preset!r} has no "
                             f"size in tlcourse.audio.PRESET_SIZES ({sorted(PRESET_SIZES)}). Fix: add its "
                             "WhisperBackbone arguments there.")
        preset, tiny = None, PRESET_SIZES[preset]
    if preset is None:
        tiny = TINY_ENCODER if tiny is None else tiny
        if not isinstance(tiny, dict) or not tiny:
            raise ValueError(f"tiny is {tiny!r}; expected the WhisperBackbone arguments as a dict. "
                             "Fix: pass tiny=dict(num_layers=1, num_heads=2, hidden_dim=16, intermediate_dim=32).")
        args = dict(vocabulary_size=64, max_decoder_sequence_length=8) | tiny
        backbone = keras_hub.models.WhisperBackbone(**args)
    else:
        check_text("preset", preset, fix='pass a Whisper preset, e.g. "whisper_tiny_en", or None')
        with download_guard(f"KerasHub preset {preset}"):
            backbone = keras_hub.models.WhisperBackbone.from_preset(preset)
    return keras.Model(backbone.input["encoder_features"], backbone.output["encoder_sequence_output"],
                       name="whisper_encoder")


def pooled_features(encoder: keras.Model, mels: np.ndarray, *, batch_size: int = 32) -> np.ndarray:
    """Mean over time of ``encoder``'s output for each log-mel clip: ``(clips, dim)``.

    Example:
        >>> pooled_features(enc, np.zeros((2, 100, 80), "float32")).shape  # doctest: +SKIP
    """
    check_int("batch_size", batch_size, minimum=1, fix="pass e.g. batch_size=32")
    mels = np.asarray(mels, dtype="float32")
    if mels.ndim != 3:
        raise ValueError(f"mels has shape {mels.shape}; expected (clips, frames, mels). Fix: use log_mels().")
    out = encoder.predict(mels, batch_size=batch_size, verbose=0)
    return np.asarray(out).mean(axis=1).astype("float32")
