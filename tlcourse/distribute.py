"""Appendix 15's helpers: a ``tf.distribute`` strategy for the hardware at hand, batch/LR scaling, and a
launcher that runs several ``MultiWorkerMirroredStrategy`` workers on this machine (``launch_workers``,
``python -m tlcourse workers --count 2``).

``split_cpu`` must run before TensorFlow initialises its devices (before the first op or model);
``tlcourse.setup()`` does not initialise them, so call it right after ``setup()`` in the first cell.
The same holds for ``make_strategy("multiworker")``: ``MultiWorkerMirroredStrategy`` configures its
collective ops at program start, so create it in the first cell too, on every worker.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from tlcourse.checks import check_choice, check_int, check_number

KINDS = ("auto", "mirrored", "tpu", "multiworker", "default")

TF_CONFIG_EXAMPLE = ('{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                     '"task": {"type": "worker", "index": 0}}')


def read_tf_config() -> dict:
    """Return the cluster description in ``TF_CONFIG``, checked: a JSON object with a cluster and this task.

    Raises ``ValueError`` naming the fix when the variable is missing, is not JSON, or lacks
    ``cluster`` / ``task``, instead of the bare ``JSONDecodeError`` or a hang that TensorFlow gives.

    Example:
        >>> os.environ["TF_CONFIG"] = TF_CONFIG_EXAMPLE
        >>> read_tf_config()["task"]
        {'type': 'worker', 'index': 0}
        >>> del os.environ["TF_CONFIG"]
    """
    fix = (f"set TF_CONFIG on every worker before starting Python, as JSON naming the whole cluster and this "
           f"worker's task, e.g. TF_CONFIG='{TF_CONFIG_EXAMPLE}' (the second worker gets \"index\": 1); "
           "python -m tlcourse workers --count 2 does it for workers on this machine.")
    text = os.environ.get("TF_CONFIG")
    if text is None or not text.strip():
        raise ValueError(f"TF_CONFIG is not set: kind='multiworker' reads the cluster from it. Fix: {fix}")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG={text[:200]!r} is not valid JSON ({error.msg} at character {error.pos}): expected "
                         f"a JSON object. Fix: {fix} Mind the quotes: JSON needs double quotes.") from None
    task = config.get("task") if isinstance(config, dict) else None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not cluster or not isinstance(task, dict) \
            or not {"type", "index"} <= set(task):
        raise ValueError(f"TF_CONFIG={text[:200]!r} lacks a 'cluster' with the workers' addresses or a 'task' with "
                         f"'type' and 'index'. Fix: {fix}")
    workers = cluster.get(task["type"])
    if not isinstance(workers, list) or not isinstance(task["index"], int) \
            or not 0 <= task["index"] < len(workers):
        raise ValueError(f"TF_CONFIG's task {task} is not in its cluster {cluster}: expected an index below the "
                         f"number of {task['type']!r} addresses. Fix: {fix}")
    return config


def communication_options() -> tf.distribute.experimental.CommunicationOptions:
    """Return the all-reduce ``MultiWorkerMirroredStrategy`` uses here: NCCL with GPUs, else RING.

    ``AUTO`` would pick the same; naming it makes the choice visible (``strategy.extended`` keeps it).

    Example:
        >>> communication_options().implementation.name  # doctest: +SKIP
        'RING'
    """
    implementation = tf.distribute.experimental.CommunicationImplementation
    chosen = implementation.NCCL if tf.config.list_physical_devices("GPU") else implementation.RING
    return tf.distribute.experimental.CommunicationOptions(implementation=chosen)


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
    ``MultiWorkerMirroredStrategy``, which reads the cluster from the ``TF_CONFIG`` variable (checked by
    ``read_tf_config``; RING all-reduce on CPUs, NCCL on GPUs). ``"default"``: no distribution.

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
        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        except ValueError as error:  # "Please provide a TPU Name to connect to." where no TPU is attached
            raise ValueError(f"kind='tpu', but no TPU was found ({error}). Expected a runtime with a TPU attached. "
                             "Fix: in Colab choose Runtime → Change runtime type → TPU and run again, or use "
                             "make_strategy('auto') on GPUs or CPUs.") from error
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    if kind == "multiworker":
        read_tf_config()
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=communication_options())
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


# ---------------------------------------------------------------------------------------------------
# Several workers on this machine: MultiWorkerMirroredStrategy over loopback (appendix 15, issue 20)
# ---------------------------------------------------------------------------------------------------

READY_MARK = "TLCOURSE-WORKER-READY"
EPOCH_MARK = "TLCOURSE-EPOCH-END"
CONFIG_FILE = "config.json"
RESULT_FILE = "result.json"
WEIGHTS_FILE = "final_weights.npz"
BEST_WEIGHTS_FILE = "best.weights.h5"
CLASSES = ("circle", "square", "star", "heart")
"""The worker recipe's classes: shapes drawn by ``tlcourse.shapes`` (offline, deterministic)."""
LOG_TAIL_LINES = 12


