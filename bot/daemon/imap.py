"""Reading a department mailbox over IMAP: incremental by UIDVALIDITY + UID, bodies peeked in batches, spooled
raw and derived behind (archive/spool.py)."""

from __future__ import annotations

import contextlib
import errno
import imaplib
import logging
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial

from imapclient import IMAPClient, SocketTimeout
from imapclient.exceptions import CapabilityError, IMAPClientError, LoginError, ProtocolError
from sqlalchemy.exc import SQLAlchemyError

from archive.db import database_problem
from archive.ingest import Incoming, Intake, Outcome
from archive.spool import derive_spooled, spool
from archive.state import advance, load_state
from bot import __version__
from bot.config import Mailbox, field_of
from bot.tls import client_context, refused
from parsers.errors import MailroomError, ServiceError

log = logging.getLogger(__name__)

# Errors after which reconnecting may help: the connection dropped, timed out or the server hung up.
RETRYABLE = (OSError, socket.timeout, ssl.SSLError, imaplib.IMAP4.abort, IMAPClient.AbortError)
FETCH_ITEMS = [b"BODY.PEEK[]", b"INTERNALDATE"]
CONNECT_SECONDS = 20.0  # to connect, shake hands (TLS) and hear the greeting: a live server takes a second or two
ANSWER_SECONDS = 60.0  # for each answer after the greeting (a batch of big messages takes a while)
IDLE_STEP = 1.0  # seconds between looks at the stop flag while in IDLE
CLOSED_AFTER = 50  # answers of nothing in a row, each at once, that tell a closed connection (a live one waits)
KEEP_ALIVE = 60.0  # seconds without a command after which a long derivation says NOOP
CLIENT_ID = {"name": "mailroom", "version": __version__, "vendor": "mailroom"}
NETWORK_ERRNOS = {errno.ENETUNREACH, errno.ENETDOWN, errno.EHOSTUNREACH, errno.EHOSTDOWN}
APP_PASSWORD = "163/126/QQ 邮箱需使用客户端授权码，而不是网页登录密码"


class IdleDropped(imaplib.IMAP4.abort):
    """The server closed the connection while this client was in IDLE (a restart): reconnect soon. `lasted`:
    seconds the IDLE had lasted (a server that closes every IDLE at once is not reconnected to at that pace)."""

    def __init__(self, message: str, lasted: float) -> None:
        super().__init__(message)
        self.lasted = lasted


class ImapFailure(ServiceError):
    """A mailbox's server could not be reached, logged in to or read, said for the operator in one Chinese
    line: the server (host:port), what to check, and the original reason in parentheses. It does not name the
    mailbox: whoever shows it does (the log, `status`, `poll --once`). `lasting`: trying again at once cannot
    help (a refused login, TLS against a port that does not speak it, a server that never greets: each try
    would wait CONNECT_SECONDS again), so a poll does not reconnect for it; the daemon tries again after its
    usual wait, as after any error."""

    def __init__(self, message: str, *, lasting: bool = False) -> None:
        super().__init__(message)
        self.lasting = lasting


def _reason(error: BaseException) -> str:
    """The original reason on one line; a server's answer without the bytes literal imaplib wraps it in."""
    said = " ".join(str(error).split())
    quoted = re.fullmatch(r"b(['\"])(.*)\1", said)
    return (quoted.group(2) if quoted else said) or error.__class__.__name__


def _network(error: BaseException) -> bool:
    """An error of the connection itself, not of the disk or the database beside it."""
    return isinstance(error, (ConnectionError, TimeoutError, socket.gaierror, ssl.SSLError, imaplib.IMAP4.abort)) or (
        isinstance(error, OSError) and error.errno in NETWORK_ERRNOS
    )


