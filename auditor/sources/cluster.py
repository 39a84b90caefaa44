"""Read the live cluster through the official `kubernetes` client, read-only.

Only list (and discovery) calls are ever made. Each kind is listed in pages
(`limit` + `continue`); a kind that cannot be read is recorded, never taken as empty.
Redirects are never followed (a token must not travel to another server), every
request has connect and read timeouts, and the whole read a deadline (see deadline.py).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from auditor.errors import InputError, SourceError
from auditor.mesh.kinds import ISTIO_VERSIONS, KINDS, Kind, is_k8s_object, trim
from auditor.model import ISTIO_GROUP
from auditor.sources import LiveSnapshot, in_scope, versions_digest
from auditor.sources.deadline import Deadline
from auditor.sources.yamldocs import check_size

OnPage = Callable[[str, int], None]


class _Unreadable(Exception):
    """A list answer that cannot be used (not a list, a continue token that repeats)."""


class _ExecErrors(logging.Handler):
    """Collects what the kubernetes client logs (instead of raising) when an exec
    credential plugin fails, so the plugin's own error is shown rather than a later 401."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("exec:"):
            self.messages.append(" ".join(message.split()))


@contextlib.contextmanager
def _exec_errors(where: str) -> Iterator[None]:
    handler = _ExecErrors()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
    if handler.messages:
        raise SourceError(f"{where}: credential plugin failed: {handler.messages[0]}")


def _kubeconfig_path(kubeconfig: str | None) -> str | None:
    if kubeconfig:
        return kubeconfig
    if os.environ.get("KUBECONFIG"):
        return os.environ["KUBECONFIG"]
    default = Path.home() / ".kube" / "config"
    return str(default) if default.exists() else None


