"""MA302 unresolved-host: its documented examples, then its spec cases."""

from __future__ import annotations

import pytest

from rule_runner import ROUTE_TO, SVC, assert_examples, run_example, run_rule, vs

RULE = "MA302"


def test_documented_examples() -> None:
    assert_examples(RULE)


CASES = [
    # MA302 unresolved-host: unknown host, unknown mirror, wrong port, DR host (one a route uses:
    # a DR nothing routes to is MA308's); healthy: short, FQDN, SE wildcard.
    (
        SVC
        + vs("bad-host", ROUTE_TO.format("x", "nope"))
        + vs(
            "bad-mirror",
            "  hosts: [y]\n  http:\n  - route:\n    - destination: {host: reviews}\n    mirror: {host: shadow}\n    timeout: 1s\n",
        )
        + vs(
            "bad-port",
            "  hosts: [z]\n  http:\n  - route:\n    - destination: {host: reviews, port: {number: 999}}\n",
        )
        + vs("good-short", ROUTE_TO.format("a", "reviews"))
        + vs(
            "good-fqdn",
            ROUTE_TO.format("b", "reviews.default.svc.cluster.local"),
            namespace="other",
        )
        + vs("good-external", ROUTE_TO.format("c", "api.eu.example.com"))
        + """
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: eu, namespace: default}
spec: {hosts: ["*.eu.example.com"]}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: bad-dr, namespace: default}
spec: {host: nope}
""",
        {},
        {
            ("MA302", "VirtualService", "default/bad-host", "spec.http[0].route[0].destination"),
            ("MA302", "VirtualService", "default/bad-mirror", "spec.http[0].mirror"),
            ("MA302", "VirtualService", "default/bad-port", "spec.http[0].route[0].destination"),
            ("MA302", "DestinationRule", "default/bad-dr", "spec.host"),
        },
    ),
    # MA302 exportTo: a Service exported only to its own namespace is invisible elsewhere.
    (
        """
apiVersion: v1
kind: Service
metadata: {name: private, namespace: team, annotations: {networking.istio.io/exportTo: "."}}
spec: {ports: [{port: 80}]}
"""
        + vs(
            "bad-remote", ROUTE_TO.format("a", "private.team.svc.cluster.local"), namespace="other"
        )
        + vs("good-local", ROUTE_TO.format("b", "private"), namespace="team"),
        {},
        {("MA302", "VirtualService", "other/bad-remote", "spec.http[0].route[0].destination")},
    ),
]


@pytest.mark.parametrize(("text", "options", "expected"), CASES)
def test_case(text: str, options: dict, expected: set) -> None:
    assert run_rule(RULE, text, **options) == expected


def test_a_git_only_object_of_a_namespace_nothing_serves_is_left_to_ma102() -> None:
    """The ASM lab's case: VirtualServices in Git for an app whose Services come from
    another repo and that is not deployed here. In a namespace the repo or the cluster
    does serve, a Git-only route to a missing host is still a finding."""
    route = "  hosts: [h]\n  http:\n  - route:\n    - destination: {host: transactionhistory}\n"
    lab = "# repo: lab/vs.yaml\n" + vs("fault", route, namespace="bank-of-anthos").lstrip("-\n")
    served = "# repo: mesh/vs.yaml\n" + vs("typo", route).lstrip("-\n")
    assert run_example(RULE, SVC + "---\n" + lab + "---\n" + served) == {
        ("MA302", "VirtualService", "default/typo", "spec.http[0].route[0].destination")
    }


def test_a_git_only_route_into_a_served_namespace_is_judged_wherever_it_lives() -> None:
    """Ingress routes often live in a namespace of their own, with no Service: what is
    judged is the namespace of the host, not of the route (a PR scan has no MA102)."""
    route = ROUTE_TO.format("shop.example.com", "reviewz.default.svc.cluster.local")
    edge = "# repo: edge/vs.yaml\n" + vs("edge", route, namespace="edge-routes").lstrip("-\n")
    # From a served namespace, a host in one that does not exist: a typo, still judged.
    route = ROUTE_TO.format("shop.example.com", "reviews.defualt.svc.cluster.local")
    typo = "# repo: mesh/vs.yaml\n" + vs("typo", route).lstrip("-\n")
    assert run_example(RULE, SVC + "---\n" + edge + "---\n" + typo) == {
        ("MA302", "VirtualService", "edge-routes/edge", "spec.http[0].route[0].destination"),
        ("MA302", "VirtualService", "default/typo", "spec.http[0].route[0].destination"),
    }
