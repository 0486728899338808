"""Shifted test images: blur, noise, brightness and crops at severities 0–5 (notebook 06).

A model that generalises keeps its accuracy when the test photos are a little different from
the training photos: out of focus, grainy, brighter, framed tighter. These functions make such
*distribution shifts* from an untouched test set, so two models can be compared on exactly the
same shifted images. The design follows the common-corruption benchmarks of Hendrycks &
Dietterich ("Benchmarking Neural Network Robustness to Common Corruptions and Perturbations",
ICLR 2019): a few kinds of shift, each at severities 1 (mild) to 5 (strong); the blur, noise and
brightness strengths are theirs (brightness here is added in RGB, not in HSV as there).

Rules every shift keeps:
- severity 0 returns the images unchanged (the clean test set);
- the output has the input's shape and dtype, and its values stay in 0–255 (whole numbers);
- given the same ``seed`` the output is the same, run after run (random noise included).

Example:
    >>> import numpy as np
    >>> images = np.full((2, 32, 32, 3), 100.0, dtype="float32")
    >>> brighter = shift_images(images, "brightness", 2)  # + 0.2 × 255 = + 51
    >>> float(brighter.numpy().max())
    151.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from tlcourse import checks

MAX_SEVERITY = 5
"""The strongest severity; severities run from 0 (no shift) to this."""


@dataclass(frozen=True)
class Shift:
    """One kind of distribution shift.

    Attributes:
        name: the key of ``SHIFTS``, e.g. ``"blur"``.
        about: what it does to an image, in words.
        strengths: the shift's strength at severities 1…5 (in the unit of ``about``).
    """

    name: str
    about: str
    strengths: tuple[float, ...]

    def strength(self, severity: int) -> float:
        """Return the strength at ``severity`` (0 for severity 0)."""
        checks.check_int("severity", severity, minimum=0, maximum=MAX_SEVERITY,
                         fix=f"use 0 (no shift) to {MAX_SEVERITY} (strongest)")
        return 0.0 if severity == 0 else self.strengths[severity - 1]


SHIFTS: dict[str, Shift] = {
    shift.name: shift
    for shift in (
        Shift("blur", "Gaussian blur, sigma in pixels of a 224 px image (scaled to the image size)",
              (1.0, 2.0, 3.0, 4.0, 6.0)),
        Shift("noise", "Gaussian noise, standard deviation as a fraction of 255",
              (0.08, 0.12, 0.18, 0.26, 0.38)),
        Shift("brightness", "brighter: this fraction of 255 added to every pixel, then clipped",
              (0.1, 0.2, 0.3, 0.4, 0.5)),
        Shift("crop", "central crop keeping this fraction of the side, resized back (zoom in)",
              (0.9, 0.8, 0.7, 0.6, 0.5)),
    )
}

SHIFT_NAMES: tuple[str, ...] = tuple(SHIFTS)
"""The shifts' names, in the order the notebook shows them."""


def _check_images(images: Any) -> tf.Tensor:
    """Return ``images`` as a tensor of shape [N, H, W, C] with known H and W."""
    try:
        tensor = tf.convert_to_tensor(images)
    except (TypeError, ValueError) as error:
        raise TypeError(f"images={checks._shown(images)} is not an array of pixels: expected a batch "
                        "[N, H, W, 3] in 0–255 (a NumPy array or a tensor).") from error
    if not (tensor.dtype.is_floating or tensor.dtype.is_integer):
        raise TypeError(f"images has dtype {tensor.dtype.name}: expected numbers in 0–255 "
                        "(uint8 or float32).")
    if tensor.shape.rank != 4 or tensor.shape[1] is None or tensor.shape[2] is None:
        raise ValueError(f"images has shape {tensor.shape}: expected a batch [N, H, W, C] of equally "
                         "sized images. Fix: resize and batch them first, e.g. with "
                         "tlcourse.data.prepare(ds, image_size, batch_size), or add a batch axis "
                         "with image[None].")
    return tensor


def _gaussian_blur(images: tf.Tensor, sigma: float) -> tf.Tensor:
    height, width, channels = images.shape[1], images.shape[2], images.shape[3]
    radius = max(1, min(math.ceil(3 * sigma), height - 1, width - 1))
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    weights = np.exp(-0.5 * (offsets / sigma) ** 2)
    weights = tf.constant(weights / weights.sum(), tf.float32)
    padded = tf.pad(images, [[0, 0], [radius, radius], [radius, radius], [0, 0]], mode="SYMMETRIC")
    rows = tf.tile(tf.reshape(weights, [-1, 1, 1, 1]), [1, 1, channels, 1])  # one pass per axis
    columns = tf.tile(tf.reshape(weights, [1, -1, 1, 1]), [1, 1, channels, 1])
    blurred = tf.nn.depthwise_conv2d(padded, rows, [1, 1, 1, 1], "VALID")
    return tf.nn.depthwise_conv2d(blurred, columns, [1, 1, 1, 1], "VALID")


def _central_crop(images: tf.Tensor, fraction: float) -> tf.Tensor:
    height, width = images.shape[1], images.shape[2]
    crop_height, crop_width = max(1, round(height * fraction)), max(1, round(width * fraction))
    top, left = (height - crop_height) // 2, (width - crop_width) // 2
    cropped = images[:, top:top + crop_height, left:left + crop_width, :]
    return tf.image.resize(cropped, [height, width], method="bilinear", antialias=True)


