"""The configuration: one frozen object built once at start-up from the TOML file and the environment."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config_keys import (
    ReadTable,
    address_of,
    likely_typos,
    refuse_unknown,
    table_of,
    time_of,
    unknown_keys,
    value_of,
)
from bot.config_plans import plan_years, read_plans
from bot.config_toml import parse_toml
from parsers.errors import ConfigError
from parsers.records import Unit
from scoring.plans import Plan, Plans

DEFAULT_CONFIG = "config.toml"
SOURCES = ("imap", "maildir")
SECURITY = ("tls", "starttls", "plain")
AFTER_ARCHIVE = ("none", "flag", "seen", "move")
LOOPBACK = ("127.0.0.1", "::1", "localhost")
DEFAULT_NAME = "残疾人服务工程督导系统"  # neither [general] name nor [smtp] sender_name written: no city assumed


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
    contact: str = ""  # whom a unit asks, said at the end of what it is sent ("市残联办公室，电话 …"); "" none
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
    name: str = DEFAULT_NAME  # the system's name as people read it: every mail's signature, the web's title, From
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    def plan(self, month: str) -> Plan:
        """The plan `month` is scored under; a month no plan covers is refused (OutsidePlan)."""
        return self.plans.of(month)

    def local_month(self, instant: datetime) -> str:
        """The month (YYYY-MM) `instant` falls in, in the configuration's time zone."""
        return f"{instant.astimezone(self.timezone):%Y-%m}"

    def mailbox(self, key: str) -> Mailbox:
        for box in self.mailboxes:
            if key in (box.key, box.name, box.address):
                return box
        raise ConfigError(f"没有名为 {key!r} 的邮箱；已配置的有：{'、'.join(b.key for b in self.mailboxes)}")

    def addressee(self, unit: str | None) -> str | None:
        """Whom mail to `unit` greets: its `addressee` when configured, else its federation ("景县残联"), as the
        city's federation writes to a county's; None for no unit."""
        if unit is None:
            return None
        found = next((each for each in self.units if each.name == unit), None)
        return found.addressee if found is not None and found.addressee else f"{unit}残联"

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
    except IsADirectoryError:
        raise ConfigError(f"配置文件 {path} 是一个文件夹：--config 或 MAILROOM_CONFIG 应指向其中的配置文件") from None
    except PermissionError:
        raise ConfigError(f"无法读取配置文件 {path}：没有读取权限（请检查文件的属主和权限）") from None
    data = parse_toml(raw, path)
    if not data:  # nothing but blanks and comments: not one key missing, the whole file
        raise ConfigError(f"配置文件 {path} 中没有任何设置（可把 config.example.toml 复制为 {path} 再修改）")
    return build_config(data, path.resolve(), env)


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
    general = table_of(data, "general")
    database = table_of(data, "database")
    archive = table_of(data, "archive")
    written_url = value_of(database, "database.url", str, "sqlite:///var/mailroom.db")  # read (and known) either way
    written_path = value_of(archive, "archive.path", str, "var/archive")
    url = env.get("MAILROOM_DATABASE_URL") or written_url
    _check_database_url(url, "环境变量 MAILROOM_DATABASE_URL" if env.get("MAILROOM_DATABASE_URL") else "[database] url")
    archive_path = env.get("MAILROOM_ARCHIVE_PATH") or written_path
    timezone = _zone(value_of(general, "general.timezone", str, "Asia/Shanghai"))
    units, plans = read_plans(data, timezone, plan_years(general))
    name = value_of(general, "general.name", str, "", check=lambda n: bool(n.strip()), why="非空的名称").strip()
    outgoing = _outgoing(_smtp(data), base, data.get("mailbox", []), name)
    schedule = _schedule(table_of(data, "schedule"))
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
        outgoing=outgoing,
        schedule=schedule,
        web=_web(table_of(data, "web")),
        name=name or outgoing.sender_name or DEFAULT_NAME,  # (a configuration older than the key named the From)
    )


def _schedule(table: dict[str, Any]) -> Schedule:
    day: dict[str, Any] = dict(check=lambda d: 1 <= d <= 28, why="1–28 日之一")
    return Schedule(
        poll_minutes=value_of(table, "schedule.poll_minutes", float, 5.0, check=lambda m: m > 0, why="正数"),
        digest_day=value_of(table, "schedule.digest_day", int, 21, **day),
        digest_time=time_of(value_of(table, "schedule.digest_time", str, "09:00"), "schedule.digest_time"),
        reminder_day=value_of(table, "schedule.reminder_day", int, 17, **day),
        reminder_time=time_of(value_of(table, "schedule.reminder_time", str, "09:00"), "schedule.reminder_time"),
    )


