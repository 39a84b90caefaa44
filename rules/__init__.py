"""The rule catalog: one module per rule; IDs are a public contract."""

from __future__ import annotations

from auditor.rulespec import Rule
from rules import (
    duplicate_host,
    duplicate_manifest,
    empty_subset,
    excessive_retries,
    expired,
    lingering_experiment,
    missing_subset,
    missing_timeout,
    no_retry_budget,
    not_applied,
    ownerless,
    retries_with_fault,
    retry_timeout_mismatch,
    spec_drift,
    unbounded_retry_time,
    unmanaged,
    unreferenced_destinationrule,
    unresolved_host,
    unsafe_retry_method,
    unused_subset,
    zero_weight,
)

_MODULES = (
    unmanaged,
    not_applied,
    spec_drift,
    duplicate_manifest,
    ownerless,
    expired,
    unresolved_host,
    missing_subset,
    unused_subset,
    empty_subset,
    zero_weight,
    lingering_experiment,
    unreferenced_destinationrule,
    duplicate_host,
    excessive_retries,
    unbounded_retry_time,
    no_retry_budget,
    retry_timeout_mismatch,
    missing_timeout,
    unsafe_retry_method,
    retries_with_fault,
)
CATALOG: tuple[Rule, ...] = tuple(Rule.from_module(m) for m in _MODULES)
