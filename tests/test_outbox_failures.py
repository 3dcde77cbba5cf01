"""The outbox when sending keeps failing: the wait between tries, and a configuration that fails every mail.

GIVEN mail in the outbox that cannot be sent WHEN the sender tries it again and again THEN each failure is
recorded on the mail and waits longer, at most an hour, however long the failures go on; nothing spins and
nothing stops the daemon."""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import select

from archive.models import OutboxMail
from archive.outbox import MAX_BACKOFF, mark_failed, queue_mail
from bot.outgoing.outbox import flush_outbox, send_failure
from parsers.errors import ConfigError

NOW = datetime(2020, 5, 6, 1, 0, tzinfo=UTC)


def queued(deps, count: int = 1, first: int = 0) -> None:
    with deps.db.session() as session:
        for n in range(first, first + count):
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = "hsclbgs666@163.com", "zqxcl@163.com", f"回执 {n}"
            message.set_content("已收到")
            queue_mail(session, f"receipt:{n}", "receipt", message, NOW)
        session.commit()


def test_the_wait_doubles_to_an_hour_and_stays_there_however_many_tries(deps):
    """The 42nd failure (a day and a half of a server down) overflowed timedelta and stopped the daemon."""
    queued(deps)
    with deps.db.session() as session:
        mail = session.scalars(select(OutboxMail)).one()
        waits = []
        for attempts in (1, 2, 7, 42, 76, 10_000):
            mail.attempts = attempts
            mark_failed(session, mail, NOW, "connection refused")
            waits.append(mail.next_attempt_at - NOW)
    assert waits == [timedelta(minutes=1), timedelta(minutes=2), MAX_BACKOFF, MAX_BACKOFF, MAX_BACKOFF, MAX_BACKOFF]


class Unconfigured:
    """A transport whose configuration fails, as SMTP does with its password's variable unset."""

    def __init__(self) -> None:
        self.tries = 0

    def close(self) -> None:  # (the end of a sending pass: nothing held)
        pass

    def send(self, raw: bytes, sender: str, recipients: list[str], name: str) -> None:
        self.tries += 1
        raise ConfigError("smtp：环境变量 MAILROOM_SMTP_PASSWORD 未设置")


def test_a_configuration_that_fails_every_mail_is_recorded_on_the_first_and_waits(config, deps):
    """GIVEN two mails and SMTP's password variable unset WHEN the sender sends the outbox, again and again as
    the next mail falls due THEN each mail is tried once, records the reason and waits with the usual backoff
    (a round stops at the first such failure: the next mail would fail alike), and then nothing is tried
    until the wait is over. It was: the mail stuck in `sending`, tried every second, forever."""
    queued(deps, 2)
    transport = Unconfigured()
    rounds = [flush_outbox(deps.db, config.outgoing, transport, NOW + timedelta(seconds=n)) for n in range(5)]
    with deps.db.session() as session:
        mails = session.scalars(select(OutboxMail).order_by(OutboxMail.id)).all()
    assert [report.failed for report in rounds] == [1, 1, 0, 0, 0] and transport.tries == 2
    assert [(mail.state, mail.attempts) for mail in mails] == [("pending", 1), ("pending", 1)]
    assert [mail.next_attempt_at - NOW for mail in mails] == [timedelta(minutes=1), timedelta(minutes=1, seconds=1)]
    assert {mail.last_error for mail in mails} == {"smtp：环境变量 MAILROOM_SMTP_PASSWORD 未设置"}


class NoLogin:
    """A server that offers no AUTH where `[smtp] username` is set: every mail fails alike, until mended."""

    def __init__(self) -> None:
        self.tries: list[str] = []
        self.mended = False

    def close(self) -> None:  # (the end of a sending pass: nothing held)
        pass

    def send(self, raw: bytes, sender: str, recipients: list[str], name: str) -> None:
        self.tries.append(name)
        if not self.mended:
            raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")


