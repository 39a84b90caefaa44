"""ignore-differences as Argo CD has them: JSON pointers and field managers, from the config
and from the Application that renders the object."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.mesh.ignore import config_rules, reason
from auditor.model import ObjectKey
from conftest import GitRepo, dump, live, manifest, scan_json

VS = {
    "hosts": ["cart"],
    "http": [{"route": [{"destination": {"host": "cart"}, "weight": 100}], "timeout": "5s"}],
}
KEY = ObjectKey("networking.istio.io", "VirtualService", "shop", "cart")


def _scan(tmp_path: Path, files: dict[str, str], live_spec: dict, **meta) -> dict:
    repo = GitRepo(tmp_path / "gitops")
    repo.commit(
        {**files, "shop/cart.yaml": manifest("VirtualService", "cart", VS, namespace="shop")}
    )
    cluster = dump(tmp_path / "c.yaml", [live("VirtualService", "cart", "shop", live_spec, **meta)])
    result, doc = scan_json(
        "--repo", repo.path, "--cluster-dump", cluster, "--db", tmp_path / "a.db"
    )
    assert result.exit_code == 0, result.output
    return next((f for f in doc["findings"] if f["rule"] == "MA103"), {})


def _edited(weight: int, timeout: str = "5s") -> dict:
    return {
        **VS,
        "http": [
            {"route": [{"destination": {"host": "cart"}, "weight": weight}], "timeout": timeout}
        ],
    }


def test_config_json_pointer_leaves_the_field_out(tmp_path: Path) -> None:
    config = ".mesh-audit.yaml"
    ignore = "ignore-differences:\n- {kind: VirtualService, name: 'ca*', json-pointers: [/spec/http/0/route]}\n"
    assert _scan(tmp_path, {config: ignore}, _edited(90)) == {}
    drift = _scan(tmp_path / "b", {config: ignore}, _edited(90, "9s"))
    assert [d["path"] for d in drift["evidence"]["differences"]] == ["spec.http[0].timeout"]
    assert drift["evidence"]["left_out"] == [
        {
            "path": "spec.http[0].route[0].weight",
            "why": "ignore-differences[0] of the config: /spec/http/0/route",
        }
    ]


def test_field_manager_owns_fields_by_managed_fields(tmp_path: Path) -> None:
    owned = {"f:spec": {"f:http": {}}}
    fields = [{"manager": "rollouts-controller", "operation": "Update", "fieldsV1": owned}]
    rule = config_rules([{"managed-fields-managers": ["rollouts-controller"]}], "c")
    obj = {"metadata": {"managedFields": fields}}
    assert reason(rule, KEY, obj, "spec.http[0].route[0].weight").endswith("rollouts-controller")
    assert reason(rule, KEY, obj, "spec.hosts[0]") is None
    app = (
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: shop}\n"
        "spec:\n  source: {repoURL: x, path: shop}\n  destination: {namespace: shop}\n"
        "  ignoreDifferences:\n  - {group: networking.istio.io, kind: VirtualService,"
        " managedFieldsManagers: [rollouts-controller]}\n"
    )
    assert _scan(tmp_path, {"argocd.yaml": app}, _edited(90), managedFields=fields) == {}
    drift = _scan(tmp_path / "b", {"argocd.yaml": app}, _edited(90))
    assert drift["evidence"]["differences"][0]["path"] == "spec.http[0].route[0].weight"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("nope", "c: expected a list"),
        ([{"kind": "VirtualService"}], "c[0]: needs json-pointers or managed-fields-managers"),
        ([{"jsonPointers": ["/spec"]}], "c[0]: unknown key 'jsonPointers'"),
        ([{"json-pointers": "/spec"}], "c[0].json-pointers: expected a list of strings"),
    ],
)
def test_bad_ignore_rules_are_config_errors(raw, message) -> None:
    with pytest.raises(InputError, match=None) as info:
        config_rules(raw, "c")
    assert message in str(info.value)
