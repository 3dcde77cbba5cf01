"""`mailroom show`: one message in Chinese words, each attachment with its forms, rows and problems; the
JSON says the same things it always said, and the forms besides."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from bot.cli.group import main
from bot.demo.season.files import docx_bytes
from bot.demo.season.mail import compose
from parsers.form_layouts import FORM_TITLES
from parsers.recognize import UNIT_CONFLICT_MARK
from replies.problems import merged_problems
from tests.conftest import DATA, ROOT

SHANGHAI = ZoneInfo("Asia/Shanghai")
ARRIVAL = datetime(2020, 4, 9, 10, 0, tzinfo=SHANGHAI)
REPORT = ["景县 4 月份目标任务进展情况报告", "截至4月底，康复服务完成 20 人。"]


@pytest.fixture
def run(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text((ROOT / "config.example.toml").read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("MAILROOM_DATABASE_URL", f"sqlite:///{tmp_path}/mailroom.db")
    monkeypatch.setenv("MAILROOM_ARCHIVE_PATH", str(tmp_path / "archive"))
    message = compose("jxcl2020@163.com", "hsclbgs666@163.com", "景县4月份报表", ARRIVAL)
    for name, data in (
        ("附件1.docx", docx_bytes(REPORT, ARRIVAL)),
        ("附件3.xlsx", (DATA / "workbooks" / "bad-ids-and-phones.xlsx").read_bytes()),
        ("照片.png", b"\x89PNG\r\n\x1a\n" + bytes(32)),
    ):
        message.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    (tmp_path / "m.eml").write_bytes(message.as_bytes())

    def invoke(*args: str):
        return CliRunner().invoke(main, ["--config", str(config), *args], prog_name="mailroom")

    assert invoke("import", str(tmp_path / "m.eml")).exit_code == 0
    return invoke


def test_show_says_everything_in_chinese_words_with_each_attachments_forms_and_problems(run):
    detail = json.loads(run("show", "1", "--json").stdout)
    lines = run("show", "1").stdout.splitlines()
    registry = detail["attachments"][1]["forms"][0]
    assert registry["problems"], "the sample registry has bad numbers"
    assert lines[:8] == [
        "邮件 #1",
        "主题：景县4月份报表",
        "发件人：jxcl2020@163.com（登记的报送邮箱）",
        "收件人：hsclbgs666@163.com",
        "到达时间：2020-04-09 10:00:00（收件服务器时间）",
        f"Date 头：{detail['date_header']}",
        "识别为：景县 · 月度报表 · 2020年4月（取自主题）",
        "所在邮箱：bgs",
    ]
    start = lines.index("附件（3 个）：")
    characters = sum(not char.isspace() for char in "".join(REPORT))
    assert lines[start + 1 : start + 3] == [
        f"1. 附件1.docx（docx，{detail['attachments'][0]['size']} 字节）",
        f"   附件1 {FORM_TITLES[1]} · 景县 · 2020年4月 · 正文 {characters} 字",
    ]
    assert lines[start + 3].startswith("2. 附件3.xlsx（xlsx，")
    assert lines[start + 4].startswith(f"   附件3 {FORM_TITLES[3]} · ") and lines[start + 4].endswith(
        f" · {registry['rows']} 行"
    )
    # a problem once; past three alike (one rule, one explanation) in a column, one line: here each is its own
    merged = merged_problems(registry["problems"])
    assert len(merged) == len(registry["problems"])
    problems = lines[start + 5 : start + 5 + len(merged)]
    assert [line.split("：", 1)[1] for line in problems] == [message for _, message in merged]
    assert all(line.startswith("   问题［") for line in problems)
    assert lines[start + 5 + len(merged) :][:2] == [
        "3. 照片.png（png，40 字节）",
        "   未识别为任何附件表格",
    ]
    assert not any(word in "\n".join(lines) for word in ("True", "False", "None", "report"))


def test_show_json_keeps_its_keys_and_meaning(run):
    detail = json.loads(run("show", "1", "--json").stdout)
    assert {
        "id",
        "sha256",
        "mailbox",
        "arrival",
        "arrival_trusted",
        "arrival_source",
        "unit",
        "kind",
        "month",
        "sender",
        "registered",
        "subject",
        "message_id",
        "date_header",
        "from_name",
        "to",
        "cc",
        "month_source",
        "size",
        "problems",
        "body_text",
        "attachments",
        "seen",
        "raw_path",
    } <= set(detail)
    assert (detail["kind"], detail["registered"], detail["unit"]) == ("report", True, "景县")
    assert [a["filename"] for a in detail["attachments"]] == ["附件1.docx", "附件3.xlsx", "照片.png"]
    assert [[f["form"] for f in a["forms"]] for a in detail["attachments"]] == [[1], [3], []]


def test_the_arrival_says_where_it_was_read(run, tmp_path):
    """The server's time (a Received header), the sender's Date header, or the moment of archiving when the
    file has neither a Received header nor a Date a program can read."""
    for name, date in (("dated.eml", "Date: 星期六, 19 十二月 2020 16:48:00 +0800"), ("undated.eml", "Date: 下周一")):
        (tmp_path / name).write_bytes(
            f"From: jxcl2020@163.com\r\nTo: hsclbgs666@163.com\r\nSubject: 景县12月份报表\r\n{date}\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n见附件\r\n".encode()
        )
        assert run("import", str(tmp_path / name), "--mailbox", "bgs").exit_code == 0
    arrivals = [
        next(line for line in run("show", str(n)).stdout.splitlines() if line.startswith("到达时间")) for n in (1, 2, 3)
    ]
    assert arrivals[0] == "到达时间：2020-04-09 10:00:00（收件服务器时间）"
    assert arrivals[1] == "到达时间：2020-12-19 16:48:00（取自 Date 头，未经服务器确认）"
    assert arrivals[2].endswith("（归档时间：邮件无服务器接收时间，Date 头缺失或无法识别）")


def test_a_staff_forward_is_shown_as_from_our_own_mailbox(run, tmp_path):
    """GIVEN 康复部's mailbox forwarding 景县's package (counted by the forwarded sender, registered) WHEN shown
    THEN the sender is said to be our own department mailbox, not a unit's registered address."""
    forward = compose("hskf2006@126.com", "hsclbgs666@163.com", "转发: 景县4月份报表", ARRIVAL)
    forward.set_content("-----原始邮件-----\n发件人: 景县残联 <jxcl2020@163.com>\n主题: 景县4月份报表\n\n见附件\n")
    forward.add_attachment(
        (DATA / "workbooks" / "bad-ids-and-phones.xlsx").read_bytes(),
        maintype="application",
        subtype="octet-stream",
        filename="附件3.xlsx",
    )
    (tmp_path / "fw.eml").write_bytes(forward.as_bytes())
    assert run("import", str(tmp_path / "fw.eml"), "--mailbox", "kfb").exit_code == 0
    detail = json.loads(run("show", "2", "--json").stdout)
    assert detail["registered"] and detail["own_mailbox"]
    assert "发件人：hskf2006@126.com（本会部门邮箱，工作人员发出或转发）" in run("show", "2").stdout.splitlines()
    assert json.loads(run("show", "1", "--json").stdout)["own_mailbox"] is False


