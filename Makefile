# authkit course — `make lab` to learn, `make test` to check everything.
# Each target creates .venv on first use and reinstalls only when pyproject.toml changes.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NBVAL  := --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg
export PYTHONHASHSEED := 0
export MPLBACKEND := module://matplotlib_inline.backend_inline

# Jupyter refuses to run as root unless told; a laptop user is not root.
ALLOW_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)
JUPYTER_PORT ?= 8888

.PHONY: lab test course student bench clean help

help:
	@echo "make lab      open the course in JupyterLab (embedded fakeredis by default)"
	@echo "make test     run the whole harness: unit, contract (fakeredis + redis-server), strict nbval, student copies"
	@echo "make course   execute every notebook into a static site under build/site"
	@echo "make student  write the learners' copies under build/student"
	@echo "make bench    costs as ratios to bare anchors, measured side by side on a real redis-server (build/bench/)"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "authkit needs Python >= 3.10, found " + sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[course,dev]'
	@touch $(STAMP)

lab: $(STAMP)
	@echo "Starting JupyterLab on notebooks/ — open the http://127.0.0.1:$(JUPYTER_PORT)/lab?token=… URL printed below."
	$(BIN)/jupyter lab --ServerApp.root_dir=notebooks --ServerApp.ip=127.0.0.1 --ServerApp.port=$(JUPYTER_PORT) $(ALLOW_ROOT)

test: $(STAMP)
	$(BIN)/python -m pytest $(NBVAL) -n auto --dist loadfile tests notebooks

course: $(STAMP)
	$(BIN)/python -m authkit.course site --out build/site

student: $(STAMP)
	$(BIN)/python -m authkit.course student --out build/student

bench: $(STAMP)
	@$(BIN)/python -c 'import flask_session' 2>/dev/null || $(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/harness.py

clean:
	rm -rf build .pytest_cache
