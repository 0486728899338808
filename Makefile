# One command to open the course, one to test it. Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# The test suite: unit tests plus every notebook executed by nbval, offline (smoke profile).
TEST_ENV := TLCOURSE_PROFILE=smoke MPLBACKEND=Agg PYTHONHASHSEED=0
PYTEST_ARGS ?=

.PHONY: lab test test-shuffled html format check-format colab-check clean

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ needed, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	@touch $(STAMP)

# Serves JupyterLab on notebooks/. As root (containers, some cloud machines) Jupyter needs --allow-root.
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks $(LAB_ARGS)

# Two or more test processes (pytest-xdist; at most 4: each holds TensorFlow); --dist loadscope keeps a
# notebook's cells, and a test module's tests, in one process and in order. PYTEST_ARGS=-n0 runs serially.
XDIST := -n auto --maxprocesses 4 --dist loadscope

test: $(STAMP)
	$(TEST_ENV) $(PY) -m pytest tests tlcourse notebooks --doctest-modules --nbval-lax --nbval-current-env \
		--nbval-cell-timeout=600 --durations=15 -p no:randomly $(XDIST) $(PYTEST_ARGS)

# The unit tests and doctests in a random order (pytest-randomly; it prints the seed: rerun one order
# with PYTEST_ARGS=--randomly-seed=N). Notebooks are left out: their cells must run in order.
test-shuffled: $(STAMP)
	$(TEST_ENV) $(PY) -m pytest tests tlcourse --doctest-modules -p randomly --durations=5 $(PYTEST_ARGS)

# Instructor's rendering: runs the notebooks in one profile, HTML with outputs in build/html (index.html).
PROFILE ?= quick
NOTEBOOKS ?=

html: $(STAMP)
	$(PY) tools/render_html.py --profile $(PROFILE) $(if $(NOTEBOOKS),--notebooks $(NOTEBOOKS),)

format: $(STAMP)
	$(PY) tools/nbtidy.py format

check-format: $(STAMP)
	$(PY) tools/nbtidy.py check

# Colab's versions (Python 3.13, TF 2.20, Keras 3.13, tfds 4.9.10): does tlcourse install without
# replacing them, and does the smoke suite pass there? Needs python3.13 and PyPI; run by hand.
colab-check:
	bash tools/colab_check.sh

clean:
	rm -rf $(VENV) results build .pytest_cache
