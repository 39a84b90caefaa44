"""One scan: read sources, build the inventory, run rules, store the result.

Everything slow and everything that can fail on input happens before the database is
opened for writing, so bad input leaves the database exactly as it was.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from auditor import clock, store, version
from auditor.cli.progress import Advance
from auditor.config import Config, load_config
from auditor.model import Finding
from auditor.pipeline import engine
from auditor.pipeline.inventory import Inventory, build
from auditor.pipeline.memo import CleanInputs, Managers, RuleMemo
from auditor.rulespec import Rule
from auditor.sources import LiveSnapshot, no_cluster
from auditor.sources.dump import read_dump
from auditor.sources.gitops import GitSnapshot, read_repo

_MAX_REASONS = 20


@dataclass(frozen=True)
class LiveSource:
    """Where the live side comes from: a dump file, else the kubeconfig context."""

    dump: Path | None = None
    kubeconfig: str | None = None
    context: str | None = None
    namespaces: tuple[str, ...] = ()
    cluster_name: str | None = None
    # Judge the repo on its own (`scan --no-cluster`): no kubeconfig, no dump.
    no_cluster: bool = False
    timeout: float | None = None


@dataclass(frozen=True)
class ScanRequest:
    repo: str
    db: Path
    live: LiveSource
    ref: str | None = None
    paths: tuple[str, ...] = ()
    config: Path | None = None
    lock_timeout: float = 30.0
    # Report only findings that `ref` adds compared with this ref (a pull request check).
    base: str | None = None
    # Runs inside the store's transaction, before the commit (output files).
    before_commit: Callable[[dict[str, Any], list[dict[str, Any]]], None] | None = None


@dataclass(frozen=True)
class ScanOutcome:
    scan: dict[str, Any]
    findings: list[dict[str, Any]]
    # What the findings were drawn from (it also holds the live objects and manifests):
    # kept referenced until the program ends, so nothing is freed object by object.
    inventory: Inventory
    # `--base`: the ref compared with; `findings` are then only those the scanned ref adds.
    base: str | None = None


def read_live(src: LiveSource, advance: Advance) -> LiveSnapshot:
    if src.no_cluster:
        return no_cluster(src.cluster_name, src.namespaces)
    if src.dump is not None:
        return read_dump(src.dump, src.cluster_name, src.namespaces, src.timeout)
    from auditor.sources.cluster import read_live_cluster

    return read_live_cluster(
        src.kubeconfig, src.context, src.cluster_name, src.namespaces, advance, src.timeout
    )


def by_reason(reasons: Mapping[str, str], verb: str = "") -> list[str]:
    """One line per reason, naming every kind (or rule) it holds for: `A, B not run: why`."""
    named: dict[str, list[str]] = {}
    for what, why in reasons.items():
        named.setdefault(why, []).append(what)
    return [f"{', '.join(names)}{verb}: {why}" for why, names in named.items()]


def _partial_reasons(live: LiveSnapshot, git: GitSnapshot) -> tuple[str, ...]:
    errors = git.errors
    reasons = by_reason(live.unread)
    reasons += list(git.problems)
    reasons += [str(e) for e in errors[:_MAX_REASONS]]
    if len(errors) > _MAX_REASONS:
        reasons.append(f"... and {len(errors) - _MAX_REASONS} more unparsable documents")
    return tuple(reasons)


@contextmanager
def _bulk_load() -> Iterator[None]:
    """Pause the cyclic GC: loading builds ~10^6 acyclic containers, and the collector's
    repeated passes over them cost about half the load time. What is still alive at the
    end is frozen (moved out of the collector's view) before the GC resumes: otherwise
    its first passes after the scan would walk all of it again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.freeze()
            gc.enable()


def run_scan(req: ScanRequest, catalog: Sequence[Rule], advance: Advance) -> ScanOutcome:
    with _bulk_load():
        return _run_scan(req, catalog, advance)


def _run_scan(req: ScanRequest, catalog: Sequence[Rule], advance: Advance) -> ScanOutcome:
    """Repo, config, cluster, inventory, rules, then one write of the scan and its findings.

    Everything that can refuse the input (an unreadable database, a bad ref or config, an
    unreachable cluster) runs before the store is written, so a refused scan leaves it as
    it was. Caches (history, rule results) are saved once the rules have run. With
    `req.base`, the returned rows are only the findings the scanned ref adds."""
    started = clock.stamp()
    store.check_readable(req.db)
    git = read_repo(
        req.repo,
        req.ref,
        req.paths,
        advance,
        config=req.config,
    )
    config = load_config(git.config_text, git.config_source, catalog)
    live = read_live(req.live, advance)
    now = clock.now()
    clean = CleanInputs.for_scan(live, git)
    managers = Managers(git.repo, live.cluster)
    inventory = build(live, git, config.owner_keys, now, config.ignore, clean.known, managers.known)
    clean.remember(not inventory.rejected)
    managers.remember(
        {str(k): m.controller for k, m in inventory.managed.items() if not m.generated}
    )
    memo = RuleMemo.for_scan(
        live, git, config, inventory.resources + inventory.controller_resources
    )
    result = engine.run(inventory, config, live.cluster, memo, git.text)
    if git.timeline is not None:
        git.timeline.save()
    if memo is not None:
        memo.save()
    added = _added(req, config, live, now, result.findings) if req.base else None
    not_run = tuple(by_reason(result.not_run, " not run"))
    if git.timeline is not None and git.timeline.missing:
        gone = sorted(git.timeline.missing)
        not_run += (
            f"older revisions of {len(gone)} file(s) are not in this clone (partial or "
            f"shallow), so their change dates stop there: {', '.join(gone[:5])}",
        )
    record = store.ScanRecord(
        started_at=started,
        finished_at=clock.stamp(),
        cluster=live.cluster,
        context=live.context,
        origin=live.origin,
        namespaces=live.namespaces,
        paths=git.paths,
        repo=git.repo,
        ref=git.ref,
        commit=git.commit,
        tool_version=version(),
        partial_reasons=_partial_reasons(live, git) + inventory.rejected,
        notes=live.notes
        + tuple(by_reason(live.undumped))
        + git.notes
        + inventory.progress
        + not_run
        + result.notes,
        rules=result.judged,
        resources=len(inventory.resources),
        apps=git.apps,
    )
    scan_row, rows = store.record(
        req.db, record, result.findings, req.lock_timeout, req.before_commit
    )
    if added is not None:
        rows = [r for r in rows if r["fingerprint"] in added]
    return ScanOutcome(scan_row, rows, inventory, req.base)


def _added(
    req: ScanRequest,
    config: Config,
    live: LiveSnapshot,
    now: datetime,
    findings: Sequence[Finding],
) -> set[str]:
    """Fingerprints of the findings that the scanned ref adds compared with `req.base`:
    the base ref is read and judged the same way, and its findings subtracted."""
    base = read_repo(req.repo, req.base, req.paths, config=req.config)
    base_inventory = build(live, base, config.owner_keys, now, config.ignore)
    known = {f.fingerprint for f in engine.run(base_inventory, config, live.cluster).findings}
    return {f.fingerprint for f in findings if f.fingerprint not in known}
