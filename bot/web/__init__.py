"""`mailroom web`: the archive, standings and matrix for staff and auditors, 自查 for the units' clerks.

`app.py` builds the Flask app (create_app) and registers the pages; `site.py` is what every page works with;
`auth.py` signs people in; `archive_pages.py`, `download.py`, `score_pages.py`, `entries_pages.py`,
`queue_pages.py` and `selfcheck_pages.py` are the pages by concern; `present.py` turns rows into masked
views; `server.py` serves the app with waitress. The command itself is bot/cli/web.py.

May import daemon/ (the opened archive it is handed), outgoing/, services/, the configuration and everything
below bot/. Must never import cli/ or demo/.
"""
