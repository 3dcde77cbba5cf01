"""Briefing articles counted per unit and arrival month."""

from __future__ import annotations

from collections.abc import Iterable

from scoring.evidence import Article
from scoring.settings import Calendar

BriefingCounts = dict[tuple[str, str], tuple[int, tuple[int, ...]]]


def briefing_counts(articles: Iterable[Article], calendar: Calendar) -> BriefingCounts:
    """{(unit, "YYYY-MM"): (articles, message ids)} by local arrival month.

    Only articles from registered senders count, never replies or auto-replies. An article (its key)
    counts once, for the unit and month of its first counting arrival; a resend in a later month or by
    another unit adds nothing. Message ids are distinct, in order of first arrival.
    """
    seen: set[str] = set()
    counts: dict[tuple[str, str], tuple[int, list[int]]] = {}
    for article in sorted((a for a in articles if a.counts), key=lambda a: (a.arrival, a.message_id, a.key)):
        if article.key in seen:
            continue
        seen.add(article.key)
        slot = (article.unit, calendar.month_of(article.arrival))
        count, ids = counts.get(slot, (0, []))
        if article.message_id not in ids:
            ids.append(article.message_id)
        counts[slot] = (count + 1, ids)
    return {slot: (count, tuple(ids)) for slot, (count, ids) in counts.items()}
