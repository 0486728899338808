"""Bounding boxes for notebook 12 (localization): IoU, box sanitising, the pet-head pipeline, a plot.

Boxes are normalised ``[ymin, xmin, ymax, xmax]`` in [0, 1], the TFDS ``BBoxFeature`` order.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tlcourse.settings import Settings


def _as_boxes(name: str, boxes) -> np.ndarray:
    array = np.asarray(boxes, dtype="float64")
    if array.ndim not in (1, 2) or array.shape[-1] != 4:
        raise ValueError(f"{name} has shape {array.shape}: expected (4,) or (n, 4) boxes "
                         "[ymin, xmin, ymax, xmax]. Fix: pass one box or a stack of boxes.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values. Fix: pass finite coordinates.")
    return array


def iou(boxes_a, boxes_b) -> np.ndarray:
    """Intersection over union of boxes ``[ymin, xmin, ymax, xmax]``, pairwise row by row.

    Introduced in notebook 12. Returns one IoU per row (a float for single boxes); 0 where the
    union is empty.

    Example:
        >>> float(iou([0, 0, 1, 1], [0, 0, 0.5, 1]))
        0.5
    """
    a, b = _as_boxes("boxes_a", boxes_a), _as_boxes("boxes_b", boxes_b)
    if a.shape != b.shape:
        raise ValueError(f"boxes_a has shape {a.shape} but boxes_b {b.shape}: expected the same shape. "
                         "Fix: pass true and predicted boxes of the same images.")
    height = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    width = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = height * width
    area_a = np.clip(a[..., 2] - a[..., 0], 0, None) * np.clip(a[..., 3] - a[..., 1], 0, None)
    area_b = np.clip(b[..., 2] - b[..., 0], 0, None) * np.clip(b[..., 3] - b[..., 1], 0, None)
    union = area_a + area_b - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def sanitise_boxes(boxes: tf.Tensor) -> tf.Tensor:
    """Sort each box's coordinates so that ymin ≤ ymax and xmin ≤ xmax, clipped to [0, 1].

    Mock data (smoke) draws random boxes, some upside down; real labels pass unchanged. Works in a
    ``tf.data`` map. Example:
        >>> sanitise_boxes(tf.constant([0.8, 0.1, 0.2, 0.3])).numpy().round(2).tolist()  # doctest: +SKIP
        [0.2, 0.1, 0.8, 0.3]
    """
    boxes = tf.convert_to_tensor(boxes, dtype=tf.float32)
    if boxes.shape.rank is not None and (boxes.shape.rank == 0 or boxes.shape[-1] != 4):
        raise ValueError(f"boxes has shape {boxes.shape}: expected (..., 4) [ymin, xmin, ymax, xmax]. "
                         "Fix: pass the 'head_bbox' feature.")
    boxes = tf.clip_by_value(boxes, 0.0, 1.0)
    ymin, xmin, ymax, xmax = tf.unstack(boxes, axis=-1)
    return tf.stack([tf.minimum(ymin, ymax), tf.minimum(xmin, xmax),
                     tf.maximum(ymin, ymax), tf.maximum(xmin, xmax)], axis=-1)


def load_pet_boxes(settings: Settings, image_size: int, batch_size: int, limit: int | None = None):
    """Oxford-IIIT Pet as ``(image, {"class": label, "box": head box})``, split into train/val/test.

    Only TFDS's ``train`` split has head boxes, so it is split 70/15/15 here (by index for mock data).
    Images are resized to ``image_size`` (pixels 0–255, float32), boxes sanitised. ``limit`` caps
    the examples read (``None``: all). Returns ``(train_ds, val_ds, test_ds, num_classes)``, batched.

    Example:
        >>> train_ds, val_ds, test_ds, num_classes = load_pet_boxes(settings, 96, 16)  # doctest: +SKIP
    """
    import tensorflow_datasets as tfds

    from tlcourse.data import split_by_index

    if not isinstance(image_size, int) or image_size < 32:
        raise ValueError(f"image_size={image_size!r}: expected an int ≥ 32. Fix: pass e.g. 160.")
    if settings.mock_data:
        with tfds.testing.mock_data(num_examples=settings.mock_examples):
            ds, info = tfds.load("oxford_iiit_pet", split="train", with_info=True)
        parts = split_by_index(ds)
    else:
        from tlcourse.downloads import download_guard
        from tlcourse.paths import tfds_data_dir

        with download_guard("the oxford_iiit_pet dataset"):  # explicit data_dir: whatever was imported first
            ds, info = tfds.load("oxford_iiit_pet", split="train", with_info=True, shuffle_files=False,
                                 data_dir=tfds_data_dir())
        if limit is not None:
            ds = ds.take(limit)
        parts = split_by_index(ds)

    def to_pair(example):
        image = tf.image.resize(tf.cast(example["image"][..., :3], tf.float32), (image_size, image_size))
        return image, {"class": example["label"], "box": sanitise_boxes(example["head_bbox"])}

    def finish(part, shuffle):
        part = part.map(to_pair, num_parallel_calls=tf.data.AUTOTUNE).cache()
        if shuffle:
            part = part.shuffle(256, seed=settings.seed)
        return part.batch(batch_size).prefetch(tf.data.AUTOTUNE)

    train_ds, val_ds, test_ds = parts
    return finish(train_ds, True), finish(val_ds, False), finish(test_ds, False), info.features["label"].num_classes


def box_report(name: str, true_boxes, predicted_boxes, threshold: float = 0.5) -> dict:
    """Print and return mean IoU and the share of boxes with IoU ≥ ``threshold``.

    Example:
        >>> box_report("demo", [[0, 0, 1, 1]], [[0, 0, 1, 1]])["mean_iou"]  # doctest: +SKIP
        1.0
    """
    scores = iou(true_boxes, predicted_boxes)
    report = {"mean_iou": float(np.mean(scores)), "hit_rate": float(np.mean(scores >= threshold))}
    print(f"{name}: mean IoU {report['mean_iou']:.3f}, IoU ≥ {threshold}: {report['hit_rate']:.0%} "
          f"of {len(np.atleast_2d(np.asarray(true_boxes)))} boxes")
    return report


def plot_boxes(images, true_boxes, predicted_boxes=None, columns: int = 4):
    """Show images with true boxes (green) and, if given, predicted boxes (red, dashed).

    Example:
        >>> figure = plot_boxes(images, true_boxes, predicted_boxes)  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    images = np.asarray(images)
    true_boxes = _as_boxes("true_boxes", true_boxes).reshape(-1, 4)
    if len(images) != len(true_boxes):
        raise ValueError(f"{len(images)} images but {len(true_boxes)} boxes: expected one box per image.")
    rows = int(np.ceil(len(images) / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(2.5 * columns, 2.5 * rows), squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index >= len(images):
            continue
        height, width = images[index].shape[:2]
        axis.imshow(np.clip(images[index] / 255.0, 0, 1))
        pairs = [(true_boxes[index], "lime", "-")]
        if predicted_boxes is not None:
            pairs.append((np.asarray(predicted_boxes)[index], "red", "--"))
        for (ymin, xmin, ymax, xmax), color, style in pairs:
            axis.add_patch(Rectangle((xmin * width, ymin * height), (xmax - xmin) * width,
                                     (ymax - ymin) * height, fill=False, color=color, linestyle=style, linewidth=2))
    figure.tight_layout()
    return figure
