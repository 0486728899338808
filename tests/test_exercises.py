"""Exercises that make the learner decide: tlcourse.exercises.check_decision, and the course's exercises
taken together (no exercise repeats another; most of them are decisions)."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import numpy as np
import pytest

from tlcourse.course import COURSE_MAP
from tlcourse.exercises import DecisionNotSupported, check_decision, check_threshold
from tlcourse.stats import compare_predictions, compare_seeds

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
REASON = "it scored best on validation over the seeds"
SCORES = {"small": [0.70, 0.72, 0.74], "large": [0.69, 0.72, 0.73], "none": [0.40, 0.42, 0.41]}


def test_the_validation_best_and_a_tie_with_it_pass(capsys):
    assert "the best on validation" in check_decision("small", SCORES, REASON, what="head")
    assert "within noise of the best" in check_decision("large", SCORES, REASON, what="head")
    assert capsys.readouterr().out.count("✓ head") == 2


def test_a_clearly_worse_choice_fails_with_the_verdict_and_the_fix():
    with pytest.raises(DecisionNotSupported, match=r"behind 'small'.*ahead by .*Fix: choose 'small'"):
        check_decision("none", SCORES, REASON)


def test_from_one_run_per_option_only_the_best_passes():
    one_run = {1e-3: 0.71, 1e-4: 0.70}
    assert check_decision(1e-3, one_run, REASON)
    with pytest.raises(DecisionNotSupported, match="only the best passes. Fix: choose 0.001.$"):
        check_decision(1e-4, one_run, REASON)


@pytest.mark.parametrize("choice, scores, reason, message", [
    ("medium", SCORES, REASON, "not one of the options measured"),
    ("small", SCORES, "best", "at least 5 different words"),
    ("small", SCORES, "a a a a a a", "at least 5 different words"),
    ("small", SCORES, "TODO: write your reason here", "replace the placeholder"),
    ("small", SCORES, None, "at least 5 different words"),
    ("small", {"small": [0.7]}, REASON, "at least two"),
    ("small", {"small": [0.7, 0.8], "large": [0.6]}, REASON, "same seeds"),
    ("small", {"small": [70, 80], "large": [60, 65]}, REASON, "between 0 and 1"),
])
def test_bad_input_names_the_fix(choice, scores, reason, message):
    with pytest.raises(ValueError, match=message):
        check_decision(choice, scores, reason)


def test_scores_that_are_no_dict_name_the_fix():
    with pytest.raises(TypeError, match="expected a dict"):
        check_decision("small", [0.7, 0.6], REASON)


def _exercises() -> list[dict]:
    """Every exercise of the course: notebook, title, prompt and the code of its three cells."""
    found = []
    for lesson in COURSE_MAP:
        cells = json.loads((NOTEBOOKS / lesson.filename).read_text())["cells"]
        for index, cell in enumerate(cells):
            text = "".join(cell["source"])
            if cell["cell_type"] == "markdown" and text.startswith("### Exercise"):
                following = itertools.takewhile(lambda c: c["cell_type"] == "code", cells[index + 1:])
                code = "\n".join("".join(c["source"]) for c in following)  # given cells, answer, self-check
                found.append({"where": f"{lesson.number:02d} {text.splitlines()[0]}", "prompt": text,
                              "code": code, "lesson": lesson})
    return found


def _shingles(text: str, size: int = 3) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9_]+", text.lower())
    return {tuple(words[i:i + size]) for i in range(len(words) - size + 1)}


def overlap(first: str, second: str) -> float:
    """Share of the shorter text's word triples that the other text has too (0: nothing shared, 1: contained)."""
    one, other = _shingles(first), _shingles(second)
    return len(one & other) / max(1, min(len(one), len(other)))


REPEAT = 0.3
"""Two prompts sharing this share of their word triples ask the same thing (checked: a copied prompt with
a new title and one clause added scores 0.44; distinct exercises of the course score below 0.2)."""


def test_the_repeat_measure_catches_a_reworded_copy():
    original = ("*Unfreeze only the top 11 layers of `base_model` (BatchNormalization kept frozen), compile again at "
                "`fine_tune_learning_rate` and fit one epoch on `train_ds`. Keep what `fit` returns in `history`.*")
    copy = ("*Unfreeze only the top 11 layers of `base_model` (BatchNormalization kept frozen), compile again — "
            "inside `strategy.scope()` — at `fine_tune_learning_rate` and fit one epoch on `train_ds`.*")
    assert overlap(original, copy) > REPEAT
    assert overlap(original, "*Compute the IoU of two boxes by hand and store it in `MY_IOU`.*") < REPEAT


