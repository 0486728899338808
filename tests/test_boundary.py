"""Bad input at the edge of tlcourse: every case must stop at once with a clear tlcourse error.

Each entry is one mistake a learner makes (a size as a string, zero labels per class, an
unbatched dataset, a results folder that is a file…). The error must be a ValueError, TypeError,
FileNotFoundError or DownloadError raised by a tlcourse check, not from deep inside TensorFlow,
NumPy or matplotlib. Stalled downloads are tested against a local server on 127.0.0.1 only.
"""

from __future__ import annotations

import errno
import json
import math
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from boundary import assert_clear_error, local_server
from tlcourse import data, downloads, models, plots, prefetch, results, settings, training
from tlcourse.downloads import DownloadError, download_guard

SMOKE = settings.get_settings("smoke")
IMAGES = np.random.default_rng(0).integers(0, 255, (12, 8, 8, 3)).astype("uint8")
LABELS = np.array([0, 1, 2] * 4)
DS = tf.data.Dataset.from_tensor_slices((IMAGES, LABELS))
BATCHED = DS.batch(4)
FLOAT_BATCHED = tf.data.Dataset.from_tensor_slices((IMAGES.astype("float32"), LABELS)).batch(4)
HISTORY = {"accuracy": [0.5, 0.6], "loss": [1.0, 0.9]}
ROWS = [{"method": "frozen", "labels_per_class": 3, "test_accuracy": 0.5}]
SUMMARY = [{"method": "frozen", "labels_per_class": 3, "mean": 0.5, "std": 0.0, "runs": 1}]


