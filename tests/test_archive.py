"""The archive: raw bytes first, each message stored once, every place it was seen kept (SQLite and PostgreSQL)."""

import json
import mailbox
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from archive.ingest import Incoming, ingest_batch
from archive.models import Attachment, Message, Sighting
from archive.store import sha256_hex
from bot.cli.group import main
from bot.daemon.importer import find_sources, import_sources
from bot.daemon.maildir import create_maildir
from bot.daemon.poll import poll_once
from bot.demo.folder import compose
from tests.conftest import ROOT

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICE = "hsclbgs666@163.com"
REHAB = "hskf2006@126.com"


def briefing(number: int = 1, sender: str = "zqxcl@163.com", to: str = OFFICE, **kw) -> bytes:
    arrival = kw.pop("arrival", datetime(2020, 5, 6, 9, number, tzinfo=SHANGHAI))
    return compose(sender, to, f"枣强县贫困残疾人服务工程专项信息（{number}）", arrival, **kw).as_bytes()


def count(deps, model) -> int:
    with deps.db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_a_message_is_stored_once_with_every_place_it_was_seen(deps):
    raw = briefing()
    first = ingest_batch(
        deps.db, deps.store, deps.recognizer, [Incoming(raw, "bgs", "imap", folder="INBOX", uidvalidity=7, uid=1)]
    )
    again = ingest_batch(
        deps.db,
        deps.store,
        deps.recognizer,
        [
            Incoming(raw, "kfb", "imap", folder="INBOX", uidvalidity=3, uid=9),
            Incoming(raw, "bgs", "import", origin="/backup/a.eml"),
        ],
    )
    assert first[0].new and not any(outcome.new for outcome in again)
    assert {outcome.id for outcome in first + again} == {first[0].id}
    assert count(deps, Message) == 1 and count(deps, Sighting) == 3
    assert deps.store.read_message(sha256_hex(raw)) == raw


def test_the_same_batch_twice_adds_nothing(deps):
    items = [Incoming(briefing(n), "bgs", "import", origin=f"/b/{n}.eml") for n in range(3)]
    ingest_batch(deps.db, deps.store, deps.recognizer, items)
    ingest_batch(deps.db, deps.store, deps.recognizer, items)
    assert count(deps, Message) == 3 and count(deps, Sighting) == 3


def test_raw_bytes_survive_a_failed_commit_and_the_retry_stores_them_once(deps):
    """GIVEN the database commit fails after the files are written WHEN the batch is retried
    THEN the message is stored once and its file is the one already written."""
    raw = briefing()

    def crash(session):
        raise RuntimeError("power cut")

    with pytest.raises(RuntimeError):
        ingest_batch(
            deps.db,
            deps.store,
            deps.recognizer,
            [Incoming(raw, "bgs", "imap", None, "INBOX", 1, 1)],
            in_same_commit=crash,
        )
    assert deps.store.message_path(sha256_hex(raw)).read_bytes() == raw
    assert count(deps, Message) == 0
    ingest_batch(deps.db, deps.store, deps.recognizer, [Incoming(raw, "bgs", "imap", None, "INBOX", 1, 1)])
    assert count(deps, Message) == 1


def test_message_fields_and_attachments_are_recorded(deps):
    message = compose(
        "tcqcl@163.com", REHAB, "桃城区4月份目标任务进展情况", datetime(2020, 4, 20, 23, 59, tzinfo=SHANGHAI)
    )
    message.add_attachment(b"PK\x03\x04fake", maintype="application", subtype="octet-stream", filename="附件3.xlsx")
    raw = message.as_bytes()
    [outcome] = ingest_batch(deps.db, deps.store, deps.recognizer, [Incoming(raw, None, "import", origin="x")])
    with deps.db.session() as session:
        row = session.get(Message, outcome.id)
        [attachment] = session.scalars(select(Attachment)).all()
    assert (row.unit, row.kind, row.month, row.registered, row.mailbox) == ("桃城区", "report", "2020-04", True, "kfb")
    assert row.arrival == datetime(2020, 4, 20, 15, 59, tzinfo=UTC) and row.arrival_trusted
    assert row.subject == "桃城区4月份目标任务进展情况" and row.from_addr == "tcqcl@163.com"
    assert attachment.filename == "附件3.xlsx" and attachment.size == len(b"PK\x03\x04fake")
    assert deps.store.read_file(attachment.sha256) == b"PK\x03\x04fake"


