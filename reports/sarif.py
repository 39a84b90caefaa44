"""SARIF 2.1.0 for code-scanning UIs: findings located at the manifest's field.

Waived findings are reported as suppressions (with the waiver's reason), as checkov does.
`automationDetails.id` names the cluster and origin, so two clusters uploading to one
repository are two analyses rather than one overwriting the other.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from typing import Any

from auditor.model import Severity, Status, label
from auditor.rulespec import Rule

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
_URL = re.compile(r"^(https?|ssh|git)://")


def _region(row: dict[str, Any]) -> dict[str, Any]:
    region = {"startLine": row["source_line"] or 1}
    if row.get("source_column"):
        region["startColumn"] = row["source_column"]
    if row.get("source_end_line"):
        region["endLine"] = max(row["source_end_line"], region["startLine"])
    return region


def _result(row: dict[str, Any]) -> dict[str, Any]:
    resource = label(row["kind"], row["namespace"], row["name"])
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
            "locator": row["locator"],
            "evidence": json.loads(row["evidence"] or "{}"),
        },
    }
    location: dict[str, Any] = {"logicalLocations": [{"name": resource, "kind": "resource"}]}
    if row["source_path"]:
        location["physicalLocation"] = {
            "artifactLocation": {"uri": row["source_path"]},
            "region": _region(row),
        }
    result["locations"] = [location]
    if row["status"] == Status.WAIVED:
        result["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": f"{row['waiver_reason']} (until {row['waiver_expires']})",
            }
        ]
    return result


def _rule(rule: Rule, docs_url: str | None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.doc},
        "help": {"text": rule.doc, "markdown": f"**{rule.id} {rule.name}**\n\n{rule.doc}"},
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
    }
    if docs_url:
        doc["helpUri"] = (
            docs_url.replace("{rule}", rule.id)
            if "{rule}" in docs_url
            else f"{docs_url}#{rule.id.lower()}"
        )
    return doc


def _scan_parts(scan: dict[str, Any]) -> dict[str, Any]:
    """What the scan itself says: which analysis this is, whether it read everything,
    and which commit of which repository it read."""
    reasons = scan["partial_reasons"]
    source = scan["origin"].split(":", 1)[0]  # cluster or dump; a dump's path is not stable
    parts: dict[str, Any] = {
        "automationDetails": {"id": f"mesh-audit/{scan['cluster']}/{source}/{scan['finished_at']}"},
        "invocations": [
            {
                "executionSuccessful": bool(scan["complete"]),
                "startTimeUtc": scan["started_at"],
                "endTimeUtc": scan["finished_at"],
                "toolExecutionNotifications": [
                    {"level": "warning", "message": {"text": f"not read: {reason}"}}
                    for reason in reasons
                ],
            }
        ],
    }
    if _URL.match(scan.get("repo") or "") and scan.get("commit"):
        parts["versionControlProvenance"] = [
            {"repositoryUri": scan["repo"], "revisionId": scan["commit"]}
        ]
    return parts


def document(
    rows: Sequence[dict[str, Any]],
    rules: Sequence[Rule],
    version: str,
    scan: dict[str, Any] | None = None,
    docs_url: str | None = None,
) -> dict[str, Any]:
    """The SARIF log; `scan` is the JSON scan document (lists decoded), `docs_url` the rule
    docs' address (default env MESH_AUDIT_DOCS_URL; `{rule}` is replaced by the rule ID)."""
    docs_url = docs_url or os.environ.get("MESH_AUDIT_DOCS_URL") or None
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "mesh-audit",
                "version": version,
                "rules": [_rule(r, docs_url) for r in rules],
            }
        },
        **(_scan_parts(scan) if scan is not None else {}),
        "results": [_result(r) for r in rows],
    }
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
