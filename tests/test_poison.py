"""No input can stop, stall or swamp ingest: a workbook that kills its reader, a message the database
refuses, NUL bytes in headers, a 10 MB body or a 50 MB header line, and a few hundred fuzzed mails. Each
message is archived (raw, whole), the problem is recorded, and the next message goes on; on SQLite and
PostgreSQL, through the reader sandbox the daemon uses."""

from __future__ import annotations

import io
import logging
import multiprocessing
import os
import random
import signal
import struct
import zipfile
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from archive.attempts import CRASHED, derive_watched
from archive.ingest import Incoming, Intake, derive_here
from archive.models import DerivationAttempt, MailboxState, Message, OwedReply, Sighting
from archive.rederive import rederive
from archive.state import advance
from archive.store import sha256_hex
from archive.verify import recorded_files, verify
from bot.daemon.status import describe_status, gather_status
from bot.demo.folder import compose
from bot.services.decisions import rederive_report
from bot.services.sandbox import Sandbox, SandboxLimits
from parsers.copies import copy_key
from parsers.derive import BODY_CHARS, SUBJECT_CHARS
from tests.conftest import DATA

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICE = "hsclbgs666@163.com"
DIED = "读取程序异常终止或超时"


@pytest.fixture(scope="module")
def sandbox():
    # A smaller memory limit than the daemon's 2 GB: the looping reader hits it sooner.
    shared = Sandbox(SandboxLimits(memory_mb=768, seconds=60))
    yield shared
    shared.close()


@pytest.fixture
def intake(deps, sandbox) -> Intake:
    return Intake(deps.db, deps.store, deps.recognizer, sandbox.derive, sandbox.begin)


def registry_xls() -> bytes:
    """A small 附件6 registry as WPS saves it (.xls, BIFF8 in a compound file)."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Sheet1")
    sheet.write(0, 0, "枣强县残联5月份职业技能培训实名制登记表")
    for row in range(1, 20):
        sheet.write(row, 0, f"学员{row}")
        sheet.write(row, 1, row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def loop_directory_chain(data: bytes) -> bytes:
    """The compound file with its directory's FAT entry pointing at itself: calamine follows the chain for
    ever, allocating, until the process aborts (Rust cannot be caught from Python)."""
    patched = bytearray(data)
    sector = 1 << struct.unpack_from("<H", patched, 0x1E)[0]
    first_directory = struct.unpack_from("<I", patched, 0x30)[0]
    per_sector = sector // 4
    fat_sector = struct.unpack_from("<I", patched, 0x4C + 4 * (first_directory // per_sector))[0]
    offset = (fat_sector + 1) * sector + 4 * (first_directory % per_sector)
    struct.pack_into("<I", patched, offset, first_directory)
    return bytes(patched)


def package(subject: str, files: list[tuple[str, bytes]]) -> bytes:
    message = compose("zqxcl@163.com", OFFICE, subject, datetime(2020, 5, 18, 9, tzinfo=SHANGHAI), body="见附件")
    for name, data in files:
        message.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return message.as_bytes()


def zipped(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(name, data)
    return out.getvalue()


def stored(deps) -> list[Message]:
    from sqlalchemy.orm import selectinload

    with deps.db.session() as session:
        return list(
            session.scalars(
                select(Message)
                .order_by(Message.id)
                .options(selectinload(Message.readings), selectinload(Message.attachments))
            )
        )


def test_a_workbook_that_kills_its_reader_is_a_problem_on_that_attachment(deps, intake):
    """GIVEN a self-looping directory chain in an .xls, the same as a WPS .et and inside a .zip, each beside
    a good registry, and a good message in the same batch WHEN the batch is ingested
    THEN every message is archived; only the poisoned files carry "读取程序异常终止或超时"; the good
    registries are read; the mailbox's position moves past the batch."""
    good, bad = registry_xls(), loop_directory_chain(registry_xls())
    raws = [
        package("枣强县5月份报表（xls）", [("附件6.xls", bad), ("附件6副本.xls", good)]),
        package("枣强县5月份报表（et）", [("附件6.et", bad)]),
        package("枣强县5月份报表（zip）", [("报表.zip", zipped("附件6.xls", bad)), ("附件6.xls", good)]),
        package("枣强县5月份报表（好）", [("附件6.xls", good)]),
    ]
    outcomes = intake.batch(
        [
            Incoming(raw=raw, mailbox="bgs", source="imap", folder="INBOX", uidvalidity=1, uid=n)
            for n, raw in enumerate(raws, 1)
        ],
        in_same_commit=lambda session: advance(session, "bgs", "INBOX", 1, 4),
    )
    assert [outcome.new for outcome in outcomes] == [True] * 4
    messages = stored(deps)
    readings = {
        m.subject: [(r.source, r.readable, r.form, " ".join(p["message"] for p in r.problems)) for r in m.readings]
        for m in messages
    }
    died = {
        subject: [source for source, readable, _, problems in found if DIED in problems]
        for subject, found in readings.items()
    }
    assert died == {
        "枣强县5月份报表（xls）": ["附件6.xls"],
        "枣强县5月份报表（et）": ["附件6.et"],
        "枣强县5月份报表（zip）": ["报表.zip"],
        "枣强县5月份报表（好）": [],
    }
    good_reads = [(source, form) for found in readings.values() for source, readable, form, _ in found if readable]
    assert sorted(good_reads) == [("附件6.xls", 6), ("附件6.xls", 6), ("附件6副本.xls", 6)]
    with deps.db.session() as session:
        assert session.get(MailboxState, "bgs").last_uid == 4
    assert all(deps.store.read_message(m.sha256) == raw for m, raw in zip(messages, raws))


