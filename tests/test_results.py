"""JSON result records and the comparison table (``results.py``)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tlcourse.results import format_table, load_result, result_path, save_result


@pytest.fixture(autouse=True)
def results_in_tmp(monkeypatch, tmp_path):
    """Write every record under a temporary folder, never into the course's results/."""
    monkeypatch.setenv("TLCOURSE_RESULTS_DIR", str(tmp_path))
    return tmp_path


def test_result_path_is_per_profile(results_in_tmp):
    assert result_path("02_scratch_cnn", "smoke") == results_in_tmp / "smoke" / "02_scratch_cnn.json"
    assert result_path("02_scratch_cnn", "quick") != result_path("02_scratch_cnn", "smoke")


def test_save_and_load_round_trip(results_in_tmp):
    path = save_result("03_frozen-head", "smoke", test_accuracy=0.5, epochs=3, backbone="MobileNetV2",
                       history={"loss": [2.0, 1.5]}, note=None, ok=True)
    assert path == results_in_tmp / "smoke" / "03_frozen-head.json"
    assert path.is_file()
    record = load_result("03_frozen-head", "smoke")
    assert record["name"] == "03_frozen-head" and record["profile"] == "smoke"
    assert record["test_accuracy"] == 0.5 and record["epochs"] == 3
    assert record["backbone"] == "MobileNetV2" and record["history"] == {"loss": [2.0, 1.5]}
    assert record["note"] is None and record["ok"] is True
    assert isinstance(record["saved"], str) and "T" in record["saved"]


def test_numpy_values_are_converted(results_in_tmp):
    save_result("numpy", "smoke", accuracy=np.float32(0.25), count=np.int64(7), flag=np.bool_(True),
                curve=np.array([1.0, 2.0]), nested={"a": (np.float64(1.5), np.int32(2))},
                shape=(None, 5))
    record = load_result("numpy", "smoke")
    assert record["accuracy"] == 0.25 and isinstance(record["accuracy"], float)
    assert record["count"] == 7 and isinstance(record["count"], int)
    assert record["flag"] is True
    assert record["curve"] == [1.0, 2.0]
    assert record["nested"] == {"a": [1.5, 2]}
    assert record["shape"] == [None, 5]


def test_saving_again_overwrites_and_profiles_stay_apart():
    save_result("exp", "smoke", test_accuracy=0.1)
    save_result("exp", "smoke", test_accuracy=0.2)
    save_result("exp", "quick", test_accuracy=0.9)
    assert load_result("exp", "smoke")["test_accuracy"] == 0.2
    assert load_result("exp", "quick")["test_accuracy"] == 0.9


def test_a_value_json_cannot_hold_raises_a_clear_error(results_in_tmp):
    with pytest.raises(ValueError, match="Cannot store set"):
        save_result("bad_value", "smoke", classes={1, 2})
    assert not (results_in_tmp / "smoke" / "bad_value.json").exists()


@pytest.mark.parametrize("name", ["Has Capitals", "with space", "../escape", "a/b", "", "-leading", "x.json"])
def test_bad_names_raise(name):
    with pytest.raises(ValueError, match="lowercase letters"):
        save_result(name, "smoke", test_accuracy=1.0)
    with pytest.raises(ValueError, match="lowercase letters"):
        load_result(name, "smoke")


def test_missing_record_is_none(results_in_tmp):
    assert load_result("never_saved", "smoke") is None
    assert not (results_in_tmp / "smoke").exists(), "loading must not create folders"


def test_corrupt_json_raises_value_error_naming_the_fix(results_in_tmp):
    path = results_in_tmp / "smoke" / "broken.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"test_accuracy": 0.5,')
    with pytest.raises(ValueError) as caught:
        load_result("broken", "smoke")
    message = str(caught.value)
    assert str(path) in message and "Delete it and rerun" in message
    assert isinstance(caught.value.__cause__, json.JSONDecodeError)


def test_saved_file_is_sorted_readable_json(results_in_tmp):
    path = save_result("pretty", "smoke", b=1, a=2)
    text = path.read_text()
    assert text.endswith("\n") and "\n  " in text
    assert list(json.loads(text)) == sorted(json.loads(text))


# --- format_table -----------------------------------------------------------------------------

def test_format_table_docstring_example():
    table = format_table([{"model": "cnn", "accuracy": 0.5}], ["model", "accuracy"])
    assert table == "model  accuracy\ncnn       0.500"


def test_format_table_aligns_numbers_right_and_text_left():
    rows = [{"model": "scratch_cnn", "accuracy": 0.123456, "params": 1200},
            {"model": "frozen", "accuracy": np.float32(0.9), "params": None},
            {"model": "fine", "ok": True}]
    lines = format_table(rows, ["model", "accuracy", "params", "ok"]).split("\n")
    assert len(lines) == 4
    assert lines[0].split() == ["model", "accuracy", "params", "ok"]
    assert lines[1].split() == ["scratch_cnn", "0.123", "1200", "—"]
    assert lines[2].split() == ["frozen", "0.900", "—", "—"], "NumPy floats get 3 decimals too"
    assert lines[3].split() == ["fine", "—", "—", "True"]
    # numbers are right-aligned: they end in the same column as their header
    header_end = lines[0].index("accuracy") + len("accuracy")
    assert lines[1].index("0.123") + 5 == header_end == lines[2].index("0.900") + 5
    assert lines[1].index("1200") + 4 == lines[0].index("params") + len("params")
    # text is left-aligned: it starts where its header starts
    assert lines[1].startswith("scratch_cnn") and lines[3].startswith("fine ")
    assert lines[2].index("—") == lines[0].index("params")


def test_format_table_of_no_rows_is_the_header_and_says_so():
    assert format_table([], ["model", "accuracy"]) == "model  accuracy\n(no rows)"


