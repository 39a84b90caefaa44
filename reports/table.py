"""Terminal tables (rich): findings grouped by owner, then by severity."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from typing import Any

from rich.console import Console
from rich.table import Table

from reports.order import sort_rows

_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}
NO_OWNER = "(no owner)"


def _status(row: dict[str, Any]) -> str:
    if row["status"] == "waived":
        return f"[dim]waived until {row['waiver_expires']}[/]"
    if row["status"] == "resolved":
        return f"resolved {(row['resolved_at'] or '')[:10]}"
    return f"open since {(row['first_seen'] or '')[:10]}"


def findings(console: Console, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        console.print("[green]No findings.[/green]")
        return
    for owner, group in groupby(sort_rows(rows), key=lambda r: r["owner"]):
        group = list(group)
        source = group[0]["owner_source"]
        title = f"{owner or NO_OWNER}" + (f"  [dim]({source})[/dim]" if owner else "")
        table = Table(title=title, title_justify="left", expand=False, show_lines=False)
        table.add_column("SEVERITY")
        table.add_column("RULE")
        table.add_column("RESOURCE")
        table.add_column("WHERE", overflow="fold")
        table.add_column("MESSAGE", overflow="fold")
        table.add_column("STATUS")
        for r in group:
            where = f"{r['source_path']}:{r['source_line']}" if r["source_path"] else "live only"
            table.add_row(
                f"[{_STYLE[r['severity']]}]{r['severity']}[/]",
                f"{r['rule']} {r['rule_name']}",
                f"{r['kind']} {r['namespace']}/{r['name']}",
                where,
                r["message"].removeprefix(f"{r['kind']} {r['namespace']}/{r['name']} "),
                _status(r),
            )
        console.print(table)


def scan_summary(console: Console, scan: dict[str, Any]) -> None:
    state = "complete" if scan["complete"] else "[bold red]PARTIAL[/]"
    console.print(
        f"Scan #{scan['id']} of [bold]{scan['cluster']}[/] against {scan['repo']}@"
        f"{(scan['commit'] or '')[:12]}: {state}; {scan['resources']} resources, "
        f"{scan['findings']} findings ({scan['new']} new, {scan['reopened']} reopened), "
        f"{scan['resolved']} resolved"
    )
    for reason in scan["partial_reasons"]:
        console.print(f"[red]  not read: {reason}[/]")
    for note in scan["notes"]:
        console.print(f"[dim]  note: {note}[/]")


def apps(console: Console, git: Any) -> None:
    """How the repo is read: one row per app, then what could not be rendered."""
    out = Table(title=f"apps at {git.commit[:12]}", title_justify="left")
    for column in ("PATH", "TYPE", "FOUND BY", "NAMESPACE", "OBJECTS", "STATUS"):
        out.add_column(column, overflow="fold")
    for app in git.apps:
        status = app["status"] + (f": {app['reason']}" if app["reason"] else "")
        style = "red" if app["status"] in ("failed", "not rendered") else ""
        out.add_row(
            app["path"],
            app["type"],
            app["found_by"],
            app["namespace"] or "",
            str(app["objects"]),
            f"[{style}]{status}[/]" if style else status,
        )
    console.print(out)
    plain = sum(1 for m in git.manifests if m.app is None)
    if plain:
        console.print(f"plus {plain} object(s) from plain YAML files outside every app")
    for note in git.notes:
        console.print(f"[dim]  note: {note}[/]", markup=True)


def rules(console: Console, catalog: Sequence[Any], detailed: bool) -> None:
    """The rule catalog; with `detailed`, each rule's full documentation and options."""
    if detailed:
        for rule in catalog:
            console.print(
                f"[bold]{rule.id} {rule.name}[/]  (default severity {rule.severity.value})\n"
            )
            console.print(rule.doc, markup=False)
            for name, default in rule.options.items():
                console.print(f"  option {name}: default {default!r}", markup=False)
        return
    out = Table(title="mesh-audit rules", title_justify="left")
    for column in ("ID", "NAME", "SEVERITY", "SUMMARY", "OPTIONS"):
        out.add_column(column, overflow="fold")
    for rule in catalog:
        opts = ", ".join(f"{k}={v!r}" for k, v in rule.options.items())
        out.add_row(rule.id, rule.name, rule.severity.value, rule.summary, opts)
    console.print(out)


def tickets(console: Console, docs: Sequence[dict[str, Any]], dry_run: bool) -> None:
    if not docs:
        console.print("No open findings need a ticket.")
        return
    out = Table(
        title="tickets (dry run: nothing written)" if dry_run else "tickets", title_justify="left"
    )
    for column in ("ACTION", "OWNER", "FINDINGS", "NEW", "WHERE"):
        out.add_column(column, overflow="fold")
    for d in docs:
        out.add_row(
            d["action"],
            d["owner"],
            str(len(d["fingerprints"])),
            str(len(d["new_fingerprints"])),
            d.get("url") or "",
        )
    console.print(out)


def retirements(console: Console, docs: Sequence[dict[str, Any]]) -> None:
    if not docs:
        console.print("Nothing is due for retirement.")
        return
    out = Table(title="due for retirement", title_justify="left")
    for column in ("ACTION", "RESOURCE", "OWNER", "FINDINGS", "WHERE / HOW"):
        out.add_column(column, overflow="fold")
    for d in docs:
        out.add_row(
            d["action"],
            f"{d['kind']} {d['namespace']}/{d['name']}",
            d["owner"] or NO_OWNER,
            ", ".join(f["rule"] for f in d["findings"]),
            d["command"] or d["path"] or "",
        )
    console.print(out)
