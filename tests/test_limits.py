"""Notebook 14's plumbing (``tlcourse.limits``): far-source textures, the digits task, verdicts."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tlcourse import lab, limits  # noqa: E402
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


def test_digit_tasks_split_source_and_target_without_overlap():
    tasks = limits.load_digit_tasks(seed=1, test_per_class=50)
    assert set(tasks.y_source.tolist()) == {0, 1, 2, 3, 4}
    assert np.bincount(tasks.y_test).tolist() == [50] * 5
    assert tasks.x_source.dtype == np.float32 and 0 <= tasks.x_pool.min() and tasks.x_pool.max() <= 1
    from sklearn.datasets import load_digits

    assert len(tasks.x_pool) + len(tasks.x_test) == int((load_digits().target >= 5).sum())
    pool, test = {row.tobytes() for row in tasks.x_pool}, {row.tobytes() for row in tasks.x_test}
    assert len(pool & test) <= 2, "test images must not be in the labelled pool (a couple of digit duplicates exist)"
    other = limits.load_digit_tasks(seed=2, test_per_class=50)
    assert not np.array_equal(tasks.x_test, other.x_test), "each seed draws its own test set"


def test_digit_tasks_reject_a_test_set_that_leaves_no_pool():
    with pytest.raises(ValueError, match="test_per_class=500.*Fix"):
        limits.load_digit_tasks(test_per_class=500)


def test_digits_base_is_seeded_and_the_head_checks_its_base():
    first, second = limits.build_digits_base(seed=5), limits.build_digits_base(seed=5)
    assert all(np.array_equal(a, b) for a, b in zip(first.get_weights(), second.get_weights()))
    assert not np.array_equal(first.get_weights()[0], limits.build_digits_base(seed=6).get_weights()[0])
    with pytest.raises(ValueError, match=r"expected \(None, 64\)"):
        limits.add_digits_head(lab.build_base(32))


def test_frozen_digits_recipe_leaves_the_source_base_alone_and_scratch_learns():
    tasks = limits.load_digit_tasks(seed=0)
    x_train, y_train = lab.take_per_class(tasks.x_pool, tasks.y_pool, 10)
    source_base = limits.build_digits_base(seed=0)
    before = [weight.copy() for weight in source_base.get_weights()]
    for method in ("frozen", "fine-tuned"):
        limits.train_digits_target(method, source_base, x_train=x_train, y_train=y_train, x_test=tasks.x_test,
                                   y_test=tasks.y_test, steps=10, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, source_base.get_weights())), "the source base changed"
    accuracy = limits.train_digits_target("scratch", source_base, x_train=x_train, y_train=y_train,
                                          x_test=tasks.x_test, y_test=tasks.y_test, steps=150, seed=0)
    assert accuracy > 0.5, f"a small MLP should learn digits 5–9 from 10 labels each, got {accuracy:.2f}"


def test_train_digits_target_rejects_bad_input_before_training():
    tasks = limits.load_digit_tasks()
    base = limits.build_digits_base()
    with pytest.raises(ValueError, match="method"):
        limits.train_digits_target("linear", base, x_train=tasks.x_pool, y_train=tasks.y_pool,
                                   x_test=tasks.x_test, y_test=tasks.y_test, steps=5)
    with pytest.raises(ValueError, match="steps=1.*Fix"):
        limits.train_digits_target("fine-tuned", base, x_train=tasks.x_pool, y_train=tasks.y_pool,
                                   x_test=tasks.x_test, y_test=tasks.y_test, steps=1)
    with pytest.raises(ValueError, match="no Dense layers"):
        limits.train_digits_target("scratch", lab.build_base(32), x_train=tasks.x_pool, y_train=tasks.y_pool,
                                   x_test=tasks.x_test, y_test=tasks.y_test, steps=5)
    with pytest.raises(ValueError, match="equal length"):
        limits.train_digits_target("frozen", base, x_train=tasks.x_pool, y_train=tasks.y_pool[:3],
                                   x_test=tasks.x_test, y_test=tasks.y_test, steps=5)


# --- verdicts ----------------------------------------------------------------------------------


def test_paired_verdict_names_the_winner_only_beyond_the_noise():
    ahead = limits.paired_verdict([0.80, 0.70, 0.90], [0.50, 0.45, 0.55], "transfer", "scratch")
    assert ahead.winner == "transfer" and math.isclose(ahead.difference, 30.0) and math.isclose(ahead.noise, 10.0)
    assert ahead.text.startswith("transfer ahead by 30.0 points")
    behind = limits.paired_verdict([0.40, 0.42, 0.41], [0.70, 0.71, 0.69], "frozen", "scratch")
    assert behind.winner == "scratch" and behind.difference < 0 and "scratch ahead" in behind.text
    noisy = limits.paired_verdict([0.50, 0.70], [0.60, 0.55])
    assert noisy.winner is None and noisy.text.startswith("within noise")


def test_paired_verdict_pairs_dicts_by_seed_and_refuses_a_mismatch():
    by_seed = limits.paired_verdict({1: 0.9, 0: 0.5}, {0: 0.4, 1: 0.8})
    in_order = limits.paired_verdict([0.5, 0.9], [0.4, 0.8])
    assert by_seed == in_order
    with pytest.raises(ValueError, match="same seeds"):
        limits.paired_verdict({0: 0.5, 1: 0.6}, {0: 0.5, 2: 0.6})
    with pytest.raises(ValueError, match="same number"):
        limits.paired_verdict([0.5, 0.6], [0.5])
    with pytest.raises(ValueError, match="between 0 and 1"):
        limits.paired_verdict([50.0, 60.0], [0.5, 0.6])


def test_paired_verdict_with_one_seed_gives_no_winner():
    single = limits.paired_verdict([0.9], [0.1])
    assert single.winner is None and math.isnan(single.noise) and "one seed" in single.text


def test_seed_scores_reads_sweep_rows_and_names_what_exists():
    rows = [{"method": method, "labels_per_class": 3, "seed": seed, "test_accuracy": 0.1 * seed + bonus}
            for seed in (0, 1) for method, bonus in (("scratch", 0.0), ("frozen", 0.5))]
    assert limits.seed_scores(rows, "frozen", 3) == {0: 0.5, 1: 0.6}
    with pytest.raises(ValueError, match=r"\('frozen', 3\)"):
        limits.seed_scores(rows, "frozen", 30)


def test_mean_std_formats_and_rejects_empty():
    assert limits.mean_std({0: 0.5, 1: 0.7}) == "60.0 ± 14.1 %"
    assert limits.mean_std([0.25]) == "25.0 ± 0.0 %"
    with pytest.raises(ValueError, match="empty"):
        limits.mean_std([])


def test_plot_scores_draws_one_bar_per_recipe_and_checks_input():
    figure = limits.plot_scores({"scratch": [0.5, 0.6], "frozen": {0: 0.7, 1: 0.75}, "far": [0.2]}, chance=1 / 6)
    assert len(figure.axes[0].patches) == 3
    with pytest.raises(ValueError, match="non-empty dict"):
        limits.plot_scores({})
    with pytest.raises(ValueError, match="empty"):
        limits.plot_scores({"scratch": []})


# --- the notebook's settings -------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_limits_settings_can_give_verdicts(name):
    values = PROFILES[name].limits
    assert values.seeds >= 2 and values.digits_seeds >= 2, "a verdict needs at least two seeds"
    assert list(values.labels_per_class) == sorted(values.labels_per_class)
    assert list(values.digits_labels_per_class) == sorted(values.digits_labels_per_class)
    assert max(values.digits_labels_per_class) <= 90, "the digits pool holds about 94 images per target digit"
    assert values.min_target_steps >= 1 and values.digits_min_steps >= 2
