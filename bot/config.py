"""The configuration: one frozen object built once at start-up from the TOML file and the environment."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config_keys import ReadTable, likely_typos, refuse_unknown, unknown_keys
from parsers.errors import ConfigError
from parsers.forms import TASK_LABELS
from parsers.recognize import normalize
from parsers.records import TASKS, Unit
from scoring.plans import Plan, Plans
from scoring.settings import INNOVATION_LEVELS, MEDIA_LEVELS, Calendar, Scoring

DEFAULT_CONFIG = "config.toml"
SOURCES = ("imap", "maildir")
SECURITY = ("tls", "starttls", "plain")
AFTER_ARCHIVE = ("none", "flag", "seen", "move")
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def secret(variable: str, owner: str) -> str:
    """A password, read from the environment when it is needed, so it never sits in the config object."""
    value = os.environ.get(variable)
    if value is None:
        raise ConfigError(f"{owner}：环境变量 {variable} 未设置")
    return value


@dataclass(frozen=True)
class Mailbox:
    """One department mailbox and where its mail is read from."""

    key: str
    name: str
    address: str
    source: str = "imap"
    host: str = ""
    port: int = 993
    security: str = "tls"
    username: str = ""
    password_env: str = ""
    folder: str = "INBOX"
    path: Path | None = None  # for source = "maildir"
    after_archive: str = "none"
    move_to: str = ""
    batch: int = 200
    ca_file: Path | None = None  # PEM certificates of the CA(s) to trust instead of the system's store

    @property
    def label(self) -> str:
        """How configuration errors name it: "[[mailbox]] bgs（办公室）"."""
        return mailbox_label(self.key, self.name, self.address)

    def password(self) -> str:
        return secret(self.password_env, self.label)


def mailbox_label(key: object, name: object = None, address: object = None, index: int | None = None) -> str:
    """A [[mailbox]] as the operator knows it, for configuration errors: by its key and name, "[[mailbox]]
    bgs（办公室）"; one without a usable key by its name and address, and only one with none of the three by its
    place in the file ("第 3 个 [[mailbox]]")."""
    known: list[str] = []
    for value in (key, name, address):
        if isinstance(value, str) and value.strip() and value.strip() not in known:
            known.append(value.strip())
    if not known:
        return "[[mailbox]]" if index is None else f"第 {index + 1} 个 [[mailbox]]"
    return f"[[mailbox]] {known[0]}" + (f"（{known[1]}）" if len(known) > 1 else "")


def field_of(label: str, name: str) -> str:
    """A key of a table named by its label: "[[mailbox]] bgs（办公室）的 host" ("bgs 的 host" after Latin)."""
    return f"{label}{' ' if label[-1:].isascii() else ''}的 {name}"


def _mailbox_prefix(entry: dict[str, Any], index: int) -> str:
    """What goes before a key of the `index`-th [[mailbox]] in a message (config_keys' labels)."""
    get = dict.get  # not ReadTable.get: naming a table does not read its keys
    return field_of(mailbox_label(get(entry, "key"), get(entry, "name"), get(entry, "address"), index), "")


@dataclass(frozen=True)
class Outgoing:
    """How mail goes out: SMTP, or (the embedded default's stand-in) .eml files in a folder."""

    transport: str = "folder"
    folder: Path = Path("var/outbox")
    host: str = ""
    port: int = 465
    security: str = "tls"
    username: str = ""
    password_env: str = ""
    sender: str = ""
    sender_name: str = ""
    staff: tuple[str, ...] = ()
    receipts_per_hour: int = 10
    receipts_max_age_days: int = 7
    timeout_seconds: float = 30.0  # connecting, and each answer of the server: a hung server never blocks
    sent_copy_mailbox: str = ""  # keep a copy of each sent mail in this department mailbox's IMAP …
    sent_copy_folder: str = ""  # … folder (IMAP APPEND); empty: no copy
    ca_file: Path | None = None  # PEM certificates of the CA(s) to trust instead of the system's store

    def password(self) -> str:
        return secret(self.password_env, "smtp")


@dataclass(frozen=True)
class Schedule:
    """When the daemon does what, in the config's time zone."""

    poll_minutes: float = 5  # a full poll of each mailbox; with IMAP IDLE, new mail is fetched at once anyway
    digest_day: int = 21
    digest_time: time = time(9, 0)
    reminder_day: int = 17
    reminder_time: time = time(9, 0)


@dataclass(frozen=True)
class Web:
    """`mailroom web`: where it listens, and whether a TLS reverse proxy stands in front of it."""

    host: str = "127.0.0.1"
    port: int = 8080
    behind_proxy: bool = False  # trust one hop of X-Forwarded-For/Proto/Host; session cookie over HTTPS only
    session_hours: int = 12  # a login lasts this long at most


@dataclass(frozen=True)
class Config:
    """`units` are every unit of every plan year, as recognition knows them (names, aliases, senders; no
    targets); `plans` hold each year's calendar, rules and units with that year's targets."""

    path: Path
    database_url: str
    archive_path: Path
    timezone: ZoneInfo
    plans: Plans
    mailboxes: tuple[Mailbox, ...]
    units: tuple[Unit, ...]
    outgoing: Outgoing = Outgoing()
    schedule: Schedule = Schedule()
    web: Web = Web()
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    def plan(self, month: str) -> Plan:
        """The plan `month` is scored under; a month no plan covers is refused (OutsidePlan)."""
        return self.plans.of(month)

    def mailbox(self, key: str) -> Mailbox:
        for box in self.mailboxes:
            if key in (box.key, box.name, box.address):
                return box
        raise ConfigError(f"没有名为 {key!r} 的邮箱；已配置的有：{'、'.join(b.key for b in self.mailboxes)}")

    @property
    def own_addresses(self) -> frozenset[str]:
        return frozenset(box.address.lower() for box in self.mailboxes)


def load_config(path: str | os.PathLike | None = None, environ: dict[str, str] | None = None) -> Config:
    """Read the file named by `path`, else MAILROOM_CONFIG, else ./config.toml; apply the overrides."""
    env = os.environ if environ is None else environ
    path = Path(path or env.get("MAILROOM_CONFIG") or DEFAULT_CONFIG)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"找不到配置文件 {path}（可把 config.example.toml 复制为 {path} 再修改）") from None
    return build_config(parse_toml(raw, path), path.resolve(), env)


