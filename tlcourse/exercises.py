"""Self-checks for exercises where the learner decides: a choice made on validation, and why.

Many exercises ask a learner to *choose* — how many layers to unfreeze, a learning rate, a
backbone, a budget — from validation scores they measured themselves, and to justify the choice
in one sentence. ``check_decision`` checks the choice against the learner's own measurements, not
against a copied number: the choice must be the validation-best option, or within noise of it by
the course's comparisons (``tlcourse.stats``). The scores are the learner's own, so training noise
never fails a correct answer: whatever the runs gave, the best of them (or a tie with it) passes.
The reason is for the learner (and a teacher) to read: the check only asks that one is written.
"""

from __future__ import annotations

import math
import numbers
import re
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tlcourse.checks import check_text
from tlcourse.stats import _scores, compare_predictions, compare_seeds

MIN_REASON_WORDS = 5
"""A justification is a sentence: at least this many different words."""
PLACEHOLDERS = re.compile(r"\b(todo|tbd|your reason|your sentence|your answer|write your reason)\b", re.I)
"""Whole phrases a reason still holds when it was not written yet."""
TIE = 1e-6
"""Scores this close (0–1) are a tie: float noise (0.1 + 0.2 vs 0.3, float32 vs float64) decides nothing."""


class DecisionNotSupported(AssertionError):
    """The choice is clearly behind the validation-best option (an exercise's self-check failed)."""


def _shown(option: Any) -> str:
    return repr(option) if isinstance(option, str) else str(option)


def _check_reason(reason: Any, what: str) -> None:
    words = {word.strip(".,;:!?\"'()…").lower() for word in reason.split()} - {""} if isinstance(reason, str) else set()
    unwritten = isinstance(reason, str) and PLACEHOLDERS.search(reason)
    if len(words) < MIN_REASON_WORDS or unwritten:
        fix = ("replace the placeholder in the reason variable with that sentence" if unwritten else
               "write that sentence, as a string, in the reason variable")
        raise ValueError(f"reason={reason!r}: expected your own sentence of at least {MIN_REASON_WORDS} different "
                         f"words saying why this {what} (what your validation scores show). Fix: {fix}.")


def _option_for(choice: Any, options: list) -> Any:
    """The option ``choice`` names: itself, the number option equal to it up to float precision, or the
    text option it spells in another case or spacing."""
    try:
        if choice in options:
            return next(option for option in options if option == choice)
    except TypeError:  # an unhashable choice, e.g. a list
        return None
    if isinstance(choice, numbers.Real) and not isinstance(choice, (bool, np.bool_)):
        close = [option for option in options if isinstance(option, numbers.Real) and not isinstance(option, bool)
                 and np.isclose(float(option), float(choice), rtol=1e-6, atol=0)]
        if len(close) == 1:  # e.g. np.float32(1e-3) for the option 0.001
            return close[0]
    if isinstance(choice, str):  # "Hidden dense(64) " for the option "hidden Dense(64)": case and spaces aside
        def folded(text: str) -> str:
            return " ".join(text.split()).casefold()

        same = [option for option in options if isinstance(option, str) and folded(option) == folded(choice)]
        if len(same) == 1:
            return same[0]
    return None


