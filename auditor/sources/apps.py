"""Apps: what a GitOps controller would apply from the repo, found the way controllers find them.

An app is a folder rendered one way (kustomize, Helm or a plain directory) with options
that change the objects (namespaces, name prefixes, values). Apps come from Argo CD
Applications and ApplicationSets (git directory generator), Flux Kustomizations and
HelmReleases whose source is this repo, kustomization folders that no other
kustomization builds on, Helm charts, and `apps:` in `.mesh-audit.yaml`.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

import yaml

from auditor.errors import InputError
from auditor.mesh.ignore import argo_rules, encode
from auditor.mesh.routes import mapping
from auditor.sources.kustomize import kustomization_file, referenced_folders, repo_path
from auditor.validate import check_strings, entries

CHART = "Chart.yaml"
_NOT_APPLIED = "no Argo CD Application or Flux object in this repo applies it"


class AppType(StrEnum):
    KUSTOMIZE = "kustomize"
    HELM = "helm"
    DIRECTORY = "directory"


@dataclass(frozen=True)
class App:
    """One folder as a controller renders it, and every option that changes its objects."""

    path: str
    type: AppType
    found_by: str
    name: str
    # Namespace for objects that name none (Argo CD destination, Helm release namespace).
    namespace: str | None = None
    # Namespace forced onto every object (kustomize `namespace:`, Flux targetNamespace).
    target_namespace: str | None = None
    name_prefix: str = ""
    name_suffix: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    # Extra kustomize patches and components (Flux), as JSON texts / repo paths.
    patches: tuple[str, ...] = ()
    components: tuple[str, ...] = ()
    recurse: bool = False
    include: str = ""
    exclude: str = ""
    value_files: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    release: str = ""
    substitute: tuple[tuple[str, str], ...] = ()
    # The manifest that defines the app (an Application, a Flux Kustomization), if any.
    defined_in: str = ""
    # Why the app is not rendered (it stays listed, and its files are still inputs).
    skip: str = ""
    # The Application's ignoreDifferences (auditor/ignore.py, encoded): they do not
    # change the render, only what counts as drift.
    ignore: tuple[tuple[Any, ...], ...] = ()
    # Flux builds a folder without a kustomization as if one listed every file in it, so
    # kustomize refuses an object declared twice there too.
    generated_kustomization: bool = False

    def options(self) -> str:
        """What, besides the input files, decides the render: part of its cache key."""
        data = asdict(self)
        for informative in ("found_by", "defined_in", "skip", "ignore"):
            data.pop(informative)
        return json.dumps(data, sort_keys=True)

    @property
    def label(self) -> str:
        return self.path or "."


@dataclass(frozen=True)
class RepoTree:
    """The commit as discovery sees it."""

    files: Mapping[str, str]  # path -> blob id
    folders: Mapping[str, str]  # folder -> tree id ("" is the root)
    docs: Mapping[str, list[tuple[int, Any]]]  # path -> (line, parsed document)
    kustomizations: Mapping[str, dict[str, Any]]  # folder -> parsed kustomization

    def objects(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for path, docs in self.docs.items():
            for _, data in docs:
                if isinstance(data, dict) and isinstance(data.get("metadata"), dict):
                    yield path, data

    def detect(self, folder: str) -> AppType:
        """How Argo CD reads a folder: a chart, a kustomization, else plain files."""
        if posixpath.join(folder, CHART) in self.files:
            return AppType.HELM
        if kustomization_file(folder, self.files) is not None:
            return AppType.KUSTOMIZE
        return AppType.DIRECTORY


@dataclass
class Discovery:
    apps: list[App] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Whether some controller object in the repo targets this repo.
    controllers: bool = False


def app_anchor(app: str) -> str:
    """The path CODEOWNERS is asked about for an app's objects: a file in the app's folder
    (the team that owns an overlay owns what it renders, even from a shared base)."""
    return posixpath.join("" if app == "." else app, "kustomization.yaml")


def normalize_url(url: str) -> str:
    """A repo URL reduced to host/path, so https, ssh and scp-like forms compare equal."""
    url = url.strip().lower()
    url = re.sub(r"^[a-z][a-z0-9+.-]*://", "", url)
    url = re.sub(r"^[^@/]*@", "", url)
    url = re.sub(r"^([^/:]+):(?!\d+/)", r"\1/", url)
    url = re.sub(r"^([^/:]+):\d+/", r"\1/", url)
    return url.removesuffix("/").removesuffix(".git")


def _group(data: dict[str, Any]) -> str:
    api = str(data.get("apiVersion") or "")
    return api.rpartition("/")[0]


def _folder(path: Any) -> str | None:
    """A folder a controller names, from the repo root; None when it leaves the repo."""
    if not isinstance(path, str):
        return None
    found = repo_path("", path.strip().lstrip("/"))
    return None if found.startswith("..") else found


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _pairs(value: Any) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(k), str(v)) for k, v in mapping(value).items()))


def _by_name(tree: RepoTree, group: str, kind: str) -> dict[tuple[str, str], dict[str, Any]]:
    """The repo's objects of one kind, by (name, namespace): what controllers refer to."""
    return {
        (_str(d["metadata"].get("name")), _str(d["metadata"].get("namespace"))): d
        for _, d in tree.objects()
        if d.get("kind") == kind and _group(d) == group
    }


