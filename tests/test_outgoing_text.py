"""The plain-text receipts, reminders and digest read line by line: each attachment on its own line, the
completeness sentence on its own line, sections apart, nothing run together."""

from __future__ import annotations

import email
from dataclasses import replace
from datetime import UTC, datetime
from email import policy
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from archive.ingest import Incoming, ingest_batch
from archive.models import FormReadingRow, OutboxMail
from bot.demo.season.files import docx_bytes
from bot.demo.season.mail import compose
from bot.outgoing.digest import render_digest
from bot.outgoing.digest_mail import prepare_digest
from bot.outgoing.receipts import queue_owed_receipts
from bot.outgoing.reminders import queue_reminders
from bot.services.inspect import archive_inspector
from parsers.form_layouts import FORM_TITLES
from parsers.mime_headers import decode_header
from tests.conftest import DATA, make_config

SHANGHAI = ZoneInfo("Asia/Shanghai")
JINGXIAN = "jxcl2020@163.com"
OFFICE = "hsclbgs666@163.com"
ZONES = {"高新区": "高新区社发局", "滨湖新区": "滨湖新区社管局"}  # whom the example config has greeted
REPORT = ["景县 4 月份目标任务进展情况报告", "一、目标任务完成情况", "截至4月底，康复服务完成 20 人。"]


@pytest.fixture
def config(tmp_path, database_url):
    made = make_config(tmp_path, database_url)
    return replace(made, outgoing=replace(made.outgoing, receipts_max_age_days=0))


ARTICLE = "景县残联开展助残日活动，走访慰问贫困残疾人家庭三十户，发放慰问金和米面油等物资。"  # a briefing's text


def mail(subject: str, arrival: datetime, files: list[tuple[str, bytes]], sender: str = JINGXIAN) -> bytes:
    message = compose(sender, OFFICE, subject, arrival)
    for name, data in files:
        message.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return message.as_bytes()


def store(deps, *raws: bytes) -> list[int]:
    items = [Incoming(raw=raw, mailbox="bgs", source="import") for raw in raws]
    return [outcome.id for outcome in ingest_batch(deps.db, deps.store, deps.recognizer, items)]


def plain(raw: bytes) -> list[str]:
    return email.message_from_bytes(raw, policy=policy.default).get_body(("plain",)).get_content().splitlines()


def outbox(deps, kind: str) -> list[OutboxMail]:
    with deps.db.session() as session:
        return list(session.scalars(select(OutboxMail).where(OutboxMail.kind == kind).order_by(OutboxMail.id)))


def test_a_package_receipt_has_each_file_on_its_line_and_the_completeness_sentence_on_its_own(config, deps):
    """GIVEN 景县's April package of a 附件1.docx (its text read) and a 附件2 workbook titled May, on time WHEN
    its receipt is composed THEN the plain text reads line by line: the header block, one line per file (附件1
    by its length in characters, the workbook by its rows), the workbook's problems under its name (first, that
    its title says another month than the mail), the deadline sentence, then what is still missing."""
    arrival = datetime(2020, 4, 9, 10, 0, tzinfo=SHANGHAI)
    summary = (DATA / "workbooks" / "summary-jing-xian-with-space.xls").read_bytes()
    [message_id] = store(
        deps, mail("景县4月份报表", arrival, [("附件1.docx", docx_bytes(REPORT, arrival)), ("附件2.xls", summary)])
    )
    with deps.db.session() as session:
        queue_owed_receipts(config, session, arrival)
        readings = {
            r.source: r for r in session.scalars(select(FormReadingRow).where(FormReadingRow.message_id == message_id))
        }
    [receipt] = outbox(deps, "receipt")
    summary_reading = readings["附件2.xls"]
    characters = sum(not char.isspace() for char in "".join(REPORT))
    month = "表中写的月份是2020年5月，本邮件报送的是2020年4月，已按景县2020年4月记录；请核对是否附错了文件"
    problems = [f"{n}. {problem}" for n, problem in enumerate([month, *_problems(summary_reading)], 1)]
    missing = [n for n in config.plan("2020-04").calendar.required_forms_for("2020-04") if n not in (1, 2)]
    expected = [
        "景县残联：",
        "",
        "您单位的邮件已收到，以下为系统自动回执（请勿直接回复本邮件）。",
        "",
        "主题：景县4月份报表",
        "到达时间：2020年4月9日 10:00:00（北京时间）",
        "单位：景县",
        "类别：月度报表",
        "报送月份：2020年4月",
        "",
        "附件识别结果：",
        f"- 附件1.docx：附件1 {FORM_TITLES[1]}，正文 {characters} 字",
        f"- 附件2.xls：附件2 {FORM_TITLES[2]}，{summary_reading.rows} 行，完成数 " + _done(summary_reading),
        "",
        "需要修改的问题：",
        "【附件2.xls】",
        *problems,
        "",
        "报送时限：2020年4月报表应于 2020年4月20日 23:59:59 前报送，本次在时限内。",
        "该月尚未收到：" + "、".join(f"附件{n}" for n in missing) + "。",
        "",
        "衡水市残联残疾人服务工程督导系统",
    ]
    assert plain(receipt.raw) == expected


