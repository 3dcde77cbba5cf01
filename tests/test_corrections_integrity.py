"""Staff decisions hold at every door, on SQLite and PostgreSQL: two submitted at once record one (a
correction, an award), a decision recorded and never applied (the command killed before it derived the message
again) leaves the message due, so `status` says so, `year close` refuses and `serve`'s background pass or
`rederive` applies it; a briefing's month is not corrected; a blank or overlong reason, a blank name and a
correction that changes nothing are refused; a unit is taken by its name however it is spaced."""

from __future__ import annotations

import email
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import replace
from datetime import UTC, date, datetime
from email import policy
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from archive.corrections import add_correction, revoke_correction
from archive.entries import add_entry
from archive.evidence import load_evidence
from archive.ingest import Incoming, ingest_batch
from archive.models import CorrectionRow, Message, OutboxMail, StaffEntryRow, StaffSenderRow
from archive.outbox import digest_cause
from archive.rederive import behind, due
from archive.staff_senders import add_sender
from bot.cli.group import main
from bot.config import Config, load_config
from bot.daemon.deps import Deps, open_deps
from bot.daemon.poll import send_owed
from bot.daemon.serve import rederive_behind
from bot.daemon.status import describe_status, gather_status
from bot.demo.folder import compose
from bot.services.decisions import derivation_owed
from bot.services.scores import unit_name
from bot.services.years import close_plan_year
from parsers.errors import InputError, MailroomError
from tests.test_years import config_text
from tests.webapp import BOOKS, PASSWORD, SHANGHAI, csrf_token, log_in, sent_mail

PERSONAL = "2851736642@qq.com"  # a clerk's own address, in no unit's senders


class Ids(NamedTuple):
    report: int  # 桃城区's April 附件4, to 康复部
    briefing: int  # 枣强县's briefing, to 办公室
    personal: int  # 景县's April 附件2 from a clerk's own address: counts for nothing


class Office(NamedTuple):
    path: Path
    env: dict[str, str]
    config: Config
    deps: Deps
    ids: Ids


def _mail(sender: str, to: str, subject: str, day: int, files: tuple[str, ...] = ()) -> bytes:
    message = compose(sender, to, subject, datetime(2020, 4, day, 10, tzinfo=SHANGHAI), body="见附件")
    for name in files:
        message.add_attachment(
            (BOOKS / name).read_bytes(), maintype="application", subtype="octet-stream", filename=name
        )
    return message.as_bytes()


@pytest.fixture
def office(tmp_path, database_url):
    path = tmp_path / "config.toml"
    path.write_text(config_text({}, outbox=tmp_path / "outbox"), encoding="utf-8")
    env = {"MAILROOM_DATABASE_URL": database_url, "MAILROOM_ARCHIVE_PATH": str(tmp_path / "archive")}
    config = load_config(path, environ=env)
    deps = open_deps(config, create_folders=True, sandbox=None)
    mail = [
        (
            _mail(
                "tcqcl@163.com", "hskf2006@126.com", "桃城区4月份报表", 8, ("devices-registry-merged-poor-header.xls",)
            ),
            "kfb",
        ),
        (_mail("zqxcl@163.com", "hsclbgs666@163.com", "枣强县贫困残疾人服务工程专项信息（1）", 9), "bgs"),
        (_mail(PERSONAL, "hskf2006@126.com", "景县4月份报表", 10, ("summary-unit-row-only.xlsx",)), "kfb"),
    ]
    outcomes = ingest_batch(deps.db, deps.store, deps.recognizer, [Incoming(raw, box, "import") for raw, box in mail])
    assert [outcome.kind for outcome in outcomes] == ["report", "briefing", "report"]
    yield Office(path, env, config, deps, Ids(*(outcome.id for outcome in outcomes)))
    deps.close()


def cli(office: Office, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(office.path), *args], env=office.env)


def one_recorded(results: list[Any]) -> tuple[int, MailroomError]:
    """What two calls made at once (at_once) came to when exactly one was recorded: its id, and the other's
    refusal; fails the test otherwise."""
    recorded = [result for result in results if isinstance(result, int)]
    refused = [result for result in results if isinstance(result, MailroomError)]
    assert len(recorded) == 1 and len(refused) == 1, results
    return recorded[0], refused[0]


