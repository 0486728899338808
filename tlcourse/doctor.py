"""What is ready and what is not: ``python -m tlcourse doctor``.

One line per check (✓ ready, ✗ a problem for the active profile, ! worth knowing but not blocking),
each problem with the command that fixes it. Exit code 0 when everything the active profile needs
is ready, 1 otherwise. It downloads nothing and waits at most ``NETWORK_TIMEOUT`` seconds.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import socket
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tlcourse.checks import check_choice, check_text

NETWORK_HOST = "storage.googleapis.com"
NETWORK_TIMEOUT = 3.0
PREFETCH_COMMAND = "python -m tlcourse prefetch"
HUB_FIX = 'pip install "tlcourse[hub]"'
MIN_FREE_GB = 2.0
# Used when tlcourse's metadata is not installed (running from a clone without `pip install -e .`);
# keep in step with pyproject.toml.
SUPPORTED = {"tensorflow": ">=2.20", "keras": ">=3.12", "tensorflow-datasets": ">=4.9.9"}
# keras.applications' cache file names for ImageNet weights without the top (see each module in
# keras/src/applications); only MobileNetV2's depends on the input size.
WEIGHT_FILES = {
    "MobileNetV2": "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{size}_no_top.h5",
    "MobileNetV3Small": "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5",
    "ResNet50": "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "EfficientNetB0": "efficientnetb0_notop.h5",
    "InceptionV3": "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "VGG16": "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "Xception": "xception_weights_tf_dim_ordering_tf_kernels_notop.h5",
}


@dataclass(frozen=True)
class Check:
    """One line of the report. ``needed=False``: a failure is shown as ``!`` and does not fail."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    needed: bool = True

    @property
    def mark(self) -> str:
        """``✓``, ``✗`` or ``!``."""
        return "✓" if self.ok else ("✗" if self.needed else "!")


def weight_file(backbone: str, image_size: int) -> str:
    """Return the file name Keras caches ``backbone``'s no-top ImageNet weights under.

    Example:
        >>> weight_file("MobileNetV2", 160)
        'mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_160_no_top.h5'
    """
    check_choice("backbone", backbone, WEIGHT_FILES, fix="add the backbone to tlcourse.doctor.WEIGHT_FILES")
    return WEIGHT_FILES[backbone].format(size=image_size)


def preset_folder(handle: str, cache: str) -> Path:
    """Return the folder kagglehub keeps model ``handle`` in under ``cache`` (its ``KAGGLEHUB_CACHE``).

    kagglehub's layout: ``<cache>/models/<owner>/<model>/<framework>/<variation>/<version>``.

    Example:
        >>> preset_folder("keras/bert/keras/bert_tiny_en_uncased/3", "data/kagglehub").as_posix()
        'data/kagglehub/models/keras/bert/keras/bert_tiny_en_uncased/3'
    """
    parts = check_text("handle", handle).removeprefix("kaggle://").split("/")
    if len(parts) != 5 or not all(parts):
        raise ValueError(f"handle={handle!r} is not a versioned Kaggle model handle: expected "
                         "owner/model/framework/variation/version, e.g. 'keras/bert/keras/bert_tiny_en_uncased/3'.")
    return Path(cache, "models", *parts)


def kagglehub_cache_dir() -> str:
    """Return the folder kagglehub downloads into: ``$KAGGLEHUB_CACHE``, else ``~/.cache/kagglehub``."""
    return os.environ.get("KAGGLEHUB_CACHE") or str(Path.home() / ".cache" / "kagglehub")


def supported_ranges() -> dict[str, str]:
    """Return ``{distribution: specifier}`` for the core packages, from tlcourse's installed metadata."""
    from packaging.requirements import Requirement

    try:
        requirements = importlib.metadata.requires("tlcourse") or []
    except importlib.metadata.PackageNotFoundError:
        return dict(SUPPORTED)
    found = {}
    for line in requirements:
        requirement = Requirement(line)
        if requirement.marker is None and requirement.name in SUPPORTED:
            found[requirement.name] = str(requirement.specifier)
    return {**SUPPORTED, **found}


def check_network(host: str = NETWORK_HOST, timeout: float = NETWORK_TIMEOUT) -> None:
    """Raise ``OSError`` unless a TCP connection to ``host``:443 opens within ``timeout`` seconds.

    Name lookup has no timeout of its own, so the whole attempt runs in a thread that is abandoned
    after ``timeout``.
    """
    outcome: list[BaseException | None] = []

    def attempt() -> None:
        try:
            socket.create_connection((host, 443), timeout=timeout).close()
            outcome.append(None)
        except OSError as error:
            outcome.append(error)

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(timeout)
    if not outcome:
        raise TimeoutError(f"no answer from {host} within {timeout:g} s")
    if outcome[0] is not None:
        raise outcome[0]


def _tfds_prepared(name: str, data_dir: str | None) -> bool:
    import tensorflow_datasets as tfds

    return bool(tfds.builder(name, data_dir=data_dir).is_prepared())


