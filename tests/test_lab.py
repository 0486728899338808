"""The shapes lab of notebook 01: the generator, the plumbing, and the claim itself.

The claim test trains a real source model (about half a minute on 2 CPU cores) and checks that
a pretrained base beats training from scratch when only a few labels per class exist — and
that the very same procedure with an *untrained* base shows no such benefit, so the test
would fail if pretraining did not carry over. Set ``TLCOURSE_LAB_TEST_SEED`` to rerun it with
other seeds (the assertions must hold for any).
"""

from __future__ import annotations

import os

import keras
import numpy as np
import pytest

from tlcourse import lab, shapes
from tlcourse.results import format_summary, mean_accuracy, summarize_runs

TEST_SEED = int(os.environ.get("TLCOURSE_LAB_TEST_SEED", "0"))

# Claim test: budgets sized for ~1 minute on 2 CPU cores, margins measured over many seeds.
SOURCE_PER_CLASS = 700
SOURCE_EPOCHS = 5
LABELS_PER_CLASS = 3
SEEDS = [TEST_SEED * 10 + offset for offset in range(3)]
TARGET_STEPS = 80
TEST_PER_CLASS = 50
MARGIN = 0.08  # transfer must beat scratch by 8 points of accuracy (mean over seeds)


# --- shapes.py -------------------------------------------------------------------------------

def test_show_tasks_draws_one_column_per_shape_and_refuses_too_many_rows():
    import matplotlib.pyplot as plt

    figure = shapes.show_tasks(per_class=2, image_size=16)
    titles = [axis.get_title() for axis in figure.axes if axis.get_title()]
    assert len(figure.axes) == 24 and all(axis.images for axis in figure.axes)
    assert titles == [f"source\n{name}" for name in shapes.SOURCE_SHAPES] + [
        f"target\n{name}" for name in shapes.TARGET_SHAPES]
    plt.close(figure)
    with pytest.raises(ValueError, match="per_class"):
        shapes.show_tasks(per_class=shapes.MAX_SHOWN_PER_CLASS + 1)


def test_make_shapes_shapes_dtypes_and_balance():
    images, labels = shapes.make_shapes(shapes.SOURCE_SHAPES, per_class=5, image_size=24, seed=1)
    assert images.shape == (30, 24, 24, 3) and images.dtype == np.uint8
    assert labels.shape == (30,) and labels.dtype == np.int32
    assert np.bincount(labels).tolist() == [5] * 6
    assert labels.tolist() != sorted(labels.tolist()), "labels should come shuffled"
    assert images.std() > 20, "images should not be blank"


def test_make_shapes_is_deterministic_per_seed():
    first = shapes.make_shapes(shapes.TARGET_SHAPES, per_class=4, seed=7)
    again = shapes.make_shapes(shapes.TARGET_SHAPES, per_class=4, seed=7)
    other = shapes.make_shapes(shapes.TARGET_SHAPES, per_class=4, seed=8)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], other[0])


def test_source_and_target_shapes_are_disjoint_and_known():
    assert len(shapes.SOURCE_SHAPES) == len(shapes.TARGET_SHAPES) == 6
    assert not set(shapes.SOURCE_SHAPES) & set(shapes.TARGET_SHAPES)
    assert set(shapes.SOURCE_SHAPES) | set(shapes.TARGET_SHAPES) <= set(shapes.SHAPES)
    assert len(shapes.SHAPES) >= 12


@pytest.mark.parametrize("name", sorted(shapes.SHAPES))
def test_every_shape_draws_a_visible_distinct_mask(name):
    u, v = np.meshgrid(np.linspace(-1, 1, 41), np.linspace(-1, 1, 41))
    mask = shapes.SHAPES[name](u[None], v[None])[0]
    assert 0.1 < mask.mean() < 0.8, f"{name} covers {mask.mean():.2f} of its box"
    for other, function in shapes.SHAPES.items():
        if other != name:
            assert (function(u[None], v[None])[0] != mask).mean() > 0.03, f"{name} looks like {other}"