def _web(table: dict[str, Any]) -> Web:
    return Web(
        host=value_of(table, "web.host", str, "127.0.0.1", check=bool, why="主机名或地址"),
        port=value_of(table, "web.port", int, 8080, check=lambda p: 0 < p < 65536, why="端口号 1–65535"),
        behind_proxy=value_of(table, "web.behind_proxy", bool, False),
        session_hours=value_of(table, "web.session_hours", int, 12, check=lambda h: h > 0, why="正数"),
    )


# The two ways mail goes out, as a missing `transport` names them: which one is never guessed, since the folder
# sends nothing while `poll` counts each mail written as sent.
_TRANSPORTS = '"smtp"（经邮件服务器发出）或 "folder"（只写入文件夹，不发出，用于演示和测试）'


def _smtp(data: dict[str, Any]) -> dict[str, Any]:
    """[smtp], which says how mail goes out: without it (or its `transport`, _outgoing), receipts would
    silently pile up in a local folder while every report said they were sent."""
    if "smtp" not in data:
        raise ConfigError(f"缺少 [smtp]：发信方式须写明，在 [smtp] 中写 transport = {_TRANSPORTS}")
    return table_of(data, "smtp")


def _outgoing(table: dict[str, Any], base: Path, mailboxes: list[dict[str, Any]], system_name: str) -> Outgoing:
    pick = lambda name, kind, default, **kw: value_of(table, f"smtp.{name}", kind, default, **kw)  # noqa: E731
    written = "transport" in table  # its absence is said after every other key is read: none is taken for a typo
    out = Outgoing(
        transport=pick("transport", str, "", check=lambda t: t in ("smtp", "folder"), why="smtp 或 folder"),
        folder=base / pick("folder", str, "var/outbox"),
        host=pick("host", str, ""),
        port=pick("port", int, 465, check=lambda p: 0 < p < 65536, why="端口号 1–65535"),
        security=pick("security", str, "tls", check=lambda s: s in SECURITY, why=" 或 ".join(SECURITY)),
        username=pick("username", str, ""),
        password_env=pick("password_env", str, ""),
        sender=address_of(written_sender, "smtp.sender") if (written_sender := pick("sender", str, "")) else "",
        sender_name=pick("sender_name", str, "").strip() or system_name,  # the From's name: the system's, unless said
        contact=pick("contact", str, "").strip(),
        staff=tuple(address_of(address, "smtp.staff") for address in pick("staff", list, [])),
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
    if out.transport == "smtp" and out.username and not out.password_env:
        raise ConfigError(
            '缺少 smtp.password_env（transport = "smtp" 且设置了 username 时必填：写存放发信密码的环境变量名，'
            "如 MAILROOM_SMTP_PASSWORD）"
        )
    if out.sent_copy_mailbox and not out.sent_copy_folder:
        raise ConfigError("缺少 smtp.sent_copy_folder（设置了 sent_copy_mailbox 时必填）")
    if out.transport == "smtp":
        for name in ("host", "sender"):
            if not getattr(out, name):
                raise ConfigError(f'缺少 smtp.{name}（transport = "smtp" 时必填）')
        if out.security == "plain" and out.host not in LOOPBACK:
            raise ConfigError(f'smtp.security = "plain" 只允许用于本机回环地址，不能用于 {out.host}')
    return out


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"general.timezone：未知的时区 {name!r}") from None


_DATABASE_FORMS = "sqlite:///路径（如 sqlite:///var/mailroom.db，相对于配置文件）或 postgresql+psycopg://用户@主机/库"


def _check_database_url(url: str, where: str) -> None:
    """A URL SQLAlchemy can open with the drivers mailroom ships: SQLite, or PostgreSQL through psycopg. Its
    own words for a slip ("Could not parse SQLAlchemy URL", "Can't load plugin: sqlalchemy.dialects:postgres")
    name neither the key nor the form to write."""
    shown = masked_url(url)
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


def masked_url(url: str) -> str:
    """`url` with any password in it replaced by ***, for messages and logs."""
    return re.sub(r"^([^:/]+://[^:/@]*:)[^@/]*@", r"\1***@", url)


def _sqlite_relative(url: str, base: Path) -> str:
    """A relative SQLite path is relative to the config file, like every other path in it; sqlite+pysqlite://
    (the same driver, named) is written sqlite://, the one form the commands look for a database file in."""
    url = re.sub(r"^sqlite\+pysqlite://", "sqlite://", url)
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
        return prefix + str(base / url[len(prefix) :])
    return url


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
    pick = lambda name, kind, default=..., **kw: value_of(entry, name, kind, default, shown=at(name), **kw)  # noqa: E731
    source = pick("source", str, "imap", check=lambda s: s in SOURCES, why=" 或 ".join(SOURCES))
    box = Mailbox(
        key=pick("key", str),
        name=pick("name", str),
        address=address_of(pick("address", str), at("address")),
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
    name = value_of(
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
