"""Notebook 05's helpers: nested subsets, step budgets, arrays and batches (``tlcourse.little_data``),
the fine-tuning preview (``tlcourse.training.fine_tune``) and the profile values (``settings.little_data``)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from tlcourse.little_data import ImageArrays, nested_subsets, step_budget, to_arrays, training_batches
from tlcourse.settings import PROFILES, get_settings
from tlcourse.training import fine_tune

LABELS = np.repeat(np.arange(3), [12, 10, 15])  # three classes, the smallest has 10


# --- nested_subsets ---------------------------------------------------------------------------

def test_each_budget_has_exactly_that_many_of_every_class():
    subsets = nested_subsets(LABELS, (1, 4, 10), seed=0)
    assert list(subsets) == [1, 4, 10]
    for budget, indices in subsets.items():
        assert np.bincount(LABELS[indices], minlength=3).tolist() == [budget] * 3
        assert np.array_equal(indices, np.sort(indices)) and len(set(indices)) == len(indices)


def test_budgets_are_nested_and_none_means_everything():
    subsets = nested_subsets(LABELS, (2, 5, 10, None), seed=4)
    assert set(subsets[2]) <= set(subsets[5]) <= set(subsets[10]) <= set(subsets[None])
    assert subsets[None].tolist() == list(range(len(LABELS)))


def test_same_seed_same_draw_other_seed_other_draw():
    first, again = (nested_subsets(LABELS, (3, 8), seed=1) for _ in range(2))
    assert all(np.array_equal(first[b], again[b]) for b in first)
    others = [nested_subsets(LABELS, (3,), seed=seed)[3] for seed in range(2, 6)]
    assert any(not np.array_equal(first[3], other) for other in others)


def test_smaller_budget_in_a_larger_grid_is_the_same_draw():
    """Adding grid points must not change what a seed draws at the others."""
    alone = nested_subsets(LABELS, (3,), seed=7)[3]
    in_grid = nested_subsets(LABELS, (3, 6, None), seed=7)[3]
    assert np.array_equal(alone, in_grid)


def test_a_budget_larger_than_the_smallest_class_names_the_fix():
    with pytest.raises(ValueError, match=r"class 1 has only 10.*budgets <= 10"):
        nested_subsets(LABELS, (5, 11), seed=0)


@pytest.mark.parametrize("labels, budgets, seed, error", [
    ([], (1,), 0, ValueError),
    (np.zeros((2, 3), int), (1,), 0, ValueError),
    ([0.5, 1.5], (1,), 0, ValueError),
    (LABELS, (), 0, ValueError),
    (LABELS, (0,), 0, ValueError),
    (LABELS, ("5",), 0, TypeError),
    (LABELS, (2.5,), 0, TypeError),
    (LABELS, (2,), -1, ValueError),
])
def test_nested_subsets_rejects_bad_input(labels, budgets, seed, error):
    with pytest.raises(error):
        nested_subsets(labels, budgets, seed=seed)


# --- step_budget ------------------------------------------------------------------------------

@pytest.mark.parametrize("examples, batch, epochs, minimum, expected", [
    (25, 32, 10, 40, 40),     # one batch per epoch: the minimum wins
    (250, 32, 10, 40, 79),    # ceil(10 × 250 / 32): each image seen 10 times
    (33, 32, 1, 1, 2),        # a partial batch counts
])
def test_step_budget(examples, batch, epochs, minimum, expected):
    assert step_budget(examples, batch, epochs=epochs, min_steps=minimum) == expected


@pytest.mark.parametrize("kwargs", [dict(num_examples=0), dict(batch_size=0), dict(epochs=0), dict(min_steps=0),
                                    dict(epochs=1.5)])
def test_step_budget_rejects_bad_input(kwargs):
    arguments = dict(num_examples=10, batch_size=4, epochs=1, min_steps=1) | kwargs
    with pytest.raises((ValueError, TypeError)):
        step_budget(arguments.pop("num_examples"), arguments.pop("batch_size"), **arguments)


# --- to_arrays, training_batches --------------------------------------------------------------

def test_to_arrays_keeps_order_and_stores_uint8():
    images = np.arange(5 * 2 * 2 * 3, dtype="float32").reshape(5, 2, 2, 3) % 256
    ds = tf.data.Dataset.from_tensor_slices((images, [4, 3, 2, 1, 0])).batch(2)
    arrays = to_arrays(ds)
    assert isinstance(arrays, ImageArrays)
    assert arrays.images.dtype == np.uint8 and np.array_equal(arrays.images, images.astype(np.uint8))
    assert arrays.labels.tolist() == [4, 3, 2, 1, 0]


def test_to_arrays_rejects_unbatched_and_empty_data():
    single = tf.data.Dataset.from_tensor_slices((np.zeros((2, 2, 2, 3)), [0, 1]))
    with pytest.raises(ValueError, match="not batched"):
        to_arrays(single)
    with pytest.raises(ValueError, match="no batches"):
        to_arrays(single.batch(2).take(0))


def test_training_batches_repeat_forever_as_float32():
    batches = training_batches(np.arange(5, dtype="uint8").reshape(5, 1), np.arange(5), 2, seed=0)
    taken = list(batches.take(10))
    assert all(x.dtype == tf.float32 and tuple(x.shape) == (2, 1) for x, _ in taken)
    seen = [int(v) for x, _ in taken for v in x.numpy().ravel()]
    assert set(seen) == {0, 1, 2, 3, 4}, "every example comes back when the data repeats"


def test_training_batches_are_reproducible_with_a_seed():
    def draw(seed):
        return [y.numpy().tolist() for _, y in training_batches(np.zeros((8, 1)), np.arange(8), 4, seed=seed).take(2)]
    assert draw(3) == draw(3)


def test_training_batches_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="same indices"):
        training_batches(np.zeros((4, 2)), np.zeros(3), 2, seed=0)


# --- fine_tune --------------------------------------------------------------------------------

def _tiny_classifier():
    keras.utils.set_random_seed(0)
    base_inputs = keras.Input((8, 8, 3))
    x = layers.Conv2D(4, 3, padding="same", name="low_conv")(base_inputs)
    x = layers.BatchNormalization(name="low_bn")(x)
    x = layers.Conv2D(4, 3, padding="same", name="top_conv")(x)
    x = layers.BatchNormalization(name="top_bn")(x)
    base_model = keras.Model(base_inputs, x, name="tiny_base")
    base_model.trainable = False
    inputs = keras.Input((8, 8, 3))
    x = base_model(inputs, training=False)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(2, name="logits")(x)
    return keras.Model(inputs, outputs), base_model


def _data():
    rng = np.random.default_rng(0)
    return training_batches(rng.normal(size=(8, 8, 8, 3)).astype("float32") * 50, rng.integers(0, 2, 8), 4, seed=0)


def test_fine_tune_unfreezes_the_top_keeps_batchnorm_and_lowers_the_rate():
    model, base_model = _tiny_classifier()
    low_before = base_model.get_layer("low_conv").kernel.numpy().copy()
    top_before = base_model.get_layer("top_conv").kernel.numpy().copy()
    bn_before = [w.numpy().copy() for name in ("low_bn", "top_bn") for w in base_model.get_layer(name).weights]
    history = fine_tune(model, base_model, _data(), num_layers=2, head_learning_rate=1e-2, steps_per_epoch=3)
    assert len(history.history["loss"]) == 1
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3), "10× lower than the head's rate"
    assert base_model.get_layer("top_conv").trainable and not base_model.get_layer("low_conv").trainable
    assert not base_model.get_layer("top_bn").trainable and not base_model.get_layer("low_bn").trainable
    assert not np.array_equal(top_before, base_model.get_layer("top_conv").kernel.numpy()), "the top layer learns"
    assert np.array_equal(low_before, base_model.get_layer("low_conv").kernel.numpy()), "lower layers stay put"
    bn_after = [w.numpy() for name in ("low_bn", "top_bn") for w in base_model.get_layer(name).weights]
    assert all(np.array_equal(a, b) for a, b in zip(bn_before, bn_after)), "BatchNorm weights and statistics stay put"


def test_fine_tune_learning_rate_factor():
    model, base_model = _tiny_classifier()
    fine_tune(model, base_model, _data(), num_layers=1, head_learning_rate=1e-2, steps_per_epoch=1,
              learning_rate_factor=0.5)
    assert float(model.optimizer.learning_rate) == pytest.approx(5e-3)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(num_layers=0), ValueError, "num_layers"),
    (dict(num_layers=99), ValueError, "num_layers"),
    (dict(head_learning_rate=0.0), ValueError, "head_learning_rate"),
    (dict(head_learning_rate="1e-3"), TypeError, "head_learning_rate"),
    (dict(learning_rate_factor=2.0), ValueError, "learning_rate_factor"),
    (dict(steps_per_epoch=0), ValueError, "steps_per_epoch"),
    (dict(epochs=0), ValueError, "epochs"),
])
def test_fine_tune_rejects_bad_arguments_before_touching_the_model(kwargs, error, match):
    model, base_model = _tiny_classifier()
    arguments = dict(num_layers=1, head_learning_rate=1e-3, steps_per_epoch=1) | kwargs
    with pytest.raises(error, match=match):
        fine_tune(model, base_model, _data(), **arguments)
    assert base_model.trainable is False and getattr(model, "optimizer", None) is None, (
        "nothing may change before the checks pass")


def test_fine_tune_needs_the_base_inside_the_model_and_batched_data():
    model, base_model = _tiny_classifier()
    _, other_base = _tiny_classifier()
    with pytest.raises(ValueError, match="not a layer of model"):
        fine_tune(model, other_base, _data(), num_layers=1, head_learning_rate=1e-3, steps_per_epoch=1)
    with pytest.raises(ValueError, match="not batched"):
        fine_tune(model, base_model, _data().unbatch(), num_layers=1, head_learning_rate=1e-3)


# --- settings.little_data ---------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(PROFILES))
def test_little_data_grid_is_sorted_with_all_last_and_finetuning_on_grid_points(name):
    values = get_settings(name).little_data
    whole = [budget for budget in values.examples_per_class if budget is not None]
    assert whole == sorted(set(whole)) and whole[0] >= 1
    assert None not in values.examples_per_class[:-1], "None (every image) can only be the last grid point"
    assert set(values.finetune_examples_per_class) <= set(values.examples_per_class)
    assert values.seeds >= 1 and values.epochs >= 1 and values.min_steps >= 1 and values.finetune_epochs >= 1


def test_little_data_profiles_grow_from_smoke_to_full():
    smoke, quick, full = (get_settings(name).little_data for name in ("smoke", "quick", "full"))
    assert smoke.seeds <= quick.seeds <= full.seeds and quick.seeds >= 3, "error bars need several seeds"
    assert len(quick.examples_per_class) >= 4 and full.examples_per_class[-1] is None, "full runs up to every image"
    assert quick.examples_per_class[0] == full.examples_per_class[0], "the targets notebook 05 prints assume it"
    assert full.finetune_examples_per_class == full.examples_per_class, "full previews fine-tuning everywhere"
    assert smoke.finetune_examples_per_class, "smoke must run the preview's code path"
    assert not quick.finetune_examples_per_class, "quick skips the preview: it is the slowest recipe on a CPU"


def test_quick_grid_fits_its_training_cap():
    quick = get_settings("quick")
    assert max(b for b in quick.little_data.examples_per_class if b) <= quick.train_examples_per_class


def test_smoke_grid_fits_the_mock_pool():
    """Mock tf_flowers gives each class only a few training images; every smoke budget must fit."""
    from tlcourse.data import load_splits, prepare

    smoke = get_settings("smoke")
    pool = to_arrays(prepare(load_splits("tf_flowers", smoke).train_ds, 8, smoke.batch_size))
    subsets = nested_subsets(pool.labels, smoke.little_data.examples_per_class, seed=smoke.little_data.seeds - 1)
    assert len(subsets) == len(smoke.little_data.examples_per_class)
