"""Helpers for the hands-on transfer-learning course.

``import tlcourse`` points the download caches at the course's ``data/`` folder (unless you set
``TFDS_DATA_DIR``/``KERAS_HOME`` yourself), in any import order: see ``tlcourse.paths``.
"""

import os as _os

from tlcourse.paths import configure_caches as _configure_caches
from tlcourse.paths import point_keras_cache as _point_keras_cache

_configure_caches()
_point_keras_cache()  # only acts when Keras was imported first; setup() warns if it cannot
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")  # hide TensorFlow's C++ INFO lines

__version__ = "0.1.0"

from tlcourse.settings import Settings, get_settings, setup  # noqa: E402

__all__ = ["Settings", "get_settings", "setup", "__version__"]
