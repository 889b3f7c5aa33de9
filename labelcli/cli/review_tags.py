"""`fix --issues --auto` on multi-label data (tags): the issues table's flagged rows are dropped or
given their suggested tag set; tags are written as names joined by --label-sep."""
from __future__ import annotations

from labelcli.errors import LabelError


def tag_matrix(cells, classes, sep: str, where):
    """Cells of tag names (a string joined by ``sep``, or a list) as an M x K boolean matrix."""
    import numpy as np

    lookup = {str(c): j for j, c in enumerate(classes)}
    out = np.zeros((len(cells), len(classes)), dtype=bool)
    for r, cell in enumerate(cells):  # (over the issues table's rows; a short list)
        names = [] if cell is None or (isinstance(cell, float) and cell != cell) else \
            list(cell) if not isinstance(cell, str) else [t for t in cell.split(sep)]
        for name in (str(t).strip() for t in names):
            if not name:
                continue
            if name not in lookup:
                raise LabelError(f"{where(r)}: tag '{name}' is not one of the tags")
            out[r, lookup[name]] = True
    return out


def fix_tags(path: str, ds, auto: str, sep: str):
    """The TagFixResult of ``fix --issues PATH --auto drop|relabel`` on multi-label ``ds``."""
    from labelcli.core.fixing import bool_cells, row_indices
    from labelcli.core.tagfix import auto_tag_fix
    from labelcli.io import read_review_table

    df = read_review_table(path, "multi-label issues", ("index", "predicted_labels", "is_label_issue"))
    where = lambda r: f"{path} row {r} (0-based)"  # noqa: E731
    idx = row_indices(df["index"].to_numpy(dtype=object), len(ds.labels), where)
    flagged = bool_cells(df["is_label_issue"].to_numpy(dtype=object), what="is_label_issue", where=where)
    if "given_labels" in df.columns:  # a stale table (made from other labels) is refused
        given = tag_matrix(df["given_labels"].to_numpy(dtype=object), ds.classes, sep, where)
        bad = (given != ds.labels[idx]).any(axis=1).nonzero()[0]
        if bad.size:
            raise LabelError(f"{where(int(bad[0]))}: given_labels differ from {ds.labels_path} at index"
                             f" {int(idx[bad[0]])}; was it made from these labels?")
    new = tag_matrix(df["predicted_labels"].to_numpy(dtype=object)[flagged], ds.classes, sep,
                     lambda r: where(int(flagged.nonzero()[0][r])))
    return auto_tag_fix(ds.labels, idx[flagged], new, action=auto)


def tag_tables(result, classes, sep: str):
    """(the cleaned-labels table, the changelog table) of a TagFixResult."""
    import numpy as np
    import pandas as pd

    from labelcli.render.tables import format_tags

    n = len(result.labels)
    fixed = pd.DataFrame({"index": np.arange(n, dtype=np.int64), "labels": format_tags(result.labels, classes, sep),
                          "original_labels": format_tags(result.original, classes, sep), "keep": result.keep,
                          "weight": result.keep.astype(np.float64), "changed": result.changed})
    i = result.log_index
    new = format_tags(result.labels[i], classes, sep)
    log = pd.DataFrame({"index": i, "action": result.log_action,
                        "old_labels": format_tags(result.original[i], classes, sep),
                        "new_labels": [None if a == "drop" else v for a, v in zip(result.log_action, new)],
                        "reason": "flagged by find-issues"})
    return fixed, log
