"""月度排名, the month's submission matrix, a unit's explanation and the 核查发现: what `mailroom standings`,
`matrix`, `explain` and `findings` print, with every point, cell and finding linking to the message or entry
behind it."""

from __future__ import annotations

from datetime import datetime
from io import BytesIO

from flask import Blueprint, abort, render_template, request, send_file

from archive.evidence import Evidence, load_evidence, summary_reports
from bot.config import Config
from bot.outgoing.digest import clock
from bot.outgoing.workbooks import write_shown_standings
from bot.services.charts import bars_by_task, bars_by_unit, score_trend, status_grid
from bot.services.explain import explanation
from bot.services.scores import (
    Kept,
    as_kept,
    month_completion,
    month_kept_names,
    shown_matrix,
    shown_standings,
)
from bot.services.show import decision_line
from bot.services.years import finding_years
from bot.web.download import XLSX, named_download
from bot.web.present import finding_view, masker
from bot.web.queue_pages import kept_findings
from bot.web.site import site
from parsers.errors import MailroomError
from parsers.form_layouts import FORM_TITLES
from parsers.records import TASKS
from scoring.components import QUARTER_TASKS, full_marks
from scoring.plans import OutsidePlan
from scoring.settings import month_label, parse_month, typed_month
from scoring.standings import COMPONENT_LABELS, COMPONENTS

blueprint = Blueprint("scores", __name__)


def default_month(config: Config, now: datetime) -> str:
    """This month when a plan covers it; else the last covered month before it, else the first one."""
    return config.plans.nearest_month(config.local_month(now))


def _month() -> str:
    """The month asked for; one no plan covers is refused, saying so (the pages link only covered months)."""
    current = site()
    typed = request.args.get("month", "").strip()
    try:
        month = typed_month(typed) if typed else default_month(current.config, current.now())
    except ValueError:
        abort(400, "月份请写成 YYYY-MM，例如 2020-09")
    try:
        current.config.plan(month)
    except OutsidePlan as error:
        abort(404, str(error))
    return month


def _evidence() -> Evidence:
    with site().deps.db.session() as db:
        return load_evidence(db)


def _charted_months(config: Config, month: str) -> tuple[str, ...]:
    """The months a chart on `month`'s page draws: its plan year's months up to it. The charts draw
    whichever months they are given; this is the one place that chooses them."""
    return tuple(each for each in config.plan(month).months if each <= month)


def _tasks(config: Config, month: str) -> tuple[str, ...]:
    """附件2's tasks in `month`: 上大学 only from the month 附件9–10 join the package."""
    return TASKS if parse_month(month)[1] >= config.plan(month).calendar.college_from_month else QUARTER_TASKS


def _thresholds(config: Config, month: str) -> tuple[tuple[str, float], ...]:
    """The shares of the target a task must reach by the end of June and of September (in `month`'s plan)."""
    scoring = config.plan(month).scoring
    return (
        (f"二季度 {scoring.q2_completion:.0%}", scoring.q2_completion),
        (f"三季度 {scoring.q3_completion:.0%}", scoring.q3_completion),
    )


def _month_context(config: Config, month: str) -> dict:
    """The month and its neighbours among the covered months (None at either end: no link past a plan)."""
    before, after = config.plans.around(month)
    months = config.plans.months()
    return {
        "month": month,
        "month_label": month_label(month),
        "before": before,
        "after": after,
        "first_month": months[0],
        "last_month": months[-1],
    }


def _kept_context(config: Config, kept: Kept | None, unit: str | None = None) -> dict:
    """What a closed year's page says above its kept figures (_kept.html)."""
    return {
        "kept_lines": kept.lines(config, unit) if kept else [],
        "kept_differs": bool(kept and any(unit in (None, who) for who, _ in kept.changes)),
    }


@blueprint.route("/standings")
def standings_page():
    config, month, evidence = site().config, _month(), _evidence()
    with site().deps.db.session() as db:
        result, kept = shown_standings(config, db, evidence, month, site().deps.clock())
        charted = _charted_months(config, month)
        monthly = [result if each == month else shown_standings(config, db, evidence, each)[0] for each in charted]
    trend = score_trend(monthly, full_marks(config.plan(month).scoring)) if monthly else None
    return render_template(
        "standings.html",
        standings=result,
        components=COMPONENTS,
        labels=COMPONENT_LABELS,
        as_of=result.as_of.strftime("%Y-%m-%d %H:%M:%S"),
        trend=trend,
        **_month_context(config, month),
        **_kept_context(config, kept),
    )


