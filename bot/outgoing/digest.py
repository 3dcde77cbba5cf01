"""The monthly standings digest to the staff list: what it says (`build_digest`) and how it reads
(`render_digest`, templates/digest.*); its workbook is workbooks.py's, the mail that carries it digest_mail.py's.

Everything shown is as of the last instant of the month (the standings' instant), except the submission
matrix, which shows what is known when the digest is made. Personal numbers in findings are masked.

A closed year's month (`mailroom year close`) shows its standings and matrix as kept at closing, as
`mailroom standings` and `matrix` do (bot.services.scores.shown_standings, shown_matrix), with the same
note of what today's figures would change; its "较上月" compares with the previous month as kept too. The
briefings, 附件2 figures and findings were not kept: they are computed from today's archive and say so, each
unit under the name it was kept under (a unit renamed since: bot.services.scores.kept_names).

The findings are those of the month's plan year only (bot.services.years.finding_years): a 2021 digest says
nothing of a 2020 附件2's figures going down.

A year's final ranking (年度最终排名) is its last month's digest as kept when the year was closed, titled and
worded as the year's final figures (`final_year`); closing the year queues it
(digest_mail.close_year_with_final_digest).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from archive.evidence import Evidence, load_evidence
from archive.findings import NO_UNIT, PersonFinding, all_findings, shared_groups
from bot.config import Config
from bot.outgoing.render import date_text, date_time_text, deadline_text, render_pair
from bot.services.charts import ranking_bars
from bot.services.scores import STATUS_NAMES as STATUS_LABELS
from bot.services.scores import as_kept, month_completion, shown_matrix, shown_standings
from bot.services.years import finding_years
from parsers.errors import MailroomError
from parsers.form_layouts import FORM_TITLES
from parsers.privacy import mask_personal
from scoring.briefings import briefing_counts
from scoring.completion import UnitCompletion, completion_total
from scoring.components import full_marks
from scoring.evidence import FINDING_LABELS, TASK_LABELS, Component, Finding
from scoring.packages import PackageStatus
from scoring.plans import Plan
from scoring.settings import month_label, parse_month, time_of_day
from scoring.standings import COMPONENT_LABELS, COMPONENTS, Standings

# The 附件2 column headings, task by task, as the form prints them.
SUMMARY_HEADINGS = {
    "rehab": "康复服务（人）",
    "devices": "适配辅助器具（人）",
    "rural_training": "实用技术培训（人）",
    "day_care": "托养服务（人）",
    "barrier_free": "残疾人家庭无障碍改造（户）",
    "college": "帮助贫困残疾学生及贫困残疾人家庭子女上大学（名）",
}

# What a closed year's digest says of the sections its closing did not keep (briefings, 附件2, findings).
NOT_KEPT = "结账时未保存此项，以下按现在的归档计算"


@dataclass(frozen=True)
class StandingLine:
    """A unit's line of the standings and where it stood at the end of the previous month."""

    unit: str
    rank: int
    total: int
    components: tuple[Component, ...]  # in COMPONENTS order
    previous_total: int | None
    previous_rank: int | None

    @property
    def total_change(self) -> int | None:
        return None if self.previous_total is None else self.total - self.previous_total

    @property
    def rank_change(self) -> int | None:
        """Places moved up since last month (negative: down)."""
        return None if self.previous_rank is None else self.previous_rank - self.rank


@dataclass(frozen=True)
class BriefingLine:
    """Articles a unit sent in the month (counted by arrival, duplicates once)."""

    unit: str
    count: int
    message_ids: tuple[int, ...]
    met: bool


@dataclass(frozen=True)
class DigestFinding:
    """An honesty finding as the digest shows it: personal numbers masked."""

    unit: str
    kind: str
    label: str
    message: str
    message_ids: tuple[int, ...]


