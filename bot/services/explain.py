"""A unit's explanation with the staff decisions behind its point lines: a line that cites a message a decision
made count (a correction to the unit, a confirmed sender) names the decision beside the message, and a line
that lost points because a correction moved a message away (to another unit or month, or out of counting)
names the correction and that message, which it no longer cites. Scoring stays pure: its points are matched
with the decisions here, by the messages they cite and by the month each line is about."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from archive.corrections import in_force
from archive.decisions import Decision
from archive.evidence import NOT_SUBMISSIONS
from archive.models import CorrectionRow, Message
from bot.config import Config
from bot.services.scores import Kept, decisions_behind, unit_row
from bot.services.show import decision_json
from parsers.recognize import month_and_source
from parsers.records import Unit, counted_month
from scoring.briefings import repeated
from scoring.components import arrived_after, task_rules
from scoring.evidence import Article, Point, SummaryReport
from scoring.settings import Calendar
from scoring.standings import COMPONENT_LABELS, Standings, UnitStanding


@dataclass(frozen=True)
class DecisionNote:
    """A staff decision a point line stands on, or lost by, said on the line after its messages: "邮件 #46" +
    "依更正 #9：报送单位更正为阜城县，不再计入" (Lines.noted)."""

    message_ids: tuple[int, ...]
    text: str

    def __str__(self) -> str:
        return "、".join(f"邮件 #{i}" for i in self.message_ids) + self.text


@dataclass(frozen=True)
class ExplainedPoint:
    """One point line of a component: what scoring said of it, and the staff decisions behind it."""

    description: str
    points: int
    message_ids: tuple[int, ...]
    staff_entry_ids: tuple[int, ...]
    notes: tuple[DecisionNote, ...] = ()

    @property
    def line(self) -> str:
        """The description with its decisions: "7月份报表漏报：缺附件1（邮件 #46 依更正 #9：…，不再计入）"."""
        return self.description + (f"（{'；'.join(map(str, self.notes))}）" if self.notes else "")


@dataclass(frozen=True)
class ExplainedComponent:
    """One component of a unit's score with its label and every point behind it."""

    name: str
    label: str
    points: int
    closed: bool
    items: tuple[ExplainedPoint, ...]


def explain_unit(
    config: Config, result: Standings, unit: str, kept: Kept | None = None
) -> tuple[UnitStanding, tuple[ExplainedComponent, ...]]:
    """UNIT's line of the standings `result` and its components, each point with its messages and entries (the
    decisions behind them: explanation); a unit outside the month's plan (for a closed year's month, `kept`:
    outside what was kept) is refused."""
    row = unit_row(config, result, unit, kept)
    return row, tuple(
        ExplainedComponent(
            item.name,
            COMPONENT_LABELS[item.name],
            item.points,
            item.closed,
            tuple(_explained(point) for point in item.items),
        )
        for item in row.components
    )


def _explained(point: Point) -> ExplainedPoint:
    return ExplainedPoint(point.description, point.points, point.message_ids, point.staff_entry_ids)


@dataclass(frozen=True)
class Effect:
    """What one staff decision did with one message for a unit's figures: `counted`, it made the message count
    for the unit (a correction to it, a confirmed sender: every line citing it stands on the decision);
    `gained`, the months it counts in for the unit by the decision alone (a month corrected: that month's
    package line stands on it); `lost`, the months (its package, briefing, 附件2 as of them) it counted in
    before and counts in no more; `unpackaged`, the months its forms counted in as the package before a
    correction made it a briefing (it counts by its articles now)."""

    decision: Decision
    message_id: int
    counted: bool = True
    gained: tuple[str, ...] = ()
    lost: tuple[str, ...] = ()
    forms: frozenset[int] = frozenset()
    briefing: bool = False
    arrival: datetime | None = None
    unpackaged: tuple[str, ...] = ()


@dataclass(frozen=True)
class Explanation:
    row: UnitStanding
    components: tuple[ExplainedComponent, ...]
    decisions: list[dict[str, Any]]  # as unit_decisions gives them: the 工作人员的决定 section


