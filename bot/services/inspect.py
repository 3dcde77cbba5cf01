"""`mailroom inspect`, the web's 自查 page and the answer to a 自查 mail: what a clerk sees of files before
sending them. One inspection (parsers/inspection.py) for all three; files from outside (an upload, a mail)
are read in the reader sandbox, as ingest reads them, and the command's files in a child forked for them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config import Config
from parsers.form_layouts import FORM_TITLES, form_list
from parsers.forms import TEXT_UNREAD, Problem
from parsers.inspection import OTHER_UNIT, failed_file, inspect_attachments, package_keys
from parsers.months import month_near
from parsers.records import Unit, name_as_today
from replies.problems import merged_problems, problems_and_hints
from scoring.evidence import TASK_LABELS
from scoring.settings import month_label

if TYPE_CHECKING:  # only named in annotations: `mailroom inspect` loads no database and no reader pool
    from archive.models import Message
    from archive.store import RawStore
    from bot.services.readers import Forked
    from bot.services.sandbox import Sandbox

FOUND_PROBLEMS = "发现问题：请按上面的提示修改后再检查一次。"
# Only what was checked: the check cannot know what else the clerk sends, or whether this is the month due.
NOTHING_FOUND = "所检查的文件未发现问题。"
OUTSIDE_PLAN = "month-outside-plan"
READER_FAILED = (
    "读取“{name}”时读取程序异常终止或超时，文件可能已损坏或过大；请用 Excel 或 WPS 打开，另存为 .xlsx 后再试"
)


def checked_against(
    config: Config, own_unit: str | None = None, now: datetime | None = None
) -> tuple[tuple[Unit, ...], int, str | None, datetime, tuple[tuple[int, tuple[Unit, ...]], ...]]:
    """What inspect_attachments takes after the files: the units a clerk's files are read with and their year,
    today's plan's (the nearest plan year's, outside every plan); `own_unit` by its name or an alias, as today's
    plan calls it (a clerk's account or `--unit` of 枣强县 is 2021's 枣强区, its successor; a name no unit has any
    more as it is); the moment a month without a year is placed near (placed_near of `now`, the present by
    default); and each plan year's units with that year's targets, which each form is checked against by the
    month it is placed in."""
    now = now or datetime.now(UTC)
    plan = config.plans.at(now)
    plans = tuple((each.year, each.units) for each in config.plans.plans)
    if own_unit is not None:
        own_unit = name_as_today(config.units, own_unit, plan.units)
    return plan.units, plan.year, own_unit, placed_near(config, now), plans


def placed_near(config: Config, now: datetime) -> datetime:
    """Where a clerk's month without a year is placed (parsers.months.placed), as ingest places one by a mail's
    arrival: near `now`, in the configuration's time zone, when a plan covers any of the months placed near it
    (month_near's); else, far from every plan (a configuration of years gone by), near the first day of the last
    covered month before it, or of the first covered month, as plans.at reads such a day."""
    local = now.astimezone(config.timezone)
    if any(config.plans.covers(month_near(number, local)) for number in range(1, 13)):
        return local
    month = config.plans.nearest_month(f"{local:%Y-%m}")
    return datetime(int(month[:4]), int(month[5:]), 1, tzinfo=config.timezone)


def inspect_files(
    paths: list[Path], config: Config, own_unit: str | None = None, now: datetime | None = None
) -> list[dict[str, Any]]:
    """The clerk's files on the command line, read in a child forked for them (a file that kills its reader,
    as a broken .xls can, is answered like any file that cannot be read). Files given together are checked
    together, as `own_unit`'s when the clerk says whose they are; as of `now` (the present by default)."""
    from bot.services.readers import Forked

    return inspect_untrusted([(str(path), path.read_bytes()) for path in paths], config, Forked(), own_unit, now)


def inspect_untrusted(
    files: Sequence[tuple[str, bytes]],
    config: Config,
    sandbox: Sandbox | Forked | None,
    own_unit: str | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Files from outside, read in the reader sandbox or a forked child (None: here, for trusted input only).
    When the files together kill their reader or overrun its time, each is read alone, and the one that
    does it says so. `own_unit`: the asker's unit when known (a clerk's account, a registered sender), whose
    files these must be. `now`: when the clerk asks (the present by default), which a month without a year is
    placed near (checked_against)."""
    against = checked_against(config, own_unit, now)
    results = inspect_attachments(files, *against) if sandbox is None else _read_apart(sandbox, files, against)
    return _outside_plans(results, config)


def _read_apart(sandbox: Sandbox | Forked, files: Sequence[tuple[str, bytes]], against: tuple) -> list[dict[str, Any]]:
    """The files inspected together in the sandbox; when that kills its reader, each alone."""
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


def _outside_plans(results: list[dict[str, Any]], config: Config) -> list[dict[str, Any]]:
    """Each form whose title names a month no plan covers (last year's file, 1月份 for a plan from April) with
    a problem saying so: mailed, it would be counted for no month, or the subject's month would be taken."""
    for result in results:
        month = result["month"]
        if result["form"] and month and not config.plans.covers(month):
            said = (
                f"表中写的月份是{month_label(month)}，不是需要报送的月份（{config.plans.covered()}）；"
                "请核对标题中的月份，或是否选错了文件"
            )
            result["problems"].append(asdict(Problem(None, None, None, OUTSIDE_PLAN, said)))
    return results


def archive_inspector(
    config: Config, store: RawStore, sandbox: Sandbox | None
) -> Callable[[Message], list[dict[str, Any]]]:
    """What answers a 自查 mail: its stored attachments, byte for byte as they arrived, inspected in the sandbox,
    as the files of the unit whose registered address sent the mail (of nobody's in particular otherwise:
    a personal address or a subject naming another unit says nothing sure of whose files they are), as of
    the mail's arrival (a month without a year placed near it, as ingest places a package's)."""

    def inspect_stored(message: Message) -> list[dict[str, Any]]:
        attachments = sorted(message.attachments, key=lambda a: a.ordinal)
        own_unit = message.unit if message.registered else None
        return inspect_untrusted(
            [(a.filename, store.read_file(a.sha256)) for a in attachments], config, sandbox, own_unit, message.arrival
        )

    return inspect_stored


def has_problems(results: list[dict[str, Any]]) -> bool:
    return any(_problems(result) or not result["readable"] for result in results)


def _problems(result: dict[str, Any]) -> list[Mapping[str, Any]]:
    """A result's problems, its hints aside (replies.problems.problems_and_hints)."""
    return problems_and_hints(result["problems"])[0]


def conclusion(results: list[dict[str, Any]], config: Config) -> list[str]:
    """What the inspection of these files comes to, as short Chinese lines (the web page and the 自查 mail's
    answer say the same): whether problems were found in the files checked, never that the month may be sent,
    since the check knows neither what is due nor what else will be sent; files of several months, or two
    附件2 of one package, said plainly; and, when the forms are one unit's one month, which of the forms that
    month requires were not among them."""
    if not results:
        return []
    keys = package_keys([(result["unit"], result["month"]) for result in results])
    lines = [FOUND_PROBLEMS if has_problems(results) else NOTHING_FOUND]
    months: dict[str, list[str]] = {}
    for result in results:
        if result["month"]:
            months.setdefault(result["month"], []).append(result["file"])
    if len(months) > 1:
        each = "；".join(f"{month_label(month)}：{_files(months[month])}" for month in sorted(months))
        lines.append(
            f"这些文件属于不同月份（{each}），已按月份分别检查；"
            "如不是一并补报几个月，请核对标题中的月份（可能是沿用了上个月的表格）。"
        )
    summaries: dict[tuple[str, str | None], list[str]] = {}
    for result, key in zip(results, keys):
        if key is not None and result["form"] == 2 and result["readable"]:
            summaries.setdefault(key, []).append(result["file"])
    for (unit, month), files in summaries.items():
        if len(files) > 1:
            when = month_label(month) if month else "（未写明月份）"
            lines.append(f"{unit}{when}的附件2 有 {len(files)} 份（{'、'.join(files)}），正式报送时只应发送一份。")
    lines.extend(_not_included(results, keys, config))
    return lines


def _files(names: list[str]) -> str:
    """Files named, as many as a line holds: the odd one out of a package is named, the package counted."""
    return "、".join(dict.fromkeys(names)) if len(set(names)) <= 3 else f"{len(set(names))} 个文件"


def _not_included(
    results: list[dict[str, Any]], keys: list[tuple[str, str | None] | None], config: Config
) -> list[str]:
    """The month's required forms absent from the files, when every form found is of one unit's one month (a
    plan's month: its calendar says what is due); nothing when a form is another unit's than the asker's. A
    file that cannot be read names no unit or month, but is still there as the form its name says."""
    packages = {key for result, key in zip(results, keys) if result["form"] and result["readable"]}
    if len(packages) != 1:
        return []
    [package] = packages
    if package is None or package[1] is None or not config.plans.covers(package[1]):
        return []
    if any(problem["code"] == OTHER_UNIT for result in results for problem in result["problems"]):
        return []
    month = package[1]
    present = {result["form"] for result in results}
    missing = [form for form in config.plan(month).calendar.required_forms_for(month) if form not in present]
    if not missing:
        return []
    # A file not recognised as any form may be one of these: say "not recognised", not "not sent".
    how = "本次未包含" if all(result["form"] for result in results) else "本次未识别到"
    return [f"{how}{package[0]}{month_label(month)}应报送的{form_list(missing)}（正式报送时请一并发送）。"]


def _stated(result: dict[str, Any], key: str) -> str:
    """The unit or month the form's title states; else what its file name says, which mail is read by only
    when the subject says nothing."""
    said = month_label if key == "month" else str  # 2020年11月, as every answer to a unit names a month
    if result[key]:
        return said(result[key])
    by_name = result.get(f"{key}_by_name") and said(result[f"{key}_by_name"])
    return f"未写明（文件名中为{by_name}，正式报送时以邮件主题为准）" if by_name else "未写明"


def describe(result: dict[str, Any]) -> list[str]:
    """One form's inspection as plain Chinese lines."""
    form = result["form"]
    title = f"附件{form} {FORM_TITLES.get(form, '')}" if form else "未识别为任何附件表格"
    if not result["readable"]:
        size = "无法读取"
    elif form == 1:
        unread = any(problem["code"] == TEXT_UNREAD for problem in result["problems"])
        size = "文字未能读出" if unread else f"{result.get('characters', 0)} 字"
    else:
        size = f"{result['rows']} 行"
    facts = [title, f"单位 {_stated(result, 'unit')}", f"月份 {_stated(result, 'month')}", size]
    lines = [f"{result['file']}：" + " · ".join(facts)]
    if "done" in result and result["readable"]:  # a file not read has no figures, not blank ones
        lines.append(
            "  完成数："
            + "，".join(f"{TASK_LABELS[t]} {v if v is not None else '—'}" for t, v in result["done"].items())
        )
    problems, hints = problems_and_hints(result["problems"])
    for places, message in merged_problems(problems):  # a problem once, however many cells it concerns
        lines.append(f"  问题{f'［{places}］' if places else ''}：{message}")
    if not problems and result["readable"]:
        lines.append("  未发现问题")
    lines.extend(f"  提示：{hint}" for hint in hints)
    return lines
