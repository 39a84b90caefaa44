"""Rule spec table: YAML in, expected (rule, kind, namespace/name, locator) out.

Each case holds a failing resource and its healthy twin; only the failing one may fire.
Objects are live (a cluster dump); MA306/MA307 Git-history cases are in test_staleness.py.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml

from auditor.config import parse_config
from auditor.pipeline import engine
from auditor.pipeline.inventory import build
from auditor.sources import LiveSnapshot
from auditor.sources.gitops import GitSnapshot
from rules import CATALOG

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
BY_ID = {r.id: r for r in CATALOG}


def run_rule(rule_id: str, text: str, **options) -> set[tuple[str, str, str, str]]:
    objects = [o for o in yaml.safe_load_all(text) if o]
    live = LiveSnapshot(cluster="test", origin="test", objects=tuple(objects))
    git = GitSnapshot(repo="r", ref="HEAD", commit="c", manifests=())
    rule = BY_ID[rule_id]
    config = parse_config(
        {"rules": {r.id: {"enabled": r.id == rule_id} for r in CATALOG} | {rule_id: options}},
        CATALOG,
        None,
    )
    inventory = build(live, git, ("owner",), NOW)
    return {
        (f.rule, f.key.kind, f"{f.key.namespace}/{f.key.name}", f.locator)
        for f in engine.run(inventory, config, "test").findings
        if f.rule == rule.id
    }


SVC = """
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec: {selector: {app: reviews}, ports: [{port: 9080}]}
---
apiVersion: v1
kind: Pod
metadata: {name: reviews-v1, namespace: default, labels: {app: reviews, version: v1}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
"""


def vs(name: str, spec: str, namespace: str = "default", meta: str = "") -> str:
    return f"""
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: {name}, namespace: {namespace}{meta}}}
spec:
{spec}"""


ROUTE_TO = (
    "  hosts: [{0}]\n  http:\n  - route:\n    - destination: {{host: {1}}}\n    timeout: 5s\n"
)

CASES = [
    # MA301 expired: past date, elapsed TTL, janitor's annotation, unreadable value; healthy: future date.
    (
        "MA301",
        vs(
            "bad-date",
            ROUTE_TO.format("a", "reviews"),
            meta=", annotations: {mesh-audit.io/expires: '2026-01-31'}",
        )
        + vs(
            "bad-ttl",
            ROUTE_TO.format("b", "reviews"),
            meta=", creationTimestamp: '2026-10-01T00:00:00Z', annotations: {mesh-audit.io/ttl: 30d}",
        )
        + vs(
            "bad-janitor",
            ROUTE_TO.format("c", "reviews"),
            meta=", annotations: {janitor/expires: '2026-11-01T10:00:00Z'}",
        )
        + vs(
            "bad-value",
            ROUTE_TO.format("d", "reviews"),
            meta=", annotations: {mesh-audit.io/expires: soon}",
        )
        + vs(
            "good-date",
            ROUTE_TO.format("e", "reviews"),
            meta=", annotations: {mesh-audit.io/expires: '2027-01-31'}",
        )
        + vs(
            "good-ttl",
            ROUTE_TO.format("f", "reviews"),
            meta=", creationTimestamp: '2026-11-20T00:00:00Z', annotations: {janitor/ttl: 2w}",
        ),
        {},
        {
            (
                "MA301",
                "VirtualService",
                "default/bad-date",
                'metadata.annotations["mesh-audit.io/expires"]',
            ),
            (
                "MA301",
                "VirtualService",
                "default/bad-ttl",
                'metadata.annotations["mesh-audit.io/ttl"]',
            ),
            (
                "MA301",
                "VirtualService",
                "default/bad-janitor",
                'metadata.annotations["janitor/expires"]',
            ),
            (
                "MA301",
                "VirtualService",
                "default/bad-value",
                'metadata.annotations["mesh-audit.io/expires"]',
            ),
        },
    ),
    # MA302 unresolved-host: unknown host, unknown mirror, wrong port, DR host (one a route uses:
    # a DR nothing routes to is MA308's); healthy: short, FQDN, SE wildcard.
    (
        "MA302",
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
        "MA302",
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
    # MA303 missing-subset; healthy: defined subset, no subset.
    (
        "MA303",
        SVC
        + vs(
            "bad-subset",
            "  hosts: [a]\n  http:\n  - route:\n    - destination: {host: reviews, subset: v9}\n",
        )
        + vs(
            "bad-mirror",
            "  hosts: [b]\n  http:\n  - route:\n    - destination: {host: reviews}\n    mirror: {host: reviews, subset: v2}\n",
        )
        + vs(
            "good-subset",
            "  hosts: [c]\n  http:\n  - route:\n    - destination: {host: reviews.default.svc.cluster.local, subset: v1}\n",
        )
        + vs("good-plain", ROUTE_TO.format("d", "reviews")),
        {},
        {
            ("MA303", "VirtualService", "default/bad-subset", "spec.http[0].route[0].destination"),
            ("MA303", "VirtualService", "default/bad-mirror", "spec.http[0].mirror"),
        },
    ),
    # MA304 unused-subset: v2 is defined but only v1 is routed.
    (
        "MA304",
        SVC.replace(
            "  - {name: v1, labels: {version: v1}}",
            "  - {name: v1, labels: {version: v1}}\n  - {name: v2, labels: {version: v2}}",
        )
        + vs(
            "routes",
            "  hosts: [a]\n  http:\n  - route:\n    - destination: {host: reviews, subset: v1}\n",
        ),
        {},
        {("MA304", "DestinationRule", "default/reviews", "spec.subsets[1]")},
    ),
    # MA305 empty-subset: v3 selects no pod; v1 does.
    (
        "MA305",
        SVC.replace(
            "  - {name: v1, labels: {version: v1}}",
            "  - {name: v1, labels: {version: v1}}\n  - {name: v3, labels: {version: v3}}",
        ),
        {},
        {("MA305", "DestinationRule", "default/reviews", "spec.subsets[1]")},
    ),
    # MA306 zero-weight on a live-only resource: dated by managedFields; the recent twin is silent.
    (
        "MA306",
        vs(
            "bad-zero",
            "  hosts: [a]\n  http:\n  - route:\n    - destination: {host: reviews, subset: v1}\n      weight: 100\n    - destination: {host: reviews, subset: v2}\n      weight: 0\n",
            meta=", managedFields: [{manager: kubectl, time: '2026-09-01T00:00:00Z'}]",
        )
        + vs(
            "good-recent",
            "  hosts: [b]\n  http:\n  - route:\n    - destination: {host: reviews, subset: v1}\n      weight: 100\n    - destination: {host: reviews, subset: v2}\n",
            meta=", managedFields: [{manager: kubectl, time: '2026-11-20T00:00:00Z'}]",
        )
        + vs(
            "good-split",
            "  hosts: [c]\n  http:\n  - route:\n    - destination: {host: reviews, subset: v1}\n      weight: 90\n    - destination: {host: reviews, subset: v2}\n      weight: 10\n",
            meta=", creationTimestamp: '2025-01-01T00:00:00Z'",
        ),
        {},
        {("MA306", "VirtualService", "default/bad-zero", "spec.http[0].route[1]")},
    ),
    # MA307 lingering-experiment: old fault, old mirror, old experimental name; healthy twins.
    (
        "MA307",
        vs(
            "bad-fault",
            "  hosts: [a]\n  http:\n  - fault: {abort: {httpStatus: 500, percentage: {value: 10}}}\n    route:\n    - destination: {host: reviews}\n",
            meta=", creationTimestamp: '2026-01-01T00:00:00Z'",
        )
        + vs(
            "bad-mirror",
            "  hosts: [b]\n  http:\n  - route:\n    - destination: {host: reviews}\n    mirror: {host: reviews}\n",
            meta=", creationTimestamp: '2026-01-01T00:00:00Z'",
        )
        + vs(
            "reviews-canary",
            ROUTE_TO.format("c", "reviews"),
            meta=", creationTimestamp: '2026-01-01T00:00:00Z'",
        )
        + vs(
            "reviews-latest",
            ROUTE_TO.format("d", "reviews"),
            meta=", creationTimestamp: '2026-01-01T00:00:00Z'",
        )
        + vs(
            "contest",
            ROUTE_TO.format("e", "reviews"),
            meta=", creationTimestamp: '2026-01-01T00:00:00Z'",
        )
        + vs(
            "new-canary",
            ROUTE_TO.format("f", "reviews"),
            meta=", creationTimestamp: '2026-11-20T00:00:00Z'",
        ),
        {},
        {
            ("MA307", "VirtualService", "default/bad-fault", ""),
            ("MA307", "VirtualService", "default/bad-mirror", ""),
            ("MA307", "VirtualService", "default/reviews-canary", ""),
        },
    ),
    # MA308 unreferenced-destinationrule: no route, no service; the twin has a Service.
    (
        "MA308",
        SVC
        + """
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: orphan, namespace: default}
spec: {host: deleted-service}
""",
        {},
        {("MA308", "DestinationRule", "default/orphan", "spec.host")},
    ),
    # MA309 duplicate-host: two DRs for reviews, two mesh VSs for host a; gateway-bound, and exportTo "." in two namespaces, are silent.
    (
        "MA309",
        SVC
        + """
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews-copy, namespace: default}
spec: {host: reviews.default.svc.cluster.local}
"""
        + vs("first", ROUTE_TO.format("a", "reviews"))
        + vs("second", ROUTE_TO.format("a.default.svc.cluster.local", "reviews"))
        + vs(
            "ingress",
            "  hosts: [a]\n  gateways: [gw]\n  http:\n  - route:\n    - destination: {host: reviews}\n",
        )
        + vs(
            "private",
            "  hosts: [b.default.svc.cluster.local]\n  exportTo: ['.']\n  http:\n  - route:\n    - destination: {host: reviews}\n",
            namespace="one",
        )
        + vs(
            "private",
            "  hosts: [b.default.svc.cluster.local]\n  exportTo: ['.']\n  http:\n  - route:\n    - destination: {host: reviews}\n",
            namespace="two",
        ),
        {},
        {
            ("MA309", "DestinationRule", "default/reviews", "spec.host"),
            ("MA309", "DestinationRule", "default/reviews-copy", "spec.host"),
            ("MA309", "VirtualService", "default/first", "spec.hosts"),
            ("MA309", "VirtualService", "default/second", "spec.hosts"),
        },
    ),
    # MA401 excessive-retries: 5 > 3; 3 is fine; the threshold is an option.
    (
        "MA401",
        vs(
            "bad",
            "  hosts: [a]\n  http:\n  - route:\n    - destination: {host: reviews}\n    retries: {attempts: 5, perTryTimeout: 1s}\n    timeout: 10s\n",
        )
        + vs(
            "good",
            "  hosts: [b]\n  http:\n  - route:\n    - destination: {host: reviews}\n    retries: {attempts: 3, perTryTimeout: 1s}\n    timeout: 10s\n",
        ),
        {},
        {("MA401", "VirtualService", "default/bad", "spec.http[0].retries")},
    ),
    (
        "MA401",
        vs(
            "bad",
            "  hosts: [b]\n  http:\n  - route:\n    - destination: {host: reviews}\n    retries: {attempts: 3, perTryTimeout: 1s}\n    timeout: 10s\n",
        ),
        {"max-attempts": 2},
        {("MA401", "VirtualService", "default/bad", "spec.http[0].retries")},
    ),
    # MA402 unbounded-retry-time: retries without any timeout; twins with perTryTimeout or timeout.
    (
        "MA402",
        vs(
            "bad",
            "  hosts: [a]\n  http:\n  - route:\n    - destination: {host: reviews}\n    retries: {attempts: 2}\n",
        )
        + vs(
            "good-per-try",
            "  hosts: [b]\n  http:\n  - route:\n    - destination: {host: reviews}\n    retries: {attempts: 2, perTryTimeout: 2s}\n",
        )
        + vs(
            "good-timeout",
            "  hosts: [c]\n  http:\n  - route:\n    - destination: {host: reviews}\n    retries: {attempts: 2}\n    timeout: 3s\n",
        )
        + vs(
            "good-default",
            "  hosts: [d]\n  http:\n  - route:\n    - destination: {host: reviews}\n",
        ),
        {},
        {("MA402", "VirtualService", "default/bad", "spec.http[0].retries")},
    ),
    # MA403 no-retry-budget: 5xx retries to a DR without cap; subset policy with maxRetries caps; connect-failure only is fine.
    (
        "MA403",
        """
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  trafficPolicy: {connectionPool: {http: {maxRetries: 0}}}
  subsets:
  - {name: v1, labels: {version: v1}}
  - name: v2
    labels: {version: v2}
    trafficPolicy: {connectionPool: {http: {maxRetries: 5}}}
