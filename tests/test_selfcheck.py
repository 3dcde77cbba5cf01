"""A clerk's 自查 by mail: a mail whose subject starts with 自查 is archived like every message, answered once
with what `mailroom inspect` says of its files (read again from the stored attachments, in the reader
sandbox), through the owed-reply record stored with it; and it never counts: no package, no score, no
matrix cell, no finding, nothing in the queue."""

from __future__ import annotations

import email
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email import policy
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from archive.evidence import load_evidence
from archive.findings import all_findings
from archive.ingest import Incoming, ingest_batch
from archive.models import Message, OutboxMail, OwedReply
from archive.queue import attention
from archive.search import Query, search
from bot.cli.group import main
from bot.config import load_config
from bot.daemon.poll import send_owed
from bot.demo.folder import compose
from bot.services.scores import compute_standings, matrix_json, month_matrix, standings_json
from parsers.recognize import kind_of
from parsers.records import Kind
from replies.receipt import MessageFacts, reply_owed
from tests.conftest import DATA, ROOT, make_config

SHANGHAI = ZoneInfo("Asia/Shanghai")
BOOKS = DATA / "workbooks"
JING = "jxcl2020@163.com"
WUYI = "wyxcl@163.com"  # 武邑县's registered address
TAOCHENG = "tcqcl@163.com"  # 桃城区's
REHAB = "hskf2006@126.com"
FILES = {"附件2.xls": "summary-jing-xian-with-space.xls", "附件3.xlsx": "bad-ids-and-phones.xlsx"}


@pytest.fixture
def config(tmp_path, database_url):
    """The example config; replies go to mail of any age (the tests' mail is from 2020)."""
    made = make_config(tmp_path, database_url)
    return replace(made, outgoing=replace(made.outgoing, receipts_max_age_days=0))


def mail(subject: str, sender: str = JING, files: dict[str, str] = FILES, day: int = 15) -> bytes:
    message = compose(sender, REHAB, subject, datetime(2020, 5, day, 9, tzinfo=SHANGHAI), body="请帮忙检查")
    for name, sample in files.items():
        message.add_attachment(
            (BOOKS / sample).read_bytes(), maintype="application", subtype="octet-stream", filename=name
        )
    return message.as_bytes()


def store(deps, *raws: bytes) -> list[int]:
    outcomes = ingest_batch(
        deps.db, deps.store, deps.recognizer, [Incoming(raw=raw, mailbox="kf", source="import") for raw in raws]
    )
    return [outcome.id for outcome in outcomes]


def answers(deps) -> list[OutboxMail]:
    with deps.db.session() as session:
        return list(session.scalars(select(OutboxMail).where(OutboxMail.kind == "selfcheck")))


def text_of(mail_row: OutboxMail) -> str:
    return email.message_from_bytes(mail_row.raw, policy=policy.default).get_body(("plain",)).get_content()


@pytest.mark.parametrize(
    "subject, kind",
    [
        ("自查 景县5月份报表", Kind.SELFCHECK),
        ("【自查】景县附件3", Kind.SELFCHECK),
        ("自查：附件2", Kind.SELFCHECK),
        ("  自 查 附件2", Kind.SELFCHECK),
        ("转发：自查 景县附件3", Kind.SELFCHECK),
        ("Fw: 自查", Kind.SELFCHECK),
        ("回复：自查 景县附件3", Kind.REPLY),
        ("Re: 检查结果：自查 景县附件3", Kind.REPLY),
        ("转发：检查结果：自查 景县附件3", Kind.REPORT),
        ("景县5月份报表（已自查）", Kind.REPORT),
    ],
)
def test_a_subject_starting_with_zicha_is_a_selfcheck(subject, kind):
    """Forwards count as what they forward; a reply is a conversation; our own answer ("检查结果：…")
    forwarded back is no new 自查, so no answer ever answers an answer."""
    from parsers.mime import parse_message

    assert kind_of(parse_message(mail(subject))) is kind


NOW = datetime(2020, 5, 15, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    "sender, arrival, owed",
    [
        (JING, NOW, "selfcheck"),
        ("2851736642@qq.com", NOW, "selfcheck"),  # a clerk's own address: anyone may ask
        (REHAB, NOW, None),  # ourselves
        ("noreply@163.com", NOW, None),
        (None, NOW, None),
        (JING, NOW - timedelta(days=8), None),  # old mail found on a first poll
    ],
)
def test_who_is_answered_a_selfcheck(sender, arrival, owed):
    facts = MessageFacts(
        id=1,
        kind="selfcheck",
        unit=None,
        month=None,
        registered=False,
        sender=sender,
        subject="自查",
        message_id="<a@x>",
        references=(),
        arrival=arrival,
        body_text="",
        attachment_names=("附件3.xlsx",),
    )
    assert reply_owed(facts, frozenset({REHAB}), NOW, timedelta(days=7)) == owed


