"""`python -m auditor` runs the CLI (used by the benchmarks)."""

from auditor.cli import main

main()
