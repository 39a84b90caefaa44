"""`.mesh-audit.yaml`: validated once, defaults filled in, before any rule sees it.

owner-keys: [owner, team, mesh-audit.io/owner]
rules:
  MA103:               # rule ID or name
    severity: low      # info|low|medium|high|critical
    enabled: true
    max-differences: 20   # any option the rule declares (type, default, bounds)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import yaml

from auditor.errors import InputError
from auditor.mesh.ignore import IgnoreRule, config_rules
from auditor.mesh.owners import DEFAULT_OWNER_KEYS
from auditor.model import Problem, Severity, Waiver
from auditor.pipeline.waivers import parse_date
from auditor.rulespec import Option, Rule
from auditor.sources.yamldocs import load_one
from auditor.validate import check_keys, check_strings, entries

_TOP_KEYS = ("owner-keys", "rules", "waivers", "apps", "ignore-differences")
_RULE_KEYS = ("severity", "enabled")
_WAIVER_KEYS = ("rule", "namespace", "name", "reason", "expires", "ticket")


@dataclass(frozen=True)
class RuleConfig:
    rule: Rule
    enabled: bool
    severity: Severity
    options: Mapping[str, Any]
    # The config sets `severity:`; it then wins over a problem's own grade.
    severity_configured: bool = False

    def severity_of(self, problem: Problem) -> Severity:
        """The config's severity, else the problem's own grade, else the rule's default."""
        if self.severity_configured or problem.severity is None:
            return self.severity
        return problem.severity


@dataclass(frozen=True)
class Config:
    owner_keys: tuple[str, ...] = DEFAULT_OWNER_KEYS
    rules: tuple[RuleConfig, ...] = field(default_factory=tuple)
    source: str | None = None
    waivers: tuple[Waiver, ...] = ()
    ignore: tuple[IgnoreRule, ...] = ()

    @property
    def rule_ids(self) -> dict[str, str]:
        """Rule ID or name -> rule ID."""
        return {ref: r.rule.id for r in self.rules for ref in (r.rule.id, r.rule.name)}

    @property
    def enabled(self) -> tuple[RuleConfig, ...]:
        return tuple(r for r in self.rules if r.enabled)


def _check_option(where: str, value: Any, option: Option) -> Any:
    """A value of the option's type within its bounds, else an error naming both."""
    if not option.accepts(value):
        raise InputError(f"{where}: expected {option.type_name}, got {value!r}")
    if option.kind in (int, float) and not option.in_bounds(value):
        raise InputError(f"{where}: expected {option.type_name} {option.bounds}, got {value!r}")
    return value


_ENABLED = Option(bool, True, "run the rule")


def _rule_config(rule: Rule, raw: Any, where: str) -> RuleConfig:
    if not isinstance(raw, dict):
        raise InputError(f"{where}: expected a mapping of settings")
    check_keys(where, raw, (*_RULE_KEYS, *rule.options))
    try:
        severity = Severity(raw.get("severity", rule.severity.value))
    except ValueError:
        levels = "|".join(s.value for s in Severity)
        raise InputError(f"{where}.severity: expected {levels}, got {raw['severity']!r}") from None
    enabled = _check_option(f"{where}.enabled", raw.get("enabled", True), _ENABLED)
    options = {
        name: _check_option(f"{where}.{name}", raw.get(name, option.default), option)
        for name, option in rule.options.items()
    }
    return RuleConfig(rule, enabled, severity, MappingProxyType(options), "severity" in raw)


def _waivers(raw: Any, rule_ids: dict[str, str], where: str) -> tuple[Waiver, ...]:
    """Validate `waivers:` from the config; any problem is an InputError naming the entry."""
    waivers = []
    for at, entry in entries(raw, where, _WAIVER_KEYS, "waivers"):
        rule = rule_ids.get(str(entry.get("rule")))
        if rule is None:
            raise InputError(
                f"{at}.rule: unknown rule {entry.get('rule')!r} (see `mesh-audit rules`)"
            )
        reason = entry.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise InputError(f"{at}.reason: a waiver needs a reason")
        expires = parse_date(entry.get("expires")) if "expires" in entry else None
        if expires is None:
            raise InputError(f"{at}.expires: a waiver needs an expiry date (YYYY-MM-DD)")
        check_strings(at, entry, ("namespace", "name", "ticket"))
        waivers.append(
            Waiver(
                rule=rule,
                reason=reason.strip(),
                expires=expires,
                source="config",
                namespace=entry.get("namespace", "*"),
                name=entry.get("name", "*"),
                ticket=entry.get("ticket"),
            )
        )
    return tuple(waivers)


def parse_config(data: Any, catalog: Iterable[Rule], source: str | None) -> Config:
    """The validated config; an error names the file, then the key's path in it
    (`team.yaml: rules.MA103.max-differences: expected int >= 0, got -5`)."""
    try:
        return _parse(data, tuple(catalog), source)
    except InputError as exc:
        # Key paths start empty inside _parse (".rules.MA103"; ": ..." at the top level).
        text = str(exc).removeprefix(".").removeprefix(": ")
        raise InputError(f"{source or 'config'}: {text}") from None


def _parse(data: Any, catalog: tuple[Rule, ...], source: str | None) -> Config:
    where = ""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(f"{where}: expected a mapping at the top level")
    check_keys(where, data, _TOP_KEYS)
    keys = data.get("owner-keys", list(DEFAULT_OWNER_KEYS))
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) and k for k in keys):
        raise InputError(f"{where}.owner-keys: expected a non-empty list of strings")
    raw_rules = data.get("rules") or {}
    if not isinstance(raw_rules, dict):
        raise InputError(f"{where}.rules: expected a mapping of rule ID or name to settings")
    by_ref = {ref: rule for rule in catalog for ref in (rule.id, rule.name)}
    waivers = _waivers(
        data.get("waivers"), {ref: r.id for ref, r in by_ref.items()}, f"{where}.waivers"
    )
    settings: dict[str, Any] = {}
    for ref, raw in raw_rules.items():
        rule = by_ref.get(str(ref))
        if rule is None:
            raise InputError(f"{where}.rules: unknown rule {ref!r} (see `mesh-audit rules`)")
        if rule.id in settings:
            raise InputError(f"{where}.rules: {rule.id} is configured twice")
        settings[rule.id] = raw
    return Config(
        owner_keys=tuple(keys),
        rules=tuple(
            _rule_config(r, settings.get(r.id, {}), f"{where}.rules.{r.id}") for r in catalog
        ),
        source=source,
        waivers=waivers,
        ignore=config_rules(data.get("ignore-differences"), f"{where}.ignore-differences"),
    )


def load_config(text: str | None, source: str | None, catalog: Iterable[Rule]) -> Config:
    """The config text read with the repo (--config FILE, else its `.mesh-audit.yaml`),
    else defaults. Its `apps:` were already read with the repo (auditor/sources/apps.py)."""
    if text is None:
        return parse_config({}, catalog, None)
    try:
        data = load_one(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise InputError(f"{source}{line}: invalid YAML: {problem}") from None
    return parse_config(data, catalog, source)
