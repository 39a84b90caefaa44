"""Read the live cluster through the official `kubernetes` client, read-only.

Only list (and discovery) calls are ever made. Each kind is listed in pages
(`limit` + `continue`); a kind that cannot be read is recorded, never taken as empty.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from auditor.errors import InputError, SourceError
from auditor.kinds import ISTIO_VERSIONS, KINDS, Kind, trim
from auditor.model import ISTIO_GROUP
from auditor.sources import LiveSnapshot, in_scope, versions_digest

OnPage = Callable[[str, int], None]
_TIMEOUT = (10, 120)


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
        except (ConfigException, OSError) as exc:
            raise InputError(f"kubeconfig {path}: {exc}") from None
        names = [c["name"] for c in contexts]
        if context is not None and context not in names:
            raise InputError(
                f"context {context!r} not found in kubeconfig {path} "
                f"(available: {', '.join(names) or 'none'})"
            )
        name = context or (active or {}).get("name")
        if not name:
            raise InputError(f"kubeconfig {path} has no current-context; pass --context")
        try:
            config.load_kube_config(
                config_file=path, context=name, client_configuration=configuration
            )
        except (ConfigException, OSError) as exc:
            raise InputError(f"kubeconfig {path}, context {name!r}: {exc}") from None
    configuration.retries = 1
    return client.ApiClient(configuration), name


def _describe(exc: Exception) -> str:
    from kubernetes.client.exceptions import ApiException

    if isinstance(exc, ApiException):
        reason = exc.reason or ""
        with contextlib.suppress(ValueError, AttributeError):
            reason = json.loads(exc.body or "{}").get("message") or reason
        return f"HTTP {exc.status}: {reason}".rstrip(": ")
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _istio_version(api: Any) -> str | None:
    """The preferred served networking.istio.io version, None when Istio is absent."""
    from kubernetes import client

    groups = client.ApisApi(api).get_api_versions(_request_timeout=_TIMEOUT).groups or []
    for group in groups:
        if group.name == ISTIO_GROUP:
            served = {v.version for v in group.versions}
            return next((v for v in ISTIO_VERSIONS if v in served), None)
    return None


def _lister(api: Any, kind: Kind, version: str) -> Callable[..., Any]:
    """A function(namespace | None, **paging) returning the raw HTTP response."""
    from kubernetes import client

    if kind.group == ISTIO_GROUP:
        custom = client.CustomObjectsApi(api)

        def list_custom(namespace: str | None, **kw: Any) -> Any:
            if namespace is None:
                return custom.list_cluster_custom_object(ISTIO_GROUP, version, kind.plural, **kw)
            return custom.list_namespaced_custom_object(
                ISTIO_GROUP, version, namespace, kind.plural, **kw
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


def _pages(
    lister: Callable[..., Any], kind: Kind, api_version: str, namespace: str | None, limit: int
) -> Iterator[list[dict[str, Any]]]:
    token: str | None = None
    while True:
        kw: dict[str, Any] = {"limit": limit, "_preload_content": False}
        if token:
            kw["_continue"] = token
        response = lister(namespace, _request_timeout=_TIMEOUT, **kw)
        body = json.loads(response.data)
        items = body.get("items") or []
        for item in items:
            # List items from the API omit kind/apiVersion for built-in types.
            item.setdefault("kind", kind.kind)
            item.setdefault("apiVersion", api_version)
        yield [trim(item) for item in items]
        token = (body.get("metadata") or {}).get("continue")
        if not token:
            return


def read_cluster(
    api: Any,
    context: str,
    cluster: str | None,
    namespaces: tuple[str, ...],
    page_size: int = 500,
    on_page: OnPage | None = None,
) -> LiveSnapshot:
    """Every object of KINDS in scope; unreadable kinds are recorded in `unread`."""
    from kubernetes.client.exceptions import ApiException

    try:
        istio_version = _istio_version(api)
    except Exception as exc:
        host = api.configuration.host
        raise SourceError(f"cannot reach cluster {context!r} at {host}: {_describe(exc)}") from exc
    objects: list[dict[str, Any]] = []
    unread: dict[str, str] = {}
    notes: list[str] = []
    if istio_version is None:
        notes.append(f"{ISTIO_GROUP} is not served by this cluster: Istio CRDs are not installed")
    for kind in KINDS:
        if kind.optional:
            continue  # listed once discovery of their groups is in place
        if kind.group == ISTIO_GROUP and istio_version is None:
            continue
        version = istio_version if kind.group == ISTIO_GROUP else "v1"
        api_version = f"{kind.group}/{version}" if kind.group else version
        lister = _lister(api, kind, str(version))
        scopes: list[str | None] = list(namespaces) if namespaces and kind.namespaced else [None]
        try:
            for namespace in scopes:
                for page in _pages(lister, kind, api_version, namespace, page_size):
                    objects.extend(o for o in page if in_scope(o, namespaces))
                    if on_page:
                        on_page(kind.kind, len(page))
        except ApiException as exc:
            if exc.status == 404 and kind.group == ISTIO_GROUP:
                notes.append(f"{kind.kind}: CRD not installed, skipped")
            else:
                unread[kind.kind] = _describe(exc)
        except Exception as exc:
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
