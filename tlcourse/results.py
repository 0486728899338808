"""Small JSON result records, so later notebooks can compare against earlier ones.

One file per experiment and profile: ``results/<profile>/<name>.json`` (``tlcourse.paths``
says where ``results/`` is). Smoke runs never overwrite a real run's record. Records are written
atomically (``tlcourse.files``): a kernel killed while saving, a full disk or a second kernel
saving at the same time never leaves a half-written record, and readers never see one.
"""

from __future__ import annotations

import datetime
import errno
import json
import math
import numbers
import os
import re
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tlcourse.checks import check_choice, check_number, check_rows, check_text
from tlcourse.files import write_atomically
from tlcourse.paths import RESULTS_ENV, results_dir
from tlcourse.settings import PROFILES
from tlcourse.stats import Verdict, compare_seeds, interval_of_mean

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def _check_name(name: str) -> None:
    if not isinstance(name, str):
        raise TypeError(f"name={name!r} is a {type(name).__name__}: expected a string. Fix: name the "
                        "experiment, e.g. '02_scratch_cnn'.")
    if not _NAME.match(name):
        raise ValueError(
            f"Result name {name!r} must be lowercase letters, digits, '_' or '-' "
            "(it becomes a file name), e.g. '02_scratch_cnn'."
        )


def result_path(name: str, profile: str) -> Path:
    """Return the JSON file of result ``name`` for ``profile``.

    Example:
        >>> result_path("02_scratch_cnn", "smoke").name
        '02_scratch_cnn.json'
    """
    _check_name(name)
    check_text("profile", profile, fix="pass settings.name")
    check_choice("profile", profile, sorted(PROFILES), fix="pass settings.name")
    return results_dir() / profile / f"{name}.json"


def _plain(value: Any, where: str) -> Any:
    if isinstance(value, dict):
        plain, keys = {}, {}
        for key, item in value.items():
            text = str(key)  # JSON keys are strings
            if text in keys:
                raise ValueError(f"{where} has the keys {keys[text]!r} and {key!r}, which both become {text!r} in JSON: "
                                 "one value would be lost. Fix: keep one of them, or give them distinct names.")
            keys[text], plain[text] = key, _plain(item, f"{where}[{key!r}]")
        return plain
    if isinstance(value, (list, tuple)):
        return [_plain(item, f"{where}[{index}]") for index, item in enumerate(value)]
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):  # TF / Keras tensors
        value = np.asarray(value.numpy())
    if isinstance(value, np.ndarray):
        return _plain(value.tolist(), where)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where}={value!r} is not a finite number: JSON has no NaN or Infinity (a "
                         "record holding them is unreadable by standard tools). Fix: find out why it is "
                         "not finite (diverged training?), or store None for a missing value.")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise ValueError(f"Cannot store {type(value).__name__} {value!r} in a result record ({where}): use "
                     "numbers, strings, lists or dicts.")


def _writable_folder(path: Path) -> None:
    for parent in (path.parent, *path.parent.parents):
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(f"The results folder {path.parent} cannot be created: {parent} is a file. "
                                 f"Fix: set {RESULTS_ENV} to a folder path (or unset it).")
            return


