"""``tlcourse.data.prepare`` tells Keras how long each dataset is, so ``fit`` does not warn."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from tlcourse import get_settings
from tlcourse.data import load_splits, prepare


def test_prepare_counts_a_filtered_dataset_once_without_decoding_twice():
    decoded = []

    def decode(label):
        decoded.append(int(label))
        return label

    ds = tf.data.Dataset.range(20).filter(lambda index: index % 3 > 0)  # 13 examples, length unknown
    ds = ds.map(lambda index: (tf.zeros([6, 6, 3], tf.uint8), tf.py_function(decode, [index], tf.int64)))
    assert ds.cardinality() == tf.data.UNKNOWN_CARDINALITY
    prepared = prepare(ds, 4, 5, shuffle=True, seed=0)
    assert int(prepared.cardinality()) == 3  # 13 examples in batches of 5
    for _ in range(2):
        assert sum(int(labels.shape[0]) for _, labels in prepared) == 13
    assert len(decoded) == 13, "counting must fill the cache, not decode the examples again"


def test_fit_on_the_prepared_splits_does_not_warn_that_the_input_ran_out_of_data():
    splits = load_splits("tf_flowers", get_settings("smoke"))
    train_ds = prepare(splits.train_ds, 16, 8, shuffle=True, seed=0)
    val_ds = prepare(splits.val_ds, 16, 8)
    assert int(train_ds.cardinality()) > 0 and int(val_ds.cardinality()) > 0
    model = keras.Sequential([keras.Input((16, 16, 3)), layers.GlobalAveragePooling2D(),
                              layers.Dense(splits.num_classes)])
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(train_ds, validation_data=val_ds, epochs=2, verbose=0)
    messages = [str(warning.message) for warning in caught]
    assert not [m for m in messages if "ran out of data" in m], messages
    assert np.isfinite(model.evaluate(val_ds, verbose=0))
