"""The configuration: one frozen object built once at start-up from the TOML file and the environment."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from datetime import time
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config_keys import ReadTable, likely_typos, refuse_unknown, unknown_keys
from parsers.errors import ConfigError
from parsers.records import TASKS, Unit
from scoring.components import INNOVATION_LEVELS, MEDIA_LEVELS
from scoring.settings import Calendar, Scoring

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

    def password(self) -> str:
        return secret(self.password_env, f"mailbox {self.key}")


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
    path: Path
    database_url: str
    archive_path: Path
    calendar: Calendar
    scoring: Scoring
    mailboxes: tuple[Mailbox, ...]
    units: tuple[Unit, ...]
    outgoing: Outgoing = Outgoing()
    schedule: Schedule = Schedule()
    web: Web = Web()
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def timezone(self) -> ZoneInfo:
        return self.calendar.timezone

    @property
    def year(self) -> int:
        return self.calendar.year

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
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"找不到配置文件 {path}（可把 config.example.toml 复制为 {path} 再修改）") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"配置文件 {path} 不是有效的 TOML：{error}") from None
    return build_config(data, path.resolve(), env)


def build_config(data: dict[str, Any], path: Path, env: os._Environ | dict[str, str]) -> Config:
    """The config of a parsed file. A key the builder never reads is refused, naming the nearest one it does
    read (config_keys): a typo never passes silently as a default."""
    tables = ReadTable(data)
    try:
        config = _build(tables, path, env)
    except ConfigError:
        refuse_unknown(likely_typos(tables))  # a misspelt key explains "… is missing" better
        raise
    refuse_unknown(unknown_keys(tables))
    return replace(config, raw=data)


def _build(data: dict[str, Any], path: Path, env: os._Environ | dict[str, str]) -> Config:
    base = path.parent
    general = _table(data, "general")
    database = _table(data, "database")
    archive = _table(data, "archive")
    written_url = _get(database, "database.url", str, "sqlite:///var/mailroom.db")  # read (and known) either way
    written_path = _get(archive, "archive.path", str, "var/archive")
    url = env.get("MAILROOM_DATABASE_URL") or written_url
    archive_path = env.get("MAILROOM_ARCHIVE_PATH") or written_path
    return Config(
        path=path,
        database_url=_sqlite_relative(url, base),
        archive_path=base / archive_path,
        calendar=_calendar(general, _table(data, "deadline"), _table(data, "forms")),
        scoring=_scoring(_table(data, "scoring")),
        mailboxes=_mailboxes(data.get("mailbox", []), base),
        units=_units(data.get("unit", [])),
        outgoing=_outgoing(_table(data, "smtp"), base, data.get("mailbox", [])),
        schedule=_schedule(_table(data, "schedule")),
        web=_web(_table(data, "web")),
    )


def _schedule(table: dict[str, Any]) -> Schedule:
    day = dict(check=lambda d: 1 <= d <= 28, why="1–28 日之一")
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


def _outgoing(table: dict[str, Any], base: Path, mailboxes: list[dict[str, Any]]) -> Outgoing:
    pick = lambda name, kind, default, **kw: _get(table, f"smtp.{name}", kind, default, **kw)  # noqa: E731
    out = Outgoing(
        transport=pick("transport", str, "folder", check=lambda t: t in ("smtp", "folder"), why="smtp 或 folder"),
        folder=base / pick("folder", str, "var/outbox"), host=pick("host", str, ""),
        port=pick("port", int, 465, check=lambda p: 0 < p < 65536, why="端口号 1–65535"),
        security=pick("security", str, "tls", check=lambda s: s in SECURITY, why=" 或 ".join(SECURITY)),
        username=pick("username", str, ""), password_env=pick("password_env", str, ""),
        sender=pick("sender", str, "").lower(), sender_name=pick("sender_name", str, ""),
        staff=tuple(pick("staff", list, [])),
        receipts_per_hour=pick("receipts_per_hour", int, 10, check=lambda n: n >= 0, why="0 或正整数"),
        receipts_max_age_days=pick("receipts_max_age_days", int, 7, check=lambda n: n >= 0, why="0 或正整数"),
        timeout_seconds=pick("timeout_seconds", float, 30.0, check=lambda n: 0 < n <= 600, why="1–600 秒"),
        sent_copy_mailbox=pick("sent_copy_mailbox", str, ""), sent_copy_folder=pick("sent_copy_folder", str, ""),
        ca_file=_ca_file(table, "smtp.ca_file", base),
    )
    if out.sent_copy_mailbox and out.sent_copy_mailbox not in [box.get("key") for box in mailboxes]:
        raise ConfigError(f"smtp.sent_copy_mailbox：没有 key 为 {out.sent_copy_mailbox!r} 的 [[mailbox]]")
    if out.sent_copy_mailbox and not out.sent_copy_folder:
        raise ConfigError("缺少 smtp.sent_copy_folder（设置了 sent_copy_mailbox 时必填）")
    if out.transport == "smtp":
        for name in ("host", "sender"):
            if not getattr(out, name):
                raise ConfigError(f"缺少 smtp.{name}（transport = \"smtp\" 时必填）")
        if out.security == "plain" and out.host not in LOOPBACK:
            raise ConfigError(f"smtp.security = \"plain\" 只允许用于本机回环地址，不能用于 {out.host}")
    return out


def _calendar(general: dict[str, Any], deadline: dict[str, Any], forms: dict[str, Any]) -> Calendar:
    return Calendar(
        timezone=_zone(_get(general, "general.timezone", str, "Asia/Shanghai")),
        year=_get(general, "general.year", int, 2020, check=lambda y: 2000 <= y <= 2100, why="年份 2000–2100"),
        deadline_day=_get(deadline, "deadline.day", int, 20, check=lambda d: 1 <= d <= 28, why="1–28 日之一"),
        deadline_time=_clock(_get(deadline, "deadline.time", str, "23:59:59"), "deadline.time"),
        required_forms=tuple(_get(forms, "forms.required", list, list(range(1, 9)),
                                  check=lambda xs: xs and all(x in range(1, 11) for x in xs)
                                  and len(set(xs)) == len(xs), why="不重复的附件编号 1–10，至少一个")),
        college_from_month=_get(forms, "forms.college_from_month", int, 9, check=_is_month, why="月份 1–12"),
        first_report_month=_get(forms, "forms.first_report_month", int, 4, check=_is_month, why="月份 1–12"),
    )


def _is_month(value: int) -> bool:
    return 1 <= value <= 12


def _table(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[{key}] 应为一个表")
    return value


def _get(table: dict[str, Any], key: str, kind: type, default: Any = ..., *,
         check: Callable[[Any], bool] | None = None, why: str = "") -> Any:
    name = key.rsplit(".", 1)[-1]
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
    return {str: "字符串", int: "整数", float: "数字", bool: " true 或 false", list: "列表",
            dict: "表"}.get(kind, kind.__name__)


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


def _sqlite_relative(url: str, base: Path) -> str:
    """A relative SQLite path is relative to the config file, like every other path in it."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
        return prefix + str(base / url[len(prefix):])
    return url


