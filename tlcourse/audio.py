"""Audio plumbing for notebook 11 (speech): load and split clips, resample, log-mels, stand-in encoders.

The transfer itself (``WhisperBackbone.from_preset`` and cutting out its encoder) is written out in
the notebook; this module holds only what a learner should not retype, plus the stand-in backbones
that smoke and offline timing runs build from arguments. ``keras_hub`` is imported inside the
functions (it is the optional ``hub`` extra).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import keras
import numpy as np

from tlcourse.checks import check_int, check_number, check_text
from tlcourse.settings import OFFLINE_TIMING_ENV, Settings

SAMPLE_RATE = 16_000
# Whisper's log-mel frames are 10 ms apart: 1 s of audio is 100 frames.
FRAMES_PER_SECOND = 100
WHISPER_WINDOW_SECONDS = 30
SPLITS = {"speech_commands": ("validation", "test")}
"""Datasets whose own validation and test splits hold other speakers than their train split
(speech_commands assigns each speaker to one split by a hash of the speaker's id)."""


class Clips(NamedTuple):
    """Clips of one split, as ``load_clips`` returns them.

    Attributes:
        waves: float32 ``(clips, samples)`` at 16 kHz, scaled to [-1, 1].
        labels: int ``(clips,)`` class indices.
        speakers: ``(clips,)`` speaker names where the dataset names them, else ``""``.
        class_names: the dataset's label names, in index order.
    """

    waves: np.ndarray
    labels: np.ndarray
    speakers: np.ndarray
    class_names: list[str]


def speaker_of(filename: str) -> str:
    """The speaker in a spoken_digit file name ``{digit}_{speaker}_{index}.wav``; ``""`` if none.

    Example:
        >>> speaker_of("7_jackson_32.wav"), speaker_of(b"0_theo_1.wav"), speaker_of("noise")
        ('jackson', 'theo', '')
    """
    if isinstance(filename, bytes):
        filename = filename.decode("utf-8", "replace")
    parts = str(filename).split(".")[0].split("_")
    return parts[1] if len(parts) == 3 else ""


def load_clips(name: str, settings: Settings, *, count: int, split: str = "train", seconds: float = 1.0,
               source_rate: int = 8_000) -> Clips:
    """Load the first ``count`` clips of ``split`` of TFDS dataset ``name`` as 16 kHz waveforms of fixed length.

    Clips are resampled from ``source_rate`` to 16 kHz (scipy), scaled to [-1, 1], and cut or
    zero-padded to ``seconds``. Under ``settings.mock_data`` nothing is downloaded (random clips,
    real label names; a mocked file name is random text, so every mock clip is its own "speaker").

    Args:
        name: TFDS name, e.g. ``"spoken_digit"``.
        settings: the active profile's settings.
        count: how many clips (the first ``count`` of ``split``).
        split: TFDS split, e.g. ``"train"`` or ``"validation"``.
        seconds: fixed clip length.
        source_rate: the dataset's sample rate in Hz.

    Returns:
        a ``Clips``: float32 waves ``(count, seconds*16000)``, labels, speakers, class names.

    Example:
        >>> clips = load_clips("spoken_digit", settings, count=8)  # doctest: +SKIP
    """
    import tensorflow_datasets as tfds
    from scipy.signal import resample_poly

    from tlcourse.downloads import download_guard

    from tlcourse.checks import check_settings, suggest

    check_settings(settings)
    check_text("name", name, fix='pass a TFDS audio dataset name, e.g. "spoken_digit"')
    if name not in tfds.list_builders(with_community_datasets=False):  # tfds would print ~1,000 names
        raise ValueError(f"name={name!r} is not a TFDS dataset. {suggest(name, tfds.list_builders())} Fix: "
                         'check the spelling; the course uses "spoken_digit" and "speech_commands".')
    check_text("split", split, fix='pass a TFDS split, e.g. "train"')
    check_int("count", count, minimum=1, fix="pass how many clips to load, e.g. count=100")
    check_int("source_rate", source_rate, minimum=1, fix="pass the dataset's sample rate, e.g. 8000")
    length = int(round(seconds * SAMPLE_RATE))
    check_int("seconds * 16000", length, minimum=1, fix="pass seconds > 0, e.g. seconds=1.0")
    sliced = f"{split}[:{count}]"
    if settings.mock_data:
        with tfds.testing.mock_data(num_examples=count):
            ds, info = tfds.load(name, split=sliced, with_info=True)
    else:
        from tlcourse.paths import tfds_data_dir

        with download_guard(f"TFDS dataset {name}"):  # explicit data_dir: whatever was imported first
            ds, info = tfds.load(name, split=sliced, with_info=True, data_dir=tfds_data_dir())
    waves, labels, speakers = [], [], []
    for example in tfds.as_numpy(ds):
        wave = np.asarray(example["audio"], dtype="float32").reshape(-1)
        if source_rate != SAMPLE_RATE:  # resample first: resampling can overshoot the peak
            wave = resample_poly(wave, SAMPLE_RATE, source_rate).astype("float32")
        peak = float(np.max(np.abs(wave))) if wave.size else 0.0
        wave = wave / peak if peak > 0 else wave
        waves.append(fit_length(wave, length))
        labels.append(int(example["label"]))
        speakers.append(speaker_of(example.get("audio/filename", "")))
    if not waves:
        raise ValueError(f"{name} split {sliced!r} yielded no clips. Fix: check the split name and count.")
    return Clips(np.stack(waves), np.asarray(labels), np.asarray(speakers), list(info.features["label"].names))


def split_by_speaker(speakers: np.ndarray, *, val_fraction: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Train and validation indices such that no speaker is in both (scikit-learn's ``GroupShuffleSplit``).

    A random split of clips puts every voice into training *and* validation, so validation
    accuracy overstates how well a model does on voices it has never heard. Holding out whole
    speakers measures that. Clips without a speaker (``""``) count as one speaker each.

    Example:
        >>> train_idx, val_idx = split_by_speaker(np.array(["a", "a", "b", "b", "c"]), val_fraction=0.3)
        >>> sorted(set("aabbc"[i] for i in train_idx) & set("aabbc"[i] for i in val_idx))
        []
    """
    from sklearn.model_selection import GroupShuffleSplit

    check_number("val_fraction", val_fraction, minimum=0.01, maximum=0.99, fix="use e.g. val_fraction=0.2")
    check_int("seed", seed, minimum=0, fix="use e.g. seed=0")
    speakers = np.asarray(speakers).astype(str)
    if speakers.ndim != 1 or len(speakers) < 2:
        raise ValueError(f"speakers has shape {speakers.shape}; expected one name per clip, at least 2 clips. "
                         "Fix: pass clips.speakers.")
    groups = np.where(speakers == "", [f"#clip{i}" for i in range(len(speakers))], speakers)
    if len(np.unique(groups)) < 2:
        raise ValueError(f"all {len(speakers)} clips are from one speaker ({groups[0]!r}); a speaker split needs "
                         "at least two. Fix: load more clips, or split at random.")
    splitter = GroupShuffleSplit(n_splits=1, test_size=val_fraction, random_state=seed)
    train_idx, val_idx = next(splitter.split(np.zeros(len(groups)), groups=groups))
    return np.sort(train_idx), np.sort(val_idx)


def load_splits(name: str, settings: Settings, *, count: int, source_rate: int, val_fraction: float = 0.15,
                test_fraction: float = 0.15, seed: int = 0) -> tuple[Clips, Clips, Clips, str]:
    """Training, validation and test clips with no speaker in two of them, and one line that says how.

    Datasets in ``SPLITS`` (speech_commands) bring validation and test splits of other speakers:
    ``count * val_fraction`` and ``count * test_fraction`` clips come from them, the rest from
    train. Others (spoken_digit has only a train split) are split by the speaker in each file name
    with ``split_by_speaker``: first the test speakers, then the validation speakers from the rest.
    With few speakers (spoken_digit has 6) that is one voice each for validation and test.

    Args:
        name: TFDS name, e.g. ``"spoken_digit"``.
        settings: the active profile's settings.
        count: clips loaded in all.
        source_rate: the dataset's sample rate in Hz.
        val_fraction, test_fraction: the share of clips (or speakers) for validation and test.
        seed: which speakers are held out.

    Returns:
        ``(train, val, test, note)``: three ``Clips`` and one line naming the held-out speakers.

    Example:
        >>> train, val, test, how = load_splits("spoken_digit", settings, count=2500,
        ...                                     source_rate=8000)  # doctest: +SKIP
    """
    check_int("count", count, minimum=6, fix="pass how many clips to load, e.g. count=100")
    check_number("val_fraction", val_fraction, minimum=0.01, maximum=0.49, fix="use e.g. val_fraction=0.15")
    check_number("test_fraction", test_fraction, minimum=0.01, maximum=0.49, fix="use e.g. test_fraction=0.15")
    if name in SPLITS:
        counts = {split: max(1, int(round(count * fraction)))
                  for split, fraction in zip(SPLITS[name], (val_fraction, test_fraction))}
        train = load_clips(name, settings, count=count - sum(counts.values()), source_rate=source_rate)
        val, test = (load_clips(name, settings, count=n, split=split, source_rate=source_rate)
                     for split, n in counts.items())
        return train, val, test, (f"validation and test: {name}'s own {' and '.join(map(repr, SPLITS[name]))} "
                                  "splits, whose speakers are not in train")
    clips = load_clips(name, settings, count=count, source_rate=source_rate)
    rest_idx, test_idx = split_by_speaker(clips.speakers, val_fraction=test_fraction, seed=seed)
    train_part, val_part = split_by_speaker(clips.speakers[rest_idx], val_fraction=val_fraction / (1 - test_fraction),
                                            seed=seed)
    train_idx, val_idx = rest_idx[train_part], rest_idx[val_part]

    def take(idx: np.ndarray) -> Clips:
        return Clips(clips.waves[idx], clips.labels[idx], clips.speakers[idx], clips.class_names)

    def held_out(idx: np.ndarray) -> str:
        named = sorted(set(clips.speakers[idx]) - {""})
        return f"speaker{'s' if len(named) > 1 else ''} {', '.join(named)}" if named else "clips without speaker names"

    note = (f"validation: {held_out(val_idx)}; test: {held_out(test_idx)}; none of them heard in training"
            + ("" if set(clips.speakers) - {""} else " (mock data: a random split)"))
    return take(train_idx), take(val_idx), take(test_idx), note


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


def converter_seconds(samples: int, frames: int) -> int:
    """The shortest ``WhisperAudioConverter`` window whose first ``frames`` frames equal Whisper's 30 s ones.

    Whisper pads every clip with silence to 30 s. A window just as long as the clip would differ
    in its last frame (the converter *reflects* the audio at the window's end, where Whisper
    sees silence); one more second of silence is enough: every frame and the loudest value
    (which sets the dynamic range) are then those of the 30 s window.

    Example:
        >>> converter_seconds(16000, 100), converter_seconds(16000, 3000), converter_seconds(48000, 100)
        (2, 30, 4)
    """
    check_int("samples", samples, minimum=1, fix="pass the samples per clip, e.g. 16000")
    check_int("frames", frames, minimum=1, maximum=3000, fix="pass e.g. frames=100 (1 s of audio)")
    needed = max(math.ceil(samples / SAMPLE_RATE), math.ceil(frames / FRAMES_PER_SECOND)) + 1
    return min(WHISPER_WINDOW_SECONDS, needed)


def log_mels(waves: np.ndarray, *, frames: int, batch_size: int = 64, seconds: int | None = None) -> np.ndarray:
    """Whisper log-mel spectrograms of ``waves`` (16 kHz), the first ``frames`` frames of Whisper's 30 s window.

    ``WhisperAudioConverter`` pads every clip to ``max_audio_length`` seconds (30 by default, 3000
    frames). A 1 s clip fills only the first 100; ``converter_seconds`` picks the shortest window
    that gives exactly the same first frames (2 s for 1 s clips: 15× less work than 30 s;
    ``tests/test_audio.py`` compares them).

    Args:
        waves: float32 ``(clips, samples)`` at 16 kHz.
        frames: frames kept per clip (100 = 1 s).
        batch_size: clips per converter call.
        seconds: the converter window; ``None``: ``converter_seconds``; 30: Whisper's own.

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
    bad = np.flatnonzero(~np.isfinite(waves).all(axis=1))
    if bad.size:  # one NaN sample would turn the clip's whole spectrogram to NaN
        raise ValueError(f"waves has NaN or infinite samples in {bad.size} clip(s) (index {bad[:5].tolist()}): "
                         "expected finite samples. Fix: drop those clips, or replace the samples, e.g. "
                         "np.nan_to_num(waves).")
    if seconds is None:
        seconds = converter_seconds(waves.shape[1], frames)
    check_int("seconds", seconds, minimum=math.ceil(frames / FRAMES_PER_SECOND), maximum=WHISPER_WINDOW_SECONDS,
              fix="pass None (the shortest exact window) or 30 (Whisper's own)")
    # float32 even under mixed precision (full): log-mels of float16 audio lose the quiet parts
    converter = keras_hub.layers.WhisperAudioConverter(max_audio_length=seconds, dtype="float32")
    parts = [keras.ops.convert_to_numpy(converter(waves[i:i + batch_size]))[:, :frames]
             for i in range(0, len(waves), batch_size)]
    return np.concatenate(parts).astype("float32")


_WHISPER_ARGUMENTS = ("vocabulary_size", "num_layers", "num_heads", "hidden_dim", "intermediate_dim",
                      "num_mels", "dropout", "max_encoder_sequence_length", "max_decoder_sequence_length", "dtype")
TINY_ENCODER = dict(num_layers=1, num_heads=2, hidden_dim=16, intermediate_dim=32)
PRESET_SIZES: dict[str, dict[str, int]] = {
    "whisper_tiny_en": dict(vocabulary_size=51_864, num_layers=4, num_heads=6, hidden_dim=384,
                            intermediate_dim=1_536, max_decoder_sequence_length=448),
}
"""``WhisperBackbone`` arguments of the presets the quick profile uses, for offline timing runs only
(see ``tlcourse.settings.offline_timing``): 37,184,256 trainable parameters, as KerasHub's preset list
states for whisper_tiny_en (``tests/test_audio.py`` checks)."""


def stand_in_backbone(preset: str | None = None, *, tiny: dict[str, Any] | None = None) -> Any:
    """A ``keras_hub.models.WhisperBackbone`` built from arguments, random weights, no download.

    The notebook loads the real one with ``WhisperBackbone.from_preset(preset)``; this stand-in
    serves where no pretrained weights are wanted (``settings.weights is None``): in smoke
    (``preset=None``: the tiny ``tiny`` sizes, default ``TINY_ENCODER``) and in offline timing runs
    (``TLCOURSE_OFFLINE_TIMING=1``: ``preset`` at its real size from ``PRESET_SIZES``).

    Example:
        >>> backbone = stand_in_backbone(None)  # doctest: +SKIP
        >>> backbone.input["encoder_features"].shape  # doctest: +SKIP
        (None, None, 80)
    """
    import keras_hub

    if preset is not None:
        check_text("preset", preset, fix='pass a Whisper preset, e.g. "whisper_tiny_en", or None')
        if preset not in PRESET_SIZES:
            raise ValueError(f"{OFFLINE_TIMING_ENV}=1 times presets built from arguments, and {preset!r} has no "
                             f"size in tlcourse.audio.PRESET_SIZES ({sorted(PRESET_SIZES)}). Fix: add its "
                             "WhisperBackbone arguments there.")
        tiny = PRESET_SIZES[preset]
    tiny = TINY_ENCODER if tiny is None else tiny
    if isinstance(tiny, dict):  # a typo in a key would otherwise reach WhisperBackbone as a raw TypeError
        from tlcourse.checks import check_options

        check_options("tiny", tiny, _WHISPER_ARGUMENTS, fix="pass WhisperBackbone's arguments")
    if not isinstance(tiny, dict) or not tiny:
        raise ValueError(f"tiny is {tiny!r}; expected the WhisperBackbone arguments as a dict. "
                         "Fix: pass tiny=dict(num_layers=1, num_heads=2, hidden_dim=16, intermediate_dim=32).")
    args = dict(vocabulary_size=64, max_decoder_sequence_length=8) | tiny
    return keras_hub.models.WhisperBackbone(**args)


def pooled_features(encoder: keras.Model, mels: np.ndarray, *, batch_size: int = 32) -> np.ndarray:
    """Mean over time of ``encoder``'s output for each log-mel clip: ``(clips, dim)``.

    Example:
        >>> pooled_features(encoder, np.zeros((2, 100, 80), "float32")).shape  # doctest: +SKIP
    """
    check_int("batch_size", batch_size, minimum=1, fix="pass e.g. batch_size=32")
    mels = np.asarray(mels, dtype="float32")
    if mels.ndim != 3:
        raise ValueError(f"mels has shape {mels.shape}; expected (clips, frames, mels). Fix: use log_mels().")
    out = encoder.predict(mels, batch_size=batch_size, verbose=0)
    return np.asarray(out, dtype="float32").mean(axis=1)  # float32 first: mixed precision returns float16
