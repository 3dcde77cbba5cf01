"""A sender staff confirm is one plain address (local@domain, a dot in the domain), or it is refused: a
confirmation is matched against each message's From address, so any other text would be recorded as
confirmed and then never match. `mailroom sender add` says so in one line with exit 2 and records nothing;
add_sender itself refuses the same way, for any other caller, as it refuses a blank reason or name (remove_sender
too); of two confirming one address at once, one is recorded. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from archive.entries import add_entry, revoke_entry
from archive.models import StaffEntryRow, StaffSenderRow
from archive.staff_senders import add_sender, plain_address, remove_sender, staff_senders
from bot.cli.group import main
from parsers.errors import InputError, MailroomError
from tests.test_corrections_integrity import at_once, one_recorded

REFUSED = [
    "notanemail",
    "jx.clerk",
    "jx@localhost",  # no dot in the domain
    "景县 <jx@163.com>",
    "<jx@163.com>",
    '"景县" jx@163.com',
    "jx @163.com",
    "jx@163.com, zq@163.com",
    "jx@163.com;",
    "jx(办公室)@163.com",
    "jx@@163.com",
    "@163.com",
    "jx@",
    "jx@.com",
    "jx@163..com",
    "jx@[10.0.0.1]",
    "jx@163.com\r\nBcc: x@y.com",
    "",
]


@pytest.fixture
def run(tmp_path, database_url):
    """`mailroom sender …` on the demo config (mail to a folder) over the test's database."""
    from bot.demo.folder import demo_config_text
    from tests.conftest import ROOT

    path = tmp_path / "config.toml"
    example = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    path.write_text(
        demo_config_text(example).replace('url = "sqlite:///mailroom.db"', f'url = "{database_url}"'), encoding="utf-8"
    )
    return lambda *args: CliRunner().invoke(main, ["--config", str(path), *args], prog_name="mailroom")


@pytest.mark.parametrize("text", REFUSED)
def test_anything_but_one_plain_address_is_refused(text):
    with pytest.raises(InputError) as raised:
        plain_address(text)
    assert str(raised.value) == (
        f"{text.strip()!r} 不是一个邮箱地址：只写地址本身，形如 jxcl2020@163.com"
        "（不带姓名、尖括号或空格，域名中要有“.”）"
    )


@pytest.mark.parametrize(
    "text, address",
    [
        ("jx.clerk@qq.com", "jx.clerk@qq.com"),
        ("  JX.Clerk@QQ.com\n", "jx.clerk@qq.com"),
        ("first.last+tag@mail.hs.gov.cn", "first.last+tag@mail.hs.gov.cn"),
    ],
)
def test_a_plain_address_is_kept_in_lower_case(text, address):
    assert plain_address(text) == address


def test_the_command_refuses_a_non_address_in_one_line_with_exit_2_and_records_nothing(run, config, deps):
    result = run("sender", "add", "景县", "notanemail", "--reason", "x", "--by", "孙倩")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.strip().splitlines() == [
        "用法错误 (usage error): 参数 ADDRESS 的值不对：'notanemail' 不是一个邮箱地址：只写地址本身，"
        "形如 jxcl2020@163.com（不带姓名、尖括号或空格，域名中要有“.”）（用法见 mailroom sender add --help）"
    ]
    named = run("sender", "add", "景县", "景县 <jx.clerk@qq.com>", "--reason", "x", "--by", "孙倩")
    assert named.exit_code == 2 and "'景县 <jx.clerk@qq.com>' 不是一个邮箱地址" in named.stderr
    with deps.db.session() as session:
        assert staff_senders(session) == []


def test_the_command_confirms_a_plain_address(run, config, deps):
    result = run("sender", "add", "景县", "JX.Clerk@QQ.com", "--reason", "电话核实", "--by", "孙倩")
    assert result.exit_code == 0, result.output
    assert "已确认 jx.clerk@qq.com 为 景县 的报送邮箱（#1）" in result.stdout
    with deps.db.session() as session:
        assert [(row.unit, row.address) for row in staff_senders(session)] == [("景县", "jx.clerk@qq.com")]


