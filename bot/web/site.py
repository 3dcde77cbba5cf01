"""What every page works with (`site()`: the frozen config and the opened archive), the size of the one
upload, and what a row id may be. The page modules import it; app.py registers them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import abort, current_app

from bot.config import Config
from bot.daemon.deps import Deps

# The 自查 upload: a month's package, the size a mail may carry. Its files are read and forgotten, never stored.
UPLOAD_BYTES = 20 * 1024 * 1024
TOO_LARGE = f"一次上传的文件合计不能超过 {UPLOAD_BYTES // (1024 * 1024)} MB；请分几次检查，或压缩为 .zip 后再上传"

MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL: a larger one is no row's, not an error


@dataclass(frozen=True)
class Site:
    """What every view works with: the frozen config and the opened archive."""

    config: Config
    deps: Deps

    def now(self) -> datetime:
        return self.deps.clock()


def site() -> Site:
    return current_app.extensions["mailroom"]


def form_id(value: str | None, what: str) -> int:
    """A row id posted in a form (`what` names it: 邮件编号), by the rule the routes' `<id:…>` follows: digits
    only, at most MAX_ID. Anything else is a 400 page saying so in Chinese, never a 500: SQLite cannot bind a
    number over 64 bits, PostgreSQL none over 32, and int() would say why in English."""
    text = (value or "").strip()
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_ID:
        abort(400, f"{what}无效：应为 0 至 {MAX_ID} 之间的整数。请回到页面重新操作。")
    return int(text)
