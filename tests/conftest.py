"""Shared setup for the unit tests of ``tlcourse``.

``tlcourse`` is imported first so that it points the download caches at the course's ``data/``
folder before Keras or TensorFlow is imported (both read ``KERAS_HOME``/``TFDS_DATA_DIR`` once).
"""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")  # plots must never open a window in the test suite

import tlcourse  # noqa: E402,F401  (before keras/tensorflow: see the module docstring)