def connect_failure(box: Mailbox, error: BaseException) -> ImapFailure:
    """Why no connection to `box`'s server could be opened, and what in the config to check."""
    where, reason = f"{box.host}:{box.port}", _reason(error)
    if isinstance(error, socket.gaierror):
        return ImapFailure(f"找不到服务器 {box.host}：请检查 host 拼写和网络（{reason}）")
    if isinstance(error, ConnectionRefusedError):
        return ImapFailure(f"无法连接 {where}：连接被拒绝，请检查 host 和 port（{reason}）")
    if isinstance(error, (ssl.SSLError, CapabilityError)):  # a plain port spoken TLS to, STARTTLS not offered
        return ImapFailure(
            f"无法连接 {where}：TLS 握手失败：请检查 security（tls/starttls，现为 {box.security}）与端口是否匹配"
            f"（tls 通常用 993，starttls 用 143）（{reason}）",
            lasting=True,
        )
    if isinstance(error, TimeoutError):  # also a TLS port spoken plain to: both sides wait for the other
        return ImapFailure(
            f"无法连接 {where}：服务器没有应答，请检查 host、port、防火墙，以及 security（现为 {box.security}）"
            f"与端口是否匹配（{reason}）",
            lasting=True,  # a mistyped port that takes the connection and says nothing: say so now, not in minutes
        )
    if isinstance(error, (imaplib.IMAP4.abort, ConnectionError)):
        return ImapFailure(
            f"无法连接 {where}：服务器断开了连接，请检查 port 和 security（现为 {box.security}）是否匹配（{reason}）"
        )
    if isinstance(error, IMAPClientError):
        return ImapFailure(f"无法连接 {where}：服务器的问候不是 IMAP，请检查 port（{reason}）", lasting=True)
    return ImapFailure(f"无法连接 {where}：请检查网络、host 和 port（{reason}）")


def failure_text(box: Mailbox, error: BaseException) -> str:
    """One line for the operator about an error working `box`, without its key (the caller names it once)."""
    if isinstance(error, ImapFailure):
        return str(error)
    if isinstance(error, MailroomError):  # some of ours name the mailbox themselves (bot/tls.py's refusals)
        return _reason(error).removeprefix(f"{box.key}: ")
    if _network(error):
        return f"与 {box.host}:{box.port} 的连接中断（{_reason(error)}）"
    if isinstance(error, IMAPClientError):
        return f"IMAP 服务器 {box.host}:{box.port} 拒绝了请求（{_reason(error)}）"
    if isinstance(error, SQLAlchemyError) and (said := database_problem(error)) is not None:
        return said  # the database's disk full, a lock another program holds
    return f"{error.__class__.__name__}: {next(iter(str(error).strip().splitlines()), '')}".rstrip(": ")


def connect(box: Mailbox, timeout: float = ANSWER_SECONDS, connect_timeout: float | None = None) -> IMAPClient:
    """Open a connection: TLS with certificate and host name checks (against `ca_file`, else the system's
    CAs) unless the config says otherwise. A certificate that fails is refused before anything is sent.
    Connecting, the TLS handshake and the greeting have `connect_timeout` (CONNECT_SECONDS), shorter than
    an answer's: a server that takes the connection and never greets is told at once (connect_failure)."""
    context = client_context(box.ca_file, field_of(box.label, "ca_file"))
    limits = SocketTimeout(connect=CONNECT_SECONDS if connect_timeout is None else connect_timeout, read=timeout)
    try:
        client = IMAPClient(box.host, port=box.port, ssl=box.security == "tls", ssl_context=context, timeout=limits)
    except ssl.SSLCertVerificationError as error:
        raise refused(box.key, box.host, error, "未收取任何邮件") from None
    if box.security == "starttls":
        try:
            client.starttls(context)
        except BaseException as error:
            with contextlib.suppress(OSError):
                client.shutdown()  # STARTTLS refused or its handshake failed: no LOGOUT can be said here
            if isinstance(error, ssl.SSLCertVerificationError):
                raise refused(box.key, box.host, error, "未收取任何邮件") from None
            raise
    client.normalise_times = False  # keep INTERNALDATE's zone: arrival times are compared in Asia/Shanghai
    return client