@dataclass(frozen=True)
class WorkerRecipe:
    """What every worker trains: notebook 15's two-phase recipe on a tiny CNN and ``tlcourse.shapes`` images.

    Phase 1 trains a new head on the frozen base; phase 2 unfreezes the top ``unfreeze_layers`` layers
    of the base (``tlcourse.models.unfreeze_top``: BatchNormalization stays frozen) at a tenth of the
    learning rate. The epochs are numbered across both phases (phase 2 fits with ``initial_epoch``).
    Without ``global_batch_size`` the global batch is ``batch_size_per_replica × replicas`` and the
    learning rate grows with it (``scaled``); with it, the global batch and learning rate stay fixed
    whatever the number of workers — the way to get the same training from 1 and from 2 workers.
    The data are drawn once with ``seed`` and kept in that order (no reshuffling between epochs):
    a restarted run sees the same batches as an uninterrupted one. No Dropout: its random masks
    differ with the number of replicas, and the point here is to compare weights.

    Example:
        >>> WorkerRecipe(global_batch_size=16).batches(replicas=2)
        (16, 0.01)
        >>> WorkerRecipe().batches(replicas=2)
        (16, 0.01)
        >>> WorkerRecipe().batches(replicas=1)
        (8, 0.005)
    """

    head_epochs: int = 1
    fine_tune_epochs: int = 2
    batch_size_per_replica: int = 8
    learning_rate: float = 5e-3
    global_batch_size: int | None = None
    examples_per_class: int = 16
    val_examples_per_class: int = 4
    image_size: int = 16
    unfreeze_layers: int = 5  # the last convolution block (conv, BN, ReLU, pooling) and the global pooling
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("head_epochs", "fine_tune_epochs", "batch_size_per_replica", "examples_per_class",
                     "val_examples_per_class", "unfreeze_layers"):
            check_int(name, getattr(self, name), minimum=1, fix=f"use a small whole number, e.g. {name}=2")
        check_int("image_size", self.image_size, minimum=16, fix="the shapes need at least 16 px: image_size=16")
        check_int("seed", self.seed, minimum=0, fix="use a whole number >= 0, e.g. seed=0")
        check_number("learning_rate", self.learning_rate, above=0.0, maximum=1.0, fix="use e.g. 5e-3")
        if self.global_batch_size is not None:
            check_int("global_batch_size", self.global_batch_size, minimum=1,
                      fix="pass None (scale with the replicas) or a multiple of the number of workers, e.g. 16")

    @property
    def epochs(self) -> int:
        """Epochs of both phases together."""
        return self.head_epochs + self.fine_tune_epochs

    def batches(self, replicas: int) -> tuple[int, float]:
        """Return ``(global batch size, head learning rate)`` for ``replicas`` replicas (see the class)."""
        global_batch, learning_rate = scaled(self.batch_size_per_replica, self.learning_rate, replicas)
        if self.global_batch_size is None:
            return global_batch, learning_rate
        if self.global_batch_size % replicas:
            raise ValueError(f"global_batch_size={self.global_batch_size} does not split evenly over {replicas} "
                             f"replicas. Fix: use a multiple of {replicas}, e.g. {replicas * 8}.")
        factor = self.global_batch_size / self.batch_size_per_replica
        return self.global_batch_size, round(self.learning_rate * factor, 12)

    @classmethod
    def for_profile(cls, profile: str, **changes: Any) -> WorkerRecipe:
        """Return the recipe sized for ``profile`` (``smoke``: a few steps), with ``changes`` applied.

        Example:
            >>> WorkerRecipe.for_profile("smoke").epochs
            2
        """
        check_choice("profile", profile, ("smoke", "quick", "full"), fix="use settings.name")
        sizes = {"smoke": {"fine_tune_epochs": 1}, "quick": {"head_epochs": 2, "fine_tune_epochs": 3, "examples_per_class": 64,
                                        "val_examples_per_class": 16, "image_size": 24},
                 "full": {"head_epochs": 3, "fine_tune_epochs": 5, "examples_per_class": 128,
                          "val_examples_per_class": 32, "image_size": 32}}[profile]
        return cls(**{**sizes, **changes})


@dataclass
class WorkerResult:
    """One worker process of a ``launch_workers`` run: its exit status, log and what it reported."""

    index: int
    pid: int
    returncode: int | None
    log_path: Path
    report: dict[str, Any] = field(default_factory=dict)
    """The worker's ``result.json``: replicas, all-reduce, epochs run, losses, seconds (empty if none)."""

    @property
    def log(self) -> str:
        """The worker's whole log (stdout and stderr)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def weights(self) -> list[np.ndarray]:
        """The model's weights at the end of training, as this worker saved them."""
        with np.load(self.log_path.parent / WEIGHTS_FILE) as saved:
            return [saved[f"w{i}"] for i in range(len(saved.files))]


