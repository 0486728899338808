"""Tests of tlcourse.text (notebook 10): IMDB loading under mock data, the offline BERT and GPT-2 stand-ins, prompts."""

import numpy as np
import pytest

import tlcourse
from tlcourse.downloads import looks_like_download_failure
from tlcourse.little_data import training_batches
from tlcourse.text import (LABEL_NAMES, build_vocabulary, few_shot_prompts, load_imdb, pack_prompts,
                           stand_in_classifier, stand_in_gpt2)

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
    splits = load_imdb(SMOKE, 8, 3, 4)
    assert splits.train_texts.shape == (8,) and splits.val_labels.shape == (3,) and splits.test_labels.shape == (4,)
    assert set(splits.train_labels.tolist()) <= {0, 1}


@pytest.mark.parametrize("counts", [(1, 2, 4), (8, 2, "4"), (8, 1, 4)])
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
    model.fit(training_batches(texts, labels, 2, seed=0), steps_per_epoch=3, epochs=1, verbose=0,
              shuffle=False)
    assert int(model.optimizer.iterations.numpy()) == 3


def test_gpt2_stand_in_answers_are_single_tokens_and_it_reads_any_text():
    pytest.importorskip("keras_hub")
    import keras_hub

    backbone, tokenizer = stand_in_gpt2(SMOKE, "gpt2_base_en")
    assert [len(tokenizer(f" {name}")) for name in LABEL_NAMES] == [1, 1]
    preprocessor = keras_hub.models.GPT2Preprocessor(tokenizer, sequence_length=16)
    inputs = preprocessor(["Größe! 12 ✓", "ok"])  # any bytes become tokens: nothing is unknown
    output = backbone(inputs)
    assert output.shape == (2, 16, backbone.hidden_dim)
    assert inputs["padding_mask"].numpy()[1].sum() == 4  # start, "o", "k", end


def test_gpt2_stand_in_refuses_real_profiles_and_bad_words(monkeypatch):
    pytest.importorskip("keras_hub")
    monkeypatch.delenv("TLCOURSE_OFFLINE_TIMING", raising=False)
    with pytest.raises(ValueError, match="from_preset"):
        stand_in_gpt2(tlcourse.get_settings("quick"), "gpt2_base_en")
    with pytest.raises(TypeError, match="single words"):
        stand_in_gpt2(SMOKE, "gpt2_base_en", words=("two words",))


def test_few_shot_prompts_put_the_shots_before_an_open_question():
    prompts = few_shot_prompts(["great fun", "dull plot"], [1, 0], ["what a film it was", "meh"], words=3)
    assert len(prompts) == 2
    assert prompts[0] == ("Review: great fun\nSentiment: positive\n\nReview: dull plot\nSentiment: negative\n\n"
                          "Review: what a film\nSentiment:")
    with pytest.raises(ValueError, match="one label"):
        few_shot_prompts(["a", "b"], [1], ["c"], words=3)
    with pytest.raises(TypeError):
        few_shot_prompts(["a"], [1], "one string", words=3)


def test_pack_prompts_keeps_the_end_of_a_long_prompt():
    pytest.importorskip("keras_hub")
    _, tokenizer = stand_in_gpt2(SMOKE, "gpt2_base_en")
    inputs, cut = pack_prompts(tokenizer, ["abcdefghi positive", "ab"], 9)
    assert cut == 1 and inputs["padding_mask"].sum(axis=1).tolist() == [9, 2]
    last_kept = inputs["token_ids"][0, 8]
    assert last_kept == int(tokenizer(" positive")[0])  # the end survives, the beginning was cut
    assert inputs["token_ids"][1, 2:].tolist() == [tokenizer.pad_token_id] * 7
    with pytest.raises(ValueError, match="empty"):
        pack_prompts(tokenizer, [], 9)


def test_decoder_review_vectors_pool_the_mean_and_the_last_real_token():
    pytest.importorskip("keras_hub")
    import keras_hub

    from tlcourse.text import decoder_review_vectors, pooling_columns

    backbone, tokenizer = stand_in_gpt2(SMOKE, "gpt2_base_en")
    inputs = keras_hub.models.GPT2Preprocessor(tokenizer, sequence_length=12)(["a long review here", "ok"])
    sequence = np.asarray(backbone(inputs))
    vectors = np.asarray(decoder_review_vectors(backbone)(inputs))
    columns = pooling_columns(backbone.hidden_dim)
    mask = np.asarray(inputs["padding_mask"]).astype(bool)
    for row in range(2):  # the mean over real tokens only, and the last real token's vector
        np.testing.assert_allclose(vectors[row, columns["mean"]], sequence[row, mask[row]].mean(axis=0), atol=1e-5)
        np.testing.assert_allclose(vectors[row, columns["last"]], sequence[row, mask[row].sum() - 1], atol=1e-5)
    with pytest.raises(TypeError, match="decoder backbone"):
        decoder_review_vectors(tokenizer)
    with pytest.raises(ValueError):
        pooling_columns(0)
