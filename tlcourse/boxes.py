"""Bounding boxes for notebook 12 (localization): IoU, box sanitising, the pet-head pipeline, plots,
a float32 context for export, and KerasHub D-FINE detectors (pretrained, or built from arguments offline).

Localizer boxes are normalised ``[ymin, xmin, ymax, xmax]`` in [0, 1], the TFDS ``BBoxFeature`` order;
detector boxes are ``"yxyx"`` in pixels.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

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


def _check_box_order(name: str, boxes: np.ndarray) -> None:
    flipped = np.flatnonzero((boxes.reshape(-1, 4)[:, 0] > boxes.reshape(-1, 4)[:, 2])
                             | (boxes.reshape(-1, 4)[:, 1] > boxes.reshape(-1, 4)[:, 3]))
    if flipped.size:
        raise ValueError(f"{name} has {flipped.size} box(es) with ymin > ymax or xmin > xmax (row(s) "
                         f"{flipped[:5].tolist()}): expected [ymin, xmin, ymax, xmax]. Fix: pass them through "
                         "tlcourse.boxes.sanitise_boxes, or check the coordinate order.")


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
    _check_box_order("boxes_a", a)
    _check_box_order("boxes_b", b)
    if a.size and b.size and (a.max() <= 1) != (b.max() <= 1):
        pixels, normalised = ("boxes_a", "boxes_b") if a.max() > 1 else ("boxes_b", "boxes_a")
        raise ValueError(f"{pixels} has coordinates above 1 (pixels?) but {normalised} lies within 0–1 "
                         "(normalised): their IoU would be meaningless. Fix: convert both to one unit, e.g. "
                         "divide pixel boxes by the image's height and width.")
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

    from tlcourse.checks import check_settings

    check_settings(settings)
    if not isinstance(image_size, int) or image_size < 32:
        raise ValueError(f"image_size={image_size!r}: expected an int ≥ 32. Fix: pass e.g. 160.")
    if settings.mock_data:
        with tfds.testing.mock_data(num_examples=settings.mock_examples):
            ds, info = tfds.load("oxford_iiit_pet", split="train", with_info=True)
        if limit is not None:  # offline timing runs read as many examples as the profile does
            ds = ds.take(limit)
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

    A predicted box with ymin > ymax or xmin > xmax (a model can output one) covers nothing: it
    scores IoU 0, and the printed line says how many there were. True boxes must be valid.

    Example:
        >>> box_report("demo", [[0, 0, 1, 1]], [[0, 0, 1, 1]])["mean_iou"]  # doctest: +SKIP
        1.0
    """
    from tlcourse.checks import check_number, check_text

    check_text("name", name, fix="name the model, e.g. 'localizer'")
    threshold = check_number("threshold", threshold, minimum=0, maximum=1, fix="use e.g. threshold=0.5")
    if np.asarray(true_boxes).size == 0:
        raise ValueError("true_boxes is empty: a report on no boxes has no mean IoU. Fix: pass the boxes of "
                         "at least one image (check that the split is not empty).")
    predicted = _as_boxes("predicted_boxes", predicted_boxes).copy()
    flat = predicted.reshape(-1, 4)
    flipped = (flat[:, 0] > flat[:, 2]) | (flat[:, 1] > flat[:, 3])
    flat[flipped] = 0.0  # an upside-down prediction is no box: it overlaps nothing (IoU 0), said below
    scores = iou(true_boxes, predicted)
    report = {"mean_iou": float(np.mean(scores)), "hit_rate": float(np.mean(scores >= threshold))}
    note = f" ({int(flipped.sum())} upside-down prediction(s) scored 0)" if flipped.any() else ""
    print(f"{name}: mean IoU {report['mean_iou']:.3f}, IoU ≥ {threshold}: {report['hit_rate']:.0%} "
          f"of {len(np.atleast_2d(np.asarray(true_boxes)))} boxes{note}")
    return report