def _per_option(validation_scores: Any) -> dict[Any, list[float]]:
    if not isinstance(validation_scores, Mapping) or not validation_scores:
        raise TypeError(f"validation_scores={validation_scores!r}: expected a dict {{option: scores}} with at least "
                        "two options, e.g. {1e-3: [0.71, 0.69], 1e-4: [0.66, 0.64]} (one score per seed, or one "
                        "score). Fix: collect each option's validation score(s) in a dict.")
    if len(validation_scores) < 2:
        raise ValueError(f"validation_scores has one option, {list(validation_scores)!r}: expected at least two "
                         "(a decision chooses between options). Fix: measure every option on validation.")
    per_option: dict[Any, list[float]] = {}
    seeds: dict[Any, list] = {}
    for option, scores in validation_scores.items():
        if isinstance(scores, numbers.Real) and not isinstance(scores, (bool, np.bool_)):  # NumPy floats too
            scores = [scores]
        checked = _scores(f"validation_scores[{option!r}]", scores)
        if isinstance(checked, dict):  # {seed: score}: pair the options by seed, not by position
            checked = {seed.item() if isinstance(seed, np.generic) else seed: score for seed, score in checked.items()}
            seeds[option] = sorted(checked, key=repr)  # np.int64(0) and 0 are one seed
            values = [checked[seed] for seed in seeds[option]]
        else:
            values = checked
        if not values:
            raise ValueError(f"validation_scores[{option!r}] is empty: expected at least one validation score. "
                             "Fix: run that option at least once.")
        per_option[option] = values
    if seeds and (len(seeds) != len(per_option) or len({tuple(map(repr, keys)) for keys in seeds.values()}) > 1):
        raise ValueError(f"the options have different seeds ({ {k: seeds.get(k, '(a list)') for k in per_option} }): "
                         "expected the same seeds for every option (a comparison is paired by seed). Fix: run every "
                         "option with the same seeds, all as {seed: score} dicts or all as lists in seed order.")
    counts = {len(values) for values in per_option.values()}
    if len(counts) > 1:
        raise ValueError(f"the options have different numbers of scores ({ {k: len(v) for k, v in per_option.items()} }): "
                         "expected the same seeds for every option (a comparison is paired by seed). Fix: run every "
                         "option with the same seeds.")
    return per_option


def _per_example(validation_scores: Any) -> dict[Any, np.ndarray] | None:
    """``{option: bool array}`` when every option gives one True/False per validation example, else None."""
    if not isinstance(validation_scores, Mapping):
        return None
    arrays = {}
    for option, values in validation_scores.items():
        if isinstance(values, (numbers.Real, Mapping)):
            continue
        try:
            array = np.asarray(values)
        except ValueError:  # ragged lists: _per_option names the problem
            return None
        if array.ndim == 2 and 1 in array.shape:  # a column (N, 1) or a row (1, N) of True/False
            array = array.reshape(-1)
        if (isinstance(values, np.ndarray) or hasattr(values, "numpy")) and array.ndim == 1 and \
                array.dtype.kind in "iuf" and len(array) and set(np.unique(array).tolist()) <= {0, 1}:
            # a NumPy (or tensor) array of 0/1 is correct/wrong per example: (predictions == labels).astype(float),
            # or a Keras accuracy metric per example; a typed list like [1, 1, 0] stays scores per seed
            array = array.astype(bool)
        arrays[option] = array
    flags = [array.dtype == bool and array.ndim == 1 for array in arrays.values()]
    if not any(flags):
        return None
    if len(arrays) != len(validation_scores) or not all(flags):
        raise ValueError("validation_scores mixes per-example True/False arrays with scores: expected the same kind "
                         "for every option. Fix: give each option its correctness on the validation examples "
                         "(predictions == labels), or each its score(s) per seed.")
    if len(validation_scores) < 2:
        raise ValueError(f"validation_scores has one option, {list(validation_scores)!r}: expected at least two "
                         "(a decision chooses between options). Fix: measure every option on validation.")
    sizes = {len(array) for array in arrays.values()}
    if len(sizes) > 1 or 0 in sizes:
        raise ValueError(f"the options were scored on different numbers of validation examples ({sorted(sizes)}): "
                         "expected each option's correctness on the same examples. Fix: predict the same validation "
                         "set with every option.")
    return arrays


