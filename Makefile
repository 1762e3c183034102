# Two commands do all set-up:  `make train` (the default wake word, end to end) and `make test`.
# Both create .venv on first use and reinstall only when pyproject.toml changes.
PYTHON ?= python3
VENV ?= .venv
CORES ?= all
# torch is installed first, pinned, so pip never silently pulls a different multi-GB build.
TORCH ?= torch==2.13.0
# openWakeWord's reference implementation (the tests compare against it; its frontend models are
# our offline source). --no-deps: its tflite-runtime pin has no wheel for Python >= 3.12.
OPENWAKEWORD ?= openwakeword==0.5.1
BIN := $(VENV)/bin
STAMP := $(VENV)/.wakeforge-installed

.PHONY: train test lint dry-run clean-results

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[test]"
	$(BIN)/python -m pip install --quiet --no-deps "$(OPENWAKEWORD)"
	touch $(STAMP)

train: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) --resources gpu=1 $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/snakefmt --check .
	$(BIN)/snakemake --lint --cores 1

dry-run: $(STAMP)
	$(BIN)/snakemake -n --cores $(CORES) $(ARGS)