def test_test_set_is_drawn_apart_from_training_images():
    data = lab.make_target_data(5, seed=0, test_per_class=5)
    assert isinstance(data, lab.TargetData) and data.x_pool.shape == (30, 32, 32, 3)
    train_bytes = {image.tobytes() for image in data.x_pool}
    assert not any(image.tobytes() in train_bytes for image in data.x_test)


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        ((["circle", "dodecahedron"], 3), "dodecahedron"),
        (("circle", 3), "single string"),
        (([], 3), "non-empty"),
        ((["circle", "circle"], 3), "repeats"),
        ((["circle"], 0), "per_class=0"),
        ((["circle"], 2.5), "per_class=2.5"),
        ((["circle"], 3, 32, -1), "seed=-1"),
    ],
)
def test_make_shapes_rejects_bad_input_with_a_helpful_message(arguments, fragment):
    with pytest.raises((TypeError, ValueError), match=fragment) as error:
        shapes.make_shapes(*arguments)
    assert "expected" in str(error.value)


def test_make_shapes_rejects_tiny_images():
    with pytest.raises(ValueError, match=r"image_size=8 is too small.*>= 16"):
        shapes.make_shapes(shapes.SOURCE_SHAPES, per_class=1, image_size=8)


def test_make_shapes_refuses_a_huge_request_before_allocating():
    with pytest.raises(ValueError, match=r"too many.*100,000 images"):
        shapes.make_shapes(shapes.SOURCE_SHAPES, per_class=20_000)
    with pytest.raises(ValueError, match="pixels"):
        shapes.make_shapes(["circle"], per_class=10_000, image_size=256)


# --- lab.py plumbing ---------------------------------------------------------------------------

def test_take_per_class_is_nested_and_balanced():
    _, labels = shapes.make_shapes(shapes.TARGET_SHAPES, per_class=10, seed=3)
    indices = np.arange(len(labels))
    small, small_labels = lab.take_per_class(indices, labels, 2)
    large, _ = lab.take_per_class(indices, labels, 5)
    assert np.bincount(small_labels).tolist() == [2] * 6
    assert set(small) <= set(large)


def test_cnn_has_a_pooled_base_and_logits_head():
    model = lab.build_cnn(num_classes=6, image_size=32, seed=0)
    base = model.get_layer("base")
    assert base.layers[-1].__class__.__name__ == "GlobalAveragePooling2D"
    assert model.output_shape == (None, 6)
    assert model.layers[-1].get_config()["activation"] == "linear", "the head must output logits"
    assert not any("BatchNormalization" in layer.__class__.__name__ for layer in base.layers)


def test_copy_base_is_independent():
    base = lab.build_base(32, seed=0)
    copy = lab.copy_base(base)
    copy.set_weights([weight + 1 for weight in copy.get_weights()])
    assert not np.array_equal(copy.get_weights()[0], base.get_weights()[0])


def test_same_seed_same_weights_without_touching_global_random_state():
    keras.utils.set_random_seed(1)
    first = lab.build_cnn(6, seed=3).get_weights()
    keras.utils.set_random_seed(2)
    state = np.random.get_state()[1].copy()
    again = lab.build_cnn(6, seed=3).get_weights()
    assert np.array_equal(state, np.random.get_state()[1]), "build_cnn must not reseed NumPy"
    assert all(np.array_equal(a, b) for a, b in zip(first, again)), "same seed, same weights"
    other = lab.build_cnn(6, seed=4).get_weights()
    assert not np.array_equal(first[0], other[0]), "another seed, other weights"


def test_step_budget_grows_with_labels_and_has_a_floor():
    assert lab.step_budget(1, epochs=10, min_steps=100) == 100
    assert lab.step_budget(300, epochs=10, min_steps=100) == 563  # ceil(10 * 1800 / 32)
    with pytest.raises(ValueError, match="min_steps=0"):
        lab.step_budget(3, epochs=10, min_steps=0)


@pytest.fixture(scope="module")
def tiny():
    data = lab.make_target_data(1, seed=0, test_per_class=1, image_size=16)
    return {"base": lab.build_base(16, filters=(4, 4)), "data": data,
            "arrays": dict(x_train=data.x_pool, y_train=data.y_pool, x_test=data.x_test, y_test=data.y_test)}