def shift_images(images: Any, shift: str, severity: int, *, seed: int | tuple[int, int] = 0) -> tf.Tensor:
    """Return a batch of images under ``shift`` at ``severity`` (0 = unchanged).

    Args:
        images: a batch ``[N, H, W, C]`` with values in 0–255 (uint8 or float).
        shift: one of ``SHIFT_NAMES`` (``"blur"``, ``"noise"``, ``"brightness"``, ``"crop"``).
        severity: 0 (no shift) to ``MAX_SEVERITY``; see ``SHIFTS[shift].strengths``.
        seed: a whole number ≥ 0 (or a pair): the same seed gives the same noise.

    Returns:
        A tensor with the input's shape and dtype, values rounded and clipped to 0–255.

    Example:
        >>> import numpy as np
        >>> images = np.zeros((1, 8, 8, 3), dtype="uint8")
        >>> shift_images(images, "noise", 0).numpy().max()  # severity 0: the images themselves
        np.uint8(0)
    """
    checks.check_choice("shift", shift, SHIFT_NAMES, fix="pick one of tlcourse.shifts.SHIFT_NAMES")
    strength = SHIFTS[shift].strength(severity)
    pair = _seed_pair(seed)
    tensor = _check_images(images)
    if tf.executing_eagerly():  # inside shift_dataset's map the pixels are symbolic
        checks.check_pixels("images", tensor.numpy())
    if severity == 0:
        return tensor
    pixels = tf.cast(tensor, tf.float32)
    if shift == "blur":
        pixels = _gaussian_blur(pixels, strength * tensor.shape[1] / 224)
    elif shift == "noise":
        pixels = pixels + 255.0 * strength * tf.random.stateless_normal(tf.shape(pixels), seed=pair)
    elif shift == "brightness":
        pixels = pixels + 255.0 * strength
    else:  # crop
        pixels = _central_crop(pixels, strength)
    pixels = tf.clip_by_value(tf.round(pixels), 0.0, 255.0)
    return tf.saturate_cast(pixels, tensor.dtype) if tensor.dtype.is_integer else tf.cast(pixels, tensor.dtype)


def shift_dataset(ds: tf.data.Dataset, shift: str, severity: int, *, seed: int = 0) -> tf.data.Dataset:
    """Map a batched ``(images, labels)`` dataset to the same batches under ``shift``.

    Labels pass through untouched. Batch ``i`` gets its own random stream derived from
    ``(seed, i)``, so the shifted dataset is the same every time it is iterated, and two
    models evaluated on it see exactly the same images (as long as ``ds`` itself is not
    shuffled: shift the test set, never a shuffled training set).

    Args:
        ds: batched ``(images, labels)`` with images in 0–255, e.g. from ``tlcourse.data.prepare``.
        shift: one of ``SHIFT_NAMES``.
        severity: 0 (no shift: ``ds`` is returned as it is) to ``MAX_SEVERITY``.
        seed: a whole number ≥ 0.

    Example:
        >>> import tensorflow as tf
        >>> ds = tf.data.Dataset.from_tensor_slices((tf.zeros([4, 8, 8, 3]), [0, 1, 0, 1])).batch(2)
        >>> [images.shape for images, _ in shift_dataset(ds, "noise", 3, seed=42)]
        [TensorShape([2, 8, 8, 3]), TensorShape([2, 8, 8, 3])]
    """
    checks.check_dataset("ds", ds, batched=True)
    checks.check_choice("shift", shift, SHIFT_NAMES, fix="pick one of tlcourse.shifts.SHIFT_NAMES")
    SHIFTS[shift].strength(severity)  # checks severity
    seed = checks.check_int("seed", seed, minimum=0, fix="use e.g. seed=settings.seed")
    image_spec = ds.element_spec[0]
    if image_spec.shape.rank != 4 or image_spec.shape[1] is None or image_spec.shape[2] is None:
        raise ValueError(f"ds yields images of shape {image_spec.shape}: expected batches [N, H, W, C] of "
                         "equally sized images. Fix: resize and batch with tlcourse.data.prepare first.")
    if severity == 0:
        return ds

    def apply(index: tf.Tensor, batch: tuple) -> tuple:
        images, labels = batch
        batch_seed = tf.stack([tf.constant(seed, tf.int64), index])
        return shift_images(images, shift, severity, seed=batch_seed), labels

    return ds.enumerate().map(apply, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def _seed_pair(seed: Any) -> Any:
    if isinstance(seed, tf.Tensor):  # inside shift_dataset: (seed, batch index), already checked
        return tf.cast(seed, tf.int64)
    if isinstance(seed, (tuple, list)):
        if len(seed) != 2:
            raise ValueError(f"seed={seed!r} has {len(seed)} parts: expected one whole number or a pair.")
        return tuple(checks.check_int(f"seed[{i}]", part, minimum=0) for i, part in enumerate(seed))
    return (checks.check_int("seed", seed, minimum=0, fix="use e.g. seed=settings.seed"), 0)
