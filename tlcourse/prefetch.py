"""Download everything the course needs ahead of time: ``python -m tlcourse prefetch``.

Run it once while online (before a class, before a flight). Datasets go to ``TFDS_DATA_DIR``,
weights to ``KERAS_HOME`` and KerasHub presets to ``KAGGLEHUB_CACHE`` — the course's ``data/``
folder in a clone. Later runs find them there and download nothing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from tlcourse.checks import check_int, check_text
from tlcourse.doctor import HUB_FIX
from tlcourse.downloads import STALL_TIMEOUT_ENV, DownloadError, download_guard, require_network
from tlcourse.paths import DATA_ENV

# Everything any notebook downloads (tlcourse.needs has the plan per notebook and profile;
# tests/test_needs.py checks that these cover it).
DATASETS = (
    "tf_flowers",
    "oxford_iiit_pet",  # 12: pet head boxes
    "colorectal_histology",
    "pneumonia_mnist",
    "imdb_reviews",  # 10
    "spoken_digit",  # 11 quick
    "speech_commands",  # 11 full
)
# ImageNet weights (without the top) the notebooks load. Only MobileNetV2's file depends on the input
# size (160 px in quick, 224 in full); the others are one file for any size.
WEIGHTS = (
    ("MobileNetV2", 128),  # 13 quick
    ("MobileNetV2", 160), ("MobileNetV2", 224),  # 03–09
    ("MobileNetV3Small", 224),  # 04 exercise, 07, 09
    ("ResNet50", 224),  # 03 exercise, 07
    ("EfficientNetB0", 224), ("InceptionV3", 224), ("VGG16", 224),  # 07
    ("Xception", 224),  # 07 exercise
)

# kagglehub downloads presets from this host (require_network checks it before a download).
PRESET_HOST = "api.kaggle.com"
KAGGLE_SCHEME = "kaggle://"


PREFETCH_FIX = (
    "Fix: check the connection (a proxy needs HTTPS_PROXY set; a firewall may block "
    f"storage.googleapis.com or, for KerasHub presets, {PRESET_HOST}), then run this command again — it "
    f"resumes where it stopped. On a slow line, allow longer pauses: `export {STALL_TIMEOUT_ENV}=300`. "
    "To work without these downloads, run the course offline with `export TLCOURSE_PROFILE=smoke`."
)


def prefetch_dataset(name: str) -> None:
    """Download and prepare TFDS dataset ``name`` into ``tfds_data_dir()`` (no-op when present)."""
    import tensorflow_datasets as tfds

    from tlcourse.data import get_dataset_spec
    from tlcourse.paths import tfds_data_dir

    from tlcourse.checks import suggest
    from tlcourse.data import DATASETS as IMAGE_DATASETS

    check_text("name", name)
    known = list(dict.fromkeys([*DATASETS, *IMAGE_DATASETS]))
    if name not in known and name not in tfds.list_builders(with_community_datasets=False):
        # a typo: tfds.builder would print its ~1,000 names; suggest the course's (then tfds') near misses
        hint = suggest(name, known) or suggest(name, tfds.list_builders(with_community_datasets=False))
        raise ValueError(f"name={name!r} is not a TFDS dataset. {hint} Choose one of: {', '.join(known)}. "
                         "Fix: check the spelling.".replace(".  ", ". "))
    if name not in DATASETS:  # the lessons' own loaders (text, audio, boxes) use datasets data.py does not list
        get_dataset_spec(name)  # unknown names: ValueError listing the valid ones
    builder = tfds.builder(name, data_dir=tfds_data_dir())  # explicit: whatever was imported first
    if builder.is_prepared():
        return
    require_network(f"the {name} dataset")
    with download_guard(f"the {name} dataset"):
        builder.download_and_prepare()


def prefetch_weights(backbone: str, image_size: int) -> None:
    """Download ``backbone``'s ImageNet weights (no top) into ``KERAS_HOME`` (no-op when present)."""
    from tlcourse.models import build_backbone

    check_int("image_size", image_size, minimum=1, fix="use a side in pixels, e.g. 224")
    build_backbone(backbone, image_size, weights="imagenet")


