import numpy as np
import pytest
import tensorflow as tf

from tlcourse.boxes import iou, sanitise_boxes


def test_iou_of_known_boxes():
    assert float(iou([0, 0, 1, 1], [0, 0, 0.5, 1])) == pytest.approx(0.5)
    assert float(iou([0, 0, 0.5, 0.5], [0.5, 0.5, 1, 1])) == 0.0
    assert float(iou([0.1, 0.2, 0.6, 0.9], [0.1, 0.2, 0.6, 0.9])) == pytest.approx(1.0)
    np.testing.assert_allclose(iou([[0, 0, 1, 1], [0, 0, 0.5, 0.5]], [[0, 0, 1, 1], [0.25, 0.25, 0.75, 0.75]]),
                               [1.0, 1 / 7])


def test_iou_of_empty_boxes_is_zero():
    assert float(iou([0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5])) == 0.0


def test_sanitise_sorts_and_clips():
    out = sanitise_boxes(tf.constant([[0.8, 0.1, 0.2, 0.3], [-0.1, 0.9, 1.2, 0.4]])).numpy()
    np.testing.assert_allclose(out, [[0.2, 0.1, 0.8, 0.3], [0.0, 0.4, 1.0, 0.9]], atol=1e-6)


@pytest.mark.parametrize("a, b", [([0, 0, 1], [0, 0, 1]), ([[0, 0, 1, 1]], [[0, 0, 1, 1]] * 2),
                                  ([0, 0, np.nan, 1], [0, 0, 1, 1])])
def test_iou_bad_input(a, b):
    with pytest.raises(ValueError):
        iou(a, b)


def test_sanitise_bad_input():
    with pytest.raises(ValueError, match="expected"):
        sanitise_boxes(tf.constant([0.1, 0.2, 0.3]))
