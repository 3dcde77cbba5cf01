"""What every page works with (`site()`: the frozen config and the opened archive), and the size of the one
upload. The page modules import it; app.py registers them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app

from bot.config import Config
from bot.daemon.deps import Deps

# The 自查 upload: a month's package, the size a mail may carry. Its files are read and forgotten, never stored.
UPLOAD_BYTES = 20 * 1024 * 1024
TOO_LARGE = f"一次上传的文件合计不能超过 {UPLOAD_BYTES // (1024 * 1024)} MB；请分几次检查，或压缩为 .zip 后再上传"


@dataclass(frozen=True)
class Site:
    """What every view works with: the frozen config and the opened archive."""

    config: Config
    deps: Deps

    def now(self) -> datetime:
        return self.deps.clock()


def site() -> Site:
    return current_app.extensions["mailroom"]