def test_a_reader_out_of_time_is_stopped_and_the_rest_goes_on(deps):
    """GIVEN a reader that would run for seconds (the looping workbook, with memory to spare) and a time
    limit of half a second WHEN the package is ingested THEN that reader is stopped: its attachment says
    so, the good one beside it is read, the message is archived."""
    hurried = Sandbox(SandboxLimits(memory_mb=8192, seconds=0.5))
    try:
        (outcome,) = Intake(deps.db, deps.store, deps.recognizer, hurried.derive).batch(
            [
                Incoming(
                    raw=package(
                        "枣强县5月份报表",
                        [("附件6.xls", loop_directory_chain(registry_xls())), ("附件6副本.xls", registry_xls())],
                    ),
                    mailbox="bgs",
                    source="import",
                )
            ]
        )
    finally:
        hurried.close()
    (message,) = stored(deps)
    assert outcome.new
    assert [(r.source, r.readable) for r in message.readings] == [("附件6.xls", False), ("附件6副本.xls", True)]
    assert "读取程序异常终止或超时（超时）" in message.readings[0].problems[0]["message"]


def test_nul_in_headers_and_body_is_stored_without_it_on_both_databases(deps, intake):
    """GIVEN a Subject, Message-ID, From name and body holding NUL bytes WHEN ingested with a good message
    THEN both are archived, the texts without NUL (PostgreSQL refuses it), the raw bytes whole."""
    poisoned = (
        b"From: =?utf-8?B?5p6j\x00?= <zqxcl@163.com>\r\nTo: hsclbgs666@163.com\r\n"
        b"Subject: \xe6\x9e\xa3\xe5\xbc\xba\xe5\x8e\xbf\x00\xe4\xb8\x93\xe9\xa1\xb9\xe4\xbf\xa1\xe6\x81\xaf\r\n"
        b"Message-ID: <nul\x00id@163.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbody\x00text\r\n"
    )
    good = package("枣强县5月份报表", [])
    outcomes = intake.batch([Incoming(raw=raw, mailbox="bgs", source="import") for raw in (poisoned, good)])
    assert [o.new for o in outcomes] == [True, True]
    first = stored(deps)[0]
    texts = [first.subject, first.message_id or "", first.from_name, first.body_text]
    assert not any("\x00" in text for text in texts)
    assert "body" in first.body_text and "text" in first.body_text
    assert deps.store.read_message(first.sha256) == poisoned


