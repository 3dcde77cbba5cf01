"""Reader processes: their limits, what their failures look like, and one call in a child forked for it.

The daemon and the web app read files from outside in the reader sandbox's pool (bot/services/sandbox.py).
`mailroom inspect` reads a clerk's files once: a fork of the command, with everything it needs already
loaded, starts in about 3 ms where the pool's fork server starts a new interpreter. Either way a file that
makes its reader abort ends that child, not the caller: calamine aborts the whole process when an allocation
fails, as a broken .xls or a workbook claiming 10^12 cells makes it."""

from __future__ import annotations

import multiprocessing
import os
import resource
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from pebble import ProcessExpired, concurrent

T = TypeVar("T")
# What a dead or late reader looks like to its caller.
WORKER_FAILED = (ProcessExpired, FutureTimeout)


@dataclass(frozen=True)
class SandboxLimits:
    memory_mb: int = 2048  # address space of a reader (RLIMIT_AS)
    seconds: float = 120.0  # wall time of one task: a message, or one attachment
    workers: int = 2


def limit_memory(megabytes: int) -> None:
    limit = megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def why(error: BaseException) -> str:
    """A reader's failure in a few words of Chinese, for the problem that reports it."""
    if isinstance(error, ProcessExpired):
        return f"进程退出码 {error.exitcode}"
    return "超时"


class Forked:
    """`run(function, *args)` in a child forked for that one call, within the limits; raises one of
    WORKER_FAILED when the child dies or overruns. For a command, which has no threads of its own to fork."""

    def __init__(self, limits: SandboxLimits = SandboxLimits()):
        self.limits = limits

    def run(self, function: Callable[..., T], *args: object) -> T:
        call = concurrent.process(timeout=self.limits.seconds, mp_context=multiprocessing.get_context("fork"))
        return call(partial(_limited, self.limits.memory_mb, function))(*args).result()


def _limited(megabytes: int, function: Callable[..., T], *args: object) -> T:
    """In the child: the limits, and no standard error, where an aborting reader would print its backtrace
    under the clerk's answer (that it died is told in Chinese by the caller)."""
    limit_memory(megabytes)
    with open(os.devnull, "wb") as nowhere:
        os.dup2(nowhere.fileno(), 2)
    return function(*args)