@dataclass
class Progress:
    """What a poll of one mailbox has done so far; it survives reconnects."""

    fetched: int = 0
    rescanned: bool = False
    outcomes: list[Outcome] = field(default_factory=list)
    untidied: str | None = None  # the after_archive action failed (the mail is archived), or a message the
    # server would not hand out was passed over (_Refusals): what to fix
    tidied: int = 0  # mail archived before, moved out now (a failed move's leftovers, or `move` just switched on)


def poll_imap(
    box: Mailbox,
    intake: Intake,
    *,
    open_client: Callable[[Mailbox], IMAPClient] = connect,
    retries: int = 3,
    backoff: float = 2.0,
    sleep: Callable[[float], None],
    stopping: Callable[[], bool] = lambda: False,
) -> Progress:
    """Archive every message new since the last poll; reconnect with backoff when the connection drops.
    `stopping()` is asked between batches: a stop finishes the batch in hand, which is committed."""
    progress = Progress()
    for attempt in range(retries + 1):
        try:
            _poll_session(box, intake, open_client, progress, stopping)
            return progress
        except (*RETRYABLE, ImapFailure) as error:
            said = failure_text(box, error)
            if isinstance(error, ImapFailure) and error.lasting:  # the same answer again: not a passing fault
                raise
            if attempt == retries:
                raise ImapFailure(f"{said}；已尝试 {retries + 1} 次") from error
            delay = backoff * 2**attempt
            log.warning("%s: %s；%g 秒后重试", box.key, said, delay)
            sleep(delay)
        except IMAPClientError as error:  # the server said no (a refused command)
            raise ImapFailure(failure_text(box, error)) from error
    return progress


def _poll_session(
    box: Mailbox,
    intake: Intake,
    open_client: Callable[[Mailbox], IMAPClient],
    progress: Progress,
    stopping: Callable[[], bool],
) -> None:
    folder = FolderSession(box, lambda: intake, open_client)
    try:
        folder.archive_new(progress, stopping)
    finally:
        folder.close()