def test_a_selfcheck_mail_is_answered_once_with_the_inspection_and_never_counted(config, deps, tmp_path, monkeypatch):
    """GIVEN 景县's registered clerk mails 自查 with a 附件2 and a 附件3 full of mistakes on May 15
    WHEN it is stored and the sender runs twice (and the same mail is fetched again)
    THEN it is archived and found by search; one owed reply of kind selfcheck was stored with it; one
    answer is sent, threaded under it, saying line for line what `mailroom inspect` says of the same files
    (and, since the sender is 景县's, that the 附件3 is 桃城区's), what that comes to, and that nothing was
    counted; and May's matrix, the standings, the findings and the queue are what they were without it."""
    before = _counted(config, deps)
    raw = mail("自查 景县5月份报表")
    [message_id] = store(deps, raw)
    with deps.db.session() as session:
        message = session.get(Message, message_id)
        assert (message.kind, message.unit, message.registered) == ("selfcheck", "景县", True)
        assert [(row.kind, row.cause, row.queued_at) for row in session.scalars(select(OwedReply))] == [
            ("selfcheck", f"selfcheck:{message_id}", None)
        ]
        assert [m.id for m in search(session, Query(text="自查"))] == [message_id]
    now = datetime(2020, 5, 15, 9, 5, tzinfo=SHANGHAI)
    assert send_owed(config, deps, now).receipts == 1
    assert send_owed(config, deps, now + timedelta(minutes=5)).receipts == 0
    assert store(deps, raw) == [message_id]  # fetched again: the same message
    assert send_owed(config, deps, now + timedelta(minutes=10)).receipts == 0
    [answer] = answers(deps)
    assert (answer.about_message, answer.recipients, answer.state) == (message_id, JING, "sent")
    parsed = email.message_from_bytes(answer.raw, policy=policy.default)
    assert parsed["Subject"] == "检查结果：自查 景县5月份报表"
    assert parsed["In-Reply-To"] and parsed["Auto-Submitted"] == "auto-replied"
    lines = text_of(answer).splitlines()
    assert (
        "本邮件只用于自查：不算报送，不计分，报送情况不变。检查无误后，请另发一封正式报送邮件（主题不要以“自查”开头）。"
        in lines
    )
    assert lines[lines.index("检查结果：") + 1 : lines.index("衡水市残联残疾人服务工程督导系统") - 1] == [
        *_inspect_lines(tmp_path, monkeypatch),
        "  问题：表中写的单位是桃城区，而您单位是景县；请核对是否选错了文件",
        "",
        "发现问题：请按上面的提示修改后再检查一次。",
        "这些文件属于不同月份（2020年4月：附件3.xlsx；2020年5月：附件2.xls），已按月份分别检查；如不是一并补报几个月，请核对标题中的月份（可能是沿用了上个月的表格）。",
    ]
    assert _counted(config, deps) == before


def test_a_selfcheck_without_files_and_a_clean_one(config, deps):
    """GIVEN a 自查 with no attachment and one from 桃城区's address with its clean April 附件2 WHEN answered
    THEN the first asks for the files; the second says the file checked holds no problem and which of
    April's forms were not among the files, never that the month may be sent (the check knows neither what
    is due nor what else will be sent)."""
    bare, clean = store(
        deps,
        mail("自查", files={}),
        mail("自查 附件2", TAOCHENG, files={"附件2.xlsx": "summary-unit-row-only.xlsx"}),
    )
    send_owed(config, deps, datetime(2020, 5, 15, 9, 5, tzinfo=SHANGHAI))
    texts = {row.about_message: text_of(row) for row in answers(deps)}
    assert "邮件中没有附件，没有可检查的内容。请把要检查的表格作为附件添加后重新发送。" in texts[bare].splitlines()
    assert texts[clean].splitlines()[-4:-1] == [
        "所检查的文件未发现问题。",
        "本次未包含桃城区2020年4月应报送的附件1、附件3、附件4、附件5、附件6、附件7、附件8（正式报送时请一并发送）。",
        "",
    ]
    assert "未发现问题" not in texts[bare] and "可以正式报送" not in texts[clean]


