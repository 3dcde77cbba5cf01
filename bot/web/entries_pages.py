"""审计记录: the staff entries (media coverage, innovation awards) with who entered and who revoked each
and when; staff enter and revoke them here as with `mailroom award` and `mailroom revoke`. Below them,
the senders staff confirmed (`mailroom sender add`); corrections are on 待处理."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for

from archive.entries import add_entry, list_entries, revoke_entry
from archive.models import StaffEntryRow
from archive.search import arrival_day
from archive.staff_senders import staff_senders
from bot.services.scores import unit_name
from bot.services.years import closed_notes
from bot.web.auth import staff_only, viewer
from bot.web.present import Masker, as_typed, local_time, masker
from bot.web.site import site
from parsers.errors import MailroomError
from scoring.settings import ENTRY_KINDS

blueprint = Blueprint("entries", __name__)
ENTRY_FIELDS = ("unit", "kind_level", "date", "evidence")  # the new entry's form, kept when it is refused


@blueprint.route("/entries")
def entries_page():
    current = site()
    mask, zone = masker(), current.config.timezone
    with current.deps.db.session() as db:
        rows = [_entry_row(row, mask, zone) for row in list_entries(db)]
        senders = [
            {
                "id": row.id,
                "unit": row.unit,
                "address": row.address,
                "since": row.since,
                "reason": row.reason,
                "entered_by": row.entered_by,
                "entered_at": local_time(row.entered_at, zone),
                "revoked_by": row.revoked_by,
                "revoked_at": local_time(row.revoked_at, zone),
                "revoke_reason": row.revoke_reason,
            }
            for row in staff_senders(db)
        ]
    return render_template(
        "entries.html",
        rows=rows,
        kinds=ENTRY_KINDS,
        senders=senders,
        units=[unit.name for unit in current.config.units],
        asked=as_typed(request.args, ENTRY_FIELDS),  # a refused entry, as typed
    )


def _entry_row(row: StaffEntryRow, mask: Masker, zone: ZoneInfo) -> dict[str, object]:
    kind, levels = ENTRY_KINDS.get(row.kind, (row.kind, {}))
    return {
        "id": row.id,
        "unit": row.unit,
        "kind": kind,
        "level": levels.get(row.level, row.level),
        "date": row.date.isoformat(),
        "evidence": mask.text(row.evidence),
        "entered_by": row.entered_by,
        "entered_at": local_time(row.entered_at, zone),
        "revoked_by": row.revoked_by,
        "revoked_at": local_time(row.revoked_at, zone),
        "revoke_reason": mask.text(row.revoke_reason),
    }


@blueprint.route("/entries", methods=["POST"])
@staff_only
def award():
    form = request.form
    try:
        kind, level, day = _choice(form.get("kind_level", ""), form.get("date", ""))
        evidence = form.get("evidence", "")  # add_entry refuses it blank or overlong
        config = site().config
        with site().deps.db.session() as db:
            row = add_entry(
                db,
                unit_name(config, form.get("unit", ""), f"{day.year:04d}-{day.month:02d}"),
                kind,
                level,
                day,
                evidence,
                viewer().name,
                config.plans,
            )
            flash(f"已登记 #{row.id}：{row.unit} {ENTRY_KINDS[kind][1][level]} {row.date}")
            for note in closed_notes(config, db, [row.date], "这条登记"):
                flash(note, "error")
    except MailroomError as error:
        flash(f"未登记：{error}", "error")
        kept: dict[str, Any] = as_typed(form, ENTRY_FIELDS)  # not typed again
        return redirect(url_for("entries.entries_page", _anchor="new", **kept))
    return redirect(url_for("entries.entries_page"))


def _choice(kind_level: str, day: str) -> tuple[str, str, date]:
    kind, _, level = kind_level.partition(":")
    if kind not in ENTRY_KINDS or level not in ENTRY_KINDS[kind][1]:
        raise MailroomError("请选择类别和级别")
    if not day.strip():
        raise MailroomError("请填写日期，如 2020-05-01")
    return kind, level, arrival_day(day.strip())  # a day the calendar has, said as the search form says it


@blueprint.route("/entries/<id:entry_id>/revoke", methods=["POST"])
@staff_only
def revoke(entry_id: int):
    reason = request.form.get("reason", "").strip()
    try:
        if not reason:
            raise MailroomError("请写明撤销原因")
        with site().deps.db.session() as db:
            row = revoke_entry(db, entry_id, reason, viewer().name, zone=site().config.timezone)
            flash(f"已撤销 #{row.id}（{row.unit}）")
            for note in closed_notes(site().config, db, [row.date], "撤销这条登记"):
                flash(note, "error")
    except MailroomError as error:
        flash(f"未撤销：{error}", "error")
    return redirect(url_for("entries.entries_page"))
