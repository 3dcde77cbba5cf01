"""Pure reading: raw message and workbook bytes in, frozen records out; no database, no network, no clock.

`mime.py` (a message decoded) with `mime_headers.py`, `maildate.py` and `sniff.py` (its header values; its dates;
a file's real type),
`recognize.py` (whose, what kind, which month) with `months.py` (the months a subject, a file name or a
title names) and `notices.py` (read receipts, invitations, the message a forward quotes), `workbook.py`
with `xlsx_scan.py`, `biff.py` and `safety.py` (files pre-scanned and read within limits), `sheet.py`,
`cells.py`, `registry.py`, `summary.py` and `workbook_forms.py` (the plan's forms found by their content, as
`form_layouts.py` describes each),
`document.py` and `wordtext.py` (Word and WPS articles), `checks.py` (a package's numbers checked),
`inspection.py` (what a clerk sees of files), `personal.py` and `privacy.py` (personal numbers found and
masked), `searchdoc.py` and `searchterms.py` (the search document and query terms), `derive.py` (a
message's whole derivation, as the reader processes run it), `records.py` and `forms.py` (the records),
`errors.py` (the errors every layer raises).

Imports nothing of this project: the bottom layer. Everything above may import it.
"""
