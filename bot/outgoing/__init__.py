"""What we compose and send: `receipts.py` (the receipt owed to each submission, composed from its record),
`reminders.py`, `digest.py` (the monthly standings digest) with `workbooks.py` (its workbook, and the
standings workbook) and `digest_mail.py` (the digest as a mail, queued once a month), `render.py` (the mail
templates) and `outbox.py` (the SMTP sender that sends what is owed, exactly once).

The pure text of a receipt lives below, in replies/: archive/ decides in the same transaction as the
message whether a receipt is owed and what it must say, so that text cannot live above archive/.

May import services/, the configuration and everything below bot/. Must never import daemon/, cli/,
web/ or demo/.
"""
