"""Property test: generated bad values, fed to every public function, give a result or a clear error.

For each entry of ``TABLE`` — a function and a builder that puts the generated value into one of
its arguments, the others valid — hypothesis tries a handful of values (None, booleans, negative,
zero and huge integers, NaN and infinite floats, strings, lists, dicts, arrays of the wrong rank,
things that are not models). Each call must, within ``TIME_LIMIT_S``, either return or raise a
ValueError/TypeError/FileNotFoundError/DownloadError from a tlcourse check (see
``boundary.raised_in_tlcourse``). Lazy datasets are iterated a little so their errors surface.

Adding a function (e.g. from ``tlcourse.lab`` or ``tlcourse.shapes``) is one line in ``TABLE``.
"""

from __future__ import annotations

import signal
import traceback

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from keras import layers

from boundary import CLEAR_ERRORS, raised_in_tlcourse
from tlcourse import (data, downloads, features, image_folders, lab, models, plots, prefetch, results, shapes,
                      training)
from tlcourse import settings as course_settings

TIME_LIMIT_S = 20  # per call; a hang (e.g. a download that never ends) fails instead of blocking
MAX_EXAMPLES = 8

IMAGES = np.random.default_rng(0).integers(0, 255, (6, 8, 8, 3)).astype("uint8")
LABELS = np.array([0, 1, 2] * 2)
DS = tf.data.Dataset.from_tensor_slices((IMAGES, LABELS))
BATCHED = tf.data.Dataset.from_tensor_slices((IMAGES.astype("float32"), LABELS)).batch(3)
MODEL = keras.Sequential([keras.Input((8, 8, 3)), layers.Flatten(), layers.Dense(3)])
MODEL.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
HISTORY = {"accuracy": [0.5, 0.6], "loss": [1.0, 0.9]}
ROWS = [{"method": "frozen", "labels_per_class": 3, "test_accuracy": 0.5}]
SUMMARY = results.summarize_runs(ROWS)
SEED_ROWS = [{"method": method, "labels_per_class": 3, "seed": seed, "test_accuracy": 0.5}
             for method in ("frozen", "scratch") for seed in (0, 1)]
LAB_BASE = lab.build_base(16, seed=0, filters=(4, 4))
LAB_DATA = {"x_train": np.zeros((6, 16, 16, 3), "uint8"), "y_train": np.arange(6), "x_test": np.zeros(
    (6, 16, 16, 3), "uint8"), "y_test": np.arange(6)}
FEATURE_BASE = keras.Sequential([keras.Input((8, 8, 3)), layers.Conv2D(2, 3)])


class NotAModel:
    layers = []
    trainable = True


BAD_VALUES = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-10**12, max_value=10**12), st.sampled_from([0, -1, 10**18]),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([float("nan"), float("inf"), 0.5]),
    st.text(max_size=6), st.lists(st.integers(-3, 3), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from([np.zeros(()), np.zeros((2,)), np.zeros((2, 2)), np.zeros((1, 2, 2, 2, 3))]),
    st.builds(NotAModel), st.just(DS), st.just(BATCHED),
)


