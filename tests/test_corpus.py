"""Every odd and broken sample message is archived and either recognised or marked; none stops the run."""

from sqlalchemy import select

from archive.models import Message
from bot.daemon.importer import find_sources, import_sources
from tests.conftest import DATA

CORPUS = DATA / "mail"


def test_every_sample_is_archived_and_recognised_or_marked(deps):
    files = sorted(CORPUS.glob("*.eml"))
    assert len(files) >= 30
    outcomes = import_sources(deps, find_sources(files, force=True), None)  # broken on purpose, as if polled
    assert len(outcomes) == len(files)
    with deps.db.session() as session:
        rows = session.scalars(select(Message)).all()
    assert len(rows) == len({outcome.sha256 for outcome in outcomes})
    for row in rows:
        assert deps.store.read_message(row.sha256), row.subject
        placed = row.unit is not None and row.registered  # its unit known and its sender counted
        machine = row.kind in ("auto", "bounce")  # kept, never scored, never answered
        ours = row.from_addr in deps.recognizer.own_addresses  # our own receipts, copied back to us
        assert placed or machine or ours or row.problems, (row.subject, row.kind)


def test_recognition_of_telling_samples(deps):
    import_sources(deps, find_sources([CORPUS], force=True), None)
    with deps.db.session() as session:
        found = {
            row.subject: (row.unit, row.kind, row.month, row.registered, row.mailbox)
            for row in session.scalars(select(Message))
        }
    assert found["景 县贫困残疾人服务工程专项信息"][:2] == ("景县", "briefing")
    assert found["【冀州区】贫困残疾人服务工程专项信息（三）"][:2] == ("冀州区", "briefing")
    assert found["桃城区４月份目标任务进展情况"][:4] == ("桃城区", "report", "2020-04", True)
    assert found["回复：武邑县4月份目标任务进展情况"][1] == "reply"
    assert found["自动回复：关于报送4月份目标任务进展情况的提醒"][1] == "auto"
    assert found["冀州区4月份目标任务进展情况"][2] == "2020-04"  # sent in May, for April
    assert found["景县4月份目标任务进展情况"][:2] == ("景县", "report")
    assert found["景县4月份目标任务进展情况"][3] is False  # an unregistered qq.com address
    assert found["武邑县4月份目标任务进展情况"][4] == "kfb"  # addressed to 康复部
