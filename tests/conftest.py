"""Shared setup for the unit tests of ``tlcourse``.

``tlcourse`` is imported here so that the download caches point at the course's ``data/`` folder
for every test (the import order does not matter: see ``tlcourse.paths``).
"""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")  # plots must never open a window in the test suite

import tlcourse  # noqa: E402,F401  (sets the cache folders: see the module docstring)
