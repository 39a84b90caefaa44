"""The `mesh-audit` command line: thin commands over scan, store and reports."""

from __future__ import annotations

import json
import os
import re
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from auditor import clock, monthly, store, tickets, version
from auditor import retire as retirement
from auditor.errors import AuditError, ExitCode, SourceError
from auditor.github import GitHub
from auditor.model import Severity, Status
from auditor.progress import counter
from auditor.scan import ScanRequest, read_live, run_scan
from reports import json_report, metrics, sarif, table
from reports import monthly as monthly_report
from reports import tickets as ticket_reports
from rules import CATALOG

FORMATS = ("table", "json")
_INTERRUPTED = 130
_INTERNAL = 4


def _stderr() -> Console:
    return Console(stderr=True)


def _debug(ctx: click.Context) -> bool:
    return bool(ctx.find_root().meta.get("debug") or os.environ.get("MESH_AUDIT_DEBUG"))


class AuditGroup(click.Group):
    """Turns expected failures into one line on stderr and a documented exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AuditError as exc:
            self._fail(ctx, str(exc), exc.exit_code)
        except KeyboardInterrupt:
            self._fail(ctx, "interrupted; the database was left as it was", _INTERRUPTED)
        except (
            click.exceptions.Exit,
            click.ClickException,
            click.exceptions.Abort,
            BrokenPipeError,
        ):
            raise
        except Exception as exc:
            if _debug(ctx):
                raise
            self._fail(
                ctx,
                f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)",
                _INTERNAL,
            )

    @staticmethod
    def _fail(ctx: click.Context, message: str, code: int) -> None:
        if _debug(ctx):
            traceback.print_exc()
        click.echo(f"mesh-audit: error: {message}", err=True)
        ctx.exit(code)


def _set_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.find_root().meta["debug"] = True


debug_option = click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_set_debug,
    help="Show tracebacks on errors.",
)


def _compose(*decorators: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def apply(fn: Any) -> Any:
        for decorator in reversed(decorators):
            fn = decorator(fn)
        return fn

    return apply


db_option = click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="MESH_AUDIT_DB",
    default="mesh-audit.db",
    show_default=True,
    help="SQLite database (env MESH_AUDIT_DB).",
)
format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="Output format [default: table on a terminal, json when piped].",
)
cluster_options = _compose(
    click.option("--kubeconfig", type=click.Path(dir_okay=False), help="Kubeconfig file."),
    click.option("--context", help="Kubeconfig context [default: current context]."),
    click.option(
        "-n",
        "--namespace",
        "namespaces",
        multiple=True,
        help="Only this namespace (repeatable) [default: all namespaces].",
    ),
    click.option("-A", "--all-namespaces", is_flag=True, help="All namespaces (the default)."),
)


def _namespaces(namespaces: tuple[str, ...], all_namespaces: bool) -> tuple[str, ...]:
    if namespaces and all_namespaces:
        raise click.UsageError("-n/--namespace and -A/--all-namespaces cannot be combined")
    return tuple(dict.fromkeys(namespaces))


def _month(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
        raise click.BadParameter(f"expected YYYY-MM, got {value!r}")
    return value


def _format(fmt: str | None) -> str:
    return fmt or ("table" if sys.stdout.isatty() else "json")


@click.group(cls=AuditGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mesh-audit", prog_name="mesh-audit")
@debug_option
def cli() -> None:
    """Audit Istio routing config: the live cluster against its GitOps repo.

    Finds stale, ownerless, drifted and risky VirtualServices, DestinationRules,
    ServiceEntries and Gateways, and keeps every finding with its history in SQLite.

    Example: mesh-audit scan --repo ~/src/gitops --context prod
    """


def _exit_code(scan: dict[str, Any], rows: list[dict[str, Any]], fail_on: str) -> int:
    """3 for a partial scan; 1 when a finding that counts (not waived) meets --fail-on."""
    if not scan["complete"]:
        return ExitCode.SOURCE
    counting = [r for r in rows if r["status"] != Status.WAIVED]
    if fail_on == "new":
        failed = any(r["first_scan_id"] == scan["id"] for r in counting)
    elif fail_on != "none":
        failed = any(Severity(r["severity"]).rank >= Severity(fail_on).rank for r in counting)
    else:
        failed = False
    return ExitCode.FINDINGS if failed else ExitCode.OK


def _render_scan(scan: dict[str, Any], rows: list[dict[str, Any]], fmt: str) -> None:
    scan_doc = json_report.scan(scan)
    if fmt == "sarif":
        json_report.write(sarif.document(table.sort_rows(rows), CATALOG, version()), sys.stdout)
    elif fmt == "json":
        json_report.write(
            {"scan": scan_doc, "findings": [json_report.finding(r) for r in table.sort_rows(rows)]},
            sys.stdout,
        )
    else:
        console = Console()
        table.findings(console, rows)
        table.scan_summary(console, scan_doc)
    if fmt != "table" and not scan_doc["complete"]:
        for reason in scan_doc["partial_reasons"]:
            click.echo(f"mesh-audit: warning: not read: {reason}", err=True)


def _scan(req: ScanRequest, fmt: str | None, fail_on: str, metrics_file: Path | None = None) -> int:
    try:
        with counter(_stderr()) as advance:
            outcome = run_scan(req, CATALOG, advance)
    except AuditError:
        if metrics_file is not None:
            metrics.write(metrics_file, metrics.render(req.cluster_name or "", None, []))
        raise
    if metrics_file is not None:
        text = metrics.render(outcome.scan["cluster"], outcome.scan, outcome.findings)
        metrics.write(metrics_file, text)
    _render_scan(outcome.scan, outcome.findings, _format(fmt))
    return _exit_code(outcome.scan, outcome.findings, fail_on)


@cli.command()
@click.option(
    "--repo",
    default=".",
    show_default=True,
    envvar="MESH_AUDIT_REPO",
    help="GitOps repo: a local checkout or a clone URL (cloned into the cache).",
)
@click.option("--ref", help="Commit, branch or tag to read [default: HEAD].")
@click.option(
    "--path", "paths", multiple=True, help="Only manifests under this folder (repeatable)."
)
@click.option(
    "--cluster-dump",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read the cluster from `kubectl get ... -A -o yaml|json` output instead of the API.",
)
@cluster_options
@click.option(
    "--cluster-name", help="Name the cluster in the store [default: context or dump name]."
)
@db_option
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Config file [default: .mesh-audit.yaml at the repo root, if any].",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice([*FORMATS, "sarif"]),
    help="Output format: table, json or sarif (SARIF 2.1.0) "
    "[default: table on a terminal, json when piped].",
)
@click.option(
    "--metrics",
    "metrics_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write Prometheus metrics here (node_exporter textfile collector).",
)
@click.option(
    "--fail-on",
    type=click.Choice(["none", "new", *(s.value for s in Severity)]),
    default="none",
    show_default=True,
    help="Exit 1 when a finding (not waived) has at least this severity, or with `new`, "
    "when a finding was not seen by earlier scans.",
)
@click.option(
    "--lock-timeout",
    type=float,
    default=30.0,
    show_default=True,
    help="Seconds to wait for another run holding the database.",
)
@debug_option
@click.pass_context
def scan(
    ctx: click.Context,
    repo: str,
    ref: str | None,
    paths: tuple[str, ...],
    cluster_dump: Path | None,
    kubeconfig: str | None,
    context: str | None,
    namespaces: tuple[str, ...],
    all_namespaces: bool,
    cluster_name: str | None,
    db: Path,
    config: Path | None,
    fmt: str | None,
    metrics_file: Path | None,
    fail_on: str,
    lock_timeout: float,
) -> None:
    """Compare the live mesh with the GitOps repo and store the findings.

    Exit codes: 0 done; 1 findings at or above --fail-on; 2 bad usage, config or
    input; 3 a source could not be read (the scan is partial or did not run).

    Example: mesh-audit scan --repo . --context prod -n payments --fail-on high
    """
    if cluster_dump and (context or kubeconfig):
        raise click.UsageError("--cluster-dump cannot be combined with --context/--kubeconfig")
    req = ScanRequest(
        repo=repo,
        db=db,
        ref=ref,
        paths=paths,
        dump=cluster_dump,
        kubeconfig=kubeconfig,
        context=context,
        namespaces=_namespaces(namespaces, all_namespaces),
        cluster_name=cluster_name,
        config=config,
        lock_timeout=lock_timeout,
    )
    ctx.exit(_scan(req, fmt, fail_on, metrics_file))


@cli.command()
@db_option
@click.option(
    "--status",
    type=click.Choice([*(s.value for s in Status), "all"]),
    default="open",
    show_default=True,
)
@click.option("--owner", help="Only findings of this owner.")
@click.option("--rule", help="Only this rule (ID or name).")
@click.option("--cluster", help="Only this cluster.")
@format_option
@debug_option
def findings(
    db: Path, status: str, owner: str | None, rule: str | None, cluster: str | None, fmt: str | None
) -> None:
    """List stored findings.

    Example: mesh-audit findings --status all --owner team-payments --format json
    """
    rows = store.query(db, None if status == "all" else status, owner, rule, cluster)
    if _format(fmt) == "json":
        docs = [json_report.finding(r, with_resolved=True) for r in table.sort_rows(rows)]
        json_report.write({"findings": docs}, sys.stdout)
    else:
        table.findings(Console(), rows)


@cli.command(name="tickets")
@db_option
@click.option(
    "--period",
    default=lambda: clock.stamp()[:7],
    callback=_month,
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
@format_option
@debug_option
def tickets_command(
    db: Path,
    period: str,
    default_owner: str,
    out: Path | None,
    github_repo: str | None,
    dry_run: bool,
    fmt: str | None,
) -> None:
    """Turn open findings into one ticket per owner for the period.

    Idempotent: a second run updates the period's ticket with newly opened findings, and
    findings already ticketed are not ticketed again.

    Example: mesh-audit tickets --out tickets/ --github acme/platform-issues
    """
    if not (out or github_repo or dry_run):
        raise click.UsageError("choose where tickets go: --out DIR and/or --github OWNER/REPO")
    hub = GitHub(github_repo) if github_repo else None
    planned = tickets.plan(db, period, default_owner)
    fixes = {r.id: r.fix for r in CATALOG}
    bodies = {t.key: ticket_reports.markdown(t, fixes) for t in planned}
    urls: dict[str, str] = {}
    if not dry_run and planned:
        if out is not None:
            _write_tickets(out, planned, bodies)
        if hub is not None:
            for t in planned:
                added = "\n".join(
                    f"- {r['rule']} {r['kind']} {r['namespace']}/{r['name']}"
                    for r in t.rows
                    if r["fingerprint"] in t.new
                )
                urls[t.key] = hub.upsert(
                    ticket_reports.MARKER.format(key=t.key),
                    t.title,
                    bodies[t.key],
                    [ticket_reports.LABEL, ticket_reports.slug(t.owner)],
                    f"mesh-audit added {len(t.new)} finding(s):\n{added}",
                )
        tickets.record(db, planned, clock.stamp(), urls)
    docs = [{**ticket_reports.summary(t, bodies), "url": urls.get(t.key, t.url)} for t in planned]
    if _format(fmt) == "json":
        json_report.write({"dry_run": dry_run, "tickets": docs}, sys.stdout)
    else:
        table.tickets(Console(), docs, dry_run)


def _write_tickets(out: Path, planned: list[Any], bodies: dict[str, str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for t in planned:
        (out / f"{t.period}-{ticket_reports.slug(t.owner)}.md").write_text(bodies[t.key])
    docs = [ticket_reports.summary(t, bodies) for t in planned]
    (out / "tickets.json").write_text(json.dumps({"tickets": docs}, indent=2) + "\n")
    (out / "jira.csv").write_text(ticket_reports.jira_csv(planned, bodies))


@cli.group(cls=AuditGroup)
def retire() -> None:
    """Retire dead config: plan this month's removals, then apply them as a Git branch.

    Example: mesh-audit retire plan --grace-days 30
    """


retire_options = _compose(
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
        help="Comma-separated rules whose findings mean the resource is dead.",
    ),
)


def _retire_plan(db: Path, grace_days: int, rule_list: str) -> list[retirement.Retirement]:
    ids = {ref: r.id for r in CATALOG for ref in (r.id, r.name)}
    unknown = [x for x in rule_list.split(",") if x.strip() and x.strip() not in ids]
    if unknown:
        raise click.BadParameter(f"unknown rule {unknown[0]!r}", param_hint="--rules")
    rules = [ids[x.strip()] for x in rule_list.split(",") if x.strip()]
    return retirement.plan(db, rules, grace_days, clock.now())


@retire.command(name="plan")
@retire_options
@format_option
@debug_option
def retire_plan(db: Path, grace_days: int, rule_list: str, fmt: str | None) -> None:
    """List the resources due for retirement and how each one goes.

    Example: mesh-audit retire plan --format json
    """
    planned = _retire_plan(db, grace_days, rule_list)
    docs = [
        {
            "kind": r.kind,
            "namespace": r.namespace,
            "name": r.name,
            "owner": r.owner,
            "action": r.action,
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
    if _format(fmt) == "json":
        json_report.write({"retirements": docs}, sys.stdout)
    else:
        table.retirements(Console(), docs)


@retire.command(name="apply")
@retire_options
@click.option("--repo", default=".", show_default=True, help="Local checkout of the GitOps repo.")
@click.option(
    "--branch",
    default=lambda: f"mesh-audit/retire-{clock.stamp()[:7]}",
    help="Branch to create [default: mesh-audit/retire-YYYY-MM].",
)
@click.option("--push", is_flag=True, help="Push the branch to origin.")
@debug_option
def retire_apply(
    db: Path, grace_days: int, rule_list: str, repo: str, branch: str, push: bool
) -> None:
    """Remove the planned manifests on a new branch of the GitOps repo (never the cluster).

    Example: mesh-audit retire apply --repo ~/src/gitops --push
    """
    planned = _retire_plan(db, grace_days, rule_list)
    sha, removed = retirement.apply(db, repo, planned, branch, push)
    click.echo(f"branch {branch} ({sha[:12]}): removed {len(removed)} manifest(s)")
    for r in removed:
        click.echo(f"  - {r.describe()} from {r.path}")
    for r in planned:
        if r.action == "kubectl-delete":
            click.echo(f"  live only, for its owner to run: {r.command}")
        elif r.action == "edit":
            spots = ", ".join(f["locator"] for f in r.findings)
            click.echo(f"  needs an edit, not a removal: {r.describe()} at {spots} in {r.path}")


@cli.group(cls=AuditGroup)
def report() -> None:
    """Reports from the findings database.

    Example: mesh-audit report monthly --format html > mesh-2026-11.html
    """


@report.command(name="monthly")
@db_option
@click.option(
    "--month",
    default=lambda: clock.stamp()[:7],
    callback=_month,
    help="YYYY-MM [default: this month].",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["markdown", "html", "json"]),
    default="markdown",
    show_default=True,
)
@debug_option
def report_monthly(db: Path, month: str, fmt: str) -> None:
    """New, resolved, retired and still-open findings per owner and rule, and the trend.

    Example: mesh-audit report monthly --month 2026-11 --format html > report.html
    """
    data = monthly.build(db, month)
    if fmt == "json":
        json_report.write(data.as_dict(), sys.stdout)
    else:
        sys.stdout.write(
            monthly_report.html(data) if fmt == "html" else monthly_report.markdown(data)
        )


@cli.command(name="rules")
@click.argument("rule", required=False)
@format_option
@debug_option
def rules_command(rule: str | None, fmt: str | None) -> None:
    """List the rule catalog, or show one rule's documentation and options.

    Example: mesh-audit rules MA103
    """
    selected = [r for r in CATALOG if rule in (None, r.id, r.name)]
    if not selected:
        raise click.BadParameter(f"unknown rule {rule!r}", param_hint="RULE")
    if _format(fmt) == "json":
        docs = [
            {
                "id": r.id,
                "name": r.name,
                "severity": r.severity.value,
                "summary": r.summary,
                "doc": r.doc,
                "options": dict(r.options),
            }
            for r in selected
        ]
        json_report.write({"rules": docs}, sys.stdout)
        return
    table.rules(Console(), selected, detailed=rule is not None)


@cli.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True),
    default="-",
    show_default=True,
    help="Dump file; .json writes JSON, anything else YAML.",
)
@cluster_options
@debug_option
def snapshot(
    output: str,
    kubeconfig: str | None,
    context: str | None,
    namespaces: tuple[str, ...],
    all_namespaces: bool,
) -> None:
    """Write the mesh objects of the live cluster to a dump for `scan --cluster-dump`.

    Read-only; pods are reduced to their metadata. A kind that cannot be read fails
    the snapshot rather than writing a dump that silently lacks it.

    Example: mesh-audit snapshot --context prod -o prod.yaml
    """
    from auditor.sources.dump import write_dump

    req = ScanRequest(
        repo=".",
        db=Path(),
        kubeconfig=kubeconfig,
        context=context,
        namespaces=_namespaces(namespaces, all_namespaces),
    )
    with counter(_stderr()) as advance:
        live = read_live(req, advance)
    if live.unread:
        kind, why = next(iter(live.unread.items()))
        raise SourceError(f"cannot snapshot {kind}: {why}")
    objects = list(live.objects)
    as_json = output.endswith(".json")
    if output == "-":
        write_dump(objects, sys.stdout, as_json)
    else:
        with open(output, "w", encoding="utf-8") as fh:
            write_dump(objects, fh, as_json)
        click.echo(f"wrote {len(objects)} objects to {output}", err=True)


@cli.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to build the example [default: a new temporary folder].",
)
@format_option
@debug_option
def demo(directory: Path | None, fmt: str | None) -> None:
    """Scan a built-in example: a small GitOps repo with history and a cluster dump.

    Example: mesh-audit demo
    """
    from auditor.demo import build_demo

    example = build_demo(directory)
    click.echo(f"demo repo, cluster dump and database in {example.root}", err=True)
    req = ScanRequest(repo=str(example.repo), db=example.db, dump=example.dump, cluster_name="demo")
    _scan(req, fmt, "none")
    click.echo(
        f"next: mesh-audit findings --db {example.db}   |   "
        f"mesh-audit scan --repo {example.repo} --cluster-dump {example.dump} --db {example.db}",
        err=True,
    )


def main() -> None:
    try:
        cli(prog_name="mesh-audit")
    except BrokenPipeError:
        # The reader went away (`mesh-audit ... | head`): exit quietly like other CLIs.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