def test_another_units_form_sent_for_a_selfcheck_is_a_problem(config, deps):
    """GIVEN `自查 武邑县11月份报表` from 武邑县's registered address carrying 桃城区's clean April 附件2, and the
    same from an address registered for no unit WHEN answered THEN the first says the form is 桃城区's and
    that problems were found (nothing "clean"), in the text and in the HTML part; the second, from an asker
    who may be anyone, is checked as the file alone."""
    files = {"附件2.xlsx": "summary-unit-row-only.xlsx"}
    registered, personal = store(
        deps,
        mail("自查 武邑县11月份报表", WUYI, files=files),
        mail("自查 武邑县11月份报表", "2851736642@qq.com", files=files, day=16),
    )
    send_owed(config, deps, datetime(2020, 5, 16, 9, 5, tzinfo=SHANGHAI))
    rows = {row.about_message: row for row in answers(deps)}
    lines = text_of(rows[registered]).splitlines()
    assert "  问题：表中写的单位是桃城区，而您单位是武邑县；请核对是否选错了文件" in lines
    assert "发现问题：请按上面的提示修改后再检查一次。" in lines and "未发现问题" not in "".join(lines)
    html = email.message_from_bytes(rows[registered].raw, policy=policy.default).get_body(("html",)).get_content()
    assert "表中写的单位是桃城区，而您单位是武邑县" in html and "发现问题：请按上面的提示修改后再检查一次。" in html
    assert "所检查的文件未发现问题。" in text_of(rows[personal]).splitlines()


def _inspect_lines(tmp_path, monkeypatch) -> list[str]:
    """What `mailroom inspect` prints of each file, for the same files under the same names (its conclusion
    follows after a blank line: the mail's own differs here, the sender's unit being known)."""
    folder = tmp_path / "clerk"
    folder.mkdir()
    for name, sample in FILES.items():
        (folder / name).write_bytes((BOOKS / sample).read_bytes())
    monkeypatch.chdir(folder)
    result = CliRunner().invoke(main, ["--config", str(ROOT / "config.example.toml"), "inspect", *FILES])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    return lines[: lines.index("")]


def _counted(config, deps) -> tuple:
    """Everything a message could count for: May's matrix, the standings, the findings and the queue."""
    with deps.db.session() as session:
        evidence = load_evidence(session)
        return (
            matrix_json("2020-05", month_matrix(config, evidence, "2020-05", datetime(2020, 6, 1, tzinfo=SHANGHAI))),
            standings_json(compute_standings(config, evidence, "2020-06")),
            evidence.arrivals,
            all_findings(session, evidence.summaries),
            [item.handle for item in attention(session)],
        )


def test_a_file_that_kills_its_reader_is_said_so_and_the_others_are_read(tmp_path):
    """GIVEN a 附件6 whose compound file's directory chain loops (calamine allocates until the process aborts)
    beside a good one WHEN inspected for a 自查 (upload or mail) THEN the reader process dies, not ours: the
    good file is read, the bad one says its reader died."""
    from bot.services.inspect import inspect_untrusted
    from bot.services.sandbox import Sandbox, SandboxLimits
    from tests.test_poison import loop_directory_chain, registry_xls

    config = make_config(tmp_path, f"sqlite:///{tmp_path}/unused.db")
    sandbox = Sandbox(SandboxLimits(memory_mb=768, seconds=60))
    try:
        results = inspect_untrusted(
            [("坏.xls", loop_directory_chain(registry_xls())), ("附件6.xls", registry_xls())], config, sandbox
        )
    finally:
        sandbox.close()
    assert [(r["file"], r["form"], r["readable"]) for r in results] == [("坏.xls", None, False), ("附件6.xls", 6, True)]
    assert "读取“坏.xls”时读取程序异常终止或超时" in results[0]["problems"][0]["message"]


def test_a_selfcheck_from_an_unregistered_address_is_not_flagged_for_staff():
    """A clerk may ask for a 自查 from a personal address: nothing of it counts, so its sender is no problem to
    report to staff, where a report package from that address is."""
    from parsers.mime import parse_message
    from parsers.recognize import recognize

    config = load_config(ROOT / "config.example.toml", environ={})

    def recognised(subject: str):
        parsed = parse_message(mail(subject, sender="2851736642@qq.com"))
        return recognize(parsed, config.plan("2020-05").units, NOW, config.timezone)

    assert recognised("自查 景县5月份报表").problems == ()
    assert any("未登记" in problem for problem in recognised("景县5月份报表").problems)
