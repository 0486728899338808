"""Procedurally drawn shapes: the offline data set behind notebook 01's transfer-learning lab.

Every image shows one shape — at a random position, size and rotation, filled or drawn as an
outline, in a random colour — on a random background with a colour gradient, a few clutter
lines and pixel noise. Twelve shape kinds are split into two disjoint tasks:
``SOURCE_SHAPES`` (plenty of labels: the task we pretrain on) and ``TARGET_SHAPES`` (new
classes with few labels: the task we transfer to).

Only NumPy is needed, the output is a deterministic function of the seed, and the drawing is
vectorised: 6,000 images of 32 × 32 px take about two seconds on a laptop CPU (one call
draws at most ``MAX_IMAGES`` of them).

Example:
    >>> images, labels = make_shapes(SOURCE_SHAPES, per_class=2, seed=0)
    >>> images.shape, images.dtype, labels.shape
    ((12, 32, 32, 3), dtype('uint8'), (12,))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tlcourse.checks import check_int

MIN_IMAGE_SIZE = 16
"""Smallest image side ``make_shapes`` draws: below it the shapes are blobs."""

MAX_IMAGES = 100_000
"""Most images of 32 × 32 px one ``make_shapes`` call draws (see ``check_request``)."""

MAX_PIXELS = MAX_IMAGES * 32 * 32
"""Most pixels (images × side²) one ``make_shapes`` call draws."""

# How much the drawings vary. Tuned so that the small CNN of tlcourse.lab learns the source task
# in a few epochs on a CPU while the task stays far from trivial; change it to experiment.
STYLE = {
    "radius": (0.28, 0.45),  # shape radius, as a fraction of the image side
    "outline_fraction": 0.25,  # share of shapes drawn as a 1-2 px outline
    "clutter_lines": 2,  # up to this many random lines behind the shape
    "noise": (4.0, 16.0),  # range of the Gaussian pixel noise's standard deviation (0-255 scale)
    "min_contrast": 110.0,  # least RGB distance between the shape and the mean background
}

# Each shape is a mask function of local coordinates (u, v): the shape centred at (0, 0),
# fitting the unit disc, before rotation and scaling. Arrays have shape (n, H, W).
MaskFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _regular_polygon(sides: int, radius: float = 1.0) -> MaskFn:
    """Return the mask function of a regular polygon with ``sides`` corners on a circle."""
    apothem = radius * np.cos(np.pi / sides)
    angles = (2 * np.arange(sides) + 1) * np.pi / sides

    def mask(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        inside = np.ones(u.shape, dtype=bool)
        for angle in angles:
            inside &= u * np.cos(angle) + v * np.sin(angle) <= apothem
        return inside

    return mask


def _star(points: int, outer: float = 1.0, inner: float = 0.42) -> MaskFn:
    """Return the mask function of a star with straight edges and ``points`` tips."""
    half = np.pi / points

    def mask(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        radius = np.hypot(u, v)
        # Fold the angle into one half-sector [0, half]: the tip on 0, the notch on half.
        phi = np.abs((np.arctan2(v, u) + half) % (2 * half) - half)
        # The edge from the tip (outer, 0) to the notch (inner·cos half, inner·sin half).
        x, y = radius * np.cos(phi), radius * np.sin(phi)
        notch_x, notch_y = inner * np.cos(half), inner * np.sin(half)
        return (x - outer) * notch_y - y * (notch_x - outer) <= 0

    return mask


def _circle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return u**2 + v**2 <= 0.92**2


def _square(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.maximum(np.abs(u), np.abs(v)) <= 0.7


def _plus(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    au, av = np.abs(u), np.abs(v)
    return ((au <= 0.3) & (av <= 0.92)) | ((av <= 0.3) & (au <= 0.92))


def _heart(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    x, y = u / 0.85, -(v / 0.85) + 0.12  # image rows grow downwards: flip so the tip points down
    return (x**2 + y**2 - 1) ** 3 - x**2 * y**3 <= 0


def _crescent(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return (u**2 + v**2 <= 0.92**2) & ((u - 0.42) ** 2 + v**2 > 0.72**2)


def _arrow(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    shaft = (u >= -0.9) & (u <= 0.15) & (np.abs(v) <= 0.2)
    head = (u >= 0.05) & (np.abs(v) <= 0.65 * (0.9 - u) / 0.85)
    return shaft | head


def _ell(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    upright = (u >= -0.6) & (u <= -0.15) & (np.abs(v) <= 0.85)
    foot = (u >= -0.6) & (u <= 0.65) & (v >= 0.4) & (v <= 0.85)
    return upright | foot


def _semicircle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    shifted = v + 0.35
    return (u**2 + shifted**2 <= 0.95**2) & (shifted <= 0)


def _ellipse(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return (u / 0.95) ** 2 + (v / 0.45) ** 2 <= 1


SHAPES: dict[str, MaskFn] = {
    "circle": _circle,
    "square": _square,
    "triangle": _regular_polygon(3),
    "plus": _plus,
    "star": _star(5),
    "hexagon": _regular_polygon(6, radius=0.92),
    "heart": _heart,
    "crescent": _crescent,
    "arrow": _arrow,
    "ell": _ell,
    "semicircle": _semicircle,
    "ellipse": _ellipse,
}
"""Every shape kind, by name. No two are the same up to rotation and scale."""

SOURCE_SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "plus", "star", "hexagon")
"""The source task's classes: the one with plenty of labels, used for pretraining."""

