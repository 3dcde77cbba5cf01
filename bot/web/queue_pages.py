"""待处理: the attention queue (archive/queue.py) and the staff's corrections. Staff mark an item handled
with a note, correct the message it concerns (which handles it), or, for mail naming a unit from an address
not registered for it, or for a submission whose unit neither subject nor sender tells, confirm the address
as the unit's (as the mail names it, or as its forms' titles do: `mailroom sender add`, which handles every
such item of that address); auditors see it all, change nothing. The
menu shows how many items wait, on every page: the findings among them are kept while the archive stands
(archive.findings.FindingsMemo, one per app)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from archive.corrections import (
    add_correction,
    corrected_message,
    corrections,
    hold_message,
    replacing,
    revoke_correction,
)
from archive.decisions import revoked_because
from archive.entries import reason_on_record
from archive.findings import FindingsMemo
from archive.models import Message, StaffSenderRow
from archive.queue import attention, mark_handled, waiting
from archive.rederive import behind
from archive.staff_senders import add_sender, confirmed_because, remove_sender
from bot.daemon.status import decided_due
from bot.services.decisions import derivation_owed, describe, message_month, rederive_report, still_not_counted
from bot.services.scores import unit_name
from bot.services.show import decided_text
from bot.services.years import closed_notes
from bot.web.archive_pages import SEARCH_ARGS
from bot.web.auth import staff_only, viewer
from bot.web.present import KIND_LABELS, as_typed, correction_choices, local_time
from bot.web.site import form_id, site
from parsers.errors import MailroomError

blueprint = Blueprint("queue", __name__)
FINDINGS = "mailroom.findings"


@blueprint.record_once
def _keep_findings(state) -> None:
    state.app.extensions[FINDINGS] = FindingsMemo()


def kept_findings() -> FindingsMemo:
    """The app's findings, kept while the archive stands (the menu's count, 待处理, 核查发现)."""
    return current_app.extensions[FINDINGS]


@blueprint.app_context_processor
def menu_count() -> dict:
    """`waiting_count()`: the menu's count of items waiting, asked only where the menu shows 待处理."""

    def waiting_count() -> int:
        with site().deps.db.session() as db:
            return waiting(db, kept_findings())

    return {"waiting_count": waiting_count}


@blueprint.route("/queue")
def queue_page():
    current = site()
    zone = current.config.timezone
    with current.deps.db.session() as db:
        stale = behind(db, current.deps.recognizer.stamp)
        deciding = decided_due(current.deps) if stale else 0
        items = attention(db, include_handled=True, findings=kept_findings())
        fixes = [
            {
                "id": row.id,
                "message_id": message_id,
                "what": decided_text(row),
                "reason": row.reason,
                "entered_by": row.entered_by,
                "entered_at": local_time(row.entered_at, zone),
                "revoked_by": row.revoked_by,
                "revoked_at": local_time(row.revoked_at, zone),
                "revoke_reason": row.revoke_reason,
            }
            for row, message_id in corrections(db)
        ]
    waiting = [item for item in items if item.handled_by is None]
    handled = [item for item in items if item.handled_by is not None]
    asked = request.args.get("asked_for", "")  # a refused correction's message: its form, the first shown, again
    asking = next(
        (item.handle for item in waiting if item.correctable is not None and str(item.correctable) == asked),
        None,
    )
    return render_template(
        "queue.html",
        waiting=waiting,
        handled=handled,
        asking=asking,
        fixes=fixes,
        behind=stale - deciding,  # derived under another configuration or code
        deciding=deciding,  # waiting for a staff decision's derivation (another staff's, made a moment ago)
        **correction_choices(current.config),
        when=lambda instant: local_time(instant, zone),
    )


@blueprint.route("/queue/done", methods=["POST"])
@staff_only
def done():
    form = request.form
    try:
        note = form.get("note", "").strip()
        if not note:
            raise MailroomError("请写明处理情况")
        with site().deps.db.session() as db:
            mark_handled(
                db, form.get("item", ""), note, viewer().name, zone=site().config.timezone, findings=kept_findings()
            )
            db.commit()
        flash(f"已标记为已处理：{form.get('item')}")
    except MailroomError as error:
        flash(f"未标记：{error}", "error")
    return redirect(url_for("queue.queue_page"))


@blueprint.route("/corrections", methods=["POST"])
@staff_only
def correct():
    """A correction of one message's unit, kind, month or whether it counts, from the 待处理 page or the
    message's own page (back there, `back`): recorded, the message derived again at once, and what that
    changed said as `mailroom correct` says it (the message, the matrix, the standings)."""
    form = request.form
    counted = {"yes": True, "no": False}.get(form.get("counted", ""))
    message_id = form_id(form.get("message_id"), "邮件编号")
    back: dict[str, Any] = {}
    if form.get("back") == "message":  # with the search it was opened from (archive_pages.message_page)
        back = {key: value for key, value in parse_qsl(form.get("searched", "")) if key in SEARCH_ARGS}
        back["message_id"] = message_id
    page = "archive.message_page" if back else "queue.queue_page"
    try:
        kind = form.get("kind") or None
        if kind is not None and kind not in KIND_LABELS:
            raise MailroomError("类别无效")
        month = form.get("month") or None
        shown = form.get("in_force")  # the correction in force when the form was shown ("": none)
        seen = ... if shown is None else form_id(shown, "现行更正的编号") if shown else None
        with site().deps.db.session() as db:
            # the unit named as the plan year of the month the mail is to count for calls it (枣强县 in 2021: 枣强区)
            anchor = month or message_month(db, message_id)
            unit = unit_name(site().config, form["unit"], anchor) if form.get("unit") else None
            hold_message(db, message_id)  # what it replaces is read under the hold add_correction takes
            replaced = replacing(db, message_id)
            row = add_correction(
                db,
                message_id,
                form.get("reason", ""),
                viewer().name,
                unit=unit,
                kind=kind,
                month=month,
                counted=counted,
                plans=site().config.plans,
                seen=seen,
            )
            month_before = message_month(db, message_id)
            db.commit()
        also = f"，取代此前的更正 #{replaced.id}，未更正的项保持原样" if replaced is not None else ""
        flash(f"已登记更正 #{row.id}（邮件 #{message_id}：{decided_text(row)}{also}），已重新识别")
        _derive_again([message_id], row.reason)
        _closed_year(message_id, month_before, "这次更正")
        _still_not_counted(message_id)
    except MailroomError as error:
        flash(f"未更正：{error}", "error")
        typed = as_typed(form, ("unit", "kind", "month", "counted", "reason"))  # not chosen again (_correct.html)
        back |= {f"typed_{name}": value for name, value in typed.items()}  # apart from a search's unit and month
        return redirect(url_for(page, asked_for=message_id, _anchor="correcting", **back))
    return redirect(url_for(page, **back))


