"""Each notebook runs under nbval as it runs in Colab: in a fresh runtime with an empty results folder.

(At the repository root, not in notebooks/: ``--doctest-modules`` would import a second module named
``conftest`` there beside ``tests/conftest.py``.)

Colab gives every notebook its own runtime, so a lesson must teach its point without another
notebook's saved records (issue 18). Before nbval starts a notebook's kernel (which inherits this
process's environment), ``TLCOURSE_RESULTS_DIR`` is pointed at a new empty folder; it is restored
when the notebook's last cell has run. A notebook that needs another's record fails its own
asserts here, as it would in Colab.
"""

from __future__ import annotations

import os
import tempfile

import pytest

from tlcourse.paths import RESULTS_ENV

_saved: dict[str, str | None] = {}


def _notebook(item: pytest.Item) -> pytest.Collector | None:
    parent = item.parent
    return parent if type(parent).__name__ == "IPyNbFile" else None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    notebook = _notebook(item)
    if notebook is None or notebook.kernel is not None:  # not a notebook cell, or its kernel already runs
        return
    if "before" not in _saved:
        _saved["before"] = os.environ.get(RESULTS_ENV)
    os.environ[RESULTS_ENV] = tempfile.mkdtemp(prefix=f"tlcourse-results-{notebook.path.stem[:2]}-")


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    if _notebook(item) is None or (nextitem is not None and nextitem.parent is item.parent):
        return
    before = _saved.pop("before", None)
    if before is None:
        os.environ.pop(RESULTS_ENV, None)
    else:
        os.environ[RESULTS_ENV] = before
