"""Is A better than B? The course's one rule, used by every lesson that compares recipes.

Training is noisy: another seed draws other examples, other initial head weights and another
shuffle, and the accuracy moves by a few points. So one run of each recipe cannot say which is
better. The course answers "is A better than B?" in one of three ways, each for its kind of data,
and only these:

* **Across seeds** (``compare_seeds``): run both recipes with the same seeds, take the paired
  differences ``A − B`` (same seed, same data), and give their mean with a 95 % confidence
  interval from Student's t distribution. If the interval excludes 0, the one ahead is named;
  otherwise the verdict is "no clear difference". One seed gives no interval and no verdict.
  Introduced in notebook 01.
* **On the same examples** (``compare_predictions``): two trained models, one test set. Only the
  examples where exactly one model is right tell them apart; McNemar's exact test asks whether
  that split is lopsided enough to be more than chance (p < 0.05). Introduced in notebook 03.
* **On different examples** (``compare_rates``): two rates counted on different examples, e.g.
  the missed share of two classes; Newcombe's interval of their difference decides, as above.
  Introduced in notebook 09.

Each returns a ``Verdict`` whose ``text`` is one line for a learner; every comparison uses them.

The test set is read once, at the end: ``TestSet`` hands it out for the final report and says
so, loudly, when a notebook asks for it a second time for another purpose (a choice made on test
data is a choice fitted to the test data).
"""

from __future__ import annotations

import math
import numbers
import statistics
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
from scipy import stats as scipy_stats

from tlcourse.checks import check_int, check_number, check_text

CONFIDENCE = 0.95
"""The confidence level of every interval and test in the course (p < 0.05)."""


class Verdict(NamedTuple):
    """What a comparison measured and concluded; ``str(verdict)`` is its one-line ``text``.

    Attributes:
        names: the two recipes' names, ``(first, second)``.
        difference: ``first − second`` in points (accuracy × 100); mean over seeds, or the
            difference of the two accuracies on the same examples.
        low, high: the 95 % confidence interval of ``difference`` in points (NaN with one seed).
        runs: how many seeds (``compare_seeds``) or examples (``compare_predictions``, ``compare_rates``).
        p_value: the two-sided p-value (paired t-test, or McNemar's exact test); NaN with one seed, and
            for ``compare_rates``, whose verdict is its interval.
        winner: the name of the recipe clearly ahead, or ``None`` (no clear difference, or too
            few seeds for a verdict).
        text: one line for a learner, e.g. ``"frozen ahead by 6.1 points (95 % CI +2.0 to +10.2 points, 3 seeds)"``.
    """

    names: tuple[str, str]
    difference: float
    low: float
    high: float
    runs: int
    p_value: float
    winner: str | None
    text: str

    def __str__(self) -> str:
        return self.text

    @property
    def decided(self) -> bool:
        """True when the comparison names a winner."""
        return self.winner is not None


def _unwrapped(value: Any) -> Any:
    """A TF / Keras tensor as a NumPy array (as ``results.save_result`` stores one), a 0-d array as its number."""
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):  # e.g. metric.result()
        value = np.asarray(value.numpy())
    return value.item() if isinstance(value, np.ndarray) and value.ndim == 0 else value


def _scores(name: str, values: Any) -> dict[Any, float] | list[float]:
    values = _unwrapped(values)
    if isinstance(values, Mapping):
        items = [(key, _unwrapped(value)) for key, value in values.items()]
    elif isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)):
        raise TypeError(f"{name}={values!r} is a {type(values).__name__}: expected scores per seed, as a list in seed "
                        "order or a dict {seed: score}. Fix: collect one score per seed, e.g. [0.71, 0.68, 0.74].")
    else:
        if not isinstance(values, np.ndarray):
            values = [_unwrapped(value) for value in values]  # e.g. [np.array(0.7), ...] from convert_to_numpy
        try:
            array = np.asarray(values, dtype=object)
        except ValueError:  # ragged nested lists
            array = None
        if array is None or array.ndim > 1 or (array.ndim == 1 and any(
                isinstance(value, (Sequence, np.ndarray)) and not isinstance(value, (str, bytes)) for value in array)):
            raise ValueError(f"{name} is nested (shape {getattr(array, 'shape', 'ragged')}): expected one score per "
                             "seed, a flat list. Fix: pass one list per recipe, e.g. [0.71, 0.68, 0.74], not a table.")
        items = list(enumerate(array.reshape(-1).tolist()))
    checked = {}
    for key, value in items:
        is_nan = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isnan(value)
        fix = ("a run gave NaN: check it (a diverged training gives NaN)" if is_nan
               else "pass scores between 0 and 1 (accuracy, IoU, recall), not percentages")
        checked[key] = check_number(f"{name}[{key!r}]", value, minimum=0, maximum=1, fix=fix)
    return checked if isinstance(values, Mapping) else list(checked.values())


