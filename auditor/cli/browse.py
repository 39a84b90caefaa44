"""`mesh-audit browse`: the findings database in Datasette, with mesh-audit's metadata.

Datasette is an optional extra (`pip install 'mesh-audit[browse]'`): the command says so
in one line when it is missing. It serves on 127.0.0.1 only, and the views, facets and
JSON rendering it shows come from reports/datasette.yaml and reports/datasette_plugins/.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

import click
import yaml

from auditor import store
from auditor.cli.options import db_option, debug_option
from auditor.errors import InputError

INSTALL = "pip install 'mesh-audit[browse]'"


def metadata(db: Path) -> dict[str, Any]:
    """Datasette metadata for this database file (Datasette names a database by its stem)."""
    shipped = yaml.safe_load(resources.files("reports").joinpath("datasette.yaml").read_text())
    tables = shipped.pop("tables")
    return {**shipped, "databases": {db.stem: {"tables": tables}}}


def plugins_dir() -> Path:
    return Path(str(resources.files("reports").joinpath("datasette_plugins")))


def command(db: Path, metadata_file: Path, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "datasette",
        "serve",
        str(db),
        "--metadata",
        str(metadata_file),
        "--plugins-dir",
        str(plugins_dir()),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


@click.command()
@db_option
@click.option("--port", type=click.IntRange(0, 65535), default=8001, show_default=True)
@debug_option
def browse(db: Path, port: int) -> None:
    """Explore the findings database in Datasette on 127.0.0.1 (needs the [browse] extra).

    Example: mesh-audit browse --db mesh-audit.db   # then open http://127.0.0.1:8001
    """
    if importlib.util.find_spec("datasette") is None:
        raise InputError(f"mesh-audit browse needs Datasette: {INSTALL}")
    store.check_readable(db)
    if not db.exists():
        raise InputError(f"database not found: {db} (run `mesh-audit scan` first)")
    with tempfile.TemporaryDirectory(prefix="mesh-audit-browse-") as tmp:
        meta = Path(tmp) / "metadata.json"
        meta.write_text(json.dumps(metadata(db)))
        sys.exit(subprocess.call(command(db, meta, port)))
