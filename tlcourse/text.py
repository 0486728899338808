"""Notebook 10's text helpers: IMDB reviews as NumPy arrays, offline BERT and GPT-2 stand-ins, prompts.

In ``quick``/``full`` notebook 10 itself loads its models with ``from_preset`` (inside
``download_guard``); only ``smoke`` and offline timing runs use the stand-ins: a ``BertBackbone``
(``stand_in_classifier``) or a ``GPT2Backbone`` (``stand_in_gpt2``) built from arguments, with a
tokenizer over an in-memory vocabulary, so the same notebook runs offline. ``few_shot_prompts``
and ``pack_prompts`` build the in-context (few-shot) prompts of GPT-2's last rung.
``keras_hub`` is imported inside the functions (it is the optional ``hub`` extra).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tlcourse.checks import check_int, check_text
from tlcourse.settings import OFFLINE_TIMING_ENV, Settings, offline_timing

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


LABEL_NAMES = ("negative", "positive")
"""IMDB's classes in label order (0, 1); the in-context prompts use these words as answers."""


@dataclass(frozen=True)
class TextSplits:
    """Reviews and labels (0 negative, 1 positive) as NumPy arrays: training, validation and test."""

    train_texts: np.ndarray
    train_labels: np.ndarray
    val_texts: np.ndarray
    val_labels: np.ndarray
    test_texts: np.ndarray
    test_labels: np.ndarray


def _check_settings(settings: Any) -> None:
    if not isinstance(settings, Settings):
        raise TypeError(f"settings={settings!r} is a {type(settings).__name__}: expected the Settings "
                        "that tlcourse.setup() returns. Fix: settings = tlcourse.setup().")


def load_imdb(settings: Settings, train_count: int, val_count: int, test_count: int) -> TextSplits:
    """Load ``train_count`` training, ``val_count`` validation and ``test_count`` test reviews of ``imdb_reviews``.

    Training and validation reviews come from IMDB's ``train`` split (the first ``train_count``,
    then the next ``val_count``: no review in both); test reviews are the first ``test_count`` of
    its ``test`` split. Smoke (``settings.mock_data``) loads under ``tfds.testing.mock_data``
    (random strings, no download); otherwise the dataset is read from
    ``tlcourse.paths.tfds_data_dir()`` and a failed download becomes a ``DownloadError``. Reviews
    come in shuffled order, so the first ones hold both classes.

    Args:
        settings: what ``tlcourse.setup()`` returned.
        train_count: training reviews to keep (>= 2).
        val_count: validation reviews to keep (>= 2).
        test_count: test reviews to keep (>= 2).

    Example:
        >>> splits = load_imdb(tlcourse.get_settings("smoke"), 16, 8, 8)  # doctest: +SKIP
        >>> splits.train_texts.shape, splits.val_texts.shape  # doctest: +SKIP
        ((16,), (8,))
    """
    import tensorflow_datasets as tfds

    from tlcourse.downloads import download_guard, require_network
    from tlcourse.paths import tfds_data_dir

    _check_settings(settings)
    for name, count in (("train_count", train_count), ("val_count", val_count), ("test_count", test_count)):
        check_int(name, count, minimum=2, fix="keep at least two reviews, e.g. 256")
    data_dir = tfds_data_dir()
    counts = (train_count + val_count, test_count)
    splits = [f"train[:{counts[0]}]", f"test[:{counts[1]}]"]
    if settings.mock_data:
        with tfds.testing.mock_data(num_examples=max(counts)):
            parts = tfds.load("imdb_reviews", split=splits, as_supervised=True, data_dir=data_dir)
            arrays = [_to_arrays(part.take(count)) for part, count in zip(parts, counts)]
    else:
        if not tfds.builder("imdb_reviews", data_dir=data_dir).is_prepared():
            require_network("the imdb_reviews dataset")
        with download_guard("the imdb_reviews dataset"):
            parts = tfds.load("imdb_reviews", split=splits, as_supervised=True, data_dir=data_dir)
        arrays = [_to_arrays(part.take(count)) for part, count in zip(parts, counts)]
    (texts, labels), (test_texts, test_labels) = arrays
    return TextSplits(texts[:train_count], labels[:train_count], texts[train_count:], labels[train_count:],
                      test_texts, test_labels)


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


