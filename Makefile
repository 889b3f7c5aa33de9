# Every target sets up its own virtual environment (.venv) if it is missing or stale.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
OUT := out

.PHONY: demo test bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamp files record which extras are installed; they are redone when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	touch $@ $(VENV)/.installed

# The main job on sample_data/: the health report, then the ranked issues table.
demo: $(VENV)/.installed
	@mkdir -p $(OUT)
	$(BIN)/labelcli health --labels sample_data/digits.parquet --pred-probs sample_data/digits.parquet \
		--prob-prefix prob_ --out $(OUT)/health.json
	$(BIN)/labelcli find-issues --labels sample_data/digits.parquet --pred-probs sample_data/digits.parquet \
		--prob-prefix prob_ --top 15 --out $(OUT)/issues.csv
	@echo "Wrote $(OUT)/health.json and $(OUT)/issues.csv"

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

bench: $(VENV)/.installed-bench
	$(BIN)/python bench/real_data.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .hypothesis
