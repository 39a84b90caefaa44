"""The built-in example behind `mesh-audit demo`: a GitOps repo with dated history.

The repo is built with real commits (dates and authors from demo_data/history.yaml),
so ownership leads and Git locations in the findings are real too.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from auditor import clock
from auditor.errors import InputError


@dataclass(frozen=True)
class Example:
    root: Path
    repo: Path
    dump: Path
    db: Path


def build_demo(directory: Path | None) -> Example:
    import git

    root = directory or Path(tempfile.mkdtemp(prefix="mesh-audit-demo-"))
    repo_path = root / "gitops"
    if repo_path.exists():
        raise InputError(f"{repo_path} already exists; pass an empty --dir")
    data = resources.files("auditor") / "demo_data"
    repo = git.Repo.init(repo_path, initial_branch="main")
    for step in yaml.safe_load((data / "history.yaml").read_text()):
        for target, source in step["files"].items():
            dest = repo_path / target
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text((data / "files" / source).read_text())
            repo.index.add([target])
        actor = git.Actor._from_string(step["author"])
        when = f"{int(clock.parse(step['date']).timestamp())} +0000"
        repo.index.commit(
            step["message"], author=actor, committer=actor, author_date=when, commit_date=when
        )
    dump = root / "demo.yaml"
    with resources.as_file(data / "demo.yaml") as src:
        shutil.copyfile(src, dump)
    return Example(root=root, repo=repo_path, dump=dump, db=root / "mesh-audit.db")
