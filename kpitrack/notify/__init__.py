"""Chat notifications (`kpitrack notify`): the change set since a date, each chat
tool's payload (`payloads`), and delivery over HTTP with retries (`send`).

This layer sits above `reports/` (it reuses the digest's "what changed") and below
`render/`; it never prints and never reads the clock.
"""
