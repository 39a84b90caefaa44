"""The monthly workflow commands: tickets, retire, report."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import click

from auditor import atomic, clock
from auditor.cli.options import (
    DATA_FORMATS,
    AuditGroup,
    compose,
    db_option,
    debug_option,
    format_option,
    lock_timeout_option,
    month_value,
    output_format,
)
from auditor.errors import SourceError
from auditor.model import label
from auditor.workflow import numbers as monthly
from auditor.workflow import retire as retirement
from auditor.workflow import ticketing as tickets
from reports import json_report, table
from reports import monthly as monthly_report
from reports import tickets as ticket_reports
from rules import CATALOG

FIXES = {r.id: r.fix for r in CATALOG}
cluster_filter = click.option(
    "--cluster",
    "clusters",
    multiple=True,
    help="Only this cluster (repeatable) [default: every cluster in the database].",
)


@click.command(name="tickets")
@db_option
@click.option(
    "--period",
    default=lambda: clock.stamp()[:7],
    callback=month_value,
    help="Ticket period, YYYY-MM [default: this month]: one ticket per owner per period.",
)
@click.option(
    "--default-owner",
    envvar="MESH_AUDIT_DEFAULT_OWNER",
    default="platform-team",
    show_default=True,
    help="Who gets owner-less findings (env MESH_AUDIT_DEFAULT_OWNER).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write one Markdown file per ticket, tickets.json and jira.csv here.",
)
@click.option(
    "--github",
    "github_repo",
    metavar="OWNER/REPO",
    help="Create or update GitHub issues (token from GITHUB_TOKEN).",
)
@click.option("--dry-run", is_flag=True, help="Show the tickets; write and change nothing.")
@cluster_filter
@lock_timeout_option
@format_option
@debug_option
def tickets_command(
    db: Path,
    period: str,
    default_owner: str,
    out: Path | None,
    github_repo: str | None,
    dry_run: bool,
    clusters: tuple[str, ...],
    lock_timeout: float,
    fmt: str | None,
) -> None:
    """Turn active findings into one ticket per owner for the period.

    Each ticket lists every still-active finding of its owner, grouped by cluster and
    resource, marking what is new this period. Idempotent: a second run updates a ticket
    only when its findings changed.

    Example: mesh-audit tickets --out tickets/ --github acme/platform-issues
    """
    if not (out or github_repo or dry_run):
        raise click.UsageError("choose where tickets go: --out DIR and/or --github OWNER/REPO")
    from auditor.workflow.github import GitHub  # urllib is only needed for this sink

    hub = GitHub(github_repo) if github_repo else None
    planned = tickets.plan(db, period, default_owner, clusters)
    today = clock.now().date()
    bodies = {t.key: ticket_reports.markdown(t, FIXES, today) for t in planned}
    urls: dict[str, str] = {}
    if not dry_run and planned:
        if hub is not None:
            for t in planned:
                added = "\n".join(
                    f"- {r['rule']} {label(r['kind'], r['namespace'], r['name'])}"
                    for r in t.rows
                    if r["fingerprint"] in t.new
                )
                urls[t.key] = hub.upsert(
                    ticket_reports.MARKER.format(key=t.key),
                    t.title,
                    bodies[t.key],
                    ticket_reports.labels(t),
                    f"mesh-audit added {len(t.new)} finding(s):\n{added}",
                )
        # The files are written inside the database transaction: both or neither.
        skipped = tickets.record(
            db,
            planned,
            clock.stamp(),
            urls,
            lock_timeout,
            before_commit=(lambda: _write_tickets(out, planned, bodies, today)) if out else None,
        )
        if skipped:
            click.echo(
                f"mesh-audit: warning: {len(skipped)} finding(s) changed status while the "
                "tickets were made (a scan ran meanwhile); their status was kept",
                err=True,
            )
    docs = [{**ticket_reports.summary(t, bodies), "url": urls.get(t.key, t.url)} for t in planned]
    if (fmt := output_format(fmt)) in DATA_FORMATS:
        json_report.write({"dry_run": dry_run, "tickets": docs}, sys.stdout, fmt)
    else:
        table.tickets(table.Console(), docs, dry_run)


def _write_tickets(out: Path, planned: list[Any], bodies: dict[str, str], today: date) -> None:
    """Each file atomically; any failure is exit 3 and the tickets are not recorded. The
    Jira CSV is dated `today`, as the Markdown bodies are."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SourceError(f"cannot create {out}: {exc.strerror or exc}") from None
    for t in planned:
        atomic.write_text(out / f"{t.period}-{ticket_reports.slug(t.owner)}.md", bodies[t.key])
    docs = [ticket_reports.summary(t, bodies) for t in planned]
    atomic.write_text(out / "tickets.json", json.dumps({"tickets": docs}, indent=2) + "\n")
    atomic.write_text(out / "jira.csv", ticket_reports.jira_csv(planned, FIXES, today))


