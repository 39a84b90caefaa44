"""Run the enabled rules over the inventory and stamp what rules leave out.

Rules stay tiny: the engine, not the rule, adds the rule id and name, the configured
severity, the owner, the Git location and the fingerprint.
"""

from __future__ import annotations

import hashlib

from auditor.config import Config
from auditor.inventory import Inventory
from auditor.model import Finding, Problem, SourceRef


def fingerprint(cluster: str, rule_id: str, problem: Problem) -> str:
    """Stable for the same problem on the same resource: not message, line or severity."""
    k = problem.resource.key
    ident = "\x1f".join((cluster, rule_id, k.group, k.kind, k.namespace, k.name, problem.locator))
    return hashlib.sha256(ident.encode()).hexdigest()[:24]


def run(inventory: Inventory, config: Config, cluster: str) -> list[Finding]:
    findings = []
    for rc in config.enabled:
        rule = rc.rule
        for problem in rule.check(inventory, rc.options):
            resource = problem.resource
            manifest = resource.manifest
            owner = resource.owner
            findings.append(
                Finding(
                    rule=rule.id,
                    rule_name=rule.name,
                    severity=rc.severity,
                    cluster=cluster,
                    key=resource.key,
                    owner=owner.name if owner else None,
                    owner_source=owner.source if owner else None,
                    message=problem.message,
                    fingerprint=fingerprint(cluster, rule.id, problem),
                    locator=problem.locator,
                    evidence=problem.evidence,
                    source=SourceRef(
                        manifest.path,
                        manifest.line,
                        manifest.commit.sha if manifest.commit else None,
                    )
                    if manifest
                    else None,
                )
            )
    return findings
