"""`mailroom user add|passwd|set|remove|list`: accounts of the web app, passwords only ever hashed."""

import json

from click.testing import CliRunner
from sqlalchemy import select

from archive.db import Database
from archive.models import WebUser
from archive.users import authenticate
from bot.cli.group import main
from tests.conftest import ROOT


def run(env, *args, stdin: str | None = None):
    return CliRunner().invoke(main, ["--config", str(ROOT / "config.example.toml"), *args], env=env, input=stdin)


def environment(tmp_path, database_url):
    return {"MAILROOM_DATABASE_URL": database_url, "MAILROOM_ARCHIVE_PATH": str(tmp_path / "archive")}


def accounts(database_url) -> dict[str, WebUser]:
    db = Database(database_url)
    with db.session() as session:
        found = {user.name: user for user in session.scalars(select(WebUser))}
    db.dispose()
    return found


def test_add_list_passwd_remove(tmp_path, database_url):
    env = environment(tmp_path, database_url)
    added = run(env, "user", "add", "孙倩", "--role", "staff", "--password-stdin", stdin="correct horse\n")
    assert added.exit_code == 0, added.output
    assert "已创建账号 孙倩（工作人员，可见个人信息）" in added.output
    prompted = run(env, "user", "add", "audit1", "--role", "auditor", stdin="battery staple\nbattery staple\n")
    assert prompted.exit_code == 0 and "个人信息遮蔽" in prompted.output
    stored = accounts(database_url)
    assert stored["孙倩"].password_hash.startswith("scrypt:")
    assert "correct horse" not in stored["孙倩"].password_hash
    assert (stored["audit1"].role, stored["audit1"].personal) == ("auditor", False)
    listed = json.loads(run(env, "user", "list", "--json").stdout)
    assert [(row["name"], row["role"], row["personal"]) for row in listed] == [
        ("audit1", "auditor", False),
        ("孙倩", "staff", True),
    ]
    assert "password" not in json.dumps(listed).replace("password_changed_at", "")

    old_token = stored["audit1"].session_token
    changed = run(env, "user", "passwd", "audit1", "--password-stdin", stdin="new password 2\n")
    assert changed.exit_code == 0 and "原有登录已全部失效" in changed.output
    after = accounts(database_url)["audit1"]
    assert after.session_token != old_token
    db = Database(database_url)
    with db.session() as session:
        assert authenticate(session, "audit1", "new password 2") is not None
        assert authenticate(session, "audit1", "battery staple") is None
        assert authenticate(session, "nobody", "battery staple") is None
    db.dispose()

    assert run(env, "user", "remove", "audit1").exit_code == 0
    assert set(accounts(database_url)) == {"孙倩"}


def test_mistakes_are_refused_in_one_line(tmp_path, database_url):
    env = environment(tmp_path, database_url)
    assert run(env, "user", "add", "a", "--role", "staff", "--password-stdin", stdin="long enough\n").exit_code == 0
    twice = run(env, "user", "add", "a", "--role", "auditor", "--password-stdin", stdin="long enough\n")
    assert twice.exit_code == 1 and "账号 a 已存在" in twice.output
    short = run(env, "user", "add", "b", "--role", "auditor", "--password-stdin", stdin="short\n")
    assert short.exit_code == 2 and "密码至少 8 位" in short.output  # what was given is wrong
    assert run(env, "user", "add", "d", "--role", "admin", "--password-stdin", stdin="long enough\n").exit_code == 2
    unknown = run(env, "user", "passwd", "nobody", "--password-stdin", stdin="long enough\n")
    assert unknown.exit_code == 1 and "没有名为 nobody 的账号" in unknown.output
    assert run(env, "user", "remove", "nobody").exit_code == 1


def test_set_changes_the_role_or_the_grant_and_ends_the_sessions(tmp_path, database_url):
    env = environment(tmp_path, database_url)
    for name, role in (("孙倩", "staff"), ("audit1", "auditor")):
        assert run(env, "user", "add", name, "--role", role, "--password-stdin", stdin="long enough\n").exit_code == 0
    before = {name: account.session_token for name, account in accounts(database_url).items()}

    granted = run(env, "user", "set", "audit1", "--personal")
    assert granted.exit_code == 0, granted.output
    assert "已修改账号 audit1：审计人员，可见个人信息，原有登录已全部失效" in granted.output
    demoted = run(env, "user", "set", "孙倩", "--role", "auditor")
    assert (
        demoted.exit_code == 0 and "已修改账号 孙倩：审计人员，个人信息遮蔽" in demoted.output
    )  # masked unless granted
    after = accounts(database_url)
    assert (after["audit1"].role, after["audit1"].personal) == ("auditor", True)
    assert (after["孙倩"].role, after["孙倩"].personal) == ("auditor", False)
    assert all(after[name].session_token != before[name] for name in before)

    withdrawn = run(env, "user", "set", "audit1", "--no-personal")
    assert withdrawn.exit_code == 0 and accounts(database_url)["audit1"].personal is False
    promoted = run(env, "user", "set", "孙倩", "--role", "staff")
    assert promoted.exit_code == 0 and "已修改账号 孙倩：工作人员，可见个人信息" in promoted.output
    listed = json.loads(run(env, "user", "list", "--json").stdout)
    assert {row["name"]: (row["role"], row["personal"]) for row in listed} == {
        "audit1": ("auditor", False),
        "孙倩": ("staff", True),
    }