def _names(names: Any) -> tuple[str, str]:
    if (isinstance(names, (str, bytes)) or not isinstance(names, (tuple, list)) or len(names) != 2
            or not all(isinstance(name, str) and name.strip() for name in names)):
        raise ValueError(f"names={names!r}: expected two non-empty strings, e.g. ('frozen', 'scratch').")
    if names[0] == names[1]:
        raise ValueError(f"names={names!r} are the same: expected two different names, so the verdict can say which "
                         "one is ahead.")
    return (names[0], names[1])


def _interval_text(verdict_head: str, low: float, high: float, tail: str) -> str:
    return f"{verdict_head} (95 % CI {low:+.1f} to {high:+.1f} points, {tail})"


def compare_seeds(first: Sequence[float] | Mapping[Any, float], second: Sequence[float] | Mapping[Any, float],
                  names: tuple[str, str] = ("A", "B")) -> Verdict:
    """Compare two recipes run with the same seeds: paired differences, a t interval, a verdict.

    For each seed, ``d = first − second`` (in points). The mean of the ``d`` is the gap; its 95 %
    confidence interval is ``mean ± t · sd / √n`` with Student's t for ``n − 1`` degrees of
    freedom (the paired t-test). If the interval lies wholly above or below 0, the recipe ahead
    is named; otherwise "no clear difference". With one seed there is no spread to estimate the
    noise from, so no verdict is given and the text says how many seeds are needed. Introduced
    in notebook 01.

    Args:
        first, second: scores between 0 and 1 (accuracy, recall, IoU), one per seed: lists in
            the same seed order, or dicts ``{seed: score}`` with the same seeds.
        names: what to call the two recipes.

    Example:
        >>> print(compare_seeds([0.71, 0.68, 0.74], [0.62, 0.63, 0.66], ("frozen", "scratch")))
        frozen ahead by 7.3 points (95 % CI +2.2 to +12.5 points, 3 seeds)
        >>> compare_seeds([0.7], [0.6]).text
        'A − B = +10.0 points from 1 seed: no verdict from one seed (no estimate of the noise). Fix: run at least 2 seeds, better 3 or more.'

    Raises:
        ValueError: different seeds or counts on the two sides, no score, or a score outside 0–1.
    """
    names = _names(names)
    one, other = _scores("first", first), _scores("second", second)
    if isinstance(one, dict) or isinstance(other, dict):
        if not (isinstance(one, dict) and isinstance(other, dict)) or set(one) != set(other):
            raise ValueError(f"first has seeds {sorted(one, key=repr) if isinstance(one, dict) else '(a list)'} and second "
                             f"{sorted(other, key=repr) if isinstance(other, dict) else '(a list)'}: expected the same seeds on "
                             "both sides (a comparison is paired by seed). Fix: run both recipes with the same seeds.")
        keys = sorted(one, key=repr)
        one, other = [one[key] for key in keys], [other[key] for key in keys]
    if len(one) != len(other) or not one:
        raise ValueError(f"first has {len(one)} scores and second {len(other)}: expected the same number, at least "
                         "one, one per seed. Fix: run both recipes with the same seeds.")
    # A difference under 1e-4 points (a millionth of accuracy, finer than any validation set resolves) is float
    # noise — 0.1 + 0.2 vs 0.3, a float32 score beside a float64 one — and counts as the tie it is.
    differences = [100 * (float(a) - float(b)) for a, b in zip(one, other)]
    differences = [0.0 if abs(difference) < 1e-4 else difference for difference in differences]
    runs, mean = len(differences), statistics.fmean(differences)
    seeds = f"{runs} seed{'s' if runs > 1 else ''}"
    if runs < 2:
        return Verdict(names, mean, math.nan, math.nan, runs, math.nan, None,
                       f"{names[0]} − {names[1]} = {mean:+.1f} points from 1 seed: no verdict from one seed (no "
                       "estimate of the noise). Fix: run at least 2 seeds, better 3 or more.")
    spread = statistics.stdev(differences)
    if spread == 0:
        # Every seed gave the same difference: the interval shrinks to that one value.
        low = high = mean
        p_value = 1.0 if mean == 0 else 0.0
    else:
        half = float(scipy_stats.t.ppf(0.5 + CONFIDENCE / 2, runs - 1)) * spread / math.sqrt(runs)
        low, high = max(-100.0, mean - half), min(100.0, mean + half)  # 0–1 scores differ by at most 100 points
        t_value = mean / (spread / math.sqrt(runs))
        p_value = float(2 * scipy_stats.t.sf(abs(t_value), runs - 1))
    if low > 0 or high < 0:
        winner = names[0] if mean > 0 else names[1]
        text = _interval_text(f"{winner} ahead by {abs(mean):.1f} points", low, high, seeds)
    else:
        winner = None
        text = _interval_text(f"no clear difference between {names[0]} and {names[1]} ({mean:+.1f} points)",
                              low, high, seeds)
    return Verdict(names, mean, low, high, runs, p_value, winner, text)