def test_a_from_borrowing_a_units_address_as_its_name_is_no_ones_and_waits_for_staff(run, tmp_path):
    """GIVEN a package whose From is `jxcl2020@163.com <attacker@evil.example>` (景县's registered address as the
    display name: a mail program answers the other) WHEN archived THEN it does not count for 景县, gets no
    receipt, is shown with that From whole as no one's, and 待处理 asks staff to check who sent it."""
    raw = (DATA / "workbooks" / "bad-ids-and-phones.xlsx").read_bytes()
    spoof = compose("jxcl2020@163.com", "hsclbgs666@163.com", "景县4月份报表", ARRIVAL)
    spoof.add_attachment(raw, maintype="application", subtype="octet-stream", filename="附件3.xlsx")
    spoof.replace_header("From", "jxcl2020@163.com <attacker@evil.example>")
    (tmp_path / "spoof.eml").write_bytes(spoof.as_bytes())
    assert run("import", str(tmp_path / "spoof.eml")).exit_code == 0
    detail = json.loads(run("show", "2", "--json").stdout)
    assert (detail["registered"], detail["sender"]) == (False, None)
    assert "发件人：（无法确定：jxcl2020@163.com <attacker@evil.example>）（未登记的发件人）" in run("show", "2").stdout
    queue = run("queue").stdout
    assert "2-nosender" in queue and "无法确定是谁发来的" in queue and "2-unregistered" not in queue