@dataclass(frozen=True)
class Digest:
    """Everything the digest's templates and workbook show, for one month. Instants are local."""

    month: str
    month_label: str  # "2020年9月"
    as_of: datetime
    generated: datetime
    deadline: datetime
    previous_month: str | None
    forms: tuple[int, ...]  # the month's required forms, the matrix's columns
    standings: tuple[StandingLine, ...]
    full_marks: int  # the most a unit can earn in the year: the scale of the ranking's bars
    matrix: tuple[PackageStatus, ...]
    briefings: tuple[BriefingLine, ...]
    briefing_target: int
    briefing_scored: bool  # the month is one of the plan's briefing months (April–November by default)
    completion: tuple[UnitCompletion, ...]
    completion_total: UnitCompletion  # the 合计 row
    findings: tuple[DigestFinding, ...]
    # A closed year's month: when its year was closed (its matrix is as known then), what `mailroom standings`
    # says above the kept figures (when and by whom it was closed; what today's archive and configuration
    # would change), and the kept matrix's 注意 line if any.
    kept_at: datetime | None = None
    closed: tuple[str, ...] = ()
    matrix_closed: tuple[str, ...] = ()
    # Made before the month ended (the 21st's digest): the standings as known so far, what closes at the month's
    # end (its briefings, a quarter's task completion) not yet scored, the month's briefings still to come.
    provisional: bool = False
    # The year's final ranking (made from the kept figures of its closed year's last month): that year.
    final_year: int | None = None
    last_of_year: bool = False  # the plan year's last month: no next month's digest gives its final figures

    def briefing_verdict(self, line: BriefingLine) -> str:
        """What the digest says of a unit's briefings of the month, in the text, the HTML and the workbook."""
        if not self.briefing_scored:
            return "本月不计分"
        if self.provisional:
            return "已达标" if line.met else "目前未达标（本月尚未结束）"
        return "达标" if line.met else "未达标"

    @property
    def timezone(self) -> ZoneInfo:
        return self.as_of.tzinfo  # type: ignore[return-value]

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.timezone)

    @property
    def matrix_known(self) -> datetime:
        """When what the matrix shows was known: when the digest was made, or when a closed year was closed."""
        return self.generated if self.kept_at is None else self.local(self.kept_at)


def build_digest(config: Config, session: Session, month: str, now: datetime, final: bool = False) -> Digest:
    """The digest of `month` made at `now` (aware): standings as of the month's end, the matrix as of now, all
    under the plan of the month's year (a closed year's standings and matrix as kept, with their notes); a
    month no plan covers is refused (OutsidePlan). `final`: the year's final ranking, `month` being the last
    of a closed year (closed in `session` at least: closing queues it in its own transaction)."""
    plan = config.plan(month)
    calendar, scoring = plan.calendar, plan.scoring
    _, number = parse_month(month)
    evidence = load_evidence(session)
    # The 21st's digest: the month as known so far, its open components not yet scored (provisional).
    as_of = min(calendar.month_end(month), now).astimezone(calendar.timezone)
    if final:
        as_of = calendar.month_end(month).astimezone(calendar.timezone)  # the year has ended: every figure is in
    before, _ = config.plans.around(month)
    previous_month = before if before in plan.months else None  # the change since last month, within the year
    # A closed year keeps all its months in one commit: the previous month (same year) is kept too.
    current, kept = shown_standings(config, session, evidence, month, now)
    if final and (kept is None or month != plan.months[-1]):
        raise MailroomError(f"{plan.year} 年尚未结账：年度最终排名在结账时生成（mailroom year close {plan.year}）")
    previous = shown_standings(config, session, evidence, previous_month)[0] if previous_month else None
    packages, kept_matrix = shown_matrix(config, session, evidence, month, now)
    names = dict(kept.names) if kept else {}  # today's unit names → those a closed year was kept under
    completion = as_kept(month_completion(config, evidence, month), names)
    found = all_findings(session, evidence.summaries, until=as_of)
    years = finding_years(session, found, evidence.summaries, calendar.timezone)
    of_year = [finding for finding, year in zip(found, years, strict=True) if year == plan.year]
    return Digest(
        month=month,
        month_label=month_label(month),
        as_of=as_of,
        provisional=as_of < calendar.month_end(month),
        final_year=plan.year if final else None,
        last_of_year=month == plan.months[-1],
        generated=now.astimezone(calendar.timezone),
        deadline=calendar.deadline_for(month),
        previous_month=previous_month,
        forms=calendar.required_forms_for(month),
        standings=_lines(current, previous),
        full_marks=full_marks(scoring),
        matrix=tuple(packages.values()),
        briefings=_briefings(plan, evidence, month, as_of, names),
        briefing_target=scoring.briefings_per_month,
        briefing_scored=number in scoring.briefing_months,
        completion=completion,
        completion_total=completion_total(completion),
        findings=_findings(of_year, evidence, as_of, names),
        kept_at=kept_matrix.closed_at if kept_matrix else None,
        closed=tuple(kept.lines(config, hashes=False)) if kept else (),
        # what the standings' note said already (when and by whom it was closed, a unit renamed since) once only
        matrix_closed=tuple(
            line
            for line in kept_matrix.lines(config, hashes=False)
            if not kept or line not in kept.lines(config, hashes=False)
        )
        if kept_matrix
        else (),
    )


