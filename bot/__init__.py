"""mailroom's application: the configuration, and the rooms that put parsers/, scoring/, replies/ and
archive/ to work. Each room's `__init__.py` says what lives there, what it may import and what must never
import it; `./test.sh` checks the layers (pyproject.toml, [tool.importlinter]), top to bottom:

    cli/        the `mailroom` command line: one module per group of commands
    web/        `mailroom web`: the pages for staff, auditors and the units' clerks
    daemon/     mail in: `serve`, the mailbox workers (IMAP IDLE and polling), Maildir, import, the schedule
    demo/       `mailroom demo` and the season generator it fills Maildirs with
    outgoing/   what we compose and send: receipts, reminders, the digest and its workbook, the SMTP sender
    services/   what several rooms above read or run: standings and matrix, a message shown, workbooks
                inspected, charts, plan years closed, the reader sandbox
    config.py   the configuration file read and checked: config_keys.py (each key's value; the known keys),
                config_plans.py (the plan years, units, targets), config_toml.py (TOML mistakes in Chinese)
    tls.py      TLS for IMAP and SMTP
"""

__version__ = "0.1.0"
