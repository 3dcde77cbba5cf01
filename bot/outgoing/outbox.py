"""Sending what the outbox holds: by SMTP (TLS or STARTTLS, login from the environment) or, for the
embedded default, as .eml files in a folder."""

from __future__ import annotations

import contextlib
import logging
import os
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import getaddresses
from pathlib import Path
from typing import Protocol

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from sqlalchemy.orm import Session

from archive.db import Database
from archive.models import OutboxMail
from archive.outbox import (
    DIGEST_CAUSE,
    FINAL_DIGEST_CAUSE,
    KIND_TEXT,
    backoff,
    due_mail,
    mark_failed,
    mark_refused,
    mark_sending,
    mark_sent,
)
from bot.config import Config, Mailbox, Outgoing
from bot.tls import SmtpCertificateRefused, client_context, refused
from parsers.errors import MailroomError

log = logging.getLogger(__name__)


class Transport(Protocol):
    def send(self, raw: bytes, sender: str, recipients: list[str], name: str) -> None: ...

    def close(self) -> None:
        """The sending pass is over (flush_outbox's end): what it held open is let go."""


class SmtpTransport:
    """One connection and login for a sending pass: thirteen receipts were thirteen logins within seconds, which
    a mail service may hold against the account. A connection is asked (NOOP) before each mail after its first,
    and made anew when it went stale or the server ended it; a failure closes it, but for the refusal of one mail
    (its recipient, sender or content), after which the transaction is reset and the connection kept."""

    def __init__(self, outgoing: Outgoing):
        self.outgoing = outgoing
        self._client: smtplib.SMTP | None = None

    def send(self, raw: bytes, sender: str, recipients: list[str], name: str) -> None:
        """A certificate that fails its checks (against `ca_file`, else the system's CAs) is refused before
        the login and the mail: SmtpCertificateRefused, one line, the mail kept for a later try."""
        out = self.outgoing
        if self._client is not None and not self._answers(self._client):
            self.close()
        try:
            if self._client is None:
                self._client = self._connect()
            # RFC 5321 gives a server up to ten minutes to answer the mail's end: given up sooner, a mail the
            # server then delivers is sent again at the next try
            if self._client.sock is not None:
                self._client.sock.settimeout(max(out.timeout_seconds, TRANSACTION_SECONDS))
            self._client.sendmail(sender, recipients, raw)
            if self._client.sock is not None:
                self._client.sock.settimeout(out.timeout_seconds)
        except ssl.SSLCertVerificationError as error:
            self._drop()
            raise refused("smtp", out.host, error, "未发送任何邮件", SmtpCertificateRefused) from None
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError):
            self._reset()  # this mail's refusal: the connection is kept for the next one
            raise
        except BaseException:
            self._drop()
            raise

    def close(self) -> None:
        """QUIT, after the pass's last mail: what QUIT answers (421, a dropped line) unsends nothing."""
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(*SEND_ERRORS):
                client.quit()
            client.close()

    def _connect(self) -> smtplib.SMTP:
        out = self.outgoing
        context = client_context(out.ca_file, "smtp.ca_file")
        if out.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(out.host, out.port, timeout=out.timeout_seconds, context=context)
        else:
            client = smtplib.SMTP(out.host, out.port, timeout=out.timeout_seconds)
        try:
            if out.security == "starttls":
                client.starttls(context=context)
            if out.username:
                client.login(out.username, out.password())
        except BaseException:
            client.close()
            raise
        return client

    def _reset(self) -> None:
        """The transaction of a refused mail ended (RSET: smtplib sends none when the DATA command itself is
        refused), the usual timeout back; the connection dropped when even that fails (or a 421 closed it)."""
        client = self._client
        if client is None or client.sock is None:
            self._drop()
            return
        try:
            client.sock.settimeout(self.outgoing.timeout_seconds)
            client.rset()
        except SEND_ERRORS:
            self._drop()

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    @staticmethod
    def _answers(client: smtplib.SMTP) -> bool:
        try:
            return client.noop()[0] == 250
        except SEND_ERRORS:
            return False


