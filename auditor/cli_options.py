"""What the commands share: error handling, option decorators, output format choice."""

from __future__ import annotations

import os
import re
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from auditor.errors import AuditError

FORMATS = ("table", "json")
_INTERRUPTED = 130
_INTERNAL = 4


def stderr_console() -> Console:
    return Console(stderr=True)


def debugging(ctx: click.Context) -> bool:
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
            if debugging(ctx):
                raise
            self._fail(
                ctx,
                f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)",
                _INTERNAL,
            )

    @staticmethod
    def _fail(ctx: click.Context, message: str, code: int) -> None:
        if debugging(ctx):
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


def compose(*decorators: Callable[[Any], Any]) -> Callable[[Any], Any]:
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
cluster_options = compose(
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


def namespaces_option_value(namespaces: tuple[str, ...], all_namespaces: bool) -> tuple[str, ...]:
    if namespaces and all_namespaces:
        raise click.UsageError("-n/--namespace and -A/--all-namespaces cannot be combined")
    return tuple(dict.fromkeys(namespaces))


def month_value(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
        raise click.BadParameter(f"expected YYYY-MM, got {value!r}")
    return value


def output_format(fmt: str | None) -> str:
    return fmt or ("table" if sys.stdout.isatty() else "json")
