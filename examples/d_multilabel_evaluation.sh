#!/usr/bin/env bash
# Job (d): multi-label evaluation. Score every row, list the suspect tags, and check the ranking
# against the errors we know were planted (sample_data/digits_tag_is_error.npy): average
# precision (AP) and AP@T (AP over the T lowest-scoring rows: the mean of precision@k at each error
# found among them, divided by T = the number of planted errors).
# Usage: examples/d_multilabel_evaluation.sh [OUTPUT_FOLDER]   (default: out/examples)
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-out/examples}"
mkdir -p "$out"
labelcli="${LABELCLI:-$here/.venv/bin/labelcli}"
[ -x "$labelcli" ] || labelcli=labelcli
data="$here/sample_data"
ml=(--labels "$data/digits_multilabel.parquet" --label-col tags
    --pred-probs "$data/digits_multilabel.parquet" --prob-prefix prob_)

# 1. A score for every row (self_confidence for multi-label: lower = more suspect).
"$labelcli" score "${ml[@]}" --out "$out/d_scores.csv" --quiet

# 2. The flagged rows with their suspect tags ('+tag' probably missing, '-tag' probably extra).
"$labelcli" find-issues "${ml[@]}" --out "$out/d_issues.csv" --quiet

# 3. AP and AP@T of the scores against the planted errors.
# TODO(benchmark): replace with `labelcli benchmark --issues "$out/d_scores.csv" --truth "$data/digits_tag_is_error.npy"`.
"${PYTHON:-$here/.venv/bin/python}" - "$out" "$data" <<'PY'
import sys, numpy as np, pandas as pd
from sklearn.metrics import average_precision_score
out, data = sys.argv[1], sys.argv[2]
s = pd.read_csv(f"{out}/d_scores.csv").sort_values("index")["label_score"].to_numpy()
err = np.load(f"{data}/digits_tag_is_error.npy").astype(bool).reshape(len(s), -1).any(axis=1)
t = int(err.sum()); hit = err[np.argsort(s, kind="stable")[:t]]
ap_t = float((np.cumsum(hit) / np.arange(1, t + 1) * hit).sum() / t)
print(f"AP {average_precision_score(err, -s):.3f}   AP@T (T={t}) {ap_t:.3f}   precision@T {hit.mean():.3f}")
issues = pd.read_csv(f"{out}/d_issues.csv")
print(f"{len(issues)} flagged; suspect tags of the first 5:", issues["suspect_tags"].head(5).tolist())
PY
