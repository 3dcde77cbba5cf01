"""The reader sandbox: messages are parsed and their attachments read in worker processes with a memory
limit and a time limit, so no input — a workbook that makes calamine allocate without end and abort, a
reader that loops — can stop, stall or swamp ingest. Workers are reused across messages (both cores
work) and replaced when one dies (pebble).

A message is first derived whole in one task. If that worker dies or runs out of time, the message is
parsed again alone and each attachment is read in a task of its own, so only the attachment that kills
its reader becomes a problem ("读取程序异常终止/超时"); if parsing itself dies, the message is kept raw with
a problem. Either way the message is archived and the batch goes on.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import multiprocessing
import os
import pickle
import shutil
import tempfile
import threading
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from pathlib import Path
from typing import TypeVar

from pebble import ProcessExpired, ProcessPool

from bot.services.readers import SandboxLimits, limit_memory, why
from parsers.derive import (
    Derived,
    Incoming,
    Recognizer,
    assemble,
    derive_message,
    parse_and_recognise,
    raw_only,
    read_one,
)
from parsers.errors import ServiceError
from parsers.forms import unreadable
from parsers.records import Attachment

log = logging.getLogger(__name__)
READER_DIED = "读取程序异常终止或超时（{why}），已归档原件，请人工核对"
PARSER_DIED = "解析此邮件的程序异常终止或超时（{why}），已归档原件，请工作人员人工核对"
# What a dead or late worker looks like to the pool.
WORKER_FAILED = (ProcessExpired, FutureTimeout)
T = TypeVar("T")


# The recognizer crosses to the workers once per version, as a file, not with every task: with 2,900
# units it pickles to 450 KB and 13 ms, which per message was most of what the main process did.
@functools.lru_cache(maxsize=4)
def _recognizer(path: str) -> Recognizer:
    return pickle.loads(Path(path).read_bytes())


def _derive_message(recognizer: str, item: Incoming) -> Derived:
    return derive_message(_recognizer(recognizer), item)


def _parse_and_recognise(recognizer: str, item: Incoming) -> tuple:
    return parse_and_recognise(_recognizer(recognizer), item)


def _read_one(recognizer: str, attachment: Attachment, unit: str | None, month: str | None) -> tuple:
    return read_one(_recognizer(recognizer), attachment, unit, month)


FOLDER_PREFIX = "mailroom-readers-"  # then the process's id: a folder of one killed (kill -9) is told by it


def _sweep_folders_of_the_dead() -> None:
    """Remove the readers' folders that processes killed before they could remove them left behind (a kill -9,
    an OOM kill: one a crash, for good, each holding the configuration's recognizer)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}*-*"):
        pid = folder.name.removeprefix(FOLDER_PREFIX).split("-", 1)[0]
        try:  # another process sweeping at the same moment may have removed it
            if (
                pid.isdigit()
                and int(pid) != os.getpid()
                and not _alive(int(pid))
                and folder.stat().st_uid == os.getuid()
            ):
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    return True