def compare_predictions(y_true: Any, pred_a: Any, pred_b: Any, names: tuple[str, str] = ("A", "B"), *,
                        only_class: int | None = None) -> Verdict:
    """Compare two models on the same examples with McNemar's exact test.

    Only the examples where exactly one model is right tell the models apart: ``b`` where only A
    is right, ``c`` where only B is. If the models were equally good, each of those ``b + c``
    examples would be a coin flip; McNemar's exact test is the binomial test of ``b`` out of
    ``b + c`` at one half. p < 0.05 names the model ahead. The interval is the exact 95 % interval
    of the accuracy difference given the ``b + c`` examples that differ (Clopper–Pearson on
    ``b / (b + c)``, scaled by ``(b + c) / N``): it is the same test turned around, so it excludes
    0 exactly when p < 0.05, and the text never contradicts itself. Use it for two *trained*
    models scored once on the test set; to compare *recipes*, use ``compare_seeds``. Introduced
    in notebook 03.

    Args:
        y_true: true class indices ``[N]``.
        pred_a, pred_b: each model's predicted class indices ``[N]`` on the same examples (take
            ``argmax`` of probabilities or logits first).
        names: what to call the two models.
        only_class: score only the examples of this true class (then the accuracies are the
            models' recall on it, e.g. sensitivity for the positive class).

    Example:
        >>> y_true = np.array([0] * 6 + [1] * 14)
        >>> print(compare_predictions(y_true, y_true, np.ones(20, int), ("tuned", "always 1")))
        tuned ahead by 30.0 points: 100.0 % vs 70.0 % (95 % CI +2.4 to +30.0 points, McNemar p = 0.031, 20 examples)

    Raises:
        ValueError: arrays of different lengths, labels that are not whole class indices
            (probabilities passed by mistake), or no example to score.
    """
    names = _names(names)
    arrays = []
    for label, values in (("y_true", y_true), ("pred_a", pred_a), ("pred_b", pred_b)):
        array = np.asarray(values)
        if array.ndim > 1 and array.shape[-1] > 1:
            raise ValueError(f"{label} has shape {array.shape}: expected class indices [N], not probabilities. "
                             f"Fix: pass np.argmax({label}, axis=-1).")
        array = array.reshape(-1)
        if array.dtype.kind == "f" and (not np.all(np.isfinite(array)) or np.any(array != np.round(array))):
            raise ValueError(f"{label} holds non-whole numbers (e.g. {array[array != np.round(array)][:3]}): expected "
                             "class indices. Fix: pass np.argmax(probabilities, axis=-1), or threshold them first.")
        if array.dtype.kind not in "iufb":
            raise ValueError(f"{label} has dtype {array.dtype}: expected class indices (integers).")
        arrays.append(array.astype(np.int64))
    y_true, pred_a, pred_b = arrays
    if not len(y_true) == len(pred_a) == len(pred_b):
        raise ValueError(f"y_true, pred_a and pred_b have {len(y_true)}, {len(pred_a)} and {len(pred_b)} entries: "
                         "expected the same examples in the same order. Fix: predict both models on one test set.")
    scored = np.ones(len(y_true), bool)
    if only_class is not None:
        if isinstance(only_class, bool) or not isinstance(only_class, (int, np.integer)):
            raise TypeError(f"only_class={only_class!r}: expected a class index (int) or None.")
        scored = y_true == int(only_class)
    if not scored.any():
        where = "" if only_class is None else f" of true class {only_class}"
        raise ValueError(f"no example{where} to score: expected at least one. Fix: check y_true (and only_class).")
    right_a, right_b = pred_a[scored] == y_true[scored], pred_b[scored] == y_true[scored]
    n = int(scored.sum())
    only_a, only_b = int(np.sum(right_a & ~right_b)), int(np.sum(~right_a & right_b))
    accuracy_a, accuracy_b = float(right_a.mean()), float(right_b.mean())
    difference = 100 * (only_a - only_b) / n
    if only_a + only_b == 0:
        p_value, low, high = 1.0, 0.0, 0.0
    else:
        test = scipy_stats.binomtest(only_a, only_a + only_b, 0.5)
        p_value = float(test.pvalue)
        share = test.proportion_ci(confidence_level=CONFIDENCE, method="exact")
        scale = 100 * (only_a + only_b) / n
        low, high = scale * (2 * share.low - 1), scale * (2 * share.high - 1)
    scores = f"{100 * accuracy_a:.1f} % vs {100 * accuracy_b:.1f} %"
    tail = f"McNemar p = {p_value:.2g}, {n} examples"
    if p_value < 1 - CONFIDENCE:
        winner = names[0] if difference > 0 else names[1]
        head = f"{winner} ahead by {abs(difference):.1f} points: {scores}"
    else:
        winner = None
        head = f"no clear difference between {names[0]} and {names[1]}: {scores}"
    return Verdict(names, difference, low, high, n, p_value, winner, _interval_text(head, low, high, tail))