def plot_boxes(images, true_boxes, predicted_boxes=None, columns: int = 4):
    """Show images with true boxes (green) and, if given, predicted boxes (red, dashed).

    Example:
        >>> figure = plot_boxes(images, true_boxes, predicted_boxes)  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from tlcourse.checks import check_int, check_pixels

    images = np.asarray(images)
    columns = check_int("columns", columns, minimum=1, fix="e.g. columns=4")
    check_pixels("images", images)
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


def plot_anchors(image, true_box, matched_boxes, example_boxes=None):
    """Show a one-stage detector's default boxes (anchors) on one image, next to its true box.

    Left: ``example_boxes`` (e.g. the default boxes of a few scales and aspect ratios centred near the
    object), one colour each; right: ``matched_boxes``, the default boxes matched to the true box as
    positives (orange). The true box is green in both. Boxes are normalised ``[ymin, xmin, ymax, xmax]``
    and may reach past the image's edge. Introduced in notebook 12. Returns the figure.

    Example:
        >>> figure = plot_anchors(image, true_box, anchors[positive], anchors[:3])  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    image = np.asarray(image)
    if image.ndim != 3:
        raise ValueError(f"image has shape {image.shape}: expected one image (height, width, channels). "
                         "Fix: pass images[0], not the batch.")
    true_box = _as_boxes("true_box", true_box).reshape(-1, 4)
    panels = [("default boxes at one location", _as_boxes("example_boxes", example_boxes).reshape(-1, 4)
               if example_boxes is not None else np.zeros((0, 4))),
              ("matched as positives", _as_boxes("matched_boxes", matched_boxes).reshape(-1, 4))]
    height, width = image.shape[:2]
    figure, axes = plt.subplots(1, 2, figsize=(7, 3.5))
    colours = plt.get_cmap("tab10")
    for axis, (title, boxes) in zip(axes, panels):
        axis.imshow(np.clip(image / 255.0, 0, 1))
        axis.set(title=f"{title} ({len(boxes)})", xlim=(0, width), ylim=(height, 0))
        axis.axis("off")
        for index, (ymin, xmin, ymax, xmax) in enumerate(boxes):
            colour = "orange" if title.startswith("matched") else colours(index % 10)
            axis.add_patch(Rectangle((xmin * width, ymin * height), (xmax - xmin) * width, (ymax - ymin) * height,
                                     fill=False, color=colour, linewidth=1.5))
        for ymin, xmin, ymax, xmax in true_box:
            axis.add_patch(Rectangle((xmin * width, ymin * height), (xmax - xmin) * width, (ymax - ymin) * height,
                                     fill=False, color="lime", linewidth=3))
    figure.tight_layout()
    return figure


@contextlib.contextmanager
def float32_policy() -> Iterator[None]:
    """Build models in ``float32`` inside the block, then restore the global dtype policy.

    For export: LiteRT cannot run a ``mixed_float16`` model's float16 ops without TF's flex
    delegate, and float16 boxes would differ from float32 ones by more than 1e-4. Build a copy
    inside this block and ``set_weights`` from the trained model (variables are float32 in both).

    Example:
        >>> import keras
        >>> with float32_policy():
        ...     keras.mixed_precision.global_policy().name
        'float32'
    """
    import keras

    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


# COCO ids (keras_hub.utils.coco_id_to_name, 1–91) that the 80 detection classes skip
_COCO_UNUSED_IDS = {12, 26, 29, 30, 45, 66, 68, 69, 71, 83, 91}


def coco_class_names() -> list[str]:
    """COCO's 80 detection class names in label order (0 = person … 79 = toothbrush).

    KerasHub's D-FINE COCO presets predict labels 0–79 in this order; ``keras_hub.utils.coco_id_to_name``
    numbers the 91 original COCO ids instead (1 = person), gaps included.

    Example:
        >>> names = coco_class_names()  # doctest: +SKIP
        >>> len(names), names[0], names[16], names[79]  # doctest: +SKIP
        (80, 'person', 'dog', 'toothbrush')
    """
    import keras_hub

    return [keras_hub.utils.coco_id_to_name(i) for i in range(1, 92) if i not in _COCO_UNUSED_IDS]


# --- detection (KerasHub D-FINE) -------------------------------------------------------------