def parse_toml(raw: bytes, path: Path) -> dict[str, Any]:
    """The file's tables. A UTF-8 byte order mark (Windows Notepad writes one) is harmless and dropped; any
    other mistake is one line naming where it is and what to fix, in the words of the usual slips: a quote
    left open, a full-width character typed with a Chinese input method, a file saved as GBK."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError(
            f"配置文件 {path} 是以 UTF-16（记事本的“Unicode”）保存的：请改用 UTF-8 编码保存"
            "（记事本：文件 → 另存为 → 编码选 UTF-8）"
        )
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise ConfigError(
            f"配置文件 {path} 第 {line} 行不是 UTF-8 编码（可能以 GBK/ANSI 保存）：请改用 UTF-8 编码保存"
            "（记事本：文件 → 另存为 → 编码选 UTF-8）"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"配置文件 {path} {toml_problem(text, str(error))}") from None


# tomllib says where ("Invalid value (at line 16, column 7)", "… (at end of document)"); Python 3.11's error
# carries it only in its text.
_TOML_AT = re.compile(r"^(?P<what>.*?) \((?:at line (?P<line>\d+), column (?P<column>\d+)|at end of document)\)$", re.S)
# What a string left open makes tomllib say: a single-line string reaching the line's end, or the file's.
_OPEN_STRING = ("Illegal character '\\n'", "Found invalid character '\\n'", "Unterminated string", "Expected \"'")
# Characters a Chinese input method types for TOML's own, beyond the full-width forms of ASCII (U+FF01–FF5E).
_CHINESE_PUNCTUATION = {
    "\u3000": " ",
    "“": '"',
    "”": '"',
    "‘": "'",
    "’": "'",
    "、": ",",
    "。": ".",
    "【": "[",
    "】": "]",
}
# tomllib's other messages in the operator's words; its own text follows in brackets.
_TOML_SAYS = {
    "Invalid value": '值的写法不对：文字要用英文双引号括起来（如 "景县"），数字和 true、false 不加引号',
    "Invalid statement": "这一行应是 键 = 值，或 [表名]、[[表名]]",
    "Expected '=' after a key in a key/value pair": "键的后面应是等号 =",
    "Expected newline or end of document after a statement": "一行只能写一项：值的后面只能是换行或 # 注释",
    "Unclosed array": "列表没有写完：各项之间用英文逗号 , 分隔，最后以 ] 结束",
    "Unclosed inline table": "{ … } 没有写完：各项之间用英文逗号 , 分隔，最后以 } 结束，且须写在同一行",
    "Cannot overwrite a value": "这个键前面已经写过一次：同一个表中每个键只能写一次",
    "Invalid initial character for a key part": "键名只用英文字母、数字、_ 和 -（{ … } 的最后一项后不加逗号）",
}


def toml_problem(text: str, said: str) -> str:
    """What follows "配置文件 config.toml " for tomllib's error `said` on `text`: where, and what to fix."""
    found = _TOML_AT.match(said)
    what = found.group("what") if found else said
    if not found or found.group("line") is None:  # at the end of the document: only a string left open
        if what.startswith(_OPEN_STRING):
            line = next((n for n, row in enumerate(text.split("\n"), 1) if _open_quote(row) is not None), None)
            return (f"第 {line} 行" if line else "末尾") + _QUOTE_LEFT_OPEN
        return f"末尾：{_TOML_SAYS[what]}（{what}）" if what in _TOML_SAYS else f"不是有效的 TOML：{said}"
    line, column = int(found.group("line")), int(found.group("column"))
    row = text.split("\n")[line - 1]
    char = row[column - 1] if column <= len(row) else "\n"
    at = f"第 {line} 行第 {column} 列"
    half = _half_width(char)
    if half:
        kind = "中文标点" if char in _CHINESE_PUNCTUATION and char != "\u3000" else "全角字符"
        named = "全角空格（U+3000）" if char == "\u3000" else f"{kind} {char}（U+{ord(char):04X}）"
        shown = "半角空格" if half == " " else f"半角的 {half}"
        return (
            f"{at}有{named}：TOML 的数字、引号、等号、逗号、括号和空格须为半角字符（用英文输入法输入），请改为{shown}"
        )
    if what.startswith(_OPEN_STRING) or (row.count('"') % 2 == 1 and '"""' not in row):
        return f"第 {line} 行{_QUOTE_LEFT_OPEN}"
    if what.startswith("Unescaped '\\'"):
        return f"{at}：双引号字符串里的反斜杠 \\ 须写成 \\\\；路径也可改用单引号（'C:\\mailroom\\archive'）或正斜杠 /"
    if not char.isascii() and not char.isspace():
        return f'{at}的 {char} 不在引号里：文字要用英文双引号括起来，如 name = "景县"；若是注释，前面要加 #'
    if what.startswith("Cannot declare"):
        return f"{at}：这个表前面已经写过一次，同名的 [表] 只能写一次（[[mailbox]]、[[unit]] 这样的表可以写多个）"
    if what in _TOML_SAYS:
        return f"{at}：{_TOML_SAYS[what]}（{what}）"
    return f"{at}不是有效的 TOML：{what}"


