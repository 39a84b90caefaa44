"""The `mesh-audit` command line: thin commands over scan, store and reports."""

from __future__ import annotations

import os
import sys
from contextlib import suppress
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from auditor import store, version
from auditor.cli import signals
from auditor.cli.options import (
    BROKEN_PIPE,
    CONSOLE_SCRIPT,
    DATA_FORMATS,
    FORMATS,
    AuditGroup,
    cluster_options,
    complete_rules,
    db_option,
    debug_option,
    format_option,
    hard_exit,
    is_console_script,
    kind_names,
    lock_timeout_option,
    namespaces_option_value,
    output_format,
    repo_options,
    timeout_option,
)
from auditor.cli.progress import counter
from auditor.errors import AuditError, ExitCode, SourceError
from auditor.model import Severity, Status
from auditor.pipeline.scan import LiveSource, ScanRequest, read_live, run_scan
from auditor.rulespec import catalog_markdown
from reports import json_report, metrics, sarif
from reports.order import sort_rows
from rules import CATALOG


@click.group(
    cls=AuditGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    lazy={
        "tickets": "auditor.cli.workflow_commands:tickets_command",
        "retire": "auditor.cli.workflow_commands:retire",
        "report": "auditor.cli.workflow_commands:report",
        "browse": "auditor.cli.browse:browse",
    },
)
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


def _render_scan(
    scan: dict[str, Any], rows: list[dict[str, Any]], fmt: str, base: str | None = None
) -> None:
    scan_doc = json_report.scan(scan)
    if base is not None:  # the listed findings are those the ref adds, not all it has
        scan_doc["base"] = {"ref": base, "added": len(rows)}
    if fmt == "sarif":
        json_report.write(sarif.document(sort_rows(rows), CATALOG, version(), scan_doc), sys.stdout)
    elif fmt in DATA_FORMATS:
        json_report.write(
            {"scan": scan_doc, "findings": [json_report.finding(r) for r in sort_rows(rows)]},
            sys.stdout,
            fmt,
        )
    else:
        from reports import table

        console = table.Console()
        table.findings(console, rows, wide=fmt == "wide")
        table.scan_summary(console, scan_doc, rows)
    if fmt not in ("table", "wide") and not scan_doc["complete"]:
        for reason in scan_doc["partial_reasons"]:
            click.echo(f"mesh-audit: warning: not read: {reason}", err=True)


def _scan(
    req: ScanRequest,
    fmt: str | None,
    fail_on: str,
    metrics_file: Path | None = None,
    *,
    last: bool = False,
    pushgateway: str | None = None,
) -> int:
    """Scan, write the output, and return the exit code; `last` (the process's last
    command) exits right here, while the scan's objects are still referenced."""

    def before_commit(scan: dict[str, Any], rows: list[dict[str, Any]]) -> None:
        """Inside the store's transaction: an interrupted run, or a metrics file that cannot
        be written, stores nothing."""
        signals.raise_if_received()
        if metrics_file is not None:
            metrics.write(metrics_file, metrics.render(scan["cluster"], scan, rows))

    req = replace(req, before_commit=before_commit)
    try:
        with counter() as advance:
            outcome = run_scan(req, CATALOG, advance)
    except AuditError:
        failed = metrics.render(req.live.cluster_name or "", None, [])
        # The scan's own error is the one to report, not a second one from here.
        with suppress(AuditError):
            if metrics_file is not None:
                metrics.write(metrics_file, failed)
            if pushgateway:
                metrics.push(pushgateway, req.live.cluster_name or "", failed)
        raise
    text = metrics.render(outcome.scan["cluster"], outcome.scan, outcome.findings)
    _render_scan(outcome.scan, outcome.findings, output_format(fmt), outcome.base)
    if pushgateway:
        metrics.push(pushgateway, outcome.scan["cluster"], text)
    code = _exit_code(outcome.scan, outcome.findings, fail_on)
    if last:
        hard_exit(code)
    return code


