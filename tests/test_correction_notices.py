"""What a unit is told after a staff decision changes what its mail counts as (核实通知), and where that decision
shows: compared with what the unit was last told, never with one run's before and after; on the demo's
April–June, on SQLite and PostgreSQL."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from sqlalchemy import select

from archive.models import Message, OwedReply
from bot.config import load_config
from bot.daemon.deps import open_deps
from tests import test_rederive
from tests.conftest import DATA
from tests.test_rederive import (
    body,
    mailroom_json_list,
    outbox_rows,
    run,
    set_outbox,
    taocheng_april_package,
)

demo = test_rederive.demo  # the fixture: the demo config over the test's database, its mail polled
LATER = datetime(2099, 1, 1, tzinfo=UTC)  # an outgoing mail waiting for its hour, never tried


def package_of(config: Path, unit: str, month: str) -> int:
    return next(
        row["id"]
        for row in mailroom_json_list(config, "search", "--unit", unit, "--month", month, "--kind", "report")
        if "教就部" in row["subject"]
    )


def ok(config: Path, *args: str) -> str:
    result = run(config, *args)
    assert result.exit_code == 0, result.output
    return result.output


def waiting_notices(config: Path, message_id: int) -> list[str]:
    deps = open_deps(load_config(config, environ={}), sandbox=None)
    try:
        with deps.db.session() as session:
            return list(
                session.scalars(
                    select(OwedReply.cause).where(
                        OwedReply.message_id == message_id, OwedReply.kind == "change", OwedReply.queued_at.is_(None)
                    )
                )
            )
    finally:
        deps.close()


def unit_of(config: Path, message_id: int) -> str | None:
    deps = open_deps(load_config(config, environ={}), sandbox=None)
    try:
        with deps.db.session() as session:
            return session.get(Message, message_id).unit
    finally:
        deps.close()


def test_a_change_undone_before_it_was_told_is_never_told_and_one_that_stops_counting_is(demo):
    """GIVEN 桃城区's April package, its receipt sent (April) WHEN its month is corrected to May and the correction
    revoked before the notice went THEN no notice goes: the unit was told April, and April it is WHEN moved to
    June and back to April before that notice went THEN none either WHEN staff say its sender does not count
    THEN a notice says it counts no more, and why."""
    package = taocheng_april_package(demo)
    set_outbox(demo, f"receipt:{package}", "sent")
    ok(demo, "correct", str(package), "--month", "2020-05", "--reason", "电话核实：5月报表", "--by", "孙倩")
    assert set(outbox_rows(demo, package)) == {f"receipt:{package}", f"change:{package}"}
    set_outbox(demo, f"change:{package}", "pending", LATER)
    ok(demo, "correct", "--revoke", "1", "--reason", "核实有误", "--by", "孙倩")
    assert set(outbox_rows(demo, package)) == {f"receipt:{package}"} and waiting_notices(demo, package) == []
    ok(demo, "correct", str(package), "--month", "2020-06", "--reason", "电话核实：6月报表", "--by", "孙倩")
    set_outbox(demo, f"change:{package}", "pending", LATER)
    ok(demo, "correct", str(package), "--month", "2020-04", "--reason", "还是4月", "--by", "孙倩")
    assert set(outbox_rows(demo, package)) == {f"receipt:{package}"} and waiting_notices(demo, package) == []
    ok(demo, "correct", str(package), "--not-counted", "--reason", "非本单位报送邮箱", "--by", "孙倩")
    mail = outbox_rows(demo, package)
    assert set(mail) == {f"receipt:{package}", f"change:{package}"}
    told = body(mail[f"change:{package}"][1])
    assert "不计入报送，不计分" in told and "非本单位报送邮箱" in told and "现已计入" not in told


def test_a_receipt_not_yet_sent_tells_the_correction_alone_and_explain_shows_mail_moved_away(demo):
    """GIVEN 冀州区's April package, its receipt waiting for its hour WHEN staff correct its unit to 阜城县 THEN
    only the receipt goes, composed again (阜城县, with 工作人员核实): no notice beside it; `explain` of 冀州区,
    which lost the package, names the correction and the mail, as 阜城县's does WHEN, its receipt sent, another
    package is corrected to other mail THEN its unit is told it counts no more."""
    package = package_of(demo, "冀州区", "2020-04")
    set_outbox(demo, f"receipt:{package}", "pending", LATER)
    ok(demo, "correct", str(package), "--unit", "阜城", "--reason", "电话核实：阜城县的报表", "--by", "孙倩")
    mail = outbox_rows(demo, package)
    assert set(mail) == {f"receipt:{package}"}
    receipt = body(mail[f"receipt:{package}"][1])
    assert "单位：阜城县" in receipt and "工作人员核实" in receipt and "电话核实：阜城县的报表" in receipt
    for unit in ("冀州区", "阜城县"):
        explained = ok(demo, "explain", unit, "--month", "2020-06")
        assert "更正 #1：报送单位更正为阜城县（孙倩，" in explained and f"← 邮件 #{package}" in explained, unit
    other = package_of(demo, "冀州区", "2020-05")
    set_outbox(demo, f"receipt:{other}", "sent")
    ok(demo, "correct", str(other), "--kind", "other", "--reason", "误发的草稿", "--by", "孙倩")
    told = body(outbox_rows(demo, other)[f"change:{other}"][1])
    assert "不计入报送，不计分" in told and "类别：其他来信" in told and "误发的草稿" in told


def test_a_closed_year_is_not_told_again_and_its_kept_explanation_names_the_decisions_behind_it(demo):
    """GIVEN 冀州区's April package corrected to 阜城县 (its notice sent) and 2020 closed WHEN another package's
    month is corrected, or that correction revoked THEN no notice goes: the kept results stand, as staff are
    told; the kept explanations of both units name the revoked correction, saying it was revoked after closing,
    and a correction entered after closing says it changes no kept figure."""
    package = package_of(demo, "冀州区", "2020-04")
    ok(demo, "correct", str(package), "--unit", "阜城", "--reason", "电话核实：阜城县的报表", "--by", "孙倩")
    assert f"change:{package}" in outbox_rows(demo, package)
    set_outbox(demo, f"change:{package}", "sent")
    ok(demo, "digest", "--month", "2020-12", "--send")
    ok(demo, "year", "close", "2020", "--by", "孙倩")
    taocheng = taocheng_april_package(demo)
    said = ok(demo, "correct", str(taocheng), "--month", "2020-05", "--reason", "电话核实：5月报表", "--by", "孙倩")
    assert "结账" in said and set(outbox_rows(demo, taocheng)) == {f"receipt:{taocheng}"}
    ok(demo, "correct", "--revoke", "1", "--reason", "核实有误", "--by", "孙倩")
    assert set(outbox_rows(demo, package)) == {f"receipt:{package}", f"change:{package}"}
    assert waiting_notices(demo, package) == []
    for unit in ("冀州区", "阜城县"):
        explained = ok(demo, "explain", unit, "--month", "2020-06")
        assert "更正 #1：报送单位更正为阜城县；结账后已于 " in explained
        assert "撤销，结账时保存的结果仍以此为准" in explained
        assert f"← 邮件 #{package}" in explained, unit
    explained = ok(demo, "explain", "桃城区", "--month", "2020-06")
    assert "更正 #2：报送月份更正为2020年5月；结账后登记，不改变结账时保存的结果" in explained


def test_a_correction_names_its_unit_as_today_s_configuration_does(demo):
    """GIVEN 冀州区's April package corrected to 阜城县 WHEN 阜城县 is renamed 阜城市 (its old name an alias) and
    the archive derived again THEN the package is 阜城市's, as all of 阜城县's other mail is."""
    package = package_of(demo, "冀州区", "2020-04")
    ok(demo, "correct", str(package), "--unit", "阜城县", "--reason", "电话核实：阜城县的报表", "--by", "孙倩")
    text = demo.read_text(encoding="utf-8")
    renamed = text.replace('name = "阜城县"\naliases = ["阜城"]', 'name = "阜城市"\naliases = ["阜城", "阜城县"]')
    assert renamed != text
    demo.write_text(renamed, encoding="utf-8")
    ok(demo, "rederive")
    assert unit_of(demo, package) == "阜城市"
    assert package in [row["id"] for row in mailroom_json_list(demo, "search", "--unit", "阜城市")]


def test_a_unit_correction_is_told_to_the_sender_greeting_its_own_unit_and_naming_the_new_one(demo):
    """GIVEN 冀州区's April package, its receipt sent WHEN staff correct its unit to 阜城县 THEN the 核实通知 goes
    to 冀州区's address (its sender), greets 冀州区 (whose address it is), says plainly that the mail is 阜城县's
    and counts for 阜城县's April, and says the decision in words, not as a record's fields."""
    package = package_of(demo, "冀州区", "2020-04")
    set_outbox(demo, f"receipt:{package}", "sent")
    ok(demo, "correct", str(package), "--unit", "阜城", "--reason", "电话核实：阜城县的报表", "--by", "孙倩")
    mail = outbox_rows(demo, package)
    assert set(mail) == {f"receipt:{package}", f"change:{package}"}
    raw = mail[f"change:{package}"][1]
    assert email.message_from_bytes(raw, policy=policy.default)["To"] == "jzqcl@126.com"
    told = body(raw)
    assert told.startswith("冀州区残联：")
    assert "您单位发送的以下邮件经市残联工作人员核实，为阜城县的报送，已计入阜城县2020年4月的报送：" in told
    assert "计入单位：阜城县" in told
    assert "- 报送单位更正为阜城县（电话核实：阜城县的报表）" in told and "更正为 " not in told


def forward(original: str, subject: str) -> bytes:
    """A unit's mail as 康复部 (hskf2006@126.com, one of our own mailboxes) forwards it to 教就部, the original
    quoted under a webmail's header block."""
    mail = EmailMessage()
    mail["From"] = "康复部 <hskf2006@126.com>"
    mail["To"] = "hsscljjb@163.com"
    mail["Subject"] = f"FW: {subject}"
    mail["Date"] = "Mon, 18 May 2020 09:30:00 +0800"
    mail["Message-ID"] = make_msgid(domain="test.example")
    mail.set_content(
        f"-----原始邮件-----\n发件人: 阜城县 <{original}>\n发送时间: 2020年5月18日 9:00\n"
        f"收件人: hskf2006@126.com\n主题: {subject}\n\n报表见附件。\n"
    )
    summary = (DATA / "workbooks" / "summary-unit-row-only.xlsx").read_bytes()
    mail.add_attachment(summary, maintype="application", subtype="vnd.ms-excel", filename="附件2.xlsx")
    return bytes(mail)


