"""The SQLite store: scans, findings (one row per fingerprint), sightings, status events
and tickets.

`schema` (tables, views, migrations), `session` (the one way to open it: recovery, locks,
one transaction, clear errors), `lifecycle` (a scan's findings through their statuses),
`queries` (what tickets, retirement and reports read and write).
"""

from auditor.store.lifecycle import ScanRecord, record
from auditor.store.queries import (
    TicketInputs,
    history,
    mark_retiring,
    query,
    record_tickets,
    retire_candidates,
    ticket_candidates,
)
from auditor.store.schema import TO_FIX, migrations
from auditor.store.session import (
    DEFAULT_LOCK_TIMEOUT,
    DatabaseLocked,
    check_readable,
    default_lock_timeout,
    session,
)

__all__ = [
    "DEFAULT_LOCK_TIMEOUT",
    "TO_FIX",
    "DatabaseLocked",
    "ScanRecord",
    "TicketInputs",
    "check_readable",
    "default_lock_timeout",
    "history",
    "mark_retiring",
    "migrations",
    "query",
    "record",
    "record_tickets",
    "retire_candidates",
    "session",
    "ticket_candidates",
]
