"""Notebook 14's plumbing (``tlcourse.limits``): far-source textures, the digits task, runs, negative transfer.

Mechanics only (shapes, pairing, errors); the one accuracy check (scratch learns digits from 10
labels each) is loose on purpose."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tlcourse import lab, limits, shapes, stats  # noqa: E402
from tlcourse.settings import PROFILES  # noqa: E402

# --- noise textures -----------------------------------------------------------------------------


def test_noise_textures_are_balanced_shuffled_and_deterministic():
    images, labels = limits.make_noise_textures(5, 32, seed=3)
    again, labels_again = limits.make_noise_textures(5, 32, seed=3)
    assert images.shape == (30, 32, 32, 3) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [5] * 6
    assert labels.tolist() != sorted(labels.tolist()), "labels should come shuffled"
    assert np.array_equal(images, again) and np.array_equal(labels, labels_again)
    assert not np.array_equal(images, limits.make_noise_textures(5, 32, seed=4)[0])


def test_noise_texture_classes_get_coarser():
    images, labels = limits.make_noise_textures(40, 32, seed=0)
    pixels = images.astype(np.float32)
    roughness = np.abs(np.diff(pixels, axis=1)).mean(axis=(1, 2, 3))  # neighbour differences per image
    per_class = [roughness[labels == k].mean() for k in range(6)]
    assert all(a > b for a, b in zip(per_class, per_class[1:])), f"class 0 should be the finest grain: {per_class}"


@pytest.mark.parametrize("kwargs, error", [
    ({"per_class": 0}, ValueError), ({"per_class": 2.5}, TypeError), ({"per_class": 2, "image_size": 8}, ValueError),
    ({"per_class": 2, "num_classes": 1}, ValueError), ({"per_class": 2, "seed": -1}, ValueError),
])
def test_noise_textures_reject_bad_arguments_with_a_fix(kwargs, error):
    with pytest.raises(error, match="Fix"):
        limits.make_noise_textures(**kwargs)


# --- digits ------------------------------------------------------------------------------------


def test_digit_tasks_split_source_validation_and_test_without_overlap():
    tasks = limits.load_digit_tasks(seed=1, val_per_class=30, test_per_class=50)
    assert set(tasks.y_source.tolist()) == {0, 1, 2, 3, 4}
    assert np.bincount(tasks.y_test).tolist() == [50] * 5 and np.bincount(tasks.y_val).tolist() == [30] * 5
    assert tasks.x_source.dtype == np.float32 and 0 <= tasks.x_pool.min() and tasks.x_pool.max() <= 1
    from sklearn.datasets import load_digits

    assert len(tasks.x_pool) + len(tasks.x_val) + len(tasks.x_test) == int((load_digits().target >= 5).sum())
    pool, val, test = ({row.tobytes() for row in x} for x in (tasks.x_pool, tasks.x_val, tasks.x_test))
    assert len(pool & test) <= 2 and len(pool & val) <= 2 and len(val & test) <= 2, (
        "the splits must not share images (a couple of digit duplicates exist)")
    other = limits.load_digit_tasks(seed=2, val_per_class=30, test_per_class=50)
    assert not np.array_equal(tasks.x_test, other.x_test), "each seed draws its own split"


def test_digit_tasks_reject_splits_that_leave_no_pool():
    with pytest.raises(ValueError, match="test_per_class=500.*Fix"):
        limits.load_digit_tasks(test_per_class=500)


def test_digits_base_is_seeded_and_the_head_checks_its_base():
    first, second = limits.build_digits_base(seed=5), limits.build_digits_base(seed=5)
    assert all(np.array_equal(a, b) for a, b in zip(first.get_weights(), second.get_weights()))
    assert not np.array_equal(first.get_weights()[0], limits.build_digits_base(seed=6).get_weights()[0])
    with pytest.raises(ValueError, match=r"expected \(None, 64\)"):
        limits.add_digits_head(lab.build_base(32))


def test_digits_recipes_leave_the_source_base_alone_and_scratch_learns():
    tasks = limits.load_digit_tasks(seed=0)
    x_train, y_train = lab.take_per_class(tasks.x_pool, tasks.y_pool, 10)
    source_base = limits.build_digits_base(seed=0)
    before = [weight.copy() for weight in source_base.get_weights()]
    for method in ("frozen", "fine-tuned"):
        limits.train_digits_recipe(method, source_base, x_train=x_train, y_train=y_train, steps=10, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, source_base.get_weights())), "the source base changed"
    model = limits.train_digits_recipe("scratch", source_base, x_train=x_train, y_train=y_train, steps=150, seed=0)
    accuracy = limits.accuracy(model, tasks.x_val, tasks.y_val)
    assert accuracy > 0.5, f"a small MLP should learn digits 5–9 from 10 labels each, got {accuracy:.2f}"


def test_input_scale_puts_a_rescaling_layer_in_front_and_keeps_the_input_range():
    tasks = limits.load_digit_tasks(seed=0)
    x_train, y_train = lab.take_per_class(tasks.x_pool, tasks.y_pool, 2)
    base = limits.build_digits_base(seed=0)
    model = limits.train_digits_recipe("frozen", base, x_train=x_train, y_train=y_train, steps=2, input_scale=16.0)
    assert model.get_layer("input_scale").scale == 16.0
    features = keras.Model(model.inputs, model.get_layer("input_scale").output)(x_train[:1])
    np.testing.assert_allclose(np.asarray(features), 16.0 * x_train[:1], rtol=1e-6)


def test_train_recipes_reject_bad_input_before_training():
    tasks = limits.load_digit_tasks()
    base = limits.build_digits_base()
    with pytest.raises(ValueError, match="method"):
        limits.train_digits_recipe("linear", base, x_train=tasks.x_pool, y_train=tasks.y_pool, steps=5)
    with pytest.raises(ValueError, match="steps=1.*Fix"):
        limits.train_digits_recipe("fine-tuned", base, x_train=tasks.x_pool, y_train=tasks.y_pool, steps=1)
    with pytest.raises(ValueError, match="not a digits base"):
        limits.train_digits_recipe("scratch", lab.build_base(32), x_train=tasks.x_pool, y_train=tasks.y_pool, steps=5)
    with pytest.raises(ValueError, match="equal length"):
        limits.train_digits_recipe("frozen", base, x_train=tasks.x_pool, y_train=tasks.y_pool[:3], steps=5)
    with pytest.raises(ValueError, match="expected images"):
        limits.train_shapes_recipe("frozen", base, x_train=tasks.x_pool, y_train=tasks.y_pool, steps=5)


# --- runs and the final report -----------------------------------------------------------------


def test_run_shapes_pairs_the_same_images_across_calls_and_keeps_the_test_set_for_later():
    validation = shapes.make_shapes(shapes.TARGET_SHAPES, 2, 32, seed=limits.VALIDATION_SEED)
    base = lab.build_base(32, seed=0)
    kwargs = {"steps": {2: 2}, "validation": validation, "pool_per_class": 2}
    first = limits.run_shapes(base, [2], [0, 1], methods=["scratch"], **kwargs)
    second = limits.run_shapes(base, [2], [0, 1], methods=["frozen"], input_scale=1 / 255, **kwargs)
    digests = {row["seed"]: row["train_digest"] for row in first}
    assert all(row["train_digest"] == digests[row["seed"]] for row in second), "same pool, same images"
    assert digests[0] != digests[1], "each seed draws its own images"
    assert all("test_accuracy" not in row and 0 <= row["val_accuracy"] <= 1 for row in first + second)
    x_test, y_test = shapes.make_shapes(shapes.TARGET_SHAPES, 1, 32, seed=lab.TARGET_TEST_SEED)
    assert limits.score_on_test(first, (x_test, y_test)) == 2
    assert limits.score_on_test(first, (x_test, y_test)) == 0, "runs already scored are left alone"
    assert all(0 <= row["test_accuracy"] <= 1 for row in first)
    verdict = limits.versus_scratch(second, first, "frozen", 2, name="frozen, input / 255")
    assert verdict.names == ("frozen, input / 255", "scratch") and verdict.runs == 2


def _rows(scores, steps=40):
    return [{"method": method, "labels_per_class": 5, "seed": seed, "steps": steps, "train_digest": f"d{seed}",
             "val_accuracy": value} for method, values in scores.items() for seed, value in enumerate(values)]


def test_versus_scratch_uses_the_course_rule_and_checks_the_pairing():
    rows = _rows({"frozen": [0.40, 0.42, 0.41], "scratch": [0.70, 0.71, 0.69]})
    verdict = limits.versus_scratch(rows, rows, "frozen", 5)
    assert verdict == stats.compare_seeds([0.40, 0.42, 0.41], [0.70, 0.71, 0.69], ("frozen", "scratch"))
    assert limits.transfer_outcome(verdict) == limits.NEGATIVE_TRANSFER
    other_images = [{**row, "train_digest": "elsewhere"} for row in _rows({"frozen": [0.4, 0.5]})]
    with pytest.raises(ValueError, match="labelled images"):
        limits.versus_scratch(other_images, _rows({"scratch": [0.4, 0.5]}), "frozen", 5)
    with pytest.raises(ValueError, match="number of steps"):
        limits.versus_scratch(_rows({"frozen": [0.4, 0.5]}, steps=80), _rows({"scratch": [0.4, 0.5]}), "frozen", 5)
    with pytest.raises(ValueError, match="same seeds"):
        limits.versus_scratch(_rows({"frozen": [0.4, 0.5]}), _rows({"scratch": [0.4, 0.5, 0.6]}), "frozen", 5)
    with pytest.raises(ValueError, match="no 'fine-tuned' run"):
        limits.versus_scratch(rows, rows, "fine-tuned", 5)
    with pytest.raises(ValueError, match="'frozen' or 'fine-tuned'"):
        limits.versus_scratch(rows, rows, "scratch", 5)


@pytest.mark.parametrize("transfer, scratch, outcome", [
    ([0.80, 0.70, 0.90], [0.50, 0.45, 0.55], "transfer ahead"),
    ([0.40, 0.42, 0.41], [0.70, 0.71, 0.69], "negative transfer"),
    ([0.50, 0.70], [0.60, 0.55], "no clear difference"),
    ([0.9], [0.1], "no verdict"),
])
def test_transfer_outcome_follows_the_verdict(transfer, scratch, outcome):
    verdict = stats.compare_seeds(transfer, scratch, ("transfer", "scratch"))
    assert limits.transfer_outcome(verdict) == outcome
    assert outcome in limits.OUTCOMES


def test_transfer_outcome_refuses_a_verdict_without_scratch():
    with pytest.raises(ValueError, match="scratch"):
        limits.transfer_outcome(stats.compare_seeds([0.5, 0.6], [0.4, 0.5], ("near", "far")))


def test_seed_scores_reads_rows_and_names_what_exists():
    rows = [{"method": method, "labels_per_class": 3, "seed": seed, "val_accuracy": 0.1 * seed + bonus}
            for seed in (0, 1) for method, bonus in (("scratch", 0.0), ("frozen", 0.5))]
    assert limits.seed_scores(rows, "frozen", 3) == {0: 0.5, 1: 0.6}
    with pytest.raises(ValueError, match=r"\('frozen', 3\)"):
        limits.seed_scores(rows, "frozen", 30)
    with pytest.raises(ValueError, match="test_accuracy"):
        limits.seed_scores(rows, "frozen", 3, value="test_accuracy")


def test_plot_scores_draws_one_bar_per_recipe_and_checks_input():
    figure = limits.plot_scores({"scratch": [0.5, 0.6], "frozen": {0: 0.7, 1: 0.75}, "far": [0.2]}, chance=1 / 6)
    assert len(figure.axes[0].patches) == 3 and "validation accuracy" in figure.axes[0].get_xlabel()
    with pytest.raises(ValueError, match="non-empty dict"):
        limits.plot_scores({})
    with pytest.raises(ValueError, match="empty"):
        limits.plot_scores({"scratch": []})


# --- the notebook's settings -------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_limits_settings_can_give_verdicts(name):
    values = PROFILES[name].limits
    assert values.seeds >= 2 and values.digits_seeds >= 2, "a verdict needs at least two seeds (stats.compare_seeds)"
    assert list(values.labels_per_class) == sorted(values.labels_per_class)
    assert list(values.digits_labels_per_class) == sorted(values.digits_labels_per_class)
    smallest_pool = min(np.bincount(limits.load_digit_tasks(seed=0).y_pool))
    assert max(values.digits_labels_per_class) <= smallest_pool, f"the digits pool holds {smallest_pool} of some digit"
    assert values.min_target_steps >= 1 and values.digits_min_steps >= 2
