"""Benchmark: train the same head (a) with the frozen base in the loop, (b) on cached features.

Run by hand (it is not a test), offline:

    .venv/bin/python benchmarks/cached_features.py [--images 320] [--epochs 4] [--backbone MobileNetV2]

Both variants train the same new head (dropout + Dense logits) on the same images and labels
for the same number of epochs, side by side in one run. Weights do not change the cost of a
forward pass, so ``weights=None`` (no download) is a fair measurement at the real image size
(the quick profile's, by default). Per-epoch times are medians over the epochs after the first
(the first also traces the graph). The last line is the per-epoch speed-up.
"""

from __future__ import annotations

import argparse
import os
import statistics

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402

from tlcourse.features import extract_features, features_dataset  # noqa: E402
from tlcourse.models import build_classifier, get_backbone  # noqa: E402
from tlcourse.settings import get_settings  # noqa: E402
from tlcourse.training import EpochTimer  # noqa: E402


def steady_epoch_seconds(timer: EpochTimer) -> float:
    """Median epoch time after the first epoch (which also builds and traces the graph)."""
    return statistics.median(timer.epoch_seconds[1:] or timer.epoch_seconds)


def main() -> None:
    quick = get_settings("quick")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="MobileNetV2")
    parser.add_argument("--image-size", type=int, default=quick.image_size)
    parser.add_argument("--images", type=int, default=320, help="training images")
    parser.add_argument("--classes", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=quick.batch_size)
    parser.add_argument("--epochs", type=int, default=4, help="at least 2: the first one is not timed")
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (args.images, args.image_size, args.image_size, 3)).astype("float32")
    labels = rng.integers(0, args.classes, args.images)
    train_ds = tf.data.Dataset.from_tensor_slices((images, labels)).batch(args.batch_size).cache()
    backbone = get_backbone(args.backbone)
    print(f"{args.backbone} @ {args.image_size} px, weights=None · {args.images} images, batch "
          f"{args.batch_size}, {args.epochs} epochs · {os.cpu_count()} CPU cores · TF {tf.__version__}")

    # (a) the frozen base in the loop: every epoch runs the whole base forward.
    model, base_model = build_classifier(args.backbone, args.classes, args.image_size, weights=None)
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    in_loop = EpochTimer()
    model.fit(train_ds, epochs=args.epochs, callbacks=[in_loop], verbose=0)

    # (b) the same base once, then the same head on the cached features.
    cached = extract_features(base_model, train_ds, preprocess_input=backbone.preprocess_input, progress=False)
    head = keras.Sequential([keras.Input((cached.features.shape[1],)), layers.Dropout(0.2),
                             layers.Dense(args.classes, dtype="float32")])
    head.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    on_cache = EpochTimer()
    head.fit(features_dataset(cached, args.batch_size, shuffle=True, seed=0), epochs=args.epochs,
             callbacks=[on_cache], verbose=0)

    loop_epoch, cached_epoch = steady_epoch_seconds(in_loop), steady_epoch_seconds(on_cache)
    epochs_head = quick.epochs_head
    loop_total = epochs_head * loop_epoch
    cached_total = cached.seconds + epochs_head * cached_epoch
    print(f"{'variant':<28}{'s/epoch':>10}{'one-off s':>11}")
    print(f"{'(a) frozen base in the loop':<28}{loop_epoch:>10.3f}{0:>11.1f}")
    print(f"{'(b) head on cached features':<28}{cached_epoch:>10.3f}{cached.seconds:>11.1f}  (extraction)")
    print(f"quick profile's {epochs_head} head epochs, extraction included: {loop_total:.1f} s vs "
          f"{cached_total:.1f} s ({loop_total / cached_total:.1f}x)")
    print(f"cached-features speed-up: {loop_epoch / cached_epoch:.1f}x")


if __name__ == "__main__":
    main()