_SHARE = (lambda x: 0 < x <= 1, "0–1 之间的比例（0.5 即 50%）")
_POINTS = (lambda n: 0 <= n <= 100, "0–100 分")
# What each scoring number means, checked as such: a share of the annual target, or points of the 100-point year.
_SCORING_RANGES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "q2_completion": _SHARE, "q3_completion": _SHARE, "task_points": _POINTS, "on_time_points": _POINTS,
    "on_time_deduction": _POINTS, "q4_task_points": _POINTS, "q4_cap": _POINTS, "briefing_points": _POINTS,
    "media_cap": _POINTS, "innovation_cap": _POINTS,
    "briefings_per_month": (lambda n: 1 <= n <= 1000, "1–1000 篇"),
}
_LEVELS = {"media_points": MEDIA_LEVELS, "innovation_points": INNOVATION_LEVELS}


def _scoring(table: dict[str, Any]) -> Scoring:
    defaults = Scoring()
    values: dict[str, Any] = {}
    for name, default in vars(defaults).items():
        key = f"scoring.{name}"
        if name in _LEVELS:
            values[name] = _level_points(_get(table, key, dict, dict(default)), key, _LEVELS[name])
        elif isinstance(default, tuple):
            values[name] = tuple(_get(table, key, list, list(default), why="不重复的月份 1–12",
                                      check=lambda xs: all(map(_is_month, xs)) and len(set(xs)) == len(xs)))
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
    if not isinstance(entries, list) or not entries:
        raise ConfigError("缺少 [[mailbox]]：请至少配置一个部门邮箱")
    boxes = tuple(_mailbox(entry, index, base) for index, entry in enumerate(entries))
    keys = [box.key for box in boxes]
    for key in keys:
        if keys.count(key) > 1:
            raise ConfigError(f"邮箱 key {key!r} 用了两次")
    return boxes