def compare_rates(successes_a: int, trials_a: int, successes_b: int, trials_b: int,
                  names: tuple[str, str] = ("A", "B")) -> Verdict:
    """Compare two rates measured on *different* examples, e.g. the missed share of two classes.

    ``compare_predictions`` needs both models on the same examples; two classes, or two groups of
    patients, are different examples. The difference of the two rates gets Newcombe's 95 % interval
    (his method 10: each rate's Wilson interval from ``proportion_interval``, combined), which keeps
    its coverage for small counts and rates near 0 or 1. As in ``compare_seeds``, the verdict is the
    interval: it names the higher rate when 0 lies outside ("higher", not "ahead": the rate may be a
    bad one, such as a missed share), else "no clear difference". No p-value
    (``p_value`` is NaN). Introduced in notebook 09.

    Args:
        successes_a, trials_a: the first rate's count and its examples (e.g. missed images, class images).
        successes_b, trials_b: the second rate's.
        names: what to call the two rates.

    Example:
        >>> print(compare_rates(9, 12, 2, 12, ("tulips", "roses")))
        tulips higher by 58.3 points: 9/12 = 75.0 % vs 2/12 = 16.7 % (95 % CI +18.5 to +78.4 points, 24 examples)
        >>> compare_rates(3, 4, 2, 4).decided
        False

    Raises:
        TypeError: a count that is not a whole number.
        ValueError: a group without examples, or more successes than trials.
    """
    names = _names(names)
    intervals = []
    for name, successes, trials in ((names[0], successes_a, trials_a), (names[1], successes_b, trials_b)):
        try:
            intervals.append(proportion_interval(successes, trials))
        except (TypeError, ValueError) as error:
            raise type(error)(f"{name} ({successes}/{trials}): {error}") from None
    (low_a, high_a), (low_b, high_b) = intervals
    rate_a, rate_b = successes_a / trials_a, successes_b / trials_b
    difference = 100 * (rate_a - rate_b)
    low = difference - 100 * math.sqrt((rate_a - low_a) ** 2 + (high_b - rate_b) ** 2)
    high = difference + 100 * math.sqrt((high_a - rate_a) ** 2 + (rate_b - low_b) ** 2)
    rates = (f"{successes_a}/{trials_a} = {100 * rate_a:.1f} % vs {successes_b}/{trials_b} = {100 * rate_b:.1f} %")
    if low > 0 or high < 0:
        winner = names[0] if difference > 0 else names[1]
        head = f"{winner} higher by {abs(difference):.1f} points: {rates}"  # a rate may be a bad one (missed share)
    else:
        winner = None
        head = f"no clear difference between {names[0]} and {names[1]}: {rates}"
    return Verdict(names, difference, low, high, trials_a + trials_b, math.nan, winner,
                   _interval_text(head, low, high, f"{trials_a + trials_b} examples"))