def test_a_briefing_receipt_says_its_place_on_its_own_line(config, deps):
    arrival = datetime(2020, 5, 6, 9, 0, tzinfo=SHANGHAI)
    store(deps, compose(JINGXIAN, OFFICE, "景县贫困残疾人服务工程专项信息（1）", arrival, body=ARTICLE).as_bytes())
    with deps.db.session() as session:
        queue_owed_receipts(config, session, arrival)
    [receipt] = outbox(deps, "receipt")
    lines = plain(receipt.raw)
    needed = config.plan("2020-05").scoring.briefings_per_month
    assert lines[8:] == [
        "报送月份：2020年5月",
        "",
        f"简报信息：本月第 1 篇，达标需 {needed} 篇。",
        "",
        "衡水市残联残疾人服务工程督导系统",
    ]


def test_an_article_another_unit_sent_first_is_said_to_be_that_not_a_resend(config, deps):
    """GIVEN 枣强县's briefing carrying an article WHEN 景县 sends the same article file (copied from 枣强县), and
    枣强县 sends it again THEN 景县's receipt says it is the same as another unit's article sent before (景县's clerk
    never sent it: "与此前报送的稿件相同" read as the system's mistake), 枣强县's second one that it was sent before."""
    first = datetime(2020, 5, 6, 9, 0, tzinfo=SHANGHAI)
    article = ("信息.docx", docx_bytes(["枣强县开展助残日活动", "为 30 名残疾人送去轮椅。"], first))
    subject = "{}贫困残疾人服务工程专项信息（1）"
    store(
        deps,
        mail(subject.format("枣强县"), first, [article], sender="zqxcl@163.com"),
        mail(subject.format("景县"), first.replace(hour=10), [article]),
        mail(subject.format("枣强县"), first.replace(hour=11), [article], sender="zqxcl@163.com"),
    )
    with deps.db.session() as session:
        queue_owed_receipts(config, session, first.replace(hour=12))
    said = [next(line for line in plain(mail.raw) if line.startswith("简报信息：")) for mail in outbox(deps, "receipt")]
    needed = config.plan("2020-05").scoring.briefings_per_month
    assert said == [
        f"简报信息：本月第 1 篇，达标需 {needed} 篇。",
        f"简报信息：与其他单位此前报送的稿件相同（同一篇稿件只计一次），不计数，达标需 {needed} 篇。",
        f"简报信息：与此前报送的稿件相同，不重复计数，达标需 {needed} 篇。",
    ]


