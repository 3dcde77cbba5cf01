"""`mailroom web`: the archive, standings and matrix for staff and auditors, in Chinese."""
