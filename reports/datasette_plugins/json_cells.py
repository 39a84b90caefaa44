"""Datasette plugin (loaded by `mesh-audit browse` with --plugins-dir): mesh-audit's JSON
columns are shown as indented JSON rather than one long string."""

from __future__ import annotations

import json
from typing import Any

from datasette import hookimpl
from markupsafe import Markup, escape

JSON_COLUMNS = frozenset(
    {"evidence", "namespaces", "partial_reasons", "notes", "rules", "fingerprints", "clusters"}
)


@hookimpl
def render_cell(value: Any, column: str) -> Markup | None:
    if column not in JSON_COLUMNS or not isinstance(value, str):
        return None
    try:
        data = json.loads(value)
    except ValueError:
        return None
    text = json.dumps(data, indent=2, ensure_ascii=False)
    return Markup(f'<pre class="mesh-audit-json">{escape(text)}</pre>')