def test_a_message_the_database_refuses_is_kept_raw_and_the_batch_goes_on(deps, intake):
    """GIVEN a batch in which one message's rows make the commit fail WHEN it is ingested THEN the batch is
    stored message by message: the others whole, that one raw with what failed; the position moves on."""

    def refuse(_mapper, _connection, target) -> None:
        if "毒" in (target.subject or ""):
            raise IntegrityError("INSERT INTO message", {}, Exception("refused by the test's database rule"))

    event.listen(Message, "before_insert", refuse)
    try:
        raws = [package(f"枣强县5月份报表（{label}）", [("附件6.xls", registry_xls())]) for label in ("一", "毒", "三")]
        outcomes = intake.batch(
            [
                Incoming(raw=raw, mailbox="bgs", source="imap", folder="INBOX", uidvalidity=1, uid=n)
                for n, raw in enumerate(raws, 1)
            ],
            in_same_commit=lambda session: advance(session, "bgs", "INBOX", 1, 3),
        )
    finally:
        event.remove(Message, "before_insert", refuse)
    assert [o.new for o in outcomes] == [True, True, True]
    messages = stored(deps)
    assert [m.subject for m in messages] == ["枣强县5月份报表（一）", "", "枣强县5月份报表（三）"]
    assert [len(m.readings) for m in messages] == [1, 0, 1]
    assert "保存识别结果时出错" in messages[1].problems[0] and "refused by the test" in messages[1].problems[0]
    with deps.db.session() as session:
        assert session.get(MailboxState, "bgs").last_uid == 3


KILLS = b"X-Test-Kills-The-Process: yes\r\n"


def _kills_the_process(recognizer, items):
    """A deriver that takes its whole process down on a marked message, as a bug below Python or the OOM
    killer would: what no sandbox in the process itself can catch."""
    if any(item.raw.startswith(KILLS) for item in items):
        os.kill(os.getpid(), signal.SIGKILL)
    return derive_here(recognizer, items)


def _ingest_in_a_process(config, raws: list[bytes]) -> None:
    from bot.daemon.deps import open_deps

    deps = open_deps(config, sleep=lambda seconds: None, backoff=0.0)
    Intake(deps.db, deps.store, deps.recognizer, _kills_the_process).batch(
        [
            Incoming(raw=raw, mailbox="bgs", source="imap", folder="INBOX", uidvalidity=1, uid=n)
            for n, raw in enumerate(raws, 1)
        ],
        in_same_commit=lambda session: advance(session, "bgs", "INBOX", 1, len(raws)),
    )
    deps.close()


def test_a_message_that_kills_the_process_is_archived_raw_on_a_later_start(config, deps):
    """GIVEN a batch of four in which one message kills the process deriving it WHEN the batch is ingested
    and, as a supervisor would, started again after each death THEN the first restart derives the batch's
    messages one by one (an interrupted batch loses nothing), the second stores the killer raw with a
    problem and the other three whole, and the mailbox's position moves past all four."""
    good = [package(f"枣强县5月份报表（{n}）", [("附件6.xls", registry_xls())]) for n in (1, 2, 3)]
    raws = [good[0], KILLS + package("枣强县5月份报表（致命）", []), good[1], good[2]]
    spawn = multiprocessing.get_context("spawn")
    exits = []
    for _ in range(3):
        child = spawn.Process(target=_ingest_in_a_process, args=(config, raws))
        child.start()
        child.join(120)
        exits.append(child.exitcode)
    assert exits == [-signal.SIGKILL, -signal.SIGKILL, 0]
    messages = stored(deps)
    assert sorted(m.subject for m in messages) == ["", *(f"枣强县5月份报表（{n}）" for n in (1, 2, 3))]
    (killer,) = [m for m in messages if m.subject == ""]
    assert killer.problems == [CRASHED] and killer.kind == "other"
    assert deps.store.read_message(killer.sha256) == raws[1]
    assert all(len(m.readings) == 1 and m.readings[0].readable for m in messages if m is not killer)
    with deps.db.session() as session:
        assert session.get(MailboxState, "bgs").last_uid == 4
        # The killer stays written down: `rederive` does not derive it a third time either.
        assert set(session.scalars(select(DerivationAttempt.sha256))) == {killer.sha256}
        changes = rederive(
            Intake(deps.db, deps.store, deps.recognizer, _kills_the_process), session, [m.id for m in messages]
        )
    assert changes == [] and stored(deps)[1].problems == [CRASHED]


