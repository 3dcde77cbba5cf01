"""`mailroom web`: the archive, standings and matrix for staff and auditors, in Chinese.

app.py builds the Flask app (create_app); auth.py signs people in; archive_pages.py, download.py,
score_pages.py and entries_pages.py are the pages by concern; present.py turns rows into masked views.
Importing the package registers the `mailroom web` command (command.py) on the CLI.
"""

from bot.web import command as command  # noqa: F401
