"""Cross-validation folds in parallel on the cluster: labelcli.ml.crossval's folds (a fresh,
identically seeded model per fold) as tasks, the features and labels sent to the workers once.
Each fold computes exactly what it computes on one machine (one thread per worker)."""
from __future__ import annotations


def map_folds(ex):
    """A map_folds for labelcli.ml.crossval.cross_val_pred_probs that runs the folds as tasks."""

    def run(fn, jobs, progress=None):
        from distributed import as_completed

        if not jobs:
            return []
        x, y = jobs[0][0], jobs[0][1]
        xf, yf = ex.client.scatter([x, y], broadcast=True, hash=False)
        futures = [ex.submit(fn, xf, yf, *args[2:]) for args in jobs]
        done = 0
        for _ in as_completed(futures):
            done += 1
            if progress is not None:
                progress(done, len(jobs))
        return ex.gather(futures)

    return run