def save_result(name: str, profile: str, /, **fields: Any) -> Path:
    """Write a result record and return its path. Numbers from NumPy/Keras are converted.

    Args:
        name: the experiment, e.g. ``"02_scratch_cnn"``.
        profile: the profile it ran in (``settings.name``).
        **fields: what to keep: accuracies, parameter counts, seconds, epochs…

    Raises:
        ValueError: a bad name or profile, a reserved field, a value that JSON cannot hold
            (NaN, Infinity, objects), or a results folder that cannot be written.

    Example:
        >>> save_result("02_scratch_cnn", "smoke", test_accuracy=0.25)  # doctest: +SKIP
        PosixPath('.../results/smoke/02_scratch_cnn.json')
    """
    path = result_path(name, profile)
    reserved = {"name", "profile", "saved"} & set(fields)
    if reserved:
        raise ValueError(f"{sorted(reserved)} are filled in by save_result. Fix: rename those fields, e.g. "
                         f"{sorted(reserved)[0]}_of_run=….")
    record = {"name": name, "profile": profile,
              "saved": datetime.datetime.now().isoformat(timespec="seconds"), **_plain(fields, "fields")}
    text = json.dumps(record, indent=2, sort_keys=True, allow_nan=False) + "\n"
    _writable_folder(path)
    target = Path(os.path.realpath(path))
    if path.is_symlink() and not target.parent.is_dir():
        raise ValueError(f"The result record {path} is a symbolic link to {target}, whose folder does not exist. Fix: "
                         f"delete the link (`rm {path}`) or create {target.parent}, and run the cell again.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, text.encode("utf-8"))  # a crash or a full disk keeps the old record
    except OSError as error:
        if error.errno == errno.ENOSPC:
            fix = "free some disk space (or set {RESULTS_ENV} to a folder on another disk)"
        else:
            fix = f"set {RESULTS_ENV} to a folder you can write to, e.g. `%env {RESULTS_ENV}=/tmp/results`"
        raise ValueError(f"Cannot write the result record {path} ({error.strerror or error}); the previous "
                         f"record, if any, is unchanged. Fix: {fix.format(RESULTS_ENV=RESULTS_ENV)}, and run "
                         "the cell again.") from error
    return path


def load_result(name: str, profile: str) -> dict[str, Any] | None:
    """Return the record saved by ``save_result(name, profile, ...)``, or ``None`` if there is none.

    Example:
        >>> load_result("no_such_experiment", "smoke") is None
        True
    """
    path = result_path(name, profile)
    fix = "Delete it and rerun the notebook that writes it."
    if path.exists() and not path.is_file():
        raise ValueError(f"Result file {path} is a folder, not a record. {fix}")
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"Result file {path} is not valid JSON ({error}). {fix}") from error
    except OSError as error:
        raise ValueError(f"Cannot read the result file {path} ({error.strerror or error}). Fix: check "
                         f"its permissions, or point {RESULTS_ENV} at a readable folder.") from error
    if not isinstance(record, dict):
        raise ValueError(f"Result file {path} holds a {type(record).__name__}, not a record. {fix}")
    return record


def format_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """Format ``rows`` as an aligned text table of ``columns``: numbers right, text left.

    Floats get 3 decimals; a missing value shows as ``—``. No rows give the header and a
    ``(no rows)`` line, so an empty selection is visible rather than silent.

    Example:
        >>> print(format_table([{"model": "cnn", "accuracy": 0.5}], ["model", "accuracy"]))
        model  accuracy
        cnn       0.500
    """
    rows = check_rows("rows", rows, allow_empty=True)
    if isinstance(columns, (str, bytes)) or not isinstance(columns, Sequence):
        raise TypeError(f"columns={columns!r} is a {type(columns).__name__}: expected a list of column "
                        "names. Fix: e.g. columns=['model', 'accuracy'].")
    if not columns:
        raise ValueError("columns=[] is empty: expected at least one column name. Fix: e.g. "
                         "columns=['model', 'accuracy'].")
    for index, column in enumerate(columns):
        check_text(f"columns[{index}]", column, fix="name each column with a string")

    def cell(value: Any) -> tuple[str, bool]:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            return ("—" if value is None else str(value)), False
        return (f"{value:.3f}" if isinstance(value, (float, np.floating)) else str(value)), True

    body = [[cell(row.get(column)) for column in columns] for row in rows]
    widths = [max([len(column)] + [len(line[i][0]) for line in body]) for i, column in enumerate(columns)]
    lines = ["  ".join(column.ljust(width) for column, width in zip(columns, widths)).rstrip()]
    for line in body:
        parts = [text.rjust(width) if numeric else text.ljust(width)
                 for (text, numeric), width in zip(line, widths)]
        lines.append("  ".join(parts).rstrip())
    if not body:
        lines.append("(no rows)")
    return "\n".join(lines)