def check_decision(choice: Any, validation_scores: Mapping[Any, float | Sequence[float]], reason: str, *,
                   what: str = "choice") -> str:
    """Check a decision made on validation: the best option, or within noise of it, and a reason.

    ``validation_scores`` maps each option to its validation score(s), higher is better (accuracy,
    IoU, recall; 0–1), one per seed in the same seed order for every option, or one number per
    option. The choice passes when it has the highest mean, or when ``stats.compare_seeds``
    finds no clear difference between it and the best (which needs at least two seeds; from one
    run per option only the best passes). With one run per option, give instead each option's
    correctness on the same validation examples (a NumPy array of True/False, ``predictions == labels``, or 0/1):
    the noise is then judged by McNemar's test (``stats.compare_predictions``), so an option
    within noise of the best passes too. ``reason`` is the learner's one-sentence
    justification. Prints and returns one line.

    Args:
        choice: the option chosen, a key of ``validation_scores``.
        validation_scores: ``{option: score or [score per seed]}`` measured on validation.
        reason: why, in one sentence (at least five words).
        what: what is chosen, for the message (e.g. ``"learning rate"``).

    Example:
        >>> scores = {1e-3: [0.72, 0.70, 0.75], 1e-4: [0.71, 0.70, 0.73], 1e-2: [0.40, 0.45, 0.38]}
        >>> _ = check_decision(1e-4, scores, "it ties the best on validation and changes the base less",
        ...                    what="learning rate")
        ✓ learning rate 0.0001: within noise of the best, 0.001 (no clear difference between 0.001 and 0.0001 (+1.0 points) (95 % CI -1.5 to +3.5 points, 3 seeds)); reason noted.

    Raises:
        DecisionNotSupported: the choice is clearly behind the validation-best option.
        ValueError, TypeError: the choice is no option, the scores are malformed, no reason.
    """
    what = check_text("what", what)
    examples = _per_example(validation_scores)
    per_option = ({option: [float(array.mean())] for option, array in examples.items()} if examples is not None
                  else _per_option(validation_scores))
    option = _option_for(choice, list(per_option))
    if option is None:
        shown = list(per_option) if len(per_option) <= 20 else f"{list(per_option)[:20]} … ({len(per_option)} in all)"
        raise ValueError(f"{what}={choice!r} is not one of the options measured: expected one of "
                         f"{shown}. Fix: choose among the options you scored on validation.")
    choice = option
    _check_reason(reason, what)
    means = {option: statistics.fmean(values) for option, values in per_option.items()}
    best = max(means, key=means.get)
    if means[best] - means[choice] <= TIE:
        line = f"✓ {what} {_shown(choice)}: the best on validation ({100 * means[choice]:.1f} %); reason noted."
    else:
        if examples is not None:  # one run each, the same examples: McNemar
            verdict = compare_predictions(np.ones(len(examples[best]), dtype=int), examples[best].astype(int),
                                          examples[choice].astype(int), (_shown(best), _shown(choice)))
        else:
            verdict = compare_seeds(per_option[best], per_option[choice], (_shown(best), _shown(choice)))
        if verdict.runs < 2:
            raise DecisionNotSupported(
                f"{what} {choice!r} scored {100 * means[choice]:.1f} % on validation, behind {best!r} at "
                f"{100 * means[best]:.1f} %. With one score per option nothing measures the noise, so only the best "
                f"passes. Fix: choose {best!r}.")
        if verdict.decided:
            raise DecisionNotSupported(
                f"{what} {choice!r} scored {100 * means[choice]:.1f} % on validation, behind {best!r} at "
                f"{100 * means[best]:.1f} %: {verdict.text}. Fix: choose {best!r}, or an option within noise of it "
                "(run more seeds to tell close options apart).")
        line = f"✓ {what} {_shown(choice)}: within noise of the best, {_shown(best)} ({verdict.text}); reason noted."
    print(line)
    return line


def _exact(value: float) -> str:
    """``value`` short (``0.4``) where that is exact, else every digit (``0.37123454``): a printed
    threshold must be one a learner can copy back and get the same flags."""
    short = f"{value:g}"
    return short if float(short) == value else repr(float(value))


