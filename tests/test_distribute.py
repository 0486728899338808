"""Tests for tlcourse.distribute (appendix 15)."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tlcourse.distribute import make_strategy, scaled

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
    history = model.fit(ds, epochs=1, verbose=0)
    assert len(history.history["loss"]) == 1
    # 18 examples, global batch 8: the last 2 would split 1 + 1; take(whole batches) leaves them out and, unlike
    # rebatch(drop_remainder=True), keeps the length known (with rebatch, fit took 3 optimizer steps here, not 2)
    x = np.random.rand(18, 3).astype("float32"); y = np.random.randint(0, 2, 18)
    uneven = tf.data.Dataset.from_tensor_slices((x, y)).batch(global_batch).take(18 // global_batch)
    steps_before = int(model.optimizer.iterations.numpy())
    model.fit(shard_by_data(uneven), epochs=1, verbose=0)
    assert int(model.optimizer.iterations.numpy()) - steps_before == 2, model.optimizer.iterations.numpy()
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
    with pytest.raises(RuntimeError, match="TF_CONFIG"):
        make_strategy("multiworker")


def test_default_strategy_has_one_replica():
    assert make_strategy("default").num_replicas_in_sync == 1