def test_arrival_falls_back_to_the_date_header_flagged_untrusted(deps):
    raw = briefing(arrival=None, sent=datetime(2020, 5, 31, 23, 30, tzinfo=SHANGHAI))
    [outcome] = ingest_batch(deps.db, deps.store, deps.recognizer, [Incoming(raw, "bgs", "import")])
    with deps.db.session() as session:
        row = session.get(Message, outcome.id)
    assert not row.arrival_trusted and row.month == "2020-05"
    assert any("Date 头" in problem for problem in row.problems)


def test_import_reads_eml_maildir_and_mbox_and_attributes_mailboxes(deps, tmp_path):
    one = briefing(1)
    (tmp_path / "one.eml").write_bytes(one)
    maildir = mailbox.Maildir(tmp_path / "md", create=True)
    maildir.add(briefing(2, to=REHAB))
    mbox = mailbox.mbox(tmp_path / "old.mbox", create=True)
    mbox.add(briefing(3, to="someone@else.cn", cc=OFFICE))
    mbox.add(one)  # the same message again
    mbox.flush()
    sources = find_sources([tmp_path / "one.eml", tmp_path / "md", tmp_path / "old.mbox"])
    outcomes = import_sources(deps, sources, None)
    assert [outcome.new for outcome in outcomes] == [True, True, True, False]
    with deps.db.session() as session:
        boxes = dict(session.execute(select(Message.subject, Message.mailbox)).all())
    assert boxes == {
        "枣强县贫困残疾人服务工程专项信息（1）": "bgs",
        "枣强县贫困残疾人服务工程专项信息（2）": "kfb",
        "枣强县贫困残疾人服务工程专项信息（3）": "bgs",
    }
    assert count(deps, Sighting) == 4


def test_import_with_mailbox_override(deps, tmp_path):
    (tmp_path / "a.eml").write_bytes(briefing(1, to="nobody@example.cn"))
    [outcome] = import_sources(deps, find_sources([tmp_path]), "jjb")
    with deps.db.session() as session:
        assert session.get(Message, outcome.id).mailbox == "jjb"


def test_maildir_poll_reads_new_mail_once(config, deps):
    office = config.mailbox("bgs")
    create_maildir(office.path)
    for number in range(3):
        (office.path / "new" / f"m{number}").write_bytes(briefing(number))
    first = poll_once(config, deps)
    second = poll_once(config, deps)
    assert sum(report.new for report in first.mailboxes) == 3
    assert sum(len(report.outcomes) for report in second.mailboxes) == 0
    assert sorted(p.name for p in (office.path / "cur").iterdir()) == ["m0:2,S", "m1:2,S", "m2:2,S"]


def test_a_mailbox_another_instance_is_polling_is_skipped(config, deps):
    """GIVEN another instance holds the office mailbox's lock (and the outbox's) WHEN this one polls
    THEN it leaves that mailbox and the outbox alone; once the lock is free it takes the mail."""
    office = config.mailbox("bgs")
    create_maildir(office.path)
    (office.path / "new" / "m0").write_bytes(briefing(0))
    with deps.exclusive("mailbox-bgs") as first, deps.exclusive("outbox") as outbox:
        assert first and outbox
        with deps.exclusive("mailbox-bgs") as second:
            assert second is False
        busy = poll_once(config, deps)
    report = next(box for box in busy.mailboxes if box.mailbox == "bgs")
    assert report.busy and report.outcomes == () and busy.outbox.busy
    assert count(deps, Message) == 0 and (office.path / "new" / "m0").exists()
    free = poll_once(config, deps)
    assert sum(box.new for box in free.mailboxes) == 1 and not free.outbox.busy


