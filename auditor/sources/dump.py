"""Read a cluster dump: `kubectl get ... -A -o yaml|json`, a List or a document stream."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from auditor.errors import InputError
from auditor.kinds import is_k8s_object, known_kind, trim
from auditor.sources import LiveSnapshot, in_scope
from auditor.yamldocs import parse


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


def load_objects(path: Path) -> tuple[list[dict[str, Any]], str]:
    """Every object in the dump, and a digest of its bytes; a malformed or foreign file
    is an InputError."""
    try:
        data = path.read_bytes()
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise InputError(f"cluster dump not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read cluster dump {path}: {exc}") from None
    docs, errors = parse(text, str(path))
    if errors:
        raise InputError(str(errors[0]))
    if not docs:
        raise InputError(f"{path}: empty cluster dump")
    objects: list[dict[str, Any]] = []
    for doc in docs:
        for i, item in enumerate(_items(doc.data, f"{path}:{doc.line}")):
            if not is_k8s_object(item):
                raise InputError(f"{path}:{doc.line}: item {i} is not a Kubernetes object")
            objects.append(item)
    return objects, hashlib.sha256(data).hexdigest()


def read_dump(path: Path, cluster: str | None, namespaces: tuple[str, ...]) -> LiveSnapshot:
    loaded, digest = load_objects(path)
    objects = tuple(
        trim(obj) for obj in loaded if known_kind(obj) is not None and in_scope(obj, namespaces)
    )
    return LiveSnapshot(
        cluster=cluster or path.stem,
        origin=f"dump:{path}",
        objects=objects,
        namespaces=namespaces,
        digest=digest,
    )


def write_dump(objects: list[dict[str, Any]], out: Any, as_json: bool) -> None:
    """Write objects as a v1 List, the shape `kubectl get -o yaml|json` prints."""
    doc = {"apiVersion": "v1", "kind": "List", "items": objects, "metadata": {}}
    if as_json:
        json.dump(doc, out, indent=2, sort_keys=False)
        out.write("\n")
    else:
        yaml.dump(doc, out, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False)
