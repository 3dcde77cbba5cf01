"""The outbox against a real SMTP server (aiosmtpd on loopback) that misbehaves as an operator found servers do:
slow to answer the mail's end, answering QUIT with an error after accepting, refusing every mail's content alike
(the account blocked), busy for a while; and a recipient whose address is written in Chinese. Each mail goes
once, none is refused for good for what is the server's or the account's doing, and the sender never stops."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import select

from archive.models import OutboxMail
from bot.outgoing.outbox import ServerRest, flush_outbox, transport_for
from tests.smtp_server import Delivering, smtp_answering
from tests.test_outbox_failures import NOW, queued


class Misbehaving(Delivering):
    """Accepts mail as a server does, with one misbehaviour: `data_delay` seconds before answering the mail's end,
    `quit` (an answer to QUIT), or `data` (an answer to every mail's end instead of 250)."""

    def __init__(self, data_delay: float = 0.0, quit: str | None = None, data: str | None = None):
        super().__init__(lambda recipient, raw: None)
        self.data_delay, self.quit, self.data = data_delay, quit, data

    async def handle_DATA(self, server, session, envelope) -> str:
        await asyncio.sleep(self.data_delay)
        if self.data is not None:
            return self.data
        return await super().handle_DATA(server, session, envelope)

    async def handle_QUIT(self, server, session, envelope) -> str:
        return self.quit or "221 Bye"


class Counting(Delivering):
    """Accepts mail and counts the connections it came over; with `one_each`, it ends a connection once a mail
    went over it (answering NOOP with 421, as a server allowing one mail a session does)."""

    def __init__(self, one_each: bool = False):
        super().__init__(lambda recipient, raw: None)
        self.one_each, self.sessions, self.used = one_each, set(), set()

    async def handle_DATA(self, server, session, envelope) -> str:
        self.sessions.add(id(session))
        self.used.add(id(session))
        return await super().handle_DATA(server, session, envelope)

    async def handle_NOOP(self, server, session, envelope, arg) -> str:
        return "421 4.7.0 one mail a session" if self.one_each and id(session) in self.used else "250 OK"


def through(config, server, timeout: float = 30.0):
    """`config`'s outgoing mail through `server`, plain SMTP without a login."""
    outgoing = dataclasses.replace(
        config.outgoing, transport="smtp", host="127.0.0.1", port=server.port, security="plain", username=""
    )
    return outgoing, transport_for(dataclasses.replace(outgoing, timeout_seconds=timeout))


def states(deps) -> list[str]:
    with deps.db.session() as session:
        return list(session.scalars(select(OutboxMail.state).order_by(OutboxMail.id)))


def test_a_server_slow_to_answer_the_mails_end_gets_it_once(config, deps):
    """GIVEN a server taking 2 s to answer the mail's end, and answers awaited 1 s WHEN sent THEN the mail goes,
    once: RFC 5321 gives that answer ten minutes, and a mail given up sooner was delivered and sent again."""
    queued(deps)
    handler = Misbehaving(data_delay=2.0)
    with smtp_answering(handler) as server:
        outgoing, transport = through(config, server, timeout=1.0)
        report = flush_outbox(deps.db, outgoing, transport, NOW)
    assert (report.sent, report.failed, len(handler.accepted), states(deps)) == (1, 0, 1, ["sent"])


def test_an_error_answering_quit_after_the_mail_was_accepted_unsends_nothing(config, deps):
    """GIVEN a server that accepts each mail, then answers QUIT with 421 WHEN three mails are sent THEN all three
    are sent, once each, where each was marked unsent and delivered again at every try."""
    queued(deps, 3)
    handler = Misbehaving(quit="421 4.4.2 timeout exceeded")
    with smtp_answering(handler) as server:
        outgoing, transport = through(config, server)
        report = flush_outbox(deps.db, outgoing, transport, NOW)
    assert (report.sent, report.failed, len(handler.accepted)) == (3, 0, 3)
    assert states(deps) == ["sent"] * 3


def test_every_mail_refused_alike_is_the_accounts_doing_and_none_is_lost(config, deps):
    """GIVEN a server refusing every mail's content with the same words (163 blocking the account as spam) WHEN
    thirty mails wait THEN the second refusal alike stops the round and rests the server, the first is not refused
    for good either, and the rest wait untried, where all thirty were refused for good within seconds and no
    command could send a receipt again; the server mended, every one goes."""
    queued(deps, 30)
    rest = ServerRest()
    with smtp_answering(Misbehaving(data="554 DT:SPM 163 smtp, Mail content denied")) as server:
        outgoing, transport = through(config, server)
        report = flush_outbox(deps.db, outgoing, transport, NOW, rest=rest)
    assert (report.sent, report.refused, report.failed) == (0, (), 1) and rest.resting(NOW)
    assert states(deps) == ["pending"] * 30
    with deps.db.session() as session:
        first = session.scalars(select(OutboxMail).order_by(OutboxMail.id)).first()
        assert "发信服务器接连拒收邮件（554 DT:SPM 163 smtp, Mail content denied）" in first.last_error
    handler = Misbehaving()
    with smtp_answering(handler) as server:
        outgoing, transport = through(config, server)
        later = NOW + timedelta(hours=2)
        assert flush_outbox(deps.db, outgoing, transport, later, rest=ServerRest()).sent == 30
    assert len(handler.accepted) == 30


def test_a_server_busy_at_the_mails_end_is_left_alone(config, deps):
    """GIVEN a server answering every mail's end "451 try again later" WHEN thirty mails wait THEN one is tried and
    the server rests, said as busy for now, where each of the thirty opened a connection of its own within a second,
    every minute, each told as "拒绝了这封邮件"."""
    queued(deps, 30)
    rest = ServerRest()
    with smtp_answering(Misbehaving(data="451 4.7.1 Server busy, try again later")) as server:
        outgoing, transport = through(config, server)
        report = flush_outbox(deps.db, outgoing, transport, NOW, rest=rest)
    assert (report.sent, report.failed, report.refused) == (0, 1, ()) and rest.resting(NOW)
    assert "暂时无法处理（忙或暂时不可用），稍后再试" in report.errors[0] and "拒绝了这封邮件" not in report.errors[0]


def test_a_recipient_written_in_chinese_is_refused_alone_and_the_sender_goes_on(config, deps):
    """GIVEN a 自查's answer owed to 张三@163.com (anyone may send a 自查) before two other mails WHEN sent THEN it is
    refused for good, saying why in Chinese, and the others go, where the encoding error stopped the daemon and
    every restart, the mail left `sending` and tried first again."""
    queued(deps, 3)
    with deps.db.session() as session:
        first = session.scalars(select(OutboxMail).order_by(OutboxMail.id)).first()
        first.recipients = "张三 <张三@163.com>"
        session.commit()
    handler = Misbehaving()
    with smtp_answering(handler) as server:
        outgoing, transport = through(config, server)
        report = flush_outbox(deps.db, outgoing, transport, NOW)
    assert (report.sent, len(report.refused), states(deps)) == (2, 1, ["failed", "sent", "sent"])
    assert "收件地址含中文等非英文字符，无法发出" in report.refused[0]


def test_a_sending_pass_logs_in_once_and_mail_goes_on_when_the_server_ends_each_session(config, deps):
    """GIVEN five receipts due WHEN a pass sends them THEN over one connection (thirteen receipts were thirteen
    logins within seconds: a mail service counts them); GIVEN a server that takes one mail a session THEN each
    mail goes, over a connection of its own, none twice, none waiting for a later pass."""
    queued(deps, 5)
    handler = Counting()
    with smtp_answering(handler) as server:
        outgoing, transport = through(config, server)
        report = flush_outbox(deps.db, outgoing, transport, NOW)
    assert (report.sent, len(handler.accepted), len(handler.sessions)) == (5, 5, 1)
    queued(deps, 3, first=5)
    handler = Counting(one_each=True)
    with smtp_answering(handler) as server:
        outgoing, transport = through(config, server)
        report = flush_outbox(deps.db, outgoing, transport, NOW)
    assert (report.sent, report.failed, len(handler.accepted), len(handler.sessions)) == (3, 0, 3, 3)
    assert states(deps) == ["sent"] * 8


class RefusingOne(Counting):
    """Counts connections as Counting does, and refuses one recipient address: at RCPT (550: no such mailbox), or
    with `at_data`, at the DATA command (the address taken, then no recipient for the mail: 503, which smtplib
    raises without resetting the transaction)."""

    def __init__(self, refused: str, at_data: bool = False):
        super().__init__()
        self.refused, self.at_data = refused, at_data

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        self.sessions.add(id(session))
        if address == self.refused:
            return "250 OK" if self.at_data else "550 5.1.1 User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.mark.parametrize("at_data", [False, True], ids=["at-rcpt", "at-data"])
def test_a_recipient_refused_leaves_the_connection_to_the_next_mail(config, deps, at_data):
    """GIVEN five mails due, the server refusing the second's recipient (at RCPT, or at the DATA command) WHEN a
    pass sends them THEN that one is refused for good and the other four go over the same connection, where each
    refusal cost a new login; the transaction is reset after the refusal (one refused at DATA left it open, and the
    next mail was refused as a "nested MAIL command", blamed on the account)."""
    queued(deps, 5)
    with deps.db.session() as session:
        second = session.scalars(select(OutboxMail).order_by(OutboxMail.id)).all()[1]
        second.recipients = "gone@163.com"
        session.commit()
    handler = RefusingOne("gone@163.com", at_data)
    with smtp_answering(handler) as server:
        outgoing, transport = through(config, server)
        report = flush_outbox(deps.db, outgoing, transport, NOW)
    assert (report.sent, len(report.refused), len(handler.accepted)) == (4, 1, 4)
    assert len(handler.sessions) == 1
    assert states(deps) == ["sent", "failed", "sent", "sent", "sent"]
