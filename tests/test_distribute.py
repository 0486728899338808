"""Tests for tlcourse.distribute (appendix 15).

The multi-worker tests start real worker processes on 127.0.0.1 (each imports TensorFlow) and train a
tiny CNN for a few steps: they prove mechanics (the cluster forms, the all-reduce keeps the workers in
lockstep, a killed run resumes, failures are reported and cleaned up), not accuracy.
"""

import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tlcourse.distribute import (WorkerError, WorkerRecipe, launch_side_by_side, launch_workers, main, make_strategy,
                                 max_weight_difference, scaled)

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent("""
    import numpy as np
    import keras
    import tensorflow as tf
    from tlcourse.distribute import make_strategy, shard_by_data, split_cpu, scaled
    names = split_cpu(2)
    assert split_cpu(2) == names  # a second call with the same count is fine
    strategy = make_strategy("auto", logical_cpus=2)
    assert strategy.num_replicas_in_sync == 2, strategy.num_replicas_in_sync
    per_replica = strategy.run(lambda: tf.distribute.get_replica_context().replica_id_in_sync_group)
    assert len(strategy.experimental_local_results(per_replica)) == 2
    global_batch, lr = scaled(4, 1e-3, strategy.num_replicas_in_sync)
    with strategy.scope():
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        model.compile(optimizer=keras.optimizers.Adam(lr),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.random.rand(16, 3).astype("float32"); y = np.random.randint(0, 2, 16)
    ds = shard_by_data(tf.data.Dataset.from_tensor_slices((x, y)).batch(global_batch))
    history = model.fit(ds, epochs=1, verbose=0, shuffle=False)
    assert len(history.history["loss"]) == 1
    # 18 examples, global batch 8: the last 2 would split 1 + 1; take(whole batches) leaves them out and, unlike
    # rebatch(drop_remainder=True), keeps the length known (with rebatch, fit took 3 optimizer steps here, not 2)
    x = np.random.rand(18, 3).astype("float32"); y = np.random.randint(0, 2, 18)
    uneven = tf.data.Dataset.from_tensor_slices((x, y)).batch(global_batch).take(18 // global_batch)
    steps_before = int(model.optimizer.iterations.numpy())
    model.fit(shard_by_data(uneven), epochs=1, verbose=0, shuffle=False)
    assert int(model.optimizer.iterations.numpy()) - steps_before == 2, model.optimizer.iterations.numpy()
    from tlcourse.features import extract_features
    with strategy.scope():  # a base built under the strategy: Keras 3's predict_on_batch returns 2 rows per image
        base = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3), keras.layers.GlobalAveragePooling2D()])
    images = np.random.rand(6, 8, 8, 3).astype("float32") * 255
    cached = extract_features(base, tf.data.Dataset.from_tensor_slices((images, np.zeros(6, "int64"))).batch(6))
    assert cached.features.shape == (6, 4), cached.features.shape
    np.testing.assert_allclose(cached.features, base(images).numpy(), rtol=1e-5, atol=1e-4)
    try:
        split_cpu(3)
    except RuntimeError as error:
        assert "Restart the kernel" in str(error)
    else:
        raise AssertionError("split_cpu(3) after initialisation should fail")
    print("OK", strategy.num_replicas_in_sync)
""")


def test_two_logical_cpus_fit_in_a_fresh_process():
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "OK 2" in result.stdout


def test_scaled_is_linear():
    assert scaled(16, 1e-3, 2) == (32, pytest.approx(2e-3))
    assert scaled(32, 0.01, 1) == (32, 0.01)


@pytest.mark.parametrize("args", [(0, 1e-3, 2), (16, 0.0, 2), (16, 1e-3, 0), (16.5, 1e-3, 2), (16, "a", 2)])
def test_scaled_rejects_bad_input(args):
    with pytest.raises((ValueError, TypeError)):
        scaled(*args)


def test_make_strategy_rejects_bad_input():
    with pytest.raises(ValueError):
        make_strategy("gpu")
    with pytest.raises((ValueError, TypeError)):
        make_strategy("auto", logical_cpus=0)


def test_multiworker_needs_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="TF_CONFIG is not set"):
        make_strategy("multiworker")


@pytest.mark.parametrize("value, message", [
    ("{cluster: [host1:2222]}", "not valid JSON"),  # single-quote/shell mistakes: TensorFlow raises JSONDecodeError
    ('{"cluster": {"worker": ["127.0.0.1:2222"]}}', "lacks .*'task'"),
    ('{"cluster": {"worker": ["127.0.0.1:2222"]}, "task": {"type": "worker", "index": 1}}', "not in its cluster"),
])
def test_multiworker_rejects_a_bad_tf_config(monkeypatch, value, message):
    monkeypatch.setenv("TF_CONFIG", value)
    with pytest.raises(ValueError, match=message) as caught:
        make_strategy("multiworker")
    assert "Fix:" in str(caught.value) and '"index": 0' in str(caught.value)


def test_tpu_without_a_tpu_says_how_to_get_one():
    with pytest.raises(ValueError, match="no TPU was found") as caught:
        make_strategy("tpu")
    assert "Runtime" in str(caught.value) and "make_strategy('auto')" in str(caught.value)


def test_default_strategy_has_one_replica():
    assert make_strategy("default").num_replicas_in_sync == 1


# --- several workers on this machine -------------------------------------------------------------

