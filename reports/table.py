"""Terminal tables (rich): findings grouped by owner, then by resource."""

from __future__ import annotations

import errno
import os
from collections import Counter
from collections.abc import Sequence
from itertools import groupby
from typing import Any, NoReturn

from rich import console as rich_console
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from auditor.model import NO_OWNER, Severity, Status, label
from reports.order import sort_rows

_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


class Console(rich_console.Console):
    """rich's console, except that a closed stdout is left to the command's error handling
    (exit 141, as for JSON) instead of rich ending the process with exit 1, the code that
    means findings at --fail-on."""

    def on_broken_pipe(self) -> NoReturn:
        self.quiet = True  # nothing more is written, not even when the console is flushed
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))


def _status(row: dict[str, Any]) -> str:
    if row["status"] == Status.WAIVED:
        return f"[dim]waived until {row['waiver_expires']}[/]"
    if row["status"] in (Status.RESOLVED, Status.RETIRED):
        return f"{row['status']} {(row['resolved_at'] or '')[:10]}"
    since = f"since {(row['first_seen'] or '')[:10]}"
    return f"ticketed {since}" if row["status"] == Status.TICKETED else f"open {since}"


def _where(row: dict[str, Any]) -> str:
    if not row["source_path"]:
        return "live only"
    return f"{row['source_path']}:{row['source_line']}"


def findings(console: Console, rows: Sequence[dict[str, Any]], wide: bool = False) -> None:
    """Findings by owner, then one block per resource (a resource with six problems is one
    block). Identifiers (resources, rules, paths) are never cut or broken: messages wrap;
    `wide` adds, under each message, the rule's name, the finding's location and its
    cluster (a line of their own, so 80 columns still leave the message room)."""
    if not rows:
        console.print("[green]No findings.[/green]")
        return
    for owner, by_owner in groupby(sort_rows(rows), key=lambda r: r["owner"]):
        group = sorted(by_owner, key=lambda r: (r["kind"], r["namespace"], r["name"], -_rank(r)))
        source = group[0]["owner_source"]
        console.print()
        console.rule(
            f"[bold]{escape(owner or NO_OWNER)}[/]" + (f" [dim]({source})[/]" if owner else ""),
            align="left",
        )
        for (kind, namespace, name), run in groupby(
            group, key=lambda r: (r["kind"], r["namespace"], r["name"])
        ):
            found = list(run)
            resource = label(kind, namespace, name)
            head = Text(resource, style="bold", no_wrap=True)
            head.append(f"  {_where(found[0])}", style="dim")
            console.print(head, overflow="ignore", crop=False)
            table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 1, 0, 2))
            table.add_column(no_wrap=True, min_width=8)
            table.add_column(no_wrap=True, min_width=5)
            table.add_column(ratio=1, overflow="fold")
            table.add_column(no_wrap=True)
            for r in found:
                message = escape(r["message"].removeprefix(f"{resource} "))
                if wide:
                    message += f"\n[dim]{r['rule_name']}  {escape(_where(r))}  {r['cluster']}[/]"
                table.add_row(
                    f"[{_STYLE[r['severity']]}]{r['severity']}[/]", r["rule"], message, _status(r)
                )
            console.print(table)


def _rank(row: dict[str, Any]) -> int:
    return Severity(row["severity"]).rank


def _counts(rows: Sequence[dict[str, Any]], key: str, most: int = 8) -> str:
    """The `most` commonest values with their counts, and how many others there are."""
    counted = Counter(r[key] or NO_OWNER for r in rows)
    shown = ", ".join(f"{name} {n}" for name, n in counted.most_common(most))
    others = len(counted) - most
    return shown + (f", and {others} more" if others > 0 else "")