def test_add_sender_refuses_as_the_command_does(config, deps):
    """The one check, in the archive: whatever calls add_sender (a page one day) is refused the same way."""
    with deps.db.session() as session:
        with pytest.raises(InputError, match="'notanemail' 不是一个邮箱地址"):
            add_sender(session, "景县", "notanemail", "x", "孙倩", None, zone=UTC)
        session.rollback()
        assert staff_senders(session) == []


def test_a_non_address_recorded_before_the_check_can_still_be_revoked(config, deps):
    """A confirmation of any text made before the check existed is not stranded: remove takes it as typed."""
    with deps.db.session() as session:
        session.add(
            StaffSenderRow(
                unit="景县", address="notanemail", reason="x", entered_by="孙倩", entered_at=datetime.now(UTC)
            )
        )
        session.commit()
        row = remove_sender(session, "景县", "notanemail", "不是邮箱", "孙倩")
        session.commit()
        assert row.revoked_at is not None


def test_add_sender_refuses_one_of_our_own_mailboxes(config, deps):
    """GIVEN one of our department mailboxes (what staff forward a unit's mail from) WHEN confirmed as a unit's,
    in any case THEN refused, saying why, and nothing is recorded; another address is confirmed as before."""
    own = config.own_addresses
    with deps.db.session() as session:
        with pytest.raises(
            MailroomError, match="hsclbgs666@163.com 是我们自己的部门邮箱（配置中的邮箱），不能确认为 景县"
        ):
            add_sender(session, "景县", "HSCLbgs666@163.com", "x", "孙倩", None, own=own, zone=UTC)
        session.rollback()
        assert staff_senders(session) == []
        add_sender(session, "景县", "jx.clerk@qq.com", "电话核实", "孙倩", None, own=own, zone=UTC)
        session.commit()
        assert [(row.unit, row.address) for row in staff_senders(session)] == [("景县", "jx.clerk@qq.com")]


def test_the_command_refuses_one_of_our_own_mailboxes(run, config, deps):
    """GIVEN the department mailbox 康复部 polls (what staff forward from) WHEN `sender add` confirms it as 景县's
    THEN refused, saying why, and nothing is recorded."""
    result = run("sender", "add", "景县", "HSKF2006@126.com", "--reason", "x", "--by", "孙倩")
    assert result.exit_code != 0 and "hskf2006@126.com 是我们自己的部门邮箱" in result.stderr
    with deps.db.session() as session:
        assert staff_senders(session) == []


@pytest.mark.parametrize(
    ("unit", "said"),
    [
        ("景县", "jxcl2020@163.com 已是配置中 景县 的报送邮箱，无需确认"),
        ("桃城区", "jxcl2020@163.com 是配置中 景县 的报送邮箱，不能确认为 桃城区 的：一个地址只属于一个单位；"),
    ],
    ids=["its-own", "another-units"],
)
def test_the_command_refuses_an_address_the_configuration_registers(run, deps, unit, said):
    """GIVEN 景县's configured address WHEN `sender add` confirms it (in another case) for 景县 or for 桃城区 THEN
    refused, saying why, and nothing recorded (both were accepted: the first re-derived 83 messages for nothing,
    the second recorded an address for two units, which the configuration itself refuses)."""
    result = run("sender", "add", unit, "JXCL2020@163.com", "--reason", "x", "--by", "孙倩")
    assert result.exit_code == 1 and said in result.stderr
    with deps.db.session() as session:
        assert staff_senders(session) == []


def test_two_confirmations_of_one_address_at_once_record_one(config, deps):
    """GIVEN nobody's confirmation of jx.clerk@qq.com WHEN two staff confirm it at the same moment (two `sender
    add`, a double-clicked button), each having checked before either records THEN one is recorded, the other
    told it is confirmed already; the same when the second names another unit."""
    for second_unit in ("景县", "枣强县"):
        address = f"clerk.{len(second_unit)}@qq.com"

        def confirm(unit: str, address: str = address) -> int:
            with deps.db.session() as session:
                row = add_sender(session, unit, address, "电话核实", "孙倩", None, zone=UTC)
                session.commit()
                return row.id

        results = at_once(deps, "staff_sender", lambda: confirm("景县"), lambda u=second_unit: confirm(u))
        recorded, refused = one_recorded(results)
        assert f"{address} 已于" in str(refused) and f"的报送邮箱（#{recorded}）" in str(refused)
        with deps.db.session() as session:
            assert [row.id for row in staff_senders(session) if row.address == address] == [recorded]


