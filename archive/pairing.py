"""The database and the archive folder as one pair. The folder's identity, a random id in its archive-id file, is
held by the database too (archive_identity), so a command given another database than the archive's (the
config's own SQLite file where MAILROOM_DATABASE_URL was meant, in a shell that does not set it) or another
folder than the database's (a mistyped path, a disk not mounted) is refused before it archives, and answers,
every message again into the wrong one. Only `mailroom init --pair` pairs them against that, on purpose."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from sqlalchemy import delete, func, inspect, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from archive.db import Database
from archive.models import ArchiveIdentity, Message, Spooled
from archive.store import RawStore
from parsers.errors import ConfigError, ServiceError

log = logging.getLogger(__name__)
# What every refusal ends with: how to pair them when that is meant.
PAIR_ON_PURPOSE = "mailroom init --pair"
Tables = tuple[type[Message] | type[Spooled], ...]  # the tables holding mail that a schema has (Spooled from 0019)
RETIRED = "copied-away-"  # the identity of a database `mailroom copy-database` copied into another (retire)


def pair(db: Database, store: RawStore, shown_url: str, *, adopt: bool = False) -> None:
    """Refuse (ConfigError) a database and an archive folder that are not each other's, then make the folder if
    it is missing and pair the two. Refused unless `adopt`: a database holding mail beside a folder that is
    missing or empty; a folder paired with another database, or a database holding mail and no identity beside
    a folder that has one (a database restored from before identities: paired on purpose); a folder without an
    identity holding none of the database's newest mail (another archive copied); a database holding no mail
    beside a folder holding some that is not its own (a first poll stopped before its first commit leaves a
    folder of its own). An archive and a database of a version before identities are paired by the first
    command, as is a new pair. What `adopt` paired that would have been refused is logged for the operator."""
    check_pair(db, store, shown_url, adopt=adopt)
    bind_pair(db, store)


def check_pair(db: Database, store: RawStore, shown_url: str, *, adopt: bool = False) -> None:
    """pair's refusals alone (ConfigError; logged instead when `adopt`), which a command asks before it upgrades the
    database: refused, it has changed nothing, and a database restored from before an upgrade stays one its own
    release opens (upgraded first, the release rolled back to could not open it). A table an older schema lacks is
    an empty one."""
    try:
        tables = set(inspect(db.engine).get_table_names())
    except SQLAlchemyError as error:  # the first look at the database: said as an upgrade says it
        raise db.unopened(error) from error
    held = tuple(table for table in (Message, Spooled) if table.__tablename__ in tables)
    with db.session() as session:
        paired = session.scalar(select(ArchiveIdentity.archive_id)) if ArchiveIdentity.__tablename__ in tables else None
        holds = any(session.scalar(select(table.id).limit(1)) is not None for table in held)
        try:
            _refuse_unpaired(session, store, shown_url, store.identity(), paired, holds, held)
        except ConfigError as refusal:
            if not adopt:
                raise
            log.warning("已按要求将数据库 %s 与归档目录 %s 配对（此前：%s）", shown_url, store.root, refusal)


def bind_pair(db: Database, store: RawStore) -> None:
    """The folder made if it is missing and the two paired, the database's schema holding identities (upgraded),
    once check_pair let them be."""
    own = store.identity()
    with db.session() as session:
        paired = session.scalar(select(ArchiveIdentity.archive_id))
    if paired is not None and paired.startswith(RETIRED):  # taken back on purpose: never the folder's identity
        paired = None
    store.create()
    if own is None:
        wanted = paired or str(uuid.uuid4())
        if paired is None:  # the database first: a stop before the file is written leaves a pair the next one ends
            _record(db, wanted)
            paired = wanted
        try:
            own = store.claim_identity(wanted)
        except ServiceError as error:  # read-only, full, no hard links: the next command that can pairs them
            log.warning("归档目录尚未与数据库配对：%s", error)
            return
    if own != paired:
        _record(db, own)


def retire(db: Database) -> None:
    """Mark a database whose rows were copied into another (`mailroom copy-database`) as no longer the archive's:
    its identity becomes RETIRED's, so a command given it beside the folder (a shell without the new
    MAILROOM_DATABASE_URL) is refused, saying so, instead of archiving and answering mail into it."""
    _record(db, RETIRED + uuid.uuid4().hex[: 36 - len(RETIRED)])


def _record(db: Database, identity: str) -> None:
    """The database's one identity row, `identity`; two processes pairing a new pair at once write the same."""
    with db.session() as session:
        session.execute(delete(ArchiveIdentity).where(ArchiveIdentity.archive_id != identity))
        if session.get(ArchiveIdentity, identity) is None:
            session.add(ArchiveIdentity(archive_id=identity))
        try:
            session.commit()
        except IntegrityError:  # the other process inserted it first
            session.rollback()