@cli.command()
@repo_options
@click.option(
    "--no-cluster",
    is_flag=True,
    help="Judge the repo on its own (no kubeconfig, no dump): for pull requests. Rules "
    "that need the cluster are listed as not run.",
)
@click.option(
    "--base",
    metavar="REF",
    help="With --no-cluster: report only findings that --ref adds compared with REF "
    "(e.g. origin/main).",
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
    "-o",
    "--format",
    "fmt",
    type=click.Choice([*FORMATS, "sarif"]),
    help="Output format: table, wide, json, yaml or sarif (SARIF 2.1.0) "
    "[default: table on a terminal, json when piped].",
)
@click.option(
    "--metrics",
    "metrics_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write Prometheus metrics here (node_exporter textfile collector).",
)
@click.option(
    "--pushgateway",
    metavar="URL",
    envvar="MESH_AUDIT_PUSHGATEWAY",
    help="Also push the metrics to this Prometheus Pushgateway (job mesh-audit, "
    "grouped by cluster; env MESH_AUDIT_PUSHGATEWAY).",
)
@click.option(
    "--fail-on",
    type=click.Choice(["none", "new", *(s.value for s in Severity)]),
    default="none",
    show_default=True,
    help="Exit 1 when a finding (not waived) has at least this severity, or with `new`, "
    "when a finding was not seen by earlier scans.",
)
@lock_timeout_option
@timeout_option
@debug_option
@click.pass_context
def scan(
    ctx: click.Context,
    repo: str,
    ref: str | None,
    paths: tuple[str, ...],
    no_cluster: bool,
    base: str | None,
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
    pushgateway: str | None,
    fail_on: str,
    lock_timeout: float,
    timeout: float,
) -> None:
    """Compare the live mesh with the GitOps repo and store the findings.

    Exit codes: 0 done; 1 findings at or above --fail-on; 2 bad usage, config or
    input; 3 a source could not be read (the scan is partial or did not run).

    Example: mesh-audit scan --repo . --context prod -n payments --fail-on high
    """
    if cluster_dump and (context or kubeconfig):
        raise click.UsageError("--cluster-dump cannot be combined with --context/--kubeconfig")
    if no_cluster and (cluster_dump or context or kubeconfig):
        raise click.UsageError("--no-cluster reads no cluster: drop --cluster-dump/--context")
    if base and not no_cluster:
        raise click.UsageError("--base compares two refs of the repo: use it with --no-cluster")
    live = LiveSource(
        dump=cluster_dump,
        kubeconfig=kubeconfig,
        context=context,
        namespaces=namespaces_option_value(namespaces, all_namespaces),
        cluster_name=cluster_name,
        no_cluster=no_cluster,
        timeout=timeout,
    )
    req = ScanRequest(
        repo=repo,
        db=db,
        live=live,
        ref=ref,
        paths=paths,
        config=config,
        lock_timeout=lock_timeout,
        base=base,
    )
    last = is_console_script(ctx)
    ctx.exit(_scan(req, fmt, fail_on, metrics_file, last=last, pushgateway=pushgateway))


STATUS_CHOICES = ("active", *(s.value for s in Status), "all")


def _rule_ids(_ctx: click.Context, _param: click.Parameter, refs: tuple[str, ...]) -> list[str]:
    ids = {ref: r.id for r in CATALOG for ref in (r.id, r.name)}
    unknown = [ref for ref in refs if ref not in ids]
    if unknown:
        raise click.BadParameter(f"unknown rule {unknown[0]!r} (see `mesh-audit rules`)")
    return list(dict.fromkeys(ids[ref] for ref in refs))


@cli.command()
@db_option
@click.option(
    "--status",
    type=click.Choice(STATUS_CHOICES),
    default="active",
    show_default=True,
    help="active = open or ticketed (still to be fixed).",
)
@click.option("--owner", help="Only findings of this owner.")
@click.option(
    "--rule",
    "rules",
    shell_complete=complete_rules,
    multiple=True,
    callback=_rule_ids,
    help="Only this rule, ID or name (repeatable).",
)
@click.option("--cluster", "clusters", multiple=True, help="Only this cluster (repeatable).")
@click.option(
    "-n", "--namespace", "namespaces", multiple=True, help="Only this namespace (repeatable)."
)
@click.option(
    "--severity",
    "severities",
    multiple=True,
    type=click.Choice([s.value for s in Severity]),
    help="Only this severity (repeatable).",
)
@click.option(
    "--min-severity",
    type=click.Choice([s.value for s in Severity]),
    help="Only findings of at least this severity.",
)
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    callback=kind_names,
    help="Only this kind, as kubectl names it: VirtualService, virtualservices, vs (repeatable).",
)
@format_option
@debug_option
def findings(
    db: Path,
    status: str,
    owner: str | None,
    rules: list[str],
    clusters: tuple[str, ...],
    namespaces: tuple[str, ...],
    severities: tuple[str, ...],
    min_severity: str | None,
    kinds: tuple[str, ...],
    fmt: str | None,
) -> None:
    """List stored findings: by default the active ones (open or ticketed).

    Example: mesh-audit findings --cluster prod -n payments --severity high --format json
    """
    statuses = {"all": None, "active": store.TO_FIX}.get(status, status)
    if min_severity is not None:
        if severities:
            raise click.UsageError("--severity and --min-severity cannot be combined")
        floor = Severity(min_severity).rank
        severities = tuple(s.value for s in Severity if s.rank >= floor)
    rows = store.query(
        db,
        statuses,
        owner,
        rules,
        clusters,
        namespaces=namespaces,
        severities=severities,
        kinds=kinds,
    )
    if (fmt := output_format(fmt)) in DATA_FORMATS:
        docs = [json_report.finding(r, with_resolved=True) for r in sort_rows(rows)]
        json_report.write({"findings": docs}, sys.stdout, fmt)
    else:
        from reports import table

        table.findings(table.Console(), rows, wide=fmt == "wide")