def _mailbox(entry: dict[str, Any], index: int, base: Path) -> Mailbox:
    at = f"mailbox[{index}]"
    pick = lambda name, kind, default=..., **kw: _get(entry, f"{at}.{name}", kind, default, **kw)  # noqa: E731
    source = pick("source", str, "imap", check=lambda s: s in SOURCES, why=" 或 ".join(SOURCES))
    box = Mailbox(
        key=pick("key", str), name=pick("name", str), address=pick("address", str).lower(), source=source,
        security=pick("security", str, "tls", check=lambda s: s in SECURITY, why=" 或 ".join(SECURITY)),
        host=pick("host", str, ""), port=pick("port", int, 993, check=lambda p: 0 < p < 65536, why="端口号 1–65535"),
        username=pick("username", str, ""), password_env=pick("password_env", str, ""),
        folder=pick("folder", str, "INBOX"),
        after_archive=pick("after_archive", str, "none", check=lambda a: a in AFTER_ARCHIVE,
                           why=" 或 ".join(AFTER_ARCHIVE)),
        move_to=pick("move_to", str, ""), batch=pick("batch", int, 200, check=lambda b: b > 0, why="正数"),
        path=base / pick("path", str) if source == "maildir" else None, ca_file=_ca_file(entry, f"{at}.ca_file", base),
    )
    if source == "imap":
        for name in ("host", "username", "password_env"):
            if not getattr(box, name):
                raise ConfigError(f"缺少 {at}.{name}（source = \"imap\" 时必填）")
        if box.security == "plain" and box.host not in LOOPBACK:
            raise ConfigError(f"{at}.security = \"plain\" 只允许用于本机回环地址，不能用于 {box.host}")
    if box.after_archive == "move" and not box.move_to:
        raise ConfigError(f"缺少 {at}.move_to（after_archive = \"move\" 时必填）")
    return box


def _ca_file(table: dict[str, Any], key: str, base: Path) -> Path | None:
    """A CA bundle to trust (a test or in-house CA), relative to the config file; None: the system's store."""
    name = _get(table, key, str, "", check=lambda p: p == "" or _holds_certificates(base / p),
                why="可读的 PEM 证书文件")
    return base / name if name else None


def _holds_certificates(path: Path) -> bool:
    try:
        return b"-----BEGIN CERTIFICATE-----" in path.read_bytes()
    except OSError:
        return False


def _units(entries: Any) -> tuple[Unit, ...]:
    if not isinstance(entries, list) or not entries:
        raise ConfigError("缺少 [[unit]]：请配置报送单位")
    units = []
    for index, entry in enumerate(entries):
        at = f"unit[{index}]"
        targets = _get(entry, f"{at}.targets", dict, {})
        for task, value in targets.items():
            if task not in TASKS:
                raise ConfigError(f"{at}.targets.{task}：未知的任务（可用的有：{'、'.join(TASKS)}）")
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"{at}.targets.{task} 应为 ≥ 0 的整数，而不是 {value!r}")
        units.append(Unit(
            name=_get(entry, f"{at}.name", str),
            aliases=tuple(_get(entry, f"{at}.aliases", list, [])),
            senders=tuple(s.lower() for s in _get(entry, f"{at}.senders", list, [])),
            targets=tuple((task, targets.get(task, 0)) for task in TASKS),
        ))
    return tuple(units)
