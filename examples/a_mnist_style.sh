#!/usr/bin/env bash
# Job (a): MNIST-style. Cross-validate out-of-sample pred_probs from features, rank the label issues
# by self-confidence, and look at a gallery of the most suspect images.
# Data: the 8x8 digits sample in sample_data/ (features, labels with 5% planted errors, images).
# Usage: examples/a_mnist_style.sh [output folder]   (default out/examples)
set -euo pipefail

OUT="${1:-out/examples}/a_mnist_style"
DATA="$(cd "$(dirname "$0")/.." && pwd)/sample_data"
LABELCLI="${LABELCLI:-labelcli}"
mkdir -p "$OUT"

# 1. Out-of-sample pred_probs: 5-fold stratified cross-validation of a logistic regression.
"$LABELCLI" crossval -x "$DATA/digits_features.npy" -l "$DATA/digits_labels.npy" --folds 5 --seed 0 \
    --out "$OUT/pred_probs.npy"

# 2. Label issues ranked by self-confidence (the probability the model gives the given label).
"$LABELCLI" find-issues -l "$DATA/digits_labels.npy" -p "$OUT/pred_probs.npy" --rank-by self_confidence \
    --out "$OUT/issues.csv" -q

# 3. The HTML report with a gallery of the 32 most suspect images (open $OUT/report/index.html).
"$LABELCLI" report -l "$DATA/digits_labels.npy" -p "$OUT/pred_probs.npy" --rank-by self_confidence \
    --images "$DATA/digits_images.npy" --top 32 --out "$OUT/report" -q
echo "issues: $OUT/issues.csv ($(($(wc -l < "$OUT/issues.csv") - 1)) rows); gallery: $OUT/report/gallery.png"