@cli.command(name="rules")
@click.argument("rule", required=False, shell_complete=complete_rules)
@click.option("--markdown", is_flag=True, help="Print the README's rule table (Markdown) and exit.")
@format_option
@debug_option
def rules_command(rule: str | None, markdown: bool, fmt: str | None) -> None:
    """List the rule catalog, or show one rule's documentation, options and examples.

    Example: mesh-audit rules MA103
    """
    selected = [r for r in CATALOG if rule in (None, r.id, r.name)]
    if not selected:
        raise click.BadParameter(f"unknown rule {rule!r}", param_hint="RULE")
    if markdown:
        click.echo(catalog_markdown(selected), nl=False)
        return
    if (fmt := output_format(fmt)) in DATA_FORMATS:
        docs = [
            {
                "id": r.id,
                "name": r.name,
                "severity": r.severity.value,
                "summary": r.summary,
                "doc": r.doc,
                "options": r.defaults,
                "option_docs": {
                    name: {
                        "type": o.type_name,
                        "default": o.default,
                        "minimum": o.minimum,
                        "maximum": o.maximum,
                        "description": o.description,
                    }
                    for name, o in r.options.items()
                },
                "needs": str(r.needs),
                "retire": r.retire and r.retire.value,
                "example_bad": r.example_bad,
                "example_good": r.example_good,
            }
            for r in selected
        ]
        json_report.write({"rules": docs}, sys.stdout, fmt)
        return
    from reports import table

    table.rules(table.Console(), selected, detailed=rule is not None)


@cli.command(name="apps")
@repo_options
@format_option
@debug_option
def apps_command(
    repo: str, ref: str | None, paths: tuple[str, ...], config: Path | None, fmt: str | None
) -> None:
    """Show how mesh-audit reads the repo: each app, how it was found, what it renders.

    Renders (or recalls) every app without reading a cluster or writing the database.

    Example: mesh-audit apps --repo ~/src/gitops --path clusters/prod
    """
    from auditor.sources.gitops import read_repo

    with counter() as advance:
        git = read_repo(repo, ref, paths, advance, config=config)
    if (fmt := output_format(fmt)) in DATA_FORMATS:
        json_report.write(
            {"commit": git.commit, "apps": list(git.apps), "problems": list(git.problems)},
            sys.stdout,
            fmt,
        )
    else:
        from reports import table

        table.apps(table.Console(), git)
    for problem in git.problems if fmt in DATA_FORMATS else ():
        click.echo(f"mesh-audit: warning: {problem}", err=True)


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
@timeout_option
@debug_option
def snapshot(
    output: str,
    kubeconfig: str | None,
    context: str | None,
    namespaces: tuple[str, ...],
    all_namespaces: bool,
    timeout: float,
) -> None:
    """Write the mesh objects of the live cluster to a dump for `scan --cluster-dump`.

    Read-only; pods are reduced to their metadata. A kind that cannot be read fails
    the snapshot rather than writing a dump that silently lacks it.

    Example: mesh-audit snapshot --context prod -o prod.yaml
    """
    from auditor.sources.dump import write_dump

    src = LiveSource(
        kubeconfig=kubeconfig,
        context=context,
        namespaces=namespaces_option_value(namespaces, all_namespaces),
        timeout=timeout,
    )
    with counter() as advance:
        live = read_live(src, advance)
    if live.unread:
        kind, why = next(iter(live.unread.items()))
        raise SourceError(f"cannot snapshot {kind}: {why}")
    objects = list(live.objects)
    as_json = output.endswith(".json")
    if output == "-":
        write_dump(objects, sys.stdout, as_json, live.namespaces)
    else:
        with open(output, "w", encoding="utf-8") as fh:
            write_dump(objects, fh, as_json, live.namespaces)
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
    from auditor.cli.demo import build_demo

    example = build_demo(directory)
    click.echo(f"demo repo, cluster dump and database in {example.root}", err=True)
    req = ScanRequest(repo=str(example.repo), db=example.db, live=LiveSource(dump=example.dump))
    _scan(req, fmt, "none")
    click.echo(
        f"next: mesh-audit findings --db {example.db}   |   "
        f"mesh-audit scan --repo {example.repo} --cluster-dump {example.dump} --db {example.db}",
        err=True,
    )


def main() -> None:
    try:
        cli(prog_name="mesh-audit", obj=CONSOLE_SCRIPT)
    except BrokenPipeError:
        # The reader went away (`mesh-audit ... | head`): exit quietly like other CLIs.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(BROKEN_PIPE)
