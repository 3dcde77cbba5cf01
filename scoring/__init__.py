"""The plan's scoring rules: pure functions over archived evidence, no I/O; every point traceable.

`plans.py` (each year's plan), `settings.py` (months, deadlines, weights), `evidence.py` (the records the
rules read), `packages.py` (a unit's monthly package: on time, late, missing), `completion.py` (task
completion against targets), `briefings.py`, `components.py` and `standings.py` (the 100 points and the
ranking).

May import parsers/ only. replies/, archive/ and bot/ import it.
"""
