"""Where a run's pred_probs come from, as files: given (--pred-probs) or cross-validated from
--features, and kept with --save-pred-probs. The choice itself is made once, in
labelcli.tasks.predictions; this module checks the options before any work and writes the file.
"""
from __future__ import annotations

from typing import Sequence

from labelcli.errors import LabelError
from labelcli.io.formats import ARRAY_OUT
from labelcli.io.writers import check_output_path, same_file, write_array

SAVE_OPTION = "--save-pred-probs"


def check_pred_probs_source(pred_probs: str | None, features: str | None, save_pred_probs: str | None = None, *,
                            inputs: Sequence[str | None] = (), outputs: Sequence[str | None] = (),
                            stdout_taken: bool = False) -> None:
    """Before any work: pred_probs are given or can be cross-validated from features, and the
    --save-pred-probs path (if any) is writable, has an array suffix, and is neither an input nor
    another output of the run. stdout_taken: the command already writes to stdout (--out -,
    --format json), so '-' cannot be used for the saved pred_probs too."""
    if pred_probs is None and features is None:
        raise LabelError("give --pred-probs, or --features to compute pred_probs by cross-validation")
    if save_pred_probs is None:
        return
    if save_pred_probs == "-" and stdout_taken:
        raise LabelError(f"{SAVE_OPTION} - and another output both write to stdout; give {SAVE_OPTION} a file path")
    check_output_path(save_pred_probs, [*inputs, pred_probs, features], allowed=ARRAY_OUT, option=SAVE_OPTION)
    for other in outputs:
        if other and other != "-" and save_pred_probs != "-" and same_file(save_pred_probs, other):
            raise LabelError(f"{SAVE_OPTION} {save_pred_probs} and --out {other} name the same file; give two paths")


def write_pred_probs(pred_probs, path: str, classes, *, inputs: Sequence[str | None] = ()) -> None:
    """--save-pred-probs: the pred_probs a run used, N x K in class order, as .npy or as a table
    with one column per class named by the class (a valid --pred-probs input for every command)."""
    write_array(pred_probs, path, columns=[str(c) for c in classes], inputs=inputs)
