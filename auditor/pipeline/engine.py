"""Run the enabled rules over the inventory and stamp what rules leave out.

Rules stay tiny: the engine, not the rule, adds the rule id and name, the configured
severity, the owner, the Git location, the fingerprint and any waiver. CLI and cron
runs share this one path.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from auditor.config import Config, RuleConfig
from auditor.mesh.kinds import AUDITED_KINDS
from auditor.model import Finding, Manifest, ObjectKey, Problem, Resource, SourceRef, Waiver
from auditor.pipeline.inventory import Inventory
from auditor.pipeline.memo import RuleMemo
from auditor.pipeline.waivers import ANNOTATION, matching, parse_annotation
from auditor.rulespec import Needs
from auditor.sources.locate import locate


@dataclass(frozen=True)
class RunResult:
    findings: list[Finding]
    notes: tuple[str, ...]
    # The rules that judged this scan (only their findings may resolve), and why the
    # others could not.
    judged: tuple[str, ...] = ()
    not_run: dict[str, str] = field(default_factory=dict)


def unmet(needs: Needs, inventory: Inventory) -> str | None:
    """Why a rule cannot judge this scan; None when it can."""
    if inventory.unread >= AUDITED_KINDS:
        # Every mesh object is then of unknown state, and one only live is not there at
        # all: a rule would see nothing and resolve everything it found before.
        return "needs the cluster's Istio objects, and none could be read"
    if needs.cluster and inventory.git_only:
        return "needs the live cluster (--no-cluster scan)"
    if needs.all_namespaces and inventory.namespaces:
        return "compares across namespaces: needs an all-namespace scan"
    unread = sorted(inventory.unread.intersection(needs.kinds))
    if unread:
        return f"needs {', '.join(unread)}, which could not be read"
    if inventory.git_only and "Service" in needs.kinds and not inventory.git_context.get("Service"):
        # Services then live elsewhere (app charts, another repo): every host would look unserved.
        return "needs Services, and the repo declares none (--no-cluster scan)"
    if needs.history and not inventory.history:
        return "needs the Git history, which this clone does not have (shallow)"
    if inventory.unrendered and (needs.rendered or (inventory.git_only and needs.kinds)):
        return (
            f"app(s) {', '.join(inventory.unrendered)} could not be rendered, so what the "
            "repo applies is not known"
        )
    return None


def fingerprint(cluster: str, rule_id: str, problem: Problem) -> str:
    """Stable for the same problem on the same resource: not message, line or severity."""
    k = problem.resource.key
    ident = "\x1f".join((cluster, rule_id, k.group, k.kind, k.namespace, k.name, problem.locator))
    return hashlib.sha256(ident.encode()).hexdigest()[:24]


class _Waivers:
    """Config waivers plus each resource's own annotation, parsed once per resource."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.notes: list[str] = []
        self._own: dict[ObjectKey, list[Waiver]] = {}

    def for_resource(self, resource: Resource) -> list[Waiver]:
        if resource.key not in self._own:
            value = ((resource.obj.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION)
            own, errors = parse_annotation(value, self.config.rule_ids) if value else ([], [])
            self.notes += [f"invalid {ANNOTATION} on {resource.key}: {e}" for e in errors]
            self._own[resource.key] = own
        return [*self.config.waivers, *self._own[resource.key]]


def _problems(inventory: Inventory, rc: RuleConfig, memo: RuleMemo | None) -> list[Problem]:
    problems = memo.recall(rc) if memo is not None else None
    if problems is None:
        reads = inventory.clock.reads
        problems = list(rc.rule.check(inventory, rc.options))
        if memo is not None and inventory.clock.reads == reads:
            memo.keep(rc, problems)
    return problems


class _Sources:
    """Each finding's manifest location, at the line of its locator when the file's text
    is available (read once per file, and only for files that have findings)."""

    def __init__(self, source_text: Callable[[str], str | None] | None) -> None:
        self.source_text = source_text
        self._texts: dict[str, str | None] = {}

    def ref(self, manifest: Manifest, locator: str) -> SourceRef:
        commit = manifest.commit
        ref = SourceRef(
            manifest.path,
            manifest.line,
            commit.sha if commit else None,
            commit.author if commit else None,
        )
        if self.source_text is None:
            return ref
        if manifest.path not in self._texts:
            self._texts[manifest.path] = self.source_text(manifest.path)
        text = self._texts[manifest.path]
        at = locate(text, manifest.line, locator) if text is not None else None
        if at is None:
            return ref
        return replace(ref, line=at.line, column=at.column, end_line=at.end_line)


def run(
    inventory: Inventory,
    config: Config,
    cluster: str,
    memo: RuleMemo | None = None,
    source_text: Callable[[str], str | None] | None = None,
) -> RunResult:
    """Every enabled rule's problems as findings; `memo` recalls and keeps rule results;
    `source_text` (a manifest path -> the file's text) places findings at their field."""
    today = inventory.now.date()
    sources = _Sources(source_text)
    waivers = _Waivers(config)
    findings = []
    judged = []
    not_run = {}
    for rc in config.enabled:
        rule = rc.rule
        reason = unmet(rule.needs, inventory)
        if reason is not None:
            not_run[rule.id] = reason
            continue
        judged.append(rule.id)
        for problem in _problems(inventory, rc, memo):
            resource = problem.resource
            # A generated object's findings point at the manifest of what generates it.
            manifest = resource.manifest or inventory.origins.get(resource.key)
            owner = resource.owner
            waiver = matching(waivers.for_resource(resource), rule.id, resource)
            evidence = problem.evidence
            generator = inventory.generator(resource.key)
            if generator is not None:
                evidence = {**evidence, "managed_by": generator}
            if waiver is not None:
                evidence = {**evidence, "waiver": waiver.evidence(today)}
                if not waiver.active(today):
                    waivers.notes.append(
                        f"expired waiver: {rule.id} on {resource.key} expired "
                        f"{waiver.expires.isoformat()} ({waiver.source}: {waiver.reason})"
                    )
            findings.append(
                Finding(
                    rule=rule.id,
                    rule_name=rule.name,
                    severity=rc.severity_of(problem),
                    cluster=cluster,
                    key=resource.key,
                    owner=owner.name if owner else None,
                    owner_source=owner.source if owner else None,
                    message=problem.message,
                    fingerprint=fingerprint(cluster, rule.id, problem),
                    locator=problem.locator,
                    evidence=evidence,
                    source=sources.ref(manifest, problem.locator) if manifest else None,
                    waiver=waiver,
                    waived=waiver is not None and waiver.active(today),
                )
            )
    return RunResult(findings, tuple(dict.fromkeys(waivers.notes)), tuple(judged), not_run)
