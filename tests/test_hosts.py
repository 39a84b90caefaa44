"""Host arithmetic on its own: qualifying short names and overlapping (wildcard) hosts."""

from __future__ import annotations

import pytest

from auditor.mesh.hosts import fqdn, host_matches


@pytest.mark.parametrize(
    ("host", "namespace", "qualified"),
    [
        ("reviews", "shop", "reviews.shop.svc.cluster.local"),
        ("reviews.shop", "other", "reviews.shop"),  # a dot: already qualified enough
        ("reviews.shop.svc.cluster.local", "other", "reviews.shop.svc.cluster.local"),
        ("*.example.com", "shop", "*.example.com"),
        ("*", "shop", "*"),
        ("", "shop", ""),
    ],
)
def test_fqdn_qualifies_only_short_names(host: str, namespace: str, qualified: str) -> None:
    assert fqdn(host, namespace) == qualified


@pytest.mark.parametrize(
    ("a", "b", "overlap"),
    [
        ("a.example.com", "a.example.com", True),
        ("a.example.com", "b.example.com", False),
        ("*", "anything.at.all", True),
        ("*.example.com", "a.example.com", True),
        ("*.example.com", "a.b.example.com", True),
        ("*.example.com", "example.com", False),
        ("*.example.com", "a.example.org", False),
        ("*.b.example.com", "*.example.com", True),  # one wildcard inside the other
        ("*.example.com", "*.example.org", False),
        ("a.example.com", "a.example.co", False),
    ],
)
def test_host_matches_is_symmetric_overlap(a: str, b: str, overlap: bool) -> None:
    assert host_matches(a, b) is overlap
    assert host_matches(b, a) is overlap