def test_a_failing_server_is_left_alone_a_minute_doubling_not_tried_once_a_mail(config, deps):
    """GIVEN five receipts waiting and a server refusing our login WHEN the daemon's sender comes round every
    5 s for ten minutes THEN the server is tried at 0, 1, 3 and 7 minutes (a wait doubling with each failure
    in a row), where each waiting mail tried it in turn, one a second (the operator's 163 account risked a
    lockout); once it answers, everything waiting goes in one round and the next failure waits a minute again."""
    from bot.outgoing.outbox import ServerRest

    queued(deps, 5)
    server, rest = NoLogin(), ServerRest()
    tried_at = []
    for seconds in range(0, 600, 5):
        before = len(server.tries)
        flush_outbox(deps.db, config.outgoing, server, NOW + timedelta(seconds=seconds), rest=rest)
        tried_at += [seconds] * (len(server.tries) - before)
    assert tried_at == [0, 60, 180, 420]
    server.mended = True
    later = NOW + timedelta(minutes=30)
    assert flush_outbox(deps.db, config.outgoing, server, later, rest=rest).sent == 5
    assert rest == ServerRest()
    server.mended = False
    queued(deps, 1, first=5)
    flush_outbox(deps.db, config.outgoing, server, later, rest=rest)
    assert rest.until == later + timedelta(minutes=1)


def test_a_server_gone_quiet_mid_mail_is_said_as_not_answering_not_as_a_wrong_port(config):
    """smtplib says a server that greeted, then went quiet (at DATA), "disconnected" when its read times out:
    the operator is told the server did not answer within timeout_seconds, not to check port and security."""
    said = send_failure(
        config.outgoing, smtplib.SMTPServerDisconnected("Connection unexpectedly closed: The read operation timed out")
    )
    assert f"在 {config.outgoing.timeout_seconds:g} 秒内没有应答" in said and "断开了连接" not in said
    dropped = send_failure(config.outgoing, smtplib.SMTPServerDisconnected("Connection unexpectedly closed"))
    assert "断开了连接" in dropped


class SizeLimited:
    """A server taking mail up to a size: one mail of the queue over it (refused at MAIL FROM, 552), the rest go;
    or refusing our sender address itself (550), or our account over its quota (552 too), every mail alike."""

    def __init__(self, code: int, said: bytes = b"5.3.4 Message size exceeds fixed limit") -> None:
        self.code, self.said, self.sent = code, said, []

    def close(self) -> None:  # (the end of a sending pass: nothing held)
        pass

    def send(self, raw: bytes, sender: str, recipients: list[str], name: str) -> None:
        if name.startswith("000001") or self.code == 550 or b"quota" in self.said:
            raise smtplib.SMTPSenderRefused(self.code, self.said, sender)
        self.sent.append(name)


def test_a_mail_over_the_servers_size_is_refused_alone_and_the_rest_go(config, deps):
    """GIVEN three mails, the first over the size the server takes WHEN sent THEN that one is refused for good,
    saying why, and the others go, where it counted as the server failing: retried hourly for ever, the others
    held back while the server rested, and the operator told to check [smtp] sender; a refused sender address
    still stops the round and rests the server."""
    from bot.outgoing.outbox import ServerRest

    queued(deps, 3)
    server, rest = SizeLimited(552), ServerRest()
    report = flush_outbox(deps.db, config.outgoing, server, NOW, rest=rest)
    assert (report.sent, len(report.refused), rest.until) == (2, 1, None)
    assert "邮件超过发信服务器允许的大小（552 5.3.4 Message size exceeds fixed limit），未发出" in report.refused[0]
    with deps.db.session() as session:
        assert [mail.state for mail in session.scalars(select(OutboxMail).order_by(OutboxMail.id))] == [
            "failed",
            "sent",
            "sent",
        ]
    queued(deps, 1, first=3)
    refusing = flush_outbox(deps.db, config.outgoing, SizeLimited(550), NOW, rest=rest)
    assert (refusing.sent, refusing.failed, refusing.refused) == (0, 1, ()) and rest.resting(NOW)
    over_quota = SizeLimited(552, b"5.7.1 daily sending quota exceeded")  # the account's limit: no mail is refused
    later = flush_outbox(deps.db, config.outgoing, over_quota, NOW + timedelta(hours=1), rest=ServerRest())
    assert (later.sent, later.failed, later.refused) == (0, 1, ())


def test_the_daemons_sender_waits_while_the_server_rests(deps):
    """GIVEN mail due now and the server resting 20 s more WHEN the daemon's sender asks how long to wait THEN 20 s,
    where it woke at once for the mail due (and found the server resting, again and again)."""
    import dataclasses

    from bot.daemon.serve import _sender_pause
    from bot.outgoing.outbox import ServerRest

    queued(deps)
    now = dataclasses.replace(deps, clock=lambda: NOW)
    assert _sender_pause(now) == 1.0  # the mail is due: look again at once (a second's floor)
    resting = dataclasses.replace(now, smtp_rest=ServerRest(1, NOW + timedelta(seconds=20)))
    assert _sender_pause(resting) == 20.0
