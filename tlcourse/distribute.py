"""Appendix 15's helpers: a ``tf.distribute`` strategy for the hardware at hand, and batch/LR scaling.

``split_cpu`` must run before TensorFlow initialises its devices (before the first op or model);
``tlcourse.setup()`` does not initialise them, so call it right after ``setup()`` in the first cell.
The same holds for ``make_strategy("multiworker")``: ``MultiWorkerMirroredStrategy`` configures its
collective ops at program start, so create it in the first cell too, on every worker.
"""

from __future__ import annotations

import os

import tensorflow as tf

from tlcourse.checks import check_choice, check_int, check_number

KINDS = ("auto", "mirrored", "tpu", "multiworker", "default")


def split_cpu(n: int) -> list[str]:
    """Split the first physical CPU into ``n`` logical devices and return their names.

    Must run before TensorFlow initialises its devices; running it again with the same ``n`` is fine.

    Args:
        n: number of logical CPU devices (at least 1).

    Example:
        >>> split_cpu(2)  # doctest: +SKIP
        ['/device:CPU:0', '/device:CPU:1']
    """
    check_int("n", n, minimum=1, fix="ask for at least one logical CPU, e.g. split_cpu(2)")
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n)
    except RuntimeError as error:
        existing = tf.config.list_logical_devices("CPU")
        if len(existing) != n:
            raise RuntimeError(
                f"TensorFlow's devices are already initialised with {len(existing)} logical CPU(s); "
                f"{n} were asked for. Restart the kernel and run this cell first (before any model or "
                f"TensorFlow op).") from error
    return [device.name for device in tf.config.list_logical_devices("CPU")]


def make_strategy(kind: str = "auto", logical_cpus: int | None = None) -> tf.distribute.Strategy:
    """Return a ``tf.distribute`` strategy.

    ``"auto"``: ``MirroredStrategy`` over all GPUs; without GPUs over ``logical_cpus`` logical CPUs
    (``split_cpu``) if given, else the default (one-device) strategy. ``"mirrored"``: the same, but
    always mirrored. ``"tpu"``: ``TPUStrategy`` via ``TPUClusterResolver()``. ``"multiworker"``:
    ``MultiWorkerMirroredStrategy``, which reads the cluster from the ``TF_CONFIG`` variable.
    ``"default"``: no distribution.

    Args:
        kind: one of ``KINDS``.
        logical_cpus: on a CPU-only machine, how many logical CPUs to mirror over (``None``: no split).

    Example:
        >>> strategy = make_strategy("mirrored", logical_cpus=2)  # doctest: +SKIP
        >>> strategy.num_replicas_in_sync  # doctest: +SKIP
        2
    """
    check_choice("kind", kind, KINDS, fix="use 'auto' unless you know you need another")
    if logical_cpus is not None:
        check_int("logical_cpus", logical_cpus, minimum=1, fix="pass None or a count such as 2")
    if kind == "default":
        return tf.distribute.get_strategy()
    if kind == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    if kind == "multiworker":
        if "TF_CONFIG" not in os.environ:
            raise RuntimeError("kind='multiworker' needs the TF_CONFIG environment variable (cluster and this "
                               "worker's task); set it on every worker before starting Python.")
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        return tf.distribute.MirroredStrategy()
    if logical_cpus is not None:
        return tf.distribute.MirroredStrategy(devices=split_cpu(logical_cpus))
    if kind == "mirrored":
        return tf.distribute.MirroredStrategy(devices=["/cpu:0"])
    return tf.distribute.get_strategy()


def scaled(batch_size_per_replica: int, learning_rate: float, replicas: int) -> tuple[int, float]:
    """Return ``(global_batch_size, learning_rate × replicas)``: the linear scaling rule.

    The rule comes from plain SGD; for Adam, square-root scaling (``learning_rate × √replicas``) or a
    warm-up is common. This helper keeps the linear rule; with 2 replicas the two differ little.

    Args:
        batch_size_per_replica: examples each replica sees per step.
        learning_rate: the learning rate that suits one replica's batch.
        replicas: ``strategy.num_replicas_in_sync``.

    Example:
        >>> scaled(16, 1e-3, 2)
        (32, 0.002)
    """
    check_int("batch_size_per_replica", batch_size_per_replica, minimum=1, fix="use e.g. 16 or 32")
    learning_rate = check_number("learning_rate", learning_rate, above=0.0, fix="use a positive rate such as 1e-3")
    check_int("replicas", replicas, minimum=1, fix="pass strategy.num_replicas_in_sync")
    return batch_size_per_replica * replicas, learning_rate * replicas


def shard_by_data(ds: tf.data.Dataset) -> tf.data.Dataset:
    """Return ``ds`` with ``auto_shard_policy = DATA``: every worker reads all, keeps its share of elements.

    Example:
        >>> shard_by_data(tf.data.Dataset.range(4)).options().experimental_distribute.auto_shard_policy.name
        'DATA'
    """
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options)
