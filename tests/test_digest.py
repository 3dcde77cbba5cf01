"""The monthly standings digest: personal numbers masked, the mail and its workbook as staff receive them,
the HTML as a person sees it in Chromium.

The archive-backed test imports the season of bot/demo/season from April to August (and one person
registered by two units) and checks the digest of August against numbers worked out without scoring/:
the June standings of tests/season_expected.py plus the July and August briefing months, the season's
designed packages, briefing counts and 完成数."""

from __future__ import annotations

import email
import functools
import io
import json
import re
import shutil
import subprocess
from datetime import datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook
from sqlalchemy import select

from archive.findings import all_findings
from archive.ingest import ingest_batch
from archive.models import Message
from bot.cli.group import main
from bot.demo.season import (
    PLANS,
    QUARTER_TASKS,
    SHANGHAI,
    GeneratedMail,
    Spec,
    at,
    department_forms,
    generate_season,
    load_units,
    mails_of,
    month_figures,
    person,
    person_row,
    registry_sheet,
    write_maildirs,
    xlsx_bytes,
)
from bot.outgoing.digest import BriefingLine, Digest, DigestFinding, StandingLine, render_digest
from bot.outgoing.digest_mail import XLSX_TYPE, attach, compose_digest
from bot.outgoing.render import compose
from bot.outgoing.workbooks import digest_workbook, write_standings
from bot.services.scores import standings_json
from parsers.derive import Incoming
from parsers.errors import ConfigError
from parsers.mime import attachment_filename
from parsers.privacy import mask_personal
from parsers.records import TASKS
from scoring.completion import TaskFigure, UnitCompletion
from scoring.evidence import Component
from scoring.packages import FormStatus, PackageStatus
from scoring.standings import COMPONENTS, Standings, UnitStanding
from tests.browser import page_of
from tests.conftest import ROOT, make_config
from tests.season_expected import BRIEFING_COUNTS, EXPECTED, STAFF_ENTRIES

CONFIG = ROOT / "config.example.toml"
AUGUST_END = datetime(2020, 8, 31, 23, 59, 59, 999999, tzinfo=SHANGHAI)
# 王斐, the first person on 桃城区's 附件3, also sent by 滨湖新区 on 06-25: the finding names her 证号.
SHARED = person(2020, "桃城区", 3, 0)
GREEN, AMBER, RED = "C6EFCE", "FFEB9C", "FFC7CE"


# ---------------------------------------------------------------------------------------------
# Masking


@pytest.mark.parametrize(
    "text, masked",
    [
        ("王斐（证号 13110219850312001X42）", "王斐（证号 131102**********1X42）"),
        ("身份证号 131127199001010017。", "身份证号 131127********0017。"),
        ("证号131127199001010017有误", "证号131127********0017有误"),
        ("旧证 131127900101001", "旧证 131127*****1001"),
        ("联系电话：13812345678、0318-2662889", "联系电话：138****5678、0318-***2889"),
        ("电话 +86 138 1234 5678", "电话 138****5678"),
        ("完成数由 60 降为 56（附件2 #595 → #610），2020-09-20 23:59:59", None),
        ("金额 2000 元，共 173 人，编号 12345678901234", None),
    ],
)
def test_mask_personal_masks_numbers_and_nothing_else(text, masked):
    assert mask_personal(text) == (text if masked is None else masked)
    assert mask_personal(mask_personal(text)) == mask_personal(text)


def test_an_id_is_never_read_as_a_phone_number():
    """GIVEN a 20-character 残疾人证号 whose digits contain an 11-digit run starting with 1
    THEN the whole number is masked as an ID, not partly as a phone."""
    assert mask_personal(SHARED.disability_id) == SHARED.disability_id[:6] + "*" * 10 + SHARED.disability_id[-4:]


# ---------------------------------------------------------------------------------------------
# The digest of August, from the archive (SQLite and PostgreSQL)


def shared_person_mail() -> list[GeneratedMail]:
    """滨湖新区 sends a 附件3 listing 桃城区's 王斐: one person registered by two units."""
    units, boxes = load_units()
    when = at(6, 25, 10, 30)
    sheet = registry_sheet("滨湖新区", 3, 6, 1, when, 2020)
    sheet.rows[3] = person_row(3, 0, SHARED, 6, "滨湖新区")
    return mails_of(
        Spec(
            units["滨湖新区"].sender,
            boxes["kfb"],
            "滨湖新区6月份康复服务实名制登记表（补报）",
            when,
            "滨湖新区 registers 桃城区's person",
            (("附件3.xlsx", xlsx_bytes(sheet, when)),),
        )
    )


