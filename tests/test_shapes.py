"""No value at any field of any object crashes a scan: a finding, a problem line, or nothing.

Objects are generated from valid examples of every kind mesh-audit reads by replacing
the value at one random path (or adding a field) with an arbitrary JSON value, then run
through the inventory and every rule, as tests/test_rules.py's `run_rule` does.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from auditor.config import parse_config
from auditor.mesh.kinds import BY_NAME, is_k8s_object, key_of
from auditor.mesh.retries import RetryPlan
from auditor.model import Manifest
from auditor.pipeline import engine, shapes
from auditor.pipeline.inventory import build
from auditor.sources import LiveSnapshot
from auditor.sources.gitops import GitSnapshot
from conftest import GitRepo, dump, live, manifest, run, scan_json
from rules import CATALOG

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
CONFIG = parse_config({}, CATALOG, None)
META = {"labels": {"app": "reviews", "owner": "team-a"}, "annotations": {"a": "b"}}
DEST = {"host": "reviews", "subset": "v1", "port": {"number": 9080}}
EXAMPLES = [
    live(
        "VirtualService",
        "reviews",
        "default",
        {
            "hosts": ["reviews"],
            "gateways": ["mesh"],
            "exportTo": ["*"],
            "http": [
                {
                    "match": [{"method": {"exact": "POST"}}],
                    "route": [
                        {"destination": DEST, "weight": 0},
                        {"destination": {**DEST, "subset": "v2"}, "weight": 100},
                    ],
                    "mirror": DEST,
                    "mirrors": [{"destination": DEST}],
                    "retries": {"attempts": 3, "retryOn": "5xx", "perTryTimeout": "2s"},
                    "timeout": "5s",
                    "fault": {"delay": {"fixedDelay": "1s"}},
                }
            ],
            "tcp": [{"route": [{"destination": DEST, "weight": 50}]}],
            "tls": [{"route": [{"destination": DEST}]}],
        },
        managedFields=[{"manager": "kubectl", "time": "2026-01-01T00:00:00Z"}],
        creationTimestamp="2026-01-01T00:00:00Z",
        **META,
    ),
    live(
        "DestinationRule",
        "reviews",
        "default",
        {
            "host": "reviews",
            "exportTo": ["."],
            "trafficPolicy": {
                "connectionPool": {"http": {"maxRetries": 3}},
                "portLevelSettings": [
                    {"port": {"number": 9080}, "connectionPool": {"http": {"maxRetries": 1}}}
                ],
                "retryBudget": {"percent": 20},
            },
            "subsets": [
                {"name": "v1", "labels": {"version": "v1"}, "trafficPolicy": {"retryBudget": {}}},
                {"name": "v3", "labels": {"version": "v3"}},
            ],
        },
        **META,
    ),
    live(
        "ServiceEntry",
        "ext",
        "default",
        {"hosts": ["*.example.com"], "ports": [{"number": 443}], "exportTo": ["*"]},
    ),
    live(
        "Gateway",
        "gw",
        "default",
        {"selector": {"istio": "ingress"}, "servers": [{"hosts": ["*"]}]},
    ),
    live(
        "Service", "reviews", "default", {"selector": {"app": "reviews"}, "ports": [{"port": 9080}]}
    ),
    live("Pod", "reviews-v1", "default", labels={"app": "reviews", "version": "v1"}),
    live("Namespace", "default", "", labels={"owner": "team-a"}, annotations={"x": "y"}),
]

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _paths(item, (*path, i))
    return found


def _replace(obj: dict[str, Any], path: tuple[Any, ...], value: Any, add: str | None) -> None:
    parent = obj
    for step in path[:-1]:
        parent = parent[step]
    target = parent[path[-1]]
    if add is not None and isinstance(target, dict):
        target[add] = value  # a new field where the example has none
    else:
        parent[path[-1]] = value


@st.composite
def damaged(draw: st.DrawFn) -> tuple[int, dict[str, Any]]:
    index = draw(st.integers(0, len(EXAMPLES) - 1))
    obj = copy.deepcopy(EXAMPLES[index])
    path = draw(st.sampled_from([p for p in _paths(obj) if p[0] in ("metadata", "spec")]))
    add = draw(st.none() | st.sampled_from(["retries", "timeout", "port", "subsets", "x"]))
    _replace(obj, path, draw(JSON), add)
    return index, obj


def _scan(objects: list[dict[str, Any]], manifests: list[dict[str, Any]]) -> tuple[int, int]:
    snapshot = LiveSnapshot(cluster="t", origin="dump:t.yaml", objects=tuple(objects))
    docs = tuple(
        Manifest(key_of(m), m, "apps/x.yaml", n + 1, None) for n, m in enumerate(manifests)
    )
    git = GitSnapshot(repo="r", ref="HEAD", commit="c", manifests=docs)
    inventory = build(snapshot, git, ("owner",), NOW)
    return len(engine.run(inventory, CONFIG, "t").findings), len(inventory.rejected)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged(), st.booleans())
def test_any_value_anywhere_gives_a_finding_a_problem_or_nothing(
    case: tuple[int, dict[str, Any]], in_git: bool
) -> None:
    index, obj = case
    assume(is_k8s_object(obj))  # what the dump and Git readers pass on (else exit 2 or skipped)
    others = [o for i, o in enumerate(EXAMPLES) if i != index]
    if in_git:  # the damaged copy is the manifest; the live object is the example
        _scan([*EXAMPLES], [obj])
    else:
        _scan([*others, obj], [EXAMPLES[0]])


def test_every_kind_read_has_a_shape() -> None:
    assert set(shapes.SPECS) == set(BY_NAME)


def test_problems_name_the_field_path() -> None:
    obj = copy.deepcopy(EXAMPLES[0])
    obj["spec"]["http"][0]["retries"]["attempts"] = "3"
    obj["metadata"]["labels"] = ["a"]
    assert shapes.problems(obj) == [
        "metadata.labels: expected a mapping of string to string, got ['a']",
        "spec.http[0].retries.attempts: expected an integer from 0 to 2147483647, got '3'",
    ]


def test_a_damaged_object_is_left_out_on_both_sides_and_named() -> None:
    bad = copy.deepcopy(EXAMPLES[0])
    bad["spec"]["http"] = {"route": []}
    snapshot = LiveSnapshot(cluster="t", origin="dump:t.yaml", objects=(bad, *EXAMPLES[1:]))
    git = GitSnapshot(
        repo="r",
        ref="HEAD",
        commit="c",
        manifests=(Manifest(key_of(EXAMPLES[0]), EXAMPLES[0], "a.yaml", 3, None),),
    )
    inventory = build(snapshot, git, ("owner",), NOW)
    assert "VirtualService" not in {r.key.kind for r in inventory.resources}  # not "not applied"
    assert inventory.rejected == (
        "dump:t.yaml: VirtualService default/reviews: spec.http: expected a list, got {'route': []}",
    )


def test_a_bad_service_makes_services_unread_rather_than_missing() -> None:
    svc = copy.deepcopy(EXAMPLES[4])
    svc["spec"]["selector"] = ["app=reviews"]
    snapshot = LiveSnapshot(cluster="t", origin="dump:t.yaml", objects=(*EXAMPLES[:4], svc))
    inventory = build(
        snapshot, GitSnapshot(repo="r", ref="HEAD", commit="c", manifests=()), (), NOW
    )
    assert "Service" in inventory.unread
    assert inventory.rejected[0].endswith(
        "spec.selector: expected a mapping of string to string, got ['app=reviews']"
    )


def test_backoff_has_a_closed_form_for_huge_attempts() -> None:
    plan = RetryPlan(True, 2**31 - 1, ("5xx",), 1.0, None)
    assert plan.backoff == pytest.approx(0.025 + 0.075 + 0.175 + (2**31 - 4) * 0.25)


def test_a_scan_with_a_badly_typed_document_is_partial_and_names_it(make_repo, tmp_path) -> None:
    repo = make_repo()
    repo.commit(
        {
            "a.yaml": manifest("VirtualService", "a", {"hosts": ["a"], "http": "oops"}, "default"),
            "b.yaml": manifest(
                "VirtualService", "b", {"hosts": ["b"]}, "default", labels={"team": 7}
            ),
        }
    )
    objects = [
        live(
            "VirtualService",
            "c",
            "default",
            {"hosts": "c", "http": [{"retries": {"attempts": 10_000_000}}]},
        )
    ]
    result, doc = scan_json(
        "--repo",
        repo.path,
        "--cluster-dump",
        dump(tmp_path / "d.yaml", objects),
        "--db",
        tmp_path / "db",
    )
    assert result.exit_code == 3, result.output
    reasons = doc["scan"]["partial_reasons"]
    assert "a.yaml:1: VirtualService default/a: spec.http: expected a list, got 'oops'" in reasons
    assert (
        "b.yaml:1: VirtualService default/b: metadata.labels['team']: expected a string, got 7"
        in reasons
    )
    assert any("VirtualService default/c: spec.hosts: expected a list" in r for r in reasons)
    assert "Traceback" not in result.output


def _deep_through_aliases(anchors: int) -> str:
    """Each anchor nests the one before 90 levels down; the last key names them shallow-first.

    Every list is under 100 levels where it is written, but the expansion is 90 levels
    per anchor deep: a depth limit must hold wherever a shared value is reached."""
    lines = ["a0: &a0 " + "[" * 90 + "1" + "]" * 90]
    lines += [f"a{i}: &a{i} " + "[" * 90 + f"*a{i - 1}" + "]" * 90 for i in range(1, anchors)]
    refs = ", ".join(f"*a{i}" for i in reversed(range(anchors)))
    return "\n".join([*lines, f"refs: [{refs}]"]) + "\n"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("aliased-deep.yaml", _deep_through_aliases(15)),
        (
            "bomb.yaml",
            "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n"
                for p, c in zip("abcdefgh", "bcdefghi", strict=True)
            ),
        ),
        ("deep.yaml", "a: " + "[" * 10_000 + "]" * 10_000 + "\n"),
        ("deep.json", "[" * 10_000 + "]" * 10_000),
        ("self.yaml", "a: &a [*a]\n"),
    ],
)
def test_alias_bombs_and_deep_nesting_are_rejected_with_a_reason(
    tmp_path, make_repo, name: str, text: str
) -> None:
    repo = make_repo()
    repo.commit({f"apps/{name}": text})
    (tmp_path / name).write_text(text)
    result = run(
        "scan", "--repo", repo.path, "--cluster-dump", tmp_path / name, "--db", tmp_path / "db"
    )
    assert result.exit_code == 2
    assert result.stderr.startswith(f"mesh-audit: error: {tmp_path / name}:1: ")
    assert any(w in result.stderr for w in ("nest", "alias")), result.stderr
    good = dump(tmp_path / "ok.yaml", [EXAMPLES[4]])
    result, doc = scan_json("--repo", repo.path, "--cluster-dump", good, "--db", tmp_path / "db")
    assert result.exit_code == 3
    assert any(r.startswith(f"apps/{name}:1: ") for r in doc["scan"]["partial_reasons"])


@pytest.fixture(scope="module")
def reviews_repo(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    """The repository the damaged dumps are scanned against (it is never damaged)."""
    repo = GitRepo(tmp_path_factory.mktemp("reviews") / "repo")
    repo.commit({"a.yaml": manifest("VirtualService", "reviews", EXAMPLES[0]["spec"], "default")})
    return repo


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(damaged(), st.sampled_from(["yaml", "json"]))
def test_any_damaged_dump_ends_in_a_documented_exit_code(
    tmp_path_factory, reviews_repo: GitRepo, case, fmt: str
) -> None:
    """End to end, through the dump reader, the store and the JSON output."""
    import json

    import yaml

    _, obj = case
    work = tmp_path_factory.mktemp("dump")
    doc = {"apiVersion": "v1", "kind": "List", "items": [*EXAMPLES, obj]}
    path = work / f"d.{fmt}"
    path.write_text(json.dumps(doc) if fmt == "json" else yaml.safe_dump(doc))
    result = run(
        "scan",
        "--repo",
        reviews_repo.path,
        "--cluster-dump",
        path,
        "--db",
        work / "db",
        "--format",
        "json",
    )
    assert result.exit_code in (0, 2, 3), result.output
    assert "internal error" not in result.stderr and "Traceback" not in result.output


def test_a_config_with_an_impossible_date_or_a_bad_tag_is_exit_2(tmp_path, make_repo) -> None:
    repo = make_repo()
    repo.commit({})
    good = dump(tmp_path / "d.yaml", [EXAMPLES[4]])
    for text in ("waivers: [{rule: MA101, reason: x, expires: 2027-13-45}]", "rules: !!int x"):
        (tmp_path / "c.yaml").write_text(text)
        result = run(
            "scan",
            "--repo",
            repo.path,
            "--cluster-dump",
            good,
            "--config",
            tmp_path / "c.yaml",
            "--db",
            tmp_path / "db",
        )
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith(f"mesh-audit: error: {tmp_path / 'c.yaml'}")