@blueprint.route("/standings.xlsx")
def standings_workbook():
    """The month's standings as `mailroom standings --xlsx` writes them, for staff without a shell."""
    config, month = site().config, _month()
    with site().deps.db.session() as db:
        result, kept = shown_standings(config, db, _evidence(), month, site().deps.clock())
    out = BytesIO()
    write_shown_standings(out, config, result, kept)
    name = f"{month_label(month)}累计得分排名.xlsx"
    out.seek(0)
    response = send_file(out, mimetype=XLSX, as_attachment=True, download_name=name, etag=False, max_age=0)
    return named_download(response, name, f"standings-{month}")


@blueprint.route("/matrix")
def matrix_page():
    current = site()
    month, evidence = _month(), _evidence()
    config, now = current.config, current.now()
    with current.deps.db.session() as db:
        packages, kept = shown_matrix(config, db, evidence, month, now)
        charted = [
            (
                each,
                {
                    unit: package.status
                    for unit, package in (
                        packages if each == month else shown_matrix(config, db, evidence, each, now)[0]
                    ).items()
                },
            )
            for each in _charted_months(config, month)
        ]
    plan = config.plan(month)
    forms = plan.calendar.required_forms_for(month)
    zone = config.timezone
    # a closed year's rows are the units kept, by the names they were kept under (the table's own rows)
    units = list(packages) if kept else [unit.name for unit in plan.units]
    grid = status_grid(charted, units, month) if charted else None
    deadline = plan.calendar.deadline_for(month)
    return render_template(
        "matrix.html",
        packages=packages,
        forms=forms,
        form_titles=FORM_TITLES,
        grid=grid,
        deadline=deadline.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
        now=now.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        clock=lambda instant: clock(instant, zone, deadline=deadline),
        **_month_context(config, month),
        **_kept_context(config, kept),
    )


@blueprint.route("/unit/<name>")
def explain_page(name: str):
    config, month, evidence = site().config, _month(), _evidence()
    with site().deps.db.session() as db:
        result, kept = shown_standings(config, db, evidence, month, site().deps.clock())
        try:  # a closed year's month: the unit among those kept, by the name asked for, today's name or an alias
            explained = explanation(config, db, result, name, kept, evidence.summaries, evidence.articles)
        except MailroomError as error:
            abort(404, str(error))
    row = explained.row
    today = kept.today_name(row.unit) if kept else row.unit  # a unit renamed since: its 附件2 under today's name
    completion = next((unit for unit in month_completion(config, evidence, month) if unit.unit == today), None)
    progress = (
        bars_by_unit(as_kept([completion], {today: row.unit})[0], _tasks(config, month), _thresholds(config, month))
        if completion is not None and today is not None
        else None
    )
    return render_template(
        "explain.html",
        row=row,
        components=explained.components,
        progress=progress,
        decisions=[(decision_line(decision), decision["message_ids"]) for decision in explained.decisions],
        **_month_context(config, month),
        **_kept_context(config, kept, row.unit),
    )


@blueprint.route("/progress")
def progress_page():
    """Each unit's 完成数 against its targets as of the month's end, a bar per unit, a chart per task."""
    config, month = site().config, _month()
    with site().deps.db.session() as db:  # a closed year's units by the names they were kept under
        completion = as_kept(month_completion(config, load_evidence(db), month), month_kept_names(config, db, month))
    chart = bars_by_task(completion, _tasks(config, month), _thresholds(config, month))
    as_of = config.plan(month).calendar.month_end(month)
    return render_template(
        "progress.html", chart=chart, as_of=as_of.strftime("%Y-%m-%d"), **_month_context(config, month)
    )


@blueprint.route("/findings")
def findings_page():
    """Every finding the archive holds now, across months: they are shown, never applied to a score."""
    mask = masker()
    with site().deps.db.session() as db:
        summaries = summary_reports(db)
        found = kept_findings()(db)
        years = finding_years(db, found, summaries, site().config.timezone)
    views = [(year, finding_view(finding, mask)) for finding, year in zip(found, years, strict=True)]
    if mask.hide:  # the archive's order follows the 证号: a masked viewer's follows what it sees
        views.sort(key=lambda item: (item[1].label, item[1].unit, item[1].message, item[1].message_ids))
    views.sort(key=lambda item: item[0] or 0)  # by year, newest last (stable: each year's in the order above)
    return render_template("findings.html", findings=views)
