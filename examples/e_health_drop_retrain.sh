#!/usr/bin/env bash
# Job (e): a health summary, then drop the 10% of rows with the lowest label quality score,
# retrain, and compare test accuracy (original vs cleaned labels).
# Data: the digits sample that ships in sample_data/ (1,797 rows, 10 classes, 5% planted errors).
# Usage: examples/e_health_drop_retrain.sh [output folder]   (default out/examples)
set -euo pipefail

OUT="${1:-out/examples}/e_health_drop_retrain"
DATA="$(cd "$(dirname "$0")/.." && pwd)/sample_data"
LABELCLI="${LABELCLI:-labelcli}"
mkdir -p "$OUT"

# 1. Health: overall score, per-class noise, overlapping class pairs (JSON kept for later).
"$LABELCLI" health -l "$DATA/digits_labels.npy" -p "$DATA/digits_pred_probs.npy" --out "$OUT/health.json"

# 2. A score for every row, then the cleaned labels without the lowest-scoring 10%.
"$LABELCLI" find-issues -l "$DATA/digits_labels.npy" -p "$DATA/digits_pred_probs.npy" --all -q \
    --out "$OUT/issues.csv"
"$LABELCLI" fix -l "$DATA/digits_labels.npy" -p "$DATA/digits_pred_probs.npy" --issues "$OUT/issues.csv" \
    --auto drop --fraction 0.1 --out "$OUT/clean.csv" --changelog "$OUT/changes.csv" -q

# 3. Retrain on the original and the cleaned labels, score the same held-out 30% against the true
#    labels (a trusted reference; the planted errors are known for this sample).
"$LABELCLI" evaluate -x "$DATA/digits_features.npy" -l "$DATA/digits_labels.npy" --clean-labels "$OUT/clean.csv" \
    --test-fraction 0.3 --test-labels "$DATA/digits_true_labels.npy" --format json > "$OUT/evaluate.json"
python3 - "$OUT/evaluate.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print(f"test accuracy: original {d['original']['accuracy']:.4f} -> cleaned {d['cleaned']['accuracy']:.4f}"
      f" ({d['num_dropped']} rows dropped, scored on {d['num_scored']} held-out rows against {d['reference']})")
PY
