"""Opening the database and bringing its schema up to date with the Alembic migrations."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import sys
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from parsers.errors import ConfigError, ServiceError

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")
# The newest migration. A database already there is opened without loading Alembic (a third of a second
# on every command); tests/test_migrations.py holds this to the migrations folder's own head.
SCHEMA_HEAD = "0023"
# A PostgreSQL server that takes the connection and says nothing (a firewall dropping packets, a host gone)
# must not hang a command or a worker for ever: the connection is given up after CONNECT_SECONDS, and TCP
# keepalives end one whose server vanished mid-query within about a minute (libpq's parameters; one written
# in the URL wins).
CONNECT_SECONDS = 10
POSTGRES_CONNECTION = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}


class Database:
    """An engine and a session factory; `upgrade()` applies any migration not yet applied.

    `create_folders=False` refuses a SQLite file whose folder does not exist (ConfigError) instead of making
    the folder: the commands open the archive that way (bot.daemon.deps.open_deps), because a mistyped path
    would otherwise be a new, empty archive that every command then reports on as if it were the real one.
    The default makes it, for callers that name a scratch folder of their own (a benchmark, a test)."""

    def __init__(self, url: str, *, create_folders: bool = True):
        self.url = url
        if (file := sqlite_file(url)) is not None:
            _create_private(Path(file), create_folders)
        # hide_parameters: an error's text never carries the row it failed on (a registry's names, IDs and
        # phones would reach the log and `status` whole)
        try:
            self.engine: Engine = create_engine(url, future=True, connect_args=_connect_args(url), hide_parameters=True)
        except (ArgumentError, NoSuchModuleError, ImportError, ValueError) as error:
            # a URL the configuration did not check (bot.config does): SQLAlchemy's words name no key
            raise ConfigError(
                f"数据库地址写法不对（[database] url 或 MAILROOM_DATABASE_URL）：{_masked(url)!r}（{error}）；"
                "应写作 sqlite:///路径 或 postgresql+psycopg://用户@主机/库"
            ) from error
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        event.listen(self.engine, "before_cursor_execute", _storable_parameters, retval=True)
        self.session: sessionmaker[Session] = sessionmaker(self.engine, expire_on_commit=False)

    def upgrade(self) -> bool:
        """Bring the schema to the newest revision; True when anything was applied."""
        if self.revision() == SCHEMA_HEAD:
            return False
        logging.getLogger("alembic").setLevel(logging.WARNING)  # its plugin set-up lines (at import), not ours
        from alembic import command
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        config = _alembic_config()
        script = ScriptDirectory.from_config(config)
        head = script.get_current_head()
        try:
            with self.engine.begin() as connection:
                _one_migrator(connection)
                current = MigrationContext.configure(connection).get_current_revision()
                if current == head:
                    return False
                if current is not None and current not in {step.revision for step in script.walk_revisions()}:
                    raise ConfigError(_unknown_revision(current, head))
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
            if current is None:
                log.info("数据库已建立（版本 %s）", head)
            else:  # seen by the operator (a command logs warnings only): the schema changed under them
                log.warning("数据库已升级：%s → %s", current, head)
        except SQLAlchemyError as error:
            raise self.unopened(error) from error
        return True

    def unopened(self, error: SQLAlchemyError) -> ServiceError:
        """The database could not be opened (its server down, its schema missing), in the operator's words."""
        return ServiceError(f"无法打开数据库 {self.engine.url!r}：{self._why_not(error)}")

    def _why_not(self, error: SQLAlchemyError) -> str:
        """Why the schema could not be made, in the driver's words; in the operator's when the URL's search_path
        names a schema that is not there (PostgreSQL says only "no schema has been selected to create in")."""
        if getattr(getattr(error, "orig", None), "sqlstate", None) != INVALID_SCHEMA_NAME:
            return driver_says(error)
        wanted = _search_path(self.engine.url.query.get("options"))
        if not wanted:
            return (
                "search_path 中的模式（schema）都不存在，无处建表：请先创建（CREATE SCHEMA 模式名;），"
                "或改正地址中的 search_path"
            )
        return (
            f"地址中 search_path 所指的模式（schema）{wanted} 不存在，无处建表：请先在该数据库中创建它"
            f"（CREATE SCHEMA {wanted};），或改正地址中的 search_path"
        )

    def revision(self) -> str | None:
        """The schema's revision as recorded in the database; None for a new database."""
        try:
            with self.engine.connect() as connection:
                return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except SQLAlchemyError:  # no such table yet (or no database yet): upgrade() says which
            return None

    @functools.cached_property
    def lock_namespace(self) -> str:
        """What names this archive among others on the same server: PostgreSQL's database and schema."""
        if self.engine.dialect.name != "postgresql":
            return ""
        with self.engine.connect() as connection:
            return connection.execute(text("SELECT current_database() || '/' || current_schema()")).scalar_one()

    def dispose(self) -> None:
        self.engine.dispose()


