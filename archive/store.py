"""The raw store: message and attachment bytes on disk, addressed by SHA-256, written once, never modified."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from parsers.errors import ServiceError

MESSAGES = "messages"
FILES = "files"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class RawStore:
    """A folder of content-addressed files: messages/ab/<sha>.eml and files/ab/<sha>.

    A write goes to a temporary name and is renamed into place, so a crash never leaves a half file
    under a real address. `put` does not fsync; `sync` does, for every file written since the last
    call, so a batch pays for its durability once, before its database commit.
    """

    def __init__(self, root: Path):
        self.root = Path(root)
        self._unsynced: list[Path] = []

    def create(self) -> None:
        for sub in (MESSAGES, FILES):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

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
        return self.message_path(sha).read_bytes()

    def read_file(self, sha: str) -> bytes:
        return self.file_path(sha).read_bytes()

    def _put(self, path: Path, data: bytes) -> None:
        if path.exists():
            return  # content-addressed: the same address always holds the same bytes
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temp, path)
        except OSError as error:
            raise ServiceError(f"cannot write {path}: {error}") from error
        self._unsynced.append(path)

    def sync(self) -> None:
        """Make every file written since the last call durable, and the folders that name them."""
        paths, self._unsynced = self._unsynced, []
        folders = {path.parent for path in paths}
        try:
            for path in paths:
                _fsync(path, os.O_RDONLY)
            for folder in folders:
                _fsync(folder, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as error:
            raise ServiceError(f"cannot sync the archive: {error}") from error


def _fsync(path: Path, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