def test_show_says_a_message_waits_to_be_derived_again(run, tmp_path):
    """GIVEN a correction recorded and its message not derived again (`correct` killed before it did) THEN `show`
    says, by the recognition and first among the problems, that what it shows waits to be derived by the latest
    configuration and decisions (not the correction beside an unexplained old recognition) WHEN re-derived THEN
    it shows the corrected recognition and says nothing of waiting."""
    from archive.corrections import add_correction
    from archive.db import Database

    db = Database(f"sqlite:///{tmp_path}/mailroom.db")
    with db.session() as session:
        add_correction(session, 1, "误发的草稿", "孙倩", kind="other")
        session.commit()
    db.engine.dispose()
    waiting = (
        "等待按最新的配置和决定重新识别（这里的识别结果尚未更新）：请运行 mailroom rederive，"
        "运行中的 mailroom serve 也会在后台处理"
    )
    assert json.loads(run("show", "1", "--json").stdout)["problems"][0] == waiting
    lines = run("show", "1").stdout.splitlines()
    assert "识别为：景县 · 月度报表 · 2020年4月（取自主题）（尚待重新识别，见“邮件的问题”）" in lines
    assert f"- {waiting}" in lines and lines.index("邮件的问题：") < lines.index(f"- {waiting}")
    assert any(line.startswith("- 更正 #1：邮件类别更正为其他来信（孙倩，") for line in lines)

    assert run("rederive").exit_code == 0
    lines = run("show", "1").stdout.splitlines()
    assert lines[6] == "识别为：景县 · 其他来信 · 2020年4月（取自主题）"
    assert f"- {waiting}" not in lines


def test_a_message_derived_under_another_stamp_waits_when_the_stamp_is_given():
    """The message's page and `show` can say so for a changed configuration or version too: given today's stamp."""
    from archive.models import Message
    from bot.services.show import WAITING, message_problems

    message = Message(derived_with="0123456789abcdef", problems=[], kind="other", unit=None, month=None)
    assert message_problems(message) == [] and message_problems(message, "0123456789abcdef") == []
    assert message_problems(message, "fedcba9876543210") == [WAITING]
    message.derived_with = None  # marked due by a staff decision: known without the stamp
    assert message_problems(message) == [WAITING]


def conflict(run, tmp_path) -> int:
    """景县's registered address sending 阜城县's package (its subject and its 附件1 name 阜城县; the 待处理 reason
    "conflict"): message #2, recorded for 景县."""
    message = compose("jxcl2020@163.com", "hsclbgs666@163.com", "阜城县4月份报表", ARRIVAL)
    report = docx_bytes(["阜城县 4 月份目标任务进展情况报告", "截至4月底，康复服务完成 20 人。"], ARRIVAL)
    message.add_attachment(report, maintype="application", subtype="octet-stream", filename="附件1.docx")
    (tmp_path / "conflict.eml").write_bytes(message.as_bytes())
    assert run("import", str(tmp_path / "conflict.eml")).exit_code == 0
    return 2


