"""归档检索 (the search page, with the filters of `mailroom search`) and a message's own page."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, tzinfo
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, abort, redirect, render_template, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from archive.corrections import replacing
from archive.fulltext import document_rows
from archive.models import Message, PersonRow
from archive.search import (
    ORDERS,
    Query,
    arrival_bounds,
    arrival_day,
    carrying_forms,
    count,
    search,
    sender_address,
)
from bot.services.show import answers_json, decisions_json
from bot.web.auth import viewer
from bot.web.hits import Hits, shown_texts
from bot.web.present import (
    KIND_LABELS,
    SHOWN_PERSONS,
    Masker,
    MessageDetail,
    correction_choices,
    masker,
    message_detail,
    message_row,
    reading_table,
)
from bot.web.site import site
from parsers.errors import InputError
from parsers.records import Unit, named_unit
from parsers.searchdoc import normalise
from parsers.searchterms import split_terms
from scoring.settings import typed_month

blueprint = Blueprint("archive", __name__)
# A search's query string: each argument and the SearchForm field it fills (page_args writes them, read_form
# reads them).
_ARG_FIELDS = {
    "q": "text",
    "unit": "unit",
    "kind": "kind",
    "month": "month",
    "since": "since",
    "until": "until",
    "sender": "sender",
    "order": "order",
}
SEARCH_ARGS = (*_ARG_FIELDS, "page")
PAGE_SIZE = 50
FOUND_ROWS = 100  # rows holding a searched term shown past a registry's first SHOWN_PERSONS
_BATCH = 2000  # rows past those read at a time, looking for the ones holding a searched term
MAX_PAGE = 1000


@dataclass(frozen=True)
class SearchForm:
    """The search page's fields as asked, checked; `error` says what was wrong."""

    text: str = ""
    unit: str = ""
    kind: str = ""
    month: str = ""
    since: str = ""  # the arrival days as typed (YYYY-MM-DD), both included, local time
    until: str = ""
    sender: str = ""
    order: str = "newest"
    page: int = 1
    error: str = ""
    days: tuple[date | None, date | None] = (None, None)  # since and until read (archive.search.arrival_day)

    @property
    def filtered(self) -> bool:
        """Whether any condition but the text was given."""
        return any((self.unit, self.kind, self.month, self.since, self.until, self.sender))

    @property
    def nothing_to_find(self) -> bool:
        """Text was typed but holds no term (only punctuation, %, _): the other conditions alone are listed."""
        return bool(self.text) and not split_terms(normalise(self.text))

    def query(self, sees_personal: bool, zone: tzinfo) -> Query:
        """The archive query; without the grant it searches the masked text only (archive.search)."""
        since, until = arrival_bounds(*self.days, zone)
        return Query(
            text=self.text,
            unit=self.unit or None,
            kind=self.kind or None,
            month=self.month or None,
            sender=self.sender or None,
            order=self.order,
            limit=PAGE_SIZE + 1,
            offset=(self.page - 1) * PAGE_SIZE,
            personal=sees_personal,
            since=since,
            until=until,
        )

    def page_args(self, page: int) -> dict[str, Any]:
        """The query string of this search's page `page` (the first: none), as url_for takes it (SEARCH_ARGS)."""
        fields = {arg: getattr(self, field) for arg, field in _ARG_FIELDS.items()}
        fields["order"] = "" if self.order == "newest" else self.order  # the default: said by saying nothing
        given: dict[str, Any] = {key: value for key, value in fields.items() if value}
        return given | {"page": page} if page > 1 else given


def read_form(args, units: Sequence[Unit]) -> SearchForm:
    """The search form's fields as given, checked; a unit by its name or an alias (as `mailroom search --unit`)."""
    text, sender = args.get("q", "").strip()[:200], args.get("sender", "").strip()[:320]
    unit, kind, month = args.get("unit", ""), args.get("kind", ""), args.get("month", "").strip()
    since, until = args.get("since", "").strip()[:40], args.get("until", "").strip()[:40]
    order = args.get("order", "newest")
    page = args.get("page", "1")
    errors = []
    if unit.strip():
        try:
            unit = named_unit(units, unit).name
        except InputError:
            errors.append(f"没有名为 {unit.strip()} 的单位")
    if kind and kind not in KIND_LABELS:
        errors.append("类别不对")
    if sender and not sender_address(sender):
        errors.append("发件人请写邮箱地址或其一部分，例如 zqxcl@163.com、zqxcl 或 @163.com")
    if month:
        try:
            month = typed_month(month)  # 2020年4月, 2020/4 as 2020-04
        except ValueError:
            errors.append("月份请写成 YYYY-MM，例如 2020-04")
    days = []
    for label, value in (("到达日期（起）", since), ("到达日期（止）", until)):
        try:
            days.append(arrival_day(value) if value else None)
        except InputError as error:
            days.append(None)
            errors.append(f"{label}不对：{error}")
    first, last = days
    if first and last and first > last:
        errors.append(f"起始日期 {since} 晚于截止日期 {until}，查不到任何邮件")
    if order not in ORDERS:
        order = "newest"
    number = int(page) if page.isdigit() and int(page) > 0 else 1
    if number > MAX_PAGE:  # an offset past this many rows is not walked: the asker narrows the query instead
        errors.append(f"最多只能翻到第 {MAX_PAGE} 页，请加上单位、月份或日期等条件缩小查询范围")
        number = 1
    return SearchForm(text, unit, kind, month, since, until, sender, order, number, "；".join(errors), (first, last))


@blueprint.route("/")
def home():
    return redirect(url_for("archive.search_page"))