@dataclass
class WorkerRun:
    """A finished ``launch_workers`` run: the run folder, every worker, the wall time."""

    run_dir: Path
    workers: list[WorkerResult]
    seconds: float

    @property
    def resumed_from_epoch(self) -> int:
        """Epochs restored from the backups when this run started (0: trained from scratch)."""
        return min(worker.report["first_epoch"] for worker in self.workers)


class WorkerError(RuntimeError):
    """A worker failed, never joined the cluster, or the time limit passed; all workers were stopped.

    ``worker`` is the index of the worker at fault (``None`` when it was the time limit), ``workers``
    every worker's ``WorkerResult`` (exit status and log), ``run_dir`` the run's folder (pass it to
    ``launch_workers`` again to resume).
    """

    def __init__(self, message: str, worker: int | None, workers: list[WorkerResult]) -> None:
        super().__init__(message)
        self.worker = worker
        self.workers = workers
        self.run_dir = workers[0].log_path.parents[1]


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """Return ``count`` distinct ports that are free on ``host`` now (the system picks them: bind to port 0).

    Example:
        >>> len(set(free_ports(2)))
        2
    """
    check_int("count", count, minimum=1, fix="ask for one port per worker, e.g. free_ports(2)")
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def check_port_free(port: int, worker: int, host: str = "127.0.0.1") -> None:
    """Raise ``ValueError`` naming ``worker`` and the fix if ``host:port`` is taken.

    Example:
        >>> check_port_free(free_ports(1)[0], worker=0)
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as error:
            raise ValueError(f"worker {worker}'s port {host}:{port} is taken ({error.strerror}): another process "
                             "listens there (perhaps a worker of an earlier run that is still running). Fix: pass "
                             "ports=None to pick free ports, or stop that process (`lsof -i :PORT` names it).") from None


def cluster_tf_configs(ports: list[int], hosts: list[str] | None = None) -> list[str]:
    """Return one ``TF_CONFIG`` per worker: worker ``i`` listens on ``hosts[i]:ports[i]`` (default 127.0.0.1).

    Worker 0 is the chief (it writes the best weights). On real machines each address is that
    machine's ``host:port`` and each machine gets its own ``TF_CONFIG``, the same but for ``index``.

    Example:
        >>> json.loads(cluster_tf_configs([2222, 2223])[1])
        {'cluster': {'worker': ['127.0.0.1:2222', '127.0.0.1:2223']}, 'task': {'type': 'worker', 'index': 1}}
    """
    hosts = ["127.0.0.1"] * len(ports) if hosts is None else list(hosts)
    if len(hosts) != len(ports):
        raise ValueError(f"hosts={hosts} and ports={ports} differ in length: expected one host per port. "
                         "Fix: list one host (or IP address) per worker.")
    addresses = [f"{host}:{port}" for host, port in zip(hosts, ports)]
    return [json.dumps({"cluster": {"worker": addresses}, "task": {"type": "worker", "index": index}})
            for index in range(len(ports))]


def _write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` atomically (temporary name, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data, indent=1))
    os.replace(temporary, path)


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _worker_dir(run_dir: Path, index: int) -> Path:
    return run_dir / f"worker-{index}"


def _backup_dir(run_dir: Path, index: int, phase: str) -> Path:
    return _worker_dir(run_dir, index) / "backup" / phase


def _backup_epoch(run_dir: Path, index: int) -> int:
    """The epoch a restarted worker would resume from: what its ``BackupAndRestore`` saved last."""
    for phase in ("fine_tune", "head"):
        metadata = _backup_dir(run_dir, index, phase) / "training_metadata.json"
        if metadata.exists():
            return int(json.loads(metadata.read_text())["epoch"])
    return 0


def _prepare_run_dir(run_dir: Path, count: int, recipe: WorkerRecipe) -> None:
    """Create ``run_dir`` with the run's config, or check that an existing one is this run, restarted."""
    config = {"count": count, "recipe": asdict(recipe)}
    config_path = run_dir / CONFIG_FILE
    if config_path.exists():
        earlier = json.loads(config_path.read_text())
        if earlier != config:
            raise ValueError(f"run_dir={str(run_dir)!r} holds a run with {earlier}, not {config}: its backups "
                             "belong to that run. Fix: pass a new run_dir, or the same count and recipe to restart it.")
        if all((_worker_dir(run_dir, index) / RESULT_FILE).exists() for index in range(count)):
            raise ValueError(f"run_dir={str(run_dir)!r} holds a finished run: every worker wrote its result. "
                             "Fix: pass a new run_dir (a restart continues an interrupted run).")
        epochs = {index: _backup_epoch(run_dir, index) for index in range(count)}
        if len(set(epochs.values())) > 1:
            raise ValueError(f"the workers' backups in {run_dir} disagree (epochs saved: {epochs}): restarting "
                             "would run different steps on different workers. Fix: pass a new run_dir.")
    else:
        if run_dir.exists() and any(run_dir.iterdir()):
            raise ValueError(f"run_dir={str(run_dir)!r} is not empty and holds no {CONFIG_FILE}. "
                             "Fix: pass a new or empty folder (nothing in it is overwritten).")
        _write_json(config_path, config)