def _unknown_revision(current: str, head: str | None) -> str:
    """Why a schema at a revision this release does not have is not opened: a newer release upgraded it (and
    this one was rolled back to), or the URL names another program's database."""
    if head is not None and current.isdigit() and head.isdigit() and int(current) > int(head):  # 0001, 0002, …
        return (
            f"数据库已由更新的版本升级（版本 {current}），本版本只支持到 {head}：请使用新版本的 mailroom，"
            "或从备份恢复数据库"
        )
    return (
        f"数据库的结构版本 {current} 不是本版本所知的任何版本（本版本只支持到 {head}）：请检查 [database] url "
        "或 MAILROOM_DATABASE_URL 是否指向 mailroom 的数据库，或从备份恢复数据库"
    )


# PostgreSQL's "no schema has been selected to create in": none of the search_path's schemas exists.
INVALID_SCHEMA_NAME = "3F000"


def _search_path(options: object) -> str:
    """The first schema of a search_path set in the URL's libpq `options` ("-csearch_path=mailroom")."""
    text = " ".join(options) if isinstance(options, tuple) else str(options or "")
    found = re.search(r"search_path\s*=\s*([^\s,]+)", text)
    return found.group(1).strip('"') if found else ""


def _masked(url: str) -> str:
    """`url` with any password in it replaced by ***."""
    return re.sub(r"^([^:/]+://[^:/@]*:)[^@/]*@", r"\1***@", url)


def driver_says(error: BaseException) -> str:
    """The driver's own first line (psycopg's "connection failed: … Connection refused"), without
    SQLAlchemy's wrapping, the statement, or its "Background on this error" link: an error is one line."""
    said = str(getattr(error, "orig", None) or error).strip()
    return said.splitlines()[0] if said else type(error).__name__


def database_problem(error: BaseException, database: str | None = None) -> str | None:
    """What a database error the operator can act on means, in one Chinese line saying what to do (a full disk,
    a lock another program holds, a read-only file, a lost connection), the driver's own words in brackets
    (never the statement); None for any other.
    `error`: SQLAlchemy's or the driver's own; `database`: the SQLite file, when the caller knows it."""
    driver = getattr(error, "orig", None) or error
    said = driver_says(error)
    name = getattr(driver, "sqlite_errorname", None) or ""
    state = getattr(driver, "sqlstate", None)
    if state == "53100":  # PostgreSQL's disk_full
        return f"数据库所在磁盘已满：请清理数据库服务器的磁盘空间（{said}）"
    if _connection_lost(error, driver, state):
        return (
            "与数据库服务器的连接中断或无法建立：请检查数据库服务器是否在运行、网络是否通畅；"
            f"后台服务会自动重试，命令请在恢复后重新运行（{said}）"
        )
    if name.startswith("SQLITE_FULL") or "database or disk is full" in said:
        return f"数据库所在磁盘已满：请清理磁盘空间（{f'{database}：' if database else ''}{said}）"
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "database is locked" in said:
        return (
            "数据库被另一个程序锁定：请检查是否有其他程序（如备份、另一个 mailroom）正在使用"
            f"{f' {database}' if database else '数据库文件'}（{said}）"
        )
    if name.startswith("SQLITE_READONLY") or "readonly database" in said:
        return f"数据库只读：请检查{f' {database} ' if database else '数据库文件'}及其所在文件夹的挂载和权限（{said}）"
    return None


