"""Prometheus text-format metrics: a file for node_exporter's textfile collector, or a
push to a Pushgateway (the standard for batch jobs such as the monthly CronJob).

The file is written atomically (temp file + rename) so the collector never reads half a
file. A push PUTs the whole group `job=mesh-audit, cluster=NAME`, replacing the last run's.
"""

from __future__ import annotations

import base64
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from auditor import atomic, clock
from auditor.errors import SourceError

PUSH_TIMEOUT = 10.0


def _labels(**labels: Any) -> str:
    def esc(value: Any) -> str:
        text = str(value if value is not None else "")
        return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    return "{" + ",".join(f'{k}="{esc(v)}"' for k, v in labels.items()) + "}"


def render(cluster: str, scan: dict[str, Any] | None, rows: Sequence[dict[str, Any]]) -> str:
    """Metrics of one scan run; `scan` is None when the run failed before storing."""
    lines = []

    def metric(name: str, kind: str, help_text: str, samples: list[tuple[str, Any]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        lines.extend(f"{name}{labels} {value}" for labels, value in samples)

    ok = scan is not None and bool(scan["complete"])
    metric(
        "mesh_audit_scan_success",
        "gauge",
        "1 when the last scan read every source.",
        [(_labels(cluster=cluster), int(ok))],
    )
    if scan is not None:
        start, end = clock.parse(scan["started_at"]), clock.parse(scan["finished_at"])
        metric(
            "mesh_audit_scan_duration_seconds",
            "gauge",
            "Duration of the last scan.",
            [(_labels(cluster=cluster), (end - start).total_seconds())],
        )
        metric(
            "mesh_audit_scan_timestamp_seconds",
            "gauge",
            "When the last scan finished.",
            [(_labels(cluster=cluster), int(end.timestamp()))],
        )
        counts = Counter(
            (r["rule"], r["rule_name"], r["severity"], r["owner"] or "", r["status"]) for r in rows
        )
        metric(
            "mesh_audit_findings",
            "gauge",
            "Findings of the last scan by rule, severity, owner and status.",
            [
                (
                    _labels(
                        cluster=cluster,
                        rule=rule,
                        rule_name=name,
                        severity=sev,
                        owner=owner,
                        status=status,
                    ),
                    n,
                )
                for (rule, name, sev, owner, status), n in sorted(counts.items())
            ],
        )
    return "\n".join(lines) + "\n"


def write(path: Path, text: str) -> None:
    """Atomically, so the collector never reads half a file; a failure is exit 3."""
    atomic.write_text(path, text)


def _group(name: str, value: str) -> str:
    """A grouping label as URL path segments; the Pushgateway's `@base64` form when the
    value is empty or holds a `/`."""
    if value and "/" not in value:
        return f"{name}/{urllib.parse.quote(value, safe='')}"
    encoded = base64.urlsafe_b64encode(value.encode()).decode()
    return f"{name}@base64/{encoded or '='}"


def push(gateway: str, cluster: str, text: str) -> None:
    """Replace this cluster's metrics group on the Pushgateway at `gateway` (its base URL)."""
    url = f"{gateway.rstrip('/')}/metrics/job/mesh-audit/{_group('cluster', cluster)}"
    request = urllib.request.Request(
        url,
        data=text.encode(),
        method="PUT",
        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
    )
    try:
        with urllib.request.urlopen(request, timeout=PUSH_TIMEOUT):
            pass
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SourceError(f"cannot push metrics to {gateway}: {reason}") from None
