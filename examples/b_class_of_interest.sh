#!/usr/bin/env bash
# Job (b): class-of-interest cleaning. Pick the class the model confuses most (health's most
# overlapping class pair), review that class's 50 most important rows per round (a simulated
# reviewer that knows the planted errors relabels the wrong ones), fix, and track evaluate's
# scores per round with --history; finally `report --history` plots AUROC (and accuracy,
# macro-F1) per round. Data: the digits sample in sample_data/ (5% planted label errors).
# Usage: examples/b_class_of_interest.sh [output folder]   (default out/examples)
set -euo pipefail

OUT="${1:-out/examples}/b_class_of_interest"
DATA="$(cd "$(dirname "$0")/.." && pwd)/sample_data"
LABELCLI="${LABELCLI:-labelcli}"
PYTHON="${PYTHON:-python3}"
ROUNDS=3
mkdir -p "$OUT"
rm -f "$OUT/history.csv" "$OUT/decisions.csv"
L=(-l "$DATA/digits_labels.npy")

# 1. The most confused class: the first class of health's most overlapping pair.
"$LABELCLI" health "${L[@]}" -p "$DATA/digits_pred_probs.npy" --out "$OUT/health.json" -q
CLASS=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["overlapping_pairs"][0]["class_a"])' \
        "$OUT/health.json")
echo "class of interest: $CLASS"

for round in $(seq 1 $ROUNDS); do
    # 2. The class's rows ranked by importance (logistic-regression sensitivity on the features).
    "$LABELCLI" score "${L[@]}" -x "$DATA/digits_features.npy" --method importance --class "$CLASS" \
        --top 500 -q --out "$OUT/ranked.csv"
    # 3. The simulated reviewer: the 50 most important rows not reviewed yet; relabels a row to its
    #    true label when the given label is a planted error, keeps it otherwise. Decisions accumulate.
    "$PYTHON" - "$OUT/ranked.csv" "$OUT/decisions.csv" "$DATA/digits_true_labels.npy" <<'PY'
import csv, os, sys
import numpy as np
ranked, decisions, truth = sys.argv[1], sys.argv[2], np.load(sys.argv[3])
done = []
if os.path.exists(decisions):
    with open(decisions) as f:
        done = list(csv.DictReader(f))
seen = {int(d["index"]) for d in done}
with open(ranked) as f:
    rows = [r for r in csv.DictReader(f) if int(r["index"]) not in seen][:50]
for r in rows:
    i, given = int(r["index"]), r["given_label"]
    wrong = str(truth[i]) != given
    done.append({"index": i, "action": "relabel" if wrong else "keep", "new_label": str(truth[i]) if wrong else ""})
with open(decisions, "w", newline="") as f:
    w = csv.DictWriter(f, ["index", "action", "new_label"])
    w.writeheader()
    w.writerows(done)
print(f"reviewed {len(rows)} rows, relabeled {sum(d['action'] == 'relabel' for d in done[-len(rows):])}")
PY
    # 4. Apply every decision so far to the original labels, then score the round: the same model on
    #    the original vs the cleaned labels, on a held-out 30% scored against the true labels.
    "$LABELCLI" fix "${L[@]}" --decisions "$OUT/decisions.csv" --out "$OUT/clean.csv" -q
    "$LABELCLI" evaluate -x "$DATA/digits_features.npy" "${L[@]}" --clean-labels "$OUT/clean.csv" \
        --test-fraction 0.3 --test-labels "$DATA/digits_true_labels.npy" --history "$OUT/history.csv" -q
done

# 5. The report, with the metric-per-round plot (history.png) from the history file.
"$LABELCLI" report "${L[@]}" -p "$DATA/digits_pred_probs.npy" --history "$OUT/history.csv" --out "$OUT/report" -q
cat "$OUT/history.csv"