@pytest.mark.parametrize(
    "reason, by, said",
    [
        (" ", "孙倩", "请写明确认原因"),
        ("\u200b\n", "孙倩", "请写明确认原因"),
        ("长" * 501, "孙倩", "确认原因最多 500 字"),
        ("电话核实", " ", "请写明确认人"),
    ],
    ids=["blank", "unseen-only", "overlong", "no-name"],
)
def test_add_sender_refuses_a_blank_reason_or_name_at_every_door(config, deps, reason, by, said):
    """Whatever calls add_sender (the command, the queue page's button, a page one day) is refused by the one
    rule for a staff decision's reason and name (archive.entries.reason_on_record), and nothing is recorded."""
    with deps.db.session() as session:
        with pytest.raises(InputError, match=said):
            add_sender(session, "景县", "jx.clerk@qq.com", reason, by, None, zone=UTC)
        session.rollback()
        assert staff_senders(session) == []


@pytest.mark.parametrize(
    "reason, by, said", [("", "孙倩", "请写明撤销原因"), ("核实有误", "\t", "请写明撤销人")], ids=["blank", "no-name"]
)
def test_remove_sender_refuses_a_blank_reason_or_name(config, deps, reason, by, said):
    with deps.db.session() as session:
        add_sender(session, "景县", "jx.clerk@qq.com", "电话核实", "孙倩", None, zone=UTC)
        session.commit()
        with pytest.raises(InputError, match=said):
            remove_sender(session, "景县", "jx.clerk@qq.com", reason, by)
        session.rollback()
        assert [row.revoked_at for row in staff_senders(session)] == [None]


def test_what_was_done_already_is_dated_in_the_configured_time_zone(config, deps):
    """GIVEN a sender confirmed and an award revoked at 2020-06-30 20:00 UTC (07-01 04:00 in Beijing) WHEN staff do
    either again THEN the refusal dates it 2020-07-01, as the tables do (it said 2020-06-30, the UTC day)."""
    late = datetime(2020, 6, 30, 20, tzinfo=UTC)
    zone = config.timezone
    with deps.db.session() as session:
        add_sender(session, "景县", "jx.clerk@qq.com", "电话核实", "孙倩", None, zone=zone)
        entry = add_entry(session, "景县", "media", "city", date(2020, 6, 1), "衡水日报 6 月 1 日", "孙倩")
        revoke_entry(session, entry.id, "误登", "孙倩", zone=zone)
        session.execute(update(StaffSenderRow).values(entered_at=late))
        session.execute(update(StaffEntryRow).values(revoked_at=late))
        session.commit()
        with pytest.raises(MailroomError, match="jx.clerk@qq.com 已于 2020-07-01 由 孙倩 确认为 景县"):
            add_sender(session, "景县", "jx.clerk@qq.com", "电话核实", "孙倩", None, zone=zone)
        session.rollback()
        with pytest.raises(MailroomError, match=f"登记 #{entry.id} 已于 2020-07-01 被 孙倩 撤销"):
            revoke_entry(session, entry.id, "误登", "孙倩", zone=zone)


def test_an_awards_evidence_is_at_most_as_long_as_a_reason(deps):
    """GIVEN evidence of 501 characters (5,000 were kept, and the entries page grew 37,919 px wide) WHEN an award is
    entered THEN refused, saying the limit and what to write; 500 are kept."""
    with deps.db.session() as session:
        with pytest.raises(InputError, match="证据最多 500 字（现有 501 字）：写明出处即可"):
            add_entry(session, "景县", "media", "city", date(2020, 6, 1), "报" * 501, "孙倩")
        entry = add_entry(session, "景县", "media", "city", date(2020, 6, 1), "报" * 500, "孙倩")
        assert len(entry.evidence) == 500
