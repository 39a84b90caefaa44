"""Owner resolution: the first source in the chain that names an owner wins."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from auditor.model import Manifest, Owner, OwnerSource
from auditor.sources.apps import app_anchor
from auditor.sources.owner_files import Component

DEFAULT_OWNER_KEYS = ("owner", "team", "mesh-audit.io/owner")


def _from_meta(
    obj: dict[str, Any] | None,
    keys: tuple[str, ...],
    label_source: OwnerSource,
    annotation_source: OwnerSource,
) -> Owner | None:
    meta = obj.get("metadata") if obj is not None else None
    if not meta:
        return None
    for values, source in (
        (meta.get("labels"), label_source),
        (meta.get("annotations"), annotation_source),
    ):
        if not values:
            continue
        for key in keys:
            value = values.get(key)
            if isinstance(value, str) and value.strip():
                return Owner(value.strip(), source)
    return None


class OwnerResolver:
    """Live object, then manifest, then namespace labels/annotations, then the repo's
    owner files for the manifest (CODEOWNERS, then Prow OWNERS; an app's folder before the
    file its object came from), then a Backstage Component that claims the object."""

    def __init__(
        self,
        keys: tuple[str, ...],
        namespaces: dict[str, dict[str, Any]],
        codeowners: Mapping[str, tuple[str, ...]],
        owners_files: Mapping[str, tuple[str, ...]] | None = None,
        catalog: Sequence[Component] = (),
    ) -> None:
        self.keys = keys
        self.namespaces = namespaces
        self.files = (
            (codeowners, OwnerSource.CODEOWNERS),
            (owners_files or {}, OwnerSource.OWNERS_FILE),
        )
        self.catalog = catalog

    def resolve(
        self, live: dict[str, Any] | None, manifest: Manifest | None, namespace: str
    ) -> Owner | None:
        S = OwnerSource
        owner = (
            _from_meta(live, self.keys, S.LIVE_LABEL, S.LIVE_ANNOTATION)
            or _from_meta(
                manifest.obj if manifest else None,
                self.keys,
                S.MANIFEST_LABEL,
                S.MANIFEST_ANNOTATION,
            )
            or self._namespace_owner(namespace)
        )
        if owner is None and manifest is not None:
            paths = [app_anchor(manifest.app)] if manifest.app is not None else []
            paths.append(manifest.path)
            owner = next(
                (
                    self._owner(names, source)
                    for table, source in self.files
                    for path in paths
                    if (names := table.get(path))
                ),
                None,
            )
        return owner or self._component(live, manifest)

    @functools.cache  # noqa: B019 - one resolver per scan; many resources share a namespace
    def _namespace_owner(self, namespace: str) -> Owner | None:
        return _from_meta(
            self.namespaces.get(namespace),
            self.keys,
            OwnerSource.NAMESPACE_LABEL,
            OwnerSource.NAMESPACE_ANNOTATION,
        )

    @functools.cache  # noqa: B019 - one resolver per scan; a few teams own many files
    def _owner(self, names: tuple[str, ...], source: OwnerSource) -> Owner:
        return Owner(" ".join(names), source)

    def _component(self, live: dict[str, Any] | None, manifest: Manifest | None) -> Owner | None:
        if not self.catalog:
            return None
        for obj in (live, manifest.obj if manifest else None):
            labels = ((obj or {}).get("metadata") or {}).get("labels")
            if isinstance(labels, dict):
                for component in self.catalog:
                    if component.claims(labels):
                        return Owner(component.owner, OwnerSource.BACKSTAGE)
        return None


def leads(live: dict[str, Any] | None, manifest: Manifest | None) -> tuple[str, ...]:
    """Who probably knows about an ownerless resource: last Git author, last field manager."""
    found = []
    if manifest is not None and manifest.commit is not None:
        c = manifest.commit
        found.append(f"last git author {c.author} <{c.email}> ({c.sha[:10]}, {c.date[:10]})")
    fields = [
        f
        for f in ((live or {}).get("metadata") or {}).get("managedFields") or []
        if f.get("manager")
    ]
    if fields:
        newest = max(fields, key=lambda f: f.get("time") or "")
        when = f" ({newest['time'][:10]})" if newest.get("time") else ""
        found.append(f"field manager {newest['manager']}{when}")
    return tuple(found)
