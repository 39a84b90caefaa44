"""The monthly retirement workflow, reading the store: tickets, retirement, monthly numbers.

`ticketing` (one ticket per owner per period, idempotently), `github` (GitHub issues),
`retire` and `retire_edit` (the plan, and a branch that removes or edits dead config),
`numbers` (the month rebuilt from the status history), `weblink` (links to manifest lines).
"""