def check_threshold(threshold: float, labels: Sequence[int], scores: Sequence[float], target: float, reason: str, *,
                    positive: int = 1, what: str = "threshold") -> str:
    """Check a screening threshold chosen on validation: every threshold that meets the target passes.

    A threshold is no higher-is-better option (``check_decision`` does not fit): many thresholds can
    meet a sensitivity target, and which one a clinic prefers is its call. The check flags every
    example whose score is ≥ ``threshold`` and passes when the share of positive examples flagged
    (the sensitivity) reaches ``target``. It prints the specificity the threshold keeps and, for
    comparison, the highest threshold that still meets the target (the one that keeps the most
    specificity). The scores are the learner's own validation scores, so training noise never fails
    a correct answer.

    Args:
        threshold: flag an example when its score is ≥ this.
        labels: the true class index of each validation example.
        scores: each example's score for the positive class, e.g. P(pneumonia).
        target: the sensitivity to reach, in (0, 1].
        reason: why, in one sentence (at least five words).
        positive: the index of the positive class in ``labels``.
        what: what is chosen, for the message.

    Example:
        >>> _ = check_threshold(0.3, [0, 1, 1, 0], [0.1, 0.9, 0.4, 0.35], 1.0,
        ...                     "it finds every positive and still passes one negative")
        ✓ threshold 0.3: sensitivity 2/2 = 100.0 % ≥ 100 % on validation, specificity 50.0 %; the highest threshold meeting the target, 0.4, keeps 100.0 %; reason noted.

    Raises:
        DecisionNotSupported: the threshold misses the target on validation.
        ValueError, TypeError: malformed threshold, labels, scores, target or reason.
    """
    from tlcourse.checks import check_number

    what = check_text("what", what)
    threshold = float(check_number(what, threshold, minimum=0, maximum=1,
                                   fix="e.g. 0.2 (flag when the score, 0–1, is at least this)"))
    target = check_number("target", target, above=0, maximum=1, fix="e.g. 0.95 for 95 % sensitivity")
    labels_array = np.asarray(labels)
    try:
        scores_array = np.asarray(scores, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"scores={scores!r:.60} holds no numbers: expected each example's score for the positive "
                        "class (0–1). Fix: pass e.g. probabilities[:, positive].") from None
    if labels_array.ndim != 1 or labels_array.shape != scores_array.shape or not len(labels_array):
        hint = ("; scores looks like one column per class: pass probabilities[:, positive]" if scores_array.ndim == 2
                and scores_array.shape[1] > 1 else "; flatten them with np.ravel(...)" if scores_array.ndim == 2
                or labels_array.ndim == 2 and labels_array.shape[1] == 1 else
                "; labels looks one-hot: pass np.argmax(labels, axis=-1)" if labels_array.ndim == 2 else "")
        raise ValueError(f"labels has shape {labels_array.shape} and scores {scores_array.shape}: expected one label and "
                         "one score per validation example (the same length, at least one). Fix: pass the validation "
                         f"labels and the positive-class scores of the same examples{hint}.")
    if not np.all(np.isfinite(scores_array)):
        raise ValueError(f"scores holds {int(np.sum(~np.isfinite(scores_array)))} NaN or infinite value(s): expected "
                         "one finite score per example (a NaN is never flagged, so a sensitivity would be wrong). "
                         "Fix: check the model's predictions (a diverged training gives NaN).")
    if scores_array.min() < 0 or scores_array.max() > 1:
        raise ValueError(f"scores run from {scores_array.min():g} to {scores_array.max():g}: expected probabilities "
                         "0–1. Fix: pass the softmax probabilities of the positive class (logits go through "
                         "keras.ops.softmax first; percentages are divided by 100).")
    is_positive = labels_array == positive
    if not is_positive.any():
        raise ValueError(f"labels holds no example of the positive class {positive!r}: a sensitivity needs at least one. "
                         "Fix: pass the validation labels, and positive= the index of the class the screen must find.")
    _check_reason(reason, what)
    flagged = scores_array >= threshold
    found, positives = int(np.sum(flagged & is_positive)), int(np.sum(is_positive))
    negatives = int(np.sum(~is_positive))
    specificity = float(np.mean(~flagged[~is_positive])) if negatives else float("nan")
    target_met = target - 1e-9  # float noise (0.1 * 7 for 70 %) must not fail a threshold that meets the target
    meeting = [value for value in np.unique(scores_array)
               if np.mean(scores_array[is_positive] >= value) >= target_met]
    best = max(meeting)  # the lowest score always meets the target: every example is flagged there
    best_specificity = float(np.mean(scores_array[~is_positive] < best)) if negatives else float("nan")
    best = float(best)
    if found / positives < target_met:
        rounded = math.floor(best * 10_000 + 1e-6) / 10_000  # lower is safe: it flags at least as many positives
        raise DecisionNotSupported(
            f"{what} {_exact(threshold)} flags {found}/{positives} = {100 * found / positives:.1f} % of the positive "
            f"validation examples, below the target {100 * target:g} %. Fix: lower it to at most {_exact(best)}"
            + (f", e.g. {rounded:g}." if rounded != best else "."))
    kept = (f"specificity {100 * specificity:.1f} %; the highest {what} meeting the target, {_exact(best)}, keeps "
            f"{100 * best_specificity:.1f} %" if negatives else
            f"no negative example to measure a specificity on; the highest {what} meeting the target is {_exact(best)}")
    line = (f"✓ {what} {_exact(threshold)}: sensitivity {found}/{positives} = {100 * found / positives:.1f} % ≥ {100 * target:g} % on "
            f"validation, {kept}; reason noted.")
    print(line)
    return line