def explanation(
    config: Config,
    session: Session,
    result: Standings,
    unit: str,
    kept: Kept | None,
    summaries: Sequence[SummaryReport],
    articles: Sequence[Article],
) -> Explanation:
    """UNIT's line of `result` (explain_unit), its point lines naming the decisions behind them, and those
    decisions; `summaries` and `articles`: the 附件2 and briefing evidence the standings were computed from."""
    row, components = explain_unit(config, result, unit, kept)
    zone = config.timezone
    behind = decisions_behind(session, row.unit, kept, result.month, zone)
    # one entered after the year was closed changes no kept figure: no kept line stands on it
    standing = [decision for decision, _ in behind if kept is None or decision.row.entered_at <= kept.closed_at]
    effects = [effect for decision in standing for effect in _effects(session, decision, row.unit, zone)]
    arrivals = {report.message_id: report.arrival for report in summaries}
    plan = config.plan(result.month)
    judged = {rule.name: f"{plan.year}-{rule.month:02d}" for rule in task_rules(plan.scoring)}
    lines = Lines(plan.calendar, judged, arrivals, zone)
    planned = next((each for each in plan.units if each.name == row.unit), None)
    if planned is not None:  # a closed year's too: what came after its month's end changes no kept figure
        components = tuple(
            _later_figures(component, judged, planned, summaries, plan.calendar) for component in components
        )
    until = plan.calendar.month_end(result.month)
    repeats = repeated((article for article in articles if article.arrival <= until), plan.calendar)
    components = tuple(_repeated_briefings(component, repeats, row.unit, plan.calendar) for component in components)
    noted = tuple(
        replace(component, items=tuple(lines.noted(component.name, item, effects) for item in component.items))
        for component in components
    )
    return Explanation(row, noted, [said for _, said in behind])


def _later_figures(
    component: ExplainedComponent,
    judged: dict[str, str],
    unit: Unit,
    summaries: Sequence[SummaryReport],
    calendar: Calendar,
) -> ExplainedComponent:
    """A closed task component with the line for a 附件2 of its month that came after the month's end, since (the
    standings end with their month: December's figures sent in January are said here, not in December's)."""
    month = judged.get(component.name)
    if month is None or not component.closed:
        return component
    said = {item.description for item in component.items}
    later = [point for point in arrived_after(unit, summaries, month, calendar, None) if point.description not in said]
    return replace(component, items=component.items + tuple(_explained(point) for point in later))


def _repeated_briefings(
    component: ExplainedComponent, repeats: dict[tuple[str, str], list[tuple[int, int]]], unit: str, calendar: Calendar
) -> ExplainedComponent:
    """The briefings with a line, worth nothing, after each month's for each of the unit's messages of that
    month whose articles had all come before: a clerk counting the mails sent finds why one did not count."""
    if component.name != "briefings":
        return component
    own = {calendar.month_name(month): pairs for (of, month), pairs in repeats.items() if of == unit}
    items: list[ExplainedPoint] = []
    for item in component.items:  # each month's line starts with its month: "5月报送简报信息 7 篇…"
        items.append(item)
        month = next((name for name in own if item.description.startswith(name)), None)
        items += [
            ExplainedPoint(
                f"邮件 #{message_id}（{month}）的简报稿件此前已报送过（邮件 #{earlier} 等），不重复计数",
                0,
                (message_id,),
                (),
            )
            for message_id, earlier in own.get(month or "", [])
        ]
    return replace(component, items=tuple(items))


def _effects(session: Session, decision: Decision, unit: str, zone: ZoneInfo) -> list[Effect]:
    if not isinstance(decision.row, CorrectionRow):  # a confirmed sender makes its messages count, never less
        return [Effect(decision, message_id) for message_id in decision.message_ids]
    message = session.get(Message, decision.message_ids[0])
    if message is None:
        return []
    before, after = _before_after(session, decision.row, message, unit, zone)
    forms = frozenset(reading.form for reading in message.readings if reading.form is not None)
    briefing = message.kind == "briefing"
    return [
        Effect(
            decision,
            message.id,
            counted=bool(after) and not before,
            gained=tuple(sorted(after - before)),
            lost=tuple(sorted(before - after)),
            forms=forms,
            briefing=briefing,
            arrival=message.arrival,
            unpackaged=tuple(sorted(after)) if forms and briefing and decision.row.kind == "briefing" else (),
        )
    ]


def _before_after(
    session: Session, row: CorrectionRow, message: Message, unit: str, zone: ZoneInfo
) -> tuple[set[str], set[str]]:
    """The months the message counted in for UNIT before the correction, and by it. What recognition made of
    it is read, as archive.decisions does, from what the message still says of itself."""
    months = _months(message, zone)
    counts = message.kind not in NOT_SUBMISSIONS and message.registered
    now = months if message.unit == unit and counts else set()
    if row.revoked_at is not None and not in_force(session, [message.sha256]):
        # revoked since (a closed year's kept figures stand on it): the message is as recognised again
        kind, registered = row.kind or message.kind, message.registered if row.counted is None else row.counted
        corrected = {row.month} if row.month else months
        by_it = (row.unit or message.unit) == unit and kind not in NOT_SUBMISSIONS and registered
        return now, corrected if by_it else set()
    # a message of another unit now is in UNIT's decisions for having been its own; one of UNIT's own, for a
    # correction naming its unit, was UNIT's when a form's title says so
    was_unit = message.unit != unit if row.unit is not None else message.unit == unit
    was_unit |= row.unit is not None and unit in {reading.unit for reading in message.readings}
    was_counting = (row.kind in NOT_SUBMISSIONS if row.kind else message.kind not in NOT_SUBMISSIONS) and (
        not row.counted if row.counted is not None else message.registered
    )
    before = _recognised_months(message, zone) if row.month else months
    return (before if was_unit and was_counting else set()), now