def test_a_receipt_says_the_staff_decision_its_recognition_stands_on(config, deps):
    """GIVEN staff confirmed a clerk's personal address as 景县's WHEN a briefing comes from it THEN its receipt
    says so on lines of their own, with why (not who), between the header block and the briefing's place."""
    from archive.staff_senders import add_sender, confirmed_senders

    clerk, arrival = "jx.clerk@qq.com", datetime(2020, 5, 6, 9, 0, tzinfo=SHANGHAI)
    with deps.db.session() as session:
        add_sender(session, "景县", clerk, "电话核实：办公室工作人员个人邮箱", "孙倩", None, zone=UTC)
        session.commit()
        recognizer = replace(deps.recognizer, confirmed=confirmed_senders(session))
    raw = compose(clerk, OFFICE, "景县贫困残疾人服务工程专项信息（1）", arrival, body=ARTICLE).as_bytes()
    ingest_batch(deps.db, deps.store, recognizer, [Incoming(raw=raw, mailbox="bgs", source="import")])
    with deps.db.session() as session:
        queue_owed_receipts(config, session, arrival)
    [receipt] = outbox(deps, "receipt")
    lines = plain(receipt.raw)
    assert lines[8:13] == [
        "报送月份：2020年5月",
        "",
        "工作人员核实：",
        f"- 发件邮箱 {clerk} 已确认为景县的报送邮箱（电话核实：办公室工作人员个人邮箱）",
        "",
    ]
    assert "孙倩" not in "\n".join(lines) and "电话核实：办公室工作人员个人邮箱" in _html(receipt.raw)


def _html(raw: bytes) -> str:
    return email.message_from_bytes(raw, policy=policy.default).get_body(("html",)).get_content()


def test_a_reminder_lists_each_missing_form_on_its_line_then_the_advice_apart(config, deps):
    now = datetime(2020, 5, 17, 9, 0, tzinfo=SHANGHAI)
    with deps.db.session() as session:
        queue_reminders(config, session, "2020-05", now)
    reminders = outbox(deps, "reminder")
    assert len(reminders) == len(config.units)
    forms = config.plan("2020-05").calendar.required_forms_for("2020-05")
    for reminder, unit in zip(reminders, config.units):
        assert plain(reminder.raw) == [
            f"{ZONES.get(unit.name, unit.name + '残联')}：",  # a county's federation, a zone's bureau
            "",
            "2020年5月目标任务进展情况报表应于 2020年5月20日 23:59:59 前报送。"
            "截至 2020年5月17日 09:00，市残联尚未收到以下附件（或收到的文件无法读取）：",
            "",
            *(f"- 附件{n} {FORM_TITLES[n]}" for n in forms),
            "",
            "请在截止时间前报送至市残联任一部室邮箱（系统按单位汇总）。"
            "如已发送，请核对是否从登记的报送邮箱发出、附件能否正常打开。",
            "",
            "衡水市残联残疾人服务工程督导系统（系统自动提醒，请勿直接回复）",
        ]


def test_a_reminder_after_the_deadline_says_it_has_passed_and_dates_carry_their_year(config, deps):
    """GIVEN August 2020's forms missing everywhere WHEN a reminder is queued on 2026-12-06 (long after the
    deadline of 2020-08-20) THEN neither body nor subject asks for the forms "before the deadline": each says
    the deadline has passed and asks for them at once, and "as of" is written with its year."""
    now = datetime(2026, 12, 6, 10, 22, tzinfo=SHANGHAI)
    with deps.db.session() as session:
        queue_reminders(config, session, "2020-08", now)
    reminder = outbox(deps, "reminder")[-1]
    unit = config.units[-1]
    assert reminder.subject == f"【提醒】{unit.name}2020年8月报表尚缺8个附件，已超过截止时间8月20日，请尽快补报"
    assert plain(reminder.raw) == [
        "滨湖新区社管局：",
        "",
        "2020年8月目标任务进展情况报表的报送截止时间为 2020年8月20日 23:59:59，现已超过报送时限。"
        "截至 2026年12月6日 10:22，市残联尚未收到以下附件（或收到的文件无法读取）：",
        "",
        *(f"- 附件{n} {FORM_TITLES[n]}" for n in range(1, 9)),
        "",
        "请尽快补报，报送至市残联任一部室邮箱（系统按单位汇总）。"
        "如已发送，请核对是否从登记的报送邮箱发出、附件能否正常打开。",
        "",
        "衡水市残联残疾人服务工程督导系统（系统自动提醒，请勿直接回复）",
    ]
    html = _html(reminder.raw)
    assert "截止时间前" not in html and "前报送" not in html
    assert "现已超过报送时限" in html and "截至 2026年12月6日 10:22" in html and "请尽快补报" in html