def test_cli_import_search_and_show(tmp_path, database_url):
    (tmp_path / "mail").mkdir()
    for number in range(3):
        (tmp_path / "mail" / f"{number}.eml").write_bytes(briefing(number))
    (tmp_path / "mail" / "x.eml").write_bytes(briefing(1, sender="stranger@qq.com"))
    env = {"MAILROOM_DATABASE_URL": database_url, "MAILROOM_ARCHIVE_PATH": str(tmp_path / "archive")}
    runner = CliRunner()
    args = ["--config", str(ROOT / "config.example.toml")]
    result = runner.invoke(main, [*args, "import", str(tmp_path / "mail")], env=env)
    assert result.exit_code == 0, result.output
    assert "新归档 4 封" in result.output
    found = json.loads(runner.invoke(main, [*args, "search", "专项信息", "--json", "--limit", "0"], env=env).stdout)
    assert len(found) == 4
    assert set(found[0]) >= {
        "id",
        "sha256",
        "mailbox",
        "arrival",
        "unit",
        "kind",
        "month",
        "sender",
        "registered",
        "subject",
    }
    assert found[0]["arrival"].endswith("+08:00")
    stranger = json.loads(
        runner.invoke(main, [*args, "search", "--sender", "stranger@qq.com", "--json"], env=env).stdout
    )
    assert [(row["unit"], row["registered"], row["kind"]) for row in stranger] == [("枣强县", False, "briefing")]
    limited = json.loads(
        runner.invoke(
            main,
            [*args, "search", "--unit", "枣强县", "--month", "2020-05", "--kind", "briefing", "--limit", "2", "--json"],
            env=env,
        ).stdout
    )
    assert len(limited) == 2
    shown = runner.invoke(main, [*args, "show", str(stranger[0]["id"])], env=env)
    assert "stranger@qq.com" in shown.output and "未登记" in shown.output
    missing = runner.invoke(main, [*args, "show", "999999"], env=env)
    assert missing.exit_code == 1 and "没有编号为 999999 的邮件" in missing.output


def test_init_creates_the_database_and_the_archive_folder(tmp_path, database_url):
    env = {"MAILROOM_DATABASE_URL": database_url, "MAILROOM_ARCHIVE_PATH": str(tmp_path / "store")}
    runner = CliRunner()
    result = runner.invoke(main, ["--config", str(ROOT / "config.example.toml"), "init"], env=env)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "store" / "messages").is_dir() and (tmp_path / "store" / "files").is_dir()
    again = runner.invoke(main, ["--config", str(ROOT / "config.example.toml"), "init"], env=env)
    assert again.exit_code == 0 and "数据库已就绪" in again.output


def test_persons_are_stored_alike_on_both_databases_without_what_no_column_may_hold(deps):
    """GIVEN a registry archived (its persons written by COPY on PostgreSQL, by one executemany on SQLite) and
    one person more written after it whose cells hold a NUL and a lone surrogate WHEN the rows are read back
    THEN every person of the registry is there with its fields whole, and the texts of the added one lack
    those characters, the same on both databases."""
    from archive.models import FormReadingRow, PersonRow
    from archive.readings import insert_persons
    from bot.demo.season import Spec, at, load_units, mails_of, registry_sheet, xlsx_bytes
    from parsers.forms import FormReading, Person

    units, boxes = load_units()
    when = at(6, 25, 10, 30)
    sheet = registry_sheet("桃城区", 3, 6, 5, when, 2020)
    spec = Spec(
        units["桃城区"].sender,
        boxes["kfb"],
        "桃城区6月份康复服务实名制登记表",
        when,
        "registry",
        (("附件3.xlsx", xlsx_bytes(sheet, when)),),
    )
    ingest_batch(
        deps.db, deps.store, deps.recognizer, [Incoming(m.raw, "kfb", "import", origin="r") for m in mails_of(spec)]
    )
    odd = Person(99, "Sheet1", (("name", "王\x00芳"), ("disability_id", "13110219850312001X\ud8004"), ("phone", "138")))
    with deps.db.session() as session:
        reading_id = session.scalar(select(FormReadingRow.id).where(FormReadingRow.form == 3))
        written = session.scalars(select(PersonRow).where(PersonRow.reading_id == reading_id)).all()
        assert len(written) == 5 and all(row.name and row.fields["name"] == row.name for row in written)
        reading = FormReading("附件3.xlsx", 3, "桃城区", "2020-06", 1, persons=(odd,))
        insert_persons(session, [(reading_id, reading)])
        session.commit()
        added = session.scalars(select(PersonRow).where(PersonRow.row == 99)).one()
        assert (added.name, added.disability_id, added.phone) == ("王芳", "13110219850312001X4", "138")
        assert added.fields["name"] == "王\x00芳" and added.unit == "桃城区" and added.month == "2020-06"