def _x_order(value: Any) -> tuple[int, str, Any]:
    """Sort key for ``x`` values: numbers ascending (ints and floats together), then other values by type
    and text, ``None`` ("every example") last.

    Example:
        >>> sorted([None, 10.0, 3, "all", 2.5], key=_x_order)
        [2.5, 3, 10.0, 'all', None]
    """
    if value is None:
        return 2, "", 0.0
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
        return 0, "", float(value)
    return 1, type(value).__name__, str(value)


def summarize_runs(rows: Sequence[dict[str, Any]], x: str = "labels_per_class",
                   value: str = "test_accuracy") -> list[dict[str, Any]]:
    """Mean, 95 % interval and standard deviation of ``value`` over seeds, per (``method``, ``x``).

    Each row is one run (e.g. from ``tlcourse.lab.run_sweep``). Methods keep the order in which
    they first appear; ``x`` values are sorted, ``None`` (every example, as from
    ``little_data.nested_subsets``) last. ``low``/``high`` are the 95 % t interval of the mean
    (``stats.interval_of_mean``, the course's one error bar; both equal the mean for a single run);
    the standard deviation is the sample one (``statistics.stdev``), 0 for a single run. Empty
    ``rows`` raise ``ValueError`` (there is nothing to summarise), as do rows lacking ``method``,
    ``x`` or ``value``.

    Example:
        >>> rows = [{"method": "frozen", "labels_per_class": 3, "test_accuracy": a} for a in (0.5, 0.7)]
        >>> summarize_runs(rows)  # doctest: +ELLIPSIS
        [{'method': 'frozen', 'labels_per_class': 3, 'mean': 0.6, 'low': 0.0, 'high': 1.0, 'std': 0.14..., 'runs': 2}]
    """
    rows = check_rows("rows", rows, ["method", x, value], fix="pass the rows of at least one run")
    groups: dict[tuple[Any, Any], list[float]] = {}
    for index, row in enumerate(rows):
        number = check_number(f"rows[{index}][{value!r}]", row[value],
                              fix="every run needs a finite score (a NaN means the run failed)")
        groups.setdefault((row["method"], row[x]), []).append(number)
    methods = list(dict.fromkeys(method for method, _ in groups))
    summary = []
    order = lambda item: (methods.index(item[0][0]), _x_order(item[0][1]))  # noqa: E731
    for (method, key), values in sorted(groups.items(), key=order):
        mean, low, high = interval_of_mean(values)
        summary.append({"method": method, x: key, "mean": mean, "low": low, "high": high,
                        "std": statistics.stdev(values) if len(values) > 1 else 0.0, "runs": len(values)})
    return summary


def mean_accuracy(summary: Sequence[dict[str, Any]], method: str, labels_per_class: int) -> float:
    """Return the mean of ``method`` at ``labels_per_class`` from ``summarize_runs``'s rows.

    Example:
        >>> mean_accuracy([{"method": "frozen", "labels_per_class": 3, "mean": 0.6}], "frozen", 3)
        0.6
    """
    summary = check_rows("summary", summary, ["method", "labels_per_class", "mean"],
                         fix="pass summarize_runs(rows)")
    for row in summary:
        if row["method"] == method and row["labels_per_class"] == labels_per_class:
            return row["mean"]
    raise ValueError(f"No row for method={method!r}, labels_per_class={labels_per_class!r} in the "
                     "summary; pass values that the sweep ran.")