def test_a_reminder_one_second_before_the_deadline_still_asks_before_it(config, deps):
    """The wording turns at the deadline itself (23:59 of the 20th, inclusive), not at the day."""
    now = datetime(2020, 5, 20, 23, 59, 59, tzinfo=SHANGHAI)
    with deps.db.session() as session:
        queue_reminders(config, session, "2020-05", now)
    reminder = outbox(deps, "reminder")[0]
    assert reminder.subject.endswith("截止5月20日")
    assert "请在截止时间前" in "\n".join(plain(reminder.raw)) and "已超过" not in _html(reminder.raw)


def test_the_digest_text_has_one_line_per_unit_in_each_section(config, deps):
    """GIVEN 景县's 附件2 for May arriving after the deadline and nothing else WHEN May's digest is written THEN
    each section is its heading, one line per unit (景县 missing some forms and late with one), a blank line."""
    late = datetime(2020, 5, 22, 9, 0, tzinfo=SHANGHAI)
    summary = (DATA / "workbooks" / "summary-jing-xian-with-space.xls").read_bytes()
    store(deps, mail("景县5月份报表", late, [("附件2.xls", summary)]))
    with deps.db.session() as session:
        _, _, text = render_digest(prepare_digest(config, session, "2020-05", late).digest)
    lines = text.splitlines()
    units = [unit.name for unit in config.units]
    sections = _sections(lines)
    assert [heading[:2] for heading, _ in sections] == [
        "20",
        "累计",
        "本月",
        "一、",
        "二、",
        "三、",
        "四、",
        "五、",
        "本邮",
    ]
    *standings, legend = dict(sections)[next(h for h, _ in sections if h.startswith("一、"))]
    assert sorted(line.split(" ")[1] for line in standings) == sorted(units)
    assert legend == "“—”表示该项尚未到评分时间（计 0 分）；总分相同名次并列。"
    forms = config.plan("2020-05").calendar.required_forms_for("2020-05")
    missing = "、".join(f"附件{n}" for n in forms if n != 2)
    matrix = dict(sections)[next(h for h, _ in sections if h.startswith("二、"))]
    assert f"景县：未报（尚缺 {missing}；截止后收到 附件2）" in matrix
    assert [line for line in matrix if not line.startswith("景县")] == [
        f"{unit}：未报（尚缺 {'、'.join(f'附件{n}' for n in forms)}）" for unit in units if unit != "景县"
    ]
    briefings = dict(sections)[next(h for h, _ in sections if h.startswith("三、"))]
    assert briefings == [f"{unit}：0 篇，目前未达标（本月尚未结束）" for unit in units]  # made on May 22
    assert next(h for h, _ in sections if h.startswith("累计")).startswith("累计得分截至 2020年5月22日 09:00；")
    completion = dict(sections)[next(h for h, _ in sections if h.startswith("四、"))]
    assert [line.split("：")[0] for line in completion] == [*units, "合计"]
    assert dict(sections)[next(h for h, _ in sections if h.startswith("五、"))] == ["截至本月没有发现问题。"]


def _sections(lines: list[str]) -> list[tuple[str, list[str]]]:
    """(first line, the lines under it) of each block between blank lines; the title block split by line."""
    blocks, current = [], []
    for line in [*lines, ""]:
        if line:
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    title, header = blocks[0], blocks[1]
    return [(title[0], []), (header[0], []), (header[1], []), *((block[0], block[1:]) for block in blocks[2:])]


def _done(reading: FormReadingRow) -> str:
    from scoring.evidence import TASK_LABELS

    return "，".join(f"{TASK_LABELS[t]} {f['done']}" for t, f in reading.tasks.items() if f.get("done") is not None)


def _problems(reading: FormReadingRow) -> list[str]:
    from replies.problems import problem_lines

    return problem_lines(reading.problems)


