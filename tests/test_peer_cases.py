"""Peer conformance: istioctl analyze's own analyzer inputs and expected results.

Inputs are ../shared/peer-cases/istio-analyze/ (Apache-2.0, Istio Authors; provenance
and the upstream expectations in its EXPECTED.md). Each file is read as a cluster dump
and only the mesh-audit rule that overlaps the upstream analyzer runs, as upstream runs
one analyzer per file. Mapping: MA302 <-> IST0101 (host) and IST0174, MA303 <-> IST0101
(subset), MA305 <-> IST0173, MA309 <-> IST0109. Objects without a namespace land in
`default`, as they do on a cluster.
"""

from __future__ import annotations

import pytest

from conftest import PEER_CASES
from rule_runner import run_rule

pytestmark = pytest.mark.skipif(
    not PEER_CASES.exists(), reason="../shared/peer-cases is not present"
)


def _names(rule: str, file: str) -> set[tuple[str, str]]:
    return {(kind, name) for _, kind, name, _ in run_rule(rule, (PEER_CASES / file).read_text())}


def _locators(rule: str, file: str) -> set[tuple[str, str]]:
    return {
        (name, locator) for _, _, name, locator in run_rule(rule, (PEER_CASES / file).read_text())
    }


def test_ist0101_destination_hosts() -> None:
    found = _locators("MA302", "virtualservice_destinationhosts.yaml")
    assert found == {
        # `- {}` route entry: empty host; and host "reviews-bogus": two findings, as upstream has two.
        ("default/reviews-bogushost", "spec.http[0].route[0].destination"),
        ("default/reviews-bogushost", "spec.http[0].route[1].destination"),
        # other.bookinfo.com: its ServiceEntry in `other` is exported only to ".".
        ("default/reviews-bookinfo-other", "spec.http[0].route[0].destination"),
        ("default/reviews-mirror-bogushost", "spec.http[0].mirror"),
        # reviews:999 while the Service exposes only port 42.
        ("default/reviews-bogusport", "spec.http[0].route[0].destination"),
        # details is exported only to namespace banana.
        ("istio-system/cross-namespace-details", "spec.http[0].route[0].destination"),
        # The VirtualService's own exportTo [bogus] is where the host must be visible.
        ("hello/hello-export-to-bogus", "spec.http[0].route[0].destination"),
    }
    # Must stay clean per EXPECTED.md (the FQDN, ServiceEntry, wildcard, exportTo cases);
    # reviews-2port-missing is IST0112 (port selector required), a check we do not make.
    clean = {
        "reviews",
        "reviews-fqdn",
        "reviews-external",
        "reviews-bookinfo-eu",
        "reviews-bookinfo-eu-wildcard",
        "reviews-mirror",
        "reviews-2port-present",
        "cross-namespace",
        "banana-details",
        "hello",
        "vs-to-extporto-serviceentry",
        "reviews-2port-missing",
    }
    assert not {n.split("/")[1] for n, _ in found} & clean


def test_ist0101_destination_subsets() -> None:
    assert _locators("MA303", "virtualservice_destinationrules.yaml") == {
        ("default/reviews-bogussubset", "spec.http[0].route[0].destination"),
        ("default/reviews-mirror-bogussubset", "spec.http[0].mirror"),
    }


def test_ist0174_destinationrule_unknown_host() -> None:
    # Nothing routes to the fake host either: one finding for the dead rule, from MA308
    # (MA302 reports a DestinationRule host only when a route sends traffic there).
    assert _names("MA308", "destinationrule-with-fake-host.yaml") == {
        ("DestinationRule", "default/fake-host")
    }
    assert _names("MA302", "destinationrule-with-fake-host.yaml") == set()


def test_ist0173_subset_selects_no_pods() -> None:
    assert _names("MA305", "destinationrule-subsets-not-select-pods.yaml") == {
        ("DestinationRule", "default/subsets-not-select-pods")
    }
    # Only "empty-region" (subsets[0]); app-v1 selects the pod.
    assert _locators("MA305", "destinationrule-empty-topology-labels.yaml") == {
        ("default/empty-topology-labels", "spec.subsets[0]")
    }


def test_ist0173_topology_labels_deliberate_difference() -> None:
    # Upstream expects NO finding: it adds the pod's Node topology labels (region, zone,
    # hostname) before matching. mesh-audit reads no Nodes (its read-only role does not
    # list them), so subsets that select only by node topology look empty. The subset
    # that selects by pod labels (subsets[2]) stays clean, as upstream.
    assert _locators("MA305", "destinationrule-subsets-with-topology-labels.yaml") == {
        ("default/subsets-with-topology-labels", "spec.subsets[0]"),
        ("default/subsets-with-topology-labels", "spec.subsets[1]"),
        ("default/subsets-with-topology-labels", "spec.subsets[3]"),
    }


def test_ist0109_conflicting_mesh_virtualservice_hosts() -> None:
    assert _names("MA309", "virtualservice_conflictingmeshgatewayhosts.yaml") == {
        ("VirtualService", n)
        for n in (
            "team3/ratings",
            "team4/ratings",
            "foo/ratings",
            "bar/ratings",
            "foo/productpage",
            "foo/bogus-productpage",
            "team2/ratings",
        )
    }  # not foo/reviews, bar/reviews (gateway only), team1/ratings (exportTo ".")
    assert _names("MA309", "virtualservice_conflictingmeshgatewayhosts_with_exportto.yaml") == {
        ("VirtualService", f"{ns}/{n}")
        for ns in ("foo", "bar")
        for n in ("productpage", "productpage-c", "productpage-d")
    }  # not productpage-b: its exportTo scopes do not overlap
