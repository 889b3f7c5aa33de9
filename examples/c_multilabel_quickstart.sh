#!/usr/bin/env bash
# Job (c): multi-label quickstart. Labels are lists of tags per example (a list column in Parquet).
# From the examples' features alone, labelcli cross-validates per-tag probabilities, then lists:
#   - label issues (rows whose tag set looks wrong, with the suspect +tag / -tag),
#   - a label quality score for every row,
#   - outliers and near duplicates in feature space.
# Data: sample_data/ (scikit-learn's digits, six tags per digit, 120 planted tag errors).
# Usage: examples/c_multilabel_quickstart.sh [OUTPUT_FOLDER]   (default: out/examples)
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-out/examples}"
mkdir -p "$out"
labelcli="${LABELCLI:-$here/.venv/bin/labelcli}"
[ -x "$labelcli" ] || labelcli=labelcli
data="$here/sample_data"

# 1. Issues, from features: 5-fold cross-validation gives out-of-sample P(tag) for every row;
#    With --features the table also has issue_type, outlier_score, is_outlier, duplicate_set.
"$labelcli" find-issues --labels "$data/digits_multilabel.parquet" --label-col tags \
    --features "$data/digits_features.npy" --model knn --seed 0 \
    --out "$out/c_issues.parquet" --quiet

# 2. Scores for every row (lower = more suspect), from the sample's shipped per-tag probabilities.
"$labelcli" score --labels "$data/digits_multilabel.parquet" --label-col tags \
    --pred-probs "$data/digits_multilabel.parquet" --prob-prefix prob_ \
    --out "$out/c_scores.csv" --quiet

# 3. A short look at what was found (in Parquet, tags are list columns: one list of tag names per row).
"${PYTHON:-$here/.venv/bin/python}" - "$out" <<'PY'
import sys
import pandas as pd

out = sys.argv[1]
issues = pd.read_parquet(f"{out}/c_issues.parquet")
kinds = issues["issue_type"].dropna().str.split(",").explode().value_counts()
print(f"{len(issues)} rows listed; by issue type:", dict(kinds))
print(issues[issues["is_label_issue"]].head(5).to_string(index=False))
scores = pd.read_csv(f"{out}/c_scores.csv")
print(f"{len(scores)} scores written; the 3 lowest rows:", scores.nsmallest(3, "label_score")["index"].tolist())
PY
