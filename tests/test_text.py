"""Tests of tlcourse.text (notebook 10): IMDB loading under mock data, the offline BERT stand-in, the verdict."""

import pytest

import tlcourse
from tlcourse.downloads import looks_like_download_failure
from tlcourse.little_data import training_batches
from tlcourse.text import build_vocabulary, gap_verdict, load_imdb, stand_in_classifier

SMOKE = tlcourse.get_settings("smoke")


def test_vocabulary_starts_with_special_tokens():
    vocabulary = build_vocabulary(["A good film", "a bad film"])
    assert vocabulary[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert vocabulary[5:7] == ["a", "film"]


@pytest.mark.parametrize("texts, error", [("one string", TypeError), ([b"bytes"], TypeError), ([""], ValueError)])
def test_vocabulary_bad_input(texts, error):
    with pytest.raises(error):
        build_vocabulary(texts)


def test_load_imdb_mock_counts():
    splits = load_imdb(SMOKE, 8, 4)
    assert splits.train_texts.shape == (8,) and splits.test_labels.shape == (4,)
    assert set(splits.train_labels.tolist()) <= {0, 1}


@pytest.mark.parametrize("counts", [(1, 4), (8, "4")])
def test_load_imdb_bad_counts(counts):
    with pytest.raises((ValueError, TypeError)):
        load_imdb(SMOKE, *counts)


def test_tiny_bert_classifier_predicts_two_logits():
    pytest.importorskip("keras_hub")
    texts = ["a good film", "a bad film"]
    model = stand_in_classifier(SMOKE, "bert_tiny_en_uncased", sequence_length=16, vocabulary_texts=texts)
    assert model.predict(texts, verbose=0).shape == (2, 2)


def test_bert_builder_bad_input():
    pytest.importorskip("keras_hub")
    with pytest.raises(ValueError, match="vocabulary_texts"):
        stand_in_classifier(SMOKE, "bert_tiny_en_uncased", sequence_length=16, vocabulary_texts=None)
    with pytest.raises(ValueError):
        stand_in_classifier(SMOKE, "bert_tiny_en_uncased", sequence_length=4, vocabulary_texts=["a"])
    with pytest.raises(TypeError):
        stand_in_classifier("smoke", "bert_tiny_en_uncased", sequence_length=16, vocabulary_texts=["a"])


def test_kagglehub_offline_error_is_a_download_failure():
    # What kagglehub raises offline (requests' ConnectionError, checked 2026-11-28).
    message = ("HTTPSConnectionPool(host='api.kaggle.com', port=443): Max retries exceeded with url: "
               "/v1/models.ModelApiService/DownloadModelInstanceVersion (Caused by NameResolutionError("
               "\"Failed to resolve 'api.kaggle.com' ([Errno -2] Name or service not known)\"))")
    assert looks_like_download_failure(OSError(message))


def test_stand_in_refuses_profiles_that_load_real_presets(monkeypatch):
    pytest.importorskip("keras_hub")
    monkeypatch.delenv("TLCOURSE_OFFLINE_TIMING", raising=False)
    with pytest.raises(ValueError, match="from_preset"):
        stand_in_classifier(tlcourse.get_settings("quick"), "bert_tiny_en_uncased", sequence_length=16,
                            vocabulary_texts=["a"])


def test_stand_in_trains_on_string_batches():
    pytest.importorskip("keras_hub")
    import keras
    import numpy as np

    texts, labels = np.array(["a good film", "a bad film", "good", "bad"]), np.array([1, 0, 1, 0])
    model = stand_in_classifier(SMOKE, "bert_tiny_en_uncased", sequence_length=16, vocabulary_texts=texts)
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(training_batches(texts, labels, 2, seed=0), steps_per_epoch=3, epochs=1, verbose=0)
    assert int(model.optimizer.iterations.numpy()) == 3


def _summary(a_mean, b_mean, std):
    return [{"method": "a", "budget": 50, "mean": a_mean, "std": std},
            {"method": "b", "budget": 50, "mean": b_mean, "std": std}]


@pytest.mark.parametrize("a_mean, b_mean, std, start", [
    (0.8, 0.6, 0.01, "budget 50: a ahead"),
    (0.6, 0.8, 0.01, "budget 50: b ahead"),
    (0.62, 0.6, 0.05, "budget 50: within the spread"),
])
def test_gap_verdict_reads_the_gap_against_the_spread(a_mean, b_mean, std, start):
    assert gap_verdict(_summary(a_mean, b_mean, std), "a", "b")[0].startswith(start)


def test_gap_verdict_needs_both_methods():
    with pytest.raises(ValueError, match="both"):
        gap_verdict(_summary(0.7, 0.6, 0.0)[:1], "a", "b")