def _log_tail(text: str, lines: int = LOG_TAIL_LINES) -> str:
    kept = [line for line in text.splitlines() if line.strip()][-lines:]
    return "\n".join(f"    | {line[:300]}" for line in kept) or "    | (the log is empty)"


def _why(returncode: int, log: str) -> str:
    """Say in words why a worker exited with ``returncode``, from its log."""
    if "Address already in use" in log or "Could not start gRPC server" in log:
        return ("its port was taken, so its server could not start. Fix: launch again with ports=None "
                "(free ports are picked) and stop whatever holds the port")
    if returncode < 0:
        name = signal.Signals(-returncode).name
        cause = " (the kernel's out-of-memory killer sends it too)" if name == "SIGKILL" else ""
        return f"it was killed by {name}{cause}. Fix: restart the cluster with the same run_dir to resume"
    if "Traceback" in log:
        last = [line for line in log.splitlines() if line.strip()][-1]
        return f"it raised {last.strip()[:300]}. Fix: read its log below"
    return f"it exited with status {returncode}. Fix: read its log below"


def launch_workers(count: int = 2, recipe: WorkerRecipe | None = None, *, run_dir: str | os.PathLike | None = None,
                   timeout: float = 600.0, start_timeout: float = 180.0, ports: list[int] | None = None,
                   start: list[int] | None = None, kill_worker: int | None = None, kill_after_epoch: int = 1,
                   verbose: bool = True) -> WorkerRun:
    """Run ``count`` ``MultiWorkerMirroredStrategy`` workers on this machine (127.0.0.1) and wait for them.

    Each worker is a fresh Python process (``python -m tlcourse workers --role worker``) with its own
    ``TF_CONFIG``, started in its own process group; it trains ``recipe`` and writes its log, result
    and final weights under ``run_dir/worker-<index>``. The workers run on the CPU (two processes
    would fight over one GPU's memory). When a worker exits with an error, does not join the cluster
    within ``start_timeout`` seconds, or the run passes ``timeout`` seconds, every worker is killed
    and reaped, and ``WorkerError`` says which worker failed, why, the tail of its log and the fix.
    Passing the ``run_dir`` of an interrupted run restarts it: ``keras.callbacks.BackupAndRestore``
    resumes from the last completed epoch.

    Args:
        count: number of workers (each is one replica).
        recipe: what to train (default: ``WorkerRecipe()``).
        run_dir: a new or empty folder, or an interrupted run's folder (default: a new folder under
            ``tlcourse.paths.results_dir()/workers``).
        timeout: seconds the whole run may take.
        start_timeout: seconds each worker has to import TensorFlow and join the cluster.
        ports: one port per worker (default: free ports picked by the system).
        start: the workers to start (default: all); a worker left out never joins, as when a machine
            of the cluster was never started.
        kill_worker: a worker to kill with SIGKILL once every worker has completed
            ``kill_after_epoch`` epochs (fault-tolerance demo): the run then ends in ``WorkerError``.
        kill_after_epoch: see ``kill_worker``; below the recipe's epochs.
        verbose: print one line per event (started, joined, killed, finished).

    Example:
        >>> run = launch_workers(2, WorkerRecipe(global_batch_size=16))  # doctest: +SKIP
        >>> [worker.report["replicas"] for worker in run.workers]  # doctest: +SKIP
        [2, 2]
    """
    from tlcourse.paths import results_dir

    check_int("count", count, minimum=1, maximum=16, fix="use e.g. count=2 (each worker is a process on this machine)")
    recipe = WorkerRecipe() if recipe is None else recipe
    if not isinstance(recipe, WorkerRecipe):
        raise TypeError(f"recipe={recipe!r} is a {type(recipe).__name__}: expected a WorkerRecipe. "
                        "Fix: pass e.g. WorkerRecipe.for_profile(settings.name).")
    recipe.batches(count)  # the global batch must split over the workers
    timeout = check_number("timeout", timeout, above=0.0, fix="give the run seconds, e.g. timeout=600")
    start_timeout = check_number("start_timeout", start_timeout, above=0.0, fix="e.g. start_timeout=180")
    start = list(range(count)) if start is None else [check_int("start item", index, minimum=0, maximum=count - 1,
                                                                fix=f"name workers 0 … {count - 1}") for index in start]
    if kill_worker is not None:
        check_int("kill_worker", kill_worker, minimum=0, maximum=count - 1, fix=f"name a worker 0 … {count - 1}")
        check_int("kill_after_epoch", kill_after_epoch, minimum=1, maximum=recipe.epochs - 1,
                  fix=f"kill between epochs, so that one is left to resume: 1 … {recipe.epochs - 1}")
    if ports is None:
        ports = free_ports(count)
    elif len(ports) != count:
        raise ValueError(f"ports={ports} names {len(ports)} ports for {count} workers. Fix: one port per worker, "
                         "or ports=None to pick free ones.")
    for index, port in enumerate(ports):
        check_int(f"ports[{index}]", port, minimum=1, maximum=65535, fix="use ports=None to pick free ones")
        check_port_free(port, index)
    if run_dir is None:
        run_dir = Path(tempfile.mkdtemp(prefix=time.strftime(f"run-%Y%m%d-%H%M%S-{count}w-"),
                                        dir=_mkdir(results_dir() / "workers")))
    run_dir = Path(run_dir)
    _prepare_run_dir(run_dir, count, recipe)

    package_parent = str(Path(__file__).resolve().parents[1])  # the workers import this very tlcourse
    python_path = os.pathsep.join(p for p in (package_parent, os.environ.get("PYTHONPATH", "")) if p)
    configs = cluster_tf_configs(ports)
    say = print if verbose else (lambda *args, **kwargs: None)
    processes: dict[int, subprocess.Popen] = {}
    workers = {index: WorkerResult(index, 0, None, _worker_dir(run_dir, index) / "log.txt") for index in range(count)}
    began = time.monotonic()
    try:
        for index in start:
            workers[index].log_path.parent.mkdir(parents=True, exist_ok=True)
            (workers[index].log_path.parent / RESULT_FILE).unlink(missing_ok=True)  # an interrupted run's, if any
            env = {**os.environ, "TF_CONFIG": configs[index], "PYTHONPATH": python_path, "CUDA_VISIBLE_DEVICES": "",
                   "PYTHONUNBUFFERED": "1"}
            with open(workers[index].log_path, "ab") as log:  # appended: a restart keeps the killed run's log
                processes[index] = subprocess.Popen(
                    [sys.executable, "-m", "tlcourse", "workers", "--role", "worker", "--index", str(index),
                     "--run-dir", str(run_dir)], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    env=env, cwd=run_dir, start_new_session=True)
            workers[index].pid = processes[index].pid
        say(f"started {len(processes)} of {count} worker(s) on 127.0.0.1 ports {ports} · run folder {run_dir}")
        log_start = {index: workers[index].log_path.stat().st_size for index in processes}
        joined: set[int] = set()
        killed = False
        while True:
            time.sleep(0.05)
            elapsed = time.monotonic() - began
            logs = {index: _read_from(workers[index].log_path, log_start[index]) for index in processes}
            for index, process in processes.items():
                workers[index].returncode = process.poll()
                if index not in joined and READY_MARK in logs[index]:
                    joined.add(index)
                    say(f"worker {index} joined the cluster after {elapsed:.0f} s")
            failed = [index for index, process in processes.items() if process.returncode not in (None, 0)]
            if failed:  # the cause first: a killed worker, then one that died of a signal, then the others
                index = min(failed, key=lambda i: (i != kill_worker or not killed, workers[i].returncode > 0, i))
                why = _why(workers[index].returncode, logs[index])
                if killed and index == kill_worker:
                    why = f"it was killed with SIGKILL after epoch {kill_after_epoch}, as kill_worker asked. " \
                          "Fix: restart the cluster with the same run_dir to resume"
                raise WorkerError(f"worker {index} (pid {workers[index].pid}) failed after {elapsed:.0f} s: {why}.\n"
                                  f"  Its log ({workers[index].log_path}) ends:\n{_log_tail(logs[index])}",
                                  index, list(workers.values()))
            if all(process.returncode == 0 for process in processes.values()):
                if len(processes) == count:
                    break
            late = [index for index in range(count) if index not in joined]
            if late and elapsed > start_timeout:
                index = min(late, key=lambda i: (i in processes, i))  # a worker never started is the cause
                never = index not in processes
                what = ("was never started (start=" + str(start) + ")") if never else "started but did not join"
                raise WorkerError(
                    f"worker {index} {what}: the cluster did not come together within start_timeout="
                    f"{start_timeout:g} s, so every worker was stopped (workers {sorted(joined) or 'none'} had joined, "
                    f"waiting for the rest). Fix: start every worker named in TF_CONFIG (each machine with its own "
                    f"index) and check that each can reach the others' host:port; on a slow machine pass a larger "
                    f"start_timeout." + ("" if never else f"\n  Its log ends:\n{_log_tail(logs[index])}"),
                    index, list(workers.values()))
            if elapsed > timeout:
                raise WorkerError(f"the run passed timeout={timeout:g} s, so every worker was stopped "
                                  f"(epochs completed: { {i: _epochs_done(logs[i]) for i in processes} }). "
                                  "Fix: pass a larger timeout, or a smaller recipe.", None, list(workers.values()))
            if kill_worker is not None and not killed and len(joined) == count and all(
                    _epochs_done(logs[index]) >= kill_after_epoch for index in processes):
                os.killpg(processes[kill_worker].pid, signal.SIGKILL)
                killed = True
                say(f"killed worker {kill_worker} (SIGKILL) after epoch {kill_after_epoch} of {recipe.epochs}")
    finally:
        _stop(processes)
        for index, process in processes.items():
            workers[index].returncode = process.returncode
    for worker in workers.values():
        worker.report = json.loads((worker.log_path.parent / RESULT_FILE).read_text())
    run = WorkerRun(run_dir, list(workers.values()), time.monotonic() - began)
    say(f"all {count} worker(s) finished in {run.seconds:.0f} s")
    return run


