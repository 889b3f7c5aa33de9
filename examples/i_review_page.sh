#!/usr/bin/env bash
# Review in the browser: write one self-contained HTML page of the most suspect examples (images
# inline; keys k keep, d drop, r relabel, s skip), then apply the decisions its "export decisions"
# button downloads. A reviewer is stood in for here by a small script that writes the same CSV.
# Data: the digits sample that ships in sample_data/ (1,797 rows, 10 classes, 5% planted errors).
# Usage: examples/i_review_page.sh [output folder]   (default out/examples)
set -euo pipefail

OUT="${1:-out/examples}/i_review_page"
DATA="$(cd "$(dirname "$0")/.." && pwd)/sample_data"
LABELCLI="${LABELCLI:-labelcli}"
mkdir -p "$OUT"

# 1. The page: the 40 most suspect examples with their images, given vs suggested label, score.
#    Open review.html in any browser; nothing is fetched and no server runs.
"$LABELCLI" review -l "$DATA/labels.csv" -p "$DATA/pred_probs.csv" --images "$DATA/digits_images.npy" \
    --top 40 --out "$OUT/review.html"

# 2. The reviewer (standing in for the page's export): the true labels of this sample are known,
#    so relabel a suspect whose given label is wrong, keep the others, leave the last 10 for later
#    (a blank action = not reviewed yet). The CSV has the page's columns:
#    index, action, new_label, given_label.
python3 - "$OUT/review.html" "$DATA" "$OUT/decisions.csv" <<'PY'
import csv, json, re, sys
import numpy as np
page, data, out = sys.argv[1:]
doc = json.loads(re.search(r'id="review-data">(.*?)</script>', open(page, encoding="utf-8").read(), re.S).group(1))
names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
truth = np.load(f"{data}/digits_true_labels.npy")
with open(out, "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["index", "action", "new_label", "given_label"])
    for j, item in enumerate(doc["items"]):
        true = names[truth[item["index"]]]
        action = "" if j >= len(doc["items"]) - 10 else ("keep" if true == item["given"] else "relabel")
        w.writerow([item["index"], action, true if action == "relabel" else "", item["given"]])
print(f"decisions for {len(doc['items']) - 10} of {len(doc['items'])} suspects written to {out}")
PY

# 3. Apply them: the cleaned labels and a changelog of what changed.
"$LABELCLI" fix -l "$DATA/labels.csv" --decisions "$OUT/decisions.csv" --out "$OUT/clean.csv" \
    --changelog "$OUT/changes.csv"
