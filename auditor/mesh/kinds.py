"""The Kubernetes kinds mesh-audit reads, and how objects are trimmed before use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auditor.mesh.routes import mapping
from auditor.model import ISTIO_GROUP, ObjectKey

# Preference order when the server serves several networking.istio.io versions.
ISTIO_VERSIONS = ("v1", "v1beta1", "v1alpha3")


@dataclass(frozen=True)
class Kind:
    kind: str
    group: str
    plural: str
    namespaced: bool = True
    # The served version to list (Istio's is discovered: see ISTIO_VERSIONS).
    version: str = "v1"
    # Read only when the cluster serves it (a progressive-delivery controller's CRD).
    optional: bool = False
    # kubectl's short name (`kubectl get vs`).
    short: str = ""

    @property
    def audited(self) -> bool:
        """Mesh routing kinds are audited; core kinds only give context."""
        return self.group == ISTIO_GROUP


KINDS = (
    Kind("VirtualService", ISTIO_GROUP, "virtualservices", short="vs"),
    Kind("DestinationRule", ISTIO_GROUP, "destinationrules", short="dr"),
    Kind("ServiceEntry", ISTIO_GROUP, "serviceentries", short="se"),
    Kind("Gateway", ISTIO_GROUP, "gateways", short="gw"),
    Kind("Service", "", "services", short="svc"),
    Kind("Pod", "", "pods", short="po"),
    Kind("Namespace", "", "namespaces", namespaced=False, short="ns"),
    # Progressive-delivery controllers that manage routes on purpose (auditor/mesh/controllers.py).
    Kind("Rollout", "argoproj.io", "rollouts", version="v1alpha1", optional=True, short="ro"),
    Kind("Canary", "flagger.app", "canaries", version="v1beta1", optional=True),
)
BY_NAME = {k.kind: k for k in KINDS}
# What kubectl accepts for a kind: its name in any case, its plural, its short name.
BY_ALIAS = {alias: k for k in KINDS for alias in (k.kind.lower(), k.plural, k.short) if alias}
AUDITED = tuple(k for k in KINDS if k.audited)
AUDITED_KINDS = frozenset(k.kind for k in AUDITED)
# Kinds read from the repo to find and render apps (GitOps controllers and their inputs).
APP_KINDS = frozenset(
    {"Application", "ApplicationSet", "Kustomization", "HelmRelease", "GitRepository", "ConfigMap"}
)


def kept(obj: dict[str, Any]) -> bool:
    """Whether the cache may keep a document: only kinds mesh-audit reads (never a Secret)."""
    return (
        obj.get("kind") in BY_NAME
        or obj.get("kind") in APP_KINDS
        or (
            obj.get("kind") == "Component"
            and str(obj.get("apiVersion")).startswith("backstage.io/")
        )
    )


def group_of(api_version: str) -> str:
    return api_version.rpartition("/")[0] if "/" in api_version else ""


def is_k8s_object(doc: Any) -> bool:
    if not isinstance(doc, dict):
        return False
    meta = doc.get("metadata")
    return (
        isinstance(doc.get("apiVersion"), str)
        and isinstance(doc.get("kind"), str)
        and isinstance(meta, dict)
        and isinstance(meta.get("name"), str)
    )


def known_kind(obj: dict[str, Any]) -> Kind | None:
    kind = BY_NAME.get(obj["kind"])
    if kind is None or group_of(obj["apiVersion"]) != kind.group:
        return None
    return kind


def placed(obj: dict[str, Any], namespace: str) -> dict[str, Any]:
    """The object as `kubectl apply -n NAMESPACE` creates it: a namespaced kind without a
    namespace gets one, so everything that reads the object (hosts, exportTo, messages)
    sees the namespace its key has."""
    kind = BY_NAME.get(obj.get("kind"))  # type: ignore[arg-type]
    meta = obj.get("metadata")
    if kind is None or not kind.namespaced or not isinstance(meta, dict) or meta.get("namespace"):
        return obj
    return {**obj, "metadata": {**meta, "namespace": namespace}}


def key_of(obj: dict[str, Any], default_namespace: str = "default") -> ObjectKey:
    meta = obj["metadata"]
    kind = BY_NAME.get(obj["kind"])
    namespace = "" if kind and not kind.namespaced else meta.get("namespace") or default_namespace
    return ObjectKey(group_of(obj["apiVersion"]), obj["kind"], namespace, meta["name"])


_POD_METADATA = (
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "labels",
    "ownerReferences",
    "creationTimestamp",
)


def trim(obj: dict[str, Any]) -> dict[str, Any]:
    """Keep only pod metadata, and a Rollout's strategy and status: pod templates can carry
    env values we must never store."""
    if obj["kind"] == "Rollout":
        spec = mapping(obj.get("spec"))
        return {**obj, "spec": {"strategy": spec.get("strategy")}}
    if obj["kind"] != "Pod":
        return obj
    meta = obj["metadata"]
    return {
        "apiVersion": obj["apiVersion"],
        "kind": "Pod",
        "metadata": {k: meta[k] for k in _POD_METADATA if k in meta},
    }
