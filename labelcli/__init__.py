"""labelcli: find mislabeled examples in classification datasets."""
