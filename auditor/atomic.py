"""Output files written whole or not at all: a temp file in the same folder, then a rename.

A reader (node_exporter, a ticket importer) never sees half a file, and a failure is a
SourceError (exit 3) naming the file, never a traceback.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from auditor.errors import SourceError


def write_text(path: Path, text: str) -> None:
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise SourceError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