def launch_side_by_side(clusters: dict[str, tuple[int, WorkerRecipe]], folder: str | os.PathLike | None = None,
                        **kwargs: Any) -> dict[str, WorkerRun]:
    """Run several independent clusters at the same time (one thread each); return their runs by name.

    ``clusters`` maps a name to ``(count, recipe)``; ``kwargs`` go to every ``launch_workers`` call.
    Each cluster gets a new run folder (``folder/cluster-<i>`` when ``folder`` is given). Used to
    compare 1 and 2 workers without waiting twice.

    Example:
        >>> runs = launch_side_by_side({"1 worker": (1, WorkerRecipe(global_batch_size=16)),
        ...                             "2 workers": (2, WorkerRecipe(global_batch_size=16))})  # doctest: +SKIP
    """
    from concurrent.futures import ThreadPoolExecutor

    if not isinstance(clusters, dict) or not clusters:
        raise ValueError(f"clusters={clusters!r}: expected a dict of name → (count, recipe). "
                         'Fix: e.g. {"2 workers": (2, WorkerRecipe())}.')
    if "run_dir" in kwargs:
        raise ValueError("run_dir cannot be shared by several clusters. Fix: pass folder= (each cluster gets "
                         "a new folder in it), or leave it out.")
    given_ports = kwargs.pop("ports", None)  # shared by every cluster, as before (launch_workers checks them)
    ports: dict[str, list[int] | None] = {name: given_ports for name in clusters}
    counts = [spec[0] if isinstance(spec, tuple) and spec else None for spec in clusters.values()]
    if given_ports is None and all(
            isinstance(count, int) and not isinstance(count, bool) and 1 <= count <= 16 for count in counts):
        # every cluster's ports picked in one call, so they are distinct: picked one cluster at a time, a port
        # just released by one cluster's check could be handed to another, which would then find it taken
        picked = iter(free_ports(sum(counts)))
        ports = {name: [next(picked) for _ in range(count)] for name, count in zip(clusters, counts)}
    with ThreadPoolExecutor(len(clusters)) as pool:
        futures = {name: pool.submit(launch_workers, count, recipe, **kwargs, ports=ports[name],
                                     run_dir=None if folder is None else Path(folder) / f"cluster-{i}")
                   for i, (name, (count, recipe)) in enumerate(clusters.items())}
        return {name: future.result() for name, future in futures.items()}