def test_the_log_names_a_message_given_up_as_show_takes_it(config, deps, caplog):
    """GIVEN a package given up (written down alone) WHEN it first comes THEN the log names it by its bytes (it
    has no id yet); WHEN the daemon derives it again THEN by its id, as `mailroom show` takes it, saying it is
    still set aside, not that the process died again (it did not: every start said so, alarming the operator)."""
    raw = package("枣强县5月份报表", [("附件6.xls", registry_xls())])
    with deps.db.session() as session:
        session.add(DerivationAttempt(sha256=sha256_hex(raw), alone=True, started_at=datetime.now(SHANGHAI)))
        session.commit()
    intake = Intake(deps.db, deps.store, deps.recognizer)
    with caplog.at_level(logging.WARNING, logger="archive.attempts"):
        intake.batch([Incoming(raw=raw, mailbox="bgs", source="import")])
        [message] = stored(deps)
        assert f"邮件 （SHA-256 {sha256_hex(raw)}） 单独识别时程序再次异常终止" in caplog.text
        caplog.clear()
        with deps.db.session() as session:
            rederive(intake, session, [message.id])
        assert f"邮件 #{message.id} 此前识别时程序两次异常终止，仍只保存原件" in caplog.text
        assert "再次异常终止" not in caplog.text and all(record.levelno == logging.WARNING for record in caplog.records)


def given_up(deps, raw: bytes) -> tuple[Intake, Message]:
    """A message whose derivation by itself was interrupted too (two kill -9s in a row: written down alone, never
    struck off), imported again: stored raw. The intake that stored it, and the message."""
    with deps.db.session() as session:
        session.add(DerivationAttempt(sha256=sha256_hex(raw), alone=True, started_at=datetime.now(SHANGHAI)))
        session.commit()
    intake = Intake(deps.db, deps.store, deps.recognizer)
    intake.batch([Incoming(raw=raw, mailbox="bgs", source="import")])
    [message] = stored(deps)
    return intake, message


def test_an_innocent_message_given_up_after_two_kills_is_derived_when_staff_ask(config, deps):
    """GIVEN a package whose derivation by itself was interrupted too (two kill -9s in a row: written down alone,
    never struck off) WHEN it comes again THEN it is stored raw with the problem saying how to retry, and the
    daemon's re-derivation keeps it so; WHEN staff ask for it (`rederive --all`, a correction: retry) THEN it is
    derived whole, counts as its package again, dated by its own headers (it was imported in 2020's May), and so
    owed no receipt, as on import (older than receipts_max_age_days); nothing is left written down."""
    intake, message = given_up(deps, package("枣强县5月份报表", [("附件6.xls", registry_xls())]))
    assert message.problems == [CRASHED] and "mailroom rederive --all" in CRASHED
    status = gather_status(config, deps)  # the operator is told, and how to retry
    assert status["given_up"] == 1 and any(
        line.startswith("有 1 封邮件只保存了原件，未识别，也未回执") and "mailroom rederive --all" in line
        for line in describe_status(status)
    )
    with deps.db.session() as session:
        assert rederive(intake, session, [message.id]) == []
        assert stored(deps)[0].problems == [CRASHED]
    report = rederive_report(config, intake, datetime.now(SHANGHAI), [message.id], everything=False, dry_run=False)
    [change] = report["messages_changed"]  # as a correction of it asks for it
    assert (change["before"]["kind"], change["after"]["kind"], change["after"]["unit"]) == ("other", "report", "枣强县")
    with deps.db.session() as session:
        assert session.scalar(select(func.count()).select_from(DerivationAttempt)) == 0
    [message] = stored(deps)
    assert message.problems == [] and [r.readable for r in message.readings] == [True]
    with deps.db.session() as session:
        owed = session.scalars(select(OwedReply.cause).where(OwedReply.message_id == message.id)).all()
    assert owed == [] and message.arrival == datetime(2020, 5, 18, 9, tzinfo=SHANGHAI)
    assert gather_status(config, deps)["given_up"] == 0


