"""Accuracy benchmark for issue #8: how well each method finds real label errors.

    python -m bench.accuracy --help        (from the repository root; `make accuracy` runs it)

datasets.py  benchmark loaders -> Problems (labels, pred_probs, ground truth)
planted.py   planted-noise problems on scikit-learn's bundled datasets (cached pred_probs)
metrics.py   precision / recall / F1, average precision, precision@T, recall@k
methods.py   the method registries (cleanlab, labelcli, labelcli-compat, cleanlab variants)
run.py       the runner: CLI options, records, JSON;  report.py  means, targets, markdown
"""