TARGET_SHAPES: tuple[str, ...] = ("heart", "crescent", "arrow", "ell", "semicircle", "ellipse")
"""The target task's classes: new shapes, none in ``SOURCE_SHAPES``, with few labels."""


def check_request(num_images: int, image_size: int) -> None:
    """Raise ``ValueError`` if drawing ``num_images`` images of ``image_size`` px is too much.

    Drawing needs about 50 kB of working memory per 32 × 32 px image (about 5 GB for
    ``MAX_IMAGES``), so one call may draw at most ``MAX_IMAGES`` images of 32 × 32 px, or as
    many pixels in all (``MAX_PIXELS``). ``tlcourse.lab`` calls this before it trains anything.

    Example:
        >>> check_request(6 * 1000, 32)  # fine: returns None
        >>> check_request(6 * 50_000, 32)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: images=300000 is too many: expected at most 100,000 images of 32 × 32 px ...
    """
    pixels = num_images * image_size * image_size
    if num_images > MAX_IMAGES or pixels > MAX_PIXELS:
        raise ValueError(
            f"images={num_images} is too many: expected at most {MAX_IMAGES:,} images of 32 × 32 px "
            f"(or as many pixels: images × image_size² <= {MAX_PIXELS:,}; you asked for {pixels:,}) "
            "in one call, or drawing them could use up your memory. Fix: ask for fewer images per "
            "class or smaller images."
        )


def _check_arguments(shape_names: Sequence[str], per_class: int, image_size: int, seed: int) -> None:
    """Raise ``TypeError``/``ValueError`` with a how-to-fix message for any bad argument of ``make_shapes``."""
    if isinstance(shape_names, str):
        raise ValueError(
            f"shape_names={shape_names!r} is a single string; expected a list of shape names. "
            f"Wrap it in a list: make_shapes([{shape_names!r}], ...)."
        )
    names = list(shape_names)
    unknown = [name for name in names if name not in SHAPES]
    if not names or unknown:
        raise ValueError(
            f"shape_names={names!r} contains unknown shape names {unknown!r} (or is empty); "
            f"expected a non-empty list drawn from {sorted(SHAPES)}, e.g. shapes.SOURCE_SHAPES."
        )
    if len(set(names)) != len(names):
        raise ValueError(
            f"shape_names={names!r} repeats a name; expected each shape once (one class per "
            "shape). Remove the duplicates."
        )
    check_int("per_class", per_class, minimum=1, fix="ask for at least one image per shape, e.g. per_class=100")
    check_int("image_size", image_size, minimum=MIN_IMAGE_SIZE,
              fix="smaller shapes become unrecognisable blobs; use e.g. image_size=32")
    check_int("seed", seed, minimum=0, fix="use a non-negative whole number, e.g. seed=0")
    check_request(len(names) * per_class, image_size)