def test_a_message_read_at_last_is_owed_its_receipt_once(config, deps):
    """GIVEN a package sent today, given up after two kills and stored raw WHEN staff have it read again THEN it is
    owed the receipt its arrival owed it (a crash campaign found such mail counted and never answered); GIVEN it
    answered, then stored raw by a later re-derivation (its reader died) WHEN read again THEN it is not owed that
    receipt twice (the unique cause failed the re-derivation at every pass)."""
    today = compose("zqxcl@163.com", OFFICE, "枣强县5月份报表", datetime.now(SHANGHAI), body="见附件")
    today.add_attachment(registry_xls(), maintype="application", subtype="octet-stream", filename="附件6.xls")
    intake, message = given_up(deps, today.as_bytes())
    rederive_report(config, intake, datetime.now(SHANGHAI), [message.id], everything=False, dry_run=False)

    def owed() -> list[str]:
        with deps.db.session() as session:
            return list(session.scalars(select(OwedReply.cause).where(OwedReply.message_id == message.id)))

    assert owed() == [f"receipt:{message.id}"]
    with deps.db.session() as session:  # stored raw again, as a re-derivation whose reader died leaves it
        session.get(Message, message.id).from_addr = None
        session.get(Message, message.id).derived_with = None
        session.commit()
        rederive(intake, session, [message.id])
    assert owed() == [f"receipt:{message.id}"] and stored(deps)[0].from_addr == "zqxcl@163.com"


def test_a_retry_derives_a_batch_a_death_interrupted_one_by_one_still(deps):
    """GIVEN five messages written down as a batch a death interrupted (a `rederive --all` killed by one of them)
    and one given up WHEN staff ask for them again (retry) THEN each is derived by itself, as without retry: a
    message that does kill the process takes no batch along, and `--all` does not die at the same batch for ever."""
    shas = [f"{n:064x}" for n in range(6)]
    with deps.db.session() as session:
        now = datetime.now(SHANGHAI)
        session.add_all(DerivationAttempt(sha256=sha, alone=sha == shas[5], started_at=now) for sha in shas)
        session.commit()
    groups: list[int] = []
    derive_watched(deps.db, shas, shas, lambda group: groups.append(len(group)) or list(group), retry=True)
    assert groups == [1] * 6
    with deps.db.session() as session:
        assert session.scalar(select(func.count()).select_from(DerivationAttempt)) == 0


def test_a_batch_interrupted_once_is_derived_whole_on_the_restart(config, deps):
    """GIVEN a batch whose derivation was interrupted once (written down, never struck off: a kill -9)
    WHEN it comes again THEN every message is derived fully, none stored raw, nothing left written down."""
    raws = [package(f"枣强县5月份报表（{n}）", [("附件6.xls", registry_xls())]) for n in (1, 2)]
    with deps.db.session() as session:
        session.add_all(
            DerivationAttempt(sha256=sha256_hex(raw), alone=False, started_at=datetime.now(SHANGHAI)) for raw in raws
        )
        session.commit()
    Intake(deps.db, deps.store, deps.recognizer).batch(
        [Incoming(raw=raw, mailbox="bgs", source="import") for raw in raws]
    )
    assert [(m.subject, [r.readable for r in m.readings], m.problems) for m in stored(deps)] == [
        (f"枣强县5月份报表（{n}）", [True], []) for n in (1, 2)
    ]
    with deps.db.session() as session:
        assert session.scalar(select(func.count()).select_from(DerivationAttempt)) == 0


def test_an_interruption_is_not_a_death_and_leaves_nothing_written_down(deps, intake):
    """GIVEN Ctrl-C while a batch is derived, and a stream of batches whose reader stops after the first
    WHEN each ends THEN nothing stays written down (the messages are not suspects next time), and the
    stream's first batch is archived whole."""

    def interrupted(recognizer, items):
        raise KeyboardInterrupt

    raws = [package(f"枣强县5月份报表（{n}）", [("附件6.xls", registry_xls())]) for n in range(4)]
    with pytest.raises(KeyboardInterrupt):
        Intake(deps.db, deps.store, deps.recognizer, interrupted).batch(
            [Incoming(raw=raws[0], mailbox="bgs", source="import")]
        )
    batches = (((Incoming(raw=raw, mailbox="bgs", source="import"),), None, raw) for raw in raws)
    stream = intake.stream(batches)
    tag, first = next(stream)
    assert tag == raws[0]
    stream.close()  # the second batch was begun: it is given up
    assert [m.subject for m in stored(deps)] == [first[0].subject] == ["枣强县5月份报表（0）"]
    with deps.db.session() as session:
        assert session.scalar(select(func.count()).select_from(DerivationAttempt)) == 0


