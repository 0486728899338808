"""Notebook 01's two pictures draw without error and say what the article says."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from tlcourse import diagrams


@pytest.mark.parametrize(
    ("draw", "expected"),
    [
        (diagrams.draw_normal_training, ["Normal training", "random weights", "prediction", "labelled images"]),
        (diagrams.draw_transfer_learning, ["Transfer learning", "pretrained base", "frozen",
                                           "new layers (head)", "trained", "few labels", "copy the weights"]),
    ],
)
def test_diagram_draws_a_figure_with_its_labels(draw, expected):
    figure = draw()
    try:
        assert isinstance(figure, Figure)
        figure.canvas.draw()  # renders every patch and text: fails on a bad artist
        texts = " ".join(diagrams.figure_texts(figure))
        missing = [label for label in expected if label not in texts]
        assert not missing, f"{draw.__name__} lacks {missing}; it shows: {texts!r}"
    finally:
        plt.close(figure)
