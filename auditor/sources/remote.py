"""Clone and fetch a `--repo URL` into the cache without its credentials reaching disk.

The cache holds a bare repository with no remote: every fetch names the URL on its
command line (userinfo removed), so no URL is ever written to its config or FETCH_HEAD.
A user and password from the URL reach git only through the environment of the git
child, answered by a credential helper set for that one command (GIT_CONFIG_COUNT), with
every other helper switched off so none stores them. Messages are redacted: userinfo,
query string values (`?access_token=`) and the password itself, however it is encoded.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from auditor.errors import InputError, SourceError
from auditor.sources import cache

URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|[\w.-]+@[\w.-]+:)", re.IGNORECASE)
_USERINFO = re.compile(r"(?i)([a-z][a-z0-9+.-]*://)[^/\s'\"]*@")
_QUERY_VALUE = re.compile(r"([?&][^=&\s#'\"]+=)[^&\s#'\"]+")
_HELPER = (
    '!f() { test "$1" = get && printf "username=%s\\npassword=%s\\n" '
    '"$MESH_AUDIT_GIT_USERNAME" "$MESH_AUDIT_GIT_PASSWORD"; }; f'
)


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Drop credentials from URLs in a text (and any of `secrets`) before it is shown or stored."""
    text = _QUERY_VALUE.sub(r"\1***", _USERINFO.sub(r"\1", text))
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return text


def _credentials(url: str) -> tuple[str, dict[str, str], tuple[str, ...]]:
    """The URL without userinfo, the environment that gives git its user and password,
    and the secrets to redact (as written and decoded)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, {}, ()
    userinfo, _, host = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    clean = urlunsplit(parts._replace(netloc=host))
    secrets = tuple({password, unquote(password)} - {""})
    env = {
        "MESH_AUDIT_GIT_USERNAME": unquote(user),
        "MESH_AUDIT_GIT_PASSWORD": unquote(password),
        "GIT_CONFIG_COUNT": "2",
        "GIT_CONFIG_KEY_0": "credential.helper",
        "GIT_CONFIG_VALUE_0": "",
        "GIT_CONFIG_KEY_1": "credential.helper",
        "GIT_CONFIG_VALUE_1": _HELPER,
    }
    return clean, env, secrets


def _git_error(exc: Any) -> str:
    """The last line git wrote to stderr, without GitPython's `stderr: '...'` wrapping."""
    text = str(exc.stderr or "").strip()
    if text.startswith("stderr:"):
        text = text.removeprefix("stderr:").strip().strip("'")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else f"git exited with {exc.status}"


def _cached(path: Path) -> Any:
    """The cache's bare repository; one left unusable (a run killed while creating it)
    is made again: the cache is never needed for correctness."""
    import git

    if path.exists():
        try:
            return git.Repo(path)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            shutil.rmtree(path, ignore_errors=True)
    return git.Repo.init(path, bare=True, mkdir=True)


def mirror(url: str) -> Any:
    """The cached bare copy of URL, fetched now (cloned on first use)."""
    import git

    clean, env, secrets = _credentials(url)
    env = {**env, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": ""}
    path = cache.slot("clone", redact(url)) / "repo.git"
    try:
        repo = _cached(path)
        with repo.git.custom_environment(**env):
            head = repo.git.ls_remote("--symref", clean, "HEAD")
            repo.git.fetch(
                "--prune",
                "--no-write-fetch-head",
                clean,
                "+refs/heads/*:refs/heads/*",
                "+refs/tags/*:refs/tags/*",
            )
        branch = re.match(r"ref: (refs/heads/\S+)\tHEAD", head)
        if branch:
            repo.git.symbolic_ref("HEAD", branch.group(1))
        return repo
    except git.GitCommandError as exc:
        raise SourceError(
            f"cannot fetch {redact(url, secrets)}: {redact(_git_error(exc), secrets)}"
        ) from None


def check_readable(repo: Any, spec: str) -> Any:
    """Raise a one-line InputError when git itself refuses the repository (a checkout
    owned by another user: "dubious ownership"), so it is not mistaken for an empty one."""
    import git

    try:
        repo.git.rev_parse("--git-dir")
        return repo
    except git.GitCommandError as exc:
        stderr = exc.stderr or ""
        if "dubious ownership" in stderr:
            raise InputError(
                f"git refuses to read {redact(spec)}: it is owned by another user (dubious "
                f"ownership); if you trust it: git config --global --add safe.directory "
                f"{repo.working_tree_dir or repo.git_dir}"
            ) from None
        raise InputError(f"git refuses to read {redact(spec)}: {redact(_git_error(exc))}") from None