class FolderSession:
    """One logged-in connection to a mailbox's folder: archives what is new since the last commit, and
    waits in IDLE for the server to announce more (when it can)."""

    def __init__(self, box: Mailbox, intake: Callable[[], Intake], open_client: Callable[[Mailbox], IMAPClient]):
        self.box, self.intake = box, intake  # asked anew for each look: staff may confirm a sender meanwhile
        try:
            self.client = open_client(box)
        except (*RETRYABLE, IMAPClientError) as error:
            raise connect_failure(box, error) from error
        try:
            _login(self.client, box)
            self.selected = _select(self.client, box)
        except BaseException:
            _logout(self.client)
            raise
        self.uidvalidity = int(self.selected[b"UIDVALIDITY"])
        self.uidnext = self.selected.get(b"UIDNEXT")  # known only until the first IDLE
        self.spoken = time.monotonic()  # when the server last heard from us

    @property
    def can_idle(self) -> bool:
        return bool(self.client.has_capability("IDLE"))

    def archive_new(self, progress: Progress, stopping: Callable[[], bool]) -> None:
        """Archive every message above the last committed UID (spooled raw, a batch per commit), then derive
        what the mailbox has spooled (archive/spool.py), this look's and any a stop or a kill left."""
        self.spool_new(progress, stopping)
        for outcome in derive_spooled(self.intake(), self.box.key, self.box.batch, stopping, self.keep_alive):
            progress.outcomes.append(outcome)

    def spool_new(self, progress: Progress, stopping: Callable[[], bool]) -> None:
        """Spool every message above the last committed UID, a batch per commit with the mailbox position."""
        box, intake = self.box, self.intake()
        state = load_state(intake.db, box.key)
        last_uid = 0
        if state is not None and state.uidvalidity == self.uidvalidity:
            last_uid = state.last_uid
        elif state is not None and state.uidvalidity is not None:
            log.warning(
                "%s: 邮箱的 UIDVALIDITY 已改变（%s → %s）：重新查看全部邮件，已归档的不会重复归档",
                box.key,
                state.uidvalidity,
                self.uidvalidity,
            )
            progress.rescanned = True
        if box.after_archive == "move" and last_uid:  # what a failed move left behind, moved now
            for left in _chunks(_left_behind(self.client, last_uid), box.batch):
                progress.untidied = _after_archive(self.client, box, left)
                if progress.untidied:
                    break
                progress.tidied += len(left)
        uids = _new_uids(self.client, last_uid, self.uidnext)
        self.uidnext = None
        position = partial(advance, mailbox=box.key, folder=box.folder, uidvalidity=self.uidvalidity)
        if not uids and (state is None or state.uidvalidity != self.uidvalidity):
            spool(intake, [], partial(position, last_uid=last_uid))
        refusals = _REFUSALS.setdefault((box.key, box.folder, self.uidvalidity), {})
        for batch in _chunks(uids, box.batch):
            for part in [[uid] for uid in batch] if refusals.keys() & set(batch) else [batch]:
                if stopping():
                    return
                passed = [uid for uid in part if refusals.get(uid, (0, ""))[0] >= _REFUSED_ALONE]
                items, refused = self._fetch_noting(refusals, [uid for uid in part if uid not in passed])
                passed += refused
                spool(intake, items, partial(position, last_uid=max(part)))
                self.spoken = time.monotonic()
                progress.fetched += len(items)
                for uid in passed:
                    progress.untidied = _passed_over(box, uid, refusals.pop(uid)[1])
                # _fetch sets every item's uid; the test narrows the type only
                untidied = _after_archive(self.client, box, [item.uid for item in items if item.uid is not None])
                progress.untidied = untidied or progress.untidied

    def _fetch_noting(self, refusals: dict[int, tuple[int, str]], uids: list[int]) -> tuple[list[Incoming], list[int]]:
        """The messages, and those the server refused alone on this connection (to be passed over). A refusal is
        noted (_Refusals); when the connection went with it (Dovecot), the error goes on and the next connection
        fetches a message at a time; when it stayed (a tagged NO), that is done now."""
        if not uids:
            return [], []
        try:
            items = _fetch(self.client, self.box, self.uidvalidity, uids)
        except (*RETRYABLE, IMAPClientError) as error:
            if "fetch failed" not in str(error).lower():  # the network's, not the server's answer
                raise
            for uid in uids:
                refusals[uid] = (_REFUSED_ALONE if len(uids) == 1 else 1, _reason(error))
            if isinstance(error, RETRYABLE):
                raise
            if len(uids) == 1:
                return [], uids
            items, refused = [], []
            for uid in uids:
                got, gone = self._fetch_noting(refusals, [uid])
                items += got
                refused += gone
            return items, refused
        for uid in uids:
            refusals.pop(uid, None)
        return items, []

    def keep_alive(self) -> None:
        """Between batches of a long derivation: a NOOP now and then, so that the server does not log an idle
        connection out (RFC 3501 allows after 30 minutes)."""
        if time.monotonic() - self.spoken > KEEP_ALIVE:
            self.spoken = time.monotonic()
            try:
                self.client.noop()
            except RETRYABLE as error:  # the derivation needs no connection: the next command reconnects
                log.warning("%s: 识别邮件期间与邮件服务器的连接已断开（%s）", self.box.key, error)

    def wait_for_news(self, seconds: float, stopping: Callable[[], bool]) -> bool:
        """IDLE for at most `seconds` (servers drop an IDLE after about 30 minutes: ask again sooner);
        True as soon as the server announces a new message, False at the end or when `stopping()`.
        IdleDropped when the server closed the connection meanwhile (restarted)."""
        started = time.monotonic()
        end = started + seconds
        self.client.idle()
        news, quick = False, 0
        try:
            while not news and not stopping() and (left := end - time.monotonic()) > 0:
                step, began = min(IDLE_STEP, left), time.monotonic()
                try:
                    responses = self.client.idle_check(timeout=step)
                except ProtocolError as error:  # a line read cut short over TLS (imapclient #351, #464): the
                    # connection is no longer to be trusted, as after a server's restart: a new one at once
                    raise IdleDropped(f"IDLE 期间收到不完整的应答（{error}）", time.monotonic() - started) from error
                news = any(_announces_mail(response) for response in responses)
                # imapclient answers a closed connection with nothing, at once, each time it is asked
                quick = quick + 1 if not responses and time.monotonic() - began < step / 2 else 0
                if quick >= CLOSED_AFTER:
                    raise IdleDropped("服务器在 IDLE 期间关闭了连接，可能正在重启", time.monotonic() - started)
        except BaseException:
            with contextlib.suppress(*RETRYABLE):  # DONE on a broken connection fails too: what broke it is said
                self.client.idle_done()
            raise
        self.client.idle_done()
        return news

    def close(self) -> None:
        _logout(self.client)