def _version_check(distribution: str, specifier: str) -> Check:
    from packaging.specifiers import SpecifierSet

    try:
        version = importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return Check(distribution, False, f"not installed (supported: {specifier})",
                     f'pip install "{distribution}{specifier}"')
    ok = SpecifierSet(specifier).contains(version, prereleases=True)
    return Check(distribution, ok, f"{version} (supported: {specifier})",
                 "" if ok else f'pip install "{distribution}{specifier}"')


def report(profile: str | None = None, *, network: Callable[[], None] | None = None,
           tfds_dir: str | None = None, keras_home: str | None = None,
           is_prepared: Callable[[str, str | None], bool] | None = None,
           kagglehub_cache: str | None = None) -> list[Check]:
    """Check the installation, caches and network for ``profile`` (default: the active one).

    ``network`` raises ``OSError`` when offline (default :func:`check_network`); ``tfds_dir``,
    ``keras_home`` and ``kagglehub_cache`` default to the course's cache folders (a weights file
    counts as cached where ``keras.applications`` will find it, ``tlcourse.paths.keras_weights_path``);
    ``is_prepared(name, tfds_dir)`` says whether a TFDS dataset is ready (default:
    ``tfds.builder(...).is_prepared()``). A KerasHub preset counts as cached when its kagglehub
    folder holds ``config.json``.

    Example:
        >>> [check.name for check in report("smoke")][:2]  # doctest: +SKIP
        ['Python', 'tensorflow']
    """
    from tlcourse.course import COURSE_MAP
    from tlcourse.needs import PRESETS, plan, presets
    from tlcourse.paths import configure_caches, keras_cache_dir, keras_weights_path, tfds_data_dir
    from tlcourse.prefetch import DATASETS, WEIGHTS, preset_handle
    from tlcourse.settings import PROFILES, profile_name

    caches = configure_caches()
    profile = profile_name() if profile is None else check_choice("profile", profile, PROFILES)
    tfds_dir = tfds_data_dir() if tfds_dir is None else check_text("tfds_dir", tfds_dir)
    keras_home = None if keras_home is None else check_text("keras_home", keras_home)
    kagglehub_cache = kagglehub_cache_dir() if kagglehub_cache is None else check_text(
        "kagglehub_cache", kagglehub_cache)
    downloads_needed = profile != "smoke"
    not_needed = "" if downloads_needed else " — not needed in smoke"

    checks = [Check("Python", sys.version_info >= (3, 10), sys.version.split()[0],
                    "install Python 3.10 or newer")]
    checks += [_version_check(name, spec) for name, spec in supported_ranges().items()]
    hub_lessons = ", ".join(f"{lesson.number:02d}" for lesson in COURSE_MAP if "hub" in lesson.extras)
    try:
        hub = f"{importlib.metadata.version('keras-hub')} installed"
    except importlib.metadata.PackageNotFoundError:
        hub = None
    checks.append(Check("keras-hub", hub is not None, hub or f"not installed (optional; lessons {hub_lessons})",
                        "" if hub else HUB_FIX, needed=False))

    import keras
    import tensorflow as tf

    checks.append(Check("Keras backend", keras.backend.backend() == "tensorflow", keras.backend.backend(),
                        "export KERAS_BACKEND=tensorflow (before starting Python)"))
    gpus = [gpu.name for gpu in tf.config.list_physical_devices("GPU")]
    checks.append(Check("GPU", bool(gpus), ", ".join(gpus) or "none (CPU only: the quick and smoke profiles suit it)",
                        needed=False))
    checks.append(Check("profile", True, profile))
    checks.append(Check("cache folders", True, "; ".join(f"{k}={v}" for k, v in caches.items())))

    folder = Path(tfds_dir or keras_home or keras_cache_dir())
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    free_gb = shutil.disk_usage(folder).free / 1e9
    checks.append(Check("free disk", free_gb >= MIN_FREE_GB, f"{free_gb:.1f} GB free in {folder}",
                        f"free at least {MIN_FREE_GB:g} GB there, or point TFDS_DATA_DIR/KERAS_HOME elsewhere",
                        needed=downloads_needed))

    prepared = is_prepared or _tfds_prepared
    missing = 0
    ready: dict[object, bool] = {}  # dataset name or (backbone, size) → cached
    for name in DATASETS:
        ok = ready[name] = prepared(name, tfds_dir)
        missing += not ok
        checks.append(Check(f"dataset {name}", ok, ("prepared" if ok else "not cached") + ("" if ok else not_needed),
                            "" if ok else PREFETCH_COMMAND, needed=downloads_needed))
    for backbone, size in WEIGHTS:
        # Where keras.applications will look (a read-only share: through the course's stand-in folder),
        # so "cached" means "loads offline".
        path = keras_weights_path(weight_file(backbone, size), keras_home)
        ok = ready[(backbone, size)] = path.is_file()
        missing += not ok
        checks.append(Check(f"weights {backbone} @ {size} px", ok,
                            ("cached" if ok else f"not cached ({path.name})") + ("" if ok else not_needed),
                            "" if ok else PREFETCH_COMMAND, needed=downloads_needed))

    plan_profile = "quick" if profile == "smoke" else profile  # smoke downloads nothing: show quick's needs

    def prefetch_fix(numbers: Sequence[int]) -> str:
        listed = ",".join(f"{number:02d}" for number in numbers)
        return f"{PREFETCH_COMMAND} --notebooks {listed} --profile {plan_profile}"

    hub_missing = False
    for name in presets(None, plan_profile):
        users = [number for number in PRESETS if name in presets([number], plan_profile)]
        try:
            folder = preset_folder(preset_handle(name), kagglehub_cache)
        except ImportError:
            hub_missing = True
            checks.append(Check(f"preset {name}", False, "needs keras-hub", HUB_FIX, needed=False))
            continue
        except ValueError as error:  # a keras-hub that does not know the preset
            ready[("preset", name)] = False
            missing += 1
            checks.append(Check(f"preset {name}", False, str(error).split(":")[0], "pip install -U keras-hub",
                                needed=downloads_needed))
            continue
        ok = ready[("preset", name)] = (folder / "config.json").is_file()
        missing += not ok
        checks.append(Check(f"preset {name}", ok, ("cached" if ok else f"not cached ({folder})") + (
            "" if ok else not_needed), "" if ok else prefetch_fix(users), needed=downloads_needed))

    for lesson in COURSE_MAP:
        if not lesson.available:
            continue
        datasets, weights = plan([lesson.number], plan_profile)
        names = presets([lesson.number], plan_profile)
        absent = [name for name in datasets if not (ready[name] if name in ready else prepared(name, tfds_dir))]
        absent += [f"{backbone}@{size}" for backbone, size in weights if not (
            ready[(backbone, size)] if (backbone, size) in ready
            else keras_weights_path(weight_file(backbone, size), keras_home).is_file())]
        only_hub = hub_missing and bool(names) and not absent  # keras-hub is optional: "!", not "✗"
        absent += ["keras-hub"] if hub_missing and names else []
        absent += [name for name in names if not ready.get(("preset", name), False)]
        detail = (f"ready for {plan_profile}" if not absent else f"needs {', '.join(absent)} for {plan_profile}"
                  + not_needed) if datasets or weights or names else "downloads nothing"
        fix = "" if not absent else prefetch_fix([lesson.number])
        if hub_missing and names:
            fix = f"{HUB_FIX}, then {fix}"
        checks.append(Check(f"notebook {lesson.number:02d}", not absent, detail, fix,
                            needed=downloads_needed and not only_hub))

    try:
        (network or check_network)()
        checks.append(Check("network", True, f"{NETWORK_HOST} reachable"))
    except OSError as error:
        checks.append(Check("network", False, f"{NETWORK_HOST} unreachable ({error})",
                            "check the connection or proxy (HTTPS_PROXY), then run " + PREFETCH_COMMAND,
                            needed=downloads_needed and missing > 0))
    return checks