@functools.cache
def august_mail() -> tuple[GeneratedMail, ...]:
    """The season's mail that arrived by the end of August, plus the shared person."""
    arrived = [mail for mail in generate_season(months=range(4, 9)) if mail.arrival <= AUGUST_END]
    return (*arrived, *shared_person_mail())


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", env["CONFIG"], *args], env=env)


def folder_config(tmp_path: Path) -> Path:
    """The example config, its outgoing mail written to tmp_path/var/outbox instead of sent by SMTP."""
    path = tmp_path / "config.toml"
    text = CONFIG.read_text(encoding="utf-8")
    assert 'transport = "smtp"' in text
    path.write_text(text.replace('transport = "smtp"', 'transport = "folder"'), encoding="utf-8")
    return path


def expected_standings(last_month: int) -> list[tuple[str, int, int, int, int, int, int]]:
    """(unit, rank, total, q2_tasks, q2_on_time, briefings, media) at the end of July (7) or August (8):
    June's standings plus 2 points for each later month with ≥ 8 articles; nothing else closes by then."""
    rows = []
    for unit, _, total, components in EXPECTED["2020-06"]:
        extra = 2 * sum(count >= 8 for count in BRIEFING_COUNTS[unit][3 : last_month - 3])
        rows.append((unit, total + extra, components[0], components[1], components[5] + extra, components[6]))
    order = list(load_units()[0])
    rows.sort(key=lambda row: (-row[1], order.index(row[0])))
    ranked = []
    for position, row in enumerate(rows, start=1):
        rank = ranked[-1][1] if ranked and ranked[-1][2] == row[1] else position
        ranked.append((row[0], rank, *row[1:]))
    return ranked


def standings_lines() -> list[str]:
    july = {row[0]: row for row in expected_standings(7)}
    lines = []
    for unit, rank, total, q2_tasks, q2_on_time, briefings, media in expected_standings(8):
        change, moved = total - july[unit][2], july[unit][1] - rank
        lines.append(
            f"{rank}. {unit} {total} 分（较上月 {f'{change:+d}' if change else '持平'}，名次 "
            f"{'不变' if not moved else f'↑{moved}' if moved > 0 else f'↓{-moved}'}）：二季度任务完成 "
            f"{q2_tasks}，二季度按时报送 {q2_on_time}，三季度任务完成 —，三季度按时报送 —，四季度超额完成 —，"
            f"简报信息 {briefings}，媒体报道 {media}，创新性工作 0"
        )
    return lines


