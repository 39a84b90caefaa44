"""`python -m auditor` runs the CLI (used by the benchmarks)."""

from auditor.cli.commands import main

main()
