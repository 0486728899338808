"""Property test for the modules added after issue 9 (issue 16): bad values and generated data.

Same rule as ``test_boundary_properties.py`` (whose runner is reused): every call returns, or
raises a ValueError/TypeError/FileNotFoundError from a tlcourse check. Two kinds of input:

- ``BAD_VALUES`` (None, NaN, strings, lists, arrays of the wrong rank…) in one argument;
- generated *data* where data is the input: images of odd sizes, dtypes and ranges (0–1 floats,
  negative, NaN, above 255, one channel), boxes (upside down, pixels, NaN), audio clips (NaN,
  empty), texts (empty, non-text) and score lists (NaN, percentages, duplicates).

Where a function returns, the result is checked for NaN: a NaN result from finite input is the
"looks fine and is wrong" defect this test exists to find.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from test_boundary_properties import BAD_VALUES, TIME_LIMIT_S, Hang, _call
from boundary import CLEAR_ERRORS, raised_in_tlcourse
from tlcourse import audio, boxes, checks, evaluation, features, image_folders, limits, plots, shifts, stats, text

MAX_EXAMPLES = 6  # per row: enough to hit each kind of bad data once or twice (derandomized: same draws each run)
FEATURE_BASE = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3)])

PIXELS = st.one_of(st.floats(-2, 300, allow_nan=False, width=32), st.sampled_from([0.0, 0.5, 1.0, 255.0]),
                   st.just(float("nan")))
IMAGES = st.one_of(
    hnp.arrays(np.float32, st.tuples(st.integers(0, 3), st.integers(1, 9), st.integers(1, 9),
                                     st.sampled_from([1, 3, 4])), elements=PIXELS),
    hnp.arrays(np.uint8, st.tuples(st.integers(1, 3), st.integers(1, 9), st.integers(1, 9), st.just(3))),
    hnp.arrays(np.float32, st.tuples(st.integers(1, 3), st.integers(1, 9), st.integers(1, 9)), elements=PIXELS),
)
BOXES = hnp.arrays(np.float64, st.tuples(st.integers(0, 3), st.just(4)),
                   elements=st.one_of(st.floats(-1, 300, allow_nan=False), st.sampled_from([0.0, 0.5, 1.0]),
                                      st.just(float("nan"))))
CLIPS = hnp.arrays(np.float32, st.tuples(st.integers(0, 2), st.integers(0, 400)),
                   elements=st.one_of(st.floats(-1, 1, width=32), st.just(float("nan"))))
TEXTS = st.one_of(st.lists(st.text(max_size=12), max_size=4), st.lists(st.integers(), max_size=2), st.text(max_size=5))
SCORES = st.one_of(st.lists(st.one_of(st.floats(0, 1), st.just(float("nan")), st.sampled_from([72.0, -0.1])),
                            min_size=0, max_size=4),
                   st.dictionaries(st.integers(0, 3), st.floats(0, 1), max_size=3))


def _rows(scores):
    values = scores.values() if isinstance(scores, dict) else scores
    return [{"method": "frozen", "labels_per_class": 3, "seed": index % 2, "val_accuracy": value}
            for index, value in enumerate(values)]


# (id, function, builder: value -> (args, kwargs), strategy)
TABLE = [
    ("shifts.shift_images.images", shifts.shift_images, lambda v: ((v, "noise", 2), {}), IMAGES),
    ("shifts.shift_images.shift", shifts.shift_images, lambda v: ((np.zeros((1, 8, 8, 3)), v, 2), {}), BAD_VALUES),
    ("boxes.iou", boxes.iou, lambda v: ((v, v[::-1] if hasattr(v, "shape") else v), {}), BOXES),
    ("boxes.iou.bad", boxes.iou, lambda v: ((v, [0, 0, 1, 1]), {}), BAD_VALUES),
    ("boxes.box_report", boxes.box_report, lambda v: (("m", v, v), {}), BOXES),
    ("boxes.box_report.threshold", boxes.box_report, lambda v: (("m", [[0, 0, 1, 1]], [[0, 0, 1, 1]], v), {}),
     BAD_VALUES),
    ("boxes.plot_boxes.images", boxes.plot_boxes, lambda v: ((v, [[0.1, 0.1, 0.5, 0.5]] * len(v)), {}), IMAGES),
    ("audio.log_mels.waves", audio.log_mels, lambda v: ((v,), {"frames": 10}), CLIPS),
    ("audio.log_mels.frames", audio.log_mels, lambda v: ((np.zeros((1, 400), "float32"),), {"frames": v}),
     BAD_VALUES),
    ("audio.fit_length", audio.fit_length, lambda v: ((v, 100), {}), CLIPS),
    ("audio.split_by_speaker", audio.split_by_speaker, lambda v: ((v,), {}), BAD_VALUES),
    ("text.build_vocabulary", text.build_vocabulary, lambda v: ((v,), {}), TEXTS),
    ("text.build_vocabulary.max_words", text.build_vocabulary, lambda v: ((["a b"],), {"max_words": v}), BAD_VALUES),
    ("limits.seed_scores", limits.seed_scores, lambda v: ((_rows(v), "frozen", 3), {}), SCORES),
    ("limits.plot_scores", limits.plot_scores, lambda v: (({"a": v},), {}), SCORES),
    ("plots.plot_comparison", plots.plot_comparison,
     lambda v: (([{"model": "m", "test_accuracy": x} for x in (v.values() if isinstance(v, dict) else v)],), {}),
     SCORES),
    ("stats.mean_interval", stats.mean_interval, lambda v: ((v,), {}), SCORES),
    ("stats.compare_seeds", stats.compare_seeds, lambda v: ((v, v), {}), SCORES),
    ("features.extract_features.images", features.extract_features,
     lambda v: ((FEATURE_BASE, _batched(v)), {"progress": False}), IMAGES),
    ("image_folders.write_demo_folder.per_class", image_folders.write_demo_folder,
     lambda v: (("/nonexistent_dir_for_tests/x",), {"per_class": v, "image_size": 16}), BAD_VALUES),
    ("evaluation.grad_cam.images", evaluation.grad_cam, lambda v: ((FEATURE_BASE, FEATURE_BASE, v), {}), IMAGES),
    ("checks.check_options", checks.check_options, lambda v: (("tiny", v, ["a"]), {}), BAD_VALUES),
]


def _batched(images):
    import tensorflow as tf

    if not isinstance(images, np.ndarray) or images.ndim != 4 or len(images) == 0:
        return images
    return tf.data.Dataset.from_tensor_slices((images, np.zeros(len(images), "int64"))).batch(2)


def _kept(function, value) -> bool:
    """False for valid, expensive values (a demo folder of millions of images)."""
    if function is image_folders.write_demo_folder:
        return not (isinstance(value, int) and not isinstance(value, bool) and value > 0)
    if function is audio.log_mels and isinstance(value, int) and not isinstance(value, bool):
        return not (2 <= value <= 3000)
    return True


@pytest.mark.parametrize("function, build, strategy", [pytest.param(f, b, s, id=i) for i, f, b, s in TABLE])
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_new_modules_give_a_result_or_a_clear_tlcourse_error(function, build, strategy, data, tmp_path,
                                                              monkeypatch):
    value = data.draw(strategy)
    if not _kept(function, value):
        return
    monkeypatch.setenv("TLCOURSE_FEATURES_DIR", str(tmp_path))
    args, kwargs = build(value)
    try:
        result = _call(function, args, kwargs)
    except Hang:
        pytest.fail(f"no answer within {TIME_LIMIT_S} s for {value!r:.80}")
    except CLEAR_ERRORS as error:
        assert raised_in_tlcourse(error), f"{value!r:.80} → {type(error).__name__} from outside tlcourse: {error}"
        return
    except Exception as error:  # noqa: BLE001 - any other error type is the defect to report
        pytest.fail(f"{value!r:.80} → {type(error).__name__}: {error}")
    numbers = result.values() if isinstance(result, dict) else [result]
    for number in numbers:
        if isinstance(number, (float, np.floating, np.ndarray)):
            assert not np.isnan(np.asarray(number, dtype="float64")).any(), f"{value!r:.80} gave NaN: {result!r:.80}"