def _lines(current: Standings, previous: Standings | None) -> tuple[StandingLine, ...]:
    before = {row.unit: row for row in previous.rows} if previous else {}
    return tuple(
        StandingLine(
            row.unit,
            row.rank,
            row.total,
            row.components,
            before[row.unit].total if row.unit in before else None,
            before[row.unit].rank if row.unit in before else None,
        )
        for row in current.rows
    )


def _briefings(
    plan: Plan, evidence: Evidence, month: str, as_of: datetime, names: Mapping[str, str]
) -> tuple[BriefingLine, ...]:
    counts = briefing_counts((a for a in evidence.articles if a.arrival <= as_of), plan.calendar)
    target = plan.scoring.briefings_per_month
    lines = []
    for unit in plan.units:
        count, ids = counts.get((unit.name, month), (0, ()))
        lines.append(BriefingLine(names.get(unit.name, unit.name), count, ids, count >= target))
    return tuple(lines)


def _findings(
    found: Sequence[Finding], evidence: Evidence, as_of: datetime, names: Mapping[str, str]
) -> tuple[DigestFinding, ...]:
    """Findings whose messages had all arrived by the month's end, masked; each unit under `names` (a closed
    year's). The persons registered by two units one line a message and form that brought them, as 待处理
    lists them (archive.findings.shared_groups): one wrongly attached registry is one line, not hundreds."""
    arrivals = {item.message_id: item.arrival for item in evidence.arrivals}
    kept = [
        finding
        for finding in found
        if all(arrivals.get(message_id, as_of) <= as_of for message_id in finding.message_ids)
    ]
    lines = [
        (finding.unit, finding.kind, finding.message, tuple(finding.message_ids))
        for finding in kept
        if not isinstance(finding, PersonFinding)
    ]
    for group in shared_groups(kept):
        if len(group.persons) == 1:
            [person] = group.persons
            lines.append((person.unit, person.kind, person.message, tuple(person.message_ids)))
            continue
        others = sorted({id_ for person in group.persons for id_ in person.message_ids} - {group.message_id})
        lines.append((group.unit or NO_UNIT, group.persons[0].kind, group.summary(), (group.message_id, *others)))
    return tuple(
        DigestFinding(names.get(unit, unit), kind, FINDING_LABELS.get(kind, kind), mask_personal(message), ids)
        for unit, kind, message, ids in lines
    )


# ---------------------------------------------------------------------------------------------
# Reading: the templates and the mail


def digest_title(digest: Digest) -> str:
    """The heading of the text and the HTML."""
    if digest.final_year is not None:
        return f"{digest.final_year}年度残疾人服务工程督导最终排名"
    return f"{digest.month_label}残疾人服务工程督导情况通报"  # not 月报: the units' own packages are their 月报


