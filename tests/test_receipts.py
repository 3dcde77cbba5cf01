"""End to end on loopback: a unit's mail is polled from Dovecot, and its receipt arrives in the unit's own
Dovecot mailbox through a real SMTP server; machine mail and strangers get nothing."""

from __future__ import annotations

import email
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from email import policy
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from archive.models import OutboxMail
from bot.daemon.deps import open_deps
from bot.daemon.poll import poll_once
from bot.demo.folder import compose
from tests.conftest import DATA, make_config
from tests.smtp_server import SmtpServer

pytestmark = pytest.mark.imap
SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICE = "hsclbgs666@163.com"
UNITS = {"zqxcl@163.com": "zqx", "jxcl2020@163.com": "jx", "jingxian_canlian@qq.com": "qq"}


@pytest.fixture(scope="module")
def dovecot():
    from tests.dovecot import INSTALL_HINT, Dovecot, dovecot_binary

    if dovecot_binary() is None:
        pytest.skip(INSTALL_HINT)
    users = {"bgs": "office-pw", **{user: "unit-pw" for user in UNITS.values()}}
    with Dovecot(users=users) as server:
        yield server


@pytest.fixture
def smtp(dovecot):
    server = SmtpServer(lambda rcpt, raw: dovecot.append(UNITS[rcpt], raw, folder="INBOX"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def setup(tmp_path, database_url, dovecot, smtp, monkeypatch):
    monkeypatch.setenv("TEST_PW_BGS", "office-pw")
    folder = f"R{uuid.uuid4().hex[:12]}"
    with dovecot.client("bgs") as client:
        client.create_folder(folder)
    box = {
        "key": "bgs",
        "name": "办公室",
        "address": OFFICE,
        "source": "imap",
        "host": dovecot.host,
        "port": dovecot.port,
        "security": "plain",
        "username": "bgs",
        "password_env": "TEST_PW_BGS",
        "folder": folder,
    }
    config = make_config(tmp_path, database_url, [box])
    config = replace(
        config,
        outgoing=replace(
            config.outgoing,
            transport="smtp",
            host="127.0.0.1",
            port=smtp.port,
            security="plain",
            username="",
            sender=OFFICE,
            receipts_max_age_days=0,  # the tests' mail is dated 2020
            sent_copy_mailbox="bgs",
            sent_copy_folder=folder + "-sent",
        ),
    )
    with dovecot.client("bgs") as client:
        client.create_folder(folder + "-sent")
    deps = open_deps(config)
    yield config, deps, folder
    deps.close()


def inbox(dovecot, user: str) -> list[email.message.EmailMessage]:
    with dovecot.client(user) as client:
        client.select_folder("INBOX", readonly=True)
        fetched = client.fetch(client.search("ALL"), [b"BODY.PEEK[]"])
    return [email.message_from_bytes(data[b"BODY[]"], policy=policy.default) for data in fetched.values()]


def clear(dovecot, user: str) -> None:
    with dovecot.client(user) as client:
        client.select_folder("INBOX")
        uids = client.search("ALL")
        if uids:
            client.delete_messages(uids)
            client.expunge()


def test_a_briefing_gets_a_threaded_readable_receipt(dovecot, setup):
    config, deps, folder = setup
    clear(dovecot, "zqx")
    article = compose(
        "zqxcl@163.com",
        OFFICE,
        "枣强县贫困残疾人服务工程专项信息",
        datetime(2020, 5, 6, 9, tzinfo=SHANGHAI),
        body="我县举办残疾人实用技术培训班，培训农村残疾人五十名，内容包括种植、养殖技术。",
    )
    dovecot.append("bgs", article.as_bytes(), folder=folder, internaldate=datetime(2020, 5, 6, 9, tzinfo=SHANGHAI))
    report = poll_once(config, deps)
    assert report.receipts == 1 and report.outbox.sent == 1
    [receipt] = inbox(dovecot, "zqx")
    assert receipt["In-Reply-To"] == article["Message-ID"]
    assert article["Message-ID"] in receipt["References"]
    assert receipt["Auto-Submitted"] == "auto-replied"
    assert str(receipt["Subject"]) == "回执：枣强县贫困残疾人服务工程专项信息"
    text = receipt.get_body(("plain",)).get_content()
    html = receipt.get_body(("html",)).get_content()
    for part in (text, html):
        assert "本月第 1 篇，达标需 8 篇" in part and "枣强县" in part
    assert "2020年5月6日 09:00:00（北京时间）" in text
    with dovecot.client("bgs") as client:  # the copy kept in the office's Sent folder
        client.select_folder(folder + "-sent", readonly=True)
        [copy] = client.fetch(client.search("ALL"), [b"BODY.PEEK[]", b"FLAGS"]).values()
    assert email.message_from_bytes(copy[b"BODY[]"])["Message-ID"] == receipt["Message-ID"]
    assert b"\\Seen" in copy[b"FLAGS"]


def test_a_subject_holding_a_line_break_gets_its_receipt_on_one_line(dovecot, setup):
    """GIVEN a briefing whose subject, pasted from a web page, holds U+2028, and another's an encoded CR LF WHEN
    polled THEN each gets its receipt, the subject quoted on one line: the mail library refused the subject, the
    receipt was never composed and every poll logged the failure (web attacker)."""
    import base64

    config, deps, folder = setup
    clear(dovecot, "zqx")
    for n, subject in enumerate(
        ["枣强县贫困残疾人服务工程专项信息\u2028（二）", "枣强县贫困残疾人服务工程专项信息\r\n（三）"]
    ):
        article = compose(
            "zqxcl@163.com",
            OFFICE,
            "PLACEHOLDER",
            datetime(2020, 5, 6, 9 + n, tzinfo=SHANGHAI),
            body=f"我县举办第{n + 2}期残疾人实用技术培训班，培训农村残疾人五十名，内容包括种植、养殖技术。",
        )
        word = f"=?utf-8?b?{base64.b64encode(subject.encode()).decode()}?="
        raw = article.as_bytes().replace(b"Subject: PLACEHOLDER", f"Subject: {word}".encode())
        dovecot.append("bgs", raw, folder=folder, internaldate=datetime(2020, 5, 6, 9 + n, tzinfo=SHANGHAI))
    report = poll_once(config, deps)
    assert report.receipts == 2 and report.outbox.sent == 2
    subjects = sorted(str(receipt["Subject"]) for receipt in inbox(dovecot, "zqx"))
    assert subjects == [
        "回执：枣强县贫困残疾人服务工程专项信息 （三）",
        "回执：枣强县贫困残疾人服务工程专项信息 （二）",
    ]


def test_the_sent_copies_of_a_pass_go_over_one_login(dovecot, setup):
    """GIVEN three briefings WHEN one poll answers them THEN three copies are in the Sent folder, kept over one
    login of the office's mailbox beside the poll's own (each copy logged in again: with the receipts' own
    logins, six within seconds for three mails)."""
    config, deps, folder = setup
    logins = lambda: dovecot.log_text().count("Login: user=<bgs>")  # noqa: E731
    before = logins()
    poll_once(config, deps)  # nothing to answer: the poll's own logins
    polling = logins() - before
    for n in range(3):
        article = compose(
            "zqxcl@163.com",
            OFFICE,
            f"枣强县贫困残疾人服务工程专项信息（{n + 1}）",
            datetime(2020, 5, 6, 9, n, tzinfo=SHANGHAI),
        )
        dovecot.append("bgs", article.as_bytes(), folder=folder, internaldate=datetime(2020, 5, 6, 9, tzinfo=SHANGHAI))
    before = logins()
    report = poll_once(config, deps)
    assert (report.receipts, report.outbox.sent) == (3, 3)
    assert logins() - before == polling + 1  # the poll's own, and the copies'
    with dovecot.client("bgs") as client:
        client.select_folder(folder + "-sent", readonly=True)
        assert len(client.search("ALL")) == 3


def test_machine_mail_and_strangers_get_nothing(dovecot, setup):
    config, deps, folder = setup
    clear(dovecot, "jx")
    clear(dovecot, "qq")
    for sample in (
        "0039-auto-submitted-auto-replied.eml",
        "0041-subject-only-auto-reply.eml",
        "0049-unregistered-sender.eml",
        "0043-bounce-multipart-report.eml",
    ):
        dovecot.append("bgs", (DATA / "mail" / sample).read_bytes(), folder=folder)
    report = poll_once(config, deps)
    assert sum(box.new for box in report.mailboxes) == 4
    assert report.receipts == 0 and report.outbox.sent == 0
    assert inbox(dovecot, "jx") == [] and inbox(dovecot, "qq") == []


def test_a_report_receipt_names_forms_problems_and_what_is_missing(dovecot, setup):
    config, deps, folder = setup
    clear(dovecot, "zqx")
    package = compose(
        "zqxcl@163.com", OFFICE, "枣强县4月份目标任务进展情况", datetime(2020, 4, 21, 0, 0, 30, tzinfo=SHANGHAI)
    )
    package.add_attachment(
        (DATA / "workbooks" / "package-gbk-names.zip").read_bytes(),
        maintype="application",
        subtype="zip",
        filename="四月报表.zip",
    )
    dovecot.append(
        "bgs", package.as_bytes(), folder=folder, internaldate=datetime(2020, 4, 21, 0, 0, 30, tzinfo=SHANGHAI)
    )
    poll_once(config, deps)
    [receipt] = inbox(dovecot, "zqx")
    text = receipt.get_body(("plain",)).get_content()
    assert "附件2 目标任务完成情况汇总表" in text and "附件3 康复服务实名制登记表" in text
    assert "已超过时限（迟报）" in text  # 00:00:30 on the 21st in Shanghai
    assert "该月尚未收到：附件4、附件5、附件6、附件7、附件8" in text


def test_with_the_smtp_server_down_the_receipt_waits_and_goes_out_once(dovecot, setup, smtp):
    config, deps, folder = setup
    clear(dovecot, "jx")
    smtp.stop()
    article = compose(
        "jxcl2020@163.com", OFFICE, "景 县贫困残疾人服务工程专项信息", datetime(2020, 6, 2, 9, tzinfo=SHANGHAI)
    )
    dovecot.append("bgs", article.as_bytes(), folder=folder)
    first = poll_once(config, deps)
    assert first.receipts == 1 and first.outbox.failed == 1
    with deps.db.session() as session:
        [waiting] = session.scalars(select(OutboxMail)).all()
    assert waiting.state == "pending" and waiting.last_error
    smtp.start()
    later = replace(deps, clock=lambda: datetime.now(UTC).replace(year=2100))  # past the backoff
    assert poll_once(config, later).outbox.sent == 1
    assert poll_once(config, later).outbox.sent == 0
    assert len(inbox(dovecot, "jx")) == 1


def test_the_receipt_html_as_a_person_sees_it(tmp_path):
    """GIVEN a report with an unreadable file and problems WHEN its receipt's HTML is shown in Chromium
    THEN a person reads the facts, the problems and what to resend; a hostile file name stays text."""
    from bot.outgoing.receipts import _compose
    from replies.receipt import FileFacts, MessageFacts, receipt_for
    from tests.browser import page_of

    config = make_config(tmp_path, "sqlite://", None)
    facts = MessageFacts(
        id=7,
        kind="report",
        unit="景县",
        month="2020-04",
        registered=True,
        sender="jxcl2020@163.com",
        subject="景县4月份报表",
        message_id="<m@163.com>",
        references=(),
        arrival=datetime(2020, 4, 20, 23, 59, 59, tzinfo=SHANGHAI),
        body_text="",
        attachment_names=("<img src=x onerror=alert(1)>.xlsx",),
        files=(
            FileFacts(
                "<img src=x onerror=alert(1)>.xlsx",
                None,
                False,
                0,
                problems=("［Sheet1 C5］残疾人证号校验位不对，请核对后改正",),
            ),
        ),
    )
    message = _compose(config, receipt_for(facts, [], None, 8), datetime(2020, 4, 21, tzinfo=SHANGHAI))
    page_file = tmp_path / "receipt.html"
    page_file.write_text(message.get_body(("html",)).get_content(), encoding="utf-8")
    with page_of(page_file) as page:
        seen = page.inner_text("body")
        images = page.locator("img").count()
    assert "到达时间\t2020年4月20日 23:59:59（北京时间）" in seen and "报送月份\t2020年4月" in seen
    assert (
        "残疾人证号校验位不对" in seen
        and "请重新发送：附件“<img src=x onerror=alert(1)>.xlsx”中没有可读取的附件表格" in seen
    )
    assert "<img src=x onerror=alert(1)>.xlsx" in seen and images == 0