def test_set_without_a_change_keeps_the_sessions_and_mistakes_are_refused(tmp_path, database_url):
    env = environment(tmp_path, database_url)
    assert run(env, "user", "add", "a", "--role", "staff", "--password-stdin", stdin="long enough\n").exit_code == 0
    token = accounts(database_url)["a"].session_token
    same = run(env, "user", "set", "a", "--role", "staff", "--personal")
    assert same.exit_code == 0 and "账号 a 已是工作人员，可见个人信息，未作修改" in same.output
    assert accounts(database_url)["a"].session_token == token
    masked_staff = run(env, "user", "set", "a", "--no-personal")
    assert masked_staff.exit_code == 2 and "工作人员总是可见个人信息" in masked_staff.output
    nothing = run(env, "user", "set", "a")
    assert nothing.exit_code == 2 and "请给出 --role、--unit 或 --personal/--no-personal" in nothing.output
    assert run(env, "user", "set", "a", "--role", "admin").exit_code == 2
    unknown = run(env, "user", "set", "nobody", "--role", "auditor")
    assert unknown.exit_code == 1 and "没有名为 nobody 的账号" in unknown.output
    assert accounts(database_url)["a"].session_token == token  # nothing refused changed anything


def test_a_units_clerk_belongs_to_one_unit_named_by_name_or_alias(tmp_path, database_url):
    """GIVEN `user add 景县填报员 --role unit --unit 景州` (an alias) THEN the account is 景县's clerk; a unit
    role without a unit, a unit on another role, an unknown unit or --personal are refused; `user set` moves it
    to another unit or makes it staff (dropping the unit), ending its sessions."""
    env = environment(tmp_path, database_url)
    added = run(
        env, "user", "add", "景县填报员", "--role", "unit", "--unit", "景州", "--password-stdin", stdin="long enough\n"
    )
    assert added.exit_code == 0, added.output
    assert "已创建账号 景县填报员（填报单位 景县，仅可自查）" in added.output
    assert (accounts(database_url)["景县填报员"].unit, accounts(database_url)["景县填报员"].personal) == ("景县", False)
    listed = json.loads(run(env, "user", "list", "--json").stdout)
    assert [(row["role"], row["unit"]) for row in listed] == [("unit", "景县")]
    for args, code, words in [
        (("--role", "unit"), 2, "填报单位账号须用 --unit 指定单位"),  # the command line is wrong: exit 2
        (("--role", "auditor", "--unit", "景县"), 2, "只有填报单位账号（--role unit）属于一个单位"),
        (("--role", "unit", "--unit", "不存在县"), 2, "没有名为 不存在县 的单位"),
        (("--role", "unit", "--unit", "景县", "--personal"), 2, "--personal 对它无意义"),
    ]:
        refused = run(env, "user", "add", "x", *args, "--password-stdin", stdin="long enough\n")
        assert (refused.exit_code, words in refused.output) == (code, True), refused.output
    token = accounts(database_url)["景县填报员"].session_token
    moved = run(env, "user", "set", "景县填报员", "--unit", "桃城")
    assert moved.exit_code == 0 and "已修改账号 景县填报员：填报单位 桃城区，仅可自查" in moved.output
    assert accounts(database_url)["景县填报员"].session_token != token
    staff = run(env, "user", "set", "景县填报员", "--role", "staff")
    assert staff.exit_code == 0 and (
        accounts(database_url)["景县填报员"].unit,
        accounts(database_url)["景县填报员"].role,
    ) == (None, "staff")


def test_a_password_typed_twice_differently_is_asked_again_in_chinese(tmp_path, database_url):
    """GIVEN staff adding an account at the prompt WHEN the two typings differ THEN they are told so in Chinese
    and asked again; the account gets the password typed alike twice."""
    env = environment(tmp_path, database_url)
    added = run(
        env, "user", "add", "孙倩", "--role", "staff", stdin="first try 1\nfirst try 2\ncorrect horse\ncorrect horse\n"
    )
    assert added.exit_code == 0, added.output
    assert "两次输入的密码不一致，请重新输入" in added.stderr and "Error" not in added.output
    db = Database(database_url)
    with db.session() as session:
        assert authenticate(session, "孙倩", "correct horse") is not None
        assert authenticate(session, "孙倩", "first try 1") is None
    db.dispose()


def test_a_refusal_is_said_before_a_password_is_asked_for(tmp_path, database_url):
    """GIVEN `user add` with options it refuses, or `user passwd` of no such account WHEN run at a terminal THEN
    the refusal is said before the password prompt (it asked for the password twice first, then refused)."""
    env = environment(tmp_path, database_url)
    refused = run(env, "user", "add", "x", "--role", "unit")  # nothing typed: a prompt would end in 已中断
    assert refused.exit_code == 2 and "填报单位账号须用 --unit 指定单位" in refused.output
    assert "密码" not in refused.output.split("填报单位")[0]
    unknown = run(env, "user", "passwd", "nobody")
    assert unknown.exit_code == 1 and "没有名为 nobody 的账号" in unknown.output
    assert accounts(database_url) == {}
