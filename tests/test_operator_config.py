"""What an operator reads when the configuration is wrong: one Chinese line on stderr that says where and what to
fix, exit 2 (README, Configuration and the exit codes of Commands). How mail goes out is never guessed (a folder
"sends" nothing while every report counted it as sent); a database URL, a TOML slip (a quote left open, a
full-width character from a Chinese input method, a file saved as GBK; a UTF-8 byte order mark is accepted) and
a sender address that is no address are each named with the key or line and the form to write."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from bot.cli.group import main
from bot.demo.folder import with_mailboxes
from tests.conftest import POSTGRES_URL, ROOT

EXAMPLE = (ROOT / "config.example.toml").read_text(encoding="utf-8")
FORMS = "sqlite:///路径（如 sqlite:///var/mailroom.db，相对于配置文件）或 postgresql+psycopg://用户@主机/库"
TRANSPORTS = '"smtp"（经邮件服务器发出）或 "folder"（只写入文件夹，不发出，用于演示和测试）'


def offline(tmp_path: Path) -> str:
    """The example config with Maildir mailboxes under `tmp_path` and mail written into `tmp_path/outbox`."""
    boxes = re.findall(r'\[\[mailbox\]\]\nkey = "(\w+)"\nname = "(\w+)"\naddress = "([^"]+)"', EXAMPLE)
    for key, _, _ in boxes:
        for sub in ("cur", "new", "tmp"):
            (tmp_path / "mail" / key / sub).mkdir(parents=True, exist_ok=True)
    text = with_mailboxes(
        EXAMPLE,
        [
            {"key": key, "name": name, "address": address, "source": "maildir", "path": f"mail/{key}"}
            for key, name, address in boxes
        ],
    )
    assert 'transport = "smtp"' in text and 'folder = "var/outbox"' in text
    return text.replace('transport = "smtp"', 'transport = "folder"').replace(
        'folder = "var/outbox"', 'folder = "outbox"'
    )


def mailroom(tmp_path: Path, config: str | bytes, *args: str, env: dict[str, str] | None = None):
    """`mailroom --config CONFIG ARGS` on this config text: (exit code, stdout, stderr lines)."""
    path = tmp_path / "config.toml"
    path.write_bytes(config.encode("utf-8") if isinstance(config, str) else config)
    environment = {"MAILROOM_DATABASE_URL": "", "MAILROOM_ARCHIVE_PATH": str(tmp_path / "archive"), **(env or {})}
    result = CliRunner(env=environment).invoke(main, ["--config", str(path), *args], prog_name="mailroom")
    return result.exit_code, result.stdout, result.stderr.strip().splitlines()


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


# --- how mail goes out -----------------------------------------------------------------------------------------


def test_a_config_without_smtp_sends_nothing_and_says_so(tmp_path):
    """GIVEN a config without [smtp] WHEN `poll --once` runs THEN it is refused, exit 2, naming both transports:
    before, it wrote every receipt into a local folder and said 发信：成功."""
    text = re.sub(r"\n\[smtp\]\n(?:[^\[\n][^\n]*\n|\n)*", "\n", offline(tmp_path))
    assert "[smtp]" not in text
    code, out, err = mailroom(tmp_path, text, "poll", "--once")
    assert (code, out, err) == (
        2,
        "",
        [f"配置错误 (config error): 缺少 [smtp]：发信方式须写明，在 [smtp] 中写 transport = {TRANSPORTS}"],
    )
    assert not (tmp_path / "var").exists() and not (tmp_path / "outbox").exists()


def test_an_smtp_section_without_transport_is_refused(tmp_path):
    text = re.sub(r'(?m)^transport = "folder".*\n', "", offline(tmp_path))
    assert "transport" not in text
    code, out, err = mailroom(tmp_path, text, "status")
    assert (code, out, err) == (
        2,
        "",
        [f"配置错误 (config error): 缺少 [smtp] transport：发信方式须写明，{TRANSPORTS}"],
    )
    # a misspelt transport is named as such, and no other [smtp] key is taken for one
    code, _, err = mailroom(tmp_path, offline(tmp_path).replace("transport =", "transprot ="), "status")
    assert (code, err) == (2, ["配置错误 (config error): 未知的配置项 smtp.transprot（是不是 smtp.transport？）"])


def test_status_says_mail_is_only_written_to_the_folder(tmp_path):
    code, out, err = mailroom(tmp_path, offline(tmp_path), "status")
    assert (code, err) == (0, [])
    assert (
        f'发信方式：只写入文件夹 {tmp_path / "outbox"}，不会发出（[smtp] transport = "folder"，用于演示和测试）；'
        '要真正发出，请改为 transport = "smtp" 并填写 [smtp] host、sender'
    ) in out.splitlines()
    code, out, _ = mailroom(tmp_path, offline(tmp_path), "status", "--json")
    assert code == 0 and '"transport": "folder"' in out


def test_the_example_and_the_demo_say_how_mail_goes_out():
    from bot.demo.folder import demo_config_text

    assert re.search(r'(?m)^transport = "smtp"', EXAMPLE)
    assert re.search(r'(?m)^transport = "folder"', demo_config_text(EXAMPLE))


# --- the database URL ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, problem",
    [
        ("sqlite//mailroom.db", "'sqlite//mailroom.db' 不是数据库地址"),
        (
            "sqlite://mailroom.db",
            "SQLite 的地址在 sqlite: 之后要写三个斜杠（绝对路径四个：sqlite:////srv/mailroom.db），"
            "而不是 'sqlite://mailroom.db'",
        ),
        (
            "postgres://mailroom:secret@db.example/mailroom",
            "PostgreSQL 的地址应以 postgresql+psycopg:// 开头，而不是 postgres://"
            "（'postgres://mailroom:***@db.example/mailroom'）",
        ),
        (
            "postgresql+psycopg2://mailroom@db.example/mailroom",
            "PostgreSQL 的地址应以 postgresql+psycopg:// 开头，而不是 postgresql+psycopg2://"
            "（'postgresql+psycopg2://mailroom@db.example/mailroom'）",
        ),
        (
            "postgresql+psycopg://mailroom@db.example:54x2/mailroom",
            "'postgresql+psycopg://mailroom@db.example:54x2/mailroom' 中的端口应为数字",
        ),
        (
            "mysql://mailroom@db.example/mailroom",
            "不支持 mysql 数据库，只支持 SQLite 和 PostgreSQL（'mysql://mailroom@db.example/mailroom'）",
        ),
    ],
    ids=["no-colon", "two-slashes", "postgres", "psycopg2", "port", "mysql"],
)
def test_a_database_url_written_wrong_names_the_key_and_the_forms(tmp_path, url, problem):
    """GIVEN a URL SQLAlchemy cannot open ("Could not parse SQLAlchemy URL", "Can't load plugin:
    sqlalchemy.dialects:postgres", exit 1, before) WHEN any command runs THEN exit 2, naming [database] url (or
    the environment variable it came from), what is wrong, and the two forms; a password never shown."""
    text = offline(tmp_path).replace('url = "sqlite:///var/mailroom.db"', f'url = "{url}"')
    code, out, err = mailroom(tmp_path, text, "status")
    assert (code, out, err) == (2, "", [f"配置错误 (config error): [database] url 写法不对：{problem}；应写作 {FORMS}"])
    code, out, err = mailroom(tmp_path, offline(tmp_path), "status", env={"MAILROOM_DATABASE_URL": url})
    assert (code, out, err) == (
        2,
        "",
        [f"配置错误 (config error): 环境变量 MAILROOM_DATABASE_URL 写法不对：{problem}；应写作 {FORMS}"],
    )


def test_a_database_url_the_configuration_did_not_check_is_a_config_error():
    from archive.db import Database
    from parsers.errors import ConfigError

    with pytest.raises(
        ConfigError, match=r"^数据库地址写法不对（\[database\] url 或 MAILROOM_DATABASE_URL）：'sqlite//x.db'"
    ):
        Database("sqlite//x.db")


def test_a_postgresql_schema_that_does_not_exist_says_to_create_it(tmp_path):
    """GIVEN a URL whose search_path names a schema not made yet WHEN a command opens the archive THEN the line
    says so and how to make it, instead of PostgreSQL's "no schema has been selected to create in"."""
    import psycopg

    plain = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        psycopg.connect(plain, connect_timeout=3).close()
    except psycopg.OperationalError as error:
        pytest.skip(f"PostgreSQL not reachable at {plain} ({error.__class__.__name__})")
    schema = f"t_missing_{uuid.uuid4().hex[:12]}"  # never created: nothing is made anywhere
    url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    code, out, err = mailroom(tmp_path, offline(tmp_path), "status", env={"MAILROOM_DATABASE_URL": url})
    assert (code, out, err) == (
        1,
        "",
        [
            f"错误 (error): 无法打开数据库 {url}：地址中 search_path 所指的模式（schema）{schema} 不存在，无处建表："
            f"请先在该数据库中创建它（CREATE SCHEMA {schema};），或改正地址中的 search_path"
        ],
    )