def test_the_readers_recognise_with_the_recognizer_each_batch_was_given(deps, sandbox):
    """GIVEN one package from a clerk's own address WHEN the same reader processes derive it under the
    configuration, then with staff having confirmed the address, then under the configuration again
    THEN each derivation used its own recognizer (they cross to the workers once, as files)."""
    item = Incoming(
        raw=package("枣强县5月份报表", []).replace(b"zqxcl@163.com", b"clerk@qq.com"), mailbox="bgs", source="import"
    )
    confirmed = replace(deps.recognizer, confirmed=(("枣强县", "clerk@qq.com", None),))
    registered = [
        sandbox.derive(recognizer, [item])[0].recognition.registered
        for recognizer in (deps.recognizer, confirmed, deps.recognizer)
    ]
    assert registered == [False, True, False]


def test_huge_texts_are_bounded_and_the_raw_kept_whole(deps, intake):
    """GIVEN a 10 MB body and a 50 MB Subject line WHEN ingested THEN both are archived, the stored body
    and subject cut to what is shown and indexed (saying so), the raw bytes whole."""
    body = ("这是一段很长的正文。" * 350_000).encode()[: 10 * 1024 * 1024 - 3000]
    long_body = (
        b"From: zqxcl@163.com\r\nTo: hsclbgs666@163.com\r\nSubject: long body\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + body
    )
    long_subject = (
        b"From: zqxcl@163.com\r\nTo: hsclbgs666@163.com\r\nSubject: "
        + "枣强县".encode() * 5_825_000
        + b"\r\nMessage-ID: <after-the-long-line@163.com>\r\n\r\nhello\r\n"
    )
    intake.batch([Incoming(raw=raw, mailbox="bgs", source="import") for raw in (long_body, long_subject)])
    first, second = stored(deps)
    assert len(first.body_text) == BODY_CHARS and "正文过长" in " ".join(first.problems)
    assert len(second.subject) <= SUBJECT_CHARS and second.subject.startswith("枣强县枣强县")
    assert second.message_id == "<after-the-long-line@163.com>"  # fields after the long one still parsed
    assert "邮件头中有字段过长" in " ".join(second.problems)
    assert deps.store.read_message(second.sha256) == long_subject


def mutants(seed: int, count: int) -> list[bytes]:
    """Seeded mutants of the sample mail: bytes flipped, NULs and 8-bit junk inserted, lines dropped or
    repeated, boundaries broken, messages cut short."""
    rng = random.Random(seed)
    samples = [path.read_bytes() for path in sorted((DATA / "mail").glob("*.eml"))]
    made = []
    for _ in range(count):
        raw = bytearray(rng.choice(samples))
        for _ in range(rng.randint(1, 6)):
            where = rng.randrange(len(raw))
            action = rng.randrange(6)
            if action == 0:
                raw[where] = rng.randrange(256)
            elif action == 1:
                raw[where:where] = rng.choice([b"\x00", b"\xff\xfe", b"\r\n", b"--", b"=?", b"?="]) * rng.randint(1, 50)
            elif action == 2:
                end = raw.find(b"\n", where)
                del raw[where : end if end > 0 else where + 1]
            elif action == 3:
                end = raw.find(b"\n", where)
                raw[where:where] = raw[where : end if end > 0 else where + 80] * rng.randint(2, 20)
            elif action == 4:
                raw = raw.replace(b"boundary", b"boundarx", 1)
            else:
                raw = raw[: max(1, where)]
        made.append(bytes(raw))
    return made


def test_a_few_hundred_fuzzed_mails_lose_nothing(deps, intake, caplog):
    """GIVEN 300 seeded mutants of tests/data/mail WHEN ingested in batches THEN every distinct one is
    archived once, byte for byte (a mutant that differs from another only where a server writes, in trace
    headers or line endings, as a copy of that message: parsers.copies), no traceback is logged, and
    `verify` finds nothing wrong."""
    raws = mutants(2026, 300)
    for start in range(0, len(raws), 25):
        intake.batch([Incoming(raw=raw, mailbox="bgs", source="import") for raw in raws[start : start + 25]])
    with deps.db.session() as session:
        count = session.scalar(select(func.count()).select_from(Message))
        kept = {*session.scalars(select(Message.sha256)), *session.scalars(select(Sighting.sha256))} - {None}
    assert kept == {sha256_hex(raw) for raw in raws}
    assert all(deps.store.read_message(sha) in raws for sha in kept)
    assert count == len({copy_key(raw) or sha256_hex(raw) for raw in raws})
    assert not [record for record in caplog.records if record.exc_info]
    with deps.db.session() as session:
        report = verify(recorded_files(session, deps.store), deps.store)
    assert report.findings == [] and report.checked >= count


