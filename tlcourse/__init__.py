"""Helpers for the hands-on transfer-learning course.

Import ``tlcourse`` before ``keras``/``tensorflow``: it points the download caches at the
course's ``data/`` folder, which both libraries read only once, at import.
"""

import os as _os

from tlcourse.paths import configure_caches as _configure_caches

_configure_caches()
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")  # hide TensorFlow's C++ INFO lines

__version__ = "0.1.0"

from tlcourse.settings import Settings, get_settings, setup  # noqa: E402

__all__ = ["Settings", "get_settings", "setup", "__version__"]
