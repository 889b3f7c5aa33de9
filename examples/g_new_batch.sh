#!/usr/bin/env bash
# Job (g): a new labeled batch checked against the reference set it joins.
# Per-class thresholds and the noise estimate are fitted on the reference; issues are flagged in
# the batch only (rows numbered in the batch); outliers are scored against the reference's kNN
# index; drift (class mix, outlier rate) is reported and gated with --fail-above-drift.
# Data: the digits sample in sample_data/, split into a reference (1,000 random rows) and a batch
# (the other 797, with their planted label errors), plus a batch of digits 0-4 only (shifted mix).
# Usage: examples/g_new_batch.sh [output folder]   (default out/examples)
set -euo pipefail

OUT="${1:-out/examples}/g_new_batch"
DATA="$(cd "$(dirname "$0")/.." && pwd)/sample_data"
LABELCLI="${LABELCLI:-labelcli}"
mkdir -p "$OUT"

# 1. Split the sample: labels (class names) and pred_probs as CSV, features as .npy.
python3 - "$DATA" "$OUT" <<'PY'
import csv, random, sys
data, out = sys.argv[1], sys.argv[2]
import numpy as np
labels = list(csv.reader(open(f"{data}/labels.csv")))
probs = list(csv.reader(open(f"{data}/pred_probs.csv")))
x, err = np.load(f"{data}/digits_features.npy"), np.load(f"{data}/digits_is_error.npy")
rows = list(range(len(labels) - 1))
random.Random(0).shuffle(rows)
ref = sorted(rows[:1000])
batch = sorted(rows[1000:])
shifted = [i for i in batch if labels[i + 1][1] in ("zero", "one", "two", "three", "four")]
for name, part in (("reference", ref), ("batch", batch), ("shifted", shifted)):
    with open(f"{out}/{name}_labels.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["label"])
        w.writerows([labels[i + 1][1]] for i in part)
    with open(f"{out}/{name}_pred_probs.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(probs[0])
        w.writerows(probs[i + 1] for i in part)
    np.save(f"{out}/{name}_features.npy", x[part])
    np.save(f"{out}/{name}_is_error.npy", err[part])
PY

# 2. The batch against the reference: issues (every row, so the check below can score them),
#    outliers against the reference's features, drift figures in the JSON.
"$LABELCLI" find-issues -l "$OUT/batch_labels.csv" -p "$OUT/batch_pred_probs.csv" -x "$OUT/batch_features.npy" \
    --reference-labels "$OUT/reference_labels.csv" --reference-pred-probs "$OUT/reference_pred_probs.csv" \
    --reference-features "$OUT/reference_features.npy" --all --out "$OUT/batch_issues.csv" \
    --format json > "$OUT/batch.json"

# 3. Precision and recall of the batch's flagged rows against its planted errors.
python3 - "$OUT" <<'PY'
import csv, json, sys
import numpy as np
out = sys.argv[1]
err = np.load(f"{out}/batch_is_error.npy")
flagged = np.zeros(len(err), bool)
for row in csv.DictReader(open(f"{out}/batch_issues.csv")):
    if row["is_label_issue"] == "True":
        flagged[int(row["index"])] = True
tp = int((flagged & err).sum())
d = json.load(open(f"{out}/batch.json"))["drift"]
print(f"batch: {flagged.sum()} flagged, precision {tp / flagged.sum():.3f}, recall {tp / err.sum():.3f}"
      f" ({int(err.sum())} planted errors in {len(err)} rows)")
print(f"drift: class mix TVD {d['class_mix_tvd']:.3f}, outliers {d['batch_outlier_rate']:.2%}"
      f" (reference {d['reference_outlier_rate']:.2%})")
PY

# 4. A batch of digits 0-4 only: its class mix drifts (TVD about 0.5), so the gate fails (exit 1).
set +e
"$LABELCLI" find-issues -l "$OUT/shifted_labels.csv" -p "$OUT/shifted_pred_probs.csv" -q \
    --reference-labels "$OUT/reference_labels.csv" --reference-pred-probs "$OUT/reference_pred_probs.csv" \
    --fail-above-drift 0.2 --out "$OUT/shifted_issues.csv"
code=$?
set -e
if [ "$code" -ne 1 ]; then echo "expected the drift gate to fail (exit 1), got $code" >&2; exit 1; fi
echo "shifted batch: drift gate failed as expected"
