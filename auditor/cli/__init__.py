"""The command line: thin click commands over the pipeline, the store and the workflow.

`commands` (scan, findings, rules, apps, snapshot, demo), `workflow_commands` (tickets,
retire, report; loaded only when run), `options` (shared options, one-line errors and exit
codes), `progress` (stderr progress), `signals` (quiet Ctrl-C/SIGTERM), `browse`
(Datasette), `demo` (the built-in example).
"""
