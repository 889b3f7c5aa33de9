#!/usr/bin/env bash
# Job (b): class-of-interest cleaning. Each round: pick the class the model confuses most (health's
# most overlapping class pair, on the labels as cleaned so far, a class not picked before), review
# that class's 50 most important rows (a simulated reviewer that knows the planted errors relabels
# the wrong ones), fix, and track evaluate's scores per round with --history; finally
# `report --history` plots AUROC (and accuracy, macro-F1) per round. Data: the digits sample in sample_data/ (5% planted label errors).
# Usage: examples/b_class_of_interest.sh [output folder]   (default out/examples)
set -euo pipefail

OUT="${1:-out/examples}/b_class_of_interest"
DATA="$(cd "$(dirname "$0")/.." && pwd)/sample_data"
LABELCLI="${LABELCLI:-labelcli}"
PYTHON="${PYTHON:-python3}"
ROUNDS=3
mkdir -p "$OUT"
rm -f "$OUT/history.csv" "$OUT/decisions.csv" "$OUT/clean.csv"
L=(-l "$DATA/digits_labels.npy")

: > "$OUT/chosen.txt"
CURRENT=("${L[@]}")   # the labels as they stand: the original file, then each round's fix output

for round in $(seq 1 $ROUNDS); do
    # 1. The class of interest: the most overlapping class pair's first class not reviewed yet, from
    #    health on the labels as they stand (a fix output is a labels file like any other).
    "$LABELCLI" health "${CURRENT[@]}" -p "$DATA/digits_pred_probs.npy" --out "$OUT/health.json" -q
    CLASS=$("$PYTHON" - "$OUT/health.json" "$OUT/chosen.txt" <<'PY'
import json, sys
done = open(sys.argv[2]).read().split()
for pair in json.load(open(sys.argv[1]))["overlapping_pairs"]:
    for c in (pair["class_a"], pair["class_b"]):
        if str(c) not in done:
            print(c)
            raise SystemExit
PY
)
    echo "$CLASS" >> "$OUT/chosen.txt"
    echo "round $round: class of interest $CLASS"
    # 2. The class's 50 most important rows (logistic-regression sensitivity on the features), leaving
    #    out every row already reviewed (--exclude takes the decisions file: its index column).
    EXCLUDE=(); [ -s "$OUT/decisions.csv" ] && EXCLUDE=(--exclude "$OUT/decisions.csv")
    "$LABELCLI" score "${L[@]}" -x "$DATA/digits_features.npy" --method importance --class "$CLASS" \
        --top 50 "${EXCLUDE[@]}" -q --out "$OUT/ranked.csv"
    # 3. The simulated reviewer: relabels a row to its true label when the given label is a planted
    #    error, keeps it otherwise. Decisions accumulate in one file.
    "$PYTHON" - "$OUT/ranked.csv" "$OUT/decisions.csv" "$DATA/digits_true_labels.npy" <<'PY'
import csv, os, sys
import numpy as np
ranked, decisions, truth = sys.argv[1], sys.argv[2], np.load(sys.argv[3])
done = []
if os.path.exists(decisions):
    with open(decisions) as f:
        done = list(csv.DictReader(f))
with open(ranked) as f:
    rows = list(csv.DictReader(f))
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
    CURRENT=(-l "$OUT/clean.csv")
    "$LABELCLI" evaluate -x "$DATA/digits_features.npy" "${L[@]}" --clean-labels "$OUT/clean.csv" \
        --test-fraction 0.3 --test-labels "$DATA/digits_true_labels.npy" --history "$OUT/history.csv" -q
done

# 5. The report, with the metric-per-round plot (history.png) from the history file.
"$LABELCLI" report "${L[@]}" -p "$DATA/digits_pred_probs.npy" --history "$OUT/history.csv" --out "$OUT/report" -q
cat "$OUT/history.csv"