def connect(kubeconfig: str | None, context: str | None) -> tuple[Any, str]:
    """An ApiClient from kubeconfig (or in-cluster config) and the context name used."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException
    from urllib3.util import Retry

    configuration = client.Configuration()
    path = _kubeconfig_path(kubeconfig)
    if path is None and context is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
        try:
            config.load_incluster_config(client_configuration=configuration)
        except ConfigException as exc:
            raise InputError(f"in-cluster config: {exc}") from None
        name = "in-cluster"
    elif path is None:
        raise InputError(
            "no kubeconfig found (~/.kube/config, KUBECONFIG or --kubeconfig) and not "
            "running in a cluster; pass --cluster-dump FILE to scan a dump instead"
        )
    else:
        try:
            contexts, active = config.list_kube_config_contexts(config_file=path)
            names = [c["name"] for c in contexts]
        except (ConfigException, OSError) as exc:
            raise InputError(f"kubeconfig {path}: {exc}") from None
        except Exception as exc:  # not YAML, not a mapping, contexts of the wrong shape
            raise InputError(
                f"kubeconfig {path} is not a valid kubeconfig: {_first(exc)}"
            ) from None
        if context is not None and context not in names:
            raise InputError(
                f"context {context!r} not found in kubeconfig {path} "
                f"(available: {', '.join(names) or 'none'})"
            )
        name = context or (active or {}).get("name") or ""
        if not name:
            raise InputError(f"kubeconfig {path} has no current-context; pass --context")
        try:
            with _exec_errors(f"kubeconfig {path}, context {name!r}"):
                config.load_kube_config(
                    config_file=path, context=name, client_configuration=configuration
                )
        except (ConfigException, OSError) as exc:
            raise InputError(f"kubeconfig {path}, context {name!r}: {_first(exc)}") from None
        except (ValueError, TypeError, KeyError, AttributeError) as exc:  # bad base64, shapes
            raise InputError(
                f"kubeconfig {path}, context {name!r} is not valid: {_first(exc)}"
            ) from None
    # One retry on connection errors; never a redirect (it would carry the token away).
    configuration.retries = Retry(total=1, redirect=False, raise_on_redirect=False)
    return client.ApiClient(configuration), name


def _first(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _describe(exc: Exception) -> str:
    from kubernetes.client.exceptions import ApiException

    if isinstance(exc, ApiException) and exc.status and 300 <= exc.status < 400:
        location = (exc.headers or {}).get("Location", "elsewhere")
        return f"HTTP {exc.status}: redirect to {location} refused"
    if isinstance(exc, ApiException):
        reason = exc.reason or ""
        with contextlib.suppress(ValueError, AttributeError):
            reason = json.loads(exc.body or "{}").get("message") or reason
        return f"HTTP {exc.status}: {reason}".rstrip(": ")
    return _first(exc)


def _served_groups(api: Any, deadline: Deadline) -> dict[str, tuple[str, ...]]:
    """The versions the server serves of each API group (Istio's, the controllers')."""
    from kubernetes import client

    deadline.step("discovering API groups")
    answer = client.ApisApi(api).get_api_versions(_request_timeout=deadline.request_timeout())
    return {
        str(group.name): tuple(str(v.version) for v in group.versions or ())
        for group in answer.groups or []
    }


def _served_plurals(api: Any, version: str, deadline: Deadline) -> set[str] | None:
    """Resources the server lists for networking.istio.io/version; None when it will not say."""
    from kubernetes import client

    deadline.step(f"discovering {ISTIO_GROUP}/{version} resources")
    try:
        # Raw (`_preload_content=False`): the urllib3 response, not the typed model.
        response: Any = client.CustomObjectsApi(api).get_api_resources(
            ISTIO_GROUP,
            version,
            _request_timeout=deadline.request_timeout(),
            _preload_content=False,
        )
        resources = json.loads(response.data).get("resources")
        return {str(r.get("name")) for r in resources if isinstance(r, dict)}
    except Exception:
        return None


def _lister(api: Any, kind: Kind, version: str) -> Callable[..., Any]:
    """A function(namespace | None, **paging) returning the raw HTTP response."""
    from kubernetes import client

    if kind.group:
        custom = client.CustomObjectsApi(api)

        def list_custom(namespace: str | None, **kw: Any) -> Any:
            if namespace is None:
                return custom.list_cluster_custom_object(kind.group, version, kind.plural, **kw)
            return custom.list_namespaced_custom_object(
                kind.group, version, namespace, kind.plural, **kw
            )

        return list_custom
    core = client.CoreV1Api(api)
    if not kind.namespaced:
        return lambda namespace, **kw: core.list_namespace(**kw)
    singular = {"services": "service", "pods": "pod"}[kind.plural]

    def list_core(namespace: str | None, **kw: Any) -> Any:
        if namespace is None:
            return getattr(core, f"list_{singular}_for_all_namespaces")(**kw)
        return getattr(core, f"list_namespaced_{singular}")(namespace, **kw)

    return list_core


def _body(response: Any) -> dict[str, Any]:
    try:
        body = json.loads(response.data)
        check_size(body, aliases=False)
    except (ValueError, RecursionError):  # TooLarge is a ValueError
        raise _Unreadable("the answer is not JSON, or nested too deep") from None
    if not isinstance(body, dict) or not isinstance(body.get("items") or [], list):
        raise _Unreadable("the answer is not a list")
    return body


def _pages(
    lister: Callable[..., Any],
    kind: Kind,
    api_version: str,
    namespace: str | None,
    limit: int,
    deadline: Deadline,
) -> Iterator[list[dict[str, Any]]]:
    token: str | None = None
    seen: set[str] = set()
    where = f" in {namespace}" if namespace else ""
    while True:
        deadline.step(f"listing {kind.plural}{where}")
        kw: dict[str, Any] = {"limit": limit, "_preload_content": False}
        if token:
            kw["_continue"] = token
        response = lister(namespace, _request_timeout=deadline.request_timeout(), **kw)
        body = _body(response)
        items = body.get("items") or []
        for item in items:
            if not isinstance(item, dict):
                raise _Unreadable("a list item is not an object")
            # List items from the API omit kind/apiVersion for built-in types.
            item.setdefault("kind", kind.kind)
            item.setdefault("apiVersion", api_version)
            if not is_k8s_object(item):
                raise _Unreadable("a list item has no metadata.name")
        yield [trim(item) for item in items]
        meta = body.get("metadata")
        token = meta.get("continue") if isinstance(meta, dict) else None
        if not token:
            return
        if not isinstance(token, str) or token in seen:
            raise _Unreadable(f"the server repeated continue token {str(token)[:40]!r}; stopped")
        seen.add(token)


def read_live_cluster(
    kubeconfig: str | None,
    context: str | None,
    cluster: str | None,
    namespaces: tuple[str, ...],
    on_page: OnPage | None = None,
    timeout: float | None = None,
) -> LiveSnapshot:
    """Connect and read, all within one deadline (credential plugins included). The client
    library is loaded first (about half a second): the deadline bounds the read, not that."""
    importlib.import_module("kubernetes.client")
    importlib.import_module("kubernetes.config")
    deadline = Deadline(timeout)
    with deadline.enforced():
        deadline.step("loading the kubeconfig and its credentials")
        api, name = connect(kubeconfig, context)
        with api:
            return read_cluster(api, name, cluster, namespaces, on_page=on_page, deadline=deadline)


def read_cluster(
    api: Any,
    context: str,
    cluster: str | None,
    namespaces: tuple[str, ...],
    page_size: int = 500,
    on_page: OnPage | None = None,
    deadline: Deadline | None = None,
) -> LiveSnapshot:
    """Every object of KINDS in scope; unreadable kinds are recorded in `unread`."""
    deadline = deadline or Deadline(None)
    try:
        groups = _served_groups(api, deadline)
    except Exception as exc:
        host = api.configuration.host
        raise SourceError(f"cannot reach cluster {context!r} at {host}: {_describe(exc)}") from exc
    served = groups.get(ISTIO_GROUP, ())
    istio_version = next((v for v in ISTIO_VERSIONS if v in served), None)
    plurals = _served_plurals(api, istio_version, deadline) if istio_version else None
    objects: list[dict[str, Any]] = []
    unread: dict[str, str] = {}
    notes: list[str] = []
    if not served:
        notes.append(f"{ISTIO_GROUP} is not served by this cluster: Istio CRDs are not installed")
    for kind in KINDS:
        if kind.optional and kind.version not in groups.get(kind.group, ()):
            notes.append(f"{kind.kind}: {kind.group}/{kind.version} is not served, skipped")
            continue
        version = kind.version
        if kind.group == ISTIO_GROUP:
            if not served:
                continue
            if istio_version is None:
                unread[kind.kind] = (
                    f"{ISTIO_GROUP} is served only at {', '.join(served)}, which mesh-audit "
                    f"does not read (it reads {', '.join(ISTIO_VERSIONS)})"
                )
                continue
            if plurals is not None and kind.plural not in plurals:
                notes.append(f"{kind.kind}: CRD not installed, skipped")
                continue
            version = istio_version
        api_version = f"{kind.group}/{version}" if kind.group else version
        lister = _lister(api, kind, version)
        scopes: list[str | None] = list(namespaces) if namespaces and kind.namespaced else [None]
        try:
            for namespace in scopes:
                for page in _pages(lister, kind, api_version, namespace, page_size, deadline):
                    objects.extend(o for o in page if in_scope(o, namespaces))
                    if on_page:
                        on_page(kind.kind, len(page))
        except Exception as exc:
            # A 404 although discovery serves the group is unread too, never "not installed".
            unread[kind.kind] = _describe(exc)
    return LiveSnapshot(
        cluster=cluster or context,
        origin=f"cluster:{context}",
        objects=tuple(objects),
        context=context,
        unread=unread,
        notes=tuple(notes),
        namespaces=namespaces,
        digest=versions_digest(objects),
    )
