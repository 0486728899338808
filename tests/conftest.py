"""Shared setup for the unit tests of ``tlcourse``, and for the notebooks run by nbval.

``tlcourse`` is imported here so that the download caches point at the course's ``data/`` folder
for every test (the import order does not matter: see ``tlcourse.paths``).

Each notebook runs under nbval as it runs in Colab: in a fresh runtime with an empty results folder
(``FreshRuntimePerNotebook``, registered for the whole run, notebooks/ included).
"""

from __future__ import annotations

import os
import tempfile

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")  # plots must never open a window in the test suite

import tlcourse  # noqa: E402,F401  (sets the cache folders: see the module docstring)
from tlcourse.paths import RESULTS_ENV  # noqa: E402


class FreshRuntimePerNotebook:
    """Give every notebook's kernel a new, empty results folder, as a fresh Colab runtime has.

    Colab gives every notebook its own runtime, so a lesson must teach its point without another
    notebook's saved records (issue 18). Before nbval starts a notebook's kernel (which inherits this
    process's environment), ``TLCOURSE_RESULTS_DIR`` points at a new empty folder; it is restored when
    the notebook's last cell has run. A notebook that needs another's record fails its own cells here,
    as it would in Colab. A plugin registered by ``pytest_configure`` (not conftest hooks, which would
    apply to tests/ only); ``tests/test_fresh_runtime.py`` proves it.
    """

    def __init__(self) -> None:
        self.before: list[str | None] = []

    @staticmethod
    def _notebook(item: pytest.Item):
        return item.parent if type(item.parent).__name__ == "IPyNbFile" else None

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        notebook = self._notebook(item)
        if notebook is None or notebook.kernel is not None:  # not a notebook cell, or its kernel already runs
            return
        self.before.append(os.environ.get(RESULTS_ENV))
        os.environ[RESULTS_ENV] = tempfile.mkdtemp(prefix=f"tlcourse-results-{notebook.path.stem[:2]}-")

    def pytest_runtest_teardown(self, item: pytest.Item, nextitem: pytest.Item | None) -> None:
        if self._notebook(item) is None or (nextitem is not None and nextitem.parent is item.parent):
            return
        before = self.before.pop() if self.before else None
        if before is None:
            os.environ.pop(RESULTS_ENV, None)
        else:
            os.environ[RESULTS_ENV] = before


class LessonNotebooksOnly:
    """Collect only the lessons' notebooks from ``notebooks/``: a learner's own notebook there (Jupyter's
    ``…-Copy1.ipynb``, ``Untitled.ipynb``, a folder of their own, outputs and all) is theirs, not a test. A file
    in ``notebooks/`` named like a lesson is always collected, so a lesson missing from the course map still fails
    its test. Registered with the tests (``make test`` runs ``pytest tests tlcourse notebooks``)."""

    @staticmethod
    def pytest_ignore_collect(collection_path, config):
        from tlcourse.course import is_lesson_filename

        if collection_path.suffix != ".ipynb" or "notebooks" not in collection_path.parent.parts:
            return None
        in_place = collection_path.parent.name == "notebooks"  # notebooks/mywork/… is the learner's too
        return None if in_place and is_lesson_filename(collection_path) else True


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("tlcourse-fresh-runtime"):
        config.pluginmanager.register(FreshRuntimePerNotebook(), "tlcourse-fresh-runtime")
    if not config.pluginmanager.has_plugin("tlcourse-lesson-notebooks"):
        config.pluginmanager.register(LessonNotebooksOnly(), "tlcourse-lesson-notebooks")


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
