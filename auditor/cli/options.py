"""What the commands share: error handling, option decorators, output format choice."""

from __future__ import annotations

import contextlib
import importlib
import math
import os
import re
import select
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import click
from click.core import ParameterSource
from click.shell_completion import CompletionItem

from auditor.cli import signals
from auditor.errors import AuditError, ExitCode
from auditor.sources.deadline import DEFAULT_TIMEOUT
from auditor.store.session import DEFAULT_LOCK_TIMEOUT

FORMATS = ("table", "wide", "json", "yaml")
# Formats for programs (the same document either way); the others are for people.
DATA_FORMATS = ("json", "yaml")
# The reader of stdout went away (`| head`): as a process killed by SIGPIPE (128 + 13).
BROKEN_PIPE = 141
_INTERNAL = 4


# The root context's `obj` when run as the `mesh-audit` program rather than embedded
# (click's test runner, a Python caller): only then may a command end the process.
CONSOLE_SCRIPT = object()


def is_console_script(ctx: click.Context) -> bool:
    return ctx.find_root().obj is CONSOLE_SCRIPT


def hard_exit(code: int) -> NoReturn:
    """Flush and end the process without the interpreter's teardown, as mypy's
    `hard_exit` does: freeing a scan's ~10^6 objects one by one takes ~0.1 s, most of
    what is left of a repeat scan once its output is written."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def debugging(ctx: click.Context) -> bool:
    return bool(ctx.find_root().meta.get("debug") or os.environ.get("MESH_AUDIT_DEBUG"))


class AuditGroup(click.Group):
    """Turns expected failures into one line on stderr and a documented exit code.

    `lazy` names commands by "module:attribute", imported only when run or listed, so
    a scan does not pay for the monthly workflow's imports."""

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module, attribute = self.lazy[cmd_name].split(":")
            command: click.Command = getattr(importlib.import_module(module), attribute)
            return command
        return super().get_command(ctx, cmd_name)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        """The group's own options are parsed here, before `invoke`: `mesh-audit --bogus`,
        and `--help` or `--version` into a closed pipe."""
        try:
            with _one_line_usage_errors():
                return super().make_context(info_name, args, parent, **extra)
        except BrokenPipeError:
            _output_cut_short()

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with signals.handled(), _one_line_usage_errors():
                return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort, SystemExit):
            raise
        except BaseException as exc:
            self._end(ctx, exc)

    def _end(self, ctx: click.Context, exc: BaseException) -> None:
        """One line and the documented exit code for whatever ended the command."""
        ending = signals.ending(exc)
        if ending is not None:
            self._fail(ctx, ending.message, ending.code)
        if isinstance(exc, AuditError):
            self._fail(ctx, str(exc), exc.exit_code)
        if isinstance(exc, BrokenPipeError):
            if not _stdout_closed():  # a child process (git) went away, not our reader
                self._fail(ctx, f"a git child process ended unexpectedly: {exc}", ExitCode.SOURCE)
            _output_cut_short()
        if debugging(ctx) or not isinstance(exc, Exception):
            raise exc
        self._fail(
            ctx,
            f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)",
            _INTERNAL,
        )

    @staticmethod
    def _fail(ctx: click.Context, message: str, code: int) -> None:
        if debugging(ctx):
            traceback.print_exc()
        signals.reported.set()
        click.echo(f"mesh-audit: error: {message}", err=True)
        ctx.exit(code)


def _output_cut_short() -> NoReturn:
    """Exit 141: the reader of stdout went away. Whatever the command stored stays stored;
    only its output was cut short. Nothing more may be written to stdout (the interpreter's
    own flush at exit would fail again)."""
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    raise click.exceptions.Exit(BROKEN_PIPE)


@contextlib.contextmanager
def _one_line_usage_errors() -> Iterator[None]:
    """click's usage errors (a bad option or value, options that cannot be combined) as the
    documented one line and exit 2, instead of click's usage, hint and error lines. A group
    run without a command still shows its help."""
    try:
        yield
    except click.exceptions.NoArgsIsHelpError:
        raise
    except click.ClickException as exc:
        signals.reported.set()
        click.echo(f"mesh-audit: error: {_usage_message(exc)}", err=True)
        raise click.exceptions.Exit(ExitCode.USAGE) from None


def _usage_message(exc: click.ClickException) -> str:
    """click's message as one clause, like the other errors (`invalid value for '--rule':
    unknown rule 'MA999'`). A value from the environment names its variable, not the option
    nobody typed. A mistake in the command line's shape (an unknown option or command,
    options that cannot be combined) points to the command's help; a bad value says what
    is wrong with it already."""
    if isinstance(exc, click.BadParameter) and (variable := _environment_variable(exc)):
        exc.param_hint = f"environment variable {variable}"
    message = " ".join(exc.format_message().split()).removesuffix(".")
    if message[1:2].islower():
        message = message[0].lower() + message[1:]
    if isinstance(exc, click.UsageError) and not isinstance(exc, click.BadParameter) and exc.ctx:
        message += f" (see '{exc.ctx.command_path} --help')"
    return message


