"""tlcourse.stats, the course's one verdict rule, checked against scipy.stats."""

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from tlcourse import stats


@pytest.mark.parametrize("seed", range(5))
def test_compare_seeds_matches_scipy_paired_t(seed):
    rng = np.random.default_rng(seed)
    runs = int(rng.integers(2, 8))
    first = rng.uniform(0.3, 0.9, runs)
    second = np.clip(first - rng.normal(0.03, 0.05, runs), 0, 1)
    verdict = stats.compare_seeds(first, second, ("a", "b"))
    differences = 100 * (first - second)
    interval = scipy_stats.t.interval(0.95, runs - 1, loc=differences.mean(), scale=scipy_stats.sem(differences))
    assert verdict.difference == pytest.approx(differences.mean())
    assert (verdict.low, verdict.high) == pytest.approx(interval)
    assert verdict.p_value == pytest.approx(scipy_stats.ttest_rel(first, second).pvalue)
    # The interval excludes 0 exactly when the paired t-test rejects at 5 %.
    assert (verdict.winner is not None) == (verdict.p_value < 0.05)
    if verdict.winner is not None:
        assert verdict.winner == ("a" if differences.mean() > 0 else "b")
        assert verdict.text.startswith(f"{verdict.winner} ahead by")
    else:
        assert verdict.text.startswith("no clear difference")


def test_compare_seeds_refuses_one_seed_and_pairs_dicts_by_seed():
    one = stats.compare_seeds([0.9], [0.1], ("a", "b"))
    assert one.winner is None and math.isnan(one.low) and "at least 2 seeds" in one.text
    by_seed = stats.compare_seeds({2: 0.8, 1: 0.6, 3: 0.7}, {3: 0.6, 1: 0.5, 2: 0.7}, ("a", "b"))
    as_list = stats.compare_seeds([0.6, 0.8, 0.7], [0.5, 0.7, 0.6], ("a", "b"))
    assert by_seed.difference == pytest.approx(as_list.difference) and by_seed.text == as_list.text
    assert "3 seeds" in by_seed.text


def test_compare_seeds_constant_differences():
    same = stats.compare_seeds([0.5, 0.6], [0.5, 0.6])
    assert same.winner is None and same.difference == 0
    shifted = stats.compare_seeds([0.6, 0.7], [0.5, 0.6], ("a", "b"))
    assert shifted.winner == "a" and shifted.low == pytest.approx(10)


@pytest.mark.parametrize("bad, error", [
    (([0.5, 0.6], [0.5]), ValueError),
    (({0: 0.5, 1: 0.6}, {0: 0.5, 2: 0.6}), ValueError),
    (([50, 60], [40, 50]), ValueError),
    (([], []), ValueError),
    ((0.5, 0.6), TypeError),
    (("0.5", [0.6]), TypeError),
])
def test_compare_seeds_bad_input(bad, error):
    with pytest.raises(error, match="Fix|expected"):
        stats.compare_seeds(*bad)


def test_compare_seeds_takes_0d_arrays_and_tensors_as_scores():
    import tensorflow as tf

    expected = stats.compare_seeds([0.7, 0.6, 0.65], [0.5, 0.4, 0.5])
    zero_d = [np.array(0.7), np.array(0.6), np.float32(0.65)]  # keras.ops.convert_to_numpy(metric.result())
    assert stats.compare_seeds(zero_d, [0.5, 0.4, 0.5]).text == expected.text
    assert stats.compare_seeds([tf.constant(0.7), tf.constant(0.6), tf.constant(0.65)],
                               tf.constant([0.5, 0.4, 0.5])).text == expected.text
    assert stats.compare_seeds({0: np.array(0.7), 1: np.array(0.6), 2: 0.65},
                               {0: 0.5, 1: 0.4, 2: 0.5}).text == expected.text


def test_compare_seeds_bad_names():
    with pytest.raises(ValueError, match="two different names"):
        stats.compare_seeds([0.5, 0.6], [0.5, 0.6], ("a", "a"))
    with pytest.raises(ValueError, match="two non-empty strings"):
        stats.compare_seeds([0.5, 0.6], [0.5, 0.6], "ab")


@pytest.mark.parametrize("seed", range(4))
def test_compare_predictions_is_mcnemar_exact(seed):
    rng = np.random.default_rng(seed)
    n = 300
    y_true = rng.integers(0, 3, n)
    pred_a = np.where(rng.random(n) < 0.8, y_true, rng.integers(0, 3, n))
    pred_b = np.where(rng.random(n) < 0.7 + 0.05 * seed, y_true, rng.integers(0, 3, n))
    verdict = stats.compare_predictions(y_true, pred_a, pred_b, ("a", "b"))
    right_a, right_b = pred_a == y_true, pred_b == y_true
    only_a, only_b = int(np.sum(right_a & ~right_b)), int(np.sum(~right_a & right_b))
    assert verdict.p_value == pytest.approx(scipy_stats.binomtest(only_a, only_a + only_b, 0.5).pvalue)
    assert verdict.difference == pytest.approx(100 * (right_a.mean() - right_b.mean()))
    assert verdict.low < verdict.difference < verdict.high
    assert (verdict.winner is not None) == (verdict.p_value < 0.05)