def test_a_unit_conflict_a_correction_settled_is_shown_settled_not_open(run, tmp_path):
    """GIVEN a registered sender's package naming another unit (an open problem) WHEN staff correct its unit
    THEN `show` lists the conflict no more among the message's problems but as settled by the correction, and
    says the correction in the words the unit is told it (报送单位更正为…), with who, when and why WHEN the
    correction is revoked THEN the conflict is open again."""
    package = conflict(run, tmp_path)
    lines = run("show", str(package)).stdout.splitlines()
    assert any(UNIT_CONFLICT_MARK in line for line in lines[lines.index("邮件的问题：") :])
    assert "已了结的问题：" not in lines
    corrected = run("correct", str(package), "--unit", "阜城", "--reason", "电话核实：阜城县的报表", "--by", "孙倩")
    assert corrected.exit_code == 0, corrected.output
    lines = run("show", str(package)).stdout.splitlines()
    assert lines[6] == "识别为：阜城县 · 月度报表 · 2020年4月（取自主题）"
    decided = lines[lines.index("工作人员的决定：") + 1]
    assert decided.startswith("- 更正 #1：报送单位更正为阜城县（孙倩，2") and decided.endswith(
        "：电话核实：阜城县的报表）"
    )
    assert lines[lines.index("已了结的问题：") :][:3] == [
        "已了结的问题：",
        f"- 主题写的单位是阜城县，{UNIT_CONFLICT_MARK}：发件人 jxcl2020@163.com 是景县的报送邮箱"
        "（已由更正 #1 核实：报送单位更正为阜城县）",
        "",
    ]
    assert "邮件的问题：" not in lines and "更正为 " not in "\n".join(lines)
    shown = json.loads(run("show", str(package), "--json").stdout)
    decision = shown["decisions"][0]
    assert (decision["what"], decision["unit"], decision["entered_by"]) == ("报送单位更正为阜城县", "阜城县", "孙倩")
    assert not any(UNIT_CONFLICT_MARK in problem for problem in shown["problems"])  # show --json says the same
    assert [UNIT_CONFLICT_MARK in problem for problem in shown["settled_problems"]] == [True]

    assert run("correct", "--revoke", "1", "--reason", "核实有误", "--by", "孙倩").exit_code == 0
    lines = run("show", str(package)).stdout.splitlines()
    assert "已了结的问题：" not in lines and "工作人员的决定：" not in lines
    assert any(UNIT_CONFLICT_MARK in line for line in lines[lines.index("邮件的问题：") :])


def test_only_a_correction_giving_the_unit_settles_a_conflict():
    """A correction of the month alone, or a sender's confirmation, leaves a unit conflict open; one giving the
    unit (the sender's own too) settles it; other problems stay open beside it."""
    from bot.services.show import open_problems, settled_problems

    clash = (
        f"主题写的单位是阜城县，{UNIT_CONFLICT_MARK}：发件人 a@b.cn 是景县的报送邮箱，本邮件已按景县记录，"
        "市残联工作人员将核实；如是代阜城县报送，请由阜城县的报送邮箱发送"
    )
    problems = ["附件无法读取", clash]
    month = {"decision": "correction", "id": 3, "what": "报送月份更正为2020年5月", "unit": None}
    sender = {"decision": "sender", "id": 4, "what": "发件邮箱 a@b.cn 已确认为阜城县的报送邮箱", "unit": "阜城县"}
    for decisions in ([], [month], [sender]):
        assert open_problems(problems, decisions) == problems and settled_problems(problems, decisions) == []
    unit = {"decision": "correction", "id": 5, "what": "报送单位更正为景县，报送月份更正为2020年5月", "unit": "景县"}
    assert open_problems(problems, [sender, unit]) == ["附件无法读取"]
    assert settled_problems(problems, [sender, unit]) == [
        f"主题写的单位是阜城县，{UNIT_CONFLICT_MARK}：发件人 a@b.cn 是景县的报送邮箱"
        "（已由更正 #5 核实：报送单位更正为景县，报送月份更正为2020年5月）"
    ]


