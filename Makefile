# Every target sets up its own virtual environment (.venv) if it is missing or stale.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
OUT := out

.PHONY: demo test examples bench bench-knn bench-dask fuzz lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamp files record which extras are installed; they are redone when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[plot]"
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
	$(BIN)/labelcli find-issues --labels sample_data/digits_multilabel.parquet --label-col tags \
		--pred-probs sample_data/digits_multilabel.parquet --prob-prefix prob_ --top 10 --out $(OUT)/tag_issues.csv
	$(BIN)/labelcli report --labels sample_data/digits.parquet --pred-probs sample_data/digits.parquet \
		--prob-prefix prob_ --images sample_data/digits_images.npy --out $(OUT)/report
	$(BIN)/labelcli review --labels sample_data/digits.parquet --pred-probs sample_data/digits.parquet \
		--prob-prefix prob_ --images sample_data/digits_images.npy --top 50 --out $(OUT)/review.html
	@echo "--- the review loop: flag, drop the flagged rows, and check held-out accuracy against the true labels"
	$(BIN)/labelcli find-issues --labels sample_data/digits_labels.npy --pred-probs sample_data/digits_pred_probs.npy \
		--quiet --out $(OUT)/issues_all.csv
	$(BIN)/labelcli fix --labels sample_data/digits_labels.npy --issues $(OUT)/issues_all.csv --auto drop \
		--out $(OUT)/labels_clean.parquet --changelog $(OUT)/changes.csv
	$(BIN)/labelcli evaluate --features sample_data/digits_features.npy --labels sample_data/digits_labels.npy \
		--clean-labels $(OUT)/labels_clean.parquet --test-fraction 0.3 \
		--test-labels sample_data/digits_true_labels.npy --seed 0
	@echo "Wrote $(OUT)/health.json, $(OUT)/issues.csv, $(OUT)/tag_issues.csv; open $(OUT)/report/index.html,"
	@echo "and $(OUT)/review.html to review the 50 most suspect digits with the keyboard (k keep, d drop, r relabel)"

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

# The jobs of the README as shell scripts (examples/*.sh), all writing into $(OUT)/examples (each in its
# own subfolder or with its own file prefix); `make test` runs them too (tests/test_examples.py).
examples: $(VENV)/.installed
	@set -e; for s in examples/*.sh; do echo "--- $$s"; \
		PATH="$(CURDIR)/$(BIN):$$PATH" bash $$s $(OUT)/examples; done

# A longer run of the reader fuzzer than the 20 s inside `make test` (LABELCLI_FUZZ_SECONDS=...).
fuzz: $(VENV)/.installed-test
	LABELCLI_FUZZ_SECONDS=$${LABELCLI_FUZZ_SECONDS:-600} $(BIN)/python -m pytest -q -s -p no:cacheprovider tests/test_fuzz.py

bench: $(VENV)/.installed-bench
	$(BIN)/python bench/speed.py
	$(BIN)/python bench/multilabel.py
	$(BIN)/python bench/real_data.py
	$(BIN)/python bench/knn.py --n 20000

# Accuracy of error finding (issue #8): labelcli vs cleanlab on CIFAR-10 noisy, real label errors and
# planted noise; writes bench/ACCURACY.md and bench/_work/accuracy/results.json (ACCURACY_ARGS=... adds options).
.PHONY: accuracy
ACCURACY_ARGS ?=
accuracy: $(VENV)/.installed-bench
	$(BIN)/python -m bench.accuracy --methods 'default,cleanlab[*,labelcli[*' $(ACCURACY_ARGS)

# The feature-space benchmark at N = 200k, D = 128 (cleanlab's side alone takes about an hour here).
bench-knn: $(VENV)/.installed-bench
	$(BIN)/python bench/knn.py --n 200000

# --engine dask (issue #15): 1 and 2 local workers and the single-process CLI on 10M x 10 and 1M x 100
# partitioned Parquet, kNN tiles at 200k x 128; writes bench/DASK.md (data under bench/_work/dask/).
bench-dask: $(VENV)/.installed-bench
	$(BIN)/python bench/dask.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .hypothesis
