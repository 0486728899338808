"""Notebook 10's text helpers: IMDB reviews as NumPy arrays, the offline BERT stand-in, a verdict.

In ``quick``/``full`` notebook 10 itself loads its classifiers with
``keras_hub.models.BertTextClassifier.from_preset`` (inside ``download_guard``); only ``smoke`` and
offline timing runs use ``stand_in_classifier``: a ``BertBackbone`` built from arguments with a
``BertTokenizer`` over an in-memory vocabulary, so the same notebook runs offline.
``keras_hub`` is imported inside the functions (it is the optional ``hub`` extra).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tlcourse.checks import check_int, check_text
from tlcourse.settings import OFFLINE_TIMING_ENV, Settings, offline_timing

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


@dataclass(frozen=True)
class TextSplits:
    """Reviews and labels (0 negative, 1 positive) as NumPy arrays."""

    train_texts: np.ndarray
    train_labels: np.ndarray
    test_texts: np.ndarray
    test_labels: np.ndarray


def _check_settings(settings: Any) -> None:
    if not isinstance(settings, Settings):
        raise TypeError(f"settings={settings!r} is a {type(settings).__name__}: expected the Settings "
                        "that tlcourse.setup() returns. Fix: settings = tlcourse.setup().")


def load_imdb(settings: Settings, train_count: int, test_count: int) -> TextSplits:
    """Load the first ``train_count`` training and ``test_count`` test reviews of ``imdb_reviews``.

    Smoke (``settings.mock_data``) loads under ``tfds.testing.mock_data`` (random strings, no
    download); otherwise the dataset is read from ``tlcourse.paths.tfds_data_dir()`` and a failed
    download becomes a ``DownloadError``. Reviews come in shuffled order, so the first ones
    hold both classes.

    Args:
        settings: what ``tlcourse.setup()`` returned.
        train_count: training reviews to keep (>= 2).
        test_count: test reviews to keep (>= 2).

    Example:
        >>> splits = load_imdb(tlcourse.get_settings("smoke"), 16, 8)  # doctest: +SKIP
        >>> splits.train_texts.shape  # doctest: +SKIP
        (16,)
    """
    import tensorflow_datasets as tfds

    from tlcourse.downloads import download_guard, require_network
    from tlcourse.paths import tfds_data_dir

    _check_settings(settings)
    check_int("train_count", train_count, minimum=2, fix="keep at least two reviews, e.g. 256")
    check_int("test_count", test_count, minimum=2, fix="keep at least two reviews, e.g. 256")
    data_dir = tfds_data_dir()
    splits = [f"train[:{train_count}]", f"test[:{test_count}]"]
    if settings.mock_data:
        with tfds.testing.mock_data(num_examples=max(train_count, test_count)):
            parts = tfds.load("imdb_reviews", split=splits, as_supervised=True, data_dir=data_dir)
            arrays = [_to_arrays(part.take(count)) for part, count in zip(parts, (train_count, test_count))]
    else:
        if not tfds.builder("imdb_reviews", data_dir=data_dir).is_prepared():
            require_network("the imdb_reviews dataset")
        with download_guard("the imdb_reviews dataset"):
            parts = tfds.load("imdb_reviews", split=splits, as_supervised=True, data_dir=data_dir)
        arrays = [_to_arrays(part.take(count)) for part, count in zip(parts, (train_count, test_count))]
    (train_texts, train_labels), (test_texts, test_labels) = arrays
    return TextSplits(train_texts, train_labels, test_texts, test_labels)


def _to_arrays(ds: Any) -> tuple[np.ndarray, np.ndarray]:
    texts, labels = [], []
    for text, label in ds.as_numpy_iterator():
        texts.append(text.decode("utf-8", errors="replace"))
        labels.append(int(label))
    return np.array(texts, dtype=str), np.array(labels, dtype="int32")


def build_vocabulary(texts: Any, max_words: int = 5000) -> list[str]:
    """Return a WordPiece vocabulary for a smoke run: the special tokens, then the texts' words.

    Args:
        texts: strings to take lower-cased, whitespace-separated words from.
        max_words: keep at most this many most frequent words.

    Example:
        >>> build_vocabulary(["a good film", "a bad film"])[:7]
        ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a', 'film']
    """
    check_int("max_words", max_words, minimum=1, fix="keep at least one word, e.g. 5000")
    if isinstance(texts, (str, bytes)) or not hasattr(texts, "__iter__"):
        raise TypeError(f"texts={texts!r} is a {type(texts).__name__}: expected a list of strings. "
                        "Fix: pass e.g. splits.train_texts.")
    counts: dict[str, int] = {}
    for text in texts:
        if not isinstance(text, str):
            raise TypeError(f"texts holds {text!r} ({type(text).__name__}): expected strings. "
                            "Fix: decode bytes first.")
        for word in text.lower().split():
            if word not in SPECIAL_TOKENS:
                counts[word] = counts.get(word, 0) + 1
    if not counts:
        raise ValueError("texts has no words: expected at least one non-empty string. Fix: pass the reviews.")
    words = sorted(counts, key=lambda word: (-counts[word], word))[:max_words]
    return list(SPECIAL_TOKENS) + words


_BERT_TINY = dict(vocabulary_size=30_522, num_layers=2, num_heads=2, hidden_dim=128, intermediate_dim=512)
PRESET_SIZES: dict[str, dict[str, int]] = {
    "bert_tiny_en_uncased": _BERT_TINY,
    "bert_tiny_en_uncased_sst2": _BERT_TINY,
    "bert_small_en_uncased": dict(vocabulary_size=30_522, num_layers=4, num_heads=8, hidden_dim=512,
                                  intermediate_dim=2_048),
}
"""``BertBackbone`` arguments of the course's presets, for offline timing runs only (see
``tlcourse.settings.offline_timing``). Each gives exactly the parameter count KerasHub's preset list
states (4,385,920 for the tiny ones, 28,763,648 for small; ``tests/test_text.py`` checks)."""


def stand_in_classifier(settings: Settings, preset: str, *, sequence_length: int, vocabulary_texts: Any,
                        num_classes: int = 2, tiny_size: dict[str, int] | None = None) -> Any:
    """Return the offline stand-in for ``BertTextClassifier.from_preset(preset)``: smoke and timing runs only.

    In quick/full the notebook itself calls ``keras_hub.models.BertTextClassifier.from_preset``
    (that is the lesson); this builds what smoke can run without a download: a ``BertBackbone``
    from arguments (``tiny_size``, default 2 layers, hidden 32; in an offline timing run the
    preset's real size from ``PRESET_SIZES``) with random weights, a ``BertTokenizer`` over
    ``build_vocabulary(vocabulary_texts)`` and a new ``num_classes`` head. It stands in for a
    ready-made classifier too (e.g. ``bert_tiny_en_uncased_sst2``): same shapes, random head.

    Args:
        settings: what ``tlcourse.setup()`` returned; ``settings.mock_data`` must be True.
        preset: the KerasHub preset it stands in for, e.g. ``"bert_tiny_en_uncased"``.
        sequence_length: tokens per review, [CLS] and [SEP] included.
        vocabulary_texts: texts for the in-memory vocabulary.
        num_classes: classes of the head.
        tiny_size: ``num_layers``, ``hidden_dim``, ``num_heads``, ``intermediate_dim``.

    Example:
        >>> model = stand_in_classifier(tlcourse.get_settings("smoke"), "bert_tiny_en_uncased",
        ...                             sequence_length=16, vocabulary_texts=["a good film"])  # doctest: +SKIP
        >>> model.predict(["a good film"], verbose=0).shape  # doctest: +SKIP
        (1, 2)
    """
    import keras_hub

    _check_settings(settings)
    check_text("preset", preset, fix='pass a KerasHub preset name, e.g. "bert_tiny_en_uncased"')
    check_int("sequence_length", sequence_length, minimum=8, maximum=512,
              fix="BERT reads 8 to 512 tokens; use e.g. 128")
    check_int("num_classes", num_classes, minimum=2, fix="sentiment has two classes")
    if tiny_size is not None:  # an unknown key would reach BertBackbone as a raw TypeError
        from tlcourse.checks import check_options

        check_options("tiny_size", tiny_size, ("vocabulary_size", "num_layers", "hidden_dim", "num_heads",
                                               "intermediate_dim", "dropout"), fix="pass BertBackbone's size arguments")
    if not settings.mock_data:
        raise ValueError(f"stand_in_classifier is for smoke and offline timing runs, and profile {settings.name!r} "
                         "loads real presets. Fix: call keras_hub.models.BertTextClassifier.from_preset("
                         f"{preset!r}, ...) inside tlcourse.downloads.download_guard, as notebook 10 does.")
    if offline_timing():  # benchmarks/profile_times.py: the preset's real size, random weights
        if preset not in PRESET_SIZES:
            raise ValueError(f"{OFFLINE_TIMING_ENV}=1 times presets built from arguments, and {preset!r} has no "
                             f"size in tlcourse.text.PRESET_SIZES ({sorted(PRESET_SIZES)}). Fix: add its "
                             "BertBackbone arguments there.")
        tiny_size = PRESET_SIZES[preset]
    if vocabulary_texts is None:
        raise ValueError("vocabulary_texts=None: the stand-in BERT needs texts for its vocabulary. "
                         "Fix: pass vocabulary_texts=splits.train_texts.")
    vocabulary = build_vocabulary(vocabulary_texts)
    size = {"num_layers": 2, "hidden_dim": 32, "num_heads": 2, "intermediate_dim": 64}
    size.update(tiny_size or {})
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=vocabulary, lowercase=True)
    preprocessor = keras_hub.models.BertTextClassifierPreprocessor(tokenizer, sequence_length=sequence_length)
    backbone = keras_hub.models.BertBackbone(vocabulary_size=size.pop("vocabulary_size", len(vocabulary)),
                                             max_sequence_length=max(sequence_length, 16), **size)
    return keras_hub.models.BertTextClassifier(backbone=backbone, preprocessor=preprocessor,
                                               num_classes=num_classes)


def gap_verdict(summary: list[dict[str, Any]], first: str, second: str, x: str = "budget") -> list[str]:
    """Say, per ``x`` value, whether ``first`` beat ``second`` by more than the seeds' spread.

    ``summary`` is ``tlcourse.results.summarize_runs(rows, x=x)``. A gap counts only when the
    difference of the means exceeds the spread, ``sqrt(std_first**2 + std_second**2)``; with a
    single seed (std 0) every nonzero gap counts, so run several seeds before you trust it.

    Example:
        >>> summary = [{"method": "a", "budget": 50, "mean": 0.70, "std": 0.02},
        ...            {"method": "b", "budget": 50, "mean": 0.60, "std": 0.03},
        ...            {"method": "a", "budget": 500, "mean": 0.80, "std": 0.05},
        ...            {"method": "b", "budget": 500, "mean": 0.78, "std": 0.05}]
        >>> gap_verdict(summary, "a", "b")
        ['budget 50: a ahead by 0.100 (spread 0.036)', 'budget 500: within the spread (gap +0.020, spread 0.071)']
    """
    cells = {(row["method"], row[x]): row for row in summary}
    lines = []
    for key in sorted({row[x] for row in summary}):
        if (first, key) not in cells or (second, key) not in cells:
            raise ValueError(f"summary has no {first!r} and {second!r} rows at {x}={key!r}: expected both methods "
                             "at every value. Fix: pass summarize_runs(rows) of runs of both methods.")
        one, other = cells[(first, key)], cells[(second, key)]
        gap = one["mean"] - other["mean"]
        spread = float(np.hypot(one["std"], other["std"]))
        if abs(gap) > spread:
            lines.append(f"{x} {key}: {first if gap > 0 else second} ahead by {abs(gap):.3f} (spread {spread:.3f})")
        else:
            lines.append(f"{x} {key}: within the spread (gap {gap:+.3f}, spread {spread:.3f})")
    return lines