def compare_recipes(rows: Sequence[dict[str, Any]], first: str, second: str, *, x: str = "labels_per_class",
                    value: str = "test_accuracy") -> dict[Any, Verdict]:
    """Compare two recipes of a sweep at every ``x`` value with the course's one rule.

    For each ``x`` value (e.g. labels per class) the scores of ``first`` and ``second`` are
    paired by ``seed`` and passed to ``tlcourse.stats.compare_seeds``: the paired differences,
    their 95 % t interval and a verdict in words (none from a single seed). Introduced in
    notebook 01; the rule is explained in notebook 05.

    Args:
        rows: one dict per run with ``method``, ``seed``, ``x`` and ``value`` (e.g. the rows of
            ``tlcourse.lab.run_sweep`` or notebook 05's grid).
        first, second: the two methods to compare (``first − second``).
        x: the key that groups the runs.
        value: the score to compare, between 0 and 1.

    Returns:
        ``{x value: Verdict}``, sorted by ``x``.

    Raises:
        ValueError: a method with no run, or an ``x`` value where the two methods ran other seeds.

    Example:
        >>> rows = [{"method": m, "labels_per_class": 3, "seed": s, "test_accuracy": a}
        ...         for m, scores in (("frozen", (0.70, 0.74, 0.72)), ("scratch", (0.50, 0.52, 0.55)))
        ...         for s, a in enumerate(scores)]
        >>> print(compare_recipes(rows, "frozen", "scratch")[3])
        frozen ahead by 19.7 points (95 % CI +13.4 to +25.9 points, 3 seeds)
    """
    first = check_text("first", first, fix="name a method of the sweep, e.g. 'frozen'")
    second = check_text("second", second, fix="name a method of the sweep, e.g. 'scratch'")
    rows = check_rows("rows", rows, ["method", "seed", x, value], fix="pass the rows of a sweep")
    scores: dict[str, dict[Any, dict[Any, float]]] = {first: {}, second: {}}
    for row in rows:
        if row["method"] in scores:
            runs = scores[row["method"]].setdefault(row[x], {})
            if row["seed"] in runs:  # a dict keeps one score per seed: the other would vanish without a word
                raise ValueError(f"seed {row['seed']!r} appears twice for method={row['method']!r}, {x}={row[x]!r}: "
                                 "expected one run per seed. Fix: drop the duplicated rows (a rerun appended "
                                 "twice?), or give each run its own seed.")
            runs[row["seed"]] = row[value]
    for method in (first, second):
        if not scores[method]:
            found = sorted({str(row["method"]) for row in rows})
            raise ValueError(f"no run of method={method!r} in rows: expected one of {found}. Fix: pass a method "
                             "the sweep ran.")
    shared = set(scores[first]) & set(scores[second])
    if not shared:
        raise ValueError(f"{first!r} ran at {x}={sorted(map(str, scores[first]))} and {second!r} at "
                         f"{sorted(map(str, scores[second]))}: expected at least one {x} value both ran. Fix: run "
                         "both methods on the same grid.")
    return {key: compare_seeds(scores[first][key], scores[second][key], (first, second))
            for key in sorted(shared, key=_x_order)}


def format_summary(summary: Sequence[dict[str, Any]], x: str = "labels_per_class") -> str:
    """Format ``summarize_runs``'s rows as a table: one line per ``x`` value, one column per method.

    ``x`` values are sorted, ``None`` (every example) last and shown as ``all``. Empty ``summary``
    raises ``ValueError``.

    Example:
        >>> print(format_summary([{"method": "frozen", "labels_per_class": 3, "mean": 0.6, "std": 0.1, "runs": 2}]))
        labels_per_class  frozen
        3                 60.0 ± 10.0 %
    """
    summary = check_rows("summary", summary, ["method", x, "mean", "std"], fix="pass summarize_runs(rows)")
    methods = list(dict.fromkeys(row["method"] for row in summary))
    cells = {(row["method"], row[x]): f"{100 * row['mean']:.1f} ± {100 * row['std']:.1f} %" for row in summary}
    table = [{x: "all" if key is None else str(key), **{method: cells.get((method, key), "—") for method in methods}}
             for key in sorted({row[x] for row in summary}, key=_x_order)]
    return format_table(table, [x, *methods])


def _last_number(value: Any) -> float | None:
    """A number, or the last number of a list (a per-epoch history); ``None`` otherwise."""
    if isinstance(value, (list, tuple)):
        value = value[-1] if value else None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        return None
    return float(value)


_MODEL_NAMES = {"02_scratch_cnn": "CNN from scratch", "03_frozen_mobilenetv2": "frozen MobileNetV2 + head",
                "08_fine_tuning": "fine-tuned MobileNetV2"}  # records that name no model


