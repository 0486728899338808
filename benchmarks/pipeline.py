"""Benchmark: the course's input pipeline (``tlcourse.data.prepare``) vs a naive tf.data pipeline.

Run by hand (it is not a test), offline:

    .venv/bin/python benchmarks/pipeline.py [--images 512] [--epochs 3] [--image-size 160] [--batch-size 32]

Both pipelines read the same in-memory images, decoded uint8 RGB of random sizes (200–500 px a
side, as TFDS yields them, which is what ``prepare`` accepts), and do the same work per image:
an antialiased resize to ``--image-size``, rounding to uint8 and a cast to float32, in batches.

- naive: ``ds.map(resize).batch(batch_size)`` — a sequential map, no cache, no prefetch.
- prepare: ``tlcourse.data.prepare(ds, image_size, batch_size)`` — parallel map, cache, prefetch.

Each epoch is a loop that touches every batch (a sum over it). Epoch 1 shows the parallel map +
prefetch gain alone (the cache is still being filled); the later epochs read ``prepare``'s cache,
which is the point of caching. Both pipelines are built afresh and run ``--repeats`` times,
alternating which goes first; the table shows medians in images per second. The last line is
the steady-state speed-up (later epochs). With few CPU cores the parallel map gains little.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tlcourse.data import prepare  # noqa: E402


def random_images(count: int, low: int, high: int, seed: int = 0) -> tuple[list[np.ndarray], np.ndarray]:
    """``count`` random uint8 RGB images with sides drawn from ``low … high`` px, and labels 0–4."""
    rng = np.random.default_rng(seed)
    images = [rng.integers(0, 256, (rng.integers(low, high + 1), rng.integers(low, high + 1), 3), dtype=np.uint8)
              for _ in range(count)]
    return images, rng.integers(0, 5, count)


def source(images: list[np.ndarray], labels: np.ndarray) -> tf.data.Dataset:
    """Unbatched ``(image uint8 [H, W, 3], label int64)`` pairs of known length, as ``load_splits`` gives."""
    def generate():
        yield from zip(images, labels)

    ds = tf.data.Dataset.from_generator(generate, output_signature=(
        tf.TensorSpec([None, None, 3], tf.uint8), tf.TensorSpec([], tf.int64)))
    # A known length: otherwise prepare() counts the examples up front, which fills its cache.
    return ds.apply(tf.data.experimental.assert_cardinality(len(images)))


def naive(ds: tf.data.Dataset, image_size: int, batch_size: int) -> tf.data.Dataset:
    """The same per-image work as ``prepare``, in a sequential map, with no cache and no prefetch."""
    def resize(image: tf.Tensor, label: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        image = tf.image.resize(image, [image_size, image_size], antialias=True)
        return tf.cast(tf.saturate_cast(tf.round(image), tf.uint8), tf.float32), label

    return ds.map(resize).batch(batch_size)


def epoch_seconds(ds: tf.data.Dataset, epochs: int) -> list[float]:
    """Seconds per epoch over ``epochs`` passes, each touching every batch."""
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        total = 0.0
        for images, _labels in ds:
            total += float(tf.reduce_sum(images))
        seconds.append(time.perf_counter() - start)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--epochs", type=int, default=3, help="at least 2: epoch 1 fills the cache")
    parser.add_argument("--image-size", type=int, default=160)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2, help="fresh runs of each pipeline, alternated")
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (the later epochs are the steady state)")

    images, labels = random_images(args.images, 200, 500)
    print(f"{args.images} images of 200–500 px → {args.image_size} px, batch {args.batch_size}, "
          f"{args.epochs} epochs × {args.repeats} repeats · {os.cpu_count()} CPU cores · TF {tf.__version__}")

    builders = {
        "naive (map, batch)": lambda: naive(source(images, labels), args.image_size, args.batch_size),
        "prepare (parallel map, cache, prefetch)": lambda: prepare(source(images, labels), args.image_size,
                                                                   args.batch_size),
    }
    # Same batches from both: the comparison is of the same work.
    first = [next(iter(build())) for build in builders.values()]
    np.testing.assert_array_equal(first[0][0].numpy(), first[1][0].numpy())

    first_epoch = {name: [] for name in builders}
    later_epochs = {name: [] for name in builders}
    for repeat in range(args.repeats):
        order = list(builders) if repeat % 2 == 0 else list(reversed(builders))
        for name in order:
            seconds = epoch_seconds(builders[name](), args.epochs)
            first_epoch[name].append(seconds[0])
            later_epochs[name].extend(seconds[1:])

    rate = {name: (args.images / statistics.median(first_epoch[name]),
                   args.images / statistics.median(later_epochs[name])) for name in builders}
    width = max(map(len, builders)) + 2
    print(f"{'pipeline':<{width}}{'epoch 1 img/s':>15}{'later epochs img/s':>20}")
    for name, (one, later) in rate.items():
        print(f"{name:<{width}}{one:>15.0f}{later:>20.0f}")
    (naive_one, naive_later), (prepared_one, prepared_later) = rate.values()
    print(f"{'speed-up':<{width}}{prepared_one / naive_one:>14.1f}x{prepared_later / naive_later:>19.1f}x"
          "  (epoch 1: parallel map + prefetch only; later epochs: the cache too — the steady state)")
    print(f"pipeline speed-up: {prepared_later / naive_later:.1f}x")


if __name__ == "__main__":
    main()