def interval_of_mean(scores: Sequence[float] | Mapping[Any, float]) -> tuple[float, float, float]:
    """Return ``(mean, low, high)`` of scores over seeds (0–1): the mean and its 95 % t interval.

    The course's one error bar: ``mean_interval`` prints it, ``results.summarize_runs`` stores it
    and ``plots.plot_accuracy_vs_labels`` draws it. One seed gives no interval (``low == high ==
    mean``); the interval is clipped to 0–1 (the t interval of scores near 0 or 1 can reach past
    them). Introduced in notebook 01.

    Example:
        >>> [round(value, 3) for value in interval_of_mean([0.70, 0.74, 0.72])]
        [0.72, 0.67, 0.77]
    """
    return _interval_and_runs(scores)[:3]


def _interval_and_runs(scores: Any) -> tuple[float, float, float, int]:
    if isinstance(scores, np.ndarray) and scores.ndim == 0:
        scores = [scores.item()]
    values = _scores("scores", scores)
    values = list(values.values()) if isinstance(values, dict) else values
    if not values:
        raise ValueError("scores is empty: expected one score per seed. Fix: run at least one seed.")
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, mean, mean, 1
    half = float(scipy_stats.t.ppf(0.5 + CONFIDENCE / 2, len(values) - 1)) * statistics.stdev(values) \
        / math.sqrt(len(values))
    return mean, max(0.0, mean - half), min(1.0, mean + half), len(values)  # a score lies in 0–1, so does its interval


def mean_interval(scores: Sequence[float] | Mapping[Any, float]) -> str:
    """Format scores over seeds (0–1) as ``"mean % (95 % CI low to high, n seeds)"``.

    The interval is ``interval_of_mean``'s: the t interval of the mean, as in ``compare_seeds``,
    clipped to 0–100 %; one seed gives the mean alone. Introduced in notebook 01.

    Example:
        >>> mean_interval([0.70, 0.74, 0.72])
        '72.0 % (95 % CI 67.0 to 77.0, 3 seeds)'
    """
    mean, low, high, runs = _interval_and_runs(scores)
    if runs < 2:
        return f"{100 * mean:.1f} % (1 seed: no interval)"
    return f"{100 * mean:.1f} % (95 % CI {100 * low:.1f} to {100 * high:.1f}, {runs} seeds)"


class TestSetReadTwice(RuntimeError):
    __test__ = False  # not a pytest test class

    """Raised when a notebook asks ``TestSet`` for the test data a second time, for another purpose."""


