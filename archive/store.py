"""The raw store: message and attachment bytes on disk, addressed by SHA-256, written once, never modified."""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from parsers.errors import ConfigError, ServiceError

MESSAGES = "messages"
FILES = "files"
IDENTITY = "archive-id"  # the folder's identity, which its database holds too (archive/pairing.py)
IDENTITY_LENGTH = 36  # a UUID as text; the database's column is as long
WRITE_THREADS = 8
FOLDER_MODE = 0o700  # mail holds personal numbers: folders the archive makes are its owner's only (files: 0600)


class ArchiveUnreadable(ServiceError, OSError):
    """A file the database names cannot be read from the archive folder: one line saying what to check (a
    ServiceError, which a daemon's worker reports and retries), and an OSError still for the callers that pass
    over a file they cannot read."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class RawStore:
    """A folder of content-addressed files: messages/ab/<sha>.eml and files/ab/<sha>.

    A write goes to a temporary name, is synced and renamed into place, so a crash never leaves a half
    file under a real address. Writes run on a few threads while the caller goes on parsing; `sync`
    waits for them and syncs the folders that name them, so a batch is durable before its database
    commit. File creation and fsync wait on the disk, not the CPU: measured here, 3,000 small files were
    written and synced 1.7 times faster by 8 threads than one by one; the folders are synced on the same
    threads.
    """

    def __init__(self, root: Path):
        self.root = Path(root)
        self._pending: list[Future[Path]] = []
        self._pool: ThreadPoolExecutor | None = None

    def create(self) -> None:
        """Make the archive folder and its two halves, readable by their owner only (a folder already there
        keeps its mode: an administrator may have chosen it). Whether a missing folder may be made at all is the
        caller's to decide (bot.daemon.deps.open_deps refuses one when the database already holds mail)."""
        try:
            self.root.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
            for sub in (MESSAGES, FILES):
                (self.root / sub).mkdir(mode=FOLDER_MODE, exist_ok=True)
        except OSError as error:
            raise ServiceError(write_problem(self.root, error)) from error

    def looks_empty(self) -> bool:
        """Whether the folder is missing, or holds no messages/ (an empty mount point: its disk not mounted)."""
        return not (self.root / MESSAGES).is_dir()

    def holds_messages(self) -> bool:
        """Whether any message has been stored here (the first one found is enough)."""
        return next((self.root / MESSAGES).glob("??/*.eml"), None) is not None

    def identity(self) -> str | None:
        """The folder's identity (archive/pairing.py); None while it has none. A file damaged or edited by hand
        is refused, naming it."""
        path = self.root / IDENTITY
        try:
            written = path.read_bytes().strip()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as error:
            raise ConfigError(f"无法读取归档目录的标识文件 {path}（{error}）：请检查它的属主和权限") from None
        if len(written) > IDENTITY_LENGTH or not written.isascii():
            raise ConfigError(f"归档目录的标识文件 {path} 已损坏或被改动：请从备份恢复它")
        return written.decode("ascii") or None

    def claim_identity(self, wanted: str) -> str:
        """The folder's identity: `wanted`, written durably, unless it has one already (another process may
        write it at the same moment: the first written is kept)."""
        path = self.root / IDENTITY
        try:
            fd, temp = tempfile.mkstemp(dir=self.root, prefix=".tmp-")
            try:
                try:
                    os.write(fd, f"{wanted}\n".encode("ascii"))
                    os.fsync(fd)
                finally:
                    os.close(fd)
                os.link(temp, path)  # never over one already there
            except FileExistsError:
                pass
            finally:
                os.unlink(temp)
            _fsync(self.root)
        except OSError as error:
            raise ServiceError(write_problem(self.root, error)) from error
        return self.identity() or wanted

    def message_path(self, sha: str) -> Path:
        return self.root / MESSAGES / sha[:2] / f"{sha}.eml"

    def file_path(self, sha: str) -> Path:
        return self.root / FILES / sha[:2] / sha

    def put_message(self, data: bytes, sha: str | None = None) -> str:
        sha = sha or sha256_hex(data)
        self._put(self.message_path(sha), data)
        return sha

    def put_file(self, data: bytes, sha: str | None = None) -> str:
        sha = sha or sha256_hex(data)
        self._put(self.file_path(sha), data)
        return sha

    def read_message(self, sha: str) -> bytes:
        return self._read(self.message_path(sha))

    def read_file(self, sha: str) -> bytes:
        return self._read(self.file_path(sha))

    def _read(self, path: Path) -> bytes:
        try:
            return path.read_bytes()
        except OSError as error:
            raise ArchiveUnreadable(self._read_problem(path, error)) from error

    def _read_problem(self, path: Path, error: OSError) -> str:
        if self.looks_empty():
            return f"无法读取归档目录 {self.root}：它已不存在或是空的（磁盘被卸载？）：请检查挂载"
        if isinstance(error, FileNotFoundError):
            return f"归档中缺少文件 {path}：请运行 mailroom verify 核对，并从备份恢复"
        return f"无法读取归档中的文件 {path}：[Errno {error.errno}] {error.strerror}"

    def _put(self, path: Path, data: bytes) -> None:
        if path.exists():
            return  # content-addressed: the same address always holds the same bytes
        if self._pool is None:
            self._pool = ThreadPoolExecutor(WRITE_THREADS, thread_name_prefix="raw-store")
        self._pending.append(self._pool.submit(_write_durably, path, data))

    def sync(self) -> None:
        """Wait for every write since the last call, then make the folders naming them durable."""
        pending, self._pending = self._pending, []
        try:
            folders = {future.result() for future in pending}
            if self._pool is not None:  # a batch names up to 256 folders: their syncs wait on the disk together
                list(self._pool.map(_fsync, folders))
        except OSError as error:
            raise ServiceError(write_problem(self.root, error)) from error

    def close(self) -> None:
        self.sync()
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


def write_problem(root: Path, error: OSError) -> str:
    """Why the archive folder cannot be written, in one Chinese line that says what to do; the system's own
    words in brackets."""
    said = f"[Errno {error.errno}] {error.strerror}" if error.errno is not None and error.strerror else str(error)
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        full = "磁盘已满" if error.errno == errno.ENOSPC else "磁盘配额已用完"
        return (
            f"无法写入归档目录 {root}：{full}（{said}）：请清理该磁盘上归档以外的文件（旧日志、备份、临时文件等），"
            "或把归档目录移到更大的磁盘；归档中的文件是邮件的原件，不可删除"
        )
    if error.errno == errno.EROFS:
        return f"归档目录只读（{root}）：请检查挂载和权限"
    if error.errno in (errno.EACCES, errno.EPERM):
        return f"归档目录不可写（{root}，没有权限）：请检查挂载和权限"
    if error.errno == errno.ENOENT:
        return f"无法写入归档目录 {root}：其中的文件夹已不存在（磁盘被卸载？）：请检查挂载，再运行 mailroom verify 核对"
    return f"无法写入归档目录 {root}：{said}"


def _write_durably(path: Path, data: bytes) -> Path:
    # Not `parents`: messages/ and files/ are made by `create`; one gone since (its disk unmounted) is an error,
    # not a new, empty archive under the mount point.
    path.parent.mkdir(mode=FOLDER_MODE, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")  # mode 0600, kept by the rename
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(temp)
        raise
    os.close(fd)
    os.replace(temp, path)
    return path.parent


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