def test_no_exercise_repeats_another():
    exercises = _exercises()
    repeats = [(a["where"], b["where"], round(overlap(a["prompt"], b["prompt"]), 2))
               for a, b in itertools.combinations(exercises, 2) if overlap(a["prompt"], b["prompt"]) > REPEAT]
    assert not repeats, f"these exercises ask the same thing (share of word triples > {REPEAT}): {repeats}"
    decided = [(e["where"], what) for e in exercises for what in re.findall(r'what="([^"]+)"', e["code"])]
    seen: dict[str, str] = {}
    for where, what in decided:
        assert what not in seen or seen[what] == where, (
            f"{where} decides the same thing ({what!r}) as {seen[what]}: make each decision exercise choose "
            "something else")
        seen.setdefault(what, where)


def test_most_exercises_make_the_learner_decide():
    exercises = _exercises()
    decisions = [e for e in exercises if "check_decision(" in e["code"] or "tlcourse.exercises" in e["code"]]
    assert 2 * len(decisions) >= len(exercises), (
        f"{len(decisions)} of {len(exercises)} exercises make the learner decide (choose on validation, "
        "checked by tlcourse.exercises.check_decision): at least half should")
    without = sorted({e["lesson"].filename for e in exercises if e["lesson"].number > 0}
                     - {e["lesson"].filename for e in decisions})
    assert not without, f"these lessons have no decision exercise: {without}"


def test_check_decision_pairs_seed_dicts_by_seed_not_by_position():
    """Mechanics: {seed: score} dicts in different orders are paired by seed; other seeds are refused."""
    scores = {"a": {0: 0.70, 1: 0.90, 2: 0.71}, "b": {2: 0.72, 1: 0.92, 0: 0.70}}
    by_seed = {"a": [0.70, 0.90, 0.71], "b": [0.70, 0.92, 0.72]}
    reason = "it ties the best option on validation"
    assert check_decision("a", scores, reason) == check_decision("a", by_seed, reason)
    with pytest.raises(ValueError, match="different seeds"):
        check_decision("a", {"a": {0: 0.7, 1: 0.9}, "b": {5: 0.7, 6: 0.9}}, reason)
    assert "best" in check_decision("a", {"a": np.float32(0.7), "b": np.float32(0.6)}, reason)
    with pytest.raises(ValueError, match="not one of the options"):
        check_decision([1e-3], {1e-3: 0.7, 1e-4: 0.6}, reason)


def test_check_threshold_refuses_nan_scores_a_zero_target_and_names_the_column_fix():
    reason = "it finds every positive on validation"
    with pytest.raises(ValueError, match="NaN"):
        check_threshold(0.3, [0, 1, 1, 0], [0.1, np.nan, 0.4, 0.35], 0.5, reason)
    with pytest.raises(ValueError, match="target=0"):
        check_threshold(0.99, [0, 1, 1, 0], [0.1, 0.9, 0.4, 0.35], 0, reason)
    with pytest.raises(ValueError, match=r"probabilities\[:, positive\]"):
        check_threshold(0.3, [0, 1], [[0.9, 0.1], [0.2, 0.8]], 1.0, reason)
    with pytest.raises(TypeError, match="holds no numbers"):
        check_threshold(0.3, [0, 1], ["low", "high"], 1.0, reason)
    assert "no negative example" in check_threshold(0.3, [1, 1], [0.9, 0.4], 1.0, reason)


def test_one_run_per_option_on_the_same_examples_is_judged_by_mcnemar():
    import numpy as np

    rng = np.random.default_rng(0)
    best = rng.random(200) < 0.80
    close = best.copy()
    close[:6] = ~close[:6]  # six examples differ: within noise
    poor = rng.random(200) < 0.40
    scores = {"best": best, "close": close, "poor": poor}
    assert "within noise of the best" in check_decision("close", scores, REASON)
    with pytest.raises(DecisionNotSupported, match="McNemar|ahead"):
        check_decision("poor", scores, REASON)
    with pytest.raises(ValueError, match="same examples|different numbers"):
        check_decision("best", {"best": best, "short": best[:50]}, REASON)
    with pytest.raises(ValueError, match="mixes"):
        check_decision("best", {"best": best, "score": 0.7}, REASON)