def test_a_correction_giving_the_unit_and_counting_the_mail_settles_why_it_did_not_count():
    """GIVEN a mail whose unit could not be told and whose sender is nobody's WHEN staff correct it to 故城县, counted
    THEN both problems are settled (they stayed open beside the correction) and the sender is said to count by
    it (it was said to be registered, which it is not); counting alone leaves the missing unit open; a unit
    outside its year's plan stays open whatever the correction."""
    from bot.services.show import open_problems, sender_standing, settled_problems
    from parsers.derive import UNPLANNED_MARK
    from parsers.recognize import NO_UNIT_MARK

    no_unit = (
        f"{NO_UNIT_MARK}：主题和附件名中没有单位名称，发件人 a@139.com 也未登记为任何单位的报送邮箱，"
        "不计分，请工作人员核实"
    )
    unregistered = "发件人 a@139.com 未登记为 故城县 的报送邮箱，不计分，请工作人员核实"
    unplanned = f"故城县{UNPLANNED_MARK}（2021 年），不计分"
    problems = [no_unit, unregistered, unplanned]
    both = {
        "decision": "correction",
        "id": 7,
        "what": "报送单位更正为故城县，经核实计入报送",
        "unit": "故城县",
        "counted": True,
    }
    assert open_problems(problems, [both]) == [unplanned]
    assert settled_problems(problems, [both]) == [
        f"{NO_UNIT_MARK}：主题和附件名中没有单位名称，发件人 a@139.com 也未登记为任何单位的报送邮箱"
        "（已由更正 #7 核实：报送单位更正为故城县，经核实计入报送）",
        "发件人 a@139.com 未登记为 故城县 的报送邮箱（已由更正 #7 核实：报送单位更正为故城县，经核实计入报送）",
    ]
    counted = {"decision": "correction", "id": 8, "what": "经核实计入报送", "unit": None, "counted": True}
    assert open_problems(problems, [counted]) == [no_unit, unplanned]
    assert sender_standing(True, [both]) == "经核实计入（更正 #7）"
    assert sender_standing(True, []) == "登记的报送邮箱" and sender_standing(False, []) == "未登记的发件人"


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"unit": "冀州区", "counted": True}, "报送单位更正为冀州区，经核实计入报送"),
        ({"month": "2020-12"}, "报送月份更正为2020年12月"),
        ({"counted": False}, "经核实不计入报送"),
        ({"kind": "other"}, "邮件类别更正为其他来信"),
    ],
)
def test_staff_read_a_decision_in_the_words_the_unit_is_told_it(fields, said):
    """GIVEN a correction WHEN staff read it (show, explain, the web pages) THEN in the words a receipt or a
    核实通知 says it to the unit, with who, when and why; never as a record's fields ("更正为 单位 冀州区，计分 是")."""
    from archive.decisions import Decision
    from archive.models import CorrectionRow
    from bot.services.show import decided_text, decision_json, decision_line

    entered = datetime(2020, 6, 2, 9, tzinfo=SHANGHAI)
    row = CorrectionRow(id=7, reason="电话核实", entered_by="孙倩", entered_at=entered, **fields)
    assert decided_text(row) == said
    assert (
        decision_line(decision_json(Decision(row, (1,)), SHANGHAI)) == f"更正 #7：{said}（孙倩，2020-06-02：电话核实）"
    )


def test_staff_read_a_confirmed_sender_in_the_words_the_unit_is_told_it():
    from datetime import date

    from archive.decisions import Decision
    from archive.models import StaffSenderRow
    from bot.services.show import decision_json, decision_line

    entered = datetime(2020, 6, 2, 9, tzinfo=SHANGHAI)
    row = StaffSenderRow(
        id=2,
        unit="景县",
        address="a@b.cn",
        since=date(2020, 5, 1),
        reason="电话核实",
        entered_by="孙倩",
        entered_at=entered,
    )
    assert decision_line(decision_json(Decision(row, (1,)), SHANGHAI)) == (
        "确认邮箱 #2：发件邮箱 a@b.cn 已确认为景县的报送邮箱（自2020年5月1日起）（孙倩，2020-06-02：电话核实）"
    )


def test_a_briefings_files_are_shown_as_its_articles_not_as_forms_missing(run, tmp_path):
    """GIVEN 景县's briefing with its article as a .docx WHEN shown THEN the file is 简报稿件, where it read
    未识别为任何附件表格 (no form is looked for in an article)."""
    message = compose("jxcl2020@163.com", "hsclbgs666@163.com", "景县残疾人服务工程专项信息", ARRIVAL)
    article = docx_bytes(["景县开展康复服务进社区活动", "4月9日，景县残联组织康复专家进社区。"], ARRIVAL)
    message.add_attachment(article, maintype="application", subtype="octet-stream", filename="简报.docx")
    (tmp_path / "b.eml").write_bytes(message.as_bytes())
    assert run("import", str(tmp_path / "b.eml")).exit_code == 0
    lines = run("show", "2").stdout.splitlines()
    assert "景县 · 简报信息" in "\n".join(lines)
    start = lines.index("附件（1 个）：")
    assert lines[start + 2] == "   简报稿件"
