"""Shared setup for the unit tests of ``tlcourse``.

``tlcourse`` is imported here so that the download caches point at the course's ``data/`` folder
for every test (the import order does not matter: see ``tlcourse.paths``).
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")  # plots must never open a window in the test suite

import tlcourse  # noqa: E402,F401  (sets the cache folders: see the module docstring)


@pytest.fixture
def restore_determinism():
    """``setup()`` switches on TensorFlow op determinism process-wide; switch it off again."""
    yield
    from tensorflow.python.framework import config as tf_config

    if hasattr(tf_config, "disable_op_determinism"):
        tf_config.disable_op_determinism()


@pytest.fixture(autouse=True)
def same_global_random_state():
    """Every test starts from the same global random state (Python, NumPy, and Keras/TensorFlow
    once imported), whatever ran before it: a test must pass in any order (``make test-shuffled``).
    A test that needs other draws seeds its own generator."""
    import random
    import sys

    import numpy as np

    random.seed(0)
    np.random.seed(0)
    if "keras" in sys.modules:
        sys.modules["keras"].utils.set_random_seed(0)
    yield
