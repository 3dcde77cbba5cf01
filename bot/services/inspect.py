"""`mailroom inspect`, the web's 自查 page and the answer to a 自查 mail: what a clerk sees of files before
sending them. One inspection (parsers/inspection.py) for all three; files from outside (an upload, a mail)
are read in the reader sandbox, as ingest reads them, and the command's files in a child forked for them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config import Config
from parsers.forms import FORM_TITLES
from parsers.inspection import failed_file, inspect_attachments
from parsers.records import Unit
from replies.problems import merged_problems
from scoring.evidence import TASK_LABELS

if TYPE_CHECKING:  # only named in annotations: `mailroom inspect` loads no database and no reader pool
    from archive.models import Attachment
    from archive.store import RawStore
    from bot.services.readers import Forked
    from bot.services.sandbox import Sandbox

READER_FAILED = (
    "读取“{name}”时读取程序异常终止或超时，文件可能已损坏或过大；请用 Excel 或 WPS 打开，另存为 .xlsx 后再试"
)


def checked_against(config: Config) -> tuple[tuple[Unit, ...], int]:
    """The units with the targets a clerk's files are checked against, and the year a title's month without
    one is read in: today's plan (the nearest plan year's, outside every plan)."""
    plan = config.plans.at(datetime.now(UTC))
    return plan.units, plan.year


def inspect_files(paths: list[Path], config: Config) -> list[dict[str, Any]]:
    """The clerk's files on the command line, read in a child forked for them (a file that kills its reader,
    as a broken .xls can, is answered like any file that cannot be read). Files given together are checked
    together."""
    from bot.services.readers import Forked

    return inspect_untrusted([(str(path), path.read_bytes()) for path in paths], config, Forked())


def inspect_untrusted(
    files: Sequence[tuple[str, bytes]], config: Config, sandbox: Sandbox | Forked | None
) -> list[dict[str, Any]]:
    """Files from outside, read in the reader sandbox or a forked child (None: here, for trusted input only).
    When the files together kill their reader or overrun its time, each is read alone, and the one that
    does it says so."""
    against = checked_against(config)
    if sandbox is None:
        return inspect_attachments(files, *against)
    try:
        return sandbox.run(inspect_attachments, list(files), *against)
    except sandbox.failed:
        results: list[dict[str, Any]] = []
        for label, data in files:
            try:
                results.extend(sandbox.run(inspect_attachments, [(label, data)], *against))
            except sandbox.failed:
                results.append(failed_file(label, READER_FAILED.format(name=label)))
        return results


def archive_inspector(
    config: Config, store: RawStore, sandbox: Sandbox | None
) -> Callable[[list[Attachment]], list[dict[str, Any]]]:
    """What answers a 自查 mail: its stored attachments, byte for byte as they arrived, inspected in the sandbox."""

    def inspect_stored(attachments: list[Attachment]) -> list[dict[str, Any]]:
        return inspect_untrusted([(a.filename, store.read_file(a.sha256)) for a in attachments], config, sandbox)

    return inspect_stored


def has_problems(results: list[dict[str, Any]]) -> bool:
    return any(result["problems"] or not result["readable"] for result in results)


def describe(result: dict[str, Any]) -> list[str]:
    """One form's inspection as plain Chinese lines."""
    form = result["form"]
    title = f"附件{form} {FORM_TITLES.get(form, '')}" if form else "未识别为任何附件表格"
    if not result["readable"]:
        size = "无法读取"
    elif form == 1:
        size = f"{result.get('characters', 0)} 字"
    else:
        size = f"{result['rows']} 行"
    facts = [title, f"单位 {result['unit'] or '未写明'}", f"月份 {result['month'] or '未写明'}", size]
    lines = [f"{result['file']}：" + " · ".join(facts)]
    if "done" in result:
        lines.append(
            "  完成数："
            + "，".join(f"{TASK_LABELS[t]} {v if v is not None else '—'}" for t, v in result["done"].items())
        )
    for places, message in merged_problems(result["problems"]):  # a problem once, however many cells it concerns
        lines.append(f"  问题{f'［{places}］' if places else ''}：{message}")
    if not result["problems"] and result["readable"]:
        lines.append("  未发现问题")
    return lines