@blueprint.route("/senders", methods=["POST"])
@staff_only
def confirm_sender():
    """The sender of one queued message confirmed as the unit its mail names (or, when it names none, as the
    unit staff chose among those its forms' titles name); all of that address's mail is derived again at
    once (the notices it is now owed go out with the daemon's sender)."""
    form = request.form
    message_id = form_id(form.get("message_id"), "邮件编号")
    try:
        reason = reason_on_record(form.get("reason", ""), "如何核实（如：电话核实）")
        with site().deps.db.session() as db:
            message = db.get(Message, message_id)
            chosen = unit_name(site().config, form["unit"]) if form.get("unit") else None
            unit = (message.unit or chosen) if message is not None else None
            if message is None or not unit or not message.from_addr:
                raise MailroomError("该邮件没有可确认的单位和发件地址")
            config = site().config
            row = add_sender(
                db,
                unit,
                message.from_addr,
                reason,
                viewer().name,
                None,
                config.own_addresses,
                zone=config.timezone,
                configured=config.units,
            )
            affected = derivation_owed(db, row.address)
            db.commit()
        flash(f"已确认 {row.address} 为 {unit} 的报送邮箱（#{row.id}），该地址的 {len(affected)} 封邮件已重新识别")
        _derive_again(affected, confirmed_because(row.address, unit, reason))
    except MailroomError as error:
        flash(f"未确认：{error}", "error")
    return redirect(url_for("queue.queue_page"))


@blueprint.route("/senders/<id:sender_id>/revoke", methods=["POST"])
@staff_only
def revoke_sender(sender_id: int):
    """A confirmation of a sender revoked (kept on record), as `mailroom sender remove` does: the address's mail
    is derived again at once and counts for nothing more (no notice is owed for it)."""
    try:
        with site().deps.db.session() as db:
            confirmed = db.get(StaffSenderRow, sender_id)
            if confirmed is None:
                raise MailroomError(f"没有编号为 #{sender_id} 的邮箱确认")
            if confirmed.revoked_at is not None:  # a page shown before: not another confirmation of the address since
                raise MailroomError(f"确认 #{sender_id} 已由 {confirmed.revoked_by} 撤销")
            row = remove_sender(db, confirmed.unit, confirmed.address, request.form.get("reason", ""), viewer().name)
            affected = derivation_owed(db, row.address)
            db.commit()
        flash(
            f"已撤销 #{row.id}：{row.address} 不再作为 {row.unit} 的报送邮箱，该地址的 {len(affected)} 封邮件已重新识别"
        )
        _derive_again(affected, None)
    except MailroomError as error:
        flash(f"未撤销：{error}", "error")
    return redirect(url_for("entries.entries_page", _anchor=f"sender-{sender_id}"))


@blueprint.route("/corrections/<id:correction_id>/revoke", methods=["POST"])
@staff_only
def revoke(correction_id: int):
    try:
        with site().deps.db.session() as db:
            row = revoke_correction(
                db, correction_id, request.form.get("reason", ""), viewer().name, zone=site().config.timezone
            )
            db.commit()
            message_id = corrected_message(db, row)
            month_before = message_month(db, message_id)
        flash(f"已撤销更正 #{row.id}，已重新识别")
        if message_id is not None:
            _derive_again([message_id], revoked_because(row))
            _closed_year(message_id, month_before, "撤销这次更正")
    except MailroomError as error:
        flash(f"未撤销：{error}", "error")
    return redirect(url_for("queue.queue_page"))


def _closed_year(message_id: int, month_before: str | None, what: str) -> None:
    """Said when the message counted, or counts now, in a closed year: its kept figures stay as they are."""
    current = site()
    with current.deps.db.session() as db:
        notes = closed_notes(current.config, db, [month_before, message_month(db, message_id)], what)
    for note in notes:
        flash(note, "error")


def _still_not_counted(message_id: int) -> None:
    with site().deps.db.session() as db:
        warning = still_not_counted(db, message_id, "请再次更正并选择“计分”")
    if warning:
        flash(warning, "error")


def _derive_again(message_ids: list[int], because: str | None) -> None:
    """The messages derived again at once, and what changed said line by line (bot.services.decisions); a
    notice a message is now owed goes out with the daemon's sender."""
    current = site()
    report = rederive_report(
        current.config, current.deps.intake, current.deps.clock(), message_ids, True, False, because
    )
    for line in describe(report, dry_run=False):
        flash(line.strip())