# --- TOML --------------------------------------------------------------------------------------------------------

WIDE = "：TOML 的数字、引号、等号、逗号、括号和空格须为半角字符（用英文输入法输入），请改为"
LEFT_OPEN = '的引号没有闭合：字符串要用一对英文引号括起来，写在同一行内，如 timezone = "Asia/Shanghai"'


@pytest.mark.parametrize(
    "old, new, where, problem",
    [
        ('timezone = "Asia/Shanghai"', 'timezone = "Asia/Shanghai', "timezone", LEFT_OPEN),
        ("year = 2020 ", 'year = "2020 ', "year = ", LEFT_OPEN),  # closed by a quote in its comment
        ("day = 20 ", "day = ２０ ", ("day = ", 7), f"有全角字符 ２（U+FF12）{WIDE}半角的 2"),
        ("day = 20 ", "day ＝ 20 ", ("day ＝", 5), f"有全角字符 ＝（U+FF1D）{WIDE}半角的 ="),
        ("day = 20 ", "day　= 20 ", ("day　=", 4), f"有全角空格（U+3000）{WIDE}半角空格"),
        ("required = [1, 2,", "required = [1，2,", ("required = ", 14), f"有全角字符 ，（U+FF0C）{WIDE}半角的 ,"),
        (
            'timezone = "Asia/Shanghai"',
            "timezone = “Asia/Shanghai”",
            ("timezone = “", 12),
            f'有中文标点 “（U+201C）{WIDE}半角的 "',
        ),
        (
            'path = "var/archive"',
            'path = "D:\\mailroom\\archive"',
            ('path = "D', 13),
            "：双引号字符串里的反斜杠 \\ 须写成 \\\\；路径也可改用单引号（'C:\\mailroom\\archive'）或正斜杠 /",
        ),
        (
            'name = "景县"',
            "name = 景县",
            ("name = 景县", 8),
            '的 景 不在引号里：文字要用英文双引号括起来，如 name = "景县"；若是注释，前面要加 #',
        ),
        (
            "day = 20 ",
            "day = 20 days ",
            ("day = 20 days", 10),
            "：一行只能写一项：值的后面只能是换行或 # 注释（Expected newline or end of document after a statement）",
        ),
        (
            "[deadline]",
            "[deadline",
            ("[deadline", 10),
            "：表名的后面缺少 ]：应写作 [表名]，如 [smtp]（Expected ']' at the end of a table declaration）",
        ),
        (
            "[[mailbox]]",
            "[[mailbox]",
            ("[[mailbox]", 10),
            "：表名的后面缺少 ]]：应写作 [[表名]]，如 [[mailbox]]（Expected ']]' at the end of an array declaration）",
        ),
    ],
    ids=[
        "quote",
        "quote-closed-later",
        "digits",
        "equals",
        "space",
        "comma",
        "curly-quote",
        "backslash",
        "bare-text",
        "trailing",
        "table-bracket",
        "array-bracket",
    ],
)
def test_a_toml_slip_names_its_line_and_cause_in_chinese(tmp_path, old, new, where, problem):
    """GIVEN a config.toml with one of an operator's usual slips (tomllib's words, before: "Illegal character
    '\\n' (at line 6, column 98)", "Invalid value (at line 16, column 7)") WHEN any command runs THEN one line,
    exit 2: the line (and column), the character, what to write instead."""
    text = offline(tmp_path)
    assert old in text
    text = text.replace(old, new, 1)
    needle, column = where if isinstance(where, tuple) else (where, None)
    at = f"第 {line_of(text, needle)} 行" + (f"第 {column} 列" if column else "")
    code, out, err = mailroom(tmp_path, text, "status")
    assert (code, out, err) == (2, "", [f"配置错误 (config error): 配置文件 {tmp_path / 'config.toml'} {at}{problem}"])


