"""Istio and Kubernetes semantics, free of I/O: what the rules and the inventory rely on.

`kinds` (what is read, trimmed), `hosts` (Istio host resolution, exportTo), `routes`
(destinations with locators), `retries` (retry and timeout semantics), `normalize` (spec
diffs that ignore what the API server rewrites), `owners` (the owner chain),
`controllers` (what Argo Rollouts and Flagger manage), `ignore` (ignore-differences).
"""
