"""The accuracy metrics, from labelcli (labelcli.ml.ranking_metrics): `labelcli benchmark` and this
benchmark score a ranking the same way."""
from labelcli.ml.ranking_metrics import (  # noqa: F401
    average_precision, average_precision_at, average_precision_sklearn, evaluate, pr_curve, precision_at,
    ranking, recall_at_k, set_metrics,
)