@click.group(cls=AuditGroup)
def retire() -> None:
    """Retire dead config: plan this month's removals, then apply them as a Git branch.

    Example: mesh-audit retire plan --grace-days 30
    """


retire_options = compose(
    db_option,
    click.option(
        "--grace-days",
        type=click.IntRange(min=0),
        default=30,
        show_default=True,
        help="Only findings open for longer than this.",
    ),
    click.option(
        "--rules",
        "rule_list",
        default=",".join(retirement.DEFAULT_RULES),
        show_default=True,
        help="Comma-separated rules whose findings mean the resource is dead (only rules "
        "with a retirement action: `mesh-audit rules`).",
    ),
    cluster_filter,
    lock_timeout_option,
)


def _retire_plan(
    db: Path, grace_days: int, rule_list: str, clusters: tuple[str, ...], lock_timeout: float
) -> list[retirement.Retirement]:
    ids = {ref: r.id for r in CATALOG for ref in (r.id, r.name)}
    unknown = [x for x in rule_list.split(",") if x.strip() and x.strip() not in ids]
    if unknown:
        raise click.BadParameter(f"unknown rule {unknown[0]!r}", param_hint="--rules")
    rules = [ids[x.strip()] for x in rule_list.split(",") if x.strip()]
    # A finding of drift or of a risky retry policy names a resource in use: retiring it
    # would delete live routing.
    kept = [r for r in rules if r not in retirement.DEFAULT_RULES]
    if kept:
        raise click.BadParameter(
            f"{kept[0]} has no retirement action: its findings do not mean the resource is "
            f"dead (choose from {', '.join(retirement.DEFAULT_RULES)})",
            param_hint="--rules",
        )
    return retirement.plan(
        db, rules, grace_days, clock.now(), tuple(dict.fromkeys(clusters)), lock_timeout
    )


def _by_cluster(
    planned: list[retirement.Retirement],
) -> dict[str, list[retirement.Retirement]]:
    grouped: dict[str, list[retirement.Retirement]] = {}
    for r in planned:
        grouped.setdefault(r.cluster, []).append(r)
    return grouped


def _cluster_heading(cluster: str, items: list[retirement.Retirement]) -> str:
    context = items[0].context
    return f"cluster {cluster}" + (f" (context {context})" if context else " (context unknown)")


@retire.command(name="plan")
@retire_options
@format_option
@debug_option
def retire_plan(
    db: Path,
    grace_days: int,
    rule_list: str,
    clusters: tuple[str, ...],
    lock_timeout: float,
    fmt: str | None,
) -> None:
    """List the resources due for retirement, per cluster, and how each one goes.

    Example: mesh-audit retire plan --cluster prod --format json
    """
    planned = _retire_plan(db, grace_days, rule_list, clusters, lock_timeout)
    docs = [
        {
            "cluster": r.cluster,
            "context": r.context,
            "kind": r.kind,
            "namespace": r.namespace,
            "name": r.name,
            "owner": r.owner,
            "action": r.action.value,
            "path": r.path,
            "command": r.command,
            "findings": [
                {
                    "rule": f["rule"],
                    "fingerprint": f["fingerprint"],
                    "locator": f["locator"],
                    "message": f["message"],
                }
                for f in r.findings
            ],
        }
        for r in planned
    ]
    if (fmt := output_format(fmt)) in DATA_FORMATS:
        json_report.write({"retirements": docs}, sys.stdout, fmt)
        return
    console = table.Console()
    if not planned:
        table.retirements(console, [])
    for cluster, items in _by_cluster(planned).items():
        console.print(_cluster_heading(cluster, items), style="bold", markup=False)
        table.retirements(console, [d for d in docs if d["cluster"] == cluster])