class TestSet:
    """Hands out the test split once, for the final report, and refuses a second purpose.

    Every choice (learning rate, layers to unfreeze, threshold, backbone) is made on the
    validation split; the test set is read once, at the end. Wrap the test split as soon as it is
    loaded, and ask for it with the purpose you read it for::

        test_set = stats.TestSet(test_ds)
        ...                                   # every choice on val_ds
        test_ds = test_set.read("final report")

    Reading it again for the *same* purpose is allowed (rerunning that cell, or a second table in
    the same report); asking for it for a *different* purpose raises ``TestSetReadTwice`` that
    names both purposes, because a decision made after looking at test scores is a decision
    fitted to them. Rerunning the notebook from the cell that made the ``TestSet`` starts afresh.
    Introduced in notebook 05.

    Example:
        >>> test_set = TestSet([1, 2, 3], name="digits test")
        >>> test_set.read("final report")
        [1, 2, 3]
        >>> test_set.read("pick a learning rate")
        Traceback (most recent call last):
        ...
        tlcourse.stats.TestSetReadTwice: The digits test set was already read for 'final report'; reading it again for 'pick a learning rate' would make a choice on test data. Fix: make that choice on the validation split, and read the test set once, at the end (rerun from the cell that made the TestSet to start over).
    """

    __test__ = False  # not a pytest test class

    def __init__(self, data: Any, *, name: str = "test") -> None:
        if data is None:
            raise ValueError("data=None: expected the test split (a dataset or arrays). Fix: pass the test split you "
                             "loaded, e.g. stats.TestSet(test_ds).")
        self._data = data
        self.name = check_text("name", name, fix="e.g. name='test'")
        self.purpose: str | None = None
        self.reads = 0

    def read(self, purpose: str) -> Any:
        """Return the test data for ``purpose``; raise ``TestSetReadTwice`` for a second, different purpose."""
        purpose = check_text("purpose", purpose, fix="say what you read the test set for, e.g. 'final report'")
        if self.purpose is not None and purpose != self.purpose:
            raise TestSetReadTwice(
                f"The {self.name} set was already read for {self.purpose!r}; reading it again for {purpose!r} would "
                "make a choice on test data. Fix: make that choice on the validation split, and read the test set "
                "once, at the end (rerun from the cell that made the TestSet to start over).")
        self.purpose = purpose
        self.reads += 1
        return self._data

    def __repr__(self) -> str:
        state = "unread" if self.purpose is None else f"read for {self.purpose!r}"
        return f"TestSet({self.name!r}, {state})"


def proportion_interval(successes: int, trials: int) -> tuple[float, float]:
    """Return the 95 % Wilson confidence interval ``(low, high)`` of a proportion, both in 0–1.

    For a rate measured on a finite set of examples — sensitivity (pneumonia cases found among
    all pneumonia cases), specificity, recall of one class — the interval says how far the true
    rate could lie from the measured one. Wilson's interval (Wilson, 1927) stays inside 0–1 and
    keeps its coverage near 95 % for small counts and rates near 0 or 1, where the textbook
    ``p ± 1.96·√(p(1−p)/n)`` fails (it gives ``[1, 1]`` for 20 right out of 20). Introduced in
    notebook 09.

    Args:
        successes: how many examples counted (e.g. pneumonia X-rays the model flagged).
        trials: how many examples there were (e.g. all pneumonia X-rays), at least 1.

    Example:
        >>> low, high = proportion_interval(18, 20)
        >>> f"{low:.3f} to {high:.3f}"
        '0.699 to 0.972'
        >>> proportion_interval(20, 20)[1]
        1.0

    Raises:
        TypeError: a count that is not a whole number.
        ValueError: no trial, or more successes than trials.
    """
    trials = check_int("trials", trials, minimum=1, fix="count at least one example, e.g. the positives in y_true")
    successes = check_int("successes", successes, minimum=0, maximum=trials,
                          fix=f"count the successes among the {trials} trials (0 to {trials})")
    z = float(scipy_stats.norm.ppf(0.5 + CONFIDENCE / 2))
    rate = successes / trials
    centre = (rate + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z / (1 + z * z / trials) * math.sqrt(rate * (1 - rate) / trials + z * z / (4 * trials * trials))
    return (max(0.0, centre - half), min(1.0, centre + half))