RECIPE = WorkerRecipe(global_batch_size=16)  # the same global batch whatever the number of workers
TOLERANCE = 1e-5  # float32 sums in another order (one replica vs an all-reduce over two)


def running_with(text):
    """PIDs of live processes whose command line contains ``text`` (zombies excluded)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in command and state != "Z":
            pids.append(int(entry.name))
    return pids


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One worker and two workers, same seed and global batch, launched side by side (shared by tests)."""
    folder = tmp_path_factory.mktemp("workers")
    began = time.monotonic()
    runs = launch_side_by_side({"one": (1, RECIPE), "two": (2, RECIPE)}, folder, timeout=600, verbose=False)
    print(f"\n1 and 2 workers side by side: {time.monotonic() - began:.0f} s")
    return runs


def test_two_workers_train_in_lockstep_and_agree_with_one(runs):
    two, one = runs["two"], runs["one"]
    for worker in two.workers:
        assert worker.returncode == 0
        assert worker.report["replicas"] == 2 and worker.report["all_reduce"] == "RING", worker.report
        assert worker.report["global_batch_size"] == 16 and worker.report["epochs_run"] == [0, 1, 2]
    assert one.workers[0].report["replicas"] == 1
    assert max_weight_difference(two.workers[0].weights(), two.workers[1].weights()) == 0.0  # mirrored copies
    difference = max_weight_difference(one.workers[0].weights(), two.workers[0].weights())
    print(f"largest weight difference, 1 vs 2 workers: {difference:.2e}")
    assert difference <= TOLERANCE
    assert one.workers[0].report["loss"] == pytest.approx(two.workers[0].report["loss"], abs=1e-5)
    assert (two.run_dir / "best.weights.h5").exists()  # the chief's ModelCheckpoint
    assert running_with(str(two.run_dir)) == [] and running_with(str(one.run_dir)) == []


def test_a_killed_worker_is_reported_and_the_restarted_run_resumes(runs, tmp_path):
    run_dir = tmp_path / "killed"
    with pytest.raises(WorkerError, match="worker 1 .*killed with SIGKILL after epoch 2") as caught:
        launch_workers(2, RECIPE, run_dir=run_dir, kill_worker=1, kill_after_epoch=2, timeout=600, verbose=False)
    assert caught.value.worker == 1 and caught.value.workers[1].returncode == -9 and caught.value.run_dir == run_dir
    assert running_with(str(run_dir)) == [], "every worker is stopped when one dies"
    resumed = launch_workers(2, RECIPE, run_dir=run_dir, timeout=600, verbose=False)
    print(f"\nthe restarted run resumed from epoch {resumed.resumed_from_epoch} of {RECIPE.epochs}")
    assert 2 <= resumed.resumed_from_epoch < RECIPE.epochs  # not from scratch; the last epoch ran again
    assert all(worker.report["epochs_run"] == list(range(resumed.resumed_from_epoch, RECIPE.epochs))
               for worker in resumed.workers)
    difference = max_weight_difference(resumed.workers[0].weights(), runs["two"].workers[0].weights())
    print(f"largest weight difference, resumed vs uninterrupted: {difference:.2e}")
    assert difference <= TOLERANCE
    assert running_with(str(run_dir)) == []
    with pytest.raises(ValueError, match="finished run"):  # a finished run is never trained over
        launch_workers(2, RECIPE, run_dir=run_dir, verbose=False)


def test_a_worker_that_never_joins_fails_within_its_limit(tmp_path):
    run_dir = tmp_path / "alone"
    began = time.monotonic()
    with pytest.raises(WorkerError, match=r"worker 1 was never started .*start_timeout=10 s") as caught:
        launch_workers(2, RECIPE, run_dir=run_dir, start=[0], start_timeout=10, timeout=300, verbose=False)
    print(f"\nthe missing worker was reported after {time.monotonic() - began:.0f} s (start_timeout 10 s)")
    assert caught.value.worker == 1 and "Fix:" in str(caught.value)
    assert caught.value.workers[0].returncode == -9  # worker 0, waiting for it, was stopped
    assert running_with(str(run_dir)) == []


def test_a_taken_port_names_the_worker_and_the_fix(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ValueError, match=f"worker 1's port 127.0.0.1:{port} is taken.*ports=None"):
            launch_workers(2, RECIPE, run_dir=tmp_path / "taken", ports=[port + 1 if port < 65535 else 1024, port])
    assert not (tmp_path / "taken").exists()  # nothing was started or written


@pytest.mark.parametrize("kwargs, error", [
    ({"count": 0}, ValueError), ({"count": 2.0}, TypeError), ({"recipe": "small"}, TypeError),
    ({"kill_worker": 2}, ValueError), ({"kill_worker": 1, "kill_after_epoch": 3}, ValueError),
    ({"ports": [1]}, ValueError), ({"recipe": WorkerRecipe(global_batch_size=15)}, ValueError),
])
def test_launch_workers_rejects_bad_input(kwargs, error, tmp_path):
    with pytest.raises(error):
        launch_workers(**{"count": 2, "run_dir": tmp_path / "bad", **kwargs})
    assert not (tmp_path / "bad").exists()


def test_recipe_rejects_bad_values():
    with pytest.raises(ValueError):
        WorkerRecipe(head_epochs=0)
    with pytest.raises(TypeError):
        WorkerRecipe(learning_rate="fast")


def test_cli_reports_bad_input_without_a_traceback(capsys):
    assert main(["--count", "0"]) == 1
    assert "count=0" in capsys.readouterr().err
