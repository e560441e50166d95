# authkit course — `make lab` to learn, `make check` while editing, `make test` to check everything.
# Each target creates .venv on first use and reinstalls only when pyproject.toml, uv.lock or this file changes.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# uv installs the exact versions of uv.lock in seconds; it comes from PyPI into .venv, nothing to install first.
UV     := $(BIN)/uv
UV_REQ := uv>=0.9,<1
EXTRAS := course,dev,bench
UV_RUN := UV_PROJECT_ENVIRONMENT=$(VENV) $(UV)
NBVAL  := --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg
export PYTHONHASHSEED := 0
export MPLBACKEND := module://matplotlib_inline.backend_inline

# Jupyter refuses to run as root unless told; a laptop user is not root.
ALLOW_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)
JUPYTER_PORT ?= 8888
# The learner's own copies of the notebooks (git-ignored); notebooks/ keeps the reference, never opened for editing.
WORKSPACE := my-course
# LAB_OPTIONS adds JupyterLab options, e.g. LAB_OPTIONS=--ServerApp.open_browser=False on a machine without a desktop.
COURSE_TOOL = $(BIN)/python -m authkit.course
WORKSPACE_ARGS = --workspace $(abspath $(WORKSPACE)) --course $(abspath notebooks)

.PHONY: lab reset progress drill check test course student bench lock clean help

help:
	@echo "make lab      open your workspace my-course/ in JupyterLab: the exercises, your work kept across runs"
	@echo "make reset NB=03   take the course's current version of one notebook (yours goes to my-course/backups/)"
	@echo "make progress show the exercises done and left, per notebook"
	@echo "make drill    the interview questions in the terminal (NB=03, N=10; ANKI=deck.txt exports them for Anki)"
	@echo "make check   the quick loop while editing: unit and contract tests on fakeredis (no notebook, browser or server)"
	@echo "make test     run the whole harness: unit, contract (fakeredis + redis-server), strict nbval, student copies"
	@echo "make course   execute every notebook into a static site under build/site (syllabus, search, figure gallery)"
	@echo "make student  write the learners' copies under build/student"
	@echo "make bench    costs as ratios to bare anchors, measured side by side on a real redis-server (build/bench/)"
	@echo "make lock     write uv.lock again after a change to the dependencies in pyproject.toml"

$(STAMP): pyproject.toml uv.lock Makefile
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "authkit needs Python >= 3.10, found " + sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# uv from PyPI, then exactly the versions of uv.lock (--locked stops if pyproject.toml changed and the lock did not);
	@# pip, slower and unpinned, only when uv cannot be had
	@test -x $(UV) || $(BIN)/python -m pip install --quiet --disable-pip-version-check '$(UV_REQ)' || true
	@if test -x $(UV); then \
		$(UV_RUN) sync --locked --inexact --all-extras || { echo "uv.lock does not match pyproject.toml: run make lock"; exit 1; }; \
	else \
		echo "uv could not be installed: installing with pip instead (slower, and not the locked versions)"; \
		$(BIN)/python -m pip install --quiet --upgrade pip && \
		$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'; \
	fi
	@# JupyterLab asks no question about news and fetches no feed: nothing leaves the learner's machine
	@mkdir -p $(VENV)/share/jupyter/lab/settings
	@echo '{"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false}}' \
		> $(VENV)/share/jupyter/lab/settings/overrides.json
	@rm -f $(VENV)/etc/jupyter/jupyter_server_config.d/authkit.json
	@# Inline figures drawn at twice their dpi (same size on screen, sharp on a laptop's display; same text repr)
	@mkdir -p $(VENV)/etc/ipython
	@echo '{"InlineBackend": {"figure_formats": ["retina"]}}' > $(VENV)/etc/ipython/ipython_kernel_config.json
	@touch $(STAMP)

$(UV):
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check '$(UV_REQ)'

# After a change to the dependencies in pyproject.toml: resolve again and commit uv.lock with it.
lock: $(UV)
	$(UV_RUN) lock

lab: $(STAMP)
	@$(COURSE_TOOL) workspace $(WORKSPACE_ARGS)
	@echo "Starting JupyterLab on $(WORKSPACE)/: open the URL it prints below, http://127.0.0.1:…/lab/tree/00_start_here.ipynb?token=…"
	@$(BIN)/jupyter lab --ServerApp.root_dir=$(abspath $(WORKSPACE)) --LabApp.default_url=/lab/tree/00_start_here.ipynb \
		--ServerApp.ip=127.0.0.1 --ServerApp.port=$(JUPYTER_PORT) $(ALLOW_ROOT) $(LAB_OPTIONS)

reset: $(STAMP)
	@test -n "$(NB)" || { echo "say which notebook: make reset NB=03"; exit 2; }
	@$(COURSE_TOOL) reset $(WORKSPACE_ARGS) $(NB)

progress: $(STAMP)
	@$(COURSE_TOOL) progress $(WORKSPACE_ARGS)

drill: $(STAMP)
	@$(COURSE_TOOL) drill $(WORKSPACE_ARGS) $(if $(NB),--notebook $(NB)) $(if $(N),--count $(N)) $(if $(ANKI),--anki $(ANKI))

# Unit and contract tests on fakeredis: no notebook, browser, redis-server or service process (tests/conftest.py).
check: $(STAMP)
	$(BIN)/python -m pytest -q -m "not heavy" -n 2 tests

test: $(STAMP)
	$(BIN)/python -m pytest $(NBVAL) -n auto --dist loadfile tests notebooks

course: $(STAMP)
	$(BIN)/python -m authkit.course site --out build/site

student: $(STAMP)
	$(BIN)/python -m authkit.course student --out build/student

bench: $(STAMP)
	$(BIN)/python bench/harness.py

clean:
	rm -rf build .pytest_cache
