"""What several rooms read or run, under the configuration: `scores.py` (standings and the submission
matrix from the archive), `show.py` (one message as staff see it, with the decisions behind it),
`inspect.py` (workbooks checked before sending: `mailroom inspect`, the web's 自查, the 自查 mail),
`charts.py` (progress charts), `years.py` (plan years listed and closed) and `sandbox.py` (the reader
processes that parse mail and read workbooks within memory and time limits).

May import the configuration and archive/, replies/, scoring/, parsers/. Must never import outgoing/,
daemon/, cli/, web/ or demo/.
"""
