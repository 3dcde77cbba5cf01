"""The scoring choices the plan leaves open: each one a setting in the config, these are the defaults."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# The levels a staff entry names, with their Chinese names (their points are the plan's: Scoring below).
MEDIA_LEVELS = {"central": "中央级媒体", "provincial": "省级媒体", "city": "市级媒体"}
INNOVATION_LEVELS = {"national": "全国推广经验典型", "provincial": "全省推广经验典型", "city": "市级创新案例"}
# Each kind of staff entry: its Chinese name and its levels.
ENTRY_KINDS = {"media": ("媒体报道", MEDIA_LEVELS), "innovation": ("创新性工作", INNOVATION_LEVELS)}


@dataclass(frozen=True)
class Scoring:
    """Points, thresholds and caps of seed 000 §三, as SPEC.md makes them exact."""

    zero_target_earns: bool = True
    q2_completion: float = 0.5
    q3_completion: float = 1.0
    task_points: int = 3
    on_time_points: int = 15
    on_time_deduction: int = 3
    q4_task_points: int = 2
    q4_cap: int = 10
    briefings_per_month: int = 8
    briefing_points: int = 2
    briefing_months: tuple[int, ...] = (4, 5, 6, 7, 8, 9, 10, 11)
    media_points: tuple[tuple[str, int], ...] = (("central", 4), ("provincial", 2), ("city", 1))
    media_cap: int = 4
    innovation_points: tuple[tuple[str, int], ...] = (("national", 10), ("provincial", 5), ("city", 2))
    innovation_cap: int = 10


@dataclass(frozen=True)
class Calendar:
    """The plan year's dates: months, deadlines and the forms each month's package must hold.

    Every instant is read in `timezone` (Asia/Shanghai). A month is written "YYYY-MM".
    """

    timezone: ZoneInfo
    year: int
    deadline_day: int = 20
    deadline_time: time = time(23, 59, 59)
    required_forms: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8)
    college_from_month: int = 9
    first_report_month: int = 4

    def month_start(self, month: str) -> datetime:
        """The first instant of the month, local."""
        year, number = parse_month(month)
        return datetime(year, number, 1, tzinfo=self.timezone)

    def month_end(self, month: str) -> datetime:
        """The last instant of the month, local: an instant is within the month when it is <= this."""
        year, number = parse_month(month)
        following = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=self.timezone)
        return following - timedelta(microseconds=1)

    def deadline_for(self, month: str) -> datetime:
        """The last on-time instant for the month's package.

        The configured time names a whole second and is inclusive: with 23:59:59, an arrival at
        23:59:59.999 is on time and one at 00:00:00 of the next day is late.
        """
        year, number = parse_month(month)
        last = (
            self.deadline_time.replace(microsecond=999_999)
            if self.deadline_time.microsecond == 0
            else self.deadline_time
        )
        return datetime.combine(date(year, number, self.deadline_day), last, tzinfo=self.timezone)

    def required_forms_for(self, month: str) -> tuple[int, ...]:
        """附件 numbers the month's package must hold: 附件9 and 附件10 join from college_from_month on."""
        _, number = parse_month(month)
        forms = set(self.required_forms)
        if number >= self.college_from_month:
            forms.update((9, 10))
        return tuple(sorted(forms))

    def report_months(self) -> tuple[str, ...]:
        """Every month of the plan year that has a package: first_report_month to December."""
        return tuple(f"{self.year}-{number:02d}" for number in range(self.first_report_month, 13))

    def month_of(self, instant: datetime) -> str:
        """The local month an aware instant falls in."""
        local = instant.astimezone(self.timezone)
        return f"{local.year}-{local.month:02d}"

    def month_name(self, month: str) -> str:
        """The month as people read it in a description: "2020-04" -> "4月"."""
        year, number = parse_month(month)
        return f"{number}月" if year == self.year else f"{year}年{number}月"


def time_of_day(local: datetime, deadline: time = time(23, 59, 59)) -> str:
    """A local time as the explanations and matrices show an arrival: to the minute, but to the second in the
    minutes either side of midnight (a month's end) and of the deadline's time of day (23:59:59 on time,
    00:00:01 late; a deadline at 17:30, 17:30:30 late)."""
    minute = local.hour * 60 + local.minute
    near = {23 * 60 + 59, 0} | {(deadline.hour * 60 + deadline.minute + step) % 1440 for step in (-1, 0, 1)}
    return f"{local:%H:%M:%S}" if minute in near else f"{local:%H:%M}"


def month_label(month: str) -> str:
    """The month in full, as a receipt or a digest names it: "2020-04" -> "2020年4月"."""
    year, number = parse_month(month)
    return f"{year}年{number}月"


_TYPED_MONTH = re.compile(r"(\d{4})(?:\s*(?:年|[-/.])\s*(\d{1,2})|(\d{2}))\s*(?:月份?)?")


def typed_month(text: str) -> str:
    """A month as people type it into a box (2020-12, 2020-1, 2020/12, 2020.12, 202012, 2020年12月, full-width or
    not) as "YYYY-MM"; anything else a ValueError."""
    found = _TYPED_MONTH.fullmatch(unicodedata.normalize("NFKC", text).strip())
    number = int(found[2] or found[3]) if found else 0
    if found is None or not 1 <= number <= 12:
        raise ValueError(f"a month is written YYYY-MM, not {text!r}")
    return f"{found[1]}-{number:02d}"


def parse_month(month: str) -> tuple[int, int]:
    """ "YYYY-MM" -> (year, month); anything else is a ValueError."""
    try:
        year_text, number_text = month.split("-")
        year, number = int(year_text), int(number_text)
    except ValueError:
        raise ValueError(f"a month is written YYYY-MM, not {month!r}") from None
    if len(year_text) != 4 or len(number_text) != 2 or not 1 <= number <= 12:
        raise ValueError(f"a month is written YYYY-MM, not {month!r}")
    return year, number
