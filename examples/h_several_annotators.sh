#!/usr/bin/env bash
# Job (h): several annotators. Each example was labeled by 1 to 3 of 5 people of different
# accuracy; find one consensus label per example, how sure it is, and how good each annotator is
# (CROWDLAB: annotators weighted by their chance-adjusted agreement, plus the model's pred_probs),
# then feed the consensus labels to the other commands.
# Data: simulated annotators on the 8x8 digits sample in sample_data/ (truth: digits_true_labels.npy).
# Usage: examples/h_several_annotators.sh [output folder]   (default out/examples)
set -euo pipefail

OUT="${1:-out/examples}/h_several_annotators"
DATA="$(cd "$(dirname "$0")/.." && pwd)/sample_data"
LABELCLI="${LABELCLI:-labelcli}"
PYTHON="${PYTHON:-python3}"
mkdir -p "$OUT"

# 1. Annotations as a long table (example, annotator, label): 5 annotators of accuracy 95%..55%,
#    each example labeled by 1 to 3 of them (so some examples have one label only).
"$PYTHON" - "$DATA" "$OUT/annotations.csv" <<'PY'
import sys
import numpy as np
import pandas as pd

data, out = sys.argv[1], sys.argv[2]
truth = np.load(f"{data}/digits_true_labels.npy")
names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])
rng = np.random.default_rng(0)
n, acc = len(truth), np.array([0.95, 0.9, 0.8, 0.7, 0.55])
given = np.where(rng.random((n, 5)) < acc, truth[:, None], rng.integers(0, 10, (n, 5)))
per = rng.integers(1, 4, n)  # how many people labeled each example
chosen = np.argsort(rng.random((n, 5)), axis=1) < per[:, None]
rows, cols = np.nonzero(chosen)
pd.DataFrame({"example": rows, "annotator": np.array(["ana", "ben", "cleo", "dev", "eve"])[cols],
              "label": names[given[rows, cols]]}).to_csv(out, index=False)
PY

# 2. Consensus with the model's out-of-sample pred_probs (class-named columns): a per-example table,
#    a per-annotator table (worst first) and a plain labels file.
"$LABELCLI" consensus --annotations "$OUT/annotations.csv" --pred-probs "$DATA/pred_probs.csv" \
    --out "$OUT/consensus.csv" --annotators-out "$OUT/annotators.csv" --labels-out "$OUT/labels.csv"

# 3. The consensus labels are a --labels input like any other: rank what may still be wrong.
"$LABELCLI" find-issues --labels "$OUT/consensus.csv" --label-col consensus_label \
    --pred-probs "$DATA/pred_probs.csv" --out "$OUT/issues.csv" -q

# 4. How close is the consensus to the truth (known here because the annotators were simulated)?
"$PYTHON" - "$DATA" "$OUT" <<'PY'
import sys
import numpy as np
import pandas as pd

data, out = sys.argv[1], sys.argv[2]
names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
truth = np.load(f"{data}/digits_true_labels.npy")
cons = pd.read_csv(f"{out}/consensus.csv")["consensus_label"].map(names.index).to_numpy()
print(f"consensus accuracy {np.mean(cons == truth):.1%}; annotators (worst first):",
      ", ".join(pd.read_csv(f"{out}/annotators.csv")["annotator"]))
PY