@dataclass(frozen=True)
class FolderTransport:
    """The SMTP stand-in of the embedded default: each mail becomes an .eml file."""

    folder: Path

    def send(self, raw: bytes, sender: str, recipients: list[str], name: str) -> None:
        """Owner-only, as the archive is: a receipt or a 自查's answer can quote names and ID numbers."""
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.folder / f"{name}.eml"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(raw)

    def close(self) -> None:
        pass


def transport_for(outgoing: Outgoing) -> Transport:
    return SmtpTransport(outgoing) if outgoing.transport == "smtp" else FolderTransport(outgoing.folder)


@dataclass(frozen=True)
class FlushReport:
    sent: int
    failed: int  # not sent this time, tried again later
    errors: tuple[str, ...] = ()  # why, one line each: "#12: …"
    busy: bool = False  # another instance was sending the outbox: nothing was tried
    refused: tuple[str, ...] = ()  # refused for good by the receiving side (5xx), never again: "#12 回执 a@b：…"


@dataclass
class ServerRest:
    """The sending server left alone after it failed (down, refusing our login, misconfigured): a minute after
    the first failure, doubling with each failure in a row (archive.outbox.backoff), over as soon as a mail
    goes. Without it each waiting mail tried the dead server in turn, one a second. Kept by the process that
    sends (the daemon's sender, between rounds): one that starts again tries once before it rests."""

    failures: int = 0
    until: datetime | None = None

    def resting(self, now: datetime) -> bool:
        return self.until is not None and now < self.until

    def failed(self, now: datetime) -> None:
        self.failures += 1
        self.until = now + backoff(self.failures)

    def answered(self) -> None:
        self.failures, self.until = 0, None


def _keep(keep_copy: SentCopier, raw: bytes, mail_id: int) -> None:
    try:
        keep_copy(raw)
    except (*SEND_ERRORS, IMAPClientError, MailroomError) as error:
        log.error("发件 #%s 已发出，但其副本未能存入已发送文件夹：%s", mail_id, error)


class SentCopier:
    """APPEND each mail sent to the configured mailbox's Sent folder, as a mail client would: one login a sending
    pass (`close` at its end); a connection that failed is made anew once, for that mail."""

    def __init__(self, box: Mailbox, folder: str, open_client: Callable[[Mailbox], IMAPClient]):
        self.box, self.folder, self.open_client = box, folder, open_client
        self._client: IMAPClient | None = None

    def __call__(self, raw: bytes) -> None:
        if self._client is not None:
            try:
                self._client.append(self.folder, raw, flags=(b"\\Seen",))
                return
            except (*SEND_ERRORS, IMAPClientError):
                self._drop()
        client = self.open_client(self.box)
        try:
            client.login(self.box.username, self.box.password())
            client.append(self.folder, raw, flags=(b"\\Seen",))
        except BaseException:
            with contextlib.suppress(*SEND_ERRORS, IMAPClientError):
                client.shutdown()
            raise
        self._client = client

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(*SEND_ERRORS, IMAPClientError):
                client.logout()

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(*SEND_ERRORS, IMAPClientError):
                client.shutdown()


def sent_copier(config: Config, open_client: Callable[[Mailbox], IMAPClient]) -> SentCopier | None:
    """The Sent-folder copier of `[smtp] sent_copy_mailbox` and `sent_copy_folder`; None when not configured."""
    out = config.outgoing
    if not out.sent_copy_mailbox:
        return None
    return SentCopier(config.mailbox(out.sent_copy_mailbox), out.sent_copy_folder, open_client)


# What a down or refusing server looks like: retried later, never lost.
SEND_ERRORS = (OSError, smtplib.SMTPException)
# A refusal of this mail alone (its recipients, its data): the next mail may well go. Any other failure (the
# server down, its certificate, the login, the sender refused) would fail the next mail alike: all wait for the
# next round. (Every SMTPException is an OSError.)
THIS_MAIL_ONLY = (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError)
TRANSACTION_SECONDS = 600.0  # RFC 5321 4.5.3.2: MAIL, RCPT and the data's blocks 3–5 minutes, its end 10
MESSAGE_TOO_LARGE = 552  # "exceeded storage allocation": said at MAIL FROM of a mail over the server's SIZE
_SIZE_WORDS = ("5.3.4", "size", "too large", "too big", "大小", "过大", "超过限制", "超大")