def _draw_masks(kinds: np.ndarray, shape_names: Sequence[str], size: int,
                rng: np.random.Generator) -> np.ndarray:
    """Draw one randomly placed, scaled, rotated, filled-or-outlined shape per image.

    Returns a boolean array ``(n, size, size)``: True where the shape's colour goes.
    """
    n = len(kinds)
    radius = rng.uniform(*STYLE["radius"], n) * size
    margin = radius * 0.8  # a shape may poke slightly out of the frame
    centre_x = rng.uniform(margin, size - margin)
    centre_y = rng.uniform(margin, size - margin)
    angle = rng.uniform(0, 2 * np.pi, n)
    aspect = rng.uniform(0.85, 1.15, n)  # a slight stretch, so no two drawings are congruent
    grid = np.arange(size) + 0.5
    dx = grid[None, None, :] - centre_x[:, None, None]
    dy = grid[None, :, None] - centre_y[:, None, None]
    cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    scale = radius[:, None, None]
    u = (cos * dx + sin * dy) / (scale * aspect[:, None, None])
    v = (-sin * dx + cos * dy) / scale
    masks = np.zeros((n, size, size), dtype=bool)
    for index, name in enumerate(shape_names):
        chosen = kinds == index
        masks[chosen] = SHAPES[name](u[chosen], v[chosen])
    # About a third become outlines: the shape minus its eroded inside, stroke 1–2 px.
    outline = rng.random(n) < STYLE["outline_fraction"]
    stroke = rng.integers(1, 3, n)
    eroded = masks.copy()
    for step in range(2):
        shrunk = eroded.copy()
        shrunk[:, 1:, :] &= eroded[:, :-1, :]
        shrunk[:, :-1, :] &= eroded[:, 1:, :]
        shrunk[:, :, 1:] &= eroded[:, :, :-1]
        shrunk[:, :, :-1] &= eroded[:, :, 1:]
        take = stroke > step
        eroded[take] = shrunk[take]
    masks[outline] &= ~eroded[outline]
    return masks


def _draw_clutter(n: int, size: int, rng: np.random.Generator, max_lines: int = 3) -> np.ndarray:
    """Draw 0 to ``max_lines`` thin random line segments per image: boolean ``(n, lines, H, W)``."""
    start = rng.uniform(0, size, (n, max_lines, 2)).astype(np.float32)
    end = rng.uniform(0, size, (n, max_lines, 2)).astype(np.float32)
    present = rng.integers(0, max_lines + 1, n)[:, None] > np.arange(max_lines)[None, :]
    grid = np.arange(size, dtype=np.float32) + 0.5
    sx, sy = start[..., 0, None, None], start[..., 1, None, None]
    ex, ey = end[..., 0, None, None] - sx, end[..., 1, None, None] - sy  # segment vector
    px = grid[None, None, None, :] - sx  # pixel relative to the segment's start
    py = grid[None, None, :, None] - sy
    t = np.clip((px * ex + py * ey) / (ex**2 + ey**2 + 1e-6), 0, 1)
    distance2 = (px - t * ex) ** 2 + (py - t * ey) ** 2
    return (distance2 <= 0.6**2) & present[:, :, None, None]


def _random_colours(n: int, rng: np.random.Generator, avoid: np.ndarray | None = None,
                    min_distance: float = 110.0) -> np.ndarray:
    """Return ``(n, 3)`` RGB colours; if ``avoid`` is given, each is far from ``avoid[i]``."""
    colours = rng.uniform(0, 255, (n, 3))
    if avoid is None:
        return colours
    for _ in range(20):  # redraw the colours that are too close to the background
        close = np.linalg.norm(colours - avoid, axis=1) < min_distance
        if not close.any():
            break
        colours[close] = rng.uniform(0, 255, (int(close.sum()), 3))
    close = np.linalg.norm(colours - avoid, axis=1) < min_distance
    colours[close] = 255 - avoid[close]  # the complement: always far enough in practice
    return colours


