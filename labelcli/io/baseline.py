"""Reading an earlier run's health document (`health --baseline`): one JSON object, refused in
one line when it is missing, unreadable or not JSON (whether it is a health summary is checked by
labelcli.core.baseline)."""
from __future__ import annotations

import json
import os

from labelcli.errors import LabelError
from labelcli.io.formats import short_reason

MAX_BYTES = 1 << 30  # a health summary of 100,000 classes is ~30 MB


def read_json_document(path: str) -> object:
    """The JSON value in ``path`` (a baseline: a file, not stdin)."""
    if path == "-":
        raise LabelError("the `baseline` option needs a file (an earlier `labelcli health --out x.json`), not stdin")
    if not os.path.isfile(path):
        raise LabelError(f"{path}: file not found" if not os.path.exists(path) else f"{path}: not a file")
    size = os.path.getsize(path)
    if size > MAX_BYTES:
        raise LabelError(f"{path}: {size:,} bytes is far more than a health summary; give the file"
                         " `labelcli health --out x.json` wrote")
    try:
        with open(path, "rb") as f:
            raw = f.read()
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LabelError(f"{path} is not JSON text (not UTF-8); give the file `labelcli health --out x.json` wrote")
    except OSError as e:
        raise LabelError(f"{path}: could not read: {short_reason(e)}") from e
    try:
        return json.loads(text)
    except RecursionError:
        raise LabelError(f"{path} is not a health summary (JSON nested too deep); give the file"
                         " `labelcli health --out x.json` wrote") from None
    except ValueError as e:
        raise LabelError(f"{path} is not JSON ({short_reason(e)}); give the file `labelcli health --out x.json`"
                         " wrote") from None
