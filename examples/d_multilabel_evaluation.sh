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

# 3. AP and AP@T of the scores against the planted errors (any tag wrong = an error), then the
#    precision and recall of the flagged rows. The truth could also be the true tag sets (a column
#    of tag names, compared as sets with given_labels).
"$labelcli" benchmark --issues "$out/d_scores.csv" --truth "$data/digits_tag_is_error.npy" \
    --out "$out/d_benchmark.json" --plot "$out/d_pr_curve.png"
"$labelcli" benchmark --issues "$out/d_issues.csv" --truth "$data/digits_tag_is_error.npy"

# 4. The HTML report: suspect tags per example (table and image gallery), the estimated noise per
#    tag and the tag pairs most often confused.
"$labelcli" report "${ml[@]}" --images "$data/digits_images.npy" --out "$out/d_report" --quiet
echo "report: $out/d_report/index.html"