def digest_subject(digest: Digest) -> str:
    if digest.final_year is not None:
        return f"{digest_title(digest)}（已结账，全年最终结果）：累计得分排名、报送情况、任务完成情况"
    return f"{digest_title(digest)}：累计得分排名、报送情况、任务进展"


def workbook_name(digest: Digest) -> str:
    if digest.final_year is not None:
        return f"{digest.final_year}年度督导最终排名.xlsx"
    return f"{digest.month_label}督导排名.xlsx"


def signed(value: int | None) -> str:
    """A change as people read it: +3, -2, 持平; — when there is nothing to compare with."""
    if value is None:
        return "—"
    return "持平" if value == 0 else f"{value:+d}"


def places(value: int | None) -> str:
    """A rank change: ↑2, ↓1, 不变."""
    if value is None:
        return "—"
    return "不变" if value == 0 else f"↑{value}" if value > 0 else f"↓{-value}"


def percent(share: float | None) -> str:
    return "/" if share is None else f"{share:.1%}"


def clock(instant: datetime | None, zone: ZoneInfo, deadline: datetime | None = None) -> str:
    """`instant` in `zone`, short, as a matrix shows an arrival: the day and time_of_day (to the second beside
    midnight and `deadline`'s time of day)."""
    if instant is None:
        return ""
    local = instant.astimezone(zone)
    said = time_of_day(local, deadline.astimezone(zone).time()) if deadline else time_of_day(local)
    return f"{local:%m-%d} {said}"


# The note of a digest made before its month ended (the 21st's): what its figures are, and when they are final:
# next month's digest, or for the year's last month (no next month in the year) the year's final ranking, mailed
# when the year is closed.
PROVISIONAL = (
    "本月尚未结束，以上为目前所知的得分：本月简报和季度任务完成情况月底后计分（表中以“—”表示），"
    "月底后的最终排名以下月通报或 mailroom standings 为准。"
)
PROVISIONAL_LAST = (
    "本月尚未结束，以上为目前所知的得分：本月简报和季度任务完成情况月底后计分（表中以“—”表示）。"
    "本月是本年度最后一个月，全年最终排名在年度结账后另行通报（年度最终排名），以该通报为准。"
)


def final_note(digest: Digest) -> str:
    """The note of a year's final ranking: what its figures are, and that they no longer change."""
    return (
        f"本通报为 {digest.final_year} 年度最终排名：该年已结账，全年各项均已计分，以下得分和名次为全年最终结果，"
        f"不再变动。此前{digest.month_label}通报中的得分如与本通报不同，以本通报为准。"
    )


def render_digest(digest: Digest, config: Config | None = None) -> tuple[str, str, str]:
    """(subject, HTML, plain text) of the digest, in Chinese; with the `config`, it names the system by its name."""
    subject = digest_subject(digest)
    context = {
        "digest": digest,
        "subject": subject,
        "title": digest_title(digest),
        "final_note": final_note(digest) if digest.final_year is not None else "",
        "labels": COMPONENT_LABELS,
        "components": COMPONENTS,
        "status": STATUS_LABELS,
        "headings": SUMMARY_HEADINGS,
        "task_labels": TASK_LABELS,
        "form_titles": FORM_TITLES,
        "workbook": workbook_name(digest),
        "signed": signed,
        "places": places,
        "percent": percent,
        "ranking": ranking_bars(digest.standings, digest.full_marks),
        "clock": lambda instant: clock(instant, digest.timezone, digest.deadline),
        "date_time": lambda instant: date_time_text(instant, digest.timezone),  # as every mail to a unit says it
        "deadline": lambda instant: deadline_text(instant, digest.timezone),
        "month_name": month_label,
        "date": lambda instant: date_text(instant, digest.timezone),
        "not_kept": NOT_KEPT,
        "PROVISIONAL": PROVISIONAL_LAST if digest.last_of_year else PROVISIONAL,
    }
    text, html = render_pair("digest", context, config)
    return subject, html, text
