#!/usr/bin/env bash
# Job (f): fail CI when the labels got worse than the last release.
# Release N keeps its health.json as an artifact; release N+1 is gated against it with
# --baseline and --fail-if-worse (the estimated noise rate, overall and per class, matched by name).
# Data: the digits sample in sample_data/; "release 2" relabels 40 clear threes as "five".
# Usage: examples/f_baseline_gate.sh [output folder]   (default out/examples)
set -euo pipefail

OUT="${1:-out/examples}/f_baseline_gate"
DATA="$(cd "$(dirname "$0")/.." && pwd)/sample_data"
LABELCLI="${LABELCLI:-labelcli}"
mkdir -p "$OUT"

# 1. Release 1: its health summary is the baseline (in CI: keep it as a build artifact).
"$LABELCLI" health -l "$DATA/labels.csv" -p "$DATA/pred_probs.csv" -q --out "$OUT/release1_health.json"

# 2. The same data again: nothing got worse, the gate passes (exit 0).
"$LABELCLI" health -l "$DATA/labels.csv" -p "$DATA/pred_probs.csv" -q \
    --baseline "$OUT/release1_health.json" --fail-if-worse 0.01 --out "$OUT/unchanged_health.json"
echo "unchanged data: gate passed"

# 3. Release 2 with a planted regression: 40 confident "three" rows labeled "five".
python3 - "$DATA" "$OUT/release2_labels.csv" <<'PY'
import csv, sys
data, out = sys.argv[1], sys.argv[2]
rows = list(csv.DictReader(open(f"{data}/labels.csv")))
probs = list(csv.DictReader(open(f"{data}/pred_probs.csv")))
moved = 0
for row, p in zip(rows, probs):
    if moved < 40 and row["label"] == "three" and float(p["three"]) > 0.9:
        row["label"], moved = "five", moved + 1
with open(out, "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
PY

# 4. Gate release 2 against release 1: exit 1, and the terminal shows what got worse
#    (before, now, change). Its JSON holds the diff under "compared_to_baseline" and is itself
#    the baseline for release 3.
set +e
"$LABELCLI" health -l "$OUT/release2_labels.csv" -p "$DATA/pred_probs.csv" \
    --baseline "$OUT/release1_health.json" --fail-if-worse 0.01 --out "$OUT/release2_health.json"
code=$?
set -e
if [ "$code" -ne 1 ]; then echo "expected the gate to fail (exit 1), got $code" >&2; exit 1; fi
python3 - "$OUT/release2_health.json" <<'PY'
import json, sys
diff = json.load(open(sys.argv[1]))["compared_to_baseline"]
for c in diff["worse"]:
    print(f"worse: {c['name']}: {c['before']:.2%} -> {c['now']:.2%} ({c['change']:+.2%})")
PY