class _Finder:
    def __init__(self, tree: RepoTree, remotes: tuple[str, ...]) -> None:
        self.tree = tree
        self.remotes = {normalize_url(r) for r in remotes}
        self.found = Discovery()
        self._configmaps = _by_name(tree, "", "ConfigMap")
        self._git_repos = _by_name(tree, "source.toolkit.fluxcd.io", "GitRepository")

    def ours(self, url: Any) -> bool:
        return not self.remotes or normalize_url(str(url or "")) in self.remotes

    def note(self, text: str) -> None:
        self.found.notes.append(text)

    # -- Argo CD -------------------------------------------------------------------

    def argo_app(self, doc: dict[str, Any], where: str) -> None:
        spec = mapping(doc.get("spec"))
        name = _str(doc["metadata"].get("name"))
        sources: Any = (
            spec.get("sources") if isinstance(spec.get("sources"), list) else [spec.get("source")]
        )
        sources = [s for s in sources if isinstance(s, dict)]
        refs = {
            _str(s.get("ref")): s for s in sources if s.get("ref") and self.ours(s.get("repoURL"))
        }
        destination = _str(mapping(spec.get("destination")).get("namespace")) or None
        ignore = tuple(
            tuple(r)
            for r in encode(argo_rules(spec.get("ignoreDifferences"), f"Application {name}"))
        )
        for source in sources:
            if not self.ours(source.get("repoURL")):
                self.note(
                    f"Application {name} ({where}) reads {source.get('repoURL')}: not this repo"
                )
                continue
            self.found.controllers = True
            if "path" not in source:
                continue
            folder = _folder(source.get("path"))
            if folder is None or (folder and folder not in self.tree.folders):
                self.note(
                    f"Application {name} ({where}): path {source.get('path')!r} is not in the repo"
                )
                continue
            app = self._argo_source(name, where, folder, source, refs, destination)
            self.found.apps.append(replace(app, ignore=ignore))

    def _argo_source(
        self,
        name: str,
        where: str,
        folder: str,
        source: dict[str, Any],
        refs: dict[str, dict[str, Any]],
        destination: str | None,
    ) -> App:
        """One source of an Argo CD Application as an App: its type as Argo CD decides it
        (a `helm` block unless the folder holds a kustomization, a `kustomize` block, else
        what the folder holds), kustomize and directory options, Helm values inline and
        value files (`$ref/...` ones only when `refs` names a source in this repo)."""
        kind = (
            AppType.HELM
            if source.get("helm") and self.tree.detect(folder) is not AppType.KUSTOMIZE
            else AppType.KUSTOMIZE
            if source.get("kustomize")
            else self.tree.detect(folder)
        )
        kust = mapping(source.get("kustomize"))
        directory = mapping(source.get("directory"))
        helm = mapping(source.get("helm"))
        values = []
        if isinstance(helm.get("values"), str):
            values.append(helm["values"])
        if isinstance(helm.get("valuesObject"), dict):
            values.append(yaml.safe_dump(helm["valuesObject"]))
        value_files = []
        for entry in (v for v in helm.get("valueFiles") or [] if isinstance(v, str)):
            if entry.startswith("$"):
                ref, _, rest = entry[1:].partition("/")
                if ref in refs:
                    value_files.append(posixpath.normpath(rest))
            else:
                value_files.append(posixpath.normpath(posixpath.join(folder, entry)))
        return App(
            path=folder,
            type=kind,
            found_by=f"Argo CD Application {name} ({where})",
            name=name,
            namespace=destination,
            target_namespace=_str(kust.get("namespace")) or None,
            name_prefix=_str(kust.get("namePrefix")),
            name_suffix=_str(kust.get("nameSuffix")),
            labels=_pairs(kust.get("commonLabels")),
            recurse=bool(directory.get("recurse")),
            include=_str(directory.get("include")),
            exclude=_str(directory.get("exclude")),
            value_files=tuple(value_files),
            values=tuple(values),
            release=_str(helm.get("releaseName")) or name,
            defined_in=where,
        )

    def argo_appset(self, doc: dict[str, Any], where: str) -> None:
        spec = mapping(doc.get("spec"))
        name = _str(doc["metadata"].get("name"))
        template = mapping(spec.get("template"))
        go = bool(spec.get("goTemplate"))
        for generator in (g for g in spec.get("generators") or [] if isinstance(g, dict)):
            git = mapping(generator.get("git"))
            dirs = [d for d in git.get("directories") or [] if isinstance(d, dict)]
            if not dirs:
                kinds = ", ".join(sorted(generator)) or "empty"
                self.note(f"ApplicationSet {name} ({where}): generator {kinds} is not expanded")
                continue
            if not self.ours(git.get("repoURL")):
                continue
            for folder in self._generated_folders(dirs):
                app = _fill(template, _path_params(folder), go)
                if not isinstance(app, dict) or "{{" in json.dumps(app):
                    self.note(
                        f"ApplicationSet {name} ({where}): template not understood for {folder}"
                    )
                    continue
                app.setdefault("metadata", {})
                if not isinstance(app["metadata"], dict):
                    continue
                app["metadata"].setdefault("name", posixpath.basename(folder))
                self.argo_app(app, f"{where}, ApplicationSet {name}")

    def _generated_folders(self, dirs: list[dict[str, Any]]) -> list[str]:
        include = [_glob(str(d.get("path") or "")) for d in dirs if not d.get("exclude")]
        exclude = [_glob(str(d.get("path") or "")) for d in dirs if d.get("exclude")]
        return sorted(
            f
            for f in self.tree.folders
            if f
            and any(p.fullmatch(f) for p in include)
            and not any(p.fullmatch(f) for p in exclude)
        )

    # -- Flux ----------------------------------------------------------------------

    def _flux_source(self, doc: dict[str, Any], ref: Any, what: str) -> bool:
        ref = mapping(ref)
        if ref.get("kind") != "GitRepository":
            self.note(f"{what}: source {ref.get('kind')} {ref.get('name')} is not this repo")
            return False
        namespace = _str(ref.get("namespace")) or _str(doc["metadata"].get("namespace"))
        repo = self._git_repos.get((_str(ref.get("name")), namespace))
        if repo is not None and not self.ours(mapping(repo.get("spec")).get("url")):
            self.note(f"{what}: GitRepository {ref.get('name')} is another repo")
            return False
        self.found.controllers = True
        return True

    def _configmap_values(self, refs: Any, namespace: str, default_key: str) -> Iterator[str]:
        for ref in (r for r in refs or [] if isinstance(r, dict)):
            if ref.get("kind", "ConfigMap") != "ConfigMap":
                continue
            cm = self._configmaps.get((_str(ref.get("name")), namespace))
            data = mapping(cm.get("data")) if cm else {}
            key = _str(ref.get("valuesKey")) or default_key
            if key in data:
                yield str(data[key])

    def flux_kustomization(self, doc: dict[str, Any], where: str) -> None:
        """A Flux Kustomization reading this repo becomes an App (kustomize when the folder
        has a kustomization, else a recursive directory) with its name affixes, labels,
        patches, components and post-build variables (ConfigMaps in `substituteFrom`
        first, inline `substitute` over them). Other sources and paths not in the repo
        become notes."""
        spec = mapping(doc.get("spec"))
        name = _str(doc["metadata"].get("name"))
        namespace = _str(doc["metadata"].get("namespace"))
        what = f"Flux Kustomization {name} ({where})"
        if not self._flux_source(doc, spec.get("sourceRef"), what):
            return
        folder = _folder(spec.get("path") or "./")
        if folder is None or (folder and folder not in self.tree.folders):
            self.note(f"{what}: path {spec.get('path')!r} is not in the repo")
            return
        post = mapping(spec.get("postBuild"))
        variables: dict[str, str] = {}
        for ref in (r for r in post.get("substituteFrom") or [] if isinstance(r, dict)):
            if ref.get("kind") != "ConfigMap":  # Flux requires the kind; Secrets are never read
                continue
            cm = self._configmaps.get((_str(ref.get("name")), namespace))
            variables.update({str(k): str(v) for k, v in mapping((cm or {}).get("data")).items()})
        variables.update({str(k): str(v) for k, v in mapping(post.get("substitute")).items()})
        kind = self.tree.detect(folder)
        self.found.apps.append(
            App(
                path=folder,
                type=AppType.KUSTOMIZE if kind is AppType.KUSTOMIZE else AppType.DIRECTORY,
                found_by=what,
                name=name,
                target_namespace=_str(spec.get("targetNamespace")) or None,
                name_prefix=_str(spec.get("namePrefix")),
                name_suffix=_str(spec.get("nameSuffix")),
                labels=_pairs(mapping(spec.get("commonMetadata")).get("labels")),
                patches=tuple(
                    json.dumps(p, sort_keys=True)
                    for p in spec.get("patches") or []
                    if isinstance(p, dict)
                ),
                components=tuple(
                    posixpath.normpath(posixpath.join(folder, c))
                    for c in spec.get("components") or []
                    if isinstance(c, str)
                ),
                recurse=True,
                substitute=tuple(sorted(variables.items())),
                defined_in=where,
                generated_kustomization=kind is not AppType.KUSTOMIZE,
            )
        )

    def flux_helmrelease(self, doc: dict[str, Any], where: str) -> None:
        spec = mapping(doc.get("spec"))
        name = _str(doc["metadata"].get("name"))
        namespace = _str(doc["metadata"].get("namespace")) or "default"
        what = f"Flux HelmRelease {name} ({where})"
        chart = mapping(mapping(spec.get("chart")).get("spec"))
        if not chart or not self._flux_source(doc, chart.get("sourceRef"), what):
            return
        folder = _folder(chart.get("chart"))
        if folder is None or posixpath.join(folder, CHART) not in self.tree.files:
            self.note(f"{what}: chart {chart.get('chart')!r} is not a chart folder in the repo")
            return
        values = list(self._configmap_values(spec.get("valuesFrom"), namespace, "values.yaml"))
        if isinstance(spec.get("values"), dict):
            values.append(yaml.safe_dump(spec["values"]))
        target = _str(spec.get("targetNamespace"))
        self.found.apps.append(
            App(
                path=folder,
                type=AppType.HELM,
                found_by=what,
                name=name,
                namespace=target or namespace,
                value_files=tuple(
                    posixpath.normpath(v)
                    for v in chart.get("valuesFiles") or []
                    if isinstance(v, str)
                ),
                values=tuple(values),
                release=_str(spec.get("releaseName")) or (f"{target}-{name}" if target else name),
                defined_in=where,
            )
        )

    # -- folders ---------------------------------------------------------------------

    def roots(self) -> None:
        """Kustomization folders nothing builds on, and Helm charts, not yet an app."""
        tree = self.tree
        referenced = referenced_folders(tree.kustomizations, tree.files, tree.folders)
        taken = {a.path for a in self.found.apps}
        charts = sorted(posixpath.dirname(p) for p in tree.files if posixpath.basename(p) == CHART)
        for folder in sorted(tree.kustomizations):
            if folder in referenced or folder in taken or _inside_chart(folder, charts):
                continue
            self.found.apps.append(
                App(folder, AppType.KUSTOMIZE, "kustomization root", folder or ".")
            )
        for folder in charts:
            if (
                folder in taken
                or folder in referenced
                or _inside_chart(folder, charts, strict=True)
            ):
                continue
            self.found.apps.append(
                App(folder, AppType.HELM, "Helm chart", posixpath.basename(folder))
            )