def at_once(deps: Deps, table: str, *calls: Callable[[], Any]) -> list[Any]:
    """Each call in a thread of its own, started together; a write into `table` waits (a second at most) for
    the other calls to reach theirs, so that each has made its check before any writes: a check not held
    with its write (archive.entries.hold) then lets both write. What each returned, or raised."""
    start, writes = threading.Barrier(len(calls)), threading.Barrier(len(calls), timeout=1)
    results: list[Any] = [None] * len(calls)

    def meet(_connection, _cursor, statement, *_args) -> None:
        if statement.startswith(f"INSERT INTO {table} "):
            with suppress(threading.BrokenBarrierError):  # the other is held back until this one commits
                writes.wait()

    def run(index: int, call: Callable[[], Any]) -> None:
        start.wait()
        try:
            results[index] = call()
        except Exception as error:  # noqa: BLE001 — what each call met is what the test looks at
            results[index] = error

    event.listen(deps.db.engine, "before_cursor_execute", meet)
    try:
        threads = [threading.Thread(target=run, args=(n, call)) for n, call in enumerate(calls)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        event.remove(deps.db.engine, "before_cursor_execute", meet)
    return results


def in_force_on(session: Session, message_id: int) -> list[int]:
    sha = session.scalar(select(Message.sha256).where(Message.id == message_id))
    return list(
        session.scalars(
            select(CorrectionRow.id).where(CorrectionRow.message_sha256 == sha, CorrectionRow.revoked_at.is_(None))
        )
    )


# ---------------------------------------------------------------------------------------------
# Two at once


def test_two_corrections_submitted_at_once_record_one(office):
    """GIVEN 桃城区's report WHEN the same correction is submitted twice at the same moment THEN one is recorded
    and in force, the other refused as a resubmission is (no second one silently in force)."""
    deps, report = office.deps, office.ids.report

    def submit() -> int:
        with deps.db.session() as session:
            row = add_correction(session, report, "误发的草稿", "孙倩", kind="other", plans=office.config.plans)
            session.commit()
            return row.id

    recorded, refused = one_recorded(at_once(deps, "correction", submit, submit))
    assert f"与邮件 #{report} 现行的更正 #{recorded} 相同，未重复登记" in str(refused)
    with deps.db.session() as session:
        assert in_force_on(session, report) == [recorded]


def test_two_web_submits_of_one_form_record_one_correction(office):
    """GIVEN the message's page shown with no correction in force WHEN its form is submitted twice at once (a
    double click, two tabs) THEN one correction is recorded, the other submit is told the correction changed
    meanwhile and whose now stands."""
    from bot.web.app import create_app
    from tests.webapp import add_accounts

    add_accounts(office.deps)
    app = create_app(office.config, office.deps, secret_key="test secret")
    report = office.ids.report
    clients = [app.test_client() for _ in range(2)]
    forms = []
    for client in clients:
        assert log_in(client, "孙倩", PASSWORD).status_code == 302
        shown = client.get(f"/message/{report}").get_data(as_text=True)
        assert 'name="in_force" value=""' in shown
        forms.append(
            {
                "csrf_token": csrf_token(shown),
                "message_id": str(report),
                "in_force": "",
                "kind": "other",
                "reason": "误发的草稿",
                "back": "message",
            }
        )
    results = at_once(
        office.deps, "correction", *[lambda c=c, f=f: c.post("/corrections", data=f) for c, f in zip(clients, forms)]
    )
    assert [result.status_code for result in results] == [302, 302], results
    with office.deps.db.session() as session:
        [stands] = in_force_on(session, report)
    said = [client.get(f"/message/{report}").get_data(as_text=True) for client in clients]
    assert sum(f"已登记更正 #{stands}" in page for page in said) == 1
    assert (
        sum(f"未更正：邮件 #{report} 的更正刚刚有变化（现行的更正是 #{stands}（孙倩））" in page for page in said) == 1
    )


def test_a_double_clicked_sender_confirmation_records_one(office):
    """GIVEN 景县's package from a clerk's own address on 待处理 WHEN staff's 确认 is submitted twice at once (a
    double click, two tabs) THEN one confirmation is recorded, and the other submit is told the address is
    confirmed already, naming the one that stands."""
    from bot.web.app import create_app
    from tests.webapp import add_accounts

    add_accounts(office.deps)
    app = create_app(office.config, office.deps, secret_key="test secret")
    clients = [app.test_client() for _ in range(2)]
    forms = []
    for client in clients:
        assert log_in(client, "孙倩", PASSWORD).status_code == 302
        token = csrf_token(client.get("/queue").get_data(as_text=True))
        forms.append({"csrf_token": token, "message_id": str(office.ids.personal), "reason": "电话核实"})
    results = at_once(
        office.deps, "staff_sender", *[lambda c=c, f=f: c.post("/senders", data=f) for c, f in zip(clients, forms)]
    )
    assert [result.status_code for result in results] == [302, 302], results
    with office.deps.db.session() as session:
        [stands] = session.scalars(select(StaffSenderRow.id).where(StaffSenderRow.address == PERSONAL)).all()
    said = [client.get("/queue").get_data(as_text=True) for client in clients]
    assert sum(f"已确认 {PERSONAL} 为 景县 的报送邮箱（#{stands}）" in page for page in said) == 1
    assert sum(f"未确认：{PERSONAL} 已于" in page and f"的报送邮箱（#{stands}）" in page for page in said) == 1


def test_two_awards_of_the_same_evidence_at_once_record_one(office):
    deps = office.deps
    evidence = "衡水日报 2020-05-02 第3版"

    def award() -> int:
        with deps.db.session() as session:
            return add_entry(session, "桃城区", "media", "city", date(2020, 5, 2), evidence, "孙倩").id

    recorded, refused = one_recorded(at_once(deps, "staff_entry", award, award))
    assert f"同一证据已登记为 #{recorded}" in str(refused)
    with deps.db.session() as session:
        assert session.scalar(select(func.count()).select_from(StaffEntryRow)) == 1


def test_a_digest_asked_for_again_by_two_staff_at_once_is_sent_once_more(office):
    """GIVEN April's digest sent WHEN two staff ask for it again at the same moment (`digest --send --again`)
    THEN it is queued once more, and the other is told so in Chinese, where the second command ended in a
    database error."""
    from bot.outgoing.digest_mail import prepare_digest, queue_digest_again

    deps, now = office.deps, datetime(2020, 5, 22, tzinfo=UTC)
    with deps.db.session() as session:
        session.add(sent_mail(digest_cause("2020-04"), "digest", "staff@example.cn", "4月份通报", now))
        session.commit()
        prepared = prepare_digest(office.config, session, "2020-04", now)

    def again() -> str | None:
        with deps.db.session() as session:
            return queue_digest_again(session, prepared, now)

    results = at_once(deps, "outbox", again, again)
    assert [result for result in results if isinstance(result, str)] == ["digest:2020-04#2"]
    assert [str(result) for result in results if not isinstance(result, str)] == [
        "另一个命令刚刚也要求再次发送这份通报，已由它排队发送，本次不重复发送"
    ]
    with deps.db.session() as session:
        stored = session.scalars(select(OutboxMail.cause).where(OutboxMail.cause.like("digest:2020-04%"))).all()
    assert sorted(stored) == ["digest:2020-04", "digest:2020-04#2"]


# ---------------------------------------------------------------------------------------------
# Recorded, never applied


def _last_digest_sent(deps: Deps) -> None:
    """2020's last digest as gone out, which `year close` asks first."""
    now = datetime(2021, 1, 21, tzinfo=UTC)
    with deps.db.session() as session:
        session.add(sent_mail(digest_cause("2020-12"), "digest", "staff@example.cn", "12月份通报", now))
        session.commit()


def _close_2020(office: Office) -> None:
    with office.deps.db.session() as session:
        try:
            close_plan_year(
                office.config, session, 2020, office.deps.recognizer.stamp, "孙倩", datetime(2021, 2, 1, tzinfo=UTC)
            )
        finally:
            session.rollback()


def _status(office: Office) -> str:
    return "\n".join(describe_status(gather_status(office.config, office.deps)))


def test_a_correction_recorded_but_never_derived_is_due_until_serve_or_rederive_applies_it(office):
    """GIVEN `mailroom correct` killed right after it recorded the correction (its record alone, committed)
    THEN the message is due: `status` says one message waits, `rederive --dry-run` checks it, `year close`
    refuses WHEN `serve`'s background pass runs THEN the message is other mail and nothing is due; the same
    for a revocation, which `rederive` applies."""
    deps, report, stamp = office.deps, office.ids.report, office.deps.recognizer.stamp
    _last_digest_sent(deps)
    with deps.db.session() as session:
        add_correction(session, report, "误发的草稿", "孙倩", kind="other", plans=office.config.plans)
        session.commit()
    with deps.db.session() as session:
        assert due(session, stamp, False, None) == [report]
        assert session.get(Message, report).kind == "report"  # not applied yet
    assert "有 1 封邮件的识别结果" in _status(office)
    assert "检查 1 封邮件，识别结果将改变 1 封" in cli(office, "rederive", "--dry-run").output
    with pytest.raises(MailroomError, match="有 1 封邮件尚待"):
        _close_2020(office)
    again = cli(office, "correct", str(report), "--kind", "other", "--reason", "再次", "--by", "孙倩")
    assert again.exit_code != 0 and "相同，未重复登记；邮件尚待按它重新识别" in again.output

    rederive_behind(office.config, deps)  # `serve`'s pass at its start
    with deps.db.session() as session:
        assert session.get(Message, report).kind == "other"
        assert behind(session, stamp) == 0
    _close_2020(office)  # nothing due: not refused for it

    with deps.db.session() as session:
        [correction] = in_force_on(session, report)
        revoke_correction(session, correction, "核实后确是报表", "孙倩", zone=UTC)
        session.commit()
    with deps.db.session() as session:
        assert due(session, stamp, False, None) == [report]
    assert cli(office, "rederive").exit_code == 0
    with deps.db.session() as session:
        assert session.get(Message, report).kind == "report"
        assert behind(session, stamp) == 0


def test_a_sender_confirmed_and_never_derived_leaves_its_mail_due(office):
    """GIVEN a sender confirmed in the transaction `sender add` (and the web's button) commits, and nothing
    after it THEN its mail is due WHEN re-derived THEN it counts."""
    deps, personal = office.deps, office.ids.personal
    with deps.db.session() as session:
        row = add_sender(session, "景县", PERSONAL, "电话核实", "孙倩", None, zone=UTC)
        assert derivation_owed(session, row.address) == [personal]
        session.commit()
    with deps.db.session() as session:
        assert due(session, deps.recognizer.stamp, False, None) == [personal]
        assert session.get(Message, personal).registered is False
    assert cli(office, "rederive").exit_code == 0
    with deps.db.session() as session:
        assert session.get(Message, personal).registered is True


# ---------------------------------------------------------------------------------------------
# What a correction may say


def test_a_briefings_month_is_not_corrected(office):
    """GIVEN a briefing (counted in the month it arrived) WHEN its month is corrected, or a report is corrected
    to a briefing with a month THEN refused, saying why; a report whose month was corrected, corrected to a
    briefing, does not keep that month."""
    deps, plans = office.deps, office.config.plans
    with deps.db.session() as session:
        with pytest.raises(InputError, match="是简报：简报按收到日期计入当月，不能更改月份"):
            add_correction(session, office.ids.briefing, "其实是5月的", "孙倩", month="2020-05", plans=plans)
        with pytest.raises(InputError, match="更正为简报后：简报按收到日期计入当月，不能更改月份"):
            add_correction(session, office.ids.report, "x", "孙倩", kind="briefing", month="2020-05", plans=plans)
    with deps.db.session() as session:
        add_correction(session, office.ids.report, "5月的", "孙倩", month="2020-05", plans=plans)
        session.commit()
    with deps.db.session() as session:
        row = add_correction(session, office.ids.report, "其实是简报", "孙倩", kind="briefing", plans=plans)
        assert (row.kind, row.month) == ("briefing", None)
    refused = cli(office, "correct", str(office.ids.briefing), "--month", "2020-05", "--reason", "x")
    assert refused.exit_code != 0 and "简报按收到日期计入当月，不能更改月份" in refused.output


@pytest.mark.parametrize(
    "args, said",
    [
        (["correct", "{report}", "--month", "2020-05", "--reason", ""], "请写明更正原因"),
        (["correct", "{report}", "--month", "2020-05", "--reason", "   ", "--by", "  "], "请写明更正原因"),
        (["correct", "{report}", "--month", "2020-05", "--reason", "核实", "--by", " \u3000"], "请写明更正人"),
        (["correct", "{report}", "--month", "2020-05", "--reason", "长" * 501], "更正原因最多 500 字（现有 501 字）"),
        (["award", "桃城区", "--kind", "media", "--level", "city", "--date", "2020-05-02", "--evidence", " "], "证据"),
        (
            ["award", "桃城区", "--kind", "media", "--level", "city", "--date", "2020-05-02", "--evidence", "x"]
            + ["--by", " "],
            "请写明登记人",
        ),
        (["sender", "add", "景县", PERSONAL, "--reason", " "], "请写明确认原因"),
    ],
)
def test_a_decision_needs_a_reason_of_some_words_and_a_name(office, args, said):
    """GIVEN a blank reason or name, or a reason longer than a notice should carry WHEN given on the command
    line THEN refused, in Chinese, and nothing is recorded (the web refuses the same, by the same rule)."""
    result = cli(office, *[arg.format(report=office.ids.report) for arg in args])
    assert result.exit_code != 0 and said in result.output, result.output
    with office.deps.db.session() as session:
        assert session.scalar(select(func.count()).select_from(CorrectionRow)) == 0
        assert session.scalar(select(func.count()).select_from(StaffEntryRow)) == 0


def test_a_revocation_needs_a_reason_and_a_name(office):
    assert cli(office, "correct", str(office.ids.report), "--kind", "other", "--reason", "误发").exit_code == 0
    assert (
        cli(
            office, "award", "桃城区", "--kind", "media", "--level", "city", "--date", "2020-05-02", "--evidence", "x"
        ).exit_code
        == 0
    )
    for args, said in (
        (["correct", "--revoke", "1", "--reason", "  "], "请写明撤销原因"),
        (["correct", "--revoke", "1", "--reason", "录错", "--by", ""], "请写明撤销人"),
        (["revoke", "1", "--reason", ""], "请写明撤销原因"),
        (["revoke", "1", "--reason", "长" * 501], "撤销原因最多 500 字"),
    ):
        result = cli(office, *args)
        assert result.exit_code != 0 and said in result.output, (args, result.output)
    with office.deps.db.session() as session:
        assert session.scalars(select(CorrectionRow.revoked_at)).all() == [None]
        assert session.scalars(select(StaffEntryRow.revoked_at)).all() == [None]


def test_correct_refuses_options_it_would_ignore(office):
    """GIVEN `correct --revoke 1` with --unit (it revoked and ignored --unit) or a message number, or a message
    number with nothing to change (it exited 1, as if the archive were at fault) THEN a usage error, exit 2, and
    nothing recorded."""
    assert cli(office, "correct", str(office.ids.report), "--kind", "other", "--reason", "误发").exit_code == 0
    for args in (
        ["--revoke", "1", "--unit", "景县"],
        ["--revoke", "1", "--not-counted"],
        [str(office.ids.report), "--revoke", "1"],
        [str(office.ids.report)],
    ):
        result = cli(office, "correct", *args, "--reason", "核实")
        assert result.exit_code == 2 and result.output.startswith("用法错误 (usage error): "), (args, result.output)
    with office.deps.db.session() as session:
        assert session.scalars(select(CorrectionRow.revoked_at)).all() == [None]


def test_a_correction_that_changes_nothing_is_refused(office):
    """GIVEN 桃城区's April report WHEN corrected to what it already is THEN refused, nothing recorded; GIVEN it
    corrected to 景县 and derived so WHEN corrected to be a report (which it is) THEN refused too."""
    report = office.ids.report
    same = cli(
        office, "correct", str(report), "--unit", "桃城区", "--kind", "report", "--month", "2020-04", "--counted",
        "--reason", "核实",
    )  # fmt: skip
    assert same.exit_code != 0 and "识别结果已是如此" in same.output and "未登记" in same.output
    assert cli(office, "correct", str(report), "--unit", "景县", "--reason", "景县代报").exit_code == 0
    kind_only = cli(office, "correct", str(report), "--kind", "report", "--reason", "核实")
    assert kind_only.exit_code != 0 and "识别结果已是如此" in kind_only.output
    with office.deps.db.session() as session:
        assert session.scalar(select(func.count()).select_from(CorrectionRow)) == 1


def test_a_unit_is_taken_by_its_name_however_spaced(office):
    """GIVEN 景县 (alias "景 县") WHEN named with spaces around it or a full-width space inside THEN every
    command takes it as 景县; a name no unit has is still refused."""
    for spelling in (" 景县 ", "景　县", " 景 县", "景县\u3000"):
        assert unit_name(office.config, spelling) == "景县"
    with pytest.raises(InputError, match="没有名为 景 的单位"):
        unit_name(office.config, " 景 ")
    assert cli(office, "explain", " 景县", "--month", "2020-04").exit_code == 0
    assert cli(office, "explain", "景　县", "--month", "2020-04").exit_code == 0
    assert cli(office, "search", "--unit", "景　县").exit_code == 0
    moved = cli(office, "correct", str(office.ids.report), "--unit", " 景　县 ", "--reason", "景县代报")
    assert moved.exit_code == 0, moved.output
    with office.deps.db.session() as session:
        assert session.scalar(select(CorrectionRow.unit)) == "景县"


def test_an_archive_with_two_corrections_in_force_keeps_the_later_on_upgrade(office):
    """GIVEN an archive from before 0021 where a double submit left two corrections in force on one message
    WHEN upgraded THEN the later one (which derivation applied) stands, the earlier is revoked on record."""
    from alembic import command

    from archive.db import _alembic_config

    deps, report = office.deps, office.ids.report
    config = _alembic_config()
    with deps.db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0020")
    with deps.db.session() as session:
        sha = session.scalar(select(Message.sha256).where(Message.id == report))
        for reason in ("误发的草稿", "误发的草稿"):
            session.add(
                CorrectionRow(
                    message_sha256=sha, kind="other", reason=reason, entered_by="孙倩", entered_at=datetime.now(UTC)
                )
            )
        session.commit()
    assert deps.db.upgrade() is True
    with deps.db.session() as session:
        first, second = session.scalars(select(CorrectionRow).order_by(CorrectionRow.id))
        assert (first.revoked_by, second.revoked_at) == ("mailroom", None)
        assert "重复提交" in (first.revoke_reason or "") and first.revoked_at is not None


def test_corrections_and_senders_list_their_dates_in_local_time(office):
    """GIVEN a correction and a sender confirmation entered at 20:00 UTC (04:00 the next day in Shanghai) WHEN
    listed THEN both say the local day, as `show` says it."""
    deps, report = office.deps, office.ids.report
    late = datetime(2020, 4, 20, 20, 0, tzinfo=UTC)
    with deps.db.session() as session:
        row = add_correction(session, report, "误发的草稿", "孙倩", kind="other")
        sender = add_sender(session, "景县", PERSONAL, "电话核实", "孙倩", None, zone=UTC)
        row.entered_at = sender.entered_at = late
        session.commit()
    assert "（2020-04-21 孙倩：误发的草稿）" in cli(office, "corrections").output
    assert f"{PERSONAL}：2020-04-21 由 孙倩 确认" in cli(office, "senders", "景县").output


def test_a_report_corrected_to_a_briefing_counts_as_a_briefing_only(office):
    """GIVEN 桃城区's April report (its 附件4) WHEN staff correct it to a briefing THEN its form no longer counts in
    April's package (it counted there and as the month's article too: one mail counted twice); revoked, it does
    again."""
    deps, report = office.deps, office.ids.report

    def forms_counted() -> list[int]:
        with deps.db.session() as session:
            return sorted({a.form for a in load_evidence(session).arrivals if a.message_id == report})

    assert forms_counted() == [4]
    assert cli(office, "correct", str(report), "--kind", "briefing", "--reason", "其实是简报").exit_code == 0
    assert forms_counted() == []
    assert cli(office, "correct", "--revoke", "1", "--reason", "核实有误").exit_code == 0
    assert forms_counted() == [4]


def test_a_receipt_composed_after_a_unit_correction_greets_the_senders_own_unit(office):
    """GIVEN 桃城区's registered address's report corrected to 景县 before its receipt was composed WHEN the
    receipt goes THEN it greets 桃城区, whose address it goes to (it greeted 景县 at 桃城区's address), and says
    the mail counts as 景县's, by the correction."""
    deps = office.deps
    raw = _mail(
        "tcqcl@163.com", "hskf2006@126.com", "桃城区4月份报表", 11, ("devices-registry-merged-poor-header.xls",)
    )
    recognizer = replace(deps.recognizer, receipt_max_age=None)  # April 2020's mail is owed a receipt as new mail is
    [outcome] = ingest_batch(deps.db, deps.store, recognizer, [Incoming(raw, "kfb", "import")])
    report = outcome.id
    assert cli(office, "correct", str(report), "--unit", "景县", "--reason", "电话核实").exit_code == 0
    send_owed(office.config, office.deps, datetime.now(UTC))
    with office.deps.db.session() as session:
        raw = session.scalars(
            select(OutboxMail.raw).where(OutboxMail.about_message == report, OutboxMail.kind == "receipt")
        ).one()
    text = email.message_from_bytes(raw, policy=policy.default).get_body(("plain",)).get_content()
    assert text.startswith("桃城区残联：\n") and "报送单位更正为景县（电话核实）" in text, text