def _read_from(path: Path, offset: int) -> str:
    """The part of a log written by this launch (a restart appends to the killed run's log)."""
    with open(path, "rb") as log:
        log.seek(offset)
        return log.read().decode(errors="replace")


def _epochs_done(log: str) -> int:
    """Epochs completed (and backed up) according to a worker's log, 0 before the first."""
    marks = [int(line.split()[-1]) for line in log.splitlines() if line.startswith(EPOCH_MARK)]
    return max(marks, default=0)


def _stop(processes: dict[int, subprocess.Popen]) -> None:
    """Kill every worker's whole process group that is still running, and reap them all."""
    for process in processes.values():
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    for process in processes.values():
        process.wait()


def max_weight_difference(first: list[np.ndarray], second: list[np.ndarray]) -> float:
    """Return the largest absolute difference between two models' weights (same architecture).

    Example:
        >>> max_weight_difference([np.ones(3)], [np.array([1.0, 1.5, 1.0])])
        0.5
    """
    if len(first) != len(second) or any(a.shape != b.shape for a, b in zip(first, second)):
        raise ValueError(f"the two weight lists have shapes {[a.shape for a in first]} and "
                         f"{[b.shape for b in second]}: expected the same model. Fix: compare runs of one recipe.")
    return max(float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) for a, b in zip(first, second))


