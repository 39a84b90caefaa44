"""Parsed Git blobs, cached by blob id: a repeat scan of an unchanged repo parses nothing."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from auditor.cli.signals import quiet_worker
from auditor.mesh.kinds import is_k8s_object, kept, trim
from auditor.sources import cache
from auditor.sources.kustomize import KUSTOMIZATIONS
from auditor.sources.yamldocs import parse

# Test hook (tests/test_signals.py): a FIFO each parse worker opens before parsing, which
# blocks until the test opens it too; the main process touches GATE.submitted once all the
# work is submitted. The test signals then: the parse is certainly under way, not yet done.
_GATE = "MESH_AUDIT_TEST_PARSE_GATE"
# Below this many unparsed files, starting worker processes costs more than it saves.
_PARALLEL_MIN = 400
OnFile = Callable[[int], None]


def blob_text(repo: Any, blob: str) -> str:
    """A file's text by its blob id, straight from the object database (no tree walk)."""
    return repo.odb.stream(bytes.fromhex(blob)).read().decode("utf-8", errors="replace")


def parse_blob(text: str, path: str) -> dict[str, Any]:
    """A blob's cache entry: the documents of kinds mesh-audit reads (a kustomization's
    whole), parse errors, template flag. Other kinds, Secrets first, are never kept."""
    docs, errors = parse(text, path)
    template = bool(errors) and "{{" in text
    return {
        "docs": [
            [d.line, d.data if path.endswith(KUSTOMIZATIONS) else trim(d.data)]
            for d in docs
            if path.endswith(KUSTOMIZATIONS) or (is_k8s_object(d.data) and kept(d.data))
        ],
        "errors": [] if template else [[e.line, e.problem] for e in errors],
        "template": template,
    }


def _start_worker() -> None:
    quiet_worker()
    gate = os.environ.get(_GATE)
    if gate:
        os.close(os.open(gate, os.O_RDONLY))


def _parse_all(texts: list[str], paths: list[str]) -> list[dict[str, Any]]:
    """Parse on every core when there is enough to parse: YAML construction is CPU-bound."""
    workers = min(os.cpu_count() or 1, 8)
    if workers < 2 or len(texts) < _PARALLEL_MIN:
        return [parse_blob(t, p) for t, p in zip(texts, paths, strict=True)]
    from concurrent.futures import ProcessPoolExecutor  # only first scans of big repos need it

    chunk = max(1, len(texts) // (workers * 4))
    with ProcessPoolExecutor(workers, initializer=_start_worker) as pool:
        parsed = pool.map(parse_blob, texts, paths, chunksize=chunk)
        if gate := os.environ.get(_GATE):
            Path(f"{gate}.submitted").touch()
        return list(parsed)


def read_blobs(
    repo: Any, files: list[tuple[str, str]], slot: Path, on_file: OnFile | None
) -> dict[str, dict[str, Any]]:
    """blob id -> cache entry; only blobs not parsed by an earlier scan are read."""
    cached = cache.load(slot / "blobs.json")
    old: dict[str, Any] = cached if isinstance(cached, dict) else {}
    parsed = {blob: old[blob] for blob, _ in files if blob in old}
    todo = {blob: path for blob, path in files if blob not in parsed}
    texts = []
    for n, blob in enumerate(todo, 1):
        texts.append(blob_text(repo, blob))
        if on_file and n % 200 == 0:
            on_file(200)
    parsed.update(zip(todo, _parse_all(texts, list(todo.values())), strict=True))
    if parsed.keys() != old.keys():
        cache.save(slot / "blobs.json", parsed)
    return parsed