def reply_text(said: bytes | str) -> str:
    """A server's reply text as words, on one line: UTF-8, else GB18030 (what Chinese servers write when they
    do not write UTF-8), else UTF-8 with what cannot be read replaced; never a bytes literal."""
    if isinstance(said, str):
        return " ".join(said.split())
    for encoding in ("utf-8", "gb18030"):
        try:
            return " ".join(said.decode(encoding).split())
        except UnicodeDecodeError:
            continue
    return " ".join(said.decode("utf-8", "replace").split())


def server_says(error: BaseException) -> str:
    """The server's own words in an SMTP error (its code and text, decoded), or the error's own text: "550
    5.1.1 用户不存在", never "(550, b'5.1.1 \\xe7…')"; each refused recipient named when there are several."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        replies = {address: f"{code} {reply_text(text)}".strip() for address, (code, text) in error.recipients.items()}
        if len(replies) == 1:
            return next(iter(replies.values()))
        return "；".join(f"{address}：{reply}" for address, reply in replies.items())
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {reply_text(error.smtp_error)}".strip()
    return " ".join(str(error).split()) or error.__class__.__name__


def permanent(error: BaseException) -> bool:
    """Whether the receiving side refused this mail for good: every recipient refused with a 5xx, its size at
    MAIL FROM (552), or its data refused with a 5xx. A 4xx (a full mailbox, greylisting, a server busy) is tried
    again."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    if isinstance(error, smtplib.SMTPSenderRefused):  # at MAIL FROM: this mail over the size the server takes
        return too_large(error)  # (any other: our sender address or account, refused for every mail)
    return isinstance(error, smtplib.SMTPDataError) and 500 <= error.smtp_code < 600


def _refuse(session: Session, mail: OutboxMail, now: datetime, why: str, refused: list[str]) -> None:
    """`mail` refused for good, never tried again: `why` on record, logged, and listed in `refused`."""
    log.error("发件 #%s 不再重试：%s", mail.id, why)
    mark_refused(session, mail, now, why)
    refused.append(f"#{mail.id} {KIND_TEXT.get(mail.kind, mail.kind)} {why}")


def _this_mail_only(error: BaseException) -> bool:
    """Whether the server answered about this mail alone (a recipient; its data refused for good), so the next mail
    may go: a 4xx to the data ("server busy, try later") is the server's state, and every mail would meet it."""
    if isinstance(error, smtplib.SMTPDataError):
        return error.smtp_code >= 500
    return isinstance(error, THIS_MAIL_ONLY)


def _alike(error: BaseException) -> bool:
    """A refusal of what a mail is (its data, its size), which the same words for the next mail too show to be the
    sending account's (blocked as spam, over a quota), not the mail's; a recipient refused is the recipient's."""
    return isinstance(error, (smtplib.SMTPDataError, smtplib.SMTPSenderRefused))


def too_large(error: smtplib.SMTPSenderRefused) -> bool:
    """Whether MAIL FROM was refused for this mail's size (552 saying so, or 5.3.4), not for the account (a quota
    or a sending limit is a 552 too, and refuses every mail)."""
    said = reply_text(error.smtp_error).lower()
    return error.smtp_code == MESSAGE_TOO_LARGE and any(word in said for word in _SIZE_WORDS)


def send_again(cause: str) -> str | None:
    """The command that stores a mail refused for good again, for the mail staff can ask for again (a month's
    digest, a year's final ranking); None for the others (a receipt answers a mail: the unit is told otherwise)."""
    period, sent_again = cause.split("#", 1)[0], "#" in cause  # "#2": sent again as staff asked (--again)
    again = " --again" if sent_again else ""
    if cause.startswith(DIGEST_CAUSE):
        return f"mailroom digest --month {period.removeprefix(DIGEST_CAUSE)} --send{again}"
    if cause.startswith(FINAL_DIGEST_CAUSE):
        return f"mailroom digest --year {period.removeprefix(FINAL_DIGEST_CAUSE)} --send{again}"
    return None