_DFINE_SIZES: dict[str, dict] = {
    # the docstring's (and D-FINE nano's) layout: HGNetV2-B0 + a 3-layer decoder, 300 queries, 640 px
    "nano": dict(image_side=640, stem=[3, 16, 16],
                 stages=[[16, 16, 64, 1, 3, 3], [64, 32, 256, 1, 3, 3], [256, 64, 512, 2, 3, 5],
                         [512, 128, 1024, 1, 3, 5]],
                 depths=[1, 1, 2, 1], hidden_sizes=[64, 256, 512, 1024], embedding_size=16, hidden_dim=128,
                 encoder_ffn_dim=512, decoder_ffn_dim=512, heads=8, decoder_layers=3, points=[6, 6], queries=300,
                 denoising=100, lqe_hidden_dim=64),
    # as small as D-FINE allows, for the offline smoke run (about 29k parameters, random weights)
    "tiny": dict(image_side=64, stem=[3, 8, 8],
                 stages=[[8, 8, 16, 1, 1, 3], [16, 8, 32, 1, 1, 3], [32, 8, 32, 1, 1, 3], [32, 8, 32, 1, 1, 3]],
                 depths=[1, 1, 1, 1], hidden_sizes=[16, 32, 32, 32], embedding_size=8, hidden_dim=16,
                 encoder_ffn_dim=16, decoder_ffn_dim=16, heads=2, decoder_layers=1, points=[2, 2], queries=10,
                 denoising=0, lqe_hidden_dim=8),
}


def build_dfine_detector(size: str = "tiny", num_classes: int = 80) -> object:
    """A ``keras_hub.models.DFineObjectDetector`` built from arguments (random weights, no download).

    ``size="tiny"`` is the smoke profile's stand-in (64 px, about 29k parameters, builds in about a
    second); ``size="nano"`` has the layout and size of the ``dfine_nano_coco`` preset (640 px, about
    3.8M parameters) for offline timing runs. Boxes are ``"yxyx"`` in pixels. The arguments follow
    the ``DFineObjectDetector`` docstring of keras_hub 0.32.

    Example:
        >>> detector = build_dfine_detector("tiny")  # doctest: +SKIP
        >>> detector.backbone.image_shape  # doctest: +SKIP
        (64, 64, 3)
    """
    import keras_hub

    if size not in _DFINE_SIZES:
        raise ValueError(f"size={size!r}: expected one of {sorted(_DFINE_SIZES)}. Fix: pass 'tiny' (smoke) or "
                         "'nano' (the preset's size).")
    if not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes={num_classes!r}: expected an int ≥ 1. Fix: pass e.g. 80 (COCO).")
    s = _DFINE_SIZES[size]
    shape = (s["image_side"], s["image_side"], 3)
    features = ["stage3", "stage4"]
    hgnetv2 = keras_hub.models.HGNetV2Backbone(
        stem_channels=s["stem"], stackwise_stage_filters=s["stages"], apply_downsample=[False, True, True, True],
        use_lightweight_conv_block=[False, False, True, True], depths=s["depths"], hidden_sizes=s["hidden_sizes"],
        embedding_size=s["embedding_size"], use_learnable_affine_block=True, hidden_act="relu", image_shape=shape,
        out_features=features)
    backbone = keras_hub.models.DFineBackbone(
        backbone=hgnetv2, decoder_in_channels=[s["hidden_dim"]] * 2, encoder_hidden_dim=s["hidden_dim"],
        num_denoising=s["denoising"], num_labels=num_classes, hidden_dim=s["hidden_dim"], learn_initial_query=False,
        num_queries=s["queries"], anchor_image_size=shape[:2], feat_strides=[16, 32], num_feature_levels=2,
        encoder_in_channels=s["hidden_sizes"][2:], encode_proj_layers=[1], num_attention_heads=s["heads"],
        encoder_ffn_dim=s["encoder_ffn_dim"], num_encoder_layers=1, hidden_expansion=0.34, depth_multiplier=0.5,
        eval_idx=-1, num_decoder_layers=s["decoder_layers"], decoder_attention_heads=s["heads"],
        decoder_ffn_dim=s["decoder_ffn_dim"], decoder_n_points=s["points"], lqe_hidden_dim=s["lqe_hidden_dim"],
        num_lqe_layers=2, out_features=features, image_shape=shape)
    return keras_hub.models.DFineObjectDetector(backbone=backbone, num_classes=num_classes,
                                                bounding_box_format="yxyx")


def stand_in_detector() -> object:
    """The offline stand-in for a pretrained D-FINE preset: random weights, built from arguments.

    Smoke: ``build_dfine_detector("tiny")`` (seconds); offline timing runs
    (``tlcourse.settings.offline_timing``): ``build_dfine_detector("nano")``, the size of
    ``dfine_nano_coco``. Notebook 12 calls it only where ``settings.mock_data`` is true and shows
    ``DFineObjectDetector.from_preset`` itself for quick/full.

    Example:
        >>> detector = stand_in_detector()  # doctest: +SKIP
    """
    from tlcourse.settings import offline_timing

    with float32_policy():  # like the preset in notebook 12, loaded with dtype="float32"
        return build_dfine_detector("nano" if offline_timing() else "tiny")