@retire.command(name="apply")
@retire_options
@click.option("--repo", default=".", show_default=True, help="Local checkout of the GitOps repo.")
@click.option(
    "--branch",
    default=lambda: f"mesh-audit/retire-{clock.stamp()[:7]}",
    help="Branch to create [default: mesh-audit/retire-YYYY-MM].",
)
@click.option("--push", is_flag=True, help="Push the branch to origin (refs/heads/BRANCH only).")
@debug_option
def retire_apply(
    db: Path,
    grace_days: int,
    rule_list: str,
    clusters: tuple[str, ...],
    lock_timeout: float,
    repo: str,
    branch: str,
    push: bool,
) -> None:
    """Commit the planned removals and 0% route edits on a new branch of the GitOps repo,
    built in a temporary worktree (your checkout is never touched; never the cluster).

    Example: mesh-audit retire apply --repo ~/src/gitops --cluster prod --push
    """
    planned = _retire_plan(db, grace_days, rule_list, clusters, lock_timeout)
    applied = retirement.apply(db, repo, planned, branch, push, lock_timeout)
    click.echo(f"branch {branch} ({applied.commit[:12]}): {len(applied.done)} resource(s)")
    skipped = {id(r): why for r, why in applied.skipped}
    done = {id(r) for r in applied.done}
    for cluster, items in _by_cluster(planned).items():
        click.echo(_cluster_heading(cluster, items))
        for r in items:
            if id(r) in done:
                verb = "edited" if r.action == retirement.Action.EDIT else "removed"
                click.echo(f"  - {verb} {r.describe()} in {r.path}")
            elif id(r) in skipped:
                click.echo(f"  ! skipped {r.describe()}: {skipped[id(r)]}")
            elif r.action == retirement.Action.EDIT:
                spots = ", ".join(f["locator"] for f in r.findings)
                click.echo(f"  live only, for its owner to edit out {spots}: {r.command}")
            else:
                click.echo(f"  live only, for its owner to run: {r.command}")
    for _, why in applied.skipped:
        click.echo(f"mesh-audit: warning: not retired: {why}", err=True)


@click.group(cls=AuditGroup)
def report() -> None:
    """Reports from the findings database.

    Example: mesh-audit report monthly --format html > mesh-2026-11.html
    """


def _report_month(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if value in ("previous", "current"):
        this = clock.stamp()
        return monthly.previous_month(this) if value == "previous" else this[:7]
    return month_value(ctx, param, value)


@report.command(name="monthly")
@db_option
@click.option(
    "--month",
    default="previous",
    show_default=True,
    callback=_report_month,
    help="previous (the month that just ended: what a run on the 1st wants), current, or YYYY-MM.",
)
@cluster_filter
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["markdown", "html", "json"]),
    default="markdown",
    show_default=True,
)
@debug_option
def report_monthly(db: Path, month: str, clusters: tuple[str, ...], fmt: str) -> None:
    """The month's new, resolved and active findings for the fleet and each cluster:
    trends by severity, teams ranked by active findings, time to resolve, the oldest.

    Example: mesh-audit report monthly --month previous --format html > report.html
    """
    data = monthly.build(db, month, clusters)
    if fmt == "json":
        json_report.write(data.as_dict(), sys.stdout, fmt)
    else:
        sys.stdout.write(
            monthly_report.html(data) if fmt == "html" else monthly_report.markdown(data)
        )
