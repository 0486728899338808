"""The two pictures of notebook 01, drawn with matplotlib: normal training and transfer learning.

* ``draw_normal_training``: data → the whole network, trained from random weights → prediction.
* ``draw_transfer_learning``: a base pretrained on a source task with many labels is reused,
  frozen (with a lock), under new layers (a head) trained on the new task's few labels.

No files are needed: the boxes, arrows and the lock are matplotlib patches. Each function
returns its ``Figure``; in a notebook, assign it (``figure = draw_normal_training()``) and
Jupyter shows it once.

Example:
    >>> figure = draw_transfer_learning()
    >>> "frozen" in " ".join(figure_texts(figure))
    True
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Arc, FancyArrowPatch, FancyBboxPatch, Rectangle

TRAINED = "#f4a259"
"""Colour of layers trained on the task at hand."""
PRETRAINED = "#5b8fd6"
"""Colour of layers learned on the source task and reused."""
DATA = "#e8e8e8"
"""Colour of data and prediction boxes."""
DROPPED = "#bbbbbb"
"""Colour of the source task's head, which transfer learning throws away."""


def _canvas(width: float, height: float) -> tuple[Figure, Axes]:
    figure, axis = plt.subplots(figsize=(width, height))
    axis.set_xlim(0, width)
    axis.set_ylim(0, height)
    axis.set_aspect("equal")
    axis.axis("off")
    return figure, axis


def _box(axis: Axes, x: float, y: float, width: float, height: float, text: str, colour: str = DATA,
         fontsize: int = 9) -> None:
    axis.add_patch(FancyBboxPatch((x, y), width, height, boxstyle="round,pad=0.03,rounding_size=0.08",
                                  facecolor=colour, edgecolor="black", linewidth=1))
    axis.text(x + width / 2, y + height / 2, text, ha="center", va="center", fontsize=fontsize)


def _arrow(axis: Axes, start: tuple[float, float], end: tuple[float, float], text: str = "",
           style: str = "-", colour: str = "black") -> None:
    axis.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, linewidth=1.4,
                                   linestyle=style, color=colour, shrinkA=2, shrinkB=2))
    if text:
        axis.text((start[0] + end[0]) / 2 + 0.1, (start[1] + end[1]) / 2, text, ha="left", va="center",
                  fontsize=8, style="italic", color=colour)


def _layers(axis: Axes, x: float, y: float, colours: list[str], width: float = 0.32, height: float = 1.3,
            gap: float = 0.1) -> float:
    """Draw one upright bar per layer from ``x``; return the x where the last bar ends."""
    for colour in colours:
        axis.add_patch(Rectangle((x, y), width, height, facecolor=colour, edgecolor="black", linewidth=0.8))
        x += width + gap
    return x - gap


def _lock(axis: Axes, x: float, y: float, size: float = 0.34) -> None:
    """Draw a padlock whose body's lower-left corner is at ``(x, y)``."""
    axis.add_patch(Arc((x + size / 2, y + size * 0.8), size * 0.66, size * 0.9, theta1=0, theta2=180,
                       linewidth=2.2, color="#333333"))
    axis.add_patch(FancyBboxPatch((x, y), size, size * 0.8, boxstyle="round,pad=0,rounding_size=0.04",
                                  facecolor="#333333", edgecolor="#333333"))
    axis.add_patch(Rectangle((x + size * 0.45, y + size * 0.2), size * 0.1, size * 0.3, color="white"))


def _legend(axis: Axes, x: float, y: float, entries: list[tuple[str, str]]) -> None:
    for colour, text in entries:
        axis.add_patch(Rectangle((x, y), 0.3, 0.22, facecolor=colour, edgecolor="black", linewidth=0.8))
        axis.text(x + 0.4, y + 0.11, text, va="center", fontsize=8)
        x += 0.6 + 0.095 * len(text)