def _announces_mail(response: tuple) -> bool:
    """`* n EXISTS` (or RECENT): the folder grew."""
    return len(response) >= 2 and response[1] in (b"EXISTS", b"RECENT")


# RFC 5530's codes of a login refused for a passing fault of the server's own (its password database unreadable,
# a restart, too many sessions): the user name and code are not in doubt, and the next try may pass.
_SERVER_FAULTS = re.compile(r"\[(UNAVAILABLE|SERVERBUG|INUSE)\]", re.IGNORECASE)


def _login(client: IMAPClient, box: Mailbox) -> None:
    try:
        client.login(box.username, box.password())
    except LoginError as error:
        if _SERVER_FAULTS.search(_reason(error)):
            raise ImapFailure(
                f"{box.host}:{box.port} 暂时无法登录，是服务器自身的暂时问题，用户名和密码（授权码）不必改，稍后再试"
                f"（{_reason(error)}）"
            ) from error
        raise ImapFailure(
            f"登录被拒绝（{box.host}:{box.port}，用户名 {box.username}）：请检查用户名和授权码（{APP_PASSWORD}）"
            f"（{_reason(error)}）",
            lasting=True,
        ) from error
    # NetEase (163/126) answers SELECT with "Unsafe Login" unless the client identifies itself first.
    if client.has_capability("ID"):
        client.id_(CLIENT_ID)


def _select(client: IMAPClient, box: Mailbox) -> dict:
    try:
        return client.select_folder(box.folder, readonly=box.after_archive == "none")
    except IMAPClientError as error:
        if isinstance(error, imaplib.IMAP4.abort):  # the connection dropped: a passing fault
            raise
        raise ImapFailure(
            f"{box.host}:{box.port} 上打不开文件夹 {box.folder}：请检查 folder 的拼写（{_reason(error)}）", lasting=True
        ) from error


def _new_uids(client: IMAPClient, last_uid: int, uidnext: int | None) -> list[int]:
    """UIDs above `last_uid`. UIDNEXT answers "nothing new" without a search, whatever the mailbox size."""
    if uidnext is not None and int(uidnext) <= last_uid + 1:
        return []
    # `UID SEARCH UID n:*` answers with the last message even when it is below n: filter.
    return sorted(uid for uid in client.search(["UID", f"{last_uid + 1}:*"]) if uid > last_uid)