def test_a_package_sent_without_its_files_gets_a_receipt_asking_for_them(config, deps):
    """GIVEN 景县's "4月份报表" with nothing attached, after the deadline WHEN receipts are composed THEN 景县 is
    told at once to attach the files and send again, and that the month's forms are still missing."""
    arrival = datetime(2020, 4, 22, 10, 0, tzinfo=SHANGHAI)
    store(deps, mail("景县4月份报表", arrival, []))
    with deps.db.session() as session:
        queue_owed_receipts(config, session, arrival)
    [receipt] = outbox(deps, "receipt")
    lines = plain(receipt.raw)
    assert "类别：其他来信" in lines and "报送月份：2020年4月" in lines
    assert "请重新发送：本邮件没有附带文件。请把附件1–8（9 月起含附件9、10）的表格文件添加到邮件中重新发送。" in lines
    assert lines[lines.index("报送时限：2020年4月报表应于 2020年4月20日 23:59:59 前报送。") + 1].startswith(
        "现已过时限，该月尚未收到：附件1、附件2"
    )


def test_a_briefing_in_a_month_that_scores_none_is_told_so(config, deps):
    """GIVEN 景县's article in December (the plan scores briefings April–November) WHEN its receipt is composed
    THEN it says the month scores no briefings, never that 8 are needed."""
    arrival = datetime(2020, 12, 7, 9, 0, tzinfo=SHANGHAI)
    store(deps, compose(JINGXIAN, OFFICE, "景县贫困残疾人服务工程专项信息（12）", arrival, body=ARTICLE).as_bytes())
    with deps.db.session() as session:
        queue_owed_receipts(config, session, arrival)
    [receipt] = outbox(deps, "receipt")
    assert "简报信息：本月第 1 篇；本月不在简报信息计分的月份内，照常登记，不计分。" in plain(receipt.raw)


def test_with_a_contact_configured_every_mail_to_a_unit_says_whom_to_ask_and_signs_with_the_system_s_name(
    tmp_path, config, deps
):
    """GIVEN [smtp] contact and [general] name WHEN a receipt, a reminder and a 自查 answer are composed THEN each
    ends with "如有疑问，请联系…" on a paragraph of its own, then the system's name as its signature, in text and
    HTML, and the From bears that name (each says not to reply to it, and named nobody to ask; every mail was
    signed by a city's name written into the templates); the staff's digest names the system too; without a
    contact, no such line (the other tests read their lines whole)."""
    name = "示例市残联残疾人服务工程督导系统"
    general = {"timezone": "Asia/Shanghai", "year": 2020, "name": name}
    config = make_config(tmp_path, config.database_url, general=general)
    contact = "市残联办公室，电话 0318-1234567"
    config = replace(config, outgoing=replace(config.outgoing, receipts_max_age_days=0, contact=contact))
    arrival = datetime(2020, 5, 6, 9, 0, tzinfo=SHANGHAI)
    summary = (DATA / "workbooks" / "summary-jing-xian-with-space.xls").read_bytes()
    store(deps, compose(JINGXIAN, OFFICE, "景县贫困残疾人服务工程专项信息（1）", arrival, body=ARTICLE).as_bytes())
    store(deps, mail("自查 景县5月份报表", arrival, [("附件2.xls", summary)]))
    with deps.db.session() as session:
        queue_owed_receipts(config, session, arrival, inspector=archive_inspector(config, deps.store, deps.sandbox))
        queue_reminders(config, session, "2020-05", datetime(2020, 5, 17, 9, 0, tzinfo=SHANGHAI))
    said = "如有疑问，请联系市残联办公室，电话 0318-1234567。"
    mails = [outbox(deps, kind)[0] for kind in ("receipt", "reminder", "selfcheck")]
    for mail_row in mails:
        lines = plain(mail_row.raw)
        assert lines[-4:-1] == ["", said, ""] and lines[-1].startswith(name)
        assert f"<p>{said}</p>" in _html(mail_row.raw) and f'<p style="color: #666;">{name}' in _html(mail_row.raw)
        # (read as a mail program reads it: Python's own address parser puts a space between two encoded words)
        assert decode_header(email.message_from_bytes(mail_row.raw)["From"]) == f"{name} <hsscljjb@163.com>"
    with deps.db.session() as session:  # the staff's digest names it too, and no contact (it is theirs)
        digest = plain(prepare_digest(config, session, "2020-05", arrival).message.as_bytes())
    assert f"本邮件由{name}自动生成" in digest[-1] and not any("如有疑问" in line for line in digest)