def detector_with_new_classes(detector, num_classes: int):
    """A copy of a ``DFineObjectDetector`` for ``num_classes`` own classes, pretrained wherever it can be.

    In keras_hub 0.32 ``DFineObjectDetector.from_preset(preset, num_classes=3)`` fails: the class
    heads live inside ``DFineBackbone`` (``num_labels``), so the preset's 80-class weights do not fit
    (``ValueError`` "The shape of the target variable ... must match"). This builds the same backbone
    with ``num_labels=num_classes`` and copies every weight whose shape still matches (image
    backbone, encoder, decoder, box heads); only the class-dependent ones (class heads, denoising
    label embedding) start random. Returns ``(new_detector, kept, new)``: the counts of copied and
    freshly initialised weights.

    Example:
        >>> tuned, kept, new = detector_with_new_classes(build_dfine_detector("tiny"), 3)  # doctest: +SKIP
    """
    if not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes={num_classes!r}: expected an int ≥ 1. Fix: pass your own class count.")
    config = detector.backbone.get_config()
    config["num_labels"] = num_classes
    backbone = detector.backbone.__class__.from_config(config)
    new_detector = detector.__class__(backbone=backbone, num_classes=num_classes,
                                      bounding_box_format=detector.bounding_box_format,
                                      preprocessor=detector.preprocessor)
    if len(backbone.weights) != len(detector.backbone.weights):  # same config: same weights in the same order
        raise ValueError(f"the rebuilt backbone has {len(backbone.weights)} weights, the detector's "
                         f"{len(detector.backbone.weights)}: expected the same layout. Fix: pass a DFineObjectDetector.")
    kept = new = 0
    for weight, source in zip(backbone.weights, detector.backbone.weights):
        if tuple(source.shape) == tuple(weight.shape):
            weight.assign(source)
            kept += 1
        else:
            new += 1
    return new_detector, kept, new


def plot_detections(images, predictions, class_names, threshold: float = 0.5, columns: int = 4):
    """Draw a detector's boxes with ``score ≥ threshold`` and their class names on the images.

    ``predictions`` is what ``ObjectDetector.predict`` returns (``"boxes"`` ``"yxyx"`` in pixels of
    ``images``, ``"labels"``, ``"confidence"``); ``class_names`` maps a label id to a name (a dict or
    a list). Returns the figure.

    Example:
        >>> figure = plot_detections(images, detector.predict(images), coco_names)  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from tlcourse.checks import check_int, check_pixels

    images = np.asarray(images)
    columns = check_int("columns", columns, minimum=1, fix="e.g. columns=4")
    check_pixels("images", images)
    if not isinstance(predictions, dict):
        raise TypeError(f"predictions is a {type(predictions).__name__}: expected the dict detector.predict(images) "
                        "returns. Fix: pass detector.predict(images).")
    missing = {"boxes", "labels", "confidence"} - set(predictions)
    if missing:
        raise ValueError(f"predictions lacks {sorted(missing)}: expected the dict detector.predict(images) "
                         "returns. Fix: pass detector.predict(images).")
    if len(images) != len(predictions["boxes"]):
        raise ValueError(f"{len(images)} images but predictions for {len(predictions['boxes'])}: expected the "
                         "images that were predicted.")
    rows = int(np.ceil(len(images) / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(3 * columns, 3 * rows), squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index >= len(images):
            continue
        axis.imshow(np.clip(images[index] / 255.0, 0, 1))
        for box, label, score in zip(predictions["boxes"][index], predictions["labels"][index],
                                     predictions["confidence"][index]):
            if score < threshold or label < 0:
                continue
            ymin, xmin, ymax, xmax = box
            axis.add_patch(Rectangle((xmin, ymin), xmax - xmin, ymax - ymin, fill=False, color="yellow",
                                     linewidth=2))
            axis.text(xmin, ymin, f"{class_names[int(label)]} {score:.2f}", color="black", fontsize=8,
                      backgroundcolor="yellow", verticalalignment="bottom")
    figure.tight_layout()
    return figure