def preset_handle(name: str) -> str:
    """Return KerasHub preset ``name``'s Kaggle handle without the scheme, from KerasHub's registry.

    Raises ``ModuleNotFoundError`` naming the fix when keras-hub is not installed, and
    ``ValueError`` for a name the installed KerasHub does not know.

    Example:
        >>> preset_handle("bert_tiny_en_uncased")  # doctest: +SKIP
        'keras/bert/keras/bert_tiny_en_uncased/3'
    """
    check_text("name", name, fix='pass a KerasHub preset name, e.g. "bert_tiny_en_uncased"')
    try:
        import keras_hub
    except ImportError as error:
        raise ModuleNotFoundError(f"KerasHub presets (here {name!r}) need keras-hub, which is not installed. "
                                  f"Fix: {HUB_FIX}", name="keras_hub") from error
    registry = keras_hub.models.Backbone.presets
    if name not in registry:
        from tlcourse.checks import suggest

        examples = ", ".join(sorted(key for key in registry if key.startswith(("bert_tiny", "whisper_tiny"))))
        hint = suggest(name, registry)
        raise ValueError(f"name={name!r} is not a KerasHub preset that the installed keras-hub knows: expected "
                         f"a name from keras_hub.models.Backbone.presets (e.g. {examples}).{' ' + hint if hint else ''}"
                         " Fix: check the spelling, or upgrade keras-hub for a newer preset.")
    handle = str(registry[name]["kaggle_handle"])
    return handle.removeprefix(KAGGLE_SCHEME)


def prefetch_preset(name: str) -> None:
    """Download KerasHub preset ``name`` into ``$KAGGLEHUB_CACHE`` (no-op when present).

    kagglehub downloads the whole model folder, then each file is marked complete as well:
    ``from_preset`` asks kagglehub for one file at a time and, offline, finds only files with
    their own completion marker.
    """
    handle = preset_handle(name)  # first: it names the fix when keras-hub (and kagglehub with it) is missing
    import kagglehub
    from kagglehub.cache import Cache
    from kagglehub.handle import parse_model_handle

    what = f"the KerasHub preset {name}"
    parsed = parse_model_handle(handle)
    cache = Cache()
    if cache.load_from_cache(parsed) is None:
        require_network(what, PRESET_HOST)
    with download_guard(what):
        folder = Path(kagglehub.model_download(handle))
    for file in folder.rglob("*"):
        if file.is_file():
            cache.mark_as_complete(parsed, file.relative_to(folder).as_posix())