def test_a_table_header_left_open_is_said_so_when_the_table_is_written_before(tmp_path):
    """`[general` at the end of a file that has `[general]`: tomllib reads it as the table declared again, and the
    operator was told to remove a second [general] where the first line's ] was missing."""
    text = offline(tmp_path) + "\n[general\n"
    line = len(text.splitlines())
    code, out, err = mailroom(tmp_path, text, "status")
    assert (code, out) == (2, "")
    said = (
        f"配置文件 {tmp_path / 'config.toml'} 第 {line} 行第 9 列：表名的后面缺少 ]：应写作 [表名]，如 [smtp]；"
        "且同名的表前面已经写过一次，只能写一次（请与前面的合并）"
    )
    assert err == [f"配置错误 (config error): {said}"]


def test_a_byte_order_mark_is_accepted(tmp_path):
    """Windows Notepad saves UTF-8 with a byte order mark ("Invalid statement (at line 1, column 1)", before)."""
    code, out, err = mailroom(tmp_path, b"\xef\xbb\xbf" + offline(tmp_path).encode("utf-8"), "status")
    assert (code, err) == (0, []) and "待发邮件：0 封" in out


def test_a_file_not_saved_as_utf8_says_how_to_save_it(tmp_path):
    text = offline(tmp_path)
    path = tmp_path / "config.toml"
    code, _, err = mailroom(tmp_path, text.encode("gbk", errors="replace"), "status")
    first = next(n for n, line in enumerate(text.splitlines(), 1) if not line.isascii())
    assert (code, err) == (
        2,
        [
            f"配置错误 (config error): 配置文件 {path} 第 {first} 行不是 UTF-8 编码（可能以 GBK/ANSI 保存）："
            "请改用 UTF-8 编码保存（记事本：文件 → 另存为 → 编码选 UTF-8）"
        ],
    )
    code, _, err = mailroom(tmp_path, text.encode("utf-16"), "status")
    assert (code, err) == (
        2,
        [
            f"配置错误 (config error): 配置文件 {path} 是以 UTF-16（记事本的“Unicode”）保存的：请改用 UTF-8 编码保存"
            "（记事本：文件 → 另存为 → 编码选 UTF-8）"
        ],
    )


