"""MA310 gateway-without-virtualservice: its documented examples, then its spec cases."""

from __future__ import annotations

import pytest

from conftest import PEER_CASES
from rule_runner import assert_examples, run_rule, vs

RULE = "MA310"


def test_documented_examples() -> None:
    assert_examples(RULE)


def gateway(name: str, namespace: str) -> str:
    return f"""
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  selector: {{istio: ingressgateway}}
  servers: [{{port: {{number: 80, name: http, protocol: HTTP}}, hosts: ["*"]}}]
"""


def bound_to(name: str, refs: str, namespace: str = "default", export: str = "") -> str:
    spec = f"  hosts: ['*']\n  gateways: {refs}\n{export}  http:\n  - route:\n    - destination: {{host: web}}\n"
    return vs(name, spec, namespace=namespace)


CASES = [
    # Bound: a short name in the VirtualService's namespace, <namespace>/<name>, legacy name.namespace.
    (
        gateway("short", "default")
        + gateway("qualified", "ingress")
        + gateway("legacy", "edge")
        + bound_to("a", "[short]")
        + bound_to("b", "[ingress/qualified, mesh]", namespace="apps")
        + bound_to("c", "[legacy.edge]"),
        set(),
    ),
    # Unbound: nothing names it; a short name resolves in the VirtualService's own namespace;
    # `mesh` is the sidecars, not a Gateway called mesh.
    (
        gateway("idle", "ingress")
        + gateway("elsewhere", "ingress")
        + gateway("mesh", "default")
        + bound_to("a", "[elsewhere]", namespace="apps")
        + bound_to("b", "[mesh]"),
        {
            ("MA310", "Gateway", "ingress/idle", ""),
            ("MA310", "Gateway", "ingress/elsewhere", ""),
            ("MA310", "Gateway", "default/mesh", ""),
        },
    ),
    # exportTo: a VirtualService exported only to its own namespace binds a Gateway there, not
    # one in another namespace.
    (
        gateway("local", "apps")
        + gateway("remote", "ingress")
        + bound_to("a", "[local, ingress/remote]", namespace="apps", export="  exportTo: ['.']\n"),
        {("MA310", "Gateway", "ingress/remote", "")},
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_case(text: str, expected: set) -> None:
    assert run_rule(RULE, text) == expected


@pytest.mark.skipif(not PEER_CASES.exists(), reason="../shared/peer-cases is not present")
@pytest.mark.parametrize(
    ("file", "expected"),
    [
        # IST0132's inputs: every Gateway is named by a VirtualService, short or qualified.
        ("virtualservice_gateways.yaml", set()),
        ("virtualservice_host_not_found_gateway.yaml", set()),
        ("virtualservice_host_not_found_gateway_with_ns_prefix.yaml", set()),
        # The gateway port analyzer's input: a Gateway and no VirtualService at all.
        ("gateway-no-workload.yaml", {(RULE, "Gateway", "default/httpbin-gateway", "")}),
    ],
)
def test_istio_analyzer_inputs(file: str, expected: set) -> None:
    assert run_rule(RULE, (PEER_CASES / file).read_text()) == expected