def fix_keras_multiworker() -> None:
    """Work around two Keras 3 bugs that make ``fit`` fail under ``MultiWorkerMirroredStrategy`` (2+ workers).

    Checked on Keras 3.15.1 with TF 2.21 (keras-team/keras#20585 reports ``fit`` broken under this
    strategy since TF 2.16); with one worker neither bug shows:

    1. Before training, ``fit`` takes the first *distributed* batch and calls
       ``strategy.reduce("MEAN", (x, y), axis=None)`` on it only to learn the input shapes
       (``_maybe_symbolic_build``). ``MultiWorkerMirroredStrategy`` cannot reduce a tuple: "Attempt to
       convert a value (PerReplica…) … to a Tensor". Fixed here: the shapes come from this worker's
       own slice of that batch, no reduce.
    2. Every step, the logs (loss and metrics, scalars) are averaged with
       ``strategy.reduce("MEAN", value, axis=0)``: "Invalid reduction dimension 0 for input with 0
       dimensions". Fixed here: each worker reports its own copy, which is already the global value
       (Keras metric variables are summed across all replicas when they are updated).

    Training itself (gradients, all-reduce, optimizer) is untouched. It patches two private Keras
    functions in this process only and is idempotent; a newer Keras may not need it (or break it):
    remove it then.

    Example:
        >>> fix_keras_multiworker()  # doctest: +SKIP
    """
    from keras.src.backend.tensorflow import trainer as tf_trainer

    if getattr(tf_trainer, "_tlcourse_multiworker_fix", False):
        return
    multi_worker = tf_trainer._collective_all_reduce_multi_worker  # noqa: SLF001
    original_build = tf_trainer.TensorFlowTrainer._maybe_symbolic_build  # noqa: SLF001
    original_reduce = tf_trainer.reduce_per_replica

    def _maybe_symbolic_build(self: Any, iterator: Any = None, data_batch: Any = None) -> Any:
        strategy = self._distribute_strategy  # noqa: SLF001
        if iterator is None or strategy is None or not multi_worker(strategy):
            return original_build(self, iterator=iterator, data_batch=data_batch)
        for _, _, batches in iterator:  # as Keras does: peek at the first batch
            local = strategy.experimental_local_results
            data_batch = tf.nest.map_structure(
                lambda value: local(value)[0] if isinstance(value, tf.distribute.DistributedValues) else value,
                next(batches))
            break
        return original_build(self, data_batch=data_batch)

    def reduce_per_replica(values: Any, strategy: Any, reduction: str) -> Any:
        if reduction in ("auto", "mean") and multi_worker(strategy):
            reduction = "first"
        return original_reduce(values, strategy, reduction)

    tf_trainer.TensorFlowTrainer._maybe_symbolic_build = _maybe_symbolic_build  # noqa: SLF001
    tf_trainer.reduce_per_replica = reduce_per_replica
    tf_trainer._tlcourse_multiworker_fix = True  # noqa: SLF001