def test_toml_problems_without_a_chinese_cause_keep_tomllibs_words():
    from bot.config_toml import toml_problem

    assert (
        toml_problem("a = 1\n", "Something new (at line 1, column 3)") == "第 1 行第 3 列不是有效的 TOML：Something new"
    )
    assert toml_problem("a = [1,\n", "Unclosed array (at end of document)") == (
        "末尾：列表没有写完：各项之间用英文逗号 , 分隔，最后以 ] 结束（Unclosed array）"
    )
    assert toml_problem('a = 1\nb = "x', "Unterminated string (at end of document)") == f"第 2 行{LEFT_OPEN}"


# --- sender addresses --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written, why",
    [
        ("jxcl2020 163.com", "地址中有空格"),
        ("jxcl2020163.com", "缺少 @"),
        ("jxcl2020@163com", "@ 后面的域名中要有 .，如 163.com"),
        ("jxcl2020＠163.com", "有全角或中文字符 ＠，请改为半角的 @"),
        (
            "jxcl2020@163.com，jx@163.com",
            '一项只能写一个地址，多个地址请分开写，如 ["jxcl2020@163.com", "jx2021@163.com"]',
        ),
        ("景县 <jxcl2020@163.com>", "只写地址本身，不带姓名和尖括号"),
        ("jxcl2020@@163.com", "有 2 个 @"),
        ("@163.com", "@ 前后都要有内容"),
        ("jxcl2020@163.com.", "@ 后面的域名不能以 . 开头或结尾"),
    ],
    ids=["space", "no-at", "no-dot", "wide-at", "two", "display-name", "two-ats", "no-local-part", "trailing-dot"],
)
def test_a_sender_that_is_no_address_is_refused(tmp_path, written, why):
    """GIVEN unit 景县's senders holding something no From address can ever be (accepted before, so its mail
    silently went uncounted) WHEN any command runs THEN exit 2 naming unit[i].senders, the unit and the value."""
    text = offline(tmp_path).replace('"jxcl2020@163.com"', f'"{written}"')
    index = re.findall(r'(?m)^name = "([^"]+)"\naliases', text).index("景县")
    code, out, err = mailroom(tmp_path, text, "status")
    assert (code, out, err) == (
        2,
        "",
        [
            f"配置错误 (config error): unit[{index}].senders（景县）：{written!r} 不是邮箱地址：{why}；"
            "应形如 jxcl2020@163.com"
        ],
    )