def scan_summary(
    console: Console, scan: dict[str, Any], rows: Sequence[dict[str, Any]] = ()
) -> None:
    """The closing summary: what was read, counts by severity, rule and owner, and what
    changed since the last scan."""
    state = "complete" if scan["complete"] else "[bold red]PARTIAL[/]"
    console.print()
    console.print(
        f"Scan #{scan['id']} of [bold]{escape(scan['cluster'])}[/] against "
        f"{escape(scan['repo'])}@{(scan['commit'] or '')[:12]}: {state}; "
        f"{scan['resources']} resources, {len(scan.get('apps') or [])} app(s)"
    )
    counting = [r for r in rows if r["status"] != Status.WAIVED]
    if rows:
        by_severity = Counter(r["severity"] for r in counting)
        severities = ", ".join(
            f"[{_STYLE[s]}]{s.value} {by_severity[s.value]}[/]"
            for s in reversed(Severity)
            if by_severity[s.value]
        )
        graded = severities or "all waived"
        if base := scan.get("base"):
            console.print(
                f"  findings: {base['added']} added since {escape(base['ref'])} ({graded}), "
                f"of {scan['findings']} in all (waived {scan['waived']})"
            )
        else:
            console.print(f"  findings: {scan['findings']} ({graded}; waived {scan['waived']})")
        console.print(f"  by rule:  {escape(_counts(counting, 'rule'))}")
        console.print(f"  by owner: {escape(_counts(counting, 'owner'))}")
    console.print(
        f"  since the last scan: {scan['new']} new, {scan['reopened']} reopened, "
        f"{scan['resolved']} resolved"
    )
    for reason in scan["partial_reasons"]:
        console.print(f"[red]  not read: {escape(reason)}[/]")
    for note in scan["notes"]:
        console.print(f"[dim]  note: {escape(note)}[/]")


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
    """The rule catalog; with `detailed`, each rule's documentation, options and examples."""
    if detailed:
        for rule in catalog:
            console.print(
                f"[bold]{rule.id} {rule.name}[/]  (default severity {rule.severity.value})\n"
            )
            console.print(rule.doc, markup=False)
            for name, o in rule.options.items():
                bounds = f", {o.bounds}" if o.bounds else ""
                console.print(
                    f"  option {name} ({o.type_name}{bounds}): {o.description}; "
                    f"default {o.default!r}",
                    markup=False,
                )
            console.print(f"  needs: {rule.needs}", markup=False)
            if rule.retire:
                console.print(f"  retirement: {rule.retire}", markup=False)
            examples = (("Example", rule.example_bad), ("Use instead", rule.example_good))
            for title, example in examples:
                console.print(f"\n[bold]{title}:[/]")
                console.print(Syntax(example, "yaml", background_color="default"))
        return
    out = Table(title="mesh-audit rules", title_justify="left")
    for column in ("ID", "NAME", "SEVERITY"):
        out.add_column(column, no_wrap=True)
    out.add_column("SUMMARY (and options)", ratio=1)
    for rule in catalog:
        opts = ", ".join(rule.defaults)
        summary = escape(rule.summary) + (f"\n[dim]options: {opts}[/]" if opts else "")
        out.add_row(rule.id, rule.name, rule.severity.value, summary)
    console.print(out)


def tickets(console: Console, docs: Sequence[dict[str, Any]], dry_run: bool) -> None:
    if not docs:
        console.print(
            "No ticket to make or update: no active finding, or each is in this period's "
            "ticket of its owner and none changed."
        )
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
    """One block per resource: the action and the resource on one line (never broken),
    then its owner and findings, then the file to change or the command to run."""
    if not docs:
        console.print("Nothing is due for retirement.")
        return
    for d in docs:
        head = Text(f"{d['action']:<16}", style="bold")
        head.append(label(d["kind"], d["namespace"], d["name"]), style="bold")
        console.print(head, overflow="ignore", crop=False)
        rules = ", ".join(f["rule"] for f in d["findings"])
        console.print(f"  owner {escape(d['owner'] or NO_OWNER)}; findings {rules}")
        console.print(Text(f"  {d['command'] or d['path'] or ''}", style="dim"), crop=False)
