"""Tests of tlcourse.text (notebook 10): IMDB loading under mock data and the BERT builder."""

import pytest

import tlcourse
from tlcourse.downloads import looks_like_download_failure
from tlcourse.text import build_bert_classifier, build_vocabulary, load_imdb

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
    model = build_bert_classifier(SMOKE, "bert_tiny_en_uncased", sequence_length=16, vocabulary_texts=texts)
    assert model.predict(texts, verbose=0).shape == (2, 2)


def test_bert_builder_bad_input():
    pytest.importorskip("keras_hub")
    with pytest.raises(ValueError, match="vocabulary_texts"):
        build_bert_classifier(SMOKE, "bert_tiny_en_uncased", sequence_length=16)
    with pytest.raises(ValueError):
        build_bert_classifier(SMOKE, "bert_tiny_en_uncased", sequence_length=4, vocabulary_texts=["a"])
    with pytest.raises(TypeError):
        build_bert_classifier("smoke", "bert_tiny_en_uncased", sequence_length=16, vocabulary_texts=["a"])


def test_kagglehub_offline_error_is_a_download_failure():
    # What kagglehub raises offline (requests' ConnectionError, checked 2026-11-28).
    message = ("HTTPSConnectionPool(host='api.kaggle.com', port=443): Max retries exceeded with url: "
               "/v1/models.ModelApiService/DownloadModelInstanceVersion (Caused by NameResolutionError("
               "\"Failed to resolve 'api.kaggle.com' ([Errno -2] Name or service not known)\"))")
    assert looks_like_download_failure(OSError(message))