_QUOTE_LEFT_OPEN = '的引号没有闭合：字符串要用一对英文引号括起来，写在同一行内，如 timezone = "Asia/Shanghai"'


def _half_width(char: str) -> str:
    """The ASCII character a full-width or Chinese punctuation `char` stands for; "" for any other."""
    if "\uff01" <= char <= "\uff5e":
        return chr(ord(char) - 0xFEE0)
    return _CHINESE_PUNCTUATION.get(char, "")


def _open_quote(row: str) -> int | None:
    """Where the string left open at the end of a line of TOML starts (None: every string is closed)."""
    quote, start, index = "", None, 0
    while index < len(row):
        char = row[index]
        if start is None:
            if char == "#":
                break
            if char in "\"'":
                quote, start = char, index
        elif quote == '"' and char == "\\":
            index += 1
        elif char == quote:
            start = None
        index += 1
    return start


def build_config(data: dict[str, Any], path: Path, env: os._Environ | dict[str, str]) -> Config:
    """The config of a parsed file. A key the builder never reads is refused, naming the nearest one it does
    read (config_keys): a typo never passes silently as a default."""
    tables = ReadTable(data)
    labels = {"mailbox": _mailbox_prefix}  # a mailbox by its key and name, not by its place in the file
    try:
        config = _build(tables, path, env)
    except ConfigError:
        refuse_unknown(likely_typos(tables, labels))  # a misspelt key explains "… is missing" better
        raise
    refuse_unknown(unknown_keys(tables, labels))
    return replace(config, raw=data)


def _build(data: dict[str, Any], path: Path, env: os._Environ | dict[str, str]) -> Config:
    base = path.parent
    general = _table(data, "general")
    database = _table(data, "database")
    archive = _table(data, "archive")
    written_url = _get(database, "database.url", str, "sqlite:///var/mailroom.db")  # read (and known) either way
    written_path = _get(archive, "archive.path", str, "var/archive")
    url = env.get("MAILROOM_DATABASE_URL") or written_url
    _check_database_url(url, "环境变量 MAILROOM_DATABASE_URL" if env.get("MAILROOM_DATABASE_URL") else "[database] url")
    archive_path = env.get("MAILROOM_ARCHIVE_PATH") or written_path
    timezone = _zone(_get(general, "general.timezone", str, "Asia/Shanghai"))
    units, plans = _plans(data, timezone, _years(general))
    schedule = _schedule(_table(data, "schedule"))
    for plan in plans.plans:
        if schedule.reminder_day > plan.calendar.deadline_day:
            raise ConfigError(
                f"schedule.reminder_day（{schedule.reminder_day} 日）晚于 {plan.year} 年的报送截止日"
                f"（{plan.calendar.deadline_day} 日），该年不会发出催报提醒"
            )
    return Config(
        path=path,
        database_url=_sqlite_relative(url, base),
        archive_path=base / archive_path,
        timezone=timezone,
        plans=plans,
        mailboxes=_mailboxes(data.get("mailbox", []), base),
        units=units,
        outgoing=_outgoing(_smtp(data), base, data.get("mailbox", [])),
        schedule=schedule,
        web=_web(_table(data, "web")),
    )


def _schedule(table: dict[str, Any]) -> Schedule:
    day: dict[str, Any] = dict(check=lambda d: 1 <= d <= 28, why="1–28 日之一")
    return Schedule(
        poll_minutes=_get(table, "schedule.poll_minutes", float, 5.0, check=lambda m: m > 0, why="正数"),
        digest_day=_get(table, "schedule.digest_day", int, 21, **day),
        digest_time=_clock(_get(table, "schedule.digest_time", str, "09:00"), "schedule.digest_time"),
        reminder_day=_get(table, "schedule.reminder_day", int, 17, **day),
        reminder_time=_clock(_get(table, "schedule.reminder_time", str, "09:00"), "schedule.reminder_time"),
    )


def _web(table: dict[str, Any]) -> Web:
    return Web(
        host=_get(table, "web.host", str, "127.0.0.1", check=bool, why="主机名或地址"),
        port=_get(table, "web.port", int, 8080, check=lambda p: 0 < p < 65536, why="端口号 1–65535"),
        behind_proxy=_get(table, "web.behind_proxy", bool, False),
        session_hours=_get(table, "web.session_hours", int, 12, check=lambda h: h > 0, why="正数"),
    )


# The two ways mail goes out, as a missing `transport` names them: which one is never guessed, since the folder
# sends nothing while `poll` counts each mail written as sent.
_TRANSPORTS = '"smtp"（经邮件服务器发出）或 "folder"（只写入文件夹，不发出，用于演示和测试）'


