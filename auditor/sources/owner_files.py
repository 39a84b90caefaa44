"""Owners recorded in the repo beside CODEOWNERS: Prow `OWNERS` files and Backstage catalogs.

Prow/Kubernetes `OWNERS`: the nearest file up a path names its owners, `approvers` first,
else `reviewers`; aliases expand through the root `OWNERS_ALIASES`. Without
`options: {no_parent_owners: true}`, a file with no approvers or reviewers defers to
its parent. Backstage `catalog-info.yaml`: a Component owns the objects whose
`backstage.io/kubernetes-id` label matches its annotation, or that its
`backstage.io/kubernetes-label-selector` selects.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from auditor.mesh.routes import mapping

OWNERS = "OWNERS"
ALIASES = "OWNERS_ALIASES"
KUBERNETES_ID = "backstage.io/kubernetes-id"
LABEL_SELECTOR = "backstage.io/kubernetes-label-selector"


def _load(text: str | None) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text or "")
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def _names(value: Any) -> list[str]:
    return [str(v) for v in value if isinstance(v, str | int)] if isinstance(value, list) else []


class ProwOwners:
    """Owners of a path from the OWNERS files of the commit (`texts`: path -> text)."""

    def __init__(self, texts: Mapping[str, str]) -> None:
        aliases = _load(texts.get(ALIASES)).get("aliases")
        self._aliases = (
            {str(k): _names(v) for k, v in (aliases or {}).items()}
            if isinstance(aliases, dict)
            else {}
        )
        self._files = {
            posixpath.dirname(path): _load(text)
            for path, text in texts.items()
            if posixpath.basename(path) == OWNERS
        }

    def __bool__(self) -> bool:
        return bool(self._files)

    def _expand(self, names: list[str]) -> list[str]:
        return [member for n in names for member in self._aliases.get(n, [n])]

    def of(self, path: str) -> tuple[str, ...]:
        """The owners of a file: the nearest OWNERS with approvers, else reviewers."""
        folder = posixpath.dirname(path)
        reviewers: list[str] = []
        while True:
            owners = self._files.get(folder)
            if owners is not None:
                approvers = self._expand(_names(owners.get("approvers")))
                if approvers:
                    return tuple(dict.fromkeys(approvers))
                reviewers = reviewers or self._expand(_names(owners.get("reviewers")))
                options = mapping(owners.get("options"))
                if options.get("no_parent_owners"):
                    break
            if not folder:
                break
            folder = posixpath.dirname(folder)
        return tuple(dict.fromkeys(reviewers))


@dataclass(frozen=True)
class Component:
    """A Backstage Component and the Kubernetes objects it claims."""

    name: str
    owner: str
    kubernetes_id: str | None
    selector: tuple[tuple[str, str], ...]

    def claims(self, labels: Mapping[str, Any]) -> bool:
        if self.kubernetes_id is not None and labels.get(KUBERNETES_ID) == self.kubernetes_id:
            return True
        return bool(self.selector) and all(labels.get(k) == v for k, v in self.selector)


def components(docs: Iterable[dict[str, Any]]) -> list[Component]:
    """Backstage Components with an owner and a way to find their objects."""
    found = []
    for doc in docs:
        if doc.get("kind") != "Component" or not str(doc.get("apiVersion", "")).startswith(
            "backstage.io/"
        ):
            continue
        meta = mapping(doc.get("metadata"))
        notes = mapping(meta.get("annotations"))
        owner = mapping(doc.get("spec")).get("owner")
        terms = str(notes.get(LABEL_SELECTOR) or "").split(",")
        selector = tuple(
            (key.strip(), value.strip())
            for key, _, value in (t.partition("=") for t in terms if "=" in t and "!=" not in t)
        )
        kid = notes.get(KUBERNETES_ID)
        if isinstance(owner, str) and owner and (kid or selector):
            found.append(
                Component(str(meta.get("name")), owner, str(kid) if kid else None, selector)
            )
    return found