@pytest.fixture(scope="module")
def model():
    model = keras.Sequential([keras.Input((8, 8, 3)), layers.Flatten(), layers.Dense(3)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def case(id_, call):
    return pytest.param(call, id=id_)


# One entry per mistake; ``m`` is a tiny compiled Keras model.
CASES = [
    # wrong type
    case("dataset name None", lambda m: data.get_dataset_spec(None)),
    case("fractions a string", lambda m: data.split_by_index(DS, "0.7")),
    case("fractions with a string", lambda m: data.split_by_index(DS, (0.7, "a", 0.3))),
    case("per class a string", lambda m: data.take_per_class(DS, "3", 3)),
    case("per class a float", lambda m: data.take_per_class(DS, 2.0, 3)),
    case("per class a bool", lambda m: data.take_per_class(DS, True, 3)),
    case("num_classes a float", lambda m: data.take_per_class(DS, 2, 2.5)),
    case("image_size a string", lambda m: data.prepare(DS, "96", 16)),
    case("image_size a float", lambda m: data.prepare(DS, 96.0, 16)),
    case("batch_size a bool", lambda m: data.prepare(DS, 8, True)),
    case("shuffle a string", lambda m: data.prepare(DS, 8, 4, shuffle="yes")),
    case("seed a string", lambda m: data.prepare(DS, 8, 4, shuffle=True, seed="x")),
    case("class_counts num_classes a string", lambda m: data.class_counts(BATCHED, "3")),
    case("settings a string", lambda m: data.load_splits("tf_flowers", "smoke")),
    case("data_dir a number", lambda m: data.load_splits("tf_flowers", SMOKE, 3)),
    case("backbone size a string", lambda m: models.build_backbone("MobileNetV2", "96", weights=None)),
    case("backbone size a float", lambda m: models.build_backbone("MobileNetV2", 96.0, weights=None)),
    case("weights a number", lambda m: models.build_backbone("MobileNetV2", 96, weights=5)),
    case("num_classes a float", lambda m: models.build_classifier("MobileNetV2", 5.0, 96, weights=None)),
    case("dropout a string", lambda m: models.build_classifier("MobileNetV2", 3, 96, weights=None, dropout="0.2")),
    case("augmentation a string", lambda m: models.build_classifier("MobileNetV2", 3, 96, weights=None,
                                                                    augmentation="flip")),
    case("layer count a float", lambda m: models.unfreeze_top(m, 1.5)),
    case("layer count a bool", lambda m: models.unfreeze_top(m, True)),
    case("result name a number", lambda m: results.result_path(3, "smoke")),
    case("profile None", lambda m: results.result_path("x", None)),
    case("rows a string", lambda m: results.format_table("abc", ["a"])),
    case("columns a string", lambda m: results.format_table(ROWS, "method")),
    case("rows of numbers", lambda m: results.summarize_runs([1])),
    case("summary None", lambda m: results.format_summary(None)),
    case("images a string", lambda m: plots.show_images("img", [0])),
    case("columns a float", lambda m: plots.show_images(IMAGES, LABELS, columns=2.5)),
    case("history None", lambda m: plots.plot_history(None)),
    case("metrics a string", lambda m: plots.plot_history(HISTORY, metrics="accuracy")),
    case("chance a string", lambda m: plots.plot_accuracy_vs_labels(SUMMARY, chance="0.2")),
    case("label_names a string", lambda m: plots.plot_confusion_matrix([0], [0], "abc")),
    case("profile a number", lambda m: settings.get_settings(3)),
    case("prefetch size a string", lambda m: prefetch.prefetch_weights("MobileNetV2", "160")),
    case("history a string", lambda m: training.merge_histories("loss")),
    case("download what None", lambda m: downloads.require_network(None)),
    # out of range
    case("zero labels per class", lambda m: data.take_per_class(DS, 0, 3)),
    case("zero classes", lambda m: data.take_per_class(DS, 2, 0)),
    case("image_size 0", lambda m: data.prepare(DS, 0, 4)),
    case("image_size huge", lambda m: data.prepare(DS, 10**9, 4)),
    case("fractions leave a part empty", lambda m: data.split_by_index(DS, (0.5, 0.5, 0))),
    case("two fractions", lambda m: data.split_by_index(DS, (0.5, 0.5))),
    case("backbone size huge", lambda m: models.build_backbone("MobileNetV2", 10**6, weights=None)),
    case("one class", lambda m: models.build_classifier("MobileNetV2", 1, 96, weights=None)),
    case("dropout 1.0", lambda m: models.build_classifier("MobileNetV2", 3, 96, weights=None, dropout=1.0)),
    case("negative layer count", lambda m: models.unfreeze_top(m, -1)),
    case("max_images 0", lambda m: plots.show_images(IMAGES, LABELS, max_images=0)),
    case("max_images negative", lambda m: plots.show_images(IMAGES, LABELS, max_images=-2)),
    case("normalize 'rows'", lambda m: plots.plot_confusion_matrix([0], [0], ["a"], normalize="rows")),
    case("chance above 1", lambda m: plots.plot_accuracy_vs_labels(SUMMARY, chance=1.5)),
    # empty
    case("no columns", lambda m: results.format_table(ROWS, [])),
    case("no runs", lambda m: results.summarize_runs([])),
    case("empty summary", lambda m: results.format_summary([])),
    case("empty history", lambda m: training.merge_histories({})),
    case("history of no epochs", lambda m: training.merge_histories({"loss": []})),
    case("plot no epochs", lambda m: plots.plot_history({"accuracy": [], "loss": []})),
    case("plot no metrics", lambda m: plots.plot_history(HISTORY, metrics=[])),
    case("confusion of nothing", lambda m: plots.plot_confusion_matrix([], [], ["a", "b"])),
    case("no label names", lambda m: plots.plot_confusion_matrix([0], [0], [])),
    case("predict on an empty dataset", lambda m: training.predict_labels(m, FLOAT_BATCHED.take(0))),
    case("evaluate on an empty dataset", lambda m: training.evaluate(m, FLOAT_BATCHED.take(0))),
    # not a model / not a dataset / unbatched
    case("freeze a string", lambda m: models.freeze("MobileNetV2")),
    case("unfreeze a string", lambda m: models.unfreeze_top("model", 2)),
    case("count_params None", lambda m: models.count_params(None)),
    case("predict with a string", lambda m: training.predict_labels("model", FLOAT_BATCHED)),
    case("predict on unbatched", lambda m: training.predict_labels(m, DS)),
    case("evaluate on unbatched", lambda m: training.evaluate(m, DS)),
    case("count unbatched", lambda m: data.count_examples(DS)),
    case("class_counts of a list", lambda m: data.class_counts([1, 2], 3)),
    case("prepare a batched dataset", lambda m: data.prepare(BATCHED, 8, 4)),
    case("prepare a dataset of numbers", lambda m: data.prepare(tf.data.Dataset.range(3), 8, 4)),
    case("prepare a NumPy array", lambda m: data.prepare(IMAGES, 8, 4)),
    case("take_per_class of batches", lambda m: data.take_per_class(BATCHED, 2, 3)),
    case("split batches", lambda m: data.split_by_index(BATCHED)),
    case("rank-2 labels", lambda m: plots.show_images(IMAGES, LABELS.reshape(3, 4))),
    # inconsistent arguments
    case("class_counts with too few classes", lambda m: data.class_counts(BATCHED, 2)),
    case("confusion label beyond the names", lambda m: plots.plot_confusion_matrix([0, 5], [0, 0], ["a", "b", "c"])),
    case("confusion negative prediction", lambda m: plots.plot_confusion_matrix([0, 1], [0, -1], ["a", "b"])),
    case("confusion lengths differ", lambda m: plots.plot_confusion_matrix([0, 1, 1], [0, 1], ["a", "b"])),
    case("fewer labels than images", lambda m: plots.show_images(IMAGES, LABELS[:3])),
    case("fewer label names than classes", lambda m: plots.show_images(IMAGES, LABELS, ["a"])),
    case("validation curve shorter", lambda m: plots.plot_history({"accuracy": [0.5, 0.6], "val_accuracy": [0.5]},
                                                                  metrics=["accuracy"])),
    case("phase start beyond the epochs", lambda m: plots.plot_history(HISTORY, [7])),
    case("metrics of different lengths", lambda m: training.merge_histories({"loss": [1, 2], "accuracy": [0.5]})),
    case("row without method", lambda m: results.summarize_runs([{"labels_per_class": 3, "test_accuracy": 0.5}])),
    case("score not a number", lambda m: results.summarize_runs([{"method": "m", "labels_per_class": 3,
                                                                  "test_accuracy": "high"}])),
    case("summary row without std", lambda m: plots.plot_accuracy_vs_labels([{"method": "m", "labels_per_class": 3,
                                                                              "mean": 0.5}])),
    # non-finite numbers
    case("NaN in a record", lambda m: results.save_result("nan_record", "smoke", acc=float("nan"))),
    case("NumPy NaN in a record", lambda m: results.save_result("nan_record", "smoke", acc=np.float32("nan"))),
    case("Infinity in a list", lambda m: results.save_result("nan_record", "smoke", accs=[1.0, -math.inf])),
    case("dropout NaN", lambda m: models.build_classifier("MobileNetV2", 3, 96, weights=None, dropout=math.nan)),
    case("fraction NaN", lambda m: data.split_by_index(DS, (math.nan, 0.5, 0.5))),
    case("chance NaN", lambda m: plots.plot_accuracy_vs_labels(SUMMARY, chance=math.nan)),
    case("per class infinite", lambda m: data.take_per_class(DS, math.inf, 3)),
]


@pytest.mark.parametrize("call", CASES)
def test_bad_input_stops_with_a_clear_tlcourse_error(call, model, tmp_path, monkeypatch):
    monkeypatch.setenv("TLCOURSE_RESULTS_DIR", str(tmp_path))
    error = assert_clear_error(lambda: call(model))
    assert len(str(error)) > 30, f"too terse to act on: {error}"
    assert not (tmp_path / "smoke" / "nan_record.json").exists(), "nothing may be written on bad input"


# --- silent wrong results -----------------------------------------------------------------------

def test_take_per_class_stops_at_a_label_beyond_num_classes():
    # Lazy pipeline: the check runs in the pass (TensorFlow ignores out-of-range updates on a GPU).
    with pytest.raises(tf.errors.InvalidArgumentError, match="num_classes=2.*splits.num_classes"):
        list(data.take_per_class(DS, 2, 2))


def test_confusion_matrix_rows_still_count_every_example():
    figure = plots.plot_confusion_matrix([0, 1, 2, 2], [0, 1, 2, 0], ["a", "b", "c"], normalize=None)
    shown = np.array([int(text.get_text()) for text in figure.axes[0].texts]).reshape(3, 3)
    assert shown.sum(axis=1).tolist() == [1, 1, 2]  # and a label beyond the names is refused (CASES)


def test_records_are_standard_json(tmp_path, monkeypatch):
    monkeypatch.setenv("TLCOURSE_RESULTS_DIR", str(tmp_path))
    path = results.save_result("finite", "smoke", acc=np.float32(0.5), none=None)

    def refuse(constant):
        raise AssertionError(f"non-standard JSON constant {constant}")

    assert json.loads(path.read_text(), parse_constant=refuse)["acc"] == 0.5


def test_empty_inputs_do_what_their_docstrings_say():
    assert results.format_table([], ["model", "accuracy"]) == "model  accuracy\n(no rows)"
    assert data.class_counts(BATCHED.take(0), 3).tolist() == [0, 0, 0]
    assert data.count_examples(BATCHED.take(0)) == 0
    assert list(data.take_per_class(DS.take(0), 2, 3)) == []


# --- filesystem -----------------------------------------------------------------------------------

def test_a_results_folder_that_is_a_file_is_named(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("TLCOURSE_RESULTS_DIR", str(tmp_path / "file" / "sub"))
    error = assert_clear_error(lambda: results.save_result("x", "smoke", a=1))
    assert "is a file" in str(error) and "TLCOURSE_RESULTS_DIR" in str(error)


def test_a_read_only_results_folder_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("TLCOURSE_RESULTS_DIR", str(tmp_path))

    def read_only(*args, **kwargs):  # records are written atomically: the temporary file fails first
        raise OSError(errno.EROFS, "Read-only file system", str(kwargs.get("dir")))

    from tlcourse import files

    monkeypatch.setattr(files.tempfile, "mkstemp", read_only)
    error = assert_clear_error(lambda: results.save_result("x", "smoke", a=1))
    assert "Read-only file system" in str(error) and "TLCOURSE_RESULTS_DIR" in str(error)


@pytest.mark.parametrize("damage", ["not_utf8", "folder"])
def test_a_damaged_record_is_named(tmp_path, monkeypatch, damage):
    monkeypatch.setenv("TLCOURSE_RESULTS_DIR", str(tmp_path))
    path = tmp_path / "smoke" / "x.json"
    if damage == "folder":
        path.mkdir(parents=True)
    else:
        path.parent.mkdir()
        path.write_bytes(b"\xff\xfe\x00")
    error = assert_clear_error(lambda: results.load_result("x", "smoke"))
    assert str(path) in str(error) and "Delete it" in str(error)


def test_a_data_dir_that_is_a_file_is_named():
    error = assert_clear_error(lambda: data.load_splits("tf_flowers", SMOKE, __file__))
    assert "is a file" in str(error)


# --- inconsistencies ----------------------------------------------------------------------------

def test_get_settings_reads_names_like_the_environment_variable(monkeypatch):
    monkeypatch.setenv("TLCOURSE_PROFILE", " Quick ")
    assert settings.profile_name() == "quick"
    assert settings.get_settings(" Quick ").name == "quick"


def test_a_failing_prefetch_does_not_tell_you_to_run_prefetch(monkeypatch, capsys):
    def offline(*args):
        with download_guard("the tf_flowers dataset"):
            raise OSError("Failed to establish a new connection: [Errno 101] Network is unreachable")

    monkeypatch.setattr(prefetch, "prefetch_dataset", offline)
    assert prefetch.main(["prefetch", "--datasets", "tf_flowers", "--backbones"]) == 1
    err = capsys.readouterr().err
    assert "Network is unreachable" in err and "HTTPS_PROXY" in err
    assert "`python -m tlcourse prefetch`" not in err


def test_help_shows_no_rest_markup():
    completed = subprocess.run([sys.executable, "-c", "from tlcourse.prefetch import main; main(['--help'])"],
                               capture_output=True, text=True, timeout=120)
    assert "prefetch" in completed.stdout and "``" not in completed.stdout


# --- stalled and slow downloads (local server on 127.0.0.1 only) ---------------------------------

def _tfds_get(url: str) -> bytes:
    """Fetch ``url`` the way TFDS downloads (requests, with TFDS' retry policy)."""
    downloader = pytest.importorskip("tensorflow_datasets.core.download.downloader")
    with downloader._open_url(url, verify=True) as (response, chunks):
        return b"".join(chunks)


def _keras_get(url: str) -> bytes:
    """Fetch ``url`` the way Keras downloads weights (``get_file``, urllib)."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        return Path(keras.utils.get_file("file.bin", url, cache_dir=folder)).read_bytes()


@pytest.mark.parametrize("fetch", [_keras_get, _tfds_get], ids=["keras_get_file", "tfds_requests"])
def test_a_stalled_download_fails_in_the_stated_time_with_the_fix(fetch):
    with local_server() as url:
        started = time.perf_counter()
        with pytest.raises(DownloadError) as caught:
            with download_guard("test weights", stall_seconds=0.5):
                fetch(url)
        elapsed = time.perf_counter() - started
    message = str(caught.value)
    assert elapsed < 5, f"a 0.5 s stall timeout took {elapsed:.1f} s"
    assert "sent nothing for 0.5 s" in message and "TLCOURSE_DOWNLOAD_TIMEOUT" in message
    assert "proxy" in message and "firewall" in message and "prefetch" in message


@pytest.mark.parametrize("fetch", [_keras_get, _tfds_get], ids=["keras_get_file", "tfds_requests"])
def test_a_slow_steady_download_is_not_cut_off(fetch):
    with local_server(trickle_bytes=8, pause=0.2) as url:  # 1.6 s in all, never 0.5 s silent
        with download_guard("test weights", stall_seconds=0.5):
            assert fetch(url) == b"x" * 8


def test_the_stall_timeout_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("TLCOURSE_DOWNLOAD_TIMEOUT", "0.5")
    assert downloads.stall_timeout() == 0.5
    with local_server() as url, pytest.raises(DownloadError, match="0.5 s"):
        with download_guard("test file"):
            urllib.request.urlopen(url).read()
    for bad in ("soon", "-1", "nan"):
        monkeypatch.setenv("TLCOURSE_DOWNLOAD_TIMEOUT", bad)
        assert "TLCOURSE_DOWNLOAD_TIMEOUT" in str(assert_clear_error(downloads.stall_timeout))


def test_the_guard_restores_the_socket_and_requests_defaults():
    import requests.adapters

    send, timeout = requests.adapters.HTTPAdapter.send, socket.getdefaulttimeout()
    with pytest.raises(ZeroDivisionError), download_guard("nothing", stall_seconds=3):
        assert socket.getdefaulttimeout() == 3
        raise ZeroDivisionError
    assert requests.adapters.HTTPAdapter.send is send and socket.getdefaulttimeout() == timeout
    assert downloads.STALL_TIMEOUT_SECONDS == 60