def _recognised_months(message: Message, zone: ZoneInfo) -> set[str]:
    """The months the message counted in before a staff month: as _months, from the month recognition gave it
    (subject and file names). Not every month it names: a subject's one month rules its forms' titles, and a
    package titled June under May's subject, corrected to June, earned June's line by the correction."""
    arrival = message.arrival.astimezone(zone)
    month, source = month_and_source(message.subject or "", [a.filename for a in message.attachments], arrival)
    months = {counted_month(month, source, reading.month) for reading in message.readings if reading.form is not None}
    return {each for each in months if each} or {month}


def _months(message: Message, zone: ZoneInfo) -> set[str]:
    """The months the message counts in now: each form's (counted_month), else its own, else its arrival's."""
    months = {
        counted_month(message.month, message.month_source, reading.month)
        for reading in message.readings
        if reading.form is not None
    }
    months.discard(None)
    if months:
        return {month for month in months if month}
    return {message.month or f"{message.arrival.astimezone(zone):%Y-%m}"}


@dataclass(frozen=True)
class Lines:
    """What a month's point lines are about: `judged`, the month each task component is judged at the end of;
    `arrivals`, each 附件2's arrival by message id."""

    calendar: Calendar
    judged: dict[str, str]
    arrivals: dict[int, datetime]
    zone: ZoneInfo

    def noted(self, component: str, item: ExplainedPoint, effects: Iterable[Effect]) -> ExplainedPoint:
        """The line with a note for each decision behind it: one making a message it cites count, one that
        moved away a message whose loss is what the line says."""
        cited: dict[tuple[str, int], list[int]] = {}
        lost: dict[tuple[str, int], list[int]] = {}
        unpackaged: dict[tuple[str, int], list[int]] = {}
        decisions: dict[tuple[str, int], Decision] = {}
        for effect in effects:
            key = ("correction" if effect.decision.is_correction else "sender", effect.decision.row.id)
            decisions[key] = effect.decision
            if effect.message_id in item.message_ids and (
                effect.counted or any(self.package_of(component, item, month) for month in effect.gained)
            ):
                cited.setdefault(key, []).append(effect.message_id)
            if any(self.lost_on(component, item, effect, month) for month in effect.lost):
                lost.setdefault(key, []).append(effect.message_id)
            elif any(self.lost_on(component, item, replace(effect, briefing=False), m) for m in effect.unpackaged):
                unpackaged.setdefault(key, []).append(effect.message_id)
        notes = [_note(decisions[key], ids, self.zone) for key, ids in cited.items()]
        notes += [_note(decisions[key], ids, self.zone, "，不再计入") for key, ids in lost.items()]
        notes += [_note(decisions[key], ids, self.zone, "，不再计入报表") for key, ids in unpackaged.items()]
        return replace(item, notes=tuple(notes)) if notes else item

    def package_of(self, component: str, item: ExplainedPoint, month: str) -> bool:
        """Whether the line is `month`'s package (scoring.components: "7月份报表按时报送", "…漏报：…")."""
        return component.endswith("_on_time") and item.description.startswith(
            f"{self.calendar.month_name(month)}份报表"
        )

    def lost_on(self, component: str, item: ExplainedPoint, effect: Effect, month: str) -> bool:
        """Whether the line lost points for lacking the message moved away from `month`: that month's package
        not on time, that month's briefings short, or a task judged on an older 附件2 than it, or on none."""
        if component.endswith("_on_time"):
            return bool(effect.forms) and item.points < 0 and self.package_of(component, item, month)
        if component == "briefings":
            return effect.briefing and item.points == 0 and item.description.startswith(self.calendar.month_name(month))
        end = self.judged.get(component)
        if end is None or 2 not in effect.forms or item.points != 0 or effect.arrival is None:
            return False
        arrival = effect.arrival
        return (
            month <= end
            and arrival <= self.calendar.month_end(end)
            and all(self.arrivals.get(i, arrival) < arrival for i in item.message_ids)
            and item.description.startswith(f"截至{self.calendar.month_name(end)}底")
        )


def _note(decision: Decision, message_ids: list[int], zone: ZoneInfo, gone: str = "") -> DecisionNote:
    """ "邮件 #46" + " 依更正 #9：报送单位更正为冀州区" (a line it counts for), or with `gone` after it (a line that
    lost it: "，不再计入"): in the words the unit is told it (bot.services.show.decided_text)."""
    said = decision_json(decision, zone)  # what it decided, without a closed year's remarks (its section has them)
    label = f"{'更正' if decision.is_correction else '确认邮箱'} #{decision.row.id}"
    text = f" 依{label}：{said['what']}{gone}"
    return DecisionNote(tuple(sorted(set(message_ids))), text)