"""
        + vs(
            "bad",
            "  hosts: [a]\n  http:\n  - route:\n    - destination: {host: reviews, subset: v1}\n    retries: {attempts: 2, retryOn: 5xx, perTryTimeout: 1s}\n    timeout: 5s\n",
        )
        + vs(
            "good-capped",
            "  hosts: [b]\n  http:\n  - route:\n    - destination: {host: reviews, subset: v2}\n    retries: {attempts: 2, retryOn: 5xx, perTryTimeout: 1s}\n    timeout: 5s\n",
        )
        + vs(
            "good-connect",
            "  hosts: [c]\n  http:\n  - route:\n    - destination: {host: reviews, subset: v1}\n    retries: {attempts: 2, retryOn: connect-failure, perTryTimeout: 1s}\n    timeout: 5s\n",
        ),
        {},
        {("MA403", "VirtualService", "default/bad", "spec.http[0].retries")},
    ),
    # MA404 retry-timeout-mismatch: perTry >= timeout; 4 x 2s > 5s; 3 x 1s fits in 5s.
    (
        "MA404",
        vs(
            "bad-per-try",
            "  hosts: [a]\n  http:\n  - route:\n    - destination: {host: reviews}\n    retries: {attempts: 2, perTryTimeout: 5s}\n    timeout: 5s\n",
        )
        + vs(
            "bad-sum",
            "  hosts: [b]\n  http:\n  - route:\n    - destination: {host: reviews}\n    retries: {attempts: 3, perTryTimeout: 2s}\n    timeout: 5s\n",
        )
        + vs(
            "good",
            "  hosts: [c]\n  http:\n  - route:\n    - destination: {host: reviews}\n    retries: {attempts: 2, perTryTimeout: 1s}\n    timeout: 5s\n",
        ),
        {},
        {
            ("MA404", "VirtualService", "default/bad-per-try", "spec.http[0].retries"),
            ("MA404", "VirtualService", "default/bad-sum", "spec.http[0].retries"),
        },
    ),
    # MA405 missing-timeout; redirects need none.
    (
        "MA405",
        vs("bad", "  hosts: [a]\n  http:\n  - route:\n    - destination: {host: reviews}\n")
        + vs("good", ROUTE_TO.format("b", "reviews"))
        + vs("good-redirect", "  hosts: [c]\n  http:\n  - redirect: {uri: /new}\n"),
        {},
        {("MA405", "VirtualService", "default/bad", "spec.http[0]")},
    ),
    # MA406 unsafe-retry-method: POST with 5xx retries, POST on Istio's default retries; safe conditions and GET are fine.
    (
        "MA406",
        vs(
            "bad-explicit",
            "  hosts: [a]\n  http:\n  - match: [{method: {exact: POST}}]\n    route:\n    - destination: {host: reviews}\n    retries: {attempts: 2, retryOn: 5xx}\n    timeout: 5s\n",
        )
        + vs(
            "bad-default",
            "  hosts: [b]\n  http:\n  - match: [{method: {exact: PATCH}}, {method: {regex: 'POST|PATCH'}}]\n    route:\n    - destination: {host: reviews}\n    timeout: 5s\n",
        )
        + vs(
            "good-safe",
            "  hosts: [c]\n  http:\n  - match: [{method: {exact: POST}}]\n    route:\n    - destination: {host: reviews}\n    retries: {attempts: 2, retryOn: 'connect-failure,refused-stream'}\n    timeout: 5s\n",
        )
        + vs(
            "good-get",
            "  hosts: [d]\n  http:\n  - match: [{method: {exact: GET}}]\n    route:\n    - destination: {host: reviews}\n    retries: {attempts: 2, retryOn: 5xx}\n    timeout: 5s\n",
        )
        + vs(
            "good-off",
            "  hosts: [e]\n  http:\n  - match: [{method: {exact: POST}}]\n    route:\n    - destination: {host: reviews}\n    retries: {attempts: 0}\n    timeout: 5s\n",
        ),
        {},
        {
            ("MA406", "VirtualService", "default/bad-explicit", "spec.http[0].retries"),
            ("MA406", "VirtualService", "default/bad-default", "spec.http[0]"),
        },
    ),
    # MA407 retries-with-fault.
    (
        "MA407",
        vs(
            "bad",
            "  hosts: [a]\n  http:\n  - fault: {delay: {fixedDelay: 5s, percentage: {value: 100}}}\n    route:\n    - destination: {host: reviews}\n    retries: {attempts: 2, perTryTimeout: 1s}\n",
        )
        + vs(
            "good",
            "  hosts: [b]\n  http:\n  - fault: {delay: {fixedDelay: 5s, percentage: {value: 100}}}\n    route:\n    - destination: {host: reviews}\n",
        ),
        {},
        {("MA407", "VirtualService", "default/bad", "spec.http[0].fault")},
    ),
]


@pytest.mark.parametrize(
    ("rule_id", "text", "options", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_rule(rule_id: str, text: str, options: dict, expected: set) -> None:
    assert run_rule(rule_id, text, **options) == expected


def test_every_catalog_rule_beyond_the_join_rules_has_a_case() -> None:
    covered = {c[0] for c in CASES}
    # The join rules, and MA104 (repo declarations: tests/test_apps.py), are tested elsewhere.
    assert covered == {r.id for r in CATALOG} - {"MA101", "MA102", "MA103", "MA104", "MA201"}


def test_retry_evidence_gives_worst_case_and_max_tries() -> None:
    from auditor.mesh.retries import plan

    p = plan({"retries": {"attempts": 3, "perTryTimeout": "2s"}})
    ev = p.evidence()
    assert (ev["max_tries"], ev["worst_case_s"]) == (4, 8.275)  # 4 x 2s + 25+75+175 ms back-off
    default = plan({"timeout": "1.5s"}).evidence()
    assert (default["max_tries"], default["worst_case"], default["retries"]) == (
        3,
        "1.5s",
        "istio default (no retries block)",
    )
    assert plan({}).evidence()["worst_case"] == "unbounded"


def test_unreadable_kinds_silence_cross_reference_rules() -> None:
    objects = [
        o
        for o in yaml.safe_load_all(
            SVC
            + vs(
                "x",
                "  hosts: [a]\n  http:\n  - route:\n    - destination: {host: nope, subset: v9}\n",
            )
        )
        if o
    ]
    live = LiveSnapshot(
        cluster="t",
        origin="t",
        objects=tuple(objects),
        unread={"Service": "HTTP 403", "DestinationRule": "HTTP 403"},
    )
    inventory = build(
        live, GitSnapshot(repo="r", ref="HEAD", commit="c", manifests=()), ("owner",), NOW
    )
    config = parse_config(None, CATALOG, None)
    fired = {f.rule for f in engine.run(inventory, config, "t").findings}
    assert not fired & {"MA302", "MA303", "MA305", "MA308", "MA403"}