def _smtp(data: dict[str, Any]) -> dict[str, Any]:
    """[smtp], which says how mail goes out: without it (or its `transport`, _outgoing), receipts would
    silently pile up in a local folder while every report said they were sent."""
    if "smtp" not in data:
        raise ConfigError(f"缺少 [smtp]：发信方式须写明，在 [smtp] 中写 transport = {_TRANSPORTS}")
    return _table(data, "smtp")


def _outgoing(table: dict[str, Any], base: Path, mailboxes: list[dict[str, Any]]) -> Outgoing:
    pick = lambda name, kind, default, **kw: _get(table, f"smtp.{name}", kind, default, **kw)  # noqa: E731
    written = "transport" in table  # its absence is said after every other key is read: none is taken for a typo
    out = Outgoing(
        transport=pick("transport", str, "", check=lambda t: t in ("smtp", "folder"), why="smtp 或 folder"),
        folder=base / pick("folder", str, "var/outbox"),
        host=pick("host", str, ""),
        port=pick("port", int, 465, check=lambda p: 0 < p < 65536, why="端口号 1–65535"),
        security=pick("security", str, "tls", check=lambda s: s in SECURITY, why=" 或 ".join(SECURITY)),
        username=pick("username", str, ""),
        password_env=pick("password_env", str, ""),
        sender=pick("sender", str, "").lower(),
        sender_name=pick("sender_name", str, ""),
        staff=tuple(pick("staff", list, [])),
        receipts_per_hour=pick("receipts_per_hour", int, 10, check=lambda n: n >= 0, why="0 或正整数"),
        receipts_max_age_days=pick("receipts_max_age_days", int, 7, check=lambda n: n >= 0, why="0 或正整数"),
        timeout_seconds=pick("timeout_seconds", float, 30.0, check=lambda n: 0 < n <= 600, why="1–600 秒"),
        sent_copy_mailbox=pick("sent_copy_mailbox", str, ""),
        sent_copy_folder=pick("sent_copy_folder", str, ""),
        ca_file=_ca_file(table, "smtp.ca_file", base),
    )
    if not written:
        raise ConfigError(f"缺少 [smtp] transport：发信方式须写明，{_TRANSPORTS}")
    if out.sent_copy_mailbox and out.sent_copy_mailbox not in [box.get("key") for box in mailboxes]:
        raise ConfigError(f"smtp.sent_copy_mailbox：没有 key 为 {out.sent_copy_mailbox!r} 的 [[mailbox]]")
    if out.sent_copy_mailbox and not out.sent_copy_folder:
        raise ConfigError("缺少 smtp.sent_copy_folder（设置了 sent_copy_mailbox 时必填）")
    if out.transport == "smtp":
        for name in ("host", "sender"):
            if not getattr(out, name):
                raise ConfigError(f'缺少 smtp.{name}（transport = "smtp" 时必填）')
        if out.security == "plain" and out.host not in LOOPBACK:
            raise ConfigError(f'smtp.security = "plain" 只允许用于本机回环地址，不能用于 {out.host}')
    return out


def _calendar(deadline: dict[str, Any], forms: dict[str, Any], defaults: Calendar, at: str = "") -> Calendar:
    """`defaults` with what the tables say; `at` names where they are ("year.2021." for a year's own)."""
    return replace(
        defaults,
        deadline_day=_get(
            deadline, f"{at}deadline.day", int, defaults.deadline_day, check=lambda d: 1 <= d <= 28, why="1–28 日之一"
        ),
        deadline_time=_clock(
            _get(deadline, f"{at}deadline.time", str, defaults.deadline_time.isoformat()), f"{at}deadline.time"
        ),
        required_forms=tuple(
            _get(
                forms,
                f"{at}forms.required",
                list,
                list(defaults.required_forms),
                check=lambda xs: xs and all(x in range(1, 11) for x in xs) and len(set(xs)) == len(xs),
                why="不重复的附件编号 1–10，至少一个",
            )
        ),
        college_from_month=_get(
            forms, f"{at}forms.college_from_month", int, defaults.college_from_month, check=_is_month, why="月份 1–12"
        ),
        first_report_month=_get(
            forms, f"{at}forms.first_report_month", int, defaults.first_report_month, check=_is_month, why="月份 1–12"
        ),
    )


def _is_month(value: int) -> bool:
    return 1 <= value <= 12


def _table(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[{key}] 应为一个表")
    return value


def _get(
    table: dict[str, Any],
    key: str,
    kind: type,
    default: Any = ...,
    *,
    check: Callable[[Any], bool] | None = None,
    why: str = "",
    shown: str = "",
) -> Any:
    """`table`'s value for the last part of the dotted `key`, checked; messages name it as `key`, or as `shown`
    when given (a key of a [[mailbox]], named by the mailbox's label: field_of)."""
    name = key.rsplit(".", 1)[-1]
    key = shown or key
    if name not in table:
        if default is ...:
            raise ConfigError(f"缺少 {key}")
        return default
    value = written = table[name]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"{key} 应为{_type_name(kind)}，而不是 {written!r}")
    if check is not None and not check(value):
        raise ConfigError(f"{key} 应为{' ' if why[:1].isascii() else ''}{why}，而不是 {written!r}")
    return value


def _type_name(kind: type) -> str:
    return {str: "字符串", int: "整数", float: "数字", bool: " true 或 false", list: "列表", dict: "表"}.get(
        kind, kind.__name__
    )


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"general.timezone：未知的时区 {name!r}") from None