def _unwritable(folder: Path) -> str | None:
    """Why ``folder`` cannot hold the caches (a file, or not writable), or None."""
    import tempfile

    existing = next((parent for parent in (folder, *folder.parents) if parent.exists()), None)
    if existing is None:
        return None
    if not existing.is_dir():
        return f"{existing} is a file, not a folder"
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        return f"{existing} cannot be written ({error.strerror or error})"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m tlcourse prefetch [--notebooks 03,05 | core] [--profile quick] [--data-dir DIR]``.

    Without options it downloads what every notebook needs in ``quick`` and ``full``.
    ``--datasets`` / ``--backbones`` / ``--presets`` replace the plan's lists (each item verified by
    tfds / Keras / KerasHub's registry).
    ``python -m tlcourse doctor`` says what is ready and what is not (``tlcourse.doctor``).
    """
    summary = __doc__.split("\n")[0].replace("``", "")  # no reST markup in --help
    parser = argparse.ArgumentParser(prog="python -m tlcourse", description=summary)
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("prefetch", help="download the course's datasets, weights and KerasHub presets")
    fetch.add_argument("--notebooks", default=None,
                       help="only what these notebooks need, e.g. 03,05, or 'core' for the beginner's core path "
                            "(default: every notebook)")
    fetch.add_argument("--profile", choices=("quick", "full"), default=None,
                       help="the profile the notebooks will run in (image sizes differ); default: both")
    fetch.add_argument("--data-dir", default=None,
                       help=f"download into this folder (a USB stick, a shared folder) instead of data/; "
                            f"later runs find it through ${DATA_ENV}")
    fetch.add_argument("--datasets", nargs="*", default=None, help="TFDS names (replaces the plan's)")
    fetch.add_argument("--backbones", nargs="*", default=None,
                       help="NAME@SIZE items, e.g. MobileNetV2@160 ResNet50@224 (replaces the plan's)")
    fetch.add_argument("--presets", nargs="*", default=None,
                       help="KerasHub preset names, e.g. bert_tiny_en_uncased (replaces the plan's)")
    commands.add_parser("doctor", help="say what is ready and what is not, with the fixes")
    args = parser.parse_args(argv)
    if args.command == "doctor":
        from tlcourse.doctor import main as doctor_main

        return doctor_main()

    from tlcourse.needs import plan, presets
    from tlcourse.paths import configure_caches, folder_size, use_data_dir

    notebooks = None
    if args.notebooks is not None and args.notebooks.strip().lower() == "core":
        from tlcourse.course import core_path

        notebooks = [lesson.number for lesson in core_path()]
    elif args.notebooks is not None:
        try:
            notebooks = [int(item) for item in args.notebooks.replace(" ", "").split(",") if item]
        except ValueError:
            parser.error(f"--notebooks takes lesson numbers separated by commas, e.g. 03,05, or 'core'; "
                         f"got {args.notebooks!r}")
        if not notebooks:
            parser.error(f"--notebooks {args.notebooks!r} names no lesson: give lesson numbers separated by commas, "
                         "e.g. 03,05, or 'core' (leave the option out to fetch every lesson's downloads)")
    datasets: list[str] = []
    weights: list[tuple[str, int]] = []
    hub_presets: list[str] = []
    for profile in [args.profile] if args.profile else ["quick", "full"]:
        try:
            planned_datasets, planned_weights = plan(notebooks, profile)
            planned_presets = presets(notebooks, profile)
        except ValueError as error:
            parser.error(str(error))
        datasets += [name for name in planned_datasets if name not in datasets]
        weights += [item for item in planned_weights if item not in weights]
        hub_presets += [name for name in planned_presets if name not in hub_presets]
    if args.datasets is not None:
        datasets = list(args.datasets)
    if args.presets is not None:
        hub_presets = list(args.presets)
    backbones = [f"{b}@{s}" for b, s in weights] if args.backbones is None else list(args.backbones)

    if args.data_dir:
        problem = _unwritable(Path(args.data_dir).expanduser())
        if problem:  # before any download: a network "Fix" would send the learner the wrong way
            parser.error(f"--data-dir {args.data_dir}: {problem}. Fix: pass a folder you can write to "
                         "(it is created if missing), e.g. --data-dir ~/tlcourse_data.")
    caches = use_data_dir(args.data_dir) if args.data_dir else configure_caches()
    for key, value in caches.items():
        print(f"{key}: {value}")
    failures = network_failures = 0
    jobs = [(f"dataset {name}", prefetch_dataset, (name,)) for name in datasets]
    for item in backbones:
        name, _, size = item.partition("@")
        if not size.isdigit():
            parser.error(f"--backbones takes NAME@SIZE items such as MobileNetV2@224, got {item!r}")
        jobs.append((f"weights {name} @ {size} px", prefetch_weights, (name, int(size))))
    jobs += [(f"preset {name}", prefetch_preset, (name,)) for name in hub_presets]
    for number, (label, job, job_args) in enumerate(jobs, start=1):
        print(f"[{number}/{len(jobs)}] … {label}", flush=True)  # tfds and Keras draw the progress bars
        try:
            job(*job_args)
        except DownloadError as error:  # its own fix says "run prefetch": give this command's fix
            failures += 1
            network_failures += 1
            print(f"✗ {label}: {error.reason}", file=sys.stderr)
        except (ValueError, TypeError, ImportError) as error:  # ImportError: keras-hub missing
            failures += 1
            print(f"✗ {label}: {error}", file=sys.stderr)
        else:
            print(f"✓ {label}")
    print(f"{len(jobs) - failures} of {len(jobs)} ready.")
    sizes = {key: folder_size(value) for key, value in caches.items() if value != "(library default)"}
    if sizes:
        print("Cache now holds: " + ", ".join(f"{key} {size / 1e6:.1f} MB" for key, size in sizes.items())
              + f" ({sum(sizes.values()) / 1e6:.1f} MB in all)")
    if network_failures:  # a misspelt name is not a network problem: its own message has the fix
        print(PREFETCH_FIX, file=sys.stderr)
    return 1 if failures else 0
