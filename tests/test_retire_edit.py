"""Retire's manifest editor, over generated files: removing one document keeps every
other one byte for byte, kustomization edits touch only `resources:`, and no input makes
it fail other than with a clear EditError."""

from __future__ import annotations

import contextlib
import json

import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from auditor.workflow.retire_edit import EditError, drop_resource, pieces, remove_document

_NAMES = st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True)
_COMMENTS = st.sampled_from(["", "# owned by shop\n", "# left from 2025: 'quoted' \"too\"\n"])


@st.composite
def _files(draw):
    """(text, identities in order, line ending): a multi-document manifest file."""
    identities = draw(st.lists(st.tuples(_NAMES, _NAMES), min_size=1, max_size=5, unique=True))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    docs = []
    for namespace, name in identities:
        doc = yaml.safe_dump(
            {
                "apiVersion": "networking.istio.io/v1",
                "kind": "VirtualService",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"hosts": [name], "http": [{"route": [{"destination": {"host": name}}]}]},
            },
            default_flow_style=draw(st.sampled_from([False, None])),
        )
        docs.append(draw(_COMMENTS) + doc)
    separator = draw(st.sampled_from(["---\n", "--- \n", "---  # next\n"]))
    text = ("---\n" if draw(st.booleans()) else "") + separator.join(docs)
    if not draw(st.booleans()):
        text = text.rstrip("\n")
    return text.replace("\n", newline), identities


@settings(max_examples=80, deadline=None)
@given(_files(), st.data())
def test_removing_a_document_keeps_the_others_byte_for_byte(file, data) -> None:
    text, identities = file
    index = data.draw(st.integers(0, len(identities) - 1))
    namespace, name = identities[index]
    out = remove_document(text, "f.yaml", ("VirtualService", namespace, name), "default")
    if len(identities) == 1:
        assert out is None
        return
    assert out is not None
    bodies = [p.body for p in pieces(text) if p.body.strip()]
    kept = [p.body for p in pieces(out) if p.body.strip()]
    assert kept == bodies[:index] + bodies[index + 1 :]
    left = [
        (d["metadata"]["namespace"], d["metadata"]["name"]) for d in yaml.safe_load_all(out) if d
    ]
    assert left == identities[:index] + identities[index + 1 :]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(_NAMES, min_size=1, max_size=6, unique=True),
    st.data(),
    st.sampled_from(["flow", "block", "indented"]),
    st.sampled_from(["", "'", '"', "./"]),
)
def test_kustomization_edits_touch_only_resources(names, data, style, quote) -> None:
    entries = [f"{n}.yaml" for n in names]
    target = data.draw(st.sampled_from(entries))
    written = [f"{quote}{e}{quote}" if quote != "./" else f"./{e}" for e in entries]
    rest = [w for w, e in zip(written, entries, strict=True) if e != target]

    def kustomization(items: list[str]) -> str:
        if style == "flow":
            listing = f"resources: [{', '.join(items)}]  # the app\n"
        else:
            pad = "  " if style == "indented" else ""
            listing = "resources:\n" + "".join(f"{pad}- {w}  # why\n" for w in items)
        return (
            "# app kustomization\n"
            "namespace: shop\n"
            + listing
            + "images:\n- name: cart\n  newTag: '1.2'\n"
            + "patches:\n    - path: old.yaml  # not a resource\n"
        )

    text = kustomization(written)
    # Exactly the entry goes; every other byte stays (an emptied block list is null).
    assert drop_resource(text, target) == kustomization(rest)
    assert drop_resource(text.replace("\n", "\r\n"), target) == kustomization(rest).replace(
        "\n", "\r\n"
    )
    assert drop_resource(text, "absent.yaml") is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
@example("[._]")  # ruamel.yaml's float resolver raised ValueError on it
def test_no_text_breaks_the_editor(text: str) -> None:
    for edit in (
        lambda: remove_document(text, "f.yaml", ("VirtualService", "a", "b"), "default"),
        lambda: drop_resource(text, "a.yaml"),
    ):
        with contextlib.suppress(EditError):
            edit()


# Three forms, two to five items, any index: 50 examples cover the shapes several times.
@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(_NAMES, _NAMES), min_size=2, max_size=5, unique=True),
    st.data(),
    st.sampled_from(["yaml", "json", "json-compact"]),
)
def test_removing_an_item_of_a_list_file(identities, data, form) -> None:
    items = [
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "DestinationRule",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"host": name, "subsets": [{"name": "v1", "labels": {"v": "1"}}]},
        }
        for namespace, name in identities
    ]
    listing = {"apiVersion": "v1", "kind": "List", "items": items}
    text = {
        "yaml": "# kubectl get -o yaml\n" + yaml.safe_dump(listing),
        "json": json.dumps(listing, indent=2) + "\n",
        "json-compact": json.dumps(listing),
    }[form]
    index = data.draw(st.integers(0, len(items) - 1))
    namespace, name = identities[index]
    out = remove_document(text, "l.yaml", ("DestinationRule", namespace, name), "default")
    assert out is not None
    assert yaml.safe_load(out)["items"] == items[:index] + items[index + 1 :]
    if form != "yaml":
        json.loads(out)
    else:
        assert out.startswith("# kubectl get -o yaml\n")