def _clock(text: str, key: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{key} 应为时刻，如 23:59:59，而不是 {text!r}") from None


_DATABASE_FORMS = "sqlite:///路径（如 sqlite:///var/mailroom.db，相对于配置文件）或 postgresql+psycopg://用户@主机/库"


def _check_database_url(url: str, where: str) -> None:
    """A URL SQLAlchemy can open with the drivers mailroom ships: SQLite, or PostgreSQL through psycopg. Its
    own words for a slip ("Could not parse SQLAlchemy URL", "Can't load plugin: sqlalchemy.dialects:postgres")
    name neither the key nor the form to write."""
    shown = _masked_url(url)
    scheme, sep, rest = url.partition("://")
    if not sep or not re.fullmatch(r"[A-Za-z][\w+.-]*", scheme):
        problem = f"{shown!r} 不是数据库地址"
    elif scheme in ("sqlite", "sqlite+pysqlite"):
        if rest == "" or rest.startswith("/"):
            return
        problem = (
            f"SQLite 的地址在 sqlite: 之后要写三个斜杠（绝对路径四个：sqlite:////srv/mailroom.db），而不是 {shown!r}"
        )
    elif scheme in ("postgresql", "postgresql+psycopg"):
        problem = _postgres_url_problem(url, shown)
        if not problem:
            return
    elif scheme.split("+")[0] in ("postgres", "postgresql", "pgsql", "pg"):
        problem = f"PostgreSQL 的地址应以 postgresql+psycopg:// 开头，而不是 {scheme}://（{shown!r}）"
    else:
        problem = f"不支持 {scheme.split('+')[0]} 数据库，只支持 SQLite 和 PostgreSQL（{shown!r}）"
    raise ConfigError(f"{where} 写法不对：{problem}；应写作 {_DATABASE_FORMS}")


def _postgres_url_problem(url: str, shown: str) -> str:
    """What SQLAlchemy finds wrong in a PostgreSQL URL (a port that is not a number); "" when nothing."""
    from sqlalchemy.engine import make_url  # only for PostgreSQL: SQLite's commands start without it
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(url)
    except ValueError:  # int() of the port
        return f"{shown!r} 中的端口应为数字"
    except ArgumentError:
        return f"{shown!r} 不是有效的 PostgreSQL 地址"
    return ""


def _masked_url(url: str) -> str:
    """`url` with any password in it replaced by ***, for messages and logs."""
    return re.sub(r"^([^:/]+://[^:/@]*:)[^@/]*@", r"\1***@", url)


def _sqlite_relative(url: str, base: Path) -> str:
    """A relative SQLite path is relative to the config file, like every other path in it."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
        return prefix + str(base / url[len(prefix) :])
    return url


_SHARE = (lambda x: 0 < x <= 1, "0–1 之间的比例（0.5 即 50%）")
_POINTS = (lambda n: 0 <= n <= 100, "0–100 分")
# What each scoring number means, checked as such: a share of the annual target, or points of the 100-point year.
_SCORING_RANGES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "q2_completion": _SHARE,
    "q3_completion": _SHARE,
    "task_points": _POINTS,
    "on_time_points": _POINTS,
    "on_time_deduction": _POINTS,
    "q4_task_points": _POINTS,
    "q4_cap": _POINTS,
    "briefing_points": _POINTS,
    "media_cap": _POINTS,
    "innovation_cap": _POINTS,
    "briefings_per_month": (lambda n: 1 <= n <= 1000, "1–1000 篇"),
}
_LEVELS = {"media_points": MEDIA_LEVELS, "innovation_points": INNOVATION_LEVELS}


def _scoring(table: dict[str, Any], defaults: Scoring, at: str = "") -> Scoring:
    """`defaults` with what the table says; `at` names where it is ("year.2021." for a year's own)."""
    values: dict[str, Any] = {}
    for name, default in vars(defaults).items():
        key = f"{at}scoring.{name}"
        if name in _LEVELS:
            values[name] = _level_points(_get(table, key, dict, dict(default)), key, _LEVELS[name])
        elif isinstance(default, tuple):
            values[name] = tuple(
                _get(
                    table,
                    key,
                    list,
                    list(default),
                    why="不重复的月份 1–12",
                    check=lambda xs: all(map(_is_month, xs)) and len(set(xs)) == len(xs),
                )
            )
        else:
            check, why = _SCORING_RANGES.get(name, (None, ""))
            values[name] = _get(table, key, type(default), default, check=check, why=why)
    return Scoring(**values)


def _level_points(points: dict[str, Any], key: str, levels: dict[str, str]) -> tuple[tuple[str, int], ...]:
    for level in points:
        if level not in levels:
            raise ConfigError(f"{key}.{level}：未知的级别（可用的有：{'、'.join(levels)}）")
        _get(points, f"{key}.{level}", int, check=_POINTS[0], why=_POINTS[1])
    return tuple(points.items())


def _mailboxes(entries: Any, base: Path) -> tuple[Mailbox, ...]:
    """Each [[mailbox]]; every error names the mailbox by its key and name (mailbox_label), never by its place."""
    if isinstance(entries, dict) and entries:
        raise ConfigError("邮箱应写成 [[mailbox]]（每个部门邮箱一段，用 key 区分），而不是 [mailbox] 或 [mailbox.…]")
    if not isinstance(entries, list) or not entries:
        raise ConfigError("缺少 [[mailbox]]：请至少配置一个部门邮箱")
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ConfigError(f"第 {index + 1} 个 mailbox 应为一个表（[[mailbox]]），而不是 {entry!r}")
    boxes = tuple(_mailbox(entry, index, base) for index, entry in enumerate(entries))
    for box in boxes:
        same = [other for other in boxes if other.key == box.key]
        if len(same) > 1:
            named = "、".join(f"{other.name}（{other.address}）" for other in same)
            raise ConfigError(f"[[mailbox]] 的 key {box.key!r} 用了 {len(same)} 次（{named}）：每个邮箱的 key 须不同")
    return boxes


def _mailbox(entry: dict[str, Any], index: int, base: Path) -> Mailbox:
    label = mailbox_label(dict.get(entry, "key"), dict.get(entry, "name"), dict.get(entry, "address"), index)
    at = lambda name: field_of(label, name)  # noqa: E731
    pick = lambda name, kind, default=..., **kw: _get(entry, name, kind, default, shown=at(name), **kw)  # noqa: E731
    source = pick("source", str, "imap", check=lambda s: s in SOURCES, why=" 或 ".join(SOURCES))
    box = Mailbox(
        key=pick("key", str),
        name=pick("name", str),
        address=pick("address", str).lower(),
        source=source,
        security=pick("security", str, "tls", check=lambda s: s in SECURITY, why=" 或 ".join(SECURITY)),
        host=pick("host", str, ""),
        port=pick("port", int, 993, check=lambda p: 0 < p < 65536, why="端口号 1–65535"),
        username=pick("username", str, ""),
        password_env=pick("password_env", str, ""),
        folder=pick("folder", str, "INBOX"),
        after_archive=pick(
            "after_archive", str, "none", check=lambda a: a in AFTER_ARCHIVE, why=" 或 ".join(AFTER_ARCHIVE)
        ),
        move_to=pick("move_to", str, ""),
        batch=pick("batch", int, 200, check=lambda b: b > 0, why="正数"),
        path=base / pick("path", str) if source == "maildir" else None,
        ca_file=_ca_file(entry, "ca_file", base, shown=at("ca_file")),
    )
    if source == "imap":
        for name in ("host", "username", "password_env"):
            if not getattr(box, name):
                raise ConfigError(f'缺少 {at(name)}（source = "imap" 时必填）')
        if box.security == "plain" and box.host not in LOOPBACK:
            raise ConfigError(f'{at("security")} = "plain" 只允许用于本机回环地址，不能用于 {box.host}')
    if box.after_archive == "move" and not box.move_to:
        raise ConfigError(f'缺少 {at("move_to")}（after_archive = "move" 时必填）')
    return box


def _ca_file(table: dict[str, Any], key: str, base: Path, shown: str = "") -> Path | None:
    """A CA bundle to trust (a test or in-house CA), relative to the config file; None: the system's store."""
    name = _get(
        table,
        key,
        str,
        "",
        check=lambda p: p == "" or _holds_certificates(base / p),
        why="可读的 PEM 证书文件",
        shown=shown,
    )
    return base / name if name else None


def _holds_certificates(path: Path) -> bool:
    try:
        return b"-----BEGIN CERTIFICATE-----" in path.read_bytes()
    except OSError:
        return False


def _years(general: dict[str, Any]) -> tuple[int, ...]:
    """The plan years: `years = [2020, 2021]`, or the one `year = 2020` (a file of one plan year)."""
    is_year: dict[str, Any] = dict(check=lambda y: 2000 <= y <= 2100, why="年份 2000–2100")
    if "years" in general and "year" in general:
        raise ConfigError("general.year 与 general.years 只能写一个（多个计划年度写 years = [2020, 2021]）")
    if "years" not in general:
        return (_get(general, "general.year", int, 2020, **is_year),)
    years = _get(
        general,
        "general.years",
        list,
        why="不重复的年份 2000–2100，至少一个",
        check=lambda ys: (
            ys
            and len(set(ys)) == len(ys)
            and all(isinstance(y, int) and not isinstance(y, bool) and 2000 <= y <= 2100 for y in ys)
        ),
    )
    return tuple(sorted(years))


def _plans(data: dict[str, Any], timezone: ZoneInfo, years: tuple[int, ...]) -> tuple[tuple[Unit, ...], Plans]:
    """Each plan year: the common [deadline], [forms] and [scoring] with the year's own [year.YYYY.…] on top,
    and the units in it with that year's targets. Returns every unit (without targets) and the plans."""
    deadline, forms, scoring = (_table(data, key) for key in ("deadline", "forms", "scoring"))
    calendar = _calendar(deadline, forms, Calendar(timezone, years[0]))
    rules = _scoring(scoring, Scoring())
    own = _table(data, "year")
    for key in own:
        if not (key.isdigit() and int(key) in years):
            raise ConfigError(f"year.{key}：{key} 年不在任何年度计划内（general.years：{_listed(years)}）")
    units, targets = _units(data.get("unit", []), years)
    plans = []
    for year in years:
        tables = _table(own, str(year)) if str(year) in own else {}
        at = f"year.{year}."
        plan = Plan(
            _calendar(_table(tables, "deadline"), _table(tables, "forms"), replace(calendar, year=year), at),
            _scoring(_table(tables, "scoring"), rules, at),
            targets[year],
        )
        _check_briefing_months(plan, tables, at)
        if not plan.units:
            raise ConfigError(f"{year} 年的计划没有任何单位（请检查各 [[unit]] 的 first_year、last_year）")
        plans.append(plan)
    return units, Plans(tuple(plans))


def _check_briefing_months(plan: Plan, tables: dict[str, Any], at: str) -> None:
    """Each briefing month of `plan` is one of its report months. Months the year takes from the common
    [scoring] that its own first_report_month left out are fixed in the year's own table, and the message
    says so: editing the common table would change the other years too."""
    first = plan.calendar.first_report_month
    early = [month for month in plan.scoring.briefing_months if month < first]
    if not early:
        return
    own = "briefing_months" in _table(tables, "scoring")
    key = f"{at if own else ''}scoring.briefing_months"
    problem = f"{key}：{plan.year} 年 {early[0]} 月不在该年计划的报送月份内（{first}–12 月）"
    if own or "first_report_month" not in _table(tables, "forms"):
        raise ConfigError(problem)
    kept = [month for month in plan.scoring.briefing_months if month >= first]
    months = f"[{', '.join(map(str, kept))}]" if kept else "[…]"
    raise ConfigError(
        f"{problem}：该年的首个报送月份由 {at}forms.first_report_month 定为 {first} 月，"
        f"请为该年写 [year.{plan.year}.scoring] briefing_months = {months}"
    )


def _listed(years: tuple[int, ...]) -> str:
    return "、".join(map(str, years))


def _units(entries: Any, years: tuple[int, ...]) -> tuple[tuple[Unit, ...], dict[int, tuple[Unit, ...]]]:
    """Every unit as recognition knows it, and each year's units with that year's targets."""
    if not isinstance(entries, list) or not entries:
        raise ConfigError("缺少 [[unit]]：请配置报送单位")
    units: list[Unit] = []
    by_year: dict[int, list[Unit]] = {year: [] for year in years}
    earlier: list[_Placed] = []
    for index, entry in enumerate(entries):
        at = f"unit[{index}]"
        unit = Unit(
            name=_get(entry, f"{at}.name", str),
            aliases=tuple(_get(entry, f"{at}.aliases", list, [])),
            senders=tuple(
                _sender(address, f"{at}.senders", entry) for address in _get(entry, f"{at}.senders", list, [])
            ),
        )
        in_plan: dict[str, Any] = dict(check=lambda y: y in years, why=f"计划年度之一（{_listed(years)}）")
        first = _get(entry, f"{at}.first_year", int, years[0], **in_plan)
        last = _get(entry, f"{at}.last_year", int, years[-1], **in_plan)
        if first > last:
            raise ConfigError(f"{at}.first_year（{first}）晚于 {at}.last_year（{last}）")
        span = tuple(year for year in years if first <= year <= last)
        placed = _Placed(at, unit, span)
        for other in earlier:
            _refuse_shared(placed, other, years)
        earlier.append(placed)
        for year, targets in _targets(_get(entry, f"{at}.targets", dict, {}), f"{at}", unit.name, years, span):
            by_year[year].append(replace(unit, targets=targets))
        units.append(unit)
    return tuple(units), {year: tuple(found) for year, found in by_year.items()}


# What stands between two addresses written as one, and what else cannot stand in a plain address.
_BETWEEN_ADDRESSES = ",;，；、"
_NOT_IN_ADDRESS = '()[]"\\:'


def _sender(address: Any, key: str, entry: dict[str, Any]) -> str:
    """A registered sender address, lower case. Recognition compares each From address with it as written, so
    one that is no address ("jxcl2020 163.com", a missing @, two addresses in one string) would never match:
    the unit's mail would go uncounted with nothing said."""
    named = f"{key}（{dict.get(entry, 'name')}）" if isinstance(dict.get(entry, "name"), str) else key
    if not isinstance(address, str):
        raise ConfigError(f'{named}：{address!r} 应为字符串，如 "jxcl2020@163.com"')
    text = address.strip()
    local, _, domain = text.partition("@")
    wide = next((char for char in text if _half_width(char) and not char.isspace()), "")
    odd = next((char for char in text if char in _NOT_IN_ADDRESS), "")
    if "@" in text and any(char in _BETWEEN_ADDRESSES for char in text):
        why = '一项只能写一个地址，多个地址请分开写，如 ["jxcl2020@163.com", "jx2021@163.com"]'
    elif "<" in text or ">" in text:
        why = "只写地址本身，不带姓名和尖括号"
    elif any(char.isspace() for char in text):
        why = "地址中有空格"
    elif wide:
        why = f"有全角或中文字符 {wide}，请改为半角的 {_half_width(wide)}"
    elif odd:
        why = f"地址中不能有 {odd}"
    elif text.count("@") != 1:
        why = "缺少 @" if "@" not in text else f"有 {text.count('@')} 个 @"
    elif not local or not domain:
        why = "@ 前后都要有内容"
    elif "." not in domain.strip(".") or ".." in domain:
        why = "@ 后面的域名中要有 .，如 163.com"
    else:
        return text.lower()
    raise ConfigError(f"{named}：{address!r} 不是邮箱地址：{why}；应形如 jxcl2020@163.com")


@dataclass(frozen=True)
class _Placed:
    """A [[unit]] as its checks name it: "unit[9]", the unit, and the plan years it is in."""

    at: str
    unit: Unit
    span: tuple[int, ...]

    def names(self) -> list[tuple[str, str, str]]:
        """(what recognition compares, as written, "名称" or "别名") of its name and each alias."""
        written = [(self.unit.name, "名称"), *((alias, "别名") for alias in self.unit.aliases)]
        return [(normalize(text), text, what) for text, what in written if isinstance(text, str) and normalize(text)]

    def named(self) -> str:
        return f"{self.at}（{self.unit.name}）"


def _refuse_shared(unit: _Placed, other: _Placed, years: tuple[int, ...]) -> None:
    """Within one plan year, a name, an alias or a sender address names one unit only: recognition could not
    tell which unit mail from it or naming it is for. Units of different years may share them (a successor
    keeping its predecessor's address, or its name as an alias). `other` comes before `unit` in the file."""
    shared = tuple(year for year in unit.span if year in other.span)
    if not shared:
        return
    both = f"两者都在 {_listed(shared)} 年的计划内"
    tell = "（识别邮件时不计空格与全角、半角之别）"
    for key, text, what in unit.names():
        for other_key, other_text, other_what in other.names():
            if key != other_key:
                continue
            same = "" if text == other_text else tell
            if what == other_what == "名称":
                spans = "、".join(f"targets.{year}" for year in years if year in unit.span or year in other.span)
                raise ConfigError(
                    f"{unit.at}.name：{text} 与 {other.at} 的名称 {other_text} 相同{same}，{both}；"
                    f"同一单位请只写一个 [[unit]]（各年目标写作 {spans}），不同单位请改用不同的名称"
                )
            # the alias goes: from the unit that has it as an alias, the later one when both do
            owner, alias = (unit, text) if what == "别名" else (other, other_text)
            raise ConfigError(
                f"{unit.at}.{'aliases' if what == '别名' else 'name'}：{what} {text} 与 {other.named()}的"
                f"{other_what} {other_text} 相同{same}，{both}，识别邮件时无法分辨是哪个单位；"
                f"请从 {owner.at} 的 aliases 删去 {alias}{_successor(unit, other, years)}"
            )
    for sender in unit.unit.senders:
        if sender.strip() in {other_sender.strip() for other_sender in other.unit.senders}:
            raise ConfigError(
                f"{unit.at}.senders：{sender.strip()} 已登记给 {other.named()}，{both}；同一年度一个发件地址只能属于"
                f"一个单位，请从其中一个的 senders 删去{_successor(unit, other, years)}"
            )


def _successor(unit: _Placed, other: _Placed, years: tuple[int, ...]) -> str:
    """Of two units sharing a year, the one that joined later may be taking over from the other, which then
    ends the year before: said as a hint."""
    new, old = (unit, other) if unit.span[0] > other.span[0] else (other, unit)
    start = new.span[0]
    if start == old.span[0]:
        return ""
    before = years[years.index(start) - 1]
    return f"；若 {new.at} 自 {start} 年起接替 {old.at}，则应给 {old.at} 写 last_year = {before}"


def _targets(
    table: dict[str, Any], at: str, name: str, years: tuple[int, ...], span: tuple[int, ...]
) -> list[tuple[int, tuple[tuple[str, int], ...]]]:
    """(year, targets) for each year of `span`: `targets.2021 = {…}` per year, or a plain `targets = {…}`
    when the configuration holds one plan year."""
    keys = list(table)
    if not any(key.isdigit() for key in keys):
        if len(years) > 1 and span:
            raise ConfigError(
                f"{at}.targets：有多个计划年度（{_listed(years)}）时，目标须按年写，"
                f"如 targets.{span[0]} = {{ rehab = … }}"
            )
        return [(year, _task_targets(table, f"{at}.targets", name)) for year in span]
    for key in keys:
        if not key.isdigit():
            raise ConfigError(f"{at}.targets.{key}：按年写目标时 targets 下只能是年份，如 targets.{span[0]}.{key}")
        if int(key) not in years:
            raise ConfigError(f"{at}.targets.{key}：{key} 年不在任何年度计划内（general.years：{_listed(years)}）")
        if int(key) not in span:
            raise ConfigError(f"{at}.targets.{key}：{name} {key} 年不在计划内（见 {at}.first_year、last_year）")
    for year in span:
        if str(year) not in table:
            raise ConfigError(
                f"{at}（{name}）缺少 {year} 年的目标 targets.{year}"
                f"（若该单位 {year} 年不在计划内，请写 first_year 或 last_year）"
            )
    return [
        (year, _task_targets(_get(table, f"{at}.targets.{year}", dict), f"{at}.targets.{year}", name)) for year in span
    ]


def _task_targets(targets: dict[str, Any], at: str, name: str) -> tuple[tuple[str, int], ...]:
    """A year's target of every task. Each is written, 0 too: a task left out is a slip (a line lost when
    copying last year's targets), never taken as 0."""
    for task, value in targets.items():
        if task not in TASKS:
            raise ConfigError(f"{at}.{task}：未知的任务（可用的有：{'、'.join(TASKS)}）")
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigError(f"{at}.{task} 应为 ≥ 0 的整数，而不是 {value!r}")
    missing = [task for task in TASKS if task not in targets]
    if missing:
        raise ConfigError(
            f"{at}（{name}）缺少任务 {'、'.join(f'{task}（{TASK_LABELS[task]}）' for task in missing)}的目标："
            f"每项任务的目标都须写出，没有目标的写 0，如 {', '.join(f'{task} = 0' for task in missing)}"
        )
    return tuple((task, targets[task]) for task in TASKS)