def format_report(checks: Sequence[Check], *, short: bool = False) -> str:
    """Return the report as text, one line per check plus an indented ``fix:`` line per problem.

    ``short=True`` lists only what is not ready (each with its fix) and one line counting the rest.
    """
    if isinstance(checks, Check) or not isinstance(checks, Iterable) or isinstance(checks, (str, bytes)):
        raise TypeError(f"checks={checks!r:.60} is a {type(checks).__name__}: expected a list of Check, as report() "
                        "returns. Fix: format_report(report()).")
    checks = list(checks)  # a generator would be used up by the first pass and the count would say "Ready."
    for index, check in enumerate(checks):
        if not isinstance(check, Check):
            raise TypeError(f"checks[{index}]={check!r:.60} is a {type(check).__name__}: expected a Check. Fix: "
                            "format_report(report()).")
    lines = []
    for check in checks:
        if short and check.ok:
            continue
        lines.append(f"{check.mark} {check.name}: {check.detail}")
        if not check.ok and check.fix:
            lines.append(f"    fix: {check.fix}")
    problems = sum(not check.ok and check.needed for check in checks)
    if short:
        lines.append(f"✓ {sum(check.ok for check in checks)} of {len(checks)} checks passed "
                     "(print_report() lists them all).")
    lines.append("Ready." if not problems else f"{problems} problem(s) for this profile.")
    return "\n".join(lines)


def print_report(profile: str | None = None, *, short: bool = False) -> bool:
    """Print the report for ``profile`` (default: the active one); return True when all is ready.

    ``short=True`` prints only the problems and warnings, with their fixes, and a count of the
    checks that passed (notebook 00 uses it; ``python -m tlcourse doctor`` prints everything).

    Example:
        >>> print_report()  # doctest: +SKIP
        ✓ Python: 3.12.3
        ...
    """
    checks = report(profile)
    print(format_report(checks, short=short))
    return not any(not check.ok and check.needed for check in checks)


def main() -> int:
    """``python -m tlcourse doctor``: print the report; 0 when ready, 1 otherwise."""
    try:
        return 0 if print_report() else 1
    except ValueError as error:  # TLCOURSE_PROFILE names no profile: the message has the fix
        print(f"✗ {error}", file=sys.stderr)
        return 2
