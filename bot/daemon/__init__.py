"""Mail in, and the process that runs unattended: `serve.py` (a worker per mailbox, the sender, the schedule,
the background re-derivation), `imap.py` (fetching, IDLE), `poll.py` (one pass over every mailbox),
`maildir.py`, `importer.py` (backfill from files), `scheduled.py` (the monthly jobs), `status.py` (how it
does), `deps.py` (the database, raw store, recognizer and reader sandbox a pass works with).

May import outgoing/, services/, the configuration and everything below bot/. Must never import cli/,
web/ or demo/: a mailbox worker carries nothing of the command line or the web app.
"""