def _inside_chart(folder: str, charts: list[str], strict: bool = False) -> bool:
    return any(
        (folder == c and not strict) or folder.startswith(f"{c}/") for c in charts if c or folder
    )


def _glob(pattern: str) -> re.Pattern[str]:
    """A path glob as Argo CD's directory generator reads it: `*` stays in one folder."""
    out = []
    i = 0
    pattern = pattern.strip().strip("/")
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


def _path_params(folder: str) -> dict[str, Any]:
    base = posixpath.basename(folder)
    return {
        "path": folder,
        "basename": base,
        "basenameNormalized": re.sub(r"[^a-z0-9-]", "-", base.lower()),
        "segments": folder.split("/"),
    }


def _fill(value: Any, params: dict[str, Any], go: bool) -> Any:
    """An ApplicationSet template with the directory generator's parameters filled in."""
    if isinstance(value, dict):
        return {k: _fill(v, params, go) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, params, go) for v in value]
    if not isinstance(value, str) or "{{" not in value:
        return value
    segments = params["segments"]

    def segment(match: re.Match[str]) -> str:
        n = int(match.group(1))
        return segments[n] if n < len(segments) else match.group(0)

    if go:
        value = re.sub(r"{{-?\s*index\s+\.path\.segments\s+(\d+)\s*-?}}", segment, value)
        for key in ("basenameNormalized", "basename", "path"):
            value = re.sub(r"{{-?\s*\.path\." + key + r"\s*-?}}", params[key], value)
    else:
        value = re.sub(r"{{\s*path\[(\d+)\]\s*}}", segment, value)
        for key in ("basenameNormalized", "basename"):
            value = re.sub(r"{{\s*path\." + key + r"\s*}}", params[key], value)
        value = re.sub(r"{{\s*path\s*}}", params["path"], value)
    return value