def test_a_staff_forward_corrected_owes_our_own_mailbox_no_notice(demo):
    """GIVEN 康复部 (one of our own mailboxes) forwarding an unregistered address's package WHEN staff correct it
    to count, then revoke that THEN no 核实通知 goes to our own mailbox (staff did it themselves; a notice goes
    only where a receipt could) and none stays owed."""
    folder = demo.parent / "mail" / "jjb" / "new"
    (folder / "1589765400.fw1.test").write_bytes(forward("someone@qq.com", "阜城县5月份报表"))
    ok(demo, "poll", "--once")
    [forwarded] = [
        row["id"] for row in mailroom_json_list(demo, "search", "--unit", "阜城县") if row["subject"].startswith("FW:")
    ]
    ok(demo, "correct", str(forwarded), "--counted", "--reason", "电话核实：阜城县的报表", "--by", "孙倩")
    assert unit_of(demo, forwarded) == "阜城县"
    assert outbox_rows(demo, forwarded) == {} and waiting_notices(demo, forwarded) == []
    ok(demo, "correct", "--revoke", "1", "--reason", "核实有误", "--by", "孙倩")
    assert outbox_rows(demo, forwarded) == {} and waiting_notices(demo, forwarded) == []
    assert not [
        path for path in (demo.parent / "outbox").glob("*-change.eml") if b"hskf2006@126.com" in path.read_bytes()
    ]