def _left_behind(client: IMAPClient, last_uid: int) -> list[int]:
    """UIDs up to `last_uid`, archived and committed, still in a folder whose mail is moved out once archived: a
    move that failed (its folder missing) left them; tried again at each look until it succeeds, in batches
    (a mailbox switched to `move` has its whole history moved so, once). With moves working the folder holds
    only new mail, so the answer stays short. Mail a copy-and-delete move marked deleted is not copied again."""
    return sorted(uid for uid in client.search(["UID", f"1:{last_uid}", "NOT", "DELETED"]) if uid <= last_uid)


def _fetch(client: IMAPClient, box: Mailbox, uidvalidity: int, batch: Sequence[int]) -> list[Incoming]:
    response = client.fetch(batch, FETCH_ITEMS)
    return [
        Incoming(
            raw=response[uid][b"BODY[]"],
            mailbox=box.key,
            source="imap",
            arrival=_plain_zone(response[uid][b"INTERNALDATE"]),
            folder=box.folder,
            uidvalidity=uidvalidity,
            uid=uid,
        )
        for uid in batch
        # a message expunged by another session since the SEARCH is gone: Dovecot answers BODY[] NIL
        if uid in response and response[uid].get(b"BODY[]") is not None
    ]


# Messages the server refused to FETCH, by mailbox, folder and UIDVALIDITY: UID → (refusals, the server's words).
# Dovecot drops the connection after refusing one (a message file it cannot read), so what was learnt must outlive
# the connection: a batch holding a refused message is fetched a message at a time at the next connection, and a
# message refused alone is passed over then, said (status, the log) and left on the server, where it held back
# every later mail of its mailbox for good. In memory: a restart learns it again in two connections.
_REFUSALS: dict[tuple[str, str, int], dict[int, tuple[int, str]]] = {}
_REFUSED_ALONE = 2


def _passed_over(box: Mailbox, uid: int, reason: str) -> str:
    said = (
        f"邮件服务器无法读取 UID {uid} 的邮件（{reason}），已跳过，邮件仍在服务器上：请在网页邮箱中查看这封邮件"
        "（可能已损坏），必要时请发件单位重新发送"
    )
    log.error("%s: %s", box.key, said)
    return said


def _plain_zone(when: datetime) -> datetime:
    """INTERNALDATE with its offset as a standard `timezone` (imapclient's own cannot be pickled to the
    reader sandbox's workers)."""
    offset = when.utcoffset()
    return when if offset is None else when.replace(tzinfo=timezone(offset))


def _after_archive(client: IMAPClient, box: Mailbox, uids: list[int]) -> str | None:
    """The configured action, only once the batch is committed: nothing is marked before it is safe. What went
    wrong, in a line for the poll's report and `status` (the mail is archived; only the tidying failed), else
    None."""
    if not uids or box.after_archive == "none":
        return None
    try:
        if box.after_archive == "flag":
            client.add_flags(uids, [b"\\Flagged"])
        elif box.after_archive == "seen":
            client.add_flags(uids, [b"\\Seen"])
        elif box.after_archive == "move" and client.has_capability("MOVE"):
            client.move(uids, box.move_to)
        elif box.after_archive == "move":
            client.copy(uids, box.move_to)
            client.delete_messages(uids)
            client.uid_expunge(uids) if client.has_capability("UIDPLUS") else client.expunge()
    except IMAPClientError as error:
        log.error("%s: 归档后的处理（after_archive = %s）失败：%s", box.key, box.after_archive, error)
        if box.after_archive != "move":
            return f'邮件已归档，但按 after_archive = "{box.after_archive}" 标记邮件失败（{error}）'
        missing = "TRYCREATE" in str(error).upper()
        why = "该文件夹不存在：请在邮箱中建立它，或改正 move_to" if missing else f"服务器说：{error}"
        return f'邮件已归档，但按 after_archive = "move" 移到文件夹“{box.move_to}”失败，邮件仍在原处；{why}'
    return None


def _logout(client: IMAPClient) -> None:
    try:
        client.logout()
    except (*RETRYABLE, IMAPClientError):
        pass  # the connection is already gone; nothing is lost by not saying goodbye


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
