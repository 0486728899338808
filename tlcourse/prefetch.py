"""Download everything the course needs ahead of time: ``python -m tlcourse prefetch``.

Run it once while online (before a class, before a flight). Datasets go to ``TFDS_DATA_DIR``
and weights to ``KERAS_HOME`` — the course's ``data/`` folder in a clone. Later runs find them
there and download nothing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tlcourse.checks import check_int, check_text
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
    ("MobileNetV2", 160), ("MobileNetV2", 224),  # 03–09
    ("MobileNetV3Small", 224),  # 04 exercise, 07, 09
    ("ResNet50", 224),  # 03 exercise, 07
    ("EfficientNetB0", 224), ("InceptionV3", 224), ("VGG16", 224),  # 07
    ("Xception", 224),  # 07 exercise
)


PREFETCH_FIX = (
    "Fix: check the connection (a proxy needs HTTPS_PROXY set; a firewall may block "
    "storage.googleapis.com), then run this command again — it resumes where it stopped. On a slow "
    f"line, allow longer pauses: `export {STALL_TIMEOUT_ENV}=300`. To work without these downloads, "
    "run the course offline with `export TLCOURSE_PROFILE=smoke`."
)


def prefetch_dataset(name: str) -> None:
    """Download and prepare TFDS dataset ``name`` into ``tfds_data_dir()`` (no-op when present)."""
    import tensorflow_datasets as tfds

    from tlcourse.data import get_dataset_spec
    from tlcourse.paths import tfds_data_dir

    check_text("name", name)
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


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m tlcourse prefetch [--notebooks 03,05] [--profile quick] [--data-dir DIR]``.

    Without options it downloads what every notebook needs in ``quick`` and ``full``.
    ``--datasets`` / ``--backbones`` replace the plan's lists (each item verified by tfds / Keras).
    ``python -m tlcourse doctor`` says what is ready and what is not (``tlcourse.doctor``).
    """
    summary = __doc__.split("\n")[0].replace("``", "")  # no reST markup in --help
    parser = argparse.ArgumentParser(prog="python -m tlcourse", description=summary)
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("prefetch", help="download the course's datasets and weights")
    fetch.add_argument("--notebooks", default=None,
                       help="only what these notebooks need, e.g. 03,05 (default: every notebook)")
    fetch.add_argument("--profile", choices=("quick", "full"), default=None,
                       help="the profile the notebooks will run in (image sizes differ); default: both")
    fetch.add_argument("--data-dir", default=None,
                       help=f"download into this folder (a USB stick, a shared folder) instead of data/; "
                            f"later runs find it through ${DATA_ENV}")
    fetch.add_argument("--datasets", nargs="*", default=None, help="TFDS names (replaces the plan's)")
    fetch.add_argument("--backbones", nargs="*", default=None,
                       help="NAME@SIZE items, e.g. MobileNetV2@160 ResNet50@224 (replaces the plan's)")
    commands.add_parser("doctor", help="say what is ready and what is not, with the fixes")
    args = parser.parse_args(argv)
    if args.command == "doctor":
        from tlcourse.doctor import main as doctor_main

        return doctor_main()

    from tlcourse.needs import plan
    from tlcourse.paths import configure_caches, folder_size, use_data_dir

    notebooks = None
    if args.notebooks is not None:
        try:
            notebooks = [int(item) for item in args.notebooks.replace(" ", "").split(",") if item]
        except ValueError:
            parser.error(f"--notebooks takes lesson numbers separated by commas, e.g. 03,05; got {args.notebooks!r}")
    datasets: list[str] = []
    weights: list[tuple[str, int]] = []
    for profile in [args.profile] if args.profile else ["quick", "full"]:
        try:
            planned_datasets, planned_weights = plan(notebooks, profile)
        except ValueError as error:
            parser.error(str(error))
        datasets += [name for name in planned_datasets if name not in datasets]
        weights += [item for item in planned_weights if item not in weights]
    if args.datasets is not None:
        datasets = list(args.datasets)
    backbones = [f"{b}@{s}" for b, s in weights] if args.backbones is None else list(args.backbones)

    caches = use_data_dir(args.data_dir) if args.data_dir else configure_caches()
    for key, value in caches.items():
        print(f"{key}: {value}")
    failures = 0
    jobs = [(f"dataset {name}", prefetch_dataset, (name,)) for name in datasets]
    for item in backbones:
        name, _, size = item.partition("@")
        if not size.isdigit():
            parser.error(f"--backbones takes NAME@SIZE items such as MobileNetV2@224, got {item!r}")
        jobs.append((f"weights {name} @ {size} px", prefetch_weights, (name, int(size))))
    for number, (label, job, job_args) in enumerate(jobs, start=1):
        print(f"[{number}/{len(jobs)}] … {label}", flush=True)  # tfds and Keras draw the progress bars
        try:
            job(*job_args)
        except DownloadError as error:  # its own fix says "run prefetch": give this command's fix
            failures += 1
            print(f"✗ {label}: {error.reason}", file=sys.stderr)
        except (ValueError, TypeError) as error:
            failures += 1
            print(f"✗ {label}: {error}", file=sys.stderr)
        else:
            print(f"✓ {label}")
    print(f"{len(jobs) - failures} of {len(jobs)} ready.")
    sizes = {key: folder_size(value) for key, value in caches.items() if value != "(library default)"}
    if sizes:
        print("Cache now holds: " + ", ".join(f"{key} {size / 1e6:.1f} MB" for key, size in sizes.items())
              + f" ({sum(sizes.values()) / 1e6:.1f} MB in all)")
    if failures:
        print(PREFETCH_FIX, file=sys.stderr)
    return 1 if failures else 0