def test_a_staff_address_that_is_no_address_is_refused(tmp_path):
    """GIVEN [smtp] staff holding something no mail can go to (accepted before: the digest's refusal came months
    later, as a 5xx) WHEN any command runs THEN exit 2 naming smtp.staff and the value."""
    text = offline(tmp_path).replace('staff = ["hsscljjb@163.com"]', 'staff = ["hsscljjb@163.com", "孙倩"]')
    assert mailroom(tmp_path, text, "status") == (
        2,
        "",
        ["配置错误 (config error): smtp.staff：'孙倩' 不是邮箱地址：缺少 @；应形如 jxcl2020@163.com"],
    )


def test_a_mailbox_or_smtp_sender_address_that_is_no_address_is_refused(tmp_path):
    """GIVEN a [[mailbox]] address or [smtp] sender that is no address WHEN any command runs THEN exit 2 naming it."""
    text = offline(tmp_path)
    box = re.search(r'\[\[mailbox\]\]\nkey = "(\w+)"\nname = "(\w+)"\naddress = "([^"]+)"', text)
    assert box is not None
    key, name, address = box.groups()
    wrong = text.replace(f'address = "{address}"', f'address = "{address.replace("@", " ")}"', 1)
    assert mailroom(tmp_path, wrong, "status")[2] == [
        f"配置错误 (config error): [[mailbox]] {key}（{name}）的 address：'{address.replace('@', ' ')}' 不是邮箱地址："
        "地址中有空格；应形如 jxcl2020@163.com"
    ]
    wrong = text.replace('sender = "hsscljjb@163.com"', 'sender = "hsscljjb"')
    assert mailroom(tmp_path, wrong, "status")[2] == [
        "配置错误 (config error): smtp.sender：'hsscljjb' 不是邮箱地址：缺少 @；应形如 jxcl2020@163.com"
    ]


