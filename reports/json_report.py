"""JSON output: one document, valid when piped, with a fixed set of finding keys."""

from __future__ import annotations

import json
from typing import Any, TextIO


def finding(row: dict[str, Any], with_resolved: bool = False) -> dict[str, Any]:
    """The public shape of a finding (a contract: keys never change silently)."""
    out = {
        "rule": row["rule"],
        "rule_name": row["rule_name"],
        "severity": row["severity"],
        "cluster": row["cluster"],
        "kind": row["kind"],
        "namespace": row["namespace"],
        "name": row["name"],
        "owner": row["owner"],
        "owner_source": row["owner_source"],
        "message": row["message"],
        "fingerprint": row["fingerprint"],
        "status": row["status"],
        "first_seen": row["first_seen"],
        "last_seen": row["last_seen"],
        "source": {
            "path": row["source_path"],
            "line": row["source_line"],
            "column": row.get("source_column"),
            "end_line": row.get("source_end_line"),
            "commit": row["source_commit"],
        }
        if row["source_path"]
        else None,
        "evidence": json.loads(row["evidence"] or "{}"),
    }
    if with_resolved:
        out["resolved_at"] = row["resolved_at"]
    return out


def scan(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for key in ("namespaces", "paths", "partial_reasons", "notes", "rules", "apps"):
        out[key] = json.loads(out.get(key) or "[]")
    out["complete"] = bool(out["complete"])
    return out


def write(doc: dict[str, Any], out: TextIO, fmt: str = "json") -> None:
    """JSON indented for a person at a terminal, compact (the C encoder, much faster) for
    pipes; or YAML (`-o yaml`), as kubectl prints it."""
    if fmt == "yaml":
        import yaml

        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
        out.write(yaml.dump(doc, Dumper=dumper, sort_keys=False, allow_unicode=True))
        return
    if out.isatty():
        out.write(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        out.write(json.dumps(doc, ensure_ascii=False, separators=(",", ":")))
    out.write("\n")
