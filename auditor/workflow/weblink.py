"""Links to a manifest line on the repo's web host (GitHub, GitLab, Bitbucket shapes)."""

from __future__ import annotations

import re
from urllib.parse import quote

# https://host/org/repo(.git), ssh://git@host[:port]/org/repo.git, git@host:org/repo.git
_REMOTE = re.compile(
    r"^(?:(?:https?|ssh|git)://)?(?:[^@/]+@)?(?P<host>[^/:]+)(?::\d+)?[:/](?P<path>[^:]+?)"
    r"(?:\.git)?/*$"
)


def blob_url(repo: str | None, commit: str | None, path: str, line: int | None) -> str | None:
    """The web page of `path` at `commit`, at `line`; None for a local path or an unknown
    host shape."""
    if not repo or not commit or repo.startswith(("/", ".", "~", "file:")):
        return None
    match = _REMOTE.match(repo)
    if match is None:
        return None
    host, project = match["host"], match["path"].strip("/")
    file = quote(path)
    if "github" in host:
        return f"https://{host}/{project}/blob/{commit}/{file}" + (f"#L{line}" if line else "")
    if "gitlab" in host:
        return f"https://{host}/{project}/-/blob/{commit}/{file}" + (f"#L{line}" if line else "")
    if "bitbucket" in host:
        return f"https://{host}/{project}/src/{commit}/{file}" + (f"#lines-{line}" if line else "")
    return None