def _whole(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def tiny_ints_only(value) -> bool:
    """False for whole numbers above 3: valid step budgets and counts that would train for long."""
    return not (_whole(value) and value > 3)


def not_a_valid_drawing(value) -> bool:
    """False for valid image counts/sizes that draw many images (slow, not a bad value)."""
    return not (_whole(value) and 64 < value <= 100_000)


def small_ints_only(value) -> bool:
    """False for whole numbers large enough to build a model or download (slow, not a bad value)."""
    return not (isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 32)


# (id, function, builder: value -> (args, kwargs), keep: value -> bool)
TABLE = [
    ("get_dataset_spec", data.get_dataset_spec, lambda v: ((v,), {}), None),
    ("split_by_index.ds", data.split_by_index, lambda v: ((v,), {}), None),
    ("split_by_index.fractions", data.split_by_index, lambda v: ((DS, v), {}), None),
    ("take_per_class.ds", data.take_per_class, lambda v: ((v, 2, 3), {}), None),
    ("take_per_class.examples_per_class", data.take_per_class, lambda v: ((DS, v, 3), {}), None),
    ("take_per_class.num_classes", data.take_per_class, lambda v: ((DS, 2, v), {}), None),
    ("prepare.ds", data.prepare, lambda v: ((v, 8, 4), {}), None),
    ("prepare.image_size", data.prepare, lambda v: ((DS, v, 4), {}), small_ints_only),
    ("prepare.batch_size", data.prepare, lambda v: ((DS, 8, v), {}), None),
    ("prepare.seed", data.prepare, lambda v: ((DS, 8, 4), {"shuffle": True, "seed": v}), None),
    ("class_counts.ds", data.class_counts, lambda v: ((v, 3), {}), None),
    ("class_counts.num_classes", data.class_counts, lambda v: ((BATCHED, v), {}), None),
    ("count_examples", data.count_examples, lambda v: ((v,), {}), None),
    ("load_splits.settings", data.load_splits, lambda v: (("tf_flowers", v), {}), None),
    ("get_backbone", models.get_backbone, lambda v: ((v,), {}), None),
    ("build_backbone.image_size", models.build_backbone, lambda v: (("MobileNetV2", v), {"weights": None}),
     small_ints_only),
    ("build_classifier.num_classes", models.build_classifier, lambda v: (("MobileNetV2", v, 32),
                                                                         {"weights": None}), small_ints_only),
    ("build_classifier.dropout", models.build_classifier, lambda v: (("MobileNetV2", 3, 32),
                                                                     {"weights": None, "dropout": v}), None),
    ("freeze", models.freeze, lambda v: ((v,), {}), None),
    ("unfreeze_top.model", models.unfreeze_top, lambda v: ((v, 1), {}), None),
    ("unfreeze_top.num_layers", models.unfreeze_top, lambda v: ((MODEL, v), {}), None),
    ("count_params", models.count_params, lambda v: ((v,), {}), None),
    ("merge_histories", training.merge_histories, lambda v: ((HISTORY, v), {}), None),
    ("predict_labels.model", training.predict_labels, lambda v: ((v, BATCHED), {}), None),
    ("predict_labels.ds", training.predict_labels, lambda v: ((MODEL, v), {}), None),
    ("evaluate.test_ds", training.evaluate, lambda v: ((MODEL, v), {}), None),
    ("result_path.name", results.result_path, lambda v: ((v, "smoke"), {}), None),
    ("result_path.profile", results.result_path, lambda v: (("x", v), {}), None),
    ("save_result.field", results.save_result, lambda v: (("prop_test", "smoke"), {"value": v}), None),
    ("load_result.name", results.load_result, lambda v: ((v, "smoke"), {}), None),
    ("format_table.rows", results.format_table, lambda v: ((v, ["a"]), {}), None),
    ("compare_recipes.rows", results.compare_recipes, lambda v: ((v, "frozen", "scratch"), {}), None),
    ("compare_recipes.first", results.compare_recipes, lambda v: ((SEED_ROWS, v, "scratch"), {}), None),
    ("plot_paired_differences.differences", plots.plot_paired_differences, lambda v: ((v, {}), {}), None),
    ("format_table.columns", results.format_table, lambda v: ((ROWS, v), {}), None),
    ("summarize_runs", results.summarize_runs, lambda v: ((v,), {}), None),
    ("summarize_runs.row_value", results.summarize_runs,
     lambda v: (([{**ROWS[0], "test_accuracy": v}],), {}), None),
    ("mean_accuracy", results.mean_accuracy, lambda v: ((v, "frozen", 3), {}), None),
    ("format_summary", results.format_summary, lambda v: ((v,), {}), None),
    ("show_images.images", plots.show_images, lambda v: ((v, [0]), {}), None),
    ("show_images.labels", plots.show_images, lambda v: ((IMAGES, v), {}), None),
    ("show_images.max_images", plots.show_images, lambda v: ((IMAGES, LABELS), {"max_images": v}),
     small_ints_only),
    ("show_images.columns", plots.show_images, lambda v: ((IMAGES, LABELS), {"columns": v}), small_ints_only),
    ("plot_history.history", plots.plot_history, lambda v: ((v,), {}), None),
    ("plot_history.phase_starts", plots.plot_history, lambda v: ((HISTORY, v), {}), None),
    ("plot_history.metrics", plots.plot_history, lambda v: ((HISTORY,), {"metrics": v}), None),
    ("plot_accuracy_vs_labels.summary", plots.plot_accuracy_vs_labels, lambda v: ((v,), {}), None),
    ("plot_accuracy_vs_labels.chance", plots.plot_accuracy_vs_labels, lambda v: ((SUMMARY,), {"chance": v}),
     None),
    ("plot_confusion_matrix.y_true", plots.plot_confusion_matrix, lambda v: ((v, [0, 1], ["a", "b"]), {}),
     None),
    ("plot_confusion_matrix.label_names", plots.plot_confusion_matrix, lambda v: (([0], [0], v), {}), None),
    ("plot_confusion_matrix.normalize", plots.plot_confusion_matrix,
     lambda v: (([0], [0], ["a"]), {"normalize": v}), None),
    ("get_settings", course_settings.get_settings, lambda v: ((v,), {}), None),
    ("require_network.what", downloads.require_network, lambda v: ((v,), {"host": "localhost"}), None),
    ("download_guard.stall_seconds", lambda **kw: downloads.download_guard("x", **kw).__enter__(),
     lambda v: ((), {"stall_seconds": v}), None),
    ("lab.build_base.image_size", lab.build_base, lambda v: ((v,), {"filters": (4, 4)}), small_ints_only),
    ("lab.build_base.seed", lab.build_base, lambda v: ((16,), {"seed": v, "filters": (4, 4)}), None),
    ("lab.build_classifier.base", lab.build_classifier, lambda v: ((v, 6), {}), None),
    ("lab.build_classifier.num_classes", lab.build_classifier, lambda v: ((LAB_BASE, v), {}), small_ints_only),
    ("lab.train_target.method", lab.train_target, lambda v: ((v, LAB_BASE), {**LAB_DATA, "steps": 2}), None),
    ("lab.train_target.steps", lab.train_target, lambda v: (("fine-tuned", LAB_BASE), {**LAB_DATA, "steps": v}),
     tiny_ints_only),
    ("lab.run_sweep.labels_per_class", lab.run_sweep, lambda v: ((LAB_BASE, v, [0]), {
        "steps": 2, "methods": ("frozen",), "test_per_class": 1, "verbose": False}), tiny_ints_only),
    ("lab.run_sweep.methods", lab.run_sweep, lambda v: ((LAB_BASE, [1], [0]), {
        "steps": 2, "methods": v, "test_per_class": 1, "verbose": False}), None),
    ("lab.step_budget", lab.step_budget, lambda v: ((v,), {"epochs": 10, "min_steps": 100}), None),
    ("shapes.make_shapes.shape_names", shapes.make_shapes, lambda v: ((v, 1), {}), None),
    ("shapes.make_shapes.per_class", shapes.make_shapes, lambda v: ((["circle"], v), {}), not_a_valid_drawing),
    ("shapes.make_shapes.image_size", shapes.make_shapes, lambda v: ((["circle"], 1), {"image_size": v}),
     not_a_valid_drawing),
    ("shapes.show_tasks.per_class", shapes.show_tasks, lambda v: ((v,), {}), None),
    ("shapes.show_tasks.image_size", shapes.show_tasks, lambda v: ((1,), {"image_size": v}), not_a_valid_drawing),
    ("features.extract_features.ds", features.extract_features, lambda v: ((FEATURE_BASE, v), {
        "progress": False}), None),
    ("features.extract_features.cache", features.extract_features, lambda v: ((FEATURE_BASE, BATCHED), {
        "cache": v, "progress": False}), None),
    ("features.features_dataset.batch_size", features.features_dataset, lambda v: ((features.CachedFeatures(
        np.zeros((4, 2), "float32"), np.zeros(4, "int64"), 0.0, "computed"), v), {}), None),
    ("image_folders.check_image_folder", image_folders.check_image_folder, lambda v: ((v,), {}), None),
    ("image_folders.load_image_file.path", image_folders.load_image_file, lambda v: ((v, 32), {}), None),
    ("prefetch_dataset", prefetch.prefetch_dataset, lambda v: ((v,), {}), None),
    ("prefetch_weights.image_size", prefetch.prefetch_weights, lambda v: (("MobileNetV2", v), {}),
     lambda v: small_ints_only(v) and not (isinstance(v, int) and not isinstance(v, bool) and 0 < v < 32)
     or v is None),
]


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang()


def _call(function, args, kwargs):
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TIME_LIMIT_S)
    try:
        result = function(*args, **kwargs)
        parts = result if isinstance(result, tuple) else (result,)
        for part in parts:
            if isinstance(part, tf.data.Dataset):  # lazy pipelines fail on iteration
                list(part.take(2))
        return result
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        import matplotlib.pyplot as plt

        plt.close("all")