_CONFIG_KEYS = (
    "path",
    "type",
    "namespace",
    "target-namespace",
    "name-prefix",
    "name-suffix",
    "values",
    "release",
    "recurse",
)


def config_apps(raw: Any, where: str) -> list[App]:
    """`apps:` from `.mesh-audit.yaml`: declared apps, each replacing any found at its path."""
    apps = []
    for i, (at, entry) in enumerate(entries(raw, where, _CONFIG_KEYS, "apps")):
        folder = _folder(entry.get("path"))
        if folder is None:
            raise InputError(f"{at}.path: expected a folder inside the repo")
        try:
            kind = AppType(entry.get("type", "kustomize"))
        except ValueError:
            kinds = "|".join(t.value for t in AppType)
            raise InputError(f"{at}.type: expected {kinds}, got {entry.get('type')!r}") from None
        check_strings(
            at, entry, ("namespace", "target-namespace", "name-prefix", "name-suffix", "release")
        )
        values = entry.get("values") or []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise InputError(f"{at}.values: expected a list of values files")
        apps.append(
            App(
                path=folder,
                type=kind,
                found_by=f"{where}[{i}]",
                name=entry.get("release") or posixpath.basename(folder) or ".",
                namespace=entry.get("namespace"),
                target_namespace=entry.get("target-namespace"),
                name_prefix=entry.get("name-prefix", ""),
                name_suffix=entry.get("name-suffix", ""),
                recurse=bool(entry.get("recurse", False)),
                value_files=tuple(posixpath.normpath(posixpath.join(folder, v)) for v in values),
                release=entry.get("release") or posixpath.basename(folder),
            )
        )
    return apps