def make_shapes(shape_names: Sequence[str], per_class: int, image_size: int = 32,
                seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``per_class`` noisy images of each shape in ``shape_names``, shuffled.

    Class ``i`` is ``shape_names[i]``. Each image varies the shape's position, size (about a
    half to nine tenths of the image), rotation, slight stretch, fill (filled or a 1–2 px
    outline) and colour; the background is a random colour gradient with up to three clutter
    lines, and Gaussian pixel noise of a random strength covers everything. The same
    arguments always return the same images; use different seeds for training and test sets.

    Args:
        shape_names: the classes, e.g. ``SOURCE_SHAPES`` or ``TARGET_SHAPES`` (names from
            ``SHAPES``).
        per_class: images per shape, at least 1.
        image_size: side of the square images in pixels, at least 16.
        seed: seed of the random generator.

    Returns:
        ``(images, labels)``: ``uint8`` array ``(N, image_size, image_size, 3)`` with values
        0–255 and ``int32`` array ``(N,)`` of class indices, ``N = len(shape_names) * per_class``.

    Raises:
        TypeError: ``per_class``, ``image_size`` or ``seed`` is not a whole number.
        ValueError: an unknown or repeated shape name, ``per_class < 1``, an ``image_size``
            below ``MIN_IMAGE_SIZE``, a negative ``seed``, or more than ``check_request`` allows.

    Example:
        >>> images, labels = make_shapes(["circle", "heart"], per_class=3, image_size=32, seed=1)
        >>> images.shape, sorted(labels.tolist())
        ((6, 32, 32, 3), [0, 0, 0, 1, 1, 1])
    """
    _check_arguments(shape_names, per_class, image_size, seed)
    rng = np.random.default_rng(seed)
    size = int(image_size)
    labels = np.repeat(np.arange(len(shape_names), dtype=np.int32), int(per_class))
    labels = labels[rng.permutation(len(labels))]
    n = len(labels)

    # Background: a linear gradient between two random colours, in a random direction.
    colour_a, colour_b = _random_colours(n, rng), _random_colours(n, rng)
    direction = rng.uniform(0, 2 * np.pi, n)
    steepness = rng.uniform(0, 1.4, n)[:, None, None]
    grid = (np.arange(size) + 0.5) / size - 0.5
    ramp = (np.cos(direction)[:, None, None] * grid[None, None, :]
            + np.sin(direction)[:, None, None] * grid[None, :, None]) * steepness + 0.5
    ramp = np.clip(ramp, 0, 1).astype(np.float32)[..., None]
    colour_a, colour_b = colour_a.astype(np.float32), colour_b.astype(np.float32)
    images = colour_a[:, None, None, :] + (colour_b - colour_a)[:, None, None, :] * ramp

    # Clutter lines under the shape, each in its own random colour.
    clutter = _draw_clutter(n, size, rng, STYLE["clutter_lines"])
    line_colours = _random_colours(n * clutter.shape[1], rng).reshape(n, clutter.shape[1], 3)
    for line in range(clutter.shape[1]):
        where = np.nonzero(clutter[:, line])
        images[where] = line_colours[where[0], line]

    # The shape, in a colour far from the background's mean colour.
    masks = _draw_masks(labels, shape_names, size, rng)
    shape_colours = _random_colours(n, rng, avoid=(colour_a + colour_b) / 2,
                                    min_distance=STYLE["min_contrast"])
    where = np.nonzero(masks)
    images[where] = shape_colours[where[0]]

    noise_level = rng.uniform(*STYLE["noise"], n).astype(np.float32)[:, None, None, None]
    images += rng.standard_normal(images.shape, dtype=np.float32) * noise_level
    return np.clip(np.rint(images), 0, 255).astype(np.uint8), labels


MAX_SHOWN_PER_CLASS = 12
"""Most rows ``show_tasks`` draws (one image per shape and row)."""


def show_tasks(per_class: int = 6, image_size: int = 32, seed: int = 7) -> Any:
    """Show ``per_class`` drawn examples of every shape: source shapes on the left, target shapes on the right.

    Notebook 01's first look at its two tasks: one column per shape, titled "source" or "target"
    and the shape's name, one example per row.

    Args:
        per_class: rows of examples, 1 to ``MAX_SHOWN_PER_CLASS``.
        image_size: side of the drawn images in pixels (as in ``make_shapes``).
        seed: seed of the drawing (as in ``make_shapes``).

    Returns:
        The matplotlib Figure.

    Example:
        >>> figure = show_tasks(per_class=2)
        >>> len(figure.axes), figure.axes[0].get_title()
        (24, 'source\\ncircle')
    """
    import matplotlib.pyplot as plt

    per_class = check_int("per_class", per_class, minimum=1, maximum=MAX_SHOWN_PER_CLASS,
                          fix="show a few rows, e.g. per_class=6")
    names = SOURCE_SHAPES + TARGET_SHAPES
    images, labels = make_shapes(names, per_class, image_size, seed=seed)
    figure, axes = plt.subplots(per_class, len(names), figsize=(len(names), 0.2 + 1.03 * per_class), squeeze=False)
    for column, name in enumerate(names):
        for row, image in enumerate(images[labels == column]):
            axes[row, column].imshow(image)
            axes[row, column].axis("off")
        axes[0, column].set_title(("source\n" if name in SOURCE_SHAPES else "target\n") + name, fontsize=8)
    figure.tight_layout()
    return figure
