"""Storage: `store.py` (raw bytes by SHA-256, written once and synced), `db.py` and `models.py` (the database,
SQLite or PostgreSQL, migrated by Alembic from migrations/), `spool.py` (IMAP mail archived raw with the mailbox
position, derived behind), `ingest.py` (a batch derived and stored in one commit with the receipts it is
owed) with `attempts.py` (what a crash interrupted), `readings.py` and
`fulltext.py` (derived rows and the search index), `rederive.py`, `search.py`, `evidence.py` and
`findings.py` (what scoring reads), `owed.py` and `outbox.py` (replies owed and mail to send),
`entries.py`, `corrections.py`, `staff_senders.py`, `decisions.py` and `queue.py` (staff decisions and what
needs a person), `closing.py` (plan years kept), `users.py`, `state.py`, `locks.py`, `verify.py`.

May import replies/, scoring/ and parsers/. Only bot/ imports it.
"""