def august_digest(tmp_path: Path, database_url: str) -> tuple[Path, dict]:
    """The digest of August written into a folder, and `mailroom standings --month 2020-08 --json`."""
    env = {
        "MAILROOM_DATABASE_URL": database_url,
        "MAILROOM_ARCHIVE_PATH": str(tmp_path / "archive"),
        "CONFIG": str(folder_config(tmp_path)),
    }
    write_maildirs(tmp_path / "mail", august_mail())
    assert run(env, "import", str(tmp_path / "mail")).exit_code == 0
    for award in STAFF_ENTRIES:
        assert run(env, *award.args).exit_code == award.exit_code
    result = run(env, "digest", "--month", "2020-08", "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    check_sending(env, tmp_path / "var" / "outbox")
    standings = run(env, "standings", "--month", "2020-08", "--json")
    assert standings.exit_code == 0, standings.output
    return tmp_path / "out", json.loads(standings.stdout)


def check_sending(env: dict[str, str], outbox: Path) -> None:
    """--send puts the month's digest in the outbox and sends it, once however often it is asked for."""
    early = run(env, "digest", "--month", "2020-08", "--send", "--again")  # nothing sent yet to send again
    assert early.exit_code == 2 and "不用 --again，用 --send 发送" in early.output, early.output
    sent = run(env, "digest", "--month", "2020-08", "--send")
    assert sent.exit_code == 0 and "hsscljjb@163.com" in sent.output, sent.output
    again = run(env, "digest", "--month", "2020-08", "--send")
    assert again.exit_code == 0 and "不重复发送" in again.output and "--send --again" in again.output, again.output
    [mail] = outbox.glob("*-digest.eml")
    parsed = email.message_from_bytes(mail.read_bytes(), policy=policy.default)
    assert parsed["Subject"].startswith("2020年8月残疾人服务工程督导情况通报")
    assert run(env, "digest", "--month", "2020-08").exit_code == 2  # neither --out nor --send
    # staff who know the one sent was wrong (made on a clock a month ahead) send it again, asked for, once a time
    assert run(env, "digest", "--month", "2020-08", "--again", "--out", str(outbox.parent / "x")).exit_code == 2
    for _ in range(2):
        resent = run(env, "digest", "--month", "2020-08", "--send", "--again")
        assert resent.exit_code == 0 and "应要求按现在的归档重新生成，再次发送" in resent.output, resent.output
    assert len(list(outbox.glob("*-digest.eml"))) == 3


def parts(raw: bytes) -> tuple[EmailMessage, str, str, bytes, str]:
    message = email.message_from_bytes(raw, policy=policy.default)
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    [attachment] = list(message.iter_attachments())
    return message, text, html, attachment.get_content(), attachment.get_filename()


def test_digest_of_august_as_mailed(tmp_path, database_url):
    out, standings = august_digest(tmp_path, database_url)
    # Q3 and Q4 are evaluated later: null ("—"), not 0, while the Q2 components and the briefings have scores.
    assert {name for name, points in standings["units"][0]["components"].items() if points is None} == {
        "q3_tasks",
        "q3_on_time",
        "q4_exceed",
    }
    raw = (out / "digest.eml").read_bytes()
    message, text, html, workbook, filename = parts(raw)
    assert drawn_ranking(html) == [
        (row["rank"], row["unit"], round(240 * row["total"] / 100), row["total"]) for row in standings["units"]
    ]
    assert filename == "2020年8月督导排名.xlsx" and (out / filename).read_bytes() == workbook
    assert (message["To"], message["Auto-Submitted"]) == ("hsscljjb@163.com", "auto-generated")
    assert message["From"].addresses[0].addr_spec == "hsscljjb@163.com" and message["Message-ID"] and message["Date"]
    assert text == (out / "digest.txt").read_text(encoding="utf-8")
    assert [line for line in text.splitlines() if re.match(r"\d+\. ", line)] == standings_lines()
    check_text(text)
    check_masked(SHARED.disability_id, [raw.decode("ascii"), text, html, *workbook_texts(workbook)])
    book = load_workbook(io.BytesIO(workbook))
    check_ranking_sheet(book["排名"])
    check_matrix_sheet(book["报送情况"])
    check_rollup_sheet(book["全市目标任务进展情况"])
    assert [row[:2] for row in book["简报"].iter_rows(min_row=3, max_row=15, values_only=True)] == [
        (unit, counts[4]) for unit, counts in BRIEFING_COUNTS.items()
    ]
    calamine = CalamineWorkbook.from_filelike(io.BytesIO(workbook))
    assert calamine.sheet_names == ["排名", "报送情况", "全市目标任务进展情况", "简报", "数据核查"]
    assert all(calamine.get_sheet_by_name(name).to_python() for name in calamine.sheet_names)
    assert calamine.get_sheet_by_name("全市目标任务进展情况").to_python()[17][0] == "合计"


# A bar of the digest's ranking: rank and unit, the track, the filled cell (none at 0 分), the rest, the total.
RANKING_BAR = re.compile(
    r'<tr><td [^>]*>(\d+)\. ([^<]+)</td>\s*<td width="240"[^>]*><table [^>]*><tr>\s*'
    r'(?:<td width="(\d+)" height="14" bgcolor="#4472c4"[^>]*>&nbsp;</td>)?'
    r'(?:<td width="\d+" height="14" bgcolor="#eef1f4"[^>]*>&nbsp;</td>)?</tr></table></td>\s*'
    r"<td [^>]*>(\d+) 分</td></tr>"
)


def drawn_ranking(html: str) -> list[tuple[int, str, int, int]]:
    """(rank, unit, pixels filled of 240, total) of each bar of the ranking chart, as the mail's HTML has them."""
    return [(int(rank), unit, int(filled or 0), int(total)) for rank, unit, filled, total in RANKING_BAR.findall(html)]


def check_text(text: str) -> None:
    matrix = {
        "桃城区": "迟报（截止后收到 附件1、附件2、附件5、附件6）",
        "滨湖新区": "未报（尚缺 附件1、附件2、附件3、附件4、附件5、附件6、附件7、附件8）",
    }
    for unit, counts in BRIEFING_COUNTS.items():
        assert f"\n{unit}：{matrix.get(unit, '按时')}\n" in text
        assert f"\n{unit}：{counts[4]} 篇，{'达标' if counts[4] >= 8 else '未达标'}\n" in text
    assert "阜城县【累计完成数下降】阜城县实用技术培训累计完成数由 60 降为 56" in text
    masked = SHARED.disability_id[:6] + "*" * 10 + SHARED.disability_id[-4:]
    # filed under 滨湖新区, whose later registry brought the person (as 待处理 files it), not the first by name
    assert f"滨湖新区【同一人由两个单位登记】王斐（证号 {masked}）同时出现在桃城区、滨湖新区的附件3" in text


def workbook_texts(data: bytes) -> list[str]:
    book = load_workbook(io.BytesIO(data))
    return [str(cell.value) for sheet in book for row in sheet.iter_rows() for cell in row if cell.value]


def check_masked(number: str, texts: list[str]) -> None:
    assert any(number[:6] + "*" * 10 + number[-4:] in text for text in texts)
    assert not any(number in text or number[6:14] in text for text in texts)


def check_ranking_sheet(sheet) -> None:
    july = {row[0]: row for row in expected_standings(7)}
    rows = list(sheet.iter_rows(min_row=3, max_row=15, values_only=True))
    assert [(r[0], r[1], r[2], r[3], r[4], r[5], r[8], r[9], r[11], r[12]) for r in rows] == [
        (rank, unit, total, q2t, q2o, None, briefings, media, total - july[unit][2], july[unit][1])
        for unit, rank, total, q2t, q2o, briefings, media in expected_standings(8)
    ]
    assert sheet.freeze_panes == "C3" and sheet["B2"].value == "单位"
    [chart] = sheet._charts
    assert chart.tagname == "barChart"
    assert (chart.y_axis.scaling.min, chart.y_axis.scaling.max) == (0, 100)  # the year's full marks, as the bars


def check_matrix_sheet(sheet) -> None:
    rows = {row[0].value: row for row in sheet.iter_rows(min_row=4, max_row=16)}
    assert list(rows) == list(BRIEFING_COUNTS) and sheet["C3"].value == "附件1"
    late = department_forms(8)["jjb"]
    for unit, row in rows.items():
        for form, cell in zip(range(1, 9), row[2:]):
            colour = RED if unit == "滨湖新区" else AMBER if unit == "桃城区" and form in late else GREEN
            assert cell.fill.fgColor.rgb[-6:] == colour, (unit, form, cell.value)
    assert rows["桃城区"][2].value == "迟报\n08-21 09:15" and rows["滨湖新区"][3].value == "未报"


def check_rollup_sheet(sheet) -> None:
    """附件2's layout for the city: a unit's latest 附件2 by August 31 (滨湖新区 sent none in August)."""
    units = load_units()[0]
    assert sheet["B3"].value == "康复服务（人）" and [sheet.cell(4, c).value for c in (2, 3, 4)] == [
        "目标数",
        "完成数",
        "百分比",
    ]
    assert "B3:D3" in {str(merged) for merged in sheet.merged_cells.ranges}
    totals = {task: [0, 0] for task in QUARTER_TASKS}
    for row, plan in enumerate(PLANS, start=5):
        figures = month_figures(plan, 7 if plan.name == "滨湖新区" else 8)
        assert sheet.cell(row, 1).value == plan.name
        for index, task in enumerate(QUARTER_TASKS):
            target, done = units[plan.name].targets[task], figures[task]
            cells = [sheet.cell(row, 2 + 3 * index + offset).value for offset in range(3)]
            assert cells == [target, done, round(done / target, 6) if target else "/"], (plan.name, task)
            totals[task][0] += target
            totals[task][1] += done
        assert [sheet.cell(row, c).value for c in (17, 18)] == [0, None]  # 上大学: from September
    assert sheet.cell(18, 1).value == "合计"
    for index, (target, done) in enumerate(totals.values()):
        assert [sheet.cell(18, 2 + 3 * index + offset).value for offset in range(3)] == [
            target,
            done,
            round(done / target, 6),
        ]
    assert sheet.cell(18, 4).number_format == "0.00%"


# ---------------------------------------------------------------------------------------------
# The HTML in Chromium, the mail and the workbook from a digest made by hand


def _components(q2_tasks: int, q2_on_time: int, briefings: int, media: int) -> tuple[Component, ...]:
    """June: Q3 and Q4 not yet evaluated."""
    points = dict(q2_tasks=q2_tasks, q2_on_time=q2_on_time, briefings=briefings, media=media, innovation=0)
    return tuple(Component(name, points.get(name, 0), closed=name in points) for name in COMPONENTS)


def _package(unit: str, arrivals: dict[int, tuple[str, datetime]], status: str) -> PackageStatus:
    forms = tuple(
        FormStatus(form, *arrivals[form], message_id=11) if form in arrivals else FormStatus(form, "missing")
        for form in range(1, 9)
    )
    return PackageStatus(unit, "2020-06", status, at(6, 20, 23, 59, 59), at(6, 21, 9), forms)


def _completion(unit: str, targets: tuple[int, ...], done: tuple[int | None, ...]) -> UnitCompletion:
    return UnitCompletion(
        unit,
        tuple(
            TaskFigure(task, target, value, value / target if target and value else None)
            for task, target, value in zip(TASKS, targets, done)
        ),
    )


def sample_digest() -> Digest:
    """June's digest for three units, made by hand: every number below is what the reader must see."""
    on_time, late = ("on_time", at(6, 15, 10)), ("late", at(6, 23, 10, 12))
    return Digest(
        month="2020-06",
        month_label="2020年6月",
        as_of=datetime(2020, 6, 30, 23, 59, 59, 999999, tzinfo=SHANGHAI),
        generated=at(6, 21, 9),
        deadline=at(6, 20, 23, 59, 59),
        previous_month="2020-05",
        forms=tuple(range(1, 9)),
        standings=(
            StandingLine("桃城区", 1, 40, _components(15, 15, 6, 4), 34, 2),
            StandingLine("景县", 2, 28, _components(12, 12, 4, 0), 28, 1),
            StandingLine("滨湖新区", 3, 24, _components(12, 12, 0, 0), 20, 3),
        ),
        full_marks=100,
        matrix=(
            _package("桃城区", dict.fromkeys(range(1, 9), on_time), "on_time"),
            _package("景县", dict.fromkeys(range(1, 9), late), "late"),
            _package("滨湖新区", {1: on_time, 2: on_time}, "missing"),
        ),
        briefings=(
            BriefingLine("桃城区", 10, (21,), True),
            BriefingLine("景县", 8, (22,), True),
            BriefingLine("滨湖新区", 6, (23,), False),
        ),
        briefing_target=8,
        briefing_scored=True,
        completion=(
            _completion("桃城区", (120, 184, 0, 0, 0, 0), (60, 92, 2, 1, 1, None)),
            _completion("景县", (60, 115, 88, 48, 32, 0), (35, 58, 44, 24, 16, None)),
            _completion("滨湖新区", (10, 0, 0, 0, 0, 0), (5, 1, 1, 1, 1, None)),
        ),
        completion_total=_completion("合计", (190, 299, 88, 48, 32, 0), (100, 151, 47, 26, 18, None)),
        findings=(
            DigestFinding(
                "桃城区",
                "person_in_two_units",
                "同一人由两个单位登记",
                "王斐（证号 131102**********1234）同时出现在桃城区、滨湖新区的附件3中",
                (11, 14),
            ),
        ),
    )


def test_digest_html_as_a_person_sees_it(tmp_path):
    _, html, _ = render_digest(sample_digest())
    page_file = tmp_path / "digest.html"
    page_file.write_text(html, encoding="utf-8")
    assert not re.search(r"<script|<link|<style|<svg|<img|src=\"https?:|url\(", html)
    assert drawn_ranking(html) == [(1, "桃城区", 96, 40), (2, "景县", 67, 28), (3, "滨湖新区", 58, 24)]
    with page_of(page_file) as page:
        seen = page.inner_text("body")
        late = page.locator("td", has_text="迟报").first.evaluate("cell => getComputedStyle(cell).backgroundColor")
        bars = page.locator("table[role=presentation]").first.evaluate("""chart => [...chart.rows].map(row => {
            const track = row.cells[1].querySelector('table').getBoundingClientRect().width;
            const bar = row.cells[1].querySelector('td[bgcolor="#4472c4"]');
            return [row.cells[0].innerText, bar ? bar.getBoundingClientRect().width / track : 0, row.cells[2].innerText,
                    bar ? getComputedStyle(bar).backgroundColor : null];
        })""")
    assert [(unit, text) for unit, _, text, _ in bars] == [
        ("1. 桃城区", "40 分"),
        ("2. 景县", "28 分"),
        ("3. 滨湖新区", "24 分"),
    ]
    for (_, share, _, colour), total in zip(bars, (40, 28, 24)):
        assert share == pytest.approx(total / 100, abs=2 / 240) and colour == "rgb(68, 114, 196)"
    for heading in (
        "2020年6月残疾人服务工程督导情况通报",
        "一、累计得分排名",
        "二、2020年6月报送情况",
        "三、2020年6月简报信息",
        "四、目标任务完成情况（截至 2020年6月30日）",
        "五、数据核查发现",
    ):
        assert heading in seen
    assert re.search(r"^1\t桃城区\t40\t15\t15\t—\t—\t—\t6\t4\t0\t\+6\t↑1$", seen, re.M)
    assert re.search(r"^2\t景县\t28\t12\t12\t—\t—\t—\t4\t0\t0\t持平\t↓1$", seen, re.M)
    assert re.search(r"^景县\t迟报\t迟报\n06-23 10:12\t", seen, re.M)
    assert "王斐（证号 131102**********1234）" in seen and late == "rgb(255, 235, 156)"
    assert not re.search(r"\{\{|\}\}|\{%|%\}|\{#", seen + html)


def test_digest_mail_from_a_sample(tmp_path):
    config = make_config(tmp_path, "sqlite://")
    digest = sample_digest()
    message = compose_digest(config, digest, digest_workbook(digest))
    raw = message.as_bytes(policy=policy.SMTP)
    parsed, text, html, workbook, filename = parts(raw)
    assert filename == "2020年6月督导排名.xlsx" and parsed.get_content_type() == "multipart/mixed"
    check_attachment_headers(raw, filename)
    assert "1. 桃城区 40 分（较上月 +6，名次 ↑1）" in text and "<td" in html
    assert "合计：康复服务 100 / 190（52.6%）" in text
    sheet = load_workbook(io.BytesIO(workbook))["全市目标任务进展情况"]
    assert [cell.value for cell in sheet[8]][:4] == ["合计", 190, 100, round(100 / 190, 6)]


def attachment_headers(raw: bytes) -> str:
    """The header block of the mail's last part, the attachment, from its Content-Transfer-Encoding on (its
    first header: attach writes Content-Type and Content-Disposition after it)."""
    head, _, _ = raw.rpartition(b"Content-Transfer-Encoding: base64")
    return raw[len(head) :].split(b"\r\n\r\n")[0].decode("ascii")


def check_attachment_headers(raw: bytes, filename: str) -> None:
    """The attachment is named as RFC 2183 and RFC 2231 have it: `filename*=utf-8''…` on Content-Disposition
    (continued as filename*0*=, filename*1*=, … when long), never RFC 2047 encoded-words in a quoted filename=
    there; Content-Type's name= holds encoded-words for clients that read only that. Never raw 8-bit in a header,
    every header line within 78 characters. Read back whole by the email package (its current policy and
    compat32) and by our own reader."""
    headers = attachment_headers(raw)
    disposition = re.search(r"Content-Disposition: attachment;((?:\r\n [^\r\n]*)+)", headers)
    assert disposition, headers
    assert "=?" not in disposition.group(1) and 'filename="' not in disposition.group(1), headers
    assert re.match(
        r"\r\n filename\*(?:0\*)?=utf-8''[A-Za-z0-9%._-]+;?(\r\n filename\*\d+\*=[A-Za-z0-9%._-]+;?)*$",
        disposition.group(1),
    ), headers
    assert filename.encode() not in raw
    words = r'"=\?utf-8\?b\?[A-Za-z0-9+/=]+\?=(?:\r\n =\?utf-8\?b\?[A-Za-z0-9+/=]+\?=)*"'
    assert re.search(rf"\r\n name={words}(?:\r\n|$)", headers), headers
    lines = raw.split(b"\r\n\r\n")[0].split(b"\r\n") + headers.encode().split(b"\r\n")
    assert max(len(line) for line in lines) <= 78, [line for line in lines if len(line) > 78]
    [attachment] = email.message_from_bytes(raw, policy=policy.default).iter_attachments()
    assert attachment.get_content_type() == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert attachment.get_filename() == filename and attachment["Content-Disposition"].params["filename"] == filename
    assert attachment["Content-Type"].params["name"] == filename and attachment.is_attachment()
    assert attachment_filename(attachment) == filename  # our own reader
    assert email.message_from_bytes(raw).get_payload()[-1].get_filename() == filename  # compat32


def test_a_long_attachment_name_folds_into_several_encoded_words(tmp_path):
    """GIVEN a name longer than one encoded-word holds WHEN attached THEN Content-Disposition continues it in
    RFC 2231 sections and Content-Type splits it between whole characters into several encoded-words on lines
    of their own; read back whole."""
    name = "衡水市残疾人联合会2020年12月残疾人服务工程督导累计得分排名及各单位报送情况汇总表.xlsx"
    message = compose(
        make_config(tmp_path, "sqlite://").outgoing,
        ["a@example.com"],
        "主题",
        "正文",
        "<p>正文</p>",
        at(6, 21, 9),
        zone=SHANGHAI,
    )
    attach(message, b"PK\x03\x04", *XLSX_TYPE, name)
    raw = message.as_bytes(policy=policy.SMTP)
    assert attachment_headers(raw).count("=?utf-8?b?") == 4 and "filename*5*=" in attachment_headers(raw)
    assert parts(raw)[4] == name
    check_attachment_headers(raw, name)


def test_standings_export_leaves_a_component_not_yet_scored_blank(tmp_path):
    """GIVEN June's standings (Q3 and Q4 not yet evaluated) WHEN exported as JSON and as a workbook THEN those
    components are null and grey blanks with a note saying so, as the command line's "—" and the digest's
    workbook; the scored ones keep their points, a scored 0 too."""
    lines = sample_digest().standings
    result = Standings(
        "2020-06",
        datetime(2020, 6, 30, 23, 59, 59, 999999, tzinfo=SHANGHAI),
        tuple(UnitStanding(line.unit, line.total, line.rank, line.components) for line in lines),
    )
    data = json.loads(json.dumps(standings_json(result)))
    assert data["units"][2]["components"] == {
        "q2_tasks": 12,
        "q2_on_time": 12,
        "q3_tasks": None,
        "q3_on_time": None,
        "q4_exceed": None,
        "briefings": 0,
        "media": 0,
        "innovation": 0,
    }
    write_standings(tmp_path / "standings.xlsx", data)
    sheet = load_workbook(tmp_path / "standings.xlsx").active
    assert [cell.value for cell in sheet[5]] == [3, "滨湖新区", 24, 12, 12, None, None, None, 0, 0, 0]
    assert [cell.fill.fgColor.rgb[-6:] for cell in sheet[5][3:8]] == ["000000", "000000", "EEEEEE", "EEEEEE", "EEEEEE"]
    assert sheet["A6"].value.startswith("灰色空白：该项尚未到评分时间")
    assert (sheet.page_setup.orientation, sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight) == (
        "landscape",
        1,
        0,
    )


def test_digest_needs_the_staff_list(tmp_path):
    config = make_config(tmp_path, "sqlite://", smtp={"sender": "hsscljjb@163.com"})
    with pytest.raises(ConfigError, match="^smtp.staff 为空：月度排名通报发给这些工作人员地址"):
        compose_digest(config, sample_digest(), b"")


def printed(workbook: bytes, folder: Path) -> Path:
    """The workbook as LibreOffice prints it, to a PDF in `folder` (skipped without LibreOffice)."""
    office = shutil.which("libreoffice") or shutil.which("soffice")
    if office is None:
        pytest.skip("libreoffice-calc not installed: run scripts/install.sh --test")
    path = folder / "digest.xlsx"
    path.write_bytes(workbook)
    done = subprocess.run(
        [
            office,
            "--headless",
            f"-env:UserInstallation=file://{folder}/profile",
            "--convert-to",
            "pdf",
            "--outdir",
            str(folder),
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and (folder / "digest.pdf").exists(), done.stderr
    return folder / "digest.pdf"


def test_digest_workbook_converts_in_libreoffice(tmp_path):
    assert printed(digest_workbook(sample_digest()), tmp_path).stat().st_size > 0


def test_a_month_without_briefing_points_does_not_call_anyone_short():
    """GIVEN December (not a briefing month) WHEN the digest is rendered THEN no unit is "未达标"."""
    from dataclasses import replace

    december = replace(sample_digest(), briefing_scored=False)
    _, html, text = render_digest(december)
    assert "本月不计分" in text and "本月不计分" in html
    assert "未达标" not in text and "未达标" not in html


def test_a_person_on_a_registry_of_no_unit_too_is_found_between_the_two_units(deps):
    """GIVEN 桃城区's 王斐 registered by 滨湖新区 too, and listed once more on a registry from an unknown
    address that names no configured unit WHEN the findings are computed THEN one finding names the two
    units (the registry of no unit is none of them; it once failed sorting None among the units' names), filed
    under 滨湖新区, whose registry came later, as 待处理 files it."""
    units, boxes = load_units()
    when = at(6, 25, 10, 30)
    stranger = "stranger@example.com"
    incoming = []
    for number, (sender, unit) in enumerate(
        ((units["桃城区"].sender, "桃城区"), (units["滨湖新区"].sender, "滨湖新区"), (stranger, "某某县"))
    ):
        sheet = registry_sheet(unit, 3, 6, 1, when, 2020)
        sheet.rows[3] = person_row(3, 0, SHARED, 6, unit)
        spec = Spec(
            sender,
            boxes["kfb"],
            f"{unit}6月份康复服务实名制登记表",
            when,
            "shared person",
            (("附件3.xlsx", xlsx_bytes(sheet, when)),),
        )
        incoming += [Incoming(mail.raw, "kfb", "import", origin=f"shared/{number}") for mail in mails_of(spec)]
    ingest_batch(deps.db, deps.store, deps.recognizer, incoming)
    with deps.db.session() as session:
        recognised = {message.unit for message in session.scalars(select(Message))}
        shared = [finding for finding in all_findings(session, ()) if SHARED.disability_id in finding.message]
    assert recognised == {"桃城区", "滨湖新区", None}
    assert [finding.unit for finding in shared] == ["滨湖新区"] and "桃城区、滨湖新区的" in shared[0].message
    assert "某某县" not in shared[0].message and len(shared[0].message_ids) == 2


def test_the_findings_sheet_says_it_holds_the_year_so_far():
    """GIVEN June's digest and a year's final ranking WHEN their workbooks are made THEN 数据核查 is titled as
    what it holds: the plan year's findings up to the month (or the year's), not the month's alone."""
    from dataclasses import replace

    june = sample_digest()
    titles = {
        digest.final_year: load_workbook(io.BytesIO(digest_workbook(digest)))["数据核查"]["A1"].value
        for digest in (june, replace(june, final_year=2020))
    }
    assert titles[None].startswith(f"截至{june.month_label}的数据核查发现")
    assert titles[2020].startswith("2020年度数据核查发现")


def test_an_arrival_beside_midnight_is_shown_to_the_second():
    """A matrix cell's arrival (the digest's, its workbook's, the web's) is to the minute, but to the second in
    the minutes either side of midnight, where the deadline falls: 23:59:30 was on time, 00:00:01 late."""
    from bot.outgoing.digest import clock

    shanghai = SHANGHAI
    assert clock(datetime(2020, 6, 20, 23, 59, 30, tzinfo=shanghai), shanghai) == "06-20 23:59:30"
    assert clock(datetime(2020, 6, 21, 0, 0, 1, tzinfo=shanghai), shanghai) == "06-21 00:00:01"
    assert clock(datetime(2020, 6, 20, 18, 5, 9, tzinfo=shanghai), shanghai) == "06-20 18:05"
    # and beside a deadline set at another time of day (17:30): 17:30:30 was late
    at_half_past_five = datetime(2020, 6, 20, 17, 30, tzinfo=shanghai)
    late = datetime(2020, 6, 20, 17, 30, 30, tzinfo=shanghai)
    assert clock(late, shanghai, deadline=at_half_past_five) == "06-20 17:30:30"
    assert clock(late, shanghai) == "06-20 17:30"