def _timing_size(preset: str, sizes: dict, table: str, backbone: str) -> dict:
    """The real size of ``preset`` for an offline timing run, from the table ``sizes`` (named ``table``)."""
    if preset not in sizes:
        raise ValueError(f"{OFFLINE_TIMING_ENV}=1 times presets built from arguments, and {preset!r} has no size in "
                         f"tlcourse.text.{table} ({sorted(sizes)}). Fix: add its {backbone} arguments there.")
    return sizes[preset]


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
        tiny_size = _timing_size(preset, PRESET_SIZES, "PRESET_SIZES", "BertBackbone")
    if vocabulary_texts is None:
        raise ValueError("vocabulary_texts=None: the stand-in BERT needs texts for its vocabulary. "
                         "Fix: pass vocabulary_texts=splits.train_texts.")
    vocabulary = build_vocabulary(vocabulary_texts)
    size = {"num_layers": 2, "hidden_dim": 32, "num_heads": 2, "intermediate_dim": 64}
    size.update(tiny_size or {})
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=vocabulary, lowercase=True)
    preprocessor = keras_hub.models.BertTextClassifierPreprocessor(tokenizer, sequence_length=sequence_length)
    backbone = keras_hub.models.BertBackbone(vocabulary_size=size.pop("vocabulary_size", len(vocabulary)),
                                             max_sequence_length=512, **size)  # BERT's presets: any sequence_length up to 512
    return keras_hub.models.BertTextClassifier(backbone=backbone, preprocessor=preprocessor,
                                               num_classes=num_classes)


GPT2_PRESET_SIZES: dict[str, dict[str, int]] = {
    "gpt2_base_en": dict(vocabulary_size=50_257, num_layers=12, num_heads=12, hidden_dim=768, intermediate_dim=3_072,
                         max_sequence_length=1_024),
}
"""``GPT2Backbone`` arguments of the course's GPT-2 preset, for offline timing runs only: 124,439,808
parameters, as KerasHub's preset list states (``tests/test_offline_timing.py`` checks)."""


