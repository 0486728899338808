"""Epoch timing, merging training phases and evaluation (``training.py``), on a tiny model."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from tlcourse.training import EpochTimer, evaluate, merge_histories, predict_labels

# Four one-hot inputs; the model below predicts classes 0, 1, 2, 0 for them.
X = np.eye(4, dtype="float32")
Y_TRUE = np.array([0, 1, 2, 1])
Y_PRED = np.array([0, 1, 2, 0])


def tiny_model() -> keras.Model:
    """Dense 4 → 3 whose logits are rows of a fixed matrix: input i predicts class ``Y_PRED[i]``."""
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3, use_bias=False)])
    kernel = np.zeros((4, 3), "float32")
    kernel[np.arange(4), Y_PRED] = 5.0
    model.layers[0].set_weights([kernel])
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


@pytest.fixture(scope="module")
def test_ds() -> tf.data.Dataset:
    return tf.data.Dataset.from_tensor_slices((X, Y_TRUE)).batch(3)  # batches of 3 and 1


# --- EpochTimer -------------------------------------------------------------------------------

def test_epoch_timer_records_one_time_per_epoch(test_ds):
    model, timer = tiny_model(), EpochTimer()
    model.fit(test_ds, epochs=3, callbacks=[timer], verbose=0, shuffle=False)
    assert len(timer.epoch_seconds) == 3
    assert all(seconds > 0 for seconds in timer.epoch_seconds)
    assert timer.total_seconds == pytest.approx(sum(timer.epoch_seconds))
    model.fit(test_ds, epochs=2, callbacks=[timer], verbose=0, shuffle=False)
    assert len(timer.epoch_seconds) == 2, "each fit starts a new record"


def test_epoch_timer_starts_empty():
    timer = EpochTimer()
    assert timer.epoch_seconds == [] and timer.total_seconds == 0.0


# --- merge_histories --------------------------------------------------------------------------

def test_merge_histories_docstring_example():
    assert merge_histories({"loss": [3, 2]}, {"loss": [1]}) == ({"loss": [3.0, 2.0, 1.0]}, [2])


def test_merge_histories_phase_starts_and_floats():
    merged, starts = merge_histories(
        {"loss": [3.0, 2.5], "val_loss": [3.1, 2.6]},
        {"loss": [np.float32(2.0)], "val_loss": [np.float64(2.2)]},
        {"loss": [1.5, 1.0, 0.5], "val_loss": [2.0, 1.9, 1.8]},
    )
    assert merged == {"loss": [3.0, 2.5, 2.0, 1.5, 1.0, 0.5], "val_loss": [3.1, 2.6, 2.2, 2.0, 1.9, 1.8]}
    assert starts == [2, 3]
    assert all(type(value) is float for values in merged.values() for value in values)


def test_merge_histories_of_one_phase_has_no_starts():
    assert merge_histories({"accuracy": [0.5, 0.6]}) == ({"accuracy": [0.5, 0.6]}, [])


def test_merge_histories_accepts_keras_history_objects(test_ds):
    model = tiny_model()
    head = model.fit(test_ds, validation_data=test_ds, epochs=2, verbose=0, shuffle=False)
    fine = model.fit(test_ds, validation_data=test_ds, epochs=1, verbose=0, shuffle=False)
    merged, starts = merge_histories(head, fine)
    assert starts == [2]
    assert set(merged) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(values) == 3 for values in merged.values())
    assert merged["loss"][:2] == pytest.approx(head.history["loss"])


def test_merge_histories_rejects_mismatched_metrics():
    with pytest.raises(ValueError) as caught:
        merge_histories({"loss": [1.0], "accuracy": [0.5]}, {"loss": [0.9]})
    message = str(caught.value)
    assert "Phase 2" in message and "['loss']" in message and "['accuracy', 'loss']" in message


def test_merge_histories_needs_a_history():
    with pytest.raises(ValueError, match="got no history"):
        merge_histories()


# --- predict_labels and evaluate --------------------------------------------------------------

def test_predict_labels_returns_true_and_predicted_classes(test_ds):
    y_true, y_pred = predict_labels(tiny_model(), test_ds)
    np.testing.assert_array_equal(y_true, Y_TRUE)
    np.testing.assert_array_equal(y_pred, Y_PRED)
    assert y_true.shape == y_pred.shape == (4,)
    assert np.issubdtype(y_pred.dtype, np.integer)


def test_predict_labels_works_with_probabilities(test_ds):
    model = tiny_model()
    probabilities = keras.Sequential([model, layers.Softmax()])
    assert predict_labels(probabilities, test_ds)[1].tolist() == Y_PRED.tolist()


def test_evaluate_returns_the_compiled_metrics_as_floats(test_ds):
    results = evaluate(tiny_model(), test_ds)
    assert set(results) == {"loss", "accuracy"}
    assert all(type(value) is float for value in results.values())
    assert results["accuracy"] == pytest.approx(0.75)
    logits = X @ tiny_model().layers[0].get_weights()[0]
    expected_loss = float(np.mean(keras.ops.sparse_categorical_crossentropy(Y_TRUE, logits, from_logits=True)))
    assert results["loss"] == pytest.approx(expected_loss, rel=1e-4)
