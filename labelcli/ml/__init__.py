"""Models on features: cross-validated pred_probs (crossval) and did-cleaning-help comparisons
(evaluate). scikit-learn is imported inside the functions; no printing and no files (labelcli.io
reads them)."""