def test_an_smtp_username_without_its_password_variable_is_refused(tmp_path):
    """GIVEN [smtp] username and no password_env (sending then failed saying "环境变量  未设置", its name blank)
    WHEN any command runs THEN exit 2 naming the key to write."""
    text = offline(tmp_path).replace('password_env = "MAILROOM_SMTP_PASSWORD"\n', "")
    text = text.replace('transport = "folder"', 'transport = "smtp"')
    assert mailroom(tmp_path, text, "status") == (
        2,
        "",
        [
            '配置错误 (config error): 缺少 smtp.password_env（transport = "smtp" 且设置了 username 时必填：'
            "写存放发信密码的环境变量名，如 MAILROOM_SMTP_PASSWORD）"
        ],
    )


def test_a_config_path_naming_a_folder_is_a_config_error(tmp_path):
    """GIVEN --config naming a folder (it was "错误 (error): …：这是一个文件夹", exit 1) THEN a config error, exit 2."""
    result = CliRunner().invoke(main, ["--config", str(tmp_path), "status"], prog_name="mailroom")
    assert (result.exit_code, result.stderr) == (
        2,
        f"配置错误 (config error): 配置文件 {tmp_path} 是一个文件夹："
        "--config 或 MAILROOM_CONFIG 应指向其中的配置文件\n",
    )


@pytest.mark.parametrize("text", ["", "\n  \n", "# 只有注释\n"])
def test_an_empty_config_file_is_said_to_be_empty(tmp_path, text):
    """GIVEN a config file holding no setting (it said 缺少 general.year, as if one key were missing) THEN exit 2
    saying so and where a complete one comes from."""
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(path), "status"], prog_name="mailroom")
    assert (result.exit_code, result.stderr) == (
        2,
        f"配置错误 (config error): 配置文件 {path} 中没有任何设置（可把 config.example.toml 复制为 {path} 再修改）\n",
    )


def test_a_config_without_its_plan_year_is_refused(tmp_path):
    """GIVEN [general] without year or years (it was taken for 2020, silently) WHEN any command runs THEN exit 2
    saying what to write."""
    text = re.sub(r"(?m)^year = 2020.*\n", "", offline(tmp_path))
    missing = "缺少 general.year：写这份计划的年度，如 year = 2021（多个年度写 years = [2020, 2021]）"
    assert mailroom(tmp_path, text, "status") == (2, "", [f"配置错误 (config error): {missing}"])


def test_status_says_when_no_plan_covers_today_or_after(tmp_path):
    """GIVEN the example's plan of 2020, years ago WHEN `status` runs THEN it says that no reminder and no digest
    will go out and what to write (it said only "下次 本年度计划内已无", read as "none left this year"); with this
    year's plan it says nothing of the kind."""
    text = offline(tmp_path)
    code, out, _ = mailroom(tmp_path, text, "status")
    month = f"{datetime.now(ZoneInfo('Asia/Shanghai')):%Y-%m}"
    outside = f"本月（{month}）及以后的月份不在任何年度计划内（计划覆盖 2020年4月至2020年12月）："
    what = "不会再发出催报提醒和月度排名通报；新的年度请在配置中写入"
    how = "（general.years 与该年的目标，见 README 的“A new year”）"
    assert code == 0 and outside + what + how in out.splitlines()
    code, out, _ = mailroom(tmp_path, re.sub(r"(?m)^year = 2020", f"year = {month[:4]}", text), "status")
    assert code == 0 and "不在任何年度计划内" not in out


def test_a_sender_with_spaces_around_or_capitals_is_the_plain_address(tmp_path):
    from bot.config import load_config

    path = tmp_path / "config.toml"
    path.write_text(offline(tmp_path).replace('"jxcl2020@163.com"', '" JXCL2020@163.com "'), encoding="utf-8")
    jing = next(unit for unit in load_config(path, environ={}).units if unit.name == "景县")
    assert jing.senders == ("jxcl2020@163.com",)