def _byte_characters() -> list[str]:
    """GPT-2's byte-level alphabet: one printable character for each of the 256 bytes (space is 'Ġ')."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    characters, extra = {}, 0
    for byte in range(256):
        if byte in printable:
            characters[byte] = chr(byte)
        else:
            characters[byte] = chr(256 + extra)
            extra += 1
    return [characters[byte] for byte in range(256)]


def stand_in_gpt2(settings: Settings, preset: str, *, words: tuple[str, ...] = LABEL_NAMES,
                  tiny_size: dict[str, int] | None = None) -> tuple[Any, Any]:
    """Return the offline stand-in for ``(GPT2Backbone.from_preset(preset), GPT2Tokenizer.from_preset(preset))``.

    Smoke and timing runs only. The tokenizer is byte-level BPE like GPT-2's, over an in-memory
    vocabulary: the 256 byte characters, merges that make each of ``words`` (with its leading
    space) one token, and ``<|endoftext|>``, so every text can be tokenized and `` positive`` /
    `` negative`` are single tokens as in the real vocabulary. The backbone is built from
    arguments with random weights: ``tiny_size`` (default 2 layers, hidden 32), or in an offline
    timing run the preset's real size from ``GPT2_PRESET_SIZES``.

    Args:
        settings: what ``tlcourse.setup()`` returned; ``settings.mock_data`` must be True.
        preset: the KerasHub preset it stands in for, e.g. ``"gpt2_base_en"``.
        words: words that must be single tokens (after a space).
        tiny_size: ``num_layers``, ``hidden_dim``, ``num_heads``, ``intermediate_dim``, ``max_sequence_length``.

    Example:
        >>> backbone, tokenizer = stand_in_gpt2(tlcourse.get_settings("smoke"), "gpt2_base_en")  # doctest: +SKIP
        >>> len(tokenizer(" positive")), backbone.hidden_dim  # doctest: +SKIP
        (1, 32)
    """
    import keras_hub

    _check_settings(settings)
    check_text("preset", preset, fix='pass a KerasHub preset name, e.g. "gpt2_base_en"')
    if isinstance(words, str) or not all(isinstance(word, str) and word.strip().isalpha() for word in words):
        raise TypeError(f"words={words!r}: expected a tuple of single words (letters only), e.g. "
                        "('negative', 'positive').")
    if not settings.mock_data:
        raise ValueError(f"stand_in_gpt2 is for smoke and offline timing runs, and profile {settings.name!r} loads "
                         f"real presets. Fix: call keras_hub.models.GPT2Backbone.from_preset({preset!r}) and "
                         "GPT2Tokenizer.from_preset inside tlcourse.downloads.download_guard, as notebook 10 does.")
    size = {"num_layers": 2, "hidden_dim": 32, "num_heads": 2, "intermediate_dim": 64, "max_sequence_length": 1_024}
    if offline_timing():  # benchmarks/profile_times.py: the preset's real size, random weights
        tiny_size = _timing_size(preset, GPT2_PRESET_SIZES, "GPT2_PRESET_SIZES", "GPT2Backbone")
    size.update(tiny_size or {})
    vocabulary = {character: index for index, character in enumerate(_byte_characters())}
    merges: list[str] = []
    for word in words:
        piece = "Ġ"
        for letter in word.strip():
            merges.append(f"{piece} {letter}")
            piece += letter
            vocabulary.setdefault(piece, len(vocabulary))
    vocabulary["<|endoftext|>"] = len(vocabulary)
    tokenizer = keras_hub.models.GPT2Tokenizer(vocabulary=vocabulary, merges=list(dict.fromkeys(merges)))
    size.setdefault("vocabulary_size", len(vocabulary))
    return keras_hub.models.GPT2Backbone(**size), tokenizer


def few_shot_prompts(shot_texts: Any, shot_labels: Any, queries: Any, *, words: int) -> list[str]:
    """Return one few-shot prompt per query: the labelled shots, then the query with its answer left open.

    Each shot reads ``"Review: <first words>\\nSentiment: positive\\n\\n"``; the prompt ends with
    ``"Review: <query's first words>\\nSentiment:"``, so the next token GPT-2 predicts is its
    answer, `` positive`` or `` negative`` (``LABEL_NAMES``). Every review is cut to its first
    ``words`` words to keep the prompt short. The same shots, in the same order, precede every query.

    Args:
        shot_texts, shot_labels: the labelled examples (labels 0 negative, 1 positive).
        queries: the reviews to classify.
        words: words kept of each review.

    Example:
        >>> print(few_shot_prompts(["a fine film indeed"], [1], ["dull and long"], words=2)[0])
        Review: a fine
        Sentiment: positive
        <BLANKLINE>
        Review: dull and
        Sentiment:
    """
    check_int("words", words, minimum=1, fix="keep e.g. the first 24 words of each review")
    shot_texts, shot_labels, queries = (_strings("shot_texts", shot_texts), np.asarray(shot_labels).reshape(-1),
                                        _strings("queries", queries))
    if len(shot_texts) != len(shot_labels) or not set(shot_labels.tolist()) <= {0, 1}:
        raise ValueError(f"shot_texts has {len(shot_texts)} reviews and shot_labels {shot_labels.tolist()}: expected "
                         "one label, 0 or 1, per shot. Fix: index texts and labels with the same indices.")

    def cut(review: str) -> str:
        return " ".join(review.split()[:words])

    shots = "".join(f"Review: {cut(review)}\nSentiment: {LABEL_NAMES[int(label)]}\n\n"
                    for review, label in zip(shot_texts, shot_labels))
    return [f"{shots}Review: {cut(query)}\nSentiment:" for query in queries]


def _strings(name: str, values: Any) -> list[str]:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name}={values!r} is a {type(values).__name__}: expected a list of strings.")
    values = list(values)
    if not all(isinstance(value, str) for value in values):
        raise TypeError(f"{name} holds non-strings ({[type(v).__name__ for v in values][:3]}): expected strings. "
                        "Fix: decode bytes first.")
    return values


def pack_prompts(tokenizer: Any, prompts: Any, sequence_length: int) -> tuple[dict[str, np.ndarray], int]:
    """Tokenize prompts for GPT-2 and pad them on the right; a too-long prompt loses its *beginning*.

    ``keras_hub``'s preprocessors cut a long text at its end, which would cut off the question
    that a prompt ends with. Here each prompt keeps its last ``sequence_length`` tokens (no start
    or end token: the model must continue the text), padded on the right with the tokenizer's
    pad id, and ``padding_mask`` marks the real tokens; the last real token is the one whose
    next-token prediction answers the prompt.

    Args:
        tokenizer: a ``GPT2Tokenizer``.
        prompts: strings, e.g. from ``few_shot_prompts``.
        sequence_length: tokens per prompt.

    Returns:
        ``({"token_ids": int32 [N, L], "padding_mask": int32 [N, L]}, number of prompts cut)``.

    Example:
        >>> inputs, cut = pack_prompts(tokenizer, ["Review: good\\nSentiment:"], 64)  # doctest: +SKIP
        >>> inputs["token_ids"].shape, cut  # doctest: +SKIP
        ((1, 64), 0)
    """
    check_int("sequence_length", sequence_length, minimum=2, maximum=1_024,
              fix="GPT-2 reads at most 1,024 tokens; use e.g. 192")
    prompts = _strings("prompts", prompts)
    if not prompts:
        raise ValueError("prompts is empty: expected at least one prompt. Fix: pass few_shot_prompts(...).")
    token_ids = np.full((len(prompts), sequence_length), int(tokenizer.pad_token_id), dtype="int32")
    padding_mask = np.zeros((len(prompts), sequence_length), dtype="int32")
    cut = 0
    for row, ids in enumerate(tokenizer(prompts)):
        ids = np.asarray(ids).reshape(-1)
        cut += int(len(ids) > sequence_length)
        ids = ids[-sequence_length:]
        token_ids[row, :len(ids)], padding_mask[row, :len(ids)] = ids, 1
    return {"token_ids": token_ids, "padding_mask": padding_mask}, cut


# --- GPT-2 as a frozen feature extractor (notebook 10) ------------------------------------------

POOLINGS = ("mean", "last")
"""The two review vectors ``decoder_review_vectors`` returns side by side, in column order."""


def decoder_review_vectors(backbone: Any) -> Any:
    """Wrap a frozen decoder (e.g. ``GPT2Backbone``) so that it returns two vectors per review.

    One forward pass gives one vector per token; the model returned concatenates two poolings
    of them (``POOLINGS``): the **mean** over the real tokens (``padding_mask`` keeps the
    padding out) and the vector of the **last** real token. ``GPT2Preprocessor`` pads on the
    right and ends every review with ``<|endoftext|>``, so the last real token sits at index
    ``sum(padding_mask) - 1`` and, attention being causal, is the only one that has read the
    whole review. Introduced in notebook 10; ``pooling_columns`` says which columns hold which.

    Args:
        backbone: a KerasHub decoder backbone taking ``{"token_ids", "padding_mask"}`` and
            returning ``(batch, tokens, hidden_dim)``.

    Returns:
        a ``keras.Model`` from ``{"token_ids", "padding_mask"}`` to ``(batch, 2 * hidden_dim)``.

    Example:
        >>> backbone, tokenizer = stand_in_gpt2(tlcourse.get_settings("smoke"), "gpt2_base_en")  # doctest: +SKIP
        >>> decoder_review_vectors(backbone).output.shape  # doctest: +SKIP
        (None, 64)
    """
    import keras

    if not isinstance(backbone, keras.Model) or not hasattr(backbone, "hidden_dim"):
        raise TypeError(f"backbone={backbone!r}: expected a KerasHub decoder backbone with a hidden_dim, e.g. "
                        "keras_hub.models.GPT2Backbone.from_preset('gpt2_base_en'). Fix: pass the backbone, "
                        "not the tokenizer or a task model.")
    ops = keras.ops
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    padding_mask = keras.Input(shape=(None,), dtype="int32", name="padding_mask")
    sequence = backbone({"token_ids": token_ids, "padding_mask": padding_mask})  # (batch, tokens, hidden)
    real = ops.expand_dims(ops.cast(padding_mask, sequence.dtype), -1)  # 1 for real tokens, 0 for padding
    mean = ops.sum(sequence * real, axis=1) / ops.maximum(ops.sum(real, axis=1), 1)
    last_index = ops.sum(padding_mask, axis=1) - 1  # right padding: the last real token
    last = ops.take_along_axis(sequence, ops.reshape(last_index, (-1, 1, 1)), axis=1)[:, 0]
    return keras.Model({"token_ids": token_ids, "padding_mask": padding_mask},
                       ops.concatenate([mean, last], axis=-1), name="decoder_mean_and_last")


def pooling_columns(hidden_dim: int) -> dict[str, slice]:
    """Columns of ``decoder_review_vectors``' output that hold each pooling.

    Example:
        >>> pooling_columns(4)
        {'mean': slice(0, 4, None), 'last': slice(4, 8, None)}
    """
    hidden_dim = check_int("hidden_dim", hidden_dim, minimum=1, fix="pass backbone.hidden_dim, e.g. 768")
    return {name: slice(index * hidden_dim, (index + 1) * hidden_dim) for index, name in enumerate(POOLINGS)}


def cached_review_vectors(features_model: Any, preprocessor: Any, texts: Any, *, split: str, settings: Settings,
                          preset: str, sequence_length: int, batch_size: int = 32) -> np.ndarray:
    """Run ``features_model`` once over ``texts`` and cache the result on disk; a rerun reads it back.

    A thin layer over ``tlcourse.features.extract_features`` (notebook 03) for text: the reviews
    go through ``preprocessor`` (e.g. ``GPT2Preprocessor``) in batches of ``batch_size``. The
    cache key names everything the vectors depend on: profile, split, preset, sequence length,
    a hash of the reviews and a fingerprint of the model's weights. Prints one line.

    Args:
        features_model: e.g. ``decoder_review_vectors(backbone)``.
        preprocessor: turns a batch of strings into the model's inputs.
        texts: the reviews (strings).
        split: ``"train"``, ``"val"`` or ``"test"`` (part of the key and of the printed line).
        settings: what ``tlcourse.setup()`` returned.
        preset, sequence_length: the preset and the preprocessor's length (part of the key).
        batch_size: reviews per forward pass.

    Returns:
        ``(len(texts), features)`` float array.

    Example:
        >>> vectors = cached_review_vectors(model, preprocessor, ["good", "bad"], split="val",
        ...                                 settings=settings, preset="gpt2_base_en", sequence_length=32)  # doctest: +SKIP
    """
    import hashlib

    import tensorflow as tf

    from tlcourse.features import extract_features, weights_fingerprint

    _check_settings(settings)
    texts = _strings("texts", texts)
    if not texts:
        raise ValueError("texts is empty: expected at least one review. Fix: pass e.g. splits.val_texts.")
    check_text("split", split, fix='name the split, e.g. "train"')
    check_int("batch_size", batch_size, minimum=1, fix="use e.g. 32")
    ds = tf.data.Dataset.from_tensor_slices((texts, np.zeros(len(texts), "int32"))).batch(batch_size)
    key = {"profile": settings.name, "mock_data": settings.mock_data, "dataset": "imdb_reviews", "split": split,
           "backbone": preset, "sequence_length": sequence_length,
           "reviews": hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16],
           "weights": weights_fingerprint(features_model)}
    cached = extract_features(features_model, ds, preprocess_input=preprocessor, key=key)
    print(f"{split}: {cached.features.shape} features, {cached.seconds:.0f} s ({cached.source})")
    return cached.features
