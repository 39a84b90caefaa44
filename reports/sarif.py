"""SARIF 2.1.0 for code-scanning UIs: findings located at the manifest's file and line.

Waived findings are reported as suppressions (with the waiver's reason), as checkov does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from auditor.rulespec import Rule

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}


def _result(row: dict[str, Any]) -> dict[str, Any]:
    resource = f"{row['kind']} {row['namespace']}/{row['name']}"
    result: dict[str, Any] = {
        "ruleId": row["rule"],
        "level": _LEVEL[row["severity"]],
        "message": {"text": row["message"]},
        "partialFingerprints": {"meshAudit/v1": row["fingerprint"]},
        "properties": {
            "severity": row["severity"],
            "owner": row["owner"],
            "status": row["status"],
            "cluster": row["cluster"],
            "evidence": json.loads(row["evidence"] or "{}"),
        },
    }
    location: dict[str, Any] = {"logicalLocations": [{"name": resource, "kind": "resource"}]}
    if row["source_path"]:
        location["physicalLocation"] = {
            "artifactLocation": {"uri": row["source_path"]},
            "region": {"startLine": row["source_line"] or 1},
        }
    result["locations"] = [location]
    if row["status"] == "waived":
        result["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": f"{row['waiver_reason']} (until {row['waiver_expires']})",
            }
        ]
    return result


def document(rows: Sequence[dict[str, Any]], rules: Sequence[Rule], version: str) -> dict[str, Any]:
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "mesh-audit",
                        "version": version,
                        "rules": [
                            {
                                "id": r.id,
                                "name": r.name,
                                "shortDescription": {"text": r.summary},
                                "fullDescription": {"text": r.doc},
                                "defaultConfiguration": {"level": _LEVEL[r.severity.value]},
                            }
                            for r in rules
                        ],
                    }
                },
                "results": [_result(r) for r in rows],
            }
        ],
    }