def refusal(error: BaseException, kind: str, recipients: str, again: str | None = None) -> str:
    """Why a mail was refused for good, in one Chinese line: to whom, the server's words, what to check (the
    unit's address; for the digests, `[smtp] staff`), and `again`, the command that sends it again once that is
    done (send_again)."""
    staff = kind in ("digest", "final_digest")
    check = "请核对配置 [smtp] staff 中的地址" if staff else "请核对该单位的报送邮箱"
    resend = f"，改正后用 {again} 重新发送" if again else ""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return f"{'、'.join(error.recipients)}：收件地址被对方服务器拒绝（{server_says(error)}）：{check}{resend}"
    if isinstance(error, smtplib.SMTPSenderRefused):  # our own server, at MAIL FROM (too_large)
        return f"{recipients}：邮件超过发信服务器允许的大小（{server_says(error)}），未发出" + (
            f"；请缩小后用 {again} 重新发送" if again else "，请另行联系收件人"
        )
    return (
        f"{recipients}：邮件被对方服务器拒收（{server_says(error)}）：请按服务器所说的原因处理"
        "（如邮件过大、被当作垃圾邮件），必要时另行联系收件人" + (f"；处理后用 {again} 重新发送" if again else "")
    )


def send_failure(outgoing: Outgoing, error: BaseException) -> str:
    """Why a mail was not sent, in one Chinese line for the operator (`status`, the log), saying what in
    `[smtp]` to check; the server's (decoded) or the system's own words in brackets."""
    where, reason = f"{outgoing.host}:{outgoing.port}", server_says(error)
    if isinstance(error, socket.gaierror):
        said = f"找不到发信服务器 {outgoing.host}：请检查 [smtp] host 的拼写和网络"
    elif isinstance(error, ConnectionRefusedError):
        said = f"无法连接发信服务器 {where}：连接被拒绝，请检查 [smtp] host 和 port，以及服务器是否在运行"
    elif isinstance(error, (TimeoutError, socket.timeout)) or (
        # smtplib's word for a server that went quiet mid-conversation (a read timed out)
        isinstance(error, smtplib.SMTPServerDisconnected) and "timed out" in str(error)
    ):
        said = (
            f"发信服务器 {where} 在 {outgoing.timeout_seconds:g} 秒内没有应答：请检查 host、port、防火墙，"
            f"以及 security（现为 {outgoing.security}）与端口是否匹配"
        )
    elif isinstance(error, ssl.SSLError):
        said = f"与发信服务器 {where} 的 TLS 握手失败：请检查 security（现为 {outgoing.security}）与端口是否匹配"
    elif isinstance(error, smtplib.SMTPAuthenticationError):
        said = f"发信服务器 {where} 拒绝登录：请检查 [smtp] username 和密码（网易等邮箱应使用授权码）"
    elif isinstance(error, smtplib.SMTPNotSupportedError) and "AUTH" in str(error):  # login(), no AUTH offered
        said = (
            f"发信服务器 {where} 在这个连接上不提供登录（AUTH）：请检查 security（现为 {outgoing.security}）"
            "与 port 是否匹配（STARTTLS 的服务器只在 STARTTLS 之后提供登录）；若该服务器无需登录，"
            "请删去 [smtp] username"
        )
    elif isinstance(error, smtplib.SMTPNotSupportedError) and "STARTTLS" in str(error):
        said = f"发信服务器 {where} 不支持 STARTTLS：请检查 security（现为 {outgoing.security}）与 port 是否匹配"
    elif isinstance(error, smtplib.SMTPResponseException) and 400 <= error.smtp_code < 500:
        said = f"发信服务器 {where} 暂时无法处理（忙或暂时不可用），稍后再试；若一直如此，请登录该邮箱查看"
    elif isinstance(error, smtplib.SMTPSenderRefused):
        said = f"发信服务器拒绝了发件地址 {outgoing.sender}：请检查 [smtp] sender 是否为登录账号本身的地址"
    elif isinstance(error, smtplib.SMTPRecipientsRefused):
        said = f"发信服务器暂时拒收了收件地址 {'、'.join(error.recipients)}，稍后重试"
    elif isinstance(error, (smtplib.SMTPServerDisconnected, ConnectionError)):
        said = f"发信服务器 {where} 断开了连接：若一直如此，请检查 port 和 security（现为 {outgoing.security}）是否匹配"
    elif isinstance(error, smtplib.SMTPResponseException):
        said = f"发信服务器 {where} 拒绝了这封邮件"
    else:
        said = f"向发信服务器 {where} 发信失败"
    return f"{said}（{reason}）"