_FINDERS: dict[tuple[str, str], Any] = {
    ("argoproj.io", "Application"): _Finder.argo_app,
    ("argoproj.io", "ApplicationSet"): _Finder.argo_appset,
    ("kustomize.toolkit.fluxcd.io", "Kustomization"): _Finder.flux_kustomization,
    ("helm.toolkit.fluxcd.io", "HelmRelease"): _Finder.flux_helmrelease,
}


def discover(tree: RepoTree, remotes: Iterable[str], declared: Iterable[App]) -> Discovery:
    """Every app of the commit, sorted by folder; apps no controller applies are kept with
    a `skip` reason when the repo has controllers."""
    finder = _Finder(tree, tuple(remotes))
    for path, data in tree.objects():
        handler = _FINDERS.get((_group(data), str(data.get("kind"))))
        if handler is not None:
            handler(finder, data, path)
    controller_apps = len(finder.found.apps)
    finder.roots()
    found = finder.found
    if found.controllers:
        found.apps[controller_apps:] = [
            replace(a, skip=_NOT_APPLIED) for a in found.apps[controller_apps:]
        ]
    overrides = {a.path: a for a in declared}
    found.apps = [a for a in found.apps if a.path not in overrides] + list(overrides.values())
    found.apps.sort(key=lambda a: (a.path, a.found_by))
    return found