@pytest.mark.parametrize("function, build, keep", [pytest.param(f, b, k, id=i) for i, f, b, k in TABLE])
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.function_scoped_fixture])
@given(value=BAD_VALUES)
def test_bad_values_give_a_result_or_a_clear_tlcourse_error(function, build, keep, value, tmp_path,
                                                            monkeypatch):
    if keep is not None and not keep(value):
        return  # a valid, expensive value (builds a model or downloads): covered by the unit tests
    monkeypatch.setenv("TLCOURSE_RESULTS_DIR", str(tmp_path))
    args, kwargs = build(value)
    try:
        _call(function, args, kwargs)
    except Hang:
        pytest.fail(f"no answer within {TIME_LIMIT_S} s for {value!r:.80}")
    except CLEAR_ERRORS as error:
        frame = traceback.extract_tb(error.__traceback__)[-1]
        assert raised_in_tlcourse(error), (
            f"{value!r:.80} → {type(error).__name__} from {frame.filename}:{frame.lineno}: {error}")
    except Exception as error:  # noqa: BLE001 - any other error type is the defect to report
        frame = traceback.extract_tb(error.__traceback__)[-1]
        pytest.fail(f"{value!r:.80} → {type(error).__name__} from {frame.filename}:{frame.lineno}: {error}")