class Sandbox:
    """A pool of reader processes, started on first use; `derive(recognizer, items)` is ingest's Deriver."""

    failed = WORKER_FAILED  # what `run` raises when its worker dies or overruns

    def __init__(self, limits: SandboxLimits = SandboxLimits()):
        self.limits = limits
        self._pool: ProcessPool | None = None
        self._folder: tempfile.TemporaryDirectory | None = None  # the recognizers the workers read
        self._shipped: weakref.WeakKeyDictionary[Recognizer, str] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()  # the daemon's mailbox workers and the web app's requests share one

    def _ship(self, recognizer: Recognizer) -> str:
        """The file the workers read `recognizer` from, written on its first use (readable by us alone;
        written before any task names it, so never read half-written)."""
        with self._lock:
            path = self._shipped.get(recognizer)
            if path is None:
                if self._folder is None:
                    _sweep_folders_of_the_dead()
                    self._folder = tempfile.TemporaryDirectory(prefix=f"{FOLDER_PREFIX}{os.getpid()}-")
                data = pickle.dumps(recognizer, protocol=pickle.HIGHEST_PROTOCOL)
                path = str(Path(self._folder.name) / f"{hashlib.sha256(data).hexdigest()[:24]}.pickle")
                if not os.path.exists(path):  # an equal recognizer shipped before: the file stands
                    Path(path).write_bytes(data)
                self._shipped[recognizer] = path
            return path

    def _workers(self) -> ProcessPool:
        with self._lock:  # two first uses at once start one pool
            if self._pool is None:
                context = multiprocessing.get_context("forkserver")  # workers never inherit our threads
                context.set_forkserver_preload(["parsers.derive"])
                self._pool = ProcessPool(
                    max_workers=self.limits.workers,
                    initializer=limit_memory,
                    initargs=(self.limits.memory_mb,),
                    context=context,
                )
            return self._pool

    def derive(self, recognizer: Recognizer, items: Sequence[Incoming]) -> list[Derived]:
        return self.begin(recognizer, items)()

    def begin(self, recognizer: Recognizer, items: Sequence[Incoming]) -> Callable[[], list[Derived]]:
        """The items handed to the workers at once; what is returned waits for their results (ingest's
        Beginner: the workers read while the caller writes the batch before)."""
        try:
            futures = self._schedule(recognizer, items)
        except BrokenProcessPool:
            return partial(self._again, recognizer, items)

        def results() -> list[Derived]:
            try:
                return self._results(futures, recognizer, items)
            except BrokenProcessPool:
                return self._again(recognizer, items)

        return results

    def _again(self, recognizer: Recognizer, items: Sequence[Incoming]) -> list[Derived]:
        """The pool itself died (its workers could not start): a new one, once."""
        log.warning("读取进程池已损坏，正在启动新的进程池")
        self.close()
        try:
            return self._results(self._schedule(recognizer, items), recognizer, items)
        except BrokenProcessPool as error:
            raise ServiceError(f"读取程序无法启动：{error}") from error

    def _schedule(self, recognizer: Recognizer, items: Sequence[Incoming]) -> list[Future]:
        pool, shipped = self._workers(), self._ship(recognizer)
        return [pool.schedule(_derive_message, (shipped, item), timeout=self.limits.seconds) for item in items]

    def _results(self, futures: list[Future], recognizer: Recognizer, items: Sequence[Incoming]) -> list[Derived]:
        return [self._result(future, recognizer, item) for future, item in zip(futures, items)]

    def _result(self, future: Future, recognizer: Recognizer, item: Incoming) -> Derived:
        try:
            return future.result()
        except WORKER_FAILED as error:
            log.warning("识别邮件失败（%s）：改为逐个读取其附件", why(error))
            return self._careful(recognizer, item)

    def _careful(self, recognizer: Recognizer, item: Incoming) -> Derived:
        pool, shipped = self._workers(), self._ship(recognizer)
        try:
            parsed, recognition, arrival = pool.schedule(
                _parse_and_recognise, (shipped, item), timeout=self.limits.seconds
            ).result()
        except WORKER_FAILED as error:
            log.error("解析邮件失败（%s）：已保存原始邮件", why(error))
            return raw_only(recognizer, item, PARSER_DIED.format(why=why(error)))
        futures = [
            pool.schedule(
                _read_one, (shipped, attachment, recognition.unit, recognition.month), timeout=self.limits.seconds
            )
            for attachment in parsed.attachments
        ]
        found = [
            (n, reading)
            for n, (attachment, future) in enumerate(zip(parsed.attachments, futures))
            for reading in self._readings(future, attachment)
        ]
        return assemble(recognizer, item, parsed, recognition, arrival, found, ())  # its document made in _write

    def _readings(self, future: Future, attachment: Attachment) -> tuple:
        try:
            return future.result()
        except WORKER_FAILED as error:
            log.error("读取附件 %r 失败（%s）", attachment.filename, why(error))
            return (unreadable(attachment.filename, READER_DIED.format(why=why(error))),)

    def run(self, function: Callable[..., T], *args: object) -> T:
        """One call in a worker, within the limits (the benchmark's way in)."""
        return self._workers().schedule(function, args, timeout=self.limits.seconds).result()

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.stop()
                self._pool.join(timeout=5)
                self._pool = None
            if self._folder is not None:
                self._folder.cleanup()
                self._folder = None
                self._shipped.clear()