def test_compare_predictions_identical_models_and_only_class():
    y_true = np.array([0, 0, 1, 1, 1])
    same = stats.compare_predictions(y_true, y_true, y_true)
    assert same.winner is None and same.p_value == 1.0
    recall = stats.compare_predictions(y_true, [0, 0, 1, 1, 1], [1, 1, 1, 1, 1], ("a", "b"), only_class=0)
    assert recall.runs == 2 and recall.difference == pytest.approx(100)


def test_compare_predictions_refuses_probabilities_and_mismatched_lengths():
    y_true = np.array([0, 1, 1])
    with pytest.raises(ValueError, match="argmax"):
        stats.compare_predictions(y_true, np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7]]), y_true)
    with pytest.raises(ValueError, match="non-whole"):
        stats.compare_predictions(y_true, np.array([0.1, 0.8, 0.7]), y_true)
    with pytest.raises(ValueError, match="same examples"):
        stats.compare_predictions(y_true, y_true[:2], y_true)
    with pytest.raises(ValueError, match="no example of true class 5"):
        stats.compare_predictions(y_true, y_true, y_true, only_class=5)


def test_mean_interval_matches_scipy():
    scores = [0.61, 0.66, 0.7, 0.64]
    low, high = scipy_stats.t.interval(0.95, 3, loc=100 * np.mean(scores), scale=100 * scipy_stats.sem(scores))
    assert stats.mean_interval(scores) == f"{100 * np.mean(scores):.1f} % (95 % CI {low:.1f} to {high:.1f}, 4 seeds)"
    assert "no interval" in stats.mean_interval([0.5])


def test_test_set_is_read_once_per_purpose():
    test_set = stats.TestSet(["x"])
    assert test_set.read("final report") == ["x"]
    assert test_set.read("final report") == ["x"]  # rerunning the report cell is fine
    assert test_set.reads == 2 and "final report" in repr(test_set)
    with pytest.raises(stats.TestSetReadTwice, match="'final report'.*'choose'.*validation"):
        test_set.read("choose")
    with pytest.raises(ValueError, match="test split"):
        stats.TestSet(None)


@pytest.mark.parametrize("successes, trials", [(0, 1), (1, 1), (0, 12), (7, 9), (18, 20), (20, 20), (412, 430)])
def test_proportion_interval_is_scipys_wilson(successes, trials):
    expected = scipy_stats.binomtest(successes, trials).proportion_ci(confidence_level=0.95, method="wilson")
    assert stats.proportion_interval(successes, trials) == pytest.approx((expected.low, expected.high))


def test_proportion_interval_refuses_impossible_counts():
    with pytest.raises(ValueError, match="trials"):
        stats.proportion_interval(0, 0)
    with pytest.raises(ValueError, match="successes"):
        stats.proportion_interval(5, 4)
    with pytest.raises(TypeError, match="successes"):
        stats.proportion_interval(1.5, 4)


def test_mean_interval_stays_within_0_and_100_percent():
    from tlcourse.stats import mean_interval

    assert mean_interval([1.0, 0.9, 1.0]).endswith("(95 % CI 82.3 to 100.0, 3 seeds)")
    assert "CI 0.0 to" in mean_interval([0.0, 0.1, 0.0])


def test_compare_rates_gives_newcombe_s_published_intervals_and_decides_by_them():
    """Newcombe (1998), Statistics in Medicine 17:873, Table II, method 10: 56/70 − 48/80 → 0.0524 to 0.3339;
    9/10 − 3/10 → 0.1705 to 0.8090."""
    from tlcourse.stats import compare_rates

    first = compare_rates(56, 70, 48, 80, ("a", "b"))
    assert (first.low, first.high) == (pytest.approx(5.24, abs=0.01), pytest.approx(33.39, abs=0.01))
    assert first.winner == "a" and first.runs == 150
    second = compare_rates(9, 10, 3, 10)
    assert (second.low, second.high) == (pytest.approx(17.05, abs=0.01), pytest.approx(80.90, abs=0.01))
    tie = compare_rates(3, 4, 2, 4, ("a", "b"))
    assert not tie.decided and tie.low < 0 < tie.high and "no clear difference" in tie.text
    with pytest.raises(ValueError, match="trials"):
        compare_rates(1, 0, 1, 2)
