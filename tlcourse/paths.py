"""Where the course keeps downloads and results.

Inside a clone of the course repository everything lives next to the notebooks:
``data/tfds`` (TensorFlow Datasets), ``data/keras`` (Keras Applications weights) and
``results/`` (one small JSON record per experiment, git-ignored). Installed elsewhere (Colab),
the library defaults are kept and results go to ``./tlcourse_results``.

``configure_caches()`` runs when ``tlcourse`` is imported, so import ``tlcourse`` *before*
``keras`` or ``tensorflow``: both read ``KERAS_HOME`` / ``TFDS_DATA_DIR`` once, at import.
Variables you set yourself always win.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
RESULTS_ENV = "TLCOURSE_RESULTS_DIR"


def repo_root() -> Path | None:
    """Return the course repository's root folder, or ``None`` when installed elsewhere.

    Example:
        >>> repo_root()  # doctest: +SKIP
        PosixPath('/home/me/transfer-learning-course')
    """
    candidate = PACKAGE_DIR.parent
    if (candidate / "notebooks").is_dir() and (candidate / "pyproject.toml").is_file():
        return candidate
    return None


def data_dir() -> Path | None:
    """Return the course's download cache (``<repo>/data``), or ``None`` outside a clone."""
    root = repo_root()
    return root / "data" if root else None


def results_dir() -> Path:
    """Return the folder for result records: ``$TLCOURSE_RESULTS_DIR``, else ``<repo>/results``.

    Outside a clone it is ``./tlcourse_results``. The folder is created on first use by
    :func:`tlcourse.results.save_result`, not here.
    """
    override = os.environ.get(RESULTS_ENV, "").strip()
    if override:
        return Path(override)
    root = repo_root()
    return root / "results" if root else Path.cwd() / "tlcourse_results"


def configure_caches() -> dict[str, str]:
    """Point ``TFDS_DATA_DIR`` and ``KERAS_HOME`` at ``data/`` unless they are already set.

    Returns the values in effect. Called once by ``import tlcourse``; harmless to call again.
    """
    base = data_dir()
    if base is not None:
        os.environ.setdefault("TFDS_DATA_DIR", str(base / "tfds"))
        os.environ.setdefault("KERAS_HOME", str(base / "keras"))
    return {key: os.environ.get(key, "(library default)") for key in ("TFDS_DATA_DIR", "KERAS_HOME")}
