# Two commands do everything on a fresh machine with Python 3.11:
#   make run    # creates .venv, installs, starts the simulator with the demo configuration
#   make test   # creates .venv, installs with test extras, runs the whole suite, then builds
#               # the wheel and smoke-tests it in a fresh virtual environment (make smoke)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
WHEELS := build/wheel
SMOKE  := build/smoke

.PHONY: run test smoke wheel bench clean venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml setup.py
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/pbx-sim serve $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)
	$(MAKE) --no-print-directory smoke

# the wheel as an index would get it (built in an isolated environment from pyproject.toml);
# build/lib goes first so that no file deleted from the sources lingers in the wheel
wheel: $(STAMP)
	rm -rf build/lib build/bdist.* $(WHEELS) *.egg-info
	$(BIN)/python -m pip wheel --quiet --no-deps --wheel-dir $(WHEELS) .

# a fresh virtual environment with only the wheel (and its dependencies) in it
smoke: wheel
	rm -rf $(SMOKE)
	$(PYTHON) -m venv $(SMOKE)
	$(SMOKE)/bin/python -m pip install --quiet $(WHEELS)/pbx_simulator-*.whl
	$(SMOKE)/bin/python tests/wheel_smoke.py $(CURDIR)

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