def draw_normal_training() -> Figure:
    """Draw normal training: data → the whole network, trained from random weights → prediction.

    Example:
        >>> "random weights" in " ".join(figure_texts(draw_normal_training()))
        True
    """
    figure, axis = _canvas(10, 3.2)
    axis.set_title("Normal training: one task, the whole network learned from random weights", fontsize=11)
    _box(axis, 0.2, 0.9, 1.9, 1.3, "labelled images\nof your task\n(many needed)")
    _arrow(axis, (2.15, 1.55), (3.05, 1.55))
    end = _layers(axis, 3.1, 0.9, [TRAINED] * 5)
    axis.text((3.1 + end) / 2, 2.45, "the whole network\n(base + head)", ha="center", va="bottom", fontsize=9)
    axis.text((3.1 + end) / 2, 0.75, "every layer starts from random weights\nand is trained on your data",
              ha="center", va="top", fontsize=8)
    _arrow(axis, (end + 0.05, 1.55), (end + 0.95, 1.55))
    _box(axis, end + 1.0, 0.9, 1.7, 1.3, "prediction\n(a class)")
    _legend(axis, 7.3, 2.75, [(TRAINED, "trained on this task")])
    return figure


def draw_transfer_learning() -> Figure:
    """Draw transfer learning: a pretrained base, frozen (locked), reused under a new, trained head.

    Top row: the source task, with many labels, trains the base and an old head. Bottom row:
    the base is reused with the same weights and frozen; only new layers on top (the head)
    are trained on the new task's few labels.

    Example:
        >>> texts = " ".join(figure_texts(draw_transfer_learning()))
        >>> "pretrained base" in texts and "new layers (head)" in texts
        True
    """
    figure, axis = _canvas(10, 5.6)
    axis.set_title("Transfer learning: reuse a pretrained base, train only new layers on top", fontsize=11)
    # Top: the source task.
    axis.text(0.2, 5.0, "1. Source task: many labels (done once, or downloaded)", fontsize=9, weight="bold")
    _box(axis, 0.2, 3.3, 1.9, 1.3, "source images\n(many labels)")
    _arrow(axis, (2.15, 3.95), (3.05, 3.95))
    end = _layers(axis, 3.1, 3.3, [PRETRAINED] * 4 + [DROPPED])
    axis.text((3.1 + end) / 2, 4.7, "base + old head (dropped later)", ha="center", fontsize=8)
    _arrow(axis, (end + 0.05, 3.95), (end + 0.95, 3.95))
    _box(axis, end + 1.0, 3.3, 1.7, 1.3, "source classes")
    # Bottom: the new task.
    axis.text(0.2, 2.45, "2. New task: few labels", fontsize=9, weight="bold")
    _box(axis, 0.2, 0.6, 1.9, 1.3, "new images\n(few labels)")
    _arrow(axis, (2.15, 1.25), (3.05, 1.25))
    base_end = _layers(axis, 3.1, 0.6, [PRETRAINED] * 4)
    _lock(axis, (3.1 + base_end) / 2 - 0.75, 2.0)
    axis.text((3.1 + base_end) / 2, 0.45, "pretrained base\nfrozen: weights kept", ha="center", va="top", fontsize=8)
    head_end = _layers(axis, base_end + 0.35, 0.6, [TRAINED, TRAINED])
    axis.text((base_end + 0.35 + head_end) / 2, 0.45, "new layers (head)\ntrained", ha="center", va="top",
              fontsize=8)
    _arrow(axis, (head_end + 0.05, 1.25), (head_end + 0.95, 1.25))
    _box(axis, head_end + 1.0, 0.6, 1.7, 1.3, "prediction\n(new classes)")
    # The reuse arrow, from the top base down to the bottom base.
    _arrow(axis, ((3.1 + base_end) / 2 + 0.2, 3.25), ((3.1 + base_end) / 2 + 0.2, 1.95), "copy the weights",
           style="--", colour="#2d5aa0")
    _legend(axis, 5.2, 2.3, [(PRETRAINED, "learned on the source task"), (TRAINED, "trained on the new task")])
    return figure


def figure_texts(figure: Figure) -> list[str]:
    """Return every text drawn on ``figure`` (titles and labels), e.g. to check a diagram.

    Example:
        >>> figure_texts(draw_normal_training())[0]
        'Normal training: one task, the whole network learned from random weights'
    """
    texts = []
    for axis in figure.axes:
        texts.append(axis.get_title())
        texts.extend(text.get_text() for text in axis.texts)
    return texts
