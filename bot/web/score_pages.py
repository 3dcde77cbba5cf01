"""月度排名, the month's submission matrix, a unit's explanation and the 核查发现: what `mailroom standings`,
`matrix`, `explain` and `findings` print, with every point, cell and finding linking to the message or entry
behind it."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, render_template, request

from archive.evidence import Evidence, load_evidence
from archive.findings import all_findings
from bot.config import Config
from bot.scores import MONTH, compute_standings, explain_unit, month_matrix
from bot.web.app import site
from bot.web.present import finding_view, masker
from parsers.errors import MailroomError
from parsers.forms import FORM_TITLES
from scoring.settings import month_label, parse_month
from scoring.standings import COMPONENT_LABELS, COMPONENTS

blueprint = Blueprint("scores", __name__)
MONTH_RANGE = 100  # years either side of the plan year a page may be asked for


def default_month(config: Config, now: datetime) -> str:
    """This month while the plan year runs; its last month after it, its first before it."""
    local = now.astimezone(config.timezone)
    if local.year > config.year:
        return f"{config.year}-12"
    if local.year < config.year:
        return f"{config.year}-01"
    return f"{local:%Y-%m}"


def neighbours(month: str) -> tuple[str, str]:
    """The months before and after `month`."""
    year, number = parse_month(month)
    before = f"{year - 1}-12" if number == 1 else f"{year}-{number - 1:02d}"
    after = f"{year + 1}-01" if number == 12 else f"{year}-{number + 1:02d}"
    return before, after


def _month() -> str:
    current = site()
    month = request.args.get("month", "").strip() or default_month(current.config, current.now())
    if not MONTH.fullmatch(month):
        abort(400, "月份请写成 YYYY-MM，例如 2020-09")
    year = current.config.year
    if abs(parse_month(month)[0] - year) > MONTH_RANGE:  # 0000-01 or 9999-12 broke the date arithmetic
        abort(400, f"月份须在 {year - MONTH_RANGE} 年至 {year + MONTH_RANGE} 年之间")
    return month


def _evidence() -> Evidence:
    with site().deps.db.session() as db:
        return load_evidence(db)


def _month_context(month: str) -> dict:
    before, after = neighbours(month)
    return {"month": month, "month_label": month_label(month), "before": before, "after": after}


@blueprint.route("/standings")
def standings_page():
    month = _month()
    result = compute_standings(site().config, _evidence(), month)
    return render_template("standings.html", standings=result, components=COMPONENTS, labels=COMPONENT_LABELS,
                           as_of=result.as_of.strftime("%Y-%m-%d %H:%M:%S"), **_month_context(month))


@blueprint.route("/matrix")
def matrix_page():
    current = site()
    month = _month()
    calendar, now = current.config.calendar, current.now()
    packages = month_matrix(current.config, _evidence(), month, now)
    forms = calendar.required_forms_for(month)
    zone = current.config.timezone
    return render_template("matrix.html", packages=packages, forms=forms, form_titles=FORM_TITLES,
                           deadline=calendar.deadline_for(month).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
                           now=now.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                           clock=lambda instant: instant.astimezone(zone).strftime("%m-%d %H:%M"),
                           **_month_context(month))


@blueprint.route("/unit/<name>")
def explain_page(name: str):
    current = site()
    month = _month()
    try:
        row, components = explain_unit(current.config, _evidence(), name, month)
    except MailroomError as error:
        abort(404, str(error))
    return render_template("explain.html", row=row, components=components, **_month_context(month))


@blueprint.route("/findings")
def findings_page():
    """Every finding the archive holds now, across months: they are shown, never applied to a score."""
    mask = masker()
    with site().deps.db.session() as db:
        found = all_findings(db, load_evidence(db))
    views = [finding_view(finding, mask) for finding in found]
    if mask.hide:  # the archive's order follows the 证号: a masked viewer's follows what it sees
        views.sort(key=lambda view: (view.label, view.unit, view.message, view.message_ids))
    return render_template("findings.html", findings=views)