@pytest.mark.parametrize(
    ("overrides", "error", "fragment"),
    [
        ({"method": "pretrained"}, ValueError, "method='pretrained' is not a valid choice"),
        ({"steps": 0}, ValueError, "steps=0 is too small"),
        ({"steps": -5}, ValueError, "steps=-5 is too small"),
        ({"steps": 2.5}, TypeError, "steps=2.5 is a float"),
        ({"method": "fine-tuned", "steps": 1}, ValueError, "two phases"),
        ({"seed": -1}, ValueError, "seed=-1"),
        ({"batch_size": 0}, ValueError, "batch_size=0"),
        ({"learning_rate": 0}, ValueError, "learning_rate=0"),
        ({"learning_rate": float("nan")}, ValueError, "not finite"),
        ({"learning_rate": "1e-3"}, TypeError, "learning_rate='1e-3' is a str"),
        ({"details": "no"}, TypeError, "details='no'"),
        ({"y_test": "half"}, ValueError, "one label per image"),
        ({"x_test": lambda arrays: arrays["x_test"][:0]}, ValueError, "x_test"),
        ({"y_test": lambda arrays: arrays["y_test"] + 0.5}, TypeError, r"y_test\)\[1\].*float64.*Fix: pass x_test"),
        ({"y_train": lambda arrays: arrays["y_train"] + 6}, ValueError, "train"),
        ({"x_test": lambda arrays: arrays["x_test"] / 255.0}, ValueError, "test"),
        ({"x_train": lambda arrays: arrays["x_train"] * np.nan}, ValueError, "train"),
    ],
)
def test_train_target_rejects_bad_arguments_before_training(tiny, monkeypatch, overrides, error, fragment):
    monkeypatch.setattr(keras.Model, "fit", lambda *args, **kwargs: pytest.fail("trained before checking"))
    arrays = dict(tiny["arrays"])
    if overrides.get("y_test") == "half":
        overrides = {"y_test": arrays["y_test"][: len(arrays["y_test"]) // 2]}
    overrides = {key: value(arrays) if callable(value) else value for key, value in overrides.items()}
    arguments = {"method": "frozen", "steps": 1, **arrays, **overrides}
    method = arguments.pop("method")
    with pytest.raises(error, match=fragment):
        lab.train_target(method, tiny["base"], **arguments)


@pytest.mark.parametrize(
    ("overrides", "error", "fragment"),
    [
        ({"labels_per_class": "1, 3"}, TypeError, r"labels_per_class='1, 3' is a str.*list"),
        ({"labels_per_class": 3}, TypeError, "labels_per_class=3 is a int"),
        ({"labels_per_class": [0, 3]}, ValueError, r"labels_per_class\[0\]=0"),
        ({"labels_per_class": []}, ValueError, "is empty"),
        ({"seeds": "012"}, TypeError, "seeds='012' is a str"),
        ({"seeds": [0, -1]}, ValueError, r"seeds\[1\]=-1"),
        ({"methods": ("frozen", "pretrained")}, ValueError, r"methods\[1\]='pretrained'"),
        ({"methods": "frozen"}, TypeError, r"methods='frozen' is a str.*\['frozen'\]"),
        ({"methods": ()}, ValueError, r"methods=\(\) is empty"),
        ({"steps": 0}, ValueError, "steps=0"),
        ({"steps": 1, "methods": ("scratch", "fine-tuned")}, ValueError, "two phases"),
        ({"steps": {1: 10}}, ValueError, r"no budget for labels_per_class \[3\]"),
        ({"steps": {1: 10, 3: 0}}, ValueError, "steps=0"),
        ({"batch_size": -1}, ValueError, "batch_size=-1"),
        ({"test_per_class": 0}, ValueError, "test_per_class=0"),
        ({"labels_per_class": [1, 20_000]}, ValueError, "100,000 images"),
        ({"labels_per_class": [3, 1, 3]}, ValueError, r"repeats \[3\]"),
        ({"seeds": [0, 0]}, ValueError, r"seeds=\[0, 0\] repeats \[0\]"),
    ],
)
def test_run_sweep_rejects_bad_arguments_before_any_training(tiny, monkeypatch, overrides, error, fragment):
    monkeypatch.setattr(lab, "train_target", lambda *args, **kwargs: pytest.fail("trained before checking"))
    arguments = {"labels_per_class": [1, 3], "seeds": [0], "steps": 10, "methods": ("frozen",), **overrides}
    with pytest.raises(error, match=fragment):
        lab.run_sweep(tiny["base"], arguments.pop("labels_per_class"), arguments.pop("seeds"), **arguments)


def test_run_sweep_rejects_a_base_without_pooling():
    inputs = keras.Input((16, 16, 3))
    feature_maps = keras.Model(inputs, keras.layers.Conv2D(4, 3)(inputs))
    with pytest.raises(ValueError, match=r"feature vectors.*global average pooling"):
        lab.run_sweep(feature_maps, [1], [0], steps=1)


def test_validation_and_test_images_are_apart_from_each_other_and_from_training_pools():
    x_val, y_val = lab.make_validation_data(4)
    x_test, y_test = lab.make_test_data(4)
    assert x_val.shape == x_test.shape == (24, 32, 32, 3) and np.bincount(y_val).tolist() == [4] * 6
    assert np.array_equal(x_test, lab.make_target_data(1, seed=0, test_per_class=4).x_test), "the lab's fixed test set"
    pools = {image.tobytes() for seed in range(3) for image in lab.make_target_data(4, seed=seed, test_per_class=1).x_pool}
    val_bytes = {image.tobytes() for image in x_val}
    assert not val_bytes & {image.tobytes() for image in x_test}, "validation and test share an image"
    assert not val_bytes & pools, "a validation image is also a training image"


def test_run_sweep_scores_on_the_set_it_is_given(tiny, monkeypatch):
    """Mechanics: each run is scored on the set passed, the row's key names it, and the training images stay the same."""
    base = tiny["base"]
    x_val, y_val = lab.make_validation_data(1, image_size=16)
    arguments = dict(steps=1, methods=["frozen"], batch_size=4, verbose=False)
    seen = []
    train_target = lab.train_target

    def spy(*args, **kwargs):
        seen.append((kwargs["x_train"], kwargs["x_test"]))
        return train_target(*args, **kwargs)

    monkeypatch.setattr(lab, "train_target", spy)
    on_validation = lab.run_sweep(base, [1], [0], validation=(x_val, y_val), **arguments)
    on_test = lab.run_sweep(base, [1], [0], test=lab.make_test_data(1, image_size=16), **arguments)
    default = lab.run_sweep(base, [1], [0], test_per_class=1, **arguments)
    assert set(on_validation[0]) == {"method", "labels_per_class", "seed", "steps", "val_accuracy", "train_seconds"}
    assert "test_accuracy" in on_test[0] and "val_accuracy" not in on_test[0]
    assert np.array_equal(seen[0][1], x_val), "the validation run was scored on the validation images"
    assert np.array_equal(seen[1][1], seen[2][1]), "test=make_test_data(n) is the default fixed test set"
    assert all(np.array_equal(seen[0][0], x_train) for x_train, _ in seen[1:]), "the same labelled images every time"
    assert on_test[0]["test_accuracy"] == pytest.approx(default[0]["test_accuracy"])


def test_run_sweep_rows_time_each_run_and_score_it_on_its_own_training_images(tiny):
    """Notebook 01's three advantages read each run's training seconds and its train − test gap from the rows."""
    rows = lab.run_sweep(tiny["base"], [1, 2], [0], steps=2, methods=["scratch", "frozen"], batch_size=4,
                         test_per_class=1, verbose=False, score_train=True)
    assert len(rows) == 4
    for row in rows:
        assert row["train_seconds"] > 0, row
        assert 0 <= row["train_accuracy"] <= 1 and 0 <= row["test_accuracy"] <= 1, row
    data = lab.make_target_data(1, seed=0, test_per_class=1, image_size=16)
    run = lab.train_target("frozen", tiny["base"], x_train=data.x_pool, y_train=data.y_pool, x_test=data.x_test,
                           y_test=data.y_test, steps=1, batch_size=4, details=True)
    correct = run.train_accuracy * len(data.y_pool)  # a share of the run's own training images
    assert isinstance(run, lab.TargetRun) and run.train_seconds > 0 and correct == pytest.approx(round(correct))
    unscored = lab.run_sweep(tiny["base"], [1], [0], steps=1, methods=["frozen"], batch_size=4, test_per_class=1,
                             verbose=False)  # no extra pass over the training images unless asked
    assert "train_accuracy" not in unscored[0] and unscored[0]["train_seconds"] > 0


@pytest.mark.parametrize(
    ("overrides", "error", "fragment"),
    [
        ({"validation": "images"}, TypeError, r"validation='images' is not a pair"),
        ({"validation": (np.zeros((2, 32, 32, 3)), np.zeros(2))}, ValueError, r"shape \(2, 32, 32, 3\).*\(N, 16, 16, 3\)"),
        ({"test": (np.zeros((2, 16, 16, 3)), np.zeros(3))}, ValueError, "one label per image"),
        ({"validation": (np.zeros((0, 16, 16, 3)), np.zeros(0))}, ValueError, "empty"),
        ({"validation": (np.zeros((1, 16, 16, 3)), np.zeros(1)), "test": (np.zeros((1, 16, 16, 3)), np.zeros(1))},
         ValueError, "both validation and test"),
    ],
)
def test_run_sweep_rejects_a_bad_scoring_set_before_training(tiny, monkeypatch, overrides, error, fragment):
    monkeypatch.setattr(lab, "train_target", lambda *args, **kwargs: pytest.fail("trained before checking"))
    with pytest.raises(error, match=fragment):
        lab.run_sweep(tiny["base"], [1], [0], steps=1, methods=["frozen"], **overrides)


@pytest.mark.parametrize(
    ("call", "error", "fragment"),
    [
        (lambda: lab.build_base(8), ValueError, r"image_size=8 is too small.*>= 16.*4 max-poolings"),
        (lambda: lab.build_base(31, filters=(8,) * 5), ValueError, r"image_size=31.*>= 32"),
        (lambda: lab.build_base(32, seed=-1), ValueError, "seed=-1"),
        (lambda: lab.build_base(32, filters="16"), TypeError, "filters='16' is a str"),
        (lambda: lab.build_classifier(lab.build_base(16, filters=(4,)), 1), ValueError,
         "num_classes=1 is too small.*at least two classes"),
        (lambda: lab.build_classifier("base", 6), TypeError, "base='base' is a str"),
        (lambda: lab.train_source(0, 1), ValueError, "per_class=0"),
        (lambda: lab.train_source(10, 0), ValueError, "epochs=0"),
        (lambda: lab.train_source(20_000, 1), ValueError, "100,000 images"),
        (lambda: lab.train_source(10, 1, learning_rate=-1.0), ValueError, "learning_rate=-1.0"),
        (lambda: lab.make_target_data(0, seed=0), ValueError, "labels_per_class=0"),
        (lambda: lab.make_target_data("3", seed=0), TypeError, "labels_per_class='3' is a str"),
        (lambda: lab.make_validation_data(0), ValueError, "per_class=0"),
        (lambda: lab.make_test_data(2.5), TypeError, "per_class=2.5 is a float"),
        (lambda: lab.take_per_class(np.arange(3), np.arange(2), 1), ValueError, "one label per image"),
        (lambda: lab.repeat_dataset(np.zeros((0, 16, 16, 3)), np.zeros(0), batch_size=2), ValueError, "empty"),
    ],
)
def test_builders_and_helpers_reject_bad_arguments(call, error, fragment):
    with pytest.raises(error, match=fragment):
        call()


def test_summarise_and_table():
    rows = [{"method": method, "labels_per_class": 3, "seed": seed, "test_accuracy": accuracy}
            for method, seed, accuracy in [("frozen", 0, 0.5), ("frozen", 1, 0.7), ("scratch", 0, 0.2)]]
    summary = summarize_runs(rows)
    assert [row["method"] for row in summary] == ["frozen", "scratch"], "methods in order of first appearance"
    assert mean_accuracy(summary, "frozen", 3) == pytest.approx(0.6)
    assert summary[0]["std"] == pytest.approx(np.std([0.5, 0.7], ddof=1))
    assert "60.0 ± 14.1 %" in format_summary(summary)
    with pytest.raises(ValueError, match="labels_per_class=30"):
        mean_accuracy(summary, "frozen", 30)


# --- the claim -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def source_base():
    model = lab.train_source(SOURCE_PER_CLASS, SOURCE_EPOCHS, seed=TEST_SEED)
    accuracy = lab.source_accuracy(model, per_class=50)
    print(f"source accuracy {accuracy:.3f}")
    assert accuracy > 0.6, f"the source model learned too little ({accuracy:.2f}) to test transfer"
    return model.get_layer("base")


def sweep_means(base, methods) -> dict[str, float]:
    rows = lab.run_sweep(base, [LABELS_PER_CLASS], SEEDS, steps=TARGET_STEPS,
                         test_per_class=TEST_PER_CLASS, methods=methods, verbose=False)
    summary = summarize_runs(rows)
    return {method: mean_accuracy(summary, method, LABELS_PER_CLASS) for method in methods}


def test_pretrained_base_beats_scratch_and_an_untrained_base_does_not(source_base):
    pretrained = sweep_means(source_base, lab.METHODS)
    untrained = sweep_means(lab.build_base(32, seed=TEST_SEED + 1), ("frozen", "fine-tuned"))
    scratch = pretrained["scratch"]
    report = (f"{LABELS_PER_CLASS} labels/class, mean over seeds {SEEDS}: scratch {scratch:.3f}; "
              f"pretrained base frozen {pretrained['frozen']:.3f}, fine-tuned "
              f"{pretrained['fine-tuned']:.3f}; untrained base frozen {untrained['frozen']:.3f}, "
              f"fine-tuned {untrained['fine-tuned']:.3f}")
    print(report)
    assert pretrained["frozen"] >= scratch + MARGIN, report
    assert pretrained["fine-tuned"] >= scratch + MARGIN, report
    assert max(untrained.values()) < scratch + MARGIN, report


@pytest.mark.parametrize("profile", ["smoke", "quick", "full"])
def test_every_profile_gives_notebook_01_a_verdict_and_a_sweep_budget_for_its_main_comparison(profile):
    import tlcourse

    lab_settings = tlcourse.get_settings(profile).lab
    assert lab_settings.seeds >= 2, "stats.compare_seeds gives no verdict from one seed"
    assert lab_settings.few_labels in lab_settings.labels_per_class, (
        "notebook 01's deep dives read the main budget from the sweep: few_labels must be one of labels_per_class")


def test_run_sweep_refuses_bad_validation_labels_and_pixels_before_training():
    """Labels out of range raised a raw TensorFlow error mid-sweep; 0.5 labels or 0–1 images scored silently."""
    base = lab.build_base(32)
    x_val, y_val = lab.make_validation_data(1)
    for pair, error, fragment in [((x_val, y_val + 10), ValueError, "outside 0…5"),
                                  ((x_val, y_val + 0.5), TypeError, "float64"),
                                  ((x_val / 255, y_val), ValueError, "0–255"),
                                  ((np.full(x_val.shape, np.nan), y_val), ValueError, "NaN")]:
        with pytest.raises(error, match=fragment):
            lab.run_sweep(base, [1], [0], steps=1, methods=["frozen"], validation=pair, verbose=False)
    from tlcourse.stats import TestSet
    with pytest.raises(TypeError, match=r"\.read"):
        lab.run_sweep(base, [1], [0], steps=1, methods=["frozen"], test=TestSet(lab.make_test_data(1)), verbose=False)


def test_a_sweep_seed_that_would_train_on_held_out_images_is_refused():
    base = lab.build_base(32)
    for seed, held_out in ((lab.TARGET_TEST_SEED - lab.TARGET_TRAIN_SEED, "test"),
                           (lab.TARGET_VALIDATION_SEED - lab.TARGET_TRAIN_SEED, "validation")):
        with pytest.raises(ValueError, match=f"are the {held_out} images"):
            lab.run_sweep(base, [1], [0, seed], steps=1)