def test_a_forked_reader_answers_and_one_that_dies_runs_out_or_overruns_is_told_and_gone():
    """GIVEN the one-call reader `mailroom inspect` forks (768 MB, 1 s) WHEN the call answers THEN its answer
    comes back; WHEN it aborts (as calamine does), exceeds its memory or its time THEN the caller is told
    which, and no child is left behind."""
    from concurrent.futures import TimeoutError as FutureTimeout

    from bot.services.readers import Forked, ReaderDied, why

    others = set(multiprocessing.active_children())  # other tests' reader pools
    forked = Forked(SandboxLimits(memory_mb=768, seconds=1))
    assert forked.run(sorted, "残联") == ["残", "联"]
    with pytest.raises(ReaderDied) as aborted:
        forked.run(os.abort)
    assert aborted.value.exitcode == -signal.SIGABRT and why(aborted.value) == f"进程退出码 {-signal.SIGABRT}"
    with pytest.raises(ReaderDied):  # a MemoryError in the child: it ends without an answer
        forked.run(bytearray, 1 << 30)
    with pytest.raises(FutureTimeout) as late:
        forked.run(signal.pause)
    assert why(late.value) == "超时"
    assert set(multiprocessing.active_children()) <= others


def test_an_xls_whose_dimensions_claim_billions_of_cells_is_refused_before_calamine_opens_it():
    """GIVEN a registry .xls whose DIMENSIONS record says its sheet reaches row 4,294,967,295 (calamine sizes
    a sheet by it, and builds every sheet as it opens the file: it would abort the process) WHEN read THEN
    the file is refused in Chinese, saying what to delete, without calamine; the same file as saved reads."""
    from parsers.workbook import read_attachment

    saved = registry_xls()
    at = saved.index(b"\x00\x02\x0e\x00")  # DIMENSIONS, 14 bytes: rows first, last-plus-one; columns
    claiming = saved[: at + 8] + struct.pack("<I", 0xFFFFFFFF) + saved[at + 12 :]
    [refused] = read_attachment("附件6.xls", claiming, [])
    assert not refused.readable and refused.problems[0].code == "too-many-rows"
    assert "内容范围过大" in refused.problems[0].message and "删除多余的行列" in refused.problems[0].message
    [read] = read_attachment("附件6.xls", saved, [])
    assert read.readable and read.form == 6


class _Shipped:  # what a sandbox ships to its workers (a recognizer, in use): anything that pickles
    pass


def test_a_readers_folder_a_killed_process_left_is_removed_by_the_next_one_and_a_living_ones_is_kept(
    tmp_path, monkeypatch
):
    """GIVEN a process whose reader sandbox wrote its folder (the recognizer its workers read) into the temporary
    folder, then killed with SIGKILL (an OOM kill, a crash loop under systemd: a soak run left one such folder per
    kill, for good) WHEN the next process's sandbox writes its own THEN the dead one's is gone; a living
    process's (pid 1's) and this one's are kept."""
    import subprocess
    import sys
    import tempfile

    from bot.services.sandbox import FOLDER_PREFIX

    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time\nfrom bot.services.sandbox import Sandbox\nfrom tests.test_poison import _Shipped\n"
            "sandbox, shipped = Sandbox(), _Shipped()\nsandbox._ship(shipped)\n"
            "print('shipped', flush=True)\ntime.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert child.stdout is not None and child.stdout.readline() == "shipped\n"
    child.send_signal(signal.SIGKILL)
    child.wait()
    [left] = tmp_path.glob(f"{FOLDER_PREFIX}{child.pid}-*")
    living = tmp_path / f"{FOLDER_PREFIX}1-kept"
    living.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    sandbox, shipped = Sandbox(), _Shipped()
    try:
        sandbox._ship(shipped)
        assert not left.exists() and living.exists()
        [own] = tmp_path.glob(f"{FOLDER_PREFIX}{os.getpid()}-*")
    finally:
        sandbox.close()
    assert not own.exists()
