"""Read a cluster dump: `kubectl get ... -A -o yaml|json`, a List or a document stream."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from auditor.errors import InputError, SourceError
from auditor.mesh.kinds import AUDITED, KINDS, is_k8s_object, known_kind, trim
from auditor.sources import LiveSnapshot, in_scope
from auditor.sources.deadline import Deadline
from auditor.sources.yamldocs import parse


def _items(doc: Any, where: str) -> list[Any]:
    if (
        isinstance(doc, dict)
        and isinstance(doc.get("items"), list)
        and str(doc.get("kind", "")).endswith("List")
    ):
        return doc["items"]
    if is_k8s_object(doc):
        return [doc]
    raise InputError(
        f"{where}: not a Kubernetes List or object (expected `kubectl get -o yaml` output)"
    )


# A dump of 100,000 objects is ~300 MB of YAML; beyond this, something else is being read.
MAX_DUMP_BYTES = 1 << 30


def _read(path: Path, deadline: Deadline) -> bytes:
    """The dump's bytes: a regular file or a pipe (`<(kubectl get ...)`), at most
    MAX_DUMP_BYTES, within the deadline; devices and sockets are refused."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise InputError(f"cluster dump not found: {path}") from None
    except OSError as exc:
        raise InputError(f"cannot read cluster dump {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb", buffering=0) as fh:
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
            raise SourceError(f"cluster dump {path} is not a regular file or a pipe: not read")
        os.set_blocking(fd, True)
        chunks, size = [], 0
        with deadline.enforced():
            deadline.step(f"reading cluster dump {path}")
            while chunk := fh.read(1 << 20):
                size += len(chunk)
                if size > MAX_DUMP_BYTES:
                    raise SourceError(
                        f"cluster dump {path} is larger than {MAX_DUMP_BYTES >> 20} MiB: not read"
                    )
                chunks.append(chunk)
    return b"".join(chunks)


# On the List `mesh-audit snapshot` writes: the kinds it listed in full, so that a kind
# with no object in the dump is known to have none (not taken as left out of the dump),
# and the namespaces it was limited to (`snapshot -n`), so that a scan of it is too.
LISTED_ANNOTATION = "mesh-audit.io/listed-kinds"
NAMESPACES_ANNOTATION = "mesh-audit.io/namespaces"


def _annotation(doc: Any, name: str) -> set[str]:
    """The comma-separated values of one annotation of the dump's List."""
    meta = doc.get("metadata") if isinstance(doc, dict) else None
    notes = meta.get("annotations") if isinstance(meta, dict) else None
    value = notes.get(name) if isinstance(notes, dict) else None
    return {v for v in value.split(",") if v} if isinstance(value, str) else set()


@dataclass(frozen=True)
class Loaded:
    """A dump's objects, a digest of its bytes, and what a snapshot says of itself."""

    objects: list[dict[str, Any]]
    digest: str
    listed: frozenset[str] = frozenset()
    # The namespaces a `snapshot -n` was limited to; empty: all of them.
    namespaces: tuple[str, ...] = ()


def load_objects(path: Path, timeout: float | None = None) -> Loaded:
    """Every object in the dump; a malformed or foreign file is an InputError."""
    data = _read(path, Deadline(timeout))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"cannot read cluster dump {path}: {exc}") from None
    docs, errors = parse(text, str(path))
    if errors:
        raise InputError(str(errors[0]))
    if not docs:
        raise InputError(f"{path}: empty cluster dump")
    objects: list[dict[str, Any]] = []
    listed: set[str] = set()
    namespaces: set[str] = set()
    for doc in docs:
        for i, item in enumerate(_items(doc.data, f"{path}:{doc.line}")):
            if not is_k8s_object(item):
                raise InputError(f"{path}:{doc.line}: item {i} is not a Kubernetes object")
            objects.append(item)
        listed |= _annotation(doc.data, LISTED_ANNOTATION)
        namespaces |= _annotation(doc.data, NAMESPACES_ANNOTATION)
    return Loaded(
        objects,
        hashlib.sha256(data).hexdigest(),
        frozenset(listed),
        tuple(sorted(namespaces)),
    )


# Every cluster has some of these (the default namespace, the `kubernetes` Service,
# kube-system's pods): a dump without any was made without that kind.
_EVERYWHERE = ("Namespace", "Service", "Pod")


def _undumped(present: set[str]) -> dict[str, str]:
    """Kinds every cluster has that the dump was made without, and why that matters: read
    as "there are none", every host would be unresolved, every subset empty, every
    namespace owner unknown."""
    return {
        k.kind: (
            f"the dump holds no {k.plural}, though every cluster has some: rules that read "
            f"them do not judge (make the dump with `mesh-audit snapshot`, or add "
            f"`kubectl get {k.plural} -A -o yaml`)"
        )
        for k in KINDS
        if k.kind in _EVERYWHERE and k.kind not in present
    }


def _no_mesh(present: set[str]) -> dict[str, str]:
    """The Istio kinds, as unread, when the dump holds none of them: `kubectl get all`
    lists no custom resource, and reading that as "none" makes every manifest not applied.
    The scan is then partial and no rule judges it."""
    if any(k.kind in present for k in AUDITED):
        return {}
    plurals = ",".join(k.plural for k in AUDITED)
    why = (
        "the dump holds no Istio object of any kind, as a dump made without them "
        "(`kubectl get all`) would (make the dump with `mesh-audit snapshot`, or add "
        f"`kubectl get {plurals} -A -o yaml`)"
    )
    return {k.kind: why for k in AUDITED}


def read_dump(
    path: Path, cluster: str | None, namespaces: tuple[str, ...], timeout: float | None = None
) -> LiveSnapshot:
    """The dump's objects in scope, and the kinds it was made without. A snapshot limited
    to some namespaces limits the scan to them: the others' manifests are not judged."""
    loaded = load_objects(path, timeout)
    if loaded.namespaces:
        outside = [n for n in namespaces if n not in loaded.namespaces]
        if outside:
            raise InputError(
                f"{path} holds namespaces {', '.join(loaded.namespaces)} only "
                f"(mesh-audit snapshot -n): -n {outside[0]} is not in it"
            )
        namespaces = namespaces or loaded.namespaces
    objects = tuple(
        trim(obj)
        for obj in loaded.objects
        if known_kind(obj) is not None and in_scope(obj, namespaces)
    )
    # A kind the dump says it listed (a snapshot) is present even with no object of it.
    present = {
        kind.kind for obj in loaded.objects if (kind := known_kind(obj)) is not None
    } | loaded.listed
    return LiveSnapshot(
        cluster=cluster or path.stem,
        origin=f"dump:{path}",
        objects=objects,
        unread=_no_mesh(present),
        undumped=_undumped(present),
        namespaces=namespaces,
        digest=loaded.digest,
    )


def write_dump(
    objects: list[dict[str, Any]], out: Any, as_json: bool, namespaces: tuple[str, ...] = ()
) -> None:
    """Write objects as a v1 List, the shape `kubectl get -o yaml|json` prints, marked as
    listing every kind mesh-audit reads (a snapshot with a kind unread is refused) and
    with the namespaces it is limited to."""
    notes = {LISTED_ANNOTATION: ",".join(k.kind for k in KINDS)}
    if namespaces:
        notes[NAMESPACES_ANNOTATION] = ",".join(namespaces)
    doc = {
        "apiVersion": "v1",
        "kind": "List",
        "items": objects,
        "metadata": {"annotations": notes},
    }
    if as_json:
        json.dump(doc, out, indent=2, sort_keys=False)
        out.write("\n")
    else:
        yaml.dump(doc, out, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False)