def flush_outbox(
    db: Database,
    outgoing: Outgoing,
    transport: Transport,
    now: datetime,
    keep_copy: SentCopier | None = None,
    stopping: Callable[[], bool] = lambda: False,
    rest: ServerRest | None = None,
) -> FlushReport:
    """Send every due mail; a failure is recorded and retried with backoff, the rest go on; a mail the
    receiving side refuses for good (`permanent`) is marked failed and never tried again. A failure of the
    server itself (or of our configuration) stops the round and, with `rest`, leaves the server alone for a
    while (ServerRest): nothing is tried while it rests. `stopping()` is asked before each mail. `keep_copy`
    files each sent mail in a Sent folder; its failure never unsends a mail."""
    sent, errors = 0, []
    refused: list[str] = []
    rest = rest or ServerRest()
    if rest.resting(now):
        return FlushReport(0, 0)
    refusing: tuple[OutboxMail, str] | None = None  # the mail refused for good just before, and the server's words
    with db.session() as session, contextlib.closing(transport), contextlib.ExitStack() as closing:
        if keep_copy is not None:
            closing.callback(keep_copy.close)
        for mail in due_mail(session, now):
            if stopping():
                break
            mark_sending(session, mail, now)
            recipients = [address for _, address in getaddresses([mail.recipients])]
            try:
                transport.send(mail.raw, outgoing.sender, recipients, f"{mail.id:06d}-{mail.kind}")
            except MailroomError as error:  # the configuration (a password's variable unset): every mail alike
                log.error("发件 #%s（收件人 %s）未发出：%s", mail.id, mail.recipients, error)
                mark_failed(session, mail, now, str(error))
                errors.append(f"#{mail.id}: {error}")
                rest.failed(now)
                break
            except UnicodeEncodeError as error:  # an address in Chinese (a 自查 from anyone): no server takes it
                why = (
                    f"{mail.recipients}：收件地址含中文等非英文字符，无法发出（{error.reason}）："
                    "请对方改用英文字母的邮箱地址"
                )
                _refuse(session, mail, now, why, refused)
                refusing = None
                continue
            except SEND_ERRORS as error:
                said = server_says(error)
                # the same refusal of two mails' content in a row: the account's doing (blocked, over a quota)
                again = refusing is not None and permanent(error) and _alike(error) and refusing[1] == said
                if permanent(error) and not again:
                    _refuse(
                        session, mail, now, refusal(error, mail.kind, mail.recipients, send_again(mail.cause)), refused
                    )
                    refusing = (mail, said) if _alike(error) else None
                    rest.answered()
                    continue
                why = send_failure(outgoing, error)
                if again and refusing is not None:
                    why = (
                        f"发信服务器接连拒收邮件（{said}），可能是发信账号被限制（如被判为垃圾邮件）："
                        "邮件留在队列中稍后重试，请登录该邮箱查看"
                    )
                    mark_failed(session, refusing[0], now, why)  # the first of them is not refused for good either
                    refused.pop()  # its line, the last: it was refused just before
                log.warning("发件 #%s（收件人 %s）未发出：%s", mail.id, mail.recipients, why)
                mark_failed(session, mail, now, why)
                errors.append(f"#{mail.id}: {why}")
                refusing = None
                if again or not _this_mail_only(error):
                    rest.failed(now)
                    break  # the next mail would find the same dead server (or account): all wait while it rests
                rest.answered()  # the server answered, about this mail alone
                continue
            except Exception as error:  # a bug: this mail waits its next try (logged whole), the others go on
                log.exception("发件 #%s 发送时出错", mail.id)
                mark_failed(session, mail, now, f"发送时出错（{error.__class__.__name__}），稍后重试")
                errors.append(f"#{mail.id}: 发送时出错（{error.__class__.__name__}）")
                continue
            mark_sent(session, mail, now)
            refusing = None
            rest.answered()
            sent += 1
            if keep_copy is not None:
                _keep(keep_copy, mail.raw, mail.id)
    return FlushReport(sent, len(errors), tuple(errors), refused=tuple(refused))