def comparison_rows(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Turn one result record into rows for a comparison table of models (notebook 09).

    Each row has ``model``, ``notebook`` (the record's number, e.g. ``"03"``), ``test_accuracy``,
    ``val_accuracy``, ``trainable_params``, ``train_seconds`` and ``note``; a value the record
    does not hold is ``None`` (shown as ``—`` by ``format_table``). The records differ by
    notebook, and each shape is read as follows:

    - top-level ``test_accuracy`` / ``val_accuracy`` (notebooks 02, 03, 08, 09): one row, named
      by the record's ``model`` field (or a name for 02, 03 and 08's records);
    - ``contenders`` (04): one row per contender; its validation accuracy after the last epoch
      and its ``total_s`` as train seconds;
    - ``summary`` (05, from ``summarize_runs``): one row per method at its largest number of
      labelled examples, the mean test accuracy over seeds;
    - ``clean_test_accuracy`` (06): one row per model, on the unshifted test images;
    - ``probes`` (07): one row per backbone, the validation accuracy of a linear probe.

    A record in none of these shapes gives no rows (the caller can say so). Accuracies from
    different notebooks come from different setups (subsets, epochs, their own test slices):
    the ``note`` says which, and a table of them is a rough comparison, not a benchmark.

    Args:
        record: a dict from ``load_result``.

    Example:
        >>> rows = comparison_rows({"name": "03_frozen_mobilenetv2", "test_accuracy": 0.8,
        ...                         "trainable_params": 6405, "train_seconds": 12.0, "epochs": 5})
        >>> rows[0]["notebook"], rows[0]["test_accuracy"], rows[0]["note"]
        ('03', 0.8, '5 epoch(s)')
    """
    if not isinstance(record, dict):
        raise TypeError(f"record={record!r} is a {type(record).__name__}: expected a dict from "
                        "tlcourse.results.load_result(name, settings.name).")
    name = str(record.get("name", "?"))
    notebook = name.split("_", 1)[0]

    def row(model: str, *, test: Any = None, val: Any = None, params: Any = None,
            seconds: Any = None, note: str = "") -> dict[str, Any]:
        params = _last_number(params)
        return {"model": model, "notebook": notebook, "test_accuracy": _last_number(test),
                "val_accuracy": _last_number(val), "trainable_params": None if params is None else int(params),
                "train_seconds": _last_number(seconds), "note": note}

    rows: list[dict[str, Any]] = []
    if _last_number(record.get("test_accuracy")) is not None or _last_number(record.get("val_accuracy")) is not None:
        epochs, fine_tune = record.get("epochs", record.get("epochs_head")), record.get("epochs_fine_tune")
        note = f"{epochs} epoch(s)" if isinstance(epochs, int) else ""
        if note and isinstance(fine_tune, int):
            note = f"{epochs} head + {fine_tune} fine-tuning epoch(s)"
        rows.append(row(str(record.get("model", _MODEL_NAMES.get(name, name))), test=record.get("test_accuracy"),
                        val=record.get("val_accuracy"), params=record.get("trainable_params"),
                        seconds=record.get("train_seconds"), note=note))
    for contender in record.get("contenders") or []:
        if isinstance(contender, dict):
            rows.append(row(str(contender.get("contender", "?")), val=contender.get("val_accuracy"),
                            params=contender.get("trainable_params"), seconds=contender.get("total_s"),
                            note="time to train; validation only"))
    summary = [item for item in record.get("summary") or [] if isinstance(item, dict) and "method" in item]
    for method in dict.fromkeys(item["method"] for item in summary):
        points = [item for item in summary if item["method"] == method]
        largest = max(points, key=lambda item: (item.get("labels_per_class") is None,
                                                item.get("labels_per_class") or 0))
        labels = largest.get("labels_per_class")
        rows.append(row(str(method), test=largest.get("mean"),
                        note=f"{labels if labels is not None else 'all'} labelled image(s) per class, "
                             f"mean of {largest.get('runs', '?')} seed(s)"))
    clean = record.get("clean_test_accuracy")
    if isinstance(clean, dict):
        for model, accuracy in clean.items():
            rows.append(row(str(model), test=accuracy, note="unshifted test images"))
    for probe in record.get("probes") or []:
        if isinstance(probe, dict):
            rows.append(row(f"{probe.get('backbone', '?')} probe", val=probe.get("val_accuracy"),
                            note="linear probe on cached features; validation only"))
    return rows