def test_another_units_summary_after_the_units_own_leaves_its_figures_standing(config, deps):
    """GIVEN 景县's April package carrying its own 附件2, then 桃城区's (a shared address's mix-up: no row of 景县)
    WHEN scored and answered THEN 景县's figures are its own 附件2's, the other giving none (it scored nothing
    where it had come last), and the receipt says nothing of two 附件2 counting by the last."""
    from archive.evidence import summary_reports

    arrival = datetime(2020, 4, 9, 10, 0, tzinfo=SHANGHAI)
    own = (DATA / "workbooks" / "summary-jing-xian-with-space.xls").read_bytes()
    other = (DATA / "workbooks" / "summary-unit-row-only.xlsx").read_bytes()
    [message_id] = store(deps, mail("景县4月份报表", arrival, [("附件2.xls", own), ("桃城区附件2.xlsx", other)]))
    with deps.db.session() as session:
        readings = session.scalars(select(FormReadingRow).where(FormReadingRow.form == 2)).all()
        [figures] = [reading.tasks for reading in readings if reading.tasks]
        [report] = summary_reports(session)
        queue_owed_receipts(config, session, arrival)
    assert (report.message_id, report.unit) == (message_id, "景县")
    assert report.done == {task: each.get("done") for task, each in figures.items()} and any(report.done.values())
    text = "\n".join(plain(outbox(deps, "receipt")[0].raw))
    assert "完成数按最后一份" not in text and "没有找到景县" in text


def test_a_package_for_a_month_not_yet_begun_is_told_so(config, deps):
    """GIVEN 景县's package titled 11月 arriving on October 8 (most often October's, its month mistyped) and its
    October package WHEN answered THEN the first receipt says November had not begun and to check the month; the
    second says nothing of it (it was accepted as November's in time, without a word)."""
    arrival = datetime(2020, 10, 8, 10, 0, tzinfo=SHANGHAI)
    summary = [("附件2.xls", (DATA / "workbooks" / "summary-jing-xian-with-space.xls").read_bytes())]
    store(deps, mail("景县11月份报表", arrival, summary), mail("景县10月份报表", arrival.replace(hour=11), summary))
    with deps.db.session() as session:
        queue_owed_receipts(config, session, arrival.replace(hour=12))
    november, october = ("\n".join(plain(row.raw)) for row in outbox(deps, "receipt"))
    said = (
        "本邮件收到时2020年11月尚未开始；如报送的是2020年10月或以前月份的报表，请核对主题和表格标题中的月份后重新发送"
    )
    assert said in november and "尚未开始" not in october


def test_two_summaries_of_one_month_in_one_mail_are_said_and_which_one_counts(config, deps):
    """GIVEN 景县's April package carrying two 附件2 (a draft beside the final) WHEN its receipt is composed THEN
    it says, of the whole mail, that there are two and that the figures are the last one's (what the scoring
    reads), and to send only the right one: each was listed with its own 完成数, and nothing said which counted."""
    arrival = datetime(2020, 4, 9, 10, 0, tzinfo=SHANGHAI)
    summary = (DATA / "workbooks" / "summary-jing-xian-with-space.xls").read_bytes()
    store(deps, mail("景县4月份报表", arrival, [("附件2草稿.xls", summary), ("附件2.xls", summary)]))
    with deps.db.session() as session:
        queue_owed_receipts(config, session, arrival)
    lines = plain(outbox(deps, "receipt")[0].raw)
    said = lines[lines.index("【本邮件】") + 1]
    assert said == (
        "1. 本邮件中有 2 份2020年4月附件2（附件2草稿.xls、附件2.xls），完成数按最后一份（附件2.xls）计；"
        "如其中有旧表或草稿，请只保留正确的一份重新发送"
    )