def _refuse_unpaired(
    session: Session,
    store: RawStore,
    url: str,
    own: str | None,
    paired: str | None,
    held: bool,
    tables: Tables,
) -> None:
    if paired is not None and paired.startswith(RETIRED):
        raise ConfigError(
            f"数据库 {url} 已用 mailroom copy-database 复制到新的数据库，不再使用：请检查 MAILROOM_DATABASE_URL 或 "
            "[database] url 是否指向新的数据库（新开的终端中是否未设置该变量）；"
            f"若确要改回使用这个旧数据库（复制之后的邮件和操作都不在其中），请运行 {PAIR_ON_PURPOSE}"
        )
    if store.looks_empty():
        if held:
            count = sum(session.scalar(select(func.count()).select_from(table)) or 0 for table in tables)
            raise ConfigError(
                f"归档目录 {store.root} {_what_is_there(store.root)}，而数据库中已有 {count} 封邮件：请检查 "
                "[archive] path 或 MAILROOM_ARCHIVE_PATH 是否写错、归档所在的磁盘是否没有挂载；"
                f"若确要在这里新建归档目录，请运行 {PAIR_ON_PURPOSE}"
            )
        return
    if own is None and held and not _holds_any_of(session, store, tables):
        raise ConfigError(
            f"归档目录 {store.root} 中没有数据库 {url} 中最近几封邮件的原始文件，它也没有归档标识：这不是该数据库的"
            "归档目录（是另一套归档的副本？）；请检查 [archive] path、MAILROOM_ARCHIVE_PATH 与 [database] url、"
            f"MAILROOM_DATABASE_URL；若确要让这个数据库使用这个归档目录，请运行 {PAIR_ON_PURPOSE}"
        )
    if own is not None and own != paired and (paired is not None or held):
        theirs = f"数据库记录的归档标识为 {paired}" if paired else "数据库中已有邮件，却没有归档标识"
        raise ConfigError(
            f"数据库 {url} 与归档目录 {store.root} 不是同一套（{theirs}，该目录的为 {own}）："
            "请检查 [database] url、MAILROOM_DATABASE_URL 与 [archive] path、MAILROOM_ARCHIVE_PATH 是否指向同一套归档；"
            f"若确要让这个数据库使用这个归档目录，请运行 {PAIR_ON_PURPOSE}"
        )
    if not held and (own is None or own != paired) and store.holds_messages():
        raise _empty_beside_archive(url, store)


def refuse_new_database(store: RawStore, shown_url: str) -> None:
    """Refuse (ConfigError), before the file is made, a database yet to be created beside an archive folder
    holding mail: `pair` would refuse it once made, leaving an empty database file behind."""
    if store.holds_messages():
        raise _empty_beside_archive(shown_url, store)


def _empty_beside_archive(url: str, store: RawStore) -> ConfigError:
    return ConfigError(
        f"数据库 {url} 中没有任何邮件，而归档目录 {store.root} 中已有归档的邮件：请检查 [database] url "
        "或环境变量 MAILROOM_DATABASE_URL 是否指向正在使用的数据库（新开的终端中是否未设置该变量）；"
        "若要换用这个数据库，请用原来的数据库运行 mailroom copy-database 把数据复制过来；"
        f"若确要从这个空数据库重新开始（已结账的年度、工作人员的决定和账号都不在其中），请运行 {PAIR_ON_PURPOSE}"
    )


def _holds_any_of(session: Session, store: RawStore, tables: Tables, newest: int = 3) -> bool:
    """Whether the folder holds the raw file of any of the database's newest messages (a folder without an
    identity: of a version before identities, or a copy of another archive without it)."""
    shas = [
        sha for table in tables for sha in session.scalars(select(table.sha256).order_by(table.id.desc()).limit(newest))
    ]
    return any(store.message_path(sha).exists() for sha in shas)


def _what_is_there(root: Path) -> str:
    if not root.exists():
        return "不存在"
    return "是空的（其中没有 messages 文件夹）" if root.is_dir() else "不是文件夹"