@blueprint.route("/search")
def search_page():
    current = site()
    units = tuple(unit.name for unit in current.config.units)
    form = read_form(request.args, current.config.units)
    rows, more, total = [], False, 0
    if not form.error:
        mask, zone = masker(), current.config.timezone
        with current.deps.db.session() as db:
            query = form.query(viewer().sees_personal, zone)
            found = search(db, query)
            more = len(found) > PAGE_SIZE
            shown = found[:PAGE_SIZE]
            forms = carrying_forms(db, shown)
            rows = [message_row(message, mask, zone, message.id in forms) for message in shown]
            # On the last page (or when nothing is found) its hits say how many; otherwise the same query is
            # counted, masked alike for a viewer without the grant: one statement more.
            last = not more and (bool(found) or form.page == 1)
            total = query.offset + len(found) if last else count(db, query)
    return render_template(
        "search.html",
        form=form,
        rows=rows,
        more=more,
        total=total,
        last_page=max(1, math.ceil(total / PAGE_SIZE)),
        units=units,
        orders=ORDERS,
        first=(form.page - 1) * PAGE_SIZE + 1,
    ), 400 if form.error else 200


def load_message(db: Session, message_id: int) -> Message:
    """The message with everything its page shows, or 404."""
    message = db.get(
        Message,
        message_id,
        options=[selectinload(Message.attachments), selectinload(Message.sightings), selectinload(Message.readings)],
    )
    if message is None:
        abort(404, f"没有编号为 {message_id} 的邮件")
    return message


def first_persons(db: Session, reading_ids: list[int]) -> dict[int, tuple[list[PersonRow], int]]:
    """Each registry's first SHOWN_PERSONS persons and how many it has: a page of a 50,000-row registry
    loads 500 rows, not all of them (the CSV export has them all)."""
    counts = db.execute(
        select(PersonRow.reading_id, func.count())
        .where(PersonRow.reading_id.in_(reading_ids))
        .group_by(PersonRow.reading_id)
    )
    return {
        reading_id: (
            list(
                db.scalars(
                    select(PersonRow)
                    .where(PersonRow.reading_id == reading_id)
                    .order_by(PersonRow.id)
                    .limit(SHOWN_PERSONS)
                )
            ),
            count,
        )
        for reading_id, count in counts.all()
    }


def with_rows_found(db: Session, message: Message, detail: MessageDetail, hits: Hits, mask: Masker) -> MessageDetail:
    """`detail` with, after each registry's first SHOWN_PERSONS rows, those of the rest that hold a searched term
    (the first FOUND_ROWS, and whether there are more), matched in the table as shown: the person
    an auditor searched is on row 3,000. The rest is read in batches, and no further than it needs."""
    if hits.digitless and not hits.found_in([document_rows(db, message.id)]):
        return detail  # in none of its readings: none of the rows past is read (a 50,000-row registry: seconds)
    readings = {reading.id: reading for reading in message.readings}
    views = []
    for view in detail.readings:
        if view.table is None or view.total_rows <= len(view.table.rows):
            views.append(view)
            continue
        rest = db.scalars(
            select(PersonRow)
            .where(PersonRow.reading_id == view.id)
            .order_by(PersonRow.id)
            .offset(SHOWN_PERSONS)
            .execution_options(yield_per=_BATCH)
        )
        found: list[tuple[str, ...]] = []
        for batch in rest.partitions():
            if hits.digitless:  # only the rows holding a term unmasked may hold it masked: the others are not masked
                batch = [
                    row for row in batch if hits.found_in(["\x00".join([row.sheet, *map(str, row.fields.values())])])
                ]
            table = reading_table(readings[view.id], mask, batch)
            found += [row for row in (table.rows if table else ()) if hits.found_in(["\x00".join(row)])]
            if len(found) > FOUND_ROWS:
                break
        shown = tuple(found[:FOUND_ROWS])
        table = replace(view.table, rows=view.table.rows + shown)
        views.append(replace(view, table=table, found_beyond=len(shown), more_found=len(found) > FOUND_ROWS))
    return replace(detail, readings=tuple(views))


@blueprint.route("/message/<id:message_id>")
def message_page(message_id: int):
    current = site()
    searched = read_form(request.args, current.config.units)  # the search the page was opened from: back to it
    mask = masker()
    hits = Hits(searched.text, personal=not mask.hide)
    with current.deps.db.session() as db:
        message = load_message(db, message_id)
        persons = first_persons(db, [reading.id for reading in message.readings])
        zone = current.config.timezone
        mailboxes = {box.key: box.name for box in current.config.mailboxes}
        decisions = decisions_json(db, message, zone)
        answers = answers_json(db, message.id, zone)
        detail = message_detail(
            message, mask, zone, persons, decisions, mailboxes, current.deps.recognizer.stamp, answers
        )
        if hits.pattern is not None:
            detail = with_rows_found(db, message, detail, hits, mask)
        standing = replacing(db, message_id) if viewer().is_staff else None
    correcting = None
    if viewer().is_staff:  # the correction the form is made against: another staff's meanwhile is not undone
        correcting = correction_choices(current.config) | {"in_force": standing.id if standing else ""}
    args = searched.page_args(searched.page)
    return render_template(
        "message.html",
        message=detail,
        may_download=viewer().sees_personal,
        correcting=correcting,
        searched=url_for("archive.search_page", **args),
        searched_args=urlencode(args),  # kept through a correction made here
        asking=correcting is not None and request.args.get("asked_for") == str(message_id),  # its refused one
        hits=hits,
        hit_count=hits.count(shown_texts(detail)),
    )
