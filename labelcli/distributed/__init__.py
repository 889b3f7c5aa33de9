"""labelcli on a Dask cluster (--engine dask): the engine's passes as dask.distributed futures over
explicit partitions of a Parquet folder or glob, with outputs identical to a single-machine run.

dask is imported only inside this package, and only when a distributed run starts
(labelcli.distributed.cluster says how to install it when it is missing). Modules: cluster (the
client, a local cluster, version checks), inputs (partitions, columns and classes), work (what
runs on a worker), driver (multi-class passes and selections), multilabel, scoring, outputs
(tables and folders of Parquet parts), commands (the CLI's entry points), knn (feature-space
checks as blockwise tiles), crossval (folds in parallel).
"""