# PostgreSQL's connection_exception class (08…) and its operator_intervention codes for a server shutting
# down, restarting or dropping an idle session (57P01…57P05).
_CONNECTION_STATES = ("08", "57P0")


def _connection_lost(error: BaseException, driver: BaseException, state: str | None) -> bool:
    """Whether the database server went away or cannot be reached (restarted, stopped, the network cut):
    SQLAlchemy saw a disconnect, PostgreSQL said so, or libpq failed on the client side (psycopg's
    OperationalError with no SQLSTATE: "consuming input failed: server closed the connection unexpectedly",
    "connection failed: … Connection refused")."""
    if getattr(error, "connection_invalidated", False) or (state or "").startswith(_CONNECTION_STATES):
        return True
    psycopg = sys.modules.get("psycopg")  # loaded when the error is one of its own
    return psycopg is not None and isinstance(driver, psycopg.OperationalError) and state is None


def sqlite_file(url: str) -> str | None:
    """The file of a SQLite database URL, else None."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url.endswith(":memory:"):
        return None
    return url.removeprefix(prefix).split("?", 1)[0]


def _create_private(path: Path, create_folders: bool) -> None:
    """A new SQLite file is made empty with mode 0600 before SQLite opens it (it holds personal numbers and
    password hashes); SQLite gives its -wal and -shm files the same mode. A file already there is left as
    it is. Its folder is made only when `create_folders`; else a missing one is refused, naming it."""
    if create_folders:
        path.parent.mkdir(parents=True, exist_ok=True)
    elif not path.parent.is_dir():
        raise ConfigError(
            f"数据库文件 {path} 所在的文件夹 {path.parent} 不存在：请检查 [database] url 或 MAILROOM_DATABASE_URL "
            "是否写错；若要在这里新建数据库，请先创建该文件夹，或运行 mailroom init"
        )
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _one_migrator(connection: Connection) -> None:
    """Two processes starting on a new database (`serve` and a command typed beside it) must not both
    migrate it: the second waits for the first, then finds the schema current."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.execute(
            text(
                "SELECT pg_advisory_xact_lock(hashtextextended("
                "'mailroom:migrate:' || current_database() || '/' || current_schema(), 0))"
            )
        )


def _alembic_config():
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


# What no database column may hold: PostgreSQL refuses NUL in text, and neither database can encode a lone
# surrogate (what a broken byte decoded with surrogateescape becomes).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable_parameters(_connection, _cursor, statement: str, parameters, _context, executemany: bool):
    """Every text bound for the database, from any table or statement, with NUL and lone surrogates
    removed: the same text on both databases, and no message whose header holds a NUL can fail a batch."""
    if executemany and isinstance(parameters, list):  # (a batched INSERT … VALUES sends one dict)
        return statement, [storable(row) for row in parameters]
    return statement, storable(parameters)


def storable(row):
    """A row of parameters (a dict, list or tuple) with NUL and lone surrogates removed from its texts."""
    values = row.values() if isinstance(row, dict) else row if isinstance(row, (list, tuple)) else ()
    if not any(isinstance(value, str) and _UNSTORABLE.search(value) for value in values):
        return row  # nearly always: nothing to copy
    clean = lambda value: _UNSTORABLE.sub("", value) if isinstance(value, str) else value  # noqa: E731
    if isinstance(row, dict):
        return {key: clean(value) for key, value in row.items()}
    return type(row)(clean(value) for value in row)


def _connect_args(url: str) -> dict[str, int]:
    """The connection's own limits: PostgreSQL's CONNECT_SECONDS and keepalives, but for those the URL sets."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return {}
    wanted = {"connect_timeout": CONNECT_SECONDS, **POSTGRES_CONNECTION}
    return {name: value for name, value in wanted.items() if name not in parsed.query}


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets `mailroom search` read while a poll writes; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
