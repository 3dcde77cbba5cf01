"""Reader processes: their limits, how a failed one is told, and one call in a child forked for it.

The daemon and the web app read files from outside in the reader sandbox's pool (bot/services/sandbox.py).
`mailroom inspect` reads a clerk's files once: a fork of the command, with everything it needs already
loaded, starts in a few milliseconds where the pool's fork server starts a new interpreter (and pebble
alone takes 20 ms to import). Either way a file that makes its reader abort ends that child, not the
caller: calamine aborts the whole process when an allocation fails, as a broken .xls or a workbook
claiming 10^12 cells makes it."""

from __future__ import annotations

import faulthandler
import multiprocessing
import os
import resource
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class SandboxLimits:
    memory_mb: int = 2048  # address space of a reader (RLIMIT_AS)
    seconds: float = 120.0  # wall time of one task: a message, or one attachment
    workers: int = 2


def limit_memory(megabytes: int) -> None:
    limit = megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def why(error: BaseException) -> str:
    """A reader's failure in a few words of Chinese: its exit code when it died (−6: it aborted), else late."""
    exitcode = getattr(error, "exitcode", None)
    return "超时" if exitcode is None else f"进程退出码 {exitcode}"


class ReaderDied(Exception):
    """The forked reader ended without an answer."""

    def __init__(self, exitcode: int | None):
        super().__init__(f"the reader ended with exit code {exitcode}")
        self.exitcode = exitcode


class Forked:
    """`run(function, *args)` in a child forked for that one call, within the limits. For a command, which
    has no threads of its own to fork with."""

    failed = (ReaderDied, FutureTimeout)  # what `run` raises when the child dies or overruns

    def __init__(self, limits: SandboxLimits = SandboxLimits()):
        self.limits = limits

    def run(self, function: Callable[..., T], *args: object) -> T:
        context = multiprocessing.get_context("fork")
        answer, sending = context.Pipe(duplex=False)
        child = context.Process(target=_child, args=(sending, self.limits.memory_mb, function, args), daemon=True)
        child.start()
        sending.close()  # the child holds its end: when it dies, reading here ends
        try:
            if not answer.poll(self.limits.seconds):
                raise FutureTimeout
            return answer.recv()
        except EOFError:
            child.join()
            raise ReaderDied(child.exitcode) from None
        finally:
            answer.close()
            child.kill()
            child.join()


def _child(sending: Connection, megabytes: int, function: Callable[..., T], args: tuple) -> None:
    """In the child: the limits, no standard error (an aborting reader prints its backtrace there, under the
    clerk's answer; that it died is told in Chinese by the caller) nor faulthandler's copy of it, the call,
    its answer."""
    limit_memory(megabytes)
    faulthandler.disable()
    with open(os.devnull, "wb") as nowhere:
        os.dup2(nowhere.fileno(), 2)
    sending.send(function(*args))