def _build_worker_model(recipe: WorkerRecipe, num_classes: int) -> tuple[Any, Any]:
    """A tiny CNN with BatchNormalization (the 'pretrained' base, here seeded) and a logits head."""
    import keras
    from keras import layers

    seed = keras.random.SeedGenerator(recipe.seed)
    inputs = keras.Input(shape=(recipe.image_size, recipe.image_size, 3))
    x = layers.Rescaling(1 / 255)(inputs)
    for filters in (8, 16):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False,
                          kernel_initializer=keras.initializers.GlorotUniform(seed=seed))(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D()(x)
    base = keras.Model(inputs, layers.GlobalAveragePooling2D()(x), name="base")
    image = keras.Input(shape=(recipe.image_size, recipe.image_size, 3))
    logits = layers.Dense(num_classes, dtype="float32", name="logits",
                          kernel_initializer=keras.initializers.GlorotUniform(seed=seed))(base(image, training=False))
    return keras.Model(image, logits), base


def run_worker(run_dir: str | os.PathLike, index: int) -> dict[str, Any]:
    """The worker side of ``launch_workers``: join the cluster in ``TF_CONFIG``, train, write the result.

    Runs in its own process (``python -m tlcourse workers --role worker --index I --run-dir DIR``);
    the same function runs unchanged on real machines, each with its own ``TF_CONFIG``.
    """
    import keras

    from tlcourse import shapes
    from tlcourse.models import unfreeze_top

    began = time.monotonic()
    run_dir = Path(run_dir)
    config = json.loads((run_dir / CONFIG_FILE).read_text())
    recipe = WorkerRecipe(**config["recipe"])
    keras.utils.set_random_seed(recipe.seed)
    tf.config.experimental.enable_op_determinism()
    fix_keras_multiworker()  # Keras 3's fit fails under MultiWorkerMirroredStrategy without it (see there)
    strategy = make_strategy("multiworker")  # first TensorFlow work of the program: joins the cluster
    replicas = strategy.num_replicas_in_sync
    resolver = strategy.cluster_resolver
    implementation = strategy.extended._communication_options.implementation.name  # noqa: SLF001 (no public getter)
    print(f"{READY_MARK} worker {resolver.task_id} of {len(resolver.cluster_spec().as_dict()['worker'])}: "
          f"{replicas} replica(s) in sync, all-reduce {implementation}", flush=True)

    global_batch, learning_rate = recipe.batches(replicas)
    x_train, y_train = shapes.make_shapes(CLASSES, recipe.examples_per_class, recipe.image_size, seed=recipe.seed)
    x_val, y_val = shapes.make_shapes(CLASSES, recipe.val_examples_per_class, recipe.image_size, seed=recipe.seed + 1)

    def batches(x, y):  # whole global batches, the same order every epoch, each worker keeps its share
        ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(global_batch).take(len(x) // global_batch)
        return shard_by_data(ds)

    train_ds, val_ds = batches(x_train, y_train), batches(x_val, y_val)
    with strategy.scope():
        model, base = _build_worker_model(recipe, len(CLASSES))
        base.trainable = False
        model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    epochs_run: list[int] = []
    marks = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: epochs_run.append(epoch),
        on_epoch_end=lambda epoch, logs: print(f"{EPOCH_MARK} {epoch + 1}", flush=True))

    def callbacks(phase: str) -> list:
        # Keras 3's BackupAndRestore is not multi-worker aware (tf.keras's wrote from the chief only):
        # each worker keeps its own backup. The phase-1 backup is kept, so a restart skips a finished phase 1.
        listed = [keras.callbacks.BackupAndRestore(str(_backup_dir(run_dir, index, phase)),
                                                   delete_checkpoint=phase != "head")]
        if index == 0:  # the chief keeps the best weights on validation
            listed.append(keras.callbacks.ModelCheckpoint(str(run_dir / BEST_WEIGHTS_FILE), monitor="val_loss",
                                                          save_best_only=True, save_weights_only=True))
        return [*listed, marks]  # marks last: an epoch is announced once it is backed up

    history_head = model.fit(train_ds, validation_data=val_ds, epochs=recipe.head_epochs, shuffle=False,
                             callbacks=callbacks("head"), verbose=2)
    unfreeze_top(base, recipe.unfreeze_layers)  # BatchNormalization stays frozen
    with strategy.scope():
        model.compile(optimizer=keras.optimizers.Adam(learning_rate / 10),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    history_fine = model.fit(train_ds, validation_data=val_ds, initial_epoch=recipe.head_epochs, epochs=recipe.epochs,
                             shuffle=False, callbacks=callbacks("fine_tune"), verbose=2)
    shutil.rmtree(_backup_dir(run_dir, index, "head"), ignore_errors=True)  # the run is complete

    folder = _worker_dir(run_dir, index)
    temporary = folder / f".{WEIGHTS_FILE}.tmp.npz"
    np.savez(temporary, **{f"w{i}": np.asarray(w) for i, w in enumerate(model.get_weights())})
    os.replace(temporary, folder / WEIGHTS_FILE)
    report = {
        "index": index, "task": f"{resolver.task_type} {resolver.task_id}", "replicas": replicas,
        "all_reduce": implementation, "global_batch_size": global_batch, "learning_rate": learning_rate,
        "steps_per_epoch": len(x_train) // global_batch, "first_epoch": min(epochs_run, default=recipe.epochs),
        "epochs_run": epochs_run, "trainable_params": int(sum(np.prod(v.shape) for v in model.trainable_weights)),
        "params": int(model.count_params()),
        "loss": history_head.history.get("loss", []) + history_fine.history.get("loss", []),
        "val_loss": history_head.history.get("val_loss", []) + history_fine.history.get("val_loss", []),
        "seconds": round(time.monotonic() - began, 1),
    }
    _write_json(folder / RESULT_FILE, report)
    return report


def main(argv: list[str] | None = None) -> int:
    """``python -m tlcourse workers --count 2``: run ``launch_workers`` and print each worker's report."""
    parser = argparse.ArgumentParser(prog="python -m tlcourse workers",
                                     description="Run MultiWorkerMirroredStrategy workers on this machine.")
    parser.add_argument("--count", type=int, default=2, help="number of worker processes (default 2)")
    parser.add_argument("--profile", default=None, help="recipe size: smoke, quick or full (default: the course's)")
    parser.add_argument("--global-batch-size", type=int, default=None,
                        help="keep this global batch whatever the count (default: 8 per worker)")
    parser.add_argument("--run-dir", default=None, help="a new folder, or an interrupted run's folder to resume it")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds for the whole run (default 600)")
    parser.add_argument("--start-timeout", type=float, default=180.0, help="seconds to join (default 180)")
    parser.add_argument("--role", choices=("launcher", "worker"), default="launcher", help=argparse.SUPPRESS)
    parser.add_argument("--index", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.role == "worker":
        run_worker(args.run_dir, args.index)
        return 0
    from tlcourse.settings import profile_name

    recipe = WorkerRecipe.for_profile(args.profile or profile_name(), global_batch_size=args.global_batch_size)
    try:
        run = launch_workers(args.count, recipe, run_dir=args.run_dir, timeout=args.timeout,
                             start_timeout=args.start_timeout)
    except (WorkerError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for worker in run.workers:
        report = worker.report
        print(f"worker {worker.index}: {report['replicas']} replicas, all-reduce {report['all_reduce']}, "
              f"global batch {report['global_batch_size']}, final loss {report['loss'][-1]:.4f}, "
              f"{report['seconds']:.0f} s")
    return 0