def test_float_noise_is_a_tie_and_every_way_a_learner_writes_the_same_answer_passes():
    """From the API probe: exact float comparison rejected tied choices; 0/1 integers were read as seeds."""
    assert "best on validation" in check_decision("b", {"a": 0.1 + 0.2, "b": 0.3}, REASON)
    tied = {"a": [0.504, 0.61, 0.7], "b": [np.float32(0.504), np.float32(0.61), np.float32(0.7)]}
    assert "best on validation" in check_decision("b", tied, REASON)
    assert not compare_seeds([0.1 + 0.2] * 3, [0.3] * 3).decided
    big = np.ones(40, dtype=int)
    cheap = big.copy()
    cheap[:5] = 0  # five examples differ: McNemar p = 0.062, within noise
    for kind in (int, bool):
        assert "within noise" in check_decision("cheap", {"big": big.astype(kind), "cheap": cheap.astype(kind)}, REASON)
    column = {"big": (big == 1)[:, None], "cheap": (cheap == 1)[:, None]}
    assert "within noise" in check_decision("cheap", column, REASON)
    assert "0.001" in check_decision(np.float32(1e-3), {1e-3: 0.7, 1e-4: 0.6}, REASON, what="learning rate")


def test_a_threshold_fix_is_one_the_learner_can_copy_and_scores_must_be_probabilities():
    labels, scores = [0, 1, 1, 0], [0.1, 0.9, 0.37123454, 0.2]
    with pytest.raises(DecisionNotSupported, match=r"at most 0\.37123454, e\.g\. 0\.3712\.$") as failed:
        check_threshold(0.5, labels, scores, 1.0, REASON)
    for fix in ("0.37123454", "0.3712"):
        assert fix in str(failed.value)
        assert "✓" in check_threshold(float(fix), labels, scores, 1.0, REASON)
    with pytest.raises(DecisionNotSupported, match="0.4000000059604645"):  # float32 0.4 is above 0.4
        check_threshold(np.float32(0.4), [0, 1, 1], [0.1, 0.9, 0.4], 1.0, REASON)
    with pytest.raises(ValueError, match="expected probabilities"):
        check_threshold(0.3, [0, 1, 1], [10, 90, 40], 1.0, REASON)
    with pytest.raises(ValueError, match="threshold"):
        check_threshold(-1, [0, 1, 1], [0.1, 0.9, 0.4], 1.0, REASON)


def test_mcnemar_interval_and_verdict_never_contradict_each_other():
    """The exact interval is the test turned around: it excludes 0 exactly when p < 0.05 (2,000 random pairs)."""
    rng = np.random.default_rng(0)
    for _ in range(2000):
        n = int(rng.integers(5, 300))
        y_true = np.zeros(n, int)
        pred_a, pred_b = ((rng.random(n) < rng.random()).astype(int) for _ in range(2))
        verdict = compare_predictions(y_true, pred_a, pred_b)
        assert (verdict.low > 0 or verdict.high < 0) == (verdict.p_value < 0.05), verdict.text


def test_what_the_second_probe_broke_passes_now():
    """Float 0/1 NumPy arrays are per-example; typed lists are seeds; NumPy seed keys match int ones; a
    sentence with '...' or 'Mastodon' is a reason; 70 % written as 0.1 * 7 is met by 7 of 10."""
    big = np.ones(40)
    cheap = big.copy()
    cheap[:5] = 0.0
    assert "within noise" in check_decision("cheap", {"big": big, "cheap": cheap}, REASON)  # float 0/1: McNemar
    with pytest.raises(DecisionNotSupported, match="only the best passes"):  # a typed list is one seed each
        check_decision("b", {"a": [1.0], "b": [0.9]}, REASON)
    assert "within noise" in check_decision("b", {"a": [1, 1, 1], "b": [0.9, 0.95, 0.99]}, REASON)
    seeds = {"a": dict(zip(np.arange(3), [0.72, 0.70, 0.75])), "b": dict(zip(range(3), [0.71, 0.70, 0.73]))}
    assert "within noise" in check_decision("b", seeds, REASON)
    for reason in ("it was best... and cheaper to train as well", "Mastodon-sized models are slower than this one"):
        assert check_decision("a", {"a": 0.9, "b": 0.8}, reason)
    with pytest.raises(ValueError, match="replace the placeholder"):
        check_decision("a", {"a": 0.9, "b": 0.8}, "TODO write your reason here")
    labels, scores = [1] * 10 + [0] * 2, [0.9] * 7 + [0.1] * 3 + [0.2, 0.05]
    assert "≥ 70 %" in check_threshold(0.5, labels, scores, 0.1 * 7, REASON)


def test_a_text_choice_matches_its_option_whatever_its_case_and_spacing():
    scores = {"hidden Dense(64)": [0.80, 0.82, 0.81], "linear": [0.60, 0.61, 0.59]}
    assert "hidden Dense(64)" in check_decision("  Hidden  dense(64) ", scores, REASON)
    with pytest.raises(ValueError, match="not one of the options"):
        check_decision("hidden Dense(128)", scores, REASON)