def test_unknown_profile_and_reserved_fields_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("TLCOURSE_RESULTS_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="settings.name"):
        save_result("x", "../elsewhere", test_accuracy=0.5)
    with pytest.raises(ValueError, match="saved"):
        save_result("x", "smoke", saved="yesterday")
    assert not any(tmp_path.rglob("*.json"))


def test_record_that_is_not_a_dict_raises(tmp_path, monkeypatch):
    monkeypatch.setenv("TLCOURSE_RESULTS_DIR", str(tmp_path))
    (tmp_path / "smoke").mkdir()
    (tmp_path / "smoke" / "listy.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a record"):
        load_result("listy", "smoke")


def test_tensor_values_are_stored_as_numbers(tmp_path, monkeypatch):
    import keras

    monkeypatch.setenv("TLCOURSE_RESULTS_DIR", str(tmp_path))
    save_result("tensors", "smoke", mean=keras.ops.mean(keras.ops.ones((3,))))
    assert load_result("tensors", "smoke")["mean"] == 1.0


# --- compare_recipes: the stats rule per x value ------------------------------------------------

def _sweep_rows(first_scores, second_scores, x=3):
    return [{"method": method, "labels_per_class": x, "seed": seed, "test_accuracy": score}
            for method, scores in (("frozen", first_scores), ("scratch", second_scores))
            for seed, score in enumerate(scores)]


def test_compare_recipes_pairs_by_seed_and_uses_the_stats_rule():
    from tlcourse.results import compare_recipes
    from tlcourse.stats import compare_seeds
    rows = _sweep_rows((0.70, 0.74, 0.72), (0.50, 0.52, 0.55)) + _sweep_rows((0.5,), (0.6,), x=10)
    verdicts = compare_recipes(list(reversed(rows)), "frozen", "scratch")  # row order must not matter
    assert list(verdicts) == [3, 10]
    assert verdicts[3] == compare_seeds([0.70, 0.74, 0.72], [0.50, 0.52, 0.55], ("frozen", "scratch"))
    assert verdicts[3].winner == "frozen" and not verdicts[10].decided  # one seed: no verdict


def test_compare_recipes_rejects_unknown_method_and_unpaired_seeds():
    from tlcourse.results import compare_recipes
    with pytest.raises(ValueError, match="method='fine-tuned'"):
        compare_recipes(_sweep_rows((0.7,), (0.6,)), "fine-tuned", "scratch")
    rows = _sweep_rows((0.7, 0.8), (0.6, 0.5))
    rows[0]["seed"] = 9  # frozen ran seeds 9 and 1, scratch 0 and 1
    with pytest.raises(ValueError, match="same seeds"):
        compare_recipes(rows, "frozen", "scratch")


def test_compare_recipes_refuses_a_duplicate_seed_and_a_grid_without_overlap():
    from tlcourse.results import compare_recipes

    rows = [{"method": m, "labels_per_class": 3, "seed": s, "test_accuracy": a}
            for m, scores in (("frozen", (0.7, 0.74)), ("scratch", (0.5, 0.52))) for s, a in enumerate(scores)]
    duplicated = rows + [{"method": "frozen", "labels_per_class": 3, "seed": 0, "test_accuracy": 0.1}]
    with pytest.raises(ValueError, match="seed 0 appears twice"):
        compare_recipes(duplicated, "frozen", "scratch")
    apart = [dict(row, labels_per_class=5) if row["method"] == "scratch" else row for row in rows]
    with pytest.raises(ValueError, match="at least one labels_per_class value both ran"):
        compare_recipes(apart, "frozen", "scratch")
    mixed = rows + [dict(row, labels_per_class=None) for row in rows]  # None: every example, as nested_subsets says
    assert list(compare_recipes(mixed, "frozen", "scratch")) == [3, None]


def test_summarize_runs_and_format_summary_sort_every_example_last_as_compare_recipes_does():
    from tlcourse.results import format_summary, summarize_runs
    rows = [{"method": "frozen", "labels_per_class": x, "test_accuracy": 0.5} for x in (None, 10, 5)]
    summary = summarize_runs(rows)  # None: every example, as nested_subsets((5, 10, None)) says
    assert [row["labels_per_class"] for row in summary] == [5, 10, None]
    assert [line.split()[0] for line in format_summary(summary).splitlines()[1:]] == ["5", "10", "all"]
    assert [row["labels_per_class"] for row in summarize_runs(rows + [dict(rows[1], labels_per_class="all")])][-2:] == [
        "all", None]  # a string sorts after the counts, never a raw TypeError


def test_a_reserved_field_is_named_even_when_it_is_name(results_in_tmp):
    with pytest.raises(ValueError, match=r"\['name'\] are filled in by save_result. Fix: "):
        save_result("x", "smoke", name="y")
    with pytest.raises(ValueError, match=r"\['profile'\] are filled in"):
        save_result("x", "smoke", profile="quick")
    assert not any(results_in_tmp.rglob("*.json"))


def test_keys_that_become_the_same_json_key_are_refused(results_in_tmp):
    with pytest.raises(ValueError, match=r"fields\['d'\] has the keys 1 and '1', which both become '1'.*Fix: "):
        save_result("x", "smoke", d={1: 2, "1": 3})
    assert not any(results_in_tmp.rglob("*.json"))


def test_a_dangling_link_at_the_record_path_names_the_link(results_in_tmp):
    link = result_path("x", "smoke")
    link.parent.mkdir(parents=True)
    link.symlink_to(results_in_tmp / "gone" / "x.json")
    with pytest.raises(ValueError, match=r"symbolic link to .*gone.*whose folder does not exist. Fix: delete the link"):
        save_result("x", "smoke", a=1)