def _environment_variable(exc: click.BadParameter) -> str | None:
    """The environment variable a bad value came from, if it came from one."""
    ctx, param = exc.ctx, exc.param
    if ctx is None or param is None or param.name is None:
        return None
    if ctx.get_parameter_source(param.name) is not ParameterSource.ENVIRONMENT:
        return None
    names = [param.envvar] if isinstance(param.envvar, str) else list(param.envvar or ())
    return next((name for name in names if os.environ.get(name)), None)


def _stdout_closed() -> bool:
    """Whether stdout is a pipe whose reader has gone (poll reports an error on it)."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(event & select.POLLERR for _, event in poller.poll(0))
    except (OSError, ValueError, AttributeError):
        return False


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
    "-o",
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="Output format [default: table on a terminal, json when piped].",
)
cluster_options = compose(
    click.option("--kubeconfig", type=click.Path(dir_okay=False), help="Kubeconfig file."),
    click.option(
        "--context",
        help="Kubeconfig context [default: current context].",
        shell_complete=lambda ctx, param, incomplete: complete_contexts(ctx, incomplete),
    ),
    click.option(
        "-n",
        "--namespace",
        "namespaces",
        multiple=True,
        help="Only this namespace (repeatable) [default: all namespaces].",
    ),
    click.option("-A", "--all-namespaces", is_flag=True, help="All namespaces (the default)."),
)


def _a_number(_ctx: click.Context, _param: click.Parameter, value: float) -> float:
    """Reject NaN, which every range check lets through."""
    if math.isnan(value):
        raise click.BadParameter(f"{value} is not a number of seconds")
    return value


lock_timeout_option = click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0),
    callback=_a_number,
    envvar="MESH_AUDIT_LOCK_TIMEOUT",
    default=DEFAULT_LOCK_TIMEOUT,
    show_default=True,
    help="Seconds to wait for another run holding the database (env MESH_AUDIT_LOCK_TIMEOUT).",
)


timeout_option = click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    callback=_a_number,
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds for the whole read of the cluster or dump (credential plugins included); "
    "each request also has connect (10 s) and read (60 s) timeouts.",
)


def complete_rules(
    _ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Rule IDs and names for shell completion (`mesh-audit rules MA3<TAB>`)."""
    from rules import CATALOG

    return [
        CompletionItem(ref, help=rule.summary)
        for rule in CATALOG
        for ref in (rule.id, rule.name)
        if ref.startswith(incomplete)
    ]


def complete_contexts(ctx: click.Context, incomplete: str) -> list[CompletionItem]:
    """The contexts of the kubeconfig in use (`--kubeconfig`, KUBECONFIG, ~/.kube/config)."""
    from kubernetes.config import list_kube_config_contexts

    path = ctx.params.get("kubeconfig") or os.environ.get("KUBECONFIG", "").split(":")[0] or None
    try:
        contexts, _ = list_kube_config_contexts(config_file=path)
    except Exception:  # no kubeconfig, or a broken one: nothing to offer
        return []
    names = [str(c.get("name")) for c in contexts or []]
    return [CompletionItem(n) for n in names if n.startswith(incomplete)]


repo_options = compose(
    click.option(
        "--repo",
        default=".",
        show_default=True,
        envvar="MESH_AUDIT_REPO",
        help="GitOps repo: a local checkout or a clone URL (cloned into the cache).",
    ),
    click.option("--ref", help="Commit, branch or tag to read [default: HEAD]."),
    click.option(
        "--path",
        "paths",
        multiple=True,
        help="Only apps (and plain manifests) under this folder, or defined by Argo CD/Flux "
        "objects under it (repeatable).",
    ),
    click.option(
        "--config",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Config file [default: .mesh-audit.yaml at the repo root, if any].",
    ),
)


def namespaces_option_value(namespaces: tuple[str, ...], all_namespaces: bool) -> tuple[str, ...]:
    if namespaces and all_namespaces:
        raise click.UsageError("-n/--namespace and -A/--all-namespaces cannot be combined")
    return tuple(dict.fromkeys(namespaces))


def kind_names(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> tuple[str, ...]:
    """Kinds as kubectl takes them (any case, plural, short name), as findings name them."""
    from auditor.mesh.kinds import BY_ALIAS, KINDS

    found = []
    for value in values:
        kind = BY_ALIAS.get(value.lower())
        if kind is None:
            known = ", ".join(k.kind for k in KINDS)
            raise click.BadParameter(f"unknown kind {value!r} (one of {known})")
        found.append(kind.kind)
    return tuple(found)


def month_value(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
        raise click.BadParameter(f"expected YYYY-MM, got {value!r}")
    return value


def output_format(fmt: str | None) -> str:
    return fmt or ("table" if sys.stdout.isatty() else "json")
